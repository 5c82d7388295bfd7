//! The on-disk cache of compiled components, keyed by the module's digest and the engine's
//! configuration, so a policy is compiled once per machine rather than once per run.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

/// Where compiled components are kept: `compiled/` in the cache directory
/// ([`crate::paths::cache_dir`]); None when no home is known (then nothing is cached).
pub fn default_dir() -> Option<PathBuf> {
    crate::paths::cache_dir().map(|d| d.join("compiled"))
}

/// Compiles components, or loads them compiled from the cache.
pub struct ComponentCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

impl ComponentCache {
    /// A cache in `dir` (None: compile every time) for components of `engine`.
    pub fn new(engine: &Engine, dir: Option<PathBuf>) -> ComponentCache {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        ComponentCache {
            dir,
            engine_key: format!("{:016x}", hasher.finish()),
        }
    }

    /// The compiled component for `bytes`, whose SHA-256 is `digest` (hex).
    ///
    /// A cache entry that cannot be read or does not load (another wasmtime, a torn write) is
    /// ignored and replaced. A cache that cannot be written only costs the next run a compile.
    pub fn load(&self, engine: &Engine, digest: &str, bytes: &[u8]) -> wasmtime::Result<Component> {
        let Some(path) = self.path(digest) else {
            return Component::new(engine, bytes);
        };
        if path.exists() {
            // SAFETY: the file was written by `Component::serialize` of this engine
            // configuration (the engine key is in its name) into the operator's own cache
            // directory, and wasmtime checks its header and compatibility before use.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok(component),
                Err(e) => tracing::debug!("ignoring cache entry {}: {e:#}", path.display()),
            }
        }
        let component = Component::new(engine, bytes)?;
        if let Err(e) = write_atomically(&path, &component.serialize()?) {
            tracing::debug!(
                "cannot cache the compiled policy in {}: {e}",
                path.display()
            );
        }
        Ok(component)
    }

    fn path(&self, digest: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(format!("{digest}-{}.cwasm", self.engine_key)))
    }
}

/// Writes to a temporary file beside `path`, then renames: a reader never sees half a file.
fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}",
        std::process::id(),
        path.file_name().and_then(|n| n.to_str()).unwrap_or("entry")
    ));
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_entry_is_replaced() {
        let engine = crate::sandbox::engine::build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cache = ComponentCache::new(&engine, Some(dir.path().to_path_buf()));
        // The smallest component: the preamble of the component binary format.
        let bytes = b"\0asm\x0d\0\x01\0";
        let path = cache.path("abc").unwrap();
        std::fs::write(&path, b"garbage").unwrap();
        cache.load(&engine, "abc", bytes).unwrap();
        let reloaded = std::fs::read(&path).unwrap();
        assert_ne!(reloaded, b"garbage");
        // The second load comes from the cache entry just written.
        cache.load(&engine, "abc", bytes).unwrap();
    }
}
