//! One scenario of `cutover test`: the run its `run` section describes, on a fresh simulator
//! and virtual clock, and what the checks need to see of it afterwards.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser as _;
use cutover_sim::Scenario;
use serde_json::Value;

use super::spec::{self, Expect, FullStep, Grant, Params, RunSpec, StepCommand};
use super::{inputs, path};
use crate::cli::run::release::lifecycle_error;
use crate::cli::run::{self, Finished, Show};
use crate::cli::{Cli, CliError, Command, ExitCode, RunArgs};
use crate::cluster::{ClusterError, ObjectRef};
use crate::release::lifecycle::{self, Again};
use crate::release::store::{ReleaseStore, Stored};
use crate::report::Event;
use crate::sandbox::bindings::cutover::policy::rollout::Request;

/// A scenario, read and checked, ready to run.
pub(super) struct Case {
    pub(super) expect: Expect,
    args: RunArgs,
    /// The `run.then` steps, each with the command line it runs.
    steps: Vec<(FullStep, RunArgs, Duration)>,
    /// Where the runs' parameters are written as values files, until the runs are over.
    _scratch: tempfile::TempDir,
}

/// One run of a scenario (the first, or a `run.then` step) and what it must come to.
pub(super) struct Ran {
    /// `run`, or `then[1] (promote)`.
    pub(super) label: String,
    pub(super) expect: Expect,
    pub(super) observed: Observed,
}

/// What one run came to.
pub(super) struct Observed {
    pub(super) exit_code: u8,
    pub(super) status: String,
    pub(super) summary: Option<String>,
    pub(super) error: Option<String>,
    /// The calls as the report names them: `<operation> <target>`, `denied <call>`.
    pub(super) calls: Vec<String>,
    /// Each object expectation's object (`None`: not found), in order, or why it was not read.
    pub(super) objects: Vec<Result<Option<Value>, String>>,
    /// The status of the run's revision once settled.
    pub(super) release_status: Option<String>,
    /// The release's revisions' statuses, oldest first, or why they were not read.
    pub(super) revisions: Result<Vec<String>, String>,
    pub(super) simulated: Option<Duration>,
}

impl Case {
    /// Reads the scenario and its sections; an error is one line naming the file and field.
    pub(super) fn load(policy: &str, file: &Path) -> Result<Case, String> {
        let scenario = Scenario::load(file).map_err(|e| e.to_string())?;
        let name = file.display();
        Case::read(policy, file, &scenario).map_err(|e| format!("scenario {name}: {e}"))
    }

    fn read(policy: &str, file: &Path, scenario: &Scenario) -> Result<Case, String> {
        let mut spec: RunSpec = spec::section(scenario.run.as_ref(), "run")?;
        let expect: Expect = spec::section(scenario.expect.as_ref(), "expect")?;
        for (i, object) in expect.objects.iter().enumerate() {
            for field in object.fields.keys() {
                path::parse(field).map_err(|e| format!("expect.objects[{i}].fields: {e}"))?;
            }
        }
        let scratch = tempfile::Builder::new()
            .prefix("cutover-test-")
            .tempdir()
            .map_err(|e| format!("cannot write the run's parameters: {e}"))?;
        let inputs = inputs::resolve(file, &spec.inputs, "run.inputs")?;
        let values = values_file(scratch.path(), "run", spec.params.as_ref())?;
        let args = run_args(policy, file, &spec, &inputs, values.as_deref())?;
        let then = std::mem::take(&mut spec.then);
        let mut steps = Vec::with_capacity(then.len());
        for (i, step) in then.into_iter().enumerate() {
            let at = format!("run.then[{i}]");
            let step = step.into_full();
            let after = match &step.after {
                Some(text) => {
                    crate::units::parse_duration(text).map_err(|e| format!("{at}.after: {e}"))?
                }
                None => Duration::ZERO,
            };
            if step.command() != StepCommand::Rollback {
                for (given, field) in [
                    (step.revision.is_some(), "revision"),
                    (step.journal, "journal"),
                ] {
                    if given {
                        return Err(format!(
                            "{at}.{field}: only a `rollback` step takes {field}"
                        ));
                    }
                }
            }
            let step_args = if step.command() == StepCommand::Run {
                // `cutover run` again, on the same command line but for what the step gives
                // instead: its inputs, its parameters.
                let inputs = match &step.inputs {
                    Some(given) => inputs::resolve(file, given, &format!("{at}.inputs"))?,
                    None => inputs.clone(),
                };
                let params = step.params.as_ref().or(spec.params.as_ref());
                let values = values_file(scratch.path(), &format!("then-{i}"), params)?;
                run_args(policy, file, &spec, &inputs, values.as_deref())?
            } else {
                for (given, field) in [
                    (step.params.is_some(), "params"),
                    (step.inputs.is_some(), "inputs"),
                ] {
                    if given {
                        return Err(format!(
                            "{at}.{field}: only a `run` step takes {field} ({} runs the revision again with its recorded ones)",
                            step.command().as_str()
                        ));
                    }
                }
                // The same command line as the run's (its flags, namespace, release), parsed
                // again; the values are the revision's, read when the step runs.
                run_args(policy, file, &spec, &[], None)?
            };
            steps.push((step, step_args, after));
        }
        Ok(Case {
            expect,
            args,
            steps,
            _scratch: scratch,
        })
    }

