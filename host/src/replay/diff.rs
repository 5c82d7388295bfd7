//! A replayed call against the recorded one, for a person: each as `interface.function` and its
//! arguments as indented JSON, and a unified diff of the two (by the `similar` crate), every
//! line escaped for a terminal and the whole bounded.

use similar::TextDiff;

use super::tape::Call;

/// The most lines of one call shown (a 3 MiB manifest is not printed whole).
const MAX_LINES: usize = 400;

/// A call as lines: `cluster.cordon` then its arguments, indented JSON, cut at [`MAX_LINES`].
pub fn render(call: &Call) -> String {
    let args = serde_json::to_string_pretty(&call.args).unwrap_or_else(|_| call.args.to_string());
    let mut lines: Vec<String> = std::iter::once(crate::text::line(&call.call))
        .chain(args.lines().map(crate::text::line))
        .collect();
    if lines.len() > MAX_LINES {
        let cut = lines.len() - MAX_LINES;
        lines.truncate(MAX_LINES);
        lines.push(format!("[... {cut} more lines]"));
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// A unified diff of the recorded call (`---`) against the replayed one (`+++`).
pub fn unified(expected: &Call, actual: &Call) -> String {
    let (old, new) = (render(expected), render(actual));
    TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header("recorded", "replayed")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_diff_shows_the_changed_argument() {
        let call = |node: &str| Call {
            call: "cluster.cordon".into(),
            args: json!({ "node": node }),
            answer: json!(null),
        };
        let diff = unified(&call("n1"), &call("n2\u{9b}2J"));
        assert!(
            diff.contains("--- recorded") && diff.contains("+++ replayed"),
            "{diff}"
        );
        assert!(diff.contains("-  \"node\": \"n1\""), "{diff}");
        assert!(diff.contains("+  \"node\": \"n2\\u{9b}2J\""), "{diff}");
        assert!(!diff.contains('\u{9b}'));
    }
}
