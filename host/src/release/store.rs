//! Revisions in the cluster: one Secret per revision (`cutover.release.v1.<release>.v<N>`, type
//! `cutover.dev/release.v1`, labelled as Helm labels its own), its body split over extra part
//! Secrets when it outgrows one, and written so that a reader never takes a half-written body.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};

use sha2::{Digest as _, Sha256};

use super::codec::{self, Encoded};
use super::journal::Entry;
use super::record::{Record, Status};
use crate::cluster::{Cluster, ClusterError, Ctx};

/// The type of a revision's Secret.
pub const SECRET_TYPE: &str = "cutover.dev/release.v1";
/// The type of the extra Secrets a large body is split over.
pub const PART_TYPE: &str = "cutover.dev/release.v1.part";
/// The label every Secret of cutover's carries, as Helm's `owner=helm`.
pub const OWNER: &str = "cutover";
const DATA_KEY: &str = "release";
const DIGEST: &str = "cutover.dev/digest";
const PARTS: &str = "cutover.dev/parts";
const PART_LABEL: &str = "cutover.dev/part";
/// The type of the Secrets a revision's journal is kept in, a segment each.
pub const JOURNAL_TYPE: &str = "cutover.dev/release.v1.journal";
const JOURNAL_LABEL: &str = "cutover.dev/journal";
/// Journal entries per segment: a journal write rewrites one segment, never the whole journal.
pub const SEGMENT_ENTRIES: usize = 128;
/// The most segments a revision's journal has (the recorder's entry bound, with room).
const MAX_SEGMENTS: usize = 200;
/// Secrets per list page: each may be near 1 MiB, and every answer is bounded (17 MiB).
const PAGE: u32 = 8;

/// The Secret name of revision `number` of `release`.
pub fn secret_name(release: &str, number: u32) -> String {
    format!("cutover.release.v1.{release}.v{number}")
}

/// The name of part `part` of the body whose digest is `digest`: parts are named by what they
/// hold, so a new body's parts never overwrite the parts the stored digest still points to.
fn part_name(release: &str, number: u32, part: usize, digest: &str) -> String {
    part_of(&secret_name(release, number), part, digest)
}

/// Part `part` of the body of Secret `base` whose digest is `digest`.
fn part_of(base: &str, part: usize, digest: &str) -> String {
    let tag: String = digest
        .trim_start_matches("sha256:")
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(12)
        .collect();
    format!("{base}.part-{part}.{tag}")
}

/// One journal segment as stored.
#[derive(Debug, Clone, Default)]
struct Segment {
    /// The SHA-256 of its JSON.
    hash: String,
    /// The digest of its gzip body (it names its parts) and how many parts it has.
    digest: String,
    parts: usize,
}

/// A revision as read from (or written to) the cluster.
#[derive(Debug, Clone)]
pub struct Stored {
    pub record: Record,
    /// The main Secret's resourceVersion: a write replaces exactly what was read.
    resource_version: Option<String>,
    /// How many parts the stored body has.
    parts: usize,
    /// The stored body's digest: it names the parts.
    digest: String,
    /// The SHA-256 of the main body's JSON as stored (journal and derived objects left out).
    main_hash: String,
    /// Each journal segment as stored.
    segments: Vec<Segment>,
    /// How many leading journal entries are as stored (entries changed in place lower it).
    journal_clean: usize,
}

impl Stored {
    pub fn number(&self) -> u32 {
        self.record.number
    }

    /// Journal entry `index` changed in place: its segment is written again with the next save.
    pub fn touched(&mut self, index: usize) {
        self.journal_clean = self.journal_clean.min(index);
    }
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The main body's JSON: the record without its journal (kept in segments) and, unless the
/// policy recorded them, without the applied objects (derived from the journal's applies).
fn main_json(record: &mut Record) -> Result<Vec<u8>, ClusterError> {
    let journal = std::mem::take(&mut record.journal);
    let applied = if record.recorded {
        Vec::new()
    } else {
        std::mem::take(&mut record.applied)
    };
    let json = serde_json::to_vec(&*record).map_err(|e| ClusterError::Other(e.to_string()));
    record.journal = journal;
    if !record.recorded {
        record.applied = applied;
    }
    json
}

/// The applied objects of a journal: each apply's manifest, the last of each object winning.
fn derive_applied(journal: &[Entry]) -> Vec<serde_json::Value> {
    let mut applied = Vec::new();
    for manifest in journal.iter().filter_map(|e| e.manifest.clone()) {
        super::recorder::upsert_applied(&mut applied, manifest);
    }
    applied
}

/// The revisions of one release, in one namespace. Every request goes through the cluster's
/// retries: reads and idempotent writes after any transient failure; a write with a
/// precondition is read back after one, to learn whether it was done.
#[derive(Clone)]
pub struct ReleaseStore {
    api: Api<Secret>,
    cluster: Cluster,
    pub namespace: String,
    pub release: String,
    server: Option<String>,
}

/// How many times a write whose answer was lost is read back and tried again.
const WRITE_ATTEMPTS: usize = 5;

impl ReleaseStore {
    /// The revisions of `release` in `namespace`, through `cluster` (its client, retries, clock).
    pub fn new(cluster: &Cluster, namespace: &str, release: &str) -> ReleaseStore {
        ReleaseStore {
            api: Api::namespaced(cluster.client().clone(), namespace),
            cluster: cluster.clone(),
            namespace: namespace.to_string(),
            release: release.to_string(),
            server: None,
        }
    }

