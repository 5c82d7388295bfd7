//! A Service's cluster IP: allocated on create, `clusterIPs` kept in step with `clusterIP`, and
//! neither changed nor unset afterwards, as 1.20 has it (dual-stack fields included).

use serde_json::{Value, json};

use super::{FieldError, go};

fn ips(object: &Value) -> Option<&[Value]> {
    object
        .pointer("/spec/clusterIPs")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .filter(|l| !l.is_empty())
}

fn ip(object: &Value) -> &str {
    object
        .pointer("/spec/clusterIP")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn is_external_name(object: &Value) -> bool {
    object.pointer("/spec/type").and_then(Value::as_str) == Some("ExternalName")
}

/// The `n`-th (from 1) cluster IP the simulator hands out: 10.96.0.2, 10.96.0.3, ... in a /16
/// (10.96.0.1 is the `kubernetes` Service's on a real cluster); not checked against addresses
/// clients ask for.
pub fn allocate_cluster_ip(n: u32) -> String {
    let n = n.wrapping_sub(1) % 65_533 + 2;
    format!("10.96.{}.{}", n >> 8, n & 0xff)
}

/// `type: ClusterIP` when absent; a cluster IP when none is asked for (not for ExternalName);
/// `clusterIPs` from `clusterIP`.
pub fn default_on_create(object: &mut Value, next_ip: impl FnOnce() -> String) {
    let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let kind = spec.entry("type").or_insert_with(|| json!("ClusterIP"));
    if kind == "ExternalName" {
        return;
    }
    let wanted = spec
        .get("clusterIP")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let listed = spec
        .get("clusterIPs")
        .and_then(Value::as_array)
        .and_then(|l| l.first())
        .and_then(Value::as_str)
        .map(str::to_string);
    let chosen = wanted.or(listed).unwrap_or_else(next_ip);
    spec.insert("clusterIP".into(), json!(chosen));
    if spec
        .get("clusterIPs")
        .and_then(Value::as_array)
        .is_none_or(|l| l.is_empty())
    {
        spec.insert("clusterIPs".into(), json!([chosen]));
    }
}

/// When `clusterIP` changed and `clusterIPs` did not, `clusterIPs` follow it (or go, when
/// `clusterIP` was removed): 1.20's `normalizeClusterIPs`.
pub fn normalize_cluster_ips(next: &mut Value, live: &Value) {
    if ip(next) == ip(live) || ips(next) != ips(live) {
        return;
    }
    let follow = if ip(next).is_empty() {
        None
    } else {
        Some(json!([ip(next)]))
    };
    if let Some(spec) = next.get_mut("spec").and_then(Value::as_object_mut) {
        match follow {
            Some(list) => spec.insert("clusterIPs".into(), list),
            None => spec.remove("clusterIPs"),
        };
    }
}

/// The cluster IP may not change or be unset once set; `clusterIPs[0]` must be `clusterIP`.
pub fn update_errors(next: &Value, live: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if is_external_name(next) || is_external_name(live) {
        return errors;
    }
    if let Some(old) = ips(live) {
        match ips(next) {
            None => errors.push(FieldError::invalid(
                "spec.clusterIPs[0]",
                go::string_slice(None),
                "primary clusterIP can not be unset",
            )),
            Some(new) if new.first() != old.first() => errors.push(FieldError::invalid(
                "spec.clusterIPs[0]",
                go::string_slice(Some(new)),
                "may not change once set",
            )),
            Some(_) => {}
        }
    }
    match ips(next) {
        None if !ip(next).is_empty() => errors.push(FieldError::required("spec.clusterIPs", None)),
        Some(new) if new.first().and_then(Value::as_str) != Some(ip(next)) => {
            errors.push(FieldError::invalid(
                "spec.clusterIPs",
                go::string_slice(Some(new)),
                "element [0] must match clusterIP",
            ));
        }
        _ => {}
    }
    errors
}
