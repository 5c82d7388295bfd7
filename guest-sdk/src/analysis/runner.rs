//! Runs an analysis: each metric measured on its own interval until every one is decided, logged as it goes, its counters checkpointable.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::measure::{Probes, Target, measure};
use super::metric::Metric;
use super::tally::{MetricResult, Phase};
use crate::{Context, Timestamp};

/// The state of one analysis: a [`MetricResult`] per metric. Serializable, so that a policy
/// can keep it in its checkpoint and a resumed run continues the counts.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct AnalysisRun {
    /// What this analysis is called in log lines (`step 3 analysis`, `background analysis`).
    pub label: String,
    /// One per metric, in the metrics' order.
    pub results: Vec<MetricResult>,
}

/// How an analysis ended (or stands).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The worst metric's phase: Error, then Failed, then Inconclusive, then Running, else
    /// Successful.
    pub phase: Phase,
    /// `analysis error-rate failed: 0.31 >= 0.05 (2 of 3 measurements failed)`, or a summary
    /// of every metric when all succeeded.
    pub message: String,
}

impl AnalysisRun {
    /// A fresh analysis of `metrics`.
    pub fn new(label: &str, metrics: &[Metric]) -> Self {
        AnalysisRun {
            label: label.to_string(),
            results: metrics.iter().map(|m| MetricResult::new(&m.name)).collect(),
        }
    }

    /// Takes every measurement that is due now (each metric not yet decided whose next time
    /// has come) and returns where the analysis stands.
    pub fn measure_due(
        &mut self,
        ctx: &Context,
        probes: &dyn Probes,
        target: &Target,
        metrics: &[Metric],
    ) -> Verdict {
        self.align(metrics);
        let now = ms(ctx.now());
        for (metric, result) in metrics.iter().zip(self.results.iter_mut()) {
            if result.decided.is_some() || result.next_at_ms > now {
                continue;
            }
            let measurement = measure(ctx, probes, target, metric);
            result.add(&measurement);
            let phase = result.assess(metric);
            let taken = result.count + result.error;
            let line = format!(
                "analysis {} {taken}/{}: {} {}",
                metric.name,
                metric.count,
                measurement.message,
                measurement.phase.word()
            );
            if measurement.phase == Phase::Successful {
                ctx.info(&line);
            } else {
                ctx.warn(&line);
            }
            if phase.is_complete() {
                result.decided = Some(phase);
            } else {
                result.next_at_ms = now.saturating_add(millis(metric.interval));
            }
        }
        self.verdict(metrics)
    }

    /// Measures until every metric is decided (or one fails, errors or is inconclusive),
    /// sleeping between measurements. Stops with an Error verdict when the run's deadline
    /// comes first.
    pub fn run(
        &mut self,
        ctx: &Context,
        probes: &dyn Probes,
        target: &Target,
        metrics: &[Metric],
    ) -> Verdict {
        loop {
            let verdict = self.measure_due(ctx, probes, target, metrics);
            if verdict.phase != Phase::Running {
                return verdict;
            }
            let wait = self.next_due(ctx).unwrap_or(Duration::ZERO);
            if !ctx.sleep(wait) {
                return Verdict {
                    phase: Phase::Error,
                    message: format!("{}: the run's deadline came first", self.label),
                };
            }
        }
    }

    /// Measures whatever falls due during the next `duration` (a background analysis during
    /// a timed pause), returning early when the analysis fails, errors or is inconclusive.
    /// The verdict is Running when `duration` passed with metrics still undecided.
    pub fn run_for(
        &mut self,
        ctx: &Context,
        probes: &dyn Probes,
        target: &Target,
        metrics: &[Metric],
        duration: Duration,
    ) -> Result<Verdict, crate::Error> {
        let until = ctx.now() + duration;
        loop {
            let verdict = self.measure_due(ctx, probes, target, metrics);
            if matches!(
                verdict.phase,
                Phase::Failed | Phase::Error | Phase::Inconclusive
            ) {
                return Ok(verdict);
            }
            let left = until.saturating_duration_since(ctx.now());
            if left.is_zero() {
                return Ok(verdict);
            }
            let wait = self.next_due(ctx).map_or(left, |next| next.min(left));
            if !ctx.sleep(wait) {
                return Err(crate::Error::timeout(format!(
                    "{}: the run's deadline came during a pause",
                    self.label
                )));
            }
        }
    }

    /// The time until the earliest undecided metric is due.
    fn next_due(&self, ctx: &Context) -> Option<Duration> {
        let now = ms(ctx.now());
        self.results
            .iter()
            .filter(|r| r.decided.is_none())
            .map(|r| Duration::from_millis(r.next_at_ms.saturating_sub(now)))
            .min()
    }

    /// Where the analysis stands, worst metric first.
    pub fn verdict(&self, metrics: &[Metric]) -> Verdict {
        let rank = |p: Phase| match p {
            Phase::Error => 0,
            Phase::Failed => 1,
            Phase::Inconclusive => 2,
            Phase::Running => 3,
            Phase::Successful => 4,
        };
        let worst = metrics
            .iter()
            .zip(&self.results)
            .map(|(m, r)| (r.decided.unwrap_or(Phase::Running), m, r))
            .min_by_key(|(p, _, _)| rank(*p));
        match worst {
            None => Verdict {
                phase: Phase::Successful,
                message: format!("{}: no metrics", self.label),
            },
            Some((Phase::Successful, _, _)) => Verdict {
                phase: Phase::Successful,
                message: self.status(),
            },
            Some((phase, metric, result)) => Verdict {
                phase,
                message: match phase {
                    Phase::Running => self.status(),
                    Phase::Error => format!(
                        "analysis {} errored: {} ({})",
                        metric.name,
                        result.last,
                        result.summary(phase)
                    ),
                    _ => format!(
                        "analysis {} {}: {} ({})",
                        metric.name,
                        phase.word(),
                        result.last,
                        result.summary(phase)
                    ),
                },
            },
        }
    }

    /// One line per metric so far, for a paused release's status: `error-rate: 2/3 ok, last
    /// 0.012 < 0.05`.
    pub fn status(&self) -> String {
        self.results
            .iter()
            .map(|r| {
                let phase = r.decided.unwrap_or(Phase::Running);
                if r.last.is_empty() {
                    format!("{}: not measured yet", r.name)
                } else {
                    format!(
                        "{}: {} ({}), last {}",
                        r.name,
                        phase.word(),
                        r.summary(phase),
                        r.last
                    )
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Keeps one result per metric, by name, should the metrics differ from the checkpoint's.
    fn align(&mut self, metrics: &[Metric]) {
        if self.results.len() == metrics.len()
            && self
                .results
                .iter()
                .zip(metrics)
                .all(|(r, m)| r.name == m.name)
        {
            return;
        }
        let old = std::mem::take(&mut self.results);
        self.results = metrics
            .iter()
            .map(|m| {
                old.iter()
                    .find(|r| r.name == m.name)
                    .cloned()
                    .unwrap_or_else(|| MetricResult::new(&m.name))
            })
            .collect();
    }
}

fn ms(t: Timestamp) -> u64 {
    t.unix_millis()
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
