//! `blue-green`: Argo Rollouts' blue-green for an existing Deployment: the new version `<app>-<hash>` beside the old, a preview Service, pre- and post-promotion analysis, the active Service switched at promotion.
//!
//! Stages, each checkpointed: pin the active Service to the old pods; create the new
//! Deployment and wait until it is ready; point the preview Service at it; the pre-promotion
//! analysis; promotion (automatic after `auto-promotion-seconds`, or `cutover promote`);
//! switch the active Service; the post-promotion analysis; after `scale-down-delay` the old
//! Deployment goes. How the Services tell the versions apart is in `version.rs`.

mod stages;
mod version;

use cutover_guest_sdk::analysis::{
    AnalysisRun, Metric, Phase, Probes, Target, Verdict, metrics_from_json,
};
use cutover_guest_sdk::deployment::parse_images;
use cutover_guest_sdk::params::Duration;
use cutover_guest_sdk::{
    Condition, Context, Error, ListParams, ObjectRef, Patch, export_policy, info,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use stages::{Plan, Progress, Stage};
use version::{Active, POD_TEMPLATE_HASH, VERSION_LABEL};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Params {
    deployment: String,
    active_service: String,
    preview_service: String,
    image: Vec<String>,
    #[serde(default)]
    preview_replica_count: Option<u32>,
    auto_promotion_enabled: bool,
    auto_promotion_seconds: u32,
    #[serde(default)]
    pre_promotion_analysis: Option<Value>,
    #[serde(default)]
    post_promotion_analysis: Option<Value>,
    scale_down_delay: Duration,
    progress_deadline: Duration,
}

/// Everything a run works with, read and checked before the first change.
struct Rollout<'a> {
    ctx: &'a Context,
    probes: &'a dyn Probes,
    p: Params,
    pre: Vec<Metric>,
    post: Vec<Metric>,
    template: Value,
    active: Active,
}

/// Why a stage stopped the run.
enum Stop {
    /// Paused for a person, with this status.
    Pause(String),
    /// Back to the old version, then fail with this message.
    Abort(String),
    /// Fail; `cutover resume` continues.
    Error(Error),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Error(e)
    }
}

fn blue_green(ctx: &Context) -> Result<String, Error> {
    run(ctx, ctx)
}

fn run(ctx: &Context, probes: &dyn Probes) -> Result<String, Error> {
    // 1. Parameters, all checked before anything changes.
    let p: Params = ctx.params()?;
    let images = parse_images(&p.image)?;
    let pre = metrics_from_json(p.pre_promotion_analysis.as_ref().unwrap_or(&Value::Null))
        .map_err(|e| e.context("pre-promotion analysis"))?;
    let post = metrics_from_json(p.post_promotion_analysis.as_ref().unwrap_or(&Value::Null))
        .map_err(|e| e.context("post-promotion analysis"))?;

    // 2. The operator's request against the checkpoint; the old Deployment (the one the
    //    checkpoint names, once there is one) and the new template.
    let plan = stages::plan(ctx.requested(), ctx.restore()?)?;
    let progress = match &plan {
        Plan::Stages(progress) | Plan::Abort(progress) => progress,
    };
    let old_name = if progress.old_name.is_empty() {
        find_active(ctx, &p)?
    } else {
        progress.old_name.clone()
    };
    let found = ctx
        .get_dynamic(&deployment(&old_name))
        .map_err(|e| e.context(format!("deployment {old_name}")))?;
    let active = Active::from_object(&found)?;
    let (template, hash) = active.new_template(&images)?;
    let rollout = Rollout {
        ctx,
        probes,
        p,
        pre,
        post,
        template,
        active,
    };
    match plan {
        Plan::Abort(progress) => {
            rollout.abort(&progress)?;
            Err(Error::aborted(format!(
                "aborted: service {} selects deployment {} again; the new version is deleted",
                rollout.p.active_service, progress.old_name
            )))
        }
        Plan::Stages(mut progress) => {
            if progress.stage == Stage::Begin {
                progress.old_name = rollout.active.deployment.name.clone();
                progress.old_replicas = rollout.active.deployment.replicas;
                progress.new_hash = hash;
            }
            match rollout.stages(&mut progress) {
                Ok(summary) => Ok(summary),
                Err(Stop::Pause(status)) => rollout.pause(&mut progress, status),
                Err(Stop::Abort(message)) => {
                    ctx.checkpoint(&progress)?;
                    rollout.abort(&progress)?;
                    Err(Error::aborted(message))
                }
                Err(Stop::Error(e)) => {
                    ctx.checkpoint(&progress)?;
                    Err(e)
                }
            }
        }
    }
}

