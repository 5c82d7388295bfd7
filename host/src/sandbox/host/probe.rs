//! The host side of the `probe` interface (docs/probes.md): each request's strings checked and
//! capped, its URL parsed, its endpoint authorized by a `probe/...` capability, then answered by
//! the network (`crate::probe`) or, on the simulator, by the scenario's `probes:`; every call
//! goes through `call::perform`, so it is bounded by the run's deadline and reported.

use std::time::Duration;

use super::call::{CallError, Reached};
use crate::capabilities::{Denial, Grants, ProbeCall};
use crate::probe::endpoint::{self, Endpoint};
use crate::probe::http::Fetched;
use crate::probe::{
    BODY_SHOWN, MAX_BODY, MAX_QUERY, MAX_TIMEOUT, ProbeError, cut, http, json_path, prometheus,
};
use crate::sandbox::bindings::cutover::policy::probe;
use crate::sandbox::bindings::cutover::policy::types::Error;
use crate::sandbox::state::{ProbeSource, RunState};
use crate::text;

/// What an HTTP check asks for: anything, JSON first.
const ACCEPT_ANY: &str = "application/json, text/plain;q=0.9, */*;q=0.1";
/// What a Prometheus query asks for.
const ACCEPT_JSON: &str = "application/json";

impl From<ProbeError> for CallError {
    fn from(e: ProbeError) -> Self {
        CallError::Refused(match e {
            ProbeError::Invalid(m) => Error::Invalid(m),
            ProbeError::Unavailable(m) => Error::Unavailable(m),
        })
    }
}

/// The call's own time limit: what it asked, at most [`MAX_TIMEOUT`] (`perform` also stops at
/// the run's deadline). Zero is refused.
fn own_timeout(timeout_ms: u64) -> Result<Duration, Error> {
    if timeout_ms == 0 {
        return Err(Error::Invalid("timeout-ms must be at least 1".into()));
    }
    Ok(Duration::from_millis(timeout_ms).min(MAX_TIMEOUT))
}

/// Checks the endpoint against the run's grants.
fn authorize(grants: &Grants, operation: &str, endpoint: &Endpoint) -> Result<(), CallError> {
    let call = ProbeCall {
        operation,
        host: &endpoint.host,
        port: endpoint.port,
    };
    grants
        .check_probe(&call)
        .map_err(|denial: Denial| CallError::Denied {
            call: call.to_string(),
            denial,
        })
}

/// A scenario's answer, or `unavailable` saying where to add one.
fn unanswered(what: &str) -> CallError {
    CallError::Refused(Error::Unavailable(format!(
        "the simulator has no answer for probe {what}: add one to the scenario's `probes:` \
         (docs/simulator.md, \"Probes\"); on the simulator no probe reaches the network"
    )))
}

/// The body as the guest sees it: cut to [`BODY_SHOWN`] bytes, invalid UTF-8 replaced.
fn shown_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    cut(&text, BODY_SHOWN).to_string()
}

/// A PromQL query within its bound, without control characters other than whitespace.
fn check_query(query: &str) -> Result<(), Error> {
    if query.trim().is_empty() {
        return Err(Error::Invalid("the PromQL query is empty".into()));
    }
    if query.len() > MAX_QUERY {
        return Err(Error::Invalid(format!(
            "the PromQL query is {} bytes, more than {MAX_QUERY}",
            query.len()
        )));
    }
    if query
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        return Err(Error::Invalid(
            "the PromQL query holds a control character".into(),
        ));
    }
    Ok(())
}

impl RunState {
    /// Virtual (or real) time since the run started, by the run's clock.
    fn since_start(&self) -> Duration {
        let start = self.time.deadline - self.time.timeout;
        self.time.clock.now().saturating_duration_since(start)
    }
}

