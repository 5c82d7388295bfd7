//! Patches: JSON merge (RFC 7386), JSON patch (RFC 6902), strategic merge, and simplified apply.
//!
//! Strategic merge knows the patch merge keys of the built-in kinds' common list fields
//! (containers, volumes, env, ports, conditions, ...); every other list is replaced, as the real
//! server does for lists without a patch strategy. Directives: `$patch: replace|delete` on maps
//! and list elements, `$deleteFromPrimitiveList/<field>`, `$retainKeys`; `$setElementOrder/<field>`
//! is accepted and ignored. Merged lists are ordered as the real server orders them without
//! `$setElementOrder`: the patch's items in patch order, live-only items interleaved by their live order.

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::limits::{
    self, MAX_JSON_PATCH_COPY_BYTES, MAX_JSON_PATCH_OPERATIONS, MAX_NESTING_DEPTH, Nesting,
};

/// The patch content types the server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply, simplified).
    Apply,
}

impl PatchType {
    /// The patch type for a `Content-Type` header value; `None` when unsupported (the caller answers 415).
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let mime = content_type.split(';').next().unwrap_or("").trim();
        match mime {
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/json-patch+json" => Some(PatchType::Json),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
                Some(PatchType::Apply)
            }
            _ => None,
        }
    }
}

fn rejected(detail: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        422,
        "Invalid",
        format!("the server rejected our request due to an error in our request: {detail}"),
    )
}

/// Applies an RFC 7386 JSON merge patch. The patch must be a JSON object.
pub fn merge_patch(target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    if !patch.is_object() {
        return Err(ApiError::bad_request(
            "json: cannot unmarshal merge patch: the patch is not a JSON object",
        ));
    }
    json_patch::merge(target, patch);
    Ok(())
}

/// Reads an RFC 6902 JSON patch (a list of operations): 400 if it is not one, 413 beyond
/// [`MAX_JSON_PATCH_OPERATIONS`] operations (the API server's order of checks).
pub fn parse_json_patch(patch: Value) -> Result<json_patch::Patch, ApiError> {
    let ops: json_patch::Patch = serde_json::from_value(patch)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
    if ops.0.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(limits::too_many_operations(ops.0.len()));
    }
    Ok(ops)
}

/// 422 as kube-apiserver answers any JSON patch that fails to apply (json-patch's own error is
/// not passed on): a failed `test`, a missing path, copies beyond the copy limit.
fn json_patch_failed() -> ApiError {
    let mut err = ApiError::new(
        422,
        "Invalid",
        "the server rejected our request due to an error in our request",
    );
    err.details = Some(Value::Object(Map::new()));
    err
}

/// Applies a JSON patch, one operation at a time, within the bounds of [`crate::limits`]: the
/// bytes its `copy` operations copy add up to at most [`MAX_JSON_PATCH_COPY_BYTES`], and no
/// operation may place a value deeper than [`MAX_NESTING_DEPTH`]. `target` is left half-patched
/// on failure: callers patch a copy.
pub fn json_patch(target: &mut Value, ops: &json_patch::Patch) -> Result<(), ApiError> {
    use json_patch::PatchOperation as Op;
    let mut copied = 0usize;
    for op in &ops.0 {
        // How deep the value this operation places is, and at which path.
        let placed = match op {
            Op::Add(a) => Some((a.path.count(), limits::depth(&a.value))),
            Op::Replace(r) => Some((r.path.count(), limits::depth(&r.value))),
            Op::Move(m) => target
                .pointer(m.from.as_str())
                .map(|v| (m.path.count(), limits::depth(v))),
            Op::Copy(c) => {
                let Some(source) = target.pointer(c.from.as_str()) else {
                    return Err(json_patch_failed());
                };
                copied = copied.saturating_add(limits::json_size(source));
                if copied > MAX_JSON_PATCH_COPY_BYTES {
                    return Err(json_patch_failed());
                }
                Some((c.path.count(), limits::depth(source)))
            }
            Op::Remove(_) | Op::Test(_) => None,
        };
        json_patch::patch_unsafe(target, std::slice::from_ref(op))
            .map_err(|_| json_patch_failed())?;
        if let Some((segments, depth)) = placed
            && segments + depth > MAX_NESTING_DEPTH
        {
            return Err(json_patch_failed());
        }
    }
    Ok(())
}

