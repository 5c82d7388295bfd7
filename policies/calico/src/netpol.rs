//! The guide's "Upgrading to v1 NetworkPolicy semantics": delete the policies of namespaces without DefaultDeny, create a deny-all policy in those with it; undone policy by policy.
//!
//! Before Kubernetes 1.7 (Calico 2.0), a namespace was isolated only when annotated
//! `net.beta.kubernetes.io/network-policy: {"ingress": {"isolation": "DefaultDeny"}}`, and the
//! NetworkPolicies of a namespace without it had no effect. With v1 semantics any policy that
//! selects a pod isolates it. So that traffic is allowed and denied exactly as before:
//!
//! - in a namespace without the annotation, every NetworkPolicy is deleted (its whole object
//!   is kept in the plan, and so in the checkpoint and the host's journal, to create it again);
//! - in a namespace with it, a policy `deny-policy-name` (`default-deny`) selecting every pod
//!   and allowing nothing is created, unless one of that name that does just that is there.
//!
//! The plan is made and checkpointed before the first change; a malformed annotation, a
//! conflicting policy of that name, or a plan too large for the checkpoint refuse the whole
//! run before it changes anything. The creates go first (a namespace that was isolated is
//! isolated again before anything else is opened), then the deletes, one checkpoint after
//! each. A resumed run continues the checkpointed plan without listing again. A dry run prints
//! the plan as a table and sends no change at all: the plan is the whole of what it would do.
//! [`undo`] creates each deleted policy again if it is absent and deletes each created one
//! whose uid is still the one created, newest first.

mod plan;
#[cfg(test)]
mod tests;

use cutover_guest_sdk::{Context, DeleteOptions, Error, ListParams, ObjectRef, info, warn};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Save;
use plan::plural;
pub use plan::{ANNOTATION, NamespacePlan, Plan, PlannedPolicy, deny_all, is_deny_all};

/// NetworkPolicy's api-version.
pub const API_VERSION: &str = "networking.k8s.io/v1";
/// NetworkPolicy's kind.
pub const KIND: &str = "NetworkPolicy";
/// The most JSON a checkpoint holds (the host's limit).
pub const CHECKPOINT_LIMIT: usize = 1 << 20;

/// The migration's parameters.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Params {
    /// The namespaces to migrate; empty: every namespace.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Namespaces left alone (their policies keep their v1 meaning).
    #[serde(default)]
    pub exclude_namespaces: Vec<String>,
    /// The name of the deny-all policy created in each DefaultDeny namespace.
    #[serde(default = "default_deny_name")]
    pub deny_policy_name: String,
}

fn default_deny_name() -> String {
    "default-deny".to_string()
}

impl Default for Params {
    fn default() -> Self {
        Params {
            namespaces: Vec::new(),
            exclude_namespaces: Vec::new(),
            deny_policy_name: default_deny_name(),
        }
    }
}

/// The plan and what is done of it: enough to resume and to undo.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The plan, made once before the first change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// The planned policies deleted (or found gone) so far, in order; their objects are in the
    /// plan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted: Vec<PolicyKey>,
    /// The deny-all policies created so far, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created: Vec<Created>,
    /// The planned policies left alone: replaced by another object of the name since the plan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left: Vec<PolicyKey>,
}

/// A NetworkPolicy by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyKey {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

/// A deny-all policy the migration created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.uid` as created: the undo deletes only that object.
    pub uid: String,
}

/// One change of the plan.
enum Step {
    Create {
        namespace: String,
        name: String,
    },
    Delete {
        namespace: String,
        name: String,
        uid: String,
    },
}

impl State {
    fn is_deleted(&self, namespace: &str, name: &str) -> bool {
        self.deleted
            .iter()
            .any(|k| k.namespace == namespace && k.name == name)
    }

    fn is_left(&self, namespace: &str, name: &str) -> bool {
        self.left
            .iter()
            .any(|k| k.namespace == namespace && k.name == name)
    }

