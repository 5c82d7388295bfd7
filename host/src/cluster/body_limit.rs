//! A tower layer under the kube client that cuts every response body at a bound, watches and kube-rs's own reads included.
//!
//! The host's own requests read with [`super::bounded`], which names the bound; but `wait`
//! watches through kube-rs's watcher, whose initial list collects a whole page and whose watch
//! splits lines without a length limit. Under this layer no body, whatever reads it, can grow
//! past [`MAX_BODY_BYTES`]: a longer one ends in an error, which a watch takes as an interrupted
//! stream and resumes from its last resource version.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::Limited;
use tower::{Layer, Service};

/// The most one response body may be: above the bound of [`super::bounded`], so that its
/// clearer error wins for the host's own reads.
pub(crate) const MAX_BODY_BYTES: usize = super::bounded::MAX_ANSWER_BYTES + (1 << 20);

/// Wraps a service so that each response body is [`Limited`] to `max` bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimitLayer {
    pub(crate) max: usize,
}

impl<S> Layer<S> for BodyLimitLayer {
    type Service = BodyLimit<S>;

    fn layer(&self, inner: S) -> BodyLimit<S> {
        BodyLimit {
            inner,
            max: self.max,
        }
    }
}

/// See [`BodyLimitLayer`].
#[derive(Debug, Clone)]
pub(crate) struct BodyLimit<S> {
    inner: S,
    max: usize,
}

impl<S, Req, B> Service<Req> for BodyLimit<S>
where
    S: Service<Req, Response = http::Response<B>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Limited<B>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let max = self.max;
        let response = self.inner.call(req);
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|body| Limited::new(body, max)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::loopback::{CHUNKED_OK, Reply, config, serve};

    /// Breaks if a read that kube-rs does itself (here `request_text`, as the watcher's list
    /// does) is not cut by the layer: the server sends 1 GiB without declaring a length.
    #[tokio::test]
    async fn kube_rs_own_reads_are_cut_at_the_bound() {
        let url = serve(|_| Reply::Chunked {
            head: CHUNKED_OK,
            chunks: 16 << 10,
        })
        .await;
        let client = kube::client::ClientBuilder::try_from(config(url))
            .expect("builder")
            .with_layer(&BodyLimitLayer { max: 1 << 20 })
            .build();
        let req = http::Request::get("/api/v1/pods")
            .body(Vec::new())
            .expect("request");
        let err = client.request_text(req).await.expect_err("cut at 1 MiB");
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
        let mut cut = false;
        while let Some(e) = source {
            cut |= e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            source = e.source();
        }
        assert!(cut, "not the length limit: {err:?}");
    }
}
