//! The object store: resourceVersions, uids, generation, status rules, deletion, GC and the change feed.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

use crate::clock::{Clock, format_time, timestamp};
use crate::defaults::{self, Operation};
use crate::error::ApiError;
use crate::kinds::{self, KindInfo, KindKey, STATUS};
use crate::limits::{self, MAX_NESTING_DEPTH};
use crate::selectors::{FieldSelector, LabelSelector, field_value};
use crate::validation;

/// How many past events a watch can resume from before it gets 410 Gone.
pub const DEFAULT_HISTORY: usize = 10_000;
const BROADCAST_CAPACITY: usize = 16_384;

/// The type of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// The object was created.
    Added,
    /// The object was changed (including gaining a deletionTimestamp).
    Modified,
    /// The object was removed from the store.
    Deleted,
}

impl EventType {
    /// `ADDED`, `MODIFIED` or `DELETED`, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change to the store.
#[derive(Debug, Clone)]
pub struct WatchEvent {
    /// What happened.
    pub event_type: EventType,
    /// The (storage version of the) kind of the object.
    pub kind: &'static KindInfo,
    /// The object after the change (for `Deleted`: its last state, at the deletion's resourceVersion).
    pub object: Arc<Value>,
    /// The object before the change (`None` for `Added`).
    pub previous: Option<Arc<Value>>,
    /// The resourceVersion of this change.
    pub resource_version: u64,
}

/// A function run after every change (after the store lock is released, in commit order per mutation).
pub type Hook = Arc<dyn Fn(&WatchEvent) + Send + Sync>;

/// Which part of an object an update writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateTarget {
    /// The main resource: `status` is ignored for kinds with a status subresource.
    Main,
    /// The status subresource: only `status` changes.
    Status,
}

/// What happens to dependents (objects whose ownerReferences name the deleted object).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Propagation {
    /// Dependents are deleted after the owner (synchronously, in the same request).
    #[default]
    Background,
    /// Treated as `Background`: the owner does not wait for its dependents (a known difference).
    Foreground,
    /// Dependents lose their ownerReference to the owner and stay.
    Orphan,
}

/// Options of a delete.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// Overrides the pod's `terminationGracePeriodSeconds`; `Some(0)` deletes at once.
    pub grace_period_seconds: Option<i64>,
    /// Cascading policy.
    pub propagation: Propagation,
    /// `preconditions.uid`.
    pub precondition_uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub precondition_resource_version: Option<String>,
    /// Validate only; change nothing.
    pub dry_run: bool,
}

/// The result of a delete.
#[derive(Debug, Clone, PartialEq)]
pub enum DeleteOutcome {
    /// The object is gone; this was its last state.
    Deleted(Value),
    /// The object now has a deletionTimestamp (finalizers or a graceful pod) and stays for now.
    Terminating(Value),
}

type Objects = HashMap<KindKey, BTreeMap<(String, String), Arc<Value>>>;

struct Inner {
    objects: Objects,
    by_uid: HashMap<String, (KindKey, String, String)>,
    /// Owner uid → the objects whose ownerReferences name it (the garbage collector's index).
    owned: HashMap<String, BTreeSet<(KindKey, String, String)>>,
    /// `spec.nodeName` (as a field selector spells it; `""` when unbound) → the (namespace,
    /// name) of the pods there: a list of one node's pods (`fieldSelector=spec.nodeName=...`,
    /// which `kubectl drain` makes in all namespaces and a node-by-node upgrade in one, for
    /// every node) costs that node's pods, not all of them.
    pods_by_node: HashMap<String, BTreeSet<(String, String)>>,
    rv: u64,
    rng: u64,
    history: VecDeque<WatchEvent>,
    history_limit: usize,
    /// Events with a resourceVersion at or below this may have left the history.
    compacted: u64,
    /// Cluster IPs handed out so far (Services get 10.96.0.1, .2, ... in creation order).
    cluster_ips: u32,
}

/// The in-memory object store. Thread-safe; cheap operations under one mutex.
pub struct Store {
    inner: Mutex<Inner>,
    clock: Clock,
    events: broadcast::Sender<WatchEvent>,
    hooks: RwLock<Vec<Hook>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("resource_version", &self.resource_version())
            .finish_non_exhaustive()
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `metadata` of an object (empty when absent).
pub fn meta(obj: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    obj.get("metadata")
        .and_then(Value::as_object)
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    let root = obj.as_object_mut().expect("objects are JSON objects");
    let m = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !m.is_object() {
        *m = Value::Object(Map::new());
    }
    m.as_object_mut().expect("made an object")
}

fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    meta(obj).get(field).and_then(Value::as_str)
}

