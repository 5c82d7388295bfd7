//! The host side of the `rollout` interface: what the operator asked the run to do, and the
//! pause that ends a run with its revision paused (settled by `release::lifecycle::settle`).

use crate::report::{Event, Level};
use crate::sandbox::bindings::cutover::policy::rollout::{self, Request};
use crate::sandbox::bindings::cutover::policy::types::Error;
use crate::sandbox::state::RunState;
use crate::text;

/// The most of a pause's status the host keeps, once escaped.
pub const MAX_PAUSE_STATUS: usize = 4 << 10;

/// What one run knows of the rollout: why it runs, and whether it paused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RolloutState {
    /// What `requested` answers.
    pub(crate) requested: Request,
    /// The escaped, capped status of the last `pause`, kept until the run is settled.
    pub(crate) paused: Option<String>,
}

impl Default for RolloutState {
    fn default() -> Self {
        RolloutState {
            requested: Request::Start,
            paused: None,
        }
    }
}

impl rollout::Host for RunState {
    async fn requested(&mut self) -> Request {
        self.rollout.requested
    }

    async fn pause(&mut self, status: String) -> Result<(), Error> {
        if self.cluster.dry_run() || self.release.is_none() {
            return Err(Error::Invalid(
                "a dry run cannot pause: it writes no revision to continue from".into(),
            ));
        }
        // Escaped here, once: `cutover status` prints it, `-o json` carries it.
        let status = text::escape(&status, MAX_PAUSE_STATUS);
        self.emit(Event::Log {
            level: Level::Info,
            message: format!("pausing: {status}"),
        });
        self.rollout.paused = Some(status);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_statuses_are_escaped_and_capped() {
        let status = format!("weight 20%\u{1b}[2J{}", "x".repeat(10_000));
        let kept = text::escape(&status, MAX_PAUSE_STATUS);
        assert!(kept.len() <= MAX_PAUSE_STATUS + 64, "{}", kept.len());
        assert!(kept.starts_with("weight 20%\\u{1b}[2J"), "{kept}");
    }
}
