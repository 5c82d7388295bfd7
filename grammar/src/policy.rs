//! What a policy manifest gives: the policy's name, version and description, its parameters' names.

use crate::names::{NameError, checked, dns1123_label};

/// The message for a parameter name.
pub const PARAMETER_NAME_MESSAGE: &str =
    "a parameter name must be non-empty and consist of ASCII letters, digits, '-' and '_'";

/// A policy's name: a DNS-1123 label (`drain`, `canary-v2`), so that it can name Kubernetes
/// objects and label values.
pub const fn policy_name(s: &str) -> Result<(), &'static str> {
    dns1123_label(s)
}

/// A parameter's name: ASCII letters, digits, `-` and `_` (`node`, `max_surge`, `dry-run`).
pub const fn parameter_name(s: &str) -> Result<(), &'static str> {
    let s = s.as_bytes();
    if s.is_empty() {
        return Err(PARAMETER_NAME_MESSAGE);
    }
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if !(c.is_ascii_alphanumeric() || c == b'-' || c == b'_') {
            return Err(PARAMETER_NAME_MESSAGE);
        }
        i += 1;
    }
    Ok(())
}

/// The message for a version that is not Semantic Versioning 2.0.
pub const VERSION_MESSAGE: &str = "a policy version must be semver: MAJOR.MINOR.PATCH[-pre][+build], numbers without leading zeros";

/// The longest description (of the policy or of a parameter), in characters.
pub const MAX_DESCRIPTION: usize = 256;

/// The message for a description with control or format characters (a line break among them).
pub const DESCRIPTION_TEXT_MESSAGE: &str =
    "a description must be one line of plain text, without control or format characters";

/// The message for a description longer than [`MAX_DESCRIPTION`] characters.
pub const DESCRIPTION_LENGTH_MESSAGE: &str = "a description must be at most 256 characters";

/// A policy's version: Semantic Versioning 2.0 — `MAJOR.MINOR.PATCH`, numbers without leading
/// zeros, then optionally `-pre` (dot-separated identifiers of `[0-9A-Za-z-]`, numeric ones
/// without leading zeros) and `+build` (dot-separated identifiers).
pub const fn version(s: &str) -> Result<(), &'static str> {
    let s = s.as_bytes();
    let mut i = 0;
    let mut part = 0;
    while part < 3 {
        let start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || (i - start > 1 && s[start] == b'0') {
            return Err(VERSION_MESSAGE);
        }
        part += 1;
        if part < 3 {
            if i >= s.len() || s[i] != b'.' {
                return Err(VERSION_MESSAGE);
            }
            i += 1;
        }
    }
    if i < s.len() && s[i] == b'-' {
        i = match identifiers(s, i + 1, true) {
            Some(end) => end,
            None => return Err(VERSION_MESSAGE),
        };
    }
    if i < s.len() && s[i] == b'+' {
        i = match identifiers(s, i + 1, false) {
            Some(end) => end,
            None => return Err(VERSION_MESSAGE),
        };
    }
    if i == s.len() {
        Ok(())
    } else {
        Err(VERSION_MESSAGE)
    }
}

/// Dot-separated non-empty identifiers of `[0-9A-Za-z-]` from `start`, up to a `+` or the end;
/// with `numeric_rule`, an all-digit identifier has no leading zero. Returns where they end.
const fn identifiers(s: &[u8], start: usize, numeric_rule: bool) -> Option<usize> {
    let mut i = start;
    loop {
        let begin = i;
        let mut digits_only = true;
        while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == b'-') {
            digits_only &= s[i].is_ascii_digit();
            i += 1;
        }
        if i == begin || (numeric_rule && digits_only && i - begin > 1 && s[begin] == b'0') {
            return None;
        }
        if i < s.len() && s[i] == b'.' {
            i += 1;
        } else {
            return Some(i);
        }
    }
}

