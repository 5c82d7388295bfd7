//! The fake's probe answers: HTTP bodies per URL and Prometheus results per query, scripted by
//! the test ([`FakeCluster::http`](super::FakeCluster::http), ...), and used as the host would
//! use a real answer (the body cap, the JSON path, the 4 KiB body).

use std::collections::{BTreeMap, VecDeque};

use jsonpath_rust::JsonPath;
use serde_json::{Value, json};

use super::native::probe::{HttpRequest, HttpResponse, PrometheusQuery, Sample as WitSample};
use super::store::State;
use crate::{Error, Sample};

/// The host's own cap on `max-bytes`.
const MAX_BODY: u32 = 1 << 20;
/// What the host keeps of a body for the answer.
const BODY_SHOWN: usize = 4 << 10;

/// A queue of scripted answers: used in order, the last one again and again.
pub(super) struct Answers<T>(VecDeque<Result<T, Error>>);

impl<T: Clone> Answers<T> {
    fn next(&mut self) -> Option<Result<T, Error>> {
        if self.0.len() > 1 {
            self.0.pop_front()
        } else {
            self.0.front().cloned()
        }
    }
}

impl<T> Default for Answers<T> {
    fn default() -> Self {
        Answers(VecDeque::new())
    }
}

/// The probes' scripted answers.
#[derive(Default)]
pub(super) struct Probes {
    /// By URL: `(status, body)`.
    pub(super) http: BTreeMap<String, Answers<(u16, String)>>,
    /// By PromQL text.
    pub(super) prometheus: BTreeMap<String, Answers<Vec<Sample>>>,
}

impl Probes {
    pub(super) fn push_http(&mut self, url: &str, answer: Result<(u16, String), Error>) {
        self.http
            .entry(url.to_string())
            .or_default()
            .0
            .push_back(answer);
    }

    pub(super) fn push_prometheus(&mut self, query: &str, answer: Result<Vec<Sample>, Error>) {
        self.prometheus
            .entry(query.to_string())
            .or_default()
            .0
            .push_back(answer);
    }
}

/// A scripted body: a JSON string is the body's text as is, anything else its JSON text.
pub(super) fn body_text(body: Value) -> String {
    match body {
        Value::String(text) => text,
        other => other.to_string(),
    }
}

impl State {
    pub(super) fn http_get(&mut self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        let target = format!("http GET {}", request.url);
        self.called(
            "probe",
            target.clone(),
            Some(json!({
                "timeoutMs": request.timeout_ms,
                "maxBytes": request.max_bytes,
                "jsonPath": request.json_path,
            })),
        );
        let (status, body) = self
            .probes
            .http
            .get_mut(&request.url)
            .and_then(Answers::next)
            .ok_or_else(|| unscripted(&target, "FakeCluster::http"))??;
        let max_bytes = request.max_bytes.min(MAX_BODY);
        if body.len() > max_bytes as usize {
            return Err(Error::invalid(format!(
                "the body of {} is longer than {max_bytes} bytes",
                request.url
            )));
        }
        let value = match &request.json_path {
            Some(path) => json_path_value(&body, path)?.map(|v| v.to_string()),
            None => None,
        };
        Ok(HttpResponse {
            status,
            value,
            body: cut(&body, BODY_SHOWN).to_string(),
            elapsed_ms: 0,
        })
    }

    pub(super) fn query_prometheus(
        &mut self,
        query: &PrometheusQuery,
    ) -> Result<Vec<WitSample>, Error> {
        let target = format!("prometheus {}", query.query);
        self.called(
            "probe",
            target.clone(),
            Some(json!({"address": query.address, "timeoutMs": query.timeout_ms})),
        );
        let samples = self
            .probes
            .prometheus
            .get_mut(&query.query)
            .and_then(Answers::next)
            .ok_or_else(|| unscripted(&target, "FakeCluster::prometheus"))??;
        Ok(samples
            .into_iter()
            .map(|s| WitSample {
                labels: s.labels,
                value: s.value,
            })
            .collect())
    }
}

fn unscripted(target: &str, how: &str) -> Error {
    Error::unavailable(format!(
        "no answer scripted for probe {target}: script one with {how}"
    ))
}

/// The value at `path` in the JSON `body`, as the host finds it: none when the body is not
/// JSON or nothing is there, the one value, or an array when the path matches several. A path
/// that does not parse is [`Error::Invalid`].
fn json_path_value(body: &str, path: &str) -> Result<Option<Value>, Error> {
    let path =
        cutover_grammar::json_path::normalize(path).map_err(|e| Error::invalid(e.message()))?;
    let document: Value = match serde_json::from_str(body) {
        Ok(document) => document,
        Err(_) => {
            // The path is checked all the same: a bad one is the policy's mistake whatever
            // the body.
            Value::Null
                .query(&path)
                .map_err(|e| Error::invalid(format!("JSON path {path}: {e}")))?;
            return Ok(None);
        }
    };
    let mut found = document
        .query(&path)
        .map_err(|e| Error::invalid(format!("JSON path {path}: {e}")))?;
    Ok(match found.len() {
        0 => None,
        1 => found.pop().cloned(),
        _ => Some(Value::Array(found.into_iter().cloned().collect())),
    })
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
