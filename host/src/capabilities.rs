//! Capabilities: the grammar `<interface>/<operation>[:<api-version>/<Kind>][@<namespace>]`,
//! whether a grant covers a declaration, and whether a call is allowed (docs/capabilities.md).

use std::fmt;

/// Operations of the `cluster` interface that a capability can name.
pub const CLUSTER_OPERATIONS: &[&str] = &[
    "get", "list", "apply", "patch", "delete", "scale", "cordon", "uncordon", "evict", "wait",
];
/// Operations of the `revisions` interface that a capability can name.
pub const REVISION_OPERATIONS: &[&str] = &[
    "store-revision",
    "set-status",
    "list-revisions",
    "get-revision",
];

/// The placeholder for the run's namespace.
const RUN_NAMESPACE: &str = "{namespace}";

/// A capability string that does not follow the grammar.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid capability `{text}`: {reason}")]
pub struct ParseError {
    text: String,
    reason: String,
}

/// `*` or one exact name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Name {
    Any,
    Exact(String),
}

impl Name {
    fn covers(&self, other: &Name) -> bool {
        match (self, other) {
            (Name::Any, _) => true,
            (Name::Exact(a), Name::Exact(b)) => a == b,
            (Name::Exact(_), Name::Any) => false,
        }
    }

    fn matches(&self, value: &str) -> bool {
        match self {
            Name::Any => true,
            Name::Exact(name) => name == value,
        }
    }
}

/// Which kinds a capability reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Resource {
    Any,
    /// Every kind of one group version: `apps/v1/*`.
    GroupVersion(String),
    Exact {
        api_version: String,
        kind: String,
    },
}

impl Resource {
    fn covers(&self, other: &Resource) -> bool {
        match (self, other) {
            (Resource::Any, _) => true,
            (Resource::GroupVersion(gv), Resource::GroupVersion(other_gv)) => gv == other_gv,
            (Resource::GroupVersion(gv), Resource::Exact { api_version, .. }) => gv == api_version,
            (Resource::Exact { .. }, Resource::Exact { .. }) => self == other,
            _ => false,
        }
    }

    fn matches(&self, api_version: Option<&str>, kind: Option<&str>) -> bool {
        match (self, api_version, kind) {
            (Resource::Any, _, _) => true,
            (Resource::GroupVersion(gv), Some(v), Some(_)) => gv == v,
            (Resource::Exact { api_version, kind }, Some(v), Some(k)) => {
                api_version == v && kind == k
            }
            _ => false,
        }
    }
}

/// Which namespaces a capability reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Namespace {
    Any,
    /// `{namespace}`: the run's namespace, until [`Capability::resolve`] fills it in.
    Run,
    Exact(String),
}

/// One capability, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capability {
    interface: Name,
    operation: Name,
    resource: Resource,
    namespace: Namespace,
}

/// One host call, as the capability check sees it.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub interface: &'a str,
    pub operation: &'a str,
    pub api_version: Option<&'a str>,
    pub kind: Option<&'a str>,
    /// None for cluster-scoped objects and for calls that name no object.
    pub namespace: Option<&'a str>,
}

impl fmt::Display for Call<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.interface, self.operation)?;
        if let (Some(v), Some(k)) = (self.api_version, self.kind) {
            write!(f, ":{v}/{k}")?;
        }
        if let Some(ns) = self.namespace {
            write!(f, "@{ns}")?;
        }
        Ok(())
    }
}

impl Capability {
    /// Parses one capability string.
    pub fn parse(text: &str) -> Result<Capability, ParseError> {
        let fail = |reason: &str| ParseError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let (rest, namespace) = match text.rsplit_once('@') {
            Some((rest, ns)) => (rest, parse_namespace(ns).map_err(|r| fail(&r))?),
            None => (text, Namespace::Any),
        };
        let (head, resource) = match rest.split_once(':') {
            Some((head, res)) => (head, parse_resource(res).map_err(|r| fail(&r))?),
            None => (rest, Resource::Any),
        };
        let (interface, operation) = head
            .split_once('/')
            .ok_or_else(|| fail("expected <interface>/<operation>, e.g. cluster/get"))?;
        let operations: &[&str] = match interface {
            "cluster" => CLUSTER_OPERATIONS,
            "revisions" | "*" => REVISION_OPERATIONS,
            _ => return Err(fail("the interface must be `cluster`, `revisions` or `*`")),
        };
        if interface == "revisions" && (resource != Resource::Any || namespace != Namespace::Any) {
            return Err(fail("revisions capabilities take no kind or namespace"));
        }
        if operation != "*" && interface != "*" && !operations.contains(&operation) {
            return Err(fail(&format!(
                "unknown operation `{operation}`; {interface} has: {}",
                operations.join(", ")
            )));
        }
        if interface == "*" && operation != "*" {
            return Err(fail("with interface `*` the operation must be `*` too"));
        }
        Ok(Capability {
            interface: name(interface),
            operation: name(operation),
            resource,
            namespace,
        })
    }

