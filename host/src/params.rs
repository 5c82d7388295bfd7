//! Parameters: values files (`-f`) merged in order, then `--set k=v` on top, as Helm does;
//! checked against the policy's declared parameters, defaults filled in.

use std::path::Path;

use serde_json::{Map, Value};

use crate::manifest::{Manifest, ParamSpec, ParamType};
use crate::units::parse_duration;

/// Bad parameters: every message is one line naming the parameter and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ParamError {
    #[error("cannot read values file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("--set {0}: expected key=value")]
    SetSyntax(String),
    #[error("unknown parameter `{name}`: {policy} takes {known}")]
    Unknown {
        name: String,
        policy: String,
        known: String,
    },
    #[error("missing required parameter `{0}`: set it with --set {0}=<value>")]
    Missing(String),
    #[error("parameter `{name}` {reason}")]
    Type { name: String, reason: String },
}

/// Builds the invocation's parameters: the values files in order, then each `--set`, then the
/// declared defaults for whatever is still unset. Checks every value against its declared type.
pub fn resolve(
    manifest: &Manifest,
    values_files: &[&Path],
    sets: &[String],
) -> Result<Value, ParamError> {
    resolve_given(manifest, values_files, sets).map(|(_, computed)| computed)
}

/// As [`resolve`], with the values given (before defaults) too: a revision records both.
pub fn resolve_given(
    manifest: &Manifest,
    values_files: &[&Path],
    sets: &[String],
) -> Result<(Value, Value), ParamError> {
    let index = index(manifest);
    let spec_for = |name: &str| spec_for(manifest, &index, name);
    let mut params = Map::new();
    for path in values_files {
        for (name, value) in read_values_file(path)? {
            params.insert(name, value);
        }
    }
    for set in sets {
        let (name, raw) = set
            .split_once('=')
            .ok_or_else(|| ParamError::SetSyntax(set.clone()))?;
        let spec = spec_for(name.trim())?;
        params.insert(spec.name.clone(), from_flag(spec, raw)?);
    }
    complete(manifest, params)
}

/// The values a revision recorded as given, checked again against the manifest (a revision's
/// Secret is input like any other) and completed with the defaults: what a resume runs with.
pub fn from_given(manifest: &Manifest, given: &Value) -> Result<(Value, Value), ParamError> {
    let params = match given {
        Value::Object(map) => map.clone(),
        Value::Null => Map::new(),
        other => {
            return Err(ParamError::Type {
                name: "(the recorded values)".into(),
                reason: format!("must be an object, not {other}"),
            });
        }
    };
    complete(manifest, params)
}

/// The declared parameters by name: checking n values against m parameters is n + m work,
/// not n * m.
fn index(manifest: &Manifest) -> std::collections::HashMap<&str, &ParamSpec> {
    manifest
        .params
        .iter()
        .map(|p| (p.name.as_str(), p))
        .collect()
}

fn complete(
    manifest: &Manifest,
    mut params: Map<String, Value>,
) -> Result<(Value, Value), ParamError> {
    let index = index(manifest);
    let spec_for = |name: &str| spec_for(manifest, &index, name);
    for (name, value) in &params {
        let spec = spec_for(name)?;
        check_value(spec, value).map_err(|reason| ParamError::Type {
            name: name.clone(),
            reason,
        })?;
    }
    let given = Value::Object(params.clone());
    for spec in &manifest.params {
        if params.contains_key(&spec.name) {
            continue;
        }
        match (&spec.default, spec.required) {
            (Some(default), _) => {
                params.insert(spec.name.clone(), default.clone());
            }
            (None, true) => return Err(ParamError::Missing(spec.name.clone())),
            (None, false) => {}
        }
    }
    Ok((given, Value::Object(params)))
}

