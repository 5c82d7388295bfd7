//! Tests of the capability grammar: the const validator and the runtime parser agree on every
//! case, and coverage and calls follow the pattern order.

use super::*;

fn cap(text: &str) -> Capability {
    Capability::parse(text).unwrap()
}

/// Every case runs through both [`validate`] and [`Capability::parse`]: `Ok(canonical)` is
/// accepted (and prints as `canonical`), `Err(reason)` is refused with that reason.
#[test]
fn validator_and_parser_accept_exactly_the_same_strings() {
    let huge = format!("cluster/get@{}", "a".repeat(1 << 20));
    let cases: &[(&str, Result<&str, &str>)] = &[
        ("cluster/cordon", Ok("cluster/cordon")),
        ("cluster/evict:v1/Pod", Ok("cluster/evict:v1/Pod")),
        (
            "cluster/patch:apps/v1/Deployment@{namespace}",
            Ok("cluster/patch:apps/v1/Deployment@{namespace}"),
        ),
        ("cluster/*:apps/v1/*@shop", Ok("cluster/*:apps/v1/*@shop")),
        ("cluster/list:v1/Pod@*", Ok("cluster/list:v1/Pod")),
        ("cluster/get:*", Ok("cluster/get")),
        ("cluster/get:*@kube-system", Ok("cluster/get@kube-system")),
        (
            "cluster/get:cert-manager.io/v1/Certificate",
            Ok("cluster/get:cert-manager.io/v1/Certificate"),
        ),
        ("cluster/get:v1/pod", Ok("cluster/get:v1/pod")),
        (
            "cluster/wait:policy/v1beta1/*",
            Ok("cluster/wait:policy/v1beta1/*"),
        ),
        ("revisions/*", Ok("revisions/*")),
        ("revisions/record", Ok("revisions/record")),
        (
            "revisions/store-revision",
            Err("unknown operation `store-revision`"),
        ),
        ("*/*", Ok("*/*")),
        ("*/*:apps/v1/*@shop", Ok("*/*:apps/v1/*@shop")),
        ("", Err("expected <interface>/<operation>")),
        ("cluster", Err("expected <interface>/<operation>")),
        (
            "cluster:v1/Pod/get",
            Err("expected <interface>/<operation>"),
        ),
        ("network/get", Err("the interface must be")),
        ("Cluster/get", Err("the interface must be")),
        ("/get", Err("the interface must be")),
        (
            "cluster/destroy",
            Err("unknown operation `destroy`; cluster has: get, list"),
        ),
        ("cluster/", Err("unknown operation ``")),
        ("cluster/Get", Err("unknown operation `Get`")),
        ("cluster/get/x", Err("unknown operation `get/x`")),
        ("cluster/record", Err("unknown operation `record`")),
        (
            "revisions/get",
            Err("unknown operation `get`; revisions has: record, list-revisions, get-revision"),
        ),
        ("*/get", Err("must be `*` too")),
        ("cluster/get:", Err("the kind must be written")),
        ("cluster/get:Pod", Err("the kind must be written")),
        ("cluster/get:/Pod", Err("the kind must be written")),
        (
            "cluster/get:v1/",
            Err("a kind must consist of ASCII letters"),
        ),
        (
            "cluster/get:v1/Pod-x",
            Err("a kind must consist of ASCII letters"),
        ),
        ("cluster/get:v1/*/Pod", Err("a lowercase RFC 1123 label")),
        // `apps/*` is the core group's version "apps", every kind: not what anyone means.
        (
            "cluster/get:apps/*",
            Err("an apiVersion without a group is a core-group version"),
        ),
        ("cluster/get:v1/*", Ok("cluster/get:v1/*")),
        (
            "cluster/get:*/v1/Pod",
            Err("a lowercase RFC 1123 subdomain"),
        ),
        (
            "cluster/get:apps/*/Deployment",
            Err("a lowercase RFC 1123 label"),
        ),
        ("cluster/get:a/b/c/Pod", Err("an apiVersion is a version")),
        (
            "cluster/get:Apps/v1/Deployment",
            Err("a lowercase RFC 1123 subdomain"),
        ),
        ("cluster/get:v1/Pod:x", Err("a kind must consist")),
        (
            "cluster/get:v1/Pod@",
            Err("the namespace must be a DNS label"),
        ),
        ("cluster/get@Shop", Err("the namespace must be a DNS label")),
        (
            "cluster/get@shop-",
            Err("a lowercase RFC 1123 label must consist"),
        ),
        ("cluster/get@a@b", Err("the namespace must be a DNS label")),
        ("cluster/get@..", Err("the namespace must be a DNS label")),
        ("cluster/get@%2f", Err("the namespace must be a DNS label")),
        (
            "cluster/get@{Namespace}",
            Err("the namespace must be a DNS label"),
        ),
        (
            "cluster/get@shop?x=1",
            Err("the namespace must be a DNS label"),
        ),
        (
            "cluster/get@shop#x",
            Err("the namespace must be a DNS label"),
        ),
        ("cluster/get@shöp", Err("the namespace must be a DNS label")),
        (
            "cluster/get@sh\nop",
            Err("the namespace must be a DNS label"),
        ),
        (&huge, Err("must be no more than 63 characters")),
        (
            "cluster/get@shop:v1/Pod",
            Err("the namespace must be a DNS label"),
        ),
        (
            "revisions/get-revision:v1/Pod",
            Err("take no kind or namespace"),
        ),
        ("revisions/*@shop", Err("take no kind or namespace")),
        ("revisions/*:*", Err("take no kind or namespace")),
        (
            "probe/http:web-canary.shop:8080",
            Ok("probe/http:web-canary.shop:8080"),
        ),
        (
            "probe/prometheus:127.0.0.1:9090",
            Ok("probe/prometheus:127.0.0.1:9090"),
        ),
        ("probe/*:localhost:80", Ok("probe/*:localhost:80")),
        ("probe/http:a:65535", Ok("probe/http:a:65535")),
        ("probe/http", Err("names one endpoint")),
        ("probe/*:{endpoints}", Ok("probe/*:{endpoints}")),
        ("probe/http:{probe_2}", Ok("probe/http:{probe_2}")),
        ("probe/http:{}", Err("a parameter's name in braces")),
        ("probe/http:{web", Err("a parameter's name in braces")),
        ("probe/http:{a.b}", Err("a parameter name must be")),
        ("probe/http:{a}:80", Err("a parameter's name in braces")),
        ("probe/http:{a}@shop", Err("take no namespace")),
        ("probe/http:", Err("expected <host>:<port>")),
        ("probe/http:web", Err("expected <host>:<port>")),
        ("probe/http:web:", Err("the port must be a number from 1")),
        ("probe/http::80", Err("the host is empty")),
        ("probe/http:*:80", Err("`*` is not a host")),
        ("probe/http:web:*", Err("`*` is not a port")),
        ("probe/http:web:0", Err("the port must be a number from 1")),
        (
            "probe/http:web:65536",
            Err("the port must be a number from 1"),
        ),
        ("probe/http:web:080", Err("without leading zeros")),
        ("probe/http:web:8o", Err("the port must be a number")),
        ("probe/http:Web:80", Err("a lowercase RFC 1123 subdomain")),
        ("probe/http:web_1:80", Err("a lowercase RFC 1123 subdomain")),
        ("probe/http:user@web:80", Err("take no namespace")),
        ("probe/http:web:80@shop", Err("take no namespace")),
        (
            "probe/http:[::1]:80",
            Err("IPv6 addresses are not supported"),
        ),
        ("probe/http:1.2.3:80", Err("must be an IPv4 address")),
        ("probe/http:1.2.3.256:80", Err("must be an IPv4 address")),
        ("probe/http:01.2.3.4:80", Err("must be an IPv4 address")),
        ("probe/http:web/x:80", Err("a lowercase RFC 1123 subdomain")),
        (
            "probe/get:web:80",
            Err("unknown operation `get`; probe has: http, prometheus"),
        ),
        (" cluster/get", Err("the interface must be")),
        ("cluster/get ", Err("unknown operation `get `")),
    ];
    for (text, expected) in cases {
        let validated = validate(text);
        let parsed = Capability::parse(text);
        assert_eq!(
            validated.is_ok(),
            parsed.is_ok(),
            "{text:?}: validator and parser agree"
        );
        match (expected, parsed) {
            (Ok(canonical), Ok(capability)) => {
                assert_eq!(capability.to_string(), *canonical, "{text:?}");
                assert_eq!(cap(canonical), capability, "the canonical form parses back");
            }
            (Err(reason), Err(error)) => {
                let message = error.to_string();
                assert!(message.contains(reason), "{text:?}: {message}");
                assert_eq!(validated.err(), Some(error.invalid()));
                assert!(message.chars().count() < 400, "bounded: {message}");
            }
            (expected, parsed) => panic!("{text:?}: expected {expected:?}, got {parsed:?}"),
        }
    }
}

