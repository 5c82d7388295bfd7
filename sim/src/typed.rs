//! Decoding as kube-apiserver decodes: each served kind read through its k8s-openapi type, so a
//! field of the wrong type is refused and an unknown field is dropped (1.20 has no strict mode).
//!
//! The object kept is the *request's* JSON with the fields the type does not know removed
//! ([`prune`]), not the type's re-serialisation: that way nothing is added (k8s-openapi writes
//! required fields it defaulted, such as an empty `selector`) and nothing is reformatted
//! (timestamps, quantities, base64). Where the type reads a field, its value's type is checked;
//! the error names the field's path (serde_path_to_error), as the real decoder's names Go types.

use serde::de::DeserializeOwned;
use serde_json::Value;

use k8s_openapi::api::{apps, batch, coordination, core, networking, policy};

use crate::error::ApiError;
use crate::kinds::KindInfo;

/// A field whose value the kind's type cannot read: its path and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The path of the field, e.g. `spec.replicas` (empty for the root).
    pub path: String,
    /// serde's description, e.g. `invalid type: string "three", expected i32`.
    pub cause: String,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() || self.path == "." {
            write!(f, "{}", self.cause)
        } else {
            write!(f, "{}: {}", self.path, self.cause)
        }
    }
}

impl DecodeError {
    /// The 400 a create or replace body gets: `Deployment in version "v1" cannot be handled as a
    /// Deployment: <cause>` (the real server's cause names Go types and json-iterator positions).
    pub fn in_body(&self, kind: &KindInfo) -> ApiError {
        ApiError::bad_request(format!(
            "{k} in version \"{v}\" cannot be handled as a {k}: {self}",
            k = kind.kind,
            v = kind.version
        ))
    }

    /// The 422 a merge, JSON or strategic merge patch gets when its result cannot be decoded:
    /// ` "" is invalid: patch: Invalid value: "<the patched object>": <cause>`, as
    /// apimachinery's `NewInvalid` words it for an empty kind and name.
    pub fn in_patch_result(&self, patched: &Value) -> ApiError {
        let value = serde_json::to_string(&patched.to_string()).unwrap_or_default();
        let mut err = ApiError::new(
            422,
            "Invalid",
            format!(" \"\" is invalid: patch: Invalid value: {value}: {self}"),
        );
        err.details = Some(serde_json::json!({"causes": [{
            "reason": "FieldValueInvalid",
            "message": format!("Invalid value: {value}: {self}"),
            "field": "patch",
        }]}));
        err
    }

    /// The bare 500 a server-side apply gets when the applied configuration does not fit the
    /// type: `failed to create typed patch object: .spec.replicas: <cause>`.
    pub fn in_apply(&self) -> ApiError {
        ApiError::new(
            500,
            "",
            format!(
                "failed to create typed patch object: .{}: {}",
                self.path.trim_start_matches('.'),
                self.cause
            ),
        )
    }
}

