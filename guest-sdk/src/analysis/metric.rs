//! A metric as the operator writes it (kebab-case JSON/YAML, after Argo's AnalysisTemplate), checked once before the run.

use serde::{Deserialize, Serialize};

use super::condition::Condition;
use crate::Error;
use crate::params::Duration;

/// Where a metric's value comes from.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    /// An HTTP GET (Argo's `web` provider).
    Http(HttpCheck),
    /// A Prometheus instant query.
    Prometheus(PrometheusQuery),
    /// The canary's pods: every one Ready (and at least one). Its result is
    /// `[ready, total]`.
    Ready(ReadyGate),
    /// The canary's pods' container restarts: at most `max` in all. Its result is the sum.
    Restarts(RestartsGate),
}

/// `http: {url, status, json-path, timeout}`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HttpCheck {
    /// `http://host:port/path`; its host and port must be granted (`probe/http:<host>:<port>`).
    pub url: String,
    /// The status a success answers (default: any 2xx). A non-2xx answer is an error, as in
    /// Argo; a 2xx other than this one is a failure.
    #[serde(default)]
    pub status: Option<u16>,
    /// A JSON path into the body (`$.status.errorRate`); its value is the result.
    #[serde(default)]
    pub json_path: Option<String>,
    /// Give up after this long (default 10s); a timeout is an error.
    #[serde(default = "default_probe_timeout")]
    pub timeout: Duration,
}

/// `prometheus: {address, query, timeout}`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PrometheusQuery {
    /// `http://host:port`; granted by `probe/prometheus:<host>:<port>`.
    pub address: String,
    /// PromQL; its vector's values are the result.
    pub query: String,
    /// Give up after this long (default 10s); a timeout is an error.
    #[serde(default = "default_probe_timeout")]
    pub timeout: Duration,
}

/// `ready: {}`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReadyGate {}

/// `restarts: {max: N}`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RestartsGate {
    /// The most restarts allowed, over every container of every canary pod (default 0).
    #[serde(default)]
    pub max: u32,
}

/// What an empty Prometheus vector ("no values found") counts as.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum OnEmpty {
    /// An inconclusive measurement (the default): past `inconclusive-limit`, a person decides.
    #[default]
    Inconclusive,
    /// A failed measurement.
    Failure,
    /// A successful measurement.
    Success,
}

fn default_probe_timeout() -> Duration {
    Duration(std::time::Duration::from_secs(10))
}
fn default_count() -> u32 {
    1
}
fn default_interval() -> Duration {
    Duration(std::time::Duration::from_secs(30))
}
fn default_consecutive_error_limit() -> u32 {
    4
}

/// The metric as written; [`Metric::check`] turns it into a [`Metric`].
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct MetricSpec {
    name: String,
    #[serde(default)]
    http: Option<HttpCheck>,
    #[serde(default)]
    prometheus: Option<PrometheusQuery>,
    #[serde(default)]
    ready: Option<ReadyGate>,
    #[serde(default)]
    restarts: Option<RestartsGate>,
    #[serde(default)]
    success_condition: Option<String>,
    #[serde(default)]
    failure_condition: Option<String>,
    #[serde(default = "default_count")]
    count: u32,
    #[serde(default = "default_interval")]
    interval: Duration,
    #[serde(default)]
    failure_limit: u32,
    #[serde(default)]
    inconclusive_limit: u32,
    #[serde(default = "default_consecutive_error_limit")]
    consecutive_error_limit: u32,
    #[serde(default)]
    on_empty: OnEmpty,
}

/// One checked metric: a provider, its conditions, and Argo's counters.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// Its name, in log lines and messages (`error-rate`).
    pub name: String,
    /// Where its value comes from.
    pub provider: Provider,
    /// A measurement succeeds when this holds (`result[0] < 0.05`).
    pub success: Option<Condition>,
    /// A measurement fails when this holds. With both conditions given, a measurement where
    /// neither holds is inconclusive (Argo's rule); with only `success`, it is a failure.
    pub failure: Option<Condition>,
    /// How many measurements (at least 1).
    pub count: u32,
    /// Time between measurements.
    pub interval: std::time::Duration,
    /// The gate fails when more measurements than this fail.
    pub failure_limit: u32,
    /// The gate is inconclusive (a person decides) when more than this are inconclusive.
    pub inconclusive_limit: u32,
    /// The gate errors when more than this many measurements in a row are errors.
    pub consecutive_error_limit: u32,
    /// What an empty Prometheus result counts as.
    pub on_empty: OnEmpty,
}

