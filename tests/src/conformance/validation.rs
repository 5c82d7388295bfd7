//! The refusals: requests kube-apiserver 1.20 refuses (fields of the wrong type, bad names,
//! workload selectors, immutable fields) and what it silently drops (unknown fields), each
//! sent as raw JSON to one [`Target`]; the outcome is the status code, reason and message.
//!
//! Messages are compared whole where the simulator words them as the real server does, and by
//! their stable part where the real server's tail prints Go internals (json-iterator's decoder
//! positions, a `%#v` of a Go struct, a Go diff): [`stable`] says which, and docs/conformance.md
//! lists those tails as known differences.

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::Target;

/// A raw request's status code and JSON body.
async fn send(
    t: &Target,
    method: &str,
    path: &str,
    content_type: &str,
    body: &Value,
) -> Result<(u16, Value)> {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(kube::client::Body::from(if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        }))?;
    let response = t
        .client
        .send(request)
        .await
        .with_context(|| format!("{method} {path}"))?;
    let code = response.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .context("reading the answer")?
        .to_bytes();
    let value =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes)));
    Ok((code, value))
}

/// The object at `path`, without its resourceVersion: a replace of it is unconditional, so that
/// a controller's write in between (the real Deployment controller's revision annotation) does
/// not turn the refusal under test into a 409.
async fn get_for_replace(t: &Target, path: &str) -> Result<Value> {
    let (_, mut live) = send(t, "GET", path, JSON, &Value::Null).await?;
    if let Some(meta) = live.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    Ok(live)
}

/// The part of a refusal's message that does not depend on the server's implementation
/// language: the decoder's prefix (`Deployment in version "v1" cannot be handled as a
/// Deployment:`), a patch's ` "" is invalid: patch: Invalid value:`, an apply's
/// `failed to create typed patch object: .<path>:`, the first line of a multi-line message, and
/// for an `Invalid value: <Go struct>: field is immutable` both ends; otherwise all of it.
pub fn stable(message: &str) -> String {
    const DECODE: &str = " cannot be handled as a ";
    const PATCH: &str = " \"\" is invalid: patch: Invalid value: ";
    const APPLY: &str = "failed to create typed patch object: ";
    if let Some(at) = message.find(DECODE) {
        let rest = &message[at + DECODE.len()..];
        let kind_end = rest.find(':').map_or(rest.len(), |i| i + 1);
        return format!("{}{DECODE}{}", &message[..at], &rest[..kind_end]);
    }
    if message.starts_with(PATCH) {
        return PATCH.to_string();
    }
    if let Some(rest) = message.strip_prefix(APPLY) {
        let path_end = rest.find(": ").map_or(rest.len(), |i| i + 1);
        return format!("{APPLY}{}", &rest[..path_end]);
    }
    let first_line = message.lines().next().unwrap_or_default();
    if first_line.ends_with(": field is immutable")
        && let Some(at) = first_line.find("spec.template: Invalid value: ")
    {
        return format!(
            "{}spec.template: Invalid value: <...>: field is immutable",
            &first_line[..at]
        );
    }
    first_line.to_string()
}

/// `"ok"` for a 2xx, else `{code, reason, message}` with the message's [`stable`] part and the
/// namespace as `<ns>`.
fn refusal(t: &Target, answer: &(u16, Value)) -> Value {
    let (code, body) = answer;
    if (200..300).contains(code) {
        return json!("ok");
    }
    json!({
        "code": code,
        "reason": body.get("reason"),
        "message": stable(body["message"].as_str().unwrap_or_default()).replace(t.namespace(), "<ns>"),
    })
}

fn deployment(name: &str, selector: Option<Value>, labels: Value) -> Value {
    workload("Deployment", name, selector, labels)
}

