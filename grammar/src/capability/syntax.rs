//! The `const fn` validator of capability strings: where each part is, or why the string is refused.

use crate::bytes;
use crate::names::{
    api::api_version_bytes, api::kind_bytes, dns::dns1123_label_bytes, dns::dns1123_subdomain_bytes,
};

/// Operations of the `cluster` interface that a capability can name.
pub const CLUSTER_OPERATIONS: &[&str] = &[
    "get", "list", "apply", "patch", "delete", "scale", "cordon", "uncordon", "evict", "wait",
];
/// Operations of the `revisions` interface that a capability can name.
pub const REVISION_OPERATIONS: &[&str] = &["record", "list-revisions", "get-revision"];
/// Operations of the `probe` interface that a capability can name.
pub const PROBE_OPERATIONS: &[&str] = &["http", "prometheus"];
/// The placeholder for the run's namespace.
pub const RUN_NAMESPACE: &str = "{namespace}";

/// A byte range of the validated string; always on ASCII separators, so a `str` range too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// The first byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// The interface a capability names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interface {
    /// `cluster`.
    Cluster,
    /// `revisions`.
    Revisions,
    /// `probe`: its capabilities name one endpoint, `probe/http:<host>:<port>`.
    Probe,
    /// `*`: every interface.
    Any,
}

impl Interface {
    /// The interface's name in the grammar.
    pub const fn name(self) -> &'static str {
        match self {
            Interface::Cluster => "cluster",
            Interface::Revisions => "revisions",
            Interface::Probe => "probe",
            Interface::Any => "*",
        }
    }

    /// The operations a capability can name under this interface (none but `*` for `*`).
    pub const fn operations(self) -> &'static [&'static str] {
        match self {
            Interface::Cluster => CLUSTER_OPERATIONS,
            Interface::Revisions => REVISION_OPERATIONS,
            Interface::Probe => PROBE_OPERATIONS,
            Interface::Any => &[],
        }
    }
}

/// Which kinds a capability reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetPart {
    /// No target, or `:*`.
    Any,
    /// `:<api-version>/*`: every kind of one group version.
    GroupVersion {
        /// The api-version.
        api_version: Span,
    },
    /// `:<api-version>/<Kind>`.
    Kind {
        /// The api-version.
        api_version: Span,
        /// The kind.
        kind: Span,
    },
    /// `:<host>:<port>`, a probe's endpoint.
    Endpoint {
        /// A DNS name (lowercase) or an IPv4 address.
        host: Span,
        /// A port number, 1 to 65535.
        port: Span,
    },
    /// `:{<parameter>}`, the endpoints a parameter of the run names (`host:port`, or a list of
    /// them): resolved by the host once the parameters are known.
    EndpointParam {
        /// The parameter's name, inside the braces.
        name: Span,
    },
}

/// Which namespaces a capability reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NamespacePart {
    /// No namespace, or `@*`.
    Any,
    /// `@{namespace}`: the run's namespace.
    Run,
    /// `@<namespace>`, a DNS-1123 label.
    Exact(Span),
}

/// A valid capability, as byte ranges of the string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parts {
    /// The interface.
    pub interface: Interface,
    /// The operation: `*` or one of the interface's operations.
    pub operation: Span,
    /// The kinds it reaches.
    pub target: TargetPart,
    /// The namespaces it reaches.
    pub namespace: NamespacePart,
}

