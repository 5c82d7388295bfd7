//! The DaemonSet controller: a pod on every node matching the template's nodeSelector
//! (cordoned nodes included), rolled by RollingUpdate (maxUnavailable) or OnDelete; an
//! OnDelete one reconciled node by node, its status kept by node.

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

/// What one node contributes to its DaemonSet's status.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct NodeCounts {
    /// The template's node selector matches the node.
    eligible: bool,
    /// An active pod of the DaemonSet runs there.
    current: bool,
    ready: bool,
    /// An active pod of the current template runs there.
    updated: bool,
    /// Active pods on a node the DaemonSet does not cover.
    misscheduled: usize,
}

impl NodeCounts {
    fn of(eligible: bool, here: &[Arc<Value>], hash: &str) -> NodeCounts {
        let mut counts = NodeCounts {
            eligible,
            ..NodeCounts::default()
        };
        for pod in here.iter().filter(|p| active(p)) {
            if eligible {
                counts.current = true;
                counts.ready |= available(pod);
                counts.updated |= revision_of(pod) == Some(hash);
            } else {
                counts.misscheduled += 1;
            }
        }
        counts
    }
}

/// A DaemonSet's status by node, kept between reconciles so that a change on one node costs
/// that node (the nodes' pods are read, and acted on, only where something changed), not
/// every node: a rollout over N nodes is then N node-sized reconciles, not N whole ones.
/// Valid for one DaemonSet (by uid) and template (by hash); rebuilt by a whole reconcile.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    uid: String,
    hash: String,
    nodes: HashMap<String, NodeCounts>,
    /// The sums over `nodes`, kept as they change.
    totals: Totals,
}

/// A DaemonSet's status counts.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    desired: i64,
    current: i64,
    ready: i64,
    updated: i64,
    misscheduled: i64,
}

impl Totals {
    fn add(&mut self, counts: &NodeCounts, sign: i64) {
        if counts.eligible {
            self.desired += sign;
            self.current += sign * i64::from(counts.current);
            self.ready += sign * i64::from(counts.ready);
            self.updated += sign * i64::from(counts.updated);
        }
        self.misscheduled += sign * counts.misscheduled as i64;
    }
}

impl Tally {
    fn new(uid: &str, hash: &str) -> Tally {
        Tally {
            uid: uid.to_string(),
            hash: hash.to_string(),
            ..Tally::default()
        }
    }

    /// Sets one node's counts, the totals with them.
    fn set(&mut self, node: &str, counts: NodeCounts) {
        let before = if counts == NodeCounts::default() {
            self.nodes.remove(node)
        } else {
            self.nodes.insert(node.to_string(), counts)
        };
        if let Some(before) = before {
            self.totals.add(&before, -1);
        }
        self.totals.add(&counts, 1);
    }
}

