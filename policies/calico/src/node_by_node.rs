//! A DaemonSet's pods replaced node by node, as Calico's guide upgrades calico-node: the new
//! template applied with `OnDelete`, then per node cordon → delete its pod → wait for the
//! replacement to be Ready → uncordon; the undo puts the old template back the same way.
//!
//! The state says which nodes are done and which pods of the node in hand were deleted, so
//! that `cutover resume` continues with that node without deleting its replacement, and the
//! undo knows which nodes run the new template. A node left cordoned by a failure is the one
//! in hand; one that was already cordoned before the run is never uncordoned.

use std::time::Duration as StdDuration;

use cutover_guest_sdk::params::Duration;
use cutover_guest_sdk::{Context, k8s_openapi::api::core::v1::Pod};
use cutover_guest_sdk::{
    DeleteOptions, Error, ListParams, ObjectRef, Patch, SetCondition, WaitSet, info, warn,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Save;

/// The annotation `kubectl rollout restart` writes, which a restart changes.
const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// How the nodes are taken.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Params {
    /// How long a node's new pod may take to be Ready (the guide: BIRD's graceful-restart
    /// window, 90 s).
    pub node_timeout: Duration,
    /// How many nodes at a time.
    pub max_parallel: u32,
    /// Only the nodes this label selector matches (all by default).
    #[serde(default)]
    pub node_selector: Option<String>,
    /// Pull the new images on every node first, with a short-lived DaemonSet.
    #[serde(default)]
    pub pre_pull: bool,
    /// How long the pre-pull may take.
    pub pre_pull_timeout: Duration,
    /// Seconds a deleted pod gets to stop (its own terminationGracePeriodSeconds by default).
    #[serde(default)]
    pub grace_period: Option<u32>,
}

/// What changes the DaemonSet's template.
#[derive(Debug, Clone)]
pub enum Change<'a> {
    /// A new DaemonSet manifest, applied with the `OnDelete` update strategy.
    Apply(&'a Value),
    /// The template as it is, restarted (`kubectl rollout restart`'s annotation), for a
    /// configuration change its pods read at start.
    Restart { namespace: String, name: String },
}

/// One node in hand.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InHand {
    pub node: String,
    /// The node was unschedulable before the run cordoned it: it stays so.
    pub was_unschedulable: bool,
    /// The uids of the DaemonSet's pods on the node that were deleted (or are being).
    pub deleted: Vec<String>,
}

/// Where the procedure stands.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// The DaemonSet: namespace and name.
    pub namespace: String,
    pub name: String,
    /// The template and update strategy before the change (none: the run created it).
    pub before: Option<Value>,
    /// The change, kept before it is made (a resumed run gets no inputs): the manifest to
    /// apply, or none for a restart.
    pub manifest: Option<Value>,
    /// `before` is recorded and the change may have been made: from here on the undo puts
    /// the old template back (which is harmless when the change never reached the cluster).
    pub changed: bool,
    /// The change is made.
    pub applied: bool,
    /// The undo has begun taking the nodes: the pods it deletes are recorded afresh.
    pub undo_started: bool,
    /// The pre-pull is over.
    pub pre_pulled: bool,
    /// The nodes, in the order taken (known once the template is changed).
    pub nodes: Vec<String>,
    /// Nodes done: the new pod Ready and the node uncordoned.
    pub done: Vec<String>,
    /// Nodes in hand (at most `max-parallel`).
    pub in_hand: Vec<InHand>,
    /// Nodes without a pod of the DaemonSet (its node selector leaves them out).
    pub skipped: Vec<String>,
    /// The undo: the old template is back, and the nodes whose old pod is back.
    pub restored: bool,
    pub undone: Vec<String>,
}

/// The run's DaemonSet.
fn target(state: &State) -> ObjectRef {
    ObjectRef::new("apps/v1", "DaemonSet", state.name.as_str()).in_namespace(&state.namespace)
}