fn workload(kind: &str, name: &str, selector: Option<Value>, labels: Value) -> Value {
    let mut spec = json!({
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "registry.test/a:1"}]}},
    });
    match kind {
        "DaemonSet" => {}
        "StatefulSet" => {
            spec["replicas"] = json!(0);
            spec["serviceName"] = json!("s");
        }
        _ => spec["replicas"] = json!(0),
    }
    if let Some(selector) = selector {
        spec["selector"] = selector;
    }
    json!({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": spec})
}

const JSON: &str = "application/json";
const MERGE: &str = "application/merge-patch+json";
const STRATEGIC: &str = "application/strategic-merge-patch+json";
const APPLY: &str = "application/apply-patch+yaml";

/// Decoding: a field of the wrong type is refused on create (400), replace (400), merge patch
/// (422) and apply (500); unknown fields are dropped on create and patch, and refused by apply.
pub async fn decoding(t: &Target) -> Result<Value> {
    let ns = t.namespace();
    let deployments = format!("/apis/apps/v1/namespaces/{ns}/deployments");
    let config_maps = format!("/api/v1/namespaces/{ns}/configmaps");
    let mut three = deployment(
        "three",
        Some(json!({"matchLabels": {"app": "web"}})),
        json!({"app": "web"}),
    );
    three["spec"]["replicas"] = json!("three");
    let replicas_string = send(t, "POST", &deployments, JSON, &three).await?;
    let labels_list = send(t, "POST", &config_maps, JSON,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "labels", "labels": [1]}})).await?;
    let data_number = send(t, "POST", &config_maps, JSON,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "number"}, "data": {"a": 1}})).await?;
    let unknown = send(
        t,
        "POST",
        &config_maps,
        JSON,
        &json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "unknown", "bogus": 1},
            "data": {"a": "1"}, "extra": {"x": 1},
        }),
    )
    .await?;
    let stored = send(
        t,
        "GET",
        &format!("{config_maps}/unknown"),
        JSON,
        &Value::Null,
    )
    .await?
    .1;

    let web = deployment(
        "web",
        Some(json!({"matchLabels": {"app": "web"}})),
        json!({"app": "web"}),
    );
    send(t, "POST", &deployments, JSON, &web).await?;
    let item = format!("{deployments}/web");
    let mut live = get_for_replace(t, &item).await?;
    live["spec"]["replicas"] = json!("three");
    let replace_string = send(t, "PUT", &item, JSON, &live).await?;
    let merge_string = send(
        t,
        "PATCH",
        &item,
        MERGE,
        &json!({"spec": {"replicas": "three"}}),
    )
    .await?;
    let merge_labels = send(
        t,
        "PATCH",
        &item,
        MERGE,
        &json!({"metadata": {"labels": [1]}}),
    )
    .await?;
    let strategic_string = send(
        t,
        "PATCH",
        &item,
        STRATEGIC,
        &json!({"spec": {"replicas": "three"}}),
    )
    .await?;
    let merge_unknown = send(t, "PATCH", &item, MERGE, &json!({"spec": {"bogus": 1}})).await?;
    let after_merge = send(t, "GET", &item, JSON, &Value::Null).await?.1;
    let applied = format!("{item}?fieldManager=conformance&force=true");
    let apply_unknown = send(t, "PATCH", &applied, APPLY, &json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"bogus": 1},
    })).await?;
    let apply_string = send(t, "PATCH", &applied, APPLY, &json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": "three"},
    })).await?;
    let replicas_after =
        send(t, "GET", &item, JSON, &Value::Null).await?.1["spec"]["replicas"].clone();
    Ok(json!({
        "createReplicasString": refusal(t, &replicas_string),
        "createLabelsList": refusal(t, &labels_list),
        "createDataNumber": refusal(t, &data_number),
        "createUnknownFields": refusal(t, &unknown),
        "unknownFieldsStored": {
            "extra": stored.get("extra").is_some(),
            "metadataBogus": stored["metadata"].get("bogus").is_some(),
            "data": stored.get("data"),
        },
        "replaceReplicasString": refusal(t, &replace_string),
        "mergeReplicasString": refusal(t, &merge_string),
        "mergeLabelsList": refusal(t, &merge_labels),
        "strategicReplicasString": refusal(t, &strategic_string),
        "mergeUnknownField": refusal(t, &merge_unknown),
        "mergeUnknownFieldStored": after_merge["spec"].get("bogus").is_some(),
        "applyUnknownField": refusal(t, &apply_unknown),
        "applyReplicasString": refusal(t, &apply_string),
        "replicasAfter": replicas_after,
    }))
}

/// Names by their kind's rule: a DNS-1123 subdomain (ConfigMap, Deployment), a DNS-1035 label
/// (Service), a DNS-1123 label (Namespace), at most 253 characters.
pub async fn names(t: &Target) -> Result<Value> {
    let ns = t.namespace();
    let config_maps = format!("/api/v1/namespaces/{ns}/configmaps");
    let config_map =
        |name: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}});
    let underscore = send(t, "POST", &config_maps, JSON, &config_map("Bad_Name")).await?;
    let too_long = send(t, "POST", &config_maps, JSON, &config_map(&"a".repeat(254))).await?;
    let dotted = send(t, "POST", &config_maps, JSON, &config_map("a.b")).await?;
    let service = send(t, "POST", &format!("/api/v1/namespaces/{ns}/services"), JSON, &json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "1svc"}, "spec": {"ports": [{"port": 80}]},
    })).await?;
    let namespace = send(
        t,
        "POST",
        "/api/v1/namespaces",
        JSON,
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "conf.dotted"}}),
    )
    .await?;
    let deployment_name = send(
        t,
        "POST",
        &format!("/apis/apps/v1/namespaces/{ns}/deployments"),
        JSON,
        &deployment(
            "Web",
            Some(json!({"matchLabels": {"app": "web"}})),
            json!({"app": "web"}),
        ),
    )
    .await?;
    Ok(json!({
        "configMapUnderscore": refusal(t, &underscore),
        "configMapTooLong": refusal(t, &too_long),
        "configMapDotted": refusal(t, &dotted),
        "serviceDigitFirst": refusal(t, &service),
        "namespaceDotted": refusal(t, &namespace),
        "deploymentUpperCase": refusal(t, &deployment_name),
    }))
}

