//! `ClusterError`: why a cluster operation failed, mapped from kube-rs errors to one-line messages.

use std::error::Error as StdError;
use std::fmt::Write as _;

use kube::core::Status;

/// Why a cluster operation failed. Each variant carries one human-readable line that names the
/// operation and the object (`cannot get deployment shop/web: deployments.apps "web" not found`).
///
/// The variants are the `error` variant of the WIT contract (`wit/types.wit`), so the host can hand
/// them to a guest one to one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// The object (or its namespace) does not exist (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// A write raced another writer, or the object already exists (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// The API server refused the credentials or RBAC denied the request (HTTP 401/403).
    #[error("{0}")]
    Forbidden(String),
    /// The request was malformed: bad JSON, an unknown kind, a field the server rejected (HTTP 400/422).
    #[error("{0}")]
    Invalid(String),
    /// The operation's own deadline passed, or the server timed out (HTTP 504).
    #[error("{0}")]
    Timeout(String),
    /// The cluster could not be reached, or answered 429/5xx past the retry budget.
    #[error("{0}")]
    Unavailable(String),
    /// The condition being waited on can never be met (CrashLoopBackOff, a failed Job, ...).
    #[error("{0}")]
    Aborted(String),
    /// Anything else (an unexpected response, for instance).
    #[error("{0}")]
    Other(String),
}

impl ClusterError {
    /// The variant's name as the WIT `error` variant spells it (`not-found`, `conflict`, ...),
    /// for audit records and `-o json`.
    pub fn code(&self) -> &'static str {
        match self {
            ClusterError::NotFound(_) => "not-found",
            ClusterError::Conflict(_) => "conflict",
            ClusterError::Forbidden(_) => "forbidden",
            ClusterError::Invalid(_) => "invalid",
            ClusterError::Timeout(_) => "timeout",
            ClusterError::Unavailable(_) => "unavailable",
            ClusterError::Aborted(_) => "aborted",
            ClusterError::Other(_) => "other",
        }
    }

    /// The one-line message, without the variant.
    pub fn message(&self) -> &str {
        match self {
            ClusterError::NotFound(m)
            | ClusterError::Conflict(m)
            | ClusterError::Forbidden(m)
            | ClusterError::Invalid(m)
            | ClusterError::Timeout(m)
            | ClusterError::Unavailable(m)
            | ClusterError::Aborted(m)
            | ClusterError::Other(m) => m,
        }
    }
}

/// The context every error message carries: what was being done, to what, and on which cluster.
#[derive(Debug, Clone)]
pub(crate) struct Ctx<'a> {
    /// A verb phrase: `get`, `apply`, `wait for`, `evict`.
    pub(crate) op: &'a str,
    /// The object: `deployment shop/web`, `node node-1`.
    pub(crate) what: &'a str,
    /// The API server's URL when known (not for in-process clients).
    pub(crate) server: Option<&'a str>,
}

