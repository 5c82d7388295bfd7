//! The guide's "Updating the Calico ConfigMap": the changed ConfigMap applied, then what reads
//! it at start restarted: the policy controller (a `Recreate` Deployment) and calico-node,
//! node by node. The undo puts the old data back and restarts them again.

use cutover_guest_sdk::params::Duration;
use cutover_guest_sdk::{Condition, Context, Error, ObjectRef, Patch, info};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::node_by_node::{self, Change};
use crate::{Save, nested};

/// The annotation `kubectl rollout restart` writes.
const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// What reads the ConfigMap.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Params {
    /// The DaemonSet restarted node by node (`calico-node`; empty: none).
    pub daemon_set: String,
    /// The Deployment restarted (`calico-kube-controllers`; empty: none). It must be
    /// `Recreate`: at most one policy controller may run.
    pub deployment: String,
    /// How long the Deployment may take to roll out.
    pub timeout: Duration,
    /// How calico-node's nodes are taken.
    #[serde(flatten)]
    pub nodes: node_by_node::Params,
}

/// A ConfigMap applied, with what it held before.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapState {
    /// The ConfigMap: namespace and name.
    pub namespace: String,
    pub name: String,
    /// Its data before (none: the run created it); kept before it is applied.
    pub before: Option<Value>,
    /// The manifest, kept with `before` (a resumed run gets no inputs).
    pub manifest: Option<Value>,
    /// `before` is recorded: from here on the undo puts it back (harmless when the apply
    /// never reached the cluster).
    pub recorded: bool,
    pub applied: bool,
    /// The undo put the old data back.
    pub restored: bool,
}

/// Where the rollout stands.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// The ConfigMap.
    pub config: ConfigMapState,
    /// The Deployment's restart annotation before (JSON null: none), once restarted.
    pub deployment_before: Option<Value>,
    pub deployment_restarted: bool,
    /// calico-node, node by node.
    pub nodes: node_by_node::State,
    /// The undo restarted the Deployment again.
    pub deployment_undone: bool,
}

/// A ConfigMap manifest, or an error saying what it is instead.
pub fn check_config_map(manifest: &Value) -> Result<(), Error> {
    let api = manifest["apiVersion"].as_str().unwrap_or_default();
    let kind = manifest["kind"].as_str().unwrap_or_default();
    if (api, kind) != ("v1", "ConfigMap") {
        return Err(Error::invalid(format!(
            "the input is a {api} {kind}, not a v1 ConfigMap"
        )));
    }
    Ok(())
}

/// Checks the ConfigMap manifest and the Deployment's strategy, before any change.
fn check(ctx: &Context, p: &Params, manifest: &Value) -> Result<(), Error> {
    check_config_map(manifest)?;
    if !p.deployment.is_empty() {
        let deployment = ctx.get_dynamic(&ObjectRef::new(
            "apps/v1",
            "Deployment",
            p.deployment.as_str(),
        ))?;
        let strategy = deployment["spec"]["strategy"]["type"]
            .as_str()
            .unwrap_or("RollingUpdate");
        if strategy != "Recreate" {
            return Err(Error::invalid(format!(
                "Deployment {} has the {strategy} strategy: a restart would run two policy controllers at once; set spec.strategy.type: Recreate (or --set deployment= to leave it alone)",
                p.deployment
            )));
        }
    }
    Ok(())
}

/// Applies the ConfigMap, restarts the Deployment, then calico-node node by node.
pub fn forward(
    ctx: &Context,
    p: &Params,
    manifest: Option<&Value>,
    state: &mut State,
    save: Save<State>,
) -> Result<String, Error> {
    if !state.config.applied {
        let kept = state.config.manifest.clone();
        let manifest = manifest.or(kept.as_ref()).ok_or_else(|| {
            Error::invalid(
                "nothing to roll out: give the changed ConfigMap manifest as the input \
                 (`cutover run config-rollout calico-config.yaml -n kube-system`)",
            )
        })?;
        check(ctx, p, manifest)?;
        nested(
            state,
            save,
            |s| &mut s.config,
            |config, save| apply_config(ctx, manifest, config, save),
        )?;
        info!(
            "ConfigMap {} applied; restarting what reads it",
            state.config.name
        );
    }
    if !p.deployment.is_empty() && !state.deployment_restarted {
        // Recorded first: once the restart may have begun, the undo restarts it again.
        state.deployment_restarted = true;
        save(state)?;
        state.deployment_before = Some(restart_deployment(ctx, p)?);
        save(state)?;
    }
    let mut summary = format!("ConfigMap {} rolled out", state.config.name);
    if !p.deployment.is_empty() {
        summary += &format!(", Deployment {} restarted", p.deployment);
    }
    if !p.daemon_set.is_empty() {
        let change = Change::Restart {
            namespace: state.config.namespace.clone(),
            name: p.daemon_set.clone(),
        };
        let nodes = nested(
            state,
            save,
            |s| &mut s.nodes,
            |nodes, save| node_by_node::forward(ctx, &p.nodes, Some(change), nodes, save),
        )?;
        summary += &format!("; {nodes}");
    }
    Ok(summary)
}

