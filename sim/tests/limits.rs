//! The simulator's bounds (sim/src/limits.rs), each checked through both ways in: the
//! in-process `kube::Client` and `cutover sim serve` over HTTP. A request over a bound gets the
//! API server's answer and changes nothing; a request at the bound is served.

use std::time::Duration;

use cutover_sim::Simulator;
use cutover_sim::limits::{MAX_BODY_BYTES, MAX_JSON_PATCH_OPERATIONS, MAX_NESTING_DEPTH};
use cutover_sim::serve::{Server, write_kubeconfig};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{Value, json};

/// One way into a fresh simulator.
struct Target {
    name: &'static str,
    sim: Simulator,
    client: Client,
    _server: Option<Server>,
}

async fn in_process() -> Target {
    let sim = Simulator::new(1);
    Target {
        name: "in process",
        client: sim.client(),
        sim,
        _server: None,
    }
}

async fn over_http() -> Target {
    let sim = Simulator::new(1);
    let server = Server::bind(sim.clone(), 0).await.unwrap();
    let path = std::env::temp_dir().join(format!(
        "cutover-sim-limits-{}-{}.kubeconfig",
        std::process::id(),
        server.local_addr().port()
    ));
    write_kubeconfig(&path, &server.url()).unwrap();
    let kubeconfig = Kubeconfig::read_from(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    Target {
        name: "over HTTP",
        client: Client::try_from(config).unwrap(),
        sim,
        _server: Some(server),
    }
}

async fn targets() -> [Target; 2] {
    [in_process().await, over_http().await]
}

/// Sends a raw request; returns the status code and the body as JSON.
async fn send(
    client: &Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(kube::client::Body::from(body))
        .unwrap();
    let response = client.send(request).await.expect("the request is answered");
    let code = response.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let value =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes)));
    (code, value)
}

/// `(code, reason, message)` of a `Status`; the reason is `None` when absent.
fn status(answer: &(u16, Value)) -> (u16, Option<&str>, &str) {
    (
        answer.0,
        answer.1["reason"].as_str(),
        answer.1["message"].as_str().unwrap_or(""),
    )
}

const CONFIG_MAPS: &str = "/api/v1/namespaces/default/configmaps";

fn config_map(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"a": "1"}})).unwrap()
}

/// `levels` nested arrays around a 1.
fn nested(levels: usize) -> String {
    format!("{}1{}", "[".repeat(levels), "]".repeat(levels))
}

/// A ConfigMap body nested `depth` levels deep in all (its own object is the first level), the
/// nesting in `metadata.managedFields[0].fieldsV1`: free-form JSON, which the decoder keeps (it
/// drops unknown fields, as kube-apiserver does).
fn deep_config_map(name: &str, depth: usize) -> Vec<u8> {
    format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}","managedFields":[{{"manager":"t","fieldsV1":{}}}]}}}}"#,
        nested(depth - 4)
    )
    .into_bytes()
}

#[tokio::test]
async fn request_bodies_over_three_mebibytes_get_413_and_change_nothing() {
    for t in targets().await {
        let at_limit = {
            let head =
                r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"full"},"data":{"a":""#;
            let tail = r#""}}"#;
            let fill = "x".repeat(MAX_BODY_BYTES - head.len() - tail.len());
            format!("{head}{fill}{tail}").into_bytes()
        };
        assert_eq!(at_limit.len(), MAX_BODY_BYTES);
        let created = send(&t.client, "POST", CONFIG_MAPS, "application/json", at_limit).await;
        assert_eq!(
            created.0, 201,
            "{}: a body of exactly 3 MiB is read",
            t.name
        );

        let cms: Api<ConfigMap> = Api::default_namespaced(t.client.clone());
        let mut big = config_map("big");
        big.data = Some([("a".to_string(), "x".repeat(MAX_BODY_BYTES))].into());
        let rv = t.sim.store().resource_version();
        let err = cms.create(&PostParams::default(), &big).await.unwrap_err();
        let kube::Error::Api(s) = err else {
            panic!("{}: {err:?}", t.name)
        };
        assert_eq!(
            (s.code, s.reason.as_str(), s.message.as_str()),
            (
                413,
                "RequestEntityTooLarge",
                "Request entity too large: limit is 3145728"
            ),
            "{}",
            t.name
        );
        assert_eq!(
            t.sim.store().resource_version(),
            rv,
            "{}: nothing written",
            t.name
        );

        // Every verb that carries a body: a patch and a replace too.
        cms.create(&PostParams::default(), &config_map("small"))
            .await
            .unwrap();
        let patch = json!({"data": {"b": "x".repeat(MAX_BODY_BYTES)}});
        let err = cms
            .patch("small", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, kube::Error::Api(s) if s.code == 413),
            "{}: {err:?}",
            t.name
        );
        let err = cms
            .replace("small", &PostParams::default(), &big)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, kube::Error::Api(s) if s.code == 413),
            "{}: {err:?}",
            t.name
        );
        assert_eq!(
            cms.get("small").await.unwrap().data,
            config_map("small").data
        );
    }
}

