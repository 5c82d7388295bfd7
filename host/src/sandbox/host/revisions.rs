//! The host side of the `revisions` interface: the release's history as stored in the
//! cluster, read-only for the policy but for what its own revision applies. Statuses are the
//! host's. Calls are counted and capability-checked like any other.

use std::sync::Arc;

use serde_json::Value;

use super::call::{CallError, authorize};
use crate::capabilities::{Call, Grants};
use crate::release::record::{Record, Status};
use crate::release::recorder::Recorder;
use crate::release::store::ReleaseStore;
use crate::sandbox::bindings::cutover::policy::revisions;
use crate::sandbox::bindings::cutover::policy::types::Error;
use crate::sandbox::limits::MAX_REQUEST_BODY;
use crate::sandbox::state::RunState;

/// The most JSON the history hands a policy in one call.
const MAX_HISTORY_BYTES: usize = 16 << 20;
/// The longest description a policy records.
const MAX_DESCRIPTION: usize = 1 << 10;

fn wit_status(status: Status) -> revisions::RevisionStatus {
    use revisions::RevisionStatus as W;
    match status {
        Status::PendingInstall => W::PendingInstall,
        Status::PendingUpgrade => W::PendingUpgrade,
        Status::PendingRollback => W::PendingRollback,
        Status::Deployed => W::Deployed,
        Status::Failed => W::Failed,
        Status::Superseded => W::Superseded,
        Status::Uninstalled => W::Uninstalled,
        Status::Paused => W::Paused,
    }
}

fn to_wit(r: &Record) -> revisions::Revision {
    revisions::Revision {
        number: r.number,
        status: wit_status(r.status),
        policy: format!("{}@{}", r.policy.name, r.policy.version),
        params: r.values.computed.to_string(),
        manifests: Value::Array(r.applied.clone()).to_string(),
        updated: r.updated.clone(),
        description: r.description.clone(),
    }
}

fn size(r: &revisions::Revision) -> usize {
    r.params.len() + r.manifests.len() + r.description.len() + r.policy.len() + r.updated.len()
}

fn check(grants: &Grants, operation: &'static str) -> Result<(), CallError> {
    authorize(
        grants,
        &Call {
            interface: "revisions",
            operation,
            api_version: None,
            kind: None,
            namespace: None,
        },
    )
}

