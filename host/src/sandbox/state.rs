//! The per-run store data: the state each WIT interface's host side works on (`host/`), the
//! run's clock, deadline and cancellation, and what the run records for its report.

use std::time::Duration;

use cutover_clock::Clock;

use super::cancel::Cancel;
use super::host::wasi::{HasWasi, WasiOptions, WasiState};
use super::limits::{Limits, MemoryCap, Records};
use crate::capabilities::Grants;
use crate::checkpoint::CheckpointStore;
use crate::cluster::Cluster;
use crate::report::{Event, Observer};
use crate::text::LogBudget;

/// Everything a run is set up with.
pub struct RunSetup {
    /// The cluster the run acts on (a real one or the simulator), on the run's clock.
    pub cluster: Cluster,
    /// What the policy declared and the operator granted.
    pub grants: Grants,
    pub limits: Limits,
    /// The run's clock: deadlines, sleeps and `now` follow it (virtual on the simulator).
    pub clock: Clock,
    /// Where checkpoints go (nowhere on a dry run).
    pub checkpoint: CheckpointStore,
    /// The run's pending revision: its journal is written before every mutating call.
    /// None on a dry run (and for runs that belong to no release, such as embedders' tests).
    pub release: Option<std::sync::Arc<crate::release::recorder::Recorder>>,
    /// Receives the run's events as they happen.
    pub observer: Observer,
    /// Lets the caller cancel the run (Ctrl-C).
    pub cancel: Cancel,
    pub wasi: WasiOptions,
}

/// Counters and records of one run, each bounded (see `limits.rs`).
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct RunStats {
    /// Host calls of the cluster and revisions interfaces made (denied and refused ones included).
    pub calls: u64,
    /// Calls refused by the capability check.
    pub denied: Records,
    /// Mutations that succeeded, e.g. `cordon v1/Node n1`.
    pub changed: Records,
    /// Log and progress lines dropped after the run's log bound was reached.
    pub log_dropped: u64,
}

/// The run's time: its clock, when it must end, and whether it was cancelled.
#[derive(Clone)]
pub(crate) struct RunTime {
    pub(crate) clock: Clock,
    /// When the run must end, by the run's clock.
    pub(crate) deadline: std::time::Instant,
    /// When the run must end by the wall clock too: on the simulator the run's clock stands
    /// still while the guest computes and while the host answers it at once, so a guest
    /// spinning, or looping on host calls, is cut by wall time.
    pub(crate) wall_deadline: std::time::Instant,
    pub(crate) timeout: Duration,
    pub(crate) cancel: Cancel,
}

impl RunTime {
    /// What is left of the run, by its clock.
    pub(crate) fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(self.clock.now())
    }

    /// Whether the run's deadline has passed, by its clock.
    pub(crate) fn past_deadline(&self) -> bool {
        self.clock.now() >= self.deadline
    }

    /// Whether the guest must be stopped now: the run's deadline passed, by its clock or by
    /// the wall clock.
    pub(crate) fn expired(&self) -> bool {
        self.past_deadline() || std::time::Instant::now() >= self.wall_deadline
    }
}

/// Everything one run's store holds.
pub struct RunState {
    pub(crate) limiter: MemoryCap,
    pub(crate) wasi: WasiState,
    pub(crate) time: RunTime,
    pub(crate) cluster: Cluster,
    pub(crate) grants: std::sync::Arc<Grants>,
    pub(crate) request_timeout: Duration,
    pub(crate) checkpoint: CheckpointStore,
    pub(crate) release: Option<std::sync::Arc<crate::release::recorder::Recorder>>,
    /// A dry run's view of the release's history: read, never written (None otherwise).
    pub(crate) read_only_history: Option<std::sync::Arc<super::host::revisions::ReadOnlyHistory>>,
    pub(crate) observer: Observer,
    pub(crate) log: LogBudget,
    pub(crate) stats: RunStats,
    /// The message of `runtime.report-panic`, if the guest reported a panic.
    pub(crate) panic: Option<String>,
    /// Whether the run's host calls are recorded or replayed (`host/taped.rs`).
    pub(crate) taping: Option<super::host::taped::Taping>,
    /// The positional inputs' files (`inputs.files`).
    pub(crate) inputs: std::sync::Arc<Vec<crate::input_files::InputFile>>,
    /// What the operator asked for, and the run's pause (`host/rollout.rs`).
    pub(crate) rollout: super::host::rollout::RolloutState,
    /// Where probes go: the network, or a scenario's scripted answers (`host/probe.rs`).
    pub(crate) probes: ProbeSource,
    /// The pods of the `evict-many` in flight, as far as each got, until they are recorded
    /// (`host/evict_many.rs`).
    pub(crate) evictions_in_flight: Option<super::host::evict_many::Progress>,
}

