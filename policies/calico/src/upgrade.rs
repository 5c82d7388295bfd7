//! Calico's upgrade guide in one run and one release: the NetworkPolicy migration first (when
//! the upgrade crosses Calico 2.0, the v1 semantics), then calico-config, then the policy
//! controller (from its pre-2.0 ReplicaSet to a `Recreate` Deployment, or the Deployment
//! updated), then calico-node node by node. The undo walks the same steps back, newest first.

use std::fmt;

use cutover_guest_sdk::params::Duration;
use cutover_guest_sdk::{Condition, Context, Error, ObjectRef, Patch, info};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::{self, ConfigMapState};
use crate::node_by_node::{self, Change};
use crate::{Save, controller, nested, netpol};

/// The Calico release whose NetworkPolicy semantics are Kubernetes' v1 ones.
const V1_SEMANTICS: Version = Version(2, 0, 0);

/// What the upgrade is asked to do.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Params {
    /// `auto` (when the upgrade crosses Calico 2.0), `always` or `never`.
    pub networkpolicy_migration: String,
    /// The Calico version installed; by default read from calico-node's image tag.
    #[serde(default)]
    pub from_version: Option<String>,
    /// The pre-2.0 policy controller's ReplicaSet; when absent, the Deployment is updated.
    pub replica_set: String,
    /// How long the policy controller's waits may take.
    pub timeout: Duration,
    /// The migration's namespaces (none: all), those left alone, the deny-all policy's name.
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub exclude_namespaces: Vec<String>,
    pub deny_policy_name: String,
    /// How calico-node's nodes are taken.
    #[serde(flatten)]
    pub nodes: node_by_node::Params,
}

/// The new manifests, kept in the state: a resumed run gets no inputs.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Manifests {
    pub daemon_set: Value,
    pub deployment: Option<Value>,
    pub config_map: Option<Value>,
}

/// A policy controller that is a Deployment already: what it was before the update.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentUpdate {
    pub name: String,
    /// Its spec before (none: the run created it).
    pub before: Option<Value>,
    /// `before` is recorded: the undo puts it back from here on.
    pub recorded: bool,
    pub applied: bool,
    pub rolled_out: bool,
    pub undone: bool,
}

/// Where the upgrade stands.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct State {
    pub manifests: Option<Manifests>,
    /// Whether the NetworkPolicy migration is part of it (decided at the start).
    pub migrate: bool,
    pub netpol: netpol::State,
    pub netpol_done: bool,
    pub config: ConfigMapState,
    /// The policy controller: moved from its ReplicaSet, or its Deployment updated.
    pub from_replica_set: bool,
    pub controller: controller::State,
    pub controller_done: bool,
    pub deployment: DeploymentUpdate,
    pub nodes: node_by_node::State,
}

/// A Calico version, `vMAJOR.MINOR.PATCH` as its image tags write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(u32, u32, u32);

impl Version {
    /// `v3.27.3`, `2.6`, `v1.6.0-rc1`: the numbers before any suffix.
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.strip_prefix('v').unwrap_or(text);
        let core = text.split(['-', '+']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next().unwrap_or(Some(0))?;
        let patch = parts.next().unwrap_or(Some(0))?;
        Some(Version(major, minor, patch))
    }

    /// The version of an image reference's tag (`docker.io/calico/node:v3.27.3`).
    pub fn of_image(image: &str) -> Option<Version> {
        let last = image.rsplit('/').next()?;
        Version::parse(last.split_once(':')?.1)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.0, self.1, self.2)
    }
}

/// The first container image of a DaemonSet's template.
fn image_of(ds: &Value) -> Option<&str> {
    ds["spec"]["template"]["spec"]["containers"][0]["image"].as_str()
}