    /// Runs the policy on the scenario, on a runtime and virtual clock of its own, then each
    /// `run.then` step on the same simulated cluster and clock, in order.
    pub(super) fn run(self) -> Result<Vec<Ran>, String> {
        let (runtime, clock) = run::simulator_runtime();
        let runtime = runtime.map_err(|e| format!("cannot start the async runtime: {e}"))?;
        let clock = clock.ok_or("the simulator's runtime has no clock")?;
        let calls = Arc::new(Mutex::new(Vec::new()));
        let observer = call_observer(calls.clone());
        let Case {
            expect,
            args,
            steps,
            _scratch,
        } = self;
        let ran = runtime.block_on(async {
            let finished = run::pipeline(
                &args,
                clock.clone(),
                run::release::Start::New,
                Show::Quiet(observer),
            )
            .await;
            let calls = calls.lock().map(|c| c.clone()).unwrap_or_default();
            let (observed, mut connection) = match finished {
                Ok(finished) => {
                    let observed = observe(&finished, &expect, calls).await;
                    let release = finished.release().to_string();
                    (observed, Some((finished.into_connection(), release)))
                }
                Err(refused) => (refused_observed(&expect, &refused), None),
            };
            let mut ran = vec![Ran {
                label: "run".into(),
                expect,
                observed,
            }];
            for (i, (step, step_args, after)) in steps.into_iter().enumerate() {
                let label = format!("then[{i}] ({})", step.command().as_str());
                let observed = match connection.take() {
                    None => {
                        stopped_before(&step.expect, "an earlier run stopped before its policy ran")
                    }
                    Some(reused) => {
                        clock.sleep(after).await;
                        let (observed, next) =
                            run_step(&step, step_args, reused, clock.clone()).await;
                        connection = next;
                        observed
                    }
                };
                ran.push(Ran {
                    label,
                    expect: step.expect,
                    observed,
                });
            }
            ran
        });
        runtime.shutdown_background();
        Ok(ran)
    }
}

/// What a run refused before its policy ran came to.
fn refused_observed(expect: &Expect, refused: &crate::cli::CliError) -> Observed {
    let mut observed = stopped_before(
        expect,
        &format!("the run stopped before the policy ran: {}", refused.message),
    );
    observed.exit_code = refused.code.as_u8();
    observed.error = Some(refused.message.clone());
    observed
}

