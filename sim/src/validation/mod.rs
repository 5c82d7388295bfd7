//! Validation as kube-apiserver 1.20 validates the kinds the simulator serves: names, workload
//! selectors, immutable fields; each refusal a 422 `Invalid` worded as the real server words it.
//!
//! The store calls [`on_create`] for every new object and [`on_update`] for every write of the
//! main resource (not of `status`), after it has settled the metadata it keeps.

mod claims;
pub mod go;
mod names;
mod service;
mod workloads;

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::kinds::KindInfo;

pub use names::name_errors;
pub use service::allocate_cluster_ip;

/// One field error, as apimachinery's `field.Error` renders it: `<field>: <detail>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path, e.g. `spec.selector`.
    pub field: String,
    /// `FieldValueInvalid`, `FieldValueRequired` or `FieldValueForbidden`.
    pub reason: &'static str,
    /// `Invalid value: <value>: <why>`, `Required value`, `Forbidden: <why>`.
    pub detail: String,
}

impl FieldError {
    /// `<field>: Invalid value: <value>: <why>` (the value already written as Go writes it).
    pub fn invalid(field: &str, value: impl AsRef<str>, why: impl AsRef<str>) -> FieldError {
        FieldError {
            field: field.to_string(),
            reason: "FieldValueInvalid",
            detail: format!("Invalid value: {}: {}", value.as_ref(), why.as_ref()),
        }
    }

    /// `<field>: Required value`, with `: <why>` when there is one.
    pub fn required(field: &str, why: Option<&str>) -> FieldError {
        FieldError {
            field: field.to_string(),
            reason: "FieldValueRequired",
            detail: match why {
                Some(why) => format!("Required value: {why}"),
                None => "Required value".to_string(),
            },
        }
    }

    /// `<field>: Forbidden: <why>`.
    pub fn forbidden(field: &str, why: impl AsRef<str>) -> FieldError {
        FieldError {
            field: field.to_string(),
            reason: "FieldValueForbidden",
            detail: format!("Forbidden: {}", why.as_ref()),
        }
    }
}

/// `Ok` for no errors; else the 422: `Kind.group "name" is invalid: <error>`, or `[<e1>, <e2>]`
/// for several (apimachinery's aggregate), with each in `details.causes`.
pub fn refuse(kind: &KindInfo, name: &str, errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        return Ok(());
    }
    let rendered: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.detail))
        .collect();
    let detail = match rendered.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    };
    let mut err = ApiError::invalid(kind.kind, kind.group, name, detail);
    let causes: Vec<Value> = errors
        .iter()
        .map(|e| json!({"reason": e.reason, "message": e.detail, "field": e.field}))
        .collect();
    let mut details = json!({"name": name, "kind": kind.kind, "causes": causes});
    if !kind.group.is_empty() {
        details["group"] = json!(kind.group);
    }
    err.details = Some(details);
    Err(err)
}

/// Validates a new object (its name already settled): the kind's spec rules.
pub fn on_create(kind: &KindInfo, object: &Value) -> Result<(), ApiError> {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let errors = match (kind.group, kind.kind) {
        ("apps", _) => workloads::spec_errors(kind, object),
        ("", "PersistentVolumeClaim") => claims::spec_errors(object),
        _ => Vec::new(),
    };
    refuse(kind, name, errors)
}

/// Prepares and validates a write of the main resource against the live object: immutable
/// fields first (as `Validate<Kind>Update` orders them), then the kind's spec rules. A Service's
/// `clusterIPs` follow a changed `clusterIP` first, as 1.20's `normalizeClusterIPs` does, and a
/// Service may not be replaced without a resourceVersion (`unconditional`): its strategy does
/// not allow unconditional updates.
pub fn on_update(
    kind: &KindInfo,
    next: &mut Value,
    live: &Value,
    unconditional: bool,
) -> Result<(), ApiError> {
    let name = live
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let errors = match (kind.group, kind.kind) {
        ("apps", _) => {
            let mut errors = workloads::selector_immutable(next, live);
            errors.extend(workloads::spec_errors(kind, next));
            errors
        }
        ("batch", "Job") => workloads::job_immutable(next, live),
        ("", "Service") => {
            let mut errors = Vec::new();
            if unconditional {
                errors.push(FieldError::invalid(
                    "metadata.resourceVersion",
                    "\"\"",
                    "must be specified for an update",
                ));
            }
            service::normalize_cluster_ips(next, live);
            errors.extend(service::update_errors(next, live));
            errors
        }
        ("", "PersistentVolumeClaim") => claims::update_errors(next, live),
        _ => Vec::new(),
    };
    refuse(kind, name, errors)
}

/// Fills in what the real server defaults on create where the simulator's answers depend on it:
/// a Service's `type` and its cluster IP (from `next_ip`), a claim's `Pending` phase.
pub fn defaults_on_create(kind: &KindInfo, object: &mut Value, next_ip: impl FnOnce() -> String) {
    match (kind.group, kind.kind) {
        ("", "Service") => service::default_on_create(object, next_ip),
        ("", "PersistentVolumeClaim") => {
            if let Some(root) = object.as_object_mut() {
                root.insert("status".into(), json!({"phase": "Pending"}));
            }
        }
        _ => {}
    }
}
