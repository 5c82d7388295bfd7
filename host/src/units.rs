//! Parsing of the units operators type: durations (`5m`, `1h30m`, `500ms`, as Helm and kubectl
//! take them) and byte sizes (`64Mi`, `1Gi`, `512M`, as Kubernetes quantities are written).

use std::time::Duration;

/// Parses a Go/Helm-style duration: `90s`, `5m`, `1h30m`, `500ms`, `2m30.5s`.
/// A bare number is refused, because `--timeout 300` is ambiguous (kubectl refuses it too).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "`{text}` is not a duration: give a unit, e.g. 90s, 5m, 1h30m or 500ms"
        ));
    }
    let signed: jiff::SignedDuration = trimmed
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: use e.g. 90s, 5m, 1h30m or 500ms"))?;
    Duration::try_from(signed)
        .map_err(|_| format!("`{text}` is negative: a duration must be positive"))
}

/// Formats a duration the way Go prints one: `5m0s`, `1.5s`, `250ms`.
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        return format!("{millis}ms");
    }
    let total_secs = duration.as_secs();
    let (hours, minutes, secs) = (total_secs / 3600, (total_secs / 60) % 60, total_secs % 60);
    let frac = duration.subsec_millis();
    let secs = if frac == 0 {
        format!("{secs}s")
    } else {
        let digits = format!("{frac:03}");
        format!("{secs}.{}s", digits.trim_end_matches('0'))
    };
    match (hours, minutes) {
        (0, 0) => secs,
        (0, m) => format!("{m}m{secs}"),
        (h, m) => format!("{h}h{m}m{secs}"),
    }
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
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-5s").is_err());
    }

    #[test]
    fn durations_print_like_go() {
        assert_eq!(format_duration(Duration::from_secs(300)), "5m0s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_secs(3725)), "1h2m5s");
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