#[tokio::test]
async fn json_patches_of_more_than_ten_thousand_operations_get_413() {
    for t in targets().await {
        let cms: Api<ConfigMap> = Api::default_namespaced(t.client.clone());
        cms.create(&PostParams::default(), &config_map("many"))
            .await
            .unwrap();
        let ops = |n: usize| -> json_patch::Patch {
            serde_json::from_value(Value::Array(
                (0..n)
                    .map(|i| json!({"op": "add", "path": format!("/data/k{i}"), "value": "v"}))
                    .collect(),
            ))
            .unwrap()
        };
        let pp = PatchParams::default();
        let err = cms
            .patch(
                "many",
                &pp,
                &Patch::Json::<()>(ops(MAX_JSON_PATCH_OPERATIONS + 1)),
            )
            .await
            .unwrap_err();
        let kube::Error::Api(s) = err else {
            panic!("{}: {err:?}", t.name)
        };
        assert_eq!(
            (s.code, s.reason.as_str(), s.message.as_str()),
            (
                413,
                "RequestEntityTooLarge",
                "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001"
            ),
            "{}",
            t.name
        );
        assert_eq!(cms.get("many").await.unwrap().data.unwrap().len(), 1);
        let patched = cms
            .patch(
                "many",
                &pp,
                &Patch::Json::<()>(ops(MAX_JSON_PATCH_OPERATIONS)),
            )
            .await
            .unwrap();
        assert_eq!(patched.data.unwrap().len(), MAX_JSON_PATCH_OPERATIONS + 1);
    }
}

