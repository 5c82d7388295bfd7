//! The bounds on what one request may ask of the simulator, and the API server's answers when a request exceeds one.
//!
//! Every request goes through [`Simulator::handle`](crate::Simulator::handle), in process
//! ([`SimService`](crate::SimService)) or over HTTP (`cutover sim serve`), so these bounds hold
//! on both paths:
//!
//! | bound | value | answer (as kube-apiserver 1.20 words it) |
//! |---|---|---|
//! | request body | [`MAX_BODY_BYTES`] (3 MiB, kube-apiserver's `MaxRequestBodyBytes`) | 413 `RequestEntityTooLarge` "Request entity too large: limit is 3145728" |
//! | JSON patch operations | [`MAX_JSON_PATCH_OPERATIONS`] (10,000, `maxJSONPatchOperations`) | 413 "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got N" |
//! | bytes copied by a JSON patch's `copy` operations | [`MAX_JSON_PATCH_COPY_BYTES`] (3 MiB, `JSONPatchMaxCopyBytes`) | 422 `Invalid` "the server rejected our request due to an error in our request" |
//! | JSON nesting | [`MAX_NESTING_DEPTH`] (100; kube-apiserver: 10,000) | the decoder's "exceeded max depth" error of the request's kind (see [`Nesting`]) |
//!
//! The nesting bound is lower than the real server's on purpose: serde_json, which kube-rs
//! reads responses with, refuses documents nested 128 levels or more, and a list wraps its
//! objects two levels deeper; 100 leaves room. Everything that walks an object recursively in
//! the simulator (patches, hashing, serialisation, `Drop`) is therefore bounded by it: request
//! bodies are checked before they are parsed, JSON patch operations as they are applied, and
//! the store refuses to keep anything deeper (docs/conformance.md lists the difference).

use bytes::Bytes;
use http_body::Body;
use http_body_util::BodyExt;
use serde_json::Value;

use crate::error::ApiError;

/// The largest request body accepted: kube-apiserver's `MaxRequestBodyBytes`.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// How much of a too-large body is read and dropped before the 413 is answered (so that an HTTP
/// client still sending gets the answer rather than a reset connection); beyond it, reading stops.
pub const DISCARD_LIMIT: usize = 64 * 1024 * 1024;

/// The most operations one JSON patch may have: kube-apiserver's `maxJSONPatchOperations`.
pub const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// The most bytes (of compact JSON) a JSON patch's `copy` operations may copy in total:
/// kube-apiserver's `JSONPatchMaxCopyBytes` (json-patch's `AccumulatedCopySizeLimit`).
pub const MAX_JSON_PATCH_COPY_BYTES: usize = 3 * 1024 * 1024;

/// The deepest nesting of arrays and objects in a request body or a stored object.
pub const MAX_NESTING_DEPTH: usize = 100;

/// 413 for a body over [`MAX_BODY_BYTES`].
pub fn body_too_large() -> ApiError {
    request_entity_too_large(format!("limit is {MAX_BODY_BYTES}"))
}

/// 413 for a JSON patch of more than [`MAX_JSON_PATCH_OPERATIONS`] operations.
pub fn too_many_operations(got: usize) -> ApiError {
    request_entity_too_large(format!(
        "The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {got}"
    ))
}

fn request_entity_too_large(message: String) -> ApiError {
    ApiError::new(
        413,
        "RequestEntityTooLarge",
        format!("Request entity too large: {message}"),
    )
}

/// Reads a request body of up to [`MAX_BODY_BYTES`]. A larger one is read on (up to
/// [`DISCARD_LIMIT`]) and dropped, and the answer is [`body_too_large`].
pub async fn read_body<B>(body: B) -> Result<Bytes, ApiError>
where
    B: Body,
    B::Error: std::fmt::Display,
{
    let mut body = std::pin::pin!(body);
    let mut data = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::bad_request(format!("reading the request body: {e}")))?;
        if let Ok(mut chunk) = frame.into_data() {
            let len = bytes::Buf::remaining(&chunk);
            total = total.saturating_add(len);
            if total <= MAX_BODY_BYTES {
                data.extend_from_slice(&bytes::Buf::copy_to_bytes(&mut chunk, len));
            } else if total > DISCARD_LIMIT {
                break;
            }
        }
    }
    if total > MAX_BODY_BYTES {
        return Err(body_too_large());
    }
    Ok(Bytes::from(data))
}

/// A JSON document nested deeper than [`MAX_NESTING_DEPTH`]: the opening bracket that went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nesting {
    /// `[` or `{`.
    pub bracket: u8,
}

impl Nesting {
    /// Go's encoding/json wording, which kube-apiserver passes on.
    fn syntax_error(self) -> String {
        format!(
            "invalid character '{}' exceeded max depth",
            char::from(self.bracket)
        )
    }