/// Longest metric name: it appears in every log line.
const MAX_NAME: usize = 63;
/// The most measurements a metric may ask for.
const MAX_COUNT: u32 = 1000;

impl Metric {
    /// Reads and checks a metric from JSON: one provider, conditions that parse, limits in range.
    ///
    /// ```
    /// use cutover_guest_sdk::analysis::Metric;
    /// let m = Metric::from_json(&serde_json::json!({
    ///     "name": "error-rate",
    ///     "prometheus": {"address": "http://prometheus:9090", "query": "sum(rate(errors[1m]))"},
    ///     "success-condition": "result[0] < 0.05",
    ///     "count": 3, "interval": "1m",
    /// })).unwrap();
    /// assert_eq!(m.count, 3);
    /// ```
    pub fn from_json(value: &serde_json::Value) -> Result<Metric, Error> {
        let spec: MetricSpec = serde_json::from_value(value.clone())
            .map_err(|e| Error::invalid(format!("analysis metric: {e}")))?;
        spec.check()
    }
}

impl MetricSpec {
    fn check(self) -> Result<Metric, Error> {
        let name = self.name;
        let bad = |what: String| Error::invalid(format!("analysis metric {name:?}: {what}"));
        if name.is_empty()
            || name.len() > MAX_NAME
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(Error::invalid(format!(
                "analysis metric name {:?} must be 1 to {MAX_NAME} letters, digits, `-`, `_` or `.`",
                name.chars().take(MAX_NAME + 1).collect::<String>()
            )));
        }
        let mut providers = Vec::new();
        if let Some(p) = self.http {
            providers.push(Provider::Http(p));
        }
        if let Some(p) = self.prometheus {
            providers.push(Provider::Prometheus(p));
        }
        if let Some(p) = self.ready {
            providers.push(Provider::Ready(p));
        }
        if let Some(p) = self.restarts {
            providers.push(Provider::Restarts(p));
        }
        if providers.len() != 1 {
            return Err(bad(
                "give exactly one of `http`, `prometheus`, `ready`, `restarts`".into(),
            ));
        }
        let provider = providers.remove(0);
        let parse = |field: &str, text: Option<String>| -> Result<Option<Condition>, Error> {
            text.map(|t| Condition::parse(&t).map_err(|e| bad(format!("{field}: {e}"))))
                .transpose()
        };
        let success = parse("success-condition", self.success_condition)?;
        let failure = parse("failure-condition", self.failure_condition)?;
        if matches!(provider, Provider::Prometheus(_)) && success.is_none() && failure.is_none() {
            return Err(bad(
                "a prometheus metric needs a `success-condition` (or a `failure-condition`)".into(),
            ));
        }
        match &provider {
            Provider::Http(h) => {
                if !(h.url.starts_with("http://") || h.url.starts_with("https://")) {
                    return Err(bad(format!(
                        "url {:?} must start with http:// or https://",
                        h.url
                    )));
                }
                if h.status.is_some_and(|s| !(200..300).contains(&s)) {
                    return Err(bad("`status` must be a 2xx status".into()));
                }
            }
            Provider::Prometheus(p) => {
                if !(p.address.starts_with("http://") || p.address.starts_with("https://")) {
                    return Err(bad(format!(
                        "address {:?} must start with http:// or https://",
                        p.address
                    )));
                }
                if p.query.trim().is_empty() || p.query.len() > 4096 {
                    return Err(bad("`query` must be 1 to 4096 characters".into()));
                }
            }
            Provider::Ready(_) | Provider::Restarts(_) => {
                if success.is_some() || failure.is_some() {
                    return Err(bad("`ready` and `restarts` gates take no conditions".into()));
                }
            }
        }
        if self.count == 0 || self.count > MAX_COUNT {
            return Err(bad(format!("`count` must be 1 to {MAX_COUNT}")));
        }
        if self.count > 1 && self.interval.is_zero() {
            return Err(bad(
                "`interval` must be more than 0 when `count` is more than 1".into(),
            ));
        }
        Ok(Metric {
            name,
            provider,
            success,
            failure,
            count: self.count,
            interval: self.interval.get(),
            failure_limit: self.failure_limit,
            inconclusive_limit: self.inconclusive_limit,
            consecutive_error_limit: self.consecutive_error_limit,
            on_empty: self.on_empty,
        })
    }
}