/// An observation of a run whose policy never ran: `why` for everything read after it.
fn stopped_before(expect: &Expect, why: &str) -> Observed {
    Observed {
        exit_code: crate::cli::ExitCode::BadInput.as_u8(),
        status: "failed".into(),
        summary: None,
        error: Some(why.to_string()),
        calls: Vec::new(),
        objects: expect
            .objects
            .iter()
            .map(|_| Err(why.to_string()))
            .collect(),
        release_status: None,
        revisions: Err(why.to_string()),
        simulated: None,
    }
}

/// Runs one `run.then` step on the earlier run's connection, as `cutover promote` (and the
/// others) run it: the latest revision again, with its recorded values, the policy told why (a
/// `run` step: [`run_again`]; a `rollback` step: [`rollback`]).
/// Answers the connection again for the next step, unless the step stopped before its policy ran.
async fn run_step(
    step: &FullStep,
    args: RunArgs,
    (connection, release): Reusable,
    clock: cutover_clock::Clock,
) -> (Observed, Option<Reusable>) {
    let (again, request) = match step.command() {
        StepCommand::Run => return run_again(step, args, (connection, release), clock).await,
        StepCommand::Rollback => return rollback(step, args, (connection, release), clock).await,
        StepCommand::Promote => (Again::Promote, Request::Promote),
        StepCommand::PromoteFull => (Again::Promote, Request::PromoteFull),
        StepCommand::Abort => (Again::Abort, Request::Abort),
        StepCommand::Retry => (Again::Retry, Request::Retry),
        StepCommand::Resume => (Again::Resume, Request::Resume),
    };
    let namespace = connection.namespace().to_string();
    let store = ReleaseStore::new(&connection.cluster, &namespace, &release);
    // As the command does: the latest revision, refused (exit 2 or 6, nothing changed) when
    // this command cannot continue it.
    let latest = match store.history().await {
        Ok(mut history) => history.pop(),
        Err(e) => {
            let refused = CliError::new(ExitCode::Unreachable, e);
            return (
                refused_observed(&step.expect, &refused),
                Some((connection, release)),
            );
        }
    };
    let Some(latest) = latest else {
        let refused = lifecycle_error(lifecycle::LifecycleError::NotFound(release.clone()));
        return (
            refused_observed(&step.expect, &refused),
            Some((connection, release)),
        );
    };
    // `cutover abort` of a failed or interrupted run whose policy undoes its own runs: its undo.
    let again = match again {
        Again::Abort => lifecycle::again_for_abort(&latest),
        other => other,
    };
    rerun(
        step,
        args,
        (connection, release),
        latest,
        (again, request),
        clock,
    )
    .await
}

/// Runs the latest revision `latest` again for `again`, the policy told `request`, once
/// [`lifecycle::check_again`] allows it (as the release commands check it before the lock).
async fn rerun(
    step: &FullStep,
    mut args: RunArgs,
    (connection, release): Reusable,
    latest: Stored,
    (again, request): (Again, Request),
    clock: cutover_clock::Clock,
) -> (Observed, Option<Reusable>) {
    if let Err(e) =
        lifecycle::check_again(&release, &latest, again, latest.record.rollback_by_policy)
    {
        let refused = lifecycle_error(e);
        return (
            refused_observed(&step.expect, &refused),
            Some((connection, release)),
        );
    }
    args.release = Some(release.clone());
    args.given_values = Some(latest.record.values.given.clone());
    let calls = Arc::new(Mutex::new(Vec::new()));
    let observer = call_observer(calls.clone());
    let start = run::release::Start::Resume {
        digest: latest.record.policy.digest.clone(),
        again,
        request,
    };
    let finished =
        run::pipeline_on(&args, clock, start, Show::Quiet(observer), Some(connection)).await;
    observed_step(finished, &step.expect, &calls).await
}

