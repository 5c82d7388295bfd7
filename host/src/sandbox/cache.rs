//! The on-disk cache of compiled components, keyed by SHA-256 of the module and of the engine's
//! configuration, so a policy is compiled once per machine rather than once per run.
//!
//! A cache entry is native code that wasmtime maps and runs, so the cache trusts nothing it did
//! not write itself: the directory and each entry must belong to the user running cutover and
//! be writable by nobody else, or the cache is not used at all; and each entry carries the
//! SHA-256 of its contents, checked before wasmtime sees it, so that a torn or corrupted entry is
//! compiled again, never executed.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The first bytes of an entry: the format, then the SHA-256 of the rest.
const MAGIC: &[u8; 8] = b"cutovc01";
const HEADER: usize = MAGIC.len() + 32;

/// Where compiled components are kept: `compiled/` in the cache directory
/// ([`crate::paths::cache_dir`]); None when no home is known (then nothing is cached).
pub fn default_dir() -> Option<PathBuf> {
    crate::paths::cache_dir().map(|d| d.join("compiled"))
}

/// Compiles components, or loads them compiled from the cache.
pub struct ComponentCache {
    dir: Option<PathBuf>,
    engine_key: String,
    /// Why the cache directory is not used, when it is not.
    refused: Option<String>,
}

/// A `Hasher` that feeds SHA-256, so that `Engine::precompile_compatibility_hash` (which only
/// offers `Hash`) gives a key that does not depend on `DefaultHasher`'s unspecified algorithm.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        // Not used: the key is the whole digest (see `ComponentCache::new`).
        0
    }
}

impl ComponentCache {
    /// A cache in `dir` (None: compile every time) for components of `engine`. A directory that
    /// another user owns or can write to is not used (see [`ComponentCache::refused`]).
    pub fn new(engine: &Engine, dir: Option<PathBuf>) -> ComponentCache {
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = hex::encode(&hasher.0.finalize()[..16]);
        let (dir, refused) = match dir {
            Some(dir) => match prepare_dir(&dir) {
                Ok(()) => (Some(dir), None),
                Err(why) => {
                    tracing::warn!("{why}");
                    (None, Some(why))
                }
            },
            None => (None, None),
        };
        ComponentCache {
            dir,
            engine_key,
            refused,
        }
    }

    /// Why the cache directory is not used, if it is not (the CLI says so once).
    pub fn refused(&self) -> Option<&str> {
        self.refused.as_deref()
    }

    /// The compiled component for `bytes`, whose SHA-256 is `digest` (hex).
    ///
    /// An entry that cannot be read, is not ours alone, fails its digest or does not load
    /// (another wasmtime) is ignored and replaced. A cache that cannot be written only costs the
    /// next run a compile.
    pub fn load(&self, engine: &Engine, digest: &str, bytes: &[u8]) -> wasmtime::Result<Component> {
        let Some(path) = self.path(digest) else {
            return Component::new(engine, bytes);
        };
        let key = self.key(digest);
        match read_entry(&path, &key) {
            Ok(Some(compiled)) => {
                // SAFETY: the bytes were written by `Component::serialize` of this engine
                // configuration into a directory and file that only this user can write (checked
                // on the open handle), and their SHA-256, taken with the module digest and engine
                // key they were compiled from, matches what was written with them; wasmtime
                // checks the header and compatibility again before use.
                match unsafe { Component::deserialize(engine, compiled) } {
                    Ok(component) => return Ok(component),
                    Err(e) => tracing::debug!("ignoring cache entry {}: {e:#}", path.display()),
                }
            }
            Ok(None) => {}
            Err(why) => tracing::warn!("ignoring cache entry {}: {why}", path.display()),
        }
        let component = Component::new(engine, bytes)?;
        if let Err(e) = write_entry(&path, &key, &component.serialize()?) {
            tracing::debug!(
                "cannot cache the compiled policy in {}: {e}",
                path.display()
            );
        }
        Ok(component)
    }

    /// What an entry is compiled from: the module's digest and the engine key.
    fn key(&self, digest: &str) -> String {
        format!("{digest}-{}", self.engine_key)
    }

    fn path(&self, digest: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(format!("{}.cwasm", self.key(digest))))
    }
}

/// Creates the directory (mode 0700) or checks the existing one.
fn prepare_dir(dir: &Path) -> Result<(), String> {
    crate::paths::private_dir(dir).map_err(|why| {
        format!(
            "not using the compile cache: {why}; compiled policies could be replaced by another user (fix: chmod go-w, or set CUTOVER_CACHE_DIR)"
        )
    })
}

