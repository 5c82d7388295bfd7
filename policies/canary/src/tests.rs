//! The canary's procedure through FakeCluster: weights, pauses, promote, abort, retry, failing analysis, a canary that never becomes ready.

use std::cell::RefCell;
use std::collections::VecDeque;

use cutover_guest_sdk::analysis::HttpAnswer;
use cutover_guest_sdk::testing::FakeCluster;
use cutover_guest_sdk::{Error, Request};
use serde_json::{Value, json};

use super::*;

/// Prometheus answers, one per query, in order.
struct Prometheus(RefCell<VecDeque<f64>>);

impl Prometheus {
    fn answering(values: &[f64]) -> Self {
        Prometheus(RefCell::new(values.iter().copied().collect()))
    }
}

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

/// The stable Deployment: 5 replicas that do not surge, one container.
pub(crate) fn web() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {
            "replicas": 5,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"rollingUpdate": {"maxSurge": 0}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.24"}]},
            },
        },
    })
}

fn error_rate() -> Value {
    json!({
        "name": "error-rate",
        "prometheus": {"address": "http://prometheus:9090", "query": "sum(rate(errors[1m]))"},
        "success-condition": "result[0] < 0.05",
        "count": 3, "interval": "30s",
    })
}

fn params(steps: Value) -> Value {
    json!({"deployment": "web", "image": ["web=nginx:1.25"], "steps": steps})
}

fn replicas(fake: &FakeCluster, name: &str) -> Option<u64> {
    fake.object("apps/v1", "Deployment", Some("shop"), name)
        .and_then(|d| d["spec"]["replicas"].as_u64())
}

fn image(fake: &FakeCluster, name: &str) -> Option<String> {
    fake.object("apps/v1", "Deployment", Some("shop"), name)
        .and_then(|d| d.pointer("/spec/template/spec/containers/0/image").cloned())
        .and_then(|v| v.as_str().map(str::to_string))
}

#[test]
fn happy_path_weights_pause_analysis_promotion() {
    let fake = FakeCluster::new().namespace("shop").with(web());
    let ctx = fake
        .context(
            &POLICY_MANIFEST,
            params(json!([
                {"set-weight": 20},
                {"pause": {"duration": "1m"}},
                {"set-weight": 50},
                {"analysis": {"metrics": [error_rate()]}},
            ])),
        )
        .unwrap();
    assert_eq!(ctx.release(), "canary-web");
    let start = fake.now();
    let summary = run(&ctx, &Prometheus::answering(&[0.01, 0.02, 0.012])).expect("rolls out");
    assert_eq!(
        summary,
        "deployment web promoted to web=nginx:1.25 at 5 replicas; canary removed"
    );
    // The stable has the new image at full size, the canary is gone.
    assert_eq!(replicas(&fake, "web"), Some(5));
    assert_eq!(image(&fake, "web").as_deref(), Some("nginx:1.25"));
    assert!(
        fake.object("apps/v1", "Deployment", Some("shop"), "web-canary")
            .is_none()
    );
    let lines = fake.call_lines();
    // weight 20 of 5: 1 canary, 4 stable; weight 50: 3 canary (the tie goes to the canary), 2 stable.
    let scales: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|c| c.operation == "scale")
        .map(|c| format!("{} {}", c.target, c.body.unwrap()["replicas"]))
        .collect();
    assert_eq!(
        scales,
        [
            "Deployment shop/web-canary 1",
            "Deployment shop/web 4",
            "Deployment shop/web-canary 3",
            "Deployment shop/web 2",
            "Deployment shop/web-canary 0",
        ]
    );
    assert_eq!(
        lines.first().map(String::as_str),
        Some("get Deployment shop/web")
    );
    assert!(lines.contains(&"apply Deployment shop/web-canary".to_string()));
    assert!(lines.contains(&"patch Deployment shop/web".to_string()));
    assert_eq!(
        lines.last().map(String::as_str),
        Some("record the run's revision")
    );
    // The pause (1m) and two analysis intervals (30s each) passed on the run's clock.
    assert_eq!(fake.now().saturating_duration_since(start).as_secs(), 120);
    assert!(
        fake.logs()
            .iter()
            .any(|(_, l)| l == "analysis error-rate 3/3: 0.012 < 0.05 ok")
    );
    let (recorded, description) = &fake.recorded()[0];
    assert_eq!(
        recorded[0]["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.25"
    );
    assert_eq!(description, "canary of web promoted: web=nginx:1.25");
}