    async fn get_secret(&self, name: &str) -> Result<Option<Secret>, ClusterError> {
        let what = format!("secret {}/{name}", self.namespace);
        self.cluster
            .retried(true, || self.api.get_opt(name))
            .await
            .map_err(|e| self.fail("read", &what, &e))
    }

    /// Creates (`create`) or replaces the main Secret of a revision. When the answer is lost
    /// (a 5xx, a dropped connection) the Secret is read back: carrying our digest, the write
    /// was done; unchanged, it is tried again; changed by another writer, it is a conflict.
    async fn write_main(
        &self,
        mut secret: Secret,
        create: bool,
        what: &str,
    ) -> Result<Secret, ClusterError> {
        let name = secret.metadata.name.clone().unwrap_or_default();
        let ours = digest_of(&secret);
        let expected = secret.metadata.resource_version.clone();
        let mut last = None;
        let post = PostParams::default();
        for _ in 0..WRITE_ATTEMPTS {
            let result = if create {
                self.cluster
                    .retried(false, || self.api.create(&post, &secret))
                    .await
            } else {
                self.cluster
                    .retried(false, || self.api.replace(&name, &post, &secret))
                    .await
            };
            match result {
                Ok(written) => return Ok(written),
                Err(e) if crate::cluster::retry::transient(&e) => {
                    let found = self.get_secret(&name).await?;
                    match found {
                        Some(found) if digest_of(&found) == ours => return Ok(found),
                        Some(found) if !create && found.metadata.resource_version == expected => {
                            secret.metadata.resource_version = found.metadata.resource_version;
                        }
                        None if create => {}
                        _ => return Err(self.fail("write", what, &e)),
                    }
                    last = Some(e);
                }
                Err(e) => return Err(self.fail("write", what, &e)),
            }
        }
        match last {
            Some(e) => Err(self.fail("write", what, &e)),
            None => Err(ClusterError::Other(format!("cannot write {what}"))),
        }
    }

    /// Names the API server in error messages.
    pub fn with_server(mut self, server: Option<String>) -> ReleaseStore {
        self.server = server;
        self
    }

    fn fail(&self, op: &str, what: &str, e: &kube::Error) -> ClusterError {
        Ctx {
            op,
            what,
            server: self.server.as_deref(),
        }
        .map(e)
    }

    /// Every revision of the release, oldest first.
    pub async fn history(&self) -> Result<Vec<Stored>, ClusterError> {
        let selector = format!(
            "owner={OWNER},name={},!{PART_LABEL},!{JOURNAL_LABEL}",
            self.release
        );
        let what = format!("the history of release {}/{}", self.namespace, self.release);
        let secrets = list_all(&self.cluster, &self.api, &selector, |e| {
            self.fail("read", &what, e)
        })
        .await?;
        let mut revisions = Vec::new();
        for secret in secrets {
            if secret.type_.as_deref() != Some(SECRET_TYPE) {
                continue;
            }
            revisions.push(self.read(secret).await?);
        }
        revisions.sort_by_key(Stored::number);
        Ok(revisions)
    }

    /// Revision `number`, or None when there is none.
    pub async fn get(&self, number: u32) -> Result<Option<Stored>, ClusterError> {
        let name = secret_name(&self.release, number);
        match self.get_secret(&name).await? {
            Some(secret) => Ok(Some(self.read(secret).await?)),
            None => Ok(None),
        }
    }

    /// The record of a revision's main Secret, its parts fetched and checked by digest.
    async fn read(&self, secret: Secret) -> Result<Stored, ClusterError> {
        let name = secret.metadata.name.clone().unwrap_or_default();
        let what = format!("revision secret {}/{}", self.namespace, name);
        let corrupt = |why: String| {
            ClusterError::Invalid(format!(
                "cannot read {what}: {why}; see docs/releases.md, \"A damaged revision\""
            ))
        };
        let annotations = secret.metadata.annotations.clone().unwrap_or_default();
        let digest = annotations
            .get(DIGEST)
            .cloned()
            .ok_or_else(|| corrupt(format!("it has no {DIGEST} annotation")))?;
        let count = parts_of(&secret).ok_or_else(|| {
            corrupt(format!(
                "its {PARTS} annotation is not 1..={}",
                codec::MAX_PARTS
            ))
        })?;
        let first = body(&secret).ok_or_else(|| corrupt("it has no body".into()))?;
        let number = revision_label(&secret).ok_or_else(|| corrupt("no version label".into()))?;
        let parts = self
            .read_parts(&secret_name(&self.release, number), first, count, &digest)
            .await
            .map_err(|e| match e {
                ClusterError::Invalid(why) => corrupt(why),
                other => other,
            })?;
        let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        let json = codec::decode_json(&slices, &digest).map_err(|e| corrupt(e.to_string()))?;
        let main_hash = sha(&json);
        let mut record: Record =
            serde_json::from_slice(&json).map_err(|e| corrupt(e.to_string()))?;
        let (journal, segments) = self.read_journal(number).await.map_err(|e| match e {
            ClusterError::Invalid(why) => corrupt(why),
            other => other,
        })?;
        record.journal = journal;
        if !record.recorded {
            record.applied = derive_applied(&record.journal);
        }
        if record.number != number || record.release != self.release {
            return Err(corrupt(format!(
                "its body is revision {} of release {}, not what its name says",
                record.number,
                crate::text::escape(&record.release, 64)
            )));
        }
        let journal_clean = record.journal.len();
        Ok(Stored {
            record,
            resource_version: secret.metadata.resource_version,
            parts: count,
            digest,
            main_hash,
            segments,
            journal_clean,
        })
    }

