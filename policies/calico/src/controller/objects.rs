//! The cluster reads and waits the move shares, and what it reads in an object (owner, replicas, selector, a copy to re-create it).

use std::time::Duration as StdDuration;

use cutover_guest_sdk::params::Duration;
use cutover_guest_sdk::{Context, Error, ListParams, ObjectRef, SetCondition, WaitSet, info};
use serde_json::{Map, Value, json};

use super::{DeploymentRecord, ReplicaSetRecord};

/// The host watches at most this many objects in one `wait-all`.
const WAIT_BATCH: usize = 1000;

/// Annotations a copy leaves out: the controller's bookkeeping, and kubectl's copy of the
/// whole object (large, and rewritten by the next `kubectl apply`).
const DROPPED_ANNOTATIONS: &[&str] = &[
    "deployment.kubernetes.io/revision",
    "kubectl.kubernetes.io/last-applied-configuration",
];

/// The pods the ReplicaSet controls (by its uid): others its labels also match are not its.
pub(super) fn pods_of_replica_set(
    ctx: &Context,
    rs: &ReplicaSetRecord,
) -> Result<Vec<Value>, Error> {
    let pods = list_pods(ctx, &rs.selector)
        .map_err(|e| e.context(format!("listing the pods of ReplicaSet {}", rs.name)))?;
    Ok(pods
        .into_iter()
        .filter(|pod| controller_of(pod).is_some_and(|(_, _, uid)| uid == rs.uid))
        .collect())
}

/// How many times the Deployment's pods are listed and waited on, at most, before the undo
/// gives up on them (a ReplicaSet that keeps making pods).
const POD_ROUNDS: usize = 5;

/// Waits until the Deployment's pods are gone: those of its ReplicaSets (`<name>-<hash>`),
/// never the old ReplicaSet's. Listed again once the listed ones are gone, until a list finds
/// none: on a real cluster a deleted Deployment's ReplicaSet lives on until the garbage
/// collector deletes it, and a pod it makes in that moment was in no earlier list. Its pods
/// are collected only after it is gone, so a list that finds none means none is coming.
pub(super) fn wait_deployment_pods_gone(
    ctx: &Context,
    rs: &ReplicaSetRecord,
    dep: &DeploymentRecord,
    timeout: StdDuration,
) -> Result<(), Error> {
    let ns = ctx.namespace();
    let prefix = format!("{}-", dep.name);
    let what = format!("Deployment {ns}/{}'s pods", dep.name);
    let deadline = ctx.now() + timeout;
    for _ in 0..POD_ROUNDS {
        let pods: Vec<Value> = list_pods(ctx, &dep.selector)
            .map_err(|e| e.context(format!("listing the pods of Deployment {ns}/{}", dep.name)))?
            .into_iter()
            .filter(|pod| {
                controller_of(pod).is_some_and(|(kind, owner, uid)| {
                    kind == "ReplicaSet" && owner.starts_with(&prefix) && uid != rs.uid
                })
            })
            .collect();
        if pods.is_empty() {
            info!("{what}: none left");
            return Ok(());
        }
        let left = deadline.saturating_duration_since(ctx.now());
        if left.is_zero() {
            return Err(Error::timeout(format!(
                "{what} are gone: not within {}",
                Duration(timeout)
            )));
        }
        wait_gone(ctx, &pods, left, &what)?;
    }
    Err(Error::aborted(format!(
        "{what} keep coming: still some after {POD_ROUNDS} rounds of waiting; delete its ReplicaSets (kubectl delete rs -l {}), then undo again",
        dep.selector
    )))
}

pub(super) fn list_pods(ctx: &Context, selector: &str) -> Result<Vec<Value>, Error> {
    let mut query = ListParams::default();
    if !selector.is_empty() {
        query = query.labels(selector);
    }
    ctx.list_dynamic("v1", "Pod", &query)
}

/// Waits until every pod of `pods` is gone, the host watching them together.
pub(super) fn wait_gone(
    ctx: &Context,
    pods: &[Value],
    timeout: StdDuration,
    what: &str,
) -> Result<(), Error> {
    if pods.is_empty() {
        info!("{what}: none left");
        return Ok(());
    }
    let targets: Vec<ObjectRef> = pods
        .iter()
        .map(|pod| ObjectRef::new("v1", "Pod", text(pod, "/metadata/name")))
        .collect();
    let gone = format!("{what} are gone");
    let left = budget(ctx, timeout, &gone)?;
    let deadline = ctx.now() + left;
    for batch in targets.chunks(WAIT_BATCH) {
        let left = deadline.saturating_duration_since(ctx.now());
        if left.is_zero() {
            return Err(Error::timeout(format!(
                "{gone}: not within {}",
                Duration(timeout)
            )));
        }
        ctx.wait_all(
            &WaitSet::Objects(batch.to_vec()),
            SetCondition::AllGone,
            left,
        )
        .map_err(|e| e.context(format!("waiting until {gone}")))?;
    }
    info!("{what} are gone ({})", pods.len());
    Ok(())
}