/// Why a capability string is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalid {
    /// No `/` between interface and operation.
    NoOperation,
    /// An interface other than `cluster`, `revisions`, `probe` or `*`.
    UnknownInterface,
    /// An operation the interface does not have.
    UnknownOperation(Interface),
    /// `*/<operation>` with an operation other than `*`.
    AnyInterfaceOneOperation,
    /// The part after `:` is not `*`, `<api-version>/<Kind>` or `<api-version>/*`; the reason.
    Target(&'static str),
    /// The part after `@` is not `*`, `{namespace}` or a DNS-1123 label; the reason.
    Namespace(&'static str),
    /// A `revisions` capability with a kind or a namespace.
    RevisionsScoped,
    /// A `probe` capability without `:<host>:<port>`, or with a bad one; the reason.
    Endpoint(&'static str),
    /// A `probe` capability with a namespace.
    ProbeScoped,
}

/// How a probe's endpoint must be written.
const ENDPOINT_SHAPE: &str = "a probe capability names one endpoint, probe/<operation>:<host>:<port>, or a parameter holding endpoints, probe/<operation>:{<parameter>}";

/// How a target must be written.
const TARGET_SHAPE: &str =
    "the kind must be written v1/Kind, group/version/Kind, group/version/* or *";

impl Invalid {
    /// The reason without the input (what the guest SDK's compile-time check prints).
    pub const fn message(self) -> &'static str {
        match self {
            Invalid::NoOperation => "expected <interface>/<operation>, e.g. cluster/get",
            Invalid::UnknownInterface => {
                "the interface must be `cluster`, `revisions`, `probe` or `*`"
            }
            Invalid::UnknownOperation(Interface::Cluster) => {
                "unknown operation; cluster has: get, list, apply, patch, delete, scale, cordon, uncordon, evict, wait"
            }
            Invalid::UnknownOperation(Interface::Revisions) => {
                "unknown operation; revisions has: record, list-revisions, get-revision"
            }
            Invalid::UnknownOperation(Interface::Probe) => {
                "unknown operation; probe has: http, prometheus"
            }
            Invalid::UnknownOperation(Interface::Any) | Invalid::AnyInterfaceOneOperation => {
                "with interface `*` the operation must be `*` too"
            }
            Invalid::Target(_) => TARGET_SHAPE,
            Invalid::Namespace(_) => "the namespace must be a DNS label, `*` or `{namespace}`",
            Invalid::RevisionsScoped => "revisions capabilities take no kind or namespace",
            Invalid::Endpoint(_) => ENDPOINT_SHAPE,
            Invalid::ProbeScoped => "probe capabilities take no namespace",
        }
    }

    /// The name rule's message behind a bad target or namespace.
    pub const fn detail(self) -> Option<&'static str> {
        match self {
            Invalid::Target(reason) | Invalid::Namespace(reason) | Invalid::Endpoint(reason) => {
                Some(reason)
            }
            _ => None,
        }
    }
}