/// The active Deployment: `deployment` itself, or, after an earlier blue-green rollout
/// replaced it, the Deployment of that app (label `cutover.dev/app`) the active Service
/// selects.
fn find_active(ctx: &Context, p: &Params) -> Result<String, Error> {
    match ctx.get_dynamic(&deployment(&p.deployment)) {
        Ok(_) => return Ok(p.deployment.clone()),
        Err(e) if !e.is_not_found() => {
            return Err(e.context(format!("deployment {}", p.deployment)));
        }
        Err(_) => {}
    }
    let service = ctx.get_dynamic(&service(&p.active_service))?;
    let selected = selector_of(&service)
        .get(VERSION_LABEL)
        .and_then(Value::as_str)
        .map(str::to_string);
    let candidates = ctx.list_dynamic(
        "apps/v1",
        "Deployment",
        &ListParams::default().labels(format!("{}={}", version::APP_LABEL, p.deployment)),
    )?;
    candidates
        .iter()
        .find(|d| {
            selected.is_some()
                && d.pointer("/metadata/labels")
                    .and_then(|l| l.get(VERSION_LABEL))
                    .and_then(Value::as_str)
                    == selected.as_deref()
        })
        .and_then(|d| d.pointer("/metadata/name").and_then(Value::as_str))
        .map(str::to_string)
        .ok_or_else(|| {
            Error::not_found(format!(
                "deployment {} not found, nor a Deployment of app {} that service {} selects",
                p.deployment, p.deployment, p.active_service
            ))
        })
}

fn deployment(name: &str) -> ObjectRef {
    ObjectRef::new("apps/v1", "Deployment", name)
}

fn service(name: &str) -> ObjectRef {
    ObjectRef::new("v1", "Service", name)
}