/// Parses a server-side apply body (YAML or JSON) into a JSON object, nested at most
/// [`MAX_NESTING_DEPTH`] levels.
pub fn parse_apply(body: &[u8]) -> Result<Value, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::bad_request(format!("apply patch is not UTF-8: {e}")))?;
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_NESTING_DEPTH;
    budget.flow_nesting_limit = budget.flow_nesting_limit.max(MAX_NESTING_DEPTH);
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    let value: Value = serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        match e.without_snippet() {
            serde_saphyr::Error::Budget {
                breach: serde_saphyr::budget::BudgetBreach::Depth { .. },
                ..
            } => Nesting::in_apply(),
            _ => ApiError::bad_request(format!("error decoding YAML: {e}")),
        }
    })?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "apply patch must be a YAML or JSON object",
        ));
    }
    Ok(value)
}

/// The patch merge key of a list field, given the path of field names leading to it.
pub fn merge_key(path: &[String], field: &str) -> Option<&'static str> {
    let in_container = path.iter().any(|p| {
        matches!(
            p.as_str(),
            "containers" | "initContainers" | "ephemeralContainers"
        )
    });
    Some(match field {
        "containers" | "initContainers" | "ephemeralContainers" => "name",
        "volumes" | "env" | "imagePullSecrets" | "resourceClaims" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "ports" if in_container => "containerPort",
        "ports" => "port",
        "conditions" | "addresses" => "type",
        "hostAliases" => "ip",
        "ownerReferences" => "uid",
        _ => return None,
    })
}

/// Lists of scalars merged as sets rather than replaced.
fn is_primitive_merge_list(path: &[String], field: &str) -> bool {
    field == "finalizers" && path.last().is_some_and(|p| p == "metadata")
}

fn directive(v: &Value) -> Option<&str> {
    v.get("$patch").and_then(Value::as_str)
}

/// Removes every `$`-directive from a value that is inserted wholesale.
fn strip_directives(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !k.starts_with('$'));
            m.values_mut().for_each(strip_directives);
        }
        Value::Array(items) => {
            items.retain(|i| directive(i) != Some("delete"));
            items.iter_mut().for_each(strip_directives);
        }
        _ => {}
    }
}

/// Applies a strategic merge patch to `target` (an object).
pub fn strategic_merge(target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    let Some(patch) = patch.as_object() else {
        return Err(ApiError::bad_request(
            "strategic merge patch must be a JSON object",
        ));
    };
    if directive(&Value::Object(patch.clone())) == Some("delete") {
        return Err(rejected(
            "a $patch: delete directive cannot delete the object",
        ));
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let map = target.as_object_mut().expect("made an object above");
    merge_map(map, patch, &mut Vec::new())
}

fn merge_map(
    target: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    path: &mut Vec<String>,
) -> Result<(), ApiError> {
    match patch.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut replacement = Value::Object(patch.clone());
            strip_directives(&mut replacement);
            *target = match replacement {
                Value::Object(m) => m,
                _ => unreachable!("an object stays an object"),
            };
            return Ok(());
        }
        Some("merge") | None => {}
        Some(other) => return Err(rejected(format!("unknown patch type: {other}"))),
    }
    for (key, value) in patch {
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Some(remove)) =
                (target.get_mut(field), value.as_array())
            {
                list.retain(|item| !remove.contains(item));
            }
            continue;
        }
        if key.starts_with('$') {
            continue; // $setElementOrder/..., $retainKeys (below), $patch (above)
        }
        match value {
            Value::Null => {
                target.remove(key);
            }
            Value::Object(sub) if directive(value) == Some("delete") => {
                let _ = sub;
                target.remove(key);
            }
            Value::Object(sub) => {
                path.push(key.clone());
                let slot = target
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                let result = merge_map(slot.as_object_mut().expect("object"), sub, path);
                path.pop();
                result?;
            }
            Value::Array(items) => {
                let merged = merge_list(target.get(key), items, path, key)?;
                target.insert(key.clone(), merged);
            }
            scalar => {
                target.insert(key.clone(), scalar.clone());
            }
        }
    }
    if let Some(retain) = patch.get("$retainKeys").and_then(Value::as_array) {
        target.retain(|k, _| retain.iter().any(|r| r.as_str() == Some(k)));
    }
    Ok(())
}