/// Sorts the inputs by kind: exactly one DaemonSet, at most one Deployment and one ConfigMap.
pub fn manifests(objects: &[Value]) -> Result<Manifests, Error> {
    let of = |kind: &str| -> Vec<&Value> { objects.iter().filter(|o| o["kind"] == kind).collect() };
    let others: Vec<String> = objects
        .iter()
        .filter(|o| {
            !["DaemonSet", "Deployment", "ConfigMap"].contains(&o["kind"].as_str().unwrap_or(""))
        })
        .map(|o| {
            format!(
                "{} {}",
                o["kind"].as_str().unwrap_or("?"),
                o["metadata"]["name"].as_str().unwrap_or("?")
            )
        })
        .collect();
    if !others.is_empty() {
        return Err(Error::invalid(format!(
            "calico-upgrade takes calico-node's DaemonSet, the policy controller's Deployment and calico-config's ConfigMap, not {}",
            others.join(", ")
        )));
    }
    let (daemon_sets, deployments, config_maps) =
        (of("DaemonSet"), of("Deployment"), of("ConfigMap"));
    if daemon_sets.len() != 1 || deployments.len() > 1 || config_maps.len() > 1 {
        return Err(Error::invalid(format!(
            "the inputs hold {} DaemonSets, {} Deployments and {} ConfigMaps: give one DaemonSet (calico-node), and at most one Deployment (the policy controller) and one ConfigMap (calico-config)",
            daemon_sets.len(),
            deployments.len(),
            config_maps.len()
        )));
    }
    if let Some(cm) = config_maps.first() {
        config::check_config_map(cm)?;
    }
    Ok(Manifests {
        daemon_set: daemon_sets[0].clone(),
        deployment: deployments.first().map(|d| (*d).clone()),
        config_map: config_maps.first().map(|c| (*c).clone()),
    })
}

/// Whether the NetworkPolicy migration is part of this upgrade.
fn decide_migration(ctx: &Context, p: &Params, new_ds: &Value) -> Result<bool, Error> {
    let name = new_ds["metadata"]["name"].as_str().unwrap_or_default();
    match p.networkpolicy_migration.as_str() {
        "always" => return Ok(true),
        "never" => return Ok(false),
        _ => {}
    }
    let to = image_of(new_ds).and_then(Version::of_image);
    let from = match &p.from_version {
        Some(v) => Version::parse(v),
        None => match ctx.get_dynamic(&ObjectRef::new("apps/v1", "DaemonSet", name)) {
            Ok(live) => image_of(&live).and_then(Version::of_image),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        },
    };
    match (from, to) {
        (Some(from), Some(to)) => {
            let migrate = from < V1_SEMANTICS && to >= V1_SEMANTICS;
            info!(
                "upgrading Calico {from} to {to}: {}",
                if migrate {
                    "crossing 2.0, so the NetworkPolicy migration to v1 semantics comes first"
                } else {
                    "no NetworkPolicy migration (it is for upgrades that cross 2.0)"
                }
            );
            Ok(migrate)
        }
        _ => Err(Error::invalid(
            "cannot tell which Calico versions this upgrade goes between from calico-node's image tags: \
             --set from-version=v1.6.0, or --set networkpolicy-migration=always (or never)",
        )),
    }
}

