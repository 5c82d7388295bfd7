//! Argo's bookkeeping of one metric's measurements and the phase it implies (analysis/analysis.go's `assessMetricStatus`).

use serde::{Deserialize, Serialize};

use super::metric::Metric;

/// A measurement's or a metric's verdict.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// More measurements to take.
    Running,
    /// The condition held (or enough measurements did).
    Successful,
    /// The condition did not hold (more than `failure-limit` times, for a metric).
    Failed,
    /// Neither held, or no values were found (more than `inconclusive-limit` times): a person
    /// decides.
    Inconclusive,
    /// The measurement could not be taken (more than `consecutive-error-limit` in a row).
    Error,
}

impl Phase {
    /// Whether the metric is decided.
    pub fn is_complete(self) -> bool {
        self != Phase::Running
    }

    /// `ok`, `failed`, `inconclusive`, `error`, `running`: what a log line says.
    pub fn word(self) -> &'static str {
        match self {
            Phase::Running => "running",
            Phase::Successful => "ok",
            Phase::Failed => "failed",
            Phase::Inconclusive => "inconclusive",
            Phase::Error => "error",
        }
    }
}

/// One measurement's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    /// Successful, Failed, Inconclusive or Error.
    pub phase: Phase,
    /// What was seen: `0.012 < 0.05`, `HTTP 503`, `connection refused`.
    pub message: String,
}

/// One metric's counters, kept in the checkpoint so that a resumed run continues them.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct MetricResult {
    /// The metric's name.
    pub name: String,
    /// Measurements that returned a verdict (errors are not counted, as in Argo).
    pub count: u32,
    /// Verdicts: successful.
    pub successful: u32,
    /// Verdicts: failed.
    pub failed: u32,
    /// Verdicts: inconclusive.
    pub inconclusive: u32,
    /// Errors in all.
    pub error: u32,
    /// Errors since the last verdict.
    pub consecutive_error: u32,
    /// The last measurement's message.
    #[serde(default)]
    pub last: String,
    /// When the next measurement is due, in ms of the run's clock (0: at once).
    #[serde(default)]
    pub next_at_ms: u64,
    /// The decided phase, once decided.
    #[serde(default)]
    pub decided: Option<Phase>,
}

impl MetricResult {
    /// No measurements yet.
    pub fn new(name: &str) -> Self {
        MetricResult {
            name: name.to_string(),
            ..Default::default()
        }
    }

    /// Counts a measurement.
    pub fn add(&mut self, measurement: &Measurement) {
        match measurement.phase {
            Phase::Error => {
                self.error += 1;
                self.consecutive_error += 1;
            }
            phase => {
                self.count += 1;
                self.consecutive_error = 0;
                match phase {
                    Phase::Successful => self.successful += 1,
                    Phase::Failed => self.failed += 1,
                    _ => self.inconclusive += 1,
                }
            }
        }
        self.last = measurement.message.clone();
    }

    /// The phase the counters imply, by Argo's rules in Argo's order: failed past
    /// `failure-limit` is Failed, but inconclusive past its limit overrides it, and
    /// consecutive errors past theirs override both; otherwise `count` verdicts are
    /// Successful, and fewer are Running.
    pub fn assess(&self, metric: &Metric) -> Phase {
        let mut phase = None;
        if self.failed > metric.failure_limit {
            phase = Some(Phase::Failed);
        }
        if self.inconclusive > metric.inconclusive_limit {
            phase = Some(Phase::Inconclusive);
        }
        if self.consecutive_error > metric.consecutive_error_limit {
            phase = Some(Phase::Error);
        }
        match phase {
            Some(p) => p,
            None if self.count >= metric.count => Phase::Successful,
            None => Phase::Running,
        }
    }

    /// `2 of 3 measurements failed`, for a failure message.
    pub fn summary(&self, phase: Phase) -> String {
        let taken = self.count + self.error;
        match phase {
            Phase::Failed => format!("{} of {} measurements failed", self.failed, self.count),
            Phase::Inconclusive => format!(
                "{} of {} measurements inconclusive",
                self.inconclusive, self.count
            ),
            Phase::Error => format!(
                "{} measurement errors in a row, {} of {taken} in all",
                self.consecutive_error, self.error
            ),
            Phase::Successful => format!("{} of {} measurements ok", self.successful, self.count),
            Phase::Running => format!("{taken} measurements so far"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Metric;
    use serde_json::json;

    fn metric(extra: serde_json::Value) -> Metric {
        let mut m = json!({"name": "m", "ready": {}, "count": 3, "interval": "1s"});
        m.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        Metric::from_json(&m).unwrap()
    }

    fn run(metric: &Metric, phases: &[Phase]) -> Vec<Phase> {
        let mut r = MetricResult::new("m");
        phases
            .iter()
            .map(|p| {
                r.add(&Measurement {
                    phase: *p,
                    message: String::new(),
                });
                r.assess(metric)
            })
            .collect()
    }

    use Phase::*;

    #[test]
    fn a_failure_past_the_limit_fails_at_once() {
        assert_eq!(
            run(&metric(json!({})), &[Successful, Failed]),
            [Running, Failed]
        );
        let m = metric(json!({"failure-limit": 1}));
        assert_eq!(
            run(&m, &[Failed, Successful, Successful]),
            [Running, Running, Successful]
        );
        assert_eq!(run(&m, &[Failed, Failed]), [Running, Failed]);
    }

    #[test]
    fn errors_are_not_verdicts() {
        // Four errors in a row are tolerated (limit 4), the fifth is not.
        let m = metric(json!({}));
        assert_eq!(
            run(
                &m,
                &[
                    Error, Error, Error, Error, Successful, Successful, Successful
                ]
            ),
            [
                Running, Running, Running, Running, Running, Running, Successful
            ]
        );
        assert_eq!(
            run(&m, &[Error; 5]),
            [Running, Running, Running, Running, Error]
        );
        let m = metric(json!({"consecutive-error-limit": 0}));
        assert_eq!(run(&m, &[Error]), [Error]);
    }

    #[test]
    fn inconclusive_overrides_failed_and_error_overrides_both() {
        let m = metric(
            json!({"failure-limit": 0, "inconclusive-limit": 0, "consecutive-error-limit": 0}),
        );
        let mut r = MetricResult {
            failed: 1,
            inconclusive: 1,
            count: 2,
            ..Default::default()
        };
        assert_eq!(r.assess(&m), Inconclusive);
        r.consecutive_error = 1;
        assert_eq!(r.assess(&m), Error);
        assert_eq!(run(&m, &[Inconclusive]), [Inconclusive]);
    }

    #[test]
    fn summaries() {
        let r = MetricResult {
            failed: 2,
            count: 3,
            successful: 1,
            ..Default::default()
        };
        assert_eq!(r.summary(Failed), "2 of 3 measurements failed");
    }
}
