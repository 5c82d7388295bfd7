//! The release lock: a coordination.k8s.io/v1 Lease per release, held and renewed while a run lives.
//!
//! As Kubernetes leader election does it, for one run: [`acquire`] creates the Lease
//! `cutover.release.v1.<release>` in the release's namespace (or takes over one that is free or
//! stale, by a replace carrying the resourceVersion it read, so that of two takers only one
//! wins), and the returned [`Lock`] renews it in a background task until [`Lock::release`]
//! deletes it. The host asks [`Lock::lost`] before every mutation.
//!
//! A lease is stale when its renewTime plus its leaseDurationSeconds has passed, or when its
//! holder ran on this machine (same host, same PID namespace) and its process is gone: a killed
//! CLI's lock is free at once on the same machine, and elsewhere after the TTL.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use cutover_clock::Clock;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, DeleteParams, PostParams, Preconditions};

/// The annotation naming the holder's user.
pub const ANNOTATION_USER: &str = "cutover.dev/holder-user";
/// The annotation naming the holder's host.
pub const ANNOTATION_HOST: &str = "cutover.dev/holder-host";
/// The annotation holding the holder's process id.
pub const ANNOTATION_PID: &str = "cutover.dev/holder-pid";
/// The annotation holding the holder's run id.
pub const ANNOTATION_RUN: &str = "cutover.dev/holder-run";
/// The annotation naming the holder's PID namespace (Linux: `pid:[4026531836]`), so that two
/// containers sharing a hostname but not their processes never judge each other's PIDs.
pub const ANNOTATION_PID_NAMESPACE: &str = "cutover.dev/holder-pidns";

/// The lease's time to live when nothing else is said.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);

/// The longest holder text (from the cluster, so possibly hostile) quoted in a message.
const MAX_HOLDER_TEXT: usize = 256;
/// The longest server message quoted in an error.
const MAX_DETAIL_TEXT: usize = 512;
/// How many times a write that raced another writer is tried again.
const MAX_ROUNDS: usize = 4;

/// The Lease that locks `release`: `cutover.release.v1.<release>`.
pub fn lease_name(release: &str) -> String {
    format!("cutover.release.v1.{release}")
}

/// Who holds a lock: a user on a host, a process, and the run within it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub user: String,
    pub host: String,
    pub pid: u32,
    pub run_id: String,
}

impl Holder {
    /// This process, for run `run_id`: the user from `$USER` or `$LOGNAME` (else the uid), the
    /// host name from the kernel (else `/etc/hostname`), and this process's id.
    pub fn current(run_id: impl Into<String>) -> Holder {
        Holder {
            user: current_user(),
            host: current_host(),
            pid: std::process::id(),
            run_id: run_id.into(),
        }
    }

    /// `user@host pid 1234 run <run_id>`: the lease's holderIdentity.
    pub fn identity(&self) -> String {
        format!(
            "{}@{} pid {} run {}",
            self.user, self.host, self.pid, self.run_id
        )
    }
}

fn current_user() -> String {
    for var in ["USER", "LOGNAME"] {
        if let Ok(user) = std::env::var(var)
            && !user.trim().is_empty()
        {
            return user.trim().to_string();
        }
    }
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    format!("uid-{uid}")
}

fn current_host() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        let name = String::from_utf8_lossy(&buf[..end]).trim().to_string();
        if !name.is_empty() {
            return name;
        }
    }
    match std::fs::read_to_string("/etc/hostname") {
        Ok(name) if !name.trim().is_empty() => name.trim().to_string(),
        _ => "unknown-host".to_string(),
    }
}

/// This process's PID namespace (`pid:[4026531836]`), where the system says (Linux).
fn pid_namespace() -> Option<&'static str> {
    static NS: OnceLock<Option<String>> = OnceLock::new();
    NS.get_or_init(|| {
        std::fs::read_link("/proc/self/ns/pid")
            .ok()
            .map(|p| p.to_string_lossy().into_owned())
    })
    .as_deref()
}

/// Whether no process `pid` runs here: `kill(pid, 0)` fails with ESRCH. A PID that cannot be a
/// process (0, or beyond `i32`) is gone; a process of another user (EPERM) is not.
fn process_gone(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return true;
    };
    if pid <= 0 {
        return true;
    }
    #[cfg(unix)]
    {
        // SAFETY: signal 0 sends nothing; it only checks that the process exists. `pid` is
        // positive, so this never addresses a process group.
        let rc = unsafe { libc::kill(pid, 0) };
        rc != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// The identities of the locks this process holds now (with a count: one run may lock several
/// releases), so that a lease naming this very process is stale only when no live [`Lock`] of
/// this process holds it (a lease left by an earlier run in this process).
fn live_identities() -> MutexGuard<'static, BTreeMap<String, usize>> {
    static LIVE: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

fn held_in_this_process(identity: &str) -> bool {
    live_identities().contains_key(identity)
}

/// Registers an identity as held by this process while it lives.
#[derive(Debug)]
struct LiveGuard(String);

impl LiveGuard {
    fn new(identity: &str) -> LiveGuard {
        *live_identities().entry(identity.to_string()).or_default() += 1;
        LiveGuard(identity.to_string())
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        let mut live = live_identities();
        if let Some(n) = live.get_mut(&self.0) {
            *n -= 1;
            if *n == 0 {
                live.remove(&self.0);
            }
        }
    }
}

/// How long a lease lives and how often it is renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockOptions {
    /// The lease's duration (whole seconds, at least 1): how long it outlives its last renewal.
    pub ttl: Duration,
    /// How often it is renewed; below `ttl`.
    pub renew_every: Duration,
}

