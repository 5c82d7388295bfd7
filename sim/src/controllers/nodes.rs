//! The part of the node lifecycle controller a cordon shows: the
//! `node.kubernetes.io/unschedulable:NoSchedule` taint follows `spec.unschedulable`.

use serde_json::{Value, json};

use super::Ctx;
use super::util::{self, write_main};
use crate::error::ApiError;
use crate::kinds;

/// The taint the real controller (TaintNodesByCondition) keeps on a cordoned node.
pub(crate) const UNSCHEDULABLE_TAINT: &str = "node.kubernetes.io/unschedulable";

fn is_unschedulable_taint(taint: &Value) -> bool {
    taint["key"] == UNSCHEDULABLE_TAINT && taint["effect"] == "NoSchedule"
}

/// Adds the taint to a cordoned node (with `timeAdded`), removes it from an uncordoned one.
pub(crate) fn reconcile(ctx: &mut Ctx, name: &str) -> Result<(), ApiError> {
    let nodes = kinds::storage(("", "nodes"));
    let node = match ctx.store().get(nodes, "", name) {
        Ok(n) => n,
        Err(e) if e.code == 404 => return Ok(()),
        Err(e) => return Err(e),
    };
    if util::terminating(&node) {
        return Ok(());
    }
    let cordoned = node.pointer("/spec/unschedulable") == Some(&json!(true));
    let taints: Vec<Value> = node
        .pointer("/spec/taints")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let tainted = taints.iter().any(is_unschedulable_taint);
    if cordoned == tainted {
        return Ok(());
    }
    let mut next = (*node).clone();
    let taints: Vec<Value> = if cordoned {
        let mut t = taints;
        t.push(json!({
            "key": UNSCHEDULABLE_TAINT,
            "effect": "NoSchedule",
            "timeAdded": util::now(ctx.store()),
        }));
        t
    } else {
        taints
            .into_iter()
            .filter(|t| !is_unschedulable_taint(t))
            .collect()
    };
    if !next["spec"].is_object() {
        next["spec"] = json!({});
    }
    match next["spec"].as_object_mut() {
        Some(spec) if taints.is_empty() => {
            spec.remove("taints");
        }
        Some(spec) => {
            spec.insert("taints".into(), json!(taints));
        }
        None => {}
    }
    write_main(ctx.store(), nodes, next).map(drop)
}
