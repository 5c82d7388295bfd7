//! The `Simulator` handle: the one entry point for requests (in process and over HTTP), its tower service for `kube::Client`, and direct store access.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Body;
use serde_json::json;

use crate::api::{self, ApiState, SimBody};
use crate::clock::Clock;
use crate::error::ApiError;
use crate::faults::ApiFaults;
use crate::kinds;
use crate::limits;
use crate::store::Store;

/// Namespaces present from the start, as in a fresh cluster.
pub const INITIAL_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// A simulated cluster. Cloning is cheap: clones share the same state.
#[derive(Clone, Debug)]
pub struct Simulator {
    state: Arc<ApiState>,
    /// The API fault layer (scenario `faults.api`), consulted before every request once set.
    api_faults: Arc<std::sync::OnceLock<ApiFaults>>,
}

impl Simulator {
    /// A simulator on tokio's clock (wall time, or tokio's paused clock in tests that pause it)
    /// whose uids and generated names derive from `seed`.
    pub fn new(seed: u64) -> Simulator {
        Simulator::with_clock(seed, Clock::tokio())
    }

    /// A simulator on the given clock: object timestamps, controller delays, the kubelet
    /// stand-in, watch timeouts and scenario node faults all read it. With a virtual clock
    /// ([`Clock::virtual_at`]) the whole cluster runs on virtual time; one that is never
    /// advanced is a fixed clock.
    pub fn with_clock(seed: u64, clock: Clock) -> Simulator {
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

    /// The simulator's clock.
    pub fn clock(&self) -> &Clock {
        self.store().clock()
    }

    /// A `kube::Client` whose requests this simulator serves in-process (default namespace `default`).
    pub fn client(&self) -> kube::Client {
        kube::Client::new(self.service(), "default")
    }

    /// The tower service behind [`Simulator::client`].
    pub fn service(&self) -> SimService {
        SimService { sim: self.clone() }
    }

    /// Serves one request: the entry point of both the in-process service and `cutover sim
    /// serve`, so that both apply the same faults and [`limits`]. In order:
    ///
    /// 1. the API fault layer (decided now, when `handle` is called, before anything is read or
    ///    done, so that a retry of a failed request is always safe);
    /// 2. the body, read up to [`limits::MAX_BODY_BYTES`] (413 beyond; GET requests' bodies
    ///    are not read, as the API server reads none);
    /// 3. the API itself ([`api::handle`]), which bounds patches and nesting.
    pub fn handle<B>(
        &self,
        req: http::Request<B>,
    ) -> impl Future<Output = http::Response<SimBody>> + Send + 'static
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: std::fmt::Display,
    {
        let (parts, body) = req.into_parts();
        let injected = self
            .api_faults
            .get()
            .and_then(|faults| faults.check(&parts));
        let state = self.state.clone();
        async move {
            if let Some(response) = injected {
                return response;
            }
            let bytes = if parts.method == http::Method::GET {
                Bytes::new()
            } else {
                match limits::read_body(body).await {
                    Ok(bytes) => bytes,
                    Err(err) => return api::error_response(&err),
                }
            };
            api::handle(state, http::Request::from_parts(parts, bytes)).await
        }
    }

    /// Installs the API fault layer: from now on, requests its rules match fail at their rate.
    /// Only the first call takes effect.
    pub fn set_api_faults(&self, faults: ApiFaults) {
        let _ = self.api_faults.set(faults);
    }
}

/// A `tower::Service` answering Kubernetes API requests from a [`Simulator`].
///
/// `kube::Client` calls it from wherever its caller runs: in `cutover run`, inside a host call
/// of a WebAssembly guest, whose future is polled on a fiber with a small stack. So each request
/// is handled in a task of its own on the current tokio runtime (on a runtime thread's stack);
/// the caller's future only waits for the answer. (A watch's later events are rendered as the
/// caller reads them: a clone and a serialisation of objects nested at most
/// [`limits::MAX_NESTING_DEPTH`] levels.) A request whose handling panics is answered 500
/// InternalError rather than unwinding into the caller.
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
        // Called in request order, so the fault layer's seeded draws follow that order.
        let handling = self.sim.handle(req);
        Box::pin(async move {
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                // Not on a tokio runtime (kube::Client needs one anyway): handle it here.
                return Ok(handling.await);
            };
            Ok(match runtime.spawn(handling).await {
                Ok(response) => response,
                Err(e) => api::error_response(&ApiError::internal(format!(
                    "the simulator failed while handling the request: {e}"
                ))),
            })
        })
    }
}
