//! Values as Helm combines them: the chart's defaults under the user's values (`coalesce`),
//! `-f` files merged in order (`merge_values`), and values files read with Helm's number rules.

use serde_json::{Map, Value};

use crate::ChartError;

/// Deepest nesting of values coalesced or merged.
const MAX_DEPTH: usize = 200;

/// Reads a values file (`values.yaml`, a `-f` file) as Helm does: every number becomes a float64
/// (so `{{ .Values.big }}` of `1000000` prints `1e+06`, as in Helm), an empty file is `{}`.
/// `name` only labels errors.
pub fn parse_values_yaml(name: &str, text: &str) -> Result<Map<String, Value>, ChartError> {
    let v = crate::yaml::parse_json_value(text, false).map_err(|m| ChartError::Yaml {
        file: name.to_string(),
        message: m,
    })?;
    match crate::yaml::floats(v) {
        Value::Null => Ok(Map::new()),
        Value::Object(o) => Ok(o),
        _ => Err(ChartError::Yaml {
            file: name.to_string(),
            message: "values must be a map".into(),
        }),
    }
}

/// Helm's coalesce of a chart's defaults and the user's values: the user's win, maps are
/// combined key by key at every depth, and a user `null` deletes the chart's key.
pub fn coalesce(
    chart_values: &Map<String, Value>,
    user_values: &Map<String, Value>,
) -> Map<String, Value> {
    let mut out = user_values.clone();
    coalesce_into(&mut out, chart_values, 0);
    out
}

fn coalesce_into(dst: &mut Map<String, Value>, defaults: &Map<String, Value>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    for (k, dv) in defaults {
        match dst.get_mut(k) {
            None => {
                dst.insert(k.clone(), dv.clone());
            }
            Some(Value::Null) => {
                dst.remove(k);
            }
            Some(Value::Object(user)) => {
                if let Value::Object(d) = dv {
                    coalesce_into(user, d, depth + 1);
                }
            }
            Some(_) => {}
        }
    }
}

/// Helm's mergeMaps for `-f` files given in order: `overlay` over `base`, maps merged
/// recursively, anything else replaced.
pub fn merge_values(base: &Map<String, Value>, overlay: &Map<String, Value>) -> Map<String, Value> {
    let mut out = base.clone();
    merge_into(&mut out, overlay, 0);
    out
}

fn merge_into(dst: &mut Map<String, Value>, overlay: &Map<String, Value>, depth: usize) {
    for (k, v) in overlay {
        if let (Value::Object(o), Some(Value::Object(d))) = (v, dst.get_mut(k))
            && depth < MAX_DEPTH
        {
            merge_into(d, o, depth + 1);
            continue;
        }
        dst.insert(k.clone(), v.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn coalesce_user_over_defaults_deeply_and_null_deletes() {
        let chart = m(json!({"a": 1, "b": {"c": 2, "d": 3}, "e": "x", "f": {"g": 1}}));
        let user = m(json!({"b": {"c": 9}, "e": null, "f": "scalar"}));
        let out = coalesce(&chart, &user);
        assert_eq!(
            Value::Object(out),
            json!({"a": 1, "b": {"c": 9, "d": 3}, "f": "scalar"})
        );
    }

    #[test]
    fn merge_values_in_order() {
        let a = m(json!({"x": {"y": 1, "z": 2}, "l": [1, 2]}));
        let b = m(json!({"x": {"y": 5}, "l": [3]}));
        assert_eq!(
            Value::Object(merge_values(&a, &b)),
            json!({"x": {"y": 5, "z": 2}, "l": [3]})
        );
    }

    #[test]
    fn values_yaml_numbers_are_floats() {
        let v = parse_values_yaml("values.yaml", "replicas: 1\nbig: 1000000\n").unwrap();
        assert!(v["replicas"].is_f64());
        assert!(parse_values_yaml("values.yaml", "").unwrap().is_empty());
        assert!(parse_values_yaml("values.yaml", "- a").is_err());
    }
}
