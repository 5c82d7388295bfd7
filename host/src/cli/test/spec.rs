//! A scenario's `run` and `expect` sections, as `cutover test` reads them
//! (docs/scenario-tests.md).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{self, Deserializer, IntoDeserializer, MapAccess, Visitor};
use serde_json::Value;

/// Parameters as a values file holds them.
pub(super) type Params = serde_json::Map<String, Value>;

/// How to run the policy on the scenario: the `cutover run` flags, as data.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RunSpec {
    /// `-n`; default `default`.
    pub(super) namespace: Option<String>,
    /// `--release`; default as `cutover run`'s.
    pub(super) release: Option<String>,
    /// The parameters, as a values file holds them.
    pub(super) params: Option<Params>,
    /// The positional inputs (files, folders), relative to the scenario's folder.
    #[serde(default)]
    pub(super) inputs: Vec<String>,
    /// `declared` (`--allow-declared`, the default), or the capabilities to grant one by one.
    pub(super) grant: Option<Grant>,
    /// `--timeout`.
    pub(super) timeout: Option<String>,
    /// `--memory-limit`.
    pub(super) memory_limit: Option<String>,
    /// `--dry-run`.
    #[serde(default)]
    pub(super) dry_run: bool,
    /// Other `cutover run` flags, passed through (`--rollback-on-failure`, `--history-max=3`).
    #[serde(default)]
    pub(super) flags: Vec<String>,
    /// Commands run after the run, in order, on the same simulated cluster and clock, each
    /// checked against its own `expect`.
    #[serde(default)]
    pub(super) then: Vec<Step>,
}

/// The release commands a `run.then` step can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum StepCommand {
    /// `cutover run` again: a new revision of the release (an upgrade).
    Run,
    /// `cutover promote`.
    Promote,
    /// `cutover promote --full`.
    PromoteFull,
    /// `cutover abort`.
    Abort,
    /// `cutover retry`.
    Retry,
    /// `cutover resume`.
    Resume,
    /// `cutover rollback [REVISION] [--journal]`.
    Rollback,
}

impl StepCommand {
    /// The command line it stands for: `promote --full`.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            StepCommand::Run => "run",
            StepCommand::Promote => "promote",
            StepCommand::PromoteFull => "promote --full",
            StepCommand::Abort => "abort",
            StepCommand::Retry => "retry",
            StepCommand::Resume => "resume",
            StepCommand::Rollback => "rollback",
        }
    }
}

/// One `run.then` step: `promote`, or `{command: promote, full: true, after: 5m, expect: {...}}`,
/// or `{command: run, params: {...}, inputs: [...]}`, or `{command: rollback, revision: 1,
/// journal: true}`.
#[derive(Debug)]
pub(super) enum Step {
    /// Just the command; it must succeed.
    Word(StepCommand),
    Full(Box<FullStep>),
}

/// A word or a mapping, told apart by what the file holds, so that a misspelt field of a
/// mapping is named with its path (`run.then[0].parms: unknown field ...`) rather than as a
/// step that matches no form.
impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Step, D::Error> {
        struct StepVisitor;
        impl<'de> Visitor<'de> for StepVisitor {
            type Value = Step;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a command (run, promote, promote-full, abort, retry, resume, rollback) or a mapping with `command`")
            }

            fn visit_str<E: de::Error>(self, word: &str) -> Result<Step, E> {
                StepCommand::deserialize(word.into_deserializer()).map(Step::Word)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Step, A::Error> {
                FullStep::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|step| Step::Full(Box::new(step)))
            }
        }
        deserializer.deserialize_any(StepVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct FullStep {
    pub(super) command: StepCommand,
    /// With `promote`: `--full`.
    #[serde(default)]
    pub(super) full: bool,
    /// With `run`: the parameters instead of the run's.
    pub(super) params: Option<Params>,
    /// With `run`: the positional inputs instead of the run's, relative to the scenario's folder.
    pub(super) inputs: Option<Vec<String>>,
    /// With `rollback`: the revision to return to (`cutover rollback <release> N`).
    pub(super) revision: Option<u32>,
    /// With `rollback`: `--journal` (undo through the journal even when the policy undoes its
    /// own runs).
    #[serde(default)]
    pub(super) journal: bool,
    /// Simulated time to let pass before the command (a Go duration: `30s`, `5m`).
    pub(super) after: Option<String>,
    /// What the command must come to; without it, it must succeed.
    #[serde(default)]
    pub(super) expect: Expect,
}

impl Step {
    /// The step as a full one.
    pub(super) fn into_full(self) -> FullStep {
        match self {
            Step::Word(command) => FullStep {
                command,
                full: false,
                params: None,
                inputs: None,
                revision: None,
                journal: false,
                after: None,
                expect: Expect::default(),
            },
            Step::Full(step) => *step,
        }
    }
}

impl FullStep {
    /// The command, `--full` folded in.
    pub(super) fn command(&self) -> StepCommand {
        match self.command {
            StepCommand::Promote if self.full => StepCommand::PromoteFull,
            other => other,
        }
    }
}

/// What the run is granted.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum Grant {
    /// `declared`, or `none`.
    Word(String),
    /// Capabilities, each as `--allow` takes it.
    List(Vec<String>),
}

