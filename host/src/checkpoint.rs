//! Checkpoints: opaque state a policy saves so that a later run of the same release can resume.
//! Kept as one private file per (cluster, namespace, release) under the state directory.
//! (The releases work moves them into the cluster, beside the release's revisions.)

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};

/// The checkpoint file of one release on one cluster.
#[derive(Debug, Clone)]
pub struct CheckpointStore {
    path: Option<PathBuf>,
    /// Set once an operation did not finish in time: the store is then off for the rest of
    /// the run, so that no later write or removal races the one left hanging.
    stuck: Arc<AtomicBool>,
    /// What the file holds, once this run has read or written it: a policy that restores in a
    /// loop reads the file once.
    known: Arc<Mutex<Option<Option<String>>>>,
}

/// The longest a checkpoint may take to save, read or remove, so that a hung state directory
/// (a network filesystem, say) cannot hang the run; the run's own deadline cuts it shorter.
pub const CHECKPOINT_IO: Duration = Duration::from_secs(10);

impl CheckpointStore {
    /// The store for `release` in `namespace` on the cluster at `server`: under
    /// `$CUTOVER_STATE_DIR`, else `$XDG_STATE_HOME/cutover`, else `~/.local/state/cutover`.
    /// The file is named by the SHA-256 of the three, so no name reaches the path itself.
    pub fn for_release(server: &str, namespace: &str, release: &str) -> CheckpointStore {
        let dir = crate::paths::state_dir();
        let mut key = Sha256::new();
        for part in [server, namespace, release] {
            key.update(part.as_bytes());
            key.update([0]);
        }
        let file = format!("{}.json", hex::encode(key.finalize()));
        CheckpointStore {
            path: dir.map(|d| d.join("checkpoints").join(file)),
            stuck: Arc::default(),
            known: Arc::default(),
        }
    }

    /// A store that keeps nothing (a dry run, the simulator, or no home directory).
    pub fn none() -> CheckpointStore {
        CheckpointStore {
            path: None,
            stuck: Arc::default(),
            known: Arc::default(),
        }
    }

    /// Whether the store keeps nothing (see [`CheckpointStore::none`]).
    pub fn keeps_nothing(&self) -> bool {
        self.path.is_none()
    }

