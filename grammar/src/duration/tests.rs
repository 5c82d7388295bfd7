//! Tests of the duration grammar: what Go accepts, what it refuses and why, and the formatter.

use super::*;
use DurationErrorKind::*;

const SEC: u64 = 1_000_000_000;

#[test]
fn accepts_go_durations() {
    let cases: &[(&str, u64)] = &[
        ("0", 0),
        ("+0", 0),
        ("0s", 0),
        ("0h0m0s", 0),
        ("90s", 90 * SEC),
        ("5m", 300 * SEC),
        ("1h30m", 5400 * SEC),
        ("500ms", SEC / 2),
        ("1.5h", 5400 * SEC),
        (".5s", SEC / 2),
        ("1.s", SEC),
        ("1s500ms", 1500 * SEC / 1000),
        ("2h45m", (2 * 3600 + 45 * 60) * SEC),
        ("5m0s", 300 * SEC),
        ("2us", 2_000),
        ("2µs", 2_000),
        ("2μs", 2_000),
        ("3ns", 3),
        ("+10s", 10 * SEC),
        ("0.000000001s", 1),
        ("0.0000000019s", 1),
        ("1.000000000000000000001h", 3600 * SEC),
        ("9223372036854775807ns", MAX_NANOS),
        ("2562047h47m16.854775807s", MAX_NANOS),
        ("1h1h", 7200 * SEC),
    ];
    for &(text, nanos) in cases {
        assert_eq!(parse_nanos(text), Ok(nanos), "{text:?}");
        assert_eq!(parse(text), Ok(Duration::from_nanos(nanos)), "{text:?}");
    }
}

#[test]
fn refuses_what_go_refuses_with_the_reason() {
    let huge = "9".repeat(1 << 20);
    let cases: &[(&str, DurationErrorKind)] = &[
        ("", Empty),
        ("300", BareNumber),
        ("+300", BareNumber),
        ("1.5", BareNumber),
        ("5", BareNumber),
        ("1h30", MissingUnit),
        ("1h.", ExpectedNumber { at: 3 }),
        ("-5s", Negative),
        ("-0", Negative),
        ("+", ExpectedNumber { at: 1 }),
        ("s", ExpectedNumber { at: 0 }),
        (".s", ExpectedNumber { at: 1 }),
        ("1..5s", MissingUnit),
        (" 5m", ExpectedNumber { at: 0 }),
        ("5m ", UnknownUnit { start: 1, end: 3 }),
        ("5 m", UnknownUnit { start: 1, end: 3 }),
        ("5 minutes", UnknownUnit { start: 1, end: 9 }),
        ("5x", UnknownUnit { start: 1, end: 2 }),
        ("5M", UnknownUnit { start: 1, end: 2 }),
        ("5S", UnknownUnit { start: 1, end: 2 }),
        ("1e3s", UnknownUnit { start: 1, end: 2 }),
        ("5ｍ", UnknownUnit { start: 1, end: 4 }),
        ("5m\n", UnknownUnit { start: 1, end: 3 }),
        ("5m\0", UnknownUnit { start: 1, end: 3 }),
        ("PT5M", ExpectedNumber { at: 0 }),
        ("5s?", UnknownUnit { start: 1, end: 3 }),
        ("1h#", UnknownUnit { start: 1, end: 3 }),
        ("%2f", ExpectedNumber { at: 0 }),
        ("9223372036854775808ns", Overflow),
        ("2562047h47m16.854775808s", Overflow),
        ("99999999999999999999999999999h", Overflow),
        ("5124095576030432h", Overflow),
        (&huge, Overflow),
    ];
    for &(text, kind) in cases {
        assert_eq!(parse_nanos(text), Err(kind), "{text:?}");
        let error = parse(text).unwrap_err();
        assert_eq!(error.kind(), kind);
        let message = error.to_string();
        assert!(message.contains(EXAMPLES), "{message}");
        assert!(message.chars().count() < 400, "bounded: {message}");
    }
}

#[test]
fn messages_name_the_input_and_what_to_write() {
    let cases = [
        (
            "300",
            "invalid duration \"300\": a number without a unit is ambiguous: give a unit",
        ),
        ("1h30", "every number needs a unit"),
        (
            "-5s",
            "invalid duration \"-5s\": negative durations are refused",
        ),
        (
            "5 minutes",
            "unknown unit \" minutes\" (the units are ns, us (or µs), ms, s, m, h)",
        ),
        ("", "invalid duration \"\": it is empty"),
        ("x", "expected a number at byte 0"),
        ("5m\u{1b}[2J", "invalid duration \"5m\\u{1b}[2J\""),
    ];
    for (text, expected) in cases {
        let message = parse(text).unwrap_err().to_string();
        assert!(message.contains(expected), "{text:?}: {message}");
        assert!(
            message.ends_with("; write e.g. 90s, 5m, 1h30m or 500ms"),
            "{message}"
        );
    }
    let long = format!("{}x", "1".repeat(1000));
    let error = parse(&long).unwrap_err();
    assert_eq!(
        error.input().chars().count(),
        65,
        "cut to 64 characters and …"
    );
}

#[test]
fn formats_the_shortest_form_that_parses_back() {
    let cases: &[(u64, &str)] = &[
        (0, "0s"),
        (7, "7ns"),
        (1_500, "1.5us"),
        (1_500_000, "1.5ms"),
        (250_000_000, "250ms"),
        (999_999_999, "999.999999ms"),
        (SEC, "1s"),
        (1_500_000_000, "1.5s"),
        (1_000_000_001, "1.000000001s"),
        (90 * SEC, "1m30s"),
        (300 * SEC, "5m"),
        (3600 * SEC, "1h"),
        (5400 * SEC, "1h30m"),
        (3725 * SEC, "1h2m5s"),
        (3600 * SEC + SEC / 2, "1h0.5s"),
        (26 * 3600 * SEC + SEC, "26h1s"),
        (MAX_NANOS, "2562047h47m16.854775807s"),
    ];
    for &(nanos, text) in cases {
        let duration = Duration::from_nanos(nanos);
        assert_eq!(format(duration), text);
        assert_eq!(Formatted(duration).to_string(), text);
        assert_eq!(parse(text), Ok(duration), "{text} parses back");
    }
}

#[test]
fn usable_in_const_context() {
    const FIVE_MINUTES: Result<u64, DurationErrorKind> = parse_nanos("5m");
    const BARE: Result<u64, DurationErrorKind> = parse_nanos("300");
    assert_eq!(FIVE_MINUTES, Ok(300 * SEC));
    assert_eq!(BARE, Err(BareNumber));
}
