//! The host side of the `runtime` interface: log and progress lines (capped, within the run's
//! log bound), the run's clock and deadline, sleeps cut by the deadline, bounded checkpoints,
//! and the panic report.

use std::time::Duration;

use crate::checkpoint::CHECKPOINT_IO;
use crate::report::{Event, Level};
use crate::sandbox::bindings::cutover::policy::runtime;
use crate::sandbox::bindings::cutover::policy::types::Error;
use crate::sandbox::limits::MAX_CHECKPOINT;
use crate::sandbox::state::RunState;
use crate::text;

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
        let bound = self.time.remaining().min(CHECKPOINT_IO);
        // A checkpoint that did not reach the cluster is the policy's to know: a resume would
        // start from the one before it.
        self.checkpoint
            .save_bounded(state, bound)
            .await
            .map_err(|message| {
                self.emit(Event::Log {
                    level: Level::Warn,
                    message: message.clone(),
                });
                Error::Unavailable(message)
            })
    }

    async fn restore(&mut self) -> Option<String> {
        let bound = self.time.remaining().min(CHECKPOINT_IO);
        match self.checkpoint.load_bounded(bound).await {
            Ok(state) => state,
            Err(message) => {
                self.emit(Event::Log {
                    level: Level::Warn,
                    message,
                });
                None
            }
        }
    }

    async fn report_panic(&mut self, message: String) {
        self.panic = Some(text::cap(&message, text::MAX_QUOTE));
    }
}
