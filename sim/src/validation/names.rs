//! Object names by their kind's rule (cutover-grammar's), worded as the API server words them.

use cutover_grammar::names::{
    DNS1035_LABEL_MESSAGE, DNS1123_LABEL_MESSAGE, DNS1123_SUBDOMAIN_MESSAGE, NameRule, name_rule,
};

use super::{FieldError, go};
use crate::kinds::KindInfo;

/// What apimachinery appends to a rule's message: an example and the regex.
fn example_and_regex(reason: &str) -> &'static str {
    if reason == DNS1123_SUBDOMAIN_MESSAGE {
        " (e.g. 'example.com', regex used for validation is \
         '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    } else if reason == DNS1123_LABEL_MESSAGE {
        " (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    } else if reason == DNS1035_LABEL_MESSAGE {
        " (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
    } else {
        ""
    }
}

fn check(rule: NameRule, field: &str, value: &str, checked: &str) -> Option<FieldError> {
    rule.validate(checked).err().map(|reason| {
        FieldError::invalid(
            field,
            go::quote(value),
            format!("{reason}{}", example_and_regex(reason)),
        )
    })
}

/// The errors of an object's `generateName` (if any; checked with a trailing `-` masked, as
/// `ValidateObjectMeta` does) and of its `name`, in that order.
pub fn name_errors(kind: &KindInfo, name: &str, generate_name: Option<&str>) -> Vec<FieldError> {
    let rule = name_rule(kind.group, kind.kind);
    let mut errors = Vec::new();
    if let Some(prefix) = generate_name.filter(|p| !p.is_empty()) {
        let masked = match prefix.strip_suffix('-') {
            Some(head) if !head.is_empty() => format!("{head}a"),
            _ => prefix.to_string(),
        };
        errors.extend(check(rule, "metadata.generateName", prefix, &masked));
    }
    errors.extend(check(rule, "metadata.name", name, name));
    errors
}
