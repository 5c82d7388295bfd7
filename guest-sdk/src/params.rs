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
/// The grammar is `cutover-grammar`'s, the very one the host checks parameters with, so a value
/// the host accepts always parses here.
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

/// Why a duration string was refused: the input (cut to 64 characters) and what to write instead.
///
/// ```
/// let e = "5 minutes".parse::<cutover_guest_sdk::params::Duration>().unwrap_err();
/// assert!(e.to_string().contains("5 minutes"));
/// ```
pub use cutover_grammar::duration::DurationError as ParseDurationError;

impl FromStr for Duration {
    type Err = ParseDurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        cutover_grammar::duration::parse(s).map(Duration)
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

/// The one spelling cutover writes durations in, Go's without its zero parts: `1h30m`, `90ms`,
/// `1.5s`, `0s`; it parses back to the same value.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        cutover_grammar::duration::Formatted(self.0).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration as Std;

    // The grammar itself is tested in cutover-grammar; these test the wrapper.

    #[test]
    fn parses_and_refuses_with_the_shared_grammar() {
        assert_eq!(
            "1h30m".parse::<Duration>().unwrap().get(),
            Std::from_secs(5400)
        );
        assert_eq!(
            "2µs".parse::<Duration>().unwrap().get(),
            Std::from_micros(2)
        );
        for bad in ["", "300", "-5s", "5 m", "1h30", "5M", " 5m"] {
            let error = bad.parse::<Duration>().unwrap_err().to_string();
            assert!(error.contains("write e.g. 90s, 5m"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn displays_in_the_one_format_and_round_trips() {
        for (input, shown) in [
            ("0s", "0s"),
            ("90s", "1m30s"),
            ("5m", "5m"),
            ("1h30m", "1h30m"),
            ("1500us", "1.5ms"),
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