/// The uids an object's ownerReferences name.
fn owner_uids(obj: &Value) -> impl Iterator<Item = &str> {
    meta(obj)
        .get("ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("uid").and_then(Value::as_str))
}

fn has_finalizers(obj: &Value) -> bool {
    meta(obj)
        .get("finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty())
}

/// The store keeps nothing nested deeper than [`MAX_NESTING_DEPTH`], so that every walk over a
/// stored object (serialisation, comparison, cloning, dropping) stays within a bounded stack.
/// Requests are checked before this (with the API server's answers); this is the backstop for
/// everything else that writes (scenarios, controllers).
fn check_nesting(object: &Value) -> Result<(), ApiError> {
    if limits::depth(object) > MAX_NESTING_DEPTH {
        return Err(ApiError::bad_request(format!(
            "the object nests arrays and objects more than {MAX_NESTING_DEPTH} levels deep, \
             beyond what the simulator stores"
        )));
    }
    Ok(())
}

impl Inner {
    fn next_uid(&mut self) -> String {
        let a = splitmix(&mut self.rng);
        let b = splitmix(&mut self.rng);
        let hex = format!("{a:016x}{b:016x}");
        format!(
            "{}-{}-4{}-a{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[13..16],
            &hex[17..20],
            &hex[20..32]
        )
    }

    fn name_suffix(&mut self) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let mut x = splitmix(&mut self.rng);
        (0..5)
            .map(|_| {
                let c = ALPHABET[(x % ALPHABET.len() as u64) as usize] as char;
                x /= ALPHABET.len() as u64;
                c
            })
            .collect()
    }

    fn get(&self, key: KindKey, ns: &str, name: &str) -> Option<&Arc<Value>> {
        self.objects
            .get(&key)?
            .get(&(ns.to_string(), name.to_string()))
    }

    /// Stores (or removes, for `Deleted`) an object at a fresh resourceVersion and records the event.
    fn commit(
        &mut self,
        sender: &broadcast::Sender<WatchEvent>,
        kind: &'static KindInfo,
        event_type: EventType,
        mut object: Value,
        previous: Option<Arc<Value>>,
        out: &mut Vec<WatchEvent>,
    ) -> Arc<Value> {
        self.rv += 1;
        let rv = self.rv;
        meta_mut(&mut object).insert("resourceVersion".into(), json!(rv.to_string()));
        let ns = meta_str(&object, "namespace").unwrap_or("").to_string();
        let name = meta_str(&object, "name").unwrap_or("").to_string();
        let uid = meta_str(&object, "uid").unwrap_or("").to_string();
        let object = Arc::new(object);
        let key = (kind.key(), ns.clone(), name.clone());
        for owner in previous.iter().flat_map(|p| owner_uids(p)) {
            if let Some(owned) = self.owned.get_mut(owner) {
                owned.remove(&key);
                if owned.is_empty() {
                    self.owned.remove(owner);
                }
            }
        }
        let table = self.objects.entry(kind.key()).or_default();
        if kind.kind == "Pod" {
            let node_of = |pod: &Value| field_value(pod, "spec.nodeName").unwrap_or_default();
            let at = (ns.clone(), name.clone());
            if let Some(stored) = table.get(&at) {
                let node = node_of(stored);
                if let Some(pods) = self.pods_by_node.get_mut(&node) {
                    pods.remove(&at);
                    if pods.is_empty() {
                        self.pods_by_node.remove(&node);
                    }
                }
            }
            if event_type != EventType::Deleted {
                self.pods_by_node
                    .entry(node_of(&object))
                    .or_default()
                    .insert(at);
            }
        }
        if event_type == EventType::Deleted {
            table.remove(&(ns, name));
            self.by_uid.remove(&uid);
            for owner in owner_uids(&object) {
                if let Some(owned) = self.owned.get_mut(owner) {
                    owned.remove(&key);
                    if owned.is_empty() {
                        self.owned.remove(owner);
                    }
                }
            }
        } else {
            table.insert((ns.clone(), name.clone()), object.clone());
            self.by_uid.insert(uid, (kind.key(), ns, name));
            for owner in owner_uids(&object) {
                self.owned
                    .entry(owner.to_string())
                    .or_default()
                    .insert(key.clone());
            }
        }
        let event = WatchEvent {
            event_type,
            kind,
            object: object.clone(),
            previous,
            resource_version: rv,
        };
        self.history.push_back(event.clone());
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.compacted = old.resource_version;
            }
        }
        // No receivers is fine: nobody is watching.
        let _ = sender.send(event.clone());
        out.push(event);
        object
    }
}

impl Store {
    /// An empty store (no namespaces) whose uids derive from `seed`, stamping objects with
    /// `clock`'s wall time.
    pub fn new(seed: u64, clock: Clock) -> Store {
        let (events, _) = broadcast::channel(BROADCAST_CAPACITY);
        Store {
            inner: Mutex::new(Inner {
                objects: HashMap::new(),
                by_uid: HashMap::new(),
                owned: HashMap::new(),
                pods_by_node: HashMap::new(),
                rv: 0,
                rng: seed,
                history: VecDeque::new(),
                history_limit: DEFAULT_HISTORY,
                compacted: 0,
                cluster_ips: 0,
            }),
            clock,
            events,
            hooks: RwLock::new(Vec::new()),
        }
    }

    /// Changes how many events are kept for resuming watches (at least 1).
    pub fn set_history_limit(&self, limit: usize) {
        self.lock().history_limit = limit.max(1);
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The simulator's clock: object timestamps, controller delays, watch timeouts.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The current (latest) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    /// Registers a function run after every change. It runs outside the store lock, so it may
    /// call back into the store (its own changes then run the hooks again, recursively).
    pub fn on_change(&self, hook: impl Fn(&WatchEvent) + Send + Sync + 'static) {
        self.hooks
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(hook));
    }

    /// A receiver of every future change, of every kind.
    pub fn subscribe(&self) -> broadcast::Receiver<WatchEvent> {
        self.events.subscribe()
    }

    fn run_hooks(&self, events: &[WatchEvent]) {
        if events.is_empty() {
            return;
        }
        let hooks: Vec<Hook> = self.hooks.read().unwrap_or_else(|e| e.into_inner()).clone();
        for event in events {
            for hook in &hooks {
                hook(event);
            }
        }
    }

    /// One object; 404 NotFound when absent. `ns` is `""` for cluster-scoped kinds.
    pub fn get(&self, kind: &KindInfo, ns: &str, name: &str) -> Result<Arc<Value>, ApiError> {
        self.lock()
            .get(kind.key(), ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(kind.group, kind.plural, name))
    }

    /// The object with this uid, if it exists.
    pub fn get_by_uid(&self, uid: &str) -> Option<Arc<Value>> {
        let inner = self.lock();
        let (key, ns, name) = inner.by_uid.get(uid)?;
        inner.get(*key, ns, name).cloned()
    }

    /// Objects of a kind, in one namespace (`Some`) or all (`None`), filtered, sorted by
    /// namespace then name; with the store's resourceVersion at the time of the list.
    pub fn list(
        &self,
        kind: &KindInfo,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
    ) -> (Vec<Arc<Value>>, u64) {
        let inner = self.lock();
        let table = inner.objects.get(&kind.key());
        let on_node = fields
            .requirements
            .iter()
            .find(|r| r.field == "spec.nodeName" && !r.negate);
        let items = match (kind.kind, on_node) {
            // One node's pods: from the index, in the same (namespace, name) order.
            ("Pod", Some(node)) => inner
                .pods_by_node
                .get(&node.value)
                .into_iter()
                .flatten()
                .filter(|(o_ns, _)| ns.is_none_or(|n| n == o_ns))
                .filter_map(|at| table?.get(at))
                .filter(|v| labels.matches(v) && fields.matches(v))
                .cloned()
                .collect(),
            _ => table
                .into_iter()
                .flat_map(|t| t.iter())
                .filter(|((o_ns, _), _)| ns.is_none_or(|n| n == o_ns))
                .map(|(_, v)| v)
                .filter(|v| labels.matches(v) && fields.matches(v))
                .cloned()
                .collect(),
        };
        (items, inner.rv)
    }

