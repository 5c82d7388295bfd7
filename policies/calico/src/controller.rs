//! The policy controller moved from its old ReplicaSet to a Deployment with never two of it running (the guide's pre-2.0 upgrade), and back.
//!
//! Forward: check everything, refusing before any change → scale the ReplicaSet to 0 → wait
//! until its pods are gone → apply the Deployment (strategy `Recreate` only) → wait until it is
//! rolled out → optionally delete the ReplicaSet (by default it is kept at 0 replicas). Undo,
//! from wherever the state says the forward got: delete the Deployment the run created (or
//! re-apply the one it changed) and wait until its pods are gone → scale the ReplicaSet back
//! to its replicas (re-created from the copy in the state if it is gone) and wait until it is
//! Ready.
//!
//! [`forward`] takes the Deployment as a value, so that `calico-upgrade` can hand over the one
//! it read from its own inputs; the state keeps it (a resumed run gets no inputs).

use std::time::Duration as StdDuration;

mod check;
mod objects;
mod restore;

use cutover_guest_sdk::params::Duration;
use cutover_guest_sdk::{Condition, Context, DeleteOptions, Error, info};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Save;
use objects::{
    budget, deployment_ref, images, pods_of_replica_set, replica_set_ref, replicas, replicas_of,
    text, wait_gone,
};
use restore::{restore_replica_set, undo_deployment};

pub use check::{check, checked_deployment};

/// The default of each wait's `timeout`.
pub const DEFAULT_TIMEOUT: StdDuration = StdDuration::from_secs(300);

/// The procedure's parameters (kebab-case, as the policy declares them).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Params {
    /// The old ReplicaSet, in the run's namespace (`calico-policy-controller`).
    pub replica_set: String,
    /// How long each wait may take (the ReplicaSet's pods gone, the Deployment rolled out, and
    /// on undo the Deployment's pods gone, the ReplicaSet Ready); always within `--timeout`.
    #[serde(default = "default_timeout")]
    pub timeout: Duration,
    /// Delete the ReplicaSet once the Deployment is rolled out; by default it is kept at 0
    /// replicas, for an undo or a look at it.
    #[serde(default)]
    pub delete_replica_set: bool,
}

fn default_timeout() -> Duration {
    Duration(DEFAULT_TIMEOUT)
}

/// How far the forward got; the steps are in order, and an undo walks them back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Nothing checked, nothing changed.
    #[default]
    NotStarted,
    /// Checked and recorded; the ReplicaSet is being scaled to 0 (the call may have been made).
    Checked,
    /// The ReplicaSet is at 0 replicas.
    ScaledDown,
    /// Its pods are gone; the Deployment is being applied (the call may have been made).
    PodsGone,
    /// The Deployment is applied.
    Applied,
    /// The Deployment is rolled out: the move is done.
    RolledOut,
    /// The old ReplicaSet is deleted too (`delete-replica-set`).
    ReplicaSetDeleted,
}

impl Step {
    /// Where a run stands at this step, for the log of a resumed run.
    pub fn describe(self) -> &'static str {
        match self {
            Step::NotStarted => "nothing changed yet",
            Step::Checked => "checked; the ReplicaSet is being scaled to 0",
            Step::ScaledDown => "the ReplicaSet is at 0 replicas",
            Step::PodsGone => "the ReplicaSet's pods are gone; the Deployment is being applied",
            Step::Applied => "the Deployment is applied",
            Step::RolledOut => "the Deployment is rolled out",
            Step::ReplicaSetDeleted => "the Deployment is rolled out and the ReplicaSet deleted",
        }
    }
}

/// The old ReplicaSet as the run found it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ReplicaSetRecord {
    /// Its name, in the run's namespace.
    pub name: String,
    /// Its uid: its pods are the ones it controls.
    pub uid: String,
    /// Its `spec.replicas` before the run: what an undo scales it back to.
    pub replicas: u32,
    /// Its `spec.selector.matchLabels` as `k=v,...`: how its pods are listed.
    pub selector: String,
    /// Its identity, labels, annotations and spec: what an undo re-creates when it is gone
    /// (deleted by `delete-replica-set`, or garbage-collected with a Deployment that adopted it).
    pub copy: Value,
}

/// The Deployment the run applies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DeploymentRecord {
    /// Its name, in the run's namespace.
    pub name: String,
    /// The manifest, checked and with the run's namespace: a resumed run gets no inputs, so
    /// it applies this one.
    pub manifest: Value,
    /// Its `spec.selector.matchLabels` as `k=v,...`: how an undo lists its pods.
    pub selector: String,
    /// A copy of the Deployment of that name that existed before the run (what an undo
    /// re-applies); `None` when the run creates it.
    pub previous: Option<Value>,
    /// The uid of the Deployment once applied (an undo deletes only that one).
    pub uid: Option<String>,
}

