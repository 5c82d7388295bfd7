//! The JSON paths a probe accepts (`$.a.b[0]`, Argo's `{$.a.b}`, a bare `a.b`), put in the one
//! RFC 9535 form (`$.a.b[0]`) that the host and the SDK's test fake evaluate.

/// The longest JSON path accepted, in bytes.
pub const MAX_LEN: usize = 512;

/// Why a JSON path is refused before it is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Nothing but the braces, or nothing at all.
    Empty,
    /// Longer than [`MAX_LEN`].
    TooLong,
    /// A control character.
    ControlCharacter,
}

impl Invalid {
    /// The reason, in a few words.
    pub fn message(self) -> &'static str {
        match self {
            Invalid::Empty => "the JSON path is empty",
            Invalid::TooLong => "the JSON path is longer than 512 bytes",
            Invalid::ControlCharacter => "the JSON path holds a control character",
        }
    }
}

/// The path in RFC 9535 form: `{...}` unwrapped (Argo Rollouts' and kubectl's form), and a path
/// that does not start at the root (`$`) made to: `a.b` is `$.a.b`, `[0]` is `$[0]`.
///
/// ```
/// use cutover_grammar::json_path::normalize;
/// assert_eq!(normalize("$.checks[0].ok").unwrap(), "$.checks[0].ok");
/// assert_eq!(normalize("{$.status}").unwrap(), "$.status");
/// assert_eq!(normalize("status.ready").unwrap(), "$.status.ready");
/// assert_eq!(normalize("[0].ok").unwrap(), "$[0].ok");
/// assert!(normalize("{}").is_err());
/// ```
pub fn normalize(path: &str) -> Result<String, Invalid> {
    if path.len() > MAX_LEN {
        return Err(Invalid::TooLong);
    }
    if path.chars().any(char::is_control) {
        return Err(Invalid::ControlCharacter);
    }
    let mut path = path.trim();
    if let Some(inner) = path.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
        path = inner.trim();
    }
    if path.is_empty() {
        return Err(Invalid::Empty);
    }
    Ok(if path.starts_with('$') {
        path.to_string()
    } else if path.starts_with('[') {
        format!("${path}")
    } else {
        format!("$.{}", path.strip_prefix('.').unwrap_or(path))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwraps_and_roots_paths() {
        assert_eq!(normalize(" { $.a.b } ").unwrap(), "$.a.b");
        assert_eq!(normalize(".a").unwrap(), "$.a");
        assert_eq!(normalize("$").unwrap(), "$");
    }

    #[test]
    fn refuses_empty_long_and_control_paths() {
        assert_eq!(normalize("  "), Err(Invalid::Empty));
        assert_eq!(normalize("{ }"), Err(Invalid::Empty));
        assert_eq!(normalize(&"a".repeat(MAX_LEN + 1)), Err(Invalid::TooLong));
        assert_eq!(normalize("$.a\n.b"), Err(Invalid::ControlCharacter));
    }
}
