//! The names a policy manifest gives: the policy's own name and its parameters' names.

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