/// What the procedure has done, enough to resume it and to undo it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct State {
    /// How far the forward got.
    pub step: Step,
    /// Each wait's timeout (an undo gets no parameters of its own).
    #[serde(default = "default_timeout")]
    pub timeout: Duration,
    /// The old ReplicaSet (set once checked).
    pub replica_set: Option<ReplicaSetRecord>,
    /// The new Deployment (set once checked).
    pub deployment: Option<DeploymentRecord>,
}

impl State {
    /// Whether [`forward`] needs the Deployment's manifest: only before it has checked and
    /// saved it.
    pub fn needs_manifest(&self) -> bool {
        self.step == Step::NotStarted
    }
}

/// Moves the controller from the ReplicaSet to the Deployment, continuing from `state`, and
/// saves the state after each change. `deployment` is the manifest, needed only when the
/// state has not started ([`State::needs_manifest`]). Every refusal comes before any change.
pub fn forward(
    ctx: &Context,
    params: &Params,
    deployment: Option<&Value>,
    state: &mut State,
    save: Save<State>,
) -> Result<String, Error> {
    if state.needs_manifest() {
        let manifest = deployment.ok_or_else(|| {
            Error::invalid("no Deployment manifest was given: nothing was changed")
        })?;
        let checked = check(ctx, params, manifest)?;
        if ctx.dry_run() {
            return plan(ctx, params, &checked);
        }
        *state = checked;
        save(state).map_err(|e| e.context("saving the checkpoint (nothing was changed yet)"))?;
    } else {
        info!("continuing from the checkpoint: {}", state.step.describe());
    }
    let (rs, dep) = records(state)?;
    let ns = ctx.namespace().to_string();
    let timeout = state.timeout.get();
    let total = if params.delete_replica_set { 5 } else { 4 };
    let rs_ref = replica_set_ref(&rs.name);
    let dep_ref = deployment_ref(&dep.name);
    let stays = format!(
        "ReplicaSet {ns}/{} stays at 0 replicas: `cutover resume {release}` continues, `cutover rollback {release}` scales it back",
        rs.name,
        release = ctx.release()
    );

    if state.step < Step::ScaledDown {
        ctx.progress(
            1,
            total,
            &format!("scaling ReplicaSet {ns}/{} to 0 replicas", rs.name),
        );
        ctx.scale_dynamic(&rs_ref, 0)
            .map_err(|e| e.context(format!("scaling ReplicaSet {ns}/{} to 0", rs.name)))?;
        state.step = Step::ScaledDown;
        save(state)?;
    }
    if state.step < Step::PodsGone {
        ctx.progress(
            2,
            total,
            &format!(
                "waiting until the pods of ReplicaSet {ns}/{} are gone",
                rs.name
            ),
        );
        let pods = pods_of_replica_set(ctx, &rs)?;
        wait_gone(
            ctx,
            &pods,
            timeout,
            &format!("ReplicaSet {ns}/{}'s pods", rs.name),
        )
        .map_err(|e| hint(e, &stays))?;
        state.step = Step::PodsGone;
        save(state)?;
    }
    if state.step < Step::Applied {
        let verb = if dep.previous.is_some() {
            "updating"
        } else {
            "creating"
        };
        ctx.progress(
            3,
            total,
            &format!("{verb} Deployment {ns}/{} (strategy Recreate)", dep.name),
        );
        let stored = ctx
            .apply_dynamic(&dep.manifest)
            .and_then(|a| a.json())
            .map_err(|e| {
                hint(
                    e.context(format!("applying Deployment {ns}/{}", dep.name)),
                    &stays,
                )
            })?;
        let uid = stored
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(record) = state.deployment.as_mut() {
            record.uid = uid;
        }
        state.step = Step::Applied;
        save(state)?;
    }
    if state.step < Step::RolledOut {
        ctx.progress(
            4,
            total,
            &format!("waiting until Deployment {ns}/{} is rolled out", dep.name),
        );
        let what = format!("Deployment {ns}/{} is rolled out", dep.name);
        let left = budget(ctx, timeout, &what)?;
        ctx.wait_dynamic(&dep_ref, &Condition::RolledOut, left)
            .map_err(|e| hint(e.context(format!("waiting until {what}")), &stays))?;
        state.step = Step::RolledOut;
        save(state)?;
    }
    if params.delete_replica_set && state.step < Step::ReplicaSetDeleted {
        ctx.progress(5, total, &format!("deleting ReplicaSet {ns}/{}", rs.name));
        ctx.delete_with(&rs_ref, &DeleteOptions::default().uid(rs.uid.clone()))
            .map_err(|e| e.context(format!("deleting ReplicaSet {ns}/{}", rs.name)))?;
        state.step = Step::ReplicaSetDeleted;
        save(state)?;
    }

    let verb = if dep.previous.is_some() {
        "updated"
    } else {
        "created"
    };
    let left = if state.step == Step::ReplicaSetDeleted {
        "the ReplicaSet is deleted"
    } else {
        "the ReplicaSet is kept at 0 replicas"
    };
    Ok(format!(
        "ReplicaSet {ns}/{} scaled from {} to 0 and its pods gone, Deployment {ns}/{} {verb} (Recreate) and rolled out; {left}",
        rs.name,
        replicas(rs.replicas),
        dep.name
    ))
}

