//! Rendering for people (aligned columns, kubectl-style) and machines (`-o json`, `-o yaml`),
//! safe on a terminal whatever text a policy put into the values.

use comfy_table::{Table, presets::NOTHING};

use super::Format;
use crate::text;

/// A kubectl-style table: upper-case headers, no borders, columns padded. Cells are escaped.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = Table::new();
    table
        .load_preset(NOTHING)
        .set_header(headers.iter().map(|h| h.to_uppercase()));
    for row in rows {
        table.add_row(row.iter().map(|cell| text::line(cell)));
    }
    table
        .lines()
        .map(|line| line.trim_end().trim_start_matches(' ').to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Pretty JSON for `-o json`, with every character that could steer a terminal escaped.
pub fn json(value: &serde_json::Value) -> String {
    let raw = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    text::json_safe(&raw)
}

/// YAML for `-o yaml`. Strings holding characters that could steer a terminal are written
/// double-quoted with escapes (the same value, read back).
pub fn yaml(value: &serde_json::Value) -> String {
    let safe = escape_for_yaml(value);
    serde_saphyr::to_string(&safe).unwrap_or_else(|_| json(value))
}

/// A machine format of `value`: JSON or YAML (the table format is each command's own).
pub fn machine(value: &serde_json::Value, format: Format) -> String {
    match format {
        Format::Yaml => yaml(value),
        _ => json(value),
    }
}

/// YAML has no way to escape inside a plain scalar, and its serializer may write some
/// characters raw: strings that hold an unsafe character are replaced by their visibly
/// escaped form (`\u{1b}`), as the table output shows them.
fn escape_for_yaml(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) if s.chars().any(text::is_unsafe) => {
            Value::String(text::escape(s, usize::MAX))
        }
        Value::Array(items) => Value::Array(items.iter().map(escape_for_yaml).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (text::escape(k, usize::MAX), escape_for_yaml(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_output_is_terminal_safe() {
        let value = serde_json::json!({"summary": "ok\u{1b}[2J\u{9b}\u{202e}", "n": 1});
        let j = json(&value);
        assert!(!j.chars().any(|c| text::is_unsafe(c) && c != '\n'), "{j}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&j).unwrap(),
            value
        );
        let y = yaml(&value);
        assert!(!y.chars().any(|c| text::is_unsafe(c) && c != '\n'), "{y}");
        assert!(y.contains("summary"), "{y}");
    }

    #[test]
    fn table_cells_are_escaped() {
        let t = table(&["name"], vec![vec!["a\x1b[1Ab".into()]]);
        assert!(!t.contains('\x1b'), "{t}");
    }
}
