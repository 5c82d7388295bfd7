//! Label keys (apimachinery's `IsQualifiedName`) and label values (`IsValidLabelValue`).

use super::dns::{is_subdomain, subdomain_message};
use super::{MAX_63_MESSAGE, NameError, checked};
use crate::bytes;

/// The API server's message for the name part of a label key.
pub const QUALIFIED_NAME_MESSAGE: &str = "name part must consist of alphanumeric characters, \
     '-', '_' or '.', and must start and end with an alphanumeric character";
/// The API server's message for a key with more than one `/`.
pub const QUALIFIED_FORMAT_MESSAGE: &str = "a qualified name must consist of alphanumeric \
     characters, '-', '_' or '.', and must start and end with an alphanumeric character with an \
     optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
/// The API server's message for a label value.
pub const LABEL_VALUE_MESSAGE: &str = "a valid label must be an empty string or consist of \
     alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric \
     character";

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, of any length (empty refused).
const fn is_qualified_name(s: &[u8]) -> bool {
    if s.is_empty() || !s[0].is_ascii_alphanumeric() || !s[s.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if !(c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.') {
            return false;
        }
        i += 1;
    }
    true
}

/// A label (or annotation) key: an optional DNS-1123 subdomain prefix of at most 253 and `/`,
/// then a name of at most 63 (`app`, `app.kubernetes.io/name`).
pub const fn label_key(s: &str) -> Result<(), &'static str> {
    let s = s.as_bytes();
    let name = match bytes::find(s, 0, s.len(), b'/') {
        None => s,
        Some(slash) => {
            if bytes::find(s, slash + 1, s.len(), b'/').is_some() {
                return Err(QUALIFIED_FORMAT_MESSAGE);
            }
            let prefix = bytes::slice(s, 0, slash);
            if prefix.is_empty() {
                return Err("prefix part must be non-empty");
            }
            if prefix.len() > 253 {
                return Err("prefix part must be no more than 253 characters");
            }
            if !is_subdomain(prefix) {
                return Err(PREFIX_SUBDOMAIN_MESSAGE);
            }
            bytes::slice(s, slash + 1, s.len())
        }
    };
    if name.is_empty() {
        return Err("name part must be non-empty");
    }
    if name.len() > 63 {
        return Err("name part must be no more than 63 characters");
    }
    if !is_qualified_name(name) {
        return Err(QUALIFIED_NAME_MESSAGE);
    }
    Ok(())
}

/// "prefix part " and the subdomain message, as the API server prefixes it.
const PREFIX_SUBDOMAIN_MESSAGE: &str = concat!("prefix part ", subdomain_message!());

/// A label value: empty, or at most 63 of `A-Za-z0-9 - _ .`, alphanumeric at both ends.
pub const fn label_value(s: &str) -> Result<(), &'static str> {
    let s = s.as_bytes();
    if s.len() > 63 {
        return Err(MAX_63_MESSAGE);
    }
    if !s.is_empty() && !is_qualified_name(s) {
        return Err(LABEL_VALUE_MESSAGE);
    }
    Ok(())
}

/// Checks a label key at run time.
pub fn check_label_key(s: &str) -> Result<(), NameError> {
    checked("label key", s, label_key(s))
}

/// Checks a label value at run time.
pub fn check_label_value(s: &str) -> Result<(), NameError> {
    checked("label value", s, label_value(s))
}
