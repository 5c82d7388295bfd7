//! The error a host call or a policy returns: the WIT `error` variant, with a readable `Display`.

use std::fmt;

use crate::bindings::cutover::policy::types::Error as WitError;

/// Why a host call or a policy failed. Mirrors the WIT `error` variant case for case; each
/// carries a one-line, human-readable reason, which is what `Display` prints.
///
/// A policy returns it as is (`?` works on every SDK call) and the host shows the reason to the
/// operator; the case decides how the run is reported (a `timeout` and an `aborted` run read
/// differently).
///
/// ```
/// use cutover_guest_sdk::Error;
///
/// let e = Error::not_found("deployments.apps \"web\" not found");
/// assert!(e.is_not_found());
/// assert_eq!(e.kind(), "not-found");
/// assert_eq!(e.to_string(), "deployments.apps \"web\" not found");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The object does not exist.
    NotFound(String),
    /// A write raced another writer (HTTP 409), or the object already exists.
    Conflict(String),
    /// Outside the capabilities granted to this run, or refused by the API server's RBAC.
    Forbidden(String),
    /// The request was malformed: bad JSON, unknown kind, a field the server rejected; also
    /// parameters or host answers that do not decode.
    Invalid(String),
    /// The call's own deadline, or the run's, passed first.
    Timeout(String),
    /// The cluster could not be reached or answered 5xx/429 past the retry budget.
    Unavailable(String),
    /// The condition being waited on can never be met, or the run is being cancelled; also what
    /// a policy returns when it refuses to go on.
    Aborted(String),
    /// Anything else.
    Other(String),
}

/// Generates a constructor and a predicate per case, so the list cannot drift from the enum.
macro_rules! cases {
    ($($variant:ident, $ctor:ident, $is:ident, $kind:literal;)*) => {
        impl Error {
            $(
                #[doc = concat!("An [`Error::", stringify!($variant), "`] with this reason.")]
                ///
                /// ```
                #[doc = concat!("let e = cutover_guest_sdk::Error::", stringify!($ctor), "(\"why\");")]
                #[doc = concat!("assert!(e.", stringify!($is), "());")]
                /// ```
                pub fn $ctor(reason: impl Into<String>) -> Self {
                    Error::$variant(reason.into())
                }

                #[doc = concat!("Whether this is an [`Error::", stringify!($variant), "`].")]
                ///
                /// ```
                #[doc = concat!("let e = cutover_guest_sdk::Error::", stringify!($ctor), "(\"why\");")]
                #[doc = concat!("assert!(e.", stringify!($is), "());")]
                /// ```
                pub fn $is(&self) -> bool {
                    matches!(self, Error::$variant(_))
                }
            )*

            /// The case's WIT name: `not-found`, `conflict`, `forbidden`, `invalid`, `timeout`,
            /// `unavailable`, `aborted` or `other`.
            ///
            /// ```
            /// let e = cutover_guest_sdk::Error::forbidden("no capability");
            /// assert_eq!(format!("{}: {e}", e.kind()), "forbidden: no capability");
            /// ```
            pub fn kind(&self) -> &'static str {
                match self {
                    $(Error::$variant(_) => $kind,)*
                }
            }

            /// The one-line reason, without the case.
            ///
            /// ```
            /// assert_eq!(cutover_guest_sdk::Error::timeout("too slow").reason(), "too slow");
            /// ```
            pub fn reason(&self) -> &str {
                match self {
                    $(Error::$variant(reason) => reason,)*
                }
            }

            /// The same case with `context: ` put before the reason, to say what was being done.
            ///
            /// ```
            /// let e = cutover_guest_sdk::Error::timeout("deadline passed").context("evicting shop/web-1");
            /// assert_eq!(e.to_string(), "evicting shop/web-1: deadline passed");
            /// assert!(e.is_timeout());
            /// ```
            pub fn context(self, context: impl fmt::Display) -> Self {
                match self {
                    $(Error::$variant(reason) => Error::$variant(format!("{context}: {reason}")),)*
                }
            }
        }

        impl From<WitError> for Error {
            fn from(e: WitError) -> Self {
                match e {
                    $(WitError::$variant(reason) => Error::$variant(reason),)*
                }
            }
        }

        impl From<Error> for WitError {
            fn from(e: Error) -> Self {
                match e {
                    $(Error::$variant(reason) => WitError::$variant(reason),)*
                }
            }
        }
    };
}

cases! {
    NotFound, not_found, is_not_found, "not-found";
    Conflict, conflict, is_conflict, "conflict";
    Forbidden, forbidden, is_forbidden, "forbidden";
    Invalid, invalid, is_invalid, "invalid";
    Timeout, timeout, is_timeout, "timeout";
    Unavailable, unavailable, is_unavailable, "unavailable";
    Aborted, aborted, is_aborted, "aborted";
    Other, other, is_other, "other";
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for Error {}

/// JSON that does not decode (parameters, a checkpoint, an object the host returned) is
/// [`Error::Invalid`].
impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Invalid(format!("JSON: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_wit_type() {
        for e in [
            Error::not_found("a"),
            Error::conflict("b"),
            Error::forbidden("c"),
            Error::invalid("d"),
            Error::timeout("e"),
            Error::unavailable("f"),
            Error::aborted("g"),
            Error::other("h"),
        ] {
            let back: Error = WitError::from(e.clone()).into();
            assert_eq!(back, e);
        }
    }

    #[test]
    fn serde_errors_are_invalid() {
        let e: Error = serde_json::from_str::<u32>("\"x\"").unwrap_err().into();
        assert!(e.is_invalid());
        assert!(e.reason().starts_with("JSON: "));
    }
}