    /// A revision's journal from its segments, each checked by digest, in order and whole.
    async fn read_journal(&self, number: u32) -> Result<(Vec<Entry>, Vec<Segment>), ClusterError> {
        let selector = format!(
            "owner={OWNER},name={},version={number},{JOURNAL_LABEL},!{PART_LABEL}",
            self.release
        );
        let what = format!(
            "the journal of revision {number} of release {}",
            self.release
        );
        let mut found: Vec<(usize, Secret)> = Vec::new();
        for secret in list_all(&self.cluster, &self.api, &selector, |e| {
            self.fail("read", &what, e)
        })
        .await?
        {
            if secret.type_.as_deref() != Some(JOURNAL_TYPE) {
                continue;
            }
            let k = secret
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(JOURNAL_LABEL))
                .and_then(|k| k.parse::<usize>().ok())
                .filter(|k| (1..=MAX_SEGMENTS).contains(k))
                .ok_or_else(|| {
                    ClusterError::Invalid(format!("{what}: a segment has no valid number"))
                })?;
            found.push((k, secret));
        }
        found.sort_by_key(|(k, _)| *k);
        let mut journal = Vec::new();
        let mut hashes = Vec::new();
        for (i, (k, secret)) in found.iter().enumerate() {
            if *k != i + 1 {
                return Err(ClusterError::Invalid(format!(
                    "{what}: segment {} is missing",
                    i + 1
                )));
            }
            let digest = digest_of(secret).ok_or_else(|| {
                ClusterError::Invalid(format!("{what}: segment {k} has no digest"))
            })?;
            let count = parts_of(secret).ok_or_else(|| {
                ClusterError::Invalid(format!("{what}: segment {k} has a bad part count"))
            })?;
            let first = body(secret)
                .ok_or_else(|| ClusterError::Invalid(format!("{what}: segment {k} has no body")))?;
            let base = secret.metadata.name.clone().unwrap_or_default();
            let parts = self.read_parts(&base, first, count, &digest).await?;
            let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            let json = codec::decode_json(&slices, &digest)
                .map_err(|e| ClusterError::Invalid(format!("{what}: segment {k}: {e}")))?;
            let entries: Vec<Entry> = serde_json::from_slice(&json)
                .map_err(|e| ClusterError::Invalid(format!("{what}: segment {k}: {e}")))?;
            if entries.len() > SEGMENT_ENTRIES {
                return Err(ClusterError::Invalid(format!(
                    "{what}: segment {k} is too long"
                )));
            }
            hashes.push(Segment {
                hash: sha(&json),
                digest,
                parts: count,
            });
            journal.extend(entries);
        }
        for (i, entry) in journal.iter().enumerate() {
            if usize::try_from(entry.seq).ok() != Some(i + 1) {
                return Err(ClusterError::Invalid(format!(
                    "{what}: its entries are not numbered 1, 2, 3, ... in order"
                )));
            }
        }
        Ok((journal, hashes))
    }

    /// Writes the journal segments that changed since the last save (normally only the last).
    async fn write_journal(&self, stored: &mut Stored) -> Result<(), ClusterError> {
        let journal = &stored.record.journal;
        let count = journal.len().div_ceil(SEGMENT_ENTRIES);
        if count > MAX_SEGMENTS {
            return Err(ClusterError::Invalid(format!(
                "the journal of revision {} has more than {} entries",
                stored.number(),
                MAX_SEGMENTS * SEGMENT_ENTRIES
            )));
        }
        let first = stored.journal_clean / SEGMENT_ENTRIES;
        for k in first..count {
            let chunk = &journal[k * SEGMENT_ENTRIES..journal.len().min((k + 1) * SEGMENT_ENTRIES)];
            let json = serde_json::to_vec(chunk).map_err(|e| ClusterError::Other(e.to_string()))?;
            let hash = sha(&json);
            if stored.segments.get(k).is_some_and(|s| s.hash == hash) {
                continue;
            }
            let old = stored.segments.get(k).cloned().unwrap_or_default();
            let written = self
                .write_segment(stored.number(), k + 1, &json, &old)
                .await?;
            let segment = Segment { hash, ..written };
            if k < stored.segments.len() {
                stored.segments[k] = segment;
            } else {
                stored.segments.push(segment);
            }
        }
        stored.journal_clean = journal.len();
        Ok(())
    }

