//! A run's recording while it happens: each host call and its answer, serialized as it comes
//! (held once, as the text the file will hold), up to [`MAX_CALL_BYTES`]; past it, recording
//! stops with a note and the run goes on.

use std::sync::{Arc, Mutex};

use serde_json::Value;
use serde_json::value::RawValue;

use super::tape::{Call, MAX_CALL_BYTES};

/// The calls recorded so far; clones share them (the run's store holds one, the caller another).
#[derive(Clone, Debug, Default)]
pub struct Recording {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    calls: Vec<Box<RawValue>>,
    bytes: usize,
    truncated: Option<String>,
    bound: Option<usize>,
}

/// What a recording holds at the end of the run.
#[derive(Debug)]
pub struct Recorded {
    pub calls: Vec<Box<RawValue>>,
    pub truncated: Option<String>,
}

impl Recording {
    /// A recording bounded by [`MAX_CALL_BYTES`].
    pub fn new() -> Recording {
        Recording::default()
    }

    /// A recording with another bound, for tests of the bound.
    pub fn with_bound(bytes: usize) -> Recording {
        let recording = Recording::default();
        recording.lock().bound = Some(bytes);
        recording
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records one call. Returns the note to warn with when this call is the one that reached
    /// the bound (once; later calls are dropped silently).
    pub fn push(&self, function: &str, args: Value, answer: Value) -> Option<String> {
        let mut recorded = self.lock();
        if recorded.truncated.is_some() {
            return None;
        }
        let call = Call {
            call: function.to_string(),
            args,
            answer,
        };
        let bound = recorded.bound.unwrap_or(MAX_CALL_BYTES);
        let raw = serde_json::value::to_raw_value(&call);
        let note = match raw {
            Ok(raw) if recorded.bytes.saturating_add(raw.get().len()) <= bound => {
                recorded.bytes += raw.get().len();
                recorded.calls.push(raw);
                return None;
            }
            Ok(_) => format!(
                "the recording reached its bound of {} MiB at call {} ({function}): the calls from there on were not recorded; a replay checks those before it",
                bound >> 20,
                recorded.calls.len() + 1
            ),
            Err(e) => format!(
                "call {} ({function}) could not be recorded ({e}): the calls from there on were not recorded",
                recorded.calls.len() + 1
            ),
        };
        recorded.truncated = Some(note.clone());
        Some(note)
    }

    /// The calls recorded, and the note if recording stopped early.
    pub fn take(&self) -> Recorded {
        let mut recorded = self.lock();
        Recorded {
            calls: std::mem::take(&mut recorded.calls),
            truncated: recorded.truncated.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stops_at_its_bound_with_one_note() {
        let recording = Recording::with_bound(200);
        let big = json!({"ok": "x".repeat(80)});
        assert_eq!(
            recording.push("runtime.now", json!({}), json!({"ok": 1})),
            None
        );
        assert_eq!(recording.push("cluster.get", json!({}), big.clone()), None);
        let note = recording.push("cluster.get", json!({}), big.clone());
        assert!(
            note.as_deref().is_some_and(|n| n.contains("call 3")),
            "{note:?}"
        );
        assert_eq!(
            recording.push("runtime.now", json!({}), json!({"ok": 2})),
            None
        );
        let recorded = recording.take();
        assert_eq!(recorded.calls.len(), 2);
        assert!(recorded.truncated.is_some());
        let first: Call = serde_json::from_str(recorded.calls[0].get()).expect("a call");
        assert_eq!(first.call, "runtime.now");
    }
}