#[tokio::test]
async fn json_patch_copies_are_bounded_like_the_api_servers() {
    for t in targets().await {
        let cms: Api<ConfigMap> = Api::default_namespaced(t.client.clone());
        let mut cm = config_map("copies");
        cm.data = Some([("a".to_string(), "x".repeat(600 * 1024))].into());
        cms.create(&PostParams::default(), &cm).await.unwrap();
        // Six copies of 600 KiB are more than the 3 MiB json-patch may copy.
        let copies: json_patch::Patch = serde_json::from_value(Value::Array(
            (0..6)
                .map(|i| json!({"op": "copy", "from": "/data/a", "path": format!("/data/b{i}")}))
                .collect(),
        ))
        .unwrap();
        let answer = send(
            &t.client,
            "PATCH",
            &format!("{CONFIG_MAPS}/copies"),
            "application/json-patch+json",
            serde_json::to_vec(&copies).unwrap(),
        )
        .await;
        assert_eq!(
            status(&answer),
            (
                422,
                Some("Invalid"),
                "the server rejected our request due to an error in our request"
            ),
            "{}",
            t.name
        );
        assert_eq!(answer.1["details"], json!({}), "{}", t.name);
        assert_eq!(cms.get("copies").await.unwrap().data.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn json_nested_deeper_than_the_bound_gets_the_decoders_answer() {
    let too_deep = MAX_NESTING_DEPTH + 1;
    for t in targets().await {
        let c = &t.client;
        let at_bound = send(
            c,
            "POST",
            CONFIG_MAPS,
            "application/json",
            deep_config_map("at", MAX_NESTING_DEPTH),
        )
        .await;
        assert_eq!(at_bound.0, 201, "{}: {}", t.name, at_bound.1);

        let create = send(
            c,
            "POST",
            CONFIG_MAPS,
            "application/json",
            deep_config_map("over", too_deep),
        )
        .await;
        assert_eq!(
            status(&create),
            (
                400,
                Some("BadRequest"),
                "the object provided is unrecognized (must be of type ConfigMap): couldn't get \
                 version/kind; json parse error: invalid character '[' exceeded max depth \
                 ({\"apiVersion\":\"v1\",\"kind\":\"Con ...)"
            ),
            "{}",
            t.name
        );
        let replace = send(
            c,
            "PUT",
            &format!("{CONFIG_MAPS}/at"),
            "application/json",
            deep_config_map("at", too_deep),
        )
        .await;
        assert_eq!(replace.0, 400, "{}: {}", t.name, replace.1);

        let item = format!("{CONFIG_MAPS}/at");
        let json_patch = format!(
            r#"[{{"op":"add","path":"/y","value":{}}}]"#,
            nested(too_deep - 2)
        );
        let strategic = format!(r#"{{"y":{}}}"#, nested(too_deep - 1));
        for (content_type, body) in [
            ("application/json-patch+json", json_patch),
            ("application/strategic-merge-patch+json", strategic.clone()),
        ] {
            let answer = send(c, "PATCH", &item, content_type, body.into_bytes()).await;
            assert_eq!(
                status(&answer),
                (
                    400,
                    Some("BadRequest"),
                    "invalid character '[' exceeded max depth"
                ),
                "{} {content_type}",
                t.name
            );
        }
        // kube-apiserver 1.20 answers an undecodable merge patch with a bare 500.
        let answer = send(
            c,
            "PATCH",
            &item,
            "application/merge-patch+json",
            strategic.clone().into_bytes(),
        )
        .await;
        assert_eq!(
            status(&answer),
            (500, None, "Invalid JSON Patch"),
            "{}",
            t.name
        );
        let apply = format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"at"}},"y":{}}}"#,
            nested(too_deep - 1)
        );
        let answer = send(
            c,
            "PATCH",
            &format!("{item}?fieldManager=t"),
            "application/apply-patch+yaml",
            apply.into_bytes(),
        )
        .await;
        assert_eq!(
            status(&answer),
            (
                400,
                Some("BadRequest"),
                "error decoding YAML: error converting YAML to JSON: yaml: exceeded max depth of 100"
            ),
            "{}",
            t.name
        );
        // A JSON patch may not build what a body could not hold: a value placed too deep.
        let deeper = format!(
            r#"[{{"op":"add","path":"/metadata/managedFields/0/fieldsV1/0/y","value":{}}}]"#,
            nested(MAX_NESTING_DEPTH - 3)
        );
        let answer = send(
            c,
            "PATCH",
            &item,
            "application/json-patch+json",
            deeper.into_bytes(),
        )
        .await;
        assert_eq!(answer.0, 422, "{}: {}", t.name, answer.1);

        // Far beyond the bound is answered the same way, without walking the nesting.
        let huge = send(
            c,
            "POST",
            CONFIG_MAPS,
            "application/json",
            deep_config_map("huge", 200_000),
        )
        .await;
        assert_eq!(huge.0, 400, "{}", t.name);
        let huge_merge = format!(r#"{{"y":{}}}"#, nested(200_000));
        let answer = send(
            c,
            "PATCH",
            &item,
            "application/merge-patch+json",
            huge_merge.into_bytes(),
        )
        .await;
        assert_eq!(answer.0, 500, "{}", t.name);
        let huge_yaml = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: at}}\ny: {}\n",
            nested(200_000)
        );
        let answer = send(
            c,
            "PATCH",
            &format!("{item}?fieldManager=t"),
            "application/apply-patch+yaml",
            huge_yaml.into_bytes(),
        )
        .await;
        assert_eq!(answer.0, 400, "{}: {}", t.name, answer.1);

        // The object at the bound is as it was created.
        let stored = t
            .sim
            .store()
            .get(
                cutover_sim::kinds::find("", "v1", "configmaps").unwrap(),
                "default",
                "at",
            )
            .unwrap();
        assert_eq!(cutover_sim::limits::depth(&stored), MAX_NESTING_DEPTH);
        assert!(stored.get("y").is_none());
    }
}

