//! The per-run store data and the host side of every WIT interface: each call is checked against
//! the capabilities, bounded by its own deadline and the run's, performed, and reported.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::cutover::policy::{cluster, revisions, runtime, types};
use super::limits::{Limits, MemoryCap};
use crate::capabilities::{Call, Grants};
use crate::checkpoint::CheckpointStore;
use crate::cluster::{self as k8s, Cluster, ClusterError};
use crate::report::{Event, Level, Observer};

use types::{Error, ObjectRef};

/// Bytes of guest stdout/stderr kept for the report.
const OUTPUT_CAPACITY: usize = 256 << 10;

/// Counters and records of one run.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct RunStats {
    /// Cluster calls made (denied ones included).
    pub calls: u32,
    /// Calls refused by the capability check.
    pub denied: Vec<String>,
    /// Mutations that succeeded, e.g. `cordon v1/Node n1`.
    pub changed: Vec<String>,
    /// The panic message the guest reported, if it panicked.
    #[serde(skip)]
    pub panic: Option<String>,
}

/// Everything one run's store holds.
pub struct RunState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) memory: MemoryCap,
    pub(crate) stdout: MemoryOutputPipe,
    pub(crate) stderr: MemoryOutputPipe,
    cluster: Cluster,
    grants: Grants,
    deadline: Instant,
    /// The wall-clock time and the tokio instant at the start: `now` is the first plus the tokio
    /// time since the second, so it follows virtual time on the simulator's paused clock (and
    /// the wall clock otherwise).
    started: (SystemTime, Instant),
    request_timeout: Duration,
    checkpoint: CheckpointStore,
    observer: Observer,
    pub(crate) stats: RunStats,
}

impl RunState {
    /// A fresh state for one run: WASI with nothing behind it (no args, env, files, sockets),
    /// guest stdout and stderr captured in memory.
    pub fn new(
        cluster: Cluster,
        grants: Grants,
        limits: &Limits,
        checkpoint: CheckpointStore,
        observer: Observer,
    ) -> RunState {
        let stdout = MemoryOutputPipe::new(OUTPUT_CAPACITY);
        let stderr = MemoryOutputPipe::new(OUTPUT_CAPACITY);
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        RunState {
            wasi,
            table: ResourceTable::new(),
            memory: MemoryCap::new(limits.memory),
            stdout,
            stderr,
            cluster,
            grants,
            deadline: Instant::now() + limits.timeout,
            started: (SystemTime::now(), Instant::now()),
            request_timeout: limits.request_timeout,
            checkpoint,
            observer,
            stats: RunStats::default(),
        }
    }

    /// The checkpoint store, for clearing it after success.
    pub fn checkpoint(&self) -> &CheckpointStore {
        &self.checkpoint
    }

    fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Checks one call against the capabilities; a denial is reported and returned as `forbidden`.
    fn authorize(&mut self, call: Call<'_>) -> Result<(), Error> {
        self.stats.calls += 1;
        match self.grants.check(&call) {
            Ok(()) => Ok(()),
            Err(denial) => {
                let reason = denial.to_string();
                self.stats.denied.push(call.to_string());
                (self.observer)(&Event::Denied {
                    call: call.to_string(),
                    reason: reason.clone(),
                });
                Err(Error::Forbidden(format!("denied by cutover: {reason}")))
            }
        }
    }

    /// The namespace a call on `kind` reaches (None for cluster-scoped kinds), for the check.
    fn scope(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> impl Future<Output = Result<Option<String>, Error>> + Send + 'static {
        // The store data is not Sync: the future owns a clone of the cluster handle (two Arcs)
        // and of its arguments rather than borrowing `self` across the await.
        let cluster = self.cluster.clone();
        let (api_version, kind) = (api_version.to_string(), kind.to_string());
        let namespace = namespace.map(str::to_string);
        async move {
            cluster
                .effective_namespace(&api_version, &kind, namespace.as_deref())
                .await
                .map_err(to_wit_error)
        }
    }

    /// Authorizes a call on one object reference.
    /// Returns how the target is named in reports, with the namespace it really reaches.
    async fn authorize_ref(
        &mut self,
        operation: &str,
        target: &ObjectRef,
    ) -> Result<String, Error> {
        let namespace = self
            .scope(
                &target.api_version,
                &target.kind,
                target.namespace.as_deref(),
            )
            .await?;
        self.authorize(Call {
            interface: "cluster",
            operation,
            api_version: Some(&target.api_version),
            kind: Some(&target.kind),
            namespace: namespace.as_deref(),
        })?;
        let resolved = ObjectRef {
            namespace,
            ..target.clone()
        };
        Ok(describe(&resolved))
    }

