//! The host side of `evict-many`: every pod named and authorized first, then evicted and waited on, `concurrency` at a time, each recorded as the `evict` it is — also when the call is cut short.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;

use super::call::{CallError, authorize};
use super::cluster::{MAX_WAIT_ARG, call_on, journal_after, journal_before};
use crate::cluster::{self as k8s, Cluster, Located};
use crate::release::journal;
use crate::release::recorder::Recorder;
use crate::report::Event;
use crate::sandbox::bindings::cutover::policy::{cluster, types};
use crate::sandbox::limits::MAX_CHANGE_RECORDS;
use crate::sandbox::state::RunState;
use crate::text;

use types::Error;

/// The most pods one `evict-many` takes, and the most it evicts at once.
const MAX_EVICT_MANY: usize = 1_000;
const MAX_EVICT_CONCURRENCY: u32 = 64;

/// How far one pod of the call got: kept outside the call's future, so that a call ended by
/// Ctrl-C or by the run's deadline while its pods are in flight still records each eviction
/// the server accepted (in the run's changes and its audit trail), not only the batch's end.
#[derive(Clone, Debug)]
pub(crate) struct PodProgress {
    target: String,
    /// The server accepted the eviction (not when the pod was already gone).
    evicted: bool,
    /// The pod's answer, once it has one.
    outcome: Option<Result<(), Error>>,
}

/// Every pod's progress, by its place in the call.
pub(crate) type Progress = Arc<Mutex<Vec<Option<PodProgress>>>>;

fn note(progress: &Progress, index: usize, entry: PodProgress) {
    // Nothing panics under the lock; were it poisoned, the entries in it are still right.
    let mut all = progress.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(slot) = all.get_mut(index) {
        *slot = Some(entry);
    }
}

impl RunState {
    /// `evict-many`: see `wit/cluster.wit`.
    pub(super) async fn evict_many_call(
        &mut self,
        pods: Vec<cluster::PodRef>,
        concurrency: u32,
        timeout_ms: u64,
    ) -> Result<Vec<Result<(), Error>>, Error> {
        let own = Duration::from_millis(timeout_ms).min(self.time.remaining());
        let slack = Some(own + Duration::from_secs(1));
        let label = requested_label(&pods);
        let checked = check_evict_many(&pods, concurrency);
        // Sized only once the pods are within bounds: a refused call keeps no copy of them.
        let slots = if checked.is_ok() { pods.len() } else { 0 };
        let progress: Progress = Arc::new(Mutex::new(vec![None; slots]));
        self.evictions_in_flight = Some(progress.clone());
        let (cluster, grants) = (self.cluster.clone(), self.grants.clone());
        let recorder = self.release.clone();
        let kept = progress;
        let answered = self
            .perform("evict-many", label, slack, true, async move {
                checked?;
                // Every pod is named, then every one authorized, before the first eviction: a
                // hostile name is `invalid` before any pod is checked against the grants, and a
                // denied pod refuses the call, with nothing evicted.
                let mut located = Vec::with_capacity(pods.len());
                for pod in &pods {
                    let loc = cluster.locate_pod(&pod.namespace, &pod.name)?;
                    located.push((loc, pod.uid.clone()));
                }
                for (loc, _) in &located {
                    authorize(&grants, &call_on("evict", loc))?;
                }
                let clock = cluster.clock().clone();
                let deadline = clock.now() + own;
                let pods_label = match located.as_slice() {
                    [] => "no pods".to_string(),
                    [(one, _)] => one.label(),
                    [(first, _), rest @ ..] => format!("{} and {} more", first.label(), rest.len()),
                };
                let evictions: Vec<_> = located
                    .into_iter()
                    .enumerate()
                    .map(|(index, (loc, uid))| {
                        let (cluster, recorder, clock) =
                            (cluster.clone(), recorder.clone(), clock.clone());
                        let progress = kept.clone();
                        async move {
                            let left = deadline.saturating_duration_since(clock.now());
                            let one = Eviction {
                                cluster: &cluster,
                                recorder: &recorder,
                                pod: &loc,
                                progress: &progress,
                                index,
                            };
                            one.evict_and_wait(uid, left).await
                        }
                    })
                    .collect();
                let answer: Vec<Result<(), Error>> = futures::stream::iter(evictions)
                    .buffered(concurrency as usize)
                    .collect()
                    .await;
                // Each eviction is reported as a change of its own, below.
                let reached = super::call::Reached {
                    label: pods_label,
                    changed: false,
                };
                Ok((answer, reached))
            })
            .await;
        self.settle_evictions();
        answered
    }

    /// One record per pod of the last `evict-many`, as `evict` makes: the audit trail and the
    /// run's changes name every pod evicted, not only the batch. Called when the call ends,
    /// and by the sandbox once the run has ended: a run cancelled (Ctrl-C) or stopped at its
    /// deadline while the call was in flight drops the call with the guest, and its pods'
    /// progress is then all that says which evictions the server accepted.
    pub(crate) fn settle_evictions(&mut self) {
        let Some(progress) = self.evictions_in_flight.take() else {
            return;
        };
        let settled: Vec<PodProgress> = progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
            .flatten()
            .collect();
        for pod in settled {
            self.record_eviction(pod);
        }
    }