    /// Writes journal segment `k` (split into parts as a large body is), then removes the
    /// parts of the body it replaces.
    async fn write_segment(
        &self,
        number: u32,
        k: usize,
        json: &[u8],
        old: &Segment,
    ) -> Result<Segment, ClusterError> {
        let name = format!("{}.journal-{k}", secret_name(&self.release, number));
        let encoded = codec::encode_json(json).map_err(|e| ClusterError::Invalid(e.to_string()))?;
        self.write_parts_of(&name, number, &encoded).await?;
        let mut labels = self.labels(number);
        labels.insert(JOURNAL_LABEL.into(), k.to_string());
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(self.namespace.clone()),
                labels: Some(labels),
                annotations: Some(BTreeMap::from([
                    (DIGEST.to_string(), encoded.digest.clone()),
                    (PARTS.to_string(), encoded.parts.len().to_string()),
                ])),
                ..ObjectMeta::default()
            },
            type_: Some(JOURNAL_TYPE.into()),
            data: Some(BTreeMap::from([(
                DATA_KEY.to_string(),
                ByteString(encoded.parts.first().cloned().unwrap_or_default()),
            )])),
            ..Secret::default()
        };
        self.apply_secret(&name, &secret).await?;
        if old.digest != encoded.digest {
            for part in 2..=old.parts {
                self.delete_secret(&part_of(&name, part, &old.digest))
                    .await?;
            }
        }
        Ok(Segment {
            hash: String::new(),
            digest: encoded.digest,
            parts: encoded.parts.len(),
        })
    }

    /// Parts 2..=`count` of Secret `base`'s body, after its first.
    async fn read_parts(
        &self,
        base: &str,
        first: Vec<u8>,
        count: usize,
        digest: &str,
    ) -> Result<Vec<Vec<u8>>, ClusterError> {
        let mut parts = vec![first];
        for part in 2..=count {
            let name = part_of(base, part, digest);
            let bytes = self
                .get_secret(&name)
                .await?
                .as_ref()
                .and_then(body)
                .ok_or_else(|| {
                    ClusterError::Invalid(format!("its part {part} ({name}) is missing"))
                })?;
            parts.push(bytes);
        }
        Ok(parts)
    }

    /// Creates or replaces a Secret whole by server-side apply (idempotent: retried freely).
    async fn apply_secret(&self, name: &str, secret: &Secret) -> Result<(), ClusterError> {
        let mut value =
            serde_json::to_value(secret).map_err(|e| ClusterError::Other(e.to_string()))?;
        value["apiVersion"] = "v1".into();
        value["kind"] = "Secret".into();
        let params = PatchParams::apply(crate::cluster::FIELD_MANAGER).force();
        let patch = Patch::Apply(value);
        self.cluster
            .retried(true, || self.api.patch(name, &params, &patch))
            .await
            .map(drop)
            .map_err(|e| self.fail("write", &format!("secret {}/{name}", self.namespace), &e))
    }

    /// Writes a new revision; refused (conflict) when one with its number exists.
    pub async fn create(&self, mut record: Record) -> Result<Stored, ClusterError> {
        let json = main_json(&mut record)?;
        let encoded =
            codec::encode_json(&json).map_err(|e| ClusterError::Invalid(e.to_string()))?;
        self.write_parts(&record, &encoded).await?;
        let secret = self.main_secret(&record, &encoded, None);
        let what = format!("revision {} of release {}", record.number, self.release);
        let created = self.write_main(secret, true, &what).await?;
        let mut stored = Stored {
            record,
            resource_version: created.metadata.resource_version,
            parts: encoded.parts.len(),
            digest: encoded.digest,
            main_hash: sha(&json),
            segments: Vec::new(),
            journal_clean: 0,
        };
        self.write_journal(&mut stored).await?;
        Ok(stored)
    }

    /// Writes `stored.record` over what was read or last written: the new body's parts first
    /// (named by its digest, beside the old ones), then the main Secret pointing to them (only
    /// if nobody replaced it meanwhile), then the old parts are removed. A crash at any point
    /// leaves a readable revision: the old body or the new. One write when the body fits in one
    /// Secret.
    pub async fn save(&self, stored: &mut Stored) -> Result<(), ClusterError> {
        // The journal first: a change is recorded before the main body says anything of it.
        self.write_journal(stored).await?;
        let json = main_json(&mut stored.record)?;
        let hash = sha(&json);
        if hash == stored.main_hash && stored.resource_version.is_some() {
            return Ok(());
        }
        let encoded =
            codec::encode_json(&json).map_err(|e| ClusterError::Invalid(e.to_string()))?;
        self.write_parts(&stored.record, &encoded).await?;
        let secret = self.main_secret(&stored.record, &encoded, stored.resource_version.clone());
        let what = format!("revision {} of release {}", stored.number(), self.release);
        let replaced = self.write_main(secret, false, &what).await?;
        stored.resource_version = replaced.metadata.resource_version;
        stored.main_hash = hash;
        let old_parts = std::mem::replace(&mut stored.parts, encoded.parts.len());
        let old_digest = std::mem::replace(&mut stored.digest, encoded.digest);
        if old_digest != stored.digest {
            for part in 2..=old_parts {
                self.delete_secret(&part_name(
                    &self.release,
                    stored.number(),
                    part,
                    &old_digest,
                ))
                .await?;
            }
        }
        Ok(())
    }

    /// [`save`](ReleaseStore::save) by the holder of the release's lock: a conflict can only be
    /// this run's own earlier write whose answer was lost (a call cut short), so the revision is
    /// read again and written over once.
    pub async fn save_held(&self, stored: &mut Stored) -> Result<(), ClusterError> {
        match self.save(stored).await {
            Err(ClusterError::Conflict(_)) => {
                let now = self.get(stored.number()).await?.ok_or_else(|| {
                    ClusterError::NotFound(format!(
                        "revision {} of release {} was deleted while it was written",
                        stored.number(),
                        self.release
                    ))
                })?;
                stored.resource_version = now.resource_version;
                stored.parts = now.parts;
                stored.digest = now.digest;
                stored.main_hash = String::new();
                stored.segments = now.segments;
                stored.journal_clean = 0;
                self.save(stored).await
            }
            other => other,
        }
    }

    /// Removes a revision: its main Secret first (so that no reader finds a partial body),
    /// then every part Secret of it, also those a crash left behind.
    pub async fn delete(&self, stored: &Stored) -> Result<(), ClusterError> {
        self.delete_secret(&secret_name(&self.release, stored.number()))
            .await?;
        for label in [PART_LABEL, JOURNAL_LABEL] {
            let selector = format!(
                "owner={OWNER},name={},version={},{label}",
                self.release,
                stored.number()
            );
            let what = format!(
                "the parts of revision {} of release {}",
                stored.number(),
                self.release
            );
            let parts = list_all(&self.cluster, &self.api, &selector, |e| {
                self.fail("list", &what, e)
            })
            .await?;
            for part in parts {
                if let Some(name) = part.metadata.name {
                    self.delete_secret(&name).await?;
                }
            }
        }
        Ok(())
    }

    async fn delete_secret(&self, name: &str) -> Result<(), ClusterError> {
        let what = format!("secret {}/{name}", self.namespace);
        let params = DeleteParams::default();
        match self
            .cluster
            .retried(true, || self.api.delete(name, &params))
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(self.fail("delete", &what, &e)),
        }
    }

    /// Parts 2.. of a body, each created or replaced whole (server-side apply).
    async fn write_parts(&self, record: &Record, encoded: &Encoded) -> Result<(), ClusterError> {
        self.write_parts_of(
            &secret_name(&self.release, record.number),
            record.number,
            encoded,
        )
        .await
    }

    /// Parts 2.. of a body of Secret `base`, each created or replaced whole.
    async fn write_parts_of(
        &self,
        base: &str,
        number: u32,
        encoded: &Encoded,
    ) -> Result<(), ClusterError> {
        for (index, bytes) in encoded.parts.iter().enumerate().skip(1) {
            let part = index + 1;
            let name = part_of(base, part, &encoded.digest);
            let mut labels = self.labels(number);
            labels.insert(PART_LABEL.into(), part.to_string());
            let secret = Secret {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(self.namespace.clone()),
                    labels: Some(labels),
                    ..ObjectMeta::default()
                },
                type_: Some(PART_TYPE.into()),
                data: Some(BTreeMap::from([(
                    DATA_KEY.to_string(),
                    ByteString(bytes.clone()),
                )])),
                ..Secret::default()
            };
            self.apply_secret(&name, &secret).await?;
        }
        Ok(())
    }

    fn labels(&self, number: u32) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("owner".to_string(), OWNER.to_string()),
            ("name".to_string(), self.release.clone()),
            ("version".to_string(), number.to_string()),
        ])
    }

    fn main_secret(&self, record: &Record, encoded: &Encoded, rv: Option<String>) -> Secret {
        let mut labels = self.labels(record.number);
        labels.insert("status".into(), record.status.as_str().into());
        let annotations = BTreeMap::from([
            (DIGEST.to_string(), encoded.digest.clone()),
            (PARTS.to_string(), encoded.parts.len().to_string()),
        ]);
        Secret {
            metadata: ObjectMeta {
                name: Some(secret_name(&self.release, record.number)),
                namespace: Some(self.namespace.clone()),
                labels: Some(labels),
                annotations: Some(annotations),
                resource_version: rv,
                ..ObjectMeta::default()
            },
            type_: Some(SECRET_TYPE.into()),
            data: Some(BTreeMap::from([(
                DATA_KEY.to_string(),
                ByteString(encoded.parts.first().cloned().unwrap_or_default()),
            )])),
            ..Secret::default()
        }
    }
}

