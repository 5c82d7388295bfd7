//! Endpoints for Services with selectors, and PodDisruptionBudget status.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::util::{
    self, active, available, endpoints, int_or_percent, pdbs, pod_ready, services, str_at,
    write_status,
};
use super::{Ctx, Key};
use crate::error::ApiError;
use crate::selectors::LabelSelector;
use crate::store::{DeleteOptions, UpdateTarget};

pub(crate) fn reconcile_service(ctx: &mut Ctx, ns: &str, name: &str) -> Result<(), ApiError> {
    let svc = match ctx.store().get(services(), ns, name) {
        Ok(s) => s,
        Err(e) if e.code == 404 => return forget_service(ctx, ns, name),
        Err(e) => return Err(e),
    };
    let Some(selector) = svc
        .pointer("/spec/selector")
        .and_then(Value::as_object)
        .filter(|s| !s.is_empty())
    else {
        return Ok(()); // Endpoints of selector-less Services are the user's.
    };
    let selector = LabelSelector::from_json(&json!({ "matchLabels": selector }))?;
    let pods: Vec<Arc<Value>> = ctx
        .shared
        .index(|i| i.pods_in(ns))
        .into_iter()
        .filter(|p| active(p) && selector.matches(p) && str_at(p, "/status/podIP").is_some())
        .collect();
    let address = |p: &Value| {
        let mut a = json!({
            "ip": str_at(p, "/status/podIP"),
            "targetRef": {
                "kind": "Pod", "namespace": ns, "name": util::name(p), "uid": util::uid(p),
            },
        });
        if let Some(node) = util::node_name(p) {
            a["nodeName"] = json!(node);
        }
        a
    };
    let ready: Vec<Value> = pods
        .iter()
        .filter(|p| pod_ready(p))
        .map(|p| address(p))
        .collect();
    let not_ready: Vec<Value> = pods
        .iter()
        .filter(|p| !pod_ready(p))
        .map(|p| address(p))
        .collect();
    let ports: Vec<Value> = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let port = match &p["targetPort"] {
                Value::Number(n) => json!(n),
                _ => p["port"].clone(),
            };
            let mut out = json!({
                "port": port,
                "protocol": p.get("protocol").cloned().unwrap_or_else(|| json!("TCP")),
            });
            if let Some(n) = p.get("name") {
                out["name"] = n.clone();
            }
            out
        })
        .collect();
    let mut subset = serde_json::Map::new();
    if !ready.is_empty() {
        subset.insert("addresses".into(), json!(ready));
    }
    if !not_ready.is_empty() {
        subset.insert("notReadyAddresses".into(), json!(not_ready));
    }
    let subsets = if subset.is_empty() {
        json!([])
    } else {
        subset.insert("ports".into(), json!(ports));
        json!([subset])
    };
    let labels = svc
        .pointer("/metadata/labels")
        .cloned()
        .unwrap_or_else(|| json!({}));
    match ctx.store().get(endpoints(), ns, name) {
        Ok(live) => {
            if live.get("subsets") == Some(&subsets)
                && live.pointer("/metadata/labels") == Some(&labels)
            {
                return Ok(());
            }
            let mut next = (*live).clone();
            next["subsets"] = subsets;
            next["metadata"]["labels"] = labels;
            ctx.store()
                .update(endpoints(), ns, name, next, UpdateTarget::Main, false)
                .map(drop)
        }
        Err(e) if e.code == 404 => {
            let ep = json!({
                "metadata": {"name": name, "namespace": ns, "labels": labels},
                "subsets": subsets,
            });
            ctx.store().create(endpoints(), ns, ep, false).map(drop)
        }
        Err(e) => Err(e),
    }
}