/// Restarts the Deployment (`kubectl rollout restart`) and waits for its rollout; returns the
/// annotation it had.
fn restart_deployment(ctx: &Context, p: &Params) -> Result<Value, Error> {
    let target = ObjectRef::new("apps/v1", "Deployment", p.deployment.as_str());
    let live = ctx.get_dynamic(&target)?;
    let before = live["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT].clone();
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {
        RESTARTED_AT: ctx.now().to_string(),
    }}}}});
    ctx.patch_dynamic(&target, &Patch::Merge(patch))
        .map_err(|e| e.context(format!("restarting Deployment {}", p.deployment)))?;
    ctx.wait_dynamic(&target, &Condition::RolledOut, p.timeout)
        .map_err(|e| {
            e.context(format!(
                "waiting for Deployment {} to roll out",
                p.deployment
            ))
        })?;
    Ok(before)
}

/// Puts the old data back, restarts the Deployment again, and puts calico-node's previous
/// template back node by node.
pub fn undo(
    ctx: &Context,
    p: &Params,
    state: &mut State,
    save: Save<State>,
) -> Result<String, Error> {
    if !state.config.recorded {
        return Ok("nothing to undo: the ConfigMap was not applied".into());
    }
    nested(
        state,
        save,
        |s| &mut s.config,
        |config, save| restore_config(ctx, config, save),
    )?;
    if state.deployment_restarted && !state.deployment_undone {
        restart_deployment(ctx, p)?;
        state.deployment_undone = true;
        save(state)?;
    }
    let mut summary = format!("ConfigMap {} restored", state.config.name);
    if state.deployment_restarted {
        summary += &format!(", Deployment {} restarted", p.deployment);
    }
    if state.nodes.changed {
        let nodes = nested(
            state,
            save,
            |s| &mut s.nodes,
            |nodes, save| node_by_node::undo(ctx, &p.nodes, nodes, save),
        )?;
        summary += &format!("; {nodes}");
    }
    Ok(summary)
}

/// Applies a ConfigMap in the run's namespace, keeping its data before for [`restore_config`].
pub fn apply_config(
    ctx: &Context,
    manifest: &Value,
    state: &mut ConfigMapState,
    save: Save<ConfigMapState>,
) -> Result<(), Error> {
    if !state.recorded {
        check_config_map(manifest)?;
        state.name = manifest["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        state.namespace = ctx.namespace().to_string();
        let target = ObjectRef::new("v1", "ConfigMap", state.name.as_str());
        state.before = match ctx.get_dynamic(&target) {
            Ok(live) => Some(json!({"data": live["data"], "binaryData": live["binaryData"]})),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        let mut manifest = manifest.clone();
        manifest["metadata"]["namespace"] = json!(state.namespace);
        state.manifest = Some(manifest);
        state.recorded = true;
        save(state)?;
    }
    let manifest = state.manifest.clone().unwrap_or_default();
    ctx.apply_dynamic(&manifest)
        .map_err(|e| e.context(format!("applying ConfigMap {}", state.name)))?;
    state.applied = true;
    save(state)
}

/// Puts back the data a ConfigMap held before [`apply_config`] (deletes it if the run created it).
pub fn restore_config(
    ctx: &Context,
    state: &mut ConfigMapState,
    save: Save<ConfigMapState>,
) -> Result<(), Error> {
    if !state.recorded || state.restored {
        return Ok(());
    }
    let target =
        ObjectRef::new("v1", "ConfigMap", state.name.as_str()).in_namespace(&state.namespace);
    match &state.before {
        Some(before) => {
            let live = ctx.get_dynamic(&target)?;
            let mut ops = Vec::new();
            for field in ["data", "binaryData"] {
                let path = format!("/{field}");
                match (&before[field], live[field].is_null()) {
                    // Absent before and now: nothing to do (`remove` would fail).
                    (Value::Null, true) => {}
                    (Value::Null, false) => ops.push(json!({"op": "remove", "path": path})),
                    (value, _) => {
                        ops.push(json!({"op": "add", "path": path, "value": value}));
                    }
                }
            }
            ctx.patch_dynamic(&target, &Patch::Json(Value::Array(ops)))
                .map_err(|e| e.context(format!("restoring ConfigMap {}", state.name)))?;
        }
        None => ctx.delete_dynamic(&target)?,
    }
    state.restored = true;
    save(state)
}
