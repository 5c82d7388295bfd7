//! The runner driven through FakeCluster: virtual time, logs, the pod gates, scripted probe answers.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::testing::FakeCluster;
use crate::{Error, Level};

const MANIFEST: crate::manifest::Manifest =
    crate::manifest::Manifest::new("t", "0.1.0", "d", &[], &[]);

/// Answers each query with the next scripted value list (or error).
struct Scripted(RefCell<VecDeque<Result<Vec<f64>, Error>>>);

impl Scripted {
    fn new(answers: Vec<Result<Vec<f64>, Error>>) -> Self {
        Scripted(RefCell::new(answers.into()))
    }
}

impl Probes for Scripted {
    fn http_get(&self, _: &str, _: Duration, _: Option<&str>) -> Result<HttpAnswer, Error> {
        match self.0.borrow_mut().pop_front() {
            Some(Ok(v)) => Ok(HttpAnswer {
                status: v.first().map_or(200, |s| *s as u16),
                value: None,
            }),
            Some(Err(e)) => Err(e),
            None => panic!("an unscripted http check"),
        }
    }
    fn query_prometheus(&self, _: &str, _: &str, _: Duration) -> Result<Vec<f64>, Error> {
        self.0
            .borrow_mut()
            .pop_front()
            .expect("an unscripted query")
    }
}

fn error_rate(extra: Value) -> Vec<Metric> {
    let mut m = json!({
        "name": "error-rate",
        "prometheus": {"address": "http://prometheus:9090", "query": "sum(rate(errors[1m]))"},
        "success-condition": "result[0] < 0.05",
        "count": 3, "interval": "1m",
    });
    m.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    metrics_from_json(&json!([m])).unwrap()
}

fn target() -> Target {
    Target {
        selector: "app=web,cutover.dev/role=canary".into(),
    }
}

#[test]
fn three_good_measurements_a_minute_apart() {
    let fake = FakeCluster::new();
    let ctx = fake.context(&MANIFEST, json!({})).unwrap();
    let start = fake.now();
    let metrics = error_rate(json!({}));
    let probes = Scripted::new(vec![Ok(vec![0.01]), Ok(vec![0.02]), Ok(vec![0.012])]);
    let verdict = AnalysisRun::new("analysis", &metrics).run(&ctx, &probes, &target(), &metrics);
    assert_eq!(verdict.phase, Phase::Successful, "{}", verdict.message);
    assert_eq!(
        verdict.message,
        "error-rate: ok (3 of 3 measurements ok), last 0.012 < 0.05"
    );
    // Two intervals slept, none after the last measurement.
    assert_eq!(fake.now().saturating_duration_since(start).as_secs(), 120);
    let logs: Vec<String> = fake.logs().into_iter().map(|(_, l)| l).collect();
    assert_eq!(
        logs,
        [
            "analysis error-rate 1/3: 0.01 < 0.05 ok",
            "analysis error-rate 2/3: 0.02 < 0.05 ok",
            "analysis error-rate 3/3: 0.012 < 0.05 ok",
        ]
    );
}

#[test]
fn a_failure_over_the_limit_stops_the_analysis() {
    let fake = FakeCluster::new();
    let ctx = fake.context(&MANIFEST, json!({})).unwrap();
    let metrics = error_rate(json!({"failure-limit": 1}));
    let probes = Scripted::new(vec![Ok(vec![0.31]), Ok(vec![0.01]), Ok(vec![0.4])]);
    let verdict = AnalysisRun::new("analysis", &metrics).run(&ctx, &probes, &target(), &metrics);
    assert_eq!(verdict.phase, Phase::Failed);
    assert_eq!(
        verdict.message,
        "analysis error-rate failed: 0.4 >= 0.05 (2 of 3 measurements failed)"
    );
    assert!(
        fake.logs()
            .iter()
            .any(|(l, m)| *l == Level::Warn && m == "analysis error-rate 1/3: 0.31 >= 0.05 failed")
    );
}

#[test]
fn errors_are_retried_until_the_consecutive_limit() {
    let fake = FakeCluster::new();
    let ctx = fake.context(&MANIFEST, json!({})).unwrap();
    let metrics = error_rate(json!({"count": 1, "consecutive-error-limit": 2}));
    let refused = || Err(Error::unavailable("connection refused"));
    // Two errors are tolerated; the third verdict is a success.
    let probes = Scripted::new(vec![refused(), refused(), Ok(vec![0.0])]);
    let verdict = AnalysisRun::new("a", &metrics).run(&ctx, &probes, &target(), &metrics);
    assert_eq!(verdict.phase, Phase::Successful, "{}", verdict.message);
    // Three in a row are an Error phase.
    let probes = Scripted::new(vec![refused(), refused(), refused()]);
    let verdict = AnalysisRun::new("a", &metrics).run(&ctx, &probes, &target(), &metrics);
    assert_eq!(verdict.phase, Phase::Error);
    assert_eq!(
        verdict.message,
        "analysis error-rate errored: connection refused (3 measurement errors in a row, 3 of 3 in all)"
    );
}

