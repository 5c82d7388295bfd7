//! The blue-green procedure through FakeCluster: auto-promotion, pause and promote, abort, a failing post-promotion analysis.

use std::cell::RefCell;
use std::collections::VecDeque;

use cutover_guest_sdk::analysis::HttpAnswer;
use cutover_guest_sdk::testing::FakeCluster;
use cutover_guest_sdk::{Error, Request};
use serde_json::{Value, json};

use super::*;

/// Prometheus answers, one per query, in order.
struct Prometheus(RefCell<VecDeque<f64>>);

impl Probes for Prometheus {
    fn http_get(
        &self,
        _: &str,
        _: std::time::Duration,
        _: Option<&str>,
    ) -> Result<HttpAnswer, Error> {
        Err(Error::unavailable("no http in this test"))
    }
    fn query_prometheus(
        &self,
        _: &str,
        _: &str,
        _: std::time::Duration,
    ) -> Result<Vec<f64>, Error> {
        Ok(self.0.borrow_mut().pop_front().into_iter().collect())
    }
}

fn answers(values: &[f64]) -> Prometheus {
    Prometheus(RefCell::new(values.iter().copied().collect()))
}

/// The active Deployment `web` (uid `u-web`, at revision 1): 3 replicas, one container.
pub(crate) fn web() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "uid": "u-web", "labels": {"app": "web"},
                     "annotations": {"deployment.kubernetes.io/revision": "1"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.24"}]}}},
    })
}

fn cluster() -> FakeCluster {
    let service = |name: &str| {
        json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    };
    FakeCluster::new()
        .namespace("shop")
        .with(web())
        .with(json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-5d8f", "namespace": "shop",
                         "labels": {"app": "web", "pod-template-hash": "5d8f"},
                         "annotations": {"deployment.kubernetes.io/revision": "1"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "u-web", "controller": true}]},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d8f"}}},
        }))
        .with(service("web"))
        .with(service("web-preview"))
}

fn params(extra: Value) -> Value {
    let mut p = json!({"deployment": "web", "active-service": "web", "preview-service": "web-preview",
                       "image": ["web=nginx:1.25"]});
    p.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    p
}

fn selector(fake: &FakeCluster, name: &str) -> Value {
    fake.object("v1", "Service", Some("shop"), name).unwrap()["spec"]["selector"].clone()
}

fn deployments(fake: &FakeCluster) -> Vec<(String, u64)> {
    fake.objects()
        .into_iter()
        .filter(|o| o["kind"] == "Deployment")
        .map(|o| {
            (
                o["metadata"]["name"].as_str().unwrap().to_string(),
                o["spec"]["replicas"].as_u64().unwrap_or(1),
            )
        })
        .collect()
}

fn new_name(fake: &FakeCluster) -> String {
    deployments(fake)
        .into_iter()
        .map(|(n, _)| n)
        .find(|n| n != "web")
        .expect("the new version")
}

#[test]
fn auto_promotion_switches_and_removes_the_old_version() {
    let fake = cluster();
    let ctx = fake.context(&POLICY_MANIFEST, params(json!({}))).unwrap();
    let start = fake.now();
    let summary = run(&ctx, &answers(&[])).expect("promoted");
    let name = new_name(&fake);
    let hash = name.strip_prefix("web-").unwrap().to_string();
    assert_eq!(
        summary,
        format!("service web switched to deployment {name}; deployment web removed")
    );
    assert_eq!(deployments(&fake), [(name.clone(), 3)]);
    assert_eq!(
        selector(&fake, "web"),
        json!({"app": "web", "cutover.dev/version": hash})
    );
    assert_eq!(
        selector(&fake, "web-preview"),
        json!({"app": "web", "cutover.dev/version": hash})
    );
    // The active Service was pinned to the old pods before the new Deployment existed.
    let patches: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|c| c.operation == "patch")
        .map(|c| (c.target, c.body.unwrap()))
        .collect();
    assert_eq!(
        patches[0],
        (
            "Service shop/web".into(),
            json!({"spec": {"selector": {"pod-template-hash": "5d8f"}}})
        )
    );
    // The scale-down delay (30s) passed on the run's clock.
    assert_eq!(fake.now().saturating_duration_since(start).as_secs(), 30);
    let (recorded, _) = &fake.recorded()[0];
    assert_eq!(recorded.as_array().unwrap().len(), 3);
}

