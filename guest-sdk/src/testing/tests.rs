//! The fake cluster's own tests: each call's behaviour, scripts, the clock, parameters, and
//! host calls made outside a test context.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::json;

use super::FakeCluster;
use crate::manifest::Manifest;
use crate::{Condition, Context, Error, Level, ListParams, ObjectRef, Patch};

const MANIFEST: Manifest = crate::policy_manifest! {
    name: "resize",
    version: "0.1.0",
    description: "d",
    release: "resize-{name}",
    params: [
        { name: "name", type: "string", required: true },
        { name: "replicas", type: "integer", default: 1, minimum: 0, maximum: 100 },
        { name: "ratio", type: "number", default: 0.5, minimum: 0, maximum: 1 },
        { name: "kind", type: "string", default: "Deployment", enum: ["Deployment", "StatefulSet"] },
        { name: "timeout", type: "duration", default: "5m" },
        { name: "labels", type: "string-list" },
    ],
    capabilities: [],
};

fn pod(ns: &str, name: &str, node: &str, app: &str) -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": app}},
        "spec": {"nodeName": node},
    })
}

fn deployment(name: &str) -> serde_json::Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": {"replicas": 1}})
}

#[test]
fn parameters_get_the_hosts_checks_and_defaults() {
    let fake = FakeCluster::new();
    let ctx = fake
        .context(&MANIFEST, json!({"name": "web", "replicas": 3}))
        .unwrap();
    let params: serde_json::Value = ctx.params().unwrap();
    assert_eq!(
        params,
        json!({"name": "web", "replicas": 3, "ratio": 0.5, "kind": "Deployment", "timeout": "5m"})
    );
    assert_eq!(ctx.release(), "resize-web");
    let refused =
        |params: serde_json::Value| fake.context(&MANIFEST, params).unwrap_err().to_string();
    assert_eq!(refused(json!({})), "missing required parameter `name`");
    assert_eq!(
        refused(json!({"name": "w", "replica": 1})),
        "unknown parameter `replica`: resize takes name, replicas, ratio, kind, timeout, labels"
    );
    assert_eq!(
        refused(json!({"name": "w", "replicas": 101})),
        "parameter `replicas` must be between 0 and 100, not 101"
    );
    assert_eq!(
        refused(json!({"name": "w", "ratio": -0.1})),
        "parameter `ratio` must be between 0 and 1, not -0.1"
    );
    assert_eq!(
        refused(json!({"name": "w", "kind": "ReplicaSet"})),
        "parameter `kind` must be one of Deployment, StatefulSet, not \"ReplicaSet\""
    );
    assert_eq!(
        refused(json!({"name": "w", "replicas": "3"})),
        "parameter `replicas` must be of type integer, not \"3\""
    );
    assert!(
        refused(json!({"name": "w", "timeout": "300"}))
            .starts_with("parameter `timeout` must be a duration")
    );
    assert_eq!(
        refused(json!(["name"])),
        "the parameters must be a JSON object, not [\"name\"]"
    );
}

#[test]
fn typed_calls_act_on_the_objects() {
    let fake = FakeCluster::new().namespace("shop").with(deployment("web"));
    let ctx = fake.context(&MANIFEST, json!({"name": "web"})).unwrap();
    let web: Deployment = ctx.get("web").unwrap();
    assert_eq!(web.spec.replicas, Some(1));
    assert!(ctx.get::<Deployment>("api").unwrap_err().is_not_found());
    assert!(ctx.get_opt::<Deployment>("api").unwrap().is_none());
    ctx.scale::<Deployment>("web", 4).unwrap();
    let patched: Deployment = ctx
        .patch(
            "web",
            &Patch::Json(json!([{"op": "add", "path": "/metadata/labels", "value": {"a": "b"}}])),
        )
        .unwrap()
        .object()
        .unwrap();
    assert_eq!(patched.spec.replicas, Some(4));
    assert_eq!(patched.metadata.labels.unwrap()["a"], "b");
    assert!(
        ctx.patch::<Deployment>("api", &Patch::Merge(json!({})))
            .unwrap_err()
            .is_not_found()
    );
    ctx.delete::<Deployment>("web").unwrap();
    ctx.delete::<Deployment>("web").unwrap();
    assert!(
        fake.object("apps/v1", "Deployment", Some("shop"), "web")
            .is_none()
    );
    assert_eq!(
        fake.call_lines(),
        [
            "get Deployment shop/web",
            "get Deployment shop/api",
            "get Deployment shop/api",
            "scale Deployment shop/web",
            "patch Deployment shop/web",
            "patch Deployment shop/api",
            "delete Deployment shop/web",
            "delete Deployment shop/web",
        ]
    );
    assert_eq!(fake.calls()[3].body, Some(json!({"replicas": 4})));
}