    /// Runs one cluster call within `own` (or the request timeout) and the run's remaining time,
    /// then reports it. Mutations that succeed are recorded as changes.
    async fn perform<T>(
        &mut self,
        operation: &str,
        target: String,
        own: Option<Duration>,
        mutation: bool,
        call: impl Future<Output = Result<T, ClusterError>>,
    ) -> Result<T, Error> {
        let remaining = self.remaining();
        let limit = own.unwrap_or(self.request_timeout).min(remaining);
        let result = match tokio::time::timeout(limit, call).await {
            Ok(result) => result.map_err(to_wit_error),
            Err(_) if limit == remaining => Err(Error::Timeout(format!(
                "{operation} {target}: the run's deadline (--timeout) passed first"
            ))),
            Err(_) => Err(Error::Timeout(format!(
                "{operation} {target}: no answer within {}",
                crate::units::format_duration(limit)
            ))),
        };
        let outcome = match &result {
            Ok(_) => "ok".to_string(),
            Err(e) => error_message(e).to_string(),
        };
        if result.is_ok() && mutation {
            self.stats.changed.push(format!("{operation} {target}"));
        }
        (self.observer)(&Event::Call {
            operation: operation.to_string(),
            target,
            outcome,
        });
        result
    }
}

impl WasiView for RunState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// How an object is named in reports: `apps/v1/Deployment shop/web`.
fn describe(target: &ObjectRef) -> String {
    match &target.namespace {
        Some(ns) => format!(
            "{}/{} {ns}/{}",
            target.api_version, target.kind, target.name
        ),
        None => format!("{}/{} {}", target.api_version, target.kind, target.name),
    }
}

fn to_k8s_ref(target: &ObjectRef) -> k8s::ObjectRef {
    k8s::ObjectRef {
        api_version: target.api_version.clone(),
        kind: target.kind.clone(),
        namespace: target.namespace.clone(),
        name: target.name.clone(),
    }
}

fn parse_json(text: &str, what: &str) -> Result<serde_json::Value, Error> {
    serde_json::from_str(text).map_err(|e| Error::Invalid(format!("{what} is not valid JSON: {e}")))
}

fn to_json(value: &serde_json::Value) -> String {
    value.to_string()
}

/// Maps the cluster layer's typed error to the WIT error, variant for variant.
pub fn to_wit_error(error: ClusterError) -> Error {
    let message = error.to_string();
    match error {
        ClusterError::NotFound(_) => Error::NotFound(message),
        ClusterError::Conflict(_) => Error::Conflict(message),
        ClusterError::Forbidden(_) => Error::Forbidden(message),
        ClusterError::Invalid(_) => Error::Invalid(message),
        ClusterError::Timeout(_) => Error::Timeout(message),
        ClusterError::Unavailable(_) => Error::Unavailable(message),
        ClusterError::Aborted(_) => Error::Aborted(message),
        ClusterError::Other(_) => Error::Other(message),
    }
}

/// The one-line reason inside a WIT error.
pub fn error_message(error: &Error) -> &str {
    match error {
        Error::NotFound(m)
        | Error::Conflict(m)
        | Error::Forbidden(m)
        | Error::Invalid(m)
        | Error::Timeout(m)
        | Error::Unavailable(m)
        | Error::Aborted(m)
        | Error::Other(m) => m,
    }
}

/// The variant's name, for reports: `not-found`, `timeout`, ...
pub fn error_kind(error: &Error) -> &'static str {
    match error {
        Error::NotFound(_) => "not-found",
        Error::Conflict(_) => "conflict",
        Error::Forbidden(_) => "forbidden",
        Error::Invalid(_) => "invalid",
        Error::Timeout(_) => "timeout",
        Error::Unavailable(_) => "unavailable",
        Error::Aborted(_) => "aborted",
        Error::Other(_) => "other",
    }
}

impl types::Host for RunState {}

impl cluster::Host for RunState {
    async fn get(&mut self, target: ObjectRef) -> Result<String, Error> {
        let label = self.authorize_ref("get", &target).await?;
        let (cluster, object) = (self.cluster.clone(), to_k8s_ref(&target));
        let value = self
            .perform("get", label, None, false, async move {
                cluster.get(&object).await
            })
            .await?;
        Ok(to_json(&value))
    }

