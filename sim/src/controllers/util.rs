//! JSON helpers shared by the controllers.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::kinds::{self, KindInfo};
use crate::selectors::LabelSelector;
use crate::store::{DeleteOptions, Store, UpdateTarget};

pub(crate) fn pods() -> &'static KindInfo {
    kinds::storage(("", "pods"))
}
pub(crate) fn endpoints() -> &'static KindInfo {
    kinds::storage(("", "endpoints"))
}
pub(crate) fn services() -> &'static KindInfo {
    kinds::storage(("", "services"))
}
pub(crate) fn replicasets() -> &'static KindInfo {
    kinds::storage(("apps", "replicasets"))
}
pub(crate) fn deployments() -> &'static KindInfo {
    kinds::storage(("apps", "deployments"))
}
pub(crate) fn daemonsets() -> &'static KindInfo {
    kinds::storage(("apps", "daemonsets"))
}
pub(crate) fn statefulsets() -> &'static KindInfo {
    kinds::storage(("apps", "statefulsets"))
}
pub(crate) fn pdbs() -> &'static KindInfo {
    kinds::storage(("policy", "poddisruptionbudgets"))
}

pub(crate) fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(crate) fn str_at<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

pub(crate) fn int_at(v: &Value, ptr: &str) -> Option<i64> {
    v.pointer(ptr).and_then(Value::as_i64)
}

pub(crate) fn name(v: &Value) -> &str {
    str_at(v, "/metadata/name").unwrap_or_default()
}

pub(crate) fn uid(v: &Value) -> &str {
    str_at(v, "/metadata/uid").unwrap_or_default()
}

pub(crate) fn generation(v: &Value) -> i64 {
    int_at(v, "/metadata/generation").unwrap_or(0)
}

pub(crate) fn node_name(pod: &Value) -> Option<&str> {
    str_at(pod, "/spec/nodeName").filter(|n| !n.is_empty())
}

pub(crate) fn terminating(v: &Value) -> bool {
    v.pointer("/metadata/deletionTimestamp").is_some()
}

pub(crate) fn finished(pod: &Value) -> bool {
    matches!(str_at(pod, "/status/phase"), Some("Succeeded" | "Failed"))
}

/// Neither terminating nor finished.
pub(crate) fn active(pod: &Value) -> bool {
    !terminating(pod) && !finished(pod)
}

pub(crate) fn condition<'a>(v: &'a Value, kind: &str) -> Option<&'a Value> {
    v.pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c["type"] == kind)
}

pub(crate) fn pod_ready(pod: &Value) -> bool {
    condition(pod, "Ready").is_some_and(|c| c["status"] == "True")
}

/// Active and Ready (the simulator has no `minReadySeconds`: available means ready).
pub(crate) fn available(pod: &Value) -> bool {
    active(pod) && pod_ready(pod)
}

/// A node without a Ready condition counts as Ready (scenario nodes may carry no status).
pub(crate) fn node_ready(node: &Value) -> bool {
    condition(node, "Ready").is_none_or(|c| c["status"] == "True")
}

/// The uid of the controller owner (`ownerReferences[].controller: true`).
pub(crate) fn controller_uid(v: &Value) -> Option<&str> {
    v.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)?
        .iter()
        .find(|r| r["controller"] == true)
        .and_then(|r| r["uid"].as_str())
}

pub(crate) fn owner_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": name(owner),
        "uid": uid(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

pub(crate) fn selector(v: &Value) -> LabelSelector {
    match v.pointer("/spec/selector") {
        Some(s) if s.is_object() => LabelSelector::from_json(s).unwrap_or_default(),
        _ => LabelSelector::default(),
    }
}

pub(crate) fn labels(v: &Value) -> Option<&Map<String, Value>> {
    v.pointer("/metadata/labels").and_then(Value::as_object)
}

pub(crate) fn now(store: &Store) -> String {
    crate::clock::now(store.clock())
}

/// `spec.replicas`, defaulting to 1 as the API server would.
pub(crate) fn replicas(v: &Value) -> i64 {
    int_at(v, "/spec/replicas").unwrap_or(1).max(0)
}

/// An int-or-percent against `total`, rounding up or down.
pub(crate) fn int_or_percent(v: Option<&Value>, total: i64, default: &str, round_up: bool) -> i64 {
    let v = v.cloned().unwrap_or_else(|| json!(default));
    match &v {
        Value::Number(n) => n.as_i64().unwrap_or(0).max(0),
        Value::String(s) => match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
            Some(p) => {
                let x = p * total;
                if round_up { (x + 99) / 100 } else { x / 100 }.max(0)
            }
            None => s.parse().unwrap_or(0),
        },
        _ => 0,
    }
}

/// Drops those of `fields` that are 0, as the API server's JSON leaves out `omitempty` integers
/// (e.g. a ReplicaSet scaled to 0 has no `readyReplicas`).
pub(crate) fn omit_zero(mut status: Value, fields: &[&str]) -> Value {
    if let Some(map) = status.as_object_mut() {
        for field in fields {
            if map.get(*field).and_then(Value::as_i64) == Some(0) {
                map.remove(*field);
            }
        }
    }
    status
}

