//! PersistentVolumeClaim rules: access modes and a storage request required, the spec
//! immutable after creation (except `resources.requests` once the claim is bound).

use serde_json::Value;

use super::FieldError;

/// `ValidatePersistentVolumeClaimSpec`'s checks that need no storage classes.
pub fn spec_errors(object: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let spec = object.get("spec").unwrap_or(&Value::Null);
    let modes = spec.get("accessModes").and_then(Value::as_array);
    if modes.is_none_or(|m| m.is_empty()) {
        errors.push(FieldError::required(
            "spec.accessModes",
            Some("at least 1 access mode is required"),
        ));
    }
    if spec.pointer("/resources/requests/storage").is_none() {
        errors.push(FieldError::required("spec.resources[storage]", None));
    }
    errors
}

/// The spec of a claim cannot change, except `resources.requests` of a bound claim. The
/// message's second part is a JSON diff line, where the real server prints a Go diff.
pub fn update_errors(next: &Value, live: &Value) -> Vec<FieldError> {
    let bound = live.pointer("/status/phase").and_then(Value::as_str) == Some("Bound");
    let comparable = |o: &Value| {
        let mut spec = o.get("spec").cloned().unwrap_or(Value::Null);
        if bound && let Some(resources) = spec.get_mut("resources").and_then(Value::as_object_mut) {
            resources.remove("requests");
        }
        spec
    };
    if comparable(next) == comparable(live) {
        return Vec::new();
    }
    vec![FieldError::forbidden(
        "spec",
        format!(
            "spec is immutable after creation except resources.requests for bound claims\n  \
             - {}\n  + {}\n",
            next.get("spec").unwrap_or(&Value::Null),
            live.get("spec").unwrap_or(&Value::Null)
        ),
    )]
}
