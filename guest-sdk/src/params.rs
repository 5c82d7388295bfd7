//! Parameter types that JSON has no word for: [`Duration`] in Go/Helm syntax (`90s`, `5m`, `1h30m`).
//!
//! Read the run's parameters with [`Context::params`](crate::Context::params) into a struct of
//! your own that derives `serde::Deserialize`; a `duration` parameter of the manifest arrives as
//! its original string and deserializes into [`Duration`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A length of time written the way Go, Helm and kubectl write it: a sequence of decimal numbers,
/// each with an optional fraction and a unit, such as `300ms`, `1.5h` or `2h45m`. Units are `ns`,
/// `us` (or `µs`), `ms`, `s`, `m` and `h`. `0` needs no unit. Negative durations are refused.
///
/// It deserializes from such a string and derefs to [`std::time::Duration`], so it can be
/// passed wherever the SDK takes a timeout.
///
/// ```
/// use cutover_guest_sdk::params::Duration;
///
/// #[derive(serde::Deserialize)]
/// struct Params {
///     timeout: Duration,
/// }
///
/// let p: Params = serde_json::from_str(r#"{"timeout": "1h30m"}"#).unwrap();
/// assert_eq!(p.timeout.as_secs(), 5400);
/// assert_eq!(p.timeout.to_string(), "1h30m");
/// assert_eq!("500ms".parse::<Duration>().unwrap().as_millis(), 500);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    /// The [`std::time::Duration`] inside.
    ///
    /// ```
    /// let d: cutover_guest_sdk::params::Duration = "90s".parse().unwrap();
    /// assert_eq!(d.get(), std::time::Duration::from_secs(90));
    /// ```
    pub const fn get(self) -> std::time::Duration {
        self.0
    }
}

impl std::ops::Deref for Duration {
    type Target = std::time::Duration;

    fn deref(&self) -> &std::time::Duration {
        &self.0
    }
}

impl From<Duration> for std::time::Duration {
    fn from(d: Duration) -> Self {
        d.0
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        Duration(d)
    }
}

/// Why a duration string was refused.
///
/// ```
/// let e = "5 minutes".parse::<cutover_guest_sdk::params::Duration>().unwrap_err();
/// assert!(e.to_string().contains("5 minutes"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseDurationError {
    input: String,
    reason: &'static str,
}

impl fmt::Display for ParseDurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid duration {:?}: {}", self.input, self.reason)
    }
}

impl std::error::Error for ParseDurationError {}

impl FromStr for Duration {
    type Err = ParseDurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match parse_nanos(s.as_bytes()) {
            Ok(nanos) => {
                let secs = (nanos / NANOS_PER_SEC) as u64;
                let sub = (nanos % NANOS_PER_SEC) as u32;
                Ok(Duration(std::time::Duration::new(secs, sub)))
            }
            Err(reason) => Err(ParseDurationError {
                input: s.to_owned(),
                reason,
            }),
        }
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Borrowing would fail for strings with escapes; a duration is short, so own it.
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Go's spelling without its zero parts: `1h30m`, `90ms`, `1.5s`, `0s`; it parses back to the
/// same value.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.0.as_nanos();
        if total == 0 {
            return f.write_str("0s");
        }
        if total < NANOS_PER_SEC {
            // Below a second Go picks the largest unit that keeps an integer part.
            let (unit, scale) = if total >= 1_000_000 {
                ("ms", 1_000_000)
            } else if total >= 1_000 {
                ("us", 1_000)
            } else {
                ("ns", 1)
            };
            write_decimal(f, total / scale, total % scale, scale)?;
            return f.write_str(unit);
        }
        let secs = self.0.as_secs();
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if m > 0 {
            write!(f, "{m}m")?;
        }
        let nanos = u128::from(self.0.subsec_nanos());
        if s > 0 || nanos > 0 {
            write_decimal(f, u128::from(s), nanos, NANOS_PER_SEC)?;
            f.write_str("s")?;
        }
        Ok(())
    }
}

