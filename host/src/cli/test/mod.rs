//! `cutover test`: runs a policy on the simulator for each scenario and checks the scenario's
//! expectations (the outcome, objects at the end, the ordered calls, revision statuses), with a
//! readable diff for each one that fails, JUnit XML for CI systems, and `-o json` for machines;
//! or, with `--replay`, a policy replayed against a recording (`super::replay`).

mod calls;
mod case;
mod check;
mod inputs;
mod junit;
mod path;
mod spec;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;

use super::{CliError, ExitCode, Format, OutputArgs, output};
use crate::source::PolicySource;
use crate::text;
use crate::units::format_duration;
use check::Failure;

/// `cutover test` arguments.
#[derive(Debug, Args)]
pub(super) struct TestArgs {
    /// A bundled policy's name or a path to a .wasm file (with --replay: by default, the
    /// recorded one).
    #[arg(required_unless_present = "replay")]
    policy: Option<String>,
    /// Scenario files (docs/scenario-tests.md), or folders of them (their *.yaml and *.yml files).
    #[arg(
        value_name = "SCENARIO",
        required_unless_present = "replay",
        conflicts_with = "replay"
    )]
    scenarios: Vec<PathBuf>,
    /// Replay a recording (`cutover run --record FILE`) offline instead, with no cluster: fails
    /// at the first call the policy makes differently.
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// With --replay: replay with this parameter changed over the recorded ones (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", requires = "replay")]
    sets: Vec<String>,
    /// Also write the results as JUnit XML to this file.
    #[arg(long, value_name = "FILE", conflicts_with = "replay")]
    junit: Option<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
}

/// What one scenario came to.
struct CaseResult {
    /// The scenario file, as given.
    file: String,
    outcome: CaseOutcome,
    /// Wall time, loading and checking included.
    wall: Duration,
    /// Simulated time of the run.
    simulated: Option<Duration>,
}

enum CaseOutcome {
    Passed,
    Failed(Vec<Failure>),
    /// The scenario could not be run: an unreadable or malformed file.
    Error(String),
}

