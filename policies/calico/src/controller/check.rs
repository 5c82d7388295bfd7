//! What the move refuses before any change: a manifest that is not one Recreate Deployment of at most one replica, a missing or owned ReplicaSet, two controllers running already.

use cutover_guest_sdk::{Context, Error, info};
use serde_json::Value;

use super::objects::{
    controller_of, copy_of, deployment_ref, get_opt, match_labels, replica_set_ref, replicas,
    replicas_of, selects, text, uid_of,
};
use super::{DeploymentRecord, Params, ReplicaSetRecord, State, Step};

/// Checks the manifest, the ReplicaSet and any Deployment of that name, and returns the state
/// to start from (step [`Step::Checked`]). Changes nothing: `calico-upgrade` can call it
/// before its first change, and hand the state to [`forward`](super::forward) once saved.
pub fn check(ctx: &Context, params: &Params, manifest: &Value) -> Result<State, Error> {
    let ns = ctx.namespace();
    if params.timeout.is_zero() {
        return Err(Error::invalid(
            "timeout must be more than 0: it is how long each wait may take",
        ));
    }
    let manifest = checked_deployment(manifest, ns)?;
    let name = text(&manifest, "/metadata/name").to_string();

    let rs_name = params.replica_set.as_str();
    let found = get_opt(ctx, &replica_set_ref(rs_name))
        .map_err(|e| e.context(format!("reading ReplicaSet {ns}/{rs_name}")))?;
    let Some(rs) = found else {
        return Err(Error::not_found(format!(
            "ReplicaSet {ns}/{rs_name} does not exist: nothing to move to Deployment {name} (name the old ReplicaSet with --set replica-set=NAME, and its namespace with -n)"
        )));
    };
    if let Some((kind, owner, _)) = controller_of(&rs) {
        return Err(Error::invalid(format!(
            "ReplicaSet {ns}/{rs_name} is controlled by {kind} {owner}, which would scale it back: name a ReplicaSet of its own"
        )));
    }
    let rs_uid = uid_of(&rs, &format!("ReplicaSet {ns}/{rs_name}"))?;
    let rs_replicas = replicas_of(&rs);

    let previous = get_opt(ctx, &deployment_ref(&name))
        .map_err(|e| e.context(format!("reading Deployment {ns}/{name}")))?;
    if let Some(live) = &previous {
        let running = replicas_of(live);
        if running > 0 && rs_replicas > 0 {
            return Err(Error::invalid(format!(
                "ReplicaSet {ns}/{rs_name} ({}) and Deployment {ns}/{name} ({}) both run already: at most one {name} may run; scale one of them to 0 first",
                replicas(rs_replicas),
                replicas(running)
            )));
        }
    }
    if selects(&manifest["spec"]["selector"], &rs["metadata"]["labels"]) {
        info!(
            "Deployment {name}'s selector matches ReplicaSet {rs_name}'s labels: Kubernetes' Deployment controller adopts the ReplicaSet as an old one (an undo re-creates it if it goes with the Deployment)"
        );
    }
    Ok(State {
        step: Step::Checked,
        timeout: params.timeout,
        replica_set: Some(ReplicaSetRecord {
            name: rs_name.to_string(),
            uid: rs_uid,
            replicas: rs_replicas,
            selector: match_labels(&rs["spec"]["selector"]),
            copy: copy_of(&rs, "apps/v1", "ReplicaSet"),
        }),
        deployment: Some(DeploymentRecord {
            name,
            selector: match_labels(&manifest["spec"]["selector"]),
            manifest,
            previous: previous.map(|live| copy_of(&live, "apps/v1", "Deployment")),
            uid: None,
        }),
    })
}

/// Checks that `manifest` is an apps/v1 Deployment this procedure may apply: in the run's
/// namespace (or none, then given it), strategy `Recreate`, at most one replica, a selector
/// its pod template matches. Returns it with `metadata.namespace` set.
///
/// A Deployment without a strategy is refused too: Kubernetes defaults it to `RollingUpdate`,
/// which starts the new pod before the old one is gone.
pub fn checked_deployment(manifest: &Value, namespace: &str) -> Result<Value, Error> {
    let api_version = text(manifest, "/apiVersion");
    let kind = text(manifest, "/kind");
    let name = text(manifest, "/metadata/name");
    if api_version != "apps/v1" || kind != "Deployment" {
        return Err(Error::invalid(format!(
            "the manifest must be one apps/v1 Deployment, not {} {}",
            if api_version.is_empty() && kind.is_empty() {
                "an object without apiVersion and kind".to_string()
            } else {
                format!("{api_version} {kind}")
            },
            name
        )));
    }
    if name.is_empty() {
        return Err(Error::invalid("the Deployment has no metadata.name"));
    }
    if let Some(other) = manifest
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .filter(|ns| *ns != namespace)
    {
        return Err(Error::invalid(format!(
            "Deployment {other}/{name} is for namespace {other}, not the run's {namespace}: run with -n {other}"
        )));
    }
    let recreate = format!("set spec.strategy.type: Recreate: at most one {name} may run");
    match manifest.pointer("/spec/strategy/type") {
        Some(Value::String(s)) if s == "Recreate" => {}
        None | Some(Value::Null) => {
            return Err(Error::invalid(format!(
                "Deployment {name} sets no spec.strategy.type, which Kubernetes defaults to RollingUpdate (the new pod starts before the old one stops): {recreate}"
            )));
        }
        Some(other) => {
            let shown = other
                .as_str()
                .map_or_else(|| other.to_string(), str::to_string);
            return Err(Error::invalid(format!(
                "Deployment {name} has strategy {shown}, which runs old and new pods together: {recreate}"
            )));
        }
    }
    if manifest
        .pointer("/spec/strategy/rollingUpdate")
        .is_some_and(|v| !v.is_null())
    {
        return Err(Error::invalid(format!(
            "Deployment {name} has spec.strategy.rollingUpdate, which the API server refuses with strategy Recreate: remove it"
        )));
    }
    match manifest.pointer("/spec/replicas") {
        None | Some(Value::Null) => {}
        Some(n) => match n.as_u64() {
            Some(0 | 1) => {}
            Some(n) => {
                return Err(Error::invalid(format!(
                    "Deployment {name} asks for {n} replicas: at most one {name} may run; set spec.replicas: 1"
                )));
            }
            None => {
                return Err(Error::invalid(format!(
                    "Deployment {name}'s spec.replicas is {n}, not a count"
                )));
            }
        },
    }
    let selector = &manifest["spec"]["selector"];
    let has_terms = selector["matchLabels"]
        .as_object()
        .is_some_and(|m| !m.is_empty())
        || selector["matchExpressions"]
            .as_array()
            .is_some_and(|e| !e.is_empty());
    if !has_terms {
        return Err(Error::invalid(format!(
            "Deployment {name} has no spec.selector (apps/v1 needs matchLabels or matchExpressions)"
        )));
    }
    let template_labels = &manifest["spec"]["template"]["metadata"]["labels"];
    if let Some(labels) = selector["matchLabels"].as_object() {
        for (key, value) in labels {
            if template_labels.get(key) != Some(value) {
                return Err(Error::invalid(format!(
                    "Deployment {name}'s spec.selector asks for {key}={}, which spec.template.metadata.labels does not have",
                    value.as_str().unwrap_or("?")
                )));
            }
        }
    }
    let mut manifest = manifest.clone();
    if let Some(metadata) = manifest.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert("namespace".into(), Value::from(namespace));
    }
    Ok(manifest)
}
