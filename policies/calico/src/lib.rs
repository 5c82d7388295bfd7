//! Calico's upgrade procedures, each a forward step and its undo, shared by the five policies.
//!
//! Every procedure has the same shape, so that `calico-upgrade` can run them one after the
//! other in one release and one checkpoint:
//!
//! - a `Params` (the policy's parameters, kebab-case) and a `State` (`Default`, serde): what
//!   the procedure has done so far, enough for `cutover resume` to continue and for an abort
//!   to put it back, since a resumed run gets no inputs;
//! - `forward(ctx, &params, &mut state, save)`, which saves the state through `save` after
//!   each step that changed the cluster, and returns the run's one-line summary;
//! - `undo(ctx, &mut state, save)`, which puts back what `state` says was done.
//!
//! [`drive`] runs one procedure as a whole policy: `cutover abort` (and `cutover rollback` of
//! a failed or interrupted run) undoes, anything else goes forward from the checkpoint.

pub mod config;
pub mod controller;
pub mod netpol;
pub mod node_by_node;
pub mod upgrade;

use cutover_guest_sdk::{Context, Error, Request};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The one object the run's inputs hold (none: no inputs, as on a resume), or an error naming
/// `what` the policy takes.
pub fn single_input(ctx: &Context, what: &str) -> Result<Option<serde_json::Value>, Error> {
    let mut objects = cutover_guest_sdk::objects::objects_of(&ctx.inputs()?)?;
    match objects.len() {
        0 => Ok(None),
        1 => Ok(objects.pop()),
        n => Err(Error::invalid(format!(
            "the inputs hold {n} objects: give exactly one {what}"
        ))),
    }
}

/// Saves the run's whole checkpoint after a procedure's state changed.
pub type Save<'a, S> = &'a mut dyn FnMut(&S) -> Result<(), Error>;

/// The checkpoint of a procedure run as a policy: its state, and whether an undo has started.
#[derive(Default, Serialize, Deserialize)]
struct Checkpoint<S> {
    /// Set when an undo starts, before its first change: from then on only the undo may run.
    #[serde(default)]
    undoing: bool,
    #[serde(flatten)]
    state: S,
}

/// Runs a procedure as a policy: restores its state from the checkpoint, then goes forward
/// (`run`, `resume`, `retry`) or undoes (`abort`, and `rollback` of a failed or interrupted
/// run), saving the state as it goes. Once an undo has started, going forward is refused: a
/// half-undone run resumed forward would be deployed with part of it undone.
pub fn drive<S>(
    ctx: &Context,
    forward: impl FnOnce(&Context, &mut S, Save<S>) -> Result<String, Error>,
    undo: impl FnOnce(&Context, &mut S, Save<S>) -> Result<String, Error>,
) -> Result<String, Error>
where
    S: Default + Serialize + DeserializeOwned,
{
    let restored: Checkpoint<S> = ctx.restore()?.unwrap_or_default();
    let (mut undoing, mut state) = (restored.undoing, restored.state);
    match ctx.requested() {
        Request::Abort => {
            if !undoing {
                undoing = true;
                ctx.checkpoint(&Checkpoint {
                    undoing,
                    state: &state,
                })?;
            }
            let mut save = |s: &S| ctx.checkpoint(&Checkpoint { undoing, state: s });
            undo(ctx, &mut state, &mut save)
        }
        _ if undoing => Err(Error::aborted(format!(
            "an undo of this run has started: it cannot go forward any more; finish the undo with `cutover rollback {}` (or `cutover abort {}`)",
            ctx.release(),
            ctx.release()
        ))),
        _ => {
            let mut save = |s: &S| ctx.checkpoint(&Checkpoint { undoing, state: s });
            forward(ctx, &mut state, &mut save)
        }
    }
}

/// Runs `step` on the part of `outer` that `part` selects, with a `save` that writes the
/// whole `outer` (the part as `step` last saved it): how a composed procedure keeps one
/// checkpoint for all its parts.
pub fn nested<O, I, R>(
    outer: &mut O,
    save: Save<O>,
    part: fn(&mut O) -> &mut I,
    step: impl FnOnce(&mut I, Save<I>) -> R,
) -> R
where
    I: Clone + Default,
{
    let mut inner = std::mem::take(part(outer));
    let result = {
        let mut save_inner = |s: &I| {
            *part(outer) = s.clone();
            save(outer)
        };
        step(&mut inner, &mut save_inner)
    };
    *part(outer) = inner;
    result
}
