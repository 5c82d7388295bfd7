//! One measurement of one metric: ask the provider, then turn its answer into a verdict by Argo's rules.

use std::time::Duration;

use serde_json::Value;

use super::condition::{describe, describe_negated};
use super::metric::{Metric, OnEmpty, Provider};
use super::tally::{Measurement, Phase};
use crate::{Context, Error, ListParams};

/// An HTTP check's answer, as the probe interface returns it.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The value at the check's JSON path, if one was asked and found.
    pub value: Option<Value>,
}

/// The two network measurements an analysis takes. [`Context`] implements it with the host's
/// `probe` interface; a unit test may pass its own.
pub trait Probes {
    /// GET `url` (and read `json_path` from its JSON body).
    fn http_get(
        &self,
        url: &str,
        timeout: Duration,
        json_path: Option<&str>,
    ) -> Result<HttpAnswer, Error>;
    /// A Prometheus instant query: the vector's values.
    fn query_prometheus(
        &self,
        address: &str,
        query: &str,
        timeout: Duration,
    ) -> Result<Vec<f64>, Error>;
}

/// Which pods the `ready` and `restarts` gates look at: a label selector in the run's
/// namespace (the canary's, or the new version's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `app=web,cutover.dev/role=canary`.
    pub selector: String,
}

/// Takes one measurement of `metric`.
pub fn measure(
    ctx: &Context,
    probes: &dyn Probes,
    target: &Target,
    metric: &Metric,
) -> Measurement {
    match &metric.provider {
        Provider::Http(h) => {
            match probes.http_get(&h.url, h.timeout.get(), h.json_path.as_deref()) {
                Err(e) => error(e.to_string()),
                Ok(answer) => judge_http(metric, h.status, h.json_path.is_some(), &answer),
            }
        }
        Provider::Prometheus(p) => {
            match probes.query_prometheus(&p.address, &p.query, p.timeout.get()) {
                Err(e) => error(e.to_string()),
                Ok(values) => judge_values(metric, &values),
            }
        }
        Provider::Ready(_) => match pods(ctx, target) {
            Err(e) => error(e.to_string()),
            Ok(pods) => {
                let ready = pods.iter().filter(|p| pod_ready(p)).count();
                let total = pods.len();
                let phase = if total > 0 && ready == total {
                    Phase::Successful
                } else {
                    Phase::Failed
                };
                Measurement {
                    phase,
                    message: format!("{ready} of {total} pods ready"),
                }
            }
        },
        Provider::Restarts(r) => match pods(ctx, target) {
            Err(e) => error(e.to_string()),
            Ok(pods) => {
                let restarts: u64 = pods.iter().map(pod_restarts).sum();
                let phase = if restarts <= u64::from(r.max) {
                    Phase::Successful
                } else {
                    Phase::Failed
                };
                let op = if phase == Phase::Successful {
                    "<="
                } else {
                    ">"
                };
                Measurement {
                    phase,
                    message: format!("{restarts} restarts {op} {}", r.max),
                }
            }
        },
    }
}

fn error(message: String) -> Measurement {
    Measurement {
        phase: Phase::Error,
        message,
    }
}

fn pods(ctx: &Context, target: &Target) -> Result<Vec<Value>, Error> {
    ctx.list_dynamic(
        "v1",
        "Pod",
        &ListParams::default().labels(target.selector.as_str()),
    )
}

