//! `cutover run`: check the policy, its parameters and its grant; connect (or start the
//! simulator); run it in the sandbox; report what happened.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::output;
use super::{CliError, ClusterArgs, ExitCode, Format, RunArgs};
use crate::capabilities::{Capability, Grants};
use crate::checkpoint::CheckpointStore;
use crate::cluster::{Cluster, ConnectOptions, Target};
use crate::report::{Event, Level, Observer};
use crate::sandbox::bindings::Invocation;
use crate::sandbox::limits::Limits;
use crate::sandbox::run::{Outcome, RunReport, Sandbox};
use crate::sandbox::state::RunState;
use crate::source::PolicySource;
use crate::units::format_duration;

use cutover_sim::controllers::Controllers;
use cutover_sim::scenario::NodeFaultTimers;
use cutover_sim::{Clock, Scenario, Simulator};

/// Whether this run goes to the simulator: `--sim [scenario]`, or no cluster configured at all
/// (no --kubeconfig or --context, no $KUBECONFIG, no ~/.kube/config, not inside a pod).
pub(super) fn uses_simulator(args: &RunArgs) -> bool {
    args.sim.is_some() || no_cluster_configured(&args.cluster)
}

fn no_cluster_configured(cluster: &ClusterArgs) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    let home_config = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".kube").join("config"))
        .is_some_and(|path| path.exists());
    cluster.kubeconfig.is_none()
        && cluster.context.is_none()
        && !set("KUBECONFIG")
        && !home_config
        && !set("KUBERNETES_SERVICE_HOST")
}

/// The simulated cluster of one run, alive until the run ends.
struct SimRun {
    sim: Simulator,
    controllers: Controllers,
    _node_faults: NodeFaultTimers,
    scenario: Scenario,
}

impl SimRun {
    /// Loads the scenario into a fresh simulator on tokio's (paused, so virtual) clock and
    /// starts its controllers and fault timers.
    fn start(scenario: Scenario) -> Result<SimRun, CliError> {
        let sim = Simulator::with_clock(scenario.seed, Clock::tokio());
        scenario
            .install(&sim)
            .map_err(|e| CliError::bad_input(e.to_string()))?;
        let controllers = sim.start_controllers(scenario.controller_config());
        let node_faults = scenario.start_node_faults(&sim);
        Ok(SimRun {
            sim,
            controllers,
            _node_faults: node_faults,
            scenario,
        })
    }

    /// `scenario examples/scenarios/drain.yaml, seed 7`.
    fn describe(&self) -> String {
        match &self.scenario.source {
            Some(path) => format!("scenario {}, seed {}", path.display(), self.scenario.seed),
            None => format!(
                "built-in scenario: {} Ready nodes, seed {}",
                self.scenario.nodes.len(),
                self.scenario.seed
            ),
        }
    }
}