#[test]
fn without_auto_promotion_it_pauses_then_promote_switches() {
    let fake = cluster();
    let ctx = fake
        .context(
            &POLICY_MANIFEST,
            params(json!({"auto-promotion-enabled": false, "preview-replica-count": 1})),
        )
        .unwrap();
    let status = run(&ctx, &answers(&[])).expect("pauses");
    let name = new_name(&fake);
    assert_eq!(
        status,
        format!(
            "deployment {name} ready behind service web-preview; `cutover promote` switches service web to it"
        )
    );
    assert_eq!(
        selector(&fake, "web"),
        json!({"app": "web", "pod-template-hash": "5d8f"})
    );
    assert_eq!(
        deployments(&fake),
        [("web".to_string(), 3), (name.clone(), 1)]
    );
    fake.request(Request::Promote);
    run(&ctx, &answers(&[])).expect("promoted");
    assert_eq!(deployments(&fake), [(name, 3)]);
}

#[test]
fn abort_restores_the_services_and_deletes_the_new_version() {
    let fake = cluster();
    let ctx = fake
        .context(
            &POLICY_MANIFEST,
            params(json!({"auto-promotion-enabled": false})),
        )
        .unwrap();
    run(&ctx, &answers(&[])).expect("pauses");
    fake.request(Request::Abort);
    let e = run(&ctx, &answers(&[])).unwrap_err();
    assert!(e.is_aborted());
    assert_eq!(
        e.to_string(),
        "aborted: service web selects deployment web again; the new version is deleted"
    );
    assert_eq!(deployments(&fake), [("web".to_string(), 3)]);
    assert_eq!(selector(&fake, "web"), json!({"app": "web"}));
    assert_eq!(selector(&fake, "web-preview"), json!({"app": "web"}));
}

#[test]
fn a_failing_post_promotion_analysis_switches_back() {
    let fake = cluster();
    let metric = json!({"name": "error-rate", "prometheus": {"address": "http://prometheus:9090", "query": "errors"},
                        "success-condition": "result < 0.05"});
    let ctx = fake
        .context(
            &POLICY_MANIFEST,
            params(json!({"post-promotion-analysis": [metric]})),
        )
        .unwrap();
    let e = run(&ctx, &answers(&[0.5])).unwrap_err();
    assert!(e.is_aborted());
    assert_eq!(
        e.to_string(),
        "analysis error-rate failed: 0.5 >= 0.05 (1 of 1 measurements failed)"
    );
    assert_eq!(deployments(&fake), [("web".to_string(), 3)]);
    assert_eq!(selector(&fake, "web"), json!({"app": "web"}));
    // The switch happened, then the switch back.
    let active_patches = fake
        .calls()
        .into_iter()
        .filter(|c| c.operation == "patch" && c.target == "Service shop/web")
        .count();
    assert_eq!(active_patches, 4);
}

#[test]
fn a_new_version_that_never_becomes_ready_aborts() {
    let fake = cluster();
    let ctx = fake.context(&POLICY_MANIFEST, params(json!({}))).unwrap();
    // The new Deployment's name is its template's hash: learn it from a dry computation.
    let active = Active::from_object(
        &fake
            .object("apps/v1", "Deployment", Some("shop"), "web")
            .unwrap(),
    )
    .unwrap();
    let images = parse_images(&["web=nginx:1.25".to_string()]).unwrap();
    let (_, hash) = active.new_template(&images).unwrap();
    fake.respond(
        "wait",
        &format!("Deployment shop/web-{hash}"),
        Err(Error::timeout("0 of 3 replicas available")),
    );
    let e = run(&ctx, &answers(&[])).unwrap_err();
    assert!(e.is_aborted());
    assert_eq!(
        e.to_string(),
        format!("deployment web-{hash} did not become ready within 10m: 0 of 3 replicas available")
    );
    assert_eq!(deployments(&fake), [("web".to_string(), 3)]);
    assert_eq!(selector(&fake, "web"), json!({"app": "web"}));
}