impl Ctx<'_> {
    /// `cannot <op> <what>: <detail>`.
    pub(crate) fn line(&self, detail: impl std::fmt::Display) -> String {
        one_line(&format!("cannot {} {}: {detail}", self.op, self.what))
    }

    /// Maps a kube-rs error to a `ClusterError` whose message names the op and the object.
    pub(crate) fn map(&self, err: &kube::Error) -> ClusterError {
        match err {
            kube::Error::Api(status) => self.map_status(status),
            kube::Error::HyperError(_) | kube::Error::Service(_) => {
                let cause = transport_cause(err);
                let place = match self.server {
                    Some(url) => format!("the cluster at {url}"),
                    None => "the cluster".to_string(),
                };
                if is_timeout(err) {
                    ClusterError::Timeout(
                        self.line(format_args!("timed out talking to {place}: {cause}")),
                    )
                } else {
                    ClusterError::Unavailable(
                        self.line(format_args!("cannot reach {place}: {cause}")),
                    )
                }
            }
            kube::Error::Auth(_) => ClusterError::Forbidden(self.line(format_args!(
                "cannot authenticate to the cluster: {}",
                chain(err)
            ))),
            kube::Error::BuildRequest(_) | kube::Error::HttpError(_) => {
                ClusterError::Invalid(self.line(chain(err)))
            }
            kube::Error::SerdeError(_) | kube::Error::FromUtf8(_) => {
                ClusterError::Other(self.line(format_args!(
                    "the API server sent a response that is not valid JSON: {}",
                    chain(err)
                )))
            }
            _ => ClusterError::Other(self.line(chain(err))),
        }
    }

    /// Maps an API `Status` (a non-2xx answer) by its HTTP code, falling back on its reason when
    /// the code is missing (a `Status` inside a watch event may carry only the reason).
    pub(crate) fn map_status(&self, status: &Status) -> ClusterError {
        let detail = status_detail(status);
        let line = self.line(&detail);
        match (status.code, status.reason.as_str()) {
            (404, _) | (0, "NotFound") => ClusterError::NotFound(line),
            (409, _) | (0, "AlreadyExists" | "Conflict") => ClusterError::Conflict(line),
            (401 | 403, _) | (0, "Unauthorized" | "Forbidden") => ClusterError::Forbidden(line),
            (504, _) | (_, "Timeout" | "ServerTimeout") => ClusterError::Timeout(line),
            (400 | 405 | 406 | 413 | 415 | 422, _)
            | (
                0,
                "BadRequest"
                | "Invalid"
                | "MethodNotAllowed"
                | "NotAcceptable"
                | "UnsupportedMediaType"
                | "RequestEntityTooLarge",
            ) => ClusterError::Invalid(line),
            (429 | 500..=599, _)
            | (0, "TooManyRequests" | "InternalError" | "ServiceUnavailable") => {
                ClusterError::Unavailable(line)
            }
            _ => ClusterError::Other(line),
        }
    }
}

/// The server's explanation of a failed request: its message, else its reason, else the code.
/// The causes a `Status` lists are added when the message does not already say them (a failed
/// JSON patch `test` has only a generic message and the reason in its causes).
pub(crate) fn status_detail(status: &Status) -> String {
    let mut out = if !status.message.is_empty() {
        status.message.clone()
    } else if !status.reason.is_empty() {
        status.reason.clone()
    } else {
        format!("HTTP {}", status.code)
    };
    if let Some(details) = &status.details {
        for cause in &details.causes {
            if !cause.message.is_empty() && !out.contains(&cause.message) {
                let _ = write!(out, "; {}", cause.message);
            }
        }
    }
    one_line(&out)
}

/// The HTTP code of an API error, if the error is one.
pub(crate) fn api_code(err: &kube::Error) -> Option<u16> {
    match err {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// Whether the error is a transport failure (no HTTP answer at all).
pub(crate) fn is_transport(err: &kube::Error) -> bool {
    matches!(err, kube::Error::HyperError(_) | kube::Error::Service(_))
}

/// An error and its sources as one line, `a: b: c`, skipping a source whose text the previous
/// message already contains (hyper and tower often repeat their inner error).
pub(crate) fn chain(err: &dyn StdError) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !text.is_empty() && !out.contains(&text) {
            let _ = write!(out, ": {text}");
        }
        source = s.source();
    }
    one_line(&out)
}

/// The cause of a transport error without kube-rs's `ServiceError:` / `HyperError:` prefix.
pub(crate) fn transport_cause(err: &kube::Error) -> String {
    match err {
        kube::Error::HyperError(e) => chain(e),
        kube::Error::Service(e) => chain(e.as_ref()),
        other => chain(other),
    }
}

/// Whether a transport error was a timeout (connect or read), as opposed to a refusal.
fn is_timeout(err: &(dyn StdError + 'static)) -> bool {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return true;
        }
        if e.is::<tokio::time::error::Elapsed>() {
            return true;
        }
        cur = e.source();
    }
    false
}

