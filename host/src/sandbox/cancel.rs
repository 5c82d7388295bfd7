//! Cancelling a run from outside (Ctrl-C, SIGTERM): one token that the guest's epoch callback and every host call watch.

use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;

/// A run's cancellation. Cloning is cheap; clones cancel together.
#[derive(Clone, Debug, Default)]
pub struct Cancel {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    token: CancellationToken,
    reason: OnceLock<String>,
}

impl Cancel {
    /// Cancels the run, saying why (`SIGINT`, ...). Only the first reason is kept.
    pub fn cancel(&self, reason: &str) {
        let _ = self.inner.reason.set(reason.to_string());
        self.inner.token.cancel();
    }

    /// Whether the run was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.inner.token.is_cancelled()
    }

    /// Completes once the run is cancelled.
    pub async fn cancelled(&self) {
        self.inner.token.cancelled().await
    }

    /// Why the run was cancelled, once it was.
    pub fn reason(&self) -> Option<&str> {
        self.inner.reason.get().map(String::as_str)
    }
}