    fn record_eviction(&mut self, pod: PodProgress) {
        // An eviction the server accepted is a change, even when the pod then outlived the
        // wait for it to go, or the call ended first.
        if pod.evicted {
            self.stats
                .changed
                .push(format!("evict {}", pod.target), MAX_CHANGE_RECORDS);
        }
        let (operation, target) = ("evict".to_string(), pod.target);
        match pod.outcome {
            Some(Ok(())) => self.emit(Event::Call {
                operation,
                target,
                outcome: "ok".into(),
            }),
            Some(Err(e)) => self.emit_guest(Event::Call {
                operation,
                target,
                outcome: super::call::error_message(&e).to_string(),
            }),
            None => self.emit(Event::Call {
                operation,
                target,
                outcome: "evicted; the call ended before the pod was gone".into(),
            }),
        }
    }
}

/// `v1/Pod ns/name and N more`, as the guest asked (escaped: nothing is checked yet).
fn requested_label(pods: &[cluster::PodRef]) -> String {
    let Some(first) = pods.first() else {
        return "no pods".to_string();
    };
    let first = format!(
        "v1/Pod {}/{}",
        text::escape(&first.namespace, 128),
        text::escape(&first.name, 128)
    );
    match pods.len() {
        1 => first,
        count => format!("{first} and {} more", count - 1),
    }
}

/// One pod of `evict-many`, with where its progress goes.
struct Eviction<'a> {
    cluster: &'a Cluster,
    recorder: &'a Option<Arc<Recorder>>,
    pod: &'a Located,
    progress: &'a Progress,
    index: usize,
}

impl Eviction<'_> {
    /// Journaled, evicted (a budget's refusal retried), then waited on until the pod with its
    /// uid is gone, the two within `left`; the pod's answer, its progress noted as it goes.
    async fn evict_and_wait(self, uid: Option<String>, left: Duration) -> Result<(), Error> {
        let (evicted, outcome) = self.attempt(uid, left).await;
        let entry = PodProgress {
            target: self.pod.label(),
            evicted,
            outcome: Some(outcome.clone()),
        };
        note(self.progress, self.index, entry);
        outcome
    }

    /// Says whether this call evicted the pod (not when it was already gone), and its answer.
    async fn attempt(&self, uid: Option<String>, left: Duration) -> (bool, Result<(), Error>) {
        let pod = self.pod;
        if left.is_zero() {
            let late = Error::Timeout(format!(
                "evict {}: the call's time ran out before its turn",
                pod.label()
            ));
            return (false, Err(late));
        }
        let to_guest = |e: CallError| match e {
            CallError::Refused(e) | CallError::Withheld { guest: e, .. } => e,
            CallError::Denied { denial, .. } => {
                Error::Forbidden(format!("denied by cutover: {denial}"))
            }
        };
        // The eviction's retries and the wait share `left`: the pod's answer comes within it.
        let clock = self.cluster.clock().clone();
        let start = clock.now();
        let step =
            match journal_before(self.recorder, self.cluster, pod, journal::Call::Evict).await {
                Ok(step) => step,
                Err(e) => return (false, Err(to_guest(e))),
            };
        let removed = self.cluster.evict_uid(pod, uid.as_deref(), left).await;
        if matches!(removed, Ok(k8s::Removal::Removed)) {
            // Accepted: from here on (before any other await), a call cut short still
            // records the eviction.
            let entry = PodProgress {
                target: pod.label(),
                evicted: true,
                outcome: None,
            };
            note(self.progress, self.index, entry);
            tracing::debug!(
                pod = %pod.label(),
                "evict-many: eviction accepted; waiting until the pod is gone"
            );
        }
        journal_after(self.recorder, step, None).await;
        let evicted = match removed {
            Ok(removed) => matches!(removed, k8s::Removal::Removed),
            Err(e) => return (false, Err(to_guest(e.into()))),
        };
        if evicted && !self.cluster.dry_run() {
            let condition = match uid {
                Some(uid) => k8s::Condition::DeletedUid(uid),
                None => k8s::Condition::Deleted,
            };
            let rest = left.saturating_sub(clock.now().saturating_duration_since(start));
            let gone = self
                .cluster
                .wait(pod, &condition, rest, k8s::WaitOptions::default())
                .await;
            if let Err(e) = gone {
                return (true, Err(to_guest(e.into())));
            }
        }
        (evicted, Ok(()))
    }
}

fn check_evict_many(pods: &[cluster::PodRef], concurrency: u32) -> Result<(), Error> {
    if pods.len() > MAX_EVICT_MANY {
        return Err(Error::Invalid(format!(
            "evict-many takes at most {MAX_EVICT_MANY} pods, not {}",
            pods.len()
        )));
    }
    if !(1..=MAX_EVICT_CONCURRENCY).contains(&concurrency) {
        return Err(Error::Invalid(format!(
            "evict-many's concurrency is 1 to {MAX_EVICT_CONCURRENCY}, not {concurrency}"
        )));
    }
    for pod in pods {
        if let Some(uid) = &pod.uid
            && (uid.is_empty() || uid.len() > MAX_WAIT_ARG)
        {
            return Err(Error::Invalid(format!(
                "the uid of pod {} is {} bytes; a uid is 1 to {MAX_WAIT_ARG}",
                text::escape(&pod.name, 128),
                uid.len()
            )));
        }
    }
    Ok(())
}
