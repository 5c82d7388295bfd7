//! [`Probes`] for [`Context`]: the host's `probe` interface (HTTP checks, Prometheus queries) under the run's grants; natively, the FakeCluster's scripted probe answers.

use std::time::Duration;

use super::measure::{HttpAnswer, Probes};
use crate::{Context, Error, HttpRequest};

/// The most of a body an analysis reads (the host's cap).
const MAX_BODY: u32 = 1 << 20;

impl Probes for Context {
    fn http_get(
        &self,
        url: &str,
        timeout: Duration,
        json_path: Option<&str>,
    ) -> Result<HttpAnswer, Error> {
        let mut request = HttpRequest::get(url)
            .with_timeout(timeout)
            .with_max_bytes(MAX_BODY);
        if let Some(path) = json_path {
            request = request.with_json_path(path);
        }
        let response = Context::http_get(self, &request)?;
        Ok(HttpAnswer {
            status: response.status,
            value: response.value,
        })
    }

    fn query_prometheus(
        &self,
        address: &str,
        query: &str,
        timeout: Duration,
    ) -> Result<Vec<f64>, Error> {
        Ok(Context::query_prometheus(self, address, query, timeout)?
            .into_iter()
            .map(|s| s.value)
            .collect())
    }
}
