//! A revision's body as Helm stores one — gzip of its JSON — split into parts that each fit in a
//! Secret, and read back whole only when its digest matches.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

/// The most body bytes one Secret carries: below the API server's 1 MiB limit on a Secret's
/// data, with room for its metadata.
pub const PART_SIZE: usize = 900 << 10;
/// The most parts a body is split into (a 64 MiB body), so that a hostile label cannot make a
/// reader fetch without end.
pub const MAX_PARTS: usize = 72;
/// The largest body read back once decompressed: a gzip bomb stops here.
pub const MAX_DECODED: u64 = 64 << 20;

/// Why a stored body cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodecError {
    #[error(
        "its digest does not match (expected {expected}, found {found}): it was changed or is half written"
    )]
    Digest { expected: String, found: String },
    #[error("it is not gzip data: {0}")]
    Gzip(String),
    #[error("it decompresses to more than {} MiB", MAX_DECODED >> 20)]
    TooLarge,
    #[error("it is not a revision record: {0}")]
    Json(String),
    #[error("it needs {0} parts, more than the {MAX_PARTS} a body may have")]
    TooManyParts(usize),
}

/// A body ready to store: its parts in order and the digest of their concatenation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub parts: Vec<Vec<u8>>,
    /// `sha256:<hex>` of the gzip bytes.
    pub digest: String,
}

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// `bytes` gzipped.
pub fn gzip(bytes: &[u8]) -> Result<Vec<u8>, CodecError> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(bytes)
        .and_then(|()| gz.flush())
        .map_err(|e| CodecError::Gzip(e.to_string()))?;
    gz.finish().map_err(|e| CodecError::Gzip(e.to_string()))
}

/// Gzipped `bytes` inflated, at most [`MAX_DECODED`] of them.
pub fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .take(MAX_DECODED + 1)
        .read_to_end(&mut out)
        .map_err(|e| CodecError::Gzip(e.to_string()))?;
    if out.len() as u64 > MAX_DECODED {
        return Err(CodecError::TooLarge);
    }
    Ok(out)
}

/// JSON bytes as gzip, in parts of at most [`PART_SIZE`] bytes.
pub fn encode_json(json: &[u8]) -> Result<Encoded, CodecError> {
    let bytes = gzip(json)?;
    let digest = digest(&bytes);
    let parts: Vec<Vec<u8>> = bytes.chunks(PART_SIZE).map(<[u8]>::to_vec).collect();
    if parts.len() > MAX_PARTS {
        return Err(CodecError::TooManyParts(parts.len()));
    }
    Ok(Encoded { parts, digest })
}

/// The JSON bytes from gzipped parts, in order, once their digest is the one recorded.
pub fn decode_json(parts: &[&[u8]], expected: &str) -> Result<Vec<u8>, CodecError> {
    let bytes = parts.concat();
    let found = digest(&bytes);
    if found != expected {
        return Err(CodecError::Digest {
            expected: crate::text::escape(expected, 80),
            found,
        });
    }
    gunzip(&bytes)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::release::record::{PolicyRef, Record, Status, Values};

    pub(crate) fn record(number: u32) -> Record {
        Record {
            release: "web".into(),
            namespace: "shop".into(),
            number,
            status: Status::Deployed,
            policy: PolicyRef {
                name: "restart".into(),
                version: "0.1.0".into(),
                digest: "sha256:00".into(),
                source: "restart".into(),
            },
            values: Values {
                given: serde_json::json!({"name": "web"}),
                computed: serde_json::json!({"name": "web", "timeout": "5m"}),
            },
            applied: vec![],
            journal: vec![],
            checkpoint: None,
            description: "Install complete".into(),
            attempt: 1,
            rollback_to: None,
            holder: "me@here pid 1 run x".into(),
            started: "2026-12-01T00:00:00Z".into(),
            updated: "2026-12-01T00:00:01Z".into(),
            unreverted: vec![],
            recorded: false,
            reverted: false,
            paused: None,
            rollback_by_policy: false,
        }
    }

    fn encode(record: &Record) -> Result<Encoded, CodecError> {
        encode_json(&serde_json::to_vec(record).unwrap())
    }

    fn decode(parts: &[&[u8]], expected: &str) -> Result<Record, CodecError> {
        let json = decode_json(parts, expected)?;
        serde_json::from_slice(&json).map_err(|e| CodecError::Json(e.to_string()))
    }

    fn parts(e: &Encoded) -> Vec<&[u8]> {
        e.parts.iter().map(Vec::as_slice).collect()
    }

    #[test]
    fn round_trip_in_one_part() {
        let r = record(3);
        let e = encode(&r).unwrap();
        assert_eq!(e.parts.len(), 1);
        assert_eq!(decode(&parts(&e), &e.digest).unwrap(), r);
    }

    #[test]
    fn a_large_body_is_split_and_read_back_whole() {
        let mut r = record(1);
        // Incompressible: a pseudo-random checkpoint of 2.5 MiB.
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let noise: String = (0..(5 << 19))
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'!' + (x % 90) as u8)
            })
            .collect();
        r.checkpoint = Some(noise);
        let e = encode(&r).unwrap();
        assert!(e.parts.len() >= 3, "{} parts", e.parts.len());
        assert!(e.parts.iter().all(|p| p.len() <= PART_SIZE));
        assert_eq!(decode(&parts(&e), &e.digest).unwrap(), r);
        // A part missing, reordered or changed is refused by the digest.
        let mut reordered = parts(&e);
        reordered.swap(0, 1);
        assert!(matches!(
            decode(&reordered, &e.digest),
            Err(CodecError::Digest { .. })
        ));
        assert!(matches!(
            decode(&parts(&e)[..2], &e.digest),
            Err(CodecError::Digest { .. })
        ));
    }

    #[test]
    fn hostile_bodies_are_refused() {
        // Not gzip, with a matching digest.
        let junk = b"not gzip at all".to_vec();
        assert!(matches!(
            decode(&[&junk], &digest(&junk)),
            Err(CodecError::Gzip(_))
        ));
        // A gzip bomb: 300 MiB of zeros in a few hundred KiB.
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..300 {
            gz.write_all(&zeros).unwrap();
        }
        let bomb = gz.finish().unwrap();
        assert_eq!(decode(&[&bomb], &digest(&bomb)), Err(CodecError::TooLarge));
        // Gzip of something that is not a record.
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(b"{\"release\": 1}").unwrap();
        let other = gz.finish().unwrap();
        assert!(matches!(
            decode(&[&other], &digest(&other)),
            Err(CodecError::Json(_))
        ));
    }
}
