//! Capabilities: `<interface>/<operation>[:<api-version>/<Kind>][@<namespace>]`, and
//! `probe/<operation>:<host>:<port>` for a probe's endpoint (docs/capabilities.md).
//!
//! [`validate`] is the `const fn` the guest SDK runs at compile time; [`Capability::parse`]
//! builds on it, so the SDK and the host accept exactly the same strings. A [`Capability`]
//! answers whether it [covers](Capability::covers) another (a grant and a declaration) and
//! whether it [allows](Capability::allows) one [`Call`] (or one [`ProbeCall`]).

mod syntax;

pub use syntax::{
    CLUSTER_OPERATIONS, Interface, Invalid, NamespacePart, PROBE_OPERATIONS, Parts,
    REVISION_OPERATIONS, RUN_NAMESPACE, Span, TargetPart, validate,
};

use std::fmt;

use crate::quote::capped;

/// A capability string that does not follow the grammar: the string (cut to 64 characters)
/// and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    text: String,
    reason: String,
    invalid: Invalid,
}

impl ParseError {
    fn new(text: &str, invalid: Invalid) -> ParseError {
        let mut reason = match invalid {
            Invalid::UnknownOperation(interface) => {
                let operation = text
                    .split_once('/')
                    .map(|(_, rest)| rest.split([':', '@']).next().unwrap_or(rest))
                    .unwrap_or_default();
                format!(
                    "unknown operation `{}`; {} has: {}",
                    capped(operation).escape_debug(),
                    interface.name(),
                    interface.operations().join(", ")
                )
            }
            _ => invalid.message().to_string(),
        };
        if let Some(detail) = invalid.detail()
            && detail != invalid.message()
        {
            reason = format!("{reason}: {detail}");
        }
        ParseError {
            text: capped(text),
            reason,
            invalid,
        }
    }

    /// Why, as the validator said it.
    pub fn invalid(&self) -> Invalid {
        self.invalid
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid capability `{}`: {}",
            self.text.escape_debug(),
            self.reason
        )
    }
}

impl std::error::Error for ParseError {}

/// `*` or one exact name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Name {
    Any,
    Exact(String),
}

impl Name {
    fn new(text: &str) -> Name {
        if text == "*" {
            Name::Any
        } else {
            Name::Exact(text.to_string())
        }
    }

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

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Any => f.write_str("*"),
            Name::Exact(name) => f.write_str(name),
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
    /// A probe's endpoint: `web.shop:8080`.
    Endpoint {
        host: String,
        port: u16,
    },
    /// `{endpoints}`: the endpoints a parameter names, until the host resolves it.
    EndpointParam(String),
}

impl Resource {
    fn covers(&self, other: &Resource) -> bool {
        match (self, other) {
            // No wildcard reaches the network: only the endpoint itself covers an endpoint.
            (_, Resource::Endpoint { .. } | Resource::EndpointParam(_)) => self == other,
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

/// Why a parameter's value is not an endpoint.
const ENDPOINT_VALUE: &str = "a parameter naming probe endpoints holds `<host>:<port>` values";

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
    /// `cluster` or `revisions`.
    pub interface: &'a str,
    /// The operation, e.g. `patch`.
    pub operation: &'a str,
    /// The target's apiVersion, for calls on an object.
    pub api_version: Option<&'a str>,
    /// The target's kind, for calls on an object.
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

/// One probe call, as the capability check sees it: the operation and the endpoint the URL
/// actually names (after parsing it: the host as the URL parser normalised it, the port
/// explicit or the scheme's).
#[derive(Debug, Clone, Copy)]
pub struct ProbeCall<'a> {
    /// `http` or `prometheus`.
    pub operation: &'a str,
    /// The host, lowercase.
    pub host: &'a str,
    /// The port.
    pub port: u16,
}

impl fmt::Display for ProbeCall<'_> {
    /// `probe/http:web.shop:8080`: the capability that would allow it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "probe/{}:{}:{}", self.operation, self.host, self.port)
    }
}