/// Removes the Endpoints of a deleted Service (the store has no owner reference between them).
pub(crate) fn forget_service(ctx: &Ctx, ns: &str, name: &str) -> Result<(), ApiError> {
    match ctx
        .store()
        .delete(endpoints(), ns, name, &DeleteOptions::default())
    {
        Ok(_) => Ok(()),
        Err(e) if e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// How long an eviction's entry in `status.disruptedPods` stands for a pod that is not deleted
/// (the disruption controller's `DeletionTimeout`, 2 minutes).
const DELETION_TIMEOUT: Duration = Duration::from_secs(120);

/// The entries of `status.disruptedPods` that still stand: the pod exists, is not being deleted,
/// and was evicted less than [`DELETION_TIMEOUT`] ago (`buildDisruptedPodMap`); and when the
/// earliest of them expires.
fn standing_disruptions(
    pdb: &Value,
    pods: &[Arc<Value>],
    now: jiff::Timestamp,
) -> (Map<String, Value>, Option<Duration>) {
    let mut kept = Map::new();
    let mut next_expiry: Option<Duration> = None;
    let recorded = pdb
        .pointer("/status/disruptedPods")
        .and_then(Value::as_object);
    for (name, at) in recorded.into_iter().flatten() {
        let Some(pod) = pods.iter().find(|p| util::name(p) == name) else {
            continue;
        };
        if util::terminating(pod) {
            continue;
        }
        let Some(evicted) = at.as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok()) else {
            continue;
        };
        let age = Duration::try_from(now.duration_since(evicted)).unwrap_or(Duration::ZERO);
        if age >= DELETION_TIMEOUT {
            continue;
        }
        let left = DELETION_TIMEOUT - age;
        next_expiry = Some(next_expiry.map_or(left, |e| e.min(left)));
        kept.insert(name.clone(), at.clone());
    }
    (kept, next_expiry)
}

pub(crate) fn reconcile_pdb(ctx: &mut Ctx, ns: &str, name: &str) -> Result<(), ApiError> {
    let pdb = match ctx.store().get(pdbs(), ns, name) {
        Ok(p) => p,
        Err(e) if e.code == 404 => return Ok(()),
        Err(e) => return Err(e),
    };
    let selector = util::selector(&pdb);
    let selected: Vec<Arc<Value>> = ctx
        .shared
        .index(|i| i.pods_in(ns))
        .into_iter()
        .filter(|p| selector.matches(p))
        .collect();
    let (disrupted, next_expiry) = standing_disruptions(
        &pdb,
        &selected,
        crate::clock::timestamp(ctx.store().clock()),
    );
    if let Some(left) = next_expiry {
        let at = ctx.now() + left;
        ctx.wake_at(at, Key::Pdb(ns.to_string(), name.to_string()));
    }
    let pods: Vec<&Arc<Value>> = selected.iter().filter(|p| active(p)).collect();
    let expected = pods.len() as i64;
    // A pod an eviction took is no longer counted healthy, though it still runs.
    let healthy = pods
        .iter()
        .filter(|p| available(p) && !disrupted.contains_key(util::name(p)))
        .count() as i64;
    let desired = if let Some(min) = pdb.pointer("/spec/minAvailable") {
        int_or_percent(Some(min), expected, "0", true)
    } else if let Some(max) = pdb.pointer("/spec/maxUnavailable") {
        (expected - int_or_percent(Some(max), expected, "0", true)).max(0)
    } else {
        expected
    };
    let mut status = json!({
        "observedGeneration": util::generation(&pdb),
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected,
        "disruptionsAllowed": (healthy - desired).max(0),
    });
    let now = util::now(ctx.store());
    let allowed = healthy > desired;
    let condition = if allowed {
        util::make_condition(
            &pdb,
            "DisruptionAllowed",
            true,
            "SufficientPods",
            "",
            &now,
            false,
        )
    } else {
        util::make_condition(
            &pdb,
            "DisruptionAllowed",
            false,
            "InsufficientPods",
            "",
            &now,
            false,
        )
    };
    status["conditions"] = json!([condition]);
    if !disrupted.is_empty() {
        status["disruptedPods"] = Value::Object(disrupted);
    }
    write_status(ctx.store(), pdbs(), &pdb, status)
}
