//! Parsing of the units operators type: durations (`5m`, `1h30m`, `500ms`, in the one grammar of
//! `cutover-grammar`) and byte sizes (`64Mi`, `1Gi`, `512M`, as Kubernetes quantities are written).

use std::time::Duration;

use cutover_grammar::duration;

/// Parses a Go/Helm-style duration: `90s`, `5m`, `1h30m`, `500ms`, `2m30.5s`, exactly as the
/// guest SDK does. A bare number is refused, because `--timeout 300` is ambiguous (kubectl
/// refuses it too).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    duration::parse(text).map_err(|e| e.to_string())
}

/// Formats a duration in the one spelling (`5m`, `1m30s`, `1.5s`, `250ms`), to the millisecond:
/// the host's readings of time are no finer than that.
pub fn format_duration(d: Duration) -> String {
    duration::format(Duration::new(d.as_secs(), d.subsec_millis() * 1_000_000))
}

/// Parses a byte size: a plain number of bytes, or a number with a Kubernetes quantity suffix
/// (`Ki Mi Gi` binary, `k M G` decimal).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, suffix) = trimmed.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size: use e.g. 64Mi, 1Gi or 1048576"))?;
    let factor: u64 = match suffix {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        _ => {
            return Err(format!(
                "`{text}` has an unknown unit `{suffix}`: use Ki, Mi, Gi, k, M or G"
            ));
        }
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_helm_syntax() {
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("5m0s").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
    }

    #[test]
    fn durations_without_unit_or_garbage_are_refused() {
        assert!(parse_duration("300").unwrap_err().contains("give a unit"));
        for refused in ["soon", "", "-5s", "5 minutes", "PT5M", " 5m"] {
            let error = parse_duration(refused).unwrap_err();
            assert!(error.contains("write e.g. 90s, 5m"), "{refused:?}: {error}");
        }
    }

    #[test]
    fn durations_print_in_the_one_format_to_the_millisecond() {
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_secs(3725)), "1h2m5s");
        assert_eq!(format_duration(Duration::from_micros(12_345)), "12ms");
        assert_eq!(format_duration(Duration::from_micros(999)), "0s");
    }

    #[test]
    fn sizes_with_quantity_suffixes() {
        assert_eq!(parse_bytes("64Mi").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("1Gi").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("1000").unwrap(), 1000);
        assert_eq!(parse_bytes("2M").unwrap(), 2_000_000);
        assert!(parse_bytes("64MB").unwrap_err().contains("unknown unit"));
        assert!(parse_bytes("lots").is_err());
        assert!(
            parse_bytes("99999999999999Gi")
                .unwrap_err()
                .contains("too large")
        );
    }
}