/// Changes the template, then replaces the pods node by node.
pub fn forward(
    ctx: &Context,
    p: &Params,
    change: Option<Change<'_>>,
    state: &mut State,
    save: Save<State>,
) -> Result<String, Error> {
    if !(1..=100).contains(&p.max_parallel) {
        return Err(Error::invalid(format!(
            "max-parallel is 1 to 100 nodes, not {}",
            p.max_parallel
        )));
    }
    if !state.changed {
        let change = change.ok_or_else(|| {
            Error::invalid(
                "nothing to upgrade: give the new DaemonSet manifest as the input \
                 (`cutover run daemonset-node-by-node calico-node.yaml -n kube-system`)",
            )
        })?;
        record_change(ctx, change, state, save)?;
    }
    if !state.applied {
        change_template(ctx, state, save)?;
    }
    let shown = format!("DaemonSet {}/{}", state.namespace, state.name);
    let ds = match ctx.get_dynamic(&target(state)) {
        Ok(ds) => ds,
        // A dry run of a DaemonSet that does not exist yet stores nothing to go on with.
        Err(e) if e.is_not_found() && ctx.dry_run() => {
            return Ok(format!("{shown} would be created (dry run)"));
        }
        Err(e) => return Err(e),
    };
    if state.nodes.is_empty() {
        state.nodes = nodes(ctx, p.node_selector.as_deref())?;
        save(state)?;
    }
    if p.pre_pull && !state.pre_pulled {
        pre_pull(ctx, p, &ds, state)?;
        state.pre_pulled = true;
        save(state)?;
    }
    let total = u32::try_from(state.nodes.len()).unwrap_or(u32::MAX);
    let todo: Vec<String> = state
        .nodes
        .iter()
        .filter(|n| !state.done.contains(n) && !state.skipped.contains(n))
        .cloned()
        .collect();
    for batch in todo.chunks(p.max_parallel as usize) {
        replace_batch(ctx, p, &ds, batch, state, save)?;
        let done = u32::try_from(state.done.len() + state.skipped.len()).unwrap_or(u32::MAX);
        let verb = if ctx.dry_run() {
            "would be replaced"
        } else {
            "done"
        };
        ctx.progress(
            done,
            total,
            &format!("{shown}: {} {verb}", batch.join(", ")),
        );
    }
    let mut summary = format!(
        "{shown} upgraded node by node on {} node{}",
        state.done.len(),
        if state.done.len() == 1 { "" } else { "s" }
    );
    if !state.skipped.is_empty() {
        summary += &format!(" ({} without its pod skipped)", state.skipped.len());
    }
    if ctx.dry_run() {
        summary += " (dry run)";
    }
    Ok(summary)
}

/// Puts the old template back, then replaces the new pods node by node: the nodes done and
/// those in hand, in the order taken.
pub fn undo(
    ctx: &Context,
    p: &Params,
    state: &mut State,
    save: Save<State>,
) -> Result<String, Error> {
    if !state.changed {
        return Ok("nothing to undo: the DaemonSet was not changed".into());
    }
    let shown = format!("DaemonSet {}/{}", state.namespace, state.name);
    let Some(before) = state.before.clone() else {
        ctx.delete_dynamic(&target(state))
            .map_err(|e| e.context(format!("deleting {shown}, which the run created")))?;
        for hand in state.in_hand.clone() {
            if !hand.was_unschedulable {
                ctx.uncordon(&hand.node)?;
            }
        }
        state.in_hand.clear();
        state.restored = true;
        save(state)?;
        return Ok(format!("deleted {shown}, which the run created"));
    };
    if !state.restored {
        let patch = json!([
            {"op": "replace", "path": "/spec/template", "value": before["template"]},
            {"op": "replace", "path": "/spec/updateStrategy", "value": {"type": "OnDelete"}},
        ]);
        ctx.patch_dynamic(&target(state), &Patch::Json(patch))
            .map_err(|e| e.context(format!("restoring {shown}'s template")))?;
        state.restored = true;
        save(state)?;
    }
    remove_pre_pull(ctx, state)?;
    if !state.undo_started {
        // The forward's record of deleted pods is of new-template replacements to come; the
        // undo deletes, on each node, whatever pods are there when it first takes it.
        for hand in &mut state.in_hand {
            hand.deleted.clear();
        }
        state.undo_started = true;
        save(state)?;
    }
    let ds = ctx.get_dynamic(&target(state))?;
    let mut again: Vec<String> = state.in_hand.iter().map(|h| h.node.clone()).collect();
    again.extend(state.done.iter().cloned());
    let again: Vec<String> = state
        .nodes
        .iter()
        .filter(|n| again.contains(n) && !state.undone.contains(n))
        .cloned()
        .collect();
    let total = u32::try_from(again.len()).unwrap_or(u32::MAX);
    for batch in again.chunks(p.max_parallel.clamp(1, 100) as usize) {
        replace_batch(ctx, p, &ds, batch, state, save)?;
        state.undone.extend(batch.iter().cloned());
        save(state)?;
        let undone = u32::try_from(state.undone.len()).unwrap_or(u32::MAX);
        ctx.progress(
            undone,
            total,
            &format!("{shown}: {} back", batch.join(", ")),
        );
    }
    if let Some(strategy) = before.get("updateStrategy").filter(|s| !s.is_null()) {
        let patch = json!([{"op": "replace", "path": "/spec/updateStrategy", "value": strategy}]);
        ctx.patch_dynamic(&target(state), &Patch::Json(patch))
            .map_err(|e| e.context(format!("restoring {shown}'s update strategy")))?;
    }
    Ok(format!(
        "{shown}: the previous template is back, its pods replaced node by node on {} node{}",
        state.undone.len(),
        if state.undone.len() == 1 { "" } else { "s" }
    ))
}

