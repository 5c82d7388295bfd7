//! Which journal steps of a stored revision an undo may act on: a revision's Secret can be
//! written by anyone with Secret access in its namespace, so before `rollback` or `uninstall`
//! acts with the operator's credentials on what a journal names, each step is checked against
//! what the revision's policy declares — when that policy is one built into this binary with the
//! digest the revision records, and, for any policy, against what cutover itself could have
//! written (a create only from an apply, a recreate only of the deleted target itself).

use std::collections::HashMap;
use std::sync::Mutex;

use super::journal::{Change, Entry, Operation, Target};
use super::record::Record;
use crate::capabilities::{Call, Grants};
use crate::source::PolicySource;

/// Says whether an undo may act on one step of a revision's journal, and why not.
pub type Permit = dyn Fn(&Record, &Entry) -> Result<(), String> + Send + Sync;

/// Every step allowed: for the journal a run kept in memory itself.
pub fn any() -> Box<Permit> {
    Box::new(|_, _| Ok(()))
}

/// Whether a rollback may apply `manifest` again for `record`'s revision: as an `apply` of
/// its object, by the same rules as a journal step.
pub fn reapply(
    permit: &Permit,
    record: &Record,
    manifest: &serde_json::Value,
) -> Result<(), String> {
    let s = |p: &str| manifest.pointer(p).and_then(serde_json::Value::as_str);
    let (Some(api_version), Some(kind), Some(name)) =
        (s("/apiVersion"), s("/kind"), s("/metadata/name"))
    else {
        return Err("refused: a recorded manifest has no apiVersion, kind or name".into());
    };
    let entry = Entry {
        manifest: None,
        seq: 0,
        operation: Operation::Apply,
        target: Target {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: s("/metadata/namespace").map(str::to_string),
            name: name.into(),
        },
        change: Change::Fields {
            uid: None,
            fields: Vec::new(),
        },
    };
    permit(record, &entry)
}

/// A step whose change does not fit its operation was not written by cutover: a create only
/// comes from an apply, a whole deleted object only from a delete of that very object, a
/// scale only touches `/spec/replicas`, a cordon only `/spec/unschedulable` of a Node.
pub fn well_formed(entry: &Entry) -> Result<(), String> {
    let t = &entry.target;
    let bad = |why: &str| {
        Err(format!(
            "refused: a {} step that {why}; the revision's Secret was changed by hand?",
            entry.operation.as_str()
        ))
    };
    match (&entry.change, entry.operation) {
        (Change::Irreversible { .. }, _) => Ok(()),
        (Change::Create { .. }, Operation::Apply | Operation::Patch) => Ok(()),
        (Change::Create { .. }, _) => bad("claims to have created its target"),
        (Change::Delete { object }, Operation::Delete) => {
            let s = |p: &str| object.pointer(p).and_then(serde_json::Value::as_str);
            let same = s("/apiVersion") == Some(&t.api_version)
                && s("/kind") == Some(&t.kind)
                && s("/metadata/name") == Some(&t.name)
                && s("/metadata/namespace") == t.namespace.as_deref();
            if same {
                Ok(())
            } else {
                bad("would create an object other than its target")
            }
        }
        (Change::Delete { .. }, _) => bad("holds a deleted object"),
        (Change::Fields { fields, .. }, op) => {
            let only = |pointer: &str| fields.iter().all(|f| f.pointer == pointer);
            match op {
                Operation::Scale if !only("/spec/replicas") => {
                    bad("touches more than /spec/replicas")
                }
                Operation::Cordon | Operation::Uncordon
                    if !(only("/spec/unschedulable")
                        && t.api_version == "v1"
                        && t.kind == "Node") =>
                {
                    bad("touches more than a Node's /spec/unschedulable")
                }
                Operation::Evict => bad("patches its pod"),
                Operation::Delete if !fields.is_empty() => bad("patches what it deleted"),
                _ => Ok(()),
            }
        }
    }
}

/// Steps allowed by the declared capabilities of the revision's bundled policy.
pub fn declared() -> Box<Permit> {
    let known: Mutex<HashMap<String, Option<Grants>>> = Mutex::default();
    Box::new(move |record, entry| {
        well_formed(entry)?;
        let key = format!(
            "{}\0{}\0{}",
            record.policy.source, record.policy.digest, record.namespace
        );
        let mut known = known.lock().unwrap_or_else(|e| e.into_inner());
        let grants = known
            .entry(key)
            .or_insert_with(|| bundled_grants(record))
            .clone();
        let Some(grants) = grants else {
            return Ok(());
        };
        let call = Call {
            interface: "cluster",
            operation: entry.operation.as_str(),
            api_version: Some(&entry.target.api_version),
            kind: Some(&entry.target.kind),
            namespace: entry.target.namespace.as_deref(),
        };
        grants.check(&call).map_err(|denial| {
            format!(
                "refused: the journal names a change {}@{} does not declare ({denial}); the revision's Secret was changed by hand?",
                record.policy.name, record.policy.version
            )
        })
    })
}

/// The grants of exactly what the revision's policy declares, when it is bundled here with the
/// recorded digest; None otherwise (a file, or another version of cutover's bundled policy).
fn bundled_grants(record: &Record) -> Option<Grants> {
    if !PolicySource::is_bundled(&record.policy.source) {
        return None;
    }
    let policy = PolicySource::resolve(&record.policy.source).ok()?;
    if format!("sha256:{}", policy.digest) != record.policy.digest {
        return None;
    }
    let declared = policy.manifest.capabilities().ok()?;
    Some(Grants::new(&declared, &declared, &record.namespace))
}
