//! The pending revision of a live run: the journal entry written before each mutating call,
//! what the call left recorded after it, the policy's checkpoints, and the lock checked first.

use std::sync::Arc;

use cutover_clock::Clock;
use serde_json::Value;
use tokio::sync::Mutex;

use super::journal::{self, Call, Change, Entry, Target};
use super::lock::Lock;
use super::record::Record;
use super::store::{ReleaseStore, Stored};
use crate::cluster::{Cluster, ClusterError, Located};

/// The longest list of journal entries one revision keeps: past it, mutations are refused
/// (a policy looping on changes must not grow the release's Secrets without end).
pub const MAX_ENTRIES: usize = 20_000;
/// The most JSON a revision's record may grow to (journal, applied objects, checkpoint): past
/// it, the change that would grow it is refused, so that every write of the revision — and
/// the memory the host keeps for it — stays bounded whatever the policy does.
pub const MAX_RECORD_BYTES: usize = 16 << 20;

/// Why a mutation was not made: the guest sees it as its call's error.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The lock was lost: the run stops before its next change.
    #[error("the release lock was lost ({0}); stopping before the next change")]
    LockLost(String),
    /// The journal entry could not be written: the call is not made.
    #[error(
        "cannot record the change in the release's journal before making it, so it was not made: {0}"
    )]
    Journal(String),
    /// Reading the target before the call failed as the call itself would.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("the run made {MAX_ENTRIES} changes, as many as one revision's journal keeps")]
    Full,
    #[error("the revision would grow past {} MiB (its journal, applied objects and checkpoint); the change was not made", MAX_RECORD_BYTES >> 20)]
    TooLarge,
}

/// One journaled call between [`Recorder::before`] and [`Recorder::after`].
#[derive(Debug, Clone, Copy)]
pub struct Step {
    index: usize,
    number: u32,
}

/// Where the `CUTOVER_TEST_CRASH_AT` hook kills the process (tests only: `N:before` or
/// `N:after` the N-th mutating call's request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashPoint {
    pub mutation: u32,
    pub after: bool,
}

impl CrashPoint {
    /// The hook from the environment, if set and well formed.
    pub fn from_env() -> Option<CrashPoint> {
        let text = std::env::var("CUTOVER_TEST_CRASH_AT").ok()?;
        let (n, when) = text.split_once(':')?;
        Some(CrashPoint {
            mutation: n.trim().parse().ok()?,
            after: match when.trim() {
                "before" => false,
                "after" => true,
                _ => return None,
            },
        })
    }

    fn hit(point: Option<CrashPoint>, mutation: u32, after: bool) {
        if point == Some(CrashPoint { mutation, after }) {
            let when = if after { "after" } else { "before" };
            eprintln!(
                "cutover: CUTOVER_TEST_CRASH_AT: killed {when} the request of change {mutation}"
            );
            // SIGKILL, as an OOM killer or `kill -9` would: no destructor, no lock release.
            // SAFETY: kill(2) on our own pid has no memory-safety preconditions.
            unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
            std::process::abort();
        }
    }
}

struct Pending {
    stored: Stored,
    /// The record's JSON size, counted as it grows (never less than it is).
    bytes: usize,
    /// Whether the record holds what the cluster's copy does not yet.
    dirty: bool,
    mutations: u32,
}

/// The pending revision of one run, shared by every host call of it.
pub struct Recorder {
    store: ReleaseStore,
    pending: Mutex<Pending>,
    lock: Option<Arc<Lock>>,
    crash: Option<CrashPoint>,
    clock: Clock,
    /// The checkpoint the run starts from (a resume's).
    restored: Option<String>,
    /// The release's other revisions, read once: while the run holds the lock nobody else
    /// writes them, and a policy reading its history in a loop must not re-read the cluster.
    others: tokio::sync::OnceCell<Vec<Record>>,
}

impl Recorder {
    pub fn new(
        store: ReleaseStore,
        stored: Stored,
        lock: Option<Arc<Lock>>,
        clock: Clock,
    ) -> Recorder {
        let restored = stored.record.checkpoint.clone();
        let bytes = json_len(&stored.record);
        Recorder {
            store,
            pending: Mutex::new(Pending {
                bytes,
                stored,
                dirty: false,
                mutations: 0,
            }),
            lock,
            crash: CrashPoint::from_env(),
            clock,
            restored,
            others: tokio::sync::OnceCell::new(),
        }
    }

