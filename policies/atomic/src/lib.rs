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
    let files = ctx.inputs()?;
    let source = source::read(&files)?;
    let History { previous, revision } = history(ctx)?;
    let install = previous.is_none();
    let values: Value = serde_json::from_str(ctx.params_json())?;

    let (objects, notes) = match source {
        Source::Chart(files) => {
            let release = render::Release {
                name: ctx.release(),
                namespace: ctx.namespace(),
                revision,
                is_install: install,
            };
            info!(
                "rendering the chart for Kubernetes {} (.Capabilities: the cluster's version is not readable from the sandbox)",
                render::KUBE_VERSION
            );
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
    } = hooks::split(objects);
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

/// What the release's history says for this run.
struct History {
    /// The last deployed revision other than this run's: its number and manifests.
    previous: Option<(u32, Value)>,
    /// This run's revision number (`.Release.Revision`); a dry run, which writes none, takes
    /// the number the run would get.
    revision: u32,
}

/// Reads the history (a dry run reads it too, to plan against what is deployed).
fn history(ctx: &Context) -> Result<History, Error> {
    let own = ctx.revision_number();
    let history = ctx
        .revisions()
        .map_err(|e| e.context("reading the release's history"))?;
    let revision = if ctx.dry_run() {
        history.iter().map(|r| r.number).max().unwrap_or(0) + 1
    } else {
        own
    };
    let previous = history
        .into_iter()
        .filter(|r| r.number != own && r.status == RevisionStatus::Deployed)
        .max_by_key(|r| r.number)
        .map(|r| (r.number, r.manifests));
    Ok(History { previous, revision })
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
        ctx.wait_current(&targets, left)
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
        match ctx.wait_current(std::slice::from_ref(&target), left) {
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
        // Named as the server placed it (its namespace filled in).
        let what = if applied.pointer("/metadata/name").is_some() {
            describe(&applied)
        } else {
            what
        };
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
    inputs: "a chart folder (Chart.yaml at its root), or manifest files or folders, or - for standard input",
    chart_values: true,
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

#[cfg(test)]
mod tests {
    use super::*;
    use cutover_guest_sdk::Revision;
    use cutover_guest_sdk::testing::FakeCluster;
    use serde_json::json;

    const STREAM: &str = "\
---
# Source: web/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  template:
    spec:
      containers:
      - {name: web, image: 'nginx:1.27'}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: web}
  spec:
    ports: [{port: 80}]
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: web}
";

    fn deployed(number: u32, manifests: Value) -> Revision {
        Revision {
            number,
            status: RevisionStatus::Deployed,
            policy: "atomic@0.1.0".into(),
            params: json!({}),
            manifests,
            updated: "2026-01-01T00:00:00Z".into(),
            description: "install: 3 objects".into(),
        }
    }

    fn run(fake: &FakeCluster, values: Value, revision: u32) -> Result<String, Error> {
        let ctx = fake
            .context(&POLICY_MANIFEST, values)?
            .with_revision(revision, 1);
        atomic(&ctx)
    }

    fn kinds(lines: &[String], operation: &str) -> Vec<String> {
        lines
            .iter()
            .filter_map(|l| l.strip_prefix(&format!("{operation} ")))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn installs_manifests_from_stdin_in_install_order_and_records_them() {
        let fake = FakeCluster::new().namespace("shop").input("-", STREAM);
        let summary = run(&fake, json!({}), 1).unwrap();
        assert_eq!(
            summary,
            "installed atomic (revision 1): 3 objects applied and Current"
        );
        let calls = fake.call_lines();
        assert_eq!(
            kinds(&calls, "apply"),
            [
                "ServiceAccount shop/web",
                "Service shop/web",
                "Deployment shop/web"
            ]
        );
        assert_eq!(
            calls.last().map(String::as_str),
            Some("wait-current 3 objects")
        );
        let (manifests, description) = &fake.recorded()[0];
        assert_eq!(description, "install: 3 objects");
        assert_eq!(manifests[2]["kind"], "Deployment");
        assert_eq!(manifests[2]["metadata"]["namespace"], "shop");
        assert!(
            fake.object("apps/v1", "Deployment", Some("shop"), "web")
                .is_some()
        );
    }

    #[test]
    fn an_upgrade_prunes_what_the_new_revision_dropped_after_applying() {
        let fake = FakeCluster::new()
            .namespace("shop")
            .input("-", STREAM)
            .with(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "old", "namespace": "shop"}}));
        fake.add_revision(deployed(
            1,
            json!([
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "old", "namespace": "shop"}},
                {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"}},
            ]),
        ));
        let summary = run(&fake, json!({}), 2).unwrap();
        assert_eq!(
            summary,
            "upgraded atomic (revision 2): 3 objects applied and Current, 1 object deleted"
        );
        let calls = fake.call_lines();
        let delete = calls.iter().position(|c| c == "delete ConfigMap shop/old");
        let last_apply = calls.iter().rposition(|c| c.starts_with("apply "));
        assert!(delete > last_apply, "{calls:?}");
        assert!(
            fake.object("v1", "ConfigMap", Some("shop"), "old")
                .is_none()
        );
        assert_eq!(fake.recorded()[0].1, "upgrade: 3 objects");
    }

    #[test]
    fn a_wait_that_fails_fails_the_run_naming_the_object() {
        let fake = FakeCluster::new().namespace("shop").input("-", STREAM);
        fake.respond(
            "wait-current",
            "3 objects",
            Err(Error::aborted(
                "Deployment shop/web is Failed: ProgressDeadlineExceeded",
            )),
        );
        let e = run(&fake, json!({}), 1).unwrap_err();
        assert!(e.is_aborted());
        assert_eq!(
            e.to_string(),
            "waiting for the release's objects to be Current: Deployment shop/web is Failed: ProgressDeadlineExceeded"
        );
        // Recorded before the wait: the failed revision says what it applied.
        assert_eq!(fake.recorded().len(), 1);
        assert!(POLICY_MANIFEST.rolls_back_on_failure());
    }

    fn hook(kind: &str, name: &str, events: &str, weight: &str, delete: &str) -> String {
        format!(
            "---\napiVersion: batch/v1\nkind: {kind}\nmetadata:\n  name: {name}\n  annotations:\n    helm.sh/hook: {events}\n    helm.sh/hook-weight: \"{weight}\"\n    helm.sh/hook-delete-policy: {delete}\n"
        )
    }

    #[test]
    fn hooks_run_around_the_main_objects_and_test_hooks_are_not_installed() {
        let stream = format!(
            "{STREAM}{}{}{}{}",
            hook("Job", "migrate", "pre-install", "1", "hook-succeeded"),
            hook("Job", "seed", "pre-install", "-1", "before-hook-creation"),
            hook(
                "Job",
                "notify",
                "post-install,post-upgrade",
                "0",
                "before-hook-creation"
            ),
            hook("Pod", "web-test", "test", "0", "before-hook-creation"),
        );
        let fake = FakeCluster::new().namespace("shop").input("-", stream);
        run(&fake, json!({}), 1).unwrap();
        let calls: Vec<String> = fake
            .call_lines()
            .into_iter()
            .filter(|c| !c.starts_with("list-revisions"))
            .collect();
        assert_eq!(
            calls,
            [
                "delete Job shop/seed",
                "wait Job shop/seed",
                "apply Job shop/seed",
                "wait-current 1 objects",
                "apply Job shop/migrate",
                "wait-current 1 objects",
                "delete Job shop/migrate",
                "apply ServiceAccount shop/web",
                "apply Service shop/web",
                "apply Deployment shop/web",
                "record the run's revision",
                "wait-current 3 objects",
                "delete Job shop/notify",
                "wait Job shop/notify",
                "apply Job shop/notify",
                "wait-current 1 objects",
            ]
        );
        assert!(fake.object("v1", "Pod", Some("shop"), "web-test").is_none());
        // Hooks are not the revision's objects.
        assert_eq!(fake.recorded()[0].0.as_array().map(Vec::len), Some(3));
        assert!(
            fake.logs()
                .iter()
                .any(|(_, l)| l == "1 test hook not installed (run by `helm test`)")
        );
    }

    #[test]
    fn a_failed_hook_stops_the_run_before_the_main_objects() {
        let stream = format!(
            "{STREAM}{}",
            hook("Job", "migrate", "pre-upgrade", "0", "hook-failed")
        );
        let fake = FakeCluster::new().namespace("shop").input("-", stream);
        fake.add_revision(deployed(1, json!([])));
        fake.respond(
            "wait-current",
            "1 objects",
            Err(Error::aborted(
                "Job shop/migrate is Failed: BackoffLimitExceeded",
            )),
        );
        let e = run(&fake, json!({}), 2).unwrap_err();
        assert_eq!(
            e.to_string(),
            "pre-upgrade hook Job migrate (hook, weight 0) failed: Job shop/migrate is Failed: BackoffLimitExceeded"
        );
        let calls = fake.call_lines();
        assert_eq!(
            calls.last().map(String::as_str),
            Some("delete Job shop/migrate")
        );
        assert!(!calls.iter().any(|c| c.contains("Deployment")));
    }

    #[test]
    fn a_dry_run_prints_the_plan_and_changes_nothing() {
        let live_service = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "shop", "uid": "u-1", "resourceVersion": "7"},
            "spec": {"ports": [{"port": 8080}]},
        });
        let live_sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "web", "namespace": "shop"}});
        let fake = FakeCluster::new()
            .namespace("shop")
            .dry_run(true)
            .input("-", STREAM)
            .with(live_service.clone())
            .with(live_sa);
        let summary = run(&fake, json!({}), 0).unwrap();
        assert_eq!(
            summary,
            "plan: 1 to create, 1 to change, 0 to delete (dry run)"
        );
        let logs: Vec<String> = fake.logs().into_iter().map(|(_, l)| l).collect();
        for line in [
            "unchanged ServiceAccount shop/web",
            "change Service shop/web:",
            "create Deployment web",
            "plan: 1 to create, 1 to change, 0 to delete",
        ] {
            assert!(logs.iter().any(|l| l == line), "{line} not in {logs:#?}");
        }
        assert!(logs.iter().any(|l| l == "  -  - port: 8080"), "{logs:#?}");
        assert!(logs.iter().any(|l| l == "  +  - port: 80"), "{logs:#?}");
        // Nothing changed, nothing recorded.
        assert_eq!(
            fake.object("v1", "Service", Some("shop"), "web"),
            Some(live_service)
        );
        assert!(
            fake.object("apps/v1", "Deployment", Some("shop"), "web")
                .is_none()
        );
        assert!(fake.recorded().is_empty());
        assert!(!fake.call_lines().iter().any(|c| c.starts_with("delete")));
    }

    /// chart/testdata/mychart (`helm create mychart`) as the host hands a folder over.
    fn mychart(fake: FakeCluster) -> FakeCluster {
        let root =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../chart/testdata/mychart");
        let mut files = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("the test chart") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    let rel = path
                        .strip_prefix(&root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/");
                    files.push((rel, std::fs::read(&path).unwrap()));
                }
            }
        }
        files.sort();
        files
            .into_iter()
            .fold(fake, |fake, (path, contents)| fake.input(path, contents))
    }

    #[test]
    fn renders_and_installs_helm_creates_chart_without_its_test_hook() {
        let fake = mychart(FakeCluster::new().namespace("shop"));
        let summary = run(&fake, json!({"replicaCount": 2}), 1).unwrap();
        assert_eq!(
            summary,
            "installed atomic (revision 1): 3 objects applied and Current"
        );
        assert_eq!(
            kinds(&fake.call_lines(), "apply"),
            [
                "ServiceAccount shop/atomic-mychart",
                "Service shop/atomic-mychart",
                "Deployment shop/atomic-mychart"
            ]
        );
        let deployment = fake
            .object("apps/v1", "Deployment", Some("shop"), "atomic-mychart")
            .unwrap();
        assert_eq!(deployment["spec"]["replicas"], 2);
        assert!(fake.logs().iter().any(|(_, l)| l.starts_with("NOTES: ")));
        assert!(
            fake.logs()
                .iter()
                .any(|(_, l)| l.contains("test hook not installed"))
        );
    }

    #[test]
    fn a_value_that_removes_an_object_prunes_it_on_upgrade() {
        let first = mychart(FakeCluster::new().namespace("shop"));
        run(&first, json!({}), 1).unwrap();
        let (manifests, _) = first.recorded().remove(0);

        let fake = mychart(FakeCluster::new().namespace("shop"));
        for object in first.objects() {
            fake.insert(object).unwrap();
        }
        fake.add_revision(deployed(1, manifests));
        let summary = run(&fake, json!({"serviceAccount": {"create": false}}), 2).unwrap();
        assert!(summary.ends_with(", 1 object deleted"), "{summary}");
        assert!(
            fake.call_lines()
                .contains(&"delete ServiceAccount shop/atomic-mychart".to_string())
        );
        assert!(
            fake.object("v1", "ServiceAccount", Some("shop"), "atomic-mychart")
                .is_none()
        );
    }

    #[test]
    fn a_dry_run_upgrade_plans_the_deletions_and_renders_as_an_upgrade() {
        let first = mychart(FakeCluster::new().namespace("shop"));
        run(&first, json!({}), 1).unwrap();
        let (manifests, _) = first.recorded().remove(0);

        let fake = mychart(FakeCluster::new().namespace("shop").dry_run(true));
        for object in first.objects() {
            fake.insert(object).unwrap();
        }
        fake.add_revision(deployed(1, manifests));
        let summary = run(&fake, json!({"serviceAccount": {"create": false}}), 0).unwrap();
        assert!(summary.ends_with(" 1 to delete (dry run)"), "{summary}");
        let logs: Vec<String> = fake.logs().into_iter().map(|(_, l)| l).collect();
        assert!(
            logs.iter()
                .any(|l| l == "delete ServiceAccount shop/atomic-mychart"),
            "{logs:#?}"
        );
        // Planned, not done.
        assert!(!fake.call_lines().iter().any(|c| c.starts_with("delete")));
        assert!(
            fake.object("v1", "ServiceAccount", Some("shop"), "atomic-mychart")
                .is_some()
        );
    }

    #[test]
    fn no_inputs_is_a_clear_error() {
        let fake = FakeCluster::new();
        let e = run(&fake, json!({}), 1).unwrap_err();
        assert!(e.is_invalid());
        assert!(
            e.to_string()
                .starts_with("no inputs were given; usage: cutover run atomic"),
            "{e}"
        );
    }
}