    fn is_created(&self, namespace: &str, name: &str) -> bool {
        self.created
            .iter()
            .any(|c| c.namespace == namespace && c.name == name)
    }
}

/// Migrates: plans (or takes the checkpointed plan), logs the table, then creates and deletes
/// what the plan says and is not done yet, saving the state after each change.
pub fn forward(
    ctx: &Context,
    params: &Params,
    state: &mut State,
    save: Save<State>,
) -> Result<String, Error> {
    let resumed = state.plan.is_some();
    if !resumed {
        let plan = make_plan(ctx, params)?;
        state.plan = Some(plan);
        if let Err(e) = check_size(state) {
            state.plan = None;
            return Err(e);
        }
        if !ctx.dry_run() {
            save(state)?;
        }
    }
    let plan = state.plan.as_ref().ok_or_else(|| Error::other("no plan"))?;
    for line in plan.table() {
        info!("{line}");
    }
    let (deletes, creates) = plan.counts();
    if ctx.dry_run() {
        return Ok(format!(
            "dry run: would delete {} and create {} in {}; nothing changed",
            plural(deletes, "NetworkPolicy"),
            plural(creates, "deny-all NetworkPolicy"),
            plural(plan.namespaces.len(), "namespace"),
        ));
    }

    let steps = steps(plan);
    let total = u32::try_from(steps.len()).unwrap_or(u32::MAX);
    let mut done = steps.iter().filter(|s| is_done(state, s)).count();
    if resumed {
        info!(
            "resuming the checkpointed plan: {done} of {} changes done",
            steps.len()
        );
    }
    for step in &steps {
        if is_done(state, step) {
            continue;
        }
        let message = match step {
            Step::Create { namespace, name } => {
                let uid = create(ctx, namespace, name)?;
                state.created.push(Created {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    uid,
                });
                format!("created NetworkPolicy {namespace}/{name}")
            }
            Step::Delete {
                namespace,
                name,
                uid,
            } => match delete(ctx, namespace, name, uid)? {
                Deleted::Yes | Deleted::Gone => {
                    state.deleted.push(PolicyKey {
                        namespace: namespace.clone(),
                        name: name.clone(),
                    });
                    format!("deleted NetworkPolicy {namespace}/{name}")
                }
                Deleted::Replaced => {
                    state.left.push(PolicyKey {
                        namespace: namespace.clone(),
                        name: name.clone(),
                    });
                    format!("left NetworkPolicy {namespace}/{name}: replaced since the plan")
                }
            },
        };
        save(state)?;
        done += 1;
        ctx.progress(u32::try_from(done).unwrap_or(u32::MAX), total, &message);
    }
    let mut summary = format!(
        "migrated {} to v1 NetworkPolicy semantics: {} deleted, {} created",
        plural(plan.namespaces.len(), "namespace"),
        plural(state.deleted.len(), "NetworkPolicy"),
        plural(state.created.len(), "deny-all NetworkPolicy"),
    );
    if !state.left.is_empty() {
        summary += &format!(
            ", {} left as they are (replaced since the plan)",
            state.left.len()
        );
    }
    Ok(summary)
}

