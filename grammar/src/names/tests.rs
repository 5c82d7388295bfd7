//! Tests of the name rules: accepted and refused names, with the API server's reasons.

use super::api::{API_VERSION_MESSAGE, CORE_VERSION_MESSAGE, KIND_MESSAGE};
use super::labels::{LABEL_VALUE_MESSAGE, QUALIFIED_FORMAT_MESSAGE, QUALIFIED_NAME_MESSAGE};
use super::release::RELEASE_NAME_MESSAGE;
use super::*;

type Rule = fn(&str) -> Result<(), &'static str>;

/// Runs `rule` over `(input, None)` (accepted) and `(input, Some(reason))` (refused) cases.
fn table(rule: Rule, cases: &[(&str, Option<&str>)]) {
    for (input, expected) in cases {
        assert_eq!(rule(input).err(), *expected, "{input:?}");
    }
}

fn long(c: char, n: usize) -> String {
    std::iter::repeat_n(c, n).collect()
}

const LABEL: Option<&str> = Some(DNS1123_LABEL_MESSAGE);
const SUBDOMAIN: Option<&str> = Some(DNS1123_SUBDOMAIN_MESSAGE);
const DNS1035: Option<&str> = Some(DNS1035_LABEL_MESSAGE);
const MAX_63: Option<&str> = Some(MAX_63_MESSAGE);
const MAX_253: Option<&str> = Some(MAX_253_MESSAGE);

#[test]
fn dns1123_labels() {
    let (l63, l64) = (long('a', 63), long('a', 64));
    table(
        dns1123_label,
        &[
            ("shop", None),
            ("a", None),
            ("0", None),
            ("kube-system", None),
            ("1-a", None),
            (&l63, None),
            (&l64, MAX_63),
            ("", LABEL),
            ("Shop", LABEL),
            ("shop-", LABEL),
            ("-shop", LABEL),
            ("a.b", LABEL),
            ("a_b", LABEL),
            ("a b", LABEL),
            ("..", LABEL),
            ("a/b", LABEL),
            ("%2f", LABEL),
            ("a?b", LABEL),
            ("a#b", LABEL),
            ("é", LABEL),
            ("a\nb", LABEL),
            ("a\0", LABEL),
        ],
    );
}

#[test]
fn dns1123_subdomains() {
    let l253 = format!(
        "{}.{}.{}.{}",
        long('a', 63),
        long('b', 63),
        long('c', 63),
        long('d', 61)
    );
    let l254 = format!("{l253}e");
    assert_eq!((l253.len(), l254.len()), (253, 254));
    let long_part = long('a', 100);
    table(
        dns1123_subdomain,
        &[
            ("web", None),
            ("web-1.example.com", None),
            ("cert-manager.io", None),
            ("1.2.3", None),
            (&l253, None),
            (&long_part, None),
            (&l254, MAX_253),
            ("", SUBDOMAIN),
            ("Web", SUBDOMAIN),
            ("web.", SUBDOMAIN),
            (".web", SUBDOMAIN),
            ("a..b", SUBDOMAIN),
            ("a.-b", SUBDOMAIN),
            ("a-.b", SUBDOMAIN),
            ("web-", SUBDOMAIN),
            ("..", SUBDOMAIN),
            ("../secrets", SUBDOMAIN),
            ("a%2fb", SUBDOMAIN),
            ("a?b", SUBDOMAIN),
            ("a#b", SUBDOMAIN),
            ("a_b", SUBDOMAIN),
            ("ü.example", SUBDOMAIN),
            ("a\tb", SUBDOMAIN),
        ],
    );
}

#[test]
fn dns1035_labels() {
    table(
        dns1035_label,
        &[
            ("web", None),
            ("web-1", None),
            (&long('a', 63), None),
            (&long('a', 64), MAX_63),
            ("1web", DNS1035),
            ("", DNS1035),
            ("Web", DNS1035),
            ("web-", DNS1035),
            ("web.1", DNS1035),
        ],
    );
}