#[test]
fn apply_creates_then_merges() {
    let fake = FakeCluster::new().namespace("shop");
    let ctx = fake.context(&MANIFEST, json!({"name": "web"})).unwrap();
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
    let stored = ctx.apply_dynamic(&cm).unwrap().json().unwrap();
    assert_eq!(stored["metadata"]["namespace"], "shop");
    let uid = stored["metadata"]["uid"].clone();
    ctx.apply_dynamic(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"b": "2"}}))
        .unwrap();
    let now = fake.object("v1", "ConfigMap", Some("shop"), "c").unwrap();
    assert_eq!(now["data"], json!({"a": "1", "b": "2"}));
    assert_eq!(now["metadata"]["uid"], uid);
}

#[test]
fn lists_filter_by_namespace_and_selectors() {
    let fake = FakeCluster::new()
        .namespace("shop")
        .with(pod("shop", "web-1", "n1", "web"))
        .with(pod("shop", "web-2", "n2", "web"))
        .with(pod("kube-system", "proxy", "n1", "proxy"));
    let ctx = fake.context(&MANIFEST, json!({"name": "web"})).unwrap();
    let names = |params: ListParams| -> Vec<String> {
        ctx.list::<Pod>(&params)
            .unwrap()
            .into_iter()
            .filter_map(|p| p.metadata.name)
            .collect()
    };
    assert_eq!(names(ListParams::default()), ["web-1", "web-2"]);
    assert_eq!(
        names(
            ListParams::default()
                .all_namespaces()
                .fields("spec.nodeName=n1")
        ),
        ["proxy", "web-1"]
    );
    assert_eq!(
        names(ListParams::default().all_namespaces().labels("app!=web")),
        ["proxy"]
    );
    assert_eq!(
        names(
            ListParams::default()
                .in_namespace("kube-system")
                .labels("app")
        ),
        ["proxy"]
    );
    let set_based = ctx
        .list::<Pod>(&ListParams::default().labels("app in (web)"))
        .unwrap_err();
    assert!(set_based.is_invalid(), "{set_based}");
    assert_eq!(fake.call_lines()[1], "list Pod in all namespaces");
}

#[test]
fn nodes_are_cluster_scoped_and_evictions_remove_pods() {
    let fake = FakeCluster::new()
        .with(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}))
        .with(pod("shop", "web-1", "n1", "web"));
    let ctx = fake.context(&MANIFEST, json!({"name": "web"})).unwrap();
    ctx.cordon("n1").unwrap();
    let node: Node = ctx.get("n1").unwrap();
    assert_eq!(node.spec.and_then(|s| s.unschedulable), Some(true));
    ctx.uncordon("n1").unwrap();
    assert_eq!(
        fake.object("v1", "Node", None, "n1").unwrap()["spec"]["unschedulable"],
        false
    );
    assert!(ctx.cordon("n2").unwrap_err().is_not_found());
    ctx.evict("shop", "web-1", Duration::from_secs(60)).unwrap();
    assert!(fake.object("v1", "Pod", Some("shop"), "web-1").is_none());
    assert_eq!(fake.calls()[4].body, Some(json!({"timeoutMs": 60_000})));
}