fn merge_list(
    live: Option<&Value>,
    items: &[Value],
    path: &mut Vec<String>,
    field: &str,
) -> Result<Value, ApiError> {
    let replace_all = items.iter().any(|i| directive(i) == Some("replace"));
    let live_items = match live {
        Some(Value::Array(l)) if !replace_all => l.clone(),
        _ => Vec::new(),
    };
    if is_primitive_merge_list(path, field) {
        let server_order = live_items.clone();
        let mut out = live_items;
        for item in items {
            if !out.contains(item) {
                out.push(item.clone());
            }
        }
        let (patched, server_only): (Vec<Value>, Vec<Value>) =
            out.into_iter().partition(|o| items.contains(o));
        let patched = in_order_of(patched, items, |a, b| a == b);
        return Ok(Value::Array(merge_sorted(
            server_only,
            patched,
            &server_order,
            |a, b| a == b,
        )));
    }
    let key = merge_key(path, field);
    let Some(key) = key.filter(|_| items.iter().all(Value::is_object)) else {
        let mut replacement = Value::Array(items.to_vec());
        strip_directives(&mut replacement);
        return Ok(replacement);
    };
    let server_order = live_items.clone();
    let mut out = live_items;
    path.push(field.to_string());
    for item in items {
        if directive(item) == Some("replace") {
            continue;
        }
        let Some(item_key) = item.get(key) else {
            path.pop();
            return Err(rejected(format!(
                "map: {item} does not contain declared merge key: {key}"
            )));
        };
        let position = out.iter().position(|o| o.get(key) == Some(item_key));
        if directive(item) == Some("delete") {
            out.retain(|o| o.get(key) != Some(item_key));
            continue;
        }
        match position {
            Some(i) => {
                let slot = out[i]
                    .as_object_mut()
                    .expect("merge list items are objects");
                if let Err(e) = merge_map(slot, item.as_object().expect("checked"), path) {
                    path.pop();
                    return Err(e);
                }
            }
            None => {
                let mut fresh = item.clone();
                strip_directives(&mut fresh);
                out.push(fresh);
            }
        }
    }
    path.pop();
    // The real server's order: the patch's items in patch order, the live-only items
    // interleaved where the live order puts them (`normalizeElementOrder`).
    let same = |a: &Value, b: &Value| a.get(key).is_some() && a.get(key) == b.get(key);
    let (patched, server_only): (Vec<Value>, Vec<Value>) = out
        .into_iter()
        .partition(|o| items.iter().any(|i| same(o, i)));
    let patched = in_order_of(patched, items, same);
    Ok(Value::Array(merge_sorted(
        server_only,
        patched,
        &server_order,
        same,
    )))
}

/// `items` sorted by where they appear in `order` (apimachinery's `normalizeSliceOrder`).
fn in_order_of(
    mut items: Vec<Value>,
    order: &[Value],
    same: impl Fn(&Value, &Value) -> bool,
) -> Vec<Value> {
    items.sort_by_key(|i| order.iter().position(|o| same(i, o)).unwrap_or(usize::MAX));
    items
}