/// What the run must come to.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct Expect {
    /// `cutover run`'s exit code.
    pub(super) exit_code: Option<u8>,
    /// `succeeded`, `failed` or `cancelled`.
    pub(super) status: Option<String>,
    /// Text the error line contains (all of them, when a list).
    pub(super) error: Option<OneOrMany>,
    /// Text the policy's summary contains.
    pub(super) summary: Option<OneOrMany>,
    /// The status of the run's revision once settled.
    pub(super) release_status: Option<String>,
    /// The statuses of all the release's revisions, oldest first.
    pub(super) revisions: Option<Vec<String>>,
    /// Objects at the end of the run.
    #[serde(default)]
    pub(super) objects: Vec<ObjectExpectation>,
    /// The calls the policy made, in order, as the report names them.
    pub(super) calls: Option<Vec<String>>,
    /// `exact` (the default: these calls and no others) or `subsequence` (in this order,
    /// others allowed between).
    pub(super) calls_match: Option<CallsMatch>,
}

/// A string or a list of strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub(super) fn all(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(list) => list.iter().map(String::as_str).collect(),
        }
    }
}

/// How `calls` is matched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum CallsMatch {
    #[default]
    Exact,
    Subsequence,
}

/// One object and what must hold of it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct ObjectExpectation {
    pub(super) api_version: String,
    pub(super) kind: String,
    /// Default: the run's namespace, for a namespaced kind.
    pub(super) namespace: Option<String>,
    pub(super) name: String,
    /// Field path → the value it must have (`null`: absent).
    #[serde(default)]
    pub(super) fields: BTreeMap<String, Value>,
    /// The object must not exist.
    #[serde(default)]
    pub(super) absent: bool,
}

impl Expect {
    /// Whether the expectations say anything about how the run ended; if not, it must succeed.
    pub(super) fn names_the_outcome(&self) -> bool {
        self.exit_code.is_some() || self.status.is_some() || self.error.is_some()
    }
}

