//! What happens to a release's revisions around a run, a resume, a rollback and an uninstall:
//! the statuses the host sets (exactly one revision deployed), the undo when asked, pruning.

use serde_json::Value;

use super::journal::Change;
use super::permit::{self, Permit};
use super::record::{PolicyRef, Record, Status, Values, timestamp};
use super::store::{self, ReleaseStore, Stored};
use super::undo::{self, Scope, UndoReport};
use crate::cluster::{Cluster, ClusterError, ObjectRef};

/// Why a release operation cannot go ahead.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(
        "release {release} has an interrupted run: revision {number} is {status} since {since}; continue it with `cutover resume {release}` or undo it with `cutover rollback {release}`"
    )]
    Interrupted {
        release: String,
        number: u32,
        status: Status,
        since: String,
    },
    #[error(
        "release {release} has an interrupted rollback: revision {number} is pending-rollback since {since}; finish it with `cutover rollback {release}` (and then the revision you meant, if any)"
    )]
    InterruptedRollback {
        release: String,
        number: u32,
        since: String,
    },
    #[error("release {release} is paused at revision {number}: {next}")]
    Paused {
        release: String,
        number: u32,
        /// What to do instead, naming the commands.
        next: String,
    },
    #[error("release {release} is not paused: its latest revision {number} is {status}{hint}")]
    NotPaused {
        release: String,
        number: u32,
        status: Status,
        /// ", and was rolled back", or what to do instead for a failed or interrupted
        /// revision (`cutover abort` undoes one only when its policy undoes its own runs).
        hint: String,
    },
    #[error(
        "release {release} has nothing for its policy to roll back: its latest revision {number} is {status}{why} (its policy undoes a failed or interrupted run)"
    )]
    NothingToUndo {
        release: String,
        number: u32,
        status: Status,
        /// ", and was rolled back" when its changes were undone.
        why: &'static str,
    },
    #[error(
        "revision {number} of release {release} ran {policy}, which does not undo its own runs (its manifest does not declare rollbackByPolicy): undo it through its journal with `cutover rollback {release} --journal`"
    )]
    NotUndoneByPolicy {
        release: String,
        number: u32,
        /// `name@version`.
        policy: String,
    },
    #[error(
        "revision {number} of release {release} is rolled back by its policy, not through its journal: `cutover rollback {release}` runs the policy's undo (`--journal` replays the journal instead)"
    )]
    UndoneByPolicy { release: String, number: u32 },
    #[error(
        "release {release} has nothing to retry: its latest revision {number} is {status}{why} (retry takes a failed or paused revision)"
    )]
    NothingToRetry {
        release: String,
        number: u32,
        status: Status,
        /// ", and was rolled back" when its changes were undone.
        why: &'static str,
    },
    #[error("release {release} has nothing to resume: its latest revision, {number}, is {status}")]
    NothingToResume {
        release: String,
        number: u32,
        status: Status,
    },
    #[error("release {0} not found: it has no revisions in this namespace (see `cutover list -A`)")]
    NotFound(String),
    #[error("release {release} has no revision {number} (see `cutover history {release}`)")]
    NoRevision { release: String, number: u32 },
    #[error(
        "release {release} has no earlier revision to roll back to (see `cutover history {release}`)"
    )]
    NoTarget { release: String },
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// What a new run records about itself.
pub struct Fresh {
    pub policy: PolicyRef,
    pub values: Values,
    pub holder: String,
    pub now: std::time::SystemTime,
}

/// The pending revision of a new run: refused while the latest revision is pending (an
/// interrupted run must be resumed or rolled back first) or paused (promoted or aborted first).
pub async fn begin_run(store: &ReleaseStore, fresh: Fresh) -> Result<Stored, LifecycleError> {
    begin_run_of(store, fresh, false).await
}

/// [`begin_run`], for a policy whose manifest declares `rollbackByPolicy` when
/// `rollback_by_policy`: the revision records it, so that `cutover rollback` and `abort` know,
/// without the policy, that its policy undoes it.
pub async fn begin_run_of(
    store: &ReleaseStore,
    fresh: Fresh,
    rollback_by_policy: bool,
) -> Result<Stored, LifecycleError> {
    let history = store.history().await?;
    if let Some(last) = history.last()
        && last.record.status == Status::Paused
    {
        return Err(LifecycleError::Paused {
            release: store.release.clone(),
            number: last.number(),
            next: format!(
                "continue it with `cutover promote {0}`, or end it with `cutover abort {0}`, before a new run",
                store.release
            ),
        });
    }
    if let Some(last) = history.last()
        && last.record.status == Status::PendingRollback
    {
        return Err(LifecycleError::InterruptedRollback {
            release: store.release.clone(),
            number: last.number(),
            since: last.record.updated.clone(),
        });
    }
    if let Some(last) = history.last()
        && last.record.status.is_pending()
    {
        return Err(LifecycleError::Interrupted {
            release: store.release.clone(),
            number: last.number(),
            status: last.record.status,
            since: last.record.updated.clone(),
        });
    }
    let number = match history.last() {
        None => 1,
        Some(last) => last.number().checked_add(1).ok_or_else(|| {
            ClusterError::Invalid(format!(
                "release {} has a revision numbered {}: no later one can be written",
                store.release,
                last.number()
            ))
        })?,
    };
    let status = if store::deployed(&history).is_some() {
        Status::PendingUpgrade
    } else {
        Status::PendingInstall
    };
    let now = timestamp(fresh.now);
    let record = Record {
        release: store.release.clone(),
        namespace: store.namespace.clone(),
        number,
        status,
        policy: fresh.policy,
        values: fresh.values,
        applied: Vec::new(),
        journal: Vec::new(),
        checkpoint: None,
        description: match status {
            Status::PendingInstall => "Install in progress".into(),
            _ => "Upgrade in progress".into(),
        },
        attempt: 1,
        rollback_to: None,
        holder: fresh.holder,
        started: now.clone(),
        updated: now,
        unreverted: Vec::new(),
        recorded: false,
        reverted: false,
        paused: None,
        rollback_by_policy,
    };
    Ok(store.create(record).await?)
}

