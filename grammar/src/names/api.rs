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

/// The message for a core-group `apiVersion` that is not a Kubernetes version (`apps`, alone).
pub const CORE_VERSION_MESSAGE: &str = "an apiVersion without a group is a core-group version such as 'v1'; another group's is written group/version ('apps/v1')";

/// A Kubernetes version: `v1`, `v2beta3`, `v1alpha1` (`v`, digits, then `alpha` or `beta` and
/// digits). The core group serves only such versions; other groups may use any DNS label.
const fn kube_version_bytes(s: &[u8]) -> bool {
    let n = s.len();
    if n < 2 || s[0] != b'v' || s[1] == b'0' {
        return false;
    }
    let mut i = 1;
    while i < n && s[i].is_ascii_digit() {
        i += 1;
    }
    if i == 1 {
        return false;
    }
    if i == n {
        return true;
    }
    let rest = bytes::slice(s, i, n);
    let tag = if rest.len() > 5 && bytes::eq(bytes::slice(rest, 0, 5), b"alpha") {
        5
    } else if rest.len() > 4 && bytes::eq(bytes::slice(rest, 0, 4), b"beta") {
        4
    } else {
        return false;
    };
    let mut j = tag;
    if rest[j] == b'0' {
        return false;
    }
    while j < rest.len() {
        if !rest[j].is_ascii_digit() {
            return false;
        }
        j += 1;
    }
    true
}

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
        None => {
            return match dns1123_label_bytes(s) {
                Err(reason) => Err(reason),
                Ok(()) if kube_version_bytes(s) => Ok(()),
                Ok(()) => Err(CORE_VERSION_MESSAGE),
            };
        }
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