#[test]
fn errors_quote_the_input_escaped_and_cut() {
    let error = Capability::parse("cluster/get@\u{1b}[2J")
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("invalid capability `cluster/get@\\u{1b}[2J`"),
        "{error}"
    );
    let long = format!("cluster/{}", "x".repeat(10_000));
    let error = Capability::parse(&long).unwrap_err().to_string();
    assert!(error.contains('…') && error.len() < 400, "{error}");
}

#[test]
fn the_validator_runs_in_const_context() {
    const DECLARED: Result<Parts, Invalid> = validate("cluster/evict:v1/Pod@*");
    const REFUSED: Result<Parts, Invalid> = validate("cluster/fly");
    assert!(DECLARED.is_ok());
    assert_eq!(REFUSED, Err(Invalid::UnknownOperation(Interface::Cluster)));
    assert!(
        Invalid::UnknownOperation(Interface::Cluster)
            .message()
            .contains("uncordon")
    );
}

#[test]
fn coverage_follows_the_pattern_order() {
    assert!(cap("cluster/*").covers(&cap("cluster/evict:v1/Pod")));
    assert!(cap("cluster/patch:apps/v1/*").covers(&cap("cluster/patch:apps/v1/Deployment@shop")));
    assert!(
        !cap("cluster/patch:apps/v1/Deployment@shop")
            .covers(&cap("cluster/patch:apps/v1/Deployment"))
    );
    assert!(!cap("cluster/get").covers(&cap("cluster/delete")));
    assert!(cap("*/*").covers(&cap("revisions/record")));
    assert!(!cap("cluster/*").covers(&cap("revisions/record")));
    assert!(!cap("cluster/get@{namespace}").covers(&cap("cluster/get@shop")));
    assert!(
        cap("cluster/get@{namespace}")
            .resolve("shop")
            .covers(&cap("cluster/get@shop"))
    );
}

