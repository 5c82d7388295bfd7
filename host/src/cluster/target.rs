//! What a call names, checked and then located: the reference validated by Kubernetes' name rules
//! before anything else, resolved once through discovery, and turned into request paths whose
//! every segment is percent-encoded.
//!
//! Names come from policies, which are not trusted. A namespace `victim?` formatted into
//! `/api/v1/namespaces/victim?/configmaps/x` would reach the Namespace `victim` instead of a
//! ConfigMap; so a reference is refused unless every part follows the API server's rules for
//! it, and paths are built from encoded segments all the same.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use cutover_grammar::names;

use super::resolve::{Resolved, split_api_version};
use super::{ListQuery, ObjectRef};
use crate::text;

/// Everything but RFC 3986's unreserved characters is encoded in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One path segment, percent-encoded.
pub(crate) fn segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// An `apiVersion` as the API server takes it: `v1`, or `group/version` with a DNS-subdomain
/// group and a DNS-label version (the shared grammar's rule).
pub fn check_api_version(api_version: &str) -> Result<(), String> {
    names::check_api_version(api_version).map_err(|e| e.to_string())
}

/// A kind: ASCII letters and digits, starting with a letter, at most 63 characters.
pub fn check_kind(kind: &str) -> Result<(), String> {
    names::check_kind(kind).map_err(|e| e.to_string())
}

/// A namespace: a DNS-1123 label, as the API server requires of Namespace names.
pub fn check_namespace(namespace: &str) -> Result<(), String> {
    names::NameRule::Dns1123Label
        .validate(namespace)
        .map_err(|reason| names::NameError::new("namespace", namespace, reason).to_string())
}

/// The name of an object of `kind` in `api_version`, by the rule the API server applies to it.
/// Names that are only path segments (the RBAC kinds) may still not hold characters that could
/// steer a terminal: every name ends up in a report.
pub fn check_name(api_version: &str, kind: &str, name: &str) -> Result<(), String> {
    let group = split_api_version(api_version).map_or("", |(g, _)| g);
    let rule = names::name_rule(group, kind);
    rule.check(name)
        .map_err(|e| format!("{e} (for a {kind})"))?;
    if name.chars().any(text::is_unsafe) {
        return Err(format!(
            "invalid name {}: may not hold control or format characters",
            quoted(name)
        ));
    }
    Ok(())
}

/// A node's name: a DNS-1123 subdomain.
pub fn check_node(node: &str) -> Result<(), String> {
    check_name("v1", "Node", node)
}

/// Every part of a reference, before it reaches a capability check or a URL.
pub fn check_ref(target: &ObjectRef) -> Result<(), String> {
    check_api_version(&target.api_version)?;
    check_kind(&target.kind)?;
    if let Some(ns) = &target.namespace {
        check_namespace(ns)?;
    }
    check_name(&target.api_version, &target.kind, &target.name)
}

/// Every part of a list query but its selectors (the API server parses those, and they travel
/// in the encoded query string).
pub fn check_list(query: &ListQuery) -> Result<(), String> {
    check_api_version(&query.api_version)?;
    check_kind(&query.kind)?;
    match query.namespace.as_deref() {
        None | Some("*") => Ok(()),
        Some(ns) => check_namespace(ns),
    }
}

/// Whether objects of a built-in kind live in a namespace, known without asking the server;
/// `None` for kinds these tables do not name (custom resources, and built-in kinds newer than
/// them), which discovery decides. The capability check before discovery uses it, so that a
/// call on a cluster-scoped built-in kind is checked (and a denial named) without a namespace.
/// Both scopes are listed kind by kind: a guess from the group alone would check a new
/// cluster-scoped kind of a familiar group as namespaced.
pub fn known_scope(api_version: &str, kind: &str) -> Option<bool> {
    let (group, _) = split_api_version(api_version)?;
    if CLUSTER_SCOPED.contains(&(group, kind)) {
        return Some(false);
    }
    NAMESPACED.contains(&(group, kind)).then_some(true)
}

