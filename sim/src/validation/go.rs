//! Values written as Go's `%#v` writes them, for the `Invalid value: ...` part of field errors.

use serde_json::{Map, Value};

/// A Go-quoted string: `"a\"b"` (JSON's escaping, which agrees with Go's for printable text).
pub fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// `map[string]string{"a":"b", "c":"d"}` (keys sorted, as fmt sorts them), or
/// `map[string]string(nil)` for an absent map.
pub fn string_map(map: Option<&Map<String, Value>>) -> String {
    let Some(map) = map else {
        return "map[string]string(nil)".to_string();
    };
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let body: Vec<String> = entries
        .into_iter()
        .map(|(k, v)| format!("{}:{}", quote(k), quote(v.as_str().unwrap_or_default())))
        .collect();
    format!("map[string]string{{{}}}", body.join(", "))
}

/// `[]string{"a", "b"}`, or `[]string(nil)` for an absent list.
pub fn string_slice(list: Option<&[Value]>) -> String {
    match list {
        None => "[]string(nil)".to_string(),
        Some(items) => {
            let body: Vec<String> = items
                .iter()
                .map(|v| quote(v.as_str().unwrap_or_default()))
                .collect();
            format!("[]string{{{}}}", body.join(", "))
        }
    }
}

/// A `metav1.LabelSelector`:
/// `v1.LabelSelector{MatchLabels:map[string]string{"a":"b"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}`.
pub fn label_selector(selector: &Value) -> String {
    let labels = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty());
    let expressions = match selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty())
    {
        None => "[]v1.LabelSelectorRequirement(nil)".to_string(),
        Some(items) => {
            let body: Vec<String> = items
                .iter()
                .map(|e| {
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
                        quote(e["key"].as_str().unwrap_or_default()),
                        quote(e["operator"].as_str().unwrap_or_default()),
                        string_slice(e["values"].as_array().map(Vec::as_slice)),
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", body.join(", "))
        }
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{expressions}}}",
        string_map(labels)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_like_go() {
        let labels = json!({"x": "y", "a": "b"});
        assert_eq!(
            string_map(labels.as_object()),
            r#"map[string]string{"a":"b", "x":"y"}"#
        );
        assert_eq!(string_map(None), "map[string]string(nil)");
        assert_eq!(
            label_selector(&json!({})),
            "v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"
        );
        assert_eq!(
            label_selector(
                &json!({"matchExpressions": [{"key": "a", "operator": "In", "values": ["z"]}]})
            ),
            r#"v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:"a", Operator:"In", Values:[]string{"z"}}}}"#
        );
        assert_eq!(
            string_slice(Some(&[json!("10.0.0.1")])),
            r#"[]string{"10.0.0.1"}"#
        );
        assert_eq!(string_slice(None), "[]string(nil)");
    }
}