/// Checks one JSON value against a declared type; the error reads after the parameter's name.
pub fn check_value(spec: &ParamSpec, value: &Value) -> Result<(), String> {
    let ok = match spec.kind {
        ParamType::String => value.is_string(),
        ParamType::Integer => value.is_i64() || value.is_u64(),
        ParamType::Number => value.is_number(),
        ParamType::Boolean => value.is_boolean(),
        ParamType::StringList => value
            .as_array()
            .is_some_and(|items| items.iter().all(Value::is_string)),
        ParamType::Object => value.is_object(),
        ParamType::List => value.is_array(),
        ParamType::Duration => match value.as_str() {
            Some(text) => {
                return parse_duration(text)
                    .map(|_| ())
                    .map_err(|e| format!("must be a duration: {e}"));
            }
            None => false,
        },
    };
    if !ok {
        return Err(format!("must be {}, not {}", describe(spec.kind), value));
    }
    check_schema(spec, value)
}

/// The range of a number and the allowed values of a string, once the type is right.
fn check_schema(spec: &ParamSpec, value: &Value) -> Result<(), String> {
    if let Value::Number(n) = value {
        let below = spec
            .minimum
            .as_ref()
            .is_some_and(|min| compare(n, min).is_lt());
        let above = spec
            .maximum
            .as_ref()
            .is_some_and(|max| compare(n, max).is_gt());
        if below || above {
            return Err(match (&spec.minimum, &spec.maximum) {
                (Some(min), Some(max)) => format!("must be between {min} and {max}, not {n}"),
                (Some(min), None) => format!("must be at least {min}, not {n}"),
                (_, max) => format!("must be at most {}, not {n}", max.as_ref().unwrap_or(n)),
            });
        }
    }
    if let (Some(allowed), Value::String(s)) = (&spec.allowed, value)
        && !allowed.iter().any(|a| a == s)
    {
        return Err(format!(
            "must be one of {}, not {}",
            allowed.join(", "),
            crate::text::quote(&Value::from(s.as_str()).to_string())
        ));
    }
    Ok(())
}

/// Orders two JSON numbers: exactly when both are integers (i64 or u64), else as f64.
pub fn compare(a: &serde_json::Number, b: &serde_json::Number) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
        (Some(x), Some(y), _, _) => x.cmp(&y),
        (_, _, Some(x), Some(y)) => x.cmp(&y),
        // One of them is a u64 past i64::MAX and the other a (possibly negative) i64.
        (Some(_), None, None, Some(_)) => Ordering::Less,
        (None, Some(_), Some(_), None) => Ordering::Greater,
        _ => {
            let (x, y) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
    }
}

fn describe(kind: ParamType) -> &'static str {
    match kind {
        ParamType::String => "a string (quote it in YAML)",
        ParamType::Integer => "an integer",
        ParamType::Number => "a number",
        ParamType::Boolean => "true or false",
        ParamType::Duration => "a duration such as 90s or 5m",
        ParamType::StringList => "a list of strings",
        ParamType::Object => "a mapping such as {key: value}",
        ParamType::List => "a list such as [a, b]",
    }
}

fn spec_for<'m>(
    manifest: &'m Manifest,
    index: &std::collections::HashMap<&str, &'m ParamSpec>,
    name: &str,
) -> Result<&'m ParamSpec, ParamError> {
    index.get(name).copied().ok_or_else(|| {
        let known: Vec<&str> = manifest.params.iter().map(|p| p.name.as_str()).collect();
        ParamError::Unknown {
            name: crate::text::escape(name, 64),
            policy: manifest.name.clone(),
            known: if known.is_empty() {
                "no parameters".into()
            } else {
                known.join(", ")
            },
        }
    })
}

/// Reads `--set name=raw` according to the declared type.
fn from_flag(spec: &ParamSpec, raw: &str) -> Result<Value, ParamError> {
    let type_error = |reason: String| ParamError::Type {
        name: spec.name.clone(),
        reason,
    };
    let value = match spec.kind {
        ParamType::String | ParamType::Duration => Value::String(raw.to_string()),
        ParamType::Integer => raw
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| type_error(format!("must be an integer, not `{raw}`")))?,
        ParamType::Number => raw
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| type_error(format!("must be a number, not `{raw}`")))?,
        ParamType::Boolean => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(type_error(format!("must be true or false, not `{raw}`"))),
        },
        ParamType::StringList => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        ),
        ParamType::Object | ParamType::List => read_flow(raw).map_err(type_error)?,
    };
    Ok(value)
}

