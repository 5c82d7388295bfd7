//! The undo's two halves: the Deployment as before the run (its pods gone), then the ReplicaSet back at its replicas (re-created if it is gone) and Ready.

use std::time::Duration as StdDuration;

use cutover_guest_sdk::{Condition, Context, DeleteOptions, Error, info};
use serde_json::Value;

use super::objects::{
    budget, controller_of, deployment_ref, get_opt, replica_set_ref, replicas, replicas_of, uid_of,
    wait_deployment_pods_gone,
};
use super::{DeploymentRecord, ReplicaSetRecord};

/// Undoes the apply: deletes the Deployment the run created (only that one, by uid), or
/// re-applies the one that was there; then waits until its pods are gone, unless the one
/// that was there runs pods of its own.
pub(super) fn undo_deployment(
    ctx: &Context,
    rs: &ReplicaSetRecord,
    dep: &DeploymentRecord,
    timeout: StdDuration,
) -> Result<String, Error> {
    let ns = ctx.namespace();
    let target = deployment_ref(&dep.name);
    if let Some(previous) = &dep.previous {
        ctx.apply_dynamic(previous).map_err(|e| {
            e.context(format!(
                "re-applying Deployment {ns}/{} as it was before the run",
                dep.name
            ))
        })?;
        if replicas_of(previous) > 0 {
            let what = format!("Deployment {ns}/{} is rolled out", dep.name);
            let left = budget(ctx, timeout, &what)?;
            ctx.wait_dynamic(&target, &Condition::RolledOut, left)
                .map_err(|e| e.context(format!("waiting until {what}")))?;
        } else {
            wait_deployment_pods_gone(ctx, rs, dep, timeout)?;
        }
        return Ok(format!(
            "Deployment {ns}/{} re-applied as it was before",
            dep.name
        ));
    }
    let live = get_opt(ctx, &target)
        .map_err(|e| e.context(format!("reading Deployment {ns}/{}", dep.name)))?;
    let what = match live {
        None => format!("Deployment {ns}/{} is not there", dep.name),
        Some(live) => {
            let uid = uid_of(&live, &format!("Deployment {ns}/{}", dep.name))?;
            if let Some(ours) = dep.uid.as_deref().filter(|ours| *ours != uid) {
                return Err(Error::aborted(format!(
                    "Deployment {ns}/{} is not the one this run created (uid {uid}, not {ours}): it is left alone, and ReplicaSet {ns}/{} stays at 0 replicas so that two {} do not run; delete or scale the Deployment, then undo again",
                    dep.name, rs.name, dep.name
                )));
            }
            ctx.delete_with(&target, &DeleteOptions::default().uid(uid.clone()))
                .map_err(|e| e.context(format!("deleting Deployment {ns}/{}", dep.name)))?;
            let gone = format!("Deployment {ns}/{} is gone", dep.name);
            let left = budget(ctx, timeout, &gone)?;
            ctx.wait_dynamic(&target, &Condition::DeletedUid(uid), left)
                .map_err(|e| e.context(format!("waiting until {gone}")))?;
            format!("Deployment {ns}/{} deleted", dep.name)
        }
    };
    wait_deployment_pods_gone(ctx, rs, dep, timeout)?;
    Ok(what)
}

/// Scales the ReplicaSet back to its replicas, or re-creates it from its copy when it is gone
/// (or going with the deleted Deployment that adopted it), then waits until it is Ready.
pub(super) fn restore_replica_set(
    ctx: &Context,
    rs: &ReplicaSetRecord,
    dep: &DeploymentRecord,
    timeout: StdDuration,
) -> Result<String, Error> {
    let ns = ctx.namespace();
    let target = replica_set_ref(&rs.name);
    let mut live = get_opt(ctx, &target)
        .map_err(|e| e.context(format!("reading ReplicaSet {ns}/{}", rs.name)))?;
    if let Some(found) = &live
        && let Some((kind, owner, owner_uid)) = controller_of(found)
    {
        let ours_deleted = kind == "Deployment"
            && owner == dep.name
            && dep.previous.is_none()
            && dep.uid.as_deref().is_none_or(|uid| uid == owner_uid);
        if !ours_deleted {
            return Err(Error::aborted(format!(
                "ReplicaSet {ns}/{} is now controlled by {kind} {owner}, which would undo a scale: it is left at its replicas",
                rs.name
            )));
        }
        // The Deployment adopted it; the garbage collector deletes it with the Deployment.
        let uid = uid_of(found, &format!("ReplicaSet {ns}/{}", rs.name))?;
        info!(
            "ReplicaSet {ns}/{} was adopted by Deployment {}, deleted with it: re-creating it once it is gone",
            rs.name, dep.name
        );
        let gone = format!("ReplicaSet {ns}/{} is gone", rs.name);
        let left = budget(ctx, timeout, &gone)?;
        ctx.wait_dynamic(&target, &Condition::DeletedUid(uid), left)
            .map_err(|e| e.context(format!("waiting until {gone}")))?;
        live = None;
    }
    let what = match live {
        Some(_) => {
            ctx.scale_dynamic(&target, rs.replicas).map_err(|e| {
                e.context(format!(
                    "scaling ReplicaSet {ns}/{} back to {}",
                    rs.name,
                    replicas(rs.replicas)
                ))
            })?;
            format!(
                "ReplicaSet {ns}/{} scaled back to {}",
                rs.name,
                replicas(rs.replicas)
            )
        }
        None => {
            let mut copy = rs.copy.clone();
            copy["spec"]["replicas"] = Value::from(rs.replicas);
            ctx.apply_dynamic(&copy)
                .map_err(|e| e.context(format!("re-creating ReplicaSet {ns}/{}", rs.name)))?;
            format!(
                "ReplicaSet {ns}/{} re-created with {}",
                rs.name,
                replicas(rs.replicas)
            )
        }
    };
    if rs.replicas > 0 {
        let ready = format!("ReplicaSet {ns}/{} is Ready", rs.name);
        let left = budget(ctx, timeout, &ready)?;
        ctx.wait_dynamic(&target, &Condition::Ready, left)
            .map_err(|e| e.context(format!("waiting until {ready}")))?;
        return Ok(format!("{what}, Ready"));
    }
    Ok(what)
}