/// The scenario files `paths` name: files as given, folders' YAML files by name.
fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| {
                CliError::bad_input(format!("cannot read the folder {}: {e}", path.display()))
            })?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && p.extension()
                            .is_some_and(|ext| ext == "yaml" || ext == "yml")
                })
                .collect();
            if found.is_empty() {
                return Err(CliError::bad_input(format!(
                    "the folder {} holds no scenario (*.yaml, *.yml)",
                    path.display()
                )));
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// Loads, runs and checks one scenario.
fn run_one(policy: &str, file: &Path) -> CaseResult {
    let started = Instant::now();
    let ran = case::Case::load(policy, file).and_then(case::Case::run);
    let (outcome, simulated) = match ran {
        Err(why) => (CaseOutcome::Error(why), None),
        Ok(runs) => {
            // The run's failures as they are; a `run.then` step's named after it.
            let stepped = runs.len() > 1;
            let mut failures = Vec::new();
            let mut simulated: Option<std::time::Duration> = None;
            for run in &runs {
                for mut failure in check::check(&run.expect, &run.observed) {
                    if stepped && run.label != "run" {
                        failure.expectation = format!("{}: {}", run.label, failure.expectation);
                    }
                    failures.push(failure);
                }
                if let Some(d) = run.observed.simulated {
                    simulated = Some(simulated.unwrap_or_default() + d);
                }
            }
            let outcome = if failures.is_empty() {
                CaseOutcome::Passed
            } else {
                CaseOutcome::Failed(failures)
            };
            (outcome, simulated)
        }
    };
    CaseResult {
        file: file.display().to_string(),
        outcome,
        wall: started.elapsed(),
        simulated,
    }
}

fn timing(result: &CaseResult) -> String {
    match result.simulated {
        Some(simulated) => format!(
            "{} simulated, {}",
            format_duration(simulated),
            format_duration(result.wall)
        ),
        None => format_duration(result.wall),
    }
}

/// The line (and indented details) for one scenario.
fn print_case(result: &CaseResult) {
    match &result.outcome {
        CaseOutcome::Passed => outln!("PASS  {} ({})", text::line(&result.file), timing(result)),
        CaseOutcome::Failed(failures) => {
            outln!("FAIL  {} ({})", text::line(&result.file), timing(result));
            for failure in failures {
                let mut lines = failure.detail.lines();
                outln!(
                    "      {}: {}",
                    failure.expectation,
                    text::line(lines.next().unwrap_or(""))
                );
                for line in lines {
                    outln!("      {}", text::line(line));
                }
            }
        }
        CaseOutcome::Error(why) => {
            outln!("ERROR {}: {}", text::line(&result.file), text::line(why))
        }
    }
}

fn as_json(result: &CaseResult) -> serde_json::Value {
    let (status, failures, error) = match &result.outcome {
        CaseOutcome::Passed => ("passed", json!([]), None),
        CaseOutcome::Failed(failures) => ("failed", json!(failures), None),
        CaseOutcome::Error(why) => ("error", json!([]), Some(why.clone())),
    };
    json!({
        "scenario": result.file,
        "status": status,
        "failures": failures,
        "error": error,
        "wallMs": result.wall.as_millis() as u64,
        "simulatedMs": result.simulated.map(|d| d.as_millis() as u64),
    })
}

/// Runs every scenario, prints the results, writes the JUnit file; exit 0 when all passed,
/// 1 when any failed, 2 when any could not be run.
pub(super) fn execute(args: TestArgs) -> Result<ExitCode, CliError> {
    if let Some(tape) = &args.replay {
        if args.output.output != Format::Table {
            return Err(CliError::bad_input(
                "--replay prints its verdict as text (and says it by its exit code); -o is for scenarios",
            ));
        }
        return super::replay::execute(&super::replay::ReplayArgs {
            tape,
            policy: args.policy.as_deref(),
            sets: &args.sets,
        });
    }
    let format = args.output.output;
    let Some(policy_arg) = args.policy.as_deref() else {
        return Err(CliError::bad_input("name the policy to test"));
    };
    let policy = PolicySource::resolve(policy_arg).map_err(CliError::bad_input)?;
    let files = scenario_files(&args.scenarios)?;
    let name = format!("{}@{}", policy.manifest.name, policy.manifest.version);
    if format == Format::Table {
        outln!(
            "Testing {name} on {} scenario{}",
            files.len(),
            if files.len() == 1 { "" } else { "s" }
        );
    }
    let mut results = Vec::with_capacity(files.len());
    for file in &files {
        let result = run_one(policy_arg, file);
        if format == Format::Table {
            print_case(&result);
        }
        results.push(result);
    }
    let count = |f: fn(&CaseOutcome) -> bool| results.iter().filter(|r| f(&r.outcome)).count();
    let passed = count(|o| matches!(o, CaseOutcome::Passed));
    let failed = count(|o| matches!(o, CaseOutcome::Failed(_)));
    let errors = count(|o| matches!(o, CaseOutcome::Error(_)));
    if format == Format::Table {
        outln!(
            "{} scenario{}: {passed} passed, {failed} failed{}",
            results.len(),
            if results.len() == 1 { "" } else { "s" },
            if errors > 0 {
                format!(", {errors} could not run")
            } else {
                String::new()
            }
        );
    } else {
        let value = json!({
            "policy": policy.manifest.name,
            "version": policy.manifest.version,
            "digest": format!("sha256:{}", policy.digest),
            "passed": passed,
            "failed": failed,
            "errors": errors,
            "scenarios": results.iter().map(as_json).collect::<Vec<_>>(),
        });
        outln!("{}", output::machine(&value, format));
    }
    if let Some(path) = &args.junit {
        junit::write(&junit::report(&name, &results), path).map_err(CliError::bad_input)?;
    }
    if errors > 0 {
        Err(CliError::bad_input(format!(
            "{errors} of {} scenarios could not run (see above)",
            results.len()
        )))
    } else if failed > 0 {
        Err(CliError::new(
            ExitCode::PolicyFailed,
            format!("{failed} of {} scenarios failed", results.len()),
        ))
    } else {
        Ok(ExitCode::Ok)
    }
}