fn selector_of(service: &Value) -> Map<String, Value> {
    service
        .pointer("/spec/selector")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

impl Rollout<'_> {
    fn new_name(&self, progress: &Progress) -> String {
        version::new_name(&self.active.app, &progress.new_hash)
    }

    fn target(&self, progress: &Progress) -> Target {
        Target {
            selector: format!("{VERSION_LABEL}={}", progress.new_hash),
        }
    }

    fn step(&self, progress: &mut Progress, stage: Stage, message: &str) -> Result<(), Error> {
        progress.stage = stage;
        self.ctx
            .progress(stage as u32, Stage::Verified as u32 + 1, message);
        self.ctx.checkpoint(&*progress)
    }

    /// 3. The stages after the last one done.
    fn stages(&self, progress: &mut Progress) -> Result<String, Stop> {
        let ctx = self.ctx;
        let p = &self.p;
        let new_name = self.new_name(progress);
        let new = deployment(&new_name);
        let full = progress.old_replicas;

        if progress.stage < Stage::Pinned {
            // The active Service keeps exactly the old pods: their pod-template-hash.
            let replica_sets = ctx.list_dynamic(
                "apps/v1",
                "ReplicaSet",
                &ListParams::default().labels(version::selector_text(
                    &self
                        .active
                        .deployment
                        .selector
                        .get("matchLabels")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default(),
                )),
            )?;
            progress.old_hash = version::current_pod_template_hash(&self.active, &replica_sets).ok_or_else(|| {
                Stop::Error(Error::aborted(format!(
                    "deployment {} has no current ReplicaSet with a pod-template-hash (is it rolled out?)",
                    self.active.deployment.name
                )))
            })?;
            let active = ctx.get_dynamic(&service(&p.active_service))?;
            let preview = ctx.get_dynamic(&service(&p.preview_service))?;
            if progress.active_selector.is_empty() {
                progress.active_selector = selector_of(&active);
                progress.preview_selector = selector_of(&preview);
            }
            if progress.active_selector.is_empty() {
                return Err(Stop::Error(Error::invalid(format!(
                    "service {} has no selector",
                    p.active_service
                ))));
            }
            ctx.checkpoint(&*progress)?;
            let (patch, _) = version::selector_patch(
                &selector_of(&active),
                &[(POD_TEMPLATE_HASH, progress.old_hash.as_str())],
                &[VERSION_LABEL],
            );
            ctx.patch_dynamic(&service(&p.active_service), &Patch::Merge(patch))?;
            self.step(
                progress,
                Stage::Pinned,
                &format!(
                    "service {} pinned to deployment {}",
                    p.active_service, self.active.deployment.name
                ),
            )?;
        }

        if progress.stage < Stage::Ready {
            let replicas = p.preview_replica_count.unwrap_or(full).min(full);
            let manifest = self.active.new_deployment(
                ctx.namespace(),
                &self.template,
                &progress.new_hash,
                replicas,
            );
            ctx.apply_dynamic(&manifest)
                .map_err(|e| e.context(format!("creating deployment {new_name}")))?;
            self.wait_ready(&new)?;
            self.step(
                progress,
                Stage::Ready,
                &format!("deployment {new_name} ready at {replicas} replicas"),
            )?;
        }

        if progress.stage < Stage::Previewed {
            let current = selector_of(&ctx.get_dynamic(&service(&p.preview_service))?);
            let mut wanted = progress.active_selector.clone();
            wanted.remove(POD_TEMPLATE_HASH);
            wanted.insert(VERSION_LABEL.into(), json!(progress.new_hash));
            ctx.patch_dynamic(
                &service(&p.preview_service),
                &Patch::Merge(version::restore_patch(&current, &wanted)),
            )?;
            self.step(
                progress,
                Stage::Previewed,
                &format!(
                    "service {} previews deployment {new_name}",
                    p.preview_service
                ),
            )?;
        }

        if progress.stage < Stage::Analysed {
            if !progress.skip_gates && !self.pre.is_empty() {
                let mut run = progress
                    .pre
                    .take()
                    .unwrap_or_else(|| AnalysisRun::new("pre-promotion analysis", &self.pre));
                let verdict = run.run(ctx, self.probes, &self.target(progress), &self.pre);
                progress.pre = Some(run);
                self.judge(verdict, "pre-promotion analysis")?;
            }
            progress.stage = Stage::Analysed;
            ctx.checkpoint(&*progress)?;
            // The promotion gate: a person, or the clock.
            if !progress.skip_gates {
                if !p.auto_promotion_enabled {
                    return Err(Stop::Pause(format!(
                        "deployment {new_name} ready behind service {}; `cutover promote` switches service {} to it",
                        p.preview_service, p.active_service
                    )));
                }
                if p.auto_promotion_seconds > 0 {
                    info!("promoting in {}s", p.auto_promotion_seconds);
                    if !ctx.sleep(std::time::Duration::from_secs(u64::from(
                        p.auto_promotion_seconds,
                    ))) {
                        return Err(Stop::Error(Error::timeout(
                            "the run's deadline came before the promotion",
                        )));
                    }
                }
            }
        }

        if progress.stage < Stage::Switched {
            if p.preview_replica_count.is_some_and(|n| n < full) {
                ctx.scale_dynamic(&new, full)?;
                self.wait_ready(&new)?;
            }
            let current = selector_of(&ctx.get_dynamic(&service(&p.active_service))?);
            let (patch, _) = version::selector_patch(
                &current,
                &[(VERSION_LABEL, progress.new_hash.as_str())],
                &[POD_TEMPLATE_HASH],
            );
            ctx.patch_dynamic(&service(&p.active_service), &Patch::Merge(patch))?;
            self.step(
                progress,
                Stage::Switched,
                &format!(
                    "service {} switched to deployment {new_name}",
                    p.active_service
                ),
            )?;
        }

        if progress.stage < Stage::Verified {
            if !progress.skip_gates && !self.post.is_empty() {
                let mut run = progress
                    .post
                    .take()
                    .unwrap_or_else(|| AnalysisRun::new("post-promotion analysis", &self.post));
                let verdict = run.run(ctx, self.probes, &self.target(progress), &self.post);
                progress.post = Some(run);
                self.judge(verdict, "post-promotion analysis")?;
            }
            self.step(progress, Stage::Verified, "post-promotion analysis passed")?;
        }

        // 4. The old version goes after the delay; the revision records the new one.
        info!(
            "scaling deployment {} down in {}",
            progress.old_name, p.scale_down_delay
        );
        if !ctx.sleep(p.scale_down_delay.get()) {
            return Err(Stop::Error(Error::timeout(
                "the run's deadline came during the scale-down delay",
            )));
        }
        self.remove(&deployment(&progress.old_name))?;
        let new_object =
            self.active
                .new_deployment(ctx.namespace(), &self.template, &progress.new_hash, full);
        let services = [&p.active_service, &p.preview_service].map(|name| {
            let selector = ctx.get_dynamic(&service(name)).map(|s| selector_of(&s)).unwrap_or_default();
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ctx.namespace()},
                   "spec": {"selector": selector}})
        });
        ctx.record(
            &[new_object, services[0].clone(), services[1].clone()],
            &format!(
                "blue-green of {}: deployment {new_name} active",
                self.active.app
            ),
        )?;
        let dry_run = if ctx.dry_run() { " (dry run)" } else { "" };
        Ok(format!(
            "service {} switched to deployment {new_name}; deployment {} removed{dry_run}",
            p.active_service, progress.old_name
        ))
    }

    /// Failed and Error abort; Inconclusive pauses for a person.
    fn judge(&self, verdict: Verdict, what: &str) -> Result<(), Stop> {
        match verdict.phase {
            Phase::Failed | Phase::Error => Err(Stop::Abort(verdict.message)),
            Phase::Inconclusive => Err(Stop::Pause(format!(
                "{what} inconclusive: {}; `cutover promote` continues, `cutover abort` returns to the old version",
                verdict.message
            ))),
            Phase::Successful | Phase::Running => {
                info!("{what}: {}", verdict.message);
                Ok(())
            }
        }
    }

    fn wait_ready(&self, target: &ObjectRef) -> Result<(), Stop> {
        let deadline = self.p.progress_deadline;
        match self
            .ctx
            .wait_dynamic(target, &Condition::RolledOut, deadline)
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_timeout() || e.is_aborted() => Err(Stop::Abort(format!(
                "deployment {} did not become ready within {deadline}: {e}",
                target.name
            ))),
            Err(e) => Err(Stop::Error(e.context(format!("waiting for {target}")))),
        }
    }

    fn pause(&self, progress: &mut Progress, status: String) -> Result<String, Error> {
        progress.paused = true;
        self.ctx.checkpoint(&*progress)?;
        if self.ctx.dry_run() {
            return Ok(format!("dry run: would pause: {status}"));
        }
        self.ctx.pause(&status)?;
        Ok(status)
    }

    /// Back to the old version: the active and preview Services select the old pods, the old
    /// Deployment is at its size, the new one is scaled to 0 and deleted, and then both
    /// Services get their selectors from before the rollout back.
    fn abort(&self, progress: &Progress) -> Result<(), Error> {
        let ctx = self.ctx;
        let p = &self.p;
        ctx.warn(&format!(
            "aborting: back to deployment {}",
            progress.old_name
        ));
        let mut pinned = progress.active_selector.clone();
        pinned.remove(VERSION_LABEL);
        pinned.insert(POD_TEMPLATE_HASH.into(), json!(progress.old_hash));
        for name in [&p.active_service, &p.preview_service] {
            let current = selector_of(&ctx.get_dynamic(&service(name))?);
            if !progress.old_hash.is_empty() {
                ctx.patch_dynamic(
                    &service(name),
                    &Patch::Merge(version::restore_patch(&current, &pinned)),
                )?;
            }
        }
        let old = deployment(&progress.old_name);
        ctx.scale_dynamic(&old, progress.old_replicas)?;
        if let Err(e) = ctx.wait_dynamic(&old, &Condition::RolledOut, self.p.progress_deadline) {
            ctx.warn(&format!("{old} not rolled out after the abort: {e}"));
        }
        if !progress.new_hash.is_empty() {
            self.remove(&deployment(&self.new_name(progress)))?;
        }
        for (name, original) in [
            (&p.active_service, &progress.active_selector),
            (&p.preview_service, &progress.preview_selector),
        ] {
            if original.is_empty() {
                continue;
            }
            let current = selector_of(&ctx.get_dynamic(&service(name))?);
            ctx.patch_dynamic(
                &service(name),
                &Patch::Merge(version::restore_patch(&current, original)),
            )?;
        }
        Ok(())
    }

    /// Scales a Deployment to 0, waits for its pods to go, deletes it (gone already is fine).
    fn remove(&self, target: &ObjectRef) -> Result<(), Error> {
        let ctx = self.ctx;
        match ctx.scale_dynamic(target, 0) {
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e.context(format!("scaling {target} to 0"))),
            Ok(()) => {}
        }
        if let Err(e) = ctx.wait_dynamic(target, &Condition::RolledOut, self.p.progress_deadline) {
            ctx.warn(&format!("{target} pods not gone before its deletion: {e}"));
        }
        match ctx.delete_dynamic(target) {
            Err(e) if !e.is_not_found() => Err(e.context(format!("deleting {target}"))),
            _ => Ok(()),
        }
    }
}

