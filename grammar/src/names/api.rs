//! API groups, versions, `apiVersion` strings and kinds, as they appear in object references.

use super::dns::{dns1123_label_bytes, dns1123_subdomain_bytes};
use super::{MAX_63_MESSAGE, NameError, checked};
use crate::bytes;

/// The message for a kind.
pub const KIND_MESSAGE: &str =
    "a kind must consist of ASCII letters and digits and start with a letter (e.g. 'Deployment')";
/// The message for an `apiVersion` of the wrong shape.
pub const API_VERSION_MESSAGE: &str =
    "an apiVersion is a version ('v1') or a group and a version ('apps/v1')";

/// An API group: `""` (the core group) or a DNS-1123 subdomain (`apps`, `cert-manager.io`).
pub const fn api_group(s: &str) -> Result<(), &'static str> {
    api_group_bytes(s.as_bytes())
}

const fn api_group_bytes(s: &[u8]) -> Result<(), &'static str> {
    if s.is_empty() {
        return Ok(());
    }
    dns1123_subdomain_bytes(s)
}

/// The version part of an `apiVersion`: a DNS-1123 label (`v1`, `v1beta1`).
pub const fn version(s: &str) -> Result<(), &'static str> {
    dns1123_label_bytes(s.as_bytes())
}

/// An `apiVersion`: `v1` (the core group) or `group/version` (`apps/v1`).
pub const fn api_version(s: &str) -> Result<(), &'static str> {
    api_version_bytes(s.as_bytes())
}

/// [`api_version`] of bytes.
pub(crate) const fn api_version_bytes(s: &[u8]) -> Result<(), &'static str> {
    let slash = match bytes::find(s, 0, s.len(), b'/') {
        None => return dns1123_label_bytes(s),
        Some(slash) => slash,
    };
    if slash == 0 || bytes::find(s, slash + 1, s.len(), b'/').is_some() {
        return Err(API_VERSION_MESSAGE);
    }
    match api_group_bytes(bytes::slice(s, 0, slash)) {
        Err(reason) => Err(reason),
        Ok(()) => dns1123_label_bytes(bytes::slice(s, slash + 1, s.len())),
    }
}

/// A kind: ASCII letters and digits, starting with a letter, at most 63 (`Pod`, `Deployment`).
pub const fn kind(s: &str) -> Result<(), &'static str> {
    kind_bytes(s.as_bytes())
}

/// [`kind`] of bytes.
pub(crate) const fn kind_bytes(s: &[u8]) -> Result<(), &'static str> {
    if s.len() > 63 {
        return Err(MAX_63_MESSAGE);
    }
    if s.is_empty() || !s[0].is_ascii_alphabetic() {
        return Err(KIND_MESSAGE);
    }
    let mut i = 0;
    while i < s.len() {
        if !s[i].is_ascii_alphanumeric() {
            return Err(KIND_MESSAGE);
        }
        i += 1;
    }
    Ok(())
}

/// Checks an `apiVersion` at run time.
pub fn check_api_version(s: &str) -> Result<(), NameError> {
    checked("apiVersion", s, api_version(s))
}

/// Checks a kind at run time.
pub fn check_kind(s: &str) -> Result<(), NameError> {
    checked("kind", s, kind(s))
}
