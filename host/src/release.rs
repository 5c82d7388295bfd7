//! Releases: what a run acts for. For now the name's rule; the revisions stored as Secrets, the
//! Lease lock and the undo journal come here.

/// The longest release name, as Helm's: the name goes into object names and labels with a
/// prefix and a revision suffix, which must stay within Kubernetes' limits.
pub const MAX_NAME: usize = 53;

/// A release name: a lowercase DNS-1123 subdomain of at most [`MAX_NAME`] characters (Helm's
/// rule), checked before it reaches a file path or an object name.
pub fn check_name(name: &str) -> Result<(), String> {
    let shown = crate::text::escape(name, 64);
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(format!(
            "\"{shown}\" must be 1 to {MAX_NAME} characters long"
        ));
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if !name.split('.').all(label_ok) {
        return Err(format!(
            "\"{shown}\" is not valid: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_release_names() {
        for good in ["web", "drain", "web-1.prod", "a"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "", "Web", "-web", "web-", "a..b", "../etc", "a/b", "a b", "web?x",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name(&"a".repeat(53)).is_ok());
        assert!(check_name(&"a".repeat(54)).is_err());
    }
}
