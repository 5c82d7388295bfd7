//! `atomic`: install or upgrade a chart or a set of manifests and wait until every object is
//! Current, as `helm upgrade --install --rollback-on-failure --wait` does.
//!
//! Steps: read the inputs (a chart, rendered here with the run's values, or plain manifests)
//! → split off hooks (`test` hooks are never installed) → on `--dry-run`, print the plan and
//! stop → run the pre-install/pre-upgrade hooks → server-side apply every object in Helm's
//! install order → record them as the revision's manifests → delete what the previous
//! deployed revision had and this one does not → wait until all are Current (kstatus) → run
//! the post-install/post-upgrade hooks. A failure fails the run; the manifest asks the host
//! to roll back on failure, so the previous objects come back (a failed install leaves
//! nothing).

mod calls;
mod hooks;
mod object;
mod plan;
mod prune;
mod render;
mod source;

use std::collections::HashSet;
use std::time::Duration;

use cutover_guest_sdk::{
    Condition, Context, Error, RevisionStatus, Timestamp, export_policy, info, warn,
};
use serde_json::Value;

use crate::hooks::{Hook, Phase, Split};
use crate::object::{describe, key, reference};
use crate::plan::{Change, Counts};
use crate::source::Source;

/// The host watches at most this many objects in one `wait-current`.
const WAIT_BATCH: usize = 1000;
/// At most this many lines of a chart's NOTES.txt are logged.
const NOTES_LINES: usize = 40;

fn atomic(ctx: &Context) -> Result<String, Error> {
    let files = calls::input_files(ctx)?;
    let source = source::read(&files)?;
    let previous = previous_deployed(ctx)?;
    let install = previous.is_none();
    let values: Value = serde_json::from_str(ctx.params_json())?;

    let (objects, notes) = match source {
        Source::Chart(files) => {
            let release = render::Release {
                name: ctx.release(),
                namespace: ctx.namespace(),
                revision: ctx.revision_number(),
                is_install: install,
            };
            let rendered = render::chart(&files, &values, &release)?;
            (rendered.objects, rendered.notes)
        }
        Source::Manifests(objects) => {
            if values.as_object().is_some_and(|v| !v.is_empty()) {
                warn!("values apply to charts only: the manifests are applied as given");
            }
            (objects, None)
        }
    };
    let Split {
        mut main,
        hooks,
        tests,
    } = hooks::split(objects)?;
    object::sort_for_install(&mut main);
    refuse_duplicates(&main, ctx.namespace())?;
    if tests > 0 {
        info!(
            "{} not installed (run by `helm test`)",
            plural(tests, "test hook")
        );
    }
    let previous_objects = previous
        .as_ref()
        .and_then(|(_, m)| m.as_array().cloned())
        .unwrap_or_default();
    let stale = prune::stale(&previous_objects, &main, ctx.namespace());
    let (pre, post) = Phase::around(install);

    if ctx.dry_run() {
        return dry_run(ctx, &main, &stale, &hooks, pre, post);
    }

    let deadline = wait_deadline(ctx);
    run_hooks(ctx, &hooks, pre, deadline)?;
    let recorded = apply_all(ctx, &main)?;
    let action = if install { "install" } else { "upgrade" };
    ctx.record(
        &recorded,
        &format!("{action}: {}", plural(recorded.len(), "object")),
    )?;
    for object in &stale {
        ctx.delete_dynamic(&reference(object)).map_err(|e| {
            e.context(format!(
                "deleting {}, which this revision no longer has",
                describe(object)
            ))
        })?;
        info!("deleted {}", describe(object));
    }
    wait_all(ctx, &main, deadline)?;
    run_hooks(ctx, &hooks, post, deadline)?;
    if let Some(notes) = notes.filter(|n| !n.trim().is_empty()) {
        for line in notes.lines().take(NOTES_LINES) {
            info!("NOTES: {line}");
        }
    }

    let verb = if install { "installed" } else { "upgraded" };
    let mut summary = format!(
        "{verb} {} (revision {}): {} applied and Current",
        ctx.release(),
        ctx.revision_number(),
        plural(main.len(), "object")
    );
    if !stale.is_empty() {
        summary += &format!(", {} deleted", plural(stale.len(), "object"));
    }
    Ok(summary)
}

/// The last deployed revision other than this run's: its number and manifests.
fn previous_deployed(ctx: &Context) -> Result<Option<(u32, Value)>, Error> {
    let own = ctx.revision_number();
    Ok(ctx
        .revisions()
        .map_err(|e| e.context("reading the release's history"))?
        .into_iter()
        .filter(|r| r.number != own && r.status == RevisionStatus::Deployed)
        .max_by_key(|r| r.number)
        .map(|r| (r.number, r.manifests)))
}

/// Two manifests of one object would fight each other: refuse them, as Helm does.
fn refuse_duplicates(objects: &[Value], namespace: &str) -> Result<(), Error> {
    let mut seen = HashSet::new();
    for object in objects {
        if !seen.insert(key(object, namespace)) {
            return Err(Error::invalid(format!(
                "{} is given twice: each object may appear once",
                describe(object)
            )));
        }
    }
    Ok(())
}

/// When waiting gives up: a little before the run's deadline (`--timeout`, Helm's `--timeout`),
/// so that the failure names the objects rather than the host stopping the run.
fn wait_deadline(ctx: &Context) -> Timestamp {
    let now = ctx.now();
    let left = ctx.deadline().saturating_duration_since(now);
    let margin = (left / 20).clamp(Duration::from_secs(1), Duration::from_secs(30));
    now + left.saturating_sub(margin)
}