/// Workload selectors: not matching the template's labels, empty, missing (per kind), and
/// changed after creation; a template change that stops matching.
pub async fn workload_selectors(t: &Target) -> Result<Value> {
    let ns = t.namespace();
    let path = |plural: &str| format!("/apis/apps/v1/namespaces/{ns}/{plural}");
    let matching = || Some(json!({"matchLabels": {"app": "web"}}));
    let mut outcomes = serde_json::Map::new();
    for (kind, plural) in [
        ("Deployment", "deployments"),
        ("ReplicaSet", "replicasets"),
        ("DaemonSet", "daemonsets"),
        ("StatefulSet", "statefulsets"),
    ] {
        let mismatch = send(
            t,
            "POST",
            &path(plural),
            JSON,
            &workload(kind, "mismatch", matching(), json!({"app": "other"})),
        )
        .await?;
        let empty = send(
            t,
            "POST",
            &path(plural),
            JSON,
            &workload(kind, "empty", Some(json!({})), json!({"app": "web"})),
        )
        .await?;
        let missing = send(
            t,
            "POST",
            &path(plural),
            JSON,
            &workload(kind, "missing", None, json!({"app": "web"})),
        )
        .await?;
        let expressions = send(t, "POST", &path(plural), JSON, &workload(kind, "expressions",
            Some(json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["other"]}]})),
            json!({"app": "web"}))).await?;
        outcomes.insert(
            kind.to_string(),
            json!({
                "mismatch": refusal(t, &mismatch),
                "empty": refusal(t, &empty),
                "missing": refusal(t, &missing),
                "expressionsMismatch": refusal(t, &expressions),
            }),
        );
    }
    let web = deployment("web", matching(), json!({"app": "web", "tier": "front"}));
    let created = send(t, "POST", &path("deployments"), JSON, &web).await?;
    let item = format!("{}/web", path("deployments"));
    let selector_changed = send(
        t,
        "PATCH",
        &item,
        MERGE,
        &json!({"spec": {"selector": {"matchLabels": {"tier": "front"}}}}),
    )
    .await?;
    let labels_changed = send(
        t,
        "PATCH",
        &item,
        MERGE,
        &json!({"spec": {"template": {"metadata": {"labels": {"app": "other"}}}}}),
    )
    .await?;
    let mut live = get_for_replace(t, &item).await?;
    live["spec"]["selector"] = json!({"matchLabels": {"app": "web", "tier": "front"}});
    let replaced = send(t, "PUT", &item, JSON, &live).await?;
    let unchanged = send(
        t,
        "PATCH",
        &item,
        MERGE,
        &json!({"spec": {"selector": {"matchLabels": {"app": "web"}}}}),
    )
    .await?;
    outcomes.insert("createValid".into(), refusal(t, &created));
    outcomes.insert(
        "selectorChangedByMergePatch".into(),
        refusal(t, &selector_changed),
    );
    outcomes.insert(
        "templateLabelsNoLongerMatch".into(),
        refusal(t, &labels_changed),
    );
    outcomes.insert("selectorChangedByReplace".into(), refusal(t, &replaced));
    outcomes.insert("selectorPatchedToItself".into(), refusal(t, &unchanged));
    Ok(Value::Object(outcomes))
}

