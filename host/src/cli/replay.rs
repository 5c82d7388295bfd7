//! `cutover test --replay FILE [POLICY]`: a policy run offline against a recording (`cutover run --record`),
//! no cluster at all; exit 0 when it went as recorded, 1 where it diverged (named, with a diff),
//! 2 for a tape that cannot be read.

use std::path::Path;

use cutover_clock::Clock;
use serde_json::Value;

use super::run::report::{announce, printer};
use super::{CliError, ExitCode, Format};
use crate::replay::diff;
use crate::replay::run::{Divergence, ReplayError, ReplayOptions, Verdict, prepare, replay};
use crate::replay::tape::{self, Tape};
use crate::source::PolicySource;
use crate::text;

/// What `cutover test --replay` was given.
pub(super) struct ReplayArgs<'a> {
    /// The recording, as `cutover run --record FILE` wrote it.
    pub(super) tape: &'a Path,
    /// The policy to replay (a bundled name or a .wasm file); default: the recorded one.
    pub(super) policy: Option<&'a str>,
    /// Parameters changed over the recorded ones (`--set`).
    pub(super) sets: &'a [String],
}

/// Replays on a runtime of its own, on virtual time: the policy's own clock comes from the
/// tape, and anything else it waits on (a WASI sleep) passes at once.
pub(super) fn execute(args: &ReplayArgs<'_>) -> Result<ExitCode, CliError> {
    let (runtime, clock) = super::run::simulator_runtime();
    let runtime = runtime.map_err(|e| {
        CliError::new(
            ExitCode::Internal,
            format!("cannot start the async runtime: {e}"),
        )
    })?;
    let clock = clock.unwrap_or_else(Clock::tokio);
    let result = runtime.block_on(replay_now(args, clock));
    runtime.shutdown_background();
    result
}

/// The policy to replay: the one named, else the recorded one, if it is still where it was.
fn policy(args: &ReplayArgs<'_>, tape: &Tape) -> Result<PolicySource, CliError> {
    match args.policy {
        Some(argument) => PolicySource::resolve(argument).map_err(CliError::bad_input),
        None => {
            let policy = PolicySource::resolve(&tape.policy.source).map_err(|e| {
                CliError::bad_input(format!(
                    "the recorded policy cannot be loaded ({e}): name the policy to replay: cutover test --replay FILE POLICY"
                ))
            })?;
            // A tape is outside input: the module it names runs only if it is the one recorded.
            let recorded = tape.policy.digest.trim_start_matches("sha256:");
            if policy.digest != recorded {
                return Err(CliError::bad_input(format!(
                    "{} is not the policy the tape recorded (digest sha256:{}, the tape's {}): name the policy to replay: cutover test --replay FILE POLICY",
                    crate::text::escape(&tape.policy.source, 256),
                    policy.digest,
                    crate::text::escape(&tape.policy.digest, 80)
                )));
            }
            Ok(policy)
        }
    }
}

/// The recorded parameters, with `--set` over them, checked against the policy replayed.
fn params(
    args: &ReplayArgs,
    tape: &Tape,
    policy: &PolicySource,
) -> Result<Option<Value>, CliError> {
    if args.sets.is_empty() {
        return Ok(None);
    }
    let manifest = &policy.manifest;
    let (changed, _) =
        crate::params::resolve_given(manifest, &[], args.sets).map_err(CliError::bad_input)?;
    let mut merged = match &tape.invocation.params {
        Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    if let Value::Object(changed) = changed {
        merged.extend(changed);
    }
    let (_, computed) =
        crate::params::from_given(manifest, &Value::Object(merged)).map_err(CliError::bad_input)?;
    Ok(Some(computed))
}

/// Replays the recording and prints the verdict.
async fn replay_now(args: &ReplayArgs<'_>, clock: Clock) -> Result<ExitCode, CliError> {
    let shown = args.tape.display().to_string();
    let mut tape = tape::read(args.tape).map_err(CliError::bad_input)?;
    let policy = policy(args, &tape)?;
    let params = params(args, &tape, &policy)?;
    let recorded = tape.policy.clone();
    announce(
        Format::Table,
        &format!(
            "Replaying {shown}: {}@{} on {}, {} calls, no cluster",
            text::line(&recorded.name),
            text::line(&recorded.version),
            text::line(&tape.server),
            tape.calls.len()
        ),
    );
    let (sandbox, prepared) = {
        let policy = policy.clone();
        tokio::task::spawn_blocking(move || prepare(&policy, crate::sandbox::cache::default_dir()))
            .await
            .map_err(|e| {
                CliError::new(
                    ExitCode::Internal,
                    format!("the compiler thread failed: {e}"),
                )
            })?
            .map_err(replay_error)?
    };
    let options = ReplayOptions {
        params,
        observer: printer(Format::Table),
        clock,
    };
    let report = replay(&mut tape, &policy, &sandbox, &prepared, options)
        .await
        .map_err(replay_error)?;
    if let Some(digest) = &report.other_digest {
        outln!(
            "Note: the policy replayed ({}, {digest}) is not the one recorded ({})",
            policy.label(),
            text::line(&recorded.digest)
        );
    }
    let of = report.recorded;
    match report.verdict {
        Verdict::Matched { outcome, unchecked } => {
            outln!(
                "Replayed {} of {of} calls as recorded; the policy {outcome}",
                report.answered
            );
            if let Some(note) = unchecked {
                outln!("Note: {}", text::line(&note));
            }
            Ok(ExitCode::Ok)
        }
        Verdict::Diverged(divergence) => Err(diverged(&shown, of, &divergence)),
    }
}

/// Prints where the replay went another way and returns the one error line (exit 1).
fn diverged(shown: &str, of: usize, divergence: &Divergence) -> CliError {
    let line = match divergence {
        Divergence::Call {
            number,
            expected: Some(expected),
            actual,
        } => {
            outln!("Diverged at call {number} of {of}:");
            out!("{}", diff::unified(expected, actual));
            let how = if expected.call == actual.call {
                "with other arguments".to_string()
            } else {
                format!("where the recording has {}", text::line(&expected.call))
            };
            format!(
                "at call {number} of {of}: the policy called {} {how}",
                text::line(&actual.call)
            )
        }
        Divergence::Call {
            number,
            expected: None,
            actual,
        } => {
            outln!(
                "Diverged at call {number}: the recording has {of} calls; the policy made another:"
            );
            out!("{}", diff::render(actual));
            format!(
                "at call {number}: the policy called {} after the recording's last call",
                text::line(&actual.call)
            )
        }
        Divergence::Left {
            number,
            expected,
            left,
            ended,
        } => {
            outln!(
                "Diverged at call {number} of {of}: the policy ended ({ended}) before making the recorded call:"
            );
            out!("{}", diff::render(expected));
            format!(
                "at call {number} of {of}: the policy ended before calling {} ({left} recorded calls not made)",
                text::line(&expected.call)
            )
        }
        Divergence::Outcome { expected, actual } => {
            outln!("Every call as recorded, but the policy ended another way:");
            outln!("  recorded: {expected}");
            outln!("  replayed: {actual}");
            format!("in how it ended: the policy {actual}; the recorded run {expected}")
        }
    };
    CliError::new(
        ExitCode::PolicyFailed,
        format!("the replay of {shown} diverged {line}"),
    )
}

fn replay_error(error: ReplayError) -> CliError {
    let code = match &error {
        ReplayError::Prepare(_) | ReplayError::BadAnswer { .. } => ExitCode::BadInput,
        ReplayError::Engine(_) | ReplayError::ReachedCluster(_) => ExitCode::Internal,
    };
    CliError::new(code, error)
}
