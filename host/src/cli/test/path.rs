//! Field paths of object expectations: `spec.template.spec.containers[0].image`,
//! `metadata.labels['app.kubernetes.io/name']` — kubectl's JSONPath without its `{.` and `}`.

use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    Key(String),
    Index(usize),
}

/// Parses a path, or says what is wrong with it.
pub(super) fn parse(path: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut rest = path.strip_prefix('.').unwrap_or(path);
    if rest.is_empty() {
        return Err("an empty path".into());
    }
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('[') {
            let close = inner
                .find(']')
                .ok_or_else(|| format!("{path:?}: a `[` without its `]`"))?;
            let (body, after) = (&inner[..close], &inner[close + 1..]);
            let quoted = |q: char| body.len() >= 2 && body.starts_with(q) && body.ends_with(q);
            if quoted('\'') || quoted('"') {
                steps.push(Step::Key(body[1..body.len() - 1].to_string()));
            } else {
                let index = body.parse::<usize>().map_err(|_| {
                    format!("{path:?}: [{body}] is neither an index nor a quoted key")
                })?;
                steps.push(Step::Index(index));
            }
            rest = after.strip_prefix('.').unwrap_or(after);
            if after.starts_with('.') && rest.is_empty() {
                return Err(format!("{path:?}: ends with `.`"));
            }
            continue;
        }
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        let key = &rest[..end];
        if key.is_empty() {
            return Err(format!("{path:?}: an empty key"));
        }
        steps.push(Step::Key(key.to_string()));
        rest = &rest[end..];
        if let Some(after) = rest.strip_prefix('.') {
            if after.is_empty() {
                return Err(format!("{path:?}: ends with `.`"));
            }
            rest = after;
        }
    }
    Ok(steps)
}

/// The value at `steps`, if there is one.
pub(super) fn lookup<'a>(value: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    steps.iter().try_fold(value, |v, step| match step {
        Step::Key(key) => v.get(key.as_str()),
        Step::Index(i) => v.get(*i),
    })
}

/// JSON equality, numbers compared by value (`4` equals `4.0`).
pub(super) fn same(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, x)| b.get(k).is_some_and(|y| same(x, y)))
        }
        _ => expected == actual,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_parse_keys_indexes_and_quoted_keys() {
        assert_eq!(
            parse("spec.containers[0].image").unwrap(),
            vec![
                Step::Key("spec".into()),
                Step::Key("containers".into()),
                Step::Index(0),
                Step::Key("image".into())
            ]
        );
        assert_eq!(
            parse(".metadata.labels['app.kubernetes.io/name']").unwrap(),
            vec![
                Step::Key("metadata".into()),
                Step::Key("labels".into()),
                Step::Key("app.kubernetes.io/name".into())
            ]
        );
        assert_eq!(parse("a[\"b\"]").unwrap()[1], Step::Key("b".into()));
        for bad in ["", "a..b", "a.", "a[x]", "a[0", "a[0]."] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn lookup_walks_objects_and_lists() {
        let object = json!({"spec": {"containers": [{"image": "nginx"}]},
                            "metadata": {"labels": {"a.b/c": "x"}}});
        let at = |p: &str| lookup(&object, &parse(p).unwrap()).cloned();
        assert_eq!(at("spec.containers[0].image"), Some(json!("nginx")));
        assert_eq!(at("metadata.labels['a.b/c']"), Some(json!("x")));
        assert_eq!(at("spec.containers[1]"), None);
        assert_eq!(at("spec.replicas"), None);
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(same(&json!(4), &json!(4.0)));
        assert!(same(&json!({"a": [1, 2]}), &json!({"a": [1.0, 2]})));
        assert!(!same(&json!(4), &json!("4")));
        assert!(!same(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
    }
}