    /// The run's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The store the revision is written to.
    pub fn store(&self) -> &ReleaseStore {
        &self.store
    }

    /// Which attempt of the revision this run is (2, 3, ... for resumes).
    pub async fn attempt(&self) -> u32 {
        self.pending.lock().await.stored.record.attempt
    }

    /// The revision's number.
    pub async fn number(&self) -> u32 {
        self.pending.lock().await.stored.number()
    }

    /// Before a mutating call: the lock must still be held; the target is read as it is, and
    /// the entry saying what the call will change is written to the cluster (for an
    /// irreversible step, with the next write: nothing could undo it anyway).
    pub async fn before(
        &self,
        cluster: &Cluster,
        loc: &Located,
        call: Call<'_>,
    ) -> Result<Step, RecordError> {
        if let Some(reason) = self.lock.as_ref().and_then(|l| l.lost()) {
            return Err(RecordError::LockLost(reason));
        }
        let live = match call {
            Call::Evict => None,
            _ => match cluster.get(loc).await {
                Ok(object) => Some(object),
                Err(ClusterError::NotFound(_)) => None,
                Err(e) => return Err(e.into()),
            },
        };
        let target = Target {
            api_version: loc.api_version().to_string(),
            kind: loc.kind().to_string(),
            namespace: loc.namespace.clone(),
            name: loc.name.clone(),
        };
        let mut change = journal::plan(call, &target, live.as_ref());
        // A deleted Secret's data would be copied into the release's history, which may live in
        // another namespace and be read by others: it is not kept, and so not restored.
        if target.api_version == "v1"
            && target.kind == "Secret"
            && matches!(change, Change::Delete { .. })
        {
            change = Change::Irreversible {
                reason: "a deleted Secret's data is not copied into the release's history".into(),
            };
        }
        let durable = !matches!(change, Change::Irreversible { .. });
        let mut pending = self.pending.lock().await;
        let journal = &pending.stored.record.journal;
        if journal.len() >= MAX_ENTRIES {
            return Err(RecordError::Full);
        }
        let index = journal.len();
        let seq = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let manifest = match call {
            Call::Apply { manifest } => Some(as_applied(manifest, loc)),
            _ => None,
        };
        let entry = Entry {
            seq,
            operation: call.operation(),
            target,
            change,
            manifest,
        };
        // The entry, and for an apply the manifest the revision will record with it.
        let grows = json_len(&entry) + entry.manifest.as_ref().map_or(0, json_len);
        if pending.bytes + grows > MAX_RECORD_BYTES {
            return Err(RecordError::TooLarge);
        }
        pending.bytes += grows;
        pending.stored.record.journal.push(entry);
        pending.dirty = true;
        if durable && let Err(e) = self.write(&mut pending).await {
            // Not recorded, so not made: the entry goes too.
            pending.stored.record.journal.pop();
            return Err(RecordError::Journal(e.to_string()));
        }
        pending.mutations += 1;
        let number = pending.mutations;
        drop(pending);
        CrashPoint::hit(self.crash, number, false);
        Ok(Step { index, number })
    }

    /// After the call: what it left (the object as stored, for apply and patch) refines the
    /// entry, and an apply's manifest joins the revision's applied objects. Kept in memory
    /// until the next write (the journal's precondition holds without it).
    pub async fn after(&self, step: Step, stored: Option<&Value>) {
        let mut pending = self.pending.lock().await;
        let mut applied = None;
        if let Some(entry) = pending.stored.record.journal.get_mut(step.index) {
            match stored {
                Some(object) => {
                    journal::observe(&mut entry.change, object);
                    applied = entry.manifest.clone();
                }
                // The call failed: what it would have applied is not the revision's.
                None => entry.manifest = None,
            }
        }
        if let Some(manifest) = applied
            && !pending.stored.record.recorded
        {
            upsert_applied(&mut pending.stored.record.applied, manifest);
        }
        pending.stored.touched(step.index);
        pending.dirty = true;
        drop(pending);
        CrashPoint::hit(self.crash, step.number, true);
    }

