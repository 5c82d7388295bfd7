//! The engine's epoch ticker: one thread per engine advancing its epoch every tick while the engine is in use.
//!
//! A run's deadline is not counted in ticks: each tick only gives the run's epoch callback a
//! chance to look at the clock (see `run.rs`). So however many runs share the engine, the ticker
//! is one, and no run's deadline comes sooner because another run is going on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::Engine;

/// How often the epoch ticks: how soon after its deadline a spinning guest is stopped.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Advances an engine's epoch every [`EPOCH_TICK`] on its own thread, so that a guest spinning
/// on the only async worker is still interrupted. Stops when dropped.
#[derive(Debug)]
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    /// Starts the ticker thread for `engine`.
    pub fn start(engine: &Engine) -> std::io::Result<EpochTicker> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        // A weak handle: the ticker never keeps an engine alive that nothing else uses.
        let engine = engine.weak();
        std::thread::Builder::new()
            .name("cutover-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match engine.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => return,
                    }
                }
            })?;
        Ok(EpochTicker { stop })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