/// Undoes what `state` says was done, newest first: each deleted policy is created again
/// unless one of its name exists, each created policy is deleted if it is still the one
/// created (its uid). The plan's first change not recorded as done is looked at first: a run
/// stopped between that change and its checkpoint may have made it (a policy of the plan
/// absent is created again; a deny-all policy of the plan's name carrying the migration's
/// annotation is deleted). Saves the state after each step, so that an undo can itself be
/// resumed, and does nothing twice.
pub fn undo(ctx: &Context, state: &mut State, save: Save<State>) -> Result<String, Error> {
    let mut undo = Undo {
        ctx,
        dry_run: ctx.dry_run(),
        step: 0,
        total: u32::try_from(state.deleted.len() + state.created.len() + 1).unwrap_or(u32::MAX),
        restored: 0,
        removed: 0,
        left: 0,
    };
    if let Some(step) = in_flight(state) {
        undo.in_flight(state, &step)?;
    }
    let mut deleted = state.deleted.clone();
    while let Some(PolicyKey { namespace, name }) = deleted.pop() {
        let object = planned_object(state, &namespace, &name)?;
        undo.restore(&namespace, &name, &object, true)?;
        if !undo.dry_run {
            state.deleted.pop();
            save(state)?;
        }
    }
    let mut created = state.created.clone();
    while let Some(c) = created.pop() {
        undo.remove(&c.namespace, &c.name, &c.uid)?;
        if !undo.dry_run {
            state.created.pop();
            save(state)?;
        }
    }
    if !undo.dry_run && *state != State::default() {
        // All undone: a later run plans again from the cluster as it is.
        *state = State::default();
        save(state)?;
    }
    Ok(undo.summary())
}

/// An undo under way: what it did so far, for progress and the summary.
struct Undo<'a> {
    ctx: &'a Context,
    dry_run: bool,
    step: u32,
    total: u32,
    restored: usize,
    removed: usize,
    left: usize,
}

impl Undo<'_> {
    fn would(&self) -> &'static str {
        if self.dry_run { "would " } else { "" }
    }

    fn progress(&mut self, message: &str) {
        self.step += 1;
        self.total = self.total.max(self.step);
        self.ctx.progress(self.step, self.total, message);
    }

    /// The change a stopped run may have made without recording it.
    fn in_flight(&mut self, state: &State, step: &Step) -> Result<(), Error> {
        self.total = self.total.saturating_sub(1);
        match step {
            Step::Delete {
                namespace, name, ..
            } => {
                let object = planned_object(state, namespace, name)?;
                self.restore(namespace, name, &object, false)
            }
            Step::Create { namespace, name } => {
                let target = policy_ref(namespace, name);
                match get(self.ctx, &target)? {
                    Some(found) if is_ours(&found) => {
                        self.total += 1;
                        self.remove(namespace, name, uid_of(&found))
                    }
                    _ => Ok(()),
                }
            }
        }
    }

    /// Creates the deleted policy again unless one of its name exists (`recorded`: the state
    /// says it was deleted, so one that exists is reported as left).
    fn restore(
        &mut self,
        namespace: &str,
        name: &str,
        object: &Value,
        recorded: bool,
    ) -> Result<(), Error> {
        let what = format!("NetworkPolicy {namespace}/{name}");
        let message = match get(self.ctx, &policy_ref(namespace, name))? {
            Some(_) if !recorded => return Ok(()),
            Some(_) => {
                self.left += 1;
                warn!("{what} exists again: left as it is, not restored");
                format!("left {what} (exists again)")
            }
            None => {
                if !recorded {
                    self.total += 1;
                }
                if !self.dry_run {
                    self.ctx
                        .apply_dynamic(object)
                        .map_err(|e| e.context(format!("restoring {what}")))?;
                }
                self.restored += 1;
                format!("{}restore {what}", self.would())
            }
        };
        self.progress(&message);
        Ok(())
    }

    /// Deletes a created policy if it is still the object created.
    fn remove(&mut self, namespace: &str, name: &str, uid: &str) -> Result<(), Error> {
        let what = format!("NetworkPolicy {namespace}/{name}");
        let target = policy_ref(namespace, name);
        let outcome = if self.dry_run {
            match get(self.ctx, &target)? {
                None => Deleted::Gone,
                Some(found) if uid_of(&found) == uid => Deleted::Yes,
                Some(_) => Deleted::Replaced,
            }
        } else {
            delete_uid(self.ctx, &target, uid)
                .map_err(|e| e.context(format!("deleting the created {what}")))?
        };
        let message = match outcome {
            Deleted::Yes => {
                self.removed += 1;
                format!("{}delete the created {what}", self.would())
            }
            Deleted::Gone => format!("{what} is gone already"),
            Deleted::Replaced => {
                self.left += 1;
                warn!("{what} was replaced since the migration created it: left as it is");
                format!("left {what} (replaced since created)")
            }
        };
        self.progress(&message);
        Ok(())
    }

    fn summary(&self) -> String {
        if self.restored + self.removed + self.left == 0 {
            return "NetworkPolicy migration: nothing to undo".to_string();
        }
        let mut summary = format!(
            "NetworkPolicy migration undone: {} restored, {} deleted",
            plural(self.restored, "NetworkPolicy"),
            plural(self.removed, "created NetworkPolicy"),
        );
        if self.left > 0 {
            summary += &format!(", {} left as they are (changed since)", self.left);
        }
        if self.dry_run {
            summary = format!("dry run: {summary}; nothing changed");
        }
        summary
    }
}

