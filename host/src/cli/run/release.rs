//! Stage 6 of `cutover run` (before the policy runs, and after it): take the release's lock,
//! write its pending revision; afterwards settle the revision (deployed, or failed and undone
//! when asked), prune the history and release the lock. A dry run writes nothing.

use std::sync::Arc;

use cutover_clock::Clock;

use super::connect::Connection;
use super::inputs::Inputs;
use crate::cli::{CliError, ExitCode, RunArgs};
use crate::cluster::Cluster;
use crate::release::lifecycle::{self, Again, Ending, Fresh, LifecycleError, Settled};
use crate::release::lock::{self, Holder, Lock, LockError, LockOptions};
use crate::release::record::{PolicyRef, Values};
use crate::release::recorder::Recorder;
use crate::release::store::{ReleaseStore, Stored};
use crate::release::undo::Scope;
use crate::sandbox::bindings::cutover::policy::rollout::Request;
use crate::sandbox::outcome::Outcome;
use crate::source::PolicySource;

/// The release a live run holds: its lock, and the recorder of its pending revision.
pub(in crate::cli) struct Held {
    pub(in crate::cli) lock: Arc<Lock>,
    pub(in crate::cli) recorder: Arc<Recorder>,
    /// The cluster undo steps go through: never a dry run, the release's field manager.
    pub(in crate::cli) cluster: Cluster,
    pub(in crate::cli) store: ReleaseStore,
}

/// A random id for this run, as the lock holder and the revision name it.
pub(in crate::cli) fn run_id() -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    // RandomState is seeded from the OS once per process; the time and pid make ids of
    // runs of one process differ too.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

/// A lock refusal or an interrupted release: exit 6, one line.
pub(in crate::cli) fn lock_error(e: LockError) -> CliError {
    match e {
        LockError::Held { .. } => CliError::new(ExitCode::Locked, e),
        other => CliError::new(ExitCode::Unreachable, other),
    }
}

pub(in crate::cli) fn lifecycle_error(e: LifecycleError) -> CliError {
    let code = match &e {
        LifecycleError::Interrupted { .. }
        | LifecycleError::InterruptedRollback { .. }
        | LifecycleError::NothingToResume { .. }
        | LifecycleError::Paused { .. } => ExitCode::Locked,
        LifecycleError::NotFound(_)
        | LifecycleError::NotPaused { .. }
        | LifecycleError::NothingToRetry { .. }
        | LifecycleError::NothingToUndo { .. }
        | LifecycleError::NotUndoneByPolicy { .. }
        | LifecycleError::UndoneByPolicy { .. }
        | LifecycleError::NoRevision { .. }
        | LifecycleError::NoTarget { .. } => ExitCode::BadInput,
        LifecycleError::Cluster(_) => ExitCode::Unreachable,
    };
    CliError::new(code, e)
}

/// Takes the lock of `release` on `cluster` for this process.
pub(in crate::cli) async fn take_lock(
    cluster: &Cluster,
    release: &str,
    clock: &Clock,
) -> Result<Lock, CliError> {
    let holder = Holder::current(run_id());
    // A transient failure (a 429, a 5xx, a lost answer) is tried again: a lease our lost
    // attempt did create names this process, which the next attempt takes over at once.
    let mut pause = std::time::Duration::from_millis(200);
    let mut retries = 0;
    loop {
        let taken = lock::acquire(
            cluster.client(),
            cluster.namespace(),
            release,
            &holder,
            LockOptions::default(),
            clock,
        )
        .await;
        match taken {
            Err(LockError::Transient(why)) if retries < 5 => {
                tracing::debug!("taking the release lock: {why} (retrying)");
                clock.sleep(pause).await;
                pause *= 2;
                retries += 1;
            }
            other => return other.map_err(lock_error),
        }
    }
}

/// How a run of the pipeline starts its revision.
pub(in crate::cli) enum Start {
    /// A new revision.
    New,
    /// `cutover resume`, `promote`, `abort`, `retry`, and `cutover rollback` by the policy: the
    /// latest revision, again, with the policy it ran (by digest); `request` is what
    /// `rollout.requested` tells the policy.
    Resume {
        digest: String,
        again: Again,
        request: Request,
    },
}

impl Start {
    /// What `rollout.requested` tells the policy.
    pub(in crate::cli) fn request(&self) -> Request {
        match self {
            Start::New => Request::Start,
            Start::Resume { request, .. } => *request,
        }
    }

    /// Whether this is `cutover abort`'s run of a paused revision.
    fn aborts(&self) -> bool {
        matches!(
            self,
            Start::Resume {
                again: Again::Abort,
                ..
            }
        )
    }

    /// Whether this is the policy's own undo of its failed or interrupted run (`cutover
    /// rollback`, or `cutover abort`, of a policy that declares `rollbackByPolicy`).
    fn undoes(&self) -> bool {
        matches!(
            self,
            Start::Resume {
                again: Again::Undo,
                ..
            }
        )
    }
}

