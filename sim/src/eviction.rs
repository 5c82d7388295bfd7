//! The Eviction subresource: PodDisruptionBudget checks computed from the current pods.

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::kinds;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{DeleteOptions, Store, meta};

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

/// Resolves an IntOrString against `total`; percentages round up, as the disruption controller does.
fn scaled(v: &Value, total: i64) -> Result<i64, ApiError> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| ApiError::internal("invalid int in PodDisruptionBudget")),
        Value::String(s) => {
            let pct: i64 = s
                .strip_suffix('%')
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| ApiError::internal(format!("invalid value for IntOrString: {s}")))?;
            Ok((total * pct + 99) / 100)
        }
        _ => Err(ApiError::internal(
            "invalid IntOrString in PodDisruptionBudget",
        )),
    }
}

/// Checks the budgets covering `pod` and, when eviction is allowed, deletes it (gracefully unless
/// `opts` say otherwise). Returns the `Status` to answer with (201 Success).
///
/// Allowed when the pod is already terminating or not running (Pending/Succeeded/Failed), when no
/// budget selects it, or when the one budget that does would still be met: for a Ready pod,
/// `healthy - 1 >= desired`; for an unready pod, `healthy >= desired` (the `IfHealthyBudget`
/// policy) or always with `unhealthyPodEvictionPolicy: AlwaysAllow`. `desired` is `minAvailable`,
/// or the number of matching pods minus `maxUnavailable` (percentages of the matching pods, rounded up).
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
        let (budgets, _) = store.list(
            pdbs,
            Some(ns),
            &LabelSelector::default(),
            &FieldSelector::default(),
        );
        let mut matching = Vec::new();
        for pdb in budgets {
            let Some(sel) = pdb.pointer("/spec/selector") else {
                continue; // a nil selector selects nothing
            };
            if LabelSelector::from_json(sel)?.matches(&pod) {
                matching.push(pdb);
            }
        }
        if matching.len() > 1 {
            return Err(ApiError::internal(
                "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
            ));
        }
        if let Some(pdb) = matching.first() {
            let selector = LabelSelector::from_json(&pdb["spec"]["selector"])?;
            let (covered, _) = store.list(pods, Some(ns), &selector, &FieldSelector::default());
            let live: Vec<_> = covered.iter().filter(|p| !terminating(p)).collect();
            let expected = live.len() as i64;
            let healthy = live.iter().filter(|p| is_ready(p)).count() as i64;
            let desired = if let Some(min) = pdb.pointer("/spec/minAvailable") {
                scaled(min, expected)?
            } else if let Some(max) = pdb.pointer("/spec/maxUnavailable") {
                (expected - scaled(max, expected)?).max(0)
            } else {
                0
            };
            let always_allow_unhealthy =
                pdb.pointer("/spec/unhealthyPodEvictionPolicy") == Some(&json!("AlwaysAllow"));
            let allowed = if is_ready(&pod) {
                healthy > desired // healthy - 1 >= desired
            } else {
                always_allow_unhealthy || healthy >= desired
            };
            if !allowed {
                let pdb_name = meta(pdb).get("name").cloned().unwrap_or_default();
                let mut err = ApiError::new(429, "TooManyRequests", REFUSED);
                err.details = Some(json!({"causes": [{
                    "reason": "DisruptionBudget",
                    "message": format!(
                        "The disruption budget {} needs {desired} healthy pods and has {healthy} currently",
                        pdb_name.as_str().unwrap_or("")
                    ),
                }]}));
                return Err(err);
            }
        }
    }
    store.delete(pods, ns, name, opts)?;
    Ok(crate::error::success_status(201))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_or_percent() {
        assert_eq!(scaled(&json!(2), 10).unwrap(), 2);
        assert_eq!(scaled(&json!("50%"), 3).unwrap(), 2);
        assert_eq!(scaled(&json!("10%"), 10).unwrap(), 1);
        assert!(scaled(&json!("x"), 1).is_err());
    }
}
