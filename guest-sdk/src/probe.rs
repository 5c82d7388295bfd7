//! Measurements for analysis gates on [`Context`]: an HTTP GET and a Prometheus instant query,
//! each to an endpoint the run was granted (`probe/http:<host>:<port>`,
//! `probe/prometheus:<host>:<port>`). The verdict is the policy's.

use std::time::Duration;

use serde_json::Value;

use crate::host::probe as wit;
use crate::runtime::millis_ceil;
use crate::{Context, Error};

/// An HTTP GET to a granted endpoint: [`HttpRequest::get`] then the `with_` setters.
///
/// ```
/// use cutover_guest_sdk::HttpRequest;
/// use std::time::Duration;
/// let request = HttpRequest::get("http://web-canary.shop:8080/healthz")
///     .with_timeout(Duration::from_secs(2))
///     .with_json_path("$.status");
/// assert_eq!(request.max_bytes, 64 * 1024);
/// assert_eq!(request.json_path.as_deref(), Some("$.status"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    /// `http://host:port/path?query` (or `https://`). Its host and port must be granted.
    pub url: String,
    /// Give up after this long (the host also stops at the run's deadline and at 60 s).
    pub timeout: Duration,
    /// Read at most this many bytes of the body (the host caps it at 1 MiB); a longer body is
    /// an [`Error::Invalid`].
    pub max_bytes: u32,
    /// A JSON path into the body (`$.status`, `$.checks[0].ok`, `status.ready`, Argo's
    /// `{$.status}`): when given, the body is parsed as JSON and the value found is returned
    /// in [`HttpResponse::value`].
    pub json_path: Option<String>,
}

impl HttpRequest {
    /// [`HttpRequest::timeout`] unless set: 10 seconds.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    /// [`HttpRequest::max_bytes`] unless set: 64 KiB.
    pub const DEFAULT_MAX_BYTES: u32 = 64 * 1024;

    /// A GET of `url` with the defaults: 10 s, 64 KiB, no JSON path.
    ///
    /// ```
    /// let r = cutover_guest_sdk::HttpRequest::get("http://10.0.0.7:9090/ready");
    /// assert_eq!(r.timeout, std::time::Duration::from_secs(10));
    /// assert_eq!(r.json_path, None);
    /// ```
    pub fn get(url: impl Into<String>) -> Self {
        HttpRequest {
            url: url.into(),
            timeout: Self::DEFAULT_TIMEOUT,
            max_bytes: Self::DEFAULT_MAX_BYTES,
            json_path: None,
        }
    }

    /// The same request with another timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same request reading at most `max_bytes` of the body.
    pub fn with_max_bytes(mut self, max_bytes: u32) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// The same request with a JSON path into the body.
    pub fn with_json_path(mut self, path: impl Into<String>) -> Self {
        self.json_path = Some(path.into());
        self
    }

    fn to_wit(&self) -> wit::HttpRequest {
        wit::HttpRequest {
            url: self.url.clone(),
            timeout_ms: millis_ceil(self.timeout),
            max_bytes: self.max_bytes,
            json_path: self.json_path.clone(),
        }
    }
}

/// What an HTTP GET answered. Any status is an answer: the policy decides what a 500 means.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// The value at the request's JSON path (none when no path was asked, the body is not
    /// JSON, or nothing is at the path). When the path matches several values, a JSON array
    /// of them.
    pub value: Option<Value>,
    /// The body, cut to 4 KiB (for the run's log).
    pub body: String,
    /// How long the request took.
    pub elapsed: Duration,
}

impl HttpResponse {
    /// Whether the status is 2xx.
    ///
    /// ```
    /// use cutover_guest_sdk::HttpResponse;
    /// let r = HttpResponse { status: 204, value: None, body: String::new(), elapsed: Default::default() };
    /// assert!(r.is_success());
    /// ```
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl TryFrom<wit::HttpResponse> for HttpResponse {
    type Error = Error;

    fn try_from(r: wit::HttpResponse) -> Result<Self, Error> {
        let value = match r.value {
            Some(text) => Some(
                serde_json::from_str(&text)
                    .map_err(|e| Error::invalid(format!("the probe's JSON value: {e}")))?,
            ),
            None => None,
        };
        Ok(HttpResponse {
            status: r.status,
            value,
            body: r.body,
            elapsed: Duration::from_millis(r.elapsed_ms),
        })
    }
}

/// One element of a Prometheus result: its labels and value. A scalar result is one sample
/// without labels.
///
/// ```
/// let s = cutover_guest_sdk::Sample { labels: vec![("pod".into(), "web-1".into())], value: 0.5 };
/// assert_eq!(s.label("pod"), Some("web-1"));
/// assert_eq!(s.label("job"), None);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// `(name, value)` pairs, as Prometheus gave them.
    pub labels: Vec<(String, String)>,
    /// The value (NaN and the infinities are possible: Prometheus sends them).
    pub value: f64,
}

impl Sample {
    /// The value of the label `name`, if the sample has it.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl From<wit::Sample> for Sample {
    fn from(s: wit::Sample) -> Self {
        Sample {
            labels: s.labels,
            value: s.value,
        }
    }
}

impl Context {
    /// GETs a URL the run was granted (`probe/http:<host>:<port>`). A connection refused, a
    /// timeout or a body past `max_bytes` is an error; any HTTP status is an answer. An
    /// endpoint not granted is [`Error::Forbidden`].
    ///
    /// ```no_run
    /// use cutover_guest_sdk::{Context, Error, HttpRequest};
    /// fn healthy(ctx: &Context) -> Result<bool, Error> {
    ///     let r = ctx.http_get(&HttpRequest::get("http://web-canary.shop/healthz").with_json_path("$.ok"))?;
    ///     Ok(r.is_success() && r.value == Some(serde_json::json!(true)))
    /// }
    /// ```
    pub fn http_get(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        wit::http_get(&request.to_wit())?.try_into()
    }

    /// Runs the PromQL `query` on the Prometheus server at `address` (`http://host:port`, granted
    /// by `probe/prometheus:<host>:<port>`) as an instant query. Returns the vector's samples
    /// (empty when nothing matched, which is an answer, not an error); a scalar result is one
    /// sample without labels. A Prometheus error (bad PromQL, ...) is [`Error::Invalid`].
    ///
    /// ```no_run
    /// use cutover_guest_sdk::{Context, Error};
    /// use std::time::Duration;
    /// fn error_rate(ctx: &Context) -> Result<Option<f64>, Error> {
    ///     let samples = ctx.query_prometheus(
    ///         "http://prometheus.monitoring:9090",
    ///         "sum(rate(http_errors_total[1m]))",
    ///         Duration::from_secs(5),
    ///     )?;
    ///     Ok(samples.first().map(|s| s.value))
    /// }
    /// ```
    pub fn query_prometheus(
        &self,
        address: &str,
        query: &str,
        timeout: Duration,
    ) -> Result<Vec<Sample>, Error> {
        let query = wit::PrometheusQuery {
            address: address.to_string(),
            query: query.to_string(),
            timeout_ms: millis_ceil(timeout),
        };
        Ok(wit::query_prometheus(&query)?
            .into_iter()
            .map(Sample::from)
            .collect())
    }
}
