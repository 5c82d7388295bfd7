//! The host's `runtime` interface: log, clock, deadline, sleep, progress, checkpoints; no capability needed.
//!
//! The same calls are methods of [`Context`](crate::Context); these free functions exist for
//! code that has no context at hand (the `info!` macros, a panic hook).

use std::time::Duration;

use crate::Timestamp;
use crate::host::runtime as wit;

/// How important a log line is.
///
/// ```
/// use cutover_guest_sdk::Level;
/// assert!(Level::Warn > Level::Info);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Detail for whoever debugs the policy.
    Debug,
    /// What the policy is doing.
    Info,
    /// Something the operator should notice.
    Warn,
    /// Something went wrong.
    Error,
}

impl From<Level> for wit::Level {
    fn from(level: Level) -> Self {
        match level {
            Level::Debug => wit::Level::Debug,
            Level::Info => wit::Level::Info,
            Level::Warn => wit::Level::Warn,
            Level::Error => wit::Level::Error,
        }
    }
}

impl From<wit::Level> for Level {
    fn from(level: wit::Level) -> Self {
        match level {
            wit::Level::Debug => Level::Debug,
            wit::Level::Info => Level::Info,
            wit::Level::Warn => Level::Warn,
            wit::Level::Error => Level::Error,
        }
    }
}

/// Writes a line to the run's log.
///
/// ```no_run
/// use cutover_guest_sdk::{Level, runtime};
/// runtime::log(Level::Info, "cordoned node-1");
/// ```
pub fn log(level: Level, message: &str) {
    wit::log(level.into(), message);
}

/// The run's clock (virtual on the simulator).
///
/// ```no_run
/// let started = cutover_guest_sdk::runtime::now();
/// println!("started at {started}");
/// ```
pub fn now() -> Timestamp {
    Timestamp::from_unix_millis(wit::now())
}

/// Pauses for `duration` of the run's clock, rounded up to whole milliseconds. Returns `false`
/// when the run's deadline cut the sleep short: stop and return then.
///
/// ```no_run
/// use std::time::Duration;
/// if !cutover_guest_sdk::runtime::sleep(Duration::from_secs(30)) {
///     // the run is out of time
/// }
/// ```
pub fn sleep(duration: Duration) -> bool {
    wit::sleep(millis_ceil(duration))
}

/// When the run's deadline (`--timeout`) falls, by the run's clock. Plan your own timeouts
/// below it, so that a wait that cannot finish ends with your message, not the host's.
///
/// ```no_run
/// let left = cutover_guest_sdk::runtime::deadline()
///     .saturating_duration_since(cutover_guest_sdk::runtime::now());
/// # let _ = left;
/// ```
pub fn deadline() -> Timestamp {
    Timestamp::from_unix_millis(wit::deadline())
}

/// Reports progress: step `step` of `total`, with a one-line message.
///
/// ```no_run
/// cutover_guest_sdk::runtime::progress(2, 5, "evicted shop/web-1");
/// ```
pub fn progress(step: u32, total: u32, message: &str) {
    wit::progress(step, total, message);
}

/// Saves opaque state for a later run of the same release to resume from; replaces the
/// previous checkpoint. [`Context::checkpoint`](crate::Context::checkpoint) takes any
/// `Serialize` value instead.
///
/// At most 1 MiB; a larger state is refused with [`Error::invalid`](crate::Error::invalid).
///
/// ```no_run
/// cutover_guest_sdk::runtime::checkpoint_raw(r#"{"step":3}"#)?;
/// # Ok::<(), cutover_guest_sdk::Error>(())
/// ```
pub fn checkpoint_raw(state: &str) -> Result<(), crate::Error> {
    wit::checkpoint(state).map_err(crate::Error::from)
}

/// The state the last [`checkpoint_raw`] of this release saved, if a run left one.
///
/// ```no_run
/// if let Some(state) = cutover_guest_sdk::runtime::restore_raw() {
///     println!("resuming from {state}");
/// }
/// ```
pub fn restore_raw() -> Option<String> {
    wit::restore()
}

/// Tells the host that the policy panicked, just before the module traps (the SDK's panic
/// hook calls it; see [`export_policy!`](crate::export_policy)).
pub(crate) fn report_panic(message: &str) {
    wit::report_panic(message);
}

/// Milliseconds for the host, rounded up so that a short non-zero wait never becomes "no
/// wait", and saturated at `u64::MAX`.
pub(crate) fn millis_ceil(d: Duration) -> u64 {
    let ms = d.as_nanos().div_ceil(1_000_000);
    u64::try_from(ms).unwrap_or(u64::MAX)
}

/// Logs a formatted line at debug level: `debug!("pods: {n}")`.
///
/// ```no_run
/// cutover_guest_sdk::debug!("{} pods listed", 3);
/// ```
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        $crate::runtime::log($crate::Level::Debug, &::std::format!($($arg)*))
    };
}

/// Logs a formatted line at info level: `info!("cordoned {node}")`.
///
/// ```no_run
/// let node = "node-1";
/// cutover_guest_sdk::info!("cordoned {node}");
/// ```
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => {
        $crate::runtime::log($crate::Level::Info, &::std::format!($($arg)*))
    };
}

/// Logs a formatted line at warn level: `warn!("skipping {pod}")`.
///
/// ```no_run
/// cutover_guest_sdk::warn!("skipping DaemonSet pod {}", "kube-proxy-x");
/// ```
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => {
        $crate::runtime::log($crate::Level::Warn, &::std::format!($($arg)*))
    };
}

/// Logs a formatted line at error level: `error!("eviction failed: {e}")`.
///
/// ```no_run
/// cutover_guest_sdk::error!("eviction failed: {}", "timeout");
/// ```
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => {
        $crate::runtime::log($crate::Level::Error, &::std::format!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_up_and_saturate() {
        assert_eq!(millis_ceil(Duration::ZERO), 0);
        assert_eq!(millis_ceil(Duration::from_nanos(1)), 1);
        assert_eq!(millis_ceil(Duration::from_millis(1500)), 1500);
        assert_eq!(millis_ceil(Duration::from_micros(1500)), 2);
        assert_eq!(millis_ceil(Duration::MAX), u64::MAX);
    }
}
