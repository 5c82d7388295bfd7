//! The one way cutover writes a duration: the shortest form without zero parts (`1m30s`, `250ms`).

use std::fmt;
use std::time::Duration;

use super::NANOS_PER_SEC;

/// Writes a duration the way [`format`] does, without allocating: `format!("{}", Formatted(d))`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Formatted(pub Duration);

/// The shortest spelling without zero parts, which [`parse`](super::parse) reads back to the
/// same value: `0s`, `7ns`, `1.5us`, `250ms`, `1.5s`, `5m`, `1m30s`, `1h30m`, `26h1s`.
/// Below a second the unit is the largest that keeps an integer part (`ms`, `us`, `ns`); from a
/// second on, hours, minutes and seconds with a fraction. Durations above
/// [`MAX_NANOS`](super::MAX_NANOS) print the same way but do not parse back.
///
/// ```
/// use std::time::Duration;
/// use cutover_grammar::duration::format;
///
/// assert_eq!(format(Duration::from_secs(90)), "1m30s");
/// assert_eq!(format(Duration::from_secs(5400)), "1h30m");
/// assert_eq!(format(Duration::from_millis(1500)), "1.5s");
/// assert_eq!(format(Duration::ZERO), "0s");
/// ```
pub fn format(duration: Duration) -> String {
    Formatted(duration).to_string()
}

impl fmt::Display for Formatted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d.is_zero() {
            return f.write_str("0s");
        }
        if d.as_secs() == 0 {
            let nanos = u64::from(d.subsec_nanos());
            let (unit, scale) = match nanos {
                1_000_000.. => ("ms", 1_000_000),
                1_000.. => ("us", 1_000),
                _ => ("ns", 1),
            };
            write_decimal(f, nanos / scale, nanos % scale, scale)?;
            return f.write_str(unit);
        }
        let secs = d.as_secs();
        let (hours, minutes, seconds) = (secs / 3600, secs / 60 % 60, secs % 60);
        if hours > 0 {
            write!(f, "{hours}h")?;
        }
        if minutes > 0 {
            write!(f, "{minutes}m")?;
        }
        let nanos = u64::from(d.subsec_nanos());
        if seconds > 0 || nanos > 0 {
            write_decimal(f, seconds, nanos, NANOS_PER_SEC)?;
            f.write_str("s")?;
        }
        Ok(())
    }
}

/// Writes `whole.fraction`, the fraction being `fraction / scale` (scale a power of ten), without
/// trailing zeros.
fn write_decimal(f: &mut fmt::Formatter<'_>, whole: u64, fraction: u64, scale: u64) -> fmt::Result {
    write!(f, "{whole}")?;
    if fraction == 0 {
        return Ok(());
    }
    let (mut fraction, mut width) = (fraction, scale.ilog10() as usize);
    while fraction % 10 == 0 {
        fraction /= 10;
        width -= 1;
    }
    write!(f, ".{fraction:0width$}")
}