fn time_left(ctx: &Context, deadline: Timestamp, what: &str) -> Result<Duration, Error> {
    let left = deadline.saturating_duration_since(ctx.now());
    if left.is_zero() {
        return Err(Error::timeout(format!(
            "no time left (--timeout) before {what}"
        )));
    }
    Ok(left)
}

/// Server-side applies each object in order; returns them as the revision records them, each
/// with the namespace the server put it in.
fn apply_all(ctx: &Context, objects: &[Value]) -> Result<Vec<Value>, Error> {
    let mut recorded = Vec::with_capacity(objects.len());
    for (i, manifest) in objects.iter().enumerate() {
        let stored = ctx
            .apply_dynamic(manifest)
            .and_then(|a| a.json())
            .map_err(|e| e.context(format!("applying {}", describe(manifest))))?;
        let mut manifest = manifest.clone();
        if let Some(ns) = stored
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
        {
            object::set_namespace_if_missing(&mut manifest, ns);
        }
        ctx.progress(
            u32::try_from(i + 1).unwrap_or(u32::MAX),
            u32::try_from(objects.len()).unwrap_or(u32::MAX),
            &format!("applied {}", describe(&manifest)),
        );
        recorded.push(manifest);
    }
    Ok(recorded)
}

/// Waits until every object is Current, in batches the host accepts.
fn wait_all(ctx: &Context, objects: &[Value], deadline: Timestamp) -> Result<(), Error> {
    for batch in objects.chunks(WAIT_BATCH) {
        let targets: Vec<_> = batch.iter().map(reference).collect();
        let left = time_left(ctx, deadline, "every object was Current")?;
        info!(
            "waiting up to {}s for {} to be Current",
            left.as_secs(),
            plural(targets.len(), "object")
        );
        calls::wait_current(ctx, &targets, left)
            .map_err(|e| e.context("waiting for the release's objects to be Current"))?;
    }
    Ok(())
}

/// Runs the hooks of `phase` one by one: delete a leftover (before-hook-creation), apply, wait
/// until Current (a Job complete), then delete it if its policy says so.
fn run_hooks(
    ctx: &Context,
    hooks: &[Hook],
    phase: Phase,
    deadline: Timestamp,
) -> Result<(), Error> {
    for hook in hooks::at(hooks, phase) {
        let what = format!("{} hook {}", phase.event(), hook.describe());
        let target = reference(&hook.object);
        if hook.before_creation {
            ctx.delete_dynamic(&target)
                .map_err(|e| e.context(format!("deleting the previous {what}")))?;
            let left = time_left(ctx, deadline, &what)?;
            ctx.wait_dynamic(&target, &Condition::Deleted, left)
                .map_err(|e| e.context(format!("waiting for the previous {what} to be deleted")))?;
        }
        info!("running {what}");
        ctx.apply_dynamic(&hook.object)
            .map_err(|e| e.context(format!("applying {what}")))?;
        let left = time_left(ctx, deadline, &what)?;
        match calls::wait_current(ctx, std::slice::from_ref(&target), left) {
            Ok(()) => {
                if hook.on_success {
                    ctx.delete_dynamic(&target)
                        .map_err(|e| e.context(format!("deleting the succeeded {what}")))?;
                }
            }
            Err(e) => {
                if hook.on_failure
                    && let Err(d) = ctx.delete_dynamic(&target)
                {
                    warn!("cannot delete the failed {what}: {d}");
                }
                return Err(e.context(format!("{what} failed")));
            }
        }
    }
    Ok(())
}

/// The plan, as log lines, and its summary: nothing changes (the host sends every apply as a
/// server-side dry run, whose answer is what the object would become).
fn dry_run(
    ctx: &Context,
    main: &[Value],
    stale: &[Value],
    hooks: &[Hook],
    pre: Phase,
    post: Phase,
) -> Result<String, Error> {
    let mut counts = Counts::default();
    for hook in hooks::at(hooks, pre) {
        info!("would run {} hook {}", pre.event(), hook.describe());
    }
    for manifest in main {
        let what = describe(manifest);
        let live = match ctx.get_dynamic(&reference(manifest)) {
            Ok(live) => Some(live),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e.context(format!("reading {what}"))),
        };
        let applied = ctx
            .apply_dynamic(manifest)
            .and_then(|a| a.json())
            .map_err(|e| e.context(format!("applying {what} (server-side dry run)")))?;
        let change = plan::compare(live.as_ref(), &applied);
        match &change {
            Change::Create => info!("create {what}"),
            Change::Unchanged => info!("unchanged {what}"),
            Change::Update(lines) => {
                info!("change {what}:");
                for line in lines {
                    info!("  {line}");
                }
            }
        }
        counts.add(&change);
    }
    for object in stale {
        info!("delete {}", describe(object));
    }
    counts.delete = stale.len();
    for hook in hooks::at(hooks, post) {
        info!("would run {} hook {}", post.event(), hook.describe());
    }
    let summary = counts.summary();
    info!("{summary}");
    Ok(format!("{summary} (dry run)"))
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

export_policy! {
    name: "atomic",
    version: env!("CARGO_PKG_VERSION"),
    description: "Install or upgrade a chart or manifests, wait until every object is Current, roll back on failure (helm upgrade --install --rollback-on-failure --wait).",
    rollback_on_failure: true,
    params: [],
    capabilities: [
        "cluster/get",
        "cluster/apply",
        "cluster/delete",
        "cluster/wait",
        "revisions/record",
        "revisions/list-revisions",
    ],
    run: atomic,
}