/// A description: one line of at most [`MAX_DESCRIPTION`] characters, with nothing that could
/// steer a terminal ([`crate::text::is_unsafe`]).
pub const fn description(s: &str) -> Result<(), &'static str> {
    let bytes = s.as_bytes();
    let (mut i, mut chars) = (0, 0);
    while i < bytes.len() {
        let (c, len) = crate::text::char_at(bytes, i);
        if crate::text::is_unsafe(c) {
            return Err(DESCRIPTION_TEXT_MESSAGE);
        }
        chars += 1;
        i += len;
    }
    if chars > MAX_DESCRIPTION {
        return Err(DESCRIPTION_LENGTH_MESSAGE);
    }
    Ok(())
}

/// Checks a policy's name at run time.
pub fn check_policy_name(s: &str) -> Result<(), NameError> {
    checked("policy name", s, policy_name(s))
}

/// Checks a parameter's name at run time.
pub fn check_parameter_name(s: &str) -> Result<(), NameError> {
    checked("parameter name", s, parameter_name(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{DNS1123_LABEL_MESSAGE, MAX_63_MESSAGE};

    #[test]
    fn policy_names_are_dns_labels() {
        let cases = [
            ("drain", None),
            ("canary-v2", None),
            ("x", None),
            ("Drain", Some(DNS1123_LABEL_MESSAGE)),
            ("drain-", Some(DNS1123_LABEL_MESSAGE)),
            ("-drain", Some(DNS1123_LABEL_MESSAGE)),
            ("my_policy", Some(DNS1123_LABEL_MESSAGE)),
            ("", Some(DNS1123_LABEL_MESSAGE)),
            ("a.b", Some(DNS1123_LABEL_MESSAGE)),
        ];
        for (name, expected) in cases {
            assert_eq!(policy_name(name).err(), expected, "{name:?}");
        }
        assert_eq!(policy_name(&"a".repeat(64)).err(), Some(MAX_63_MESSAGE));
        let error = check_policy_name("Bad Name").unwrap_err().to_string();
        assert!(
            error.starts_with("invalid policy name \"Bad Name\""),
            "{error}"
        );
    }

    #[test]
    fn versions_are_semver() {
        for good in [
            "0.1.0",
            "1.2.3",
            "10.20.30",
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-0.3.7",
            "1.0.0-x-y.z",
            "1.0.0+build.5",
            "1.0.0-rc.1+sha.0abc",
            "1.0.0+b-c",
        ] {
            assert_eq!(version(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "1",
            "1.0",
            "1.0.0.0",
            "01.0.0",
            "1.00.0",
            "1.0.0-",
            "1.0.0-01",
            "1.0.0-a..b",
            "1.0.0+",
            "1.0.0+a_b",
            "v1.0.0",
            "1.0.0 ",
            "1.0.0-é",
        ] {
            assert_eq!(version(bad), Err(VERSION_MESSAGE), "{bad:?}");
        }
    }

    #[test]
    fn descriptions_are_one_plain_line() {
        assert_eq!(description("Drains a node: cordon, evict, wait."), Ok(()));
        assert_eq!(description("ünïcode is fine"), Ok(()));
        assert_eq!(description(&"é".repeat(MAX_DESCRIPTION)), Ok(()));
        for bad in [
            "two\nlines",
            "cr\r",
            "esc \x1b[2J",
            "bidi \u{202e}",
            "shy\u{ad}",
        ] {
            assert_eq!(description(bad), Err(DESCRIPTION_TEXT_MESSAGE), "{bad:?}");
        }
        assert_eq!(
            description(&"x".repeat(MAX_DESCRIPTION + 1)),
            Err(DESCRIPTION_LENGTH_MESSAGE)
        );
    }

    #[test]
    fn parameter_names() {
        let cases = [
            ("node", true),
            ("max_surge", true),
            ("dry-run", true),
            ("Timeout2", true),
            ("", false),
            ("a.b", false),
            ("a b", false),
            ("a=b", false),
            ("é", false),
            ("a\n", false),
        ];
        for (name, accepted) in cases {
            assert_eq!(parameter_name(name).is_ok(), accepted, "{name:?}");
            assert_eq!(check_parameter_name(name).is_ok(), accepted, "{name:?}");
        }
    }
}