impl Capability {
    /// Parses one capability string.
    ///
    /// ```
    /// use cutover_grammar::capability::Capability;
    ///
    /// let cap = Capability::parse("cluster/list:v1/Pod@*").unwrap();
    /// assert_eq!(cap.to_string(), "cluster/list:v1/Pod");
    /// let e = Capability::parse("cluster/destroy").unwrap_err().to_string();
    /// assert!(e.contains("unknown operation `destroy`"), "{e}");
    /// ```
    pub fn parse(text: &str) -> Result<Capability, ParseError> {
        let parts = validate(text).map_err(|invalid| ParseError::new(text, invalid))?;
        // The spans sit on ASCII separators, so they are `str` ranges of `text`.
        let part = |span: Span| text.get(span.start..span.end).unwrap_or_default();
        let resource = match parts.target {
            TargetPart::Any => Resource::Any,
            TargetPart::GroupVersion { api_version } => {
                Resource::GroupVersion(part(api_version).to_string())
            }
            TargetPart::Kind { api_version, kind } => Resource::Exact {
                api_version: part(api_version).to_string(),
                kind: part(kind).to_string(),
            },
            TargetPart::Endpoint { host, port } => Resource::Endpoint {
                host: part(host).to_string(),
                port: syntax::port_number(part(port).as_bytes()).unwrap_or_default(),
            },
            TargetPart::EndpointParam { name } => Resource::EndpointParam(part(name).to_string()),
        };
        let namespace = match parts.namespace {
            NamespacePart::Any => Namespace::Any,
            NamespacePart::Run => Namespace::Run,
            NamespacePart::Exact(span) => Namespace::Exact(part(span).to_string()),
        };
        Ok(Capability {
            interface: Name::new(parts.interface.name()),
            operation: Name::new(part(parts.operation)),
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

    /// The parameter an unresolved probe capability takes its endpoints from:
    /// `probe/http:{endpoints}` gives `endpoints`.
    ///
    /// ```
    /// use cutover_grammar::capability::Capability;
    /// let cap = Capability::parse("probe/*:{endpoints}").unwrap();
    /// assert_eq!(cap.endpoint_param(), Some("endpoints"));
    /// let one = cap.with_endpoint("prometheus.monitoring:9090").unwrap();
    /// assert_eq!(one.to_string(), "probe/*:prometheus.monitoring:9090");
    /// assert!(cap.with_endpoint("http://web:80").is_err());
    /// assert!(cap.with_endpoint("{other}").is_err());
    /// ```
    pub fn endpoint_param(&self) -> Option<&str> {
        match &self.resource {
            Resource::EndpointParam(name) => Some(name),
            _ => None,
        }
    }

    /// This probe capability with its endpoint replaced by `endpoint` (`host:port`, as a
    /// capability names one); an error says why `endpoint` is not one.
    pub fn with_endpoint(&self, endpoint: &str) -> Result<Capability, ParseError> {
        let text = format!("probe/{}:{endpoint}", self.operation);
        let resolved = Capability::parse(&text)?;
        match resolved.resource {
            Resource::Endpoint { .. } if self.interface == resolved.interface => Ok(resolved),
            _ => Err(ParseError::new(&text, Invalid::Endpoint(ENDPOINT_VALUE))),
        }
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

    /// Whether this capability allows `operation` of `interface` on some target.
    pub fn allows_operation(&self, interface: &str, operation: &str) -> bool {
        self.interface.matches(interface) && self.operation.matches(operation)
    }

    /// Whether this capability allows one probe call: only a `probe` capability naming the
    /// call's endpoint does (`*/*` reaches no endpoint).
    ///
    /// ```
    /// use cutover_grammar::capability::{Capability, ProbeCall};
    /// let cap = Capability::parse("probe/*:prometheus.monitoring:9090").unwrap();
    /// let call = ProbeCall { operation: "prometheus", host: "prometheus.monitoring", port: 9090 };
    /// assert!(cap.allows_probe(&call));
    /// assert!(!cap.allows_probe(&ProbeCall { port: 9091, ..call }));
    /// assert!(!Capability::parse("*/*").unwrap().allows_probe(&call));
    /// ```
    pub fn allows_probe(&self, call: &ProbeCall<'_>) -> bool {
        match &self.resource {
            Resource::Endpoint { host, port } => {
                self.interface == Name::Exact(Interface::Probe.name().to_string())
                    && self.operation.matches(call.operation)
                    && host == call.host
                    && *port == call.port
            }
            _ => false,
        }
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

/// The canonical spelling: `@*` and `:*` (the defaults) are left out.
impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.interface, self.operation)?;
        match &self.resource {
            Resource::Any => {}
            Resource::GroupVersion(gv) => write!(f, ":{gv}/*")?,
            Resource::Exact { api_version, kind } => write!(f, ":{api_version}/{kind}")?,
            Resource::Endpoint { host, port } => write!(f, ":{host}:{port}")?,
            Resource::EndpointParam(name) => write!(f, ":{{{name}}}")?,
        }
        match &self.namespace {
            Namespace::Any => Ok(()),
            Namespace::Run => write!(f, "@{RUN_NAMESPACE}"),
            Namespace::Exact(ns) => write!(f, "@{ns}"),
        }
    }
}

#[cfg(test)]
mod tests;
