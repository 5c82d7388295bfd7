//! The host side of the `probe` interface: HTTP checks and Prometheus queries for analysis
//! gates, to endpoints granted by capability. (Being built: every call is refused for now.)

use crate::sandbox::bindings::cutover::policy::probe;
use crate::sandbox::bindings::cutover::policy::types::Error;
use crate::sandbox::state::RunState;

impl probe::Host for RunState {
    async fn http_get(
        &mut self,
        _request: probe::HttpRequest,
    ) -> Result<probe::HttpResponse, Error> {
        Err(Error::Unavailable(
            "this host has no probe support yet".into(),
        ))
    }

    async fn query_prometheus(
        &mut self,
        _query: probe::PrometheusQuery,
    ) -> Result<Vec<probe::Sample>, Error> {
        Err(Error::Unavailable(
            "this host has no probe support yet".into(),
        ))
    }
}