/// Runs a `run.then` step of `command: rollback` as `cutover rollback [REVISION] [--journal]`
/// runs it: a failed or interrupted run whose policy undoes its own runs is undone by the
/// policy ([`rerun`], as `cutover abort`); otherwise through the journal, under the release's
/// lock, with the scenario's controllers running, then the history pruned.
async fn rollback(
    step: &FullStep,
    args: RunArgs,
    (mut connection, release): Reusable,
    clock: cutover_clock::Clock,
) -> (Observed, Option<Reusable>) {
    let namespace = connection.namespace().to_string();
    let cluster = connection
        .cluster
        .clone()
        .with_field_manager(crate::cluster::release_field_manager(&release));
    let store = ReleaseStore::new(&cluster, &namespace, &release);
    let history = match store.history().await {
        Ok(history) => history,
        Err(e) => {
            let refused = CliError::new(ExitCode::Unreachable, e);
            return (
                refused_observed(&step.expect, &refused),
                Some((connection, release)),
            );
        }
    };
    let plan = match lifecycle::plan_rollback(&release, &history, step.revision, step.journal) {
        Ok(plan) => plan,
        Err(e) => {
            return (
                refused_observed(&step.expect, &lifecycle_error(e)),
                Some((connection, release)),
            );
        }
    };
    if plan.undo_by_policy.is_some()
        && let Some(latest) = history.last().cloned()
    {
        let why = (Again::Undo, Request::Abort);
        return rerun(step, args, (connection, release), latest, why, clock).await;
    }
    connection.start_controllers();
    let rolled = async {
        let lock = run::release::take_lock(&cluster, &release, &clock).await?;
        let done = lifecycle::rollback(
            &cluster,
            &store,
            step.revision,
            step.journal,
            lock.identity().to_string(),
            clock.wall_now(),
            &*crate::release::permit::declared(),
        )
        .await
        .map_err(lifecycle_error);
        let pruned = match &done {
            Ok(_) => match store.history().await {
                Ok(history) => {
                    crate::release::store::prune(&store, &history, args.release_flags.history_max)
                        .await
                        .map(drop)
                        .map_err(|e| CliError::new(ExitCode::Unreachable, e))
                }
                Err(e) => Err(CliError::new(ExitCode::Unreachable, e)),
            },
            Err(_) => Ok(()),
        };
        if let Err(e) = lock.release().await {
            tracing::warn!("cannot release the lock: {e}");
        }
        let done = done?;
        pruned?;
        Ok::<_, CliError>(done)
    }
    .await;
    connection.stop_controllers();
    let done = match rolled {
        Ok(done) => done,
        Err(refused) => {
            return (
                refused_observed(&step.expect, &refused),
                Some((connection, release)),
            );
        }
    };
    let complete = done.report.complete();
    let mut summary = Vec::new();
    if let Some(n) = done.plan.undo_in_place {
        summary.push(format!(
            "undid the run of revision {n} through its journal ({})",
            done.report.summary()
        ));
    }
    if let (Some(to), Some(new)) = (done.plan.target, done.plan.new_revision) {
        let status = done.status.map_or("?", |s| s.as_str());
        summary.push(format!(
            "rolled back to revision {to}: revision {new} {status}"
        ));
    }
    let (objects, revisions) =
        read_back(&connection.cluster, &namespace, &release, &step.expect).await;
    let observed = Observed {
        exit_code: if complete {
            ExitCode::Ok.as_u8()
        } else {
            ExitCode::PolicyFailed.as_u8()
        },
        status: if complete { "rolled-back" } else { "failed" }.to_string(),
        summary: Some(summary.join("; ")),
        error: (!complete).then(|| {
            format!(
                "the rollback of release {release} left changes in place: {}",
                done.report.summary()
            )
        }),
        calls: Vec::new(),
        objects,
        release_status: done.status.map(|s| s.as_str().to_string()),
        revisions,
        simulated: None,
    };
    (observed, Some((connection, release)))
}

/// Runs a `run.then` step of `command: run` on the earlier run's connection: `cutover run`
/// again for the same release (an upgrade: a new revision), with the step's inputs and values.
async fn run_again(
    step: &FullStep,
    mut args: RunArgs,
    (connection, release): Reusable,
    clock: cutover_clock::Clock,
) -> (Observed, Option<Reusable>) {
    args.release = Some(release);
    let calls = Arc::new(Mutex::new(Vec::new()));
    let observer = call_observer(calls.clone());
    let finished = run::pipeline_on(
        &args,
        clock,
        run::release::Start::New,
        Show::Quiet(observer),
        Some(connection),
    )
    .await;
    observed_step(finished, &step.expect, &calls).await
}

