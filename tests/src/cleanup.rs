//! Best-effort cleanup from `Drop`, for tests that panicked before their explicit async cleanup.

use std::future::Future;
use std::time::Duration;

use anyhow::Result;
use kube::Client;

use crate::control_plane;

/// Whether the developer asked to keep what a failed test left behind (`CUTOVER_TEST_KEEP=1`),
/// to look at it with kubectl.
pub(crate) fn keep_leftovers() -> bool {
    std::env::var_os("CUTOVER_TEST_KEEP").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Runs `work` to completion on a fresh runtime in a fresh thread, with a fresh client.
///
/// `Drop` cannot await, and the test's own runtime may be unwinding: its client's background
/// worker is not guaranteed to make progress, so nothing here borrows from it. Bounded in time so
/// that a dead cluster cannot hang the test binary.
pub(crate) fn blocking<F, Fut>(what: &str, work: F)
where
    F: FnOnce(Client) -> Fut + Send + 'static,
    Fut: Future<Output = Result<()>>,
{
    let Some(kubeconfig) = control_plane::started_kubeconfig() else {
        return;
    };
    let what = what.to_string();
    let thread = std::thread::spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => {
                eprintln!("cleanup of {what}: no runtime: {e}");
                return;
            }
        };
        runtime.block_on(async move {
            let result = tokio::time::timeout(Duration::from_secs(15), async {
                let client = control_plane::client_from(&kubeconfig).await?;
                work(client).await
            })
            .await;
            match result {
                Ok(Ok(())) => {}
                Ok(Err(e)) => eprintln!("cleanup of {what} failed: {e:#}"),
                Err(_) => eprintln!("cleanup of {what} timed out"),
            }
        });
    });
    let _ = thread.join();
}
