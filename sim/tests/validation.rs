//! The simulator refuses what kube-apiserver 1.20 refuses, with its status code, reason and
//! message (the expected messages below were measured on the local 1.20 control plane; the
//! conformance suite compares the two servers live): wrong field types, unknown fields dropped,
//! names, workload selectors, immutable fields.

use cutover_sim::Simulator;
use serde_json::{Value, json};

/// Sends a raw request to the simulator; the status code and the body as JSON.
async fn send(
    sim: &Simulator,
    method: &str,
    path: &str,
    content_type: &str,
    body: &Value,
) -> (u16, Value) {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(kube::client::Body::from(body.to_string().into_bytes()))
        .expect("a valid request");
    let response = sim
        .client()
        .send(request)
        .await
        .expect("the request is answered");
    let code = response.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("a body")
        .to_bytes();
    (code, serde_json::from_slice(&bytes).expect("JSON"))
}

const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";
const CONFIG_MAPS: &str = "/api/v1/namespaces/default/configmaps";
const JSON: &str = "application/json";
const MERGE: &str = "application/merge-patch+json";

fn deployment(name: &str, selector: Value, labels: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 0, "selector": selector,
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}})
}

fn message(answer: &(u16, Value)) -> (u16, &str, &str) {
    (
        answer.0,
        answer.1["reason"].as_str().unwrap_or(""),
        answer.1["message"].as_str().unwrap_or(""),
    )
}

#[tokio::test]
async fn fields_of_the_wrong_type_are_refused_and_unknown_fields_dropped() {
    let sim = Simulator::new(1);
    let mut bad = deployment("web", json!({"matchLabels": {"a": "b"}}), json!({"a": "b"}));
    bad["spec"]["replicas"] = json!("three");
    let answer = send(&sim, "POST", DEPLOYMENTS, JSON, &bad).await;
    let (code, reason, text) = message(&answer);
    assert_eq!((code, reason), (400, "BadRequest"));
    assert!(
        text.starts_with("Deployment in version \"v1\" cannot be handled as a Deployment: spec.replicas: invalid type: string \"three\""),
        "{text}"
    );
    let labels =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": [1]}});
    let answer = send(&sim, "POST", CONFIG_MAPS, JSON, &labels).await;
    assert!(
        message(&answer).2.starts_with(
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: metadata.labels:"
        ),
        "{answer:?}"
    );

    let unknown = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "bogus": 1},
        "data": {"a": "1"}, "extra": {"x": 1}});
    let (code, created) = send(&sim, "POST", CONFIG_MAPS, JSON, &unknown).await;
    assert_eq!(code, 201, "{created}");
    assert!(created.get("extra").is_none() && created["metadata"].get("bogus").is_none());
    assert_eq!(created["data"], json!({"a": "1"}));

    let good = deployment("web", json!({"matchLabels": {"a": "b"}}), json!({"a": "b"}));
    assert_eq!(send(&sim, "POST", DEPLOYMENTS, JSON, &good).await.0, 201);
    let item = format!("{DEPLOYMENTS}/web");
    let answer = send(
        &sim,
        "PATCH",
        &item,
        MERGE,
        &json!({"spec": {"replicas": "three"}}),
    )
    .await;
    let (code, reason, text) = message(&answer);
    assert_eq!((code, reason), (422, "Invalid"));
    assert!(
        text.starts_with(" \"\" is invalid: patch: Invalid value: \"{"),
        "{text}"
    );
    assert!(
        text.ends_with(": spec.replicas: invalid type: string \"three\", expected i32"),
        "{text}"
    );
    let (code, patched) = send(&sim, "PATCH", &item, MERGE, &json!({"spec": {"bogus": 1}})).await;
    assert_eq!(code, 200);
    assert!(patched["spec"].get("bogus").is_none());

    let apply = |body: Value| {
        let sim = sim.clone();
        let item = item.clone();
        async move {
            send(
                &sim,
                "PATCH",
                &format!("{item}?fieldManager=t&force=true"),
                "application/apply-patch+yaml",
                &body,
            )
            .await
        }
    };
    let answer = apply(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"bogus": 1}})).await;
    assert_eq!(
        message(&answer),
        (
            500,
            "",
            "failed to create typed patch object: .spec.bogus: field not declared in schema"
        )
    );
    let answer = apply(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": "three"}})).await;
    let (code, _, text) = message(&answer);
    assert_eq!(code, 500);
    assert!(
        text.starts_with("failed to create typed patch object: .spec.replicas: "),
        "{text}"
    );
}

