//! The live display of a run on a terminal: the policy's current step, its last log line, the last host call's object, and the time the step has taken, ticking.
//!
//! Only when stdout is a terminal and the output is the table: the lines a run prints today
//! (progress, log lines, failed calls, denials) are printed above the display exactly as
//! without it, so the scrollback reads the same; the display itself is cleared before the
//! summary. Every string from the policy is escaped and capped.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::{Event, Level, Observer};
use crate::text;

/// The most bytes of a progress message or log line shown on the display (it is cut again to
/// the terminal's width).
const MAX_SHOWN: usize = 300;

/// How often the elapsed time and the spinner are redrawn.
const TICK: Duration = Duration::from_millis(250);

/// What the second line shows.
#[derive(Default)]
struct Detail {
    call: Option<String>,
    log: Option<String>,
}

impl Detail {
    fn line(&self) -> String {
        let mut parts = Vec::new();
        if let Some(call) = &self.call {
            parts.push(format!("last call: {call}"));
        }
        if let Some(log) = &self.log {
            parts.push(format!("log: {log}"));
        }
        parts.join(" · ")
    }
}

/// The display: a step line and a detail line under the run's printed lines.
#[derive(Clone)]
pub(in crate::cli) struct Live {
    bars: MultiProgress,
    step: ProgressBar,
    detail: ProgressBar,
    shown: Arc<Mutex<Detail>>,
}

impl Live {
    /// A display drawn on stdout (where the table output goes).
    pub(in crate::cli) fn on_stdout() -> Live {
        Live::new(ProgressDrawTarget::stdout())
    }

    fn new(target: ProgressDrawTarget) -> Live {
        let bars = MultiProgress::with_draw_target(target);
        let step = bars.add(ProgressBar::new_spinner());
        step.set_style(
            ProgressStyle::with_template("{spinner} {prefix} {wide_msg} {elapsed:>}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        step.set_message("starting");
        let detail = bars.add(ProgressBar::new_spinner());
        detail.set_style(
            ProgressStyle::with_template("  {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        step.enable_steady_tick(TICK);
        Live {
            bars,
            step,
            detail,
            shown: Arc::default(),
        }
    }

    /// A line printed above the display, as it would be printed without it.
    fn print(&self, line: &str) {
        if self.bars.println(line).is_err() {
            outln!("{line}");
        }
    }

    /// Takes one event: the display follows it, and the line a plain run prints is printed.
    fn event(&self, event: &Event, line: Option<String>) {
        match event {
            Event::Progress {
                step,
                total,
                message,
            } => {
                self.step.set_prefix(format!("[{step}/{total}]"));
                self.step.set_message(text::escape(message, MAX_SHOWN));
                self.step.reset_elapsed();
            }
            Event::Log { level, message } if *level != Level::Debug => {
                self.update(|d| {
                    d.log = Some(format!("{level}: {}", text::escape(message, MAX_SHOWN)))
                });
            }
            Event::Call {
                operation, target, ..
            } => {
                self.update(|d| {
                    d.call = Some(format!("{operation} {}", text::escape(target, MAX_SHOWN)))
                });
            }
            Event::Log { .. } | Event::Denied { .. } => {}
        }
        if let Some(line) = line {
            self.print(&line);
        }
    }

    fn update(&self, change: impl FnOnce(&mut Detail)) {
        let line = {
            let mut shown = self.shown.lock().unwrap_or_else(|e| e.into_inner());
            change(&mut shown);
            shown.line()
        };
        self.detail.set_message(line);
    }

    /// Removes the display, before the summary is printed.
    pub(in crate::cli) fn clear(&self) {
        self.step.finish_and_clear();
        self.detail.finish_and_clear();
        let _ = self.bars.clear();
    }

    /// The observer that feeds this display; `line` is what a plain run prints for an event.
    pub(in crate::cli) fn observer(
        &self,
        line: impl Fn(&Event) -> Option<String> + Send + 'static,
    ) -> Observer {
        let live = self.clone();
        Box::new(move |event| live.event(event, line(event)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detail_line_shows_the_last_call_and_log_line() {
        let live = Live::new(ProgressDrawTarget::hidden());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let printed = Arc::clone(&seen);
        let mut observer = live.observer(move |event| {
            let line = match event {
                Event::Progress { message, .. } => Some(format!("progress {message}")),
                _ => None,
            };
            if let Some(line) = &line {
                printed.lock().unwrap().push(line.clone());
            }
            line
        });
        observer(&Event::Call {
            operation: "patch".into(),
            target: "apps/v1/Deployment shop/web".into(),
            outcome: "ok".into(),
        });
        observer(&Event::Log {
            level: Level::Info,
            message: "weight 20\u{1b}[2J".into(),
        });
        observer(&Event::Progress {
            step: 2,
            total: 5,
            message: "canary at 20%".into(),
        });
        assert_eq!(
            live.detail.message(),
            "last call: patch apps/v1/Deployment shop/web · log: info: weight 20\\u{1b}[2J"
        );
        assert_eq!(live.step.prefix(), "[2/5]");
        assert_eq!(live.step.message(), "canary at 20%");
        assert_eq!(*seen.lock().unwrap(), ["progress canary at 20%"]);
        live.clear();
        assert!(live.step.is_finished());
    }
}