pub(super) async fn execute(args: RunArgs) -> Result<ExitCode, CliError> {
    // Everything that can be checked without the cluster is checked first, so bad input never
    // costs a connection and never touches anything.
    let source = PolicySource::resolve(&args.policy).map_err(CliError::bad_input)?;
    let manifest = &source.manifest;
    let values: Vec<&Path> = args.values.iter().map(|p| p.as_path()).collect();
    let params =
        crate::params::resolve(manifest, &values, &args.sets).map_err(CliError::bad_input)?;
    // The scenario is input too: a bad one is refused before anything starts.
    let on_sim = uses_simulator(&args);
    let scenario = match &args.sim {
        Some(Some(path)) => {
            Some(Scenario::load(path).map_err(|e| CliError::bad_input(e.to_string()))?)
        }
        _ if on_sim => Some(Scenario::default()),
        _ => None,
    };
    let declared = manifest.capabilities().map_err(CliError::bad_input)?;
    let mut granted = args
        .allow
        .iter()
        .map(|c| Capability::parse(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(CliError::bad_input)?;
    if args.allow_declared {
        granted.extend(declared.iter().cloned());
    }
    let limits = Limits {
        timeout: args.timeout,
        memory: args.memory_limit,
        request_timeout: args.request_timeout,
    };
    let sandbox = Sandbox::new(crate::sandbox::cache::default_dir()).map_err(|e| {
        CliError::new(
            ExitCode::PolicyFailed,
            format!("cannot start the WebAssembly engine: {e:#}"),
        )
    })?;
    let prepared = sandbox.prepare(&source).map_err(CliError::bad_input)?;

    let json = args.output.output == Format::Json;
    let (cluster, target, sim) = match scenario {
        Some(scenario) => {
            let sim = SimRun::start(scenario)?;
            let namespace = args
                .cluster
                .namespace
                .clone()
                .unwrap_or_else(|| "default".to_string());
            // Retry backoff jitter from the seed too: the same scenario repeats to the millisecond.
            let cluster = Cluster::from_client(sim.sim.client(), namespace.clone())
                .with_jitter_seed(sim.scenario.seed);
            let target = Target {
                context: None,
                server: "simulator".to_string(),
                namespace,
            };
            (cluster, target, Some(sim))
        }
        None => {
            let options = ConnectOptions {
                kubeconfig: args.cluster.kubeconfig.clone(),
                context: args.cluster.context.clone(),
                namespace: args.cluster.namespace.clone(),
            };
            let (cluster, target) = Cluster::connect(&options)
                .await
                .map_err(|e| CliError::new(ExitCode::Unreachable, e))?;
            (cluster, target, None)
        }
    };
    let namespace = target.namespace.clone();

    let grants = Grants::new(&declared, &granted, &namespace);
    if let Some(missing) = grants.first_uncovered() {
        return Err(CliError::new(
            ExitCode::Refused,
            format!(
                "policy {} needs `{missing}`, which is not granted: review `cutover inspect {}`, then grant it with --allow '{missing}' (or --allow-declared)",
                manifest.name, args.policy
            ),
        ));
    }

    match &sim {
        Some(sim) => {
            let why = if args.sim.is_none() {
                "; no cluster is configured (no --kubeconfig, $KUBECONFIG or ~/.kube/config, not in a pod), so cutover runs on the simulator"
            } else {
                ""
            };
            announce(
                json,
                &format!(
                    "Target: simulator ({}), namespace {namespace}{why}",
                    sim.describe()
                ),
            );
        }
        None => {
            let context = target.context.as_deref().unwrap_or("(in-cluster)");
            announce(
                json,
                &format!(
                    "Target: context {context}, server {}, namespace {namespace}",
                    target.server
                ),
            );
        }
    }
    cluster
        .check_reachable()
        .await
        .map_err(|e| CliError::new(ExitCode::Unreachable, e))?;

    let release = args
        .release
        .clone()
        .unwrap_or_else(|| manifest.name.clone());
    let dry = if args.dry_run { " (dry run)" } else { "" };
    announce(
        json,
        &format!(
            "Running {}@{} for release {release}{dry}",
            manifest.name, manifest.version
        ),
    );
    let invocation = Invocation {
        release: release.clone(),
        namespace: namespace.clone(),
        params: params.to_string(),
        dry_run: args.dry_run,
    };
    // A simulated cluster starts afresh every run: nothing to resume.
    let checkpoint = match &sim {
        Some(_) => CheckpointStore::none(),
        None => CheckpointStore::for_release(&target.server, &namespace, &release),
    };
    let cluster = cluster.with_dry_run(args.dry_run);
    let state = RunState::new(cluster, grants, &limits, checkpoint, printer(json));
    // Tokio's clock: virtual on the simulator (the runtime is paused, see cli::main).
    let started = tokio::time::Instant::now();
    let wall = std::time::Instant::now();
    let report = sandbox.run(&prepared, state, &invocation, &limits).await;
    let simulated = sim.as_ref().map(|_| started.elapsed());
    let wall = wall.elapsed();
    if let Some(sim) = sim {
        sim.controllers.stop();
    }

    let code = exit_code(&report.outcome);
    if json {
        let value = serde_json::json!({
            "policy": manifest.name,
            "version": manifest.version,
            "digest": format!("sha256:{}", source.digest),
            "release": release,
            "namespace": namespace,
            "context": target.context,
            "server": target.server,
            "dryRun": args.dry_run,
            "status": if code == ExitCode::Ok { "succeeded" } else { "failed" },
            "summary": summary_of(&report.outcome),
            "error": error_of(&report.outcome),
            "elapsedMs": report.elapsed.as_millis() as u64,
            "calls": report.stats.calls,
            "changed": report.stats.changed,
            "denied": report.stats.denied,
        });
        let mut value = value;
        if let Some(simulated) = simulated {
            value["simulatedMs"] = serde_json::json!(simulated.as_millis() as u64);
            value["wallMs"] = serde_json::json!(wall.as_millis() as u64);
        }
        println!("{}", output::json(&value));
    } else {
        print_human(&report);
        if let Some(simulated) = simulated {
            println!(
                "Simulated time: {} (wall time {})",
                format_duration(simulated),
                format_duration(wall)
            );
        }
    }
    forward_guest_output(&report);
    match (code, error_of(&report.outcome)) {
        (ExitCode::Ok, _) | (_, None) => Ok(code),
        (code, Some(message)) => Err(CliError::new(
            code,
            format!("{} failed: {message}", manifest.name),
        )),
    }
}

fn exit_code(outcome: &Outcome) -> ExitCode {
    match outcome {
        Outcome::Succeeded(_) => ExitCode::Ok,
        Outcome::Failed { .. } | Outcome::HostError(_) => ExitCode::PolicyFailed,
        Outcome::Stopped(_) => ExitCode::Stopped,
    }
}

fn summary_of(outcome: &Outcome) -> Option<&str> {
    match outcome {
        Outcome::Succeeded(summary) => Some(summary),
        _ => None,
    }
}

fn error_of(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Succeeded(_) => None,
        Outcome::Failed { kind, message } => Some(format!("{message} ({kind})")),
        Outcome::Stopped(stop) => Some(stop.to_string()),
        Outcome::HostError(message) => Some(format!("cutover could not run the policy: {message}")),
    }
}

/// Progress lines: stdout for people, stderr when stdout carries JSON.
fn announce(json: bool, line: &str) {
    if json {
        eprintln!("{line}");
    } else {
        println!("{line}");
        let _ = std::io::stdout().flush();
    }
}

/// Renders a run's events as they happen.
fn printer(json: bool) -> Observer {
    Box::new(move |event| {
        let line = match event {
            Event::Log {
                level: Level::Debug,
                ..
            } => return,
            Event::Log { level, message } => format!("  {level}: {message}"),
            Event::Progress {
                step,
                total,
                message,
            } => format!("[{step}/{total}] {message}"),
            Event::Call {
                operation,
                target,
                outcome,
            } if outcome != "ok" => {
                format!("  {operation} {target}: {outcome}")
            }
            Event::Call { .. } => return,
            Event::Denied { call, reason } => format!("  denied: {call}: {reason}"),
        };
        announce(json, &line);
    })
}

fn print_human(report: &RunReport) {
    let elapsed = format_duration(report.elapsed);
    let stats = &report.stats;
    if let Outcome::Succeeded(summary) = &report.outcome {
        println!("Succeeded in {elapsed}: {summary}");
    } else {
        println!("Failed after {elapsed}");
    }
    if !stats.changed.is_empty() {
        println!("Changed ({}):", stats.changed.len());
        for change in &stats.changed {
            println!("  {change}");
        }
    }
    if !stats.denied.is_empty() {
        println!(
            "Denied ({}): {}",
            stats.denied.len(),
            stats.denied.join(", ")
        );
    }
}

/// What the guest wrote to stdout/stderr (normally nothing) goes to our stderr, marked.
fn forward_guest_output(report: &RunReport) {
    for line in report
        .guest_stdout
        .lines()
        .chain(report.guest_stderr.lines())
    {
        eprintln!("  [policy output] {line}");
    }
}
