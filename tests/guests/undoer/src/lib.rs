//! Test guest `undoer`: a policy that undoes its own runs (`rollback_by_policy`). A run makes
//! three changes to ConfigMaps named after its release — creates `<release>-made`, patches
//! `<release>-base` (which must exist), updates `<release>-made` — checkpointing before each
//! (the step under way) and after it (the step done); `fail-after` makes it fail after a step.
//! Told `abort` (`cutover rollback` or `cutover abort` of its failed or interrupted run) it
//! undoes its steps newest first, the one under way when the run stopped included, each once,
//! checkpointed, and writes the order into `<release>-log` — which a replay of the revision's
//! journal would delete, so that the log left afterwards shows the journal was not replayed.
//! `fail-undo-attempt` makes the undo fail on that attempt, after undoing one step.

use cutover_guest_sdk::{Context, Error, ObjectRef, Patch, Request, export_policy};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Params {
    fail_after: u32,
    fail_undo_attempt: u32,
}

/// What the checkpoint holds: enough to go on, and to undo.
#[derive(Default, Serialize, Deserialize)]
struct State {
    /// The step under way (it may have been made or not).
    started: u32,
    /// The last step done.
    done: u32,
    /// The steps undone, in the order they were.
    undone: Vec<u32>,
}

const STEPS: u32 = 3;

fn config_map(ctx: &Context, suffix: &str, data: serde_json::Value) -> serde_json::Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": format!("{}-{suffix}", ctx.release())},
        "data": data,
    })
}

fn named(ctx: &Context, suffix: &str) -> ObjectRef {
    ObjectRef::new("v1", "ConfigMap", format!("{}-{suffix}", ctx.release()))
}

fn step(ctx: &Context, n: u32) -> Result<(), Error> {
    match n {
        1 => ctx
            .apply_dynamic(&config_map(ctx, "made", json!({"state": "made"})))
            .map(drop),
        2 => ctx
            .patch_dynamic(
                &named(ctx, "base"),
                &Patch::Merge(json!({"data": {"value": "changed"}})),
            )
            .map(drop),
        _ => ctx
            .apply_dynamic(&config_map(ctx, "made", json!({"state": "done"})))
            .map(drop),
    }
}

/// Puts step `n` back; each is harmless when the step was never made.
fn undo_step(ctx: &Context, n: u32) -> Result<(), Error> {
    match n {
        1 => match ctx.delete_dynamic(&named(ctx, "made")) {
            Err(e) if e.is_not_found() => Ok(()),
            other => other,
        },
        2 => ctx
            .patch_dynamic(
                &named(ctx, "base"),
                &Patch::Merge(json!({"data": {"value": "original"}})),
            )
            .map(drop),
        _ => match ctx.patch_dynamic(
            &named(ctx, "made"),
            &Patch::Merge(json!({"data": {"state": "made"}})),
        ) {
            Err(e) if e.is_not_found() => Ok(()),
            other => other.map(drop),
        },
    }
}

fn forward(ctx: &Context, p: &Params, state: &mut State) -> Result<String, Error> {
    for n in state.done + 1..=STEPS {
        state.started = n;
        ctx.checkpoint(state)?;
        step(ctx, n).map_err(|e| e.context(format!("step {n}")))?;
        state.done = n;
        ctx.checkpoint(state)?;
        ctx.progress(n, STEPS, &format!("step {n} done"));
        if n == p.fail_after {
            return Err(Error::aborted(format!("failing after step {n}, as asked")));
        }
    }
    Ok(format!("{STEPS} steps done (attempt {})", ctx.attempt()))
}

fn order(state: &State) -> String {
    let steps: Vec<String> = state.undone.iter().map(u32::to_string).collect();
    steps.join(",")
}

fn undo(ctx: &Context, p: &Params, state: &mut State) -> Result<String, Error> {
    for n in (1..=state.started.max(state.done)).rev() {
        if state.undone.contains(&n) {
            continue;
        }
        undo_step(ctx, n).map_err(|e| e.context(format!("undoing step {n}")))?;
        state.undone.push(n);
        ctx.checkpoint(state)?;
        let log = json!({"order": order(state), "attempt": ctx.attempt().to_string()});
        ctx.apply_dynamic(&config_map(ctx, "log", log))?;
        if ctx.attempt() == p.fail_undo_attempt {
            return Err(Error::unavailable(format!(
                "undo failed on attempt {} after undoing step {n}, as asked",
                ctx.attempt()
            )));
        }
    }
    Ok(format!(
        "undid steps {} (attempt {})",
        order(state),
        ctx.attempt()
    ))
}

fn undoer(ctx: &Context) -> Result<String, Error> {
    let p: Params = ctx.params()?;
    let mut state: State = ctx.restore()?.unwrap_or_default();
    match ctx.requested() {
        Request::Abort => undo(ctx, &p, &mut state),
        _ => forward(ctx, &p, &mut state),
    }
}

export_policy! {
    name: "undoer",
    version: env!("CARGO_PKG_VERSION"),
    description: "Three changes to ConfigMaps, undone by the policy itself (test guest for rollback_by_policy).",
    rollback_by_policy: true,
    params: [
        { name: "fail-after", type: "integer", default: 0, minimum: 0, maximum: 3, description: "Fail after this step (0: never)." },
        { name: "fail-undo-attempt", type: "integer", default: 0, minimum: 0, description: "Make the undo fail on this attempt, after one step (0: never)." },
    ],
    capabilities: [
        "cluster/apply:v1/ConfigMap",
        "cluster/patch:v1/ConfigMap",
        "cluster/delete:v1/ConfigMap",
    ],
    run: undoer,
}