/// Immutable fields: a Service's cluster IP (changed, unset, `clusterIPs` alone), a Job's pod
/// template (a mutable field beside it), a PersistentVolumeClaim's spec (access modes, an
/// unbound claim's requests), and a claim without access modes.
pub async fn immutable_fields(t: &Target) -> Result<Value> {
    let ns = t.namespace();
    let services = format!("/api/v1/namespaces/{ns}/services");
    let created = send(
        t,
        "POST",
        &services,
        JSON,
        &json!({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
        }),
    )
    .await?;
    let service = &created.1["spec"];
    let allocated = json!({
        "type": service["type"],
        "clusterIPSet": service["clusterIP"].as_str().is_some_and(|ip| !ip.is_empty()),
        "clusterIPsFollow": service["clusterIPs"] == json!([service["clusterIP"]]),
    });
    let item = format!("{services}/web");
    let changed = send(
        t,
        "PATCH",
        &item,
        MERGE,
        &json!({"spec": {"clusterIP": "10.0.0.99"}}),
    )
    .await?;
    let unset = send(
        t,
        "PATCH",
        &item,
        MERGE,
        &json!({"spec": {"clusterIP": null}}),
    )
    .await?;
    let list_only = send(
        t,
        "PATCH",
        &item,
        MERGE,
        &json!({"spec": {"clusterIPs": ["10.0.0.97"]}}),
    )
    .await?;
    // Without its resourceVersion too: a Service may not be replaced unconditionally.
    let mut live = get_for_replace(t, &item).await?;
    if let Some(spec) = live["spec"].as_object_mut() {
        spec.remove("clusterIP");
        spec.remove("clusterIPs");
    }
    let replaced_without = send(t, "PUT", &item, JSON, &live).await?;
    let ports = send(
        t,
        "PATCH",
        &item,
        MERGE,
        &json!({"spec": {"ports": [{"port": 81}]}}),
    )
    .await?;

    let jobs = format!("/apis/batch/v1/namespaces/{ns}/jobs");
    let job = send(
        t,
        "POST",
        &jobs,
        JSON,
        &json!({
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
            "spec": {"parallelism": 0, "template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "c", "image": "registry.test/a:1"}]}}},
        }),
    )
    .await?;
    let job_item = format!("{jobs}/once");
    let template = send(t, "PATCH", &job_item, STRATEGIC,
        &json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "registry.test/a:2"}]}}}})).await?;
    let deadline = send(
        t,
        "PATCH",
        &job_item,
        MERGE,
        &json!({"spec": {"activeDeadlineSeconds": 600}}),
    )
    .await?;

    let claims = format!("/api/v1/namespaces/{ns}/persistentvolumeclaims");
    let claim = send(t, "POST", &claims, JSON, &json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    })).await?;
    let claim_phase = claim.1.pointer("/status/phase").cloned();
    let claim_item = format!("{claims}/data");
    let modes = send(
        t,
        "PATCH",
        &claim_item,
        MERGE,
        &json!({"spec": {"accessModes": ["ReadWriteMany"]}}),
    )
    .await?;
    let requests = send(
        t,
        "PATCH",
        &claim_item,
        MERGE,
        &json!({"spec": {"resources": {"requests": {"storage": "2Gi"}}}}),
    )
    .await?;
    let labels = send(
        t,
        "PATCH",
        &claim_item,
        MERGE,
        &json!({"metadata": {"labels": {"a": "b"}}}),
    )
    .await?;
    let no_modes = send(
        t,
        "POST",
        &claims,
        JSON,
        &json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "modeless"},
            "spec": {"resources": {"requests": {"storage": "1Gi"}}},
        }),
    )
    .await?;
    Ok(json!({
        "serviceCreate": refusal(t, &created),
        "serviceAllocated": allocated,
        "clusterIPChanged": refusal(t, &changed),
        "clusterIPUnset": refusal(t, &unset),
        "clusterIPsAlone": refusal(t, &list_only),
        "replacedWithoutClusterIPOrResourceVersion": refusal(t, &replaced_without),
        "portsChanged": refusal(t, &ports),
        "jobCreate": refusal(t, &job),
        "jobTemplateChanged": refusal(t, &template),
        "jobDeadlineChanged": refusal(t, &deadline),
        "claimCreate": refusal(t, &claim),
        "claimPhase": claim_phase,
        "claimAccessModesChanged": refusal(t, &modes),
        "unboundClaimRequestsChanged": refusal(t, &requests),
        "claimLabelsChanged": refusal(t, &labels),
        "claimWithoutAccessModes": refusal(t, &no_modes),
    }))
}

#[cfg(test)]
mod tests {
    use super::stable;

    #[test]
    fn stable_parts_of_messages() {
        assert_eq!(
            stable(
                "Deployment in version \"v1\" cannot be handled as a Deployment: v1.Deployment.Spec: ..."
            ),
            "Deployment in version \"v1\" cannot be handled as a Deployment:"
        );
        assert_eq!(
            stable(" \"\" is invalid: patch: Invalid value: \"{...}\": spec.replicas: ..."),
            " \"\" is invalid: patch: Invalid value: "
        );
        assert_eq!(
            stable("failed to create typed patch object: .spec.replicas: expected numeric"),
            "failed to create typed patch object: .spec.replicas:"
        );
        assert_eq!(stable("a: Forbidden: x\n  diff"), "a: Forbidden: x");
        assert_eq!(
            stable(
                "Job.batch \"j\" is invalid: spec.template: Invalid value: core.PodTemplateSpec{}: field is immutable"
            ),
            "Job.batch \"j\" is invalid: spec.template: Invalid value: <...>: field is immutable"
        );
        assert_eq!(stable("pods \"x\" not found"), "pods \"x\" not found");
    }
}
