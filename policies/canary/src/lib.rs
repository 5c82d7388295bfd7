//! `canary`: Argo Rollouts' basic canary (no traffic router) for an existing Deployment: a `<name>-canary` Deployment beside it, weights as replica ratios, pauses, analysis, then the stable takes the new template.
//!
//! The stable's Service selects the app's shared labels, so it sends traffic to the canary's
//! pods by their share of all pods: `set-weight: 20` over 5 replicas is 1 canary pod and 4
//! stable ones. A run reads the operator's request first: `start` and `retry` run the steps
//! from the first, `resume` from the checkpoint, `promote` past the pause it stopped at,
//! `promote --full` straight to the promotion, `abort` back to the stable version.

mod app;
mod replicas;
mod steps;

use cutover_guest_sdk::analysis::{
    AnalysisRun, Metric, Phase, Probes, Target, Verdict, metrics_from_json,
};
use cutover_guest_sdk::deployment::parse_images;
use cutover_guest_sdk::params::Duration;
use cutover_guest_sdk::{Condition, Context, Error, ObjectRef, Patch, export_policy, info};
use serde::Deserialize;
use serde_json::{Value, json};

use app::Stable;
use steps::{Plan, Progress, Step};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Params {
    deployment: String,
    image: Vec<String>,
    #[serde(default)]
    steps: Option<Value>,
    #[serde(default)]
    analysis: Option<Value>,
    progress_deadline: Duration,
}

/// Without `steps`: a fifth of the pods, then wait for `cutover promote`.
fn default_steps() -> Value {
    json!([{"set-weight": 20}, {"pause": {}}])
}

/// Everything a run works with, read and checked before the first change.
struct Rollout<'a> {
    ctx: &'a Context,
    probes: &'a dyn Probes,
    stable: Stable,
    template: Value,
    steps: Vec<Step>,
    background: Vec<Metric>,
    deadline: std::time::Duration,
    target: Target,
}

fn canary(ctx: &Context) -> Result<String, Error> {
    run(ctx, ctx)
}

fn run(ctx: &Context, probes: &dyn Probes) -> Result<String, Error> {
    // 1. Parameters, all checked before anything changes.
    let p: Params = ctx.params()?;
    let images = parse_images(&p.image)?;
    let steps = steps::parse(p.steps.as_ref().unwrap_or(&default_steps()))?;
    let background = metrics_from_json(p.analysis.as_ref().unwrap_or(&Value::Null))
        .map_err(|e| e.context("background analysis"))?;

    // 2. The stable Deployment and the new template.
    let found = ctx
        .get_dynamic(&deployment(&p.deployment))
        .map_err(|e| e.context(format!("deployment {}", p.deployment)))?;
    let mut stable = Stable::from_object(&found)?;
    let template = stable.deployment.with_images(&images)?;

    // 3. What the operator asked for, against the checkpoint.
    let plan = steps::plan(ctx.requested(), ctx.restore()?, stable.deployment.replicas)?;
    let replicas = match &plan {
        Plan::Steps(progress) | Plan::Finish(progress) => progress.replicas,
        Plan::Abort(saved) => saved
            .as_ref()
            .map_or(stable.deployment.replicas, |s| s.replicas),
    };
    // The count from before the rollout: the stable may be scaled down by now.
    stable.deployment.replicas = replicas;
    let rollout = Rollout {
        ctx,
        probes,
        target: Target {
            selector: stable.canary_selector(),
        },
        stable,
        template,
        steps,
        background,
        deadline: p.progress_deadline.get(),
    };
    match plan {
        Plan::Abort(_) => {
            rollout.abort()?;
            Err(Error::aborted(format!(
                "aborted: deployment {} is back at {} replicas of its stable version",
                rollout.stable.deployment.name, rollout.stable.deployment.replicas
            )))
        }
        Plan::Finish(_) => rollout.promote(),
        Plan::Steps(progress) => rollout.run_steps(progress),
    }
}

fn deployment(name: &str) -> ObjectRef {
    ObjectRef::new("apps/v1", "Deployment", name)
}

/// How a step ended.
enum Outcome {
    Next,
    /// The run paused for a person, with this status.
    Paused(String),
}