impl LockOptions {
    /// A TTL of `ttl`, renewed every third of it.
    pub fn with_ttl(ttl: Duration) -> LockOptions {
        LockOptions {
            ttl,
            renew_every: ttl / 3,
        }
    }

    fn check(&self) -> Result<(), LockError> {
        if self.ttl < Duration::from_secs(1) || self.ttl.as_secs() > i32::MAX as u64 {
            return Err(LockError::Invalid(format!(
                "a lock's TTL must be between 1s and {}s, not {:?}",
                i32::MAX,
                self.ttl
            )));
        }
        if self.renew_every.is_zero() || self.renew_every >= self.ttl {
            return Err(LockError::Invalid(format!(
                "a lock must be renewed more often than its TTL ({:?}), not every {:?}",
                self.ttl, self.renew_every
            )));
        }
        Ok(())
    }

    /// leaseDurationSeconds: the TTL rounded up to whole seconds.
    fn lease_seconds(&self) -> i32 {
        let secs = self.ttl.as_secs() + u64::from(self.ttl.subsec_nanos() > 0);
        i32::try_from(secs).unwrap_or(i32::MAX)
    }
}

impl Default for LockOptions {
    fn default() -> LockOptions {
        LockOptions::with_ttl(DEFAULT_TTL)
    }
}

/// Why a lock could not be taken, inspected or released.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    /// Another live holder has the lease. `holder` is already escaped for a terminal.
    #[error(
        "release {release} is locked by {holder} since {} (expires in {}s)",
        rfc3339(*.since),
        whole_seconds_up(*.expires_in)
    )]
    Held {
        release: String,
        /// The lease's holderIdentity, escaped (it comes from the cluster).
        holder: String,
        /// When the holder acquired it (acquireTime; renewTime if missing).
        since: Timestamp,
        /// How long until the lease expires unless renewed.
        expires_in: Duration,
    },
    /// A bad release name or bad options.
    #[error("{0}")]
    Invalid(String),
    /// The API server refused or failed a request; the message names the lease and the operation.
    #[error("{0}")]
    Api(String),
    /// As `Api`, but transient (a 429, a 5xx, a lost connection): trying again may succeed.
    #[error("{0}")]
    Transient(String),
}

