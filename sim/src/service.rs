//! The `Simulator` handle: a tower service for `kube::Client`, and direct store access.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::json;

use crate::api::{self, ApiState, SimBody};
use crate::clock::{Clock, SystemClock};
use crate::kinds;
use crate::store::Store;

/// Namespaces present from the start, as in a fresh cluster.
pub const INITIAL_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// A simulated cluster. Cloning is cheap: clones share the same state.
#[derive(Clone, Debug)]
pub struct Simulator {
    state: Arc<ApiState>,
    /// The API fault layer (scenario `faults.api`), consulted before every request once set.
    api_faults: Arc<std::sync::OnceLock<crate::faults::ApiFaults>>,
}

impl Simulator {
    /// A simulator on the system clock whose uids and generated names derive from `seed`.
    pub fn new(seed: u64) -> Simulator {
        Simulator::with_clock(seed, Arc::new(SystemClock))
    }

    /// A simulator on the given clock.
    pub fn with_clock(seed: u64, clock: Arc<dyn Clock>) -> Simulator {
        let store = Store::new(seed, clock);
        let namespaces = kinds::find("", "v1", "namespaces").expect("namespaces are served");
        for ns in INITIAL_NAMESPACES {
            store
                .create(namespaces, "", json!({"metadata": {"name": ns}}), false)
                .expect("a fresh store accepts the initial namespaces");
        }
        Simulator {
            state: Arc::new(ApiState {
                store,
                eviction_lock: std::sync::Mutex::new(()),
            }),
            api_faults: Arc::default(),
        }
    }

    /// The object store, for tests and controllers.
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// A `kube::Client` whose requests this simulator serves in-process (default namespace `default`).
    pub fn client(&self) -> kube::Client {
        kube::Client::new(self.service(), "default")
    }

    /// The tower service behind [`Simulator::client`].
    pub fn service(&self) -> SimService {
        SimService { sim: self.clone() }
    }

    /// Serves one request whose body has been read (for an HTTP front end such as `cutover sim serve`).
    pub fn handle(
        &self,
        req: http::Request<Bytes>,
    ) -> impl Future<Output = http::Response<SimBody>> + Send + 'static {
        let injected = self.api_faults.get().and_then(|faults| faults.check(&req));
        let state = self.state.clone();
        async move {
            match injected {
                Some(response) => response,
                None => api::handle(state, req).await,
            }
        }
    }

    /// Installs the API fault layer: from now on, requests its rules match fail at their rate.
    /// Only the first call takes effect.
    pub fn set_api_faults(&self, faults: crate::faults::ApiFaults) {
        let _ = self.api_faults.set(faults);
    }
}

/// A `tower::Service` answering Kubernetes API requests from a [`Simulator`].
#[derive(Clone, Debug)]
pub struct SimService {
    sim: Simulator,
}

impl tower::Service<http::Request<kube::client::Body>> for SimService {
    type Response = http::Response<SimBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<kube::client::Body>) -> Self::Future {
        let sim = self.sim.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let bytes = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(e) => {
                    let err = crate::error::ApiError::bad_request(format!(
                        "reading the request body: {e}"
                    ));
                    let body = serde_json::to_vec(&err.to_status()).expect("JSON values serialise");
                    let resp = http::Response::builder()
                        .status(400)
                        .header(http::header::CONTENT_TYPE, "application/json")
                        .body(http_body_util::Full::new(Bytes::from(body)).boxed_unsync())
                        .expect("static response parts are valid");
                    return Ok(resp);
                }
            };
            Ok(sim.handle(http::Request::from_parts(parts, bytes)).await)
        })
    }
}