/// The part count a body's Secret says it has (1 when it says nothing), within bounds.
fn parts_of(secret: &Secret) -> Option<usize> {
    match secret
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(PARTS))
    {
        None => Some(1),
        Some(n) => n
            .parse()
            .ok()
            .filter(|n| (1..=codec::MAX_PARTS).contains(n)),
    }
}

fn digest_of(secret: &Secret) -> Option<String> {
    secret.metadata.annotations.as_ref()?.get(DIGEST).cloned()
}

fn body(secret: &Secret) -> Option<Vec<u8>> {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(DATA_KEY))
        .map(|b| b.0.clone())
}

fn revision_label(secret: &Secret) -> Option<u32> {
    secret
        .metadata
        .labels
        .as_ref()?
        .get("version")?
        .parse()
        .ok()
}

/// Every Secret matching `selector`, page by page.
async fn list_all(
    cluster: &Cluster,
    api: &Api<Secret>,
    selector: &str,
    fail: impl Fn(&kube::Error) -> ClusterError,
) -> Result<Vec<Secret>, ClusterError> {
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut params = ListParams::default().labels(selector).limit(PAGE);
        if let Some(t) = &token {
            params = params.continue_token(t);
        }
        let page = cluster
            .retried(true, || api.list(&params))
            .await
            .map_err(|e| fail(&e))?;
        found.extend(page.items);
        match page.metadata.continue_ {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => return Ok(found),
        }
    }
}