    /// Replaces `{namespace}` with the run's namespace.
    pub fn resolve(&self, run_namespace: &str) -> Capability {
        let mut resolved = self.clone();
        if resolved.namespace == Namespace::Run {
            resolved.namespace = Namespace::Exact(run_namespace.to_string());
        }
        resolved
    }

    /// Whether everything `other` allows is also allowed by `self` (both resolved).
    pub fn covers(&self, other: &Capability) -> bool {
        let namespace_covered = match (&self.namespace, &other.namespace) {
            (Namespace::Any, _) => true,
            (Namespace::Exact(a), Namespace::Exact(b)) => a == b,
            _ => false,
        };
        self.interface.covers(&other.interface)
            && self.operation.covers(&other.operation)
            && self.resource.covers(&other.resource)
            && namespace_covered
    }

    /// Whether this (resolved) capability allows one call.
    pub fn allows(&self, call: &Call<'_>) -> bool {
        let namespace_ok = match (&self.namespace, call.namespace) {
            (Namespace::Any, _) => true,
            (Namespace::Exact(ns), Some(call_ns)) => ns == call_ns,
            _ => false,
        };
        self.interface.matches(call.interface)
            && self.operation.matches(call.operation)
            && self.resource.matches(call.api_version, call.kind)
            && namespace_ok
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |n: &Name| match n {
            Name::Any => "*".to_string(),
            Name::Exact(s) => s.clone(),
        };
        write!(f, "{}/{}", show(&self.interface), show(&self.operation))?;
        match &self.resource {
            Resource::Any => {}
            Resource::GroupVersion(gv) => write!(f, ":{gv}/*")?,
            Resource::Exact { api_version, kind } => write!(f, ":{api_version}/{kind}")?,
        }
        match &self.namespace {
            Namespace::Any => Ok(()),
            Namespace::Run => write!(f, "@{RUN_NAMESPACE}"),
            Namespace::Exact(ns) => write!(f, "@{ns}"),
        }
    }
}

fn name(text: &str) -> Name {
    if text == "*" {
        Name::Any
    } else {
        Name::Exact(text.to_string())
    }
}

fn parse_namespace(text: &str) -> Result<Namespace, String> {
    match text {
        "*" => Ok(Namespace::Any),
        RUN_NAMESPACE => Ok(Namespace::Run),
        ns if is_dns_label(ns) => Ok(Namespace::Exact(ns.to_string())),
        _ => Err("the namespace must be a DNS label, `*` or `{namespace}`".into()),
    }
}

fn parse_resource(text: &str) -> Result<Resource, String> {
    let parts: Vec<&str> = text.split('/').collect();
    let (api_version, kind) = match parts.as_slice() {
        ["*"] => return Ok(Resource::Any),
        [version, kind] => (version.to_string(), *kind),
        [group, version, kind] => (format!("{group}/{version}"), *kind),
        _ => return Err("the kind must be written v1/Kind, group/version/Kind or *".into()),
    };
    if api_version.split('/').any(|p| p.is_empty() || p == "*") || kind.is_empty() {
        return Err("the kind must be written v1/Kind, group/version/Kind or *".into());
    }
    if kind == "*" {
        Ok(Resource::GroupVersion(api_version))
    } else {
        Ok(Resource::Exact {
            api_version,
            kind: kind.to_string(),
        })
    }
}

fn is_dns_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

/// Why a call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    #[error("{0} is not among the capabilities the policy declares")]
    NotDeclared(String),
    #[error("{0} is not granted to this run (grant it with --allow)")]
    NotGranted(String),
}

/// The capabilities in force for one run: what the policy declared and what the operator granted,
/// both resolved against the run's namespace.
#[derive(Debug, Clone)]
pub struct Grants {
    declared: Vec<Capability>,
    granted: Vec<Capability>,
}

impl Grants {
    /// Resolves both lists against the run's namespace.
    pub fn new(declared: &[Capability], granted: &[Capability], run_namespace: &str) -> Grants {
        Grants {
            declared: declared.iter().map(|c| c.resolve(run_namespace)).collect(),
            granted: granted.iter().map(|c| c.resolve(run_namespace)).collect(),
        }
    }

    /// The first declared capability that no grant covers, if any: the run is refused then.
    pub fn first_uncovered(&self) -> Option<&Capability> {
        self.declared
            .iter()
            .find(|d| !self.granted.iter().any(|g| g.covers(d)))
    }

