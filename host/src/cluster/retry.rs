//! A small retry budget for transient API failures (429, 5xx, lost connections), with jittered
//! backoff on the run's clock, honouring the server's `Retry-After`.
//!
//! `connect` turns off kube-rs's built-in retry layer: it retries 429/503/504 up to 15 times with
//! delays growing towards minutes, which would hide a sick cluster far past a host call's deadline
//! and would swallow the 429 that a PodDisruptionBudget answers to an eviction. Here each call
//! gets a budget of a few seconds instead (and always the call's own deadline, which the sandbox
//! enforces around it), and only where a retry cannot do harm.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use cutover_clock::Clock;

use super::error::{api_code, is_transport};

/// The longest `Retry-After` honoured; a longer one is cut to this (the call's deadline still rules).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

/// Which failures a request may be retried after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Idempotent requests (reads, apply, delete, scale, merge and strategic patches): retry
    /// 429, 500, 502, 503, 504, server timeouts and lost connections. A 5xx may come after the
    /// server did the work; doing an idempotent request again is harmless.
    Always,
    /// Requests that must not run twice (JSON patch): retry only a 429, which the server sends
    /// before doing anything.
    Rejected,
}

impl Retry {
    fn allows(self, err: &kube::Error) -> bool {
        match (self, api_code(err)) {
            (_, Some(429)) => true,
            (Retry::Always, Some(500 | 502 | 503 | 504)) => true,
            (Retry::Always, None) => is_transport(err),
            _ => false,
        }
    }
}

/// Whether `err` is transient: the request may or may not have been done, and trying again
/// later may succeed (a 429, a 5xx, a lost connection).
pub(crate) fn transient(err: &kube::Error) -> bool {
    Retry::Always.allows(err)
}

/// How long the server asked us to wait (`details.retryAfterSeconds` of its `Status`, which
/// kube-apiserver sets along with the `Retry-After` header), capped.
pub(crate) fn retry_after(err: &kube::Error) -> Option<Duration> {
    match err {
        kube::Error::Api(status) => status
            .details
            .as_ref()
            .map(|d| d.retry_after_seconds)
            .filter(|s| *s > 0)
            .map(|s| Duration::from_secs(u64::from(s)).min(MAX_RETRY_AFTER)),
        _ => None,
    }
}

/// The backoff between attempts: 200 ms doubling to 2 s, jittered, five retries (about 6 s at most).
fn backoff(jitter: &Jitter) -> ExponentialBuilder {
    jitter.apply(
        ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(200))
            .with_max_delay(Duration::from_secs(2))
            .with_max_times(5),
    )
}

/// The jitter of one cluster's backoffs: random by default; seeded (one seed per backoff, in the
/// order they are made) so that a run on the simulator repeats exactly, virtual timings included.
#[derive(Debug, Default)]
pub(crate) struct Jitter {
    /// The next backoff's seed; `0`: not seeded.
    next: AtomicU64,
}

impl Jitter {
    /// Makes every later backoff's jitter follow `seed`.
    pub(crate) fn seed(&self, seed: u64) {
        self.next.store(
            seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
            Ordering::Relaxed,
        );
    }

    /// Adds jitter to `builder`, seeded when [`Jitter::seed`] was called.
    pub(crate) fn apply(&self, builder: ExponentialBuilder) -> ExponentialBuilder {
        let builder = builder.with_jitter();
        if self.next.load(Ordering::Relaxed) == 0 {
            return builder;
        }
        builder.with_jitter_seed(self.next.fetch_add(2, Ordering::Relaxed))
    }
}

/// What every retry of one cluster shares: the jitter and the run's clock its sleeps follow.
#[derive(Debug)]
pub(crate) struct Retrier {
    pub(crate) jitter: Jitter,
    pub(crate) clock: Clock,
}

impl Default for Retrier {
    fn default() -> Self {
        Retrier {
            jitter: Jitter::default(),
            clock: Clock::tokio(),
        }
    }
}

impl Retrier {
    /// Runs `attempt` until it succeeds, fails in a way `policy` does not retry, or the budget is spent.
    pub(crate) async fn send<T, F, Fut>(&self, policy: Retry, attempt: F) -> Result<T, kube::Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        send_with(backoff(&self.jitter), &self.clock, policy, attempt).await
    }
}

