//! `cutover run`: check the policy, its parameters and its grant; connect; run it in the
//! sandbox; report what happened.

use std::io::Write;
use std::path::Path;

use super::output;
use super::{CliError, ExitCode, Format, RunArgs};
use crate::capabilities::{Capability, Grants};
use crate::checkpoint::CheckpointStore;
use crate::cluster::{Cluster, ConnectOptions};
use crate::report::{Event, Level, Observer};
use crate::sandbox::bindings::Invocation;
use crate::sandbox::limits::Limits;
use crate::sandbox::run::{Outcome, RunReport, Sandbox};
use crate::sandbox::state::RunState;
use crate::source::PolicySource;
use crate::units::format_duration;

pub(super) async fn execute(args: RunArgs) -> Result<ExitCode, CliError> {
    // Everything that can be checked without the cluster is checked first, so bad input never
    // costs a connection and never touches anything.
    let source = PolicySource::resolve(&args.policy).map_err(CliError::bad_input)?;
    let manifest = &source.manifest;
    let values: Vec<&Path> = args.values.iter().map(|p| p.as_path()).collect();
    let params =
        crate::params::resolve(manifest, &values, &args.sets).map_err(CliError::bad_input)?;
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

    let options = ConnectOptions {
        kubeconfig: args.cluster.kubeconfig.clone(),
        context: args.cluster.context.clone(),
        namespace: args.cluster.namespace.clone(),
    };
    let (cluster, target) = Cluster::connect(&options)
        .await
        .map_err(|e| CliError::new(ExitCode::Unreachable, e))?;
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

    let json = args.output.output == Format::Json;
    let context = target.context.as_deref().unwrap_or("(in-cluster)");
    announce(
        json,
        &format!(
            "Target: context {context}, server {}, namespace {namespace}",
            target.server
        ),
    );
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
    let checkpoint = CheckpointStore::for_release(&target.server, &namespace, &release);
    let cluster = cluster.with_dry_run(args.dry_run);
    let state = RunState::new(cluster, grants, &limits, checkpoint, printer(json));
    let report = sandbox.run(&prepared, state, &invocation, &limits).await;

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
        println!("{}", output::json(&value));
    } else {
        print_human(&report);
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
