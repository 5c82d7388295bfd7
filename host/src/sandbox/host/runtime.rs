//! The host side of the `runtime` interface: log and progress lines (capped, within the run's
//! log bound), the run's clock and deadline, sleeps cut by the deadline, bounded checkpoints,
//! and the panic report.

use std::time::Duration;

use crate::report::{Event, Level};
use crate::sandbox::bindings::cutover::policy::runtime;
use crate::sandbox::bindings::cutover::policy::types::Error;
use crate::sandbox::limits::MAX_CHECKPOINT;
use crate::sandbox::state::RunState;
use crate::text;

/// The longest a checkpoint may take to save or read, so that a hung state directory (a network
/// filesystem, say) cannot hang the run; the run's own deadline cuts it shorter.
const CHECKPOINT_IO: Duration = Duration::from_secs(10);

/// Runs blocking file I/O off the run's thread, for at most `bound` of wall time; `None` when it
/// took longer (the I/O thread is left to finish on its own).
async fn blocking_io<T: Send + 'static>(
    bound: Duration,
    io: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    tokio::time::timeout(bound, tokio::task::spawn_blocking(io))
        .await
        .ok()?
        .ok()
}

impl runtime::Host for RunState {
    async fn log(&mut self, level: runtime::Level, message: String) {
        let level = match level {
            runtime::Level::Debug => Level::Debug,
            runtime::Level::Info => Level::Info,
            runtime::Level::Warn => Level::Warn,
            runtime::Level::Error => Level::Error,
        };
        let message = text::cap(&message, text::MAX_LINE);
        self.emit_guest(Event::Log { level, message });
    }

    async fn now(&mut self) -> u64 {
        self.time.clock.unix_millis()
    }

    async fn sleep(&mut self, ms: u64) -> bool {
        let wanted = Duration::from_millis(ms);
        let remaining = self.time.remaining();
        let time = self.time.clone();
        tokio::select! {
            biased;
            () = time.cancel.cancelled() => false,
            () = time.clock.sleep(wanted.min(remaining)) => wanted <= remaining,
        }
    }

    async fn deadline(&mut self) -> u64 {
        let left = u64::try_from(self.time.remaining().as_millis()).unwrap_or(u64::MAX);
        self.time.clock.unix_millis().saturating_add(left)
    }

    async fn progress(&mut self, step: u32, total: u32, message: String) {
        let message = text::cap(&message, text::MAX_LINE);
        self.emit_guest(Event::Progress {
            step,
            total,
            message,
        });
    }

    async fn checkpoint(&mut self, state: String) -> Result<(), Error> {
        if state.len() > MAX_CHECKPOINT {
            return Err(Error::Invalid(format!(
                "a checkpoint of {} bytes is larger than the {} MiB a run may keep",
                state.len(),
                MAX_CHECKPOINT >> 20
            )));
        }
        if self.checkpoint.keeps_nothing() {
            return Ok(());
        }
        let store = self.checkpoint.clone();
        let bound = self.time.remaining().min(CHECKPOINT_IO);
        let failed = match blocking_io(bound, move || store.save(&state)).await {
            Some(Ok(())) => None,
            Some(Err(e)) => Some(format!("cannot save the checkpoint: {e}")),
            None => Some(format!(
                "cannot save the checkpoint: the state directory did not answer within {}",
                crate::units::format_duration(bound)
            )),
        };
        if let Some(message) = failed {
            self.emit(Event::Log {
                level: Level::Warn,
                message,
            });
        }
        Ok(())
    }

    async fn restore(&mut self) -> Option<String> {
        if self.checkpoint.keeps_nothing() {
            return None;
        }
        let store = self.checkpoint.clone();
        let bound = self.time.remaining().min(CHECKPOINT_IO);
        let failed = match blocking_io(bound, move || store.load()).await {
            Some(Ok(state)) => return state,
            Some(Err(why)) => why,
            None => format!(
                "ignoring the checkpoint: the state directory did not answer within {}",
                crate::units::format_duration(bound)
            ),
        };
        self.emit(Event::Log {
            level: Level::Warn,
            message: failed,
        });
        None
    }

    async fn report_panic(&mut self, message: String) {
        self.panic = Some(text::cap(&message, text::MAX_QUOTE));
    }
}
