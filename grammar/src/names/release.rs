//! Helm release names (Helm's `chartutil.ValidateReleaseName`).

use super::dns::is_subdomain;
use super::{NameError, checked};

/// The longest release name Helm allows: 63 minus 10 characters that charts append.
pub const RELEASE_NAME_MAX_LEN: usize = 53;

/// Helm's message for an invalid release name.
pub const RELEASE_NAME_MESSAGE: &str = "must match regex \
     ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not \
     be longer than 53";

/// A Helm release name: non-empty, at most 53 characters, and a DNS-1123 subdomain
/// (`web`, `shop-api.v2`), exactly as Helm checks it.
pub const fn release_name(s: &str) -> Result<(), &'static str> {
    let s = s.as_bytes();
    if s.is_empty() {
        return Err("no name provided");
    }
    if s.len() > RELEASE_NAME_MAX_LEN || !is_subdomain(s) {
        return Err(RELEASE_NAME_MESSAGE);
    }
    Ok(())
}

/// Checks a release name at run time.
pub fn check_release_name(s: &str) -> Result<(), NameError> {
    checked("release name", s, release_name(s))
}