/// Which command runs the latest revision again, for [`begin_resume`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Again {
    /// `cutover resume`: a pending (interrupted) or failed, not undone, revision.
    Resume,
    /// `cutover promote [--full]`: a paused revision.
    Promote,
    /// `cutover abort`: a paused revision.
    Abort,
    /// `cutover retry`: a failed (not undone) or paused revision.
    Retry,
    /// `cutover rollback` (without a revision) or `cutover abort` of a failed (not undone) or
    /// interrupted revision whose policy undoes its own runs (`rollbackByPolicy`): the policy
    /// is told `abort` and undoes the run itself; its journal is not replayed.
    Undo,
}

impl Again {
    /// The command's name, for descriptions: `resume`, `promote`, `abort`, `retry`,
    /// `rollback by the policy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Again::Resume => "resume",
            Again::Promote => "promote",
            Again::Abort => "abort",
            Again::Retry => "retry",
            Again::Undo => "rollback by the policy",
        }
    }
}

/// Whether the revision's run is unfinished in a way its policy can undo: interrupted
/// (pending, not a rollback) or failed and not undone.
fn undoable(last: &Stored) -> bool {
    let status = last.record.status;
    (status.is_pending() && status != Status::PendingRollback)
        || (status == Status::Failed && !last.record.reverted)
}

/// What `cutover abort` does with the latest revision `last`: [`Again::Undo`] for a failed (not
/// undone) or interrupted revision that records its policy undoes its own runs, else
/// [`Again::Abort`] (a paused revision; anything else is refused by [`check_again`]).
pub fn again_for_abort(last: &Stored) -> Again {
    if last.record.rollback_by_policy && last.record.status != Status::Paused && undoable(last) {
        Again::Undo
    } else {
        Again::Abort
    }
}

/// Whether `again` may run the latest revision `last` of `release` again; `undoes_itself`:
/// its policy declares `rollbackByPolicy` (for [`Again::Undo`], and to say so when an abort is
/// refused).
pub fn check_again(
    release: &str,
    last: &Stored,
    again: Again,
    undoes_itself: bool,
) -> Result<(), LifecycleError> {
    let status = last.record.status;
    let number = last.number();
    let failed_not_undone = status == Status::Failed && !last.record.reverted;
    let rolled_back = if status == Status::Failed && last.record.reverted {
        ", and was rolled back"
    } else {
        ""
    };
    match again {
        Again::Resume if status == Status::Paused => Err(LifecycleError::Paused {
            release: release.to_string(),
            number,
            next: format!(
                "continue it with `cutover promote {release}` (or end it with `cutover abort {release}`, start its steps again with `cutover retry {release}`)"
            ),
        }),
        Again::Resume => {
            let resumable =
                (status.is_pending() && status != Status::PendingRollback) || failed_not_undone;
            if resumable {
                Ok(())
            } else {
                Err(LifecycleError::NothingToResume {
                    release: release.to_string(),
                    number,
                    status,
                })
            }
        }
        Again::Promote | Again::Abort if status == Status::Paused => Ok(()),
        Again::Promote => Err(LifecycleError::NotPaused {
            release: release.to_string(),
            number,
            status,
            hint: String::new(),
        }),
        Again::Abort => Err(LifecycleError::NotPaused {
            release: release.to_string(),
            number,
            status,
            hint: match (undoable(last), undoes_itself) {
                (true, false) => format!(
                    "; its policy does not undo its own runs (its manifest does not declare rollbackByPolicy), so `cutover abort` takes only a paused revision: undo this one through its journal with `cutover rollback {release}`"
                ),
                (true, true) => format!(
                    "; its policy undoes its own runs: roll it back with `cutover rollback {release}`"
                ),
                (false, _) => rolled_back.to_string(),
            },
        }),
        Again::Undo if status == Status::Paused => Err(LifecycleError::Paused {
            release: release.to_string(),
            number,
            next: format!(
                "end it with `cutover abort {release}` (its policy returns to the stable version)"
            ),
        }),
        Again::Undo if !undoable(last) => Err(LifecycleError::NothingToUndo {
            release: release.to_string(),
            number,
            status,
            why: rolled_back,
        }),
        Again::Undo if !undoes_itself => Err(LifecycleError::NotUndoneByPolicy {
            release: release.to_string(),
            number,
            policy: format!("{}@{}", last.record.policy.name, last.record.policy.version),
        }),
        Again::Undo => Ok(()),
        Again::Retry if status == Status::Paused || failed_not_undone => Ok(()),
        Again::Retry => Err(LifecycleError::NothingToRetry {
            release: release.to_string(),
            number,
            status,
            why: if status == Status::Failed {
                ", and was rolled back"
            } else {
                ""
            },
        }),
    }
}

/// The revision a resume (or a promote, abort, retry, a rollback by the policy) continues: the
/// latest, when [`check_again`] allows it (`undoes_itself`: the policy about to run declares
/// `rollbackByPolicy`). Its attempt count goes up and it is pending again.
pub async fn begin_resume(
    store: &ReleaseStore,
    holder: String,
    now: std::time::SystemTime,
    again: Again,
    undoes_itself: bool,
) -> Result<Stored, LifecycleError> {
    let history = store.history().await?;
    let Some(last) = history.last().cloned() else {
        return Err(LifecycleError::NotFound(store.release.clone()));
    };
    check_again(&store.release, &last, again, undoes_itself)?;
    let mut stored = last;
    let before_it = &history[..history.len() - 1];
    stored.record.status = if store::deployed(before_it).is_some() {
        Status::PendingUpgrade
    } else {
        Status::PendingInstall
    };
    stored.record.attempt += 1;
    stored.record.holder = holder;
    stored.record.description = match again {
        Again::Resume => format!("Resumed (attempt {})", stored.record.attempt),
        other => format!(
            "{} in progress (attempt {})",
            capitalized(other.as_str()),
            stored.record.attempt
        ),
    };
    stored.record.updated = timestamp(now);
    store.save(&mut stored).await?;
    Ok(stored)
}