/// Validates a capability, `<interface>/<operation>[:<api-version>/<Kind>][@<namespace>]`
/// (docs/capabilities.md), in `const` context. The runtime parser
/// [`Capability::parse`](super::Capability::parse) is built on it, so both accept exactly the
/// same strings.
///
/// ```
/// use cutover_grammar::capability::{validate, Invalid};
///
/// const OK: bool = validate("cluster/patch:apps/v1/Deployment@{namespace}").is_ok();
/// assert!(OK);
/// assert_eq!(validate("cluster"), Err(Invalid::NoOperation));
/// ```
pub const fn validate(text: &str) -> Result<Parts, Invalid> {
    let s = text.as_bytes();
    let at = match bytes::find(s, 0, s.len(), b'@') {
        Some(i) => i,
        None => s.len(),
    };
    let colon = match bytes::find(s, 0, at, b':') {
        Some(i) => i,
        None => at,
    };
    let slash = match bytes::find(s, 0, colon, b'/') {
        Some(i) => i,
        None => return Err(Invalid::NoOperation),
    };
    let interface = bytes::slice(s, 0, slash);
    let interface = if bytes::eq(interface, b"cluster") {
        Interface::Cluster
    } else if bytes::eq(interface, b"revisions") {
        Interface::Revisions
    } else if bytes::eq(interface, b"probe") {
        Interface::Probe
    } else if bytes::eq(interface, b"*") {
        Interface::Any
    } else {
        return Err(Invalid::UnknownInterface);
    };
    let operation = Span {
        start: slash + 1,
        end: colon,
    };
    let op = bytes::slice(s, operation.start, operation.end);
    if !bytes::eq(op, b"*") {
        if matches!(interface, Interface::Any) {
            return Err(Invalid::AnyInterfaceOneOperation);
        }
        if !bytes::one_of(op, interface.operations()) {
            return Err(Invalid::UnknownOperation(interface));
        }
    }
    if matches!(interface, Interface::Probe) {
        if at < s.len() {
            return Err(Invalid::ProbeScoped);
        }
        if colon == at {
            return Err(Invalid::Endpoint(ENDPOINT_SHAPE));
        }
        return match endpoint(s, colon + 1, at) {
            Ok(target) => Ok(Parts {
                interface,
                operation,
                target,
                namespace: NamespacePart::Any,
            }),
            Err(reason) => Err(Invalid::Endpoint(reason)),
        };
    }
    let target = if colon < at {
        match target(s, colon + 1, at) {
            Ok(target) => target,
            Err(reason) => return Err(Invalid::Target(reason)),
        }
    } else {
        TargetPart::Any
    };
    let namespace = if at < s.len() {
        match namespace(s, at + 1, s.len()) {
            Ok(namespace) => namespace,
            Err(reason) => return Err(Invalid::Namespace(reason)),
        }
    } else {
        NamespacePart::Any
    };
    if matches!(interface, Interface::Revisions) && (colon < at || at < s.len()) {
        return Err(Invalid::RevisionsScoped);
    }
    Ok(Parts {
        interface,
        operation,
        target,
        namespace,
    })
}

/// `*`, `<api-version>/*` or `<api-version>/<Kind>` in `s[start..end]`.
const fn target(s: &[u8], start: usize, end: usize) -> Result<TargetPart, &'static str> {
    let part = bytes::slice(s, start, end);
    if bytes::eq(part, b"*") {
        return Ok(TargetPart::Any);
    }
    // The kind follows the last `/`.
    let mut last = end;
    while last > start && s[last - 1] != b'/' {
        last -= 1;
    }
    if last == start {
        return Err(TARGET_SHAPE);
    }
    let api_version = Span {
        start,
        end: last - 1,
    };
    if let Err(reason) = api_version_bytes(bytes::slice(s, api_version.start, api_version.end)) {
        return Err(reason);
    }
    let kind = Span { start: last, end };
    let kind_text = bytes::slice(s, kind.start, kind.end);
    if bytes::eq(kind_text, b"*") {
        return Ok(TargetPart::GroupVersion { api_version });
    }
    match kind_bytes(kind_text) {
        Ok(()) => Ok(TargetPart::Kind { api_version, kind }),
        Err(reason) => Err(reason),
    }
}

/// `*`, `{namespace}` or a DNS-1123 label in `s[start..end]`.
const fn namespace(s: &[u8], start: usize, end: usize) -> Result<NamespacePart, &'static str> {
    let part = bytes::slice(s, start, end);
    if bytes::eq(part, b"*") {
        return Ok(NamespacePart::Any);
    }
    if bytes::eq(part, RUN_NAMESPACE.as_bytes()) {
        return Ok(NamespacePart::Run);
    }
    match dns1123_label_bytes(part) {
        Ok(()) => Ok(NamespacePart::Exact(Span { start, end })),
        Err(reason) => Err(reason),
    }
}