/// How long a wait may take: its `timeout`, and no longer than the run's deadline less a
/// margin (5% of what is left, 1 to 30 seconds), so that the failure names what was awaited.
pub(super) fn budget(
    ctx: &Context,
    timeout: StdDuration,
    what: &str,
) -> Result<StdDuration, Error> {
    let left = ctx.deadline().saturating_duration_since(ctx.now());
    let margin = (left / 20).clamp(StdDuration::from_secs(1), StdDuration::from_secs(30));
    let budget = timeout.min(left.saturating_sub(margin));
    if budget.is_zero() {
        return Err(Error::timeout(format!(
            "no time left (--timeout) to wait until {what}"
        )));
    }
    Ok(budget)
}

pub(super) fn replica_set_ref(name: &str) -> ObjectRef {
    ObjectRef::new("apps/v1", "ReplicaSet", name)
}

pub(super) fn deployment_ref(name: &str) -> ObjectRef {
    ObjectRef::new("apps/v1", "Deployment", name)
}

pub(super) fn get_opt(ctx: &Context, target: &ObjectRef) -> Result<Option<Value>, Error> {
    match ctx.get_dynamic(target) {
        Ok(object) => Ok(Some(object)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The string at `pointer`, or "".
pub(super) fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
}

pub(super) fn uid_of(object: &Value, what: &str) -> Result<String, Error> {
    match text(object, "/metadata/uid") {
        "" => Err(Error::invalid(format!("{what} has no metadata.uid"))),
        uid => Ok(uid.to_string()),
    }
}

/// `spec.replicas`, 1 when absent (the API server's default).
pub(super) fn replicas_of(object: &Value) -> u32 {
    object
        .pointer("/spec/replicas")
        .and_then(Value::as_u64)
        .map_or(1, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// The controller owner reference: kind, name, uid.
pub(super) fn controller_of(object: &Value) -> Option<(&str, &str, &str)> {
    object["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r["controller"] == true)
        .map(|r| (text(r, "/kind"), text(r, "/name"), text(r, "/uid")))
}

/// A selector's `matchLabels` as `k=v,...` (its `matchExpressions` are left out: the pods
/// listed are then filtered by owner, so a wider list is only a longer one).
pub(super) fn match_labels(selector: &Value) -> String {
    selector["matchLabels"]
        .as_object()
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// Whether `selector`'s `matchLabels` all hold in `labels` (and it has some, and no
/// expressions): a Deployment with it adopts an orphan ReplicaSet with those labels.
pub(super) fn selects(selector: &Value, labels: &Value) -> bool {
    let Some(wanted) = selector["matchLabels"].as_object() else {
        return false;
    };
    !wanted.is_empty()
        && selector["matchExpressions"]
            .as_array()
            .is_none_or(Vec::is_empty)
        && wanted.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// What an undo re-applies: the identity, labels, annotations (without bookkeeping) and spec.
pub(super) fn copy_of(object: &Value, api_version: &str, kind: &str) -> Value {
    let mut metadata = Map::new();
    for key in ["name", "namespace", "labels", "annotations"] {
        if let Some(value) = object["metadata"].get(key).filter(|v| !v.is_null()) {
            metadata.insert(key.into(), value.clone());
        }
    }
    if let Some(annotations) = metadata
        .get_mut("annotations")
        .and_then(Value::as_object_mut)
    {
        for dropped in DROPPED_ANNOTATIONS {
            annotations.remove(*dropped);
        }
    }
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": metadata,
        "spec": object["spec"].clone(),
    })
}

pub(super) fn images(deployment: &Value) -> String {
    let images: Vec<&str> = deployment
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .map(|containers| containers.iter().map(|c| text(c, "/image")).collect())
        .unwrap_or_default();
    if images.is_empty() {
        "none".into()
    } else {
        images.join(", ")
    }
}

pub(super) fn replicas(n: u32) -> String {
    if n == 1 {
        "1 replica".into()
    } else {
        format!("{n} replicas")
    }
}
