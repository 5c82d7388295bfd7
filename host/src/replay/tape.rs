//! The recording file, `cutover.dev/recording.v1`: the policy, the invocation, the grants, every
//! host call with its answer in order, and how the run ended. Read bounded and checked whole;
//! written atomically, mode 0600 (it holds what the policy read: possibly Secrets).

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::codec;
use crate::sandbox::outcome::{Outcome, Stop};

/// The format this cutover writes and reads.
pub const FORMAT: &str = "cutover.dev/recording.v1";

/// The most a recording's calls may take (written size); past it, recording stops with a note.
pub const MAX_CALL_BYTES: usize = 64 << 20;

/// The largest tape file read: the calls' bound, and room for the rest.
pub const MAX_TAPE_BYTES: usize = MAX_CALL_BYTES + (4 << 20);

/// A recording, as read (`C` = [`Call`]) or as written (`C` = each call serialized already,
/// so that a long recording is held once, as the text it will be).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tape<C = Call> {
    /// [`FORMAT`].
    pub format: String,
    /// The version of cutover that wrote it.
    pub cutover: String,
    pub policy: PolicyRef,
    pub invocation: Invocation,
    pub grants: Grants,
    /// Where it ran: `simulator`, or the API server's address (informational).
    pub server: String,
    /// When the run started, by its clock (Unix milliseconds; simulated time on the simulator).
    pub started_ms: u64,
    /// The seed of the policy's WASI randomness, on the simulator (a real cluster's run gets
    /// the operator's system randomness, which is not recorded).
    #[serde(default)]
    pub random_seed: Option<u64>,
    /// Every host call, in order (log and progress lines are not recorded).
    pub calls: Vec<C>,
    /// Set when the recording stopped early (its size bound): the calls after it are missing.
    #[serde(default)]
    pub truncated: Option<String>,
    pub outcome: RecordedOutcome,
}

/// The policy that ran.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyRef {
    pub name: String,
    pub version: String,
    /// `sha256:<hex>` of the module's bytes.
    pub digest: String,
    /// The bundled policy's name or the file's path, as given.
    pub source: String,
}

/// What the run was asked to do: the WIT invocation, and the limits it ran under.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Invocation {
    pub release: String,
    pub namespace: String,
    /// The parameters the policy got (defaults filled in).
    pub params: Value,
    pub dry_run: bool,
    pub revision: u32,
    pub attempt: u32,
    /// `--timeout`, in milliseconds.
    pub timeout_ms: u64,
    /// `--memory-limit`, in bytes.
    pub memory_limit: u64,
}

/// The capabilities the policy declared and the operator granted, as written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Grants {
    pub declared: Vec<String>,
    pub granted: Vec<String>,
}

/// One host call: `interface.function`, its arguments by WIT name, and its answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Call {
    pub call: String,
    pub args: Value,
    pub answer: Value,
}

/// How the recorded run ended.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "status", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RecordedOutcome {
    Succeeded {
        summary: String,
    },
    Failed {
        kind: String,
        message: String,
    },
    /// The sandbox stopped the policy: `stop` is `deadline`, `memory`, `limit`, `panic`,
    /// `trap`, `abi` or `exit`.
    Stopped {
        stop: String,
        reason: String,
    },
    Cancelled {
        reason: String,
    },
}

impl RecordedOutcome {
    pub fn of(outcome: &Outcome) -> RecordedOutcome {
        match outcome {
            Outcome::Succeeded(summary) => RecordedOutcome::Succeeded {
                summary: summary.clone(),
            },
            Outcome::Failed { kind, message } => RecordedOutcome::Failed {
                kind: kind.clone(),
                message: message.clone(),
            },
            Outcome::Stopped(stop) => RecordedOutcome::Stopped {
                stop: match stop {
                    Stop::Deadline(_) => "deadline",
                    Stop::Memory(_) => "memory",
                    Stop::Limit(_) => "limit",
                    Stop::Panic(_) => "panic",
                    Stop::Trap(_) => "trap",
                    Stop::Abi(_) => "abi",
                    Stop::Exit(_) => "exit",
                }
                .to_string(),
                reason: stop.to_string(),
            },
            Outcome::Cancelled(reason) => RecordedOutcome::Cancelled {
                reason: reason.clone(),
            },
        }
    }

    /// Whether the run was ended from outside, in a way a replay cannot repeat (its deadline,
    /// a cancellation): a replay then checks the calls, not how the policy ended.
    pub fn ended_from_outside(&self) -> bool {
        match self {
            RecordedOutcome::Cancelled { .. } => true,
            RecordedOutcome::Stopped { stop, .. } => stop == "deadline",
            _ => false,
        }
    }
}

impl std::fmt::Display for RecordedOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let q = crate::text::line;
        match self {
            RecordedOutcome::Succeeded { summary } => write!(f, "succeeded: {}", q(summary)),
            RecordedOutcome::Failed { kind, message } => {
                write!(f, "failed ({}): {}", q(kind), q(message))
            }
            RecordedOutcome::Stopped { reason, .. } => write!(f, "stopped: {}", q(reason)),
            RecordedOutcome::Cancelled { reason } => write!(f, "cancelled by {}", q(reason)),
        }
    }
}

/// Why a tape cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum TapeError {
    #[error("cannot read the recording {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("the recording {path} is larger than the {} MiB a recording may be", MAX_TAPE_BYTES >> 20)]
    TooLarge { path: String },
    #[error("{path} is not a cutover recording: {reason}")]
    Malformed { path: String, reason: String },
    #[error("{path} is a recording of format `{found}`; this cutover reads `{FORMAT}`")]
    Format { path: String, found: String },
    #[error("cannot write the recording {path}: {reason}")]
    Write { path: String, reason: String },
}

