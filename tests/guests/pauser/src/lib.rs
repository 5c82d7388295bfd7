//! Test guest `pauser`: a rollout of a ConfigMap's `weight` that pauses for the operator. A
//! new run (or a retry) sets the weight to 20 and pauses; `promote` goes on to 50 and pauses
//! again when `pauses` is 2, else to 100 and finishes; `promote --full` goes to 100 at once;
//! `abort` sets the weight back to 0 (the stable version) and fails; `fail-after-pause` makes a
//! run pause and then fail.

use cutover_guest_sdk::{Context, Error, Request, export_policy};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Params {
    pauses: u32,
    fail_after_pause: bool,
}

/// Sets the rollout's weight: what the operator would see move.
fn set_weight(ctx: &Context, weight: u32) -> Result<(), Error> {
    let cm = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "pauser-weight"},
        "data": {"weight": weight.to_string(), "attempt": ctx.attempt().to_string()},
    });
    ctx.apply_dynamic(&cm).map(drop)
}

/// Sets the weight of step `step`, checkpoints it and pauses there.
fn pause_at(ctx: &Context, step: u32, weight: u32, total: u32) -> Result<String, Error> {
    set_weight(ctx, weight)?;
    ctx.checkpoint(&step)?;
    ctx.pause(&format!("step {step} of {total}: weight {weight}%"))?;
    Ok(format!("paused at weight {weight}%"))
}

fn pauser(ctx: &Context) -> Result<String, Error> {
    let p: Params = ctx.params()?;
    let step: u32 = ctx.restore()?.unwrap_or(0);
    let total = p.pauses.max(1);
    let summary = match ctx.requested() {
        Request::Start | Request::Retry => pause_at(ctx, 1, 20, total)?,
        Request::Resume => pause_at(ctx, step.max(1), if step > 1 { 50 } else { 20 }, total)?,
        Request::Promote if step < total => pause_at(ctx, step + 1, 50, total)?,
        Request::Promote | Request::PromoteFull => {
            set_weight(ctx, 100)?;
            format!("promoted to weight 100% from step {step}")
        }
        Request::Abort => {
            set_weight(ctx, 0)?;
            return Err(Error::aborted(format!(
                "aborted at step {step}: weight back to 0%"
            )));
        }
    };
    if p.fail_after_pause {
        return Err(Error::invalid("failing after the pause, as asked"));
    }
    Ok(summary)
}

export_policy! {
    name: "pauser",
    version: env!("CARGO_PKG_VERSION"),
    description: "A rollout that pauses for the operator (test guest for promote, abort, retry).",
    release: "pauser",
    params: [
        { name: "pauses", type: "integer", default: 1, minimum: 1, maximum: 2, description: "How many pauses before it finishes." },
        { name: "fail-after-pause", type: "boolean", default: false, description: "Pause, then fail." },
    ],
    capabilities: [
        "cluster/apply:v1/ConfigMap",
    ],
    run: pauser,
}