/// The whole object of a planned delete, as the plan kept it.
fn planned_object(state: &State, namespace: &str, name: &str) -> Result<Value, Error> {
    state
        .plan
        .as_ref()
        .and_then(|p| p.deleted(namespace, name))
        .map(|p| p.object.clone())
        .ok_or_else(|| {
            Error::invalid(format!(
                "checkpoint: NetworkPolicy {namespace}/{name} is recorded as deleted but is not \
                 in the plan"
            ))
        })
}

/// Whether `policy` is a deny-all policy the migration made (its annotation).
fn is_ours(policy: &Value) -> bool {
    policy
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(plan::CREATED_BY))
        .is_some()
        && is_deny_all(policy)
}

/// Lists the Namespaces and every NetworkPolicy, and plans.
fn make_plan(ctx: &Context, params: &Params) -> Result<Plan, Error> {
    let namespaces = ctx
        .list_dynamic("v1", "Namespace", &ListParams::default())
        .map_err(|e| e.context("listing the namespaces"))?;
    let policies = ctx
        .list_dynamic(API_VERSION, KIND, &ListParams::default().all_namespaces())
        .map_err(|e| e.context("listing the NetworkPolicies of every namespace"))?;
    plan::make(&namespaces, &policies, params)
}

/// Refuses a plan whose checkpoint, once every change is done, would exceed the host's limit.
fn check_size(state: &State) -> Result<(), Error> {
    let Some(plan) = &state.plan else {
        return Ok(());
    };
    let plan_len = serde_json::to_vec(plan)?.len();
    // Every change done: each delete a key, each create a key and a uid (36 characters).
    let done = State {
        plan: None,
        deleted: steps(plan)
            .iter()
            .filter_map(|s| match s {
                Step::Delete {
                    namespace, name, ..
                } => Some(PolicyKey {
                    namespace: namespace.clone(),
                    name: name.clone(),
                }),
                Step::Create { .. } => None,
            })
            .collect(),
        created: steps(plan)
            .iter()
            .filter_map(|s| match s {
                Step::Create { namespace, name } => Some(Created {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    uid: "0".repeat(36),
                }),
                Step::Delete { .. } => None,
            })
            .collect(),
        left: Vec::new(),
    };
    let len = plan_len + serde_json::to_vec(&done)?.len();
    if len > CHECKPOINT_LIMIT {
        let (deletes, creates) = plan.counts();
        return Err(Error::aborted(format!(
            "refusing to migrate: the plan ({} to delete, kept whole to restore them, {} to \
             create, in {}) needs a checkpoint of {len} bytes, more than the {CHECKPOINT_LIMIT} \
             a checkpoint holds; migrate in parts with `namespaces` (or `exclude-namespaces`); \
             nothing was changed",
            plural(deletes, "NetworkPolicy"),
            plural(creates, "NetworkPolicy"),
            plural(plan.namespaces.len(), "namespace"),
        )));
    }
    Ok(())
}

