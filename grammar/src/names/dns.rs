//! DNS-1123 labels and subdomains and DNS-1035 labels (apimachinery's `IsDNS1123Label`, ...).

use super::{MAX_63_MESSAGE, MAX_253_MESSAGE};

/// The API server's message for a DNS-1123 label.
pub const DNS1123_LABEL_MESSAGE: &str = "a lowercase RFC 1123 label must consist of lower case \
     alphanumeric characters or '-', and must start and end with an alphanumeric character";
/// The subdomain message as a literal, for `concat!` (the label-key prefix message).
macro_rules! subdomain_message {
    () => {
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' \
         or '.', and must start and end with an alphanumeric character"
    };
}
pub(crate) use subdomain_message;

/// The API server's message for a DNS-1123 subdomain.
pub const DNS1123_SUBDOMAIN_MESSAGE: &str = subdomain_message!();
/// The API server's message for a DNS-1035 label.
pub const DNS1035_LABEL_MESSAGE: &str = "a DNS-1035 label must consist of lower case \
     alphanumeric characters or '-', start with an alphabetic character, and end with an \
     alphanumeric character";

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, of any length.
pub(crate) const fn is_label(s: &[u8]) -> bool {
    if s.is_empty() || !is_lower_alnum(s[0]) || !is_lower_alnum(s[s.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < s.len() {
        if !(is_lower_alnum(s[i]) || s[i] == b'-') {
            return false;
        }
        i += 1;
    }
    true
}

/// Labels joined by `.`, of any length.
pub(crate) const fn is_subdomain(s: &[u8]) -> bool {
    if s.is_empty() {
        return false;
    }
    // Each `.` must sit between two alphanumerics; the ends must be alphanumeric.
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        let ok = if c == b'.' {
            i > 0 && i + 1 < s.len() && is_lower_alnum(s[i - 1]) && is_lower_alnum(s[i + 1])
        } else {
            is_lower_alnum(c) || c == b'-'
        };
        if !ok {
            return false;
        }
        i += 1;
    }
    is_lower_alnum(s[0]) && is_lower_alnum(s[s.len() - 1])
}

const fn is_lower_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// A DNS-1123 label: at most 63 of `a-z`, `0-9` and `-`, alphanumeric at both ends
/// (Namespace names, API versions, label-like parts).
pub const fn dns1123_label(s: &str) -> Result<(), &'static str> {
    dns1123_label_bytes(s.as_bytes())
}

/// [`dns1123_label`] of bytes.
pub(crate) const fn dns1123_label_bytes(s: &[u8]) -> Result<(), &'static str> {
    if s.len() > 63 {
        return Err(MAX_63_MESSAGE);
    }
    if !is_label(s) {
        return Err(DNS1123_LABEL_MESSAGE);
    }
    Ok(())
}

/// A DNS-1123 subdomain: at most 253 characters, DNS-1123 labels joined by `.` (most object
/// names, Node names, API groups).
pub const fn dns1123_subdomain(s: &str) -> Result<(), &'static str> {
    dns1123_subdomain_bytes(s.as_bytes())
}

/// [`dns1123_subdomain`] of bytes.
pub(crate) const fn dns1123_subdomain_bytes(s: &[u8]) -> Result<(), &'static str> {
    if s.len() > 253 {
        return Err(MAX_253_MESSAGE);
    }
    if !is_subdomain(s) {
        return Err(DNS1123_SUBDOMAIN_MESSAGE);
    }
    Ok(())
}

/// A DNS-1035 label: a DNS-1123 label that starts with a letter (Service names).
pub const fn dns1035_label(s: &str) -> Result<(), &'static str> {
    let s = s.as_bytes();
    if s.len() > 63 {
        return Err(MAX_63_MESSAGE);
    }
    if !is_label(s) || !s[0].is_ascii_lowercase() {
        return Err(DNS1035_LABEL_MESSAGE);
    }
    Ok(())
}