/// What a step came to, and its connection for the next step (none once a step stopped
/// before its policy ran).
async fn observed_step(
    finished: Result<Finished, crate::cli::CliError>,
    expect: &Expect,
    calls: &Mutex<Vec<String>>,
) -> (Observed, Option<Reusable>) {
    let calls = calls.lock().map(|c| c.clone()).unwrap_or_default();
    match finished {
        Ok(finished) => {
            let observed = observe(&finished, expect, calls).await;
            let release = finished.release().to_string();
            (observed, Some((finished.into_connection(), release)))
        }
        Err(refused) => (refused_observed(expect, &refused), None),
    }
}

/// A finished run's connection and release, for the next step.
type Reusable = (crate::cli::run::connect::Connection, String);

/// An observer that keeps the calls as the report names them.
fn call_observer(calls: Arc<Mutex<Vec<String>>>) -> crate::report::Observer {
    Box::new(move |event: &Event| {
        let line = match event {
            Event::Call {
                operation, target, ..
            } => format!("{operation} {target}"),
            Event::Denied { call, .. } => format!("denied {call}"),
            _ => return,
        };
        if let Ok(mut calls) = calls.lock() {
            calls.push(line);
        }
    })
}

/// The `cutover run` flags a scenario's `run.flags` may pass on. A scenario file is someone
/// else's input (a policy repository's): it may not name files to read or write (`--values`,
/// `--record`), another cluster (`--kubeconfig`, `--context`) or another simulator (`--sim`).
const PASSED_FLAGS: &[&str] = &[
    "--rollback-on-failure",
    "--atomic",
    "--cleanup-on-fail",
    "--history-max",
    "--request-timeout",
    "--set",
    "--allow",
];

/// Writes `params` (a run's `run.params`) as a values file in `scratch`, so that they take
/// exactly the path `-f` takes: checked against the manifest and completed with its defaults,
/// with `--set` on top, and for a policy that takes a chart's values, Helm's rules on an
/// upgrade (values given: only those; none: the last deployed revision's).
fn values_file(
    scratch: &Path,
    name: &str,
    params: Option<&Params>,
) -> Result<Option<PathBuf>, String> {
    let Some(params) = params else {
        return Ok(None);
    };
    let path = scratch.join(format!("{name}.values.json"));
    let text = serde_json::to_vec(params)
        .map_err(|e| format!("cannot write the parameters as values: {e}"))?;
    std::fs::write(&path, text)
        .map_err(|e| format!("cannot write the parameters to {}: {e}", path.display()))?;
    Ok(Some(path))
}

