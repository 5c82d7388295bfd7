//! A store clock that follows tokio's clock, so that timestamps written into objects advance with
//! virtual time when the runtime's clock is paused.

use crate::clock::Clock;

/// `origin` plus the tokio time elapsed since the clock was made. Under a paused runtime clock
/// (`#[tokio::test(start_paused = true)]`, or `tokio::time::pause()` with tokio's `test-util`
/// feature) object timestamps then move with simulated time; otherwise with the wall clock.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin: jiff::Timestamp,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock that reads `origin` now.
    pub fn starting_at(origin: jiff::Timestamp) -> TokioClock {
        TokioClock {
            origin,
            start: tokio::time::Instant::now(),
        }
    }

    /// A clock that reads the wall-clock time now.
    pub fn new() -> TokioClock {
        TokioClock::starting_at(jiff::Timestamp::now())
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        TokioClock::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> jiff::Timestamp {
        let elapsed = self.start.elapsed();
        jiff::SignedDuration::try_from(elapsed)
            .ok()
            .and_then(|d| self.origin.checked_add(d).ok())
            .unwrap_or(self.origin)
    }
}
