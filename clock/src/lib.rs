//! The run's clock: tokio's clock for real clusters, or a virtual clock for the simulator.
//!
//! Every deadline, sleep, backoff and timestamp of a run reads one [`Clock`]. On a real cluster
//! that is tokio's clock ([`Clock::tokio`]). On the simulator it is a virtual clock
//! ([`Clock::virtual_at`]) that stands still while anything can run and jumps to its earliest
//! timer whenever the runtime is about to go idle, so a 30-minute canary takes milliseconds.
//!
//! Virtual time needs none of tokio's test utilities: the runtime is built with an
//! `on_thread_park` hook ([`Clock::park_hook`]) that calls [`Clock::advance`]. It must be a
//! current-thread runtime: with several workers, one going idle does not mean all are.
//!
//! ```
//! use std::time::Duration;
//! use cutover_clock::Clock;
//!
//! let clock = Clock::virtual_at(std::time::UNIX_EPOCH);
//! let runtime = tokio::runtime::Builder::new_current_thread()
//!     .enable_all()
//!     .on_thread_park(clock.park_hook())
//!     .build()
//!     .unwrap();
//! let start = clock.now();
//! runtime.block_on(clock.sleep(Duration::from_secs(3600)));
//! assert_eq!(clock.now() - start, Duration::from_secs(3600));
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

/// A run's clock; cloning is cheap and clones share the same time.
#[derive(Clone, Debug)]
pub struct Clock(Kind);

#[derive(Clone, Debug)]
enum Kind {
    /// tokio's clock: real time, or tokio's paused clock in tests that use it.
    Tokio {
        origin: tokio::time::Instant,
        wall_origin: SystemTime,
    },
    Virtual(Arc<Virtual>),
}

/// The deadline passed before the future finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl Clock {
    /// tokio's clock, reading the wall-clock time now.
    pub fn tokio() -> Clock {
        Clock::tokio_at(SystemTime::now())
    }

    /// tokio's clock whose wall time reads `wall_origin` now (tests pin the date this way).
    pub fn tokio_at(wall_origin: SystemTime) -> Clock {
        Clock(Kind::Tokio {
            origin: tokio::time::Instant::now(),
            wall_origin,
        })
    }

    /// A virtual clock whose wall time reads `wall_origin` now. Time moves only when
    /// [`advance`](Clock::advance) is called, which the runtime's park hook does.
    pub fn virtual_at(wall_origin: SystemTime) -> Clock {
        Clock(Kind::Virtual(Arc::new(Virtual {
            origin: Instant::now(),
            wall_origin,
            state: Mutex::new(State::default()),
        })))
    }

    /// Whether this is a virtual clock.
    pub fn is_virtual(&self) -> bool {
        matches!(self.0, Kind::Virtual(_))
    }

    /// The current instant.
    pub fn now(&self) -> Instant {
        match &self.0 {
            Kind::Tokio { .. } => tokio::time::Instant::now().into_std(),
            Kind::Virtual(v) => v.origin + v.lock().elapsed,
        }
    }

    /// The current wall-clock time: the origin plus the time this clock has moved since.
    pub fn wall_now(&self) -> SystemTime {
        match &self.0 {
            Kind::Tokio {
                origin,
                wall_origin,
            } => *wall_origin + origin.elapsed(),
            Kind::Virtual(v) => v.wall_origin + v.lock().elapsed,
        }
    }

    /// Milliseconds since the Unix epoch by [`wall_now`](Clock::wall_now) (0 before 1970).
    pub fn unix_millis(&self) -> u64 {
        self.wall_now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }

    /// How long it is since `earlier` by this clock (zero if `earlier` is later).
    pub fn since(&self, earlier: Instant) -> Duration {
        self.now().saturating_duration_since(earlier)
    }

    /// A future that completes `duration` from now.
    pub fn sleep(&self, duration: Duration) -> Sleep {
        let at = self.now().checked_add(duration);
        match at {
            Some(at) => self.sleep_until(at),
            // Too far to represent: never.
            None => Sleep(SleepKind::Never),
        }
    }

    /// A future that completes at `deadline` (at once if it has passed).
    pub fn sleep_until(&self, deadline: Instant) -> Sleep {
        match &self.0 {
            // Made on first poll: tokio's timer needs the runtime, which a caller may enter later.
            Kind::Tokio { .. } => Sleep(SleepKind::Tokio {
                deadline: tokio::time::Instant::from_std(deadline),
                sleep: None,
            }),
            Kind::Virtual(v) => Sleep(SleepKind::Virtual {
                clock: v.clone(),
                at: deadline.saturating_duration_since(v.origin),
                key: None,
            }),
        }
    }

    /// Runs `future` until it finishes or `duration` passes.
    pub fn timeout<F: Future>(&self, duration: Duration, future: F) -> Timeout<F> {
        Timeout {
            future: Box::pin(future),
            sleep: self.sleep(duration),
        }
    }

    /// Runs `future` until it finishes or `deadline` comes.
    pub fn timeout_at<F: Future>(&self, deadline: Instant, future: F) -> Timeout<F> {
        Timeout {
            future: Box::pin(future),
            sleep: self.sleep_until(deadline),
        }
    }

    /// Virtual clock: jumps to the earliest pending timer and wakes every timer due then.
    /// Returns whether it woke anything. A no-op on tokio's clock.
    pub fn advance(&self) -> bool {
        match &self.0 {
            Kind::Tokio { .. } => false,
            Kind::Virtual(v) => v.advance(),
        }
    }

    /// The `on_thread_park` hook of the run's runtime: advances a virtual clock whenever the
    /// runtime is about to go idle (see the crate documentation). Harmless on tokio's clock.
    pub fn park_hook(&self) -> impl Fn() + Send + Sync + 'static {
        let clock = self.clone();
        move || {
            clock.advance();
        }
    }
}