    /// Saves `state`, replacing the previous checkpoint (a private file, written whole).
    pub fn save(&self, state: &str) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        crate::paths::write_private(path, &[state.as_bytes()])
    }

    /// The saved state, if any. A file that is not a private regular file of ours (a symlink,
    /// a FIFO, one another user can write), is larger than a checkpoint may be, or is not UTF-8
    /// is refused with the reason; the run then starts from the beginning.
    pub fn load(&self) -> Result<Option<String>, String> {
        let Some(path) = &self.path else {
            return Ok(None);
        };
        let refused = |why: String| format!("ignoring the checkpoint {}: {why}", path.display());
        let Some(bytes) = crate::paths::read_private(path, crate::sandbox::limits::MAX_CHECKPOINT)
            .map_err(refused)?
        else {
            return Ok(None);
        };
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| refused("it is not UTF-8 text".into()))
    }

    /// Forgets the checkpoint (after a successful run).
    pub fn clear(&self) -> std::io::Result<()> {
        match &self.path {
            Some(path) => match fs::remove_file(path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other,
            },
            None => Ok(()),
        }
    }

    /// [`save`](Self::save) off the run's thread, within `bound`.
    pub async fn save_bounded(&self, state: String, bound: Duration) -> Result<(), String> {
        let store = self.clone();
        let saved = state.clone();
        self.bounded(bound, "save the checkpoint", move || {
            store
                .save(&state)
                .map_err(|e| format!("cannot save the checkpoint: {e}"))
        })
        .await?;
        self.remember(Some(saved));
        Ok(())
    }

    fn remember(&self, state: Option<String>) {
        *self.known.lock().unwrap_or_else(|p| p.into_inner()) = Some(state);
    }

    /// [`load`](Self::load) off the run's thread, within `bound`.
    /// After the first read or a save, what the run knows is returned without reading again.
    pub async fn load_bounded(&self, bound: Duration) -> Result<Option<String>, String> {
        if let Some(known) = self.known.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(known);
        }
        let store = self.clone();
        let state = self
            .bounded(bound, "read the checkpoint", move || store.load())
            .await?;
        self.remember(state.clone());
        Ok(state)
    }

    /// [`clear`](Self::clear) off the run's thread, within `bound`.
    pub async fn clear_bounded(&self, bound: Duration) -> Result<(), String> {
        let store = self.clone();
        self.bounded(bound, "remove the checkpoint", move || {
            store.clear().map_err(|e| {
                format!("cannot remove the checkpoint: {e}; the next run of this release may resume from it")
            })
        })
        .await
    }

    /// Runs blocking file I/O on a blocking thread for at most `bound` of wall time. Past it
    /// the thread is left to finish on its own and the store is off for the rest of the run.
    async fn bounded<T: Default + Send + 'static>(
        &self,
        bound: Duration,
        what: &str,
        io: impl FnOnce() -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        if self.path.is_none() {
            return Ok(T::default());
        }
        if self.stuck.load(Ordering::Relaxed) {
            return Err(format!(
                "cannot {what}: the state directory did not answer earlier in this run"
            ));
        }
        match tokio::time::timeout(bound, tokio::task::spawn_blocking(io)).await {
            Ok(Ok(result)) => result,
            Ok(Err(e)) => Err(format!("cannot {what}: {e}")),
            Err(_) => {
                self.stuck.store(true, Ordering::Relaxed);
                Err(format!(
                    "cannot {what}: the state directory did not answer within {}; checkpoints are off for the rest of this run",
                    crate::units::format_duration(bound)
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_clear() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore {
            path: Some(dir.path().join("c/x.json")),
            stuck: Arc::default(),
            known: Arc::default(),
        };
        assert_eq!(store.load(), Ok(None));
        store.save("{\"step\":2}").unwrap();
        assert_eq!(store.load(), Ok(Some("{\"step\":2}".to_string())));
        store.clear().unwrap();
        assert_eq!(store.load(), Ok(None));
    }

    /// Breaks if a checkpoint planted as a symlink (to a file the operator can read but the
    /// policy should not see) is handed to the policy.
    #[test]
    fn a_planted_symlink_is_not_restored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), "token").unwrap();
        std::fs::create_dir(dir.path().join("c")).unwrap();
        let path = dir.path().join("c/x.json");
        std::os::unix::fs::symlink(dir.path().join("secret"), &path).unwrap();
        let store = CheckpointStore {
            path: Some(path),
            stuck: Arc::default(),
            known: Arc::default(),
        };
        let why = store.load().unwrap_err();
        assert!(why.contains("symbolic link"), "{why}");
    }

    /// Breaks if a checkpoint operation can hold the run past its bound, or if a later one
    /// can race the write left hanging.
    #[tokio::test]
    async fn a_hung_operation_is_cut_and_turns_the_store_off() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore {
            path: Some(dir.path().join("c/x.json")),
            stuck: Arc::default(),
            known: Arc::default(),
        };
        let hung = store
            .bounded(Duration::from_millis(50), "save the checkpoint", || {
                std::thread::sleep(Duration::from_millis(500));
                Ok(())
            })
            .await;
        assert!(hung.unwrap_err().contains("did not answer within 50ms"));
        let later = store
            .save_bounded("{}".into(), Duration::from_secs(5))
            .await;
        assert!(
            later
                .unwrap_err()
                .contains("did not answer earlier in this run")
        );
        assert_eq!(store.load(), Ok(None), "nothing was written after the hang");
    }

    /// Breaks if every `restore` reads the file again (a policy restoring in a loop would
    /// make the host read a megabyte each time).
    #[tokio::test]
    async fn a_run_reads_its_checkpoint_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c/x.json");
        let store = CheckpointStore {
            path: Some(path.clone()),
            stuck: Arc::default(),
            known: Arc::default(),
        };
        let bound = Duration::from_secs(5);
        store
            .save_bounded("{\"step\":1}".into(), bound)
            .await
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            store.load_bounded(bound).await,
            Ok(Some("{\"step\":1}".to_string())),
            "what this run saved, without reading the file"
        );
    }

    #[test]
    fn file_names_are_digests_not_names() {
        let a = CheckpointStore::for_release("https://k", "shop", "web");
        let b = CheckpointStore::for_release("https://k", "shop", "web2");
        let name = |s: &CheckpointStore| {
            s.path
                .as_ref()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
        };
        if let (Some(a), Some(b)) = (name(&a), name(&b)) {
            assert_ne!(a, b);
            assert_eq!(a.len(), 64 + ".json".len());
            assert!(!a.contains("web"));
        }
    }
}
