//! Where cutover keeps its files on the operator's machine, by the XDG base-directory rules.

use std::path::PathBuf;

/// The cache directory: `$CUTOVER_CACHE_DIR`, else `$XDG_CACHE_HOME/cutover`, else
/// `~/.cache/cutover`; None when none of them is set.
pub fn cache_dir() -> Option<PathBuf> {
    env_dir("CUTOVER_CACHE_DIR")
        .or_else(|| env_dir("XDG_CACHE_HOME").map(|d| d.join("cutover")))
        .or_else(|| env_dir("HOME").map(|h| h.join(".cache/cutover")))
}

/// The state directory: `$CUTOVER_STATE_DIR`, else `$XDG_STATE_HOME/cutover`, else
/// `~/.local/state/cutover`; None when none of them is set.
pub fn state_dir() -> Option<PathBuf> {
    env_dir("CUTOVER_STATE_DIR")
        .or_else(|| env_dir("XDG_STATE_HOME").map(|d| d.join("cutover")))
        .or_else(|| env_dir("HOME").map(|h| h.join(".local/state/cutover")))
}

/// An environment variable naming a directory; unset and empty are the same.
fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Writes `parts` to `path` as one private file (mode 0600; its directory created 0700 when
/// missing): to a temporary file beside it first, synced, then renamed, so that a reader never
/// sees half a file and no other user can read or change it.
pub fn write_private(path: &std::path::Path, parts: &[&[u8]]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        std::process::id(),
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("entry")
    ));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    for part in parts {
        file.write_all(part)?;
    }
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}
