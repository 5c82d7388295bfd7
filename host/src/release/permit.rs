//! Which journal steps of a stored revision an undo may act on: a revision's Secret can be
//! written by anyone with Secret access in its namespace, so before `rollback` or `uninstall`
//! acts with the operator's credentials on what a journal names, each step is checked against
//! what the revision's policy declares — when that policy is one built into this binary with the
//! digest the revision records. (A policy file's journal is trusted as stored: docs/releases.md.)

use std::collections::HashMap;
use std::sync::Mutex;

use super::journal::Entry;
use super::record::Record;
use crate::capabilities::{Call, Grants};
use crate::source::PolicySource;

/// Says whether an undo may act on one step of a revision's journal, and why not.
pub type Permit = dyn Fn(&Record, &Entry) -> Result<(), String> + Send + Sync;

/// Every step allowed: for the journal a run kept in memory itself.
pub fn any() -> Box<Permit> {
    Box::new(|_, _| Ok(()))
}

/// Steps allowed by the declared capabilities of the revision's bundled policy.
pub fn declared() -> Box<Permit> {
    let known: Mutex<HashMap<String, Option<Grants>>> = Mutex::default();
    Box::new(move |record, entry| {
        let key = format!("{}\0{}\0{}", record.policy.source, record.policy.digest, record.namespace);
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
