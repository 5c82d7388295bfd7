//! [`Probes`] for [`Context`]: the host's `probe` interface (HTTP checks, Prometheus queries) under the run's grants.

use std::time::Duration;

use super::measure::{HttpAnswer, Probes};
use crate::{Context, Error};

/// The most of a body an analysis reads.
const MAX_BODY: u32 = 1 << 20;

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(target_family = "wasm")]
impl Probes for Context {
    fn http_get(
        &self,
        url: &str,
        timeout: Duration,
        json_path: Option<&str>,
    ) -> Result<HttpAnswer, Error> {
        use crate::bindings::cutover::policy::probe;
        let answer = probe::http_get(&probe::HttpRequest {
            url: url.to_string(),
            timeout_ms: ms(timeout),
            max_bytes: MAX_BODY,
            json_path: json_path.map(str::to_string),
        })?;
        let value = answer
            .value
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|e| Error::invalid(format!("the value at the JSON path: {e}")))?;
        Ok(HttpAnswer {
            status: answer.status,
            value,
        })
    }

    fn query_prometheus(
        &self,
        address: &str,
        query: &str,
        timeout: Duration,
    ) -> Result<Vec<f64>, Error> {
        use crate::bindings::cutover::policy::probe;
        let samples = probe::query_prometheus(&probe::PrometheusQuery {
            address: address.to_string(),
            query: query.to_string(),
            timeout_ms: ms(timeout),
        })?;
        Ok(samples.into_iter().map(|s| s.value).collect())
    }
}

/// Natively there is no probe host (yet): every probe is an error, which the analysis counts
/// as a measurement error.
#[cfg(not(target_family = "wasm"))]
impl Probes for Context {
    fn http_get(&self, url: &str, timeout: Duration, _: Option<&str>) -> Result<HttpAnswer, Error> {
        let _ = (ms(timeout), MAX_BODY);
        Err(Error::unavailable(format!(
            "http check of {url}: no probe host in a native build"
        )))
    }

    fn query_prometheus(&self, address: &str, _: &str, _: Duration) -> Result<Vec<f64>, Error> {
        Err(Error::unavailable(format!(
            "prometheus query to {address}: no probe host in a native build"
        )))
    }
}