#[test]
fn waits_are_met_or_time_out_on_the_virtual_clock() {
    let fake = FakeCluster::new()
        .namespace("shop")
        .with(deployment("web"))
        .with(pod("shop", "web-1", "n1", "web"));
    let ctx = fake.context(&MANIFEST, json!({"name": "web"})).unwrap();
    let start = fake.now();
    let seen: Option<Deployment> = ctx
        .wait("web", &Condition::RolledOut, Duration::from_secs(60))
        .unwrap()
        .object()
        .unwrap();
    assert!(seen.is_some());
    ctx.wait::<Deployment>(
        "web",
        &Condition::field("/spec/replicas", 1),
        Duration::from_secs(1),
    )
    .unwrap();
    assert_eq!(fake.now(), start);
    let e = ctx
        .wait_in::<Pod>(
            "shop",
            "web-1",
            &Condition::Deleted,
            Duration::from_secs(30),
        )
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert_eq!(
        fake.now().saturating_duration_since(start),
        Duration::from_secs(30)
    );
    let gone: Option<Pod> = ctx
        .wait_in(
            "shop",
            "web-2",
            &Condition::Deleted,
            Duration::from_secs(30),
        )
        .unwrap()
        .object()
        .unwrap();
    assert!(gone.is_none());
    ctx.wait_in::<Pod>(
        "shop",
        "web-1",
        &Condition::DeletedUid("another".into()),
        Duration::from_secs(1),
    )
    .unwrap();
    // Past the deadline: the clock stops there, and the error says so.
    let e = ctx
        .wait::<Deployment>(
            "web",
            &Condition::field("/spec/replicas", 9),
            Duration::from_secs(3600),
        )
        .unwrap_err();
    assert!(e.reason().contains("deadline"), "{e}");
    assert_eq!(fake.now(), fake.deadline());
}

#[test]
fn wait_current_is_met_when_every_target_exists_and_is_scriptable() {
    let fake = FakeCluster::new().namespace("shop").with(deployment("web"));
    let ctx = fake.context(&MANIFEST, json!({"name": "web"})).unwrap();
    let web = ObjectRef::of::<Deployment>("web");
    let db = ObjectRef::new("apps/v1", "StatefulSet", "db").in_namespace("data");
    ctx.wait_current(std::slice::from_ref(&web), Duration::from_secs(60))
        .unwrap();
    let start = fake.now();
    let e = ctx
        .wait_current(&[web.clone(), db.clone()], Duration::from_secs(30))
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert!(e.reason().contains("StatefulSet data/db (NotFound)"), "{e}");
    assert!(!e.reason().contains("shop/web"), "{e}");
    assert_eq!(
        fake.now().saturating_duration_since(start),
        Duration::from_secs(30)
    );
    fake.respond(
        "wait-current",
        "2 objects",
        Err(Error::aborted(
            "Deployment shop/web is Failed: progress deadline exceeded",
        )),
    );
    let e = ctx
        .wait_current(&[web, db], Duration::from_secs(30))
        .unwrap_err();
    assert!(e.is_aborted(), "{e}");
    assert_eq!(
        fake.call_lines(),
        [
            "wait-current 1 objects",
            "wait-current 2 objects",
            "wait-current 2 objects"
        ]
    );
    assert_eq!(
        fake.calls()[1].body,
        Some(json!({
            "targets": ["Deployment shop/web", "StatefulSet data/db"],
            "timeoutMs": 30_000,
        }))
    );
}

#[test]
fn scripted_answers_replace_the_fakes_once_or_always() {
    let fake = FakeCluster::new().namespace("shop").with(deployment("web"));
    let ctx = fake.context(&MANIFEST, json!({"name": "web"})).unwrap();
    fake.respond(
        "get",
        "Deployment shop/web",
        Err(Error::unavailable("down")),
    );
    assert!(ctx.get::<Deployment>("web").unwrap_err().is_unavailable());
    assert!(ctx.get::<Deployment>("web").is_ok());
    fake.respond_always("evict", "*", Err(Error::timeout("budget")));
    for _ in 0..2 {
        assert!(
            ctx.evict("shop", "x", Duration::from_secs(1))
                .unwrap_err()
                .is_timeout()
        );
    }
    fake.respond("wait", "*", Ok(json!({"metadata": {"name": "scripted"}})));
    let seen = ctx.wait_dynamic(
        &ObjectRef::new("apps/v1", "Deployment", "web"),
        &Condition::Ready,
        Duration::from_secs(1),
    );
    assert_eq!(
        seen.unwrap().json().unwrap()["metadata"]["name"],
        "scripted"
    );
    fake.respond("list", "*", Ok(json!({"not": "an array"})));
    assert!(
        ctx.list::<Pod>(&ListParams::default())
            .unwrap_err()
            .is_invalid()
    );
}

