//! One HTTP GET for a probe, with hyper 1 and hyper-util's client (the ones kube-rs uses): a
//! fresh connection, no redirects followed, no proxy from the environment, no credentials, and
//! the body read up to a bound. `https` goes through hyper-rustls with the system's roots.

use bytes::Bytes;
use http::header::{ACCEPT, USER_AGENT};
use http_body_util::{BodyExt, Empty, LengthLimitError, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::TokioExecutor;

use super::ProbeError;
use super::endpoint::Endpoint;
use crate::text;

/// What a GET answered: the status and the whole body (at most the bound).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub status: u16,
    pub body: Bytes,
}

/// GETs `endpoint`'s URL, reading at most `max_bytes` of the body (a longer one is `Invalid`).
/// Any status is an answer. The caller bounds the time.
pub async fn get(
    endpoint: &Endpoint,
    max_bytes: usize,
    accept: &str,
) -> Result<Fetched, ProbeError> {
    let uri: http::Uri = endpoint.url.as_str().parse().map_err(|e| {
        ProbeError::Invalid(format!("the URL does not parse as a request URI: {e}"))
    })?;
    let request = http::Request::get(uri)
        .header(
            USER_AGENT,
            concat!("cutover-probe/", env!("CARGO_PKG_VERSION")),
        )
        .header(ACCEPT, accept)
        .body(Empty::<Bytes>::new())
        .map_err(|e| ProbeError::Invalid(format!("cannot build the request: {e}")))?;
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    if endpoint.url.scheme() == "https" {
        http.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| {
                ProbeError::Unavailable(format!("https: no trusted root certificates: {e}"))
            })?
            .https_only()
            .enable_http1()
            .wrap_connector(http);
        send(https, request, endpoint, max_bytes).await
    } else {
        send(http, request, endpoint, max_bytes).await
    }
}

async fn send<C>(
    connector: C,
    request: http::Request<Empty<Bytes>>,
    endpoint: &Endpoint,
    max_bytes: usize,
) -> Result<Fetched, ProbeError>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let client: Client<C, Empty<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build(connector);
    let response = client.request(request).await.map_err(|e| {
        ProbeError::Unavailable(format!(
            "cannot reach {}:{}: {}",
            endpoint.host,
            endpoint.port,
            root_cause(&e)
        ))
    })?;
    let status = response.status().as_u16();
    let too_long = || {
        ProbeError::Invalid(format!(
            "the body of {} is longer than {max_bytes} bytes (max-bytes)",
            endpoint.label()
        ))
    };
    let declared = response
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_bytes as u64) {
        return Err(too_long());
    }
    let body = Limited::new(response.into_body(), max_bytes)
        .collect()
        .await
        .map_err(|e| {
            if e.downcast_ref::<LengthLimitError>().is_some() {
                too_long()
            } else {
                ProbeError::Unavailable(format!(
                    "reading the body of {}: {}",
                    endpoint.label(),
                    text::escape(&e.to_string(), 256)
                ))
            }
        })?
        .to_bytes();
    Ok(Fetched { status, body })
}

/// The innermost error's message (`Connection refused (os error 111)`), escaped and short.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    text::escape(&current.to_string(), 256)
}
