//! One run of a policy: the prepared component (compiled once, pre-instantiated) and a fresh
//! store per run whose epoch callback stops the guest at the run's deadline or on
//! cancellation; every way a run can end, typed.

use std::time::Duration;

use wasmtime::component::Linker;
use wasmtime::{Engine, Store, UpdateDeadline};

use super::bindings::{Invocation, RolloutPolicy, RolloutPolicyPre};
use super::cache::ComponentCache;
use super::engine;
use super::host::call::{error_kind, error_message};
use super::host::taped::{Taped, TapedData};
use super::host::wasi;
use super::outcome::{Evidence, Interrupt, Outcome, Stop, classify};
use super::state::{RunState, RunStats};
use super::ticker::EpochTicker;
use super::world::{self, WorldError};
use crate::source::PolicySource;
use crate::text;

/// How long after its deadline a run stuck outside guest code (in a host call, which epochs
/// cannot interrupt) is abandoned. Host calls end at the deadline themselves; this is the
/// backstop, well inside the promise of "at most a second past --timeout".
const BACKSTOP: Duration = Duration::from_millis(500);

/// Resolves at the run's wall deadline and the backstop, by real time: on a virtual clock the
/// run's deadline says nothing about wall time, and a guest looping on host calls that are
/// answered at once, or an import waiting on something real, must end all the same.
async fn wall_backstop(time: &super::state::RunTime) {
    tokio::time::sleep_until((time.wall_deadline + BACKSTOP).into()).await;
}

/// Why a component could not be prepared to run.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("{0}: not a valid WebAssembly component: {1}")]
    Compile(String, String),
    #[error("{0} is not a cutover policy: {1}")]
    World(String, WorldError),
    #[error("{0} does not fit the {package}@{version} world: {1}", package = world::PACKAGE, version = world::VERSION)]
    Link(String, String),
}

/// The engine, its epoch ticker, the compile cache and the linker every run shares.
pub struct Sandbox {
    engine: Engine,
    cache: ComponentCache,
    linker: Linker<RunState>,
    _ticker: EpochTicker,
}

/// A policy compiled and pre-instantiated: each run instantiates from it in microseconds.
pub struct Prepared {
    pre: RolloutPolicyPre<RunState>,
}

impl Sandbox {
    /// Builds the engine, starts its one epoch ticker, and builds the linker: cutover's own
    /// interfaces plus WASI with nothing behind it.
    pub fn new(cache_dir: Option<std::path::PathBuf>) -> wasmtime::Result<Sandbox> {
        let engine = engine::build()?;
        let mut linker = Linker::new(&engine);
        wasi::add_to_linker(&mut linker)?;
        // Every import through the tape layer, which forwards to the host side unless a tape
        // answers it.
        RolloutPolicy::add_to_linker::<RunState, TapedData>(&mut linker, |state| Taped(state))?;
        let cache = ComponentCache::new(&engine, cache_dir);
        let ticker = EpochTicker::start(&engine)?;
        Ok(Sandbox {
            engine,
            cache,
            linker,
            _ticker: ticker,
        })
    }

    /// Why the compile cache is not used, if it is not (its directory is not ours alone).
    pub fn cache_refused(&self) -> Option<&str> {
        self.cache.refused()
    }

