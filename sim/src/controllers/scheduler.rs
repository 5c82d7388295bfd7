//! The scheduler: binds pending pods to the least-loaded Ready, schedulable, matching node.

use serde_json::{Value, json};

use super::Ctx;
use super::util::{self, make_condition, node_ready, pods, terminating, write_main, write_status};
use crate::error::ApiError;

/// Whether the node's labels satisfy the pod's `nodeSelector`.
pub(crate) fn selector_matches(pod_spec_selector: Option<&Value>, node: &Value) -> bool {
    let Some(sel) = pod_spec_selector.and_then(Value::as_object) else {
        return true;
    };
    let labels = util::labels(node);
    sel.iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

pub(crate) fn schedule(ctx: &mut Ctx, pod: &Value) -> Result<(), ApiError> {
    if terminating(pod) || util::finished(pod) {
        return Ok(());
    }
    let selector = pod.pointer("/spec/nodeSelector");
    let (nodes, best) = ctx.shared.index(|index| {
        let nodes = index.nodes();
        let best = nodes
            .iter()
            .filter(|n| node_ready(n))
            .filter(|n| n.pointer("/spec/unschedulable") != Some(&json!(true)))
            .filter(|n| selector_matches(selector, n))
            .map(|n| (index.load(util::name(n)), util::name(n).to_string()))
            .min();
        (nodes.len(), best)
    });
    let store = ctx.store();
    let now = util::now(store);
    match best {
        Some((_, node)) => {
            let mut next = pod.clone();
            next["spec"]["nodeName"] = json!(node);
            let bound = write_main(store, pods(), next)?;
            let mut status = bound.get("status").cloned().unwrap_or_else(|| json!({}));
            let mut conditions: Vec<Value> = status["conditions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|c| c["type"] != "PodScheduled")
                .collect();
            conditions.push(json!({
                "type": "PodScheduled", "status": "True", "lastTransitionTime": now,
            }));
            status["conditions"] = json!(conditions);
            write_status(store, pods(), &bound, status)
        }
        None => {
            let message = format!(
                "0/{nodes} nodes are available: no Ready, schedulable node matches the pod's node selector."
            );
            let mut status = pod.get("status").cloned().unwrap_or_else(|| json!({}));
            let condition = make_condition(
                pod,
                "PodScheduled",
                false,
                "Unschedulable",
                &message,
                &now,
                false,
            );
            let mut conditions: Vec<Value> = status["conditions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|c| c["type"] != "PodScheduled")
                .collect();
            conditions.push(condition);
            status["conditions"] = json!(conditions);
            status["phase"] = json!("Pending");
            write_status(store, pods(), pod, status)
        }
    }
}
