//! Where a blue-green rollout stands (kept in the checkpoint after every stage) and what a run does with the operator's request.

use cutover_guest_sdk::analysis::AnalysisRun;
use cutover_guest_sdk::{Error, Request};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The stages, in order; a run continues after the last one done.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Nothing changed yet.
    #[default]
    Begin,
    /// The active Service pinned to the old pods' `pod-template-hash`.
    Pinned,
    /// The new Deployment created and ready.
    Ready,
    /// The preview Service selects the new version.
    Previewed,
    /// The pre-promotion analysis passed.
    Analysed,
    /// The active Service selects the new version.
    Switched,
    /// The post-promotion analysis passed.
    Verified,
}

/// The checkpoint.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct Progress {
    pub stage: Stage,
    /// The old (active) Deployment and its size.
    pub old_name: String,
    pub old_replicas: u32,
    /// The old pods' `pod-template-hash`.
    pub old_hash: String,
    /// The new version's hash (and so its Deployment's name).
    pub new_hash: String,
    /// The Services' selectors before the rollout, restored by an abort.
    pub active_selector: Map<String, Value>,
    pub preview_selector: Map<String, Value>,
    /// Set while paused for a person.
    #[serde(default)]
    pub paused: bool,
    /// `promote --full`: skip the analysis and the wait.
    #[serde(default)]
    pub skip_gates: bool,
    #[serde(default)]
    pub pre: Option<AnalysisRun>,
    #[serde(default)]
    pub post: Option<AnalysisRun>,
}

/// What this run does.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// Continue from the saved stage (a fresh start at `Begin`).
    Stages(Progress),
    /// Restore the old version and fail.
    Abort(Progress),
}

/// - `start`: from the beginning; `retry`: the same, keeping the Services' selectors from
///   before the first attempt (an aborted attempt restored them; a failed one may have left
///   the active Service pinned, which must not become the "original");
/// - `resume`: from the checkpoint;
/// - `promote`: past the pause (refused when not paused); `promote --full`: past the pause
///   and every gate still ahead;
/// - `abort`: back to the old version (refused with nothing to undo).
pub fn plan(request: Request, saved: Option<Progress>) -> Result<Plan, Error> {
    Ok(match request {
        Request::Start => Plan::Stages(Progress::default()),
        Request::Retry => Plan::Stages(match saved {
            Some(s) => Progress {
                active_selector: s.active_selector,
                preview_selector: s.preview_selector,
                old_name: s.old_name,
                old_replicas: s.old_replicas,
                old_hash: s.old_hash,
                ..Progress::default()
            },
            None => Progress::default(),
        }),
        Request::Resume => Plan::Stages(saved.unwrap_or_default()),
        Request::Promote => match saved {
            Some(mut s) if s.paused => {
                s.paused = false;
                if s.stage < Stage::Analysed {
                    // Paused on an inconclusive pre-promotion analysis: the person decided.
                    s.stage = Stage::Analysed;
                } else if s.stage == Stage::Switched {
                    s.stage = Stage::Verified;
                }
                Plan::Stages(s)
            }
            _ => {
                return Err(Error::invalid(
                    "promote: the rollout is not paused (`cutover promote --full` skips every gate)",
                ));
            }
        },
        Request::PromoteFull => {
            let mut s = saved.unwrap_or_default();
            s.paused = false;
            s.skip_gates = true;
            Plan::Stages(s)
        }
        Request::Abort => match saved {
            Some(s) if s.stage > Stage::Begin => Plan::Abort(s),
            _ => return Err(Error::invalid("abort: this rollout changed nothing yet")),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(stage: Stage, paused: bool) -> Progress {
        Progress {
            stage,
            paused,
            old_name: "web".into(),
            old_replicas: 3,
            ..Progress::default()
        }
    }

    #[test]
    fn requests() {
        assert_eq!(
            plan(Request::Start, Some(at(Stage::Ready, false))).unwrap(),
            Plan::Stages(Progress::default())
        );
        assert_eq!(
            plan(Request::Resume, Some(at(Stage::Ready, false))).unwrap(),
            Plan::Stages(at(Stage::Ready, false))
        );
        assert_eq!(
            plan(Request::Promote, Some(at(Stage::Analysed, true))).unwrap(),
            Plan::Stages(at(Stage::Analysed, false))
        );
        assert_eq!(
            plan(Request::Promote, Some(at(Stage::Previewed, true))).unwrap(),
            Plan::Stages(at(Stage::Analysed, false))
        );
        assert_eq!(
            plan(Request::Promote, Some(at(Stage::Switched, true))).unwrap(),
            Plan::Stages(at(Stage::Verified, false))
        );
        assert!(plan(Request::Promote, Some(at(Stage::Analysed, false))).is_err());
        let Plan::Stages(full) =
            plan(Request::PromoteFull, Some(at(Stage::Analysed, true))).unwrap()
        else {
            panic!()
        };
        assert!(full.skip_gates && !full.paused);
        assert_eq!(
            plan(Request::Abort, Some(at(Stage::Switched, false))).unwrap(),
            Plan::Abort(at(Stage::Switched, false))
        );
        assert!(plan(Request::Abort, None).is_err());
        let Plan::Stages(retry) = plan(Request::Retry, Some(at(Stage::Switched, false))).unwrap()
        else {
            panic!()
        };
        assert_eq!((retry.stage, retry.old_replicas), (Stage::Begin, 3));
    }
}