/// `promote` → `Promote`.
fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The description of an aborted revision, whatever its policy reported.
pub const ABORTED: &str = "aborted by the operator";

/// How the description of a revision its policy undid starts (then the attempt and the policy's
/// summary).
pub const ROLLED_BACK_BY_POLICY: &str = "Rolled back by the policy";

/// How the description of a revision whose policy's undo failed starts (then the attempt and
/// why): it stays failed and not undone, for `cutover rollback` again.
pub const POLICY_ROLLBACK_FAILED: &str = "Rollback by the policy failed";

/// How a run ended, for [`settle`].
pub struct Ending {
    pub succeeded: bool,
    /// The status of the policy's last `rollout.pause`, when it paused: a run that paused and
    /// succeeded leaves its revision paused.
    pub paused: Option<String>,
    /// The run was `cutover abort`'s: the revision fails as aborted by the operator, whatever
    /// the policy reported, and nothing is undone (the policy restored the stable version).
    pub aborted: bool,
    /// The run was the policy's own undo of its failed or interrupted run ([`Again::Undo`]):
    /// the revision fails either way, undone when the policy succeeded; the journal is never
    /// replayed.
    pub policy_undo: bool,
    /// The policy's summary, or why it failed.
    pub description: String,
    /// What to undo after a failure (`--rollback-on-failure`, `--cleanup-on-fail`).
    pub undo: Option<Scope>,
    /// `--history-max` (0: keep all).
    pub history_max: usize,
    pub now: std::time::SystemTime,
    /// Why the run's lock was lost, if it was: then another holder owns the release, and this
    /// run neither undoes nor writes anything more.
    pub lock_lost: Option<String>,
}

/// What settling did.
#[derive(Debug, Default)]
pub struct Settled {
    pub status: Option<Status>,
    pub undo: Option<UndoReport>,
    /// A failed first install, wholly undone: its revision was removed too, nothing is left.
    pub removed: bool,
    pub pruned: usize,
}

/// The run's revision becomes deployed (the one before it superseded) or failed (undone first
/// when asked); then the history is pruned to `history_max`.
pub async fn settle(
    cluster: &Cluster,
    store: &ReleaseStore,
    mut stored: Stored,
    ending: Ending,
) -> Result<Settled, ClusterError> {
    let mut settled = Settled::default();
    if let Some(why) = ending.lock_lost {
        return Err(ClusterError::Aborted(format!(
            "the release lock was lost ({why}): revision {} is left as it is, for its new holder",
            stored.number()
        )));
    }
    let now = timestamp(ending.now);
    stored.record.updated = now.clone();
    // The history once: the other revisions do not change while the run holds the lock.
    let mut history = store.history().await?;
    history.retain(|s| s.number() != stored.number());
    stored.record.paused = None;
    if ending.aborted {
        // The policy's own abort returned to the stable version: the journal is not replayed,
        // the checkpoint stays (for a retry), the deployed revision stays deployed.
        stored.record.status = Status::Failed;
        stored.record.description = if ending.succeeded {
            ABORTED.to_string()
        } else {
            format!(
                "{ABORTED} (the policy's abort ended: {})",
                ending.description
            )
        };
        store.save_held(&mut stored).await?;
    } else if ending.policy_undo {
        // The policy undid its own run, in its own order: the journal (which holds the undo's
        // changes too) is not replayed. Undone, the revision is reverted, as a journal undo
        // leaves it; otherwise it stays failed and not undone, for another rollback.
        stored.record.status = Status::Failed;
        let attempt = stored.record.attempt;
        if ending.succeeded {
            stored.record.reverted = true;
            stored.record.unreverted.clear();
            stored.record.description = format!(
                "{ROLLED_BACK_BY_POLICY} (attempt {attempt}): {}",
                ending.description
            );
        } else {
            stored.record.reverted = false;
            stored.record.description = format!(
                "{POLICY_ROLLBACK_FAILED} (attempt {attempt}): {}",
                ending.description
            );
        }
        store.save_held(&mut stored).await?;
    } else if let (true, Some(status)) = (ending.succeeded, ending.paused) {
        // Paused: not deployed. The deployed revision before it stays deployed, and the
        // checkpoint is kept for the promote, abort or retry that continues it.
        stored.record.status = Status::Paused;
        stored.record.description = format!(
            "Paused: {}",
            crate::text::escape(status.lines().next().unwrap_or(""), 256)
        );
        stored.record.paused = Some(status);
        store.save_held(&mut stored).await?;
    } else if ending.succeeded {
        stored.record.status = Status::Deployed;
        stored.record.checkpoint = None;
        stored.record.description = ending.description;
        store.save_held(&mut stored).await?;
        for other in &mut history {
            if other.record.status == Status::Deployed {
                other.record.status = Status::Superseded;
                other.record.updated = now.clone();
                store.save(other).await?;
            }
        }
    } else {
        stored.record.status = Status::Failed;
        let mut description = ending.description;
        if let Some(scope) = ending.undo {
            let report =
                undo::undo(cluster, &stored.record, scope, &|_| false, &*permit::any()).await;
            description += &format!("; rolled back: {}", report.summary());
            stored.record.unreverted = report.unreverted();
            stored.record.reverted = scope == Scope::All && report.complete();
            settled.undo = Some(report);
        }
        stored.record.description = description;
        let irreversible = settled
            .undo
            .as_ref()
            .is_some_and(|r| !r.irreversible.is_empty());
        if stored.record.reverted && history.is_empty() && !irreversible {
            // A failed first install, wholly undone: nothing of it is left, not even history
            // that would make the next run an "upgrade" of nothing. (One that evicted pods
            // keeps its revision: what it could not undo stays on record.)
            store.delete(&stored).await?;
            settled.removed = true;
            settled.status = Some(Status::Failed);
            return Ok(settled);
        }
        store.save_held(&mut stored).await?;
    }
    settled.status = Some(stored.record.status);
    history.push(stored);
    history.sort_by_key(Stored::number);
    settled.pruned = store::prune(store, &history, ending.history_max).await?;
    Ok(settled)
}