#[test]
fn calls_are_allowed_by_matching_capabilities() {
    let call = |op, v, k, ns| Call {
        interface: "cluster",
        operation: op,
        api_version: Some(v),
        kind: Some(k),
        namespace: ns,
    };
    let patch = call("patch", "apps/v1", "Deployment", Some("shop"));
    assert!(cap("cluster/patch:apps/v1/Deployment@shop").allows(&patch));
    assert!(cap("cluster/*:apps/v1/*").allows(&patch));
    assert!(!cap("cluster/patch:apps/v1/Deployment@prod").allows(&patch));
    assert!(!cap("cluster/patch:v1/Pod").allows(&patch));
    let node = call("get", "v1", "Node", None);
    assert!(
        !cap("cluster/get@shop").allows(&node),
        "a namespace never reaches a node"
    );
    assert!(cap("cluster/get").allows(&node));
    assert_eq!(patch.to_string(), "cluster/patch:apps/v1/Deployment@shop");
    let revisions = Call {
        interface: "revisions",
        operation: "record",
        api_version: None,
        kind: None,
        namespace: None,
    };
    assert!(cap("revisions/*").allows(&revisions));
    assert!(!cap("cluster/*").allows(&revisions));
    assert!(
        !cap("*/*:v1/Pod").allows(&revisions),
        "a kind never reaches a revisions call"
    );
}

#[test]
fn only_the_endpoint_itself_reaches_an_endpoint() {
    let probe = |operation, host, port| ProbeCall {
        operation,
        host,
        port,
    };
    let granted = cap("probe/http:web.shop:8080");
    assert!(granted.allows_probe(&probe("http", "web.shop", 8080)));
    assert!(!granted.allows_probe(&probe("http", "web.shop", 8081)));
    assert!(!granted.allows_probe(&probe("http", "web.shop.evil", 8080)));
    assert!(!granted.allows_probe(&probe("prometheus", "web.shop", 8080)));
    assert!(cap("probe/*:web.shop:8080").allows_probe(&probe("prometheus", "web.shop", 8080)));
    for wildcard in ["*/*", "cluster/*", "probe/*:other:8080"] {
        assert!(
            !cap(wildcard).allows_probe(&probe("http", "web.shop", 8080)),
            "{wildcard}"
        );
        assert!(
            !cap(wildcard).covers(&granted),
            "{wildcard} covers no endpoint"
        );
    }
    assert!(cap("probe/*:web.shop:8080").covers(&granted));
    assert!(granted.covers(&granted));
    assert!(!granted.covers(&cap("probe/*:web.shop:8080")));
    assert!(!granted.allows(&Call {
        interface: "cluster",
        operation: "get",
        api_version: Some("v1"),
        kind: Some("Pod"),
        namespace: None,
    }));
    assert_eq!(
        probe("http", "web.shop", 8080).to_string(),
        "probe/http:web.shop:8080"
    );
}

#[test]
fn an_endpoint_parameter_reaches_nothing_until_it_is_resolved() {
    let declared = cap("probe/http:{endpoints}");
    let call = ProbeCall {
        operation: "http",
        host: "web.shop",
        port: 8080,
    };
    assert!(!declared.allows_probe(&call), "unresolved");
    assert!(
        !cap("*/*").covers(&declared),
        "no wildcard covers a placeholder"
    );
    assert!(!cap("probe/http:{other}").covers(&declared));
    let resolved = declared.with_endpoint("web.shop:8080").unwrap();
    assert!(resolved.allows_probe(&call));
    assert!(!resolved.allows_probe(&ProbeCall { port: 80, ..call }));
    for bad in [
        "web.shop",
        "*:80",
        "http://web.shop:8080",
        "{endpoints}",
        "web:80@shop",
        "",
    ] {
        let e = declared.with_endpoint(bad).unwrap_err().to_string();
        assert!(
            e.starts_with("invalid capability `probe/http:"),
            "{bad}: {e}"
        );
    }
    assert_eq!(cap("cluster/get").endpoint_param(), None);
}
