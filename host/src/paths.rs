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