/// Reads and checks a tape: its format, its size, and every call's answer against the shape
/// its function returns.
pub fn read(path: &Path) -> Result<Tape, TapeError> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let shown = path.display().to_string();
    let read_error = |e: std::io::Error| TapeError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(read_error)?;
    let meta = file.metadata().map_err(read_error)?;
    if !meta.is_file() {
        return Err(TapeError::Read {
            path: shown,
            reason: "not a regular file".into(),
        });
    }
    let mut bytes = Vec::new();
    file.take(MAX_TAPE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() > MAX_TAPE_BYTES {
        return Err(TapeError::TooLarge { path: shown });
    }
    parse(&bytes).map_err(|e| match e {
        Parse::Format(found) => TapeError::Format {
            path: shown.clone(),
            found: crate::text::escape(&found, 80),
        },
        Parse::Malformed(reason) => TapeError::Malformed {
            path: shown.clone(),
            reason: crate::text::escape(&reason, 512),
        },
    })
}

#[derive(Debug)]
enum Parse {
    Format(String),
    Malformed(String),
}

fn parse(bytes: &[u8]) -> Result<Tape, Parse> {
    // The format first, so that a later version is named as such, not as a broken file.
    #[derive(Deserialize)]
    struct Head {
        format: Option<Value>,
    }
    let head: Head = serde_json::from_slice(bytes).map_err(|e| Parse::Malformed(e.to_string()))?;
    match head.format {
        Some(Value::String(f)) if f == FORMAT => {}
        Some(Value::String(f)) => return Err(Parse::Format(f)),
        _ => return Err(Parse::Malformed(format!("no \"format\": \"{FORMAT}\""))),
    }
    let tape: Tape = serde_json::from_slice(bytes).map_err(|e| Parse::Malformed(e.to_string()))?;
    for (index, call) in tape.calls.iter().enumerate() {
        if !call.args.is_object() {
            return Err(Parse::Malformed(format!(
                "call {}: its args are not an object",
                index + 1
            )));
        }
        codec::check_answer(&call.call, &call.args, &call.answer)
            .map_err(|e| Parse::Malformed(format!("call {} ({}): {e}", index + 1, call.call)))?;
    }
    Ok(tape)
}

/// Writes a tape to `path` whole or not at all (see [`crate::paths::write_atomic`]), mode 0600.
pub fn write<C: Serialize>(path: &Path, tape: &Tape<C>) -> Result<(), TapeError> {
    let write_error = |reason: String| TapeError::Write {
        path: path.display().to_string(),
        reason,
    };
    // Compact, as the recording's bound counts it: a tape cutover writes is one it reads.
    let mut bytes = serde_json::to_vec(tape).map_err(|e| write_error(e.to_string()))?;
    bytes.push(b'\n');
    crate::paths::write_atomic(path, &[&bytes]).map_err(|e| write_error(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tape() -> Value {
        json!({
            "format": FORMAT,
            "cutover": "0.1.0",
            "policy": {"name": "drain", "version": "0.1.0", "digest": "sha256:00", "source": "drain"},
            "invocation": {"release": "drain-n1", "namespace": "default", "params": {"node": "n1"},
                           "dryRun": false, "revision": 1, "attempt": 1,
                           "timeoutMs": 300000, "memoryLimit": 67108864},
            "grants": {"declared": ["cluster/cordon"], "granted": ["cluster/cordon"]},
            "server": "simulator",
            "startedMs": 1,
            "calls": [{"call": "cluster.cordon", "args": {"node": "n1"}, "answer": {"ok": null}}],
            "outcome": {"status": "succeeded", "summary": "done"},
        })
    }

    fn parsed(value: &Value) -> Result<Tape, Parse> {
        parse(value.to_string().as_bytes())
    }

    #[test]
    fn a_well_formed_tape_is_read() {
        let tape = parsed(&tape()).expect("reads");
        assert_eq!(tape.calls.len(), 1);
        assert_eq!(
            tape.outcome,
            RecordedOutcome::Succeeded {
                summary: "done".into()
            }
        );
    }

    #[test]
    fn another_format_is_named_as_such() {
        let mut other = tape();
        other["format"] = json!("cutover.dev/recording.v2");
        assert!(matches!(parsed(&other), Err(Parse::Format(f)) if f.ends_with("v2")));
        assert!(matches!(
            parsed(&json!({"calls": []})),
            Err(Parse::Malformed(_))
        ));
        assert!(matches!(parse(b"not json"), Err(Parse::Malformed(_))));
    }

    #[test]
    fn a_tampered_answer_or_unknown_field_is_refused() {
        let mut bad = tape();
        bad["calls"][0]["answer"] = json!({"ok": "yes"});
        match parsed(&bad) {
            Err(Parse::Malformed(why)) => assert!(why.contains("call 1"), "{why}"),
            other => panic!("{other:?}"),
        }
        let mut extra = tape();
        extra["policy"]["signed"] = json!(true);
        assert!(matches!(parsed(&extra), Err(Parse::Malformed(_))));
        let mut unknown = tape();
        unknown["calls"][0]["call"] = json!("cluster.exec");
        assert!(matches!(parsed(&unknown), Err(Parse::Malformed(_))));
    }

    #[test]
    fn written_whole_and_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("run.json");
        let tape: Tape = serde_json::from_value(tape()).expect("a tape");
        write(&path, &tape).expect("written");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let back = read(&path).expect("read back");
        assert_eq!(back.calls, tape.calls);
        assert_eq!(back.policy, tape.policy);
    }
}