fn pod_ready(pod: &Value) -> bool {
    pod.get("metadata")
        .and_then(|m| m.get("deletionTimestamp"))
        .is_none()
        && pod
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|conditions| {
                conditions
                    .iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
}

fn pod_restarts(pod: &Value) -> u64 {
    pod.pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map(|statuses| {
            statuses
                .iter()
                .filter_map(|s| s.get("restartCount").and_then(Value::as_u64))
                .sum()
        })
        .unwrap_or(0)
}

/// An HTTP answer: non-2xx is an error (Argo's web provider), a 2xx other than the expected
/// status a failure; then the JSON value, if a path was asked, through the conditions.
fn judge_http(
    metric: &Metric,
    expected: Option<u16>,
    has_path: bool,
    answer: &HttpAnswer,
) -> Measurement {
    if !(200..300).contains(&answer.status) {
        return error(format!("HTTP {}", answer.status));
    }
    if let Some(expected) = expected
        && answer.status != expected
    {
        return Measurement {
            phase: Phase::Failed,
            message: format!("HTTP {} is not {expected}", answer.status),
        };
    }
    if metric.success.is_none() && metric.failure.is_none() {
        return Measurement {
            phase: Phase::Successful,
            message: format!("HTTP {}", answer.status),
        };
    }
    let values = match (&answer.value, has_path) {
        (Some(v), _) => match numbers(v) {
            Some(values) => values,
            None => {
                return error(format!(
                    "the value at the JSON path is not a number or a list of numbers: {}",
                    shorten(&v.to_string())
                ));
            }
        },
        (None, true) => Vec::new(),
        (None, false) => vec![f64::from(answer.status)],
    };
    judge_values(metric, &values)
}

/// A JSON value as the condition's `result`: a number, a boolean (1/0), a numeric string, or
/// a list of those.
fn numbers(value: &Value) -> Option<Vec<f64>> {
    fn one(v: &Value) -> Option<f64> {
        match v {
            Value::Number(n) => n.as_f64(),
            Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            Value::String(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
            _ => None,
        }
    }
    match value {
        Value::Array(items) => items.iter().map(one).collect(),
        other => one(other).map(|n| vec![n]),
    }
}

fn shorten(text: &str) -> String {
    let mut s: String = text.chars().take(80).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

/// A result through the conditions: empty is `on-empty`; failure-condition first; then
/// success-condition; neither with both given is inconclusive, as in Argo.
fn judge_values(metric: &Metric, values: &[f64]) -> Measurement {
    if values.is_empty() {
        let phase = match metric.on_empty {
            OnEmpty::Inconclusive => Phase::Inconclusive,
            OnEmpty::Failure => Phase::Failed,
            OnEmpty::Success => Phase::Successful,
        };
        return Measurement {
            phase,
            message: "no values found".into(),
        };
    }
    if let Some(failure) = &metric.failure {
        match failure.eval(values) {
            Err(e) => return error(e.to_string()),
            Ok(true) => {
                return Measurement {
                    phase: Phase::Failed,
                    message: describe(failure, values),
                };
            }
            Ok(false) => {}
        }
    }
    match &metric.success {
        Some(success) => match success.eval(values) {
            Err(e) => error(e.to_string()),
            Ok(true) => Measurement {
                phase: Phase::Successful,
                message: describe(success, values),
            },
            Ok(false) if metric.failure.is_some() => Measurement {
                phase: Phase::Inconclusive,
                message: format!(
                    "neither condition holds: {}",
                    describe_negated(success, values)
                ),
            },
            Ok(false) => Measurement {
                phase: Phase::Failed,
                message: describe_negated(success, values),
            },
        },
        None => Measurement {
            phase: Phase::Successful,
            message: match &metric.failure {
                Some(f) => describe_negated(f, values),
                None => "ok".into(),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn metric(extra: Value) -> Metric {
        let mut m = json!({"name": "m", "prometheus": {"address": "http://p:9090", "query": "q"}});
        m.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        Metric::from_json(&m).unwrap()
    }

    #[test]
    fn values_through_the_conditions() {
        let m = metric(json!({"success-condition": "result[0] < 0.05"}));
        assert_eq!(
            judge_values(&m, &[0.012]),
            Measurement {
                phase: Phase::Successful,
                message: "0.012 < 0.05".into()
            }
        );
        assert_eq!(
            judge_values(&m, &[0.31]),
            Measurement {
                phase: Phase::Failed,
                message: "0.31 >= 0.05".into()
            }
        );
        assert_eq!(judge_values(&m, &[]).phase, Phase::Inconclusive);
        let m = metric(json!({"success-condition": "result < 0.05", "on-empty": "failure"}));
        assert_eq!(
            judge_values(&m, &[]),
            Measurement {
                phase: Phase::Failed,
                message: "no values found".into()
            }
        );
        let m = metric(
            json!({"success-condition": "result < 0.05", "failure-condition": "result > 0.1"}),
        );
        assert_eq!(judge_values(&m, &[0.2]).phase, Phase::Failed);
        assert_eq!(judge_values(&m, &[0.07]).phase, Phase::Inconclusive);
        let m = metric(json!({"success-condition": "result[1] < 1"}));
        assert_eq!(judge_values(&m, &[0.0]).phase, Phase::Error);
    }

    #[test]
    fn http_non_2xx_is_an_error_not_a_failure() {
        let m = Metric::from_json(&json!({"name": "h", "http": {"url": "http://web/healthz"}}))
            .unwrap();
        let answer = |status, value| HttpAnswer { status, value };
        assert_eq!(
            judge_http(&m, None, false, &answer(500, None)).phase,
            Phase::Error
        );
        assert_eq!(
            judge_http(&m, None, false, &answer(204, None)).phase,
            Phase::Successful
        );
        assert_eq!(
            judge_http(&m, Some(200), false, &answer(204, None)).phase,
            Phase::Failed
        );
        let m = Metric::from_json(
            &json!({"name": "h", "http": {"url": "http://web/stats", "json-path": "$.errors"},
            "success-condition": "result < 0.05"}),
        )
        .unwrap();
        assert_eq!(
            judge_http(&m, None, true, &answer(200, Some(json!(0.01)))).phase,
            Phase::Successful
        );
        assert_eq!(
            judge_http(&m, None, true, &answer(200, Some(json!("0.5")))).phase,
            Phase::Failed
        );
        assert_eq!(
            judge_http(&m, None, true, &answer(200, None)).phase,
            Phase::Inconclusive
        );
        assert_eq!(
            judge_http(&m, None, true, &answer(200, Some(json!({"a": 1})))).phase,
            Phase::Error
        );
    }
}
