//! The one path every cluster and revisions call takes: counted, authorized, bounded by its own
//! deadline and the run's, cancellable, and reported with the target as it was located.

use std::future::Future;
use std::time::Duration;

use crate::capabilities::{Call, Denial, Grants};
use crate::cluster::ClusterError;
use crate::report::Event;
use crate::sandbox::bindings::cutover::policy::types::Error;
use crate::sandbox::limits::{MAX_CHANGE_RECORDS, MAX_DENIAL_RECORDS};
use crate::sandbox::state::RunState;

/// Why a call's work did not produce a value.
#[derive(Debug)]
pub enum CallError {
    /// The capability check refused it: the call as checked, and why.
    Denied { call: String, denial: Denial },
    /// Anything else, as the guest will see it.
    Refused(Error),
    /// Refused, with more for the operator than the guest may see (what a wait's implied reads
    /// found, when the run may not read it itself).
    Withheld { guest: Error, operator: String },
}

impl From<Error> for CallError {
    fn from(e: Error) -> Self {
        CallError::Refused(e)
    }
}

impl From<ClusterError> for CallError {
    fn from(e: ClusterError) -> Self {
        CallError::Refused(to_wit_error(e))
    }
}

/// A call's result: the value for the guest and the target it reached.
pub type Done<T> = (T, Reached);

/// The target a call reached, as reports name it, and whether a mutating call changed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    pub label: String,
    pub changed: bool,
}

/// A target reached by a call that did what it was asked.
impl From<String> for Reached {
    fn from(label: String) -> Reached {
        Reached {
            label,
            changed: true,
        }
    }
}

/// The target of a delete or an eviction, by what it did: one that found its target already
/// gone says so and is not a change.
pub fn removal(label: String, removal: crate::cluster::Removal) -> Reached {
    match removal {
        crate::cluster::Removal::Removed => label.into(),
        crate::cluster::Removal::AlreadyGone => Reached {
            label: format!("{label} (already gone)"),
            changed: false,
        },
    }
}

/// Checks one call against the grants.
pub fn authorize(grants: &Grants, call: &Call<'_>) -> Result<(), CallError> {
    grants.check(call).map_err(|denial| CallError::Denied {
        call: call.to_string(),
        denial,
    })
}

/// Before discovery (a request made for the call) says whether the kind is namespaced, a call
/// is checked as it would reach: a built-in kind's scope is known without asking; a custom
/// kind must be allowed either in `call.namespace` or cluster-wide. Otherwise it is refused
/// without any request. After discovery it is checked again, exactly.
pub fn pre_authorize(grants: &Grants, call: &Call<'_>) -> Result<(), CallError> {
    let cluster_scoped = Call {
        namespace: None,
        ..*call
    };
    let known = match (call.api_version, call.kind) {
        (Some(v), Some(k)) => crate::cluster::target::known_scope(v, k),
        _ => None,
    };
    match known {
        Some(true) => authorize(grants, call),
        Some(false) => authorize(grants, &cluster_scoped),
        None if grants.check(&cluster_scoped).is_ok() => Ok(()),
        None => authorize(grants, call),
    }
}

impl RunState {
    /// Runs one call's `work` within `own` (or `--request-timeout`) and what is left of the run,
    /// cut short by cancellation, then records and reports it. `requested` names the target as
    /// the guest gave it, for reports of calls that never located it.
    pub(crate) async fn perform<T>(
        &mut self,
        operation: &'static str,
        requested: String,
        own: Option<Duration>,
        mutation: bool,
        work: impl Future<Output = Result<Done<T>, CallError>>,
    ) -> Result<T, Error> {
        self.stats.calls += 1;
        let time = self.time.clone();
        let remaining = time.remaining();
        let limit = own.unwrap_or(self.request_timeout).min(remaining);
        let result = tokio::select! {
            biased;
            () = time.cancel.cancelled() => Err(CallError::Refused(Error::Aborted(format!(
                "{operation} {requested}: the run is being cancelled"
            )))),
            r = time.clock.timeout(limit, work) => match r {
                Ok(r) => r,
                Err(_) if limit == remaining => Err(CallError::Refused(Error::Timeout(format!(
                    "{operation} {requested}: the run's deadline (--timeout) passed first"
                )))),
                Err(_) => Err(CallError::Refused(Error::Timeout(format!(
                    "{operation} {requested}: no answer within {}",
                    crate::units::format_duration(limit)
                )))),
            },
        };
        match result {
            Ok((value, reached)) => {
                if mutation && reached.changed {
                    self.stats
                        .changed
                        .push(format!("{operation} {}", reached.label), MAX_CHANGE_RECORDS);
                }
                self.emit(Event::Call {
                    operation: operation.to_string(),
                    target: reached.label,
                    outcome: "ok".into(),
                });
                Ok(value)
            }
            Err(CallError::Denied { call, denial }) => {
                let reason = denial.to_string();
                self.stats.denied.push(call.clone(), MAX_DENIAL_RECORDS);
                self.emit_guest(Event::Denied {
                    call,
                    reason: reason.clone(),
                });
                Err(Error::Forbidden(format!("denied by cutover: {reason}")))
            }
            Err(CallError::Refused(error)) => {
                self.emit_guest(Event::Call {
                    operation: operation.to_string(),
                    target: requested,
                    outcome: error_message(&error).to_string(),
                });
                Err(error)
            }
            Err(CallError::Withheld { guest, operator }) => {
                self.emit_guest(Event::Call {
                    operation: operation.to_string(),
                    target: requested,
                    outcome: operator,
                });
                Err(guest)
            }
        }
    }
}

/// Maps the cluster layer's typed error to the WIT error, variant for variant.
pub fn to_wit_error(error: ClusterError) -> Error {
    let message = error.to_string();
    match error {
        ClusterError::NotFound(_) => Error::NotFound(message),
        ClusterError::Conflict(_) => Error::Conflict(message),
        ClusterError::Forbidden(_) => Error::Forbidden(message),
        ClusterError::Invalid(_) => Error::Invalid(message),
        ClusterError::Timeout(_) => Error::Timeout(message),
        ClusterError::Unavailable(_) => Error::Unavailable(message),
        ClusterError::Aborted(_) => Error::Aborted(message),
        ClusterError::Other(_) => Error::Other(message),
    }
}

/// The one-line reason inside a WIT error.
pub fn error_message(error: &Error) -> &str {
    match error {
        Error::NotFound(m)
        | Error::Conflict(m)
        | Error::Forbidden(m)
        | Error::Invalid(m)
        | Error::Timeout(m)
        | Error::Unavailable(m)
        | Error::Aborted(m)
        | Error::Other(m) => m,
    }
}

/// The variant's name, for reports: `not-found`, `timeout`, ...
pub fn error_kind(error: &Error) -> &'static str {
    match error {
        Error::NotFound(_) => "not-found",
        Error::Conflict(_) => "conflict",
        Error::Forbidden(_) => "forbidden",
        Error::Invalid(_) => "invalid",
        Error::Timeout(_) => "timeout",
        Error::Unavailable(_) => "unavailable",
        Error::Aborted(_) => "aborted",
        Error::Other(_) => "other",
    }
}
