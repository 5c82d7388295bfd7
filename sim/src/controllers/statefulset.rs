//! The StatefulSet controller: pods `<name>-<ordinal>`, created in order (OrderedReady, or all
//! at once for Parallel), rolled highest ordinal first down to the partition (RollingUpdate) or
//! not at all (OnDelete).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::Ctx;
use super::daemonset::REVISION_LABEL;
use super::util::{
    self, active, available, delete_pod, int_at, pod_from_template, pod_ready, pods, statefulsets,
    str_at, template_hash, terminating, write_status,
};
use crate::error::ApiError;

const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";

fn revision_of(pod: &Value) -> Option<&str> {
    pod.pointer("/metadata/labels")
        .and_then(|l| l.get(REVISION_LABEL))
        .and_then(Value::as_str)
}

pub(crate) fn reconcile(ctx: &mut Ctx, ns: &str, name: &str) -> Result<(), ApiError> {
    let sts = match ctx.store().get(statefulsets(), ns, name) {
        Ok(s) => s,
        Err(e) if e.code == 404 => {
            ctx.statefulsets.remove(&(ns.to_string(), name.to_string()));
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    if terminating(&sts) {
        return Ok(());
    }
    let uid = util::uid(&sts).to_string();
    let replicas = util::replicas(&sts);
    let template = sts.pointer("/spec/template").cloned().unwrap_or_default();
    let update_revision = format!("{name}-{}", template_hash(&template));
    let current_revision = str_at(&sts, "/status/currentRevision")
        .unwrap_or(&update_revision)
        .to_string();
    let (known_uid, templates) = ctx
        .statefulsets
        .entry((ns.to_string(), name.to_string()))
        .or_insert_with(|| (uid.clone(), Default::default()));
    if *known_uid != uid {
        *known_uid = uid.clone();
        templates.clear();
    }
    templates.insert(update_revision.clone(), template.clone());
    let current_template = templates
        .get(&current_revision)
        .cloned()
        .unwrap_or_else(|| template.clone());
    let on_delete = str_at(&sts, "/spec/updateStrategy/type") == Some("OnDelete");
    let partition = if on_delete {
        0
    } else {
        int_at(&sts, "/spec/updateStrategy/rollingUpdate/partition")
            .unwrap_or(0)
            .max(0)
    };
    let parallel = str_at(&sts, "/spec/podManagementPolicy") == Some("Parallel");

    let prefix = format!("{name}-");
    let mut by_ordinal: BTreeMap<i64, Arc<Value>> = BTreeMap::new();
    for pod in util::owned_pods(ctx, &uid) {
        if let Some(i) = util::name(&pod)
            .strip_prefix(&prefix)
            .and_then(|s| s.parse::<i64>().ok())
        {
            by_ordinal.insert(i, pod);
        }
    }

    let mut settled = true;
    for i in 0..replicas {
        match by_ordinal.get(&i) {
            None => {
                let (t, rev) = if i < partition && current_revision != update_revision {
                    (&current_template, &current_revision)
                } else {
                    (&template, &update_revision)
                };
                create_pod(ctx, &sts, t, rev, ns, i)?;
                settled = false;
            }
            Some(p) if !active(p) || !pod_ready(p) => settled = false,
            Some(_) => {}
        }
        if !settled && !parallel {
            break;
        }
    }
    let busy = by_ordinal.values().any(|p| terminating(p));
    if settled && !busy {
        // Scale down: the highest ordinal first, one at a time.
        if let Some((_, pod)) = by_ordinal.range(replicas..).next_back() {
            delete_pod(ctx.store(), pod)?;
        } else if !on_delete {
            // Roll: the highest ordinal not at the update revision, down to the partition.
            let stale = (partition..replicas).rev().find_map(|i| {
                by_ordinal
                    .get(&i)
                    .filter(|p| revision_of(p) != Some(update_revision.as_str()))
            });
            if let Some(pod) = stale {
                delete_pod(ctx.store(), pod)?;
            }
        }
    }
    write_sts_status(ctx, &sts, &current_revision, &update_revision)
}

fn create_pod(
    ctx: &Ctx,
    sts: &Value,
    template: &Value,
    revision: &str,
    ns: &str,
    ordinal: i64,
) -> Result<(), ApiError> {
    let pod_name = format!("{}-{ordinal}", util::name(sts));
    let mut pod = pod_from_template(
        template,
        ns,
        &pod_name,
        &[(REVISION_LABEL, revision), (POD_NAME_LABEL, &pod_name)],
        sts,
    );
    pod["spec"]["hostname"] = json!(pod_name);
    if let Some(svc) = str_at(sts, "/spec/serviceName") {
        pod["spec"]["subdomain"] = json!(svc);
    }
    match ctx.store().create(pods(), ns, pod, false) {
        Ok(_) => Ok(()),
        // The previous pod of that name is still there (terminating): wait for it.
        Err(e) if e.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}

fn write_sts_status(
    ctx: &Ctx,
    sts: &Value,
    current_revision: &str,
    update_revision: &str,
) -> Result<(), ApiError> {
    let pods: Vec<Arc<Value>> = util::owned_pods(ctx, util::uid(sts))
        .into_iter()
        .filter(|p| active(p))
        .collect();
    let count = |f: &dyn Fn(&Value) -> bool| pods.iter().filter(|p| f(p)).count() as i64;
    let desired = util::replicas(sts);
    let updated = count(&|p| revision_of(p) == Some(update_revision));
    let mut current_revision = current_revision.to_string();
    let mut current = count(&|p| revision_of(p) == Some(current_revision.as_str()));
    if updated == desired && pods.len() as i64 == desired {
        current_revision = update_revision.to_string();
        current = updated;
    }
    let status = json!({
        "observedGeneration": util::generation(sts),
        "replicas": pods.len(),
        "readyReplicas": count(&pod_ready),
        "availableReplicas": count(&available),
        "currentReplicas": current,
        "updatedReplicas": updated,
        "currentRevision": current_revision,
        "updateRevision": update_revision,
        "collisionCount": 0,
    });
    let status = util::omit_zero(
        status,
        &["readyReplicas", "currentReplicas", "updatedReplicas"],
    );
    write_status(ctx.store(), statefulsets(), sts, status)
}
