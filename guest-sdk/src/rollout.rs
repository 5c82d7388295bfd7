//! Strategies that pause for a person (canary, blue-green) on [`Context`]: what the operator
//! asked this run to do ([`Context::requested`]), and the pause that ends a run with its
//! revision paused ([`Context::pause`]).

use crate::host::rollout as wit;
use crate::{Context, Error};

/// Why this run of the revision was started: the command the operator ran.
///
/// ```
/// use cutover_guest_sdk::Request;
/// assert_eq!(Request::PromoteFull.as_str(), "promote-full");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Request {
    /// `cutover run`: a new revision.
    Start,
    /// `cutover resume`: continue an interrupted or failed run from its checkpoint.
    Resume,
    /// `cutover promote <release>`: continue a paused revision past its pause.
    Promote,
    /// `cutover promote <release> --full`: skip the remaining steps and analysis.
    PromoteFull,
    /// `cutover abort <release>`: return to the stable version and fail the revision; also
    /// `cutover rollback <release>` (or `abort`) of a failed or interrupted run of a policy
    /// that declares `rollback_by_policy`: undo the run from its checkpoint.
    Abort,
    /// `cutover retry <release>`: start the steps again (after an abort or a failure).
    Retry,
}

impl Request {
    /// The WIT name: `start`, `resume`, `promote`, `promote-full`, `abort`, `retry`.
    ///
    /// ```
    /// assert_eq!(cutover_guest_sdk::Request::Abort.as_str(), "abort");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Request::Start => "start",
            Request::Resume => "resume",
            Request::Promote => "promote",
            Request::PromoteFull => "promote-full",
            Request::Abort => "abort",
            Request::Retry => "retry",
        }
    }
}

impl From<wit::Request> for Request {
    fn from(r: wit::Request) -> Self {
        match r {
            wit::Request::Start => Request::Start,
            wit::Request::Resume => Request::Resume,
            wit::Request::Promote => Request::Promote,
            wit::Request::PromoteFull => Request::PromoteFull,
            wit::Request::Abort => Request::Abort,
            wit::Request::Retry => Request::Retry,
        }
    }
}

impl From<Request> for wit::Request {
    fn from(r: Request) -> Self {
        match r {
            Request::Start => wit::Request::Start,
            Request::Resume => wit::Request::Resume,
            Request::Promote => wit::Request::Promote,
            Request::PromoteFull => wit::Request::PromoteFull,
            Request::Abort => wit::Request::Abort,
            Request::Retry => wit::Request::Retry,
        }
    }
}

/// The `rollout` interface; no capability needed.
impl Context {
    /// What the operator asked this run to do: [`Request::Start`] for `cutover run`,
    /// [`Request::Resume`] for `cutover resume`, [`Request::Promote`], [`Request::PromoteFull`],
    /// [`Request::Abort`], [`Request::Retry`] for `cutover promote [--full]`, `abort`, `retry`.
    ///
    /// ```
    /// use cutover_guest_sdk::Request;
    /// use cutover_guest_sdk::testing::FakeCluster;
    /// # const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::manifest::Manifest::new("x", "0.1.0", "d", &[], &[]);
    /// let fake = FakeCluster::new();
    /// let ctx = fake.context(&M, serde_json::json!({}))?;
    /// assert_eq!(ctx.requested(), Request::Start);
    /// fake.request(Request::Promote);
    /// assert_eq!(ctx.requested(), Request::Promote);
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn requested(&self) -> Request {
        wit::requested().into()
    }

    /// Ends the run with the revision paused, not deployed: return from the policy right after
    /// (with `Ok`). The host keeps the checkpoint and `status` (at most 4 KiB, shown by
    /// `cutover status`: the step, the weight, the analysis so far) and releases the lock;
    /// `cutover promote`, `abort` or `retry` continue the revision, in a run whose
    /// [`Context::requested`] says which. A second `pause` in one run replaces the first; a
    /// run that pauses and then returns an error fails as usual. Refused
    /// ([`Error::Invalid`]) on a dry run.
    ///
    /// ```
    /// use cutover_guest_sdk::testing::FakeCluster;
    /// # const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::manifest::Manifest::new("x", "0.1.0", "d", &[], &[]);
    /// let fake = FakeCluster::new();
    /// let ctx = fake.context(&M, serde_json::json!({}))?;
    /// ctx.pause("step 2 of 4: weight 20%")?;
    /// assert_eq!(fake.paused().as_deref(), Some("step 2 of 4: weight 20%"));
    /// assert_eq!(fake.call_lines(), ["pause"]);
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn pause(&self, status: &str) -> Result<(), Error> {
        Ok(wit::pause(status)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_through_wit() {
        for r in [
            Request::Start,
            Request::Resume,
            Request::Promote,
            Request::PromoteFull,
            Request::Abort,
            Request::Retry,
        ] {
            assert_eq!(Request::from(wit::Request::from(r)), r);
        }
    }
}