/// One line per release for `cutover list`: its latest revision, in one namespace or all.
pub async fn latest_of_each(
    cluster: &Cluster,
    namespace: Option<&str>,
) -> Result<Vec<Stored>, ClusterError> {
    let client = cluster.client();
    let api: Api<Secret> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let where_ = namespace.map_or("all namespaces".to_string(), |ns| format!("namespace {ns}"));
    let selector = format!("owner={OWNER},!{PART_LABEL},!{JOURNAL_LABEL}");
    let secrets = list_all(cluster, &api, &selector, |e| {
        Ctx {
            op: "list",
            what: &format!("the releases in {where_}"),
            server: None,
        }
        .map(e)
    })
    .await?;
    // The newest revision of each (namespace, release), by its labels; then only those are read.
    let mut newest: BTreeMap<(String, String), (u32, Secret)> = BTreeMap::new();
    for secret in secrets {
        if secret.type_.as_deref() != Some(SECRET_TYPE) {
            continue;
        }
        let (Some(ns), Some(release), Some(number)) = (
            secret.metadata.namespace.clone(),
            secret
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("name"))
                .cloned(),
            revision_label(&secret),
        ) else {
            continue;
        };
        // A label is the cluster's text: only a real release name is read further.
        if crate::release::check_name(&release).is_err() {
            continue;
        }
        let key = (ns, release);
        if newest.get(&key).is_none_or(|(n, _)| *n < number) {
            newest.insert(key, (number, secret));
        }
    }
    let mut latest = Vec::new();
    for ((ns, release), (_, secret)) in newest {
        let store = ReleaseStore::new(cluster, &ns, &release);
        // One damaged revision must not hide every other release: it is left out, with a
        // warning naming it (`cutover status` of that release says why).
        match store.read(secret).await {
            Ok(stored) => latest.push(stored),
            Err(ClusterError::Invalid(why)) => tracing::warn!("{why}"),
            Err(e) => return Err(e),
        }
    }
    Ok(latest)
}

/// The one deployed revision of a history, if any.
pub fn deployed(history: &[Stored]) -> Option<&Stored> {
    history
        .iter()
        .rev()
        .find(|s| s.record.status == Status::Deployed)
}