#[test]
fn path_segment_names() {
    table(
        path_segment_name,
        &[
            ("admin", None),
            ("system:controller:node-controller", None),
            ("Edit_Role", None),
            ("a?b#c", None),
            ("é", None),
            ("...", None),
            (&long('a', 253), None),
            (&long('a', 254), MAX_253),
            ("", Some("must be non-empty")),
            (".", Some("may not be '.'")),
            ("..", Some("may not be '..'")),
            ("../x", Some("may not contain '/'")),
            ("a/b", Some("may not contain '/'")),
            ("%2f", Some("may not contain '%'")),
            ("a%2e%2e", Some("may not contain '%'")),
        ],
    );
}

#[test]
fn api_groups_versions_and_kinds() {
    table(
        api_group,
        &[
            ("", None),
            ("apps", None),
            ("rbac.authorization.k8s.io", None),
            ("Apps", SUBDOMAIN),
            ("apps/v1", SUBDOMAIN),
        ],
    );
    table(
        version,
        &[
            ("v1", None),
            ("v1beta1", None),
            ("V1", LABEL),
            ("", LABEL),
            ("*", LABEL),
        ],
    );
    table(
        api_version,
        &[
            ("v1", None),
            ("apps/v1", None),
            ("cert-manager.io/v1", None),
            ("policy/v1beta1", None),
            ("v2alpha1", None),
            ("example.com/stable", None),
            // Without a group only a Kubernetes version: `apps` alone is the core group's
            // (nonexistent) version "apps", which is what `cluster/get:apps/*` would say.
            ("apps", Some(CORE_VERSION_MESSAGE)),
            ("v0", Some(CORE_VERSION_MESSAGE)),
            ("v1beta", Some(CORE_VERSION_MESSAGE)),
            ("v1gamma1", Some(CORE_VERSION_MESSAGE)),
            ("v", Some(CORE_VERSION_MESSAGE)),
            ("", LABEL),
            ("/v1", Some(API_VERSION_MESSAGE)),
            ("a/b/c", Some(API_VERSION_MESSAGE)),
            ("apps/", LABEL),
            ("Apps/v1", SUBDOMAIN),
            ("apps/V1", LABEL),
            ("apps/*", LABEL),
            ("../v1", SUBDOMAIN),
        ],
    );
    table(
        kind,
        &[
            ("Pod", None),
            ("Deployment", None),
            ("pod", None),
            ("V1Alpha1Thing", None),
            (&long('A', 63), None),
            (&long('A', 64), MAX_63),
            ("", Some(KIND_MESSAGE)),
            ("1Pod", Some(KIND_MESSAGE)),
            ("Pod-x", Some(KIND_MESSAGE)),
            ("Pod.v1", Some(KIND_MESSAGE)),
            ("*", Some(KIND_MESSAGE)),
            ("Pöd", Some(KIND_MESSAGE)),
        ],
    );
}

#[test]
fn label_keys() {
    let prefix_254 = format!("{}/a", long('a', 254));
    let name_64 = format!("example.com/{}", long('a', 64));
    table(
        label_key,
        &[
            ("app", None),
            ("App_Name.v2", None),
            ("app.kubernetes.io/name", None),
            ("example.com/My-Key", None),
            (&long('a', 63), None),
            (
                &long('a', 64),
                Some("name part must be no more than 63 characters"),
            ),
            (
                &name_64,
                Some("name part must be no more than 63 characters"),
            ),
            (
                &prefix_254,
                Some("prefix part must be no more than 253 characters"),
            ),
            ("", Some("name part must be non-empty")),
            ("example.com/", Some("name part must be non-empty")),
            ("/app", Some("prefix part must be non-empty")),
            ("a/b/c", Some(QUALIFIED_FORMAT_MESSAGE)),
            ("-app", Some(QUALIFIED_NAME_MESSAGE)),
            ("app_", Some(QUALIFIED_NAME_MESSAGE)),
            ("a b", Some(QUALIFIED_NAME_MESSAGE)),
            ("a?b", Some(QUALIFIED_NAME_MESSAGE)),
            ("é", Some(QUALIFIED_NAME_MESSAGE)),
            ("Example.com/app", Some(PREFIX)),
            ("a..b/app", Some(PREFIX)),
        ],
    );
}

