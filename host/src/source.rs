//! Where a policy comes from: a bundled name or a `.wasm` file; its bytes, digest and manifest.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::manifest::{Manifest, ManifestError};

/// The policies built into this binary.
pub mod bundled {
    include!(concat!(env!("OUT_DIR"), "/bundled.rs"));
}

/// Where a policy's bytes came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Bundled(String),
    File(PathBuf),
}

/// A policy's bytes, their SHA-256, and its manifest.
#[derive(Debug, Clone)]
pub struct PolicySource {
    pub origin: Origin,
    pub bytes: Vec<u8>,
    /// Hex SHA-256 of `bytes`: the cache key, and what signatures will cover.
    pub digest: String,
    pub manifest: Manifest,
}

/// Why a policy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(
        "unknown policy `{0}`: not a bundled policy (`cutover policies` lists them) and no such file"
    )]
    Unknown(String),
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0} is not a regular file")]
    NotAFile(String),
    #[error("{0} is larger than the {limit} MiB a policy module may be", limit = MAX_MODULE_BYTES >> 20)]
    TooLarge(String),
    #[error("{0} is not a cutover policy: {1}")]
    Manifest(String, ManifestError),
}

impl PolicySource {
    /// Resolves a policy argument as kubectl resolves `-f`: a path when it names a file or
    /// looks like one (contains `/` or ends in `.wasm`), else a bundled policy's name.
    pub fn resolve(argument: &str) -> Result<PolicySource, SourceError> {
        let path = Path::new(argument);
        let looks_like_path =
            argument.contains('/') || argument.ends_with(".wasm") || path.exists();
        if looks_like_path {
            let bytes = read_module(path, argument)?;
            return PolicySource::from_bytes(Origin::File(path.to_path_buf()), bytes);
        }
        let (name, bytes) = bundled::BUNDLED
            .iter()
            .find(|(name, _)| *name == argument)
            .ok_or_else(|| SourceError::Unknown(argument.to_string()))?;
        PolicySource::from_bytes(Origin::Bundled(name.to_string()), bytes.to_vec())
    }

    /// Whether `argument` names a bundled policy (and nothing that looks like a path).
    pub fn is_bundled(argument: &str) -> bool {
        !argument.contains('/')
            && !argument.ends_with(".wasm")
            && bundled::BUNDLED.iter().any(|(name, _)| *name == argument)
    }

    /// Every bundled policy.
    pub fn bundled() -> Result<Vec<PolicySource>, SourceError> {
        bundled::BUNDLED
            .iter()
            .map(|(name, bytes)| {
                PolicySource::from_bytes(Origin::Bundled(name.to_string()), bytes.to_vec())
            })
            .collect()
    }

    /// Reads the manifest and digests the bytes.
    pub fn from_bytes(origin: Origin, bytes: Vec<u8>) -> Result<PolicySource, SourceError> {
        let manifest =
            Manifest::read(&bytes).map_err(|e| SourceError::Manifest(label_of(&origin), e))?;
        let digest = hex::encode(Sha256::digest(&bytes));
        Ok(PolicySource {
            origin,
            bytes,
            digest,
            manifest,
        })
    }

    /// How the policy is named in messages: `drain` or `./my-policy.wasm`.
    pub fn label(&self) -> String {
        label_of(&self.origin)
    }
}

/// The largest policy module read (a Rust policy is a few hundred KiB; a component with a
/// language runtime inside, Python's say, some tens of MiB).
pub const MAX_MODULE_BYTES: usize = 64 << 20;

/// Reads a module file: a regular file (not a FIFO or a device, which could block or never
/// end), at most [`MAX_MODULE_BYTES`].
fn read_module(path: &Path, argument: &str) -> Result<Vec<u8>, SourceError> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let read_error = |e| SourceError::Read(argument.to_string(), e);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(read_error)?;
    let meta = file.metadata().map_err(read_error)?;
    if !meta.is_file() {
        return Err(SourceError::NotAFile(argument.to_string()));
    }
    if meta.len() > MAX_MODULE_BYTES as u64 {
        return Err(SourceError::TooLarge(argument.to_string()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_MODULE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() > MAX_MODULE_BYTES {
        return Err(SourceError::TooLarge(argument.to_string()));
    }
    Ok(bytes)
}

fn label_of(origin: &Origin) -> String {
    match origin {
        Origin::Bundled(name) => name.clone(),
        Origin::File(path) => path.display().to_string(),
    }
}
