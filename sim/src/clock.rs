//! The clock the store stamps objects with: the system clock now, a virtual clock later.

/// A source of "now" for creation and deletion timestamps.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> jiff::Timestamp;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

/// A clock that always returns the same instant (handy in tests).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub jiff::Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> jiff::Timestamp {
        self.0
    }
}

/// Formats a timestamp the way Kubernetes does in `metav1.Time`: RFC 3339, whole seconds, UTC.
pub fn format_time(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_whole_seconds_in_utc() {
        let ts: jiff::Timestamp = "2024-05-06T07:08:09.987Z".parse().unwrap();
        assert_eq!(format_time(FixedClock(ts).now()), "2024-05-06T07:08:09Z");
    }
}