    /// Compiles (or loads from the cache) and pre-instantiates a policy.
    pub fn prepare(&self, policy: &PolicySource) -> Result<Prepared, PrepareError> {
        let label = policy.label();
        let component = self
            .cache
            .load(&self.engine, &policy.digest, &policy.bytes)
            .map_err(|e| PrepareError::Compile(label.clone(), one_line(&e)))?;
        world::check(&self.engine, &component)
            .map_err(|e| PrepareError::World(label.clone(), e))?;
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| PrepareError::Link(label.clone(), one_line(&e)))?;
        let pre = RolloutPolicyPre::new(instance_pre)
            .map_err(|e| PrepareError::Link(label, one_line(&e)))?;
        Ok(Prepared { pre })
    }

    /// Runs a prepared policy once in a fresh store. The run ends when the policy returns, at
    /// its deadline (by the run's clock, or by the wall clock while the guest computes), when it
    /// is cancelled, or when it traps.
    pub async fn run(
        &self,
        prepared: &Prepared,
        state: RunState,
        invocation: &Invocation,
    ) -> RunReport {
        let time = state.time.clone();
        let started = time.clock.now();
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        // Resource handles a guest creates of its own types (`resource.new`): host memory too.
        store.set_max_component_handles(super::limits::MAX_RESOURCES);
        // Every tick, look at the clock: the deadline is measured, never counted in ticks, so
        // runs sharing the engine (and its one ticker) never shorten each other's. Yielding at
        // each tick lets the runtime run the signal handler and the simulator's controllers
        // even while a guest spins.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|ctx| {
            let time = &ctx.data().time;
            if time.cancel.is_cancelled() {
                return Err(Interrupt::Cancelled.into());
            }
            if time.expired() {
                return Err(Interrupt::Deadline.into());
            }
            Ok(UpdateDeadline::Yield(1))
        });

        let mut instantiating = true;
        let backstop = time.deadline + BACKSTOP;
        let call = async {
            let instance = prepared.pre.instantiate_async(&mut store).await?;
            instantiating = false;
            instance.call_run(&mut store, invocation).await
        };
        let result = tokio::select! {
            biased;
            () = time.cancel.cancelled() => None,
            r = time.clock.timeout_at(backstop, call) => Some(r),
            () = wall_backstop(&time) => Some(Err(cutover_clock::Elapsed)),
        };
        // A host call cut short by the cancel or a backstop was dropped with the guest: what
        // its pods got to is recorded now.
        store.data_mut().settle_evictions();

        let state = store.data();
        let evidence = Evidence {
            memory: state.limiter.exceeded,
            table: state.limiter.table_exceeded,
            panic: state.panic.clone(),
            instantiating,
        };
        let outcome = match result {
            _ if time.cancel.is_cancelled() => {
                Outcome::Cancelled(time.cancel.reason().unwrap_or("cancelled").to_string())
            }
            None => Outcome::Cancelled("cancelled".into()),
            Some(Err(_elapsed)) => Outcome::Stopped(Stop::Deadline(time.timeout)),
            // The deadline is hard: a guest that returns after it (its host calls cut short,
            // with no guest instruction left to interrupt) has still overrun. Only the run's
            // clock says so here: a result that came back is never taken for a spin.
            Some(Ok(Ok(_))) if time.past_deadline() => {
                Outcome::Stopped(Stop::Deadline(time.timeout))
            }
            Some(Ok(Ok(Ok(outcome)))) => {
                Outcome::Succeeded(text::cap(&outcome.summary, text::MAX_LINE))
            }
            Some(Ok(Ok(Err(error)))) => Outcome::Failed {
                kind: error_kind(&error).to_string(),
                message: text::cap(error_message(&error), text::MAX_LINE),
            },
            Some(Ok(Err(error))) => {
                tracing::debug!("the policy stopped: {error:?}");
                Outcome::Stopped(classify(&error, &evidence, time.timeout))
            }
        };
        let state = store.data();
        let (stdout, stdout_cut) = state.wasi.stdout.contents();
        let (stderr, stderr_cut) = state.wasi.stderr.contents();
        RunReport {
            outcome,
            elapsed: time.clock.since(started),
            stats: state.stats.clone(),
            guest_stdout: String::from_utf8_lossy(&stdout).into_owned(),
            guest_stderr: String::from_utf8_lossy(&stderr).into_owned(),
            guest_output_cut: stdout_cut.saturating_add(stderr_cut),
            paused: state.rollout.paused.clone(),
        }
    }
}

/// The report of one run.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub outcome: Outcome,
    /// How long the run took by its clock (simulated time on the simulator).
    pub elapsed: Duration,
    pub stats: RunStats,
    /// What the guest wrote to stdout and stderr, unescaped (print it with `text::line`).
    pub guest_stdout: String,
    pub guest_stderr: String,
    /// Bytes of stdout and stderr dropped past their bound.
    pub guest_output_cut: u64,
    /// The status of the policy's last `rollout.pause` (escaped, at most 4 KiB), if it paused:
    /// a run that then succeeds leaves its revision paused.
    pub paused: Option<String>,
}

fn one_line(error: &wasmtime::Error) -> String {
    format!("{error:#}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
