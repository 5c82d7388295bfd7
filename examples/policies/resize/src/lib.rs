//! `resize`: scale a Deployment and wait until the new replica count is rolled out.

use cutover_guest_sdk::k8s_openapi::api::apps::v1::Deployment;
use cutover_guest_sdk::params::Duration;
use cutover_guest_sdk::{Condition, Context, Error, Patch, export_policy, info};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct Params {
    name: String,
    replicas: u32,
    timeout: Duration,
}

fn resize(ctx: &Context) -> Result<String, Error> {
    let p: Params = ctx.params()?;
    ctx.progress(1, 2, &format!("scaling {} to {}", p.name, p.replicas));
    ctx.patch::<Deployment>(
        &p.name,
        &Patch::Merge(json!({"spec": {"replicas": p.replicas}})),
    )?;
    info!("waiting up to {} for {} to roll out", p.timeout, p.name);
    ctx.wait::<Deployment>(&p.name, &Condition::RolledOut, p.timeout)
        .map_err(|e| e.context(format!("deployment {}", p.name)))?;
    ctx.progress(2, 2, "rolled out");
    Ok(format!("deployment {} scaled to {}", p.name, p.replicas))
}

export_policy! {
    name: "resize",
    version: env!("CARGO_PKG_VERSION"),
    description: "Scale a Deployment and wait for it to roll out.",
    release: "resize-{name}",
    params: [
        { name: "name", type: "string", required: true, description: "The Deployment." },
        { name: "replicas", type: "integer", default: 1, description: "How many replicas." },
        { name: "timeout", type: "duration", default: "5m", description: "Give up after this long." },
    ],
    capabilities: [
        "cluster/patch:apps/v1/Deployment@{namespace}",
        "cluster/wait:apps/v1/Deployment@{namespace}",
    ],
    run: resize,
}