impl Rollout<'_> {
    fn canary_ref(&self) -> ObjectRef {
        deployment(&self.stable.canary_name())
    }

    /// 4. The steps, from `progress.next`; a checkpoint after each.
    fn run_steps(&self, mut progress: Progress) -> Result<String, Error> {
        let ctx = self.ctx;
        let total = self.steps.len() as u32 + 1;
        // The canary exists from the first step, at the current weight's size.
        let size = replicas::split(
            self.stable.deployment.replicas,
            progress.weight,
            self.stable.deployment.surge,
        );
        let canary = self
            .stable
            .canary(ctx.namespace(), &self.template, size.canary);
        ctx.apply_dynamic(&canary)
            .map_err(|e| e.context(format!("creating deployment {}", self.stable.canary_name())))?;
        ctx.checkpoint(&progress)?;

        while progress.next < self.steps.len() {
            let index = progress.next;
            let step = &self.steps[index];
            ctx.progress(
                index as u32,
                total,
                &format!("step {}: {}", index + 1, step.describe()),
            );
            match self.step(step, index, &mut progress) {
                Ok(Outcome::Next) => {}
                Ok(Outcome::Paused(status)) => return self.pause(&mut progress, index, status),
                Err(Failure::Abort(message)) => {
                    ctx.checkpoint(&progress)?;
                    self.abort()?;
                    return Err(Error::aborted(message));
                }
                Err(Failure::Error(e)) => {
                    ctx.checkpoint(&progress)?;
                    return Err(e);
                }
            }
            // The background analysis, at every step boundary.
            match self.check_background(&mut progress) {
                Ok(Outcome::Next) => {}
                Ok(Outcome::Paused(status)) => {
                    progress.next = index + 1;
                    return self.pause(&mut progress, index, status);
                }
                Err(Failure::Abort(message)) => {
                    self.abort()?;
                    return Err(Error::aborted(message));
                }
                Err(Failure::Error(e)) => return Err(e),
            }
            progress.next = index + 1;
            progress.pause_until_ms = None;
            progress.step_analysis = None;
            ctx.checkpoint(&progress)?;
        }
        ctx.progress(total - 1, total, "every step done: promoting");
        self.promote()
    }

    fn step(&self, step: &Step, index: usize, progress: &mut Progress) -> Result<Outcome, Failure> {
        let ctx = self.ctx;
        match step {
            Step::SetWeight(weight) => {
                self.set_weight(progress, *weight)?;
                Ok(Outcome::Next)
            }
            Step::Pause(None) => {
                progress.next = index + 1;
                Ok(Outcome::Paused(format!(
                    "paused at step {} of {} (weight {}); `cutover promote` continues",
                    index + 1,
                    self.steps.len(),
                    progress.weight
                )))
            }
            Step::Pause(Some(duration)) => {
                let now = ctx.now().unix_millis();
                let until = *progress
                    .pause_until_ms
                    .get_or_insert(now.saturating_add(duration.as_millis() as u64));
                ctx.checkpoint(&*progress).map_err(Failure::Error)?;
                let left = std::time::Duration::from_millis(until.saturating_sub(now));
                info!("pausing {} (weight {})", Duration(left), progress.weight);
                if self.background.is_empty() {
                    if !ctx.sleep(left) {
                        return Err(Failure::Error(Error::timeout(
                            "the run's deadline came during a pause",
                        )));
                    }
                    return Ok(Outcome::Next);
                }
                self.ensure_background(progress);
                let verdict = progress
                    .background
                    .run_for(ctx, self.probes, &self.target, &self.background, left)
                    .map_err(Failure::Error)?;
                self.judge(verdict, "background analysis")
            }
            Step::Analysis(metrics) => {
                let mut run = progress.step_analysis.take().unwrap_or_else(|| {
                    AnalysisRun::new(&format!("step {} analysis", index + 1), metrics)
                });
                let verdict = run.run(ctx, self.probes, &self.target, metrics);
                progress.step_analysis = Some(run);
                let outcome = self.judge(verdict, &format!("step {} analysis", index + 1))?;
                if matches!(outcome, Outcome::Paused(_)) {
                    progress.next = index + 1;
                }
                Ok(outcome)
            }
        }
    }

    /// Failed and Error abort; Inconclusive pauses for a person; Successful and Running go on.
    fn judge(&self, verdict: Verdict, what: &str) -> Result<Outcome, Failure> {
        match verdict.phase {
            Phase::Failed | Phase::Error => Err(Failure::Abort(verdict.message)),
            Phase::Inconclusive => Ok(Outcome::Paused(format!(
                "{what} inconclusive: {}; `cutover promote` continues, `cutover abort` returns to stable",
                verdict.message
            ))),
            Phase::Successful | Phase::Running => {
                info!("{what}: {}", verdict.message);
                Ok(Outcome::Next)
            }
        }
    }

    fn ensure_background(&self, progress: &mut Progress) {
        if progress.background.results.is_empty() {
            progress.background = AnalysisRun::new("background analysis", &self.background);
        }
    }

    fn check_background(&self, progress: &mut Progress) -> Result<Outcome, Failure> {
        if self.background.is_empty() {
            return Ok(Outcome::Next);
        }
        self.ensure_background(progress);
        let verdict =
            progress
                .background
                .measure_due(self.ctx, self.probes, &self.target, &self.background);
        self.judge(verdict, "background analysis")
    }

    /// Scales canary and stable to the weight's split: the growing side first, so that
    /// capacity never dips, each waited on until rolled out.
    fn set_weight(&self, progress: &mut Progress, weight: u32) -> Result<(), Failure> {
        let split = replicas::split(
            self.stable.deployment.replicas,
            weight,
            self.stable.deployment.surge,
        );
        info!(
            "weight {weight}: {} canary and {} stable pods",
            split.canary, split.stable
        );
        let canary = self.canary_ref();
        let stable = deployment(&self.stable.deployment.name);
        let sides = [(&canary, split.canary), (&stable, split.stable)];
        let ordered: Vec<_> = if weight >= progress.weight {
            sides.to_vec()
        } else {
            sides.iter().rev().copied().collect()
        };
        for (target, count) in ordered {
            self.ctx
                .scale_dynamic(target, count)
                .map_err(|e| Failure::Error(e.context(format!("scaling {target}"))))?;
            self.wait_rolled_out(target)?;
        }
        progress.weight = weight;
        Ok(())
    }

    /// A Deployment that does not roll out within `progress-deadline` aborts the rollout.
    fn wait_rolled_out(&self, target: &ObjectRef) -> Result<(), Failure> {
        match self
            .ctx
            .wait_dynamic(target, &Condition::RolledOut, self.deadline)
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_timeout() || e.is_aborted() => Err(Failure::Abort(format!(
                "deployment {} did not become ready within {}: {e}",
                target.name,
                Duration(self.deadline)
            ))),
            Err(e) => Err(Failure::Error(e.context(format!("waiting for {target}")))),
        }
    }

    /// Ends the run paused (the revision `paused`), the status saying where it stands.
    fn pause(
        &self,
        progress: &mut Progress,
        index: usize,
        status: String,
    ) -> Result<String, Error> {
        let ctx = self.ctx;
        let status = if progress.background.results.is_empty() {
            status
        } else {
            format!(
                "{status}; background analysis: {}",
                progress.background.status()
            )
        };
        progress.paused = true;
        ctx.checkpoint(&*progress)?;
        if ctx.dry_run() {
            info!("dry run: would pause at step {}: {status}", index + 1);
            return Ok(format!(
                "dry run: the canary would pause at step {}",
                index + 1
            ));
        }
        ctx.pause(&status)?;
        Ok(status)
    }

    /// Step 5: the stable Deployment takes the new template at its full size; once it rolled
    /// out, the canary goes; the revision records the stable as promoted.
    fn promote(&self) -> Result<String, Error> {
        let ctx = self.ctx;
        let found = &self.stable.deployment;
        let name = &found.name;
        let stable = deployment(name);
        info!("promoting: deployment {name} takes the new template");
        ctx.patch_dynamic(
            &stable,
            &Patch::Merge(json!({"spec": {"replicas": found.replicas, "template": self.template}})),
        )
        .map_err(|e| e.context(format!("promoting deployment {name}")))?;
        ctx.wait_dynamic(&stable, &Condition::RolledOut, self.deadline)
            .map_err(|e| {
                e.context(format!(
                    "waiting for deployment {name} to roll out the new version"
                ))
            })?;
        self.remove_canary()?;
        let images = images_of(&self.template);
        ctx.record(
            &[self.stable.promoted(ctx.namespace(), &self.template)],
            &format!("canary of {name} promoted: {images}"),
        )?;
        let dry_run = if ctx.dry_run() { " (dry run)" } else { "" };
        Ok(format!(
            "deployment {name} promoted to {images} at {} replicas; canary removed{dry_run}",
            found.replicas
        ))
    }

    /// Back to stable: the stable at its full size first, then the canary scaled to 0 and
    /// deleted, so no canary pod outlives an abort (argo-rollouts#1593).
    fn abort(&self) -> Result<(), Error> {
        let ctx = self.ctx;
        let stable = deployment(&self.stable.deployment.name);
        ctx.warn(&format!(
            "aborting: deployment {} back to {} replicas, canary removed",
            self.stable.deployment.name, self.stable.deployment.replicas
        ));
        ctx.scale_dynamic(&stable, self.stable.deployment.replicas)
            .map_err(|e| e.context(format!("restoring {stable}")))?;
        if let Err(e) = ctx.wait_dynamic(&stable, &Condition::RolledOut, self.deadline) {
            ctx.warn(&format!("{stable} not rolled out after the abort: {e}"));
        }
        self.remove_canary()
    }

    fn remove_canary(&self) -> Result<(), Error> {
        let ctx = self.ctx;
        let canary = self.canary_ref();
        match ctx.scale_dynamic(&canary, 0) {
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e.context(format!("scaling {canary} to 0"))),
            Ok(()) => {}
        }
        if let Err(e) = ctx.wait_dynamic(&canary, &Condition::RolledOut, self.deadline) {
            ctx.warn(&format!("{canary} pods not gone before its deletion: {e}"));
        }
        match ctx.delete_dynamic(&canary) {
            Err(e) if !e.is_not_found() => Err(e.context(format!("deleting {canary}"))),
            _ => Ok(()),
        }
    }
}

