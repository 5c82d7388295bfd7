//! API errors, rendered as `meta.k8s.io/v1` `Status` objects worded like the real API server's.

use serde_json::{Value, json};

/// An API error: an HTTP status code, a `Status.reason` and a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    /// The HTTP status code (404, 409, ...).
    pub code: u16,
    /// The machine-readable `Status.reason` (`NotFound`, `Conflict`, ...).
    pub reason: &'static str,
    /// The human-readable message.
    pub message: String,
    /// `Status.details` (name, group, kind, causes), when there is something to say.
    pub details: Option<Value>,
}

impl ApiError {
    /// A generic error with the given code, reason and message.
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, group: &str, resource: &str, name: &str) -> Self {
        self.details = Some(json!({"name": name, "group": group, "kind": resource}));
        self
    }

    /// 404: `pods "web-1" not found`.
    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        ApiError::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified(group, resource)),
        )
        .with_details(group, resource, name)
    }

    /// 409: `pods "web-1" already exists`.
    pub fn already_exists(group: &str, resource: &str, name: &str) -> Self {
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", qualified(group, resource)),
        )
        .with_details(group, resource, name)
    }

    /// 409: the optimistic-concurrency conflict on a stale `metadata.resourceVersion`.
    pub fn conflict(group: &str, resource: &str, name: &str) -> Self {
        ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
                 please apply your changes to the latest version and try again",
                qualified(group, resource)
            ),
        )
        .with_details(group, resource, name)
    }

    /// 422: `Deployment.apps "x" is invalid: <detail>`.
    pub fn invalid(kind: &str, group: &str, name: &str, detail: impl AsRef<str>) -> Self {
        let qualified_kind = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        ApiError::new(
            422,
            "Invalid",
            format!(
                "{qualified_kind} \"{name}\" is invalid: {}",
                detail.as_ref()
            ),
        )
        .with_details(group, kind, name)
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, "BadRequest", message)
    }

    /// 410 Gone: the requested resourceVersion fell out of the watch history.
    pub fn gone(message: impl Into<String>) -> Self {
        ApiError::new(410, "Expired", message)
    }

    /// 405: something the simulator (honestly) does not implement.
    pub fn unsupported(what: impl AsRef<str>) -> Self {
        ApiError::new(
            405,
            "MethodNotAllowed",
            format!("the cutover simulator does not support {}", what.as_ref()),
        )
    }

    /// 404 for a URL that names no known resource.
    pub fn no_route(path: &str) -> Self {
        ApiError::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({path})"),
        )
    }

    /// 500 InternalError, as apimachinery's `NewInternalError(err)` words it: the cause in
    /// `details.causes`, the message `Internal error occurred: <cause>`.
    pub fn internal(cause: impl Into<String>) -> Self {
        let cause = cause.into();
        let mut err = ApiError::new(
            500,
            "InternalError",
            format!("Internal error occurred: {cause}"),
        );
        err.details = Some(json!({"causes": [{"message": cause}]}));
        err
    }

    /// 429 TooManyRequests asking the client to come back in `retry_after_seconds`
    /// (`details.retryAfterSeconds`, as apimachinery's `NewTooManyRequests` writes it).
    pub fn too_many_requests(message: impl Into<String>, retry_after_seconds: u32) -> Self {
        let mut err = ApiError::new(429, "TooManyRequests", message);
        err.details = Some(json!({"retryAfterSeconds": retry_after_seconds}));
        err
    }

    /// This error as a `Status` object.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "code": self.code,
        });
        // An error without a reason (StatusReasonUnknown) has none on the wire either.
        if !self.reason.is_empty() {
            status["reason"] = json!(self.reason);
        }
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

/// `pods` for the core group, `deployments.apps` otherwise (the real server's wording).
fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

/// A `Status` object with `status: Success`.
pub fn success_status(code: u16) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": code})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_worded_like_the_real_server() {
        assert_eq!(
            ApiError::not_found("", "pods", "web-1").message,
            "pods \"web-1\" not found"
        );
        assert_eq!(
            ApiError::already_exists("apps", "deployments", "web").message,
            "deployments.apps \"web\" already exists"
        );
        let status = ApiError::conflict("", "pods", "a").to_status();
        assert_eq!(status["code"], 409);
        assert_eq!(status["reason"], "Conflict");
        assert_eq!(status["status"], "Failure");
        assert_eq!(status["details"]["name"], "a");
    }
}
