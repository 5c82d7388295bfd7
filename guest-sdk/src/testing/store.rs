//! What a [`FakeCluster`](super::FakeCluster) holds, and its own answers to each host call.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::native::cluster::{
    Condition, DeleteOptions, ListQuery, PatchType, PodRef, SetCondition, WaitSet,
};
use super::native::revisions as wit_revisions;
use super::{Call, DEFAULT_DEADLINE, EPOCH_MS, millis};
use crate::bindings::cutover::policy::types::ObjectRef;
use crate::{Error, Level, Request, Revision, RevisionStatus};

/// Kubernetes' cluster-scoped built-in kinds: a target of one of these without a namespace is
/// not in the run's namespace.
const CLUSTER_SCOPED: &[&str] = &[
    "Node",
    "Namespace",
    "PersistentVolume",
    "StorageClass",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PriorityClass",
    "IngressClass",
    "RuntimeClass",
    "CSIDriver",
    "CSINode",
    "VolumeAttachment",
    "APIService",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
];

/// The most targets one `wait-current` takes, as on the host.
const MAX_WAIT_CURRENT_TARGETS: usize = 1000;

/// The most a checkpoint holds, as on the host.
const MAX_CHECKPOINT: usize = 1 << 20;

/// The most of a pause's status the host keeps.
const MAX_PAUSE_STATUS: usize = 4096;

/// An object's identity: api-version, kind, namespace (none when cluster-scoped), name.
pub(super) type Key = (String, String, Option<String>, String);

/// A scripted answer ([`FakeCluster::respond`](super::FakeCluster::respond)).
pub(super) struct Script {
    pub(super) operation: String,
    pub(super) target: String,
    pub(super) answer: Result<Value, Error>,
    pub(super) always: bool,
}

pub(super) struct State {
    pub(super) namespace: String,
    pub(super) dry_run: bool,
    pub(super) objects: BTreeMap<Key, Value>,
    pub(super) calls: Vec<Call>,
    pub(super) scripts: Vec<Script>,
    pub(super) logs: Vec<(Level, String)>,
    pub(super) progress: Vec<(u32, u32, String)>,
    pub(super) panics: Vec<String>,
    pub(super) now_ms: u64,
    pub(super) deadline_ms: u64,
    pub(super) checkpoint: Option<String>,
    pub(super) recorded: Vec<(Value, String)>,
    pub(super) revisions: Vec<Revision>,
    pub(super) inputs: Vec<crate::bindings::cutover::policy::inputs::InputFile>,
    pub(super) requested: Request,
    pub(super) paused: Option<String>,
    pub(super) probes: super::probes::Probes,
    next_uid: u64,
}

impl Default for State {
    fn default() -> Self {
        State {
            namespace: "default".into(),
            dry_run: false,
            objects: BTreeMap::new(),
            calls: Vec::new(),
            scripts: Vec::new(),
            logs: Vec::new(),
            progress: Vec::new(),
            panics: Vec::new(),
            now_ms: EPOCH_MS,
            deadline_ms: EPOCH_MS + millis(DEFAULT_DEADLINE),
            checkpoint: None,
            recorded: Vec::new(),
            revisions: Vec::new(),
            inputs: Vec::new(),
            requested: Request::Start,
            paused: None,
            probes: Default::default(),
            next_uid: 1,
        }
    }
}

/// `Kind ns/name` or `Kind name`, as calls are recorded.
fn label(key: &Key) -> String {
    match &key.2 {
        Some(ns) => format!("{} {ns}/{}", key.1, key.3),
        None => format!("{} {}", key.1, key.3),
    }
}

fn not_found(key: &Key) -> Error {
    Error::not_found(format!("{} not found", label(key)))
}

impl State {
    /// Records a call and takes the scripted answer that matches it, if any.
    pub(super) fn called(
        &mut self,
        operation: &'static str,
        target: String,
        body: Option<Value>,
    ) -> Option<Result<Value, Error>> {
        let call = Call {
            operation,
            target,
            body,
        };
        let found = self.scripts.iter().position(|s| {
            s.operation == call.operation && (s.target == "*" || s.target == call.target)
        });
        self.calls.push(call);
        let i = found?;
        if self.scripts[i].always {
            Some(self.scripts[i].answer.clone())
        } else {
            Some(self.scripts.remove(i).answer)
        }
    }

