//! Where cutover keeps its files on the operator's machine, by the XDG base-directory rules.

use std::path::{Path, PathBuf};

/// The cache directory: `$CUTOVER_CACHE_DIR`, else `$XDG_CACHE_HOME/cutover`, else
/// `~/.cache/cutover`; None when none of them is set.
pub fn cache_dir() -> Option<PathBuf> {
    env_dir("CUTOVER_CACHE_DIR")
        .or_else(|| env_dir("XDG_CACHE_HOME").map(|d| d.join("cutover")))
        .or_else(|| env_dir("HOME").map(|h| h.join(".cache/cutover")))
}

/// An environment variable naming a directory; unset and empty are the same.
fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The user this process runs as.
fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Whether `meta` belongs to us and nobody else can write it.
pub fn ours_alone(meta: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if meta.uid() != current_uid() {
        return Err(format!("it belongs to user {}", meta.uid()));
    }
    if meta.permissions().mode() & 0o022 != 0 {
        return Err(format!(
            "it is writable by other users (mode {:o})",
            meta.permissions().mode() & 0o777
        ));
    }
    Ok(())
}

/// Creates `dir` (mode 0700, parents too) or checks the existing one: a directory, not a
/// symlink, that belongs to us and that nobody else can write. The error says why not.
pub fn private_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    ours_alone(&meta).map_err(|why| format!("{}: {why}", dir.display()))
}

/// Opens `path` for reading without following a symlink or blocking on a FIFO.
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// Reads a private file whole: `Ok(None)` when there is none; an error when it is a symlink or
/// not a regular file, is not ours alone (checked on the open handle, so it cannot be swapped
/// between the check and the read), or is larger than `max` bytes.
pub fn read_private(path: &Path, max: usize) -> Result<Option<Vec<u8>>, String> {
    use std::io::Read as _;
    let file = match open_no_follow(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err("it is a symbolic link".into());
        }
        Err(e) => return Err(e.to_string()),
    };
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    ours_alone(&meta)?;
    if meta.len() > max as u64 {
        return Err(format!("it is larger than {max} bytes"));
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    file.take(max as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|e| e.to_string())?;
    if data.len() > max {
        return Err(format!("it is larger than {max} bytes"));
    }
    Ok(Some(data))
}

/// Writes `parts` to `path` as one private file (mode 0600) in a private directory (see
/// [`private_dir`]): to a new temporary file with a random name beside it first (created
/// exclusively, so nothing planted there is written through), synced, then renamed, so that a
/// reader never sees half a file and no other user can read or change it.
pub fn write_private(path: &Path, parts: &[&[u8]]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    private_dir(dir).map_err(std::io::Error::other)?;
    write_atomic(path, parts)
}

/// Writes `parts` to `path` (mode 0600) in whatever directory it is in: to a new temporary file
/// with a random name beside it (created exclusively, never through a link), synced, then
/// renamed over `path`, so that a reader never sees half a file.
pub fn write_atomic(path: &Path, parts: &[&[u8]]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(".{:016x}.tmp", rand::random::<u64>()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o600)
        .open(&tmp)?;
    let written = parts
        .iter()
        .try_for_each(|part| file.write_all(part))
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_private_file_round_trips_with_mode_0600() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("d/f");
        write_private(&path, &[b"ab", b"cd"]).expect("write");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            read_private(&path, 4).expect("read"),
            Some(b"abcd".to_vec())
        );
        assert!(
            read_private(&path, 3)
                .expect_err("too large")
                .contains("larger")
        );
        assert_eq!(
            read_private(&dir.path().join("none"), 4).expect("none"),
            None
        );
    }

    /// Breaks if a symlink planted where a private file goes is followed on read.
    #[test]
    fn a_symlink_is_not_followed() {
        let dir = tempfile::tempdir().expect("dir");
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"secret").expect("write");
        let link = dir.path().join("f");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let err = read_private(&link, 100).expect_err("symlink");
        assert!(err.contains("symbolic link"), "{err}");
    }

    /// Breaks if a FIFO planted where a private file goes blocks the reader.
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().expect("dir");
        let fifo = dir.path().join("f");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = read_private(&fifo, 100).expect_err("fifo");
        assert!(err.contains("not a regular file"), "{err}");
    }

    /// Breaks if a directory that others can write is used for private files.
    #[test]
    fn a_directory_others_can_write_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).expect("mkdir");
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let err = write_private(&shared.join("f"), &[b"x"]).expect_err("shared dir");
        assert!(err.to_string().contains("writable by other users"), "{err}");
    }
}