/// The virtual clock's time and its pending timers.
struct Virtual {
    origin: Instant,
    wall_origin: SystemTime,
    state: Mutex<State>,
}

impl fmt::Debug for Virtual {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Virtual")
            .field("elapsed", &state.elapsed)
            .field("timers", &state.timers.len())
            .finish()
    }
}

#[derive(Default)]
struct State {
    /// How far the clock has moved since `origin`.
    elapsed: Duration,
    /// Pending timers by (due time, registration key).
    timers: BTreeMap<(Duration, u64), Waker>,
    next_key: u64,
}

impl Virtual {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the map consistent: every update is one call.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn poll_timer(&self, at: Duration, key: &mut Option<u64>, cx: &Context<'_>) -> Poll<()> {
        let mut state = self.lock();
        if state.elapsed >= at {
            if let Some(k) = key.take() {
                state.timers.remove(&(at, k));
            }
            return Poll::Ready(());
        }
        let k = match key {
            Some(k) => *k,
            None => {
                state.next_key += 1;
                let k = state.next_key;
                *key = Some(k);
                k
            }
        };
        state.timers.insert((at, k), cx.waker().clone());
        Poll::Pending
    }

    fn cancel(&self, at: Duration, key: u64) {
        self.lock().timers.remove(&(at, key));
    }

    fn advance(&self) -> bool {
        let due: Vec<Waker> = {
            let mut state = self.lock();
            let Some((&(at, _), _)) = state.timers.first_key_value() else {
                return false;
            };
            if at > state.elapsed {
                state.elapsed = at;
            }
            let now = state.elapsed;
            let later = state.timers.split_off(&(now, u64::MAX));
            std::mem::replace(&mut state.timers, later)
                .into_values()
                .collect()
        };
        // Woken outside the lock: a waker may poll (and so lock) at once.
        for waker in due {
            waker.wake();
        }
        true
    }
}

/// A future that completes at an instant of its clock; see [`Clock::sleep_until`].
#[derive(Debug)]
pub struct Sleep(SleepKind);

