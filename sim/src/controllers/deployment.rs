//! The Deployment controller: a ReplicaSet per pod template, rolled by RollingUpdate
//! (maxSurge/maxUnavailable) or Recreate, with the status and conditions `kubectl rollout
//! status` and the host's readiness rules read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::util::{
    self, available, condition_with_status, int_at, int_or_percent, make_condition, replicasets,
    semantic_template, str_at, template_hash, terminating, write_main, write_status,
};
use super::{Ctx, Key, replicaset};
use crate::error::ApiError;
use crate::store::DeleteOptions;

pub(crate) const HASH_LABEL: &str = "pod-template-hash";
pub(crate) const REVISION: &str = "deployment.kubernetes.io/revision";
/// The revisions a reused ReplicaSet had before, comma-separated.
const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";

/// When a Deployment last made progress, and what it looked like then.
pub(crate) struct Progress {
    uid: String,
    at: Instant,
    snapshot: (String, i64, i64, i64, i64),
    /// The deadline a wake-up is scheduled for already.
    scheduled: Option<Instant>,
}

fn revision(rs: &Value) -> i64 {
    rs.pointer("/metadata/annotations")
        .and_then(|a| a.get(REVISION))
        .and_then(Value::as_str)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn creation(rs: &Value) -> (String, String) {
    (
        str_at(rs, "/metadata/creationTimestamp")
            .unwrap_or_default()
            .to_string(),
        util::name(rs).to_string(),
    )
}

/// Active, Ready pods of a ReplicaSet, at most its `spec.replicas` (pods it is about to
/// delete do not count on).
fn available_of(ctx: &Ctx, rs: &Value) -> i64 {
    let n = util::owned_pods(ctx, util::uid(rs))
        .iter()
        .filter(|p| available(p))
        .count() as i64;
    n.min(util::replicas(rs))
}

/// Sets a ReplicaSet's `spec.replicas`. A scale-down is carried out at once (the ReplicaSet's
/// reconcile deletes its surplus pods before anything else runs), as the real ReplicaSet
/// controller acts on the write before the Deployment controller's next step: otherwise a
/// scale-up of the new ReplicaSet queued behind it could briefly run more than maxSurge pods.
fn set_replicas(ctx: &mut Ctx, rs: &Arc<Value>, replicas: i64) -> Result<Arc<Value>, ApiError> {
    if util::replicas(rs) == replicas && rs.pointer("/spec/replicas").is_some() {
        return Ok(rs.clone());
    }
    let down = replicas < util::replicas(rs);
    let mut next = (**rs).clone();
    next["spec"]["replicas"] = json!(replicas);
    let written = write_main(ctx.store(), replicasets(), next).map(Arc::new)?;
    if down {
        let ns = str_at(&written, "/metadata/namespace")
            .unwrap_or_default()
            .to_string();
        let name = util::name(&written).to_string();
        replicaset::reconcile(ctx, &ns, &name)?;
        // Its status changed: later writes in this reconcile start from the live object.
        return ctx.store().get(replicasets(), &ns, &name);
    }
    Ok(written)
}

pub(crate) fn reconcile(ctx: &mut Ctx, ns: &str, name: &str) -> Result<(), ApiError> {
    let d = match ctx.store().get(util::deployments(), ns, name) {
        Ok(d) => d,
        Err(e) if e.code == 404 => {
            ctx.deployments.remove(&(ns.to_string(), name.to_string()));
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    if terminating(&d) {
        return Ok(());
    }
    let d_uid = util::uid(&d).to_string();
    let desired = util::replicas(&d);
    let template = d.pointer("/spec/template").cloned().unwrap_or_default();
    let wanted = semantic_template(&template, HASH_LABEL);
    let names = ctx.shared.index(|i| i.replicasets_owned_by(&d_uid));
    let mut all: Vec<Arc<Value>> = Vec::new();
    for (rs_ns, rs_name) in names {
        match ctx.store().get(replicasets(), &rs_ns, &rs_name) {
            Ok(rs) if !terminating(&rs) => all.push(rs),
            Ok(_) => {}
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    all.sort_by_key(|rs| creation(rs));
    // The ReplicaSet of the current template, compared as the real controller compares them.
    let new_pos = all.iter().position(|rs| {
        rs.pointer("/spec/template")
            .is_some_and(|t| semantic_template(t, HASH_LABEL) == wanted)
    });
    let mut new = new_pos.map(|i| all.remove(i));
    let mut old = all;
    let max_old_revision = old.iter().map(|rs| revision(rs)).max().unwrap_or(0);
    let paused = d.pointer("/spec/paused") == Some(&json!(true));
    let recreate = str_at(&d, "/spec/strategy/type") == Some("Recreate");

    let (max_surge, max_unavailable) = if recreate {
        (0, 0)
    } else {
        let surge = int_or_percent(
            d.pointer("/spec/strategy/rollingUpdate/maxSurge"),
            desired,
            "25%",
            true,
        );
        let unavailable = int_or_percent(
            d.pointer("/spec/strategy/rollingUpdate/maxUnavailable"),
            desired,
            "25%",
            false,
        );
        if surge == 0 && unavailable == 0 {
            (0, 1)
        } else {
            (surge, unavailable)
        }
    };

    if paused {
        // Paused: scale only (the real controller's `sync`), no new ReplicaSet.
        if let Some(rs) = &new {
            new = Some(renumber(ctx, rs, max_old_revision)?);
        }
        sync_revision(ctx, &d, new.as_deref())?;
        scale_paused(ctx, desired, &mut new, &mut old)?;
        cleanup_history(ctx, &d, &old)?;
    } else if recreate {
        // Old ReplicaSets to 0; the new one is created (or scaled) only once no old pod is left.
        for rs in old.iter_mut() {
            if util::replicas(rs) > 0 {
                *rs = set_replicas(ctx, rs, 0)?;
            }
        }
        let old_pods_left = old
            .iter()
            .any(|rs| !util::owned_pods(ctx, util::uid(rs)).is_empty());
        if !old_pods_left {
            let rs = match &new {
                Some(rs) => renumber(ctx, rs, max_old_revision)?,
                None => Arc::new(create_rs(
                    ctx,
                    &d,
                    &template,
                    max_old_revision + 1,
                    desired,
                    0,
                )?),
            };
            new = Some(set_replicas(ctx, &rs, desired)?);
        }
        sync_revision(ctx, &d, new.as_deref())?;
        cleanup_history(ctx, &d, &old)?;
    } else {
        let mut new_rs = match &new {
            Some(rs) => renumber(ctx, rs, max_old_revision)?,
            None => {
                // Created at the size the strategy allows now, as the real controller does.
                let old_total: i64 = old.iter().map(|rs| util::replicas(rs)).sum();
                let initial = (desired + max_surge - old_total).clamp(0, desired);
                Arc::new(create_rs(
                    ctx,
                    &d,
                    &template,
                    max_old_revision + 1,
                    initial,
                    max_surge,
                )?)
            }
        };
        sync_revision(ctx, &d, Some(&new_rs))?;
        roll(
            ctx,
            desired,
            max_surge,
            max_unavailable,
            &mut new_rs,
            &mut old,
        )?;
        new = Some(new_rs);
        cleanup_history(ctx, &d, &old)?;
    }

    // The real controller computes its status from its ReplicaSets' statuses, so a client never
    // sees a Deployment report pods its ReplicaSets do not report yet: bring those up to date first.
    for rs in new.iter().chain(old.iter()) {
        let ns = str_at(rs, "/metadata/namespace").unwrap_or_default();
        match ctx.store().get(replicasets(), ns, util::name(rs)) {
            Ok(live) => replicaset::write_rs_status(ctx, &live)?,
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    write_deployment_status(ctx, &d, new.as_deref(), &old, max_unavailable, paused)
}

/// A ReplicaSet of an older revision whose template is current again (a rollback) becomes the
/// newest revision, its former revision appended to `deployment.kubernetes.io/revision-history`.
fn renumber(ctx: &mut Ctx, rs: &Arc<Value>, max_old_revision: i64) -> Result<Arc<Value>, ApiError> {
    let current = revision(rs);
    if current > max_old_revision {
        return Ok(rs.clone());
    }
    let mut next = (**rs).clone();
    if !next["metadata"]["annotations"].is_object() {
        next["metadata"]["annotations"] = json!({});
    }
    if current > 0 {
        let history = next["metadata"]["annotations"][REVISION_HISTORY]
            .as_str()
            .filter(|h| !h.is_empty())
            .map(|h| format!("{h},{current}"))
            .unwrap_or_else(|| current.to_string());
        next["metadata"]["annotations"][REVISION_HISTORY] = json!(history);
    }
    next["metadata"]["annotations"][REVISION] = json!((max_old_revision + 1).to_string());
    write_main(ctx.store(), replicasets(), next).map(Arc::new)
}

/// Writes the new ReplicaSet's revision onto the Deployment (when there is a new ReplicaSet).
fn sync_revision(ctx: &Ctx, d: &Value, new: Option<&Value>) -> Result<(), ApiError> {
    let Some(rs) = new else {
        return Ok(());
    };
    let rev = revision(rs).to_string();
    let current = d
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(REVISION))
        .and_then(Value::as_str);
    if current == Some(rev.as_str()) {
        return Ok(());
    }
    let mut next = d.clone();
    if !next["metadata"]["annotations"].is_object() {
        next["metadata"]["annotations"] = json!({});
    }
    next["metadata"]["annotations"][REVISION] = json!(rev);
    write_main(ctx.store(), util::deployments(), next).map(drop)
}

/// A paused Deployment's scaling (the real controller's `scale`): the one active ReplicaSet
/// (or, with none active, the new one, else the newest old one) goes to `desired`; once the new
/// one has them all, the old ones go to 0. Several active ReplicaSets are left as they are (the
/// real controller scales them proportionally; the simulator does not).
fn scale_paused(
    ctx: &mut Ctx,
    desired: i64,
    new: &mut Option<Arc<Value>>,
    old: &mut [Arc<Value>],
) -> Result<(), ApiError> {
    let active_new = new.as_ref().is_some_and(|rs| util::replicas(rs) > 0);
    let active_old: Vec<usize> = (0..old.len())
        .filter(|i| util::replicas(&old[*i]) > 0)
        .collect();
    match (active_new, active_old.as_slice()) {
        (true, []) => {
            if let Some(rs) = new.as_mut() {
                *rs = set_replicas(ctx, rs, desired)?;
            }
        }
        (false, [i]) => old[*i] = set_replicas(ctx, &old[*i], desired)?,
        (false, []) => match new.as_mut() {
            Some(rs) => *rs = set_replicas(ctx, rs, desired)?,
            None => {
                if let Some(last) = old.last_mut() {
                    *last = set_replicas(ctx, last, desired)?;
                }
            }
        },
        _ => {}
    }
    Ok(())
}

/// One step of a RollingUpdate: the new ReplicaSet up within maxSurge (counting every
/// ReplicaSet's `spec.replicas`), then old ones down within maxUnavailable, unhealthy replicas
/// first (the real controller's `reconcileNewReplicaSet` and `reconcileOldReplicaSets`).
fn roll(
    ctx: &mut Ctx,
    desired: i64,
    max_surge: i64,
    max_unavailable: i64,
    new_rs: &mut Arc<Value>,
    old: &mut [Arc<Value>],
) -> Result<(), ApiError> {
    let total: i64 = old.iter().map(|rs| util::replicas(rs)).sum::<i64>() + util::replicas(new_rs);
    let current = util::replicas(new_rs);
    let target = if current > desired {
        desired
    } else if current < desired {
        let allowed = desired + max_surge - total;
        current + allowed.clamp(0, desired - current)
    } else {
        current
    };
    *new_rs = set_replicas(ctx, new_rs, target)?;
    let min_available = desired - max_unavailable;
    let new_unavailable = util::replicas(new_rs) - available_of(ctx, new_rs);
    let total: i64 = old.iter().map(|rs| util::replicas(rs)).sum::<i64>() + util::replicas(new_rs);
    let mut max_cleanup = total - min_available - new_unavailable;
    for rs in old.iter_mut() {
        if max_cleanup <= 0 {
            break;
        }
        let unhealthy = util::replicas(rs) - available_of(ctx, rs);
        if unhealthy <= 0 {
            continue;
        }
        let scaled = unhealthy.min(max_cleanup);
        *rs = set_replicas(ctx, rs, util::replicas(rs) - scaled)?;
        max_cleanup -= scaled;
    }
    let all_available: i64 =
        old.iter().map(|rs| available_of(ctx, rs)).sum::<i64>() + available_of(ctx, new_rs);
    let mut max_scale_down = all_available - min_available - new_unavailable;
    for rs in old.iter_mut() {
        if max_scale_down <= 0 {
            break;
        }
        let r = util::replicas(rs);
        if r == 0 {
            continue;
        }
        let scaled = r.min(max_scale_down);
        *rs = set_replicas(ctx, rs, r - scaled)?;
        max_scale_down -= scaled;
    }
    Ok(())
}

fn create_rs(
    ctx: &Ctx,
    d: &Value,
    template: &Value,
    revision: i64,
    replicas: i64,
    max_surge: i64,
) -> Result<Value, ApiError> {
    let ns = str_at(d, "/metadata/namespace").unwrap_or_default();
    let hash = template_hash(template);
    let mut template = template.clone();
    if !template["metadata"].is_object() {
        template["metadata"] = json!({});
    }
    if !template["metadata"]["labels"].is_object() {
        template["metadata"]["labels"] = json!({});
    }
    template["metadata"]["labels"][HASH_LABEL] = json!(hash);
    let mut selector = d
        .pointer("/spec/selector")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if !selector["matchLabels"].is_object() {
        selector["matchLabels"] = json!({});
    }
    selector["matchLabels"][HASH_LABEL] = json!(hash);
    let mut spec = json!({
        "replicas": replicas,
        "selector": selector,
        "template": template,
    });
    if let Some(m) = d.pointer("/spec/minReadySeconds") {
        spec["minReadySeconds"] = m.clone();
    }
    let rs = json!({
        "metadata": {
            "name": format!("{}-{hash}", util::name(d)),
            "namespace": ns,
            "labels": template["metadata"]["labels"],
            "annotations": {
                REVISION: revision.to_string(),
                "deployment.kubernetes.io/desired-replicas": util::replicas(d).to_string(),
                "deployment.kubernetes.io/max-replicas": (util::replicas(d) + max_surge).to_string(),
            },
            "ownerReferences": [util::owner_ref(d)],
        },
        "spec": spec,
    });
    ctx.store().create(replicasets(), ns, rs, false)
}

/// Deletes old, empty ReplicaSets beyond `spec.revisionHistoryLimit` (default 10), oldest first.
fn cleanup_history(ctx: &Ctx, d: &Value, old: &[Arc<Value>]) -> Result<(), ApiError> {
    let limit = int_at(d, "/spec/revisionHistoryLimit").unwrap_or(10).max(0) as usize;
    let mut empty: Vec<&Arc<Value>> = old
        .iter()
        .filter(|rs| util::replicas(rs) == 0 && util::owned_pods(ctx, util::uid(rs)).is_empty())
        .collect();
    if old.len() <= limit {
        return Ok(());
    }
    empty.sort_by_key(|rs| revision(rs));
    let excess = old.len() - limit;
    for rs in empty.into_iter().take(excess) {
        let ns = str_at(rs, "/metadata/namespace").unwrap_or_default();
        match ctx
            .store()
            .delete(replicasets(), ns, util::name(rs), &DeleteOptions::default())
        {
            Ok(_) => {}
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn write_deployment_status(
    ctx: &mut Ctx,
    d: &Value,
    new: Option<&Value>,
    old: &[Arc<Value>],
    max_unavailable: i64,
    paused: bool,
) -> Result<(), ApiError> {
    let desired = util::replicas(d);
    let mut pods_total = 0;
    let mut ready = 0;
    let mut spec_total = 0;
    let all = new.into_iter().chain(old.iter().map(|rs| &**rs));
    for rs in all {
        spec_total += util::replicas(rs);
        for p in util::owned_pods(ctx, util::uid(rs)) {
            if util::active(&p) {
                pods_total += 1;
                if available(&p) {
                    ready += 1;
                }
            }
        }
    }
    let updated = new
        .map(|rs| {
            util::owned_pods(ctx, util::uid(rs))
                .iter()
                .filter(|p| util::active(p))
                .count() as i64
        })
        .unwrap_or(0);
    let new_name = new.map(util::name).unwrap_or_default().to_string();
    let complete = new.is_some() && updated == desired && pods_total == desired && ready == desired;

    // Progress: any change of these counts, or a new ReplicaSet, restarts the deadline.
    let now = ctx.now();
    let snapshot = (new_name.clone(), updated, ready, pods_total, spec_total);
    let uid = util::uid(d).to_string();
    let key = (
        str_at(d, "/metadata/namespace")
            .unwrap_or_default()
            .to_string(),
        util::name(d).to_string(),
    );
    let progress = ctx.deployments.entry(key).or_insert_with(|| Progress {
        uid: uid.clone(),
        at: now,
        snapshot: snapshot.clone(),
        scheduled: None,
    });
    if progress.uid != uid {
        // A new Deployment under the same name.
        *progress = Progress {
            uid,
            at: now,
            snapshot: snapshot.clone(),
            scheduled: None,
        };
    }
    if progress.snapshot != snapshot {
        progress.at = now;
        progress.snapshot = snapshot;
    }
    let deadline_at = progress.at
        + Duration::from_secs(
            int_at(d, "/spec/progressDeadlineSeconds")
                .unwrap_or(600)
                .max(0) as u64,
        );
    // A paused Deployment makes no progress and misses no deadline.
    let exceeded = !paused && !complete && now >= deadline_at;
    let wake = !paused && !complete && !exceeded && progress.scheduled != Some(deadline_at);
    if wake {
        progress.scheduled = Some(deadline_at);
        let key = Key::Deployment(
            str_at(d, "/metadata/namespace")
                .unwrap_or_default()
                .to_string(),
            util::name(d).to_string(),
        );
        ctx.wake_at(deadline_at, key);
    }

    let stamp = util::now(ctx.store());
    let min_available = desired - max_unavailable;
    let available_condition = if ready >= min_available {
        make_condition(
            d,
            "Available",
            true,
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            &stamp,
            true,
        )
    } else {
        make_condition(
            d,
            "Available",
            false,
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            &stamp,
            true,
        )
    };
    let progressing = if paused {
        condition_with_status(
            d,
            "Progressing",
            "Unknown",
            "DeploymentPaused",
            "Deployment is paused",
            &stamp,
            true,
        )
    } else if complete {
        make_condition(
            d,
            "Progressing",
            true,
            "NewReplicaSetAvailable",
            &format!("ReplicaSet \"{new_name}\" has successfully progressed."),
            &stamp,
            true,
        )
    } else if exceeded {
        make_condition(
            d,
            "Progressing",
            false,
            "ProgressDeadlineExceeded",
            &format!("ReplicaSet \"{new_name}\" has timed out progressing."),
            &stamp,
            true,
        )
    } else {
        make_condition(
            d,
            "Progressing",
            true,
            "ReplicaSetUpdated",
            &format!("ReplicaSet \"{new_name}\" is progressing."),
            &stamp,
            true,
        )
    };
    let status = json!({
        "observedGeneration": util::generation(d),
        "replicas": pods_total,
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "unavailableReplicas": (spec_total.max(desired) - ready).max(0),
        "conditions": [available_condition, progressing],
    });
    let status = util::omit_zero(
        status,
        &[
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
            "unavailableReplicas",
        ],
    );
    write_status(ctx.store(), util::deployments(), d, status)
}