export_policy! {
    name: "blue-green",
    version: env!("CARGO_PKG_VERSION"),
    description: "Blue-green rollout of a Deployment (Argo Rollouts' blueGreen): the new version beside the old, a preview Service, pre- and post-promotion analysis, the active Service switched at promotion.",
    release: "blue-green-{deployment}",
    params: [
        { name: "deployment", type: "string", required: true,
          description: "The active Deployment (after a blue-green rollout, its app name still finds the new one)." },
        { name: "active-service", type: "string", required: true,
          description: "The Service that sends production traffic; its selector is switched at promotion." },
        { name: "preview-service", type: "string", required: true,
          description: "The Service that selects the new version before the promotion." },
        { name: "image", type: "string-list", required: true,
          description: "The new version: container=image pairs (--set image=web=nginx:1.25)." },
        { name: "preview-replica-count", type: "integer", minimum: 1,
          description: "Replicas of the new version before the promotion (default: as many as the active)." },
        { name: "auto-promotion-enabled", type: "boolean", default: true,
          description: "Promote once the new version is ready and the pre-promotion analysis passed; false pauses for `cutover promote`." },
        { name: "auto-promotion-seconds", type: "integer", default: 0, minimum: 0, maximum: 86400,
          description: "With auto-promotion, wait this long before switching." },
        { name: "pre-promotion-analysis", type: "list",
          description: "Metrics measured against the new version before the switch (see docs/strategies.md)." },
        { name: "post-promotion-analysis", type: "list",
          description: "Metrics measured after the switch; a failure switches the active Service back." },
        { name: "scale-down-delay", type: "duration", default: "30s",
          description: "How long the old version stays after the switch before it is scaled to 0 and deleted." },
        { name: "progress-deadline", type: "duration", default: "10m",
          description: "How long a Deployment may take to become ready; past it the rollout aborts." },

        { name: "probe-endpoints", type: "string-list", default: ["prometheus.monitoring:9090"],
          description: "The host:port endpoints analysis may reach (its HTTP checks and Prometheus servers); each is declared as probe/*:<host>:<port>." },
    ],
    capabilities: [
        "cluster/get:apps/v1/Deployment@{namespace}",
        "cluster/list:apps/v1/Deployment@{namespace}",
        "cluster/apply:apps/v1/Deployment@{namespace}",
        "cluster/scale:apps/v1/Deployment@{namespace}",
        "cluster/wait:apps/v1/Deployment@{namespace}",
        "cluster/delete:apps/v1/Deployment@{namespace}",
        "cluster/list:apps/v1/ReplicaSet@{namespace}",
        "cluster/get:v1/Service@{namespace}",
        "cluster/patch:v1/Service@{namespace}",
        // The revision records the Services as they end (a rollback re-applies them), and
        // what a revision records must be appliable by the policy.
        "cluster/apply:v1/Service@{namespace}",
        "cluster/list:v1/Pod@{namespace}",
        "revisions/record",
        // Analysis reaches the endpoints the operator names (docs/strategies.md).
        "probe/*:{probe-endpoints}",
    ],
    run: blue_green,
}

#[cfg(test)]
mod tests;