#[test]
fn pauses_then_a_promote_continues() {
    let fake = FakeCluster::new().namespace("shop").with(web());
    let steps = json!([{"set-weight": 40}, {"pause": {}}, {"set-weight": 80}]);
    let ctx = fake.context(&POLICY_MANIFEST, params(steps)).unwrap();
    let status = run(&ctx, &Prometheus::answering(&[])).expect("pauses");
    assert_eq!(
        status,
        "paused at step 2 of 3 (weight 40); `cutover promote` continues"
    );
    assert_eq!(fake.paused().as_deref(), Some(status.as_str()));
    assert_eq!(
        (replicas(&fake, "web"), replicas(&fake, "web-canary")),
        (Some(3), Some(2))
    );

    // `cutover promote`: attempt 2 with the checkpoint restored.
    fake.request(Request::Promote);
    let summary = run(&ctx, &Prometheus::answering(&[])).expect("promoted");
    assert!(summary.starts_with("deployment web promoted"), "{summary}");
    assert_eq!(replicas(&fake, "web"), Some(5));
    assert!(
        fake.object("apps/v1", "Deployment", Some("shop"), "web-canary")
            .is_none()
    );
    // Weight 80 of 5 was set before the promotion: 4 canary, 1 stable.
    assert!(
        fake.calls()
            .iter()
            .any(|c| c.target == "Deployment shop/web" && c.body == Some(json!({"replicas": 1})))
    );
}

#[test]
fn abort_returns_to_stable() {
    let fake = FakeCluster::new().namespace("shop").with(web());
    let ctx = fake
        .context(
            &POLICY_MANIFEST,
            params(json!([{"set-weight": 60}, {"pause": {}}])),
        )
        .unwrap();
    run(&ctx, &Prometheus::answering(&[])).expect("pauses");
    assert_eq!(replicas(&fake, "web"), Some(2));
    fake.request(Request::Abort);
    let e = run(&ctx, &Prometheus::answering(&[])).unwrap_err();
    assert!(e.is_aborted());
    assert_eq!(
        e.to_string(),
        "aborted: deployment web is back at 5 replicas of its stable version"
    );
    assert_eq!(replicas(&fake, "web"), Some(5));
    assert_eq!(image(&fake, "web").as_deref(), Some("nginx:1.24"));
    assert!(
        fake.object("apps/v1", "Deployment", Some("shop"), "web-canary")
            .is_none()
    );

    // `cutover retry`: the steps again, from the replica count before the rollout.
    fake.request(Request::Retry);
    let status = run(&ctx, &Prometheus::answering(&[])).expect("pauses again");
    assert!(
        status.starts_with("paused at step 2 of 2 (weight 60)"),
        "{status}"
    );
    assert_eq!(
        (replicas(&fake, "web"), replicas(&fake, "web-canary")),
        (Some(2), Some(3))
    );
}

#[test]
fn a_failing_analysis_aborts_with_the_measurements() {
    let fake = FakeCluster::new().namespace("shop").with(web());
    let mut metric = error_rate();
    metric["failure-limit"] = json!(1);
    let ctx = fake
        .context(
            &POLICY_MANIFEST,
            params(json!([{"set-weight": 20}, {"analysis": {"metrics": [metric]}}, {"set-weight": 100}])),
        )
        .unwrap();
    let e = run(&ctx, &Prometheus::answering(&[0.31, 0.01, 0.4])).unwrap_err();
    assert!(e.is_aborted());
    assert_eq!(
        e.to_string(),
        "analysis error-rate failed: 0.4 >= 0.05 (2 of 3 measurements failed)"
    );
    assert_eq!(replicas(&fake, "web"), Some(5));
    assert_eq!(image(&fake, "web").as_deref(), Some("nginx:1.24"));
    assert!(
        fake.object("apps/v1", "Deployment", Some("shop"), "web-canary")
            .is_none()
    );
}

#[test]
fn an_inconclusive_background_analysis_pauses_for_a_person() {
    let fake = FakeCluster::new().namespace("shop").with(web());
    let mut p =
        params(json!([{"set-weight": 20}, {"pause": {"duration": "2m"}}, {"set-weight": 50}]));
    let mut metric = error_rate();
    metric["count"] = json!(10);
    p["analysis"] = json!([metric]);
    let ctx = fake.context(&POLICY_MANIFEST, p).unwrap();
    // Two good answers, then "no values found".
    let status = run(&ctx, &Prometheus::answering(&[0.01, 0.01])).expect("pauses");
    assert!(
        status.starts_with(
            "background analysis inconclusive: analysis error-rate inconclusive: no values found"
        ),
        "{status}"
    );
    assert_eq!(replicas(&fake, "web-canary"), Some(1));
    let saved: Progress = serde_json::from_str(&fake.checkpoint().unwrap()).unwrap();
    assert!(saved.paused);
}

