//! Serving a [`Simulator`] over plain HTTP on loopback, so that `kubectl` and other clients that
//! read a kubeconfig can talk to it (`cutover sim serve`).
//!
//! One hyper HTTP/1.1 connection task per client connection, all sharing the simulator; watch
//! responses stream with chunked transfer encoding as events happen. The listener binds to
//! `127.0.0.1` only: the emulator has no authentication or authorisation at all.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let server = cutover_sim::serve::Server::bind(cutover_sim::Simulator::new(0), 0).await?;
//! cutover_sim::serve::write_kubeconfig(std::path::Path::new("sim.kubeconfig"), &server.url())?;
//! // ... point kubectl or kube::Client at sim.kubeconfig ...
//! server.shutdown().await;
//! # Ok(()) }
//! ```

use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::api::SimBody;
use crate::service::Simulator;

/// The name of the cluster, user and context in the kubeconfig [`write_kubeconfig`] writes.
pub const CONTEXT: &str = "cutover-sim";

/// How long open connections (watches, above all) get to finish once shutdown starts, before
/// they are closed.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// The content type the real server answers protobuf `/openapi/v2` requests with (Go's
/// `mime.ParseMediaType` rejects the `...spec.v2@v1.0+protobuf` type kubectl asks for).
const OPENAPI_PROTOBUF: &str = "application/octet-stream";

/// A simulator being served on loopback. Dropping it (and every [`ShutdownHandle`]) shuts it
/// down too, without waiting.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: ShutdownHandle,
    task: JoinHandle<()>,
}

/// Starts a shutdown of a [`Server`] from anywhere; cloneable.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    tx: watch::Sender<bool>,
}

impl ShutdownHandle {
    /// Stops accepting connections and closes open ones (after [`SHUTDOWN_GRACE`]). Idempotent.
    pub fn shutdown(&self) {
        self.tx.send_replace(true);
    }
}

impl Server {
    /// Binds `127.0.0.1:<port>` (0: the system picks a free port) and serves `sim` there on the
    /// current tokio runtime until shut down.
    pub async fn bind(sim: Simulator, port: u16) -> io::Result<Server> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, sim, rx));
        Ok(Server {
            addr,
            stop: ShutdownHandle { tx },
            task,
        })
    }

    /// The bound address (always on `127.0.0.1`).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server URL for a kubeconfig: `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A handle that starts a shutdown (from a signal handler, say).
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.stop.clone()
    }

    /// Waits until the server has stopped (after a [`ShutdownHandle::shutdown`]), all
    /// connections included.
    pub async fn stopped(self) {
        // The accept loop never panics; a JoinError could only be a cancelled runtime.
        let _ = self.task.await;
    }

    /// Shuts down and waits for it: no new connections; requests in flight get
    /// [`SHUTDOWN_GRACE`] to finish; open watches are then cut.
    pub async fn shutdown(self) {
        self.stop.shutdown();
        self.stopped().await;
    }
}

async fn accept_loop(listener: TcpListener, sim: Simulator, mut stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        // Reap finished connections so that the set stays as large as the open ones.
        while connections.try_join_next().is_some() {}
        let stream = tokio::select! {
            () = stopping(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Per-connection errors (the peer reset before accept, too many open files):
                    // back off briefly rather than spin, and keep serving.
                    tracing::warn!("cutover sim serve: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        connections.spawn(serve_connection(stream, sim.clone(), stop.clone()));
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Resolves once shutdown has started (or the server handle is gone).
async fn stopping(stop: &mut watch::Receiver<bool>) {
    // Holding the `Ref` the wait returns would make the caller's future !Send.
    let _ = stop.wait_for(|stopped| *stopped).await.map(|_| ());
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    sim: Simulator,
    mut stop: watch::Receiver<bool>,
) {
    let service = service_fn(move |req| {
        let sim = sim.clone();
        async move { Ok::<_, Infallible>(respond(&sim, req).await) }
    });
    // No timer, so no header read timeout: idle keep-alive connections stay open as long as the
    // client keeps them (as the real API server does); the listener is loopback-only.
    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!("cutover sim serve: connection ended: {e}");
            }
        }
        () = stopping(&mut stop) => {
            // Finish the response in flight, if it finishes soon; a watch will not.
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
        }
    }
}

/// Lets the simulator answer (which reads the body within [`crate::limits`]); serves the few
/// endpoints clients expect that are not part of the Kubernetes API proper.
async fn respond(sim: &Simulator, req: http::Request<Incoming>) -> http::Response<SimBody> {
    if let Some(resp) = extra_endpoint(&req) {
        return resp;
    }
    sim.handle(req).await
}

fn bytes_response(code: u16, content_type: &str, body: Bytes) -> http::Response<SimBody> {
    http::Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(body).boxed_unsync())
        .expect("static response parts are valid")
}