/// `<host>:<port>` in `s[start..end]`: a lowercase DNS name or an IPv4 address (a name whose
/// last label is all digits must be an IPv4 address, as a URL parser reads it), and a port
/// 1 to 65535 without leading zeros. `*` is refused in both: a probe capability names exactly
/// one endpoint.
const fn endpoint(s: &[u8], start: usize, end: usize) -> Result<TargetPart, &'static str> {
    if end > start && s[start] == b'{' {
        return endpoint_param(s, start, end);
    }
    let mut colon = end;
    while colon > start && s[colon - 1] != b':' {
        colon -= 1;
    }
    if colon == start {
        return Err("expected <host>:<port>, e.g. probe/http:web.shop:8080");
    }
    let host = Span {
        start,
        end: colon - 1,
    };
    let port = Span { start: colon, end };
    let host_text = bytes::slice(s, host.start, host.end);
    if bytes::eq(host_text, b"*") {
        return Err("the host must be named: `*` is not a host");
    }
    if host_text.is_empty() {
        return Err("the host is empty");
    }
    if host_text[0] == b'[' {
        return Err("IPv6 addresses are not supported in probe capabilities");
    }
    if let Err(reason) = host_bytes(host_text) {
        return Err(reason);
    }
    let port_text = bytes::slice(s, port.start, port.end);
    if bytes::eq(port_text, b"*") {
        return Err("the port must be a number: `*` is not a port");
    }
    match port_number(port_text) {
        Some(_) => Ok(TargetPart::Endpoint { host, port }),
        None => Err("the port must be a number from 1 to 65535, without leading zeros"),
    }
}

/// `{<parameter>}` in `s[start..end]`, `s[start]` being `{`: a parameter name in braces.
const fn endpoint_param(s: &[u8], start: usize, end: usize) -> Result<TargetPart, &'static str> {
    if end - start < 3 || s[end - 1] != b'}' {
        return Err(
            "a parameter placeholder is a parameter's name in braces: probe/http:{endpoints}",
        );
    }
    let name = Span {
        start: start + 1,
        end: end - 1,
    };
    let mut i = name.start;
    while i < name.end {
        let c = s[i];
        if !(c.is_ascii_alphanumeric() || c == b'-' || c == b'_') {
            return Err(crate::policy::PARAMETER_NAME_MESSAGE);
        }
        i += 1;
    }
    Ok(TargetPart::EndpointParam { name })
}

/// A lowercase DNS-1123 subdomain, or a dotted-quad IPv4 address when its last label is all
/// digits.
const fn host_bytes(host: &[u8]) -> Result<(), &'static str> {
    if let Err(reason) = dns1123_subdomain_bytes(host) {
        return Err(reason);
    }
    let mut last = host.len();
    while last > 0 && host[last - 1] != b'.' {
        last -= 1;
    }
    let mut i = last;
    let mut numeric = true;
    while i < host.len() {
        if !host[i].is_ascii_digit() {
            numeric = false;
        }
        i += 1;
    }
    if numeric && !is_ipv4(host) {
        return Err("a host whose last label is a number must be an IPv4 address a.b.c.d");
    }
    Ok(())
}

/// Four decimal numbers 0 to 255 without leading zeros, separated by dots.
const fn is_ipv4(s: &[u8]) -> bool {
    let mut parts = 0;
    let mut start = 0;
    let mut i = 0;
    while i <= s.len() {
        if i == s.len() || s[i] == b'.' {
            match number(bytes::slice(s, start, i)) {
                Some(n) if n <= 255 => {}
                _ => return false,
            }
            parts += 1;
            start = i + 1;
        } else if !s[i].is_ascii_digit() {
            return false;
        }
        i += 1;
    }
    parts == 4
}

/// A port, 1 to 65535.
pub(crate) const fn port_number(s: &[u8]) -> Option<u16> {
    match number(s) {
        Some(n) if n >= 1 && n <= 65535 => Some(n as u16),
        _ => None,
    }
}

/// A decimal number of at most five digits without leading zeros (`0` itself is fine).
const fn number(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 5 || (s.len() > 1 && s[0] == b'0') {
        return None;
    }
    let mut n = 0u32;
    let mut i = 0;
    while i < s.len() {
        if !s[i].is_ascii_digit() {
            return None;
        }
        n = n * 10 + (s[i] - b'0') as u32;
        i += 1;
    }
    Some(n)
}
