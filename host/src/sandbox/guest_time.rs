//! The wall time a guest spends computing, host calls excluded: what bounds it when the run's clock is virtual.
//!
//! On the simulator the run's clock stands still while the guest computes, so a spinning guest
//! is cut by wall time instead: at most `--timeout` of its own computing. Host calls are not
//! the guest's computing (the simulator answering a list of 10,000 nodes takes real time), so
//! their wall time is left out; a run is never stopped because the host was slow.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Shared by every clone of one run's time.
#[derive(Clone, Debug)]
pub(crate) struct GuestTime {
    inner: Arc<Mutex<Spent>>,
}

#[derive(Debug)]
struct Spent {
    started: Instant,
    /// Wall time of finished host calls.
    in_host: Duration,
    /// When the host call under way began.
    call_began: Option<Instant>,
}

impl GuestTime {
    pub(crate) fn start() -> GuestTime {
        GuestTime {
            inner: Arc::new(Mutex::new(Spent {
                started: Instant::now(),
                in_host: Duration::ZERO,
                call_began: None,
            })),
        }
    }

    fn spent(&self) -> std::sync::MutexGuard<'_, Spent> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wall time the guest has computed so far (frozen while a host call is under way).
    pub(crate) fn used(&self) -> Duration {
        let spent = self.spent();
        let until = spent.call_began.unwrap_or_else(Instant::now);
        until
            .saturating_duration_since(spent.started)
            .saturating_sub(spent.in_host)
    }

    /// Wall time since the run started, host calls included.
    pub(crate) fn wall(&self) -> Duration {
        self.spent().started.elapsed()
    }

    /// Marks a host call's start; its time is not the guest's until [`GuestTime::host_returned`].
    pub(crate) fn host_called(&self) {
        let mut spent = self.spent();
        if spent.call_began.is_none() {
            spent.call_began = Some(Instant::now());
        }
    }

    /// Marks the end of the host call under way.
    pub(crate) fn host_returned(&self) {
        let mut spent = self.spent();
        if let Some(began) = spent.call_began.take() {
            spent.in_host += began.elapsed();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_calls_do_not_count() {
        let time = GuestTime::start();
        time.host_called();
        let frozen = time.used();
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(time.used(), frozen, "frozen during a host call");
        time.host_returned();
        let after = time.used();
        // Had the call's 200 ms counted, `after` would be at least `frozen` + 200 ms.
        assert!(after >= frozen, "{after:?} < {frozen:?}");
        assert!(
            after < frozen + Duration::from_millis(200),
            "{after:?}: the call counted"
        );
    }
}