/// Why the steps stopped: an abort (back to stable, then fail) or an error (fail; `cutover
/// resume` continues from the checkpoint).
enum Failure {
    Abort(String),
    Error(Error),
}

/// `web=nginx:1.25, log=fluent:2`.
fn images_of(template: &Value) -> String {
    template
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    format!(
                        "{}={}",
                        c["name"].as_str().unwrap_or("?"),
                        c["image"].as_str().unwrap_or("?")
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

export_policy! {
    name: "canary",
    version: env!("CARGO_PKG_VERSION"),
    description: "Canary rollout of a Deployment without a traffic router (Argo Rollouts' basic canary): weights as replica ratios, pauses, analysis gates, promote/abort/retry.",
    release: "canary-{deployment}",
    params: [
        { name: "deployment", type: "string", required: true,
          description: "The stable Deployment, in the run's namespace; its Service must select the labels its pods share with the canary." },
        { name: "image", type: "string-list", required: true,
          description: "The new version: container=image pairs, as kubectl set image takes them (--set image=web=nginx:1.25)." },
        { name: "steps", type: "list",
          description: "The steps, each one of {set-weight: 0..100}, {pause: {}} (until promoted), {pause: {duration: 1m}}, {analysis: {metrics: [...]}}. Default: set-weight 20, then pause until promoted." },
        { name: "analysis", type: "list",
          description: "Background analysis: metrics measured across the steps, checked at every step boundary and during timed pauses (see docs/strategies.md)." },
        { name: "progress-deadline", type: "duration", default: "10m",
          description: "How long a scaled Deployment may take to become ready; past it the rollout aborts." },
        { name: "probe-endpoints", type: "string-list", default: ["prometheus.monitoring:9090"],
          description: "The host:port endpoints analysis may reach (its HTTP checks and Prometheus servers); each is declared as probe/*:<host>:<port>." },
    ],
    capabilities: [
        "cluster/get:apps/v1/Deployment@{namespace}",
        "cluster/apply:apps/v1/Deployment@{namespace}",
        "cluster/patch:apps/v1/Deployment@{namespace}",
        "cluster/scale:apps/v1/Deployment@{namespace}",
        "cluster/wait:apps/v1/Deployment@{namespace}",
        "cluster/delete:apps/v1/Deployment@{namespace}",
        "cluster/list:v1/Pod@{namespace}",
        "revisions/record",
        // Analysis reaches the endpoints the operator names (docs/strategies.md).
        "probe/*:{probe-endpoints}",
    ],
    run: canary,
}

#[cfg(test)]
mod tests;
