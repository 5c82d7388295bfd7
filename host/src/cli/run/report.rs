//! Stage 7 of `cutover run`: what the operator sees: the target and progress as they happen,
//! then the summary (or `-o json|yaml` for machines) and one `error:` line for a failure.
//! Every string that came from the policy is escaped and capped before it is printed.

use std::io::Write;
use std::sync::{Arc, Mutex};

use super::connect::Connection;
use super::execute::Ran;
use super::inputs::Inputs;
use super::live::Live;
use super::release::Settlement;
use crate::cli::output;
use crate::cli::signals::Signal;
use crate::cli::{CliError, ExitCode, Format, RunArgs};
use crate::release::lifecycle::{ABORTED, POLICY_ROLLBACK_FAILED};
use crate::release::record::Status;
use crate::report::{Event, Level, Observer};
use crate::sandbox::outcome::Outcome;
use crate::source::PolicySource;
use crate::text;
use crate::units::format_duration;

/// Progress lines: stdout for people, stderr when stdout carries JSON or YAML.
pub(in crate::cli) fn announce(format: Format, line: &str) {
    if format == Format::Table {
        outln!("{line}");
        let _ = std::io::stdout().flush();
    } else {
        errln!("{line}");
    }
}

/// The target line, before anything else happens.
pub(super) fn target(format: Format, connection: &Connection) {
    let namespace = connection.namespace();
    let line = match &connection.sim {
        Some(sim) => format!(
            "Target: simulator ({}), namespace {namespace}",
            sim.describe()
        ),
        None => {
            let context = connection
                .target
                .context
                .as_deref()
                .unwrap_or("(in-cluster)");
            format!(
                "Target: context {context}, server {}, namespace {namespace}",
                connection.target.server
            )
        }
    };
    announce(format, &line);
}

/// The line a run prints for an event (none for debug log lines and calls that succeeded),
/// every guest string escaped and capped.
fn plain_line(event: &Event) -> Option<String> {
    let line = match event {
        Event::Log {
            level: Level::Debug,
            ..
        } => return None,
        Event::Log { level, message } => format!("  {level}: {}", text::line(message)),
        Event::Progress {
            step,
            total,
            message,
        } => format!("[{step}/{total}] {}", text::line(message)),
        Event::Call {
            operation,
            target,
            outcome,
        } if outcome != "ok" => format!(
            "  {operation} {}: {}",
            text::line(target),
            text::line(outcome)
        ),
        Event::Call { .. } => return None,
        Event::Denied { call, reason } => {
            format!("  denied: {}: {}", text::line(call), text::line(reason))
        }
    };
    Some(line)
}

/// Renders a run's events as they happen, as plain lines.
pub(in crate::cli) fn printer(format: Format) -> Observer {
    Box::new(move |event| {
        if let Some(line) = plain_line(event) {
            announce(format, &line);
        }
    })
}

/// Renders a run's events as they happen: on a terminal with the table output, the same lines
/// above a live display ([`Live`]), which the caller clears before the summary; otherwise
/// plain lines ([`printer`]).
pub(in crate::cli) fn live_printer(format: Format) -> (Observer, Option<Live>) {
    use std::io::IsTerminal as _;
    if format == Format::Table && std::io::stdout().is_terminal() {
        let live = Live::on_stdout();
        (live.observer(plain_line), Some(live))
    } else {
        (printer(format), None)
    }
}

/// The most progress events `-o json|yaml` lists (the last ones are kept).
const MAX_PROGRESS_KEPT: usize = 1000;

/// The policy's progress events, kept for `-o json|yaml` (`progress`), messages capped.
#[derive(Clone, Default)]
pub(in crate::cli) struct ProgressLog(Arc<Mutex<KeptProgress>>);

/// The progress kept, and how many older events were let go.
#[derive(Default)]
pub(super) struct KeptProgress {
    pub(super) events: std::collections::VecDeque<serde_json::Value>,
    pub(super) dropped: u64,
}

