//! The WASI a policy gets: clocks on the run's clock, seeded randomness on the simulator, its
//! output captured and bounded, and nothing else (no files, sockets, environment or arguments).
//!
//! A wasm32-wasip2 Rust guest imports `wasi:io` and the `wasi:cli` interfaces even when it uses
//! none of them, so they are linked, with nothing behind them: no preopened directories, no
//! environment, no arguments, sockets refused. The clocks are replaced: `wasi:clocks` reads the
//! run's clock (virtual on the simulator, so `SystemTime::now()` in a policy is simulated time),
//! and a WASI sleep (a monotonic-clock subscription) waits on the run's clock and ends at the
//! run's deadline at the latest, as the host's own `sleep` does.

use std::time::{Duration, Instant};

use cutover_clock::Clock;
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi::clocks::{HostMonotonicClock, HostWallClock};
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;
use wasmtime_wasi::p2::bindings::random::{insecure, random};
use wasmtime_wasi::p2::{DynPollable, Pollable, subscribe};
use wasmtime_wasi::random::WasiRandomCtx;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::output::CappedOutput;
use crate::sandbox::limits::{MAX_GUEST_OUTPUT, MAX_RESOURCES};

/// Bytes of randomness a guest may ask for in one call (WASI's default is 64 MiB).
const MAX_RANDOM_BYTES: u64 = 64 << 10;

/// How one run's WASI is set up.
#[derive(Debug, Clone)]
pub struct WasiOptions {
    /// Seeds the guest's random numbers so that runs repeat (the simulator passes the
    /// scenario's seed); `None`: the operating system's randomness.
    pub random_seed: Option<u64>,
}

/// The WASI state of one run's store.
pub struct WasiState {
    ctx: WasiCtx,
    table: ResourceTable,
    clocks: RunClocks,
    /// What the guest wrote to stdout and stderr (normally nothing), at most
    /// [`MAX_GUEST_OUTPUT`] bytes each; the rest is counted and dropped.
    pub stdout: CappedOutput,
    pub stderr: CappedOutput,
}

/// The run's clock as the guest's clocks see it.
#[derive(Clone)]
struct RunClocks {
    clock: Clock,
    /// The monotonic clock's zero.
    origin: Instant,
    /// No WASI sleep lasts past this.
    deadline: Instant,
}

impl WasiState {
    /// WASI with nothing behind it but the run's clocks and a bounded output capture.
    pub fn new(clock: &Clock, deadline: Instant, options: &WasiOptions) -> WasiState {
        let stdout = CappedOutput::new(MAX_GUEST_OUTPUT);
        let stderr = CappedOutput::new(MAX_GUEST_OUTPUT);
        let clocks = RunClocks {
            clock: clock.clone(),
            origin: clock.now(),
            deadline,
        };
        let mut builder = WasiCtx::builder();
        builder
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .wall_clock(clocks.clone())
            .monotonic_clock(clocks.clone())
            .max_random_size(MAX_RANDOM_BYTES);
        if let Some(seed) = options.random_seed {
            use rand::SeedableRng as _;
            builder
                .secure_random(rand::rngs::StdRng::seed_from_u64(seed))
                .insecure_random(rand::rngs::StdRng::seed_from_u64(seed ^ 0x5eed))
                .insecure_random_seed(u128::from(seed));
        }
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_RESOURCES);
        WasiState {
            ctx: builder.build(),
            table,
            clocks,
            stdout,
            stderr,
        }
    }

    /// The WASI view wasmtime-wasi's interfaces work on.
    pub fn view(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// A store whose data holds a [`WasiState`].
pub trait HasWasi: WasiView + 'static {
    fn wasi_state(&mut self) -> &mut WasiState;
}

/// Adds WASI (p2, async) to the linker, then replaces `wasi:clocks/monotonic-clock` with the
/// one on the run's clock and `wasi:random` with one whose size bound is a typed stop.
pub fn add_to_linker<T: HasWasi>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    linker.allow_shadowing(true);
    monotonic_clock::add_to_linker::<T, RunMonotonic>(linker, |t| {
        let state = t.wasi_state();
        RunMonotonicView {
            clocks: &state.clocks,
            table: &mut state.table,
        }
    })?;
    random::add_to_linker::<T, BoundedRandom>(linker, |t| {
        BoundedRandomView(t.wasi_state().ctx.random())
    })?;
    insecure::add_to_linker::<T, BoundedRandom>(linker, |t| {
        BoundedRandomView(t.wasi_state().ctx.random())
    })?;
    linker.allow_shadowing(false);
    Ok(())
}