    /// The identity a target reaches: its namespace, or the run's for a namespaced kind.
    fn key(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Key {
        let namespace = match namespace {
            Some(ns) => Some(ns.to_string()),
            None if self.cluster_scoped(api_version, kind, name) => None,
            None => Some(self.namespace.clone()),
        };
        (api_version.into(), kind.into(), namespace, name.into())
    }

    fn cluster_scoped(&self, api_version: &str, kind: &str, name: &str) -> bool {
        CLUSTER_SCOPED.contains(&kind)
            || self
                .objects
                .contains_key(&(api_version.into(), kind.into(), None, name.into()))
    }

    fn key_of(&self, target: &ObjectRef) -> Key {
        self.key(
            &target.api_version,
            &target.kind,
            target.namespace.as_deref(),
            &target.name,
        )
    }

    pub(super) fn object(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<&Value> {
        self.objects.get(&(
            api_version.into(),
            kind.into(),
            namespace.map(str::to_string),
            name.into(),
        ))
    }

    /// Stores `object` (replacing any of the same identity); returns its key.
    pub(super) fn insert(&mut self, mut object: Value) -> Result<Key, Error> {
        let text = |v: &Value, what: &str| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| Error::invalid(format!("the object has no {what}")))
        };
        let api_version = text(&object["apiVersion"], "apiVersion")?;
        let kind = text(&object["kind"], "kind")?;
        let name = text(&object["metadata"]["name"], "metadata.name")?;
        let namespace = object["metadata"]["namespace"].as_str().map(str::to_string);
        let key = self.key(&api_version, &kind, namespace.as_deref(), &name);
        if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            if let Some(ns) = &key.2 {
                metadata.insert("namespace".into(), Value::from(ns.as_str()));
            }
            if !metadata.contains_key("uid") {
                metadata.insert("uid".into(), Value::from(format!("uid-{}", self.next_uid)));
                self.next_uid += 1;
            }
        }
        self.objects.insert(key.clone(), object);
        Ok(key)
    }

    /// Stores `object` unless the run is a dry run; returns it as stored.
    fn store(&mut self, object: Value) -> Result<String, Error> {
        if self.dry_run {
            return Ok(object.to_string());
        }
        let key = self.insert(object)?;
        Ok(self.objects[&key].to_string())
    }

    pub(super) fn get(&mut self, target: &ObjectRef) -> Result<String, Error> {
        let key = self.key_of(target);
        if let Some(answer) = self.called("get", label(&key), None) {
            return answer.map(|v| v.to_string());
        }
        self.objects
            .get(&key)
            .map(Value::to_string)
            .ok_or_else(|| not_found(&key))
    }

    pub(super) fn list(&mut self, query: &ListQuery) -> Result<Vec<String>, Error> {
        let body =
            json!({"labelSelector": query.label_selector, "fieldSelector": query.field_selector});
        if let Some(answer) = self.called("list", self.query_label(query), Some(body)) {
            return match answer? {
                Value::Array(items) => Ok(items.iter().map(Value::to_string).collect()),
                other => Err(Error::invalid(format!(
                    "a scripted list answer must be an array, not {other}"
                ))),
            };
        }
        Ok(self
            .matching(query)?
            .iter()
            .map(|object| object.to_string())
            .collect())
    }

    /// Where a query looks: `None` for every namespace (or a cluster-scoped kind).
    fn query_namespace(&self, query: &ListQuery) -> Option<String> {
        match query.namespace.as_deref() {
            Some("*") => None,
            Some(ns) => Some(ns.to_string()),
            None if CLUSTER_SCOPED.contains(&query.kind.as_str()) => None,
            None => Some(self.namespace.clone()),
        }
    }

    /// `Pod in shop`, `Pod in all namespaces`, `Node`: how calls name a query.
    fn query_label(&self, query: &ListQuery) -> String {
        let all = query.namespace.as_deref() == Some("*");
        match (self.query_namespace(query), all) {
            (_, true) => format!("{} in all namespaces", query.kind),
            (Some(ns), false) => format!("{} in {ns}", query.kind),
            (None, false) => query.kind.clone(),
        }
    }

    /// The objects a query matches, in key order.
    fn matching(&self, query: &ListQuery) -> Result<Vec<&Value>, Error> {
        let namespace = self.query_namespace(query);
        let labels = parse_selector(query.label_selector.as_deref().unwrap_or(""), "label")?;
        let fields = parse_selector(query.field_selector.as_deref().unwrap_or(""), "field")?;
        Ok(self
            .objects
            .iter()
            .filter(|((v, k, ns, _), _)| {
                *v == query.api_version
                    && *k == query.kind
                    && (namespace.is_none() || *ns == namespace)
            })
            .filter(|(_, object)| labels.iter().all(|t| t.matches_label(object)))
            .filter(|(_, object)| fields.iter().all(|t| t.matches_field(object)))
            .map(|(_, object)| object)
            .collect())
    }

    /// `delete-with`: as `delete`, refused with a conflict when the object's uid is not the
    /// precondition's.
    pub(super) fn delete_with(
        &mut self,
        target: &ObjectRef,
        options: &DeleteOptions,
    ) -> Result<(), Error> {
        let key = self.key_of(target);
        let body = json!({"uid": options.uid, "gracePeriodSeconds": options.grace_period_seconds});
        if let Some(answer) = self.called("delete", label(&key), Some(body)) {
            return answer.map(drop);
        }
        if let (Some(uid), Some(object)) = (&options.uid, self.objects.get(&key))
            && object["metadata"]["uid"] != uid.as_str()
        {
            return Err(Error::conflict(format!(
                "delete {}: the precondition's uid {uid} is not the object's",
                label(&key)
            )));
        }
        if !self.dry_run {
            self.objects.remove(&key);
        }
        Ok(())
    }

    /// `wait-all`: a set is Ready when enough of its objects exist and none is being deleted
    /// (the fake runs no kubelet: an object that exists is Ready, as for `wait`), and a Pod
    /// whose phase is Failed fails it; gone when none is left. Unmet, the clock moves on by
    /// the timeout, as `wait` does.
    pub(super) fn wait_all(
        &mut self,
        targets: &WaitSet,
        until: SetCondition,
        timeout_ms: u64,
    ) -> Result<Vec<String>, Error> {
        let what = match targets {
            WaitSet::Objects(objects) => format!("{} objects", objects.len()),
            WaitSet::Query(query) => self.query_label(query),
        };
        let wanted = match until {
            SetCondition::AllReady(n) => json!({"allReady": n}),
            SetCondition::AllGone => json!("allGone"),
        };
        let body = json!({"until": wanted, "timeoutMs": timeout_ms});
        if let Some(answer) = self.called("wait-all", what.clone(), Some(body)) {
            return match answer? {
                Value::Array(items) => Ok(items.iter().map(Value::to_string).collect()),
                other => Err(Error::invalid(format!(
                    "a scripted wait-all answer must be an array, not {other}"
                ))),
            };
        }
        // As on the host: named objects are each waited for (a missing one is not Ready), and
        // asking more of them to be Ready than are named is refused.
        let mut missing = 0;
        let set: Vec<Value> = match targets {
            WaitSet::Objects(objects) => {
                if let SetCondition::AllReady(n) = until
                    && (objects.len() as u64) < u64::from(n)
                {
                    return Err(Error::invalid(format!(
                        "wait-all: {} named, fewer than the {n} asked to be Ready",
                        objects.len()
                    )));
                }
                let found: Vec<Value> = objects
                    .iter()
                    .filter_map(|t| self.objects.get(&self.key_of(t)).cloned())
                    .collect();
                missing = objects.len() - found.len();
                found
            }
            WaitSet::Query(query) => self.matching(query)?.into_iter().cloned().collect(),
        };
        if let Some(failed) = set.iter().find(|o| o["status"]["phase"] == "Failed") {
            return Err(Error::aborted(format!(
                "wait-all {what}: {} failed",
                failed["metadata"]["name"]
            )));
        }
        let met = match until {
            SetCondition::AllGone => set.is_empty(),
            SetCondition::AllReady(n) => {
                missing == 0
                    && set.len() as u64 >= u64::from(n)
                    && set
                        .iter()
                        .all(|o| o["metadata"]["deletionTimestamp"].is_null())
            }
        };
        if met || self.dry_run {
            return Ok(set.iter().map(Value::to_string).collect());
        }
        let left = self.deadline_ms.saturating_sub(self.now_ms);
        self.now_ms = self.now_ms.saturating_add(timeout_ms.min(left));
        Err(Error::timeout(if timeout_ms >= left {
            format!("wait-all {what}: the run's deadline (--timeout) passed first")
        } else {
            format!("wait-all {what}: not met within {timeout_ms}ms")
        }))
    }

    /// `evict-many`: each pod evicted as `evict` does (so each is its own `evict` call,
    /// scriptable as one), its outcome kept.
    pub(super) fn evict_many(
        &mut self,
        pods: &[PodRef],
        concurrency: u32,
        timeout_ms: u64,
    ) -> Result<Vec<Result<(), Error>>, Error> {
        if !(1..=64).contains(&concurrency) || pods.len() > 1000 {
            return Err(Error::invalid(format!(
                "evict-many: {} pods at {concurrency} at a time; at most 1000, 1 to 64 at a time",
                pods.len()
            )));
        }
        Ok(pods
            .iter()
            .map(|p| self.evict(&p.namespace, &p.name, timeout_ms))
            .collect())
    }

    pub(super) fn apply(&mut self, manifest: &str) -> Result<String, Error> {
        let object: Value =
            serde_json::from_str(manifest).map_err(|e| Error::invalid(format!("apply: {e}")))?;
        let field = |name: &str| {
            object
                .pointer(name)
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string()
        };
        let key = self.key(
            &field("/apiVersion"),
            &field("/kind"),
            object
                .pointer("/metadata/namespace")
                .and_then(Value::as_str),
            &field("/metadata/name"),
        );
        if let Some(answer) = self.called("apply", label(&key), Some(object.clone())) {
            return answer.map(|v| v.to_string());
        }
        let merged = match self.objects.get(&key) {
            Some(existing) => {
                let mut merged = existing.clone();
                json_patch::merge(&mut merged, &object);
                merged
            }
            None => object,
        };
        self.store(merged)
    }

    pub(super) fn patch(
        &mut self,
        target: &ObjectRef,
        kind: PatchType,
        body: &str,
    ) -> Result<String, Error> {
        let key = self.key_of(target);
        let body: Value =
            serde_json::from_str(body).map_err(|e| Error::invalid(format!("patch: {e}")))?;
        if let Some(answer) = self.called("patch", label(&key), Some(body.clone())) {
            return answer.map(|v| v.to_string());
        }
        let mut object = match (self.objects.get(&key), kind) {
            (Some(existing), _) => existing.clone(),
            (None, PatchType::Apply) => Value::Object(Map::new()),
            (None, _) => return Err(not_found(&key)),
        };
        match kind {
            PatchType::Merge | PatchType::Strategic | PatchType::Apply => {
                json_patch::merge(&mut object, &body)
            }
            PatchType::Json => {
                let ops: json_patch::Patch = serde_json::from_value(body)
                    .map_err(|e| Error::invalid(format!("a JSON patch: {e}")))?;
                json_patch::patch(&mut object, &ops)
                    .map_err(|e| Error::invalid(format!("patching {}: {e}", label(&key))))?;
            }
        }
        self.store(object)
    }

    pub(super) fn delete(&mut self, target: &ObjectRef) -> Result<(), Error> {
        let key = self.key_of(target);
        if let Some(answer) = self.called("delete", label(&key), None) {
            return answer.map(drop);
        }
        if !self.dry_run {
            self.objects.remove(&key);
        }
        Ok(())
    }

    pub(super) fn scale(&mut self, target: &ObjectRef, replicas: u32) -> Result<(), Error> {
        let key = self.key_of(target);
        if let Some(answer) = self.called("scale", label(&key), Some(json!({"replicas": replicas})))
        {
            return answer.map(drop);
        }
        let mut object = self
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| not_found(&key))?;
        json_patch::merge(&mut object, &json!({"spec": {"replicas": replicas}}));
        self.store(object).map(drop)
    }

    pub(super) fn set_unschedulable(
        &mut self,
        operation: &'static str,
        node: &str,
        unschedulable: bool,
    ) -> Result<(), Error> {
        let key = self.key("v1", "Node", None, node);
        if let Some(answer) = self.called(operation, label(&key), None) {
            return answer.map(drop);
        }
        let mut object = self
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| not_found(&key))?;
        json_patch::merge(
            &mut object,
            &json!({"spec": {"unschedulable": unschedulable}}),
        );
        self.store(object).map(drop)
    }

    pub(super) fn evict(
        &mut self,
        namespace: &str,
        name: &str,
        timeout_ms: u64,
    ) -> Result<(), Error> {
        let key = self.key("v1", "Pod", Some(namespace), name);
        if let Some(answer) =
            self.called("evict", label(&key), Some(json!({"timeoutMs": timeout_ms})))
        {
            return answer.map(drop);
        }
        if !self.dry_run {
            self.objects.remove(&key);
        }
        Ok(())
    }

    pub(super) fn wait(
        &mut self,
        target: &ObjectRef,
        until: &Condition,
        timeout_ms: u64,
    ) -> Result<String, Error> {
        let key = self.key_of(target);
        let body = json!({"until": condition_json(until), "timeoutMs": timeout_ms});
        if let Some(answer) = self.called("wait", label(&key), Some(body)) {
            return answer.map(|v| v.to_string());
        }
        let object = self.objects.get(&key);
        let met = match until {
            Condition::Deleted => object.is_none(),
            Condition::DeletedUid(uid) => {
                object.is_none_or(|o| o["metadata"]["uid"] != uid.as_str())
            }
            Condition::Ready | Condition::RolledOut => object.is_some() || self.dry_run,
            Condition::Field(field) => {
                let wanted: Value = serde_json::from_str(&field.equals).map_err(|e| {
                    Error::invalid(format!("wait: the value of a field condition: {e}"))
                })?;
                object.and_then(|o| o.pointer(&field.pointer)) == Some(&wanted)
            }
        };
        if met || self.dry_run {
            return Ok(object.map_or_else(|| "null".to_string(), Value::to_string));
        }
        let left = self.deadline_ms.saturating_sub(self.now_ms);
        self.now_ms = self.now_ms.saturating_add(timeout_ms.min(left));
        Err(Error::timeout(if timeout_ms >= left {
            format!(
                "wait {}: the run's deadline (--timeout) passed first",
                label(&key)
            )
        } else {
            format!("wait {}: not met within {timeout_ms}ms", label(&key))
        }))
    }

    /// Met when every target exists (or on a dry run); otherwise a timeout naming the
    /// missing ones, after moving the clock on as `wait` does.
    pub(super) fn wait_current(
        &mut self,
        targets: &[ObjectRef],
        timeout_ms: u64,
    ) -> Result<(), Error> {
        let keys: Vec<Key> = targets.iter().map(|t| self.key_of(t)).collect();
        let body = json!({
            "targets": keys.iter().map(label).collect::<Vec<_>>(),
            "timeoutMs": timeout_ms,
        });
        let n = keys.len();
        let what = format!("{n} objects");
        if let Some(answer) = self.called("wait-current", what, Some(body)) {
            return answer.map(drop);
        }
        if n > MAX_WAIT_CURRENT_TARGETS {
            return Err(Error::invalid(format!(
                "wait-current: {n} targets; at most {MAX_WAIT_CURRENT_TARGETS}"
            )));
        }
        let missing: Vec<String> = keys
            .iter()
            .filter(|k| !self.objects.contains_key(*k))
            .map(|k| format!("{} (NotFound)", label(k)))
            .collect();
        if missing.is_empty() || self.dry_run {
            return Ok(());
        }
        let left = self.deadline_ms.saturating_sub(self.now_ms);
        self.now_ms = self.now_ms.saturating_add(timeout_ms.min(left));
        let why = if timeout_ms >= left {
            "the run's deadline (--timeout) passed first".to_string()
        } else {
            format!("not Current within {timeout_ms}ms")
        };
        Err(Error::timeout(format!(
            "wait-current: {why}: {}",
            missing.join(", ")
        )))
    }

    pub(super) fn sleep(&mut self, ms: u64) -> bool {
        let left = self.deadline_ms.saturating_sub(self.now_ms);
        self.now_ms = self.now_ms.saturating_add(ms.min(left));
        ms <= left
    }

    pub(super) fn checkpoint(&mut self, state: &str) -> Result<(), Error> {
        if let Some(answer) = self.called("checkpoint", "the run's revision".into(), None) {
            return answer.map(drop);
        }
        if state.len() > MAX_CHECKPOINT {
            return Err(Error::invalid(format!(
                "checkpoint: {} bytes, more than the 1 MiB a checkpoint holds",
                state.len()
            )));
        }
        if !self.dry_run {
            self.checkpoint = Some(state.to_string());
        }
        Ok(())
    }

    pub(super) fn pause(&mut self, status: &str) -> Result<(), Error> {
        let body = Some(Value::String(status.to_string()));
        if let Some(answer) = self.called("pause", String::new(), body) {
            return answer.map(drop);
        }
        if self.dry_run {
            return Err(Error::invalid(
                "pause: a dry run cannot pause; it changes nothing to continue from",
            ));
        }
        let mut end = status.len().min(MAX_PAUSE_STATUS);
        while !status.is_char_boundary(end) {
            end -= 1;
        }
        self.paused = Some(status[..end].to_string());
        Ok(())
    }

    pub(super) fn record(&mut self, manifests: &str, description: &str) -> Result<(), Error> {
        let manifests: Value =
            serde_json::from_str(manifests).map_err(|e| Error::invalid(format!("record: {e}")))?;
        let body = json!({"manifests": manifests, "description": description});
        if let Some(answer) = self.called("record", "the run's revision".into(), Some(body)) {
            return answer.map(drop);
        }
        if !self.dry_run {
            self.recorded.push((manifests, description.to_string()));
        }
        Ok(())
    }

    pub(super) fn list_revisions(&mut self) -> Result<Vec<wit_revisions::Revision>, Error> {
        if let Some(answer) = self.called("list-revisions", "the release history".into(), None) {
            answer?;
        }
        Ok(self.revisions.iter().map(to_wit).collect())
    }

    pub(super) fn get_revision(&mut self, number: u32) -> Result<wit_revisions::Revision, Error> {
        if let Some(answer) = self.called("get-revision", number.to_string(), None) {
            answer?;
        }
        self.revisions
            .iter()
            .find(|r| r.number == number)
            .map(to_wit)
            .ok_or_else(|| Error::not_found(format!("revision {number} not found")))
    }
}

