//! Durations in Go's `time.ParseDuration` syntax, as Helm and kubectl take them: `90s`, `5m`, `1h30m`.
//!
//! A duration is a sequence of decimal numbers, each with an optional fraction and a unit:
//! `ns`, `us` (or `µs`, `μs`), `ms`, `s`, `m`, `h`; for example `300ms`, `1.5h`, `2h45m`. A
//! leading `+` is allowed. `0` needs no unit; any other bare number is refused, because
//! `--timeout 300` is ambiguous. Negative durations are refused, and so is anything longer
//! than Go's longest duration ([`MAX_NANOS`], about 292 years). Nothing is trimmed: a space is
//! an error.
//!
//! [`parse_nanos`] is a `const fn` (the guest SDK checks manifest defaults with it at compile
//! time); [`parse`] is the runtime form; [`format`] is the one way every part of cutover writes
//! a duration.

mod format;

pub use format::{Formatted, format};

use std::fmt;
use std::time::Duration;

use crate::bytes;
use crate::quote::capped;

/// The longest duration, in nanoseconds: Go's `math.MaxInt64`, `2562047h47m16.854775807s`.
pub const MAX_NANOS: u64 = i64::MAX as u64;

/// What to write instead, in every error message.
pub const EXAMPLES: &str = "write e.g. 90s, 5m, 1h30m or 500ms";

/// The units, as the error messages list them.
pub const UNITS: &str = "ns, us (or µs), ms, s, m, h";

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// Why a string is not a duration, without the string (so that it can be returned in `const`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DurationErrorKind {
    /// The input is empty.
    Empty,
    /// It starts with `-`.
    Negative,
    /// A bare number other than `0`, such as `300`.
    BareNumber,
    /// A number inside the duration has no unit, such as the `30` of `1h30`.
    MissingUnit,
    /// A unit that is none of `ns us µs μs ms s m h`; the bytes `start..end` of the input.
    UnknownUnit {
        /// Where the unit starts (a byte offset).
        start: usize,
        /// Where it ends.
        end: usize,
    },
    /// Something other than a number where a number must be, at byte `at`.
    ExpectedNumber {
        /// The byte offset.
        at: usize,
    },
    /// Longer than [`MAX_NANOS`].
    Overflow,
}

impl DurationErrorKind {
    /// The reason, in a few words (what the guest SDK's compile-time check can print).
    pub const fn message(self) -> &'static str {
        match self {
            DurationErrorKind::Empty => "it is empty",
            DurationErrorKind::Negative => "negative durations are refused",
            DurationErrorKind::BareNumber => {
                "a number without a unit is ambiguous: give a unit (ns, us, ms, s, m or h)"
            }
            DurationErrorKind::MissingUnit => {
                "every number needs a unit: give a unit (ns, us, ms, s, m or h)"
            }
            DurationErrorKind::UnknownUnit { .. } => "unknown unit",
            DurationErrorKind::ExpectedNumber { .. } => "expected a number",
            DurationErrorKind::Overflow => {
                "longer than the longest duration, 2562047h47m16.854775807s"
            }
        }
    }
}

/// A string that is not a duration: the input (cut to 64 characters) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurationError {
    input: String,
    kind: DurationErrorKind,
    unit: Option<String>,
}

impl DurationError {
    /// Builds the error for `input` from what [`parse_nanos`] returned.
    pub fn new(input: &str, kind: DurationErrorKind) -> DurationError {
        let unit = match kind {
            DurationErrorKind::UnknownUnit { start, end } => input.get(start..end).map(capped),
            _ => None,
        };
        DurationError {
            input: capped(input),
            kind,
            unit,
        }
    }

    /// The input, cut to 64 characters.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Why it was refused.
    pub fn kind(&self) -> DurationErrorKind {
        self.kind
    }
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid duration {:?}: {}",
            self.input,
            self.kind.message()
        )?;
        match (&self.kind, &self.unit) {
            (DurationErrorKind::UnknownUnit { .. }, Some(unit)) => {
                write!(f, " {unit:?} (the units are {UNITS})")?
            }
            (DurationErrorKind::ExpectedNumber { at }, _) => write!(f, " at byte {at}")?,
            _ => {}
        }
        write!(f, "; {EXAMPLES}")
    }
}

impl std::error::Error for DurationError {}