#[test]
fn a_canary_that_never_becomes_ready_aborts() {
    let fake = FakeCluster::new().namespace("shop").with(web());
    let ctx = fake
        .context(
            &POLICY_MANIFEST,
            params(json!([{"set-weight": 20}, {"pause": {}}])),
        )
        .unwrap();
    fake.respond(
        "wait",
        "Deployment shop/web-canary",
        Err(Error::timeout(
            "deployment web-canary: 0 of 1 replicas available after 10m",
        )),
    );
    let e = run(&ctx, &Prometheus::answering(&[])).unwrap_err();
    assert!(e.is_aborted());
    assert_eq!(
        e.to_string(),
        "deployment web-canary did not become ready within 10m: deployment web-canary: 0 of 1 replicas available after 10m"
    );
    assert_eq!(replicas(&fake, "web"), Some(5));
    assert!(
        fake.object("apps/v1", "Deployment", Some("shop"), "web-canary")
            .is_none()
    );
}

#[test]
fn promote_full_skips_the_remaining_steps() {
    let fake = FakeCluster::new().namespace("shop").with(web());
    let ctx = fake
        .context(
            &POLICY_MANIFEST,
            params(json!([{"set-weight": 20}, {"pause": {}}, {"set-weight": 50}, {"pause": {}}])),
        )
        .unwrap();
    run(&ctx, &Prometheus::answering(&[])).expect("pauses");
    fake.request(Request::PromoteFull);
    run(&ctx, &Prometheus::answering(&[])).expect("promoted");
    assert_eq!(replicas(&fake, "web"), Some(5));
    assert_eq!(image(&fake, "web").as_deref(), Some("nginx:1.25"));
    assert!(
        !fake
            .calls()
            .iter()
            .any(|c| c.operation == "scale" && c.body == Some(json!({"replicas": 3})))
    );
}

#[test]
fn parameters_are_checked_before_any_change() {
    let fake = FakeCluster::new().namespace("shop").with(web());
    let ctx = fake
        .context(&POLICY_MANIFEST, params(json!([{"set-weight": 20}, {"analysis": {"metrics": [{"name": "x", "prometheus": {"address": "http://p:9090", "query": "q"}, "success-condition": "result <"}]}}])))
        .unwrap();
    let e = run(&ctx, &Prometheus::answering(&[])).unwrap_err();
    assert!(e.is_invalid());
    assert!(
        e.to_string()
            .starts_with("step 2: analysis metric \"x\": success-condition: "),
        "{e}"
    );
    assert!(fake.calls().is_empty());
    let ctx = fake
        .context(
            &POLICY_MANIFEST,
            json!({"deployment": "web", "image": ["api=x"]}),
        )
        .unwrap();
    let e = run(&ctx, &Prometheus::answering(&[])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "image: deployment web has no container \"api\""
    );
    assert_eq!(fake.call_lines(), ["get Deployment shop/web"]);
}

#[test]
fn an_http_check_answering_500_is_an_error_until_the_limit_then_aborts() {
    let fake = FakeCluster::new().namespace("shop").with(web());
    let url = "http://web-canary.shop:8080/healthz";
    // The fake repeats its last answer: every check answers 500.
    fake.http(url, 500, json!({"ok": false}));
    let health = json!({"name": "health", "http": {"url": url}, "count": 2, "interval": "10s"});
    let ctx = fake
        .context(
            &POLICY_MANIFEST,
            params(json!([{"set-weight": 20}, {"analysis": {"metrics": [health]}}])),
        )
        .unwrap();
    // Through the Context's own probes, as the host answers them.
    let e = canary(&ctx).unwrap_err();
    assert!(e.is_aborted());
    assert_eq!(
        e.to_string(),
        "analysis health errored: HTTP 500 (5 measurement errors in a row, 5 of 5 in all)"
    );
    let probes = fake
        .call_lines()
        .iter()
        .filter(|l| l.starts_with("probe http GET"))
        .count();
    assert_eq!(probes, 5, "the default consecutive-error-limit is 4");
    assert_eq!(replicas(&fake, "web"), Some(5));
    assert!(
        fake.object("apps/v1", "Deployment", Some("shop"), "web-canary")
            .is_none()
    );
}
