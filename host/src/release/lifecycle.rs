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
/// interrupted run must be resumed or rolled back first).
pub async fn begin_run(store: &ReleaseStore, fresh: Fresh) -> Result<Stored, LifecycleError> {
    let history = store.history().await?;
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
    };
    Ok(store.create(record).await?)
}

/// The revision a resume continues: the latest, when it is pending (interrupted) or failed
/// and not undone. Its attempt count goes up and it is pending again.
pub async fn begin_resume(
    store: &ReleaseStore,
    holder: String,
    now: std::time::SystemTime,
) -> Result<Stored, LifecycleError> {
    let history = store.history().await?;
    let Some(last) = history.last().cloned() else {
        return Err(LifecycleError::NotFound(store.release.clone()));
    };
    let resumable = last.record.status.is_pending()
        || (last.record.status == Status::Failed && !last.record.reverted);
    if !resumable || last.record.status == Status::PendingRollback {
        return Err(LifecycleError::NothingToResume {
            release: store.release.clone(),
            number: last.number(),
            status: last.record.status,
        });
    }
    let mut stored = last;
    let before_it = &history[..history.len() - 1];
    stored.record.status = if store::deployed(before_it).is_some() {
        Status::PendingUpgrade
    } else {
        Status::PendingInstall
    };
    stored.record.attempt += 1;
    stored.record.holder = holder;
    stored.record.description = format!("Resumed (attempt {})", stored.record.attempt);
    stored.record.updated = timestamp(now);
    store.save(&mut stored).await?;
    Ok(stored)
}

/// How a run ended, for [`settle`].
pub struct Ending {
    pub succeeded: bool,
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
    if ending.succeeded {
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

/// Plans a rollback: an interrupted or failed (not undone) latest revision is undone in place;
/// then, when a target is given (or the latest is deployed), the release returns to it.
pub fn plan_rollback(
    release: &str,
    history: &[Stored],
    target: Option<u32>,
) -> Result<RollbackPlan, LifecycleError> {
    let Some(latest) = history.last() else {
        return Err(LifecycleError::NotFound(release.to_string()));
    };
    let mut plan = RollbackPlan::default();
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

/// Carries out [`plan_rollback`]'s plan.
pub async fn rollback(
    cluster: &Cluster,
    store: &ReleaseStore,
    target: Option<u32>,
    holder: String,
    now: std::time::SystemTime,
    permit: &Permit,
) -> Result<RolledBack, LifecycleError> {
    let history = store.history().await?;
    let plan = plan_rollback(&store.release, &history, target)?;
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
}