/// Parses a duration into nanoseconds; usable in `const` context.
///
/// ```
/// use cutover_grammar::duration::{parse_nanos, DurationErrorKind};
///
/// const TIMEOUT: u64 = match parse_nanos("1m30s") {
///     Ok(nanos) => nanos,
///     Err(_) => panic!("not a duration"),
/// };
/// assert_eq!(TIMEOUT, 90_000_000_000);
/// assert_eq!(parse_nanos("300"), Err(DurationErrorKind::BareNumber));
/// ```
pub const fn parse_nanos(text: &str) -> Result<u64, DurationErrorKind> {
    let s = text.as_bytes();
    let mut i = 0;
    if s.is_empty() {
        return Err(DurationErrorKind::Empty);
    }
    if s[0] == b'-' {
        return Err(DurationErrorKind::Negative);
    }
    if s[0] == b'+' {
        i = 1;
    }
    if s.len() == i + 1 && s[i] == b'0' {
        return Ok(0);
    }
    if i == s.len() {
        return Err(DurationErrorKind::ExpectedNumber { at: i });
    }
    let first = i;
    let mut total: u64 = 0;
    while i < s.len() {
        if !(s[i] == b'.' || s[i].is_ascii_digit()) {
            return Err(DurationErrorKind::ExpectedNumber { at: i });
        }
        let number_start = i;
        // The integer part.
        let mut whole: u64 = 0;
        let mut whole_digits = 0;
        while i < s.len() && s[i].is_ascii_digit() {
            whole = match whole.checked_mul(10) {
                Some(v) => match v.checked_add((s[i] - b'0') as u64) {
                    Some(v) => v,
                    None => return Err(DurationErrorKind::Overflow),
                },
                None => return Err(DurationErrorKind::Overflow),
            };
            whole_digits += 1;
            i += 1;
        }
        // The fraction: 18 digits are finer than a nanosecond of an hour; the rest is dropped.
        let mut fraction: u64 = 0;
        let mut scale: u64 = 1;
        let mut fraction_digits = 0;
        if i < s.len() && s[i] == b'.' {
            i += 1;
            while i < s.len() && s[i].is_ascii_digit() {
                if fraction_digits < 18 {
                    fraction = fraction * 10 + (s[i] - b'0') as u64;
                    scale *= 10;
                }
                fraction_digits += 1;
                i += 1;
            }
        }
        if whole_digits == 0 && fraction_digits == 0 {
            return Err(DurationErrorKind::ExpectedNumber { at: i });
        }
        // The unit: everything up to the next number.
        let unit_start = i;
        while i < s.len() && !(s[i] == b'.' || s[i].is_ascii_digit()) {
            i += 1;
        }
        if unit_start == i {
            // `300` alone is ambiguous; the `30` of `1h30` is only missing its unit.
            return Err(if number_start == first && i == s.len() {
                DurationErrorKind::BareNumber
            } else {
                DurationErrorKind::MissingUnit
            });
        }
        let unit = match unit_nanos(bytes::slice(s, unit_start, i)) {
            Some(unit) => unit,
            None => {
                return Err(DurationErrorKind::UnknownUnit {
                    start: unit_start,
                    end: i,
                });
            }
        };
        let part = match whole.checked_mul(unit) {
            Some(v) => v,
            None => return Err(DurationErrorKind::Overflow),
        };
        // fraction < scale, so this is below `unit` and fits.
        let part_fraction = (fraction as u128 * unit as u128 / scale as u128) as u64;
        total = match total.checked_add(part) {
            Some(v) => match v.checked_add(part_fraction) {
                Some(v) => v,
                None => return Err(DurationErrorKind::Overflow),
            },
            None => return Err(DurationErrorKind::Overflow),
        };
        if total > MAX_NANOS {
            return Err(DurationErrorKind::Overflow);
        }
    }
    Ok(total)
}

/// Nanoseconds in one `unit`.
const fn unit_nanos(unit: &[u8]) -> Option<u64> {
    const UNITS: [(&str, u64); 8] = [
        ("ns", 1),
        ("us", 1_000),
        ("µs", 1_000), // U+00B5 MICRO SIGN
        ("μs", 1_000), // U+03BC GREEK SMALL LETTER MU
        ("ms", 1_000_000),
        ("s", NANOS_PER_SEC),
        ("m", 60 * NANOS_PER_SEC),
        ("h", 3_600 * NANOS_PER_SEC),
    ];
    let mut i = 0;
    while i < UNITS.len() {
        if bytes::eq(unit, UNITS[i].0.as_bytes()) {
            return Some(UNITS[i].1);
        }
        i += 1;
    }
    None
}

/// Parses a duration.
///
/// ```
/// use std::time::Duration;
/// use cutover_grammar::duration::parse;
///
/// assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
/// assert_eq!(parse("1.5s").unwrap(), Duration::from_millis(1500));
/// let refused = parse("300").unwrap_err().to_string();
/// assert!(refused.contains("\"300\"") && refused.contains("give a unit"), "{refused}");
/// ```
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    match parse_nanos(text) {
        Ok(nanos) => Ok(Duration::from_nanos(nanos)),
        Err(kind) => Err(DurationError::new(text, kind)),
    }
}

#[cfg(test)]
mod tests;