    /// 400, as for a create or replace body of `kind`: kube-apiserver's decoder fails on the
    /// kind lookup and quotes the first 30 bytes of the body.
    pub fn in_object(self, kind: &str, body: &[u8]) -> ApiError {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {kind}): couldn't get \
             version/kind; json parse error: {} ({})",
            self.syntax_error(),
            summarize(body)
        ))
    }

    /// 400, as for a JSON patch or a strategic merge patch.
    pub fn in_patch(self) -> ApiError {
        ApiError::bad_request(self.syntax_error())
    }

    /// 400, as for a server-side apply body (kube-apiserver converts YAML to JSON first).
    pub fn in_apply() -> ApiError {
        ApiError::bad_request(format!(
            "error decoding YAML: error converting YAML to JSON: yaml: exceeded max depth of {MAX_NESTING_DEPTH}"
        ))
    }
}

/// 500 with no reason: what kube-apiserver 1.20 answers for a JSON merge patch it cannot decode
/// (nested too deep included); json-patch's `ErrBadJSONPatch` reaches the client unmapped.
pub fn undecodable_merge_patch() -> ApiError {
    ApiError::new(500, "", "Invalid JSON Patch")
}

/// apimachinery's `summarizeData(body, 30)`: the start of a JSON body, or hex otherwise.
pub fn summarize(body: &[u8]) -> String {
    const MAX: usize = 30;
    let (head, more) = if body.len() > MAX {
        (&body[..MAX], " ...")
    } else {
        (body, "")
    };
    match body.first() {
        None => "<empty>".to_string(),
        Some(b'{') => format!("{}{more}", String::from_utf8_lossy(head)),
        Some(_) => {
            let hex: String = head.iter().map(|b| format!("{b:02x}")).collect();
            format!("{hex}{more}")
        }
    }
}

/// Scans a JSON text (without parsing it) for nesting deeper than [`MAX_NESTING_DEPTH`];
/// linear time, no recursion, no allocation. Brackets inside strings do not count.
pub fn check_nesting(text: &[u8]) -> Result<(), Nesting> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in text {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING_DEPTH {
                    return Err(Nesting { bracket: b });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// How deeply arrays and objects nest in `value` (a scalar: 0, `{}`: 1), without recursion.
pub fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack: Vec<(&Value, usize)> = vec![(value, 0)];
    while let Some((v, above)) = stack.pop() {
        let level = above + 1;
        match v {
            Value::Array(items) => {
                deepest = deepest.max(level);
                stack.extend(items.iter().map(|c| (c, level)));
            }
            Value::Object(map) => {
                deepest = deepest.max(level);
                stack.extend(map.values().map(|c| (c, level)));
            }
            _ => {}
        }
    }
    deepest
}

/// The length of `value` as compact JSON (how json-patch measures a copy).
pub fn json_size(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail; a value that could not be written would count as 0.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(levels: usize) -> String {
        format!("{}1{}", "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn nesting_is_counted_outside_strings_only() {
        assert_eq!(check_nesting(nested(MAX_NESTING_DEPTH).as_bytes()), Ok(()));
        assert_eq!(
            check_nesting(nested(MAX_NESTING_DEPTH + 1).as_bytes()),
            Err(Nesting { bracket: b'[' })
        );
        let quoted = format!(r#"{{"a": "{}\"{}"}}"#, "[".repeat(500), "{".repeat(500));
        assert_eq!(check_nesting(quoted.as_bytes()), Ok(()));
        let value: Value = serde_json::from_str(&nested(MAX_NESTING_DEPTH)).unwrap();
        assert_eq!(depth(&value), MAX_NESTING_DEPTH);
        assert_eq!(depth(&json!({"a": [1, {"b": {}}], "c": 2})), 4);
        assert_eq!(depth(&json!("scalar")), 0);
    }

    #[test]
    fn messages_quote_the_body_as_the_api_server_does() {
        let body = br#"{"apiVersion":"v1","kind":"ConfigMap","x":[[[]]]}"#;
        let err = Nesting { bracket: b'[' }.in_object("ConfigMap", body);
        assert_eq!(
            (err.code, err.reason),
            (400, "BadRequest"),
            "{}",
            err.message
        );
        assert_eq!(
            err.message,
            "the object provided is unrecognized (must be of type ConfigMap): couldn't get \
             version/kind; json parse error: invalid character '[' exceeded max depth \
             ({\"apiVersion\":\"v1\",\"kind\":\"Con ...)"
        );
        assert_eq!(summarize(b"[1]"), "5b315d");
        assert_eq!(json_size(&json!({"a": [1, "x"]})), r#"{"a":[1,"x"]}"#.len());
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_refused() {
        let at_limit = http_body_util::Full::new(Bytes::from(vec![b'x'; MAX_BODY_BYTES]));
        assert_eq!(read_body(at_limit).await.unwrap().len(), MAX_BODY_BYTES);
        let over = http_body_util::Full::new(Bytes::from(vec![b'x'; MAX_BODY_BYTES + 1]));
        let err = read_body(over).await.unwrap_err();
        assert_eq!(
            (err.code, err.reason, err.message.as_str()),
            (
                413,
                "RequestEntityTooLarge",
                "Request entity too large: limit is 3145728"
            )
        );
    }
}
