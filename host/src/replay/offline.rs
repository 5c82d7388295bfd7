//! The cluster a replay runs with: none. Every request sent to it fails without leaving the
//! process and is counted, so that a replay can prove it reached nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use cutover_clock::Clock;
use http_body_util::Full;

use crate::cluster::Cluster;

/// A kube-rs transport that refuses every request, counting them.
#[derive(Clone, Debug, Default)]
struct Refuse {
    requests: Arc<AtomicU64>,
}

impl tower::Service<http::Request<kube::client::Body>> for Refuse {
    type Response = http::Response<Full<Bytes>>;
    type Error = std::io::Error;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<kube::client::Body>) -> Self::Future {
        self.requests.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Err(std::io::Error::other(
            "a replay has no cluster: every answer comes from the recording",
        )))
    }
}

/// A [`Cluster`] that reaches nothing, and the count of the requests made to it.
pub fn cluster(namespace: &str, clock: Clock) -> (Cluster, Arc<AtomicU64>) {
    let refuse = Refuse::default();
    let requests = refuse.requests.clone();
    let client = kube::Client::new(refuse, namespace.to_string());
    (
        Cluster::from_client(client, namespace.to_string(), clock),
        requests,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_request_fails_and_is_counted() {
        let (cluster, requests) = cluster("default", Clock::tokio());
        let reached = cluster
            .check_reachable(std::time::Duration::from_secs(5))
            .await;
        assert!(reached.is_err(), "{reached:?}");
        assert!(requests.load(Ordering::SeqCst) >= 1);
    }
}
