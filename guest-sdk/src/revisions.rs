//! Helm-style release history on [`Context`]: record what the run's revision applies, read the
//! history. The host numbers revisions and sets their statuses; a policy only reads them.

use serde_json::Value;

use crate::host::revisions as wit;
use crate::{Context, Error};

/// Where a revision stands, as `helm history` shows it. The host sets it; a policy only reads it.
///
/// ```
/// use cutover_guest_sdk::RevisionStatus;
/// assert_eq!(RevisionStatus::PendingRollback.as_str(), "pending-rollback");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RevisionStatus {
    /// The first revision of the release, being rolled out.
    PendingInstall,
    /// A later revision, being rolled out.
    PendingUpgrade,
    /// A rollback to an earlier revision, being rolled out.
    PendingRollback,
    /// The release's current revision.
    Deployed,
    /// Its run failed.
    Failed,
    /// Replaced by a later deployed revision.
    Superseded,
    /// The release was uninstalled.
    Uninstalled,
    /// A canary or blue-green run stopped at a pause, waiting for `cutover promote`, `abort`
    /// or `retry`; the previous deployed revision is still deployed.
    Paused,
}

impl RevisionStatus {
    /// The WIT name, as `helm history` prints it: `pending-install`, `pending-upgrade`,
    /// `pending-rollback`, `deployed`, `failed`, `superseded`, `uninstalled`, `paused`.
    ///
    /// ```
    /// assert_eq!(cutover_guest_sdk::RevisionStatus::Deployed.as_str(), "deployed");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            RevisionStatus::PendingInstall => "pending-install",
            RevisionStatus::PendingUpgrade => "pending-upgrade",
            RevisionStatus::PendingRollback => "pending-rollback",
            RevisionStatus::Deployed => "deployed",
            RevisionStatus::Failed => "failed",
            RevisionStatus::Superseded => "superseded",
            RevisionStatus::Uninstalled => "uninstalled",
            RevisionStatus::Paused => "paused",
        }
    }

    /// Whether the revision is still being rolled out (one of the `pending-...` statuses).
    ///
    /// ```
    /// use cutover_guest_sdk::RevisionStatus;
    /// assert!(RevisionStatus::PendingUpgrade.is_pending());
    /// assert!(!RevisionStatus::Deployed.is_pending());
    /// ```
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            RevisionStatus::PendingInstall
                | RevisionStatus::PendingUpgrade
                | RevisionStatus::PendingRollback
        )
    }
}

impl From<wit::RevisionStatus> for RevisionStatus {
    fn from(s: wit::RevisionStatus) -> Self {
        match s {
            wit::RevisionStatus::PendingInstall => RevisionStatus::PendingInstall,
            wit::RevisionStatus::PendingUpgrade => RevisionStatus::PendingUpgrade,
            wit::RevisionStatus::PendingRollback => RevisionStatus::PendingRollback,
            wit::RevisionStatus::Deployed => RevisionStatus::Deployed,
            wit::RevisionStatus::Failed => RevisionStatus::Failed,
            wit::RevisionStatus::Superseded => RevisionStatus::Superseded,
            wit::RevisionStatus::Uninstalled => RevisionStatus::Uninstalled,
            wit::RevisionStatus::Paused => RevisionStatus::Paused,
        }
    }
}

/// One numbered revision of the run's release.
///
/// ```no_run
/// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
/// for r in ctx.revisions()? {
///     ctx.info(&format!("{} {} {} {}", r.number, r.status.as_str(), r.updated, r.description));
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Revision {
    /// 1, 2, 3, ... per release.
    pub number: u32,
    /// Where it stands.
    pub status: RevisionStatus,
    /// Which policy produced it, `name@version`.
    pub policy: String,
    /// The parameters it ran with, a JSON object.
    pub params: Value,
    /// The objects it applied, a JSON array (every `apply` of its run, or what it
    /// [`record`](Context::record)ed).
    pub manifests: Value,
    /// When it last changed, RFC 3339.
    pub updated: String,
    /// What happened, in one line.
    pub description: String,
}

impl TryFrom<wit::Revision> for Revision {
    type Error = Error;

    fn try_from(r: wit::Revision) -> Result<Self, Error> {
        let what = |field: &str, e: serde_json::Error| {
            Error::invalid(format!("revision {} {field}: {e}", r.number))
        };
        Ok(Revision {
            number: r.number,
            status: r.status.into(),
            params: serde_json::from_str(&r.params).map_err(|e| what("params", e))?,
            manifests: serde_json::from_str(&r.manifests).map_err(|e| what("manifests", e))?,
            policy: r.policy,
            updated: r.updated,
            description: r.description,
        })
    }
}

/// Release history, as the host stores it in the cluster (docs/releases.md). Each call needs
/// the matching `revisions/...` capability. On a dry run, which writes no revision, the reads
/// return [`Error::Unavailable`](crate::Error).
impl Context {
    /// Records what this run's revision applies — the manifests a rollback to it re-applies —
    /// and a one-line description. Without it the revision keeps every object the run applied
    /// (the host records each `apply` by itself); `record` replaces that list. Does nothing on a
    /// dry run. Needs `revisions/record`.
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// use serde_json::json;
    /// let manifests = [json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web"}})];
    /// ctx.record(&manifests, "canary 10%")?;
    /// # Ok(()) }
    /// ```
    pub fn record(&self, manifests: &[Value], description: &str) -> Result<(), Error> {
        let json = serde_json::to_string(manifests)?;
        Ok(wit::record(&json, description)?)
    }

    /// Every revision of the run's release, oldest first, the run's own (pending) included.
    /// Needs `revisions/list-revisions`.
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// use cutover_guest_sdk::RevisionStatus;
    /// let last_good = ctx.revisions()?.into_iter().rev().find(|r| r.status == RevisionStatus::Deployed);
    /// # let _ = last_good; Ok(()) }
    /// ```
    pub fn revisions(&self) -> Result<Vec<Revision>, Error> {
        wit::list_revisions()?
            .into_iter()
            .map(Revision::try_from)
            .collect()
    }

    /// One revision of the run's release ([`Context::revision_number`] is the run's own). Needs
    /// `revisions/get-revision`.
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// if ctx.revision_number() > 1 {
    ///     let previous = ctx.revision(ctx.revision_number() - 1)?;
    ///     let count = previous.manifests.as_array().map_or(0, Vec::len);
    ///     ctx.info(&format!("revision {} applied {count} objects", previous.number));
    /// }
    /// # Ok(()) }
    /// ```
    pub fn revision(&self, number: u32) -> Result<Revision, Error> {
        wit::get_revision(number)?.try_into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_revisions() {
        let r = Revision::try_from(wit::Revision {
            number: 2,
            status: wit::RevisionStatus::PendingRollback,
            policy: "canary@0.1.0".into(),
            params: r#"{"weight":10}"#.into(),
            manifests: "[]".into(),
            updated: "2026-11-21T13:20:00Z".into(),
            description: "rolling back to 1".into(),
        })
        .unwrap();
        assert_eq!(r.status, RevisionStatus::PendingRollback);
        assert_eq!(r.params["weight"], 10);
        let bad = Revision::try_from(wit::Revision {
            number: 3,
            status: wit::RevisionStatus::Failed,
            policy: String::new(),
            params: "{".into(),
            manifests: "[]".into(),
            updated: String::new(),
            description: String::new(),
        })
        .unwrap_err();
        assert!(bad.reason().starts_with("revision 3 params: "), "{bad}");
    }
}
