//! Test guest `steps`: six changes of every kind — create, patch, scale, cordon, delete, change
//! what it created — with a checkpoint after each, so that a resumed run skips what was done.
//! The crash-at-every-mutation tests run it; `fail-after` makes it fail after a step, `hold-ms`
//! makes it hold the release (its lock) for a while, and `checkpoint-bytes` makes its revision
//! large (its checkpoint and the ConfigMap it applies carry that much noise).

use std::time::Duration;

use cutover_guest_sdk::{Context, Error, ObjectRef, Patch, export_policy};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Params {
    node: String,
    deployment: String,
    fail_after: u32,
    hold_ms: u64,
    hold_after: u32,
    checkpoint_bytes: u64,
}

fn config_map(name: &str, step: u32, noise: Option<&str>) -> serde_json::Value {
    let mut cm = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"app": "steps"}},
        "data": {"step": step.to_string()},
    });
    if let Some(noise) = noise {
        cm["data"]["noise"] = noise.into();
    }
    cm
}

/// A checkpoint of `bytes` that gzip cannot shrink much (a xorshift stream of printable bytes).
fn filler(bytes: u64) -> String {
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    (0..bytes)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'0' + (x % 64) as u8)
        })
        .collect()
}

fn step(ctx: &Context, p: &Params, n: u32, noise: Option<&str>) -> Result<(), Error> {
    let cm = |name: &str| ObjectRef::new("v1", "ConfigMap", name);
    match n {
        1 => ctx.apply_dynamic(&config_map("steps-made", 1, noise)).map(drop),
        2 => ctx
            .patch_dynamic(
                &cm("steps-base"),
                &Patch::Merge(json!({"data": {"patched": "yes"}, "metadata": {"annotations": {"steps/at": "2"}}})),
            )
            .map(drop),
        3 => ctx.scale_dynamic(&ObjectRef::new("apps/v1", "Deployment", p.deployment.as_str()), 3),
        4 => ctx.cordon(&p.node),
        5 => ctx.delete_dynamic(&cm("steps-old")),
        _ => ctx.apply_dynamic(&config_map("steps-made", 6, noise)).map(drop),
    }
}

fn steps(ctx: &Context) -> Result<String, Error> {
    let p: Params = ctx.params()?;
    // `n`, or `[n, noise]` with checkpoint-bytes.
    let saved: Option<serde_json::Value> = ctx.restore()?;
    let done = saved
        .as_ref()
        .and_then(|v| v.as_u64().or_else(|| v.get(0)?.as_u64()))
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
    if p.hold_ms > 0 && p.hold_after == 0 {
        ctx.sleep(Duration::from_millis(p.hold_ms));
    }
    let filler = (p.checkpoint_bytes > 0).then(|| filler(p.checkpoint_bytes));
    for n in done + 1..=6 {
        step(ctx, &p, n, filler.as_deref()).map_err(|e| e.context(format!("step {n}")))?;
        match &filler {
            Some(f) => ctx.checkpoint(&json!([n, f]))?,
            None => ctx.checkpoint(&n)?,
        }
        ctx.progress(n, 6, &format!("step {n} done"));
        if p.hold_ms > 0 && n == p.hold_after {
            ctx.sleep(Duration::from_millis(p.hold_ms));
        }
        if n == p.fail_after {
            return Err(Error::aborted(format!("failing after step {n}, as asked")));
        }
    }
    // What the policy sees of its release: every revision, its own (pending) last.
    let history = ctx.revisions()?;
    let own = history.last().map_or("none".to_string(), |r| {
        format!("{} {}", r.number, r.status.as_str())
    });
    Ok(format!(
        "six steps done (attempt {}, from step {}); history: {} revisions, this one {own}",
        ctx.attempt(),
        done + 1,
        history.len()
    ))
}

export_policy! {
    name: "steps",
    version: env!("CARGO_PKG_VERSION"),
    description: "Six changes of every kind, resumable from its checkpoint (test guest for releases).",
    release: "steps",
    params: [
        { name: "node", type: "string", default: "node-1", description: "The node step 4 cordons." },
        { name: "deployment", type: "string", default: "web", description: "The Deployment step 3 scales to 3." },
        { name: "fail-after", type: "integer", default: 0, description: "Fail after this step (0: never)." },
        { name: "hold-ms", type: "integer", default: 0, description: "Sleep this long, holding the release: first, or after step hold-after." },
        { name: "hold-after", type: "integer", default: 0, description: "The step after which to sleep (0: before the first)." },
        { name: "checkpoint-bytes", type: "integer", default: 0, description: "Make each checkpoint, and the ConfigMap it applies, this large." },
    ],
    capabilities: [
        "cluster/apply:v1/ConfigMap",
        "cluster/patch:v1/ConfigMap",
        "cluster/delete:v1/ConfigMap",
        "cluster/scale:apps/v1/Deployment",
        "cluster/cordon",
        "revisions/list-revisions",
    ],
    run: steps,
}