#[tokio::test]
async fn names_follow_their_kinds_rule() {
    let sim = Simulator::new(1);
    let answer = send(
        &sim,
        "POST",
        CONFIG_MAPS,
        JSON,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}}),
    )
    .await;
    assert_eq!(
        message(&answer),
        (
            422,
            "Invalid",
            "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        )
    );
    assert_eq!(answer.1["details"]["causes"][0]["field"], "metadata.name");
    let answer = send(&sim, "POST", "/api/v1/namespaces/default/services", JSON,
        &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1svc"}, "spec": {"ports": [{"port": 80}]}})).await;
    assert_eq!(
        message(&answer).2,
        "Service \"1svc\" is invalid: metadata.name: Invalid value: \"1svc\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
    );
    let answer = send(
        &sim,
        "POST",
        "/api/v1/namespaces",
        JSON,
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}}),
    )
    .await;
    assert_eq!(
        message(&answer).2,
        "Namespace \"a.b\" is invalid: metadata.name: Invalid value: \"a.b\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    );
    let long = "a".repeat(254);
    let answer = send(
        &sim,
        "POST",
        CONFIG_MAPS,
        JSON,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": long}}),
    )
    .await;
    assert_eq!(
        message(&answer).2,
        format!(
            "ConfigMap \"{long}\" is invalid: metadata.name: Invalid value: \"{long}\": must be no more than 253 characters"
        )
    );
}

#[tokio::test]
async fn workload_selectors_must_match_and_never_change() {
    let sim = Simulator::new(1);
    let answer = send(
        &sim,
        "POST",
        DEPLOYMENTS,
        JSON,
        &deployment("d1", json!({"matchLabels": {"a": "b"}}), json!({"a": "c"})),
    )
    .await;
    assert_eq!(
        message(&answer),
        (
            422,
            "Invalid",
            "Deployment.apps \"d1\" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{\"a\":\"c\"}: `selector` does not match template `labels`"
        )
    );
    let answer = send(
        &sim,
        "POST",
        DEPLOYMENTS,
        JSON,
        &deployment("d1", json!({}), json!({"a": "c"})),
    )
    .await;
    assert_eq!(
        message(&answer).2,
        "Deployment.apps \"d1\" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"
    );
    let mut missing = deployment("d1", json!({}), json!({"a": "c"}));
    missing["spec"]
        .as_object_mut()
        .map(|s| s.remove("selector"));
    let answer = send(&sim, "POST", DEPLOYMENTS, JSON, &missing).await;
    assert_eq!(
        message(&answer).2,
        "Deployment.apps \"d1\" is invalid: [spec.selector: Required value, spec.template.metadata.labels: Invalid value: map[string]string{\"a\":\"c\"}: `selector` does not match template `labels`]"
    );
    let answer = send(
        &sim,
        "POST",
        "/apis/apps/v1/namespaces/default/daemonsets",
        JSON,
        &json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "ds"},
            "spec": {"selector": {}, "template": {"metadata": {"labels": {"a": "c"}}}}}),
    )
    .await;
    assert_eq!(
        message(&answer).2,
        "DaemonSet.apps \"ds\" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for daemonset"
    );

    let good = deployment(
        "d2",
        json!({"matchLabels": {"a": "b"}}),
        json!({"a": "b", "x": "y"}),
    );
    assert_eq!(send(&sim, "POST", DEPLOYMENTS, JSON, &good).await.0, 201);
    let item = format!("{DEPLOYMENTS}/d2");
    let answer = send(
        &sim,
        "PATCH",
        &item,
        MERGE,
        &json!({"spec": {"selector": {"matchLabels": {"x": "y"}}}}),
    )
    .await;
    assert_eq!(
        message(&answer),
        (
            422,
            "Invalid",
            "Deployment.apps \"d2\" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"a\":\"b\", \"x\":\"y\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
        )
    );
    let answer = send(
        &sim,
        "PATCH",
        &item,
        MERGE,
        &json!({"spec": {"template": {"metadata": {"labels": {"a": "z"}}}}}),
    )
    .await;
    assert_eq!(
        message(&answer).2,
        "Deployment.apps \"d2\" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{\"a\":\"z\", \"x\":\"y\"}: `selector` does not match template `labels`"
    );
}