/// Deletes the oldest revisions beyond `max` (0: keep all), never the deployed one nor a
/// pending one. Returns how many were removed.
pub async fn prune(
    store: &ReleaseStore,
    history: &[Stored],
    max: usize,
) -> Result<usize, ClusterError> {
    if max == 0 || history.len() <= max {
        return Ok(0);
    }
    let mut excess = history.len() - max;
    let mut removed = 0;
    for stored in history {
        if excess == 0 {
            break;
        }
        let status = stored.record.status;
        if status == Status::Deployed || status == Status::Paused || status.is_pending() {
            continue;
        }
        store.delete(stored).await?;
        excess -= 1;
        removed += 1;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::codec::tests::record;

    fn cluster(sim: &cutover_sim::Simulator) -> Cluster {
        Cluster::from_client(
            sim.client(),
            "default".into(),
            cutover_clock::Clock::tokio(),
        )
    }

    fn store() -> ReleaseStore {
        let sim = cutover_sim::Simulator::new(0);
        ReleaseStore::new(&cluster(&sim), "default", "web")
    }

    #[tokio::test]
    async fn create_save_read_delete() {
        let store = store();
        assert!(store.history().await.unwrap().is_empty());
        let mut r1 = record(1);
        r1.release = "web".into();
        let mut first = store.create(r1.clone()).await.unwrap();
        assert!(matches!(
            store.create(r1.clone()).await,
            Err(ClusterError::Conflict(_))
        ));
        first.record.description = "changed".into();
        store.save(&mut first).await.unwrap();
        store.create(record(2)).await.unwrap();
        let history = store.history().await.unwrap();
        assert_eq!(
            history.iter().map(Stored::number).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(history[0].record.description, "changed");
        // A stale copy cannot overwrite a newer write.
        let mut stale = history[0].clone();
        first.record.description = "again".into();
        store.save(&mut first).await.unwrap();
        stale.record.description = "stale".into();
        assert!(matches!(
            store.save(&mut stale).await,
            Err(ClusterError::Conflict(_))
        ));
        store.delete(&first).await.unwrap();
        assert!(store.get(1).await.unwrap().is_none());
        assert_eq!(store.history().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_body_over_the_secret_limit_is_split_and_shrinks_back() {
        let store = store();
        let mut r = record(1);
        let mut x = 7u64;
        r.checkpoint = Some(
            (0..(3 << 20))
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    char::from(b'0' + ((x >> 33) % 64) as u8)
                })
                .collect(),
        );
        let mut stored = store.create(r.clone()).await.unwrap();
        assert!(stored.parts >= 2, "{} parts", stored.parts);
        let back = store.get(1).await.unwrap().unwrap();
        assert_eq!(back.record, r);
        // Shrinking removes the parts no longer needed.
        stored.record.checkpoint = None;
        store.save(&mut stored).await.unwrap();
        assert_eq!(stored.parts, 1);
        let api = store.api.clone();
        let left = api
            .list(&ListParams::default().labels(PART_LABEL))
            .await
            .unwrap();
        assert!(left.items.is_empty());
        assert_eq!(store.get(1).await.unwrap().unwrap().record.checkpoint, None);
    }

    /// Does the write, then answers 500 to the first `times` writes of Secrets: the answer of a
    /// write that was done is lost.
    #[derive(Clone)]
    struct LoseAnswers<S> {
        inner: S,
        left: std::sync::Arc<std::sync::atomic::AtomicU32>,
    }

    type Body = cutover_sim::api::SimBody;

    impl<S, B> tower::Service<http::Request<B>> for LoseAnswers<S>
    where
        S: tower::Service<http::Request<B>, Response = http::Response<Body>>,
        S::Future: Send + 'static,
        S::Error: Send + 'static,
    {
        type Response = http::Response<Body>;
        type Error = S::Error;
        type Future = futures::future::BoxFuture<'static, Result<http::Response<Body>, S::Error>>;

        fn poll_ready(
            &mut self,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), S::Error>> {
            self.inner.poll_ready(cx)
        }

        fn call(&mut self, req: http::Request<B>) -> Self::Future {
            use std::sync::atomic::Ordering;
            let write = matches!(*req.method(), http::Method::POST | http::Method::PUT)
                && req.uri().path().contains("/secrets");
            let lose = write
                && self
                    .left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
            let answer = self.inner.call(req);
            Box::pin(async move {
                use http_body_util::BodyExt as _;
                let response = answer.await?;
                if !lose {
                    return Ok(response);
                }
                let status = serde_json::json!({
                    "kind": "Status", "apiVersion": "v1", "status": "Failure",
                    "message": "etcdserver: request timed out", "reason": "InternalError", "code": 500,
                });
                let body = http_body_util::Full::new(bytes::Bytes::from(status.to_string()))
                    .map_err(|never| match never {})
                    .boxed_unsync();
                Ok(http::Response::builder()
                    .status(500)
                    .header("content-type", "application/json")
                    .body(body)
                    .expect("a valid response"))
            })
        }
    }

    /// A create and a replace whose answers are lost are read back: done, so not repeated (a
    /// repeat would be a conflict with our own write).
    #[tokio::test]
    async fn a_write_whose_answer_was_lost_is_read_back() {
        let sim = cutover_sim::Simulator::new(0);
        let left = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(2));
        let service = LoseAnswers {
            inner: sim.service(),
            left: left.clone(),
        };
        let client = kube::Client::new(service, "default");
        let cluster = Cluster::from_client(client, "default".into(), cutover_clock::Clock::tokio());
        let store = ReleaseStore::new(&cluster, "default", "web");
        let mut stored = store.create(record(1)).await.unwrap();
        stored.record.description = "saved once".into();
        store.save(&mut stored).await.unwrap();
        assert_eq!(
            left.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "both answers were lost"
        );
        let back = store.get(1).await.unwrap().unwrap();
        assert_eq!(back.record.description, "saved once");
        // And the next write goes on from what was stored.
        stored.record.description = "saved twice".into();
        store.save(&mut stored).await.unwrap();
        assert_eq!(
            store.get(1).await.unwrap().unwrap().record.description,
            "saved twice"
        );
    }

    fn entry(seq: u32, manifest: Option<serde_json::Value>) -> Entry {
        use crate::release::journal::{Change, Operation, Target};
        Entry {
            seq,
            operation: Operation::Apply,
            target: Target {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: Some("default".into()),
                name: format!("cm-{seq}"),
            },
            change: Change::Create { uid: None },
            manifest,
        }
    }

    /// The journal lives in segments of 128 entries: 300 entries are three, read back whole
    /// and in order; the applied objects are derived from the applies' manifests; a segment
    /// of large entries is split into parts like any large body.
    #[tokio::test]
    async fn the_journal_is_kept_in_segments_and_read_back_whole() {
        let store = store();
        let mut stored = store.create(record(1)).await.unwrap();
        for seq in 1..=300 {
            let manifest = (seq == 7).then(|| {
                serde_json::json!({
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "cm-7", "namespace": "default"},
                })
            });
            stored.record.journal.push(entry(seq, manifest));
        }
        store.save(&mut stored).await.unwrap();
        assert_eq!(stored.segments.len(), 3);
        let back = store.get(1).await.unwrap().unwrap();
        assert_eq!(back.record.journal, stored.record.journal);
        assert_eq!(
            back.record.applied.len(),
            1,
            "derived from the one apply with a manifest"
        );
        // A changed entry rewrites its segment only.
        let before = stored.segments.clone();
        stored.record.journal[5].seq = 6;
        stored.touched(5);
        stored.record.journal[5].target.name = "renamed".into();
        store.save(&mut stored).await.unwrap();
        assert_ne!(stored.segments[0].hash, before[0].hash);
        assert_eq!(stored.segments[1].hash, before[1].hash);
        assert_eq!(
            store.get(1).await.unwrap().unwrap().record.journal[5]
                .target
                .name,
            "renamed"
        );
        // Large entries: a segment over a Secret's size is split, and read back.
        let mut x = 3u64;
        let noise: String = (0..(1 << 20))
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                char::from(b'0' + ((x >> 33) % 64) as u8)
            })
            .collect();
        let mut big = store.create(record(2)).await.unwrap();
        for seq in 1..=2 {
            let manifest = serde_json::json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("cm-{seq}"), "namespace": "default"},
                "data": {"noise": noise},
            });
            big.record.journal.push(entry(seq, Some(manifest)));
        }
        store.save(&mut big).await.unwrap();
        assert!(big.segments[0].parts >= 2, "{:?}", big.segments[0].parts);
        assert_eq!(
            store.get(2).await.unwrap().unwrap().record.journal,
            big.record.journal
        );
        // A segment removed by hand makes the revision unreadable, not silently shorter.
        store
            .delete_secret(&format!("{}.journal-2", secret_name("web", 1)))
            .await
            .unwrap();
        let e = store.get(1).await.unwrap_err();
        assert!(e.to_string().contains("segment 2 is missing"), "{e}");
    }

    #[tokio::test]
    async fn a_tampered_body_is_refused() {
        let store = store();
        store.create(record(1)).await.unwrap();
        let name = secret_name("web", 1);
        let mut secret = store.api.get(&name).await.unwrap();
        secret.data = Some(BTreeMap::from([(
            DATA_KEY.into(),
            ByteString(b"x".to_vec()),
        )]));
        store
            .api
            .replace(&name, &PostParams::default(), &secret)
            .await
            .unwrap();
        let e = store.get(1).await.unwrap_err();
        assert!(e.to_string().contains("digest does not match"), "{e}");
    }

    #[tokio::test]
    async fn pruning_keeps_the_deployed_revision() {
        let store = store();
        let mut d = record(1);
        d.status = Status::Deployed;
        store.create(d).await.unwrap();
        for n in 2..=4 {
            let mut f = record(n);
            f.status = Status::Failed;
            store.create(f).await.unwrap();
        }
        let history = store.history().await.unwrap();
        assert_eq!(prune(&store, &history, 2).await.unwrap(), 2);
        let left: Vec<_> = store
            .history()
            .await
            .unwrap()
            .iter()
            .map(|s| (s.number(), s.record.status))
            .collect();
        assert_eq!(left, [(1, Status::Deployed), (4, Status::Failed)]);
    }

    #[tokio::test]
    async fn list_shows_the_latest_of_each_release() {
        let sim = cutover_sim::Simulator::new(0);
        let a = ReleaseStore::new(&cluster(&sim), "default", "web");
        a.create(record(1)).await.unwrap();
        a.create(record(2)).await.unwrap();
        let mut other = record(1);
        other.release = "db".into();
        ReleaseStore::new(&cluster(&sim), "default", "db")
            .create(other)
            .await
            .unwrap();
        let latest = latest_of_each(&cluster(&sim), None).await.unwrap();
        let got: Vec<_> = latest
            .iter()
            .map(|s| (s.record.release.clone(), s.number()))
            .collect();
        assert_eq!(got, [("db".to_string(), 1), ("web".to_string(), 2)]);
    }
}