impl ProgressLog {
    /// `observer`, also keeping every progress event it sees.
    pub(in crate::cli) fn keeping(&self, mut observer: Observer) -> Observer {
        let log = self.clone();
        Box::new(move |event| {
            if let Event::Progress {
                step,
                total,
                message,
            } = event
            {
                let mut kept = log.0.lock().unwrap_or_else(|e| e.into_inner());
                if kept.events.len() == MAX_PROGRESS_KEPT {
                    kept.events.pop_front();
                    kept.dropped += 1;
                }
                kept.events.push_back(serde_json::json!({
                    "step": step,
                    "total": total,
                    "message": text::cap(message, text::MAX_LINE),
                }));
            }
            observer(event)
        })
    }

    /// What was kept.
    pub(super) fn take(&self) -> KeptProgress {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The exit code of an outcome.
fn exit_code(outcome: &Outcome, signal: Option<Signal>) -> ExitCode {
    match outcome {
        Outcome::Succeeded(_) => ExitCode::Ok,
        Outcome::Failed { .. } => ExitCode::PolicyFailed,
        Outcome::Stopped(stop) if stop.is_policys_choice() => ExitCode::PolicyFailed,
        Outcome::Stopped(_) => ExitCode::Stopped,
        Outcome::Cancelled(_) => signal.map_or(ExitCode::Interrupted, Signal::exit_code),
    }
}

fn error_of(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Succeeded(_) => None,
        Outcome::Failed { kind, message } => Some(format!("{} ({kind})", text::line(message))),
        Outcome::Stopped(stop) => Some(stop.to_string()),
        Outcome::Cancelled(reason) => {
            Some(format!("cancelled by {reason}; the policy was interrupted"))
        }
    }
}

/// What a run came to, as `cutover run` reports it.
pub(in crate::cli) struct Verdict {
    pub(in crate::cli) code: ExitCode,
    /// `succeeded`, `failed` or `cancelled`, as `-o json`'s `status`.
    pub(in crate::cli) status: &'static str,
    /// The policy's summary, when it succeeded.
    pub(in crate::cli) summary: Option<String>,
    /// Why it did not succeed (without the `<policy> failed: ` prefix).
    pub(in crate::cli) error: Option<String>,
}

/// The exit code, status and error line of a run that got as far as the policy.
pub(super) fn verdict(inputs: &Inputs, ran: &Ran, signal: Option<Signal>) -> Verdict {
    let report = &ran.report;
    let mut code = exit_code(&report.outcome, signal);
    let mut error = error_of(&report.outcome);
    // A run that succeeded but whose revision could not be settled is not a success: the
    // release would say pending while the policy says done.
    if let Some(Settlement {
        settled: Err(why),
        number,
        ..
    }) = ran.settlement.as_ref()
        && code == ExitCode::Ok
    {
        code = ExitCode::Unreachable;
        error = Some(format!(
            "the run succeeded but revision {number} could not be marked deployed: {why}; see `cutover status {}`",
            inputs.release
        ));
    }
    let status = match (&report.outcome, code) {
        (Outcome::Cancelled(_), _) => "cancelled",
        (_, ExitCode::Ok) if settled_as(ran, Status::Paused) => "paused",
        (_, ExitCode::Ok) if ran.settlement.as_ref().is_some_and(|s| s.aborted) => "aborted",
        (_, ExitCode::Ok) if ran.settlement.as_ref().is_some_and(|s| s.policy_undo) => {
            "rolled-back"
        }
        (_, ExitCode::Ok) => "succeeded",
        _ => "failed",
    };
    let summary = match &report.outcome {
        Outcome::Succeeded(summary) => Some(summary.clone()),
        _ => None,
    };
    Verdict {
        code,
        status,
        summary,
        error,
    }
}

/// Whether the run's revision was settled with `status`.
fn settled_as(ran: &Ran, status: Status) -> bool {
    ran.settlement
        .as_ref()
        .is_some_and(|s| matches!(&s.settled, Ok(settled) if settled.status == Some(status)))
}

/// Prints the result and returns the exit code (or the one error line to print).
pub(super) fn finish(
    format: Format,
    args: &RunArgs,
    policy: &PolicySource,
    inputs: &Inputs,
    connection: &Connection,
    ran: &Ran,
    signal: Option<Signal>,
) -> Result<ExitCode, CliError> {
    let settlement = ran.settlement.as_ref();
    let manifest = &policy.manifest;
    let report = &ran.report;
    let Verdict {
        code,
        status,
        summary,
        error,
    } = verdict(inputs, ran, signal);
    if format == Format::Table {
        print_human(ran, args.dry_run);
        if let Some(settlement) = settlement {
            let succeeded = matches!(report.outcome, Outcome::Succeeded(_));
            print_settlement(
                &inputs.release,
                settlement,
                ran.report.paused.as_deref(),
                succeeded,
            );
        }
    } else {
        let mut value = serde_json::json!({
            "policy": manifest.name,
            "version": manifest.version,
            "digest": format!("sha256:{}", policy.digest),
            "release": inputs.release,
            "namespace": connection.namespace(),
            "context": connection.target.context,
            "server": connection.target.server,
            "dryRun": args.dry_run,
            "status": status,
            "summary": summary,
            "error": error,
            "elapsedMs": report.elapsed.as_millis() as u64,
            "calls": report.stats.calls,
            "changed": report.stats.changed.kept(),
            "changedTotal": report.stats.changed.total(),
            "denied": report.stats.denied.kept(),
            "deniedTotal": report.stats.denied.total(),
            "logLinesDropped": report.stats.log_dropped,
            "progress": ran.progress.events,
            "progressDropped": ran.progress.dropped,
        });
        if let Some(settlement) = settlement {
            value["revision"] = serde_json::json!(settlement.number);
            match &settlement.settled {
                Ok(settled) => {
                    value["releaseStatus"] = serde_json::json!(settled.status.map(|s| s.as_str()));
                    value["releaseRemoved"] = serde_json::json!(settled.removed);
                    if settled.status == Some(Status::Paused) {
                        value["paused"] = serde_json::json!(ran.report.paused);
                    }
                    if settlement.aborted {
                        value["aborted"] = serde_json::json!(true);
                    }
                    if settlement.policy_undo {
                        value["rolledBackByPolicy"] = serde_json::json!(code == ExitCode::Ok);
                    }
                    if let Some(undo) = &settled.undo {
                        value["undo"] = serde_json::to_value(undo).unwrap_or_default();
                    }
                }
                Err(why) => value["releaseError"] = serde_json::json!(why),
            }
        }
        if let Some(simulated) = ran.simulated {
            value["simulatedMs"] = serde_json::json!(simulated.as_millis() as u64);
            value["wallMs"] = serde_json::json!(ran.wall.as_millis() as u64);
        }
        outln!("{}", output::machine(&value, format));
    }
    forward_guest_output(ran);
    match (code, error) {
        (ExitCode::Ok, _) | (_, None) => Ok(code),
        (code, Some(message)) if settlement.is_some_and(|s| s.policy_undo) => Err(CliError::new(
            code,
            format!(
                "the rollback of release {0} by its policy {1} failed: {message}; revision {2} stays failed and not undone: run `cutover rollback {0}` again (or `cutover rollback {0} --journal`)",
                inputs.release,
                manifest.name,
                settlement.map_or(0, |s| s.number)
            ),
        )),
        (code, Some(message)) => Err(CliError::new(
            code,
            format!("{} failed: {message}", manifest.name),
        )),
    }
}

/// What became of the revision, after the run's own summary (`succeeded`: the policy's).
fn print_settlement(release: &str, settlement: &Settlement, paused: Option<&str>, succeeded: bool) {
    let number = settlement.number;
    match &settlement.settled {
        Ok(settled) => {
            if let Some(undo) = &settled.undo {
                outln!("Undone ({}):", undo.summary());
                for line in undo
                    .undone
                    .iter()
                    .chain(&undo.conflicts)
                    .chain(&undo.failed)
                    .chain(&undo.irreversible)
                {
                    outln!("  {}", text::line(line));
                }
            }
            if settled.removed {
                outln!(
                    "Release {release}: the failed first install was undone and its revision {number} removed; nothing is left"
                );
            } else if settled.status == Some(Status::Paused) {
                // The status was escaped and capped when the policy paused.
                outln!(
                    "Release {release} paused at revision {number}: {}; continue with `cutover promote {release}`, or `cutover abort {release}`",
                    text::line(paused.unwrap_or(""))
                );
            } else if settlement.aborted {
                outln!(
                    "Release {release}: revision {number} {ABORTED} (failed); the deployed revision, if any, stays deployed"
                );
            } else if settlement.policy_undo && settled.status == Some(Status::Failed) {
                if succeeded {
                    outln!(
                        "Release {release}: revision {number} rolled back by the policy (failed, undone); the deployed revision, if any, stays deployed"
                    );
                } else {
                    outln!(
                        "Release {release}: revision {number}: {POLICY_ROLLBACK_FAILED}; it stays failed and not undone"
                    );
                }
            } else if let Some(status) = settled.status {
                outln!("Release {release}: revision {number} {status}");
            }
            if settled.pruned > 0 {
                outln!(
                    "  ({} old revision{} pruned by --history-max)",
                    settled.pruned,
                    if settled.pruned == 1 { "" } else { "s" }
                );
            }
        }
        Err(why) => outln!(
            "Release {release}: revision {number} could not be settled: {}",
            text::line(why)
        ),
    }
}

fn print_human(ran: &Ran, dry_run: bool) {
    let report = &ran.report;
    let elapsed = format_duration(report.elapsed);
    let stats = &report.stats;
    match &report.outcome {
        Outcome::Succeeded(summary) => {
            outln!("Succeeded in {elapsed}: {}", text::line(summary))
        }
        Outcome::Cancelled(_) => outln!("Cancelled after {elapsed}"),
        _ => outln!("Failed after {elapsed}"),
    }
    if !stats.changed.is_empty() {
        // A dry run changes nothing: the server checked each change and threw it away.
        let heading = if dry_run {
            "Would change (dry run)"
        } else {
            "Changed"
        };
        outln!("{heading} ({}):", stats.changed.total());
        for change in stats.changed.kept() {
            outln!("  {}", text::line(change));
        }
        let more = stats.changed.total() - stats.changed.kept().len() as u64;
        if more > 0 {
            outln!("  ... and {more} more");
        }
    }
    if !stats.denied.is_empty() {
        let kept: Vec<String> = stats.denied.kept().iter().map(|d| text::line(d)).collect();
        let more = stats.denied.total() - kept.len() as u64;
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        outln!(
            "Denied ({}): {}{tail}",
            stats.denied.total(),
            kept.join(", ")
        );
    }
    if stats.log_dropped > 0 {
        outln!(
            "Log: {} lines dropped past the run's log bound",
            stats.log_dropped
        );
    }
    if let Some(simulated) = ran.simulated {
        outln!(
            "Simulated time: {} (wall time {})",
            format_duration(simulated),
            format_duration(ran.wall)
        );
    }
}

/// The most lines of a policy's stdout/stderr forwarded to ours.
const MAX_FORWARDED_LINES: usize = 1000;

/// What the guest wrote to stdout/stderr (normally nothing) goes to our stderr, marked and
/// escaped, at most [`MAX_FORWARDED_LINES`] lines, with a note of what was cut.
fn forward_guest_output(ran: &Ran) {
    let report = &ran.report;
    let mut lines = report
        .guest_stdout
        .lines()
        .chain(report.guest_stderr.lines());
    for line in lines.by_ref().take(MAX_FORWARDED_LINES) {
        errln!("  [policy output] {}", text::line(line));
    }
    let more = lines.count();
    if more > 0 {
        errln!("  [policy output] [cut: {more} more lines]");
    }
    if report.guest_output_cut > 0 {
        errln!(
            "  [policy output] [cut: {} bytes past the {} KiB kept of each stream]",
            report.guest_output_cut,
            crate::sandbox::limits::MAX_GUEST_OUTPUT >> 10
        );
    }
}
