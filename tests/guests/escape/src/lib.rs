//! Test guest `escape`: declares only `cluster/get:v1/Node`, then tries to delete a Namespace.
//!
//! It returns `Ok` either way, with a summary saying what happened, so the test can assert
//! the denial (`delete denied: forbidden: ...`) rather than infer it from a failed run.

use cutover_guest_sdk::k8s_openapi::api::core::v1::Namespace;
use cutover_guest_sdk::{Context, Error, export_policy};
use serde::Deserialize;

#[derive(Deserialize)]
struct Params {
    target: String,
}

fn escape(ctx: &Context) -> Result<String, Error> {
    let p: Params = ctx.params()?;
    Ok(match ctx.delete::<Namespace>(&p.target) {
        Ok(()) => format!("delete allowed: namespace {} deleted", p.target),
        Err(e) if e.is_forbidden() => format!("delete denied: forbidden: {e}"),
        Err(e) => format!("delete failed: {}: {e}", e.kind()),
    })
}

export_policy! {
    name: "escape",
    version: env!("CARGO_PKG_VERSION"),
    description: "Tries to delete a Namespace it did not declare (test guest for capability checks).",
    params: [
        { name: "target", type: "string", default: "kube-system", description: "The Namespace to try to delete." },
    ],
    capabilities: ["cluster/get:v1/Node"],
    run: escape,
}