/// Checks a DaemonSet manifest before any change: an apps/v1 DaemonSet with a name, in the
/// run's namespace (or none, then given it). Returns its namespace and name.
pub fn check_manifest(ctx: &Context, manifest: &Value) -> Result<(String, String), Error> {
    let api = manifest["apiVersion"].as_str().unwrap_or_default();
    let kind = manifest["kind"].as_str().unwrap_or_default();
    if (api, kind) != ("apps/v1", "DaemonSet") {
        return Err(Error::invalid(format!(
            "the input is a {api} {kind}, not an apps/v1 DaemonSet"
        )));
    }
    let name = manifest["metadata"]["name"].as_str().unwrap_or_default();
    let namespace = manifest["metadata"]["namespace"]
        .as_str()
        .unwrap_or(ctx.namespace());
    if namespace != ctx.namespace() {
        return Err(Error::invalid(format!(
            "DaemonSet {namespace}/{name} is for namespace {namespace}, not the run's {}: run with -n {namespace}",
            ctx.namespace()
        )));
    }
    Ok((namespace.to_string(), name.to_string()))
}

/// Records what the change will be and what the DaemonSet was, before any change.
fn record_change(
    ctx: &Context,
    change: Change<'_>,
    state: &mut State,
    save: Save<State>,
) -> Result<(), Error> {
    let (namespace, name, manifest) = match change {
        Change::Apply(manifest) => {
            let (namespace, name) = check_manifest(ctx, manifest)?;
            let mut manifest = manifest.clone();
            manifest["metadata"]["namespace"] = json!(namespace);
            manifest["spec"]["updateStrategy"] = json!({"type": "OnDelete"});
            (namespace, name, Some(manifest))
        }
        Change::Restart { namespace, name } => (namespace, name, None),
    };
    state.namespace = namespace;
    state.name = name;
    let live = match ctx.get_dynamic(&target(state)) {
        Ok(live) => Some(live),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e),
    };
    if manifest.is_none() && live.is_none() {
        return Err(Error::not_found(format!(
            "DaemonSet {}/{} does not exist",
            state.namespace, state.name
        )));
    }
    state.before = live.as_ref().map(|ds| {
        json!({
            "template": ds["spec"]["template"],
            "updateStrategy": ds["spec"]["updateStrategy"],
        })
    });
    state.manifest = manifest;
    state.changed = true;
    save(state)
}

/// Applies the recorded manifest (with `OnDelete`) or restarts the current template; again
/// after a crash, harmlessly.
fn change_template(ctx: &Context, state: &mut State, save: Save<State>) -> Result<(), Error> {
    let shown = format!("DaemonSet {}/{}", state.namespace, state.name);
    match &state.manifest {
        Some(manifest) => {
            ctx.apply_dynamic(manifest)
                .map_err(|e| e.context(format!("applying {shown}")))?;
        }
        None => {
            let patch = json!({"spec": {
                "updateStrategy": {"type": "OnDelete", "rollingUpdate": null},
                "template": {"metadata": {"annotations": {RESTARTED_AT: ctx.now().to_string()}}},
            }});
            ctx.patch_dynamic(&target(state), &Patch::Merge(patch))
                .map_err(|e| e.context(format!("restarting {shown}")))?;
        }
    }
    state.applied = true;
    save(state)?;
    info!(
        "{shown}: the new template is applied with the OnDelete strategy; its pods are replaced node by node"
    );
    Ok(())
}