#[test]
fn a_dry_run_changes_nothing() {
    let fake = FakeCluster::new().dry_run(true).with(deployment("web"));
    let ctx = fake.context(&MANIFEST, json!({"name": "web"})).unwrap();
    assert!(ctx.dry_run());
    ctx.scale::<Deployment>("web", 9).unwrap();
    ctx.delete::<Deployment>("web").unwrap();
    ctx.wait::<Deployment>("web", &Condition::Deleted, Duration::from_secs(9))
        .unwrap();
    assert_eq!(
        fake.object("apps/v1", "Deployment", Some("default"), "web")
            .unwrap()["spec"]["replicas"],
        1
    );
    // As the host: a dry run reads the stored history (it has no revision of its own).
    assert!(ctx.revisions().unwrap().is_empty());
}

#[test]
fn runtime_calls_are_kept_and_the_clock_is_virtual() {
    let fake = FakeCluster::new().deadline_after(Duration::from_secs(60));
    let ctx = fake.context(&MANIFEST, json!({"name": "web"})).unwrap();
    ctx.info("one");
    crate::warn!("two {}", 2);
    ctx.progress(1, 2, "half");
    assert_eq!(
        fake.logs(),
        [
            (Level::Info, "one".to_string()),
            (Level::Warn, "two 2".to_string())
        ]
    );
    assert_eq!(fake.progress(), [(1, 2, "half".to_string())]);
    let start = ctx.now();
    assert!(ctx.sleep(Duration::from_secs(20)));
    assert_eq!(
        ctx.now().saturating_duration_since(start),
        Duration::from_secs(20)
    );
    assert!(
        !ctx.sleep(Duration::from_secs(60)),
        "cut short by the deadline"
    );
    assert_eq!(ctx.now(), ctx.deadline());
    ctx.checkpoint(&json!({"step": 2})).unwrap();
    assert_eq!(
        ctx.restore::<serde_json::Value>().unwrap(),
        Some(json!({"step": 2}))
    );
    assert!(
        ctx.checkpoint(&"x".repeat(2 << 20))
            .unwrap_err()
            .is_invalid()
    );
    ctx.record(&[deployment("web")], "scaled").unwrap();
    assert_eq!(fake.recorded()[0].1, "scaled");
    assert_eq!(
        fake.call_lines(),
        [
            "checkpoint the run's revision",
            "checkpoint the run's revision",
            "record the run's revision",
        ]
    );
    assert!(ctx.revision(1).unwrap_err().is_not_found());
}

#[test]
fn outside_a_test_context_host_calls_fail_clearly() {
    // A thread with no fake cluster, as a test that never made one.
    std::thread::spawn(|| {
        let ctx = Context::new("r", "default", "{}", false);
        let e = ctx.get::<Pod>("web-1").unwrap_err();
        assert!(e.is_unavailable());
        assert!(
            e.reason().contains("no cutover host in a native build"),
            "{e}"
        );
        assert!(e.reason().contains("FakeCluster::context"), "{e}");
        assert!(ctx.cordon("n1").unwrap_err().is_unavailable());
        assert!(ctx.restore::<serde_json::Value>().unwrap().is_none());
        ctx.info("goes to stderr");
        let now = std::panic::catch_unwind(|| ctx.now()).unwrap_err();
        let message = now.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            message.starts_with("ctx.now: there is no cutover host"),
            "{message}"
        );
    })
    .join()
    .unwrap();
}

#[test]
fn chart_values_are_taken_as_given() {
    const CHART: Manifest = crate::policy_manifest! {
        name: "atomic",
        version: "0.1.0",
        description: "d",
        chart_values: true,
        params: [],
        capabilities: [],
    };
    let fake = FakeCluster::new();
    let values = json!({"replicaCount": 2, "image": {"tag": "1.27"}, "list": [1, "a"]});
    let ctx = fake.context(&CHART, values.clone()).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(ctx.params_json()).unwrap(),
        values
    );
    // Without chart values, the same names are unknown parameters.
    assert!(fake.context(&MANIFEST, json!({"replicaCount": 2})).is_err());
}

