//! [`Timestamp`]: an instant of the run's clock, with RFC 3339 formatting and deadline arithmetic.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An instant by the run's clock (virtual on the simulator), in milliseconds since the Unix
/// epoch, as [`Context::now`](crate::Context::now) returns it. `Display` writes RFC 3339 in UTC
/// with whole seconds, as kubectl does (`2026-11-21T13:20:00Z`).
///
/// ```
/// use cutover_guest_sdk::Timestamp;
/// use std::time::Duration;
///
/// let start = Timestamp::from_unix_millis(1_700_000_000_000);
/// assert_eq!(start.to_string(), "2023-11-14T22:13:20Z");
/// let deadline = start + Duration::from_secs(300);
/// let later = start + Duration::from_secs(100);
/// assert_eq!(deadline.saturating_duration_since(later), Duration::from_secs(200));
/// assert_eq!(later.saturating_duration_since(deadline), Duration::ZERO);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The instant `ms` milliseconds after the Unix epoch.
    ///
    /// ```
    /// let t = cutover_guest_sdk::Timestamp::from_unix_millis(0);
    /// assert_eq!(t.to_string(), "1970-01-01T00:00:00Z");
    /// ```
    pub const fn from_unix_millis(ms: u64) -> Self {
        Timestamp(ms)
    }

    /// Milliseconds since the Unix epoch.
    ///
    /// ```
    /// assert_eq!(cutover_guest_sdk::Timestamp::from_unix_millis(42).unix_millis(), 42);
    /// ```
    pub const fn unix_millis(self) -> u64 {
        self.0
    }

    /// How long after `earlier` this is; zero if `earlier` is later (for "time left until a
    /// deadline" without underflow).
    ///
    /// ```
    /// use cutover_guest_sdk::Timestamp;
    /// let (a, b) = (Timestamp::from_unix_millis(1000), Timestamp::from_unix_millis(1500));
    /// assert_eq!(b.saturating_duration_since(a).as_millis(), 500);
    /// ```
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// This instant plus `d`, at whole milliseconds; saturates instead of overflowing.
    ///
    /// ```
    /// use cutover_guest_sdk::Timestamp;
    /// use std::time::Duration;
    /// let t = Timestamp::from_unix_millis(0).saturating_add(Duration::from_secs(1));
    /// assert_eq!(t.unix_millis(), 1000);
    /// ```
    pub fn saturating_add(self, d: Duration) -> Self {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }

    /// The same instant as a [`SystemTime`].
    ///
    /// ```
    /// use cutover_guest_sdk::Timestamp;
    /// assert_eq!(Timestamp::from_unix_millis(0).to_system_time(), std::time::UNIX_EPOCH);
    /// ```
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.0)
    }

    /// RFC 3339 in UTC with milliseconds: `2026-11-21T13:20:00.250Z`.
    ///
    /// ```
    /// let t = cutover_guest_sdk::Timestamp::from_unix_millis(1_250);
    /// assert_eq!(t.to_rfc3339_millis(), "1970-01-01T00:00:01.250Z");
    /// ```
    pub fn to_rfc3339_millis(self) -> String {
        let secs = self.0 / 1000;
        let mut s = format_seconds(secs);
        s.pop(); // the `Z`, put back after the fraction
        format!("{s}.{:03}Z", self.0 % 1000)
    }
}

impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;

    fn add(self, d: Duration) -> Timestamp {
        self.saturating_add(d)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_seconds(self.0 / 1000))
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch.
fn format_seconds(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Year, month, day of the proleptic Gregorian calendar for days since 1970-01-01
/// (Howard Hinnant's `civil_from_days`, for non-negative days), so no date crate is linked in.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_dates() {
        let at = |ms| Timestamp::from_unix_millis(ms).to_string();
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_709_208_000_000), "2024-02-29T12:00:00Z");
        assert_eq!(at(1_798_761_599_999), "2026-12-31T23:59:59Z");
        assert_eq!(at(4_102_444_800_000), "2100-01-01T00:00:00Z");
    }

    #[test]
    fn every_day_follows_the_previous() {
        // Walk 200 years day by day: dates must increase by exactly one calendar day.
        let mut prev = civil_from_days(0);
        for day in 1..73_000 {
            let next = civil_from_days(day);
            let (y, m, d) = prev;
            let expected_next_day = next == (y, m, d + 1);
            let expected_next_month = next == (y, m + 1, 1) && d >= 28;
            let expected_next_year = next == (y + 1, 1, 1) && m == 12 && d == 31;
            assert!(
                expected_next_day || expected_next_month || expected_next_year,
                "{prev:?} -> {next:?}"
            );
            prev = next;
        }
    }
}