/// The nodes to take, by name.
fn nodes(ctx: &Context, selector: Option<&str>) -> Result<Vec<String>, Error> {
    let mut params = ListParams::default();
    if let Some(selector) = selector.filter(|s| !s.is_empty()) {
        params = params.labels(selector);
    }
    let mut names: Vec<String> = ctx
        .list_dynamic("v1", "Node", &params)?
        .iter()
        .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(Error::not_found(match selector {
            Some(s) => format!("no node matches the node selector {s:?}"),
            None => "the cluster has no nodes".into(),
        }));
    }
    Ok(names)
}

/// The DaemonSet's pod selector, as a label selector string.
fn selector_of(ds: &Value) -> Result<String, Error> {
    let mut terms = Vec::new();
    if let Some(labels) = ds["spec"]["selector"]["matchLabels"].as_object() {
        for (k, v) in labels {
            terms.push(format!("{k}={}", v.as_str().unwrap_or_default()));
        }
    }
    for expr in ds["spec"]["selector"]["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let key = expr["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = expr["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        terms.push(match expr["operator"].as_str().unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            other => return Err(Error::invalid(format!("a selector operator {other:?}"))),
        });
    }
    if terms.is_empty() {
        return Err(Error::invalid("the DaemonSet has no pod selector"));
    }
    Ok(terms.join(","))
}

/// The DaemonSet's pods (on `node`, or everywhere), those it owns.
fn pods_of(ctx: &Context, ds: &Value, node: Option<&str>) -> Result<Vec<Value>, Error> {
    let namespace = ds["metadata"]["namespace"]
        .as_str()
        .unwrap_or(ctx.namespace());
    let mut params = ListParams::default()
        .in_namespace(namespace)
        .labels(selector_of(ds)?);
    if let Some(node) = node {
        params = params.fields(format!("spec.nodeName={node}"));
    }
    let uid = ds["metadata"]["uid"].as_str();
    Ok(ctx
        .list_dynamic("v1", "Pod", &params)?
        .into_iter()
        .filter(|pod| {
            uid.is_none()
                || pod["metadata"]["ownerReferences"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|o| o["uid"].as_str() == uid)
        })
        .collect())
}

/// The query for the DaemonSet's pods on `node`.
fn on_node(ds: &Value, namespace: &str, node: &str) -> Result<WaitSet, Error> {
    Ok(WaitSet::query::<Pod>(
        ListParams::default()
            .in_namespace(namespace)
            .labels(selector_of(ds)?)
            .fields(format!("spec.nodeName={node}")),
    ))
}

/// Whether a node is Ready, and why not.
fn node_problem(node: &Value) -> Option<String> {
    let ready = node["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Ready");
    match ready {
        Some(c) if c["status"] == "True" => None,
        Some(c) => Some(format!(
            "is NotReady ({})",
            c["reason"].as_str().unwrap_or("no reason given")
        )),
        None => Some("has no Ready condition".into()),
    }
}

