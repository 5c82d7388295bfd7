//! A probe's JSON path evaluated on a body: the grammar's normal form (`$.a.b[0]`, from Argo's
//! `{$.a.b}` or a bare `a.b`) run by jsonpath-rust (RFC 9535).

use jsonpath_rust::JsonPath;
use serde_json::Value;

use super::ProbeError;
use crate::text;

/// The value at `path` in `body`: none when the body is not JSON or nothing is there, the one
/// value, or an array of them when the path matches several. A bad path is `Invalid`, whatever
/// the body.
///
/// The query runs on a thread of its own: host calls run on the sandbox's fiber stack, where
/// jsonpath-rust's parser (pest, which measures the thread's stack) wrongly sees no stack left.
pub fn find(body: &[u8], path: &str) -> Result<Option<Value>, ProbeError> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("cutover-json-path".into())
            .spawn_scoped(scope, || find_here(body, path))
            .map_err(|e| ProbeError::Invalid(format!("cannot evaluate the JSON path: {e}")))?
            .join()
            .unwrap_or_else(|_| {
                Err(ProbeError::Invalid(
                    "the JSON path's evaluation failed".into(),
                ))
            })
    })
}

fn find_here(body: &[u8], path: &str) -> Result<Option<Value>, ProbeError> {
    let path = cutover_grammar::json_path::normalize(path)
        .map_err(|e| ProbeError::Invalid(e.message().to_string()))?;
    let bad = |e: jsonpath_rust::parser::errors::JsonPathError| {
        ProbeError::Invalid(format!(
            "the JSON path {} does not parse: {}",
            text::escape(&path, 128),
            text::escape(&e.to_string(), 256)
        ))
    };
    let Ok(document) = serde_json::from_slice::<Value>(body) else {
        Value::Null.query(&path).map_err(bad)?;
        return Ok(None);
    };
    let mut found = document.query(&path).map_err(bad)?;
    Ok(match found.len() {
        0 => None,
        1 => found.pop().cloned(),
        _ => Some(Value::Array(found.into_iter().cloned().collect())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BODY: &[u8] = br#"{"status": "ok", "checks": [{"ok": true}, {"ok": false}], "n": 3}"#;

    #[test]
    fn finds_values_in_every_accepted_spelling() {
        assert_eq!(find(BODY, "$.status").unwrap(), Some(json!("ok")));
        assert_eq!(find(BODY, "{$.checks[0].ok}").unwrap(), Some(json!(true)));
        assert_eq!(find(BODY, "n").unwrap(), Some(json!(3)));
        assert_eq!(
            find(BODY, "$.checks[*].ok").unwrap(),
            Some(json!([true, false]))
        );
        assert_eq!(find(BODY, "$.missing").unwrap(), None);
        assert_eq!(find(b"<html>", "$.status").unwrap(), None);
    }

    #[test]
    fn a_bad_path_is_invalid_whatever_the_body() {
        assert!(matches!(find(BODY, "$[?("), Err(ProbeError::Invalid(_))));
        assert!(matches!(
            find(b"not json", "$[?("),
            Err(ProbeError::Invalid(_))
        ));
        assert!(matches!(find(BODY, "{}"), Err(ProbeError::Invalid(_))));
    }
}