/// The whole upgrade, continuing from `state`.
pub fn forward(
    ctx: &Context,
    p: &Params,
    objects: &[Value],
    state: &mut State,
    save: Save<State>,
) -> Result<String, Error> {
    if state.manifests.is_none() {
        let found = manifests(objects)?;
        state.migrate = decide_migration(ctx, p, &found.daemon_set)?;
        let rs = ObjectRef::new("apps/v1", "ReplicaSet", p.replica_set.as_str());
        state.from_replica_set = match ctx.get_dynamic(&rs) {
            Ok(_) => true,
            Err(e) if e.is_not_found() => false,
            Err(e) => return Err(e),
        };
        if state.from_replica_set && found.deployment.is_none() {
            return Err(Error::invalid(format!(
                "ReplicaSet {} (the pre-2.0 policy controller) is there, and the inputs hold no Deployment to move it to",
                p.replica_set
            )));
        }
        // Every refusal before the first change: the migration comes first, and must not be
        // made for an upgrade that would then stop at the policy controller or calico-node.
        node_by_node::check_manifest(ctx, &found.daemon_set)?;
        if let Some(d) = &found.deployment {
            controller::checked_deployment(d, ctx.namespace())?;
            if state.from_replica_set {
                controller::check(ctx, &controller_params(p), d)?;
            }
        }
        state.manifests = Some(found);
        save(state)?;
    }
    let manifests = state.manifests.clone().unwrap_or_default();
    let mut done = Vec::new();
    if state.migrate && !state.netpol_done {
        let np = netpol::Params {
            namespaces: p.namespaces.clone(),
            exclude_namespaces: p.exclude_namespaces.clone(),
            deny_policy_name: p.deny_policy_name.clone(),
        };
        let summary = nested(
            state,
            save,
            |s| &mut s.netpol,
            |s, save| netpol::forward(ctx, &np, s, save),
        )?;
        done.push(summary);
        state.netpol_done = true;
        save(state)?;
    }
    if let Some(cm) = &manifests.config_map
        && !state.config.applied
    {
        nested(
            state,
            save,
            |s| &mut s.config,
            |s, save| config::apply_config(ctx, cm, s, save),
        )?;
        let verb = if ctx.dry_run() {
            "would be applied"
        } else {
            "applied"
        };
        done.push(format!("ConfigMap {} {verb}", state.config.name));
    }
    if let Some(dep) = &manifests.deployment
        && !state.controller_done
    {
        let summary = if state.from_replica_set {
            let cp = controller_params(p);
            nested(
                state,
                save,
                |s| &mut s.controller,
                |s, save| controller::forward(ctx, &cp, Some(dep), s, save),
            )?
        } else {
            nested(
                state,
                save,
                |s| &mut s.deployment,
                |s, save| update_deployment(ctx, p, dep, s, save),
            )?
        };
        done.push(summary);
        state.controller_done = true;
        save(state)?;
    }
    let ds = &manifests.daemon_set;
    let summary = nested(
        state,
        save,
        |s| &mut s.nodes,
        |s, save| node_by_node::forward(ctx, &p.nodes, Some(Change::Apply(ds)), s, save),
    )?;
    done.push(summary);
    Ok(format!("Calico upgraded: {}", done.join("; ")))
}

/// The policy controller's move, as the upgrade's parameters say.
fn controller_params(p: &Params) -> controller::Params {
    controller::Params {
        replica_set: p.replica_set.clone(),
        timeout: p.timeout,
        delete_replica_set: false,
    }
}