/// Collapses a message onto one line: guests and the CLI print these messages as single lines.
pub(crate) fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, part) in s
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .enumerate()
    {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(part);
    }
    out
}

/// `30s`, `1m30s`, `250ms`: how long an operation gave it, in the one duration format.
pub(crate) fn human(d: std::time::Duration) -> String {
    crate::units::format_duration(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Ctx<'static> {
        Ctx {
            op: "get",
            what: "deployment shop/web",
            server: Some("https://127.0.0.1:6443"),
        }
    }

    fn status(code: u16, reason: &str, message: &str) -> kube::Error {
        kube::Error::Api(Box::new(Status::failure(message, reason).with_code(code)))
    }

    #[test]
    fn maps_http_codes() {
        let c = ctx();
        let cases = [
            (404, "NotFound", "not-found"),
            (409, "AlreadyExists", "conflict"),
            (409, "Conflict", "conflict"),
            (401, "Unauthorized", "forbidden"),
            (403, "Forbidden", "forbidden"),
            (400, "BadRequest", "invalid"),
            (422, "Invalid", "invalid"),
            (415, "UnsupportedMediaType", "invalid"),
            (429, "TooManyRequests", "unavailable"),
            (500, "InternalError", "unavailable"),
            (503, "ServiceUnavailable", "unavailable"),
            (504, "Timeout", "timeout"),
            (500, "ServerTimeout", "timeout"),
            (410, "Gone", "other"),
        ];
        for (code, reason, expected) in cases {
            let e = c.map(&status(code, reason, "boom"));
            assert_eq!(e.code(), expected, "{code} {reason} mapped to {e:?}");
        }
    }

    #[test]
    fn falls_back_on_reason_without_code() {
        let e = ctx().map(&status(0, "NotFound", "x"));
        assert!(matches!(e, ClusterError::NotFound(_)));
    }

    #[test]
    fn message_names_op_and_object_on_one_line() {
        let e = ctx().map(&status(
            404,
            "NotFound",
            "deployments.apps \"web\" not found\nsecond line",
        ));
        assert_eq!(
            e.to_string(),
            "cannot get deployment shop/web: deployments.apps \"web\" not found; second line"
        );
        assert_eq!(e.message(), e.to_string());
    }

    #[test]
    fn empty_status_message_uses_reason_then_code() {
        assert!(
            ctx()
                .map(&status(403, "Forbidden", ""))
                .to_string()
                .ends_with(": Forbidden")
        );
        assert!(
            ctx()
                .map(&status(418, "", ""))
                .to_string()
                .ends_with(": HTTP 418")
        );
    }

    #[test]
    fn transport_errors_name_the_server() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let e = ctx().map(&kube::Error::Service(Box::new(io)));
        assert!(matches!(e, ClusterError::Unavailable(_)), "{e:?}");
        assert_eq!(
            e.to_string(),
            "cannot get deployment shop/web: cannot reach the cluster at https://127.0.0.1:6443: connection refused"
        );
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "deadline passed");
        assert!(matches!(
            ctx().map(&kube::Error::Service(Box::new(io))),
            ClusterError::Timeout(_)
        ));
    }

    #[test]
    fn one_line_joins_lines() {
        assert_eq!(one_line("a\n b \r\n\nc"), "a; b; c");
        assert_eq!(one_line("plain"), "plain");
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(std::time::Duration::from_secs(30)), "30s");
        assert_eq!(human(std::time::Duration::from_secs(120)), "2m");
        assert_eq!(human(std::time::Duration::from_secs(61)), "1m1s");
        assert_eq!(human(std::time::Duration::from_millis(1500)), "1.5s");
        assert_eq!(human(std::time::Duration::from_millis(20)), "20ms");
    }
}