/// The kind's type's reading of `object` (apiVersion and kind left out: the caller checks them
/// against the URL, and the policy/v1beta1 PodDisruptionBudget is read with the v1 type).
fn typed_value(kind: &KindInfo, object: &Value) -> Result<Option<Value>, DecodeError> {
    fn read<T: DeserializeOwned + serde::Serialize>(object: &Value) -> Result<Value, DecodeError> {
        let typed: T = serde_path_to_error::deserialize(object).map_err(|e| DecodeError {
            path: e.path().to_string(),
            cause: e.inner().to_string(),
        })?;
        serde_json::to_value(typed).map_err(|e| DecodeError {
            path: String::new(),
            cause: e.to_string(),
        })
    }
    let mut bare = object.clone();
    if let Some(root) = bare.as_object_mut() {
        root.remove("apiVersion");
        root.remove("kind");
    }
    let value = match (kind.group, kind.kind) {
        ("", "Namespace") => read::<core::v1::Namespace>(&bare)?,
        ("", "Node") => read::<core::v1::Node>(&bare)?,
        ("", "Pod") => read::<core::v1::Pod>(&bare)?,
        ("", "Service") => read::<core::v1::Service>(&bare)?,
        ("", "Endpoints") => read::<core::v1::Endpoints>(&bare)?,
        ("", "ConfigMap") => read::<core::v1::ConfigMap>(&bare)?,
        ("", "Secret") => read::<core::v1::Secret>(&bare)?,
        ("", "PersistentVolumeClaim") => read::<core::v1::PersistentVolumeClaim>(&bare)?,
        ("apps", "Deployment") => read::<apps::v1::Deployment>(&bare)?,
        ("apps", "ReplicaSet") => read::<apps::v1::ReplicaSet>(&bare)?,
        ("apps", "DaemonSet") => read::<apps::v1::DaemonSet>(&bare)?,
        ("apps", "StatefulSet") => read::<apps::v1::StatefulSet>(&bare)?,
        ("batch", "Job") => read::<batch::v1::Job>(&bare)?,
        ("policy", "PodDisruptionBudget") => read::<policy::v1::PodDisruptionBudget>(&bare)?,
        ("networking.k8s.io", "NetworkPolicy") => read::<networking::v1::NetworkPolicy>(&bare)?,
        ("coordination.k8s.io", "Lease") => read::<coordination::v1::Lease>(&bare)?,
        _ => return Ok(None),
    };
    Ok(Some(value))
}

/// Decodes `object` as the API server decodes a `kind`: a field of the wrong type is an error;
/// fields the type does not know are removed from `object`. A kind without a type is kept as is.
pub fn decode(kind: &KindInfo, object: &mut Value) -> Result<(), DecodeError> {
    if let Some(typed) = typed_value(kind, object)? {
        let (api_version, kind_field) = (
            object.get("apiVersion").cloned(),
            object.get("kind").cloned(),
        );
        prune(object, &typed);
        if let Some(root) = object.as_object_mut() {
            for (field, value) in [("apiVersion", api_version), ("kind", kind_field)] {
                if let Some(v) = value {
                    root.insert(field.into(), v);
                }
            }
        }
    }
    Ok(())
}

/// Checks a server-side apply configuration as 1.20's field manager does before it merges:
/// a field of the wrong type, or one the type does not declare, is a bare 500
/// `failed to create typed patch object: .<path>: <cause>`.
pub fn check_apply(kind: &KindInfo, configuration: &Value) -> Result<(), ApiError> {
    let Some(typed) = typed_value(kind, configuration).map_err(|e| e.in_apply())? else {
        return Ok(());
    };
    match first_unknown(configuration, &typed, String::new()) {
        Some(path) => Err(DecodeError {
            path,
            cause: "field not declared in schema".into(),
        }
        .in_apply()),
        None => Ok(()),
    }
}

/// The path of the first member of `original` that `typed` lacks (apiVersion and kind aside).
fn first_unknown(original: &Value, typed: &Value, path: String) -> Option<String> {
    match (original, typed) {
        (Value::Object(members), Value::Object(known)) => members.iter().find_map(|(k, v)| {
            let here = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            match known.get(k) {
                None if path.is_empty() && (k == "apiVersion" || k == "kind") => None,
                None => Some(here),
                Some(t) => first_unknown(v, t, here),
            }
        }),
        (Value::Array(items), Value::Array(known)) if items.len() == known.len() => items
            .iter()
            .zip(known)
            .enumerate()
            .find_map(|(i, (v, t))| first_unknown(v, t, format!("{path}[{i}]"))),
        _ => None,
    }
}

/// Removes from `original` every object member that `typed` (its typed reading) lacks, at every
/// level; values themselves are kept as written. Arrays are walked element by element.
/// Recursion is bounded by the nesting bound requests were checked against.
pub fn prune(original: &mut Value, typed: &Value) {
    match (original, typed) {
        (Value::Object(members), Value::Object(known)) => {
            members.retain(|k, _| known.contains_key(k));
            for (k, v) in members.iter_mut() {
                if let Some(t) = known.get(k) {
                    prune(v, t);
                }
            }
        }
        (Value::Array(items), Value::Array(known)) if items.len() == known.len() => {
            for (v, t) in items.iter_mut().zip(known) {
                prune(v, t);
            }
        }
        _ => {}
    }
}
