//! Tests of the selector grammars: every operator, the API server's key and value rules, the
//! messages, and the inputs a hostile module would send.

use std::collections::{BTreeMap, HashMap};

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn label_selector_operators() {
    let web = labels(&[("app", "web"), ("tier", "front")]);
    let matching = [
        "",
        "   ",
        "app=web",
        "app==web",
        " app = web ",
        "app!=db",
        "missing!=x",
        "app in (web, db)",
        "app in(web)",
        "app  in  ( web , db )",
        "app notin (db)",
        "missing notin (db)",
        "app",
        "!missing",
        "! missing",
        "app=web,tier in (front),!missing",
        "app=web , tier",
        "app.kubernetes.io/name!=x",
        "app in (web,,db)",
    ];
    for s in matching {
        let selector = LabelSelector::parse(s).unwrap();
        assert!(selector.matches(&web), "{s:?} matches");
    }
    let not_matching = [
        "app=db",
        "app!=web",
        "app in (db)",
        "app notin (web,db)",
        "missing",
        "!app",
        "app=web,tier=back",
        "app=",
    ];
    for s in not_matching {
        assert!(
            !LabelSelector::parse(s).unwrap().matches(&web),
            "{s:?} does not match"
        );
    }
    let hashed: HashMap<String, String> = web.clone().into_iter().collect();
    assert!(LabelSelector::parse("tier=front").unwrap().matches(&hashed));
    assert_eq!(
        LabelSelector::parse("a in (x,y),b").unwrap().requirements,
        vec![
            Requirement::In("a".into(), vec!["x".into(), "y".into()]),
            Requirement::Exists("b".into())
        ]
    );
}

#[test]
fn label_selectors_print_their_string_form() {
    let s = "a=b,c in (x,y),d notin (z),e,!f,g!=h";
    assert_eq!(LabelSelector::parse(s).unwrap().to_string(), s);
    assert_eq!(
        LabelSelector::parse(" a == b , c in ( x ) ")
            .unwrap()
            .to_string(),
        "a=b,c in (x)"
    );
    assert!(LabelSelector::parse("").unwrap().is_empty());
}

#[test]
fn label_selector_errors_name_the_selector_and_the_reason() {
    let cases = [
        ("app in web", "expected a parenthesised list of values"),
        ("app=web,", "empty requirement"),
        (",", "empty requirement"),
        ("a b c", "found unexpected token, expected 'in' or 'notin'"),
        ("a inx (b)", "expected a parenthesised list of values"),
        (
            "a in ()",
            "for 'in', 'notin' operators, values set can't be empty",
        ),
        (
            "a in (,)",
            "for 'in', 'notin' operators, values set can't be empty",
        ),
        ("a in (x", "expected a parenthesised list of values"),
        ("=x", "invalid label key \"\""),
        ("a=b c", "invalid label value: \"b c\""),
        ("a=b=c", "invalid label value: \"b=c\""),
        ("a in (x y)", "invalid label value: \"x y\""),
        ("-a=b", "invalid label key \"-a\""),
        ("a/b/c", "invalid label key \"a/b/c\""),
        ("A_/x=1", "invalid label key \"A_/x\""),
        ("a=-b", "invalid label value: \"-b\""),
        ("a?=b", "invalid label key \"a?\""),
        ("a#b", "invalid label key \"a#b\""),
        ("a%2fb", "invalid label key \"a%2fb\""),
        ("..", "invalid label key \"..\""),
        ("é=x", "invalid label key \"é\""),
        ("a\u{7}=b", "invalid label key \"a\u{7}\""),
        ("!", "invalid label key \"\""),
    ];
    for (s, why) in cases {
        let error = LabelSelector::parse(s).unwrap_err().to_string();
        assert_eq!(
            error,
            format!("unable to parse requirement: {why} in \"{s}\""),
            "{s:?}"
        );
    }
    let key_64 = format!("{}=x", "k".repeat(64));
    assert!(LabelSelector::parse(&key_64).is_err());
    let value_64 = format!("k={}", "v".repeat(64));
    assert!(LabelSelector::parse(&value_64).is_err());
    let prefix_254 = format!("{}/k", "p".repeat(254));
    assert!(LabelSelector::parse(&prefix_254).is_err());
}

#[test]
fn long_selectors_parse_in_one_pass() {
    let many = vec!["app=web"; 100_000].join(",");
    assert_eq!(
        LabelSelector::parse(&many).unwrap().requirements.len(),
        100_000
    );
    let nested = format!("a in {}x{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(LabelSelector::parse(&nested).is_err());
    let fields = vec!["metadata.name=a"; 100_000].join(",");
    assert_eq!(
        FieldSelector::parse(&fields).unwrap().requirements.len(),
        100_000
    );
}

#[test]
fn field_selector_terms() {
    let selector =
        FieldSelector::parse("metadata.name=a, metadata.namespace==ns,spec.nodeName != n1")
            .unwrap();
    assert_eq!(
        selector.requirements,
        vec![
            FieldRequirement {
                field: "metadata.name".into(),
                value: "a".into(),
                negate: false
            },
            FieldRequirement {
                field: "metadata.namespace".into(),
                value: "ns".into(),
                negate: false
            },
            FieldRequirement {
                field: "spec.nodeName".into(),
                value: "n1".into(),
                negate: true
            },
        ]
    );
    assert!(FieldSelector::parse("").unwrap().requirements.is_empty());
    assert!(FieldSelector::parse("  ").unwrap().requirements.is_empty());
    let empty_value = FieldSelector::parse("spec.nodeName=").unwrap();
    assert!(
        empty_value.requirements[0].matches(None),
        "absent compares as \"\""
    );
    assert!(!empty_value.requirements[0].matches(Some("n1")));
    let negated = &selector.requirements[2];
    assert!(negated.matches(Some("n2")) && negated.matches(None) && !negated.matches(Some("n1")));
}

#[test]
fn field_selector_errors_name_the_term() {
    for (s, term) in [
        ("nonsense", "nonsense"),
        ("a=b,", ""),
        ("a=b, c ", "c"),
        ("a<b", "a<b"),
    ] {
        assert_eq!(
            FieldSelector::parse(s).unwrap_err().to_string(),
            format!("invalid selector: '{s}'; can't understand '{term}'")
        );
    }
    let mut terms = FieldSelector::terms("a=1,bad,c=2");
    assert!(matches!(terms.next(), Some(Ok(_))));
    assert!(matches!(terms.next(), Some(Err(_))));
    assert!(matches!(terms.next(), Some(Ok(_))));
    assert!(terms.next().is_none());
}