/// Writes `int.frac` with `frac` out of `scale`, without trailing zeros.
fn write_decimal(f: &mut fmt::Formatter<'_>, int: u128, frac: u128, scale: u128) -> fmt::Result {
    write!(f, "{int}")?;
    if frac == 0 {
        return Ok(());
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    write!(f, ".{}", digits.trim_end_matches('0'))
}

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Parses a Go duration into nanoseconds. `const` so that the manifest can check a duration
/// parameter's default at compile time with the very parser that reads it at run time.
pub(crate) const fn parse_nanos(s: &[u8]) -> Result<u128, &'static str> {
    let mut i = 0;
    if i < s.len() && s[i] == b'+' {
        i += 1;
    } else if i < s.len() && s[i] == b'-' {
        return Err("negative durations are not allowed");
    }
    if i == s.len() {
        return Err("empty duration");
    }
    // Go accepts a bare zero and nothing else without a unit.
    if s.len() - i == 1 && s[i] == b'0' {
        return Ok(0);
    }
    let mut total: u128 = 0;
    while i < s.len() {
        // The integer part.
        let mut int: u128 = 0;
        let mut int_digits = 0;
        while i < s.len() && s[i].is_ascii_digit() {
            int = match int.checked_mul(10) {
                Some(v) => match v.checked_add((s[i] - b'0') as u128) {
                    Some(v) => v,
                    None => return Err("duration is too long"),
                },
                None => return Err("duration is too long"),
            };
            int_digits += 1;
            i += 1;
        }
        // The fraction: keep at most 18 digits (finer than a nanosecond of an hour), as Go drops
        // what it cannot represent.
        let mut frac: u128 = 0;
        let mut frac_scale: u128 = 1;
        let mut frac_digits = 0;
        if i < s.len() && s[i] == b'.' {
            i += 1;
            while i < s.len() && s[i].is_ascii_digit() {
                if frac_digits < 18 {
                    frac = frac * 10 + (s[i] - b'0') as u128;
                    frac_scale *= 10;
                }
                frac_digits += 1;
                i += 1;
            }
        }
        if int_digits == 0 && frac_digits == 0 {
            return Err("expected a number");
        }
        // The unit: the letters up to the next digit or dot.
        let unit_start = i;
        while i < s.len() && !s[i].is_ascii_digit() && s[i] != b'.' {
            i += 1;
        }
        let unit = unit_nanos(s, unit_start, i);
        let unit = match unit {
            Some(u) => u,
            None if unit_start == i => return Err("missing unit (ns, us, ms, s, m or h)"),
            None => return Err("unknown unit (use ns, us, ms, s, m or h)"),
        };
        let part = match int.checked_mul(unit) {
            Some(v) => v,
            None => return Err("duration is too long"),
        };
        let part = part + frac * unit / frac_scale;
        total = match total.checked_add(part) {
            Some(v) => v,
            None => return Err("duration is too long"),
        };
    }
    // std's Duration holds u64 seconds; refuse more rather than wrap.
    if total / NANOS_PER_SEC > u64::MAX as u128 {
        return Err("duration is too long");
    }
    Ok(total)
}

/// Nanoseconds in the unit spelled by `s[start..end]`.
const fn unit_nanos(s: &[u8], start: usize, end: usize) -> Option<u128> {
    const UNITS: [(&[u8], u128); 8] = [
        (b"ns", 1),
        (b"us", 1_000),
        ("µs".as_bytes(), 1_000), // U+00B5 MICRO SIGN
        ("μs".as_bytes(), 1_000), // U+03BC GREEK SMALL LETTER MU
        (b"ms", 1_000_000),
        (b"s", 1_000_000_000),
        (b"m", 60_000_000_000),
        (b"h", 3_600_000_000_000),
    ];
    let mut u = 0;
    while u < UNITS.len() {
        let (name, nanos) = UNITS[u];
        if name.len() == end - start {
            let mut j = 0;
            while j < name.len() && name[j] == s[start + j] {
                j += 1;
            }
            if j == name.len() {
                return Some(nanos);
            }
        }
        u += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration as Std;

    fn parse(s: &str) -> Result<Std, ParseDurationError> {
        s.parse::<Duration>().map(Duration::get)
    }

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse("90s").unwrap(), Std::from_secs(90));
        assert_eq!(parse("5m").unwrap(), Std::from_secs(300));
        assert_eq!(parse("1h30m").unwrap(), Std::from_secs(5400));
        assert_eq!(parse("500ms").unwrap(), Std::from_millis(500));
        assert_eq!(parse("1.5h").unwrap(), Std::from_secs(5400));
        assert_eq!(parse(".5s").unwrap(), Std::from_millis(500));
        assert_eq!(parse("1s500ms").unwrap(), Std::from_millis(1500));
        assert_eq!(parse("2us").unwrap(), Std::from_micros(2));
        assert_eq!(parse("2µs").unwrap(), Std::from_micros(2));
        assert_eq!(parse("3ns").unwrap(), Std::from_nanos(3));
        assert_eq!(parse("0").unwrap(), Std::ZERO);
        assert_eq!(parse("+10s").unwrap(), Std::from_secs(10));
        assert_eq!(parse("0.000000001s").unwrap(), Std::from_nanos(1));
    }

    #[test]
    fn refuses_what_go_refuses() {
        for bad in [
            "", "5", "-5s", "5 m", "5x", "1h30", "s", ".s", "1..5s", "1e3s", "5M",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(parse("99999999999999999999999999999h").is_err());
    }

    #[test]
    fn displays_like_go_and_round_trips() {
        for (input, shown) in [
            ("0s", "0s"),
            ("90s", "1m30s"),
            ("5m", "5m"),
            ("1h30m", "1h30m"),
            ("500ms", "500ms"),
            ("1.5s", "1.5s"),
            ("1500us", "1.5ms"),
            ("7ns", "7ns"),
            ("26h0m1s", "26h1s"),
        ] {
            let d: Duration = input.parse().unwrap();
            assert_eq!(d.to_string(), shown);
            assert_eq!(shown.parse::<Duration>().unwrap(), d);
        }
    }

    #[test]
    fn serde_uses_the_string_form() {
        let d: Duration = serde_json::from_str("\"2m\"").unwrap();
        assert_eq!(d.as_secs(), 120);
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"2m\"");
        let err = serde_json::from_str::<Duration>("\"2 minutes\"").unwrap_err();
        assert!(err.to_string().contains("2 minutes"));
        assert!(serde_json::from_str::<Duration>("120").is_err());
    }
}
