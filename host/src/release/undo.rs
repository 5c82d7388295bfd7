//! Undoing journal entries, newest first, each with its precondition: a change someone else
//! made after ours is reported and left alone.

use serde_json::Value;

use super::journal::{self, Entry, Operation, Undo};
use super::permit::Permit;
use super::record::Record;
use crate::cluster::{Cluster, ClusterError, Located, ObjectRef, PatchKind};

/// Which entries to undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every entry (`--rollback-on-failure`, `cutover rollback` of an interrupted run).
    All,
    /// Only what the run created (`--cleanup-on-fail`).
    Created,
}

/// What an undo did, one line per entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct UndoReport {
    /// Reverted.
    pub undone: Vec<String>,
    /// Nothing to undo (the call never took effect, or is out of scope).
    pub nothing: Vec<String>,
    /// Changed by someone else since: left as it is.
    pub conflicts: Vec<String>,
    /// Cannot be undone (evictions, pod deletions).
    pub irreversible: Vec<String>,
    /// The undo request failed.
    pub failed: Vec<String>,
}

impl UndoReport {
    /// Every entry that was in scope is as it was before the run (irreversible steps aside).
    pub fn complete(&self) -> bool {
        self.conflicts.is_empty() && self.failed.is_empty()
    }

    /// The steps left as they are, one line each: for the revision and the operator.
    pub fn unreverted(&self) -> Vec<String> {
        self.conflicts
            .iter()
            .chain(&self.failed)
            .chain(&self.irreversible)
            .cloned()
            .collect()
    }

    /// `3 changes undone`, `...; 1 left as it is: ...`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} change{} undone",
            self.undone.len(),
            if self.undone.len() == 1 { "" } else { "s" }
        );
        let left = self.conflicts.len() + self.failed.len();
        if left > 0 {
            s += &format!(
                "; {left} left as {} (changed since, or the undo failed)",
                if left == 1 { "it is" } else { "they are" }
            );
        }
        if !self.irreversible.is_empty() {
            s += &format!("; {} not reversible", self.irreversible.len());
        }
        s
    }

    pub fn extend(&mut self, other: UndoReport) {
        self.undone.extend(other.undone);
        self.nothing.extend(other.nothing);
        self.conflicts.extend(other.conflicts);
        self.irreversible.extend(other.irreversible);
        self.failed.extend(other.failed);
    }
}

/// Undoes `record`'s journal newest first, on `cluster` (not a dry run), as far as `scope` and
/// `keep` say: `keep` names objects left to the caller (a rollback re-applies them instead);
/// a step `permit` refuses is reported as failed, not acted on.
pub async fn undo(
    cluster: &Cluster,
    record: &Record,
    scope: Scope,
    keep: &dyn Fn(&Entry) -> bool,
    permit: &Permit,
) -> UndoReport {
    let mut report = UndoReport::default();
    for entry in record.journal.iter().rev() {
        let line = journal::describe(entry);
        let in_scope = match scope {
            Scope::All => true,
            Scope::Created => matches!(entry.change, journal::Change::Create { .. }),
        };
        if !in_scope || keep(entry) {
            report.nothing.push(format!("{line}: left to the rollback"));
            continue;
        }
        if let Err(why) = permit(record, entry) {
            report.failed.push(format!("{line}: {why}"));
            continue;
        }
        match undo_one(cluster, entry).await {
            Ok(Outcome::Undone(how)) => report.undone.push(format!("{line}: {how}")),
            Ok(Outcome::Nothing(why)) => report.nothing.push(format!("{line}: {why}")),
            Ok(Outcome::Conflict(why)) => report.conflicts.push(format!("{line}: {why}")),
            Ok(Outcome::Irreversible(why)) => report.irreversible.push(format!("{line}: {why}")),
            Err(e) => report.failed.push(format!("{line}: {e}")),
        }
    }
    report
}

