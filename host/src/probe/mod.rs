//! The network side of the `probe` interface (docs/probes.md): a guest's URL parsed and checked
//! for what it names, one HTTP GET (no redirects, no proxy, no credentials, a bounded body), a
//! JSON path into the body, and a Prometheus instant query decoded.

pub mod endpoint;
pub mod http;
pub mod json_path;
pub mod prometheus;

use std::time::Duration;

/// The longest URL or Prometheus address a policy may give, in bytes.
pub const MAX_URL: usize = 2 << 10;
/// The longest PromQL query, in bytes.
pub const MAX_QUERY: usize = 4 << 10;
/// The host's cap on a request's `max-bytes`.
pub const MAX_BODY: u32 = 1 << 20;
/// What of a body goes back to the guest besides the JSON path's value.
pub const BODY_SHOWN: usize = 4 << 10;
/// The longest one probe may take, whatever it asks (the run's deadline may cut it shorter).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a probe produced no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// The request was malformed (a bad URL, a bad JSON path), or the answer was unusable
    /// (a body past max-bytes, a Prometheus error, a result that is not a vector).
    #[error("{0}")]
    Invalid(String),
    /// The endpoint could not be reached (refused, reset, no such host, TLS failure).
    #[error("{0}")]
    Unavailable(String),
}

/// `text` cut to at most `max` bytes, at a character boundary.
pub fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `bytes` cut to at most `max`.
pub fn cut_bytes(bytes: &[u8], max: usize) -> &[u8] {
    &bytes[..bytes.len().min(max)]
}
