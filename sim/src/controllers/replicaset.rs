//! The ReplicaSet controller: keeps `spec.replicas` active pods and reports their state.

use std::sync::Arc;

use serde_json::{Value, json};

use super::Ctx;
use super::util::{
    self, active, available, delete_pod, owned_pods, pod_from_template, pod_ready, pods,
    replicasets, str_at, terminating, write_status,
};
use crate::error::ApiError;
use crate::selectors::LabelSelector;

pub(crate) fn reconcile(ctx: &mut Ctx, ns: &str, name: &str) -> Result<(), ApiError> {
    let rs = match ctx.store().get(replicasets(), ns, name) {
        Ok(rs) => rs,
        Err(e) if e.code == 404 => return Ok(()),
        Err(e) => return Err(e),
    };
    if terminating(&rs) {
        return Ok(());
    }
    let desired = util::replicas(&rs);
    let owned: Vec<Arc<Value>> = owned_pods(ctx, util::uid(&rs))
        .into_iter()
        .filter(|p| active(p))
        .collect();
    let have = owned.len() as i64;
    if have < desired {
        let template = rs.pointer("/spec/template").cloned().unwrap_or_default();
        for _ in have..desired {
            create_pod(ctx, &rs, &template, ns, &[])?;
        }
    } else if have > desired {
        let mut victims = owned.clone();
        // Unscheduled first, then not ready, then newest.
        victims.sort_by(|a, b| {
            let rank = |p: &Value| (util::node_name(p).is_some(), pod_ready(p));
            rank(a).cmp(&rank(b)).then_with(|| {
                let ts = |p: &Value| {
                    str_at(p, "/metadata/creationTimestamp")
                        .unwrap_or_default()
                        .to_string()
                };
                ts(b)
                    .cmp(&ts(a))
                    .then_with(|| util::name(b).cmp(util::name(a)))
            })
        });
        for pod in victims.iter().take((have - desired) as usize) {
            delete_pod(ctx.store(), pod)?;
        }
    }
    write_rs_status(ctx, &rs)
}

/// Creates a pod `<owner>-<5 chars>` from `template`, retrying on a name collision.
pub(crate) fn create_pod(
    ctx: &mut Ctx,
    owner: &Value,
    template: &Value,
    ns: &str,
    extra_labels: &[(&str, &str)],
) -> Result<Value, ApiError> {
    loop {
        let pod_name = format!("{}-{}", util::name(owner), ctx.suffix());
        let pod = pod_from_template(template, ns, &pod_name, extra_labels, owner);
        match ctx.store().create(pods(), ns, pod, false) {
            Err(e) if e.code == 409 => continue,
            other => return other,
        }
    }
}

/// Writes the ReplicaSet's status from its pods (nothing when it is up to date already).
pub(crate) fn write_rs_status(ctx: &mut Ctx, rs: &Value) -> Result<(), ApiError> {
    let owned: Vec<Arc<Value>> = owned_pods(ctx, util::uid(rs))
        .into_iter()
        .filter(|p| active(p))
        .collect();
    let template_labels = LabelSelector::from_json(&json!({
        "matchLabels": rs.pointer("/spec/template/metadata/labels").cloned().unwrap_or_else(|| json!({}))
    }))
    .unwrap_or_default();
    let count = |f: &dyn Fn(&Value) -> bool| owned.iter().filter(|p| f(p)).count() as i64;
    let mut status = json!({
        "replicas": owned.len(),
        "fullyLabeledReplicas": count(&|p| template_labels.matches(p)),
        "readyReplicas": count(&pod_ready),
        "availableReplicas": count(&available),
        "observedGeneration": util::generation(rs),
    });
    if let Some(s) = rs.get("status")
        && let Some(c) = s.get("conditions")
    {
        status["conditions"] = c.clone();
    }
    let status = util::omit_zero(
        status,
        &["fullyLabeledReplicas", "readyReplicas", "availableReplicas"],
    );
    write_status(ctx.store(), replicasets(), rs, status)
}
