//! The workload rules: apps/v1 selectors (required, not empty, matching the template's labels,
//! immutable) and a Job's immutable pod template.

use serde_json::{Map, Value};

use super::{FieldError, go};
use crate::kinds::KindInfo;
use crate::selectors::LabelSelector;

/// A selector with its empty `matchLabels`/`matchExpressions` dropped: apimachinery's semantic
/// equality holds an empty map or list equal to an absent one.
fn normalized_selector(selector: Option<&Value>) -> Option<Map<String, Value>> {
    let mut selector = selector?.as_object()?.clone();
    selector.retain(|_, v| match v {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Null => false,
        _ => true,
    });
    Some(selector)
}

/// `spec.selector` and `spec.template.metadata.labels` of a Deployment, ReplicaSet, DaemonSet
/// or StatefulSet, as `ValidateDeploymentSpec` and its siblings check them.
pub fn spec_errors(kind: &KindInfo, object: &Value) -> Vec<FieldError> {
    let Some(spec) = object.get("spec") else {
        return Vec::new();
    };
    let mut errors = Vec::new();
    let labels = spec
        .pointer("/template/metadata/labels")
        .and_then(Value::as_object);
    let matches = match spec.get("selector").filter(|s| !s.is_null()) {
        None => {
            if kind.kind != "DaemonSet" {
                errors.push(FieldError::required("spec.selector", None));
            }
            false
        }
        Some(selector) => {
            if normalized_selector(Some(selector)).is_some_and(|s| s.is_empty()) {
                let owner = match kind.kind {
                    "DaemonSet" => "daemonset",
                    "StatefulSet" => "statefulset",
                    _ => "deployment",
                };
                errors.push(FieldError::invalid(
                    "spec.selector",
                    go::label_selector(selector),
                    format!("empty selector is invalid for {owner}"),
                ));
                return errors;
            }
            LabelSelector::from_json(selector).is_ok_and(|s| s.matches_labels(labels))
        }
    };
    if !matches {
        errors.push(FieldError::invalid(
            "spec.template.metadata.labels",
            go::string_map(labels),
            "`selector` does not match template `labels`",
        ));
    }
    errors
}

/// apps/v1 selectors cannot change after creation.
pub fn selector_immutable(next: &Value, live: &Value) -> Vec<FieldError> {
    let selector = |o: &Value| normalized_selector(o.pointer("/spec/selector"));
    if selector(next) == selector(live) {
        return Vec::new();
    }
    vec![FieldError::invalid(
        "spec.selector",
        go::label_selector(next.pointer("/spec/selector").unwrap_or(&Value::Null)),
        "field is immutable",
    )]
}

/// A Job's `spec.selector` and `spec.template` cannot change after creation. The template's
/// value is written as JSON, where the real server writes its Go struct.
pub fn job_immutable(next: &Value, live: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let selector = |o: &Value| normalized_selector(o.pointer("/spec/selector"));
    if selector(next) != selector(live) {
        errors.push(FieldError::invalid(
            "spec.selector",
            go::label_selector(next.pointer("/spec/selector").unwrap_or(&Value::Null)),
            "field is immutable",
        ));
    }
    let template = |o: &Value| o.pointer("/spec/template").cloned();
    if template(next) != template(live) {
        errors.push(FieldError::invalid(
            "spec.template",
            template(next).unwrap_or(Value::Null).to_string(),
            "field is immutable",
        ));
    }
    errors
}
