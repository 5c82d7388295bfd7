//! Stage 7 of `cutover run`: the policy runs in a fresh sandbox store, on the run's clock, with
//! its limits, cancellable by Ctrl-C, journaling into the revision the release stage wrote.

use std::time::Duration;

use cutover_clock::Clock;

use super::connect::Connection;
use super::inputs::Inputs;
use super::release::Held;
use crate::capabilities::Grants;
use crate::checkpoint::CheckpointStore;
use crate::cli::RunArgs;
use crate::replay::Recording;
use crate::report::Observer;
use crate::sandbox::bindings::Invocation;
use crate::sandbox::bindings::cutover::policy::rollout::Request;
use crate::sandbox::cancel::Cancel;
use crate::sandbox::host::taped::Taping;
use crate::sandbox::host::wasi::WasiOptions;
use crate::sandbox::run::{Prepared, RunReport, Sandbox};
use crate::sandbox::state::{ProbeSource, RunSetup, RunState};

/// What running the policy produced, with the time it took.
pub(super) struct Ran {
    pub(super) report: RunReport,
    /// Simulated time, on the simulator.
    pub(super) simulated: Option<Duration>,
    pub(super) wall: Duration,
    /// What became of the release's revision (none on a dry run), filled in once settled.
    pub(super) settlement: Option<super::release::Settlement>,
    /// What the policy was invoked with, and when it started (Unix ms by the run's clock).
    pub(super) invocation: Invocation,
    pub(super) started_ms: u64,
    /// The policy's progress events, for `-o json|yaml`, filled in after the run.
    pub(super) progress: super::report::KeptProgress,
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
    held: Option<&Held>,
    recording: Option<&Recording>,
    request: Request,
) -> Ran {
    let namespace = connection.namespace().to_string();
    let recorder = held.map(|h| h.recorder.clone());
    let (revision, attempt) = match &recorder {
        Some(r) => (r.number().await, r.attempt().await),
        None => (0, 1),
    };
    let invocation = Invocation {
        release: inputs.release.clone(),
        namespace: namespace.clone(),
        params: inputs.params.to_string(),
        dry_run: args.dry_run,
        revision,
        attempt,
    };
    // A dry run keeps nothing: it neither reads nor writes a checkpoint.
    let checkpoint = match &recorder {
        Some(r) => CheckpointStore::for_release(r.clone()),
        None => CheckpointStore::none(),
    };
    let cluster = match held {
        Some(h) => h.cluster.clone(),
        None => connection.cluster.clone().with_dry_run(args.dry_run),
    };
    let wasi = WasiOptions {
        random_seed: connection.sim.as_ref().map(|sim| sim.scenario.seed),
    };
    let state = RunState::new(RunSetup {
        cluster,
        release: recorder,
        grants,
        limits: inputs.limits,
        clock: clock.clone(),
        checkpoint,
        observer,
        cancel: cancel.clone(),
        wasi,
    })
    .with_inputs(inputs.files.clone())
    .with_request(request);
    // A dry run has no revision, but its plan may compare with what is deployed.
    let state = match held {
        None if args.dry_run => {
            state.with_read_only_history(crate::release::store::ReleaseStore::new(
                &connection.cluster,
                &namespace,
                &inputs.release,
            ))
        }
        _ => state,
    };
    // On the simulator no probe reaches the network: the scenario's `probes:` answer them.
    let state = match &connection.sim {
        Some(sim) => state.with_probes(ProbeSource::Scripted(sim.scenario.probes.clone())),
        None => state,
    };
    let state = match recording {
        Some(recording) => state.with_taping(Taping::Record(recording.clone())),
        None => state,
    };
    let started_ms = clock.unix_millis();
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
        settlement: None,
        invocation,
        started_ms,
        progress: Default::default(),
    }
}