    async fn list(&mut self, query: cluster::ListQuery) -> Result<Vec<String>, Error> {
        let all = query.namespace.as_deref() == Some("*");
        let namespace = if all {
            None
        } else {
            self.scope(&query.api_version, &query.kind, query.namespace.as_deref())
                .await?
        };
        self.authorize(Call {
            interface: "cluster",
            operation: "list",
            api_version: Some(&query.api_version),
            kind: Some(&query.kind),
            namespace: namespace.as_deref(),
        })?;
        let target = format!(
            "{}/{} in {}",
            query.api_version,
            query.kind,
            namespace.as_deref().unwrap_or("all namespaces")
        );
        let request = k8s::ListQuery {
            api_version: query.api_version,
            kind: query.kind,
            namespace: query.namespace,
            label_selector: query.label_selector,
            field_selector: query.field_selector,
        };
        let cluster = self.cluster.clone();
        let items = self
            .perform("list", target, None, false, async move {
                cluster.list(&request).await
            })
            .await?;
        Ok(items.iter().map(to_json).collect())
    }

    async fn apply(&mut self, manifest: String) -> Result<String, Error> {
        let value = parse_json(&manifest, "the manifest")?;
        let field = |name: &str| {
            value
                .pointer(name)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let (Some(api_version), Some(kind), Some(name)) = (
            field("/apiVersion"),
            field("/kind"),
            field("/metadata/name"),
        ) else {
            return Err(Error::Invalid(
                "the manifest needs apiVersion, kind and metadata.name".into(),
            ));
        };
        let target = ObjectRef {
            api_version,
            kind,
            namespace: field("/metadata/namespace"),
            name,
        };
        let label = self.authorize_ref("apply", &target).await?;
        let cluster = self.cluster.clone();
        let stored = self
            .perform("apply", label, None, true, async move {
                cluster.apply(value).await
            })
            .await?;
        Ok(to_json(&stored))
    }

    async fn patch(
        &mut self,
        target: ObjectRef,
        kind: cluster::PatchType,
        body: String,
    ) -> Result<String, Error> {
        let body = parse_json(&body, "the patch")?;
        let label = self.authorize_ref("patch", &target).await?;
        let kind = match kind {
            cluster::PatchType::Merge => k8s::PatchKind::Merge,
            cluster::PatchType::Json => k8s::PatchKind::Json,
            cluster::PatchType::Strategic => k8s::PatchKind::Strategic,
            cluster::PatchType::Apply => k8s::PatchKind::Apply,
        };
        let (cluster, object) = (self.cluster.clone(), to_k8s_ref(&target));
        let stored = self
            .perform("patch", label, None, true, async move {
                cluster.patch(&object, kind, body).await
            })
            .await?;
        Ok(to_json(&stored))
    }

    async fn delete(&mut self, target: ObjectRef) -> Result<(), Error> {
        let label = self.authorize_ref("delete", &target).await?;
        let (cluster, object) = (self.cluster.clone(), to_k8s_ref(&target));
        self.perform("delete", label, None, true, async move {
            cluster.delete(&object).await
        })
        .await
    }

    async fn scale(&mut self, target: ObjectRef, replicas: u32) -> Result<(), Error> {
        let label = self.authorize_ref("scale", &target).await?;
        let (cluster, object) = (self.cluster.clone(), to_k8s_ref(&target));
        let label = format!("{} to {replicas}", label);
        self.perform("scale", label, None, true, async move {
            cluster.scale(&object, replicas).await
        })
        .await
    }

    async fn cordon(&mut self, node: String) -> Result<(), Error> {
        self.authorize(node_call("cordon"))?;
        let cluster = self.cluster.clone();
        let label = format!("v1/Node {node}");
        self.perform("cordon", label, None, true, async move {
            cluster.cordon(&node).await
        })
        .await
    }

    async fn uncordon(&mut self, node: String) -> Result<(), Error> {
        self.authorize(node_call("uncordon"))?;
        let cluster = self.cluster.clone();
        let label = format!("v1/Node {node}");
        self.perform("uncordon", label, None, true, async move {
            cluster.uncordon(&node).await
        })
        .await
    }

    async fn evict(
        &mut self,
        namespace: String,
        name: String,
        timeout_ms: u64,
    ) -> Result<(), Error> {
        self.authorize(Call {
            interface: "cluster",
            operation: "evict",
            api_version: Some("v1"),
            kind: Some("Pod"),
            namespace: Some(&namespace),
        })?;
        let own = Duration::from_millis(timeout_ms).min(self.remaining());
        let cluster = self.cluster.clone();
        let label = format!("v1/Pod {namespace}/{name}");
        // One second of slack so the cluster layer's own, clearer timeout message wins the race.
        let slack = Some(own + Duration::from_secs(1));
        self.perform("evict", label, slack, true, async move {
            cluster.evict(&namespace, &name, own).await
        })
        .await
    }

    async fn wait(
        &mut self,
        target: ObjectRef,
        until: cluster::Condition,
        timeout_ms: u64,
    ) -> Result<String, Error> {
        let label = self.authorize_ref("wait", &target).await?;
        let condition = match until {
            cluster::Condition::Ready => k8s::Condition::Ready,
            cluster::Condition::RolledOut => k8s::Condition::RolledOut,
            cluster::Condition::Deleted => k8s::Condition::Deleted,
            cluster::Condition::DeletedUid(uid) => k8s::Condition::DeletedUid(uid),
            cluster::Condition::Field(field) => k8s::Condition::Field {
                pointer: field.pointer,
                equals: parse_json(&field.equals, "the field condition's value")?,
            },
        };
        let own = Duration::from_millis(timeout_ms).min(self.remaining());
        let (cluster, object) = (self.cluster.clone(), to_k8s_ref(&target));
        let slack = Some(own + Duration::from_secs(1));
        let value = self
            .perform("wait", label, slack, false, async move {
                cluster.wait(&object, &condition, own).await
            })
            .await?;
        Ok(to_json(&value))
    }
}

fn node_call(operation: &str) -> Call<'_> {
    Call {
        interface: "cluster",
        operation,
        api_version: Some("v1"),
        kind: Some("Node"),
        namespace: None,
    }
}

