//! Rendering for people (aligned columns, kubectl-style) and machines (`-o json`).

use comfy_table::{Table, presets::NOTHING};

/// A kubectl-style table: upper-case headers, no borders, columns padded.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = Table::new();
    table
        .load_preset(NOTHING)
        .set_header(headers.iter().map(|h| h.to_uppercase()));
    for row in rows {
        table.add_row(row);
    }
    table
        .lines()
        .map(|line| line.trim_end().trim_start_matches(' ').to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Pretty JSON for `-o json`.
pub fn json(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}