/// Updates a policy controller that is a Deployment already (`Recreate`), and waits for it.
fn update_deployment(
    ctx: &Context,
    p: &Params,
    manifest: &Value,
    state: &mut DeploymentUpdate,
    save: Save<DeploymentUpdate>,
) -> Result<String, Error> {
    let manifest = controller::checked_deployment(manifest, ctx.namespace())?;
    state.name = manifest["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let target = ObjectRef::new("apps/v1", "Deployment", state.name.as_str());
    if !state.applied {
        if !state.recorded {
            state.before = match ctx.get_dynamic(&target) {
                Ok(live) => Some(live["spec"].clone()),
                Err(e) if e.is_not_found() => None,
                Err(e) => return Err(e),
            };
            state.recorded = true;
            save(state)?;
        }
        ctx.apply_dynamic(&manifest)
            .map_err(|e| e.context(format!("applying Deployment {}", state.name)))?;
        state.applied = true;
        save(state)?;
    }
    if !state.rolled_out {
        ctx.wait_dynamic(&target, &Condition::RolledOut, p.timeout)
            .map_err(|e| e.context(format!("waiting for Deployment {} to roll out", state.name)))?;
        state.rolled_out = true;
        save(state)?;
    }
    Ok(format!(
        "Deployment {} updated (Recreate) and rolled out",
        state.name
    ))
}

/// Puts back a Deployment [`update_deployment`] changed (deletes one it created).
fn undo_deployment(
    ctx: &Context,
    timeout: Duration,
    state: &mut DeploymentUpdate,
    save: Save<DeploymentUpdate>,
) -> Result<String, Error> {
    if !state.recorded || state.undone {
        return Ok(String::new());
    }
    let target = ObjectRef::new("apps/v1", "Deployment", state.name.as_str());
    match &state.before {
        Some(spec) => {
            // Rolled back with Recreate whatever its strategy was, so that the old controller
            // never starts beside the new one; then its own strategy again.
            let mut recreate = spec.clone();
            recreate["strategy"] = json!({"type": "Recreate"});
            let patch = json!([{"op": "replace", "path": "/spec", "value": recreate}]);
            ctx.patch_dynamic(&target, &Patch::Json(patch))
                .map_err(|e| e.context(format!("restoring Deployment {}", state.name)))?;
            ctx.wait_dynamic(&target, &Condition::RolledOut, timeout)
                .map_err(|e| {
                    e.context(format!("waiting for Deployment {} to roll out", state.name))
                })?;
            if !spec["strategy"].is_null() {
                let patch =
                    json!([{"op": "replace", "path": "/spec/strategy", "value": spec["strategy"]}]);
                ctx.patch_dynamic(&target, &Patch::Json(patch))
                    .map_err(|e| {
                        e.context(format!("restoring Deployment {}'s strategy", state.name))
                    })?;
            }
        }
        None => ctx.delete_dynamic(&target)?,
    }
    state.undone = true;
    save(state)?;
    Ok(format!("Deployment {} restored", state.name))
}

/// Undoes the upgrade: calico-config first (the pods that come back read it), then newest
/// step first: calico-node node by node, the policy controller, the NetworkPolicy migration.
pub fn undo(
    ctx: &Context,
    p: &Params,
    state: &mut State,
    save: Save<State>,
) -> Result<String, Error> {
    let mut done = Vec::new();
    // calico-config first: the old pods that come back read it when they start.
    if state.config.recorded {
        nested(
            state,
            save,
            |s| &mut s.config,
            |s, save| config::restore_config(ctx, s, save),
        )?;
        done.push(format!("ConfigMap {} restored", state.config.name));
    }
    if state.nodes.changed {
        done.push(nested(
            state,
            save,
            |s| &mut s.nodes,
            |s, save| node_by_node::undo(ctx, &p.nodes, s, save),
        )?);
    }
    if state.from_replica_set {
        done.push(nested(
            state,
            save,
            |s| &mut s.controller,
            |s, save| controller::undo(ctx, s, save),
        )?);
    } else if state.deployment.recorded {
        let timeout = p.timeout;
        done.push(nested(
            state,
            save,
            |s| &mut s.deployment,
            |s, save| undo_deployment(ctx, timeout, s, save),
        )?);
    }
    if state.migrate {
        done.push(nested(
            state,
            save,
            |s| &mut s.netpol,
            |s, save| netpol::undo(ctx, s, save),
        )?);
    }
    done.retain(|d| !d.is_empty());
    if done.is_empty() {
        return Ok("nothing to undo: the upgrade had changed nothing".into());
    }
    Ok(format!("Calico upgrade undone: {}", done.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_image_tags() {
        assert_eq!(
            Version::of_image("docker.io/calico/node:v3.27.3"),
            Some(Version(3, 27, 3))
        );
        assert_eq!(
            Version::of_image("calico/node:v1.6"),
            Some(Version(1, 6, 0))
        );
        assert_eq!(
            Version::of_image("quay.io/calico/node:v2.0.0-rc1"),
            Some(Version(2, 0, 0))
        );
        assert_eq!(Version::of_image("localhost:5000/calico/node"), None);
        assert_eq!(Version::of_image("calico/node:latest"), None);
        assert!(Version(1, 6, 0) < V1_SEMANTICS && V1_SEMANTICS <= Version(3, 27, 3));
    }

    #[test]
    fn inputs_are_sorted_by_kind_and_anything_else_refused() {
        let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "calico-node"}});
        let cm =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "calico-config"}});
        let found = manifests(&[cm.clone(), ds.clone()]).expect("sorted");
        assert_eq!(found.daemon_set, ds);
        assert_eq!(found.config_map, Some(cm));
        let sa =
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "calico"}});
        let e = manifests(&[ds.clone(), sa]).unwrap_err();
        assert!(e.to_string().contains("not ServiceAccount calico"), "{e}");
        let e = manifests(&[]).unwrap_err();
        assert!(e.to_string().contains("0 DaemonSets"), "{e}");
    }
}
