//! Path segment names (apimachinery's `IsValidPathSegmentName`): the RBAC kinds' names.

use super::MAX_253_MESSAGE;
use crate::bytes;

/// A name that can be one segment of a request path: not `.` or `..`, no `/` and no `%`, as the
/// API server requires of Role, ClusterRole, RoleBinding and ClusterRoleBinding names. Also
/// non-empty and, as cutover bounds every name, at most 253 characters. Other characters
/// (`?`, `#`, spaces) are the API server's to allow: whoever builds a URL must encode them.
pub const fn path_segment_name(s: &str) -> Result<(), &'static str> {
    let s = s.as_bytes();
    if s.is_empty() {
        return Err("must be non-empty");
    }
    if s.len() > 253 {
        return Err(MAX_253_MESSAGE);
    }
    if bytes::eq(s, b".") {
        return Err("may not be '.'");
    }
    if bytes::eq(s, b"..") {
        return Err("may not be '..'");
    }
    if bytes::find(s, 0, s.len(), b'/').is_some() {
        return Err("may not contain '/'");
    }
    if bytes::find(s, 0, s.len(), b'%').is_some() {
        return Err("may not contain '%'");
    }
    Ok(())
}