/// The plan's changes in order: every create, then every delete.
fn steps(plan: &Plan) -> Vec<Step> {
    let creates = plan.namespaces.iter().filter_map(|n| {
        n.create.as_ref().map(|name| Step::Create {
            namespace: n.namespace.clone(),
            name: name.clone(),
        })
    });
    let deletes = plan.namespaces.iter().flat_map(|n| {
        n.delete.iter().map(|p| Step::Delete {
            namespace: n.namespace.clone(),
            name: p.name.clone(),
            uid: p.uid.clone(),
        })
    });
    creates.chain(deletes).collect()
}

fn is_done(state: &State, step: &Step) -> bool {
    match step {
        Step::Create { namespace, name } => state.is_created(namespace, name),
        Step::Delete {
            namespace, name, ..
        } => state.is_deleted(namespace, name) || state.is_left(namespace, name),
    }
}

/// The first change of the plan not recorded as done: the one a run that stopped between a
/// change and its checkpoint may have made (the changes are made in order, one at a time).
fn in_flight(state: &State) -> Option<Step> {
    let plan = state.plan.as_ref()?;
    steps(plan).into_iter().find(|s| !is_done(state, s))
}

/// Creates the deny-all policy (server-side apply, so that a create whose answer was lost is
/// done again harmlessly) and answers its uid.
fn create(ctx: &Context, namespace: &str, name: &str) -> Result<String, Error> {
    let what = format!("NetworkPolicy {namespace}/{name}");
    let stored = ctx
        .apply_dynamic(&deny_all(namespace, name))
        .and_then(|a| a.json())
        .map_err(|e| e.context(format!("creating the deny-all {what}")))?;
    let uid = uid_of(&stored);
    if uid.is_empty() {
        return Err(Error::other(format!(
            "creating the deny-all {what}: the answer has no metadata.uid"
        )));
    }
    Ok(uid.to_string())
}

enum Deleted {
    /// Deleted now, or absent already (an earlier attempt whose answer was lost, or someone
    /// else): the object planned is gone either way.
    Yes,
    /// Absent already (seen by a dry run's read).
    Gone,
    /// Another object of that name (made since): left alone.
    Replaced,
}

/// Deletes the planned policy if it is still the object planned (a uid precondition).
fn delete(ctx: &Context, namespace: &str, name: &str, uid: &str) -> Result<Deleted, Error> {
    let target = policy_ref(namespace, name);
    let outcome = delete_uid(ctx, &target, uid)
        .map_err(|e| e.context(format!("deleting NetworkPolicy {namespace}/{name}")))?;
    if let Deleted::Replaced = outcome {
        warn!(
            "NetworkPolicy {namespace}/{name} was replaced since the plan (it is not uid {uid}): \
             left as it is"
        );
    }
    Ok(outcome)
}

/// One delete with a uid precondition (none when the uid is unknown): gone or deleted is
/// [`Deleted::Yes`], another object of the name [`Deleted::Replaced`].
fn delete_uid(ctx: &Context, target: &ObjectRef, uid: &str) -> Result<Deleted, Error> {
    let mut options = DeleteOptions::default();
    if !uid.is_empty() {
        options = options.uid(uid);
    }
    match ctx.delete_with(target, &options) {
        Ok(()) => Ok(Deleted::Yes),
        // A failed precondition is a conflict, but so is any other 409: read the object to tell.
        Err(e) if e.is_conflict() && !uid.is_empty() => match get(ctx, target)? {
            None => Ok(Deleted::Yes),
            Some(found) if uid_of(&found) != uid => Ok(Deleted::Replaced),
            Some(_) => Err(e),
        },
        Err(e) => Err(e),
    }
}

fn get(ctx: &Context, target: &ObjectRef) -> Result<Option<Value>, Error> {
    match ctx.get_dynamic(target) {
        Ok(object) => Ok(Some(object)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.context(format!("reading {target}"))),
    }
}

fn policy_ref(namespace: &str, name: &str) -> ObjectRef {
    ObjectRef::new(API_VERSION, KIND, name).in_namespace(namespace)
}

fn uid_of(object: &Value) -> &str {
    object
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
}