async fn send_with<T, F, Fut>(
    backoff: ExponentialBuilder,
    clock: &Clock,
    policy: Retry,
    attempt: F,
) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let clock = clock.clone();
    attempt
        .retry(backoff)
        .sleep(move |d| clock.sleep(d))
        .when(|e| policy.allows(e))
        .adjust(|e, delay| delay.map(|d| retry_after(e).map_or(d, |after| after.max(d))))
        .notify(|e, delay| tracing::debug!(error = %e, ?delay, "transient API error, retrying"))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use backon::BackoffBuilder;
    use kube::core::Status;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn api(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(Status::failure("x", "y").with_code(code)))
    }

    #[test]
    fn policies() {
        assert!(Retry::Always.allows(&api(429)));
        assert!(Retry::Always.allows(&api(503)));
        assert!(Retry::Always.allows(&api(504)));
        assert!(Retry::Always.allows(&api(500)));
        assert!(!Retry::Rejected.allows(&api(500)));
        assert!(!Retry::Always.allows(&api(501)));
        assert!(!Retry::Always.allows(&api(404)));
        assert!(Retry::Rejected.allows(&api(429)));
        assert!(!Retry::Rejected.allows(&api(503)));
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(Retry::Always.allows(&kube::Error::Service(Box::new(io))));
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(!Retry::Rejected.allows(&kube::Error::Service(Box::new(io))));
    }

    /// A 429 as kube-apiserver writes it, asking to retry after `secs`.
    fn throttled(secs: u32) -> Status {
        serde_json::from_value(serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 429,
            "reason": "TooManyRequests", "message": "slow down",
            "details": {"retryAfterSeconds": secs}
        }))
        .unwrap()
    }

    #[test]
    fn retry_after_is_read_from_the_status_and_capped() {
        let e = kube::Error::Api(Box::new(throttled(3)));
        assert_eq!(retry_after(&e), Some(Duration::from_secs(3)));
        let e = kube::Error::Api(Box::new(throttled(3600)));
        assert_eq!(retry_after(&e), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after(&api(429)), None);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_429_waits_what_the_server_asked_on_the_run_clock() {
        let clock = Clock::virtual_at(std::time::UNIX_EPOCH);
        let status = throttled(2);
        let calls = AtomicU32::new(0);
        let start = clock.now();
        let c = clock.clone();
        let run = send_with(backoff(&Jitter::default()), &clock, Retry::Always, || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            let status = status.clone();
            async move {
                if n == 0 {
                    Err(kube::Error::Api(Box::new(status)))
                } else {
                    Ok(())
                }
            }
        });
        // Drive the virtual clock by hand: this test runtime has no park hook.
        let driver = async {
            loop {
                tokio::task::yield_now().await;
                c.advance();
            }
        };
        tokio::select! {
            r = run => r.unwrap(),
            _ = driver => unreachable!(),
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert!(
            clock.since(start) >= Duration::from_secs(2),
            "{:?}",
            clock.since(start)
        );
    }

    #[test]
    fn seeded_jitter_repeats_and_stays_per_cluster() {
        let delays = |jitter: &Jitter| -> Vec<Duration> { backoff(jitter).build().collect() };
        let (a, b) = (Jitter::default(), Jitter::default());
        a.seed(7);
        b.seed(7);
        assert_eq!(delays(&a), delays(&b));
        // The next backoff of a cluster gets the next seed, the same on every run.
        assert_eq!(delays(&a), delays(&b));
        // Seeding one cluster leaves another's jitter random (not seeded).
        assert_eq!(Jitter::default().next.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn retries_transient_then_gives_up() {
        let fast = || {
            backoff(&Jitter::default())
                .with_min_delay(Duration::from_millis(1))
                .with_max_delay(Duration::from_millis(2))
        };
        let calls = AtomicU32::new(0);
        let clock = Clock::tokio();
        let r: Result<(), _> = send_with(fast(), &clock, Retry::Always, || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(api(503)) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 6, "one try and five retries");

        let calls = AtomicU32::new(0);
        let r: Result<(), _> = send_with(fast(), &clock, Retry::Always, || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(api(404)) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1, "a 404 is final");
    }
}