/// `2024-05-06T07:08:09Z`: RFC 3339, whole seconds, UTC.
pub fn rfc3339(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn whole_seconds_up(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn escape_holder(text: &str) -> String {
    crate::text::escape(text, MAX_HOLDER_TEXT)
}

fn timestamp(clock: &Clock) -> Timestamp {
    Timestamp::try_from(clock.wall_now()).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Where a request went, for its error messages.
#[derive(Debug, Clone)]
struct Target {
    api: Api<Lease>,
    namespace: String,
    release: String,
    name: String,
}

impl Target {
    fn new(client: &kube::Client, namespace: &str, release: &str) -> Result<Target, LockError> {
        super::check_name(release)
            .map_err(|e| LockError::Invalid(format!("cannot lock release {release:?}: {e}")))?;
        Ok(Target {
            api: Api::namespaced(client.clone(), namespace),
            namespace: namespace.to_string(),
            release: release.to_string(),
            name: lease_name(release),
        })
    }

    /// A kube error as one line naming the operation and the lease; RBAC denials say what to grant.
    fn error(&self, op: &str, err: &kube::Error) -> LockError {
        match self.permanent_error(op, err) {
            LockError::Api(m) if crate::cluster::retry::transient(err) => LockError::Transient(m),
            other => other,
        }
    }

    fn permanent_error(&self, op: &str, err: &kube::Error) -> LockError {
        let ns = &self.namespace;
        let name = &self.name;
        match err {
            kube::Error::Api(status) => {
                let detail = if status.message.is_empty() {
                    status.reason.clone()
                } else {
                    status.message.clone()
                };
                let detail = crate::text::escape(&detail, MAX_DETAIL_TEXT);
                if status.code == 403 || status.reason == "Forbidden" {
                    LockError::Api(format!(
                        "cannot {op} leases in namespace {ns} (lease {name}): {detail}; grant \
                         coordination.k8s.io leases get/create/update/delete in namespace {ns}"
                    ))
                } else {
                    LockError::Api(format!("cannot {op} lease {ns}/{name}: {detail}"))
                }
            }
            other => LockError::Api(format!(
                "cannot {op} lease {ns}/{name}: {}",
                crate::text::escape(&chain(other), MAX_DETAIL_TEXT)
            )),
        }
    }

    async fn get(&self) -> Result<Option<Lease>, LockError> {
        self.api
            .get_opt(&self.name)
            .await
            .map_err(|e| self.error("get", &e))
    }
}

/// An error and its causes, `: `-separated.
fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

fn status_code(err: &kube::Error) -> Option<u16> {
    match err {
        kube::Error::Api(status) => {
            Some(status.code)
                .filter(|&c| c != 0)
                .or(match status.reason.as_str() {
                    "NotFound" => Some(404),
                    "AlreadyExists" | "Conflict" => Some(409),
                    _ => None,
                })
        }
        _ => None,
    }
}

/// What this process is, for judging whether a lease's holder is gone.
#[derive(Debug, Clone)]
struct Local {
    host: String,
    pid: u32,
    pid_namespace: Option<&'static str>,
}

impl Local {
    /// `host`, process `pid` (this process's, unless a caller names itself otherwise) in this
    /// process's PID namespace.
    fn new(host: &str, pid: u32) -> Local {
        Local {
            host: host.to_string(),
            pid,
            pid_namespace: pid_namespace(),
        }
    }
}

/// A release's lease as `cutover status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseState {
    /// holderIdentity, as the cluster has it (not escaped: escape it before printing); empty
    /// when the lease is free.
    pub holder: String,
    pub user: Option<String>,
    pub host: Option<String>,
    pub pid: Option<u32>,
    pub run_id: Option<String>,
    /// acquireTime.
    pub acquired: Option<Timestamp>,
    /// renewTime.
    pub renewed: Option<Timestamp>,
    /// leaseDurationSeconds (30 s when missing).
    pub ttl: Duration,
    /// leaseTransitions.
    pub transitions: i32,
    /// renewTime + ttl has passed (or the lease has no time at all).
    pub expired: bool,
    /// The holder ran on this machine and its process is gone.
    pub holder_gone: bool,
    /// How long until it expires (zero once expired).
    pub expires_in: Duration,
}

impl LeaseState {
    /// Whether nobody holds the lease.
    pub fn is_free(&self) -> bool {
        self.holder.is_empty()
    }

    /// Whether an [`acquire`] would take it over: free, expired or its holder gone.
    pub fn is_stale(&self) -> bool {
        self.is_free() || self.expired || self.holder_gone
    }

    fn of(lease: &Lease, now: Timestamp, local: &Local) -> LeaseState {
        let spec = lease.spec.clone().unwrap_or_default();
        let annotation = |key: &str| {
            lease
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(key))
                .cloned()
        };
        let holder = spec.holder_identity.unwrap_or_default();
        let ttl_secs = spec
            .lease_duration_seconds
            .unwrap_or(DEFAULT_TTL.as_secs() as i32)
            .max(0);
        let ttl = Duration::from_secs(u64::from(ttl_secs.unsigned_abs()));
        let acquired = spec.acquire_time.map(|t| t.0);
        let renewed = spec.renew_time.map(|t| t.0);
        let expiry = renewed.or(acquired).and_then(|t| {
            t.checked_add(SignedDuration::from_secs(i64::from(ttl_secs)))
                .ok()
        });
        let expires_in = expiry
            .map(|e| Duration::try_from(now.duration_until(e)).unwrap_or(Duration::ZERO))
            .unwrap_or(Duration::ZERO);
        let expired = expiry.is_none_or(|e| e < now);
        let host = annotation(ANNOTATION_HOST);
        let pid_text = annotation(ANNOTATION_PID);
        let pid = pid_text.as_deref().and_then(|p| p.parse::<u32>().ok());
        let holder_gone = !holder.is_empty()
            && holder_gone(
                &holder,
                host.as_deref(),
                pid,
                annotation(ANNOTATION_PID_NAMESPACE).as_deref(),
                local,
            );
        LeaseState {
            holder,
            user: annotation(ANNOTATION_USER),
            host,
            pid,
            run_id: annotation(ANNOTATION_RUN),
            acquired,
            renewed,
            ttl,
            transitions: spec.lease_transitions.unwrap_or(0),
            expired,
            holder_gone,
            expires_in,
        }
    }
}

/// Whether a holder is known dead: it ran on this host (and PID namespace, where both sides
/// know theirs) and its process is not running. A holder naming this very process is dead
/// unless a live [`Lock`] of this process holds that identity.
fn holder_gone(
    identity: &str,
    host: Option<&str>,
    pid: Option<u32>,
    pid_namespace: Option<&str>,
    local: &Local,
) -> bool {
    if host != Some(local.host.as_str()) {
        return false;
    }
    if pid_namespace != local.pid_namespace {
        // Another PID namespace, or one side cannot tell: its PIDs are not ours to judge.
        return false;
    }
    let Some(pid) = pid else {
        return false;
    };
    if pid == local.pid {
        return !held_in_this_process(identity);
    }
    process_gone(pid)
}

/// The lease `holder` writes: identity, annotations, labels and times, over `base` (the lease
/// read, for a takeover, whose metadata and resourceVersion it keeps).
fn holder_lease(
    base: Option<Lease>,
    target: &Target,
    holder: &Holder,
    options: &LockOptions,
    now: Timestamp,
    transitions: i32,
) -> Lease {
    let mut lease = base.unwrap_or_else(|| Lease {
        metadata: ObjectMeta {
            name: Some(target.name.clone()),
            namespace: Some(target.namespace.clone()),
            ..ObjectMeta::default()
        },
        spec: None,
    });
    let labels = lease.metadata.labels.get_or_insert_default();
    labels.insert("owner".into(), "cutover".into());
    labels.insert("name".into(), target.release.clone());
    let annotations = lease.metadata.annotations.get_or_insert_default();
    annotations.remove(ANNOTATION_PID_NAMESPACE);
    annotations.insert(ANNOTATION_USER.into(), holder.user.clone());
    annotations.insert(ANNOTATION_HOST.into(), holder.host.clone());
    annotations.insert(ANNOTATION_PID.into(), holder.pid.to_string());
    annotations.insert(ANNOTATION_RUN.into(), holder.run_id.clone());
    if let Some(ns) = pid_namespace() {
        annotations.insert(ANNOTATION_PID_NAMESPACE.into(), ns.to_string());
    }
    lease.spec = Some(LeaseSpec {
        holder_identity: Some(holder.identity()),
        lease_duration_seconds: Some(options.lease_seconds()),
        acquire_time: Some(MicroTime(now)),
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(transitions),
        ..LeaseSpec::default()
    });
    lease
}

fn identity_of(lease: &Lease) -> Option<&str> {
    lease.spec.as_ref()?.holder_identity.as_deref()
}

fn held_error(target: &Target, state: &LeaseState, now: Timestamp) -> LockError {
    LockError::Held {
        release: target.release.clone(),
        holder: escape_holder(&state.holder),
        since: state.acquired.or(state.renewed).unwrap_or(now),
        expires_in: state.expires_in,
    }
}

/// Takes the lock of `release` in `namespace` for `holder`: creates its Lease, or takes over
/// one that is free or stale; [`LockError::Held`] when a live holder has it. The returned
/// [`Lock`] renews the lease on `clock` until released or dropped.
pub async fn acquire(
    client: &kube::Client,
    namespace: &str,
    release: &str,
    holder: &Holder,
    options: LockOptions,
    clock: &Clock,
) -> Result<Lock, LockError> {
    options.check()?;
    let target = Target::new(client, namespace, release)?;
    let local = Local::new(&holder.host, holder.pid);
    let identity = holder.identity();
    // Registered before any write, so that no concurrent acquire in this process ever judges
    // this identity's lease as left by an earlier run.
    let guard = LiveGuard::new(&identity);
    for _ in 0..MAX_ROUNDS {
        let now = timestamp(clock);
        let started = clock.now();
        let fresh = holder_lease(None, &target, holder, &options, now, 0);
        match target.api.create(&PostParams::default(), &fresh).await {
            Ok(lease) => {
                return Ok(Lock::start(
                    target, identity, guard, lease, now, started, options, clock,
                ));
            }
            Err(e) if status_code(&e) == Some(409) => {}
            Err(e) => return Err(target.error("create", &e)),
        }
        let Some(existing) = target.get().await? else {
            // Deleted in between: create again.
            continue;
        };
        let state = LeaseState::of(&existing, now, &local);
        if !state.is_stale() {
            return Err(held_error(&target, &state, now));
        }
        let takeover = holder_lease(
            Some(existing),
            &target,
            holder,
            &options,
            now,
            state.transitions.saturating_add(1),
        );
        match target
            .api
            .replace(&target.name, &PostParams::default(), &takeover)
            .await
        {
            Ok(lease) => {
                return Ok(Lock::start(
                    target, identity, guard, lease, now, started, options, clock,
                ));
            }
            // Another taker won, or the holder renewed: read again.
            Err(e) if matches!(status_code(&e), Some(404 | 409)) => {}
            Err(e) => return Err(target.error("update", &e)),
        }
    }
    // Still racing: report whoever holds it now.
    let now = timestamp(clock);
    match target.get().await? {
        Some(lease) => {
            let state = LeaseState::of(&lease, now, &local);
            if state.is_free() {
                Err(LockError::Api(format!(
                    "cannot lock release {release}: lease {namespace}/{} kept changing while \
                     it was taken",
                    target.name
                )))
            } else {
                Err(held_error(&target, &state, now))
            }
        }
        None => Err(LockError::Api(format!(
            "cannot lock release {release}: lease {namespace}/{} kept changing while it was taken",
            target.name
        ))),
    }
}

/// The lease of `release` in `namespace` as it stands, judged by this machine and `clock`;
/// `None` when there is none (nobody holds the release).
pub async fn inspect(
    client: &kube::Client,
    namespace: &str,
    release: &str,
    clock: &Clock,
) -> Result<Option<LeaseState>, LockError> {
    let target = Target::new(client, namespace, release)?;
    let local = Local::new(&current_host(), std::process::id());
    let now = timestamp(clock);
    Ok(target
        .get()
        .await?
        .map(|lease| LeaseState::of(&lease, now, &local)))
}

/// What the renewal task and the [`Lock`] share.
#[derive(Debug)]
struct Shared {
    /// Why the lock was lost; set once.
    lost: OnceLock<String>,
    /// The lease as last written or read (its resourceVersion is the next write's precondition)
    /// and the instant its renewTime was taken.
    last: Mutex<(Lease, Instant)>,
}

impl Shared {
    fn last(&self) -> MutexGuard<'_, (Lease, Instant)> {
        self.last.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A held release lock, renewed in the background until [`release`](Lock::release)d. Dropping
/// it stops the renewals and leaves the lease to expire (or to be found dead on this machine).
#[derive(Debug)]
pub struct Lock {
    target: Target,
    identity: String,
    acquired_at: Timestamp,
    ttl: Duration,
    clock: Clock,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _live: LiveGuard,
}

impl Lock {
    #[allow(clippy::too_many_arguments)]
    fn start(
        target: Target,
        identity: String,
        live: LiveGuard,
        lease: Lease,
        acquired_at: Timestamp,
        renewed: Instant,
        options: LockOptions,
        clock: &Clock,
    ) -> Lock {
        let shared = Arc::new(Shared {
            lost: OnceLock::new(),
            last: Mutex::new((lease, renewed)),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let renewer = Renewer {
            target: target.clone(),
            identity: identity.clone(),
            options,
            clock: clock.clone(),
            shared: shared.clone(),
        };
        let task = tokio::spawn(renewer.run(stopped));
        Lock {
            target,
            identity,
            acquired_at,
            ttl: options.ttl,
            clock: clock.clone(),
            shared,
            stop: Some(stop),
            task: Some(task),
            _live: live,
        }
    }

    /// Why the lock is lost (taken over, deleted, or not renewed within its TTL), or `None`
    /// while it holds. Cheap: the host asks before every mutation.
    pub fn lost(&self) -> Option<String> {
        if let Some(reason) = self.shared.lost.get() {
            return Some(reason.clone());
        }
        let renewed = self.shared.last().1;
        if self.clock.since(renewed) >= self.ttl {
            // Latched: a renewal that comes through later does not make it held again.
            let reason = format!(
                "the lease {}/{} of release {} was not renewed within its TTL of {}s",
                self.target.namespace,
                self.target.name,
                self.target.release,
                whole_seconds_up(self.ttl)
            );
            let _ = self.shared.lost.set(reason);
            return self.shared.lost.get().cloned();
        }
        None
    }

    /// The holder identity written in the lease.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// When the lock was taken (the lease's acquireTime).
    pub fn acquired_at(&self) -> Timestamp {
        self.acquired_at
    }

    /// The Lease's name.
    pub fn lease_name(&self) -> &str {
        &self.target.name
    }

    /// Stops renewing (letting a renewal under way finish), then deletes the lease if it is
    /// still this lock's: preconditions uid and resourceVersion, so a lease someone else holds
    /// now is never deleted. Gone or taken over already is fine.
    pub async fn release(mut self) -> Result<(), LockError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let mut lease = self.shared.last().0.clone();
        for _ in 0..MAX_ROUNDS {
            let params = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: lease.metadata.uid.clone(),
                    resource_version: lease.metadata.resource_version.clone(),
                }),
                ..DeleteParams::default()
            };
            match self.target.api.delete(&self.target.name, &params).await {
                Ok(_) => return Ok(()),
                Err(e) => match status_code(&e) {
                    Some(404) => return Ok(()),
                    Some(409) => match self.target.get().await? {
                        Some(now) if identity_of(&now) == Some(self.identity.as_str()) => {
                            lease = now;
                        }
                        // Gone, or someone else's now.
                        _ => return Ok(()),
                    },
                    _ => return Err(self.target.error("delete", &e)),
                },
            }
        }
        Err(LockError::Api(format!(
            "cannot delete lease {}/{}: it kept changing",
            self.target.namespace, self.target.name
        )))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// How a renewal failed.
enum Failure {
    /// The lease is not ours any more.
    Lost(String),
    /// The write failed; it may work next time.
    Failed(String),
}

/// The renewal task.
struct Renewer {
    target: Target,
    identity: String,
    options: LockOptions,
    clock: Clock,
    shared: Arc<Shared>,
}

impl Renewer {
    async fn run(self, mut stop: tokio::sync::oneshot::Receiver<()>) {
        let retry = (self.options.renew_every / 5)
            .clamp(Duration::from_millis(100), Duration::from_secs(2))
            .min(self.options.renew_every);
        let mut last_ok = self.shared.last().1;
        let mut next = last_ok + self.options.renew_every;
        loop {
            tokio::select! {
                biased;
                _ = &mut stop => return,
                () = self.clock.sleep_until(next) => {}
            }
            if self.shared.lost.get().is_some() {
                return;
            }
            let deadline = last_ok + self.options.ttl;
            let started = self.clock.now();
            let stamp = timestamp(&self.clock);
            let failure = match self.clock.timeout_at(deadline, self.renew(stamp)).await {
                Ok(Ok(lease)) => {
                    *self.shared.last() = (lease, started);
                    last_ok = started;
                    next = started + self.options.renew_every;
                    continue;
                }
                Ok(Err(Failure::Lost(reason))) => {
                    let _ = self.shared.lost.set(reason);
                    return;
                }
                Ok(Err(Failure::Failed(error))) => error,
                Err(_) => "the API server did not answer in time".to_string(),
            };
            let retry_at = self.clock.now() + retry;
            if retry_at >= deadline {
                let _ = self.shared.lost.set(format!(
                    "cannot renew lease {}/{} of release {} within its TTL of {}s: {failure}",
                    self.target.namespace,
                    self.target.name,
                    self.target.release,
                    whole_seconds_up(self.options.ttl)
                ));
                return;
            }
            next = retry_at;
        }
    }

    /// One renewal: the last lease with renewTime `now`, written with its resourceVersion. A
    /// conflict is read again: still ours, written again; someone else's, lost.
    async fn renew(&self, now: Timestamp) -> Result<Lease, Failure> {
        let target = &self.target;
        let mut lease = self.shared.last().0.clone();
        for _ in 0..MAX_ROUNDS {
            lease.spec.get_or_insert_default().renew_time = Some(MicroTime(now));
            match target
                .api
                .replace(&target.name, &PostParams::default(), &lease)
                .await
            {
                Ok(written) => return self.still_ours(written),
                Err(e) => match status_code(&e) {
                    Some(404) => return Err(self.deleted()),
                    Some(409) => match target.get().await {
                        Ok(Some(read)) => lease = self.still_ours(read)?,
                        Ok(None) => return Err(self.deleted()),
                        Err(e) => return Err(Failure::Failed(e.to_string())),
                    },
                    _ => return Err(Failure::Failed(target.error("update", &e).to_string())),
                },
            }
        }
        Err(Failure::Failed(format!(
            "lease {}/{} kept changing",
            target.namespace, target.name
        )))
    }

    fn still_ours(&self, lease: Lease) -> Result<Lease, Failure> {
        match identity_of(&lease) {
            Some(id) if id == self.identity => Ok(lease),
            other => Err(Failure::Lost(format!(
                "release {} was taken over by {} (lease {}/{})",
                self.target.release,
                escape_holder(other.unwrap_or("nobody")),
                self.target.namespace,
                self.target.name
            ))),
        }
    }

    fn deleted(&self) -> Failure {
        Failure::Lost(format!(
            "the lease {}/{} of release {} was deleted",
            self.target.namespace, self.target.name, self.target.release
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cutover_sim::Simulator;
    use std::future::Future;
    use std::time::SystemTime;

    const NS: &str = "default";

    /// 2024-05-06T07:08:09Z.
    fn origin() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_714_979_289)
    }

    /// Runs `test` on a current-thread runtime whose virtual clock the simulator shares, time
    /// moving whenever the runtime would go idle.
    fn on_sim<F, Fut>(test: F)
    where
        F: FnOnce(Clock, Simulator) -> Fut,
        Fut: Future<Output = ()>,
    {
        let clock = Clock::virtual_at(origin());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .on_thread_park(clock.park_hook())
            .build()
            .unwrap();
        let sim = Simulator::with_clock(7, clock.clone());
        runtime.block_on(test(clock, sim));
    }

    fn holder(user: &str, host: &str, pid: u32, run: &str) -> Holder {
        Holder {
            user: user.into(),
            host: host.into(),
            pid,
            run_id: run.into(),
        }
    }

    fn leases(sim: &Simulator) -> Api<Lease> {
        Api::namespaced(sim.client(), NS)
    }

    async fn read(sim: &Simulator, release: &str) -> Option<Lease> {
        leases(sim).get_opt(&lease_name(release)).await.unwrap()
    }

    fn spec(lease: &Lease) -> &LeaseSpec {
        lease.spec.as_ref().unwrap()
    }

    /// Writes a lease for `holder` as another process would, renewed at `renewed`.
    async fn plant(sim: &Simulator, release: &str, holder: &Holder, renewed: Timestamp) {
        let target = Target::new(&sim.client(), NS, release).unwrap();
        let mut lease = holder_lease(None, &target, holder, &LockOptions::default(), renewed, 3);
        lease.spec.as_mut().unwrap().acquire_time = Some(MicroTime(renewed));
        leases(sim)
            .create(&PostParams::default(), &lease)
            .await
            .unwrap();
    }

    #[test]
    fn acquires_a_free_release_and_releases_it() {
        on_sim(|clock, sim| async move {
            let me = holder("alice", "host-a", 1234, "r1");
            let lock = acquire(
                &sim.client(),
                NS,
                "web",
                &me,
                LockOptions::default(),
                &clock,
            )
            .await
            .unwrap();
            assert_eq!(lock.identity(), "alice@host-a pid 1234 run r1");
            assert_eq!(lock.lost(), None);
            assert_eq!(lock.acquired_at(), Timestamp::try_from(origin()).unwrap());

            let lease = read(&sim, "web").await.unwrap();
            let s = spec(&lease);
            assert_eq!(
                s.holder_identity.as_deref(),
                Some("alice@host-a pid 1234 run r1")
            );
            assert_eq!(s.lease_duration_seconds, Some(30));
            assert_eq!(s.lease_transitions, Some(0));
            assert_eq!(s.acquire_time, s.renew_time);
            let labels = lease.metadata.labels.as_ref().unwrap();
            assert_eq!(labels["owner"], "cutover");
            assert_eq!(labels["name"], "web");
            let ann = lease.metadata.annotations.as_ref().unwrap();
            assert_eq!(ann[ANNOTATION_USER], "alice");
            assert_eq!(ann[ANNOTATION_HOST], "host-a");
            assert_eq!(ann[ANNOTATION_PID], "1234");
            assert_eq!(ann[ANNOTATION_RUN], "r1");

            let state = inspect(&sim.client(), NS, "web", &clock)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(state.holder, "alice@host-a pid 1234 run r1");
            assert_eq!(state.user.as_deref(), Some("alice"));
            assert_eq!(state.pid, Some(1234));
            assert_eq!(state.run_id.as_deref(), Some("r1"));
            assert_eq!(state.ttl, DEFAULT_TTL);
            assert!(!state.expired && !state.holder_gone && !state.is_stale());

            lock.release().await.unwrap();
            assert!(read(&sim, "web").await.is_none());
            assert_eq!(inspect(&sim.client(), NS, "web", &clock).await, Ok(None));
        });
    }

    #[test]
    fn a_held_release_is_refused_with_its_holder() {
        on_sim(|clock, sim| async move {
            let a = holder("alice", "host-a", 1234, "r1");
            let b = holder("bob", "host-b", 99, "r2");
            let lock = acquire(&sim.client(), NS, "web", &a, LockOptions::default(), &clock)
                .await
                .unwrap();
            let err = acquire(&sim.client(), NS, "web", &b, LockOptions::default(), &clock)
                .await
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                "release web is locked by alice@host-a pid 1234 run r1 since \
                 2024-05-06T07:08:09Z (expires in 30s)"
            );
            assert!(matches!(err, LockError::Held { ref release, .. } if release == "web"));
            // The same identity twice is held too: a lock is not re-entrant.
            let again = acquire(&sim.client(), NS, "web", &a, LockOptions::default(), &clock)
                .await
                .unwrap_err();
            assert!(matches!(again, LockError::Held { .. }), "{again}");
            drop(lock);
        });
    }

    #[test]
    fn an_expired_lease_is_taken_over() {
        on_sim(|clock, sim| async move {
            let old = holder("carol", "host-c", 77, "old");
            let now = Timestamp::try_from(origin()).unwrap();
            plant(&sim, "web", &old, now - SignedDuration::from_secs(31)).await;
            let state = inspect(&sim.client(), NS, "web", &clock)
                .await
                .unwrap()
                .unwrap();
            assert!(state.expired && state.is_stale() && !state.holder_gone);
            assert_eq!(state.expires_in, Duration::ZERO);

            let me = holder("alice", "host-a", 1234, "r1");
            let lock = acquire(
                &sim.client(),
                NS,
                "web",
                &me,
                LockOptions::default(),
                &clock,
            )
            .await
            .unwrap();
            let lease = read(&sim, "web").await.unwrap();
            assert_eq!(spec(&lease).lease_transitions, Some(4));
            assert_eq!(
                spec(&lease).holder_identity.as_deref(),
                Some(lock.identity())
            );
            assert_eq!(spec(&lease).acquire_time, Some(MicroTime(now)));
            assert_eq!(
                lease.metadata.annotations.as_ref().unwrap()[ANNOTATION_RUN],
                "r1"
            );
        });
    }

    #[test]
    fn a_fresh_lease_elsewhere_is_not_taken_over() {
        on_sim(|clock, sim| async move {
            let other = holder("carol", "host-c", 77, "old");
            let now = Timestamp::try_from(origin()).unwrap();
            plant(&sim, "web", &other, now - SignedDuration::from_secs(29)).await;
            let me = holder("alice", "host-a", 1234, "r1");
            let err = acquire(
                &sim.client(),
                NS,
                "web",
                &me,
                LockOptions::default(),
                &clock,
            )
            .await
            .unwrap_err();
            assert_eq!(
                err.to_string(),
                "release web is locked by carol@host-c pid 77 run old since \
                 2024-05-06T07:07:40Z (expires in 1s)"
            );
        });
    }

    #[test]
    fn the_liveness_probe() {
        assert!(process_gone(0x3fff_fff0));
        assert!(process_gone(0));
        assert!(process_gone(u32::MAX));
        assert!(!process_gone(std::process::id()));
        // PID 1 exists everywhere, usually as another user's process (EPERM).
        assert!(!process_gone(1));
    }

    #[test]
    fn a_dead_process_on_this_host_frees_its_lease_at_once() {
        on_sim(|clock, sim| async move {
            let host = current_host();
            let dead = holder("alice", &host, 0x3fff_fff0, "old");
            let now = Timestamp::try_from(origin()).unwrap();
            plant(&sim, "web", &dead, now).await;
            let state = inspect(&sim.client(), NS, "web", &clock)
                .await
                .unwrap()
                .unwrap();
            assert!(state.holder_gone && !state.expired, "{state:?}");

            let me = Holder::current("dead-r1");
            let lock = acquire(
                &sim.client(),
                NS,
                "web",
                &me,
                LockOptions::default(),
                &clock,
            )
            .await
            .unwrap();
            assert_eq!(lock.identity(), me.identity());
            let lease = read(&sim, "web").await.unwrap();
            assert_eq!(spec(&lease).lease_transitions, Some(4));

            // This very process, under another run: held while that run's lock lives...
            let other_run = Holder::current("dead-r2");
            let err = acquire(
                &sim.client(),
                NS,
                "web",
                &other_run,
                LockOptions::default(),
                &clock,
            )
            .await
            .unwrap_err();
            assert!(matches!(err, LockError::Held { .. }), "{err}");
            // ...and free once it is dropped without a release (an earlier run in this process).
            drop(lock);
            let taken = acquire(
                &sim.client(),
                NS,
                "web",
                &other_run,
                LockOptions::default(),
                &clock,
            )
            .await
            .unwrap();
            assert_eq!(taken.identity(), other_run.identity());
        });
    }

    #[test]
    fn a_live_process_on_another_host_or_namespace_is_not_judged() {
        let local = Local {
            host: "here".into(),
            pid: 1,
            pid_namespace: Some("pid:[1]"),
        };
        let gone = 0x3fff_fff0;
        assert!(holder_gone(
            "x",
            Some("here"),
            Some(gone),
            Some("pid:[1]"),
            &local
        ));
        assert!(!holder_gone(
            "x",
            Some("there"),
            Some(gone),
            Some("pid:[1]"),
            &local
        ));
        assert!(!holder_gone(
            "x",
            Some("here"),
            Some(gone),
            Some("pid:[2]"),
            &local
        ));
        assert!(!holder_gone("x", Some("here"), Some(gone), None, &local));
        assert!(!holder_gone(
            "x",
            Some("here"),
            None,
            Some("pid:[1]"),
            &local
        ));
        assert!(!holder_gone("x", None, Some(gone), Some("pid:[1]"), &local));
    }

    #[test]
    fn renewals_advance_the_renew_time() {
        on_sim(|clock, sim| async move {
            let me = holder("alice", "host-a", 1234, "r1");
            let options = LockOptions::with_ttl(Duration::from_secs(3));
            let lock = acquire(&sim.client(), NS, "web", &me, options, &clock)
                .await
                .unwrap();
            let first = read(&sim, "web").await.unwrap();
            clock.sleep(Duration::from_millis(10_500)).await;
            let later = read(&sim, "web").await.unwrap();
            let (t0, t1) = (
                spec(&first).renew_time.clone().unwrap().0,
                spec(&later).renew_time.clone().unwrap().0,
            );
            // Every second: the last at 10 s.
            assert_eq!(t1.duration_since(t0), SignedDuration::from_secs(10));
            assert_eq!(spec(&later).acquire_time, spec(&first).acquire_time);
            assert_eq!(spec(&later).lease_transitions, Some(0));
            assert_eq!(lock.lost(), None);
            lock.release().await.unwrap();
            assert!(read(&sim, "web").await.is_none());
        });
    }

    #[test]
    fn a_stolen_lease_is_lost_and_not_deleted() {
        on_sim(|clock, sim| async move {
            let me = holder("alice", "host-a", 1234, "r1");
            let lock = acquire(
                &sim.client(),
                NS,
                "web",
                &me,
                LockOptions::default(),
                &clock,
            )
            .await
            .unwrap();
            let mut lease = read(&sim, "web").await.unwrap();
            lease.spec.as_mut().unwrap().holder_identity = Some("mallory@host-m\u{1b}]0;x".into());
            leases(&sim)
                .replace(&lease_name("web"), &PostParams::default(), &lease)
                .await
                .unwrap();
            assert_eq!(lock.lost(), None, "not noticed before the next renewal");
            clock.sleep(Duration::from_secs(11)).await;
            let reason = lock.lost().expect("lost at the renewal");
            assert!(
                reason.contains("taken over by mallory@host-m\\u{1b}]0;x"),
                "{reason}"
            );
            assert!(!reason.contains('\u{1b}'));

            lock.release().await.unwrap();
            let still = read(&sim, "web").await.expect("someone else's lease stays");
            assert_eq!(
                spec(&still).holder_identity.as_deref(),
                Some("mallory@host-m\u{1b}]0;x")
            );
        });
    }

    #[test]
    fn a_deleted_lease_is_lost() {
        on_sim(|clock, sim| async move {
            let me = holder("alice", "host-a", 1234, "r1");
            let lock = acquire(
                &sim.client(),
                NS,
                "web",
                &me,
                LockOptions::default(),
                &clock,
            )
            .await
            .unwrap();
            leases(&sim)
                .delete(&lease_name("web"), &DeleteParams::default())
                .await
                .unwrap();
            clock.sleep(Duration::from_secs(11)).await;
            let reason = lock.lost().unwrap();
            assert!(reason.contains("was deleted"), "{reason}");
            lock.release().await.unwrap();
        });
    }

    #[test]
    fn a_lock_not_renewed_within_its_ttl_reads_as_lost() {
        use futures::FutureExt as _;
        let clock = Clock::virtual_at(origin());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let sim = Simulator::with_clock(7, clock.clone());
        let client = {
            let _entered = runtime.enter();
            sim.client()
        };
        let me = holder("alice", "host-a", 1234, "r1");
        let lock = runtime
            .block_on(acquire(
                &client,
                NS,
                "web",
                &me,
                LockOptions::default(),
                &clock,
            ))
            .unwrap();
        // Outside the runtime, nothing runs: time moves past the TTL with no renewal (a
        // runtime too busy to renew).
        let mut later = clock.sleep(Duration::from_secs(31));
        assert!((&mut later).now_or_never().is_none());
        while clock.advance() {}
        assert!((&mut later).now_or_never().is_some());
        let reason = lock.lost().unwrap();
        assert!(
            reason.contains("not renewed within its TTL of 30s"),
            "{reason}"
        );
        let _entered = runtime.enter();
        drop(lock);
    }

    #[test]
    fn hostile_holder_text_is_escaped() {
        on_sim(|clock, sim| async move {
            let evil = holder("eve\u{1b}[2J", "host-e\u{202e}", 5, "r\n9");
            plant(&sim, "web", &evil, Timestamp::try_from(origin()).unwrap()).await;
            let me = holder("alice", "host-a", 1234, "r1");
            let err = acquire(
                &sim.client(),
                NS,
                "web",
                &me,
                LockOptions::default(),
                &clock,
            )
            .await
            .unwrap_err();
            let text = err.to_string();
            assert_eq!(
                text,
                "release web is locked by eve\\u{1b}[2J@host-e\\u{202e} pid 5 run r\\u{a}9 \
                 since 2024-05-06T07:08:09Z (expires in 30s)"
            );
            assert!(!text.chars().any(crate::text::is_unsafe));
        });
    }

    #[tokio::test]
    async fn forbidden_names_the_grant() {
        let target = Target::new(&Simulator::new(0).client(), "shop", "web");
        let target = match target {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        };
        let status = kube::core::Status {
            code: 403,
            reason: "Forbidden".into(),
            message: "leases.coordination.k8s.io is forbidden: User \"ci\" cannot create".into(),
            ..kube::core::Status::default()
        };
        let err = target.error("create", &kube::Error::Api(Box::new(status)));
        let text = err.to_string();
        assert!(
            text.starts_with(
                "cannot create leases in namespace shop (lease cutover.release.v1.web)"
            ),
            "{text}"
        );
        assert!(
            text.ends_with(
                "grant coordination.k8s.io leases get/create/update/delete in namespace shop"
            ),
            "{text}"
        );
    }

    #[test]
    fn bad_names_and_options_are_refused() {
        on_sim(|clock, sim| async move {
            let me = holder("alice", "host-a", 1234, "r1");
            let bad = acquire(
                &sim.client(),
                NS,
                "../x",
                &me,
                LockOptions::default(),
                &clock,
            )
            .await;
            assert!(matches!(bad, Err(LockError::Invalid(_))));
            let options = LockOptions {
                ttl: Duration::from_secs(10),
                renew_every: Duration::from_secs(10),
            };
            let bad = acquire(&sim.client(), NS, "web", &me, options, &clock).await;
            assert!(matches!(bad, Err(LockError::Invalid(_))));
        });
    }
}