/// Writes `status` unless it is already the live one. Conflicts with a concurrent write are
/// reported (409) so that the reconcile is retried.
pub(crate) fn write_status(
    store: &Store,
    kind: &KindInfo,
    live: &Value,
    status: Value,
) -> Result<(), ApiError> {
    if live.get("status") == Some(&status) {
        return Ok(());
    }
    let body = json!({
        "metadata": {
            "name": name(live),
            "resourceVersion": live.pointer("/metadata/resourceVersion"),
        },
        "status": status,
    });
    let ns = str_at(live, "/metadata/namespace").unwrap_or_default();
    let _own = OwnStatusWrite::begin();
    store
        .update(kind, ns, name(live), body, UpdateTarget::Status, false)
        .map(drop)
}

thread_local! {
    static OWN_STATUS_WRITE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks, for its lifetime, the status writes of the controllers themselves: the store's hook
/// runs synchronously on the writer's thread, so the index can tell a controller's own status
/// write (made from the state it read, under that state's resourceVersion) from a client's.
struct OwnStatusWrite;

impl OwnStatusWrite {
    fn begin() -> OwnStatusWrite {
        OWN_STATUS_WRITE.set(true);
        OwnStatusWrite
    }
}

impl Drop for OwnStatusWrite {
    fn drop(&mut self) {
        OWN_STATUS_WRITE.set(false);
    }
}

/// Whether the write the store's hook is reporting is a controller's own status write.
pub(crate) fn is_own_status_write() -> bool {
    OWN_STATUS_WRITE.get()
}

/// Replaces the object's main resource with `next` (a modified copy of the live object).
pub(crate) fn write_main(store: &Store, kind: &KindInfo, next: Value) -> Result<Value, ApiError> {
    let ns = str_at(&next, "/metadata/namespace")
        .unwrap_or_default()
        .to_string();
    let name = name(&next).to_string();
    store.update(kind, &ns, &name, next, UpdateTarget::Main, false)
}

/// Deletes a pod gracefully (its own grace period), as controllers do; absent is fine.
pub(crate) fn delete_pod(store: &Store, pod: &Value) -> Result<(), ApiError> {
    let opts = DeleteOptions {
        precondition_uid: Some(uid(pod).to_string()),
        ..DeleteOptions::default()
    };
    let ns = str_at(pod, "/metadata/namespace").unwrap_or_default();
    match store.delete(pods(), ns, name(pod), &opts) {
        Ok(_) => Ok(()),
        Err(e) if e.code == 404 || e.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}

/// A pod from a template: labels and annotations from the template's metadata (plus `extra`),
/// the owner as controller, and the template's spec.
pub(crate) fn pod_from_template(
    template: &Value,
    ns: &str,
    name: &str,
    extra_labels: &[(&str, &str)],
    owner: &Value,
) -> Value {
    let mut labels = template
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (k, v) in extra_labels {
        labels.insert((*k).to_string(), json!(v));
    }
    let mut metadata = json!({
        "name": name,
        "namespace": ns,
        "labels": labels,
        "ownerReferences": [owner_ref(owner)],
    });
    if let Some(a) = template.pointer("/metadata/annotations") {
        metadata["annotations"] = a.clone();
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    })
}

/// A short, stable hash of a pod template, spelled like Kubernetes' `pod-template-hash`
/// (FNV-32a of the canonical JSON, its decimal digits mapped to consonants and digits).
pub(crate) fn template_hash(template: &Value) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut canonical = String::new();
    canonical_json(template, &mut canonical);
    let mut h: u32 = 0x811c_9dc5;
    for b in canonical.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h.to_string()
        .bytes()
        .map(|b| ALPHABET[b as usize % ALPHABET.len()] as char)
        .collect()
}

fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for k in keys {
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(&m[k], out);
                out.push(',');
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for x in a {
                canonical_json(x, out);
                out.push(',');
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A pod template as the real Deployment controller compares templates
/// (`EqualIgnoreHash`: semantic equality of the defaulted templates without the
/// `pod-template-hash` label): defaulted, without `label`, and with nulls, empty maps and empty
/// lists left out, since JSON clients write `creationTimestamp: null`, `resources: {}` or nothing
/// for the same Go value.
pub(crate) fn semantic_template(template: &Value, label: &str) -> Value {
    let mut t = template.clone();
    crate::defaults::pod_template_defaults(&mut t);
    let mut t = without_label(&t, label);
    drop_empty(&mut t, 0);
    t
}

/// Removes nulls, empty objects and empty arrays from maps, bottom-up (bounded by the store's
/// nesting bound, which every stored object is within).
fn drop_empty(v: &mut Value, depth: usize) {
    if depth > crate::limits::MAX_NESTING_DEPTH {
        return;
    }
    match v {
        Value::Object(m) => {
            for x in m.values_mut() {
                drop_empty(x, depth + 1);
            }
            m.retain(|_, x| !is_empty_value(x));
        }
        Value::Array(a) => {
            for x in a.iter_mut() {
                drop_empty(x, depth + 1);
            }
        }
        _ => {}
    }
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// A template without the given label (to compare templates regardless of a hash label).
pub(crate) fn without_label(template: &Value, label: &str) -> Value {
    let mut t = template.clone();
    if let Some(labels) = t
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(label);
        if labels.is_empty()
            && let Some(m) = t.get_mut("metadata").and_then(Value::as_object_mut)
        {
            m.remove("labels");
        }
    }
    if let Some(m) = t.get_mut("metadata").and_then(Value::as_object_mut)
        && m.is_empty()
    {
        t.as_object_mut().map(|o| o.remove("metadata"));
    }
    t
}

/// A condition object, keeping the live transition time when its status did not change.
pub(crate) fn make_condition(
    live: &Value,
    kind: &str,
    status: bool,
    reason: &str,
    message: &str,
    now: &str,
    with_update_time: bool,
) -> Value {
    let status = if status { "True" } else { "False" };
    condition_with_status(live, kind, status, reason, message, now, with_update_time)
}

/// [`make_condition`] with the status spelled out (`True`, `False` or `Unknown`).
pub(crate) fn condition_with_status(
    live: &Value,
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: &str,
    with_update_time: bool,
) -> Value {
    let old = condition(live, kind);
    let same = old.is_some_and(|c| c["status"] == status);
    let same_reason = same && old.is_some_and(|c| c["reason"] == reason && c["message"] == message);
    let transition = if same {
        old.and_then(|c| c.get("lastTransitionTime").cloned())
            .unwrap_or_else(|| json!(now))
    } else {
        json!(now)
    };
    let mut c = json!({
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": transition,
    });
    if with_update_time {
        c["lastUpdateTime"] = if same_reason {
            old.and_then(|c| c.get("lastUpdateTime").cloned())
                .unwrap_or_else(|| json!(now))
        } else {
            json!(now)
        };
    }
    c
}

/// The pods an owner controls, from the index.
pub(crate) fn owned_pods(ctx: &super::Ctx, owner_uid: &str) -> Vec<Arc<Value>> {
    ctx.shared.index(|i| i.pods_owned_by(owner_uid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_or_percent_rounds_like_kubernetes() {
        assert_eq!(int_or_percent(None, 10, "25%", true), 3);
        assert_eq!(int_or_percent(None, 10, "25%", false), 2);
        assert_eq!(int_or_percent(Some(&json!(2)), 10, "25%", true), 2);
        assert_eq!(int_or_percent(Some(&json!("50%")), 3, "25%", false), 1);
        assert_eq!(int_or_percent(Some(&json!("1")), 3, "25%", false), 1);
    }

    #[test]
    fn template_hashes_ignore_key_order_and_look_like_kubernetes_ones() {
        let a = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"x": 1}});
        let b: Value = serde_json::from_str(
            r#"{"spec": {"x": 1}, "metadata": {"labels": {"b": "2", "a": "1"}}}"#,
        )
        .unwrap();
        assert_eq!(template_hash(&a), template_hash(&b));
        assert_ne!(template_hash(&a), template_hash(&json!({"spec": {"x": 2}})));
        let h = template_hash(&a);
        assert!(h.len() <= 10 && h.bytes().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn templates_compare_semantically() {
        let stored = json!({"metadata": {"labels": {"app": "x", "pod-template-hash": "abc"}},
            "spec": {"containers": [{"name": "a", "image": "x:1", "resources": {}}]}});
        let written = json!({"metadata": {"creationTimestamp": null, "labels": {"app": "x"}},
            "spec": {"containers": [{"name": "a", "image": "x:1",
                "imagePullPolicy": "IfNotPresent"}], "restartPolicy": "Always"}});
        assert_eq!(
            semantic_template(&stored, "pod-template-hash"),
            semantic_template(&written, "pod-template-hash")
        );
        let other = json!({"metadata": {"labels": {"app": "x"}},
            "spec": {"containers": [{"name": "a", "image": "x:2"}]}});
        assert_ne!(
            semantic_template(&stored, "pod-template-hash"),
            semantic_template(&other, "pod-template-hash")
        );
    }

    #[test]
    fn without_label_drops_only_that_label() {
        let t =
            json!({"metadata": {"labels": {"app": "x", "pod-template-hash": "abc"}}, "spec": {}});
        assert_eq!(
            without_label(&t, "pod-template-hash"),
            json!({"metadata": {"labels": {"app": "x"}}, "spec": {}})
        );
        let t = json!({"metadata": {"labels": {"pod-template-hash": "abc"}}, "spec": {}});
        assert_eq!(without_label(&t, "pod-template-hash"), json!({"spec": {}}));
    }
}