/// Every deployed revision but `number` becomes superseded.
async fn supersede_others(
    store: &ReleaseStore,
    number: u32,
    now: &str,
) -> Result<(), ClusterError> {
    for mut other in store.history().await? {
        if other.number() != number && other.record.status == Status::Deployed {
            other.record.status = Status::Superseded;
            other.record.updated = now.to_string();
            store.save(&mut other).await?;
        }
    }
    Ok(())
}

/// What a rollback will do or did.
#[derive(Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackPlan {
    /// The interrupted or failed revision its policy undoes itself (`rollbackByPolicy`), if
    /// any: then nothing else is planned here, the policy's run does it all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undo_by_policy: Option<u32>,
    /// The interrupted or failed revision undone in place, if any.
    pub undo_in_place: Option<u32>,
    /// The revision returned to, if any.
    pub target: Option<u32>,
    /// The new revision written (`Rollback to N`).
    pub new_revision: Option<u32>,
    /// Journal steps to undo, newest first, one line each.
    pub undo: Vec<String>,
    /// Objects re-applied from the target revision.
    pub reapply: Vec<String>,
}

/// What a finished rollback did.
#[derive(Debug, Default)]
pub struct RolledBack {
    pub plan: RollbackPlan,
    pub report: UndoReport,
    pub status: Option<Status>,
}

