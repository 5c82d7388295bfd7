//! Object timestamps from the simulator's one clock, formatted as Kubernetes writes them.
//!
//! The simulator takes one [`Clock`] (tokio's clock, or a virtual one: see `cutover-clock`)
//! and reads it for everything time-related: the timestamps below, controller delays, the
//! kubelet stand-in, watch timeouts and scenario node faults. A virtual clock that is never
//! advanced is a fixed clock.

pub use cutover_clock::Clock;

/// The clock's wall time now, as a timestamp (the Unix epoch if it cannot be represented).
pub fn timestamp(clock: &Clock) -> jiff::Timestamp {
    jiff::Timestamp::try_from(clock.wall_now()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// Formats a timestamp the way Kubernetes does in `metav1.Time`: RFC 3339, whole seconds, UTC.
pub fn format_time(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// [`format_time`] of the clock's wall time now.
pub fn now(clock: &Clock) -> String {
    format_time(timestamp(clock))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    fn formats_whole_seconds_in_utc() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_714_979_289_987);
        assert_eq!(now(&Clock::virtual_at(at)), "2024-05-06T07:08:09Z");
    }
}