#[test]
fn no_values_found_is_inconclusive_not_a_stall() {
    let fake = FakeCluster::new();
    let ctx = fake.context(&MANIFEST, json!({})).unwrap();
    let metrics = error_rate(json!({}));
    let probes = Scripted::new(vec![Ok(vec![])]);
    let mut run = AnalysisRun::new("a", &metrics);
    let verdict = run.run(&ctx, &probes, &target(), &metrics);
    assert_eq!(verdict.phase, Phase::Inconclusive);
    assert_eq!(
        run.status(),
        "error-rate: inconclusive (1 of 1 measurements inconclusive), last no values found"
    );
    let metrics = error_rate(json!({"count": 1, "on-empty": "success"}));
    let probes = Scripted::new(vec![Ok(vec![])]);
    let verdict = AnalysisRun::new("a", &metrics).run(&ctx, &probes, &target(), &metrics);
    assert_eq!(verdict.phase, Phase::Successful);
}

#[test]
fn a_timed_pause_measures_what_falls_due_and_keeps_the_counts() {
    let fake = FakeCluster::new();
    let ctx = fake.context(&MANIFEST, json!({})).unwrap();
    let metrics = error_rate(json!({"count": 5}));
    let probes = Scripted::new(vec![Ok(vec![0.01]), Ok(vec![0.01]), Ok(vec![0.01])]);
    let mut run = AnalysisRun::new("background analysis", &metrics);
    // 2m30s: measurements at 0, 1m, 2m.
    let verdict = run
        .run_for(&ctx, &probes, &target(), &metrics, Duration::from_secs(150))
        .unwrap();
    assert_eq!(verdict.phase, Phase::Running);
    assert_eq!(run.results[0].count, 3);
    // Through a checkpoint and back, the next measurement is still due at 3m.
    let saved = serde_json::to_string(&run).unwrap();
    let mut run: AnalysisRun = serde_json::from_str(&saved).unwrap();
    let probes = Scripted::new(vec![]);
    let verdict = run.measure_due(&ctx, &probes, &target(), &metrics);
    assert_eq!(verdict.phase, Phase::Running);
    assert_eq!(run.results[0].count, 3);
}

fn pod(name: &str, ready: bool, restarts: u32) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default",
                     "labels": {"app": "web", "cutover.dev/role": "canary"}},
        "status": {
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
            "containerStatuses": [{"name": "web", "restartCount": restarts}],
        },
    })
}

#[test]
fn the_pod_gates() {
    let metrics = metrics_from_json(&json!([
        {"name": "ready", "ready": {}},
        {"name": "restarts", "restarts": {"max": 1}},
    ]))
    .unwrap();
    let none = Scripted::new(vec![]);
    let fake = FakeCluster::new()
        .with(pod("web-canary-1", true, 1))
        .with(pod("web-canary-2", true, 0));
    let ctx = fake.context(&MANIFEST, json!({})).unwrap();
    let verdict = AnalysisRun::new("a", &metrics).run(&ctx, &none, &target(), &metrics);
    assert_eq!(verdict.phase, Phase::Successful, "{}", verdict.message);
    assert_eq!(
        verdict.message,
        "ready: ok (1 of 1 measurements ok), last 2 of 2 pods ready; restarts: ok (1 of 1 measurements ok), last 1 restarts <= 1"
    );

    let fake = FakeCluster::new()
        .with(pod("web-canary-1", false, 3))
        .with(pod("web-canary-2", true, 0));
    let ctx = fake.context(&MANIFEST, json!({})).unwrap();
    let verdict = AnalysisRun::new("a", &metrics).run(&ctx, &none, &target(), &metrics);
    assert_eq!(verdict.phase, Phase::Failed);
    assert_eq!(
        verdict.message,
        "analysis ready failed: 1 of 2 pods ready (1 of 1 measurements failed)"
    );
    // No pods at all is not "all ready".
    let fake = FakeCluster::new();
    let ctx = fake.context(&MANIFEST, json!({})).unwrap();
    let verdict = AnalysisRun::new("a", &metrics[..1]).run(&ctx, &none, &target(), &metrics[..1]);
    assert_eq!(verdict.phase, Phase::Failed);
}

#[test]
fn the_deadline_ends_an_analysis_with_an_error() {
    let fake = FakeCluster::new().deadline_after(Duration::from_secs(90));
    let ctx = fake.context(&MANIFEST, json!({})).unwrap();
    let metrics = error_rate(json!({}));
    let probes = Scripted::new(vec![Ok(vec![0.0]), Ok(vec![0.0])]);
    let verdict =
        AnalysisRun::new("step 2 analysis", &metrics).run(&ctx, &probes, &target(), &metrics);
    assert_eq!(verdict.phase, Phase::Error);
    assert_eq!(
        verdict.message,
        "step 2 analysis: the run's deadline came first"
    );
}