/// Built-in kinds whose objects live in a namespace, by group (`""`: the core group).
const NAMESPACED: &[(&str, &str)] = &[
    ("", "Binding"),
    ("", "ConfigMap"),
    ("", "Endpoints"),
    ("", "Event"),
    ("", "LimitRange"),
    ("", "PersistentVolumeClaim"),
    ("", "Pod"),
    ("", "PodTemplate"),
    ("", "ReplicationController"),
    ("", "ResourceQuota"),
    ("", "Secret"),
    ("", "Service"),
    ("", "ServiceAccount"),
    ("apps", "ControllerRevision"),
    ("apps", "DaemonSet"),
    ("apps", "Deployment"),
    ("apps", "ReplicaSet"),
    ("apps", "StatefulSet"),
    ("authorization.k8s.io", "LocalSubjectAccessReview"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("batch", "CronJob"),
    ("batch", "Job"),
    ("coordination.k8s.io", "Lease"),
    ("coordination.k8s.io", "LeaseCandidate"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("events.k8s.io", "Event"),
    ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("policy", "Eviction"),
    ("policy", "PodDisruptionBudget"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("resource.k8s.io", "ResourceClaim"),
    ("resource.k8s.io", "ResourceClaimTemplate"),
    ("storage.k8s.io", "CSIStorageCapacity"),
];

/// Built-in kinds whose objects are cluster-wide, by group.
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "ComponentStatus"),
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicyBinding",
    ),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("authentication.k8s.io", "SelfSubjectReview"),
    ("authentication.k8s.io", "TokenReview"),
    ("authorization.k8s.io", "SelfSubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectRulesReview"),
    ("authorization.k8s.io", "SubjectAccessReview"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("certificates.k8s.io", "ClusterTrustBundle"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("internal.apiserver.k8s.io", "StorageVersion"),
    ("networking.k8s.io", "IPAddress"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "ServiceCIDR"),
    ("node.k8s.io", "RuntimeClass"),
    ("policy", "PodSecurityPolicy"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("resource.k8s.io", "DeviceClass"),
    ("resource.k8s.io", "ResourceSlice"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("storage.k8s.io", "VolumeAttributesClass"),
    ("storagemigration.k8s.io", "StorageVersionMigration"),
];

fn quoted(s: &str) -> String {
    format!("\"{}\"", text::escape(s, 64))
}

/// One object, located: its kind resolved through discovery, its namespace decided (none for a
/// cluster-scoped kind, else the one asked for or the run's). What is authorized is this, and
/// this is what the request reaches.
#[derive(Debug, Clone)]
pub struct Located {
    pub(crate) resolved: Resolved,
    pub(crate) namespace: Option<String>,
    pub(crate) name: String,
    /// `deployment shop/web`, for messages.
    pub(crate) what: String,
}

impl Located {
    /// `v1`, `apps/v1`, ...
    pub fn api_version(&self) -> &str {
        &self.resolved.resource.api_version
    }

    /// `Deployment`, ...
    pub fn kind(&self) -> &str {
        &self.resolved.resource.kind
    }

    /// The namespace the request reaches; `None` for a cluster-scoped kind.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How reports name it: `apps/v1/Deployment shop/web`, `v1/Node node-1`.
    pub fn label(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{} {ns}/{}", self.api_version(), self.kind(), self.name),
            None => format!("{}/{} {}", self.api_version(), self.kind(), self.name),
        }
    }

    /// The request builder for this object's collection; its methods take
    /// [`encoded_name`](Located::encoded_name).
    pub(crate) fn request(&self) -> kube::core::Request {
        kube::core::Request::new(self.resolved.url_path(self.namespace.as_deref()))
    }

    /// The name as a path segment.
    pub(crate) fn encoded_name(&self) -> String {
        segment(&self.name)
    }
}

/// A collection, located: the kind resolved, the namespace decided (`None` with
/// `all_namespaces` for every namespace, `None` alone for a cluster-scoped kind).
#[derive(Debug, Clone)]
pub struct LocatedList {
    pub(crate) resolved: Resolved,
    pub(crate) namespace: Option<String>,
    /// `Pod in namespace shop`, for messages.
    pub(crate) what: String,
}

impl LocatedList {
    /// `v1`, `apps/v1`, ...
    pub fn api_version(&self) -> &str {
        &self.resolved.resource.api_version
    }

    /// `Pod`, ...
    pub fn kind(&self) -> &str {
        &self.resolved.resource.kind
    }

    /// The namespace listed; `None` for all namespaces or a cluster-scoped kind.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// How reports name it: `v1/Pod in shop`, `v1/Pod in all namespaces`, `v1/Node`.
    pub fn label(&self) -> String {
        let kind = format!("{}/{}", self.api_version(), self.kind());
        match (&self.namespace, self.resolved.namespaced) {
            (Some(ns), _) => format!("{kind} in {ns}"),
            (None, true) => format!("{kind} in all namespaces"),
            (None, false) => kind,
        }
    }

    pub(crate) fn request(&self) -> kube::core::Request {
        kube::core::Request::new(self.resolved.url_path(self.namespace.as_deref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(api_version: &str, kind: &str, ns: Option<&str>, name: &str) -> ObjectRef {
        ObjectRef {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: ns.map(str::to_string),
            name: name.into(),
        }
    }

    #[test]
    fn names_that_would_reach_another_url_are_refused() {
        for (ns, name) in [
            (Some("victim?"), "x"),
            (Some("victim#"), "x"),
            (Some("a/b"), "x"),
            (Some("Victim"), "x"),
            (Some(""), "x"),
            (None, "x?dryRun=All"),
            (None, ".."),
            (None, "a/b"),
            (None, "%2e%2e"),
            (None, "x#frag"),
            (None, "has space"),
            (None, ""),
            (None, "UPPER"),
            (None, "x\u{1b}[2J"),
        ] {
            let err = check_ref(&r("v1", "ConfigMap", ns, name));
            assert!(err.is_err(), "{ns:?}/{name:?} was accepted");
        }
        assert!(check_ref(&r("v1", "ConfigMap", Some("shop"), "web-1.config")).is_ok());
        let long = "a".repeat(254);
        assert!(check_ref(&r("v1", "ConfigMap", None, &long)).is_err());
        assert!(check_ref(&r("v1", "ConfigMap", None, &long[..253])).is_ok());
    }

    #[test]
    fn each_kind_by_its_own_rule() {
        assert!(check_name("v1", "Namespace", "a.b").is_err(), "a label");
        assert!(check_name("v1", "Service", "1web").is_err(), "DNS-1035");
        assert!(check_name("v1", "Service", "web").is_ok());
        assert!(check_name("rbac.authorization.k8s.io/v1", "ClusterRole", "system:node").is_ok());
        assert!(check_name("rbac.authorization.k8s.io/v1", "ClusterRole", "a/b").is_err());
        assert!(check_name("apps/v1", "Deployment", "system:node").is_err());
    }

    #[test]
    fn api_versions_and_kinds() {
        for good in ["v1", "apps/v1", "policy/v1beta1", "example.com/v1alpha1"] {
            assert!(check_api_version(good).is_ok(), "{good}");
        }
        for bad in [
            "", "/v1", "a/b/c", "../v1", "apps/V1", "apps?/v1", "a b/v1", "apps/",
        ] {
            assert!(check_api_version(bad).is_err(), "{bad}");
        }
        assert!(check_kind("Deployment").is_ok());
        for bad in ["", "Deploy ment", "Pod?", "../Pod", "1Pod", &"A".repeat(64)] {
            assert!(check_kind(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn messages_quote_hostile_input_short_and_escaped() {
        let huge = format!("\x1b[2J{}", "x".repeat(1 << 20));
        let e = check_ref(&r("v1", "ConfigMap", None, &huge)).unwrap_err();
        assert!(e.len() < 600, "{} bytes", e.len());
        assert!(!e.contains('\x1b'));
    }

    #[test]
    fn built_in_scopes() {
        assert_eq!(known_scope("v1", "Namespace"), Some(false));
        assert_eq!(known_scope("v1", "Pod"), Some(true));
        assert_eq!(known_scope("apps/v1", "Deployment"), Some(true));
        assert_eq!(
            known_scope("rbac.authorization.k8s.io/v1", "ClusterRole"),
            Some(false)
        );
        assert_eq!(known_scope("example.com/v1", "Widget"), None);
        // Newer cluster-scoped kinds of familiar groups are not taken for namespaced ones.
        assert_eq!(
            known_scope("networking.k8s.io/v1", "IPAddress"),
            Some(false)
        );
        assert_eq!(
            known_scope("networking.k8s.io/v1", "ServiceCIDR"),
            Some(false)
        );
        assert_eq!(
            known_scope("storage.k8s.io/v1", "VolumeAttributesClass"),
            Some(false)
        );
        // A kind neither table names is left to discovery, whatever its group.
        assert_eq!(known_scope("v1", "Gadget"), None);
        assert_eq!(known_scope("apps/v1", "Gadget"), None);
        for (group, kind) in NAMESPACED {
            assert!(
                !CLUSTER_SCOPED.contains(&(group, kind)),
                "{group}/{kind} in both"
            );
        }
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(segment("web-1.a_b~c"), "web-1.a_b~c");
        assert_eq!(segment("a?b#c/d%e f"), "a%3Fb%23c%2Fd%25e%20f");
        assert_eq!(segment("system:node"), "system%3Anode");
    }
}
