//! A test run's parameters, checked against the manifest and completed with its defaults, by
//! the host's rules (docs/manifest.md), so that a test reads what a real run would.

use serde_json::{Map, Value};

use crate::Error;
use crate::manifest::{Manifest, Param, ParamType, Value as Literal};

/// `given` (a JSON object, or null for none) checked and completed with the defaults.
pub(super) fn complete(manifest: &Manifest, given: Value) -> Result<Value, Error> {
    let mut params = match given {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => {
            return Err(Error::invalid(format!(
                "the parameters must be a JSON object, not {other}"
            )));
        }
    };
    for (name, value) in &params {
        let param = manifest
            .params()
            .iter()
            .find(|p| p.name_str() == name)
            .ok_or_else(|| unknown(manifest, name))?;
        check(param, value)
            .map_err(|reason| Error::invalid(format!("parameter `{name}` {reason}")))?;
    }
    for param in manifest.params() {
        if params.contains_key(param.name_str()) {
            continue;
        }
        match param.default_value() {
            Some(default) => {
                params.insert(param.name_str().to_string(), literal(default)?);
            }
            None if param.is_required() => {
                return Err(Error::invalid(format!(
                    "missing required parameter `{}`",
                    param.name_str()
                )));
            }
            None => {}
        }
    }
    Ok(Value::Object(params))
}

fn unknown(manifest: &Manifest, name: &str) -> Error {
    let known: Vec<&str> = manifest.params().iter().map(Param::name_str).collect();
    let known = if known.is_empty() {
        "no parameters".to_string()
    } else {
        known.join(", ")
    };
    Error::invalid(format!(
        "unknown parameter `{name}`: {} takes {known}",
        manifest.name()
    ))
}

/// A manifest default as JSON.
fn literal(value: Literal) -> Result<Value, Error> {
    Ok(match value {
        Literal::Str(s) => Value::from(s),
        Literal::Number(text) => serde_json::from_str(text)?,
        Literal::Bool(b) => Value::Bool(b),
        Literal::StrList(items) => Value::from(items.to_vec()),
    })
}

/// The type, then the range or the allowed values; the reason reads after the name.
fn check(param: &Param, value: &Value) -> Result<(), String> {
    let type_ok = match param.param_type() {
        Some(ParamType::String) => value.is_string(),
        Some(ParamType::Integer) => value.is_i64() || value.is_u64(),
        Some(ParamType::Number) => value.is_number(),
        Some(ParamType::Boolean) => value.is_boolean(),
        Some(ParamType::StringList) => value
            .as_array()
            .is_some_and(|items| items.iter().all(Value::is_string)),
        Some(ParamType::Object) => value.is_object(),
        Some(ParamType::List) => value.is_array(),
        Some(ParamType::Duration) => match value.as_str() {
            Some(text) => {
                return text
                    .parse::<crate::params::Duration>()
                    .map(drop)
                    .map_err(|e| format!("must be a duration: {e}"));
            }
            None => false,
        },
        None => false,
    };
    if !type_ok {
        let ty = param.param_type().map_or("?", ParamType::name);
        return Err(format!("must be of type {ty}, not {value}"));
    }
    if let Some(n) = value.as_f64() {
        let bound = |text: Option<&str>| text.and_then(|t| t.parse::<f64>().ok());
        let (min, max) = (bound(param.minimum_text()), bound(param.maximum_text()));
        let (min_text, max_text) = (
            param.minimum_text().unwrap_or(""),
            param.maximum_text().unwrap_or(""),
        );
        let below = min.is_some_and(|m| n < m);
        let above = max.is_some_and(|m| n > m);
        if below || above {
            return Err(match (min, max) {
                (Some(_), Some(_)) => {
                    format!("must be between {min_text} and {max_text}, not {value}")
                }
                (Some(_), None) => format!("must be at least {min_text}, not {value}"),
                _ => format!("must be at most {max_text}, not {value}"),
            });
        }
    }
    if let (Some(allowed), Some(s)) = (param.allowed_values(), value.as_str())
        && !allowed.contains(&s)
    {
        return Err(format!(
            "must be one of {}, not {value}",
            allowed.join(", ")
        ));
    }
    Ok(())
}

/// The release a run gets without `--release`: the template with each `{param}` replaced by
/// its value (not normalised as the host does it), or the policy's name.
pub(super) fn release(manifest: &Manifest, params: &Value) -> String {
    let Some(template) = manifest.release_template() else {
        return manifest.name().to_string();
    };
    let mut out = template.to_string();
    for param in manifest.params() {
        let value = match &params[param.name_str()] {
            Value::String(s) => s.clone(),
            Value::Null => continue,
            other => other.to_string(),
        };
        out = out.replace(&format!("{{{}}}", param.name_str()), &value);
    }
    out
}