/// A `--set` value of an `object` or `list` parameter: JSON or YAML flow text,
/// `[{set-weight: 20}, {pause: {duration: 1m}}]`; its type is checked with the others.
fn read_flow(raw: &str) -> Result<Value, String> {
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options::<Value>(raw, options).map_err(|e| {
        format!(
            "must be JSON or YAML flow text: {}",
            one_line(&e.to_string())
        )
    })
}

/// Reads a YAML (or JSON) values file: a mapping from parameter names to values.
fn read_values_file(path: &Path) -> Result<Map<String, Value>, ParamError> {
    let file_error = |reason: String| ParamError::File {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    // YAML 1.2 booleans only (true/false), as Helm and kubectl read values: `y`, `no` and `on`
    // stay strings instead of silently becoming booleans (the "Norway problem").
    let options = serde_saphyr::options! { strict_booleans: true };
    let value: Value = serde_saphyr::from_str_with_options(&text, options)
        .map_err(|e| file_error(one_line(&e.to_string())))?;
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        other => Err(file_error(format!(
            "expected a mapping of parameter names to values, found {other}"
        ))),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn manifest() -> Manifest {
        serde_json::from_str(
            r#"{"manifestVersion":1,"name":"drain","version":"0.1.0","params":[
            {"name":"node","type":"string","required":true},
            {"name":"timeout","type":"duration","default":"5m"},
            {"name":"force","type":"boolean","default":false},
            {"name":"grace","type":"integer"},
            {"name":"kinds","type":"string-list"}]}"#,
        )
        .unwrap()
    }

    fn sets(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn set_values_are_typed_and_defaults_filled() {
        let params = resolve(
            &manifest(),
            &[],
            &sets(&["node=n1", "grace=30", "force=true", "kinds=a, b"]),
        )
        .unwrap();
        assert_eq!(
            params,
            serde_json::json!({"node":"n1","grace":30,"force":true,"timeout":"5m","kinds":["a","b"]})
        );
    }

    #[test]
    fn bad_parameters_are_named() {
        let m = manifest();
        let err = |s: &[&str]| resolve(&m, &[], &sets(s)).unwrap_err().to_string();
        assert_eq!(
            err(&[]),
            "missing required parameter `node`: set it with --set node=<value>"
        );
        assert!(
            err(&["node=a", "nod=b"])
                .starts_with("unknown parameter `nod`: drain takes node, timeout")
        );
        assert!(err(&["node=a", "grace=soon"]).contains("parameter `grace` must be an integer"));
        assert!(err(&["node=a", "timeout=300"]).contains("parameter `timeout` must be a duration"));
        assert!(err(&["node=a", "force=yes"]).contains("must be true or false"));
        assert!(err(&["node"]).contains("expected key=value"));
    }

    #[test]
    fn values_outside_the_schema_are_refused_with_the_range() {
        let m: Manifest = serde_json::from_str(
            r#"{"manifestVersion":1,"name":"resize","version":"0.1.0","params":[
            {"name":"replicas","type":"integer","default":1,"minimum":0,"maximum":100},
            {"name":"surge","type":"integer","minimum":1},
            {"name":"ratio","type":"number","maximum":0.5},
            {"name":"kind","type":"string","enum":["Deployment","StatefulSet"]}]}"#,
        )
        .unwrap();
        let err = |s: &[&str]| resolve(&m, &[], &sets(s)).unwrap_err().to_string();
        assert_eq!(
            err(&["replicas=-1"]),
            "parameter `replicas` must be between 0 and 100, not -1"
        );
        assert_eq!(
            err(&["replicas=101"]),
            "parameter `replicas` must be between 0 and 100, not 101"
        );
        assert_eq!(
            err(&["surge=0"]),
            "parameter `surge` must be at least 1, not 0"
        );
        assert_eq!(
            err(&["ratio=0.75"]),
            "parameter `ratio` must be at most 0.5, not 0.75"
        );
        assert_eq!(
            err(&["kind=Job\u{1b}[2J"]),
            "parameter `kind` must be one of Deployment, StatefulSet, not \"Job\\u001b[2J\""
        );
        let ok = resolve(
            &m,
            &[],
            &sets(&["replicas=0", "surge=9", "ratio=0.5", "kind=StatefulSet"]),
        );
        assert_eq!(
            ok.unwrap(),
            serde_json::json!({"replicas": 0, "surge": 9, "ratio": 0.5, "kind": "StatefulSet"})
        );
    }

    #[test]
    fn numbers_compare_exactly() {
        use std::cmp::Ordering;
        let n = |v: serde_json::Value| v.as_number().unwrap().clone();
        assert_eq!(
            compare(&n(serde_json::json!(-1)), &n(serde_json::json!(0))),
            Ordering::Less
        );
        assert_eq!(
            compare(&n(serde_json::json!(u64::MAX)), &n(serde_json::json!(-1))),
            Ordering::Greater
        );
        assert_eq!(
            compare(&n(serde_json::json!(0.5)), &n(serde_json::json!(1))),
            Ordering::Less
        );
        assert_eq!(
            compare(&n(serde_json::json!(2)), &n(serde_json::json!(2.0))),
            Ordering::Equal
        );
    }

    #[test]
    fn values_files_merge_in_order_and_set_wins() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("a.yaml");
        let second = dir.path().join("b.yaml");
        std::fs::File::create(&first)
            .unwrap()
            .write_all(b"node: n1\ngrace: 10\n")
            .unwrap();
        std::fs::File::create(&second)
            .unwrap()
            .write_all(b"grace: 20\nkinds: [x, y, no]\n")
            .unwrap();
        let params = resolve(&manifest(), &[&first, &second], &sets(&["node=n2"])).unwrap();
        assert_eq!(params["node"], "n2");
        assert_eq!(params["grace"], 20);
        assert_eq!(params["kinds"], serde_json::json!(["x", "y", "no"]));
    }

    #[test]
    fn values_files_are_type_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.yaml");
        std::fs::write(&path, "node: 12\n").unwrap();
        let err = resolve(&manifest(), &[&path], &[]).unwrap_err().to_string();
        assert!(
            err.contains("parameter `node` must be a string (quote it in YAML)"),
            "{err}"
        );
        std::fs::write(&path, "- a\n- b\n").unwrap();
        assert!(
            resolve(&manifest(), &[&path], &[])
                .unwrap_err()
                .to_string()
                .contains("expected a mapping")
        );
        let missing = dir.path().join("missing.yaml");
        assert!(
            resolve(&manifest(), &[&missing], &[])
                .unwrap_err()
                .to_string()
                .starts_with("cannot read values file")
        );
    }

    fn strategy_manifest() -> Manifest {
        serde_json::from_str(
            r#"{"manifestVersion":1,"name":"canary","version":"0.1.0","params":[
            {"name":"steps","type":"list","default":[{"pause":{}}]},
            {"name":"analysis","type":"object"}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn object_and_list_parameters_take_flow_text_and_values_files() {
        let m = strategy_manifest();
        let params = resolve(
            &m,
            &[],
            &sets(&[
                "steps=[{set-weight: 20}, {pause: {duration: 1m}}]",
                r#"analysis={"interval": "30s", "checks": [a, b]}"#,
            ]),
        )
        .unwrap();
        assert_eq!(
            params,
            serde_json::json!({
                "steps": [{"set-weight": 20}, {"pause": {"duration": "1m"}}],
                "analysis": {"interval": "30s", "checks": ["a", "b"]},
            })
        );
        assert_eq!(
            resolve(&m, &[], &[]).unwrap()["steps"],
            serde_json::json!([{"pause": {}}])
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.yaml");
        std::fs::write(
            &path,
            "steps:\n  - set-weight: 20\n  - analysis: {template: ok}\n",
        )
        .unwrap();
        let params = resolve(&m, &[&path], &[]).unwrap();
        assert_eq!(params["steps"][1]["analysis"]["template"], "ok");
    }

    #[test]
    fn object_and_list_parameters_are_type_checked() {
        let m = strategy_manifest();
        let err = |s: &[&str]| resolve(&m, &[], &sets(s)).unwrap_err().to_string();
        assert!(err(&["steps={a: 1}"]).contains("parameter `steps` must be a list"));
        assert!(err(&["analysis=[1, 2]"]).contains("parameter `analysis` must be a mapping"));
        assert!(
            err(&["steps=[unclosed"]).contains("parameter `steps` must be JSON or YAML flow text")
        );
    }
}
