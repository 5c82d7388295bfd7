//! Checkpoints: opaque state a policy saves so that `cutover resume` can continue it, kept in
//! the run's pending revision in the cluster (so a run can be resumed from another machine).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::release::recorder::Recorder;

/// Where a run's checkpoints go: its revision, or nowhere (a dry run).
#[derive(Clone, Default)]
pub struct CheckpointStore {
    release: Option<Arc<Recorder>>,
    /// What this run saved last: a policy that restores in a loop does not make the host
    /// decode a megabyte each time.
    known: Arc<Mutex<Option<Option<String>>>>,
}

/// The longest a checkpoint may take to write, so that a slow API server cannot hang the run
/// on it; the run's own deadline cuts it shorter.
pub const CHECKPOINT_IO: Duration = Duration::from_secs(10);

impl CheckpointStore {
    /// Checkpoints into the revision `recorder` writes.
    pub fn for_release(recorder: Arc<Recorder>) -> CheckpointStore {
        CheckpointStore {
            release: Some(recorder),
            known: Arc::default(),
        }
    }

    /// A store that keeps nothing (a dry run).
    pub fn none() -> CheckpointStore {
        CheckpointStore::default()
    }

    /// Whether the store keeps nothing (see [`CheckpointStore::none`]).
    pub fn keeps_nothing(&self) -> bool {
        self.release.is_none()
    }

    /// Writes `state` into the revision within `bound`.
    pub async fn save_bounded(&self, state: String, bound: Duration) -> Result<(), String> {
        let Some(recorder) = &self.release else {
            return Ok(());
        };
        if let Ok(mut known) = self.known.lock() {
            *known = Some(Some(state.clone()));
        }
        match recorder
            .clock()
            .timeout(bound, recorder.checkpoint(state))
            .await
        {
            Ok(result) => result.map_err(|e| format!("cannot save the checkpoint: {e}")),
            Err(_) => Err(format!(
                "cannot save the checkpoint: the API server did not answer within {}",
                crate::units::format_duration(bound)
            )),
        }
    }

    /// The last checkpoint: what this run saved, else the one its revision started with.
    pub async fn load_bounded(&self, _bound: Duration) -> Result<Option<String>, String> {
        let Some(recorder) = &self.release else {
            return Ok(None);
        };
        if let Ok(known) = self.known.lock()
            && let Some(state) = known.as_ref()
        {
            return Ok(state.clone());
        }
        Ok(recorder.restored())
    }
}