/// The most a cache entry may be (compiled policies are a few MiB).
const MAX_ENTRY: usize = 256 << 20;

/// The digest an entry carries: of its compiled bytes and of what they were compiled from (the
/// module's digest and the engine key), so that an entry copied to another name never loads.
fn entry_digest(key: &str, compiled: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(key.as_bytes());
    h.update([0]);
    h.update(compiled);
    h.finalize().into()
}

/// The compiled bytes of an entry, once its ownership, mode and digest check out; `None` when
/// there is no entry. `key` is the entry's name without its extension.
fn read_entry(path: &Path, key: &str) -> Result<Option<Vec<u8>>, String> {
    let Some(data) = crate::paths::read_private(path, MAX_ENTRY)? else {
        return Ok(None);
    };
    if data.len() < HEADER || &data[..MAGIC.len()] != MAGIC {
        return Err("it is not a cutover cache entry".into());
    }
    let (header, compiled) = data.split_at(HEADER);
    if entry_digest(key, compiled).as_slice() != &header[MAGIC.len()..] {
        return Err(
            "its contents do not match their digest (corrupted, or another entry's)".into(),
        );
    }
    Ok(Some(compiled.to_vec()))
}

/// Writes an entry (header, then the compiled bytes) as a private file, whole or not at all.
fn write_entry(path: &Path, key: &str, compiled: &[u8]) -> std::io::Result<()> {
    crate::paths::write_private(path, &[MAGIC, &entry_digest(key, compiled), compiled])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest component: the preamble of the component binary format.
    const EMPTY: &[u8] = b"\0asm\x0d\0\x01\0";

    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    fn private_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        dir
    }

    #[test]
    fn a_corrupt_entry_is_recompiled_never_loaded() {
        let engine = crate::sandbox::engine::build().unwrap();
        let dir = private_dir();
        let cache = ComponentCache::new(&engine, Some(dir.path().to_path_buf()));
        assert!(cache.refused().is_none());
        cache.load(&engine, "abc", EMPTY).unwrap();
        let path = cache.path("abc").unwrap();
        let good = fs::read(&path).unwrap();
        assert_eq!(&good[..MAGIC.len()], MAGIC);
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Flip one byte of the compiled code: the digest no longer matches.
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        fs::write(&path, &bad).unwrap();
        assert!(
            read_entry(&path, &cache.key("abc"))
                .unwrap_err()
                .contains("digest")
        );
        cache.load(&engine, "abc", EMPTY).unwrap();
        assert_eq!(
            fs::read(&path).unwrap(),
            good,
            "the entry was written again"
        );
    }

    /// Breaks if an entry is trusted by its contents alone: one copied under another module's
    /// name would run as that module.
    #[test]
    fn an_entry_under_another_name_is_not_loaded() {
        let engine = crate::sandbox::engine::build().unwrap();
        let dir = private_dir();
        let cache = ComponentCache::new(&engine, Some(dir.path().to_path_buf()));
        cache.load(&engine, "abc", EMPTY).unwrap();
        let other = cache.path("abd").unwrap();
        fs::copy(cache.path("abc").unwrap(), &other).unwrap();
        let err = read_entry(&other, &cache.key("abd")).unwrap_err();
        assert!(err.contains("another entry"), "{err}");
    }

    #[test]
    fn an_entry_others_can_write_is_not_used() {
        let engine = crate::sandbox::engine::build().unwrap();
        let dir = private_dir();
        let cache = ComponentCache::new(&engine, Some(dir.path().to_path_buf()));
        cache.load(&engine, "abc", EMPTY).unwrap();
        let path = cache.path("abc").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
        assert!(
            read_entry(&path, &cache.key("abc"))
                .unwrap_err()
                .contains("writable by other users")
        );
        // Loading replaces it with a private one.
        cache.load(&engine, "abc", EMPTY).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn a_directory_others_can_write_is_not_used_at_all() {
        let engine = crate::sandbox::engine::build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let cache = ComponentCache::new(&engine, Some(dir.path().to_path_buf()));
        let why = cache.refused().expect("refused");
        assert!(why.contains("writable by other users"), "{why}");
        cache.load(&engine, "abc", EMPTY).unwrap();
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing written"
        );
    }

    #[test]
    fn keys_are_sha256_of_the_engine_config() {
        let engine = crate::sandbox::engine::build().unwrap();
        let a = ComponentCache::new(&engine, None);
        let b = ComponentCache::new(&engine, None);
        assert_eq!(a.engine_key, b.engine_key);
        assert_eq!(a.engine_key.len(), 32);
    }
}