/// Release history is stored by a later version of cutover; the interface is already the
/// contract, and calls are capability-checked like any other.
impl revisions::Host for RunState {
    async fn store_revision(
        &mut self,
        _manifests: String,
        _description: String,
    ) -> Result<u32, Error> {
        Err(self.revisions_unavailable("store-revision"))
    }

    async fn set_status(
        &mut self,
        _number: u32,
        _status: revisions::RevisionStatus,
        _description: String,
    ) -> Result<(), Error> {
        Err(self.revisions_unavailable("set-status"))
    }

    async fn list_revisions(&mut self) -> Result<Vec<revisions::Revision>, Error> {
        Err(self.revisions_unavailable("list-revisions"))
    }

    async fn get_revision(&mut self, _number: u32) -> Result<revisions::Revision, Error> {
        Err(self.revisions_unavailable("get-revision"))
    }
}

impl RunState {
    fn revisions_unavailable(&mut self, operation: &str) -> Error {
        let call = Call {
            interface: "revisions",
            operation,
            api_version: None,
            kind: None,
            namespace: None,
        };
        match self.authorize(call) {
            Err(denied) => denied,
            Ok(()) => Error::Unavailable(
                "release history is not stored by this version of cutover".into(),
            ),
        }
    }
}

impl runtime::Host for RunState {
    async fn log(&mut self, level: runtime::Level, message: String) {
        let level = match level {
            runtime::Level::Debug => Level::Debug,
            runtime::Level::Info => Level::Info,
            runtime::Level::Warn => Level::Warn,
            runtime::Level::Error => Level::Error,
        };
        (self.observer)(&Event::Log { level, message });
    }

    async fn now(&mut self) -> u64 {
        let (wall, instant) = self.started;
        (wall + instant.elapsed())
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    async fn sleep(&mut self, ms: u64) -> bool {
        let wanted = Duration::from_millis(ms);
        let remaining = self.remaining();
        tokio::time::sleep(wanted.min(remaining)).await;
        wanted <= remaining
    }

    async fn progress(&mut self, step: u32, total: u32, message: String) {
        (self.observer)(&Event::Progress {
            step,
            total,
            message,
        });
    }

    async fn deadline(&mut self) -> u64 {
        let (wall, instant) = self.started;
        (wall + self.deadline.saturating_duration_since(instant))
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    async fn report_panic(&mut self, message: String) {
        self.stats.panic = Some(message);
    }

    async fn checkpoint(&mut self, state: String) -> Result<(), Error> {
        if let Err(e) = self.checkpoint.save(&state) {
            let message = format!("cannot save the checkpoint: {e}");
            (self.observer)(&Event::Log {
                level: Level::Warn,
                message,
            });
        }
        Ok(())
    }

    async fn restore(&mut self) -> Option<String> {
        self.checkpoint.load()
    }
}
