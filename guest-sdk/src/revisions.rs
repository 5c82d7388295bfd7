//! Helm-style release history on [`Context`]: store a revision, set its status, read the history.

use serde_json::Value;

use crate::bindings::cutover::policy::revisions as wit;
use crate::{Context, Error};

/// Where a revision stands, as `helm history` shows it.
///
/// ```
/// use cutover_guest_sdk::RevisionStatus;
/// assert_eq!(RevisionStatus::RolledBack.as_str(), "rolled-back");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RevisionStatus {
    /// Being rolled out.
    Pending,
    /// The release's current revision.
    Deployed,
    /// Replaced by a later deployed revision.
    Superseded,
    /// Its run failed.
    Failed,
    /// Undone by a rollback.
    RolledBack,
}

impl RevisionStatus {
    /// The WIT name: `pending`, `deployed`, `superseded`, `failed`, `rolled-back`.
    ///
    /// ```
    /// assert_eq!(cutover_guest_sdk::RevisionStatus::Deployed.as_str(), "deployed");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            RevisionStatus::Pending => "pending",
            RevisionStatus::Deployed => "deployed",
            RevisionStatus::Superseded => "superseded",
            RevisionStatus::Failed => "failed",
            RevisionStatus::RolledBack => "rolled-back",
        }
    }
}

impl From<RevisionStatus> for wit::RevisionStatus {
    fn from(s: RevisionStatus) -> Self {
        match s {
            RevisionStatus::Pending => wit::RevisionStatus::Pending,
            RevisionStatus::Deployed => wit::RevisionStatus::Deployed,
            RevisionStatus::Superseded => wit::RevisionStatus::Superseded,
            RevisionStatus::Failed => wit::RevisionStatus::Failed,
            RevisionStatus::RolledBack => wit::RevisionStatus::RolledBack,
        }
    }
}

impl From<wit::RevisionStatus> for RevisionStatus {
    fn from(s: wit::RevisionStatus) -> Self {
        match s {
            wit::RevisionStatus::Pending => RevisionStatus::Pending,
            wit::RevisionStatus::Deployed => RevisionStatus::Deployed,
            wit::RevisionStatus::Superseded => RevisionStatus::Superseded,
            wit::RevisionStatus::Failed => RevisionStatus::Failed,
            wit::RevisionStatus::RolledBack => RevisionStatus::RolledBack,
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
    /// The manifests it applied, a JSON array.
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

/// Release history. Each call needs the matching `revisions/...` capability.
///
/// The host of this version checks the capability but does not store history yet: every call
/// returns [`Error::Unavailable`](crate::Error) until release storage lands.
impl Context {
    /// Records a new revision of the run's release with the manifests it applies; returns its
    /// number. Needs `revisions/store-revision`.
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// use serde_json::json;
    /// let manifests = [json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web"}})];
    /// let number = ctx.store_revision(&manifests, "canary 10%")?;
    /// # let _ = number; Ok(()) }
    /// ```
    pub fn store_revision(&self, manifests: &[Value], description: &str) -> Result<u32, Error> {
        let json = serde_json::to_string(manifests)?;
        Ok(wit::store_revision(&json, description)?)
    }

    /// Changes the status of one revision. Needs `revisions/set-status`.
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// use cutover_guest_sdk::RevisionStatus;
    /// ctx.set_revision_status(3, RevisionStatus::Superseded, "replaced by 4")?;
    /// # Ok(()) }
    /// ```
    pub fn set_revision_status(
        &self,
        number: u32,
        status: RevisionStatus,
        description: &str,
    ) -> Result<(), Error> {
        Ok(wit::set_status(number, status.into(), description)?)
    }

    /// Every revision of the run's release, oldest first. Needs `revisions/list-revisions`.
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

    /// One revision of the run's release. Needs `revisions/get-revision`.
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// let r = ctx.revision(2)?;
    /// ctx.info(&format!("revision 2 applied {} manifests", r.manifests.as_array().map_or(0, Vec::len)));
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
            status: wit::RevisionStatus::RolledBack,
            policy: "canary@0.1.0".into(),
            params: r#"{"weight":10}"#.into(),
            manifests: "[]".into(),
            updated: "2026-11-21T13:20:00Z".into(),
            description: "rolled back".into(),
        })
        .unwrap();
        assert_eq!(r.status, RevisionStatus::RolledBack);
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