#[tokio::test]
async fn a_long_ownership_chain_is_collected_without_recursion() {
    let t = in_process().await;
    let kind = cutover_sim::kinds::find("", "v1", "configmaps").unwrap();
    let store = t.sim.store();
    store.set_history_limit(100_000);
    let mut owner = store
        .create(
            kind,
            "default",
            json!({"metadata": {"name": "link-0"}}),
            false,
        )
        .unwrap();
    const LINKS: usize = 20_000;
    for i in 1..LINKS {
        let reference = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"]});
        owner = store
            .create(
                kind,
                "default",
                json!({"metadata": {"name": format!("link-{i}"), "ownerReferences": [reference]}}),
                false,
            )
            .unwrap();
    }
    let cms: Api<ConfigMap> = Api::default_namespaced(t.client.clone());
    cms.delete("link-0", &DeleteParams::default())
        .await
        .unwrap();
    let left = cms.list(&Default::default()).await.unwrap().items;
    assert!(left.is_empty(), "{} links left", left.len());
    // Each link was deleted once: one DELETED event per object.
    let (events, _) = store.watch(kind, Some(0)).unwrap();
    let deleted = events
        .iter()
        .filter(|e| e.event_type == cutover_sim::EventType::Deleted)
        .count();
    assert_eq!(deleted, LINKS);
}

#[tokio::test]
async fn an_object_owned_twice_is_deleted_once() {
    let t = in_process().await;
    let kind = cutover_sim::kinds::find("", "v1", "configmaps").unwrap();
    let store = t.sim.store();
    let reference = |o: &Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "name": o["metadata"]["name"], "uid": o["metadata"]["uid"]});
    let a = store
        .create(kind, "default", json!({"metadata": {"name": "a"}}), false)
        .unwrap();
    let b = store
        .create(
            kind,
            "default",
            json!({"metadata": {"name": "b", "ownerReferences": [reference(&a)]}}),
            false,
        )
        .unwrap();
    store
        .create(
            kind,
            "default",
            json!({"metadata": {"name": "c", "ownerReferences": [reference(&a), reference(&b)]}}),
            false,
        )
        .unwrap();
    let start = store.resource_version();
    let cms: Api<ConfigMap> = Api::default_namespaced(t.client.clone());
    cms.delete("a", &DeleteParams::default()).await.unwrap();
    let (events, _) = store.watch(kind, Some(start)).unwrap();
    let mut deleted: Vec<&str> = events
        .iter()
        .filter(|e| e.event_type == cutover_sim::EventType::Deleted)
        .map(|e| e.object["metadata"]["name"].as_str().unwrap())
        .collect();
    deleted.sort();
    assert_eq!(deleted, ["a", "b", "c"]);
}

/// kube-rs refuses to read JSON nested 128 levels or more: a list of objects at the bound
/// (two levels deeper than the objects) is still readable.
#[tokio::test]
async fn lists_of_objects_at_the_bound_stay_readable_by_kube() {
    for t in targets().await {
        let answer = send(
            &t.client,
            "POST",
            CONFIG_MAPS,
            "application/json",
            deep_config_map("deep", MAX_NESTING_DEPTH),
        )
        .await;
        assert_eq!(answer.0, 201, "{}", t.name);
        let cms: Api<DynamicObject> =
            Api::default_namespaced_with(t.client.clone(), &ApiResource::erase::<ConfigMap>(&()));
        let listed = tokio::time::timeout(Duration::from_secs(10), cms.list(&Default::default()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(listed.items.len(), 1, "{}", t.name);
    }
}
