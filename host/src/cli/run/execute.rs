//! Stage 6 of `cutover run`: the policy runs in a fresh sandbox store, on the run's clock, with
//! its limits, cancellable by Ctrl-C. (The release lock and the pending revision will be taken
//! just before this stage, in a stage of their own.)

use std::time::Duration;

use cutover_clock::Clock;

use super::connect::Connection;
use super::inputs::Inputs;
use crate::capabilities::Grants;
use crate::checkpoint::CheckpointStore;
use crate::cli::RunArgs;
use crate::report::Observer;
use crate::sandbox::bindings::Invocation;
use crate::sandbox::cancel::Cancel;
use crate::sandbox::host::wasi::WasiOptions;
use crate::sandbox::run::{Prepared, RunReport, Sandbox};
use crate::sandbox::state::{RunSetup, RunState};

/// What running the policy produced, with the time it took.
pub(super) struct Ran {
    pub(super) report: RunReport,
    /// Simulated time, on the simulator.
    pub(super) simulated: Option<Duration>,
    pub(super) wall: Duration,
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn run(
    sandbox: &Sandbox,
    prepared: &Prepared,
    args: &RunArgs,
    inputs: &Inputs,
    connection: &mut Connection,
    grants: Grants,
    clock: &Clock,
    cancel: &Cancel,
    observer: Observer,
) -> Ran {
    let namespace = connection.namespace().to_string();
    let invocation = Invocation {
        release: inputs.release.clone(),
        namespace: namespace.clone(),
        params: inputs.params.to_string(),
        dry_run: args.dry_run,
        revision: 0,
        attempt: 1,
    };
    // A simulated cluster starts afresh every run, and a dry run keeps nothing: neither reads,
    // writes nor clears a checkpoint.
    let checkpoint = if connection.sim.is_some() || args.dry_run {
        CheckpointStore::none()
    } else {
        CheckpointStore::for_release(&connection.target.server, &namespace, &inputs.release)
    };
    let wasi = WasiOptions {
        random_seed: connection.sim.as_ref().map(|sim| sim.scenario.seed),
    };
    let state = RunState::new(RunSetup {
        cluster: connection.cluster.clone().with_dry_run(args.dry_run),
        grants,
        limits: inputs.limits,
        clock: clock.clone(),
        checkpoint,
        observer,
        cancel: cancel.clone(),
        wasi,
    });
    let started = clock.now();
    let wall = std::time::Instant::now();
    let report = sandbox.run(prepared, state, &invocation).await;
    let simulated = connection.sim.as_ref().map(|_| clock.since(started));
    if let Some(controllers) = connection
        .sim
        .as_mut()
        .and_then(|sim| sim.controllers.take())
    {
        controllers.stop();
    }
    Ran {
        report,
        simulated,
        wall: wall.elapsed(),
    }
}