/// Replaces the pods on `batch` at once: cordon each, delete its pods of the DaemonSet, wait
/// for each node's replacement, uncordon.
///
/// The first time a node is taken, every pod of the DaemonSet on it is recorded, then the
/// ones not already terminating are deleted; taken again (a resume), only the recorded ones
/// are deleted (a crash may have come before their deletion), never their replacement. The
/// undo starts its own record, so it replaces whatever pods it finds when it first takes a
/// node: they run the new template, or the old one once more.
fn replace_batch(
    ctx: &Context,
    p: &Params,
    ds: &Value,
    batch: &[String],
    state: &mut State,
    save: Save<State>,
) -> Result<(), Error> {
    let undoing = state.undo_started;
    let namespace = state.namespace.clone();
    let mut without_pod = Vec::new();
    let mut pods_on = Vec::with_capacity(batch.len());
    for node in batch {
        let in_hand = state.in_hand.iter().position(|h| &h.node == node);
        let live = match ctx.get_dynamic(&ObjectRef::new("v1", "Node", node.as_str())) {
            Ok(live) => live,
            // A node deleted from the cluster has nothing left to replace.
            Err(e) if e.is_not_found() => {
                info!("node {node} is gone from the cluster: skipped");
                if let Some(i) = in_hand {
                    state.in_hand.remove(i);
                    save(state)?;
                }
                without_pod.push(node.clone());
                pods_on.push(Vec::new());
                continue;
            }
            Err(e) => return Err(e),
        };
        let pods = pods_of(ctx, ds, Some(node))?;
        if pods.is_empty() && in_hand.is_none() {
            without_pod.push(node.clone());
            pods_on.push(pods);
            continue;
        }
        let hand = match in_hand {
            Some(i) => i,
            None => {
                if let Some(problem) = node_problem(&live) {
                    return Err(Error::aborted(format!(
                        "node {node} {problem}: its pod was not replaced; {}{}",
                        left_cordoned(state),
                        stop_hint(state, undoing)
                    )));
                }
                state.in_hand.push(InHand {
                    node: node.clone(),
                    was_unschedulable: live["spec"]["unschedulable"] == true,
                    deleted: Vec::new(),
                });
                save(state)?;
                state.in_hand.len() - 1
            }
        };
        // Again on a resume: a crash may have come between the record and the cordon.
        if !state.in_hand[hand].was_unschedulable && live["spec"]["unschedulable"] != true {
            ctx.cordon(node)
                .map_err(|e| e.context(format!("cordoning node {node}")))?;
        }
        pods_on.push(pods);
    }
    for (node, pods) in batch.iter().zip(&pods_on) {
        if without_pod.contains(node) {
            continue;
        }
        let hand = state
            .in_hand
            .iter()
            .position(|h| &h.node == node)
            .ok_or_else(|| Error::other(format!("node {node} is not in hand")))?;
        let first_time = state.in_hand[hand].deleted.is_empty();
        let mut stale = Vec::new();
        for pod in pods {
            let (Some(name), Some(uid)) = (
                pod["metadata"]["name"].as_str(),
                pod["metadata"]["uid"].as_str(),
            ) else {
                continue;
            };
            if first_time {
                state.in_hand[hand].deleted.push(uid.to_string());
            } else if !state.in_hand[hand].deleted.iter().any(|d| d == uid) {
                continue;
            }
            if pod["metadata"]["deletionTimestamp"].is_null() {
                stale.push((name.to_string(), uid.to_string()));
            }
        }
        save(state)?;
        for (name, uid) in &stale {
            let pod = ObjectRef::new("v1", "Pod", name.as_str()).in_namespace(&namespace);
            let mut options = DeleteOptions::default().uid(uid.as_str());
            if let Some(grace) = p.grace_period {
                options = options.grace_period_seconds(grace);
            }
            match ctx.delete_with(&pod, &options) {
                Ok(()) => {}
                // Replaced already by a pod of the same name: that one is the replacement.
                Err(e) if e.is_conflict() => {}
                Err(e) => return Err(e.context(format!("deleting pod {namespace}/{name}"))),
            }
        }
    }
    // Wait for each node's replacement; the nodes' waits overlap in the cluster.
    let started = ctx.now();
    for node in batch {
        if without_pod.contains(node) {
            continue;
        }
        let left = StdDuration::from(p.node_timeout)
            .saturating_sub(ctx.now().saturating_duration_since(started));
        let set = on_node(ds, &namespace, node)?;
        if let Err(e) = ctx.wait_all(&set, SetCondition::AllReady(1), left) {
            warn!("node {node} stays cordoned: its new pod is not Ready");
            return Err(Error::aborted(format!(
                "node {node}: the new pod of DaemonSet {namespace}/{} was not Ready within {}: {}; {}{}",
                state.name,
                p.node_timeout,
                e.reason(),
                left_cordoned(state),
                stop_hint(state, undoing)
            )));
        }
    }
    // Uncordon what we cordoned; the node is done.
    for node in batch {
        let Some(hand) = state.in_hand.iter().position(|h| &h.node == node) else {
            if without_pod.contains(node) && !undoing && !state.skipped.contains(node) {
                info!(
                    "node {node} runs no pod of DaemonSet {namespace}/{}: skipped",
                    state.name
                );
                state.skipped.push(node.clone());
                save(state)?;
            }
            continue;
        };
        if !state.in_hand[hand].was_unschedulable {
            ctx.uncordon(node)
                .map_err(|e| e.context(format!("uncordoning node {node}")))?;
        }
        state.in_hand.remove(hand);
        if !undoing {
            state.done.push(node.clone());
        }
        save(state)?;
    }
    Ok(())
}