fn to_wit(r: &Revision) -> wit_revisions::Revision {
    use wit_revisions::RevisionStatus as S;
    wit_revisions::Revision {
        number: r.number,
        status: match r.status {
            RevisionStatus::PendingInstall => S::PendingInstall,
            RevisionStatus::PendingUpgrade => S::PendingUpgrade,
            RevisionStatus::PendingRollback => S::PendingRollback,
            RevisionStatus::Deployed => S::Deployed,
            RevisionStatus::Failed => S::Failed,
            RevisionStatus::Superseded => S::Superseded,
            RevisionStatus::Uninstalled => S::Uninstalled,
            RevisionStatus::Paused => S::Paused,
        },
        policy: r.policy.clone(),
        params: r.params.to_string(),
        manifests: r.manifests.to_string(),
        updated: r.updated.clone(),
        description: r.description.clone(),
    }
}

fn condition_json(until: &Condition) -> Value {
    match until {
        Condition::Ready => json!("ready"),
        Condition::RolledOut => json!("rolled-out"),
        Condition::Deleted => json!("deleted"),
        Condition::DeletedUid(uid) => json!({"deleted-uid": uid}),
        Condition::Field(f) => json!({"field": {"pointer": f.pointer, "equals": f.equals}}),
    }
}

/// One term of a selector: `key=value`, `key!=value`, `key` (exists), `!key` (absent).
struct Term {
    key: String,
    value: Option<String>,
    negated: bool,
}

