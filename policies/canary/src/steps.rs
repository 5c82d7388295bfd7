//! The canary's steps as written (`set-weight`, `pause`, `analysis`), their checks, and what a run does with the operator's request: the step machine.

use cutover_guest_sdk::analysis::{AnalysisRun, Metric, metrics_from_json};
use cutover_guest_sdk::params::Duration;
use cutover_guest_sdk::{Error, Request};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One step.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Scale canary and stable to this percentage of pods.
    SetWeight(u32),
    /// Wait this long (measuring the background analysis), or, without a duration, until
    /// `cutover promote`.
    Pause(Option<std::time::Duration>),
    /// Run these metrics to the end; a failure aborts, inconclusive pauses.
    Analysis(Vec<Metric>),
}

/// The most steps a rollout may have.
const MAX_STEPS: usize = 100;

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct StepSpec {
    #[serde(default)]
    set_weight: Option<u32>,
    #[serde(default)]
    pause: Option<PauseSpec>,
    #[serde(default)]
    analysis: Option<AnalysisSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PauseSpec {
    #[serde(default)]
    duration: Option<Duration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalysisSpec {
    metrics: Value,
}

/// Reads and checks the `steps` parameter: each item exactly one of `set-weight: 0..100`,
/// `pause: {}` / `pause: {duration: 1m}`, `analysis: {metrics: [...]}`.
pub fn parse(steps: &Value) -> Result<Vec<Step>, Error> {
    let Value::Array(items) = steps else {
        return Err(Error::invalid("steps: a list of steps"));
    };
    if items.len() > MAX_STEPS {
        return Err(Error::invalid(format!("steps: at most {MAX_STEPS} steps")));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let n = i + 1;
            let spec: StepSpec = serde_json::from_value(item.clone())
                .map_err(|e| Error::invalid(format!("step {n}: {e}")))?;
            let step = match (spec.set_weight, spec.pause, spec.analysis) {
                (Some(w), None, None) if w <= 100 => Step::SetWeight(w),
                (Some(w), None, None) => {
                    return Err(Error::invalid(format!(
                        "step {n}: set-weight must be 0 to 100, not {w}"
                    )));
                }
                (None, Some(p), None) => Step::Pause(p.duration.map(Duration::get)),
                (None, None, Some(a)) => {
                    let metrics = metrics_from_json(&a.metrics)
                        .map_err(|e| e.context(format!("step {n}")))?;
                    if metrics.is_empty() {
                        return Err(Error::invalid(format!(
                            "step {n}: analysis with no metrics"
                        )));
                    }
                    Step::Analysis(metrics)
                }
                _ => {
                    return Err(Error::invalid(format!(
                        "step {n}: give exactly one of set-weight, pause, analysis"
                    )));
                }
            };
            Ok(step)
        })
        .collect()
}

impl Step {
    /// `set-weight 20`, `pause 1m`, `pause until promoted`, `analysis error-rate, ready`.
    pub fn describe(&self) -> String {
        match self {
            Step::SetWeight(w) => format!("set-weight {w}"),
            Step::Pause(Some(d)) => format!("pause {}", Duration(*d)),
            Step::Pause(None) => "pause until promoted".into(),
            Step::Analysis(metrics) => format!(
                "analysis {}",
                metrics
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// Where the rollout stands, kept in the checkpoint after every step.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct Progress {
    /// The stable Deployment's replicas before the rollout: what an abort restores and the
    /// weights divide.
    pub replicas: u32,
    /// The index of the next step to run.
    pub next: usize,
    /// The current weight.
    pub weight: u32,
    /// Set while the run is paused for a person (so `promote` continues past it).
    #[serde(default)]
    pub paused: bool,
    /// When a timed pause under way ends, in ms of the run's clock (to resume it).
    #[serde(default)]
    pub pause_until_ms: Option<u64>,
    /// The background analysis so far.
    #[serde(default)]
    pub background: AnalysisRun,
    /// The analysis of the step under way, if it is an analysis step.
    #[serde(default)]
    pub step_analysis: Option<AnalysisRun>,
}

/// What this run does, from the request and the checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Run the steps from `progress.next`.
    Steps(Progress),
    /// Skip the remaining steps: promote the new version now.
    Finish(Progress),
    /// Return to the stable version and fail the revision.
    Abort(Option<Progress>),
}

/// The step machine's one decision per run.
///
/// - `start`: from the first step; `retry`: the same, keeping the stable replica count a
///   checkpoint knows (the stable may be scaled down);
/// - `resume`: from the checkpoint (the first step without one);
/// - `promote`: past the pause the run stopped at (refused when it is not paused);
/// - `promote --full`: to the end, skipping steps and analysis;
/// - `abort`: back to stable.
pub fn plan(
    request: Request,
    saved: Option<Progress>,
    stable_replicas: u32,
) -> Result<Plan, Error> {
    let fresh = |replicas| Progress {
        replicas,
        ..Progress::default()
    };
    Ok(match request {
        Request::Start => Plan::Steps(fresh(stable_replicas)),
        Request::Retry => Plan::Steps(fresh(saved.map_or(stable_replicas, |s| s.replicas))),
        Request::Resume => Plan::Steps(saved.unwrap_or_else(|| fresh(stable_replicas))),
        Request::Promote => match saved {
            Some(mut progress) if progress.paused => {
                progress.paused = false;
                Plan::Steps(progress)
            }
            _ => {
                return Err(Error::invalid(
                    "promote: the rollout is not paused (`cutover promote --full` skips to the end)",
                ));
            }
        },
        Request::PromoteFull => Plan::Finish(saved.unwrap_or_else(|| fresh(stable_replicas))),
        Request::Abort => Plan::Abort(saved),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_three_kinds_of_step() {
        let steps = parse(&json!([
            {"set-weight": 20},
            {"pause": {"duration": "1m"}},
            {"pause": {}},
            {"analysis": {"metrics": [{"name": "ready", "ready": {}}]}},
        ]))
        .unwrap();
        assert_eq!(steps[0], Step::SetWeight(20));
        assert_eq!(
            steps[1],
            Step::Pause(Some(std::time::Duration::from_secs(60)))
        );
        assert_eq!(steps[2], Step::Pause(None));
        assert_eq!(steps[3].describe(), "analysis ready");
        assert_eq!(steps[1].describe(), "pause 1m");
    }

    #[test]
    fn refuses_bad_steps() {
        for (steps, message) in [
            (json!({"set-weight": 1}), "steps: a list of steps"),
            (
                json!([{"set-weight": 120}]),
                "step 1: set-weight must be 0 to 100, not 120",
            ),
            (
                json!([{"set-weight": 10, "pause": {}}]),
                "step 1: give exactly one of set-weight, pause, analysis",
            ),
            (
                json!([{}]),
                "step 1: give exactly one of set-weight, pause, analysis",
            ),
            (
                json!([{"set-weight": 10}, {"wait": 1}]),
                "step 2: unknown field `wait`, expected one of `set-weight`, `pause`, `analysis`",
            ),
            (
                json!([{"pause": {"duration": "soon"}}]),
                "step 1: invalid duration \"soon\"",
            ),
            (
                json!([{"analysis": {"metrics": []}}]),
                "step 1: analysis with no metrics",
            ),
            (
                json!([{"analysis": {"metrics": [{"name": "x", "ready": {}, "count": 0}]}}]),
                "step 1: analysis metric \"x\": `count` must be 1 to 1000",
            ),
        ] {
            let e = parse(&steps).unwrap_err();
            assert!(e.is_invalid());
            assert!(e.to_string().starts_with(message), "{e} vs {message}");
        }
    }

    fn at(next: usize, paused: bool) -> Progress {
        Progress {
            replicas: 5,
            next,
            weight: 20,
            paused,
            ..Progress::default()
        }
    }

    #[test]
    fn the_request_decides_where_the_run_starts() {
        assert_eq!(
            plan(Request::Start, None, 4).unwrap(),
            Plan::Steps(Progress {
                replicas: 4,
                ..Default::default()
            })
        );
        // A retry starts over but keeps the replica count from before the rollout.
        assert_eq!(
            plan(Request::Retry, Some(at(3, true)), 1).unwrap(),
            Plan::Steps(Progress {
                replicas: 5,
                ..Default::default()
            })
        );
        assert_eq!(
            plan(Request::Resume, Some(at(2, false)), 1).unwrap(),
            Plan::Steps(at(2, false))
        );
        assert_eq!(
            plan(Request::Promote, Some(at(2, true)), 1).unwrap(),
            Plan::Steps(at(2, false))
        );
        assert!(
            plan(Request::Promote, Some(at(2, false)), 1)
                .unwrap_err()
                .is_invalid()
        );
        assert!(plan(Request::Promote, None, 1).is_err());
        assert_eq!(
            plan(Request::PromoteFull, Some(at(1, true)), 1).unwrap(),
            Plan::Finish(at(1, true))
        );
        assert_eq!(
            plan(Request::Abort, Some(at(1, true)), 1).unwrap(),
            Plan::Abort(Some(at(1, true)))
        );
    }
}