/// `node node-2 is left cordoned; ` (every node in hand that the run cordoned), or nothing.
fn left_cordoned(state: &State) -> String {
    let cordoned: Vec<&str> = state
        .in_hand
        .iter()
        .filter(|h| !h.was_unschedulable)
        .map(|h| h.node.as_str())
        .collect();
    match cordoned.as_slice() {
        [] => String::new(),
        [one] => format!("node {one} is left cordoned; "),
        many => format!("nodes {} are left cordoned; ", many.join(", ")),
    }
}

/// What the operator can do once a node stops the run.
fn stop_hint(state: &State, undoing: bool) -> String {
    if undoing {
        "run `cutover rollback` again once it is fixed".into()
    } else {
        format!(
            "{} of {} nodes done; fix it and `cutover resume` continues from it, or `cutover rollback` puts the previous template back node by node",
            state.done.len(),
            state.nodes.len()
        )
    }
}

/// Pulls the new template's images on the DaemonSet's nodes with a DaemonSet of its own (the
/// images as init containers running `sh -c "exit 0"`, so each image needs a shell, then a
/// pause container), then deletes it.
fn pre_pull(ctx: &Context, p: &Params, ds: &Value, state: &State) -> Result<(), Error> {
    let name = format!("{}-pre-pull", state.name);
    let spec = &ds["spec"]["template"]["spec"];
    let mut images: Vec<&str> = ["initContainers", "containers"]
        .iter()
        .flat_map(|list| spec[*list].as_array().into_iter().flatten())
        .filter_map(|c| c["image"].as_str())
        .collect();
    images.dedup();
    let init: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, image)| {
            json!({"name": format!("pull-{i}"), "image": image,
                   "command": ["sh", "-c", "exit 0"], "imagePullPolicy": "IfNotPresent"})
        })
        .collect();
    let labels = json!({"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "cutover"});
    // On the host's network, as calico-node runs: the pre-pull must not need the pod network
    // that the upgrade is about.
    let mut pod_spec = json!({
        "hostNetwork": true,
        "initContainers": init,
        "containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.9"}],
        "terminationGracePeriodSeconds": 0,
    });
    for key in ["nodeSelector", "tolerations", "affinity"] {
        if !spec[key].is_null() {
            pod_spec[key] = spec[key].clone();
        }
    }
    let manifest = json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": state.namespace, "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    });
    let stored = ctx
        .apply_dynamic(&manifest)?
        .json()
        .map_err(|e| e.context("the pre-pull DaemonSet as stored"))?;
    info!(
        "pre-pulling {} on the nodes of DaemonSet {}/{}",
        images.join(", "),
        state.namespace,
        state.name
    );
    let target =
        ObjectRef::new("apps/v1", "DaemonSet", name.as_str()).in_namespace(&state.namespace);
    let waited = ctx.wait_dynamic(
        &target,
        &cutover_guest_sdk::Condition::Ready,
        p.pre_pull_timeout,
    );
    let uid = stored["metadata"]["uid"].as_str().unwrap_or_default();
    let cleanup = ctx.delete_with(&target, &DeleteOptions::default().uid(uid));
    waited.map_err(|e| e.context(format!("pre-pulling the new images ({name})")))?;
    cleanup.map_err(|e| e.context(format!("deleting the pre-pull DaemonSet {name}")))?;
    Ok(())
}

/// Deletes a pre-pull DaemonSet a crash left behind (none: nothing to do).
fn remove_pre_pull(ctx: &Context, state: &State) -> Result<(), Error> {
    let name = format!("{}-pre-pull", state.name);
    let target =
        ObjectRef::new("apps/v1", "DaemonSet", name.as_str()).in_namespace(&state.namespace);
    match ctx.get_dynamic(&target) {
        Ok(found) if found["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "cutover" => {
            let uid = found["metadata"]["uid"].as_str().unwrap_or_default();
            ctx.delete_with(&target, &DeleteOptions::default().uid(uid))
        }
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}
