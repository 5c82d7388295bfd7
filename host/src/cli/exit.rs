//! Exit codes (documented in docs/cli.md) and the CLI's one-line error.

use std::fmt::Display;

/// What the process exit code means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// The command did what it was asked.
    Ok = 0,
    /// The policy ran and reported failure (an eviction blocked past its timeout, a rollout
    /// that will not become ready, ...), or ended itself with `exit`.
    PolicyFailed = 1,
    /// Bad input: usage, a missing or unreadable file, not a component, a component of another
    /// world or version, a manifest that breaks its rules, bad parameters, capabilities or
    /// release name.
    BadInput = 2,
    /// Refused: the policy declares capabilities the operator did not grant.
    Refused = 3,
    /// No cluster is configured, the cluster could not be reached, or the kubeconfig is unusable.
    Unreachable = 4,
    /// The sandbox stopped the policy: deadline, memory cap, a sandbox limit, panic, trap, or a
    /// call that broke the component ABI.
    Stopped = 5,
    /// The release is busy: another run holds its lock (`release <r> is locked by ...`), or its
    /// latest revision is an interrupted run to `cutover resume` or `cutover rollback` first.
    Locked = 6,
    /// cutover itself could not do its work (the async runtime, the WebAssembly engine or the
    /// signal handlers would not start): a fault of the host, not of the policy or the input.
    /// 70 is `EX_SOFTWARE` of sysexits.h.
    Internal = 70,
    /// Cancelled by SIGINT (Ctrl-C), as shells expect: 128 + 2.
    Interrupted = 130,
    /// Cancelled by SIGTERM: 128 + 15.
    Terminated = 143,
}

impl ExitCode {
    /// The process exit status.
    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

/// The longest error line printed.
const MAX_ERROR_LINE: usize = 4 << 10;

/// An error for the operator: one line, and the exit code it means.
#[derive(Debug)]
pub struct CliError {
    pub code: ExitCode,
    pub message: String,
}

impl CliError {
    /// One line, whatever the cause's formatting, with anything that could steer a terminal
    /// escaped (guest text is escaped where it is quoted; this is the last line of defence).
    pub fn new(code: ExitCode, message: impl Display) -> CliError {
        let text = message.to_string();
        let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
        CliError {
            code,
            message: crate::text::escape(&line, MAX_ERROR_LINE),
        }
    }

    pub fn bad_input(message: impl Display) -> CliError {
        CliError::new(ExitCode::BadInput, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_safe_line() {
        let e = CliError::bad_input("a\n  b\x1b[2J\u{9b}c");
        assert_eq!(e.message, "a b\\u{1b}[2J\\u{9b}c");
        let e = CliError::bad_input("x".repeat(10_000));
        assert!(e.message.len() < MAX_ERROR_LINE + 64);
    }
}