/// The `cutover run` command line the `run` section stands for (with these inputs and values
/// file), parsed as `cutover run` parses it.
fn run_args(
    policy: &str,
    file: &Path,
    spec: &RunSpec,
    inputs: &[PathBuf],
    values: Option<&Path>,
) -> Result<RunArgs, String> {
    let mut argv: Vec<String> = vec!["cutover".into(), "run".into(), policy.into()];
    argv.push(format!("--sim={}", file.display()));
    let mut flag = |name: &str, value: &Option<String>| {
        if let Some(value) = value {
            argv.push(format!("--{name}={value}"));
        }
    };
    flag("namespace", &spec.namespace);
    flag("release", &spec.release);
    flag("timeout", &spec.timeout);
    flag("memory-limit", &spec.memory_limit);
    match &spec.grant {
        None => argv.push("--allow-declared".into()),
        Some(Grant::Word(word)) if word == "declared" => argv.push("--allow-declared".into()),
        Some(Grant::Word(word)) if word == "none" => {}
        Some(Grant::Word(other)) => {
            return Err(format!(
                "run.grant: {other:?} is neither `declared`, `none` nor a list of capabilities"
            ));
        }
        Some(Grant::List(capabilities)) => {
            argv.extend(capabilities.iter().map(|c| format!("--allow={c}")));
        }
    }
    if spec.dry_run {
        argv.push("--dry-run".into());
    }
    if let Some(values) = values {
        argv.push(format!("--values={}", values.display()));
    }
    for extra in &spec.flags {
        let name = extra.split('=').next().unwrap_or("");
        if !PASSED_FLAGS.contains(&name) {
            return Err(format!(
                "run.flags: {:?} is not one of the flags a scenario may pass ({}, as `--name` or `--name=value`): a scenario names no files and no cluster",
                crate::text::escape(extra, 128),
                PASSED_FLAGS.join(", ")
            ));
        }
        argv.push(extra.clone());
    }
    let cli = Cli::try_parse_from(&argv).map_err(|e| {
        let text = e.to_string();
        let first = text
            .lines()
            .next()
            .unwrap_or("")
            .trim_start_matches("error: ");
        format!("run: {first}")
    })?;
    let Command::Run(mut args) = cli.command else {
        return Err("run: not a `cutover run` command line".into());
    };
    // Set rather than put on the command line, where a path starting with `-` would be a flag.
    args.inputs = inputs.to_vec();
    Ok(*args)
}

/// Reads what the checks need once the run is over: its verdict, the objects, the revisions.
async fn observe(finished: &Finished, expect: &Expect, calls: Vec<String>) -> Observed {
    let verdict = finished.verdict();
    let (objects, revisions) = read_back(
        finished.cluster(),
        finished.namespace(),
        finished.release(),
        expect,
    )
    .await;
    Observed {
        exit_code: verdict.code.as_u8(),
        status: verdict.status.to_string(),
        summary: verdict.summary,
        error: verdict.error,
        calls,
        objects,
        release_status: finished.release_status(),
        revisions,
        simulated: finished.simulated(),
    }
}

