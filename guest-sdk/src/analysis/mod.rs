//! Analysis gates for canary and blue-green policies: Argo Rollouts' AnalysisTemplate semantics, run in the guest.
//!
//! An analysis is a list of [`Metric`]s, each a provider and Argo's counters:
//!
//! - providers: `http` (a GET: a non-2xx answer or a timeout is an *error*, not a failure;
//!   an optional JSON path gives the value the conditions test), `prometheus` (an instant
//!   query: the vector's values), `ready` (the target's pods all Ready) and `restarts`
//!   (their containers restarted at most `max` times);
//! - `success-condition` / `failure-condition` in a small [`Condition`] language
//!   (`result[0] < 0.05 && len(result) > 0`), parsed when the metric is read, so a typo
//!   fails the parameter check; with both given, a measurement where neither holds is
//!   inconclusive;
//! - `count` (default 1) measurements `interval` apart (default 30s); the metric fails
//!   when more than `failure-limit` (default 0) fail, is inconclusive when more than
//!   `inconclusive-limit` (default 0) are inconclusive, errors when more than
//!   `consecutive-error-limit` (default 4) in a row are errors, and succeeds after `count`
//!   verdicts otherwise (errors are not verdicts);
//! - `on-empty`: what an empty Prometheus vector ("no values found") counts as:
//!   `inconclusive` (default), `failure` or `success` — never a stall.
//!
//! [`AnalysisRun`] takes the measurements ([`AnalysisRun::run`] to the end,
//! [`AnalysisRun::run_for`] during a timed pause, [`AnalysisRun::measure_due`] at a step
//! boundary), logs each one (`analysis error-rate 3/5: 0.012 < 0.05 ok`), and serializes
//! into a checkpoint. The policy decides what a verdict means: Failed and Error fail the
//! gate, Inconclusive pauses for a person.
//!
//! ```
//! use cutover_guest_sdk::analysis::{AnalysisRun, HttpAnswer, Phase, Probes, Target, metrics_from_json};
//! use cutover_guest_sdk::testing::FakeCluster;
//! use std::time::Duration;
//!
//! struct ErrorRate(f64);
//! impl Probes for ErrorRate {
//!     fn http_get(&self, _: &str, _: Duration, _: Option<&str>) -> Result<HttpAnswer, cutover_guest_sdk::Error> {
//!         unreachable!()
//!     }
//!     fn query_prometheus(&self, _: &str, _: &str, _: Duration) -> Result<Vec<f64>, cutover_guest_sdk::Error> {
//!         Ok(vec![self.0])
//!     }
//! }
//!
//! const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::manifest::Manifest::new("x", "0.1.0", "d", &[], &[]);
//! let fake = FakeCluster::new();
//! let ctx = fake.context(&M, serde_json::json!({}))?;
//! let metrics = metrics_from_json(&serde_json::json!([{
//!     "name": "error-rate",
//!     "prometheus": {"address": "http://prometheus:9090", "query": "sum(rate(errors[1m]))"},
//!     "success-condition": "result[0] < 0.05", "count": 3, "interval": "1m",
//! }]))?;
//! let target = Target { selector: "app=web".into() };
//! let verdict = AnalysisRun::new("analysis", &metrics).run(&ctx, &ErrorRate(0.01), &target, &metrics);
//! assert_eq!(verdict.phase, Phase::Successful);
//! let verdict = AnalysisRun::new("analysis", &metrics).run(&ctx, &ErrorRate(0.31), &target, &metrics);
//! assert_eq!(verdict.message, "analysis error-rate failed: 0.31 >= 0.05 (1 of 1 measurements failed)");
//! # Ok::<(), cutover_guest_sdk::Error>(())
//! ```

mod condition;
mod context_probes;
mod measure;
mod metric;
mod runner;
mod tally;
#[cfg(all(test, not(target_family = "wasm")))]
mod tests;

pub use condition::{Condition, ConditionError};
pub use measure::{HttpAnswer, Probes, Target, measure};
pub use metric::{
    HttpCheck, Metric, OnEmpty, PrometheusQuery, Provider, ReadyGate, RestartsGate,
    metrics_from_json,
};
pub use runner::{AnalysisRun, Verdict};
pub use tally::{Measurement, MetricResult, Phase};
