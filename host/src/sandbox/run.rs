//! One run of a policy: the prepared component (compiled once, pre-instantiated) and a fresh
//! store per run with its deadline and memory cap; every way a run can end, typed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

// The run's clock is tokio's, as for every host-call deadline and sleep: virtual when the
// simulator runs under a paused clock. Only the epoch ticker (guest CPU) follows wall time.
use tokio::time::Instant;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Engine, Store, Trap};

use super::bindings::{Invocation, RolloutPolicy, RolloutPolicyPre};
use super::cache::ComponentCache;
use super::engine::{self, EPOCH_TICK};
use super::limits::{Limits, MemoryCapExceeded};
use super::state::{RunState, RunStats, error_kind, error_message};
use super::world::{self, WorldError};
use crate::source::PolicySource;

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

/// The engine, the compile cache and the linker every run shares.
pub struct Sandbox {
    engine: Engine,
    cache: ComponentCache,
    linker: Linker<RunState>,
}

/// A policy compiled and pre-instantiated: each run instantiates from it in microseconds.
pub struct Prepared {
    pre: RolloutPolicyPre<RunState>,
}

impl Sandbox {
    /// Builds the engine and the linker: cutover's own interfaces plus WASI with nothing behind it.
    pub fn new(cache_dir: Option<std::path::PathBuf>) -> wasmtime::Result<Sandbox> {
        let engine = engine::build()?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        RolloutPolicy::add_to_linker::<RunState, HasSelf<RunState>>(&mut linker, |state| state)?;
        let cache = ComponentCache::new(&engine, cache_dir);
        Ok(Sandbox {
            engine,
            cache,
            linker,
        })
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

    /// Runs a prepared policy once in a fresh store, within `limits`.
    pub async fn run(
        &self,
        prepared: &Prepared,
        state: RunState,
        invocation: &Invocation,
        limits: &Limits,
    ) -> RunReport {
        let started = Instant::now();
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.memory);
        let ticks = (limits.timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        let ticker = EpochTicker::start(self.engine.clone());

        // The epoch deadline stops guest code; this backstop stops a run stuck in a host call,
        // which epochs cannot interrupt (host calls also have their own deadlines).
        let backstop = limits.timeout + Duration::from_secs(2);
        let result = tokio::time::timeout(backstop, async {
            let instance = prepared.pre.instantiate_async(&mut store).await?;
            instance.call_run(&mut store, invocation).await
        })
        .await;
        ticker.stop();

        let state = store.data();
        let outcome = match result {
            Err(_elapsed) => Outcome::Stopped(Stop::Deadline(limits.timeout)),
            // The deadline is hard: a guest that returns after it (its host calls cut short,
            // with no guest instruction left to interrupt) has still overrun.
            Ok(Ok(_)) if started.elapsed() >= limits.timeout => {
                Outcome::Stopped(Stop::Deadline(limits.timeout))
            }
            Ok(Ok(Ok(outcome))) => Outcome::Succeeded(outcome.summary),
            Ok(Ok(Err(error))) => Outcome::Failed {
                kind: error_kind(&error).to_string(),
                message: error_message(&error).to_string(),
            },
            Ok(Err(error)) => classify(
                &error,
                state.memory.exceeded,
                state.stats.panic.clone(),
                limits,
            ),
        };
        if matches!(outcome, Outcome::Succeeded(_)) {
            state.checkpoint().clear();
        }
        RunReport {
            outcome,
            elapsed: started.elapsed(),
            stats: state.stats.clone(),
            guest_stdout: String::from_utf8_lossy(&state.stdout.contents()).into_owned(),
            guest_stderr: String::from_utf8_lossy(&state.stderr.contents()).into_owned(),
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The policy returned Ok with this summary.
    Succeeded(String),
    /// The policy returned an error (a WIT `error` variant and its message).
    Failed { kind: String, message: String },
    /// The sandbox stopped the policy.
    Stopped(Stop),
    /// The host itself failed (instantiation, a bug): not the policy's doing.
    HostError(String),
}

/// Why the sandbox stopped a policy; decided from typed traps and limiter state, never from
/// error text.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// The run's deadline (`--timeout`) passed.
    Deadline(Duration),
    /// The policy grew its memory past the cap.
    Memory(MemoryCapExceeded),
    /// The policy panicked; the message as its panic hook reported it.
    Panic(String),
    /// Any other trap (stack overflow, out-of-bounds access, ...).
    Trap(String),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Deadline(limit) => write!(
                f,
                "the policy ran past its deadline of {} and was stopped (raise it with --timeout)",
                crate::units::format_duration(*limit)
            ),
            Stop::Memory(exceeded) => write!(
                f,
                "{exceeded} and was stopped (raise it with --memory-limit)"
            ),
            Stop::Panic(message) => write!(f, "the policy panicked: {message}"),
            Stop::Trap(trap) => write!(f, "the policy trapped: {trap}"),
        }
    }
}

/// The report of one run.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub outcome: Outcome,
    pub elapsed: Duration,
    pub stats: RunStats,
    pub guest_stdout: String,
    pub guest_stderr: String,
}

fn classify(
    error: &wasmtime::Error,
    memory: Option<MemoryCapExceeded>,
    panic: Option<String>,
    limits: &Limits,
) -> Outcome {
    if let Some(exceeded) = memory {
        return Outcome::Stopped(Stop::Memory(exceeded));
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => Outcome::Stopped(Stop::Deadline(limits.timeout)),
        Some(Trap::UnreachableCodeReached) if panic.is_some() => {
            Outcome::Stopped(Stop::Panic(panic.unwrap_or_default()))
        }
        Some(trap) => Outcome::Stopped(Stop::Trap(trap.to_string())),
        None => Outcome::HostError(one_line(error)),
    }
}

/// Advances the engine's epoch every tick on its own thread, so a guest spinning on the only
/// async worker is still interrupted.
struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    fn start(engine: Engine) -> EpochTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        });
        EpochTicker { stop }
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop();
    }
}

fn one_line(error: &wasmtime::Error) -> String {
    format!("{error:#}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