#[test]
fn records_requests_and_pauses() {
    use crate::Request;
    const M: Manifest = Manifest::new("canary", "0.1.0", "d", &[], &[]);
    let fake = FakeCluster::new();
    let ctx = fake.context(&M, json!({})).unwrap();
    assert_eq!(ctx.requested(), Request::Start);
    assert_eq!(fake.paused(), None);
    ctx.pause("step 1: weight 20%").unwrap();
    ctx.pause("step 2: weight 40%").unwrap();
    assert_eq!(fake.paused().as_deref(), Some("step 2: weight 40%"));
    assert_eq!(fake.call_lines(), ["pause", "pause"]);
    assert_eq!(fake.calls()[1].body, Some(json!("step 2: weight 40%")));
    fake.request(Request::PromoteFull);
    assert_eq!(ctx.requested(), Request::PromoteFull);
    let long = "é".repeat(3000);
    ctx.pause(&long).unwrap();
    let kept = fake.paused().unwrap();
    assert!(
        kept.len() <= 4096 && long.starts_with(&kept),
        "{}",
        kept.len()
    );
}

#[test]
fn a_dry_run_cannot_pause() {
    const M: Manifest = Manifest::new("canary", "0.1.0", "d", &[], &[]);
    let fake = FakeCluster::new().dry_run(true);
    let ctx = fake.context(&M, json!({})).unwrap();
    assert!(ctx.pause("step 1").unwrap_err().is_invalid());
    assert_eq!(fake.paused(), None);
}

#[test]
fn probes_answer_as_the_host_would() {
    let fake = FakeCluster::new();
    let ctx = fake.context(&MANIFEST, json!({"name": "web"})).unwrap();
    let url = "http://web-canary.shop:8080/healthz";
    fake.http(
        url,
        200,
        json!({"checks": [{"ok": true}, {"ok": false}], "big": "x".repeat(5000)}),
    );
    let all = crate::HttpRequest::get(url).with_json_path("{$.checks[*].ok}");
    let answer = ctx.http_get(&all).unwrap();
    assert_eq!(answer.value, Some(json!([true, false])));
    assert_eq!(answer.body.len(), 4 << 10, "the body is cut to 4 KiB");
    let small = crate::HttpRequest::get(url).with_max_bytes(100);
    assert!(ctx.http_get(&small).unwrap_err().is_invalid());
    let missing = crate::HttpRequest::get(url).with_json_path("status.ready");
    assert_eq!(ctx.http_get(&missing).unwrap().value, None);
    let bad_path = crate::HttpRequest::get(url).with_json_path("$[?(");
    assert!(ctx.http_get(&bad_path).unwrap_err().is_invalid());
    fake.http_error(url, Error::unavailable("connection refused"));
    // The queue's earlier answer is used up once a later one is scripted.
    assert!(ctx.http_get(&all).is_ok());
    assert!(ctx.http_get(&all).unwrap_err().is_unavailable());

    fake.prometheus_sequence("up", [1.0, 0.0]);
    let ask = || ctx.query_prometheus("http://prom:9090", "up", Duration::from_secs(1));
    assert_eq!(ask().unwrap()[0].value, 1.0);
    assert_eq!(ask().unwrap()[0].value, 0.0);
    fake.prometheus("absent", []);
    let none = ctx.query_prometheus("http://prom:9090", "absent", Duration::from_secs(1));
    assert_eq!(none.unwrap(), []);
    let unscripted = ctx
        .query_prometheus("http://prom:9090", "rate(x[1m])", Duration::from_secs(1))
        .unwrap_err();
    assert!(unscripted.is_unavailable());
    assert!(
        unscripted.reason().contains("probe prometheus rate(x[1m])"),
        "{unscripted}"
    );
    let lines = fake.call_lines();
    assert_eq!(lines[0], format!("probe http GET {url}"));
    assert_eq!(lines.last().unwrap(), "probe prometheus rate(x[1m])");
    assert_eq!(
        fake.calls()[0].body,
        Some(json!({"timeoutMs": 10_000, "maxBytes": 65_536, "jsonPath": "{$.checks[*].ok}"}))
    );
}