/// Checks a recorded manifest as an `apply` of its object would be checked, and gives a
/// namespaced one without a namespace the run's (as an apply would), so that a rollback
/// reaches exactly what was checked.
fn authorize_as_apply(
    grants: &Grants,
    manifest: &mut Value,
    run_namespace: &str,
) -> Result<(), CallError> {
    let s = |p: &str| {
        manifest
            .pointer(p)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let (Some(api_version), Some(kind), Some(name)) =
        (s("/apiVersion"), s("/kind"), s("/metadata/name"))
    else {
        return Err(Error::Invalid(
            "a recorded manifest needs apiVersion, kind and metadata.name (strings)".into(),
        )
        .into());
    };
    // Names by Kubernetes' rules, as any call's: a rollback reaches nothing else.
    let reference = crate::cluster::ObjectRef {
        api_version: api_version.clone(),
        kind: kind.clone(),
        namespace: s("/metadata/namespace"),
        name,
    };
    crate::cluster::target::check_ref(&reference).map_err(|e| {
        Error::Invalid(format!(
            "a recorded manifest names {}: {e}",
            crate::text::escape(&reference.to_string(), 256)
        ))
    })?;
    let namespaced = crate::cluster::target::known_scope(&api_version, &kind);
    let namespace = match (namespaced, s("/metadata/namespace")) {
        (Some(false), _) => None,
        (_, Some(ns)) => Some(ns),
        (_, None) => Some(run_namespace.to_string()),
    };
    if namespaced == Some(true)
        && let (Some(ns), Some(meta)) = (
            &namespace,
            manifest.get_mut("metadata").and_then(Value::as_object_mut),
        )
    {
        meta.insert("namespace".into(), Value::from(ns.as_str()));
    }
    super::call::pre_authorize(
        grants,
        &Call {
            interface: "cluster",
            operation: "apply",
            api_version: Some(&api_version),
            kind: Some(&kind),
            namespace: namespace.as_deref(),
        },
    )
}

/// A run that belongs to no release has no history.
fn no_history() -> CallError {
    CallError::Refused(Error::Unavailable(
        "this run belongs to no release: it has no history to read".into(),
    ))
}

/// A dry run's view of the release's history: read once from the store, never written (a
/// policy reading its history in a loop must not re-read the cluster).
pub struct ReadOnlyHistory {
    store: ReleaseStore,
    records: tokio::sync::OnceCell<Vec<Record>>,
}

impl ReadOnlyHistory {
    pub fn new(store: ReleaseStore) -> ReadOnlyHistory {
        ReadOnlyHistory {
            store,
            records: tokio::sync::OnceCell::new(),
        }
    }

    async fn records(&self) -> Result<Vec<Record>, CallError> {
        let records = self
            .records
            .get_or_try_init(|| async {
                let mut records: Vec<Record> = self
                    .store
                    .history()
                    .await?
                    .into_iter()
                    .map(|s| s.record)
                    .collect();
                records.sort_by_key(|r| r.number);
                Ok::<_, CallError>(records)
            })
            .await?;
        Ok(records.clone())
    }
}

/// Where a run reads the release's history from: its own revision's recorder, or (a dry run,
/// which has no revision) the store, read-only.
#[derive(Clone)]
enum HistorySource {
    Run(Arc<Recorder>),
    DryRun(Arc<ReadOnlyHistory>),
}

impl HistorySource {
    fn of(state: &RunState) -> Option<HistorySource> {
        match (&state.release, &state.read_only_history) {
            (Some(recorder), _) => Some(HistorySource::Run(recorder.clone())),
            (None, Some(history)) => Some(HistorySource::DryRun(history.clone())),
            (None, None) => None,
        }
    }

    async fn records(&self) -> Result<Vec<Record>, CallError> {
        match self {
            HistorySource::Run(recorder) => Ok(recorder.history().await?),
            HistorySource::DryRun(history) => history.records().await,
        }
    }
}

async fn history(source: &HistorySource) -> Result<Vec<revisions::Revision>, CallError> {
    let records = source.records().await?;
    let all: Vec<revisions::Revision> = records.iter().map(to_wit).collect();
    if all.iter().map(size).sum::<usize>() > MAX_HISTORY_BYTES {
        return Err(CallError::Refused(Error::Invalid(format!(
            "the release's history is more than {} MiB: read one revision at a time with get-revision",
            MAX_HISTORY_BYTES >> 20
        ))));
    }
    Ok(all)
}

impl revisions::Host for RunState {
    async fn record(&mut self, manifests: String, description: String) -> Result<(), Error> {
        let (grants, recorder) = (self.grants.clone(), self.release.clone());
        let run_namespace = self.cluster.namespace().to_string();
        let label = "the run's revision".to_string();
        self.perform("record", label, None, false, async move {
            check(&grants, "record")?;
            if manifests.len() > MAX_REQUEST_BODY {
                return Err(Error::Invalid(format!(
                    "the manifests are {} bytes, more than the {} MiB a revision records in one call",
                    manifests.len(),
                    MAX_REQUEST_BODY >> 20
                ))
                .into());
            }
            let parsed: Value = serde_json::from_str(&manifests)
                .map_err(|e| Error::Invalid(format!("the manifests are not valid JSON: {e}")))?;
            let Value::Array(items) = parsed else {
                return Err(Error::Invalid("the manifests must be a JSON array of objects".into()).into());
            };
            if !items.iter().all(Value::is_object) {
                return Err(Error::Invalid("the manifests must be a JSON array of objects".into()).into());
            }
            // What a rollback to this revision will apply with the operator's credentials must
            // be what this run could apply itself: each manifest is checked as an `apply`.
            let mut items = items;
            for manifest in &mut items {
                authorize_as_apply(&grants, manifest, &run_namespace)?;
            }
            let description = crate::text::cap(&description, MAX_DESCRIPTION);
            if let Some(recorder) = recorder {
                recorder
                    .record(items, description)
                    .await
                    .map_err(|e| Error::Invalid(e.to_string()))?;
            }
            Ok(((), "the run's revision".to_string().into()))
        })
        .await
    }

    async fn list_revisions(&mut self) -> Result<Vec<revisions::Revision>, Error> {
        let (grants, source) = (self.grants.clone(), HistorySource::of(self));
        self.perform(
            "list-revisions",
            "the release history".into(),
            None,
            false,
            async move {
                check(&grants, "list-revisions")?;
                let source = source.ok_or_else(no_history)?;
                let all = history(&source).await?;
                Ok((all, "the release history".to_string().into()))
            },
        )
        .await
    }

    async fn get_revision(&mut self, number: u32) -> Result<revisions::Revision, Error> {
        let (grants, source) = (self.grants.clone(), HistorySource::of(self));
        let label = format!("revision {number}");
        self.perform("get-revision", label.clone(), None, false, async move {
            check(&grants, "get-revision")?;
            let source = source.ok_or_else(no_history)?;
            let found = source
                .records()
                .await?
                .into_iter()
                .find(|r| r.number == number)
                .ok_or_else(|| Error::NotFound(format!("the release has no revision {number}")))?;
            Ok((to_wit(&found), label.into()))
        })
        .await
    }
}