/// A section read as its type, or one line naming the field that is wrong.
pub(super) fn section<T: serde::de::DeserializeOwned + Default>(
    value: Option<&Value>,
    name: &str,
) -> Result<T, String> {
    let Some(value) = value else {
        return Ok(T::default());
    };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." {
            name.to_string()
        } else {
            format!("{name}.{path}")
        };
        format!("{at}: {}", e.into_inner())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_full_expect_section_reads() {
        let value = json!({
            "exitCode": 1, "status": "failed", "error": ["timed out", "web"],
            "revisions": ["deployed", "failed"],
            "objects": [{"apiVersion": "v1", "kind": "Node", "name": "n1",
                         "fields": {"spec.unschedulable": true}}],
            "calls": ["cordon v1/Node n1"], "callsMatch": "subsequence"
        });
        let expect: Expect = section(Some(&value), "expect").unwrap();
        assert_eq!(expect.exit_code, Some(1));
        assert_eq!(expect.error.unwrap().all(), vec!["timed out", "web"]);
        assert_eq!(expect.calls_match, Some(CallsMatch::Subsequence));
        assert_eq!(expect.objects[0].fields["spec.unschedulable"], json!(true));
    }

    #[test]
    fn a_misspelt_field_is_named_with_its_path() {
        let value = json!({"objects": [{"apiVersion": "v1", "kind": "Node", "name": "n",
                                        "feilds": {}}]});
        let err = section::<Expect>(Some(&value), "expect").unwrap_err();
        assert!(err.starts_with("expect.objects[0]"), "{err}");
        assert!(err.contains("feilds"), "{err}");
        let value = json!({"params": {"a": 1}, "grant": 3});
        let err = section::<RunSpec>(Some(&value), "run").unwrap_err();
        assert!(err.starts_with("run.grant"), "{err}");
    }

    #[test]
    fn then_steps_read_as_words_or_objects() {
        let value = json!({"then": [
            "promote",
            {"command": "promote", "full": true, "after": "1m",
             "expect": {"releaseStatus": "deployed"}},
            {"command": "abort", "expect": {"revisions": ["deployed", "failed"]}},
        ]});
        let run: RunSpec = section(Some(&value), "run").unwrap();
        let steps: Vec<FullStep> = run.then.into_iter().map(Step::into_full).collect();
        assert_eq!(steps[0].command(), StepCommand::Promote);
        assert_eq!(steps[1].command(), StepCommand::PromoteFull);
        assert_eq!(steps[1].after.as_deref(), Some("1m"));
        assert_eq!(steps[1].expect.release_status.as_deref(), Some("deployed"));
        assert_eq!(steps[2].command(), StepCommand::Abort);
        let bad = json!({"then": [{"command": "skip"}]});
        assert!(section::<RunSpec>(Some(&bad), "run").is_err());
    }

    #[test]
    fn a_rollback_step_reads_its_revision_and_journal() {
        let value = json!({"then": [
            "rollback",
            {"command": "rollback", "revision": 2, "journal": true,
             "expect": {"status": "rolled-back"}},
        ]});
        let run: RunSpec = section(Some(&value), "run").unwrap();
        let steps: Vec<FullStep> = run.then.into_iter().map(Step::into_full).collect();
        assert_eq!(steps[0].command(), StepCommand::Rollback);
        assert_eq!((steps[0].revision, steps[0].journal), (None, false));
        assert_eq!(steps[1].command().as_str(), "rollback");
        assert_eq!((steps[1].revision, steps[1].journal), (Some(2), true));
        let bad = json!({"then": [{"command": "rollback", "revision": -1}]});
        let err = section::<RunSpec>(Some(&bad), "run").unwrap_err();
        assert!(err.starts_with("run.then[0].revision"), "{err}");
    }

    #[test]
    fn a_run_step_reads_its_own_params_and_inputs() {
        let value = json!({
            "inputs": ["charts/web"],
            "params": {"replicas": 1},
            "then": [
                "run",
                {"command": "run", "params": {"image": {"tag": "2"}}, "inputs": ["charts/web2"],
                 "expect": {"status": "failed", "revisions": ["deployed", "failed"]}},
            ],
        });
        let run: RunSpec = section(Some(&value), "run").unwrap();
        assert_eq!(run.inputs, ["charts/web"]);
        assert_eq!(run.params.as_ref().unwrap()["replicas"], json!(1));
        let steps: Vec<FullStep> = run.then.into_iter().map(Step::into_full).collect();
        assert_eq!(steps[0].command(), StepCommand::Run);
        assert!(steps[0].params.is_none() && steps[0].inputs.is_none());
        assert_eq!(steps[1].command(), StepCommand::Run);
        assert_eq!(
            steps[1].params.as_ref().unwrap()["image"],
            json!({"tag": "2"})
        );
        assert_eq!(
            steps[1].inputs.as_deref(),
            Some(&["charts/web2".to_string()][..])
        );
        assert_eq!(steps[1].expect.status.as_deref(), Some("failed"));
    }

    #[test]
    fn a_misspelt_field_of_a_step_or_of_run_is_named_with_its_path() {
        let value = json!({"then": ["promote", {"command": "run", "parms": {}}]});
        let err = section::<RunSpec>(Some(&value), "run").unwrap_err();
        assert!(
            err.starts_with("run.then[1].parms: unknown field `parms`"),
            "{err}"
        );
        let value = json!({"then": [{"command": "run", "expect": {"staus": "failed"}}]});
        let err = section::<RunSpec>(Some(&value), "run").unwrap_err();
        assert!(
            err.starts_with("run.then[0].expect.staus: unknown field"),
            "{err}"
        );
        let value = json!({"inptus": ["chart"]});
        let err = section::<RunSpec>(Some(&value), "run").unwrap_err();
        assert!(
            err.starts_with("run.inptus: unknown field `inptus`"),
            "{err}"
        );
        let value = json!({"then": ["skip"]});
        let err = section::<RunSpec>(Some(&value), "run").unwrap_err();
        assert!(
            err.starts_with("run.then[0]: unknown variant `skip`"),
            "{err}"
        );
        let value = json!({"then": [3]});
        let err = section::<RunSpec>(Some(&value), "run").unwrap_err();
        assert!(
            err.starts_with("run.then[0]: invalid type: integer `3`"),
            "{err}"
        );
    }

    #[test]
    fn no_section_is_the_default() {
        let expect: Expect = section(None, "expect").unwrap();
        assert!(!expect.names_the_outcome());
        let run: RunSpec = section(None, "run").unwrap();
        assert!(run.flags.is_empty());
    }
}