/// Reads a list of metrics (an `analysis` parameter or step), refusing a repeated name.
///
/// ```
/// use cutover_guest_sdk::analysis::metrics_from_json;
/// let e = metrics_from_json(&serde_json::json!([{"name": "r", "ready": {}}, {"name": "r", "ready": {}}])).unwrap_err();
/// assert_eq!(e.to_string(), "analysis metric \"r\" is named twice");
/// ```
pub fn metrics_from_json(value: &serde_json::Value) -> Result<Vec<Metric>, Error> {
    let list = match value {
        serde_json::Value::Array(items) => items,
        serde_json::Value::Null => return Ok(Vec::new()),
        _ => return Err(Error::invalid("analysis: a list of metrics")),
    };
    let mut metrics: Vec<Metric> = Vec::new();
    for item in list {
        let metric = Metric::from_json(item)?;
        if metrics.iter().any(|m| m.name == metric.name) {
            return Err(Error::invalid(format!(
                "analysis metric {:?} is named twice",
                metric.name
            )));
        }
        metrics.push(metric);
    }
    Ok(metrics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_argos() {
        let m = Metric::from_json(
            &json!({"name": "health", "http": {"url": "http://web:8080/healthz"}}),
        )
        .unwrap();
        assert_eq!(
            (
                m.count,
                m.failure_limit,
                m.inconclusive_limit,
                m.consecutive_error_limit
            ),
            (1, 0, 0, 4)
        );
        assert_eq!(m.on_empty, OnEmpty::Inconclusive);
        assert_eq!(m.interval.as_secs(), 30);
        let Provider::Http(h) = &m.provider else {
            panic!("http")
        };
        assert_eq!(h.timeout.as_secs(), 10);
    }

    #[test]
    fn refuses_bad_metrics_before_the_run() {
        for (value, message) in [
            (
                json!({"name": "x"}),
                "analysis metric \"x\": give exactly one of `http`, `prometheus`, `ready`, `restarts`",
            ),
            (
                json!({"name": "x", "ready": {}, "restarts": {}}),
                "analysis metric \"x\": give exactly one of `http`, `prometheus`, `ready`, `restarts`",
            ),
            (
                json!({"name": "x", "prometheus": {"address": "http://p:9090", "query": "up"}, "success-condition": "result < "}),
                "analysis metric \"x\": success-condition: expected `result`, `result[i]`, `len(result)` or a number at the end of the condition",
            ),
            (
                json!({"name": "x", "prometheus": {"address": "http://p:9090", "query": "up"}}),
                "analysis metric \"x\": a prometheus metric needs a `success-condition` (or a `failure-condition`)",
            ),
            (
                json!({"name": "x", "http": {"url": "ftp://x"}}),
                "analysis metric \"x\": url \"ftp://x\" must start with http:// or https://",
            ),
            (
                json!({"name": "x", "ready": {}, "count": 0}),
                "analysis metric \"x\": `count` must be 1 to 1000",
            ),
            (
                json!({"name": "x", "ready": {}, "count": 2, "interval": "0s"}),
                "analysis metric \"x\": `interval` must be more than 0 when `count` is more than 1",
            ),
            (
                json!({"name": "a b", "ready": {}}),
                "analysis metric name \"a b\" must be 1 to 63 letters, digits, `-`, `_` or `.`",
            ),
            (
                json!({"name": "x", "ready": {}, "on-empty": "maybe"}),
                "analysis metric: unknown variant `maybe`, expected one of `inconclusive`, `failure`, `success`",
            ),
            (
                json!({"name": "x", "ready": {}, "colour": 1}),
                "analysis metric: unknown field `colour`, expected one of `name`, `http`, `prometheus`, `ready`, `restarts`, `success-condition`, `failure-condition`, `count`, `interval`, `failure-limit`, `inconclusive-limit`, `consecutive-error-limit`, `on-empty`",
            ),
        ] {
            assert_eq!(Metric::from_json(&value).unwrap_err().to_string(), message);
        }
    }
}
