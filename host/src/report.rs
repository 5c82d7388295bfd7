//! What a run tells the operator while it happens: the policy's log lines, its progress,
//! cluster calls and denials, as events the CLI renders (or a test collects).

use std::fmt;

/// Severity of a policy's log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        })
    }
}

/// One thing that happened during a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Event {
    /// The policy wrote a log line.
    Log { level: Level, message: String },
    /// The policy reported progress.
    Progress {
        step: u32,
        total: u32,
        message: String,
    },
    /// A cluster call completed (`outcome` is "ok" or the error).
    Call {
        operation: String,
        target: String,
        outcome: String,
    },
    /// A call was refused by the capability check.
    Denied { call: String, reason: String },
}

/// Receives the events of a run.
pub type Observer = Box<dyn FnMut(&Event) + Send>;

/// An observer that drops everything.
pub fn discard() -> Observer {
    Box::new(|_| {})
}
