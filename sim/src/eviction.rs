//! The Eviction subresource: PodDisruptionBudget checks by the budget's status, as
//! kube-apiserver 1.20 makes them, taking one disruption per allowed eviction.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::kinds::{self, KindInfo};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{DeleteOptions, Store, UpdateTarget, meta};

/// The real server's refusal message.
pub const REFUSED: &str = "Cannot evict pod as it would violate the pod's disruption budget.";

fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

fn terminating(pod: &Value) -> bool {
    meta(pod).contains_key("deletionTimestamp")
}

/// How often an eviction re-reads a budget whose status changed under it (client-go's
/// `EvictionsRetry` is 20 steps).
const CONFLICT_RETRIES: usize = 20;

fn status_int(pdb: &Value, field: &str) -> i64 {
    pdb.pointer(&format!("/status/{field}"))
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

fn too_many_requests(cause: String) -> ApiError {
    let mut err = ApiError::new(429, "TooManyRequests", REFUSED);
    err.details = Some(json!({"causes": [{"reason": "DisruptionBudget", "message": cause}]}));
    err
}

/// Checks the budgets covering `pod` and, when eviction is allowed, deletes it (gracefully unless
/// `opts` say otherwise). Returns the `Status` to answer with (201 Success).
///
/// As kube-apiserver 1.20 does, the budget is judged by its **status**, which the disruption
/// controller (the simulator's PDB controller) keeps: allowed when the pod is already
/// terminating or not running (Pending/Succeeded/Failed), when no budget selects it, when it is
/// unready and the budget is met without it (`currentHealthy >= desiredHealthy > 0`, or
/// `unhealthyPodEvictionPolicy: AlwaysAllow`), or when `status.disruptionsAllowed > 0`. In the
/// last case the eviction takes one disruption: it decrements `disruptionsAllowed` and records
/// the pod in `status.disruptedPods` (pod name → now) before deleting it, so that an eviction
/// straight after is judged by that, until the controller sees the pod go. A budget whose status
/// is behind its generation refuses (429 "... is still being processed by the server.").
pub fn evict(store: &Store, ns: &str, name: &str, opts: &DeleteOptions) -> Result<Value, ApiError> {
    let pods = kinds::find("", "v1", "pods").expect("pods are served");
    let pdbs = kinds::find("policy", "v1", "poddisruptionbudgets").expect("PDBs are served");
    let pod = store.get(pods, ns, name)?;
    if terminating(&pod) {
        return Ok(crate::error::success_status(200));
    }
    let phase = pod.pointer("/status/phase").and_then(Value::as_str);
    let ignore_pdb = matches!(phase, Some("Pending" | "Succeeded" | "Failed"));
    if !ignore_pdb {
        let matching = budgets_of(store, pdbs, ns, &pod)?;
        if matching.len() > 1 {
            return Err(ApiError::internal(
                "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
            ));
        }
        if let Some(pdb) = matching.first() {
            take_disruption(store, pdbs, ns, name, &pod, pdb.clone(), opts.dry_run)?;
        }
    }
    store.delete(pods, ns, name, opts)?;
    Ok(crate::error::success_status(201))
}

/// The budgets in `ns` whose selector selects `pod` (a budget without a selector selects none).
fn budgets_of(
    store: &Store,
    pdbs: &KindInfo,
    ns: &str,
    pod: &Value,
) -> Result<Vec<Arc<Value>>, ApiError> {
    let (budgets, _) = store.list(
        pdbs,
        Some(ns),
        &LabelSelector::default(),
        &FieldSelector::default(),
    );
    let mut matching = Vec::new();
    for pdb in budgets {
        let Some(sel) = pdb.pointer("/spec/selector") else {
            continue;
        };
        if LabelSelector::from_json(sel)?.matches(pod) {
            matching.push(pdb);
        }
    }
    Ok(matching)
}

/// The budget's verdict on evicting `pod_name` (`checkAndDecrement`), retried on a conflicting
/// write to the budget; an allowed eviction of a Ready pod is written into the budget's status.
fn take_disruption(
    store: &Store,
    pdbs: &KindInfo,
    ns: &str,
    pod_name: &str,
    pod: &Value,
    mut pdb: Arc<Value>,
    dry_run: bool,
) -> Result<(), ApiError> {
    let pdb_name = meta(&pdb)
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let healthy = status_int(&pdb, "currentHealthy");
    let desired = status_int(&pdb, "desiredHealthy");
    if !is_ready(pod) {
        let always = pdb.pointer("/spec/unhealthyPodEvictionPolicy") == Some(&json!("AlwaysAllow"));
        if always || (healthy >= desired && desired > 0) {
            // An unready pod counts for nothing: nothing to take from the budget.
            return Ok(());
        }
    }
    for _ in 0..CONFLICT_RETRIES {
        let generation = meta(&pdb)
            .get("generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if status_int(&pdb, "observedGeneration") < generation {
            return Err(too_many_requests(format!(
                "The disruption budget {pdb_name} is still being processed by the server."
            )));
        }
        let allowed = status_int(&pdb, "disruptionsAllowed");
        if allowed < 0 {
            return Err(ApiError::new(
                403,
                "Forbidden",
                format!(
                    "poddisruptionbudgets.policy \"{pdb_name}\" is forbidden: pdb disruptions allowed is negative"
                ),
            ));
        }
        let disrupted = pdb
            .pointer("/status/disruptedPods")
            .and_then(Value::as_object)
            .map_or(0, |m| m.len());
        if disrupted > MAX_DISRUPTED_PODS {
            return Err(ApiError::new(
                403,
                "Forbidden",
                format!(
                    "poddisruptionbudgets.policy \"{pdb_name}\" is forbidden: DisruptedPods map too big - too many evictions not confirmed by PDB controller"
                ),
            ));
        }
        if allowed == 0 {
            return Err(too_many_requests(format!(
                "The disruption budget {pdb_name} needs {} healthy pods and has {} currently",
                status_int(&pdb, "desiredHealthy"),
                status_int(&pdb, "currentHealthy"),
            )));
        }
        if dry_run {
            return Ok(());
        }
        let mut status = pdb.get("status").cloned().unwrap_or_else(|| json!({}));
        status["disruptionsAllowed"] = json!(allowed - 1);
        if !status["disruptedPods"].is_object() {
            status["disruptedPods"] = json!({});
        }
        status["disruptedPods"][pod_name] = json!(crate::clock::now(store.clock()));
        let body = json!({
            "metadata": {
                "name": pdb_name,
                "resourceVersion": pdb.pointer("/metadata/resourceVersion"),
            },
            "status": status,
        });
        match store.update(pdbs, ns, &pdb_name, body, UpdateTarget::Status, false) {
            Ok(_) => return Ok(()),
            Err(e) if e.code == 409 => pdb = store.get(pdbs, ns, &pdb_name)?,
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::conflict(
        "policy",
        "poddisruptionbudgets",
        &pdb_name,
    ))
}

/// kube-apiserver's `MaxDisruptedPodSize`: evictions the controller has not confirmed yet.
const MAX_DISRUPTED_PODS: usize = 2000;
