//! Answers read with a bound: a body past its limit is refused while it streams in, never buffered whole.
//!
//! kube-rs's `request`/`request_text` collect the whole body before anyone can look at its size,
//! so a server (or a proxy, or a list of huge objects) could make the host hold any amount of
//! memory on a policy's behalf. Every request the cluster layer makes itself goes through
//! [`request_text`] instead, which stops reading at the bound and names it; the watches of
//! `wait`, read by kube-rs's watcher, are cut by the client's body limit (`body_limit.rs`).

use http_body_util::{BodyExt, LengthLimitError, Limited};
use kube::core::Status;

/// The most any one answer may be: an object (etcd keeps objects below 1.5 MiB) or a page of a
/// list, with room to spare.
pub(crate) const MAX_ANSWER_BYTES: usize = 16 << 20;

/// The most of an error answer (a `Status`, or a proxy's HTML page) that is read.
const MAX_ERROR_BYTES: usize = 64 << 10;

/// The answer to a bounded request.
#[derive(Debug)]
pub(crate) enum Answer {
    /// The body, at most the bound.
    Text(String),
    /// The body was longer than the bound; nothing of it is kept.
    TooLarge,
}

/// Sends `req` and reads the answer's body up to `max` bytes. A non-2xx answer becomes
/// `kube::Error::Api` with the server's `Status` (as kube-rs makes it), read up to 64 KiB.
pub(crate) async fn request_text(
    client: &kube::Client,
    req: http::Request<Vec<u8>>,
    max: usize,
) -> Result<Answer, kube::Error> {
    let res = client.send(req.map(kube::client::Body::from)).await?;
    let code = res.status();
    if code.is_client_error() || code.is_server_error() {
        // A proxy's error page may be in any encoding: its code is what matters.
        let text = match read_bytes(res.into_body(), MAX_ERROR_BYTES).await? {
            Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            None => String::new(),
        };
        let status = serde_json::from_str::<Status>(&text).unwrap_or_else(|_| {
            let reason = code.canonical_reason().unwrap_or("unexpected answer");
            Status::failure(text.trim(), reason).with_code(code.as_u16())
        });
        return Err(kube::Error::Api(status.boxed()));
    }
    match read_bytes(res.into_body(), max).await? {
        Some(bytes) => String::from_utf8(bytes)
            .map(Answer::Text)
            .map_err(kube::Error::FromUtf8),
        None => Ok(Answer::TooLarge),
    }
}

/// Sends `req` and parses its JSON answer, read up to [`MAX_ANSWER_BYTES`]; a longer answer is
/// an error naming the bound (not retried).
pub(crate) async fn request_json<T: serde::de::DeserializeOwned>(
    client: &kube::Client,
    req: http::Request<Vec<u8>>,
) -> Result<T, kube::Error> {
    match request_text(client, req, MAX_ANSWER_BYTES).await? {
        Answer::Text(text) => serde_json::from_str(&text).map_err(kube::Error::SerdeError),
        Answer::TooLarge => Err(kube::Error::Api(
            Status::failure(
                &format!(
                    "the API server's answer is larger than the {} MiB the host reads for one request",
                    MAX_ANSWER_BYTES >> 20
                ),
                "AnswerTooLarge",
            )
            .boxed(),
        )),
    }
}

/// Whether a body error is a length limit somewhere down its chain of sources.
fn is_length_limit(err: &kube::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.downcast_ref::<LengthLimitError>().is_some() {
            return true;
        }
        source = e.source();
    }
    false
}

/// Reads a body up to `max` bytes (`None`: longer), refusing it at once when its declared
/// length is larger.
async fn read_bytes(body: kube::client::Body, max: usize) -> Result<Option<Vec<u8>>, kube::Error> {
    use http_body::Body as _;
    if body.size_hint().exact().is_some_and(|n| n > max as u64) {
        return Ok(None);
    }
    let bytes = match Limited::new(body, max).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => {
            if err.downcast_ref::<LengthLimitError>().is_some() {
                return Ok(None);
            }
            return match err.downcast::<kube::Error>() {
                // The client's own body limit (body_limit.rs) under this one.
                Ok(kube) if is_length_limit(&kube) => Ok(None),
                Ok(kube) => Err(*kube),
                Err(other) => Err(kube::Error::Service(other)),
            };
        }
    };
    Ok(Some(bytes.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::loopback::{CHUNKED_OK, Reply, client};

    fn get() -> http::Request<Vec<u8>> {
        http::Request::get("/api/v1/pods")
            .body(Vec::new())
            .expect("request")
    }

    #[tokio::test]
    async fn a_body_within_the_bound_is_read_whole() {
        let client = client(|_| Reply::Chunked {
            head: CHUNKED_OK,
            chunks: 2,
        })
        .await;
        match request_text(&client, get(), 128 << 10)
            .await
            .expect("answer")
        {
            Answer::Text(t) => assert_eq!(t.len(), 128 << 10),
            Answer::TooLarge => panic!("refused a body of exactly the bound"),
        }
    }

    /// Breaks if the body is collected whole before its size is looked at: the server would
    /// send 1 GiB, and the test would take (and hold) all of it.
    #[tokio::test]
    async fn an_endless_body_is_refused_at_the_bound() {
        let client = client(|_| Reply::Chunked {
            head: CHUNKED_OK,
            chunks: 16 << 10,
        })
        .await;
        let answer = request_text(&client, get(), 1 << 20).await.expect("answer");
        assert!(matches!(answer, Answer::TooLarge), "{answer:?}");
    }

    #[tokio::test]
    async fn an_error_answer_is_an_api_error_with_its_code_and_a_bounded_text() {
        let client = client(|_| Reply::Chunked {
            head: "HTTP/1.1 500 Internal Server Error\r\ntransfer-encoding: chunked\r\n\r\n",
            chunks: 64,
        })
        .await;
        match request_text(&client, get(), 1 << 20).await {
            Err(kube::Error::Api(status)) => {
                assert_eq!(status.code, 500);
                assert!(
                    status.message.len() <= MAX_ERROR_BYTES,
                    "{}",
                    status.message.len()
                );
            }
            other => panic!("expected the server's 500, got {other:?}"),
        }
    }
}