    /// Whether a namespace exists.
    pub fn namespace_exists(&self, ns: &str) -> bool {
        self.lock().get(("", "namespaces"), "", ns).is_some()
    }

    /// Creates an object as the API server does: name/generateName, namespace checks, uid,
    /// creationTimestamp, resourceVersion, generation 1, status reset for kinds with a status
    /// subresource (pods start `Pending`, namespaces `Active`). `ns` is ignored for cluster-scoped kinds.
    pub fn create(
        &self,
        kind: &KindInfo,
        ns: &str,
        object: Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        self.create_with(kind, ns, object, dry_run, false)
    }

    /// Like [`Store::create`] but keeps the given `status` (for loading scenarios and controllers).
    pub fn create_with_status(
        &self,
        kind: &KindInfo,
        ns: &str,
        object: Value,
    ) -> Result<Value, ApiError> {
        self.create_with(kind, ns, object, false, true)
    }

    fn create_with(
        &self,
        kind: &KindInfo,
        ns: &str,
        mut object: Value,
        dry_run: bool,
        keep_status: bool,
    ) -> Result<Value, ApiError> {
        let kind = kinds::storage(kind.key());
        if !object.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request was not a JSON object",
            ));
        }
        check_nesting(&object)?;
        defaults::apply(kind.kind, &mut object, Operation::Create);
        let now = timestamp(&self.clock);
        let mut events = Vec::new();
        let created = {
            let mut inner = self.lock();
            let root = object.as_object_mut().expect("checked");
            root.insert("apiVersion".into(), json!(kind.api_version()));
            root.insert("kind".into(), json!(kind.kind));
            let name = match meta_str(&object, "name").filter(|n| !n.is_empty()) {
                Some(n) => n.to_string(),
                None => match meta_str(&object, "generateName").filter(|n| !n.is_empty()) {
                    Some(prefix) => format!("{prefix}{}", inner.name_suffix()),
                    None => {
                        return Err(ApiError::invalid(
                            kind.kind,
                            kind.group,
                            "",
                            "metadata.name: Required value: name or generateName is required",
                        ));
                    }
                },
            };
            validation::refuse(
                kind,
                &name,
                validation::name_errors(kind, &name, meta_str(&object, "generateName")),
            )?;
            let ns = if kind.namespaced {
                let ns = if ns.is_empty() {
                    meta_str(&object, "namespace")
                        .unwrap_or("default")
                        .to_string()
                } else {
                    ns.to_string()
                };
                if let Some(body_ns) = meta_str(&object, "namespace")
                    && !body_ns.is_empty()
                    && body_ns != ns
                {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                if inner.get(("", "namespaces"), "", &ns).is_none() {
                    return Err(ApiError::not_found("", "namespaces", &ns));
                }
                ns
            } else {
                String::new()
            };
            if inner.get(kind.key(), &ns, &name).is_some() {
                return Err(ApiError::already_exists(kind.group, kind.plural, &name));
            }
            let uid = inner.next_uid();
            let m = meta_mut(&mut object);
            m.insert("name".into(), json!(name));
            if kind.namespaced {
                m.insert("namespace".into(), json!(ns));
            } else {
                m.remove("namespace");
            }
            m.insert("uid".into(), json!(uid));
            m.insert("creationTimestamp".into(), json!(format_time(now)));
            for field in [
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "resourceVersion",
            ] {
                m.remove(field);
            }
            if kind.generation {
                m.insert("generation".into(), json!(1));
            } else {
                m.remove("generation");
            }
            let root = object.as_object_mut().expect("checked");
            match kind.kind {
                "Namespace" => {
                    root.insert("status".into(), json!({"phase": "Active"}));
                    let spec = root.entry("spec").or_insert_with(|| json!({}));
                    if spec.is_object() && spec.get("finalizers").is_none() {
                        spec["finalizers"] = json!(["kubernetes"]);
                    }
                }
                "Pod" if !keep_status => {
                    root.insert("status".into(), json!({"phase": "Pending"}));
                }
                "Node" => {}
                _ if kind.has_subresource(STATUS) && !keep_status => {
                    root.remove("status");
                }
                _ => {}
            }
            if !keep_status {
                validation::defaults_on_create(kind, &mut object, || {
                    inner.cluster_ips += 1;
                    validation::allocate_cluster_ip(inner.cluster_ips)
                });
            }
            validation::on_create(kind, &object)?;
            if dry_run {
                return Ok(object);
            }
            let sender = self.events.clone();
            inner.commit(&sender, kind, EventType::Added, object, None, &mut events)
        };
        self.run_hooks(&events);
        Ok((*created).clone())
    }

    /// Replaces an object (`PUT`), or its status (`PUT .../status`).
    ///
    /// A non-empty `metadata.resourceVersion` that is not the live one is a 409 Conflict.
    /// Identity and lifecycle metadata (uid, creationTimestamp, deletionTimestamp, generation) are
    /// kept from the live object; generation is bumped when `spec` changes. An update that changes
    /// nothing is not written (no new resourceVersion, no event), as on the real server.
    pub fn update(
        &self,
        kind: &KindInfo,
        ns: &str,
        name: &str,
        mut object: Value,
        target: UpdateTarget,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let kind = kinds::storage(kind.key());
        if !object.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request was not a JSON object",
            ));
        }
        check_nesting(&object)?;
        let ns = if kind.namespaced { ns } else { "" };
        let mut events = Vec::new();
        let result = {
            let mut inner = self.lock();
            let live = inner
                .get(kind.key(), ns, name)
                .cloned()
                .ok_or_else(|| ApiError::not_found(kind.group, kind.plural, name))?;
            if let Some(body_name) = meta_str(&object, "name")
                && body_name != name
            {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({body_name}) does not match the name on the URL ({name})"
                )));
            }
            if let Some(rv) = meta_str(&object, "resourceVersion")
                && !rv.is_empty()
                && Some(rv) != meta_str(&live, "resourceVersion")
            {
                return Err(ApiError::conflict(kind.group, kind.plural, name));
            }
            let unconditional = meta_str(&object, "resourceVersion").is_none_or(str::is_empty);
            let mut next = match target {
                UpdateTarget::Main => {
                    defaults::apply(kind.kind, &mut object, Operation::Update);
                    if kind.has_subresource(STATUS) {
                        let root = object.as_object_mut().expect("checked");
                        match live.get("status") {
                            Some(s) => root.insert("status".into(), s.clone()),
                            None => root.remove("status"),
                        };
                    }
                    object
                }
                UpdateTarget::Status => {
                    let mut next = (*live).clone();
                    let root = next.as_object_mut().expect("stored objects are objects");
                    match object.get("status") {
                        Some(s) => root.insert("status".into(), s.clone()),
                        None => root.remove("status"),
                    };
                    next
                }
            };
            let root = next.as_object_mut().expect("checked");
            root.insert("apiVersion".into(), json!(kind.api_version()));
            root.insert("kind".into(), json!(kind.kind));
            let live_meta = meta(&live).clone();
            let m = meta_mut(&mut next);
            m.insert("name".into(), json!(name));
            for field in [
                "namespace",
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
                "resourceVersion",
            ] {
                match live_meta.get(field) {
                    Some(v) => m.insert(field.into(), v.clone()),
                    None => m.remove(field),
                };
            }
            if live_meta.contains_key("deletionTimestamp") {
                let old: Vec<&Value> = live_meta
                    .get("finalizers")
                    .and_then(Value::as_array)
                    .map(|f| f.iter().collect())
                    .unwrap_or_default();
                let added = meta(&next)
                    .get("finalizers")
                    .and_then(Value::as_array)
                    .is_some_and(|f| f.iter().any(|x| !old.contains(&x)));
                if added {
                    return Err(ApiError::invalid(
                        kind.kind,
                        kind.group,
                        name,
                        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted",
                    ));
                }
            }
            if target == UpdateTarget::Main {
                validation::on_update(kind, &mut next, &live, unconditional)?;
            }
            if kind.generation && next.get("spec") != live.get("spec") {
                let generation = live_meta
                    .get("generation")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                meta_mut(&mut next).insert("generation".into(), json!(generation + 1));
            }
            if next == *live || dry_run {
                return Ok(next);
            }
            let sender = self.events.clone();
            let stored = inner.commit(
                &sender,
                kind,
                EventType::Modified,
                next,
                Some(live),
                &mut events,
            );
            let finished = meta(&stored).contains_key("deletionTimestamp")
                && !has_finalizers(&stored)
                && meta(&stored)
                    .get("deletionGracePeriodSeconds")
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
                    == 0;
            if finished {
                self.remove_locked(
                    &mut inner,
                    kind,
                    stored.clone(),
                    Propagation::Background,
                    &mut events,
                );
            }
            (*stored).clone()
        };
        self.run_hooks(&events);
        Ok(result)
    }

    /// Deletes an object as the API server does: objects with finalizers, and pods bound to a
    /// node (unless the grace period is 0 or the pod has finished), get a deletionTimestamp and
    /// stay; otherwise the object is removed and its dependents are handled per `propagation`.
    /// Deleting a namespace removes everything in it at once (no Terminating phase).
    pub fn delete(
        &self,
        kind: &KindInfo,
        ns: &str,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<DeleteOutcome, ApiError> {
        let kind = kinds::storage(kind.key());
        let ns = if kind.namespaced { ns } else { "" };
        let mut events = Vec::new();
        let outcome = {
            let mut inner = self.lock();
            let live = inner
                .get(kind.key(), ns, name)
                .cloned()
                .ok_or_else(|| ApiError::not_found(kind.group, kind.plural, name))?;
            if let Some(uid) = &opts.precondition_uid
                && Some(uid.as_str()) != meta_str(&live, "uid")
            {
                return Err(ApiError::new(
                    409,
                    "Conflict",
                    format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                        meta_str(&live, "uid").unwrap_or("")
                    ),
                ));
            }
            if let Some(rv) = &opts.precondition_resource_version
                && Some(rv.as_str()) != meta_str(&live, "resourceVersion")
            {
                return Err(ApiError::conflict(kind.group, kind.plural, name));
            }
            let grace = if kind.kind == "Pod" {
                let bound = live
                    .pointer("/spec/nodeName")
                    .and_then(Value::as_str)
                    .is_some_and(|n| !n.is_empty());
                let finished = matches!(
                    live.pointer("/status/phase").and_then(Value::as_str),
                    Some("Succeeded" | "Failed")
                );
                let default = live
                    .pointer("/spec/terminationGracePeriodSeconds")
                    .and_then(Value::as_i64)
                    .unwrap_or(30);
                if !bound || finished {
                    0
                } else {
                    opts.grace_period_seconds.unwrap_or(default).max(0)
                }
            } else {
                0
            };
            if opts.dry_run {
                return Ok(if grace > 0 || has_finalizers(&live) {
                    DeleteOutcome::Terminating((*live).clone())
                } else {
                    DeleteOutcome::Deleted((*live).clone())
                });
            }
            let sender = self.events.clone();
            if opts.propagation == Propagation::Orphan {
                Self::orphan_dependents(&mut inner, &sender, &live, &mut events);
            }
            if grace > 0 || has_finalizers(&live) {
                let live_meta = meta(&live);
                let current_grace = live_meta
                    .get("deletionGracePeriodSeconds")
                    .and_then(Value::as_i64);
                let terminating = live_meta.contains_key("deletionTimestamp");
                if terminating && current_grace.is_some_and(|g| g <= grace) {
                    DeleteOutcome::Terminating((*live).clone())
                } else {
                    let mut next = (*live).clone();
                    let now = timestamp(&self.clock);
                    let when = now
                        .checked_add(jiff::SignedDuration::from_secs(grace))
                        .unwrap_or(now);
                    let m = meta_mut(&mut next);
                    m.insert("deletionTimestamp".into(), json!(format_time(when)));
                    m.insert("deletionGracePeriodSeconds".into(), json!(grace));
                    if let Some(g) = m.get("generation").and_then(Value::as_i64)
                        && !terminating
                    {
                        m.insert("generation".into(), json!(g + 1));
                    }
                    let stored = inner.commit(
                        &sender,
                        kind,
                        EventType::Modified,
                        next,
                        Some(live),
                        &mut events,
                    );
                    if grace == 0 && !has_finalizers(&stored) {
                        let last = self.remove_locked(
                            &mut inner,
                            kind,
                            stored,
                            opts.propagation,
                            &mut events,
                        );
                        DeleteOutcome::Deleted((*last).clone())
                    } else {
                        DeleteOutcome::Terminating((*stored).clone())
                    }
                }
            } else {
                let last =
                    self.remove_locked(&mut inner, kind, live, opts.propagation, &mut events);
                DeleteOutcome::Deleted((*last).clone())
            }
        };
        self.run_hooks(&events);
        Ok(outcome)
    }

    /// Removes ownerReferences naming `owner` from its dependents.
    fn orphan_dependents(
        inner: &mut Inner,
        sender: &broadcast::Sender<WatchEvent>,
        owner: &Value,
        events: &mut Vec<WatchEvent>,
    ) {
        let Some(uid) = meta_str(owner, "uid") else {
            return;
        };
        for (key, dependent) in Self::dependents(inner, uid) {
            let mut next = (*dependent).clone();
            if let Some(refs) = meta_mut(&mut next)
                .get_mut("ownerReferences")
                .and_then(Value::as_array_mut)
            {
                refs.retain(|r| r["uid"] != uid);
            }
            inner.commit(
                sender,
                kinds::storage(key),
                EventType::Modified,
                next,
                Some(dependent),
                events,
            );
        }
    }

    /// The objects whose ownerReferences name `uid`, by namespace and name (from the index).
    fn dependents(inner: &Inner, uid: &str) -> Vec<(KindKey, Arc<Value>)> {
        let mut out: Vec<(KindKey, Arc<Value>)> = inner
            .owned
            .get(uid)
            .into_iter()
            .flatten()
            .filter_map(|(key, ns, name)| inner.get(*key, ns, name).map(|o| (*key, o.clone())))
            .collect();
        out.sort_by(|a, b| {
            (meta_str(&a.1, "namespace"), meta_str(&a.1, "name"))
                .cmp(&(meta_str(&b.1, "namespace"), meta_str(&b.1, "name")))
        });
        out
    }

    /// Removes `object` for good, then cascades to its dependents (and a namespace's contents).
    /// The cascade is a worklist of owners, not recursion: an ownership chain can be as long as
    /// the store is large. Dependents are looked up when their owner's turn comes, so an object
    /// reached twice (two owners, a cycle) is only deleted once.
    fn remove_locked(
        &self,
        inner: &mut Inner,
        kind: &'static KindInfo,
        object: Arc<Value>,
        propagation: Propagation,
        events: &mut Vec<WatchEvent>,
    ) -> Arc<Value> {
        let sender = self.events.clone();
        let last = Self::remove_one(inner, &sender, kind, object, events);
        if propagation == Propagation::Orphan {
            return last;
        }
        let mut owners: VecDeque<String> = meta_str(&last, "uid")
            .map(str::to_string)
            .into_iter()
            .collect();
        while let Some(uid) = owners.pop_front() {
            for (key, listed) in Self::dependents(inner, &uid) {
                // The current state: an earlier step of this cascade may have changed it.
                let (ns, name) = (
                    meta_str(&listed, "namespace").unwrap_or(""),
                    meta_str(&listed, "name").unwrap_or(""),
                );
                let Some(dependent) = inner.get(key, ns, name).cloned() else {
                    continue;
                };
                if meta_str(&dependent, "uid") != meta_str(&listed, "uid") {
                    continue;
                }
                let dep_kind = kinds::storage(key);
                let other_owner_alive = meta(&dependent)
                    .get("ownerReferences")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r["uid"].as_str())
                    .any(|u| u != uid && inner.by_uid.contains_key(u));
                if other_owner_alive {
                    let mut next = (*dependent).clone();
                    if let Some(refs) = meta_mut(&mut next)
                        .get_mut("ownerReferences")
                        .and_then(Value::as_array_mut)
                    {
                        refs.retain(|r| r["uid"] != uid.as_str());
                    }
                    inner.commit(
                        &sender,
                        dep_kind,
                        EventType::Modified,
                        next,
                        Some(dependent),
                        events,
                    );
                } else if let Some(removed) =
                    self.delete_dependent(inner, dep_kind, dependent, events)
                {
                    owners.extend(meta_str(&removed, "uid").map(str::to_string));
                }
            }
        }
        last
    }

    /// Removes one object (a namespace with everything in it), without cascading.
    fn remove_one(
        inner: &mut Inner,
        sender: &broadcast::Sender<WatchEvent>,
        kind: &'static KindInfo,
        object: Arc<Value>,
        events: &mut Vec<WatchEvent>,
    ) -> Arc<Value> {
        if kind.kind == "Namespace" {
            let ns = meta_str(&object, "name").unwrap_or("").to_string();
            for k in kinds::stored_kinds().filter(|k| k.namespaced) {
                let names: Vec<Arc<Value>> = inner
                    .objects
                    .get(&k.key())
                    .into_iter()
                    .flat_map(|t| t.iter())
                    .filter(|((o_ns, _), _)| *o_ns == ns)
                    .map(|(_, v)| v.clone())
                    .collect();
                for obj in names {
                    inner.commit(
                        sender,
                        k,
                        EventType::Deleted,
                        (*obj).clone(),
                        Some(obj),
                        events,
                    );
                }
            }
        }
        inner.commit(
            sender,
            kind,
            EventType::Deleted,
            (*object).clone(),
            Some(object),
            events,
        )
    }

    /// The garbage collector's delete of a dependent: default grace, background propagation.
    /// Returns the object if it is gone now (its own dependents are then the caller's next
    /// step); a graceful pod or an object with finalizers gets a deletionTimestamp and stays.
    fn delete_dependent(
        &self,
        inner: &mut Inner,
        kind: &'static KindInfo,
        object: Arc<Value>,
        events: &mut Vec<WatchEvent>,
    ) -> Option<Arc<Value>> {
        if meta(&object).contains_key("deletionTimestamp") {
            return None; // already terminating
        }
        let sender = self.events.clone();
        let graceful_pod = kind.kind == "Pod"
            && object
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty())
            && !matches!(
                object.pointer("/status/phase").and_then(Value::as_str),
                Some("Succeeded" | "Failed")
            );
        if graceful_pod || has_finalizers(&object) {
            let grace = if graceful_pod {
                object
                    .pointer("/spec/terminationGracePeriodSeconds")
                    .and_then(Value::as_i64)
                    .unwrap_or(30)
            } else {
                0
            };
            let now = timestamp(&self.clock);
            let when = now
                .checked_add(jiff::SignedDuration::from_secs(grace))
                .unwrap_or(now);
            let mut next = (*object).clone();
            let m = meta_mut(&mut next);
            m.insert("deletionTimestamp".into(), json!(format_time(when)));
            m.insert("deletionGracePeriodSeconds".into(), json!(grace));
            inner.commit(
                &sender,
                kind,
                EventType::Modified,
                next,
                Some(object),
                events,
            );
            None
        } else {
            Some(Self::remove_one(inner, &sender, kind, object, events))
        }
    }

    /// Events after `resource_version` plus a receiver of all later ones, atomically; or, for
    /// `None`, synthetic `Added` events for every current object of `kind` (the real server's
    /// behaviour for a watch without a resourceVersion). 410 Gone when the history no longer
    /// reaches back to `resource_version`. The receiver carries every kind: filter by `kind`.
    pub fn watch(
        &self,
        kind: &KindInfo,
        resource_version: Option<u64>,
    ) -> Result<(Vec<WatchEvent>, broadcast::Receiver<WatchEvent>), ApiError> {
        let kind = kinds::storage(kind.key());
        let inner = self.lock();
        let receiver = self.events.subscribe();
        let replay = match resource_version {
            None => inner
                .objects
                .get(&kind.key())
                .into_iter()
                .flat_map(|t| t.values())
                .map(|o| WatchEvent {
                    event_type: EventType::Added,
                    kind,
                    object: o.clone(),
                    previous: None,
                    resource_version: meta_str(o, "resourceVersion")
                        .and_then(|rv| rv.parse().ok())
                        .unwrap_or(0),
                })
                .collect(),
            Some(rv) if rv < inner.compacted => {
                return Err(ApiError::gone(format!(
                    "too old resource version: {rv} ({})",
                    inner.compacted + 1
                )));
            }
            Some(rv) => inner
                .history
                .iter()
                .filter(|e| e.resource_version > rv && e.kind.key() == kind.key())
                .cloned()
                .collect(),
        };
        Ok((replay, receiver))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn store() -> Store {
        // A virtual clock that nothing advances: a fixed clock.
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_067_200);
        let s = Store::new(7, Clock::virtual_at(at));
        s.create(
            ns_kind(),
            "",
            json!({"metadata": {"name": "default"}}),
            false,
        )
        .unwrap();
        s
    }
    fn ns_kind() -> &'static KindInfo {
        kinds::find("", "v1", "namespaces").unwrap()
    }
    fn pods() -> &'static KindInfo {
        kinds::find("", "v1", "pods").unwrap()
    }
    fn deployments() -> &'static KindInfo {
        kinds::find("apps", "v1", "deployments").unwrap()
    }
    fn cms() -> &'static KindInfo {
        kinds::find("", "v1", "configmaps").unwrap()
    }

    #[test]
    fn create_stamps_metadata_deterministically() {
        let a = store();
        let b = store();
        let d = json!({"metadata": {"name": "web"}, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}}}, "status": {"replicas": 9}});
        let x = a
            .create(deployments(), "default", d.clone(), false)
            .unwrap();
        let y = b.create(deployments(), "default", d, false).unwrap();
        assert_eq!(x["metadata"]["uid"], y["metadata"]["uid"]);
        assert_eq!(x["metadata"]["uid"].as_str().unwrap().len(), 36);
        assert_eq!(x["metadata"]["generation"], 1);
        assert_eq!(x["metadata"]["creationTimestamp"], "2024-01-01T00:00:00Z");
        assert_eq!(x["metadata"]["resourceVersion"], "2");
        assert_eq!(x["apiVersion"], "apps/v1");
        assert!(x.get("status").is_none(), "status is reset on create");
        let p = a
            .create(
                pods(),
                "default",
                json!({"metadata": {"generateName": "web-"}}),
                false,
            )
            .unwrap();
        let name = p["metadata"]["name"].as_str().unwrap();
        assert!(name.starts_with("web-") && name.len() == 9, "{name}");
        assert_eq!(p["status"]["phase"], "Pending");
        assert!(p["metadata"].get("generation").is_none());
    }

    #[test]
    fn create_errors() {
        let s = store();
        let cm = json!({"metadata": {"name": "c"}});
        let err = s.create(cms(), "nope", cm.clone(), false).unwrap_err();
        assert_eq!(
            (err.code, err.message.as_str()),
            (404, "namespaces \"nope\" not found")
        );
        s.create(cms(), "default", cm.clone(), false).unwrap();
        let err = s.create(cms(), "default", cm, false).unwrap_err();
        assert_eq!((err.code, err.reason), (409, "AlreadyExists"));
        let err = s
            .create(
                cms(),
                "default",
                json!({"metadata": {"name": "Bad_Name"}}),
                false,
            )
            .unwrap_err();
        assert_eq!(err.code, 422);
        let err = s
            .create(
                cms(),
                "default",
                json!({"metadata": {"name": "x", "namespace": "other"}}),
                false,
            )
            .unwrap_err();
        assert_eq!(err.code, 400);
        let rv = s.resource_version();
        s.create(cms(), "default", json!({"metadata": {"name": "dry"}}), true)
            .unwrap();
        assert_eq!(s.resource_version(), rv);
        assert!(s.get(cms(), "default", "dry").is_err());
    }

    #[test]
    fn update_conflicts_generation_and_status() {
        let s = store();
        let d = s
            .create(
                deployments(),
                "default",
                json!({"metadata": {"name": "web"}, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}}}}}),
                false,
            )
            .unwrap();
        let mut stale = d.clone();
        let mut next = d.clone();
        next["metadata"]["labels"] = json!({"a": "b"});
        next["status"] = json!({"replicas": 5});
        let v = s
            .update(
                deployments(),
                "default",
                "web",
                next,
                UpdateTarget::Main,
                false,
            )
            .unwrap();
        assert_eq!(
            v["metadata"]["generation"], 1,
            "labels only: no generation bump"
        );
        assert!(v.get("status").is_none(), "main update ignores status");
        stale["spec"]["replicas"] = json!(3);
        let err = s
            .update(
                deployments(),
                "default",
                "web",
                stale.clone(),
                UpdateTarget::Main,
                false,
            )
            .unwrap_err();
        assert_eq!(err.code, 409);
        stale["metadata"]["resourceVersion"] = v["metadata"]["resourceVersion"].clone();
        let v = s
            .update(
                deployments(),
                "default",
                "web",
                stale,
                UpdateTarget::Main,
                false,
            )
            .unwrap();
        assert_eq!(v["metadata"]["generation"], 2);
        let mut st = v.clone();
        st["status"] = json!({"observedGeneration": 2});
        st["spec"]["replicas"] = json!(100);
        let v = s
            .update(
                deployments(),
                "default",
                "web",
                st,
                UpdateTarget::Status,
                false,
            )
            .unwrap();
        assert_eq!(v["status"]["observedGeneration"], 2);
        assert_eq!(v["spec"]["replicas"], 3, "status update ignores spec");
        let rv = s.resource_version();
        let same = s
            .update(
                deployments(),
                "default",
                "web",
                v.clone(),
                UpdateTarget::Main,
                false,
            )
            .unwrap();
        assert_eq!(same, v);
        assert_eq!(s.resource_version(), rv, "no-op updates are not written");
    }

    #[test]
    fn finalizers_and_graceful_pods() {
        let s = store();
        s.create(
            cms(),
            "default",
            json!({"metadata": {"name": "f", "finalizers": ["x/y"]}}),
            false,
        )
        .unwrap();
        let out = s
            .delete(cms(), "default", "f", &DeleteOptions::default())
            .unwrap();
        let DeleteOutcome::Terminating(obj) = out else {
            panic!("{out:?}")
        };
        assert!(obj["metadata"]["deletionTimestamp"].is_string());
        let mut next = obj.clone();
        next["metadata"]["finalizers"] = json!(["x/y", "new"]);
        assert_eq!(
            s.update(cms(), "default", "f", next, UpdateTarget::Main, false)
                .unwrap_err()
                .code,
            422
        );
        let mut next = obj.clone();
        next["metadata"]["finalizers"] = json!([]);
        s.update(cms(), "default", "f", next, UpdateTarget::Main, false)
            .unwrap();
        assert_eq!(s.get(cms(), "default", "f").unwrap_err().code, 404);

        let pod = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n1", "terminationGracePeriodSeconds": 10}});
        s.create(pods(), "default", pod.clone(), false).unwrap();
        let out = s
            .delete(pods(), "default", "p", &DeleteOptions::default())
            .unwrap();
        let DeleteOutcome::Terminating(obj) = out else {
            panic!("{out:?}")
        };
        assert_eq!(obj["metadata"]["deletionGracePeriodSeconds"], 10);
        assert_eq!(obj["metadata"]["deletionTimestamp"], "2024-01-01T00:00:10Z");
        let zero = DeleteOptions {
            grace_period_seconds: Some(0),
            ..Default::default()
        };
        assert!(matches!(
            s.delete(pods(), "default", "p", &zero).unwrap(),
            DeleteOutcome::Deleted(_)
        ));
        // unbound pods go at once
        s.create(pods(), "default", json!({"metadata": {"name": "q"}}), false)
            .unwrap();
        assert!(matches!(
            s.delete(pods(), "default", "q", &DeleteOptions::default())
                .unwrap(),
            DeleteOutcome::Deleted(_)
        ));
    }

    #[test]
    fn cascading_deletion() {
        let s = store();
        let owner = s
            .create(
                cms(),
                "default",
                json!({"metadata": {"name": "owner"}}),
                false,
            )
            .unwrap();
        let other = s
            .create(
                cms(),
                "default",
                json!({"metadata": {"name": "other"}}),
                false,
            )
            .unwrap();
        let oref = |o: &Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "name": o["metadata"]["name"], "uid": o["metadata"]["uid"]});
        s.create(
            cms(),
            "default",
            json!({"metadata": {"name": "dep", "ownerReferences": [oref(&owner)]}}),
            false,
        )
        .unwrap();
        s.create(cms(), "default", json!({"metadata": {"name": "shared", "ownerReferences": [oref(&owner), oref(&other)]}}), false).unwrap();
        s.create(pods(), "default", json!({"metadata": {"name": "bound", "ownerReferences": [oref(&owner)]}, "spec": {"nodeName": "n"}}), false).unwrap();
        s.delete(cms(), "default", "owner", &DeleteOptions::default())
            .unwrap();
        assert_eq!(s.get(cms(), "default", "dep").unwrap_err().code, 404);
        let shared = s.get(cms(), "default", "shared").unwrap();
        assert_eq!(
            shared["metadata"]["ownerReferences"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let bound = s.get(pods(), "default", "bound").unwrap();
        assert!(
            bound["metadata"]["deletionTimestamp"].is_string(),
            "graceful pod"
        );

        let orphan = DeleteOptions {
            propagation: Propagation::Orphan,
            ..Default::default()
        };
        s.delete(cms(), "default", "other", &orphan).unwrap();
        let shared = s.get(cms(), "default", "shared").unwrap();
        assert_eq!(shared["metadata"]["ownerReferences"], json!([]));
    }

    #[test]
    fn namespace_deletion_removes_contents() {
        let s = store();
        s.create(ns_kind(), "", json!({"metadata": {"name": "tmp"}}), false)
            .unwrap();
        s.create(cms(), "tmp", json!({"metadata": {"name": "c"}}), false)
            .unwrap();
        s.delete(ns_kind(), "", "tmp", &DeleteOptions::default())
            .unwrap();
        assert!(!s.namespace_exists("tmp"));
        assert_eq!(s.get(cms(), "tmp", "c").unwrap_err().code, 404);
    }

    #[test]
    fn watch_history_hooks_and_gone() {
        let s = store();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        s.on_change(move |e| {
            sink.lock()
                .unwrap()
                .push((e.event_type, e.resource_version))
        });
        let mut rx = s.subscribe();
        let start = s.resource_version();
        s.create(cms(), "default", json!({"metadata": {"name": "a"}}), false)
            .unwrap();
        let a = s.get(cms(), "default", "a").unwrap();
        let mut next = (*a).clone();
        next["data"] = json!({"k": "v"});
        s.update(cms(), "default", "a", next, UpdateTarget::Main, false)
            .unwrap();
        s.delete(cms(), "default", "a", &DeleteOptions::default())
            .unwrap();
        let types: Vec<EventType> = seen.lock().unwrap().iter().map(|e| e.0).collect();
        assert_eq!(
            types,
            [EventType::Added, EventType::Modified, EventType::Deleted]
        );
        assert_eq!(rx.try_recv().unwrap().event_type, EventType::Added);
        let (replay, _) = s.watch(cms(), Some(start)).unwrap();
        assert_eq!(replay.len(), 3);
        assert_eq!(replay[2].event_type, EventType::Deleted);
        assert_eq!(replay[2].resource_version, start + 3);
        let (replay, _) = s.watch(cms(), Some(start + 2)).unwrap();
        assert_eq!(replay.len(), 1);
        s.set_history_limit(1);
        s.create(cms(), "default", json!({"metadata": {"name": "b"}}), false)
            .unwrap();
        let err = s.watch(cms(), Some(start)).unwrap_err();
        assert_eq!(err.code, 410);
        let (replay, _) = s.watch(cms(), None).unwrap();
        assert_eq!(replay.len(), 1, "synthetic ADDED for current objects");
    }

    /// A list of one node's pods (`spec.nodeName=...`) is answered from the pods-by-node index:
    /// it must give what a scan of the namespace gives, in the same order, as pods are
    /// created unbound, bound, deleted, and in other namespaces. Breaks when the index misses a
    /// binding or keeps a deleted pod.
    #[test]
    fn a_list_of_one_nodes_pods_is_what_a_scan_finds() {
        let s = store();
        s.create(ns_kind(), "", json!({"metadata": {"name": "other"}}), false)
            .unwrap();
        let pod = |name: &str, node: Option<&str>, app: &str| {
            let mut p = json!({"metadata": {"name": name, "labels": {"app": app}},
                "spec": {"containers": [{"name": "c", "image": "i"}]}});
            if let Some(node) = node {
                p["spec"]["nodeName"] = json!(node);
            }
            p
        };
        for (name, node, app) in [
            ("c", Some("n1"), "a"),
            ("a", Some("n1"), "b"),
            ("b", Some("n2"), "a"),
            ("u", None, "a"),
        ] {
            s.create(pods(), "default", pod(name, node, app), false)
                .unwrap();
        }
        s.create(pods(), "other", pod("x", Some("n1"), "a"), false)
            .unwrap();
        let names = |ns: &str, fields: &str, labels: &str| -> Vec<String> {
            let fields = FieldSelector::parse(fields, "Pod").unwrap();
            let labels = LabelSelector::parse(labels).unwrap();
            let (items, _) = s.list(pods(), Some(ns), &labels, &fields);
            items
                .iter()
                .map(|p| meta_str(p, "name").unwrap_or("").to_string())
                .collect()
        };
        let scan = |ns: &str, node: &str, app: Option<&str>| -> Vec<String> {
            let (items, _) = s.list(
                pods(),
                Some(ns),
                &LabelSelector::default(),
                &FieldSelector::default(),
            );
            items
                .iter()
                .filter(|p| {
                    p.pointer("/spec/nodeName")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        == node
                })
                .filter(|p| {
                    app.is_none_or(|a| p.pointer("/metadata/labels/app") == Some(&json!(a)))
                })
                .map(|p| meta_str(p, "name").unwrap_or("").to_string())
                .collect()
        };
        assert_eq!(names("default", "spec.nodeName=n1", ""), ["a", "c"]);
        assert_eq!(
            names("default", "spec.nodeName=n1", ""),
            scan("default", "n1", None)
        );
        assert_eq!(names("default", "spec.nodeName=n1", "app=a"), ["c"]);
        assert_eq!(names("default", "spec.nodeName=", ""), ["u"]);
        assert_eq!(names("other", "spec.nodeName=n1", ""), ["x"]);
        let everywhere = |fields: &str| -> Vec<(String, String)> {
            let fields = FieldSelector::parse(fields, "Pod").unwrap();
            let (items, _) = s.list(pods(), None, &LabelSelector::default(), &fields);
            items
                .iter()
                .map(|p| {
                    let m = |k| meta_str(p, k).unwrap_or("").to_string();
                    (m("namespace"), m("name"))
                })
                .collect()
        };
        assert_eq!(
            everywhere("spec.nodeName=n1"),
            [
                ("default".into(), "a".into()),
                ("default".into(), "c".into()),
                ("other".into(), "x".into())
            ]
        );
        // A number where a name belongs is spelled as the field selector spells it.
        let mut odd = pod("five", None, "a");
        odd["spec"]["nodeName"] = json!(5);
        s.create_with_status(pods(), "other", odd).unwrap();
        assert_eq!(names("other", "spec.nodeName=5", ""), ["five"]);
        assert_eq!(
            names("default", "spec.nodeName=n1,metadata.name=a", ""),
            ["a"]
        );
        // Bound: it moves from the unbound pods to its node's.
        let mut bound = (*s.get(pods(), "default", "u").unwrap()).clone();
        bound["spec"]["nodeName"] = json!("n2");
        s.update(pods(), "default", "u", bound, UpdateTarget::Main, false)
            .unwrap();
        assert!(names("default", "spec.nodeName=", "").is_empty());
        assert_eq!(names("default", "spec.nodeName=n2", ""), ["b", "u"]);
        assert_eq!(
            names("default", "spec.nodeName=n2", ""),
            scan("default", "n2", None)
        );
        // Deleted: gone from its node's.
        let now = DeleteOptions {
            grace_period_seconds: Some(0),
            ..DeleteOptions::default()
        };
        s.delete(pods(), "default", "b", &now).unwrap();
        assert_eq!(names("default", "spec.nodeName=n2", ""), ["u"]);
        // A negated term is a scan: every pod not on n1.
        assert_eq!(names("default", "spec.nodeName!=n1", ""), ["u"]);
        assert_eq!(scan("default", "n2", Some("a")), ["u"]);
    }
}