/// Puts back what `state` says the forward did, newest first, saving as it goes: the
/// Deployment as before (deleted if the run created it) with its pods gone, then the
/// ReplicaSet at its replicas and Ready. Only one of the two ever runs pods.
pub fn undo(ctx: &Context, state: &mut State, save: Save<State>) -> Result<String, Error> {
    if state.step == Step::NotStarted {
        return Ok("nothing to undo: the move to the Deployment had not started".into());
    }
    let (rs, dep) = records(state)?;
    let timeout = state.timeout.get();
    let mut done = Vec::new();
    // From `PodsGone` on, the Deployment may have been applied.
    if state.step >= Step::PodsGone {
        done.push(undo_deployment(ctx, &rs, &dep, timeout)?);
        // The Deployment as before, the ReplicaSet at 0: where the forward stood then.
        state.step = Step::ScaledDown;
        save(state)?;
    }
    done.push(restore_replica_set(ctx, &rs, &dep, timeout)?);
    *state = State::default();
    save(state)?;
    Ok(done.join("; "))
}

/// The dry run: what the forward would do, as log lines, after a server-side dry run of the
/// apply (which checks the manifest against the API server). Changes nothing.
fn plan(ctx: &Context, params: &Params, state: &State) -> Result<String, Error> {
    let (rs, dep) = records(state)?;
    let ns = ctx.namespace();
    let timeout = params.timeout;
    let pods = pods_of_replica_set(ctx, &rs)?;
    let names: Vec<&str> = pods.iter().map(|p| text(p, "/metadata/name")).collect();
    info!(
        "would scale ReplicaSet {ns}/{} from {} to 0 and wait up to {timeout} until its {} gone{}",
        rs.name,
        replicas(rs.replicas),
        match pods.len() {
            1 => "1 pod is".to_string(),
            n => format!("{n} pods are"),
        },
        if names.is_empty() {
            String::new()
        } else {
            format!(" ({})", names.join(", "))
        }
    );
    ctx.apply_dynamic(&dep.manifest).map_err(|e| {
        e.context(format!(
            "applying Deployment {ns}/{} (server-side dry run)",
            dep.name
        ))
    })?;
    let verb = if dep.previous.is_some() {
        "update"
    } else {
        "create"
    };
    info!(
        "would {verb} Deployment {ns}/{} (strategy Recreate, {}, image {}) and wait up to {timeout} until it is rolled out",
        dep.name,
        replicas(replicas_of(&dep.manifest)),
        images(&dep.manifest)
    );
    if params.delete_replica_set {
        info!("would then delete ReplicaSet {ns}/{}", rs.name);
    } else {
        info!(
            "would keep ReplicaSet {ns}/{} at 0 replicas (delete-replica-set: false)",
            rs.name
        );
    }
    Ok(format!(
        "would move ReplicaSet {ns}/{} ({}) to Deployment {ns}/{} (dry run)",
        rs.name,
        replicas(rs.replicas),
        dep.name
    ))
}

/// The same error with `hint` after its reason: what the cluster looks like now, and what to
/// run next.
fn hint(e: Error, hint: &str) -> Error {
    let reason = format!("{}; {hint}", e.reason());
    match e {
        Error::NotFound(_) => Error::NotFound(reason),
        Error::Conflict(_) => Error::Conflict(reason),
        Error::Forbidden(_) => Error::Forbidden(reason),
        Error::Invalid(_) => Error::Invalid(reason),
        Error::Timeout(_) => Error::Timeout(reason),
        Error::Unavailable(_) => Error::Unavailable(reason),
        Error::Aborted(_) => Error::Aborted(reason),
        Error::Other(_) => Error::Other(reason),
    }
}

fn records(state: &State) -> Result<(ReplicaSetRecord, DeploymentRecord), Error> {
    match (&state.replica_set, &state.deployment) {
        (Some(rs), Some(dep)) => Ok((rs.clone(), dep.clone())),
        _ => Err(Error::invalid(format!(
            "checkpoint: at step {:?} but without the ReplicaSet and the Deployment it names",
            state.step
        ))),
    }
}

#[cfg(test)]
mod tests;
