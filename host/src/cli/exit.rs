//! Exit codes (documented in docs/cli.md) and the CLI's one-line error.

use std::fmt::Display;

/// What the process exit code means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// The command did what it was asked.
    Ok = 0,
    /// The policy ran and reported failure (an eviction blocked past its timeout, a rollout
    /// that will not become ready, ...).
    PolicyFailed = 1,
    /// Bad input: usage, a missing or unreadable file, not a component, a component of another
    /// world or version, bad parameters or capabilities.
    BadInput = 2,
    /// Refused: the policy declares capabilities the operator did not grant.
    Refused = 3,
    /// The cluster could not be reached, or the kubeconfig is unusable.
    Unreachable = 4,
    /// The sandbox stopped the policy: deadline, memory cap, panic or another trap.
    Stopped = 5,
}

/// An error for the operator: one line, and the exit code it means.
#[derive(Debug)]
pub struct CliError {
    pub code: ExitCode,
    pub message: String,
}

impl CliError {
    pub fn new(code: ExitCode, message: impl Display) -> CliError {
        let text = message.to_string();
        // One line, whatever the cause's formatting.
        let message = text.split_whitespace().collect::<Vec<_>>().join(" ");
        CliError { code, message }
    }

    pub fn bad_input(message: impl Display) -> CliError {
        CliError::new(ExitCode::BadInput, message)
    }
}