#[derive(Debug)]
enum SleepKind {
    Tokio {
        deadline: tokio::time::Instant,
        sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    },
    Virtual {
        clock: Arc<Virtual>,
        at: Duration,
        key: Option<u64>,
    },
    Never,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.0 {
            SleepKind::Tokio { deadline, sleep } => sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(*deadline)))
                .as_mut()
                .poll(cx),
            SleepKind::Virtual { clock, at, key } => clock.poll_timer(*at, key, cx),
            SleepKind::Never => Poll::Pending,
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let SleepKind::Virtual {
            clock,
            at,
            key: Some(key),
        } = &self.0
        {
            clock.cancel(*at, *key);
        }
    }
}

/// A future bounded by a deadline of its clock; see [`Clock::timeout`].
#[derive(Debug)]
pub struct Timeout<F> {
    future: Pin<Box<F>>,
    sleep: Sleep,
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // The future first, as tokio's timeout does: a result ready at the deadline wins.
        if let Poll::Ready(output) = self.future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(&mut self.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed)),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn runtime(clock: &Clock) -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .on_thread_park(clock.park_hook())
            .build()
            .unwrap()
    }

    #[test]
    fn virtual_time_jumps_to_the_next_timer_only_when_idle() {
        let clock = Clock::virtual_at(SystemTime::UNIX_EPOCH);
        let rt = runtime(&clock);
        let start = clock.now();
        let order = rt.block_on(async {
            let c = clock.clone();
            let slow = tokio::spawn(async move {
                c.sleep(Duration::from_secs(60)).await;
                c.since(start)
            });
            let c = clock.clone();
            let fast = tokio::spawn(async move {
                c.sleep(Duration::from_secs(5)).await;
                c.since(start)
            });
            (fast.await.unwrap(), slow.await.unwrap())
        });
        assert_eq!(
            order,
            (Duration::from_secs(5), Duration::from_secs(60)),
            "each wakes at its own time"
        );
        assert_eq!(clock.unix_millis(), 60_000, "wall time follows");
    }

    #[test]
    fn busy_work_keeps_the_clock_still() {
        let clock = Clock::virtual_at(SystemTime::UNIX_EPOCH);
        let rt = runtime(&clock);
        let before = clock.now();
        rt.block_on(async {
            for _ in 0..100 {
                tokio::task::yield_now().await;
            }
        });
        assert_eq!(clock.now(), before);
    }

    #[test]
    fn timeouts_fire_at_their_deadline_and_results_win_ties() {
        let clock = Clock::virtual_at(SystemTime::UNIX_EPOCH);
        let rt = runtime(&clock);
        let start = clock.now();
        let never = std::future::pending::<()>();
        let r = rt.block_on(clock.timeout(Duration::from_secs(30), never));
        assert_eq!(r, Err(Elapsed));
        assert_eq!(clock.since(start), Duration::from_secs(30));
        let c = clock.clone();
        let r = rt.block_on(clock.timeout(Duration::from_secs(10), async move {
            c.sleep(Duration::from_secs(10)).await;
            7
        }));
        assert_eq!(r, Ok(7));
    }

    #[test]
    fn a_dropped_sleep_leaves_no_timer() {
        let clock = Clock::virtual_at(SystemTime::UNIX_EPOCH);
        let rt = runtime(&clock);
        let woke = Arc::new(AtomicU32::new(0));
        rt.block_on(async {
            let r = clock
                .timeout(Duration::from_secs(1), clock.sleep(Duration::from_secs(99)))
                .await;
            assert!(r.is_err());
            let w = woke.clone();
            let c = clock.clone();
            tokio::spawn(async move {
                c.sleep(Duration::from_secs(2)).await;
                w.fetch_add(1, Ordering::SeqCst);
            })
            .await
            .unwrap();
        });
        assert_eq!(woke.load(Ordering::SeqCst), 1);
        // The dropped 99 s timer did not drag the clock along.
        assert!(!clock.advance(), "no timer left");
    }

    #[test]
    fn tokio_clock_follows_tokio() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let clock = rt.block_on(async { Clock::tokio() });
        let start = clock.now();
        rt.block_on(clock.sleep(Duration::from_millis(20)));
        assert!(clock.since(start) >= Duration::from_millis(20));
        assert!(!clock.is_virtual());
        assert!(!clock.advance());
    }
}