/// The DaemonSet to reconcile: `None` when it is gone (what was kept of it dropped) or
/// terminating.
fn live(ctx: &mut Ctx, key: &(String, String)) -> Result<Option<Arc<Value>>, ApiError> {
    match ctx.store().get(daemonsets(), &key.0, &key.1) {
        Ok(ds) if terminating(&ds) => Ok(None),
        Ok(ds) => Ok(Some(ds)),
        Err(e) if e.code == 404 => {
            ctx.daemonsets.remove(key);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The whole DaemonSet: every node, every pod of it, the rolling update, then the status.
pub(crate) fn reconcile(ctx: &mut Ctx, ns: &str, name: &str) -> Result<(), ApiError> {
    let key = (ns.to_string(), name.to_string());
    let Some(ds) = live(ctx, &key)? else {
        return Ok(());
    };
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
    let mut by_node: BTreeMap<String, Vec<Arc<Value>>> =
        eligible.iter().map(|n| (n.clone(), Vec::new())).collect();
    for pod in util::owned_pods(ctx, util::uid(&ds)) {
        let node = util::node_name(&pod).unwrap_or_default().to_string();
        by_node.entry(node).or_default().push(pod);
    }
    // The nodes the DaemonSet leaves first (their pods deleted), then the nodes it covers.
    for wanted in [false, true] {
        for (node, here) in &by_node {
            if eligible.contains(node) == wanted {
                converge_node(ctx, &ds, &template, &hash, node, wanted, here)?;
            }
        }
    }
    if str_at(&ds, "/spec/updateStrategy/type") != Some("OnDelete") {
        roll(ctx, &ds, &eligible, &hash)?;
    }
    // The status, from the pods as the changes above left them.
    let mut tally = Tally::new(util::uid(&ds), &hash);
    let mut after: HashMap<String, Vec<Arc<Value>>> = HashMap::new();
    for pod in util::owned_pods(ctx, util::uid(&ds)) {
        let node = util::node_name(&pod).unwrap_or_default().to_string();
        after.entry(node).or_default().push(pod);
    }
    for node in &eligible {
        let here = after.remove(node).unwrap_or_default();
        tally.set(node, NodeCounts::of(true, &here, &hash));
    }
    for (node, here) in after {
        tally.set(&node, NodeCounts::of(false, &here, &hash));
    }
    let status = ds_status(&ds, &tally);
    ctx.daemonsets.insert(key, tally);
    write_status(ctx.store(), daemonsets(), &ds, status)
}

/// One node of an `OnDelete` DaemonSet, after a change of the node or of one of the
/// DaemonSet's pods on it: that node's pods converged, its part of the status updated. A
/// `RollingUpdate` DaemonSet (whose budget spans the nodes), or one whose tally is not of its
/// current uid and template, is reconciled whole.
pub(crate) fn reconcile_node(
    ctx: &mut Ctx,
    ns: &str,
    name: &str,
    node: &str,
) -> Result<(), ApiError> {
    let key = (ns.to_string(), name.to_string());
    let Some(ds) = live(ctx, &key)? else {
        return Ok(());
    };
    if str_at(&ds, "/spec/updateStrategy/type") != Some("OnDelete") {
        return reconcile(ctx, ns, name);
    }
    let template = ds.pointer("/spec/template").cloned().unwrap_or_default();
    let hash = template_hash(&template);
    let uid = util::uid(&ds).to_string();
    let current = ctx
        .daemonsets
        .get(&key)
        .is_some_and(|t| t.uid == uid && t.hash == hash);
    if !current {
        return reconcile(ctx, ns, name);
    }
    let node_selector = template.pointer("/spec/nodeSelector");
    let eligible = ctx
        .shared
        .index(|i| i.node(node))
        .is_some_and(|n| selector_matches(node_selector, &n));
    let here = ctx.shared.index(|i| i.pods_owned_by_on(&uid, node));
    converge_node(ctx, &ds, &template, &hash, node, eligible, &here)?;
    let here = ctx.shared.index(|i| i.pods_owned_by_on(&uid, node));
    let counts = NodeCounts::of(eligible, &here, &hash);
    let Some(tally) = ctx.daemonsets.get_mut(&key) else {
        return Ok(());
    };
    tally.set(node, counts);
    let status = ds_status(&ds, tally);
    write_status(ctx.store(), daemonsets(), &ds, status)
}

/// One node's pods of the DaemonSet: on a node it covers, exactly one active pod (created
/// once the old one is gone, as the real controller does; extras deleted, an updated one kept
/// first, then the oldest), finished ones deleted; on a node it does not cover, none.
fn converge_node(
    ctx: &mut Ctx,
    ds: &Value,
    template: &Value,
    hash: &str,
    node: &str,
    eligible: bool,
    here: &[Arc<Value>],
) -> Result<(), ApiError> {
    if !eligible {
        for pod in here.iter().filter(|p| active(p)) {
            delete_pod(ctx.store(), pod)?;
        }
        return Ok(());
    }
    if here.is_empty() {
        let mut t = template.clone();
        daemon_pod_spec(&mut t["spec"], node);
        let generation = util::generation(ds).to_string();
        let ns = str_at(ds, "/metadata/namespace").unwrap_or_default();
        super::replicaset::create_pod(
            ctx,
            ds,
            &t,
            ns,
            &[
                (REVISION_LABEL, hash),
                ("pod-template-generation", generation.as_str()),
            ],
        )?;
        return Ok(());
    }
    let mut live: Vec<&Arc<Value>> = here.iter().filter(|p| active(p)).collect();
    if live.len() > 1 {
        live.sort_by_key(|p| {
            (
                revision_of(p) != Some(hash),
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
    Ok(())
}

/// RollingUpdate: old pods deleted while at most `maxUnavailable` nodes are without an
/// available pod, unavailable ones first.
fn roll(
    ctx: &mut Ctx,
    ds: &Value,
    eligible: &BTreeSet<String>,
    hash: &str,
) -> Result<(), ApiError> {
    let max_unavailable = int_or_percent(
        ds.pointer("/spec/updateStrategy/rollingUpdate/maxUnavailable"),
        eligible.len() as i64,
        "1",
        true,
    )
    .max(1);
    let pods = util::owned_pods(ctx, util::uid(ds));
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
        .filter(|p| active(p) && revision_of(p) != Some(hash))
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
    Ok(())
}

/// The status from the tally's totals: no pod read, no node counted.
fn ds_status(ds: &Value, tally: &Tally) -> Value {
    let Totals {
        desired,
        current,
        ready,
        updated,
        misscheduled,
    } = tally.totals;
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
    util::omit_zero(
        status,
        &[
            "updatedNumberScheduled",
            "numberAvailable",
            "numberUnavailable",
        ],
    )
}