/// Endpoints outside the API groups that clients probe:
///
/// - `/openapi/v2`: kubectl reads it to validate manifests (`kubectl apply`, `create -f`) and to
///   compute strategic merge patches. The simulator has no schemas, so it serves an empty
///   document: kubectl then skips validation for kinds it finds no schema for and falls back to
///   its compiled-in types for patches. Protobuf when asked for it (an empty protobuf message is
///   zero bytes), otherwise JSON.
/// - `/openapi/v3`: 404, so newer clients fall back to v2.
/// - `/healthz`, `/livez`, `/readyz`: `ok`.
fn extra_endpoint<B>(req: &http::Request<B>) -> Option<http::Response<SimBody>> {
    if req.method() != Method::GET {
        return None;
    }
    match req.uri().path().trim_end_matches('/') {
        "/openapi/v2" => {
            let accept = req
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            Some(if accept.contains("protobuf") {
                bytes_response(200, OPENAPI_PROTOBUF, Bytes::new())
            } else {
                let doc = json!({
                    "swagger": "2.0",
                    "info": {"title": "cutover-sim", "version": crate::kinds::version_info()["gitVersion"]},
                    "paths": {},
                    "definitions": {},
                });
                let body = serde_json::to_vec(&doc).expect("JSON values serialise");
                bytes_response(200, "application/json", Bytes::from(body))
            })
        }
        "/healthz" | "/livez" | "/readyz" => {
            Some(bytes_response(200, "text/plain", Bytes::from_static(b"ok")))
        }
        _ => None,
    }
}

/// The kubeconfig text for a simulator at `server` (`http://127.0.0.1:<port>`): cluster, user
/// (no credentials) and context all named [`CONTEXT`], namespace `default`, current context set.
pub fn kubeconfig(server: &str) -> String {
    // JSON strings are valid YAML scalars, so quoting with serde_json escapes anything unusual.
    let server = serde_json::to_string(server).expect("strings serialise");
    format!(
        "apiVersion: v1
kind: Config
preferences: {{}}
clusters:
- name: {CONTEXT}
  cluster:
    server: {server}
users:
- name: {CONTEXT}
  user: {{}}
contexts:
- name: {CONTEXT}
  context:
    cluster: {CONTEXT}
    user: {CONTEXT}
    namespace: default
current-context: {CONTEXT}
"
    )
}

/// Writes [`kubeconfig`]`(server)` to `path` (creating parent directories; mode 0600 on Unix,
/// as kubectl writes its own).
pub fn write_kubeconfig(path: &Path, server: &str) -> io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    io::Write::write_all(&mut file, kubeconfig(server).as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_parses_and_names_the_context() {
        let text = kubeconfig("http://127.0.0.1:8080");
        let config: kube::config::Kubeconfig = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(config.current_context.as_deref(), Some(CONTEXT));
        let cluster = config.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("http://127.0.0.1:8080"));
        let context = config.contexts[0].context.as_ref().unwrap();
        assert_eq!(context.namespace.as_deref(), Some("default"));
        assert_eq!(context.user.as_deref(), Some(CONTEXT));
    }
}