const PREFIX: &str = concat!("prefix part ", super::dns::subdomain_message!());

#[test]
fn label_values() {
    table(
        label_value,
        &[
            ("", None),
            ("web", None),
            ("Web_1.v2-x", None),
            (&long('a', 63), None),
            (&long('a', 64), MAX_63),
            ("-web", Some(LABEL_VALUE_MESSAGE)),
            ("web.", Some(LABEL_VALUE_MESSAGE)),
            ("a b", Some(LABEL_VALUE_MESSAGE)),
            ("a,b", Some(LABEL_VALUE_MESSAGE)),
            ("a=b", Some(LABEL_VALUE_MESSAGE)),
            ("(a)", Some(LABEL_VALUE_MESSAGE)),
            ("é", Some(LABEL_VALUE_MESSAGE)),
        ],
    );
}

#[test]
fn helm_release_names() {
    table(
        release_name,
        &[
            ("web", None),
            ("shop-api.v2", None),
            ("1", None),
            (&long('a', 53), None),
            (&long('a', 54), Some(RELEASE_NAME_MESSAGE)),
            ("", Some("no name provided")),
            ("Web", Some(RELEASE_NAME_MESSAGE)),
            ("web_1", Some(RELEASE_NAME_MESSAGE)),
            ("web-", Some(RELEASE_NAME_MESSAGE)),
            ("a..b", Some(RELEASE_NAME_MESSAGE)),
            ("../x", Some(RELEASE_NAME_MESSAGE)),
        ],
    );
}

#[test]
fn which_rule_each_kind_follows() {
    let cases = [
        ("", "Namespace", NameRule::Dns1123Label),
        ("", "Service", NameRule::Dns1035Label),
        ("", "Node", NameRule::Dns1123Subdomain),
        ("", "Pod", NameRule::Dns1123Subdomain),
        ("", "ConfigMap", NameRule::Dns1123Subdomain),
        ("apps", "Deployment", NameRule::Dns1123Subdomain),
        ("rbac.authorization.k8s.io", "Role", NameRule::PathSegment),
        (
            "rbac.authorization.k8s.io",
            "ClusterRole",
            NameRule::PathSegment,
        ),
        (
            "rbac.authorization.k8s.io",
            "RoleBinding",
            NameRule::PathSegment,
        ),
        (
            "rbac.authorization.k8s.io",
            "ClusterRoleBinding",
            NameRule::PathSegment,
        ),
        ("example.com", "Role", NameRule::Dns1123Subdomain),
        ("example.com", "Namespace", NameRule::Dns1123Subdomain),
    ];
    for (group, kind, rule) in cases {
        assert_eq!(name_rule(group, kind), rule, "{group}/{kind}");
    }
    assert!(NameRule::PathSegment.check("system:admin").is_ok());
    assert!(NameRule::Dns1123Subdomain.check("system:admin").is_err());
    const NAMESPACE_RULE: NameRule = name_rule("", "Namespace");
    const CHECKED: Result<(), &str> = NAMESPACE_RULE.validate("shop");
    assert_eq!(CHECKED, Ok(()));
}

#[test]
fn errors_carry_the_input_cut_to_64_characters() {
    let error = NameRule::Dns1123Label.check("Shop").unwrap_err();
    assert_eq!(error.input(), "Shop");
    assert_eq!(error.reason(), DNS1123_LABEL_MESSAGE);
    assert_eq!(
        error.to_string(),
        format!("invalid name \"Shop\": {DNS1123_LABEL_MESSAGE}")
    );
    let huge = long('A', 1 << 20);
    let error = check_label_key(&huge).unwrap_err();
    assert_eq!(error.input().chars().count(), 65);
    assert!(error.to_string().len() < 300);
    let control = check_release_name("web\u{1b}[31m").unwrap_err().to_string();
    assert!(control.contains("\\u{1b}"), "escaped: {control}");
    assert!(
        check_label_value("a b")
            .unwrap_err()
            .to_string()
            .starts_with("invalid label value")
    );
    assert!(check_api_version("a/b/c").is_err());
    assert!(check_kind("Pod").is_ok());
}