/// Reads the equality-based selectors `kubectl -l` and `--field-selector` take; a set-based
/// one (`in (...)`) is [`Error::Invalid`]: the fake does not read it.
fn parse_selector(text: &str, what: &str) -> Result<Vec<Term>, Error> {
    let mut terms = Vec::new();
    for term in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if term.contains('(') || term.contains(' ') {
            return Err(Error::invalid(format!(
                "the fake cluster reads equality {what} selectors only, not `{term}`"
            )));
        }
        let parsed = if let Some((k, v)) = term.split_once("!=") {
            Term {
                key: k.into(),
                value: Some(v.into()),
                negated: true,
            }
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            Term {
                key: k.into(),
                value: Some(v.into()),
                negated: false,
            }
        } else if let Some(k) = term.strip_prefix('!') {
            Term {
                key: k.into(),
                value: None,
                negated: true,
            }
        } else {
            Term {
                key: term.into(),
                value: None,
                negated: false,
            }
        };
        terms.push(parsed);
    }
    Ok(terms)
}

impl Term {
    fn holds(&self, found: Option<&str>) -> bool {
        let hit = match (&self.value, found) {
            (Some(want), Some(have)) => want == have,
            (None, found) => found.is_some(),
            (Some(_), None) => false,
        };
        hit != self.negated
    }

    fn matches_label(&self, object: &Value) -> bool {
        self.holds(object["metadata"]["labels"][&self.key].as_str())
    }

    /// A field selector's path (`spec.nodeName`) read as a JSON pointer; a boolean or a number
    /// compares by its text, as the API server does.
    fn matches_field(&self, object: &Value) -> bool {
        let pointer = format!("/{}", self.key.replace('.', "/"));
        let found = object.pointer(&pointer).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        self.holds(found.as_deref())
    }
}
