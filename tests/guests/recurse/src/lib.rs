//! Test guest `recurse`: attacks stacks, its own (unbounded recursion) and the host's (JSON nested 100,000 deep).
//!
//! `mode`:
//! - `stack`: recurses until the wasm stack overflows (the host must report a trap);
//! - `deep-json`: sends arrays and objects nested 100,000 deep to `apply` and to `patch` with
//!   each patch type, and returns `apply-array=<kind> ... patch-apply-object=<kind>` (each
//!   should be `invalid`).

use std::hint::black_box;

use cutover_guest_sdk::bindings::cutover::policy::cluster as wit;
use cutover_guest_sdk::bindings::cutover::policy::types::{Error as WitError, ObjectRef};
use cutover_guest_sdk::{Context, Error, export_policy};
use serde::Deserialize;

const DEPTH: usize = 100_000;

#[derive(Deserialize)]
struct Params {
    mode: String,
}

/// Not a tail call (the result is used after the call returns), and the base case is one the
/// optimizer cannot see is never reached, so every level takes a real wasm stack frame.
fn deep(n: u64) -> u64 {
    if black_box(n) == u64::MAX {
        return 0;
    }
    deep(n + 1).wrapping_mul(3).wrapping_add(n)
}

fn nested(open: &str, close: &str, leaf: &str) -> String {
    let mut text = String::with_capacity(DEPTH * (open.len() + close.len()) + leaf.len());
    for _ in 0..DEPTH {
        text.push_str(open);
    }
    text.push_str(leaf);
    for _ in 0..DEPTH {
        text.push_str(close);
    }
    text
}

fn kind<T>(result: Result<T, WitError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => Error::from(e).kind(),
    }
}

fn deep_json() -> String {
    let target = ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: None,
        name: "deep".into(),
    };
    let mut results = Vec::new();
    for (shape, body) in [
        ("array", nested("[", "]", "1")),
        ("object", nested("{\"a\":", "}", "1")),
    ] {
        let manifest = format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"deep"}},"data":{{"x":"y"}},"deep":{body}}}"#
        );
        results.push(format!("apply-{shape}={}", kind(wit::apply(&manifest))));
        for (name, patch_type) in [
            ("merge", wit::PatchType::Merge),
            ("json", wit::PatchType::Json),
            ("strategic", wit::PatchType::Strategic),
            ("apply", wit::PatchType::Apply),
        ] {
            let outcome = kind(wit::patch(&target, patch_type, &body));
            results.push(format!("patch-{name}-{shape}={outcome}"));
        }
    }
    results.join(" ")
}

fn recurse(ctx: &Context) -> Result<String, Error> {
    let p: Params = ctx.params()?;
    match p.mode.as_str() {
        "stack" => Ok(format!("recursion ended: {}", deep(0))),
        "deep-json" => Ok(deep_json()),
        other => Err(Error::invalid(format!("unknown mode {other}"))),
    }
}

export_policy! {
    name: "recurse",
    version: env!("CARGO_PKG_VERSION"),
    description: "Recurses without end, or sends JSON nested 100,000 deep to the host (test guest).",
    params: [
        { name: "mode", type: "string", default: "stack", description: "stack or deep-json." },
    ],
    capabilities: [
        "cluster/apply:v1/ConfigMap@{namespace}",
        "cluster/patch:v1/ConfigMap@{namespace}",
    ],
    run: recurse,
}
