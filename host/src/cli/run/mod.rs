//! `cutover run`: a pipeline of stages with one job and one module each — resolve the policy,
//! check the inputs, prepare the sandbox, connect, authorize, lock the release and write its
//! pending revision, run (and write its recording, with `--record`), settle the revision, report
//! (docs/cli.md lists them in this order).
//! A later feature goes into exactly one stage: the signature check into `resolve`, a grant
//! file into `authorize`. `cutover resume` runs the same pipeline on the latest revision.

mod authorize;
mod connect;
mod execute;
mod inputs;
mod prepare;
mod record;
pub(in crate::cli) mod release;
pub(in crate::cli) mod report;
mod resolve;

use std::future::Future;

use cutover_clock::Clock;

pub(super) use connect::uses_simulator;

use super::signals::{Interrupts, Signal};
use super::{CliError, ExitCode, RunArgs};
use crate::sandbox::cancel::Cancel;

/// The runtime of a run on the simulator, and its clock: one thread, on virtual time that
/// jumps to the next timer whenever the runtime is about to go idle (see `cutover-clock`).
/// The simulated wall clock starts at the real time.
pub(super) fn simulator_runtime() -> (std::io::Result<tokio::runtime::Runtime>, Option<Clock>) {
    let clock = Clock::virtual_at(std::time::SystemTime::now());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_park(clock.park_hook())
        .build();
    (runtime, Some(clock))
}

pub(super) async fn execute(args: RunArgs, clock: Clock) -> Result<ExitCode, CliError> {
    execute_as(args, clock, release::Start::New).await
}

/// The pipeline, for a new revision or a resume of the latest.
pub(in crate::cli) async fn execute_as(
    args: RunArgs,
    clock: Clock,
    start: release::Start,
) -> Result<ExitCode, CliError> {
    let cancel = Cancel::default();
    let interrupts = Interrupts::install(cancel.clone())
        .map_err(|e| CliError::new(ExitCode::Internal, format!("cannot listen for Ctrl-C: {e}")))?;
    let format = args.output.output;

    // Everything that can be checked without a cluster is checked first, so that bad input
    // never costs a connection and never touches anything.
    let policy = resolve::policy(&args.policy)?;
    let mut inputs = inputs::check(&args, &policy)?;
    if let Some(path) = &args.record {
        record::check_path(path)?;
    }
    // Compiling a large module takes a while: it runs off the runtime's thread, so that Ctrl-C
    // still ends the run at once.
    let (sandbox, prepared) =
        cancellable(&interrupts, &cancel, prepare::prepare(policy.clone())).await?;

    let mut connection = cancellable(&interrupts, &cancel, async {
        connect::connect(&args, &mut inputs, &clock).await
    })
    .await?;
    // The target line first: a refusal then says which cluster and namespace it was for.
    report::target(format, &connection);
    let grants = authorize::grants(&policy, &inputs, connection.namespace(), &args.policy)?;
    cancellable(&interrupts, &cancel, connect::reach(&connection, &args)).await?;

    // Not cut short by Ctrl-C: once the lock is taken and the revision written, the run goes
    // on to settle them (a Ctrl-C then stops the policy at once, and the revision is failed).
    let held = release::begin(&args, &policy, &inputs, &connection, &clock, &start).await?;
    let dry = if args.dry_run { " (dry run)" } else { "" };
    let revision = match &held {
        Some(h) => {
            let attempt = h.recorder.attempt().await;
            let again = if attempt > 1 {
                format!(", attempt {attempt}")
            } else {
                String::new()
            };
            format!(", revision {}{again}", h.recorder.number().await)
        }
        None => String::new(),
    };
    report::announce(
        format,
        &format!(
            "Running {}@{} for release {}{revision}{dry}",
            policy.manifest.name, policy.manifest.version, inputs.release
        ),
    );
    let recording = record::start(&args);
    let mut ran = execute::run(
        &sandbox,
        &prepared,
        &args,
        &inputs,
        &mut connection,
        grants,
        &clock,
        &cancel,
        report::printer(format),
        held.as_ref(),
        recording.as_ref(),
    )
    .await;
    if let (Some(path), Some(recording)) = (&args.record, &recording) {
        record::save(format, path, recording, &policy, &inputs, &connection, &ran);
    }
    if let Some(held) = held {
        ran.settlement = Some(release::settle(held, &args, &ran.report.outcome, &clock).await);
    }
    report::finish(
        format,
        &args,
        &policy,
        &inputs,
        &connection,
        &ran,
        interrupts.received(),
    )
}

/// A stage before the run, cut short by Ctrl-C: nothing has been changed yet, so the command
/// ends at once with the signal's exit code.
async fn cancellable<T>(
    interrupts: &Interrupts,
    cancel: &Cancel,
    stage: impl Future<Output = Result<T, CliError>>,
) -> Result<T, CliError> {
    tokio::select! {
        biased;
        () = cancel.cancelled() => {
            let signal = interrupts.received().unwrap_or(Signal::Interrupt);
            Err(CliError::new(
                signal.exit_code(),
                format!("cancelled by {} before the policy ran; nothing was changed", signal.name()),
            ))
        }
        result = stage => result,
    }
}
