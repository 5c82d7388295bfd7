//! The release name a policy's manifest derives from the run's parameters: its `release`
//! template (`drain-{node}`) rendered when the operator gives no `--release` (docs/manifest.md).
//!
//! The template itself was checked with the manifest: its text is already release-name
//! characters and each placeholder names a `string` or `integer` parameter that always has a
//! value. The parameters' values are the operator's and may hold anything; [`render`] turns
//! them into a valid Helm release name or refuses.

use serde_json::Value;

use crate::release::MAX_NAME;

/// Renders `template` with the run's parameters (defaults filled in) into a release name:
/// each `{param}` replaced by the parameter's value (a string as is, an integer in decimal),
/// then the whole [`sanitized`] and checked with [`crate::release::check_name`].
///
/// A result with nothing left after sanitizing (every character of the values stripped, and
/// no text of the template's own) is refused, naming the parameters, rather than falling back
/// to the policy's name: two runs for different targets must not share one release's history
/// and lock by accident. The operator gives `--release` instead.
pub fn render(template: &str, params: &Value) -> Result<String, String> {
    use cutover_grammar::policy::release_template_placeholder;
    let mut raw = String::new();
    let mut used = Vec::new();
    let mut at = 0;
    while let Some((start, end)) = release_template_placeholder(template, at) {
        raw.push_str(&template[at..start - 1]);
        let name = &template[start..end];
        match params.get(name) {
            Some(Value::String(s)) => raw.push_str(s),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => raw.push_str(&n.to_string()),
            Some(_) => return Err(format!("parameter `{name}` is not a string or an integer")),
            None => return Err(format!("parameter `{name}` is not set")),
        }
        used.push(name);
        at = end + 1;
    }
    raw.push_str(&template[at..]);
    let name = sanitized(&raw);
    if name.is_empty() {
        let given = used
            .iter()
            .map(|n| {
                format!(
                    "{n}=\"{}\"",
                    crate::text::quote(&value_text(params.get(*n)))
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        return Err(format!(
            "the release template `{}` leaves no release name with {given}",
            crate::text::escape(template, 64)
        ));
    }
    crate::release::check_name(&name)?;
    Ok(name)
}

/// A parameter's value as text, for a message.
fn value_text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// `text` made a release name's characters: ASCII letters lowercased; every other character
/// outside `a-z`, `0-9`, `-` and `.` becomes `-`; a run of `-` and `.` becomes one `-` (a lone
/// `.` stays); `-` and `.` trimmed from both ends; cut to [`MAX_NAME`] characters and trimmed
/// again. Empty when nothing is left.
pub fn sanitized(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_NAME * 4));
    // The separators since the last letter or digit, by how many and whether all were `.`.
    let mut run = 0usize;
    let mut only_dots = true;
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if run > 0 && !out.is_empty() {
                out.push(if run == 1 && only_dots { '.' } else { '-' });
            }
            run = 0;
            only_dots = true;
            out.push(c);
            // Nothing past the limit survives the cut: stop reading a huge value.
            if out.len() > MAX_NAME {
                break;
            }
        } else {
            run += 1;
            only_dots &= c == '.';
        }
    }
    // Leading separators were never written and trailing ones never flushed; the cut may
    // leave a separator at the new end.
    out.truncate(MAX_NAME);
    out.trim_end_matches(['-', '.']).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_take_the_parameters() {
        let params = json!({"node": "node-1", "kind": "Deployment", "name": "web", "n": 3});
        assert_eq!(render("drain-{node}", &params).unwrap(), "drain-node-1");
        assert_eq!(
            render("restart-{kind}-{name}", &params).unwrap(),
            "restart-deployment-web"
        );
        assert_eq!(render("{name}{n}", &params).unwrap(), "web3");
        assert_eq!(render("fixed", &params).unwrap(), "fixed");
        assert_eq!(render("a.{name}.b", &params).unwrap(), "a.web.b");
    }

    #[test]
    fn hostile_values_become_release_names() {
        let drain = |node: &str| render("drain-{node}", &json!({ "node": node }));
        assert_eq!(drain("../x").unwrap(), "drain-x");
        assert_eq!(drain("../../etc/passwd").unwrap(), "drain-etc-passwd");
        assert_eq!(drain("Node_1").unwrap(), "drain-node-1");
        assert_eq!(drain("WORKER.Prod").unwrap(), "drain-worker.prod");
        assert_eq!(drain("a..b").unwrap(), "drain-a-b");
        assert_eq!(drain("a.-b").unwrap(), "drain-a-b");
        assert_eq!(drain("x\u{1b}[2J\u{202e}y").unwrap(), "drain-x-2j-y");
        assert_eq!(drain("nœud-é").unwrap(), "drain-n-ud");
        assert_eq!(drain("-.node.-").unwrap(), "drain-node");
        assert_eq!(drain("").unwrap(), "drain");
        assert_eq!(drain("???").unwrap(), "drain");
        let long = drain(&"n".repeat(300)).unwrap();
        assert_eq!(long.len(), MAX_NAME);
        assert!(long.starts_with("drain-nnn"));
        // A cut that lands on a separator is trimmed again.
        let cut = drain(&format!("{}-abc", "n".repeat(46))).unwrap();
        assert_eq!(cut, format!("drain-{}", "n".repeat(46)));
        assert!(crate::release::check_name(&cut).is_ok());
        for node in ["../x", "Node_1", "\u{0}\u{7f}", "a.b.c", "🙂x🙂"] {
            assert!(
                crate::release::check_name(&drain(node).unwrap()).is_ok(),
                "{node:?}"
            );
        }
    }

    #[test]
    fn nothing_left_is_refused() {
        let err = render("{node}", &json!({"node": "../"})).unwrap_err();
        assert!(
            err.contains("leaves no release name with node=\"../\""),
            "{err}"
        );
        let err = render("{node}", &json!({"node": "\u{1b}\u{202e}\u{9b}"})).unwrap_err();
        assert!(!err.chars().any(crate::text::is_unsafe), "{err}");
        assert!(
            render("{node}", &json!({}))
                .unwrap_err()
                .contains("not set")
        );
        assert!(
            render("{node}", &json!({"node": true}))
                .unwrap_err()
                .contains("not a string or an integer")
        );
    }

    #[test]
    fn sanitizing_is_linear_and_bounded() {
        assert_eq!(sanitized("---"), "");
        assert_eq!(sanitized("a"), "a");
        assert_eq!(sanitized("A.B"), "a.b");
        let huge = "x".repeat(1 << 20);
        assert_eq!(sanitized(&huge).len(), MAX_NAME);
    }
}