/// Interleaves the live-only items (`left`) into the patch's (`right`), keeping the relative
/// order of each; a left item goes before a right one when the live list has it first
/// (apimachinery's `mergeSortedSlice`).
fn merge_sorted(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    same: impl Fn(&Value, &Value) -> bool,
) -> Vec<Value> {
    let index = |v: &Value| server_order.iter().position(|o| same(v, o));
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => matches!((index(l), index(r)), (Some(li), Some(ri)) if li < ri),
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({
            "metadata": {"name": "p", "labels": {"a": "1", "b": "2"}, "finalizers": ["x"]},
            "spec": {
                "containers": [
                    {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}],
                     "ports": [{"containerPort": 80, "name": "http"}]},
                    {"name": "side", "image": "side:1"}
                ],
                "tolerations": [{"key": "k", "operator": "Exists"}]
            }
        })
    }

    #[test]
    fn merge_patch_rfc7386() {
        let mut v = pod();
        merge_patch(
            &mut v,
            &json!({"metadata": {"labels": {"a": null, "c": "3"}}}),
        )
        .unwrap();
        assert_eq!(v["metadata"]["labels"], json!({"b": "2", "c": "3"}));
        merge_patch(&mut v, &json!({"spec": {"containers": []}})).unwrap();
        assert_eq!(v["spec"]["containers"], json!([]));
        assert_eq!(merge_patch(&mut v, &json!([1])).unwrap_err().code, 400);
    }

    fn apply_json_patch(target: &mut Value, ops: Value) -> Result<(), ApiError> {
        json_patch(target, &parse_json_patch(ops)?)
    }

    #[test]
    fn json_patch_rfc6902() {
        let mut v = pod();
        apply_json_patch(
            &mut v,
            json!([
                {"op": "replace", "path": "/spec/containers/0/image", "value": "app:2"},
                {"op": "add", "path": "/metadata/labels/d", "value": "4"},
                {"op": "remove", "path": "/metadata/labels/a"}
            ]),
        )
        .unwrap();
        assert_eq!(v["spec"]["containers"][0]["image"], "app:2");
        assert_eq!(v["metadata"]["labels"], json!({"b": "2", "d": "4"}));
        let err = apply_json_patch(
            &mut v,
            json!([{"op": "test", "path": "/metadata/name", "value": "q"}]),
        )
        .unwrap_err();
        assert_eq!(
            (err.code, err.message.as_str()),
            (
                422,
                "the server rejected our request due to an error in our request"
            )
        );
        assert_eq!(err.to_status()["details"], json!({}));
        assert_eq!(
            apply_json_patch(&mut v, json!({"op": "x"}))
                .unwrap_err()
                .code,
            400
        );
    }

    #[test]
    fn json_patch_bounds() {
        let ops = |n: usize| {
            Value::Array(
                (0..n)
                    .map(|i| json!({"op": "add", "path": format!("/k{i}"), "value": i}))
                    .collect(),
            )
        };
        assert_eq!(
            parse_json_patch(ops(MAX_JSON_PATCH_OPERATIONS))
                .unwrap()
                .0
                .len(),
            MAX_JSON_PATCH_OPERATIONS
        );
        let err = parse_json_patch(ops(MAX_JSON_PATCH_OPERATIONS + 1)).unwrap_err();
        assert_eq!(
            (err.code, err.reason, err.message.as_str()),
            (
                413,
                "RequestEntityTooLarge",
                "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001"
            )
        );

        // Copies add up: six copies of a 600 KB value are over 3 MiB, five are not.
        let big = json!({"a": "x".repeat(600 * 1024)});
        let copies = |n: usize| {
            Value::Array(
                (0..n)
                    .map(|i| json!({"op": "copy", "from": "/a", "path": format!("/b{i}")}))
                    .collect(),
            )
        };
        assert!(apply_json_patch(&mut big.clone(), copies(5)).is_ok());
        assert_eq!(
            apply_json_patch(&mut big.clone(), copies(6))
                .unwrap_err()
                .code,
            422
        );

        // Nothing is placed deeper than the nesting bound: not by `add` ...
        let deep = |levels: usize| (0..levels).fold(json!(1), |inner, _| json!([inner]));
        let mut doc = json!({"a": {}});
        let at_bound = json!([{"op": "add", "path": "/a/x", "value": deep(MAX_NESTING_DEPTH - 2)}]);
        apply_json_patch(&mut doc, at_bound).unwrap();
        assert_eq!(limits::depth(&doc), MAX_NESTING_DEPTH);
        let over = json!([{"op": "add", "path": "/a/y", "value": deep(MAX_NESTING_DEPTH - 1)}]);
        assert_eq!(
            apply_json_patch(&mut doc.clone(), over).unwrap_err().code,
            422
        );
        // ... nor by copying a subtree into itself again and again.
        let mut doc = json!({"a": {"b": 1}});
        let doubling: Vec<Value> = (0..MAX_NESTING_DEPTH)
            .map(|_| json!({"op": "copy", "from": "/a", "path": "/a/a"}))
            .collect();
        assert_eq!(
            apply_json_patch(&mut doc, Value::Array(doubling))
                .unwrap_err()
                .code,
            422
        );
    }

    #[test]
    fn strategic_merges_lists_by_merge_key() {
        let mut v = pod();
        strategic_merge(
            &mut v,
            &json!({"spec": {"containers": [
                {"name": "app", "image": "app:2", "env": [{"name": "B", "value": "2"}],
                 "ports": [{"containerPort": 80, "protocol": "TCP"}]},
                {"name": "new", "image": "new:1"}
            ], "tolerations": [{"key": "other", "operator": "Exists"}]}}),
        )
        .unwrap();
        let c = &v["spec"]["containers"];
        assert_eq!(c.as_array().unwrap().len(), 3);
        assert_eq!(c[0]["image"], "app:2");
        assert_eq!(
            c[0]["env"],
            json!([{"name": "B", "value": "2"}, {"name": "A", "value": "1"}])
        );
        assert_eq!(
            c[0]["ports"],
            json!([{"containerPort": 80, "name": "http", "protocol": "TCP"}])
        );
        // The patch's items first, in its order; the live-only one after (as the real server).
        assert_eq!(c[1]["name"], "new");
        assert_eq!(c[2]["name"], "side");
        // tolerations have no patch strategy: replaced
        assert_eq!(
            v["spec"]["tolerations"],
            json!([{"key": "other", "operator": "Exists"}])
        );
    }

    #[test]
    fn strategic_directives() {
        let mut v = pod();
        strategic_merge(
            &mut v,
            &json!({
                "metadata": {"labels": {"$patch": "replace", "z": "9"}, "finalizers": ["y"]},
                "spec": {"containers": [{"name": "side", "$patch": "delete"}],
                         "$setElementOrder/containers": [{"name": "app"}]}
            }),
        )
        .unwrap();
        assert_eq!(v["metadata"]["labels"], json!({"z": "9"}));
        assert_eq!(v["metadata"]["finalizers"], json!(["y", "x"]));
        assert_eq!(v["spec"]["containers"].as_array().unwrap().len(), 1);
        strategic_merge(
            &mut v,
            &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["x"], "labels": {"$patch": "delete"}}}),
        )
        .unwrap();
        assert_eq!(v["metadata"]["finalizers"], json!(["y"]));
        assert!(v["metadata"].get("labels").is_none());
        strategic_merge(
            &mut v,
            &json!({"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "o"}]}}),
        )
        .unwrap();
        assert_eq!(
            v["spec"]["containers"],
            json!([{"name": "only", "image": "o"}])
        );
        let err = strategic_merge(&mut v, &json!({"spec": {"containers": [{"image": "x"}]}}));
        assert_eq!(err.unwrap_err().code, 422);
    }

    #[test]
    fn service_ports_merge_on_port() {
        let mut svc = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}]}});
        strategic_merge(
            &mut svc,
            &json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}, {"port": 443}]}}),
        )
        .unwrap();
        assert_eq!(
            svc["spec"]["ports"],
            json!([{"port": 80, "targetPort": 9090}, {"port": 443}])
        );
    }

    #[test]
    fn apply_bodies_are_yaml_or_json() {
        let v = parse_apply(b"apiVersion: v1\nkind: ConfigMap\ndata:\n  a: '1'\n  n: 3\n").unwrap();
        assert_eq!(v["data"]["a"], "1");
        assert_eq!(v["data"]["n"], 3);
        assert_eq!(parse_apply(br#"{"kind": "Pod"}"#).unwrap()["kind"], "Pod");
        assert_eq!(parse_apply(b"- 1\n").unwrap_err().code, 400);
        assert_eq!(
            PatchType::from_content_type("application/apply-patch+yaml; charset=utf-8"),
            Some(PatchType::Apply)
        );
        assert_eq!(PatchType::from_content_type("text/plain"), None);
    }
}