    /// Saves the policy's checkpoint into the revision (one write).
    pub async fn checkpoint(&self, state: String) -> Result<(), String> {
        let mut pending = self.pending.lock().await;
        pending.stored.record.updated = super::record::timestamp(self.clock.wall_now());
        let replaced = pending
            .stored
            .record
            .checkpoint
            .as_ref()
            .map_or(0, String::len);
        let bytes = pending.bytes.saturating_sub(replaced) + state.len();
        if bytes > MAX_RECORD_BYTES {
            return Err(RecordError::TooLarge.to_string());
        }
        pending.bytes = bytes;
        pending.stored.record.checkpoint = Some(state);
        pending.dirty = true;
        self.write(&mut pending).await.map_err(|e| e.to_string())
    }

    /// The checkpoint this run started from, if any.
    pub fn restored(&self) -> Option<String> {
        self.restored.clone()
    }

    /// What the policy says the revision applies, and its description (with the next write).
    pub async fn record(
        &self,
        manifests: Vec<Value>,
        description: String,
    ) -> Result<(), RecordError> {
        let mut pending = self.pending.lock().await;
        let replaced = pending
            .stored
            .record
            .applied
            .iter()
            .map(json_len)
            .sum::<usize>();
        let grows = manifests.iter().map(json_len).sum::<usize>() + description.len();
        let bytes = pending.bytes.saturating_sub(replaced) + grows;
        if bytes > MAX_RECORD_BYTES {
            return Err(RecordError::TooLarge);
        }
        pending.bytes = bytes;
        pending.stored.record.applied = manifests;
        pending.stored.record.recorded = true;
        pending.stored.record.description = description;
        pending.dirty = true;
        Ok(())
    }

    /// The release's history, with this run's revision as it stands in memory.
    pub async fn history(&self) -> Result<Vec<Record>, ClusterError> {
        let own_number = self.number().await;
        let others = self
            .others
            .get_or_try_init(|| async {
                let all = self.store.history().await?;
                Ok::<_, ClusterError>(
                    all.into_iter()
                        .map(|s| s.record)
                        .filter(|r| r.number != own_number)
                        .collect(),
                )
            })
            .await?;
        let mut history = others.clone();
        history.push(self.pending.lock().await.stored.record.clone());
        history.sort_by_key(|r| r.number);
        Ok(history)
    }

    /// The revision as it stands in memory, written or not: what settling the run starts from.
    pub async fn snapshot(&self) -> Stored {
        self.pending.lock().await.stored.clone()
    }

    async fn write(&self, pending: &mut Pending) -> Result<(), ClusterError> {
        // The revision's `updated` moves with its checkpoints and its end, not with each journal
        // entry: a journal write then touches only the journal's last segment.
        self.store.save_held(&mut pending.stored).await?;
        pending.dirty = false;
        Ok(())
    }
}

/// The length of `value` as JSON.
fn json_len<T: serde::Serialize>(value: &T) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX / 4, |v| v.len())
}

/// The manifest as the run applied it, with the namespace it reached: what a rollback to this
/// revision applies again.
fn as_applied(manifest: &Value, loc: &Located) -> Value {
    let mut manifest = manifest.clone();
    if let Some(meta) = manifest.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        match &loc.namespace {
            Some(ns) => meta.insert("namespace".into(), Value::from(ns.as_str())),
            None => meta.remove("namespace"),
        };
    }
    manifest
}

/// Adds an applied manifest, replacing an earlier one of the same object.
pub(crate) fn upsert_applied(applied: &mut Vec<Value>, manifest: Value) {
    let key = |v: &Value| {
        (
            v.pointer("/apiVersion").cloned(),
            v.pointer("/kind").cloned(),
            v.pointer("/metadata/namespace").cloned(),
            v.pointer("/metadata/name").cloned(),
        )
    };
    let k = key(&manifest);
    match applied.iter_mut().find(|m| key(m) == k) {
        Some(existing) => *existing = manifest,
        None => applied.push(manifest),
    }
}
