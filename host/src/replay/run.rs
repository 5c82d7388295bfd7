//! One replay: a policy run in the sandbox against a tape instead of a cluster, and the verdict:
//! as recorded, or where it went another way (a call, calls left over, how it ended).

use std::sync::atomic::Ordering;
use std::time::Duration;

use cutover_clock::Clock;
use serde_json::Value;

use super::offline;
use super::player::{Player, Stop};
use super::tape::{Call, RecordedOutcome, Tape};
use crate::capabilities::Grants;
use crate::checkpoint::CheckpointStore;
use crate::report::Observer;
use crate::sandbox::bindings::Invocation;
use crate::sandbox::cancel::Cancel;
use crate::sandbox::host::taped::Taping;
use crate::sandbox::host::wasi::WasiOptions;
use crate::sandbox::limits::Limits;
use crate::sandbox::run::{Prepared, Sandbox};
use crate::sandbox::state::{ProbeSource, RunSetup, RunState};
use crate::source::PolicySource;

/// What a replay runs with besides the tape and the policy.
pub struct ReplayOptions {
    /// The parameters the policy gets: the recorded ones unless given.
    pub params: Option<Value>,
    /// Receives the policy's log and progress lines.
    pub observer: Observer,
    /// The replay's clock: the policy's `now`, `deadline` and `sleep` come from the tape; this
    /// one drives only WASI clocks and the sandbox's own deadline.
    pub clock: Clock,
}

/// How a replay went.
#[derive(Debug)]
pub struct ReplayReport {
    pub verdict: Verdict,
    /// The calls answered from the tape.
    pub answered: usize,
    /// The tape's calls.
    pub recorded: usize,
    /// `sha256:<hex>` of the policy replayed, when it is not the recorded one.
    pub other_digest: Option<String>,
}

/// The verdict of a replay.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Every call was the recorded one, and the policy ended as the recorded run did.
    /// `unchecked` says what could not be compared (a recording cut short, a run ended from
    /// outside).
    Matched {
        outcome: RecordedOutcome,
        unchecked: Option<String>,
    },
    /// The policy went another way.
    Diverged(Divergence),
}

/// Where a replay went another way than the recording.
#[derive(Debug, PartialEq)]
pub enum Divergence {
    /// Call `number` is not the recorded one (`expected` none: the recording has no more).
    Call {
        number: usize,
        expected: Option<Call>,
        actual: Call,
    },
    /// The policy ended (as `ended`) before making the recorded calls from `number` on.
    Left {
        number: usize,
        expected: Call,
        left: usize,
        ended: RecordedOutcome,
    },
    /// Every call matched, but the policy ended another way.
    Outcome {
        expected: RecordedOutcome,
        actual: RecordedOutcome,
    },
}

/// Why a replay could not be carried out (not a verdict).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot start the WebAssembly engine: {0}")]
    Engine(String),
    #[error(transparent)]
    Prepare(#[from] crate::sandbox::run::PrepareError),
    #[error("the recording's call {number} has an answer the call cannot return: {reason}")]
    BadAnswer { number: usize, reason: String },
    #[error(
        "the replay sent {0} requests towards a cluster; a replay must send none (a bug in cutover)"
    )]
    ReachedCluster(u64),
}

/// Builds the sandbox and prepares the policy (compiled, or loaded from the cache).
pub fn prepare(
    policy: &PolicySource,
    cache_dir: Option<std::path::PathBuf>,
) -> Result<(Sandbox, Prepared), ReplayError> {
    let sandbox = Sandbox::new(cache_dir).map_err(|e| ReplayError::Engine(format!("{e:#}")))?;
    let prepared = sandbox.prepare(policy)?;
    Ok((sandbox, prepared))
}

/// Replays `tape` with `policy`: no cluster, every host call answered from the tape.
pub async fn replay(
    tape: &mut Tape,
    policy: &PolicySource,
    sandbox: &Sandbox,
    prepared: &Prepared,
    options: ReplayOptions,
) -> Result<ReplayReport, ReplayError> {
    let recorded = &tape.invocation;
    let (cluster, requests) = offline::cluster(&recorded.namespace, options.clock.clone());
    let open_ended = tape.truncated.is_some() || tape.outcome.ended_from_outside();
    // The calls move into the player: a tape of up to 68 MiB is held once, not twice.
    let recorded_calls = tape.calls.len();
    let player = Player::new(std::mem::take(&mut tape.calls), open_ended);
    let state = RunState::new(RunSetup {
        cluster,
        // Nothing is authorized in a replay, as nothing is performed: the recorded answers
        // carry the recorded run's denials.
        grants: Grants::new(&[], &[], &recorded.namespace),
        limits: Limits {
            timeout: Duration::from_millis(recorded.timeout_ms),
            memory: recorded.memory_limit,
            request_timeout: Duration::from_secs(30),
        },
        clock: options.clock.clone(),
        checkpoint: CheckpointStore::none(),
        release: None,
        observer: options.observer,
        cancel: Cancel::default(),
        wasi: WasiOptions {
            random_seed: tape.random_seed,
        },
    })
    .with_taping(Taping::Replay(player.clone()))
    // The tape answers every probe; none could reach the network even if it did not.
    .with_probes(ProbeSource::Scripted(Default::default()));
    let params = options.params.as_ref().unwrap_or(&recorded.params);
    let invocation = Invocation {
        release: recorded.release.clone(),
        namespace: recorded.namespace.clone(),
        params: params.to_string(),
        dry_run: recorded.dry_run,
        revision: recorded.revision,
        attempt: recorded.attempt,
    };
    let report = sandbox.run(prepared, state, &invocation).await;
    let reached = requests.load(Ordering::SeqCst);
    if reached > 0 {
        return Err(ReplayError::ReachedCluster(reached));
    }
    let ended = RecordedOutcome::of(&report.outcome);
    let verdict = match player.stop() {
        Some(Stop::BadAnswer { number, reason }) => {
            return Err(ReplayError::BadAnswer { number, reason });
        }
        Some(Stop::Diverged {
            number,
            expected,
            actual,
        }) => Verdict::Diverged(Divergence::Call {
            number,
            expected: expected.map(|call| *call),
            actual: *actual,
        }),
        Some(Stop::TapeEnded { number }) => Verdict::Matched {
            outcome: tape.outcome.clone(),
            unchecked: Some(format!(
                "the recording ends before call {number} ({}): the policy was stopped there",
                why_open(tape)
            )),
        },
        None => match player.first_left() {
            Some((expected, left)) => Verdict::Diverged(Divergence::Left {
                number: player.answered() + 1,
                expected,
                left,
                ended,
            }),
            None if tape.outcome.ended_from_outside() => Verdict::Matched {
                outcome: tape.outcome.clone(),
                unchecked: Some(format!(
                    "the recorded run was {}: how the policy ends was not compared (it {ended})",
                    tape.outcome
                )),
            },
            None if ended != tape.outcome => Verdict::Diverged(Divergence::Outcome {
                expected: tape.outcome.clone(),
                actual: ended,
            }),
            None => Verdict::Matched {
                outcome: ended,
                unchecked: None,
            },
        },
    };
    let digest = format!("sha256:{}", policy.digest);
    Ok(ReplayReport {
        verdict,
        answered: player.answered(),
        recorded: recorded_calls,
        other_digest: (digest != tape.policy.digest).then_some(digest),
    })
}

/// Why a tape ends before its run did.
fn why_open(tape: &Tape) -> String {
    match &tape.truncated {
        Some(note) => crate::text::line(note),
        None => format!("the recorded run was {}", tape.outcome),
    }
}
