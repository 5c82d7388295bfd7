//! One revision of a release as it is stored: what ran, with which values, what it applied and
//! journaled, its checkpoint and its status.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::journal::Entry;

/// Where a revision stands. The host sets it; a policy only reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// A first run of the release (no revision was ever deployed) is under way.
    PendingInstall,
    /// A run on a release with a deployed revision is under way.
    PendingUpgrade,
    /// `cutover rollback` is under way.
    PendingRollback,
    /// The release's current revision: exactly one at a time.
    Deployed,
    /// Its run failed (and was undone, when asked).
    Failed,
    /// Was deployed; a later revision replaced it.
    Superseded,
    /// `cutover uninstall --keep-history` removed what it applied.
    Uninstalled,
    /// A canary or blue-green run stopped at a pause (`rollout.pause`), waiting for
    /// `cutover promote`, `abort` or `retry`: no lock, its checkpoint kept, and the deployed
    /// revision before it still deployed.
    Paused,
}

impl Status {
    /// Every status, in the order of a revision's life.
    pub const ALL: [Status; 8] = [
        Status::PendingInstall,
        Status::PendingUpgrade,
        Status::PendingRollback,
        Status::Deployed,
        Status::Failed,
        Status::Superseded,
        Status::Uninstalled,
        Status::Paused,
    ];

    /// The name labels, tables and the WIT use: `pending-install`, `deployed`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Status::PendingInstall => "pending-install",
            Status::PendingUpgrade => "pending-upgrade",
            Status::PendingRollback => "pending-rollback",
            Status::Deployed => "deployed",
            Status::Failed => "failed",
            Status::Superseded => "superseded",
            Status::Uninstalled => "uninstalled",
            Status::Paused => "paused",
        }
    }

    /// A run (or rollback) of this revision is under way, or was interrupted.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            Status::PendingInstall | Status::PendingUpgrade | Status::PendingRollback
        )
    }

    /// The status by its label value.
    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which policy a revision ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRef {
    pub name: String,
    pub version: String,
    /// `sha256:<hex>` of the component's bytes.
    pub digest: String,
    /// How the operator named it: a bundled policy's name, or the path of a .wasm file.
    pub source: String,
}

/// The values a run was given (`--set`, `-f`) and the ones it ran with (defaults filled in).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Values {
    pub given: Value,
    pub computed: Value,
}

/// One revision, as its Secret's body holds it (gzip+JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub release: String,
    pub namespace: String,
    pub number: u32,
    pub status: Status,
    pub policy: PolicyRef,
    pub values: Values,
    /// The objects the revision applied (each `apply`, or what the policy recorded). Stored
    /// in the journal's entries unless `recorded`.
    #[serde(default)]
    pub applied: Vec<Value>,
    /// `applied` was set by the policy (`revisions.record`), not derived from its applies.
    #[serde(default)]
    pub recorded: bool,
    /// What each mutating call changed, in order: how to undo the revision.
    #[serde(default)]
    pub journal: Vec<Entry>,
    /// The policy's last checkpoint, for `cutover resume`.
    #[serde(default)]
    pub checkpoint: Option<String>,
    /// One line: what the run did, or why it failed.
    pub description: String,
    /// 1, then 2, 3, ... for each `cutover resume` of this revision.
    pub attempt: u32,
    /// For a rollback, the revision it returned to.
    #[serde(default)]
    pub rollback_to: Option<u32>,
    /// Who ran it: the lock holder's identity.
    #[serde(default)]
    pub holder: String,
    /// RFC 3339.
    pub started: String,
    /// RFC 3339.
    pub updated: String,
    /// The journal steps a rollback could not undo, each in one line.
    #[serde(default)]
    pub unreverted: Vec<String>,
    /// Its journal was undone (by `--rollback-on-failure` or a rollback): a later rollback
    /// does not undo it again.
    #[serde(default)]
    pub reverted: bool,
    /// The status text of the run's last `rollout.pause` (escaped, at most 4 KiB), while the
    /// revision is paused: where the rollout stands, for `cutover status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<String>,
    /// The policy that ran it declares `rollbackByPolicy` (it undoes its own runs): `cutover
    /// rollback` and `cutover abort` of this revision, failed or interrupted, run the policy's
    /// undo rather than its journal. Which way to go, read without the policy; the policy's own
    /// manifest is checked again before its undo runs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rollback_by_policy: bool,
}

/// The time as revisions record it: RFC 3339, UTC, whole seconds.
pub fn timestamp(time: std::time::SystemTime) -> String {
    match jiff::Timestamp::try_from(time) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Err(_) => "1970-01-01T00:00:00Z".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_by_name() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(Status::parse("pending"), None);
        assert!(Status::PendingRollback.is_pending());
        assert!(!Status::Failed.is_pending());
    }

    #[test]
    fn timestamps_are_rfc3339_seconds() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        assert_eq!(timestamp(t), "2023-11-14T22:13:20Z");
    }
}