#[tokio::test]
async fn immutable_fields_stay_as_created() {
    let sim = Simulator::new(1);
    let services = "/api/v1/namespaces/default/services";
    let (code, svc) = send(
        &sim,
        "POST",
        services,
        JSON,
        &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s1"},
            "spec": {"selector": {"a": "b"}, "ports": [{"port": 80}]}}),
    )
    .await;
    assert_eq!(code, 201);
    let ip = svc["spec"]["clusterIP"]
        .as_str()
        .expect("a cluster IP is allocated")
        .to_string();
    assert_eq!(svc["spec"]["clusterIPs"], json!([ip]));
    assert_eq!(svc["spec"]["type"], "ClusterIP");
    let item = format!("{services}/s1");
    let answer = send(
        &sim,
        "PATCH",
        &item,
        MERGE,
        &json!({"spec": {"clusterIP": "10.0.0.99"}}),
    )
    .await;
    assert_eq!(
        message(&answer),
        (
            422,
            "Invalid",
            "Service \"s1\" is invalid: spec.clusterIPs[0]: Invalid value: []string{\"10.0.0.99\"}: may not change once set"
        )
    );
    let answer = send(
        &sim,
        "PATCH",
        &item,
        MERGE,
        &json!({"spec": {"clusterIP": null}}),
    )
    .await;
    assert_eq!(
        message(&answer).2,
        "Service \"s1\" is invalid: spec.clusterIPs[0]: Invalid value: []string(nil): primary clusterIP can not be unset"
    );
    let answer = send(
        &sim,
        "PATCH",
        &item,
        MERGE,
        &json!({"spec": {"clusterIPs": ["10.0.0.97"]}}),
    )
    .await;
    assert_eq!(
        message(&answer).2,
        "Service \"s1\" is invalid: [spec.clusterIPs[0]: Invalid value: []string{\"10.0.0.97\"}: may not change once set, spec.clusterIPs: Invalid value: []string{\"10.0.0.97\"}: element [0] must match clusterIP]"
    );

    // A Service may not be replaced without a resourceVersion.
    let (_, mut live) = send(&sim, "GET", &item, JSON, &json!({})).await;
    for field in ["clusterIP", "clusterIPs"] {
        live["spec"].as_object_mut().map(|s| s.remove(field));
    }
    live["metadata"]
        .as_object_mut()
        .map(|m| m.remove("resourceVersion"));
    let answer = send(&sim, "PUT", &item, JSON, &live).await;
    assert_eq!(
        message(&answer).2,
        "Service \"s1\" is invalid: [metadata.resourceVersion: Invalid value: \"\": must be specified for an update, spec.clusterIPs[0]: Invalid value: []string(nil): primary clusterIP can not be unset]"
    );

    let jobs = "/apis/batch/v1/namespaces/default/jobs";
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j1"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}});
    assert_eq!(send(&sim, "POST", jobs, JSON, &job).await.0, 201);
    let answer = send(
        &sim,
        "PATCH",
        &format!("{jobs}/j1"),
        "application/strategic-merge-patch+json",
        &json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "y"}]}}}}),
    )
    .await;
    let (code, reason, text) = message(&answer);
    assert_eq!((code, reason), (422, "Invalid"));
    assert!(
        text.starts_with("Job.batch \"j1\" is invalid: spec.template: Invalid value: ")
            && text.ends_with(": field is immutable"),
        "{text}"
    );
    assert_eq!(
        send(
            &sim,
            "PATCH",
            &format!("{jobs}/j1"),
            MERGE,
            &json!({"spec": {"parallelism": 2}})
        )
        .await
        .0,
        200
    );

    let claims = "/api/v1/namespaces/default/persistentvolumeclaims";
    let claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c1"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
    let (code, created) = send(&sim, "POST", claims, JSON, &claim).await;
    assert_eq!(
        (code, &created["status"]),
        (201, &json!({"phase": "Pending"}))
    );
    let answer = send(
        &sim,
        "PATCH",
        &format!("{claims}/c1"),
        MERGE,
        &json!({"spec": {"resources": {"requests": {"storage": "2Gi"}}}}),
    )
    .await;
    let (code, reason, text) = message(&answer);
    assert_eq!((code, reason), (422, "Invalid"));
    assert!(text.starts_with("PersistentVolumeClaim \"c1\" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests for bound claims\n"), "{text}");
    let mut no_modes = claim.clone();
    no_modes["metadata"]["name"] = json!("c2");
    no_modes["spec"]
        .as_object_mut()
        .map(|s| s.remove("accessModes"));
    let answer = send(&sim, "POST", claims, JSON, &no_modes).await;
    assert_eq!(
        message(&answer).2,
        "PersistentVolumeClaim \"c2\" is invalid: spec.accessModes: Required value: at least 1 access mode is required"
    );
}
