//! A scenario's `probes:` section: the answers the host gives a policy's HTTP checks and
//! Prometheus queries on the simulator, by virtual time since the run started, so that a
//! simulated run never reaches the network (docs/simulator.md, "Probes").

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

/// The `probes:` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawProbes {
    #[serde(default)]
    http: Vec<RawHttp>,
    #[serde(default)]
    prometheus: Vec<RawPrometheus>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawHttp {
    url: String,
    #[serde(default = "ok")]
    status: u16,
    #[serde(default)]
    body: Option<Value>,
    after: Option<String>,
}

fn ok() -> u16 {
    200
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawPrometheus {
    query: String,
    value: Option<f64>,
    samples: Option<Vec<RawSample>>,
    after: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawSample {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    value: f64,
}

/// One scripted HTTP answer.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpAnswer {
    /// The URL as written; the host compares it with a request's after parsing both.
    pub url: String,
    pub status: u16,
    /// The body: a YAML string as is, any other value as its JSON text.
    pub body: String,
    /// From this virtual time since the run started on.
    pub after: Duration,
}

/// One scripted Prometheus answer.
#[derive(Debug, Clone, PartialEq)]
pub struct PrometheusAnswer {
    /// The PromQL text, compared exactly (surrounding whitespace aside).
    pub query: String,
    /// The samples: `value: x` is one sample without labels.
    pub samples: Vec<(Vec<(String, String)>, f64)>,
    pub after: Duration,
}

/// Every scripted probe answer of a scenario.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProbeScript {
    pub http: Vec<HttpAnswer>,
    pub prometheus: Vec<PrometheusAnswer>,
}

/// The entry that answers at `elapsed`: of those that match, the one with the latest `after`
/// not past `elapsed` (of equals, the last written).
fn latest<T>(
    entries: &[T],
    elapsed: Duration,
    matches: impl Fn(&T) -> bool,
    after: impl Fn(&T) -> Duration,
) -> Option<&T> {
    entries
        .iter()
        .filter(|e| matches(e) && after(e) <= elapsed)
        .max_by_key(|e| after(e))
        .and_then(|best| {
            entries
                .iter()
                .rev()
                .find(|e| matches(e) && after(e) == after(best))
        })
}

impl ProbeScript {
    /// The HTTP answer for a URL at `elapsed`; `same_url` compares a written URL with the
    /// request's (the host parses both).
    pub fn http(&self, elapsed: Duration, same_url: impl Fn(&str) -> bool) -> Option<&HttpAnswer> {
        latest(&self.http, elapsed, |e| same_url(&e.url), |e| e.after)
    }

    /// The Prometheus answer for a query at `elapsed`.
    pub fn prometheus(&self, query: &str, elapsed: Duration) -> Option<&PrometheusAnswer> {
        let query = query.trim();
        latest(&self.prometheus, elapsed, |e| e.query == query, |e| e.after)
    }

    /// Checks the section; `bad(field, why)` words an error.
    pub(crate) fn from_raw(
        raw: RawProbes,
        bad: impl Fn(&str, String) -> crate::ScenarioError,
    ) -> Result<ProbeScript, crate::ScenarioError> {
        let after = |field: &str, text: &Option<String>| match text {
            None => Ok(Duration::ZERO),
            Some(t) => cutover_grammar::duration::parse(t).map_err(|e| bad(field, e.to_string())),
        };
        let mut script = ProbeScript::default();
        for (i, h) in raw.http.into_iter().enumerate() {
            let field = format!("probes.http[{i}]");
            if !(h.url.starts_with("http://") || h.url.starts_with("https://")) {
                return Err(bad(
                    &format!("{field}.url"),
                    format!("{:?} is not an http:// or https:// URL", h.url),
                ));
            }
            if !(100..=599).contains(&h.status) {
                return Err(bad(
                    &format!("{field}.status"),
                    format!("{} is not an HTTP status", h.status),
                ));
            }
            let body = match h.body {
                None => String::new(),
                Some(Value::String(text)) => text,
                Some(other) => other.to_string(),
            };
            script.http.push(HttpAnswer {
                url: h.url,
                status: h.status,
                body,
                after: after(&format!("{field}.after"), &h.after)?,
            });
        }
        for (i, p) in raw.prometheus.into_iter().enumerate() {
            let field = format!("probes.prometheus[{i}]");
            let samples = match (p.value, p.samples) {
                (Some(value), None) => vec![(Vec::new(), value)],
                (None, Some(samples)) => samples
                    .into_iter()
                    .map(|s| (s.labels.into_iter().collect(), s.value))
                    .collect(),
                _ => {
                    return Err(bad(
                        &field,
                        "give either `value` or `samples` (`samples: []` for no data)".into(),
                    ));
                }
            };
            script.prometheus.push(PrometheusAnswer {
                query: p.query.trim().to_string(),
                samples,
                after: after(&format!("{field}.after"), &p.after)?,
            });
        }
        Ok(script)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(yaml: &str) -> Result<ProbeScript, crate::ScenarioError> {
        let raw: RawProbes = serde_saphyr::from_str(yaml).unwrap();
        ProbeScript::from_raw(raw, |f, w| crate::ScenarioError(format!("{f}: {w}")))
    }

    #[test]
    fn the_latest_entry_in_force_answers() {
        let s = script(
            r#"
http:
  - {url: "http://web/healthz", body: {ok: true}}
  - {url: "http://web/healthz", status: 503, body: down, after: 2m}
prometheus:
  - {query: "sum(rate(e[1m]))", value: 0.01}
  - {query: "sum(rate(e[1m]))", value: 0.5, after: 3m}
  - {query: "up", samples: [{labels: {job: web}, value: 1}]}
"#,
        )
        .unwrap();
        let at = |s: u64| Duration::from_secs(s);
        let web = |u: &str| u == "http://web/healthz";
        assert_eq!(s.http(at(0), web).unwrap().body, r#"{"ok":true}"#);
        assert_eq!(s.http(at(119), web).unwrap().status, 200);
        assert_eq!(s.http(at(120), web).unwrap().body, "down");
        assert!(s.http(at(0), |_| false).is_none());
        assert_eq!(
            s.prometheus("sum(rate(e[1m]))", at(179)).unwrap().samples[0].1,
            0.01
        );
        assert_eq!(
            s.prometheus(" sum(rate(e[1m])) ", at(180)).unwrap().samples[0].1,
            0.5
        );
        let up = s.prometheus("up", at(0)).unwrap();
        assert_eq!(up.samples, [(vec![("job".into(), "web".into())], 1.0)]);
        assert!(s.prometheus("down", at(0)).is_none());
    }

    #[test]
    fn bad_entries_name_their_field() {
        let e = script("http: [{url: 'ftp://x'}]").unwrap_err().to_string();
        assert!(e.starts_with("probes.http[0].url"), "{e}");
        let e = script("prometheus: [{query: up}]").unwrap_err().to_string();
        assert!(e.contains("either `value` or `samples`"), "{e}");
        let e = script("prometheus: [{query: up, value: 1, after: soon}]")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("probes.prometheus[0].after"), "{e}");
    }
}