/// The expected objects (`None`: not found) and the release's revisions' statuses, read from
/// the cluster once a step is over.
#[allow(clippy::type_complexity)]
async fn read_back(
    cluster: &crate::cluster::Cluster,
    namespace: &str,
    release: &str,
    expect: &Expect,
) -> (
    Vec<Result<Option<Value>, String>>,
    Result<Vec<String>, String>,
) {
    let mut objects = Vec::with_capacity(expect.objects.len());
    for object in &expect.objects {
        let target = ObjectRef {
            api_version: object.api_version.clone(),
            kind: object.kind.clone(),
            namespace: object.namespace.clone(),
            name: object.name.clone(),
        };
        let read = async {
            let located = cluster.locate(&target).await?;
            cluster.get(&located).await
        };
        objects.push(match read.await {
            Ok(value) => Ok(Some(value)),
            Err(ClusterError::NotFound(_)) => Ok(None),
            Err(e) => Err(format!("cannot read it: {e}")),
        });
    }
    let store = ReleaseStore::new(cluster, namespace, release);
    let revisions = store
        .history()
        .await
        .map(|history| {
            history
                .iter()
                .map(|stored| stored.record.status.as_str().to_string())
                .collect()
        })
        .map_err(|e| format!("cannot read the release's history: {e}"));
    (objects, revisions)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scenario file with this `run` section, in a folder of its own with a chart folder.
    fn scenario(run: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("a temp dir");
        let folder = dir.path().join("scenarios");
        std::fs::create_dir_all(folder.join("charts/web")).expect("mkdir");
        std::fs::write(folder.join("charts/web/Chart.yaml"), "name: web\n").expect("write");
        let file = folder.join("s.yaml");
        std::fs::write(&file, format!("seed: 1\nrun:\n{run}")).expect("write");
        (dir, file)
    }

    fn load_error(run: &str) -> String {
        let (_dir, file) = scenario(run);
        match Case::load("atomic", &file) {
            Ok(_) => panic!("the scenario loaded: {run}"),
            Err(e) => e,
        }
    }

    #[test]
    fn inputs_and_params_become_the_run_command_line() {
        let (_dir, file) = scenario(
            "  inputs: [charts/web]\n  params: {replicaCount: 3}\n  flags: [--set=a=1]\n  then:\n    - {command: run, params: {replicaCount: 4}}\n    - run\n    - {command: run, inputs: []}\n",
        );
        let case = Case::load("atomic", &file).expect("loads");
        let chart = file.parent().unwrap().join("charts/web");
        assert_eq!(case.args.inputs, std::slice::from_ref(&chart));
        assert_eq!(case.args.sets, ["a=1"]);
        let values = |args: &RunArgs| -> Value {
            assert_eq!(args.values.len(), 1, "{:?}", args.values);
            let text = std::fs::read_to_string(&args.values[0]).expect("the values file");
            serde_json::from_str(&text).expect("JSON")
        };
        assert_eq!(values(&case.args), serde_json::json!({"replicaCount": 3}));
        let (_, first, _) = &case.steps[0];
        assert_eq!(first.inputs, std::slice::from_ref(&chart));
        assert_eq!(values(first), serde_json::json!({"replicaCount": 4}));
        // A step that names neither runs with the run's.
        let (_, second, _) = &case.steps[1];
        assert_eq!(second.inputs, [chart]);
        assert_eq!(values(second), serde_json::json!({"replicaCount": 3}));
        let (_, third, _) = &case.steps[2];
        assert!(third.inputs.is_empty());
    }

    #[test]
    fn a_rollback_step_runs_on_the_run_command_line() {
        let (_dir, file) = scenario(
            "  flags: [--history-max=3]\n  then:\n    - rollback\n    - {command: rollback, revision: 0, journal: true}\n",
        );
        let case = Case::load("drain", &file).expect("loads");
        let (first, args, _) = &case.steps[0];
        assert_eq!(first.command(), StepCommand::Rollback);
        assert_eq!(args.release_flags.history_max, 3);
        assert!(args.values.is_empty());
        let (second, _, _) = &case.steps[1];
        assert_eq!((second.revision, second.journal), (Some(0), true));
    }

    #[test]
    fn no_params_give_no_values_file() {
        let (_dir, file) = scenario("  namespace: shop\n  then: [promote]\n");
        let case = Case::load("drain", &file).expect("loads");
        assert!(case.args.values.is_empty() && case.args.inputs.is_empty());
        assert!(case.steps[0].1.values.is_empty());
    }

    #[test]
    fn bad_inputs_name_the_file_and_the_field() {
        let err = load_error("  inputs: [../outside]\n");
        assert!(err.starts_with("scenario "), "{err}");
        assert!(
            err.contains("s.yaml: run.inputs[0]: \"../outside\" is not a path inside"),
            "{err}"
        );
        let err = load_error("  then: [{command: run, inputs: [/etc]}]\n");
        assert!(
            err.contains("s.yaml: run.then[0].inputs[0]: \"/etc\" is not a path"),
            "{err}"
        );
        let err = load_error("  then: [{command: promote, params: {a: 1}}]\n");
        assert!(
            err.contains("run.then[0].params: only a `run` step takes params"),
            "{err}"
        );
        let err = load_error("  then: [{command: retry, inputs: [charts/web]}]\n");
        assert!(
            err.contains("run.then[0].inputs: only a `run` step"),
            "{err}"
        );
        let err = load_error("  then: [{command: abort, journal: true}]\n");
        assert!(
            err.contains("run.then[0].journal: only a `rollback` step takes journal"),
            "{err}"
        );
        let err = load_error("  then: [rollback, {command: run, revision: 1}]\n");
        assert!(
            err.contains("run.then[1].revision: only a `rollback` step takes revision"),
            "{err}"
        );
        let err = load_error("  then: [{command: rollback, params: {a: 1}}]\n");
        assert!(
            err.contains("run.then[0].params: only a `run` step"),
            "{err}"
        );
    }
}
