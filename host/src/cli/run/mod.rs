//! `cutover run`: a pipeline of stages with one job and one module each — resolve the policy,
//! check the inputs, prepare the sandbox, connect, authorize, lock the release and write its
//! pending revision, run (and write its recording, with `--record`), settle the revision, report
//! (docs/cli.md lists them in this order).
//! A later feature goes into exactly one stage: the signature check into `resolve`, a grant
//! file into `authorize`. `cutover resume` runs the same pipeline on the latest revision.

mod authorize;
pub(in crate::cli) mod connect;
mod execute;
mod inputs;
mod live;
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

/// The pipeline, for a new revision or a resume of the latest, shown live.
pub(in crate::cli) async fn execute_as(
    args: RunArgs,
    clock: Clock,
    start: release::Start,
) -> Result<ExitCode, CliError> {
    let format = args.output.output;
    let finished = pipeline(&args, clock, start, Show::Live(format)).await?;
    report::finish(
        format,
        &args,
        &finished.policy,
        &finished.inputs,
        &finished.connection,
        &finished.ran,
        finished.signal,
    )
}

/// How a run shows itself while it happens.
pub(in crate::cli) enum Show {
    /// On the terminal, in this format (`cutover run`).
    Live(super::Format),
    /// Nothing printed; every event goes to this observer (`cutover test`).
    Quiet(crate::report::Observer),
}

/// A run that got as far as the policy: what it ran, on what, and what came of it.
pub(in crate::cli) struct Finished {
    policy: crate::source::PolicySource,
    inputs: inputs::Inputs,
    connection: connect::Connection,
    ran: execute::Ran,
    signal: Option<Signal>,
}

impl Finished {
    /// The exit code, the status and the error line `cutover run` reports for this run.
    pub(in crate::cli) fn verdict(&self) -> report::Verdict {
        report::verdict(&self.inputs, &self.ran, self.signal)
    }

    /// The cluster the run acted on (the simulator's, for `cutover test`).
    pub(in crate::cli) fn cluster(&self) -> &crate::cluster::Cluster {
        &self.connection.cluster
    }

    /// The release the run acted for.
    pub(in crate::cli) fn release(&self) -> &str {
        &self.inputs.release
    }

    /// The run's namespace.
    pub(in crate::cli) fn namespace(&self) -> &str {
        self.connection.namespace()
    }

    /// What became of the run's revision: its status, `removed` (a failed first install wholly
    /// undone), `unsettled` (it could not be settled), or none on a dry run.
    pub(in crate::cli) fn release_status(&self) -> Option<String> {
        let settlement = self.ran.settlement.as_ref()?;
        Some(match &settlement.settled {
            Ok(settled) if settled.removed => "removed".to_string(),
            Ok(settled) => settled
                .status
                .map_or("unsettled", |s| s.as_str())
                .to_string(),
            Err(_) => "unsettled".to_string(),
        })
    }

    /// Simulated time the run took, on the simulator.
    pub(in crate::cli) fn simulated(&self) -> Option<std::time::Duration> {
        self.ran.simulated
    }

    /// The connection the run used, for another run on the same (simulated) cluster.
    pub(in crate::cli) fn into_connection(self) -> connect::Connection {
        self.connection
    }
}

/// Every stage up to the settled revision; an error is the one line of a stage that refused.
pub(in crate::cli) async fn pipeline(
    args: &RunArgs,
    clock: Clock,
    start: release::Start,
    show: Show,
) -> Result<Finished, CliError> {
    pipeline_on(args, clock, start, show, None).await
}

/// [`pipeline`], on the connection of an earlier run when `reuse` is given (`cutover test`'s
/// `run.then` steps, on the same simulated cluster and clock): its controllers start again.
pub(in crate::cli) async fn pipeline_on(
    args: &RunArgs,
    clock: Clock,
    start: release::Start,
    show: Show,
    reuse: Option<connect::Connection>,
) -> Result<Finished, CliError> {
    let cancel = Cancel::default();
    let interrupts = Interrupts::install(cancel.clone())
        .map_err(|e| CliError::new(ExitCode::Internal, format!("cannot listen for Ctrl-C: {e}")))?;
    let live = match &show {
        Show::Live(format) => Some(*format),
        Show::Quiet(_) => None,
    };

    // Everything that can be checked without a cluster is checked first, so that bad input
    // never costs a connection and never touches anything.
    let policy = resolve::policy(&args.policy)?;
    let mut inputs = inputs::check(args, &policy)?;
    if let Some(path) = &args.record {
        record::check_path(path, args)?;
    }
    // Compiling a large module takes a while: it runs off the runtime's thread, so that Ctrl-C
    // still ends the run at once.
    let (sandbox, prepared) =
        cancellable(&interrupts, &cancel, prepare::prepare(policy.clone())).await?;

    let mut connection = match reuse {
        Some(mut connection) => {
            if let Some(sim) = connection.sim.as_mut() {
                sim.restart_controllers();
            }
            connection
        }
        None => {
            cancellable(&interrupts, &cancel, async {
                connect::connect(args, &mut inputs, &clock).await
            })
            .await?
        }
    };
    // The target line first: a refusal then says which cluster and namespace it was for.
    if let Some(format) = live {
        report::target(format, &connection);
    }
    let grants = authorize::grants(&policy, &inputs, connection.namespace(), &args.policy)?;
    cancellable(&interrupts, &cancel, connect::reach(&connection, args)).await?;
    // A chart's values on an upgrade: merged with the last deployed revision's (Helm's rules).
    cancellable(&interrupts, &cancel, async {
        inputs::with_last_values(args, &policy.manifest, &mut inputs, &connection.cluster).await
    })
    .await?;

    // Not cut short by Ctrl-C: once the lock is taken and the revision written, the run goes
    // on to settle them (a Ctrl-C then stops the policy at once, and the revision is failed).
    let held = release::begin(args, &policy, &inputs, &connection, &clock, &start).await?;
    if let Some(format) = live {
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
        // The network endpoints this run may reach, in full (the grammar lets only DNS names,
        // IPv4 addresses and ports through, so nothing needs escaping): a parameter, or a
        // resumed revision's recorded values, named them.
        let probes: Vec<String> = inputs
            .declared
            .iter()
            .map(ToString::to_string)
            .filter(|c| c.starts_with("probe/"))
            .collect();
        if !probes.is_empty() {
            report::announce(format, &format!("Probe endpoints: {}", probes.join(", ")));
        }
    }
    let progress = report::ProgressLog::default();
    let (observer, display) = match show {
        Show::Live(format) => {
            let (observer, display) = report::live_printer(format);
            (progress.keeping(observer), display)
        }
        Show::Quiet(observer) => (observer, None),
    };
    let recording = record::start(args);
    let mut ran = execute::run(
        &sandbox,
        &prepared,
        args,
        &inputs,
        &mut connection,
        grants,
        &clock,
        &cancel,
        observer,
        held.as_ref(),
        recording.as_ref(),
        start.request(),
    )
    .await;
    if let Some(display) = &display {
        display.clear();
    }
    ran.progress = progress.take();
    if let (Some(path), Some(recording)) = (&args.record, &recording) {
        record::save(live, path, recording, &policy, &inputs, &connection, &ran);
    }
    if let Some(held) = held {
        ran.settlement = Some(
            release::settle(
                held,
                args,
                policy.manifest.rollback_on_failure,
                &start,
                &ran.report,
                &clock,
            )
            .await,
        );
    }
    Ok(Finished {
        policy,
        inputs,
        connection,
        ran,
        signal: interrupts.received(),
    })
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