/// Locks the release and writes (or, for a resume, takes up) its pending revision. Nothing on
/// a dry run.
pub(super) async fn begin(
    args: &RunArgs,
    policy: &PolicySource,
    inputs: &Inputs,
    connection: &Connection,
    clock: &Clock,
    start: &Start,
) -> Result<Option<Held>, CliError> {
    if args.dry_run {
        return Ok(None);
    }
    let cluster = connection
        .cluster
        .clone()
        .with_field_manager(crate::cluster::release_field_manager(&inputs.release));
    let lock = take_lock(&cluster, &inputs.release, clock).await?;
    let store = ReleaseStore::new(&cluster, cluster.namespace(), &inputs.release)
        .with_server(Some(connection.target.server.clone()));
    let begun = match start {
        Start::New => {
            lifecycle::begin_run_of(
                &store,
                Fresh {
                    policy: PolicyRef {
                        name: policy.manifest.name.clone(),
                        version: policy.manifest.version.clone(),
                        digest: format!("sha256:{}", policy.digest),
                        source: args.policy.clone(),
                    },
                    values: Values {
                        given: inputs.given.clone(),
                        computed: inputs.params.clone(),
                    },
                    holder: lock.identity().to_string(),
                    now: clock.wall_now(),
                },
                policy.manifest.rollback_by_policy,
            )
            .await
        }
        Start::Resume { digest, .. } if *digest != format!("sha256:{}", policy.digest) => {
            let _ = lock.release().await;
            return Err(CliError::bad_input(format!(
                "release {} was run with the policy {digest}, and {} is sha256:{}: give the same policy with --policy",
                inputs.release, args.policy, policy.digest
            )));
        }
        Start::Resume { again, .. } => {
            // The policy about to run says whether it undoes its own runs, not the revision.
            lifecycle::begin_resume(
                &store,
                lock.identity().to_string(),
                clock.wall_now(),
                *again,
                policy.manifest.rollback_by_policy,
            )
            .await
        }
    };
    let stored: Stored = match begun {
        Ok(stored) => stored,
        Err(e) => {
            let _ = lock.release().await;
            return Err(lifecycle_error(e));
        }
    };
    let lock = Arc::new(lock);
    let recorder = Arc::new(Recorder::new(
        store.clone(),
        stored,
        Some(lock.clone()),
        clock.clone(),
    ));
    Ok(Some(Held {
        lock,
        recorder,
        cluster,
        store,
    }))
}

/// What settling the revision did, for the report.
pub(super) struct Settlement {
    pub(super) number: u32,
    /// The run was `cutover abort`'s, of a paused revision.
    pub(super) aborted: bool,
    /// The run was the policy's own undo of its failed or interrupted run.
    pub(super) policy_undo: bool,
    pub(super) settled: Result<Settled, String>,
}

/// After the run: the revision's status, the undo when asked, pruning, and the lock let go.
/// A policy whose manifest asks for it (`rollbackOnFailure`, the `atomic` strategy) is undone
/// on failure as with `--rollback-on-failure`.
pub(super) async fn settle(
    held: Held,
    args: &RunArgs,
    policy_rolls_back: bool,
    start: &Start,
    report: &crate::sandbox::run::RunReport,
    clock: &Clock,
) -> Settlement {
    let outcome = &report.outcome;
    let Held {
        lock,
        recorder,
        cluster,
        store,
    } = held;
    let number = recorder.number().await;
    let stored = recorder.snapshot().await;
    let lock_lost = lock.lost();
    // The recorder holds the lock too: let go of it first, so that the lock can be released.
    drop(recorder);
    let (succeeded, description) = match outcome {
        Outcome::Succeeded(summary) => (true, summary.clone()),
        other => (false, describe_failure(other)),
    };
    let aborted = start.aborts();
    let policy_undo = start.undoes();
    let paused = report
        .paused
        .clone()
        .filter(|_| succeeded && !aborted && !policy_undo);
    // An abort, and a policy's undo, are the policy's own way back (the journal is not
    // replayed, even when its undo failed); a pause is not a failure.
    let undo = if succeeded || aborted || policy_undo {
        None
    } else if args.release_flags.rollback_on_failure || policy_rolls_back {
        Some(Scope::All)
    } else if args.release_flags.cleanup_on_fail {
        Some(Scope::Created)
    } else {
        None
    };
    let settled = lifecycle::settle(
        &cluster,
        &store,
        stored,
        Ending {
            succeeded,
            paused,
            aborted,
            policy_undo,
            description,
            undo,
            history_max: args.release_flags.history_max,
            now: clock.wall_now(),
            lock_lost,
        },
    )
    .await
    .map_err(|e| e.to_string());
    match Arc::try_unwrap(lock) {
        Ok(lock) => {
            if let Err(e) = lock.release().await {
                tracing::warn!("cannot release the lock of the release: {e}");
            }
        }
        Err(_) => tracing::warn!("the release lock is still in use; it expires by itself"),
    }
    Settlement {
        number,
        aborted,
        policy_undo,
        settled,
    }
}

fn describe_failure(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Succeeded(s) => s.clone(),
        Outcome::Failed { kind, message } => {
            format!("Failed ({kind}): {}", crate::text::line(message))
        }
        Outcome::Stopped(stop) => format!("Stopped: {stop}"),
        Outcome::Cancelled(reason) => format!("Cancelled by {reason}"),
    }
}
