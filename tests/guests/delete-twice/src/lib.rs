//! Test guest `delete-twice`: applies the ConfigMap `doomed` in the run's namespace, then deletes it twice.
//!
//! The second delete finds nothing to remove: it succeeds, as `kubectl delete --ignore-not-found`
//! does, and the host must not record it as a change.

use cutover_guest_sdk::k8s_openapi::api::core::v1::ConfigMap;
use cutover_guest_sdk::{Context, Error, export_policy};
use serde_json::json;

fn delete_twice(ctx: &Context) -> Result<String, Error> {
    ctx.apply_dynamic(&json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "doomed"},
        "data": {"k": "v"},
    }))?;
    ctx.delete::<ConfigMap>("doomed")?;
    ctx.delete::<ConfigMap>("doomed")?;
    Ok("applied doomed, deleted it, deleted it again".into())
}

export_policy! {
    name: "delete-twice",
    version: env!("CARGO_PKG_VERSION"),
    description: "Applies a ConfigMap, then deletes it twice (test guest).",
    params: [],
    capabilities: [
        "cluster/apply:v1/ConfigMap@{namespace}",
        "cluster/delete:v1/ConfigMap@{namespace}",
    ],
    run: delete_twice,
}
