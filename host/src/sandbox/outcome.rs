//! How a run ends, typed: what the policy returned, or why the sandbox stopped it, decided from
//! typed errors and the limiter's records, never from error text.

use std::time::Duration;

use wasmtime::Trap;
use wasmtime::component::ResourceTableError;

use super::host::wasi::RandomLimitExceeded;
use super::limits::{MAX_RESOURCES, MemoryCapExceeded, TableLimitExceeded};
use crate::text;

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The policy returned Ok with this summary (escaped and capped for a terminal).
    Succeeded(String),
    /// The policy returned an error: the WIT `error` variant's name and its reason (escaped
    /// and capped).
    Failed { kind: String, message: String },
    /// The sandbox stopped the policy, or the policy stopped itself without returning.
    Stopped(Stop),
    /// The run was cancelled from outside (Ctrl-C, SIGTERM).
    Cancelled(String),
}

/// Why a policy ended without returning a result.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// The run's deadline (`--timeout`) passed.
    Deadline(Duration),
    /// The policy grew its memory past the cap.
    Memory(MemoryCapExceeded),
    /// The policy asked for more than a sandbox limit allows (a table, a resource count).
    Limit(String),
    /// The policy panicked; the message as its panic hook reported it.
    Panic(String),
    /// Any other trap (stack overflow, out-of-bounds access, unreachable, ...).
    Trap(String),
    /// The policy broke the component ABI (an out-of-bounds or misaligned pointer, invalid
    /// UTF-8, a bad discriminant, a failing `cabi_realloc`) in a call across the boundary, or
    /// hit a limit the sandbox enforces there without a typed error of its own.
    Abi(String),
    /// The policy called `exit` instead of returning from `run`.
    Exit(i32),
}

impl Stop {
    /// Whether the policy itself chose to end (exit code 1) rather than being stopped (5).
    pub fn is_policys_choice(&self) -> bool {
        matches!(self, Stop::Exit(_))
    }
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Deadline(limit) => write!(
                f,
                "the policy ran past its deadline of {} and was stopped (raise it with --timeout)",
                crate::units::format_duration(*limit)
            ),
            Stop::Memory(exceeded) => write!(
                f,
                "{exceeded} and was stopped (raise it with --memory-limit)"
            ),
            Stop::Limit(what) => write!(f, "{what} and was stopped"),
            Stop::Panic(message) => write!(f, "the policy panicked: {message}"),
            Stop::Trap(trap) => write!(f, "the policy trapped: {trap}"),
            Stop::Abi(cause) => write!(
                f,
                "the policy broke the component ABI or a sandbox limit in a call across the sandbox boundary: {cause}"
            ),
            Stop::Exit(code) => write!(
                f,
                "the policy called exit({code}) instead of returning a result from run"
            ),
        }
    }
}

/// The sandbox's own reasons for interrupting a guest, raised from the epoch callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Interrupt {
    #[error("the run's deadline passed")]
    Deadline,
    #[error("the run was cancelled")]
    Cancelled,
}

/// What the limiter and the runtime interface recorded while the guest ran.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub memory: Option<MemoryCapExceeded>,
    pub table: Option<TableLimitExceeded>,
    /// The message the guest reported through `runtime.report-panic`.
    pub panic: Option<String>,
    /// Whether the error came while instantiating (before `run` was entered).
    pub instantiating: bool,
}

/// Classifies an error from instantiating or calling the guest. Every error that is not one of
/// the sandbox's own typed stops is the guest's doing: the host's imports never fail with a
/// wasmtime error, so what remains is the canonical ABI refusing what the guest handed over.
pub fn classify(error: &wasmtime::Error, evidence: &Evidence, timeout: Duration) -> Stop {
    if let Some(exceeded) = evidence.memory {
        return Stop::Memory(exceeded);
    }
    if let Some(exceeded) = evidence.table {
        return Stop::Limit(exceeded.to_string());
    }
    if let Some(interrupt) = error.downcast_ref::<Interrupt>() {
        // Cancellation is decided by the caller, which knows the signal; here it is a deadline
        // either way, and the caller overrides it.
        let _ = interrupt;
        return Stop::Deadline(timeout);
    }
    if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return Stop::Exit(exit.0);
    }
    if let Some(exceeded) = error.downcast_ref::<RandomLimitExceeded>() {
        return Stop::Limit(exceeded.to_string());
    }
    if error.downcast_ref::<ResourceTableError>().is_some() {
        return Stop::Limit(format!(
            "the policy held more than {MAX_RESOURCES} WASI resources (streams, pollables) at once"
        ));
    }
    if let Some(trap) = error.downcast_ref::<Trap>() {
        return match trap {
            Trap::Interrupt => Stop::Deadline(timeout),
            Trap::UnreachableCodeReached if evidence.panic.is_some() => {
                Stop::Panic(text::quote(evidence.panic.as_deref().unwrap_or_default()))
            }
            other => Stop::Trap(other.to_string()),
        };
    }
    let cause = text::quote(&root_cause(error));
    if evidence.instantiating {
        Stop::Limit(format!(
            "the policy cannot be instantiated within the sandbox's limits ({cause})"
        ))
    } else {
        Stop::Abi(cause)
    }
}

/// The innermost message of an error chain, on one line: what went wrong, without wasmtime's
/// context frames (the wasm backtrace among them).
fn root_cause(error: &wasmtime::Error) -> String {
    let message = error.root_cause().to_string();
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_stops_are_recognised() {
        let e = Duration::from_secs(3);
        let none = Evidence::default();
        let err = wasmtime::Error::new(Interrupt::Deadline);
        assert_eq!(classify(&err, &none, e), Stop::Deadline(e));
        let err = wasmtime::Error::new(wasmtime_wasi::I32Exit(3));
        assert_eq!(classify(&err, &none, e), Stop::Exit(3));
        let err = wasmtime::Error::new(Trap::StackOverflow);
        assert!(matches!(classify(&err, &none, e), Stop::Trap(_)));
        let panicked = Evidence {
            panic: Some("boom\x1b[2J".into()),
            ..Evidence::default()
        };
        let err = wasmtime::Error::new(Trap::UnreachableCodeReached);
        assert_eq!(
            classify(&err, &panicked, e),
            Stop::Panic("boom\\u{1b}[2J".into())
        );
        // Unreachable without a reported panic is a plain trap, whatever the log said.
        assert!(matches!(classify(&err, &none, e), Stop::Trap(_)));
    }

    #[test]
    fn anything_else_is_the_guests_abi_fault_without_backtrace() {
        let err = wasmtime::Error::msg("string pointer/length out of bounds of memory")
            .context("wasm backtrace:\n  0: 0x1234 - run");
        let stop = classify(&err, &Evidence::default(), Duration::from_secs(1));
        assert_eq!(
            stop,
            Stop::Abi("string pointer/length out of bounds of memory".into())
        );
        assert!(!stop.to_string().contains("backtrace"));
        let during = Evidence {
            instantiating: true,
            ..Evidence::default()
        };
        assert!(matches!(
            classify(&err, &during, Duration::from_secs(1)),
            Stop::Limit(_)
        ));
    }
}
