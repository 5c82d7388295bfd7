//! What a policy manifest gives: the policy's name, version and description, its parameters'
//! names, and the template of its release name.

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

/// The longest release template, in bytes.
pub const MAX_RELEASE_TEMPLATE: usize = 253;

/// The message for a release template longer than [`MAX_RELEASE_TEMPLATE`].
pub const RELEASE_TEMPLATE_LENGTH_MESSAGE: &str =
    "a release template must be at most 253 characters";
/// The message for a `{` without its `}` (or with another `{` before it).
pub const RELEASE_TEMPLATE_OPEN_MESSAGE: &str =
    "a release template's `{` must be closed by `}` before the next `{`";
/// The message for a `}` without its `{`.
pub const RELEASE_TEMPLATE_CLOSE_MESSAGE: &str = "a release template's `}` must close a `{`";
/// The message for `{}` or `{` followed by something that is not a parameter name.
pub const RELEASE_TEMPLATE_PLACEHOLDER_MESSAGE: &str =
    "a release template's placeholder must be a parameter's name in braces, such as `{node}`";
/// The message for text outside placeholders that no release name may hold.
pub const RELEASE_TEMPLATE_TEXT_MESSAGE: &str =
    "a release template's text outside placeholders must be lowercase letters, digits, '-' and '.'";

/// A release template's syntax (`drain-{node}`, `restart-{kind}-{name}`): at most
/// [`MAX_RELEASE_TEMPLATE`] bytes of lowercase letters, digits, `-` and `.`, and placeholders
/// `{name}` whose names are parameter names ([`parameter_name`]); no nesting, every brace
/// paired. Whether each placeholder names a declared parameter of a fitting type is the
/// manifest's check, which walks them with [`release_template_placeholder`].
pub const fn release_template(t: &str) -> Result<(), &'static str> {
    let s = t.as_bytes();
    if s.len() > MAX_RELEASE_TEMPLATE {
        return Err(RELEASE_TEMPLATE_LENGTH_MESSAGE);
    }
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == b'{' {
            let close = match crate::bytes::find(s, i + 1, s.len(), b'}') {
                Some(close) => close,
                None => return Err(RELEASE_TEMPLATE_OPEN_MESSAGE),
            };
            if crate::bytes::find(s, i + 1, close, b'{').is_some() {
                return Err(RELEASE_TEMPLATE_OPEN_MESSAGE);
            }
            let mut j = i + 1;
            if j == close {
                return Err(RELEASE_TEMPLATE_PLACEHOLDER_MESSAGE);
            }
            while j < close {
                let n = s[j];
                if !(n.is_ascii_alphanumeric() || n == b'-' || n == b'_') {
                    return Err(RELEASE_TEMPLATE_PLACEHOLDER_MESSAGE);
                }
                j += 1;
            }
            i = close + 1;
            continue;
        }
        if c == b'}' {
            return Err(RELEASE_TEMPLATE_CLOSE_MESSAGE);
        }
        if !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.') {
            return Err(RELEASE_TEMPLATE_TEXT_MESSAGE);
        }
        i += 1;
    }
    Ok(())
}

/// The first placeholder of a template that [`release_template`] accepts at or after byte
/// `from`: the byte range of its name, inside the braces. `None` when there is no other.
///
/// ```
/// use cutover_grammar::policy::release_template_placeholder as next;
/// let t = "restart-{kind}-{name}";
/// assert_eq!(next(t, 0), Some((9, 13)));
/// assert_eq!(next(t, 14), Some((16, 20)));
/// assert_eq!(next(t, 21), None);
/// ```
pub const fn release_template_placeholder(t: &str, from: usize) -> Option<(usize, usize)> {
    let s = t.as_bytes();
    let open = match crate::bytes::find(s, from, s.len(), b'{') {
        Some(open) => open,
        None => return None,
    };
    match crate::bytes::find(s, open + 1, s.len(), b'}') {
        Some(close) => Some((open + 1, close)),
        None => None,
    }
}

/// Checks a release template's syntax at run time.
pub fn check_release_template(t: &str) -> Result<(), NameError> {
    checked("release template", t, release_template(t))
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

    #[test]
    fn release_templates() {
        for good in [
            "drain-{node}",
            "restart-{kind}-{name}",
            "{node}",
            "fixed.name",
            "",
            "{a_b}{C-2}",
        ] {
            assert_eq!(release_template(good), Ok(()), "{good:?}");
        }
        let cases = [
            ("drain-{node", RELEASE_TEMPLATE_OPEN_MESSAGE),
            ("drain-{{node}}", RELEASE_TEMPLATE_OPEN_MESSAGE),
            ("drain-{a{b}", RELEASE_TEMPLATE_OPEN_MESSAGE),
            ("drain-node}", RELEASE_TEMPLATE_CLOSE_MESSAGE),
            ("{node}}", RELEASE_TEMPLATE_CLOSE_MESSAGE),
            ("drain-{}", RELEASE_TEMPLATE_PLACEHOLDER_MESSAGE),
            ("drain-{no de}", RELEASE_TEMPLATE_PLACEHOLDER_MESSAGE),
            ("drain-{a.b}", RELEASE_TEMPLATE_PLACEHOLDER_MESSAGE),
            ("Drain-{node}", RELEASE_TEMPLATE_TEXT_MESSAGE),
            ("drain_{node}", RELEASE_TEMPLATE_TEXT_MESSAGE),
            ("drain/{node}", RELEASE_TEMPLATE_TEXT_MESSAGE),
            ("dr\u{1b}[2J{node}", RELEASE_TEMPLATE_TEXT_MESSAGE),
            ("é{node}", RELEASE_TEMPLATE_TEXT_MESSAGE),
        ];
        for (bad, why) in cases {
            assert_eq!(release_template(bad), Err(why), "{bad:?}");
        }
        assert_eq!(release_template(&"a".repeat(MAX_RELEASE_TEMPLATE)), Ok(()));
        assert_eq!(
            release_template(&"a".repeat(MAX_RELEASE_TEMPLATE + 1)),
            Err(RELEASE_TEMPLATE_LENGTH_MESSAGE)
        );
        let error = check_release_template("x{").unwrap_err().to_string();
        assert!(
            error.starts_with("invalid release template \"x{\""),
            "{error}"
        );
    }

    #[test]
    fn release_template_placeholders() {
        let names = |t: &'static str| {
            let mut names = Vec::new();
            let mut from = 0;
            while let Some((start, end)) = release_template_placeholder(t, from) {
                names.push(&t[start..end]);
                from = end + 1;
            }
            names
        };
        assert_eq!(names("restart-{kind}-{name}"), ["kind", "name"]);
        assert_eq!(names("{a}{b}"), ["a", "b"]);
        assert!(names("fixed").is_empty());
    }
}
