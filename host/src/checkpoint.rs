//! Checkpoints: opaque state a policy saves so that a later run of the same release can resume.
//! Kept as one file per (cluster, namespace, release) under the state directory.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;

/// The checkpoint file of one release on one cluster.
#[derive(Debug, Clone)]
pub struct CheckpointStore {
    path: Option<PathBuf>,
}

impl CheckpointStore {
    /// The store for `release` in `namespace` on the cluster at `server`: under
    /// `$CUTOVER_STATE_DIR`, else `$XDG_STATE_HOME/cutover`, else `~/.local/state/cutover`.
    pub fn for_release(server: &str, namespace: &str, release: &str) -> CheckpointStore {
        let dir = crate::paths::state_dir();
        let mut hasher = DefaultHasher::new();
        server.hash(&mut hasher);
        let file = format!("{namespace}.{release}.{:016x}.json", hasher.finish());
        CheckpointStore {
            path: dir.map(|d| d.join("checkpoints").join(file)),
        }
    }

    /// A store that keeps nothing (tests, or no home directory).
    pub fn none() -> CheckpointStore {
        CheckpointStore { path: None }
    }

    /// Saves `state`, replacing the previous checkpoint.
    pub fn save(&self, state: &str) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, state)?;
        std::fs::rename(tmp, path)
    }

    /// The saved state, if any.
    pub fn load(&self) -> Option<String> {
        self.path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
    }

    /// Forgets the checkpoint (after a successful run).
    pub fn clear(&self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
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
        };
        assert_eq!(store.load(), None);
        store.save("{\"step\":2}").unwrap();
        assert_eq!(store.load().as_deref(), Some("{\"step\":2}"));
        store.clear();
        assert_eq!(store.load(), None);
    }
}