/// Where a run's probes are answered.
#[derive(Clone, Debug, Default)]
pub enum ProbeSource {
    /// The network: each probe is a real request to its granted endpoint.
    #[default]
    Network,
    /// A simulator scenario's `probes:` answers, by virtual time since the run started; an
    /// unanswered probe is `unavailable`, and nothing reaches the network.
    Scripted(std::sync::Arc<cutover_sim::probes::ProbeScript>),
}

impl RunState {
    /// A fresh state for one run; its deadline is `limits.timeout` from now.
    pub fn new(setup: RunSetup) -> RunState {
        let RunSetup {
            cluster,
            grants,
            limits,
            clock,
            checkpoint,
            release,
            observer,
            cancel,
            wasi,
        } = setup;
        let deadline = clock.now() + limits.timeout;
        let time = RunTime {
            clock: clock.clone(),
            deadline,
            wall_deadline: std::time::Instant::now() + limits.timeout,
            timeout: limits.timeout,
            cancel,
        };
        RunState {
            limiter: MemoryCap::new(limits.memory),
            wasi: WasiState::new(&clock, deadline, &wasi),
            time,
            cluster,
            grants: std::sync::Arc::new(grants),
            request_timeout: limits.request_timeout,
            checkpoint,
            release,
            read_only_history: None,
            observer,
            log: LogBudget::default(),
            stats: RunStats::default(),
            panic: None,
            taping: None,
            inputs: std::sync::Arc::default(),
            rollout: super::host::rollout::RolloutState::default(),
            probes: ProbeSource::Network,
            evictions_in_flight: None,
        }
    }

    /// Answers the run's probes from a simulator scenario instead of the network (`--sim`,
    /// `cutover test`).
    pub fn with_probes(mut self, probes: ProbeSource) -> RunState {
        self.probes = probes;
        self
    }

    /// Lets a dry run read the release's history (it has no revision of its own), so that
    /// a policy's plan can compare with what is deployed.
    pub fn with_read_only_history(
        mut self,
        store: crate::release::store::ReleaseStore,
    ) -> RunState {
        self.read_only_history = Some(std::sync::Arc::new(
            super::host::revisions::ReadOnlyHistory::new(store),
        ));
        self
    }

    /// Hands the policy the positional inputs' files.
    pub fn with_inputs(
        mut self,
        files: std::sync::Arc<Vec<crate::input_files::InputFile>>,
    ) -> RunState {
        self.inputs = files;
        self
    }

    /// Sets what `rollout.requested` answers (`start` until then): `cutover resume`,
    /// `promote`, `abort` and `retry` say why they run the revision again.
    pub fn with_request(
        mut self,
        request: super::bindings::cutover::policy::rollout::Request,
    ) -> RunState {
        self.rollout.requested = request;
        self
    }

    /// Records the run's host calls, or answers them from a tape (`cutover run --record`,
    /// `cutover test --replay`).
    pub fn with_taping(mut self, taping: super::host::taped::Taping) -> RunState {
        self.taping = Some(taping);
        self
    }

    /// Hands an event to the observer.
    pub(crate) fn emit(&mut self, event: Event) {
        (self.observer)(&event);
    }

    /// Hands an event the guest caused to the observer, within the run's log bound: its lines
    /// (log, progress, denials, failed calls) count towards [`crate::text::MAX_LOG`] by the
    /// size they are printed at (escaped, each cut at a line's bound); past it, one note, then nothing but a count. Debug
    /// lines, which are not printed, do not count: a flood of them cannot hide later warnings.
    pub(crate) fn emit_guest(&mut self, event: Event) {
        use crate::report::Level;
        use crate::text::{Admit, printed_len};
        let size = match &event {
            Event::Log {
                level: Level::Debug,
                ..
            } => {
                self.emit(event);
                return;
            }
            Event::Log { message, .. } | Event::Progress { message, .. } => printed_len(message),
            Event::Call {
                target, outcome, ..
            } => printed_len(target) + printed_len(outcome),
            Event::Denied { call, reason } => printed_len(call) + printed_len(reason),
        };
        match self.log.admit(size) {
            Admit::Line => self.emit(event),
            Admit::Cut(note) => self.emit(Event::Log {
                level: Level::Warn,
                message: note,
            }),
            Admit::Dropped => {}
        }
        self.stats.log_dropped = self.log.dropped();
    }

    /// The checkpoint store, for clearing it after success.
    pub fn checkpoint(&self) -> &CheckpointStore {
        &self.checkpoint
    }
}

impl wasmtime_wasi::WasiView for RunState {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        self.wasi.view()
    }
}

impl HasWasi for RunState {
    fn wasi_state(&mut self) -> &mut WasiState {
        &mut self.wasi
    }
}