/// A guest asked for more random bytes in one call than a run may (see [`MAX_RANDOM_BYTES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the policy asked for {asked} random bytes at once, more than the {MAX_RANDOM_BYTES} a call may"
)]
pub struct RandomLimitExceeded {
    pub asked: u64,
}

/// `wasi:random` with its size bound as a typed stop, so that the run reports a sandbox limit
/// rather than an ABI fault; within the bound it is wasmtime-wasi's own.
struct BoundedRandom;

impl HasData for BoundedRandom {
    type Data<'a> = BoundedRandomView<'a>;
}

/// wasmtime-wasi's randomness, seen through the bound.
struct BoundedRandomView<'a>(&'a mut WasiRandomCtx);

fn within_bound(len: u64) -> wasmtime::Result<()> {
    if len > MAX_RANDOM_BYTES {
        return Err(wasmtime::Error::new(RandomLimitExceeded { asked: len }));
    }
    Ok(())
}

impl random::Host for BoundedRandomView<'_> {
    fn get_random_bytes(&mut self, len: u64) -> wasmtime::Result<Vec<u8>> {
        within_bound(len)?;
        random::Host::get_random_bytes(self.0, len)
    }

    fn get_random_u64(&mut self) -> wasmtime::Result<u64> {
        random::Host::get_random_u64(self.0)
    }
}

impl insecure::Host for BoundedRandomView<'_> {
    fn get_insecure_random_bytes(&mut self, len: u64) -> wasmtime::Result<Vec<u8>> {
        within_bound(len)?;
        insecure::Host::get_insecure_random_bytes(self.0, len)
    }

    fn get_insecure_random_u64(&mut self) -> wasmtime::Result<u64> {
        insecure::Host::get_insecure_random_u64(self.0)
    }
}

impl HostWallClock for RunClocks {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }

    fn now(&self) -> Duration {
        self.clock
            .wall_now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
    }
}

impl HostMonotonicClock for RunClocks {
    fn resolution(&self) -> u64 {
        1_000_000
    }

    fn now(&self) -> u64 {
        nanos(self.clock.since(self.origin))
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// `HasData` for the replaced monotonic clock.
struct RunMonotonic;

impl HasData for RunMonotonic {
    type Data<'a> = RunMonotonicView<'a>;
}

struct RunMonotonicView<'a> {
    clocks: &'a RunClocks,
    table: &'a mut ResourceTable,
}

impl RunMonotonicView<'_> {
    /// A pollable ready at `at` of the run's clock, or at the run's deadline if that is sooner.
    fn subscribe_at(&mut self, at: Option<Instant>) -> wasmtime::Result<Resource<DynPollable>> {
        let deadline = self.clocks.deadline;
        let at = at.map_or(deadline, |at| at.min(deadline));
        let sleep = self.table.push(RunSleep {
            clock: self.clocks.clock.clone(),
            at,
        })?;
        subscribe(self.table, sleep)
    }
}

impl monotonic_clock::Host for RunMonotonicView<'_> {
    fn now(&mut self) -> wasmtime::Result<monotonic_clock::Instant> {
        Ok(HostMonotonicClock::now(self.clocks))
    }

    fn resolution(&mut self) -> wasmtime::Result<monotonic_clock::Duration> {
        Ok(HostMonotonicClock::resolution(self.clocks))
    }

    fn subscribe_instant(
        &mut self,
        when: monotonic_clock::Instant,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        let at = self.clocks.origin.checked_add(Duration::from_nanos(when));
        self.subscribe_at(at)
    }

    fn subscribe_duration(
        &mut self,
        duration: monotonic_clock::Duration,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        let at = self
            .clocks
            .clock
            .now()
            .checked_add(Duration::from_nanos(duration));
        self.subscribe_at(at)
    }
}

/// A WASI sleep on the run's clock.
struct RunSleep {
    clock: Clock,
    at: Instant,
}

#[wasmtime_wasi::async_trait]
impl Pollable for RunSleep {
    async fn ready(&mut self) {
        self.clock.sleep_until(self.at).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_clocks_read_the_run_clock() {
        let origin = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let clock = Clock::virtual_at(origin);
        let clocks = RunClocks {
            clock: clock.clone(),
            origin: clock.now(),
            deadline: clock.now() + Duration::from_secs(60),
        };
        assert_eq!(
            HostWallClock::now(&clocks),
            Duration::from_secs(1_700_000_000)
        );
        assert_eq!(HostMonotonicClock::now(&clocks), 0);
    }
}