    /// Whether one call is allowed: it must be both declared and granted.
    pub fn check(&self, call: &Call<'_>) -> Result<(), Denial> {
        if !self.declared.iter().any(|c| c.allows(call)) {
            return Err(Denial::NotDeclared(call.to_string()));
        }
        if !self.granted.iter().any(|c| c.allows(call)) {
            return Err(Denial::NotGranted(call.to_string()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(text: &str) -> Capability {
        Capability::parse(text).unwrap()
    }

    fn call<'a>(op: &'a str, v: &'a str, k: &'a str, ns: Option<&'a str>) -> Call<'a> {
        Call {
            interface: "cluster",
            operation: op,
            api_version: Some(v),
            kind: Some(k),
            namespace: ns,
        }
    }

    #[test]
    fn parses_and_prints_every_form() {
        for text in [
            "cluster/cordon",
            "cluster/evict:v1/Pod",
            "cluster/patch:apps/v1/Deployment@{namespace}",
            "cluster/*:apps/v1/*@shop",
            "cluster/list:v1/Pod@*",
            "revisions/*",
            "*/*",
        ] {
            let shown = cap(text).to_string();
            let expected = text.trim_end_matches("@*");
            assert_eq!(shown, expected, "round trip of {text}");
        }
    }

    #[test]
    fn rejects_malformed_capabilities_with_a_reason() {
        let cases = [
            ("cluster", "expected <interface>/<operation>"),
            ("network/get", "interface must be"),
            ("cluster/destroy", "unknown operation `destroy`"),
            ("cluster/get:Pod", "the kind must be written"),
            ("cluster/get:v1/Pod@Not_A_Namespace", "DNS label"),
            ("revisions/get-revision:v1/Pod", "take no kind"),
            ("*/get", "must be `*` too"),
        ];
        for (text, reason) in cases {
            let err = Capability::parse(text).unwrap_err().to_string();
            assert!(err.contains(reason), "{text}: {err}");
        }
    }

    #[test]
    fn coverage_follows_the_pattern_order() {
        assert!(cap("cluster/*").covers(&cap("cluster/evict:v1/Pod")));
        assert!(
            cap("cluster/patch:apps/v1/*").covers(&cap("cluster/patch:apps/v1/Deployment@shop"))
        );
        assert!(
            !cap("cluster/patch:apps/v1/Deployment@shop")
                .covers(&cap("cluster/patch:apps/v1/Deployment"))
        );
        assert!(!cap("cluster/get").covers(&cap("cluster/delete")));
        assert!(cap("*/*").covers(&cap("revisions/store-revision")));
        assert!(!cap("cluster/*").covers(&cap("revisions/store-revision")));
    }

    #[test]
    fn run_namespace_placeholder_is_resolved() {
        let declared = [cap("cluster/patch:apps/v1/Deployment@{namespace}")];
        let granted = [cap("cluster/patch:apps/v1/Deployment@shop")];
        let grants = Grants::new(&declared, &granted, "shop");
        assert_eq!(grants.first_uncovered(), None);
        assert!(
            grants
                .check(&call("patch", "apps/v1", "Deployment", Some("shop")))
                .is_ok()
        );
        let elsewhere = grants.check(&call("patch", "apps/v1", "Deployment", Some("kube-system")));
        assert!(matches!(elsewhere, Err(Denial::NotDeclared(_))));
        let other_ns = Grants::new(&declared, &granted, "prod");
        assert!(other_ns.first_uncovered().is_some());
    }

    #[test]
    fn a_call_must_be_declared_and_granted() {
        let grants = Grants::new(
            &[cap("cluster/get:v1/Node")],
            &[cap("cluster/*")],
            "default",
        );
        assert!(grants.check(&call("get", "v1", "Node", None)).is_ok());
        let delete = grants.check(&call("delete", "v1", "Namespace", None));
        assert_eq!(
            delete,
            Err(Denial::NotDeclared("cluster/delete:v1/Namespace".into()))
        );
        let narrow = Grants::new(&[cap("cluster/*")], &[cap("cluster/get")], "default");
        assert!(matches!(
            narrow.check(&call("list", "v1", "Pod", Some("a"))),
            Err(Denial::NotGranted(_))
        ));
        assert_eq!(narrow.first_uncovered(), Some(&cap("cluster/*")));
    }

    #[test]
    fn namespaced_capability_does_not_reach_cluster_scoped_objects() {
        let grants = Grants::new(&[cap("cluster/get@shop")], &[cap("*/*")], "shop");
        assert!(grants.check(&call("get", "v1", "Node", None)).is_err());
    }
}