fn object_label(m: &Value) -> String {
    let s = |p: &str| {
        m.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    match m.pointer("/metadata/namespace").and_then(Value::as_str) {
        Some(ns) => format!("{} {ns}/{}", s("/kind").to_lowercase(), s("/metadata/name")),
        None => format!("{} {}", s("/kind").to_lowercase(), s("/metadata/name")),
    }
}

/// The revision a rollback returns to; 0 is the release before its first revision: nothing
/// applied (a rollback to it undoes every revision's journal).
fn target_revision(history: &[Stored], target: u32) -> Option<Stored> {
    if target == 0 {
        let mut before = history.first()?.clone();
        before.record.number = 0;
        before.record.applied.clear();
        before.record.journal.clear();
        return Some(before);
    }
    history.iter().find(|s| s.number() == target).cloned()
}

/// Plans a rollback: an interrupted or failed (not undone) latest revision is undone in place
/// — by its policy, when it records that its policy undoes its own runs and neither a target
/// nor `journal` (`--journal`) is given; otherwise through its journal; then, when a target is
/// given (or the latest is deployed), the release returns to it.
pub fn plan_rollback(
    release: &str,
    history: &[Stored],
    target: Option<u32>,
    journal: bool,
) -> Result<RollbackPlan, LifecycleError> {
    let Some(latest) = history.last() else {
        return Err(LifecycleError::NotFound(release.to_string()));
    };
    if latest.record.status == Status::Paused {
        // As Argo Rollouts: a paused rollout is aborted first (its policy returns to the
        // stable version), then the release can be rolled back.
        return Err(LifecycleError::Paused {
            release: release.to_string(),
            number: latest.number(),
            next: format!(
                "end it first with `cutover abort {release}` (its policy returns to the stable version), then roll back"
            ),
        });
    }
    let mut plan = RollbackPlan::default();
    if target.is_none() && !journal && latest.record.rollback_by_policy && undoable(latest) {
        plan.undo_by_policy = Some(latest.number());
        return Ok(plan);
    }
    let unfinished = latest.record.status.is_pending()
        || (latest.record.status == Status::Failed && !latest.record.reverted);
    if unfinished {
        plan.undo_in_place = Some(latest.number());
        plan.undo = latest
            .record
            .journal
            .iter()
            .rev()
            .map(super::journal::describe)
            .collect();
        if target.is_none() {
            return Ok(plan);
        }
    }
    let target = match target {
        Some(n) => n,
        None => {
            // As `helm rollback` without a number: the revision before the deployed one.
            let deployed = store::deployed(history).map(Stored::number);
            history
                .iter()
                .rev()
                .filter(|s| Some(s.number()) < deployed || deployed.is_none())
                .find(|s| matches!(s.record.status, Status::Superseded | Status::Deployed))
                .map(Stored::number)
                .ok_or_else(|| LifecycleError::NoTarget {
                    release: release.to_string(),
                })?
        }
    };
    let Some(to) = target_revision(history, target) else {
        return Err(LifecycleError::NoRevision {
            release: release.to_string(),
            number: target,
        });
    };
    plan.target = Some(target);
    plan.new_revision = Some(latest.number().checked_add(1).ok_or_else(|| {
        LifecycleError::Cluster(ClusterError::Invalid(format!(
            "release {release} has a revision numbered {}: no later one can be written",
            latest.number()
        )))
    })?);
    for later in history.iter().rev().filter(|s| s.number() > target) {
        if later.record.reverted || Some(later.number()) == plan.undo_in_place {
            continue;
        }
        for entry in later.record.journal.iter().rev() {
            if !undo::targets_one_of(entry, &to.record.applied) {
                plan.undo.push(format!(
                    "revision {}: {}",
                    later.number(),
                    super::journal::describe(entry)
                ));
            }
        }
    }
    plan.reapply = to.record.applied.iter().map(object_label).collect();
    Ok(plan)
}

/// Carries out [`plan_rollback`]'s plan, through the journal; a plan for the policy's own undo
/// is refused ([`LifecycleError::UndoneByPolicy`]): that is a run of the policy.
pub async fn rollback(
    cluster: &Cluster,
    store: &ReleaseStore,
    target: Option<u32>,
    journal: bool,
    holder: String,
    now: std::time::SystemTime,
    permit: &Permit,
) -> Result<RolledBack, LifecycleError> {
    let history = store.history().await?;
    let plan = plan_rollback(&store.release, &history, target, journal)?;
    if let Some(number) = plan.undo_by_policy {
        return Err(LifecycleError::UndoneByPolicy {
            release: store.release.clone(),
            number,
        });
    }
    let stamp = timestamp(now);
    let mut done = RolledBack::default();
    if let Some(n) = plan.undo_in_place
        && let Some(mut latest) = history.iter().find(|s| s.number() == n).cloned()
    {
        let report = undo::undo(cluster, &latest.record, Scope::All, &|_| false, permit).await;
        latest.record.status = Status::Failed;
        latest.record.reverted = report.complete();
        latest.record.unreverted = report.unreverted();
        latest.record.description = format!("Rolled back: {}", report.summary());
        latest.record.updated = stamp.clone();
        store.save(&mut latest).await?;
        done.status = Some(Status::Failed);
        done.report.extend(report);
    }
    let Some(target) = plan.target else {
        done.plan = plan;
        return Ok(done);
    };
    let to = target_revision(&history, target).ok_or(LifecycleError::NoRevision {
        release: store.release.clone(),
        number: target,
    })?;
    let number = plan.new_revision.unwrap_or(target.saturating_add(1));
    let record = Record {
        number,
        status: Status::PendingRollback,
        journal: Vec::new(),
        checkpoint: None,
        description: format!("Rollback to {target}"),
        attempt: 1,
        rollback_to: Some(target),
        holder,
        started: stamp.clone(),
        updated: stamp.clone(),
        unreverted: Vec::new(),
        reverted: false,
        paused: None,
        // A rollback's revision is the host's work, not a run its policy could undo.
        rollback_by_policy: false,
        ..to.record.clone()
    };
    let mut pending = store.create(record).await?;
    // The later revisions' own changes, newest first; what the target applied is re-applied
    // instead, so that its objects are exactly as it left them.
    for later in history.iter().rev().filter(|s| s.number() > target) {
        if later.record.reverted || Some(later.number()) == plan.undo_in_place {
            continue;
        }
        let keep = |e: &super::journal::Entry| undo::targets_one_of(e, &to.record.applied);
        let report = undo::undo(cluster, &later.record, Scope::All, &keep, permit).await;
        let mut later = later.clone();
        // Its status stays as it is until the rollback is deployed (then it is superseded):
        // a rollback that fails leaves the deployed revision deployed.
        later.record.reverted = report.complete();
        later.record.updated = stamp.clone();
        store.save(&mut later).await?;
        done.report.extend(report);
    }
    for manifest in &to.record.applied {
        let line = object_label(manifest);
        if let Err(why) = permit::reapply(permit, &to.record, manifest) {
            done.report.failed.push(format!("apply {line}: {why}"));
            continue;
        }
        match reapply(cluster, manifest, &mut pending.record.journal).await {
            Ok(()) => done.report.undone.push(format!("apply {line}: re-applied")),
            Err(e) => done.report.failed.push(format!("apply {line}: {e}")),
        }
    }
    pending.record.status = if done.report.complete() {
        Status::Deployed
    } else {
        Status::Failed
    };
    pending.record.unreverted = done.report.unreverted();
    if !done.report.complete() {
        pending.record.description =
            format!("Rollback to {target} failed: {}", done.report.summary());
    } else if !done.report.irreversible.is_empty() {
        pending.record.description = format!(
            "Rollback to {target}; {} step(s) not reversible (see `cutover status`)",
            done.report.irreversible.len()
        );
    }
    pending.record.updated = timestamp(now);
    store.save(&mut pending).await?;
    if pending.record.status == Status::Deployed {
        supersede_others(store, number, &stamp).await?;
    }
    done.status = Some(pending.record.status);
    done.plan = plan;
    Ok(done)
}

/// Deletes an applied object if it is there and our field manager writes it: `Some(how)`
/// when deleted, `None` when already gone, an error line when it is not ours or the delete failed.
async fn delete_applied(
    cluster: &Cluster,
    manifest: &Value,
) -> Result<Option<&'static str>, String> {
    let loc = locate_manifest(cluster, manifest)
        .await
        .map_err(|e| e.to_string())?;
    let current = match cluster.get(&loc).await {
        Ok(v) => v,
        Err(ClusterError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    if !undo::managed_by(Some(&current), cluster.field_manager()) {
        return Err(format!(
            "{} does not write it; left alone",
            cluster.field_manager()
        ));
    }
    let uid = current.pointer("/metadata/uid").and_then(Value::as_str);
    cluster
        .delete_if(&loc, uid)
        .await
        .map(|_| Some("deleted"))
        .map_err(|e| e.to_string())
}

async fn locate_manifest(
    cluster: &Cluster,
    manifest: &Value,
) -> Result<crate::cluster::Located, ClusterError> {
    let s = |p: &str| manifest.pointer(p).and_then(Value::as_str);
    let (Some(api_version), Some(kind), Some(name)) =
        (s("/apiVersion"), s("/kind"), s("/metadata/name"))
    else {
        return Err(ClusterError::Invalid(
            "a recorded manifest has no apiVersion, kind or name".into(),
        ));
    };
    let mut reference = ObjectRef::new(api_version, kind, name);
    reference.namespace = s("/metadata/namespace").map(str::to_string);
    cluster.locate(&reference).await
}

/// Applies a manifest again, journaled in the rollback's own revision (so that rolling back
/// the rollback, or uninstalling, knows what it created).
async fn reapply(
    cluster: &Cluster,
    manifest: &Value,
    journal: &mut Vec<super::journal::Entry>,
) -> Result<(), ClusterError> {
    use super::journal::{self, Call, Entry, Target};
    let loc = locate_manifest(cluster, manifest).await?;
    let live = match cluster.get(&loc).await {
        Ok(v) => Some(v),
        Err(ClusterError::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let target = Target {
        api_version: loc.api_version().to_string(),
        kind: loc.kind().to_string(),
        namespace: loc.namespace.clone(),
        name: loc.name.clone(),
    };
    let call = Call::Apply { manifest };
    let mut change = journal::plan(call, &target, live.as_ref());
    let stored = cluster.apply(&loc, manifest.clone()).await?;
    journal::observe(&mut change, &stored);
    journal.push(Entry {
        manifest: Some(manifest.clone()),
        seq: u32::try_from(journal.len() + 1).unwrap_or(u32::MAX),
        operation: call.operation(),
        target,
        change,
    });
    Ok(())
}

/// What an uninstall removes: every object the release's revisions created (and did not
/// undo), newest first, and the objects the deployed revision applied.
pub fn plan_uninstall(history: &[Stored]) -> Vec<String> {
    let mut lines = Vec::new();
    for s in history.iter().rev().filter(|s| !s.record.reverted) {
        for e in s.record.journal.iter().rev() {
            if matches!(e.change, Change::Create { .. }) {
                lines.push(format!(
                    "revision {}: delete what {}",
                    s.number(),
                    super::journal::describe(e)
                ));
            }
        }
    }
    lines
}

/// Deletes what the release created, then its history (or marks the latest revision
/// uninstalled with `keep_history`).
pub async fn uninstall(
    cluster: &Cluster,
    store: &ReleaseStore,
    keep_history: bool,
    now: std::time::SystemTime,
    permit: &Permit,
) -> Result<UndoReport, LifecycleError> {
    let history = store.history().await?;
    if history.is_empty() {
        return Err(LifecycleError::NotFound(store.release.clone()));
    }
    let mut report = UndoReport::default();
    for s in history.iter().rev().filter(|s| !s.record.reverted) {
        report.extend(undo::undo(cluster, &s.record, Scope::Created, &|_| false, permit).await);
    }
    // What the deployed revision applies, as `helm uninstall` deletes a release's objects —
    // also those a pruned revision created — each only while our field manager writes it.
    if let Some(deployed) = store::deployed(&history) {
        for manifest in &deployed.record.applied {
            let line = format!("delete {}", object_label(manifest));
            if let Err(why) = permit::reapply(permit, &deployed.record, manifest) {
                report.failed.push(format!("{line}: {why}"));
                continue;
            }
            match delete_applied(cluster, manifest).await {
                Ok(Some(done)) => report.undone.push(format!("{line}: {done}")),
                Ok(None) => report.nothing.push(format!("{line}: already gone")),
                Err(why) => report.conflicts.push(format!("{line}: {why}")),
            }
        }
    }
    let stamp = timestamp(now);
    if !report.complete() {
        // What could not be deleted stays on record: the uninstall can be tried again.
        if let Some(mut latest) = history.last().cloned() {
            latest.record.description = format!("Uninstall incomplete: {}", report.summary());
            latest.record.unreverted = report.unreverted();
            latest.record.updated = stamp;
            store.save(&mut latest).await?;
        }
        return Ok(report);
    }
    if keep_history {
        for mut s in history.clone() {
            let last = Some(s.number()) == history.last().map(Stored::number);
            if last || s.record.status == Status::Deployed {
                s.record.status = if last {
                    Status::Uninstalled
                } else {
                    Status::Superseded
                };
                if last {
                    s.record.description = format!("Uninstallation complete: {}", report.summary());
                }
                s.record.updated = stamp.clone();
                store.save(&mut s).await?;
            }
        }
    } else {
        for s in &history {
            store.delete(s).await?;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::codec::tests::record;

    fn store() -> ReleaseStore {
        let sim = cutover_sim::Simulator::new(0);
        let cluster = Cluster::from_client(
            sim.client(),
            "default".into(),
            cutover_clock::Clock::tokio(),
        );
        ReleaseStore::new(&cluster, "default", "web")
    }

    fn fresh() -> Fresh {
        let r = record(0);
        Fresh {
            policy: r.policy,
            values: r.values,
            holder: "me".into(),
            now: std::time::SystemTime::now(),
        }
    }

    /// A new run numbers its revision after the last, as an install or an upgrade, and is
    /// refused while the latest is pending: an interrupted run, or an interrupted rollback, each
    /// with the command that finishes it.
    #[tokio::test]
    async fn a_run_is_refused_while_the_latest_revision_is_pending() {
        let store = store();
        let first = begin_run(&store, fresh()).await.unwrap();
        assert_eq!(
            (first.number(), first.record.status),
            (1, Status::PendingInstall)
        );
        let e = begin_run(&store, fresh()).await.unwrap_err().to_string();
        assert!(
            e.contains("interrupted run") && e.contains("cutover resume web"),
            "{e}"
        );
        let mut first = first;
        first.record.status = Status::Deployed;
        store.save(&mut first).await.unwrap();
        let mut second = begin_run(&store, fresh()).await.unwrap();
        assert_eq!(
            (second.number(), second.record.status),
            (2, Status::PendingUpgrade)
        );
        second.record.status = Status::PendingRollback;
        store.save(&mut second).await.unwrap();
        let e = begin_run(&store, fresh()).await.unwrap_err().to_string();
        assert!(
            e.contains("interrupted rollback") && e.contains("cutover rollback web"),
            "{e}"
        );
        assert!(!e.contains("resume"), "{e}");
    }

    fn ending(succeeded: bool, paused: Option<&str>, aborted: bool) -> Ending {
        Ending {
            succeeded,
            paused: paused.map(str::to_string),
            aborted,
            policy_undo: false,
            description: if succeeded {
                "done".into()
            } else {
                "Failed (aborted): no".into()
            },
            undo: None,
            history_max: 10,
            now: std::time::SystemTime::now(),
            lock_lost: None,
        }
    }

    /// The statuses of the release's revisions, oldest first.
    async fn statuses(store: &ReleaseStore) -> Vec<Status> {
        let history = store.history().await.unwrap();
        history.iter().map(|s| s.record.status).collect()
    }

    /// A paused run leaves the deployed revision deployed and keeps its checkpoint and status;
    /// a new run and a resume are refused naming promote and abort; a promote that succeeds
    /// deploys it; an abort fails it as aborted by the operator, whatever the policy said.
    #[tokio::test]
    async fn a_paused_revision_waits_for_promote_abort_or_retry() {
        let sim = cutover_sim::Simulator::new(0);
        let cluster = Cluster::from_client(
            sim.client(),
            "default".into(),
            cutover_clock::Clock::tokio(),
        );
        let store = ReleaseStore::new(&cluster, "default", "web");
        let first = begin_run(&store, fresh()).await.unwrap();
        settle(&cluster, &store, first, ending(true, None, false))
            .await
            .unwrap();
        let mut second = begin_run(&store, fresh()).await.unwrap();
        second.record.checkpoint = Some("2".into());
        let settled = settle(
            &cluster,
            &store,
            second,
            ending(true, Some("weight 20%"), false),
        )
        .await
        .unwrap();
        assert_eq!(settled.status, Some(Status::Paused));
        assert_eq!(statuses(&store).await, [Status::Deployed, Status::Paused]);
        let paused = store.history().await.unwrap().pop().unwrap();
        assert_eq!(paused.record.paused.as_deref(), Some("weight 20%"));
        assert_eq!(paused.record.checkpoint.as_deref(), Some("2"));
        assert_eq!(paused.record.description, "Paused: weight 20%");

        let e = begin_run(&store, fresh()).await.unwrap_err().to_string();
        assert!(
            e.contains("is paused at revision 2")
                && e.contains("cutover promote web")
                && e.contains("cutover abort web"),
            "{e}"
        );
        let holder = || "me".to_string();
        let now = std::time::SystemTime::now();
        let e = begin_resume(&store, holder(), now, Again::Resume, false)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("cutover promote web"), "{e}");
        let e = plan_rollback("web", &store.history().await.unwrap(), None, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cutover abort web"), "{e}");

        // Abort: failed as the operator's, though the policy's abort itself succeeded; the
        // deployed revision stays deployed, the checkpoint is kept.
        let aborting = begin_resume(&store, holder(), now, Again::Abort, false)
            .await
            .unwrap();
        assert_eq!(aborting.record.status, Status::PendingUpgrade);
        assert_eq!(aborting.record.attempt, 2);
        settle(
            &cluster,
            &store,
            aborting,
            ending(true, Some("ignored"), true),
        )
        .await
        .unwrap();
        let aborted = store.history().await.unwrap().pop().unwrap();
        assert_eq!(
            (aborted.record.status, aborted.record.description.as_str()),
            (Status::Failed, ABORTED)
        );
        assert_eq!(aborted.record.paused, None);
        assert_eq!(aborted.record.checkpoint.as_deref(), Some("2"));
        assert_eq!(statuses(&store).await, [Status::Deployed, Status::Failed]);
        let e = begin_resume(&store, holder(), now, Again::Promote, false)
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "release web is not paused: its latest revision 2 is failed"
        );

        // Retry takes the failed revision; a promote of its new pause deploys it.
        let retried = begin_resume(&store, holder(), now, Again::Retry, false)
            .await
            .unwrap();
        settle(
            &cluster,
            &store,
            retried,
            ending(true, Some("weight 20%"), false),
        )
        .await
        .unwrap();
        let promoting = begin_resume(&store, holder(), now, Again::Promote, false)
            .await
            .unwrap();
        settle(&cluster, &store, promoting, ending(true, None, false))
            .await
            .unwrap();
        assert_eq!(
            statuses(&store).await,
            [Status::Superseded, Status::Deployed]
        );
        let deployed = store.history().await.unwrap().pop().unwrap();
        assert_eq!(deployed.record.checkpoint, None);
        let e = begin_resume(&store, holder(), now, Again::Retry, false)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("nothing to retry"), "{e}");
    }

    /// A run that paused and then failed is failed, not paused.
    #[tokio::test]
    async fn a_pause_then_a_failure_fails() {
        let sim = cutover_sim::Simulator::new(0);
        let cluster = Cluster::from_client(
            sim.client(),
            "default".into(),
            cutover_clock::Clock::tokio(),
        );
        let store = ReleaseStore::new(&cluster, "default", "web");
        let run = begin_run(&store, fresh()).await.unwrap();
        let settled = settle(
            &cluster,
            &store,
            run,
            ending(false, Some("weight 20%"), false),
        )
        .await
        .unwrap();
        assert_eq!(settled.status, Some(Status::Failed));
        assert_eq!(statuses(&store).await, [Status::Failed]);
    }

    fn sim_store() -> (Cluster, ReleaseStore) {
        let sim = cutover_sim::Simulator::new(0);
        let cluster = Cluster::from_client(
            sim.client(),
            "default".into(),
            cutover_clock::Clock::tokio(),
        );
        let store = ReleaseStore::new(&cluster, "default", "web");
        (cluster, store)
    }

    /// Which way `cutover abort` and `cutover rollback` go with a failed or interrupted
    /// revision: its policy's own undo when the revision records that its policy undoes its
    /// runs (and no revision number nor `--journal` is given), the journal otherwise; an
    /// abort of a policy that does not undo its runs stays paused-only, saying so.
    #[tokio::test]
    async fn a_failed_or_interrupted_run_of_a_policy_that_undoes_itself_goes_to_the_policy() {
        let (cluster, store) = sim_store();
        // Interrupted: pending, nobody holding it.
        let pending = begin_run_of(&store, fresh(), true).await.unwrap();
        assert!(pending.record.rollback_by_policy);
        assert_eq!(again_for_abort(&pending), Again::Undo);
        check_again("web", &pending, Again::Undo, true).unwrap();
        let e = check_again("web", &pending, Again::Undo, false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("does not undo its own runs")
                && e.contains("cutover rollback web --journal"),
            "{e}"
        );
        let history = store.history().await.unwrap();
        let plan = plan_rollback("web", &history, None, false).unwrap();
        assert_eq!((plan.undo_by_policy, plan.undo_in_place), (Some(1), None));
        assert!(plan.undo.is_empty() && plan.target.is_none(), "{plan:?}");
        // `--journal`, or a revision to return to: the journal, as before.
        let plan = plan_rollback("web", &history, None, true).unwrap();
        assert_eq!((plan.undo_by_policy, plan.undo_in_place), (None, Some(1)));
        let plan = plan_rollback("web", &history, Some(0), false).unwrap();
        assert_eq!(
            (plan.undo_by_policy, plan.undo_in_place, plan.target),
            (None, Some(1), Some(0))
        );
        // The journal's rollback never stands in for the policy's.
        let now = std::time::SystemTime::now();
        let e = rollback(
            &cluster,
            &store,
            None,
            false,
            "me".into(),
            now,
            &*permit::any(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(e, LifecycleError::UndoneByPolicy { number: 1, .. }),
            "{e}"
        );

        // Failed, not undone: the same. Paused: abort first.
        let mut failed = pending.clone();
        failed.record.status = Status::Failed;
        assert_eq!(again_for_abort(&failed), Again::Undo);
        check_again("web", &failed, Again::Undo, true).unwrap();
        let mut paused = pending.clone();
        paused.record.status = Status::Paused;
        assert_eq!(again_for_abort(&paused), Again::Abort);
        let e = check_again("web", &paused, Again::Undo, true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cutover abort web"), "{e}");
        // An interrupted rollback is finished by the journal, whatever the policy.
        let mut rolling = pending.clone();
        rolling.record.status = Status::PendingRollback;
        assert_eq!(again_for_abort(&rolling), Again::Abort);
        let e = check_again("web", &rolling, Again::Undo, true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nothing for its policy to roll back"), "{e}");

        // A policy that does not undo its runs: abort stays paused-only, and says what to do.
        let mut plain = failed.clone();
        plain.record.rollback_by_policy = false;
        assert_eq!(again_for_abort(&plain), Again::Abort);
        let e = check_again("web", &plain, Again::Abort, false)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("release web is not paused: its latest revision 1 is failed; its policy does not undo its own runs")
                && e.contains("`cutover rollback web`"),
            "{e}"
        );
        let e = check_again("web", &plain, Again::Promote, false)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "release web is not paused: its latest revision 1 is failed"
        );
        let plan = plan_rollback("web", std::slice::from_ref(&plain), None, false).unwrap();
        assert_eq!((plan.undo_by_policy, plan.undo_in_place), (None, Some(1)));
    }

    /// The policy's undo runs the revision again (attempt N+1, pending) and ends it failed:
    /// undone when the policy succeeded — then resume, retry, abort and another rollback treat
    /// it as reverted — and still not undone when it failed, for another try. The journal is
    /// never replayed, whatever undo was asked.
    #[tokio::test]
    async fn a_rollback_by_the_policy_ends_failed_and_undone_or_not() {
        let (cluster, store) = sim_store();
        let run = begin_run_of(&store, fresh(), true).await.unwrap();
        settle(&cluster, &store, run, ending(false, None, false))
            .await
            .unwrap();
        let holder = || "me".to_string();
        let now = std::time::SystemTime::now();

        let undoing = begin_resume(&store, holder(), now, Again::Undo, true)
            .await
            .unwrap();
        assert_eq!(
            (
                undoing.record.status,
                undoing.record.attempt,
                undoing.record.description.as_str()
            ),
            (
                Status::PendingInstall,
                2,
                "Rollback by the policy in progress (attempt 2)"
            )
        );
        let mut failing = ending(false, None, false);
        failing.policy_undo = true;
        failing.undo = Some(Scope::All);
        let settled = settle(&cluster, &store, undoing, failing).await.unwrap();
        assert!(settled.undo.is_none() && !settled.removed);
        let failed = store.history().await.unwrap().pop().unwrap();
        assert_eq!(failed.record.status, Status::Failed);
        assert!(!failed.record.reverted);
        assert_eq!(
            failed.record.description,
            format!("{POLICY_ROLLBACK_FAILED} (attempt 2): Failed (aborted): no")
        );
        // Not undone: it can be rolled back again (or resumed).
        assert_eq!(again_for_abort(&failed), Again::Undo);
        check_again("web", &failed, Again::Resume, true).unwrap();
        let plan = plan_rollback("web", &store.history().await.unwrap(), None, false).unwrap();
        assert_eq!(plan.undo_by_policy, Some(1));

        let undoing = begin_resume(&store, holder(), now, Again::Undo, true)
            .await
            .unwrap();
        assert_eq!(undoing.record.attempt, 3);
        let mut undone = ending(true, Some("ignored"), false);
        undone.policy_undo = true;
        undone.undo = Some(Scope::All);
        let settled = settle(&cluster, &store, undoing, undone).await.unwrap();
        assert_eq!(settled.status, Some(Status::Failed));
        assert!(settled.undo.is_none() && !settled.removed);
        let reverted = store.history().await.unwrap().pop().unwrap();
        assert!(reverted.record.reverted);
        assert_eq!(reverted.record.paused, None);
        assert_eq!(
            reverted.record.description,
            format!("{ROLLED_BACK_BY_POLICY} (attempt 3): done")
        );
        assert!(reverted.record.rollback_by_policy);

        // Reverted: nothing left to resume, retry, abort or undo; a rollback without a
        // revision has nowhere to go (a first install).
        let e = check_again("web", &reverted, Again::Resume, true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nothing to resume"), "{e}");
        let e = check_again("web", &reverted, Again::Retry, true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("and was rolled back"), "{e}");
        assert_eq!(again_for_abort(&reverted), Again::Abort);
        let e = check_again("web", &reverted, Again::Abort, true)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "release web is not paused: its latest revision 1 is failed, and was rolled back"
        );
        let e = check_again("web", &reverted, Again::Undo, true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is failed, and was rolled back"), "{e}");
        let e = plan_rollback("web", &store.history().await.unwrap(), None, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no earlier revision to roll back to"), "{e}");
        assert_eq!(statuses(&store).await, [Status::Failed]);
    }
}
