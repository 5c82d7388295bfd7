//! The DaemonSet controller: a pod on every node matching the template's nodeSelector
//! (cordoned nodes included), rolled by RollingUpdate (maxUnavailable) or OnDelete.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Value, json};

use super::Ctx;
use super::scheduler::selector_matches;
use super::util::{
    self, active, available, daemonsets, delete_pod, int_or_percent, str_at, template_hash,
    terminating, write_status,
};
use crate::error::ApiError;

pub(crate) const REVISION_LABEL: &str = "controller-revision-hash";

fn revision_of(pod: &Value) -> Option<&str> {
    pod.pointer("/metadata/labels")
        .and_then(|l| l.get(REVISION_LABEL))
        .and_then(Value::as_str)
}

/// The tolerations the real DaemonSet controller (1.20) adds to its pods, in its order
/// (`AddOrUpdateDaemonPodTolerations`); a host-network pod also tolerates
/// `node.kubernetes.io/network-unavailable`.
const DAEMON_TOLERATIONS: [(&str, &str); 6] = [
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
];

/// A daemon pod's spec from the template's: the node affinity the real controller pins it with
/// (`metadata.name` In [node], replacing any required node affinity), its tolerations, and
/// `spec.nodeName` (the simulator binds it at once; the real scheduler binds it by the affinity).
fn daemon_pod_spec(spec: &mut Value, node: &str) {
    if !spec.is_object() {
        *spec = json!({});
    }
    if !spec["affinity"].is_object() {
        spec["affinity"] = json!({});
    }
    if !spec["affinity"]["nodeAffinity"].is_object() {
        spec["affinity"]["nodeAffinity"] = json!({});
    }
    spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = json!({
        "nodeSelectorTerms": [{"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": [node]},
        ]}],
    });
    let mut wanted: Vec<(&str, &str)> = DAEMON_TOLERATIONS.to_vec();
    if spec["hostNetwork"] == json!(true) {
        wanted.push(("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    if !spec["tolerations"].is_array() {
        spec["tolerations"] = json!([]);
    }
    if let Some(list) = spec["tolerations"].as_array_mut() {
        for (key, effect) in wanted {
            // AddOrUpdateTolerationInPodSpec: an equal toleration is kept, one of the same key
            // and effect is replaced.
            let toleration = json!({"key": key, "operator": "Exists", "effect": effect});
            match list
                .iter_mut()
                .find(|t| t["key"] == key && t["effect"] == effect)
            {
                Some(existing) => *existing = toleration,
                None => list.push(toleration),
            }
        }
    }
    spec["nodeName"] = json!(node);
}

pub(crate) fn reconcile(ctx: &mut Ctx, ns: &str, name: &str) -> Result<(), ApiError> {
    let ds = match ctx.store().get(daemonsets(), ns, name) {
        Ok(ds) => ds,
        Err(e) if e.code == 404 => return Ok(()),
        Err(e) => return Err(e),
    };
    if terminating(&ds) {
        return Ok(());
    }
    let template = ds.pointer("/spec/template").cloned().unwrap_or_default();
    let hash = template_hash(&template);
    let node_selector = template.pointer("/spec/nodeSelector").cloned();
    let eligible: BTreeSet<String> = ctx
        .shared
        .index(|i| i.nodes())
        .iter()
        .filter(|n| selector_matches(node_selector.as_ref(), n))
        .map(|n| util::name(n).to_string())
        .collect();
    let pods = util::owned_pods(ctx, util::uid(&ds));
    let mut by_node: BTreeMap<String, Vec<Arc<Value>>> = BTreeMap::new();
    for pod in &pods {
        let node = util::node_name(pod).unwrap_or_default().to_string();
        if !eligible.contains(&node) {
            if active(pod) {
                delete_pod(ctx.store(), pod)?;
            }
            continue;
        }
        by_node.entry(node).or_default().push(pod.clone());
    }
    for node in &eligible {
        let here = by_node.get(node).map(Vec::as_slice).unwrap_or_default();
        // A replacement waits until the old pod is gone, as the real controller does.
        if here.is_empty() {
            let mut t = template.clone();
            daemon_pod_spec(&mut t["spec"], node);
            let generation = util::generation(&ds).to_string();
            super::replicaset::create_pod(
                ctx,
                &ds,
                &t,
                ns,
                &[
                    (REVISION_LABEL, hash.as_str()),
                    ("pod-template-generation", generation.as_str()),
                ],
            )?;
            continue;
        }
        let mut live: Vec<&Arc<Value>> = here.iter().filter(|p| active(p)).collect();
        if live.len() > 1 {
            // Keep one: an updated one if any, then the oldest.
            live.sort_by_key(|p| {
                (
                    revision_of(p) != Some(hash.as_str()),
                    str_at(p, "/metadata/creationTimestamp")
                        .unwrap_or_default()
                        .to_string(),
                    util::name(p).to_string(),
                )
            });
            for extra in &live[1..] {
                delete_pod(ctx.store(), extra)?;
            }
        }
        for p in here.iter().filter(|p| util::finished(p) && !terminating(p)) {
            delete_pod(ctx.store(), p)?;
        }
    }
    if str_at(&ds, "/spec/updateStrategy/type") != Some("OnDelete") {
        let max_unavailable = int_or_percent(
            ds.pointer("/spec/updateStrategy/rollingUpdate/maxUnavailable"),
            eligible.len() as i64,
            "1",
            true,
        )
        .max(1);
        let pods = util::owned_pods(ctx, util::uid(&ds));
        let served: HashSet<&str> = pods
            .iter()
            .filter(|p| available(p))
            .filter_map(|p| util::node_name(p))
            .collect();
        let unavailable = eligible
            .iter()
            .filter(|node| !served.contains(node.as_str()))
            .count() as i64;
        let mut old: Vec<&Arc<Value>> = pods
            .iter()
            .filter(|p| active(p) && revision_of(p) != Some(hash.as_str()))
            .filter(|p| util::node_name(p).is_some_and(|n| eligible.contains(n)))
            .collect();
        old.sort_by_key(|p| {
            (
                available(p),
                util::node_name(p).unwrap_or_default().to_string(),
            )
        });
        let mut budget = max_unavailable - unavailable;
        for pod in old {
            if available(pod) {
                if budget <= 0 {
                    break;
                }
                budget -= 1;
            }
            delete_pod(ctx.store(), pod)?;
        }
    }
    write_ds_status(ctx, &ds, &eligible, &hash)
}

fn write_ds_status(
    ctx: &Ctx,
    ds: &Value,
    eligible: &BTreeSet<String>,
    hash: &str,
) -> Result<(), ApiError> {
    let pods = util::owned_pods(ctx, util::uid(ds));
    let mut by_node: HashMap<&str, Vec<&Value>> = HashMap::new();
    for p in pods.iter().filter(|p| active(p)) {
        if let Some(node) = util::node_name(p) {
            by_node.entry(node).or_default().push(p);
        }
    }
    let count = |f: &dyn Fn(&Value) -> bool| {
        eligible
            .iter()
            .filter(|n| {
                by_node
                    .get(n.as_str())
                    .is_some_and(|ps| ps.iter().any(|p| f(p)))
            })
            .count() as i64
    };
    let desired = eligible.len() as i64;
    let current = count(&|_| true);
    let ready = count(&available);
    let updated = count(&|p| revision_of(p) == Some(hash));
    let misscheduled = pods
        .iter()
        .filter(|p| active(p) && util::node_name(p).is_none_or(|n| !eligible.contains(n)))
        .count();
    let status = json!({
        "desiredNumberScheduled": desired,
        "currentNumberScheduled": current,
        "numberMisscheduled": misscheduled,
        "numberReady": ready,
        "numberAvailable": ready,
        "numberUnavailable": desired - ready,
        "updatedNumberScheduled": updated,
        "observedGeneration": util::generation(ds),
    });
    let status = util::omit_zero(
        status,
        &[
            "updatedNumberScheduled",
            "numberAvailable",
            "numberUnavailable",
        ],
    );
    write_status(ctx.store(), daemonsets(), ds, status)
}