impl probe::Host for RunState {
    async fn http_get(
        &mut self,
        request: probe::HttpRequest,
    ) -> Result<probe::HttpResponse, Error> {
        let requested = format!("http GET {}", text::escape(&request.url, 256));
        let own = match own_timeout(request.timeout_ms) {
            Ok(own) => own,
            Err(e) => {
                return self
                    .perform("probe", requested, None, false, async {
                        Err::<(probe::HttpResponse, Reached), _>(e.into())
                    })
                    .await;
            }
        };
        let grants = self.grants.clone();
        let source = self.probes.clone();
        let since_start = self.since_start();
        let clock = self.time.clock.clone();
        let max_bytes = request.max_bytes.min(MAX_BODY) as usize;
        let work = async move {
            let endpoint = endpoint::parse(&request.url, "the URL")?;
            authorize(&grants, "http", &endpoint)?;
            let label = format!("http GET {}", endpoint.label());
            let started = clock.now();
            let fetched = match source {
                ProbeSource::Network => http::get(&endpoint, max_bytes, ACCEPT_ANY).await?,
                ProbeSource::Scripted(script) => {
                    let answer = script
                        .http(since_start, |written| {
                            endpoint::parse(written, "").is_ok_and(|w| w.url == endpoint.url)
                        })
                        .ok_or_else(|| unanswered(&label))?;
                    if answer.body.len() > max_bytes {
                        return Err(ProbeError::Invalid(format!(
                            "the body of {} is longer than {max_bytes} bytes (max-bytes)",
                            endpoint.label()
                        ))
                        .into());
                    }
                    Fetched {
                        status: answer.status,
                        body: answer.body.clone().into(),
                    }
                }
            };
            let elapsed = clock.now().saturating_duration_since(started);
            let value = match &request.json_path {
                Some(path) => json_path::find(&fetched.body, path)?.map(|v| v.to_string()),
                None => None,
            };
            let response = probe::HttpResponse {
                status: fetched.status,
                value,
                body: shown_body(&fetched.body),
                elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            };
            let reached = Reached {
                label: format!("{label} → {}", fetched.status),
                changed: false,
            };
            Ok::<_, CallError>((response, reached))
        };
        self.perform("probe", requested, Some(own), false, work)
            .await
    }

    async fn query_prometheus(
        &mut self,
        query: probe::PrometheusQuery,
    ) -> Result<Vec<probe::Sample>, Error> {
        let requested = format!(
            "prometheus {} {}",
            text::escape(&query.address, 128),
            text::escape(&query.query, 256)
        );
        let checked =
            own_timeout(query.timeout_ms).and_then(|own| check_query(&query.query).map(|()| own));
        let own = match checked {
            Ok(own) => own,
            Err(e) => {
                return self
                    .perform("probe", requested, None, false, async {
                        Err::<(Vec<probe::Sample>, Reached), _>(e.into())
                    })
                    .await;
            }
        };
        let grants = self.grants.clone();
        let source = self.probes.clone();
        let since_start = self.since_start();
        let work = async move {
            let address = endpoint::parse(&query.address, "the Prometheus address")?;
            authorize(&grants, "prometheus", &address)?;
            let label = format!(
                "prometheus {}:{} {}",
                address.host,
                address.port,
                text::escape(query.query.trim(), 256)
            );
            let samples = match source {
                ProbeSource::Network => {
                    let url = prometheus::query_url(&address, &query.query)?;
                    // The same endpoint, authorized above; the URL is longer than a guest's
                    // may be, by the encoded query.
                    let target = Endpoint {
                        url,
                        host: address.host.clone(),
                        port: address.port,
                    };
                    let fetched = http::get(&target, MAX_BODY as usize, ACCEPT_JSON).await?;
                    prometheus::decode(fetched.status, &fetched.body)?
                }
                ProbeSource::Scripted(script) => script
                    .prometheus(&query.query, since_start)
                    .ok_or_else(|| unanswered(&label))?
                    .samples
                    .iter()
                    .map(|(labels, value)| prometheus::Sample {
                        labels: labels.clone(),
                        value: *value,
                    })
                    .collect(),
            };
            let reached = Reached {
                label: format!(
                    "{label} → {} sample{}",
                    samples.len(),
                    if samples.len() == 1 { "" } else { "s" }
                ),
                changed: false,
            };
            let samples = samples
                .into_iter()
                .map(|s| probe::Sample {
                    labels: s.labels,
                    value: s.value,
                })
                .collect();
            Ok::<_, CallError>((samples, reached))
        };
        self.perform("probe", requested, Some(own), false, work)
            .await
    }
}