enum Outcome {
    Undone(&'static str),
    Nothing(String),
    Conflict(String),
    Irreversible(String),
}

pub(crate) async fn locate(cluster: &Cluster, entry: &Entry) -> Result<Located, ClusterError> {
    let t = &entry.target;
    if t.api_version == "v1" && t.kind == "Node" {
        return cluster.locate_node(&t.name);
    }
    let mut reference = ObjectRef::new(&t.api_version, &t.kind, &t.name);
    reference.namespace = t.namespace.clone();
    cluster.locate(&reference).await
}

async fn current(cluster: &Cluster, loc: &Located) -> Result<Option<Value>, ClusterError> {
    match cluster.get(loc).await {
        Ok(v) => Ok(Some(v)),
        Err(ClusterError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn undo_one(cluster: &Cluster, entry: &Entry) -> Result<Outcome, ClusterError> {
    if let journal::Change::Irreversible { reason } = &entry.change {
        return Ok(Outcome::Irreversible(reason.clone()));
    }
    let loc = locate(cluster, entry).await?;
    // A restoring patch tests what it read; if the object moved on in between, read again once.
    for attempt in 0..2 {
        let now = current(cluster, &loc).await?;
        match journal::undo(entry, now.as_ref()) {
            Undo::Nothing(why) => return Ok(Outcome::Nothing(why)),
            Undo::Conflict(why) => return Ok(Outcome::Conflict(why)),
            Undo::Irreversible(why) => return Ok(Outcome::Irreversible(why)),
            Undo::Delete { uid } => {
                // Without the uid (the call's answer was lost), only an object our field
                // manager wrote is ours to delete: one of that name made by someone else is not.
                if uid.is_none() && !managed_by(now.as_ref(), cluster.field_manager()) {
                    return Ok(Outcome::Conflict(format!(
                        "an object of that name exists that {} did not write; left alone",
                        cluster.field_manager()
                    )));
                }
                return match cluster.delete_if(&loc, uid.as_deref()).await {
                    Ok(_) => Ok(Outcome::Undone("deleted")),
                    Err(ClusterError::Conflict(m)) => Ok(Outcome::Conflict(m)),
                    Err(e) => Err(e),
                };
            }
            Undo::Recreate(object) => {
                return match cluster.create(&loc, object).await {
                    Ok(_) => Ok(Outcome::Undone("created again")),
                    Err(ClusterError::Conflict(m)) => Ok(Outcome::Conflict(m)),
                    Err(e) => Err(e),
                };
            }
            Undo::Patch(patch) => match cluster.patch(&loc, PatchKind::Json, patch).await {
                Ok(_) => return Ok(Outcome::Undone("restored")),
                // A failed `test` (422 or 409): the object changed after the read.
                Err(ClusterError::Invalid(m) | ClusterError::Conflict(m)) if attempt == 1 => {
                    return Ok(Outcome::Conflict(m));
                }
                Err(ClusterError::Invalid(_) | ClusterError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            },
        }
    }
    Ok(Outcome::Conflict(
        "the object kept changing while it was undone".into(),
    ))
}

/// Whether `manager` is among the field managers of `object`.
pub(crate) fn managed_by(object: Option<&Value>, manager: &str) -> bool {
    object
        .and_then(|o| o.pointer("/metadata/managedFields"))
        .and_then(Value::as_array)
        .is_some_and(|fields| {
            fields
                .iter()
                .any(|f| f.get("manager").and_then(Value::as_str) == Some(manager))
        })
}

/// Whether `entry` reaches the object one of `manifests` names.
pub fn targets_one_of(entry: &Entry, manifests: &[Value]) -> bool {
    entry.operation == Operation::Apply
        && manifests.iter().any(|m| {
            m.pointer("/apiVersion").and_then(Value::as_str) == Some(&entry.target.api_version)
                && m.pointer("/kind").and_then(Value::as_str) == Some(&entry.target.kind)
                && m.pointer("/metadata/name").and_then(Value::as_str) == Some(&entry.target.name)
                && m.pointer("/metadata/namespace").and_then(Value::as_str)
                    == entry.target.namespace.as_deref()
        })
}
