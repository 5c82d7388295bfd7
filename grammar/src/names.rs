//! The Kubernetes name rules, with the API server's own error wording.
//!
//! Each rule is a `const fn` returning `Result<(), &'static str>` (the reason, worded as the
//! API server words it), so the guest SDK can check names at compile time; `check_*` and
//! [`NameRule::check`] wrap them into a [`NameError`] that carries the input (cut to 64
//! characters) for runtime errors.

pub(crate) mod api;
pub(crate) mod dns;
mod labels;
mod path;
mod release;

pub use api::{api_group, api_version, check_api_version, check_kind, kind, version};
pub use dns::{
    DNS1035_LABEL_MESSAGE, DNS1123_LABEL_MESSAGE, DNS1123_SUBDOMAIN_MESSAGE, dns1035_label,
    dns1123_label, dns1123_subdomain,
};
pub use labels::{check_label_key, check_label_value, label_key, label_value};
pub use path::path_segment_name;
pub use release::{RELEASE_NAME_MAX_LEN, check_release_name, release_name};

use std::fmt;

use crate::bytes;
use crate::quote::capped;

/// "must be no more than 63 characters"
pub const MAX_63_MESSAGE: &str = "must be no more than 63 characters";
/// "must be no more than 253 characters"
pub const MAX_253_MESSAGE: &str = "must be no more than 253 characters";

/// A value that breaks a name rule: what it was meant to be, the input (cut to 64
/// characters) and the rule's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameError {
    what: &'static str,
    input: String,
    reason: &'static str,
}

impl NameError {
    /// `what` names the value (`name`, `label key`, `release name`, ...); `reason` is the
    /// message a rule returned.
    pub fn new(what: &'static str, input: &str, reason: &'static str) -> NameError {
        NameError {
            what,
            input: capped(input),
            reason,
        }
    }

    /// The input, cut to 64 characters.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// The rule's message, e.g. [`DNS1123_LABEL_MESSAGE`].
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {} {:?}: {}", self.what, self.input, self.reason)
    }
}

impl std::error::Error for NameError {}

/// Runs one rule and wraps its reason into a [`NameError`].
pub(crate) fn checked(
    what: &'static str,
    input: &str,
    rule: Result<(), &'static str>,
) -> Result<(), NameError> {
    rule.map_err(|reason| NameError::new(what, input, reason))
}

/// The rule that names of one kind follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRule {
    /// A DNS-1123 label: at most 63 of `a-z 0-9 -`, alphanumeric at both ends (Namespace).
    Dns1123Label,
    /// A DNS-1123 subdomain: at most 253, labels joined by `.` (most kinds, Node).
    Dns1123Subdomain,
    /// A DNS-1035 label: a DNS-1123 label that starts with a letter (Service).
    Dns1035Label,
    /// A path segment name: not `.` or `..`, no `/` or `%` (the RBAC kinds).
    PathSegment,
}

impl NameRule {
    /// Checks `name` against the rule; the error is the rule's message.
    pub const fn validate(self, name: &str) -> Result<(), &'static str> {
        match self {
            NameRule::Dns1123Label => dns1123_label(name),
            NameRule::Dns1123Subdomain => dns1123_subdomain(name),
            NameRule::Dns1035Label => dns1035_label(name),
            NameRule::PathSegment => path_segment_name(name),
        }
    }

    /// Checks an object's name against the rule.
    ///
    /// ```
    /// use cutover_grammar::names::{name_rule, NameRule};
    ///
    /// assert_eq!(name_rule("", "Service"), NameRule::Dns1035Label);
    /// assert!(name_rule("apps", "Deployment").check("web-1.v2").is_ok());
    /// let e = name_rule("", "Namespace").check("Shop").unwrap_err();
    /// assert!(e.to_string().starts_with("invalid name \"Shop\": a lowercase RFC 1123 label"));
    /// ```
    pub fn check(self, name: &str) -> Result<(), NameError> {
        checked("name", name, self.validate(name))
    }
}

/// The rule that names of `kind` in API group `group` (`""` for the core group) follow, as the
/// API server validates them.
pub const fn name_rule(group: &str, kind: &str) -> NameRule {
    let (group, kind) = (group.as_bytes(), kind.as_bytes());
    if group.is_empty() {
        if bytes::eq(kind, b"Namespace") {
            return NameRule::Dns1123Label;
        }
        if bytes::eq(kind, b"Service") {
            return NameRule::Dns1035Label;
        }
    }
    if bytes::eq(group, b"rbac.authorization.k8s.io")
        && bytes::one_of(
            kind,
            &["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"],
        )
    {
        return NameRule::PathSegment;
    }
    NameRule::Dns1123Subdomain
}

#[cfg(test)]
mod tests;
