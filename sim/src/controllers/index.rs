//! The controllers' in-memory index, kept current by a store hook, and what each change queues.
//!
//! Lookups the controllers do per reconcile (the pods of an owner, of a namespace, the load of
//! a node, the pending pods, the nodes) cost the size of the answer, not of the store.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use super::Key;
use super::util::{self, active, node_name, pod_ready, str_at, terminating};
use crate::kinds::{self, KindKey};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{EventType, Store, WatchEvent};

type NsName = (String, String);

#[derive(Default)]
pub(crate) struct Index {
    pods: HashMap<NsName, Arc<Value>>,
    pods_by_ns: HashMap<String, BTreeSet<String>>,
    pods_by_owner: HashMap<String, BTreeSet<NsName>>,
    /// Controller uid → node (`""`: unbound) → its pods there: a DaemonSet's node.
    pods_by_owner_node: HashMap<String, HashMap<String, BTreeSet<NsName>>>,
    rs_by_owner: HashMap<String, BTreeSet<NsName>>,
    /// ReplicaSet uid → its controller's uid (to queue a Deployment when one of its pods goes).
    rs_owner: HashMap<String, String>,
    /// Non-finished pods bound to each node (terminating ones included: they still hold room).
    pods_per_node: HashMap<String, usize>,
    /// Unbound pods, retried when nodes change.
    pending: BTreeSet<NsName>,
    nodes: BTreeMap<String, Arc<Value>>,
    /// Controller objects by uid (to queue the owner of a changed pod or ReplicaSet).
    owners: HashMap<String, Key>,
    /// DaemonSets → whether their update strategy is `OnDelete` (reconciled node by node;
    /// a RollingUpdate one, whose budget spans the nodes, is reconciled whole).
    daemonsets: BTreeMap<NsName, bool>,
    services: HashMap<String, BTreeSet<String>>,
    pdbs: HashMap<String, BTreeSet<String>>,
    /// The resourceVersion applied last per object: hooks of concurrent writers may run out of order.
    rvs: HashMap<(KindKey, String, String), u64>,
    /// Uids of deleted objects: a late event about them is stale.
    gone: HashSet<String>,
}

fn key_of(kind: &str, ns: &str, name: &str) -> Option<Key> {
    let (ns, name) = (ns.to_string(), name.to_string());
    Some(match kind {
        "Pod" => Key::Pod(ns, name),
        "ReplicaSet" => Key::ReplicaSet(ns, name),
        "Deployment" => Key::Deployment(ns, name),
        "DaemonSet" => Key::DaemonSet(ns, name),
        "StatefulSet" => Key::StatefulSet(ns, name),
        "Service" => Key::Service(ns, name),
        "PodDisruptionBudget" => Key::Pdb(ns, name),
        _ => return None,
    })
}

/// What of a pod Services and PDBs look at.
fn endpoint_view(pod: &Value) -> (Option<&Value>, bool, Option<&str>, bool) {
    (
        pod.pointer("/metadata/labels"),
        pod_ready(pod),
        str_at(pod, "/status/podIP"),
        active(pod),
    )
}

impl Index {
    /// Applies a change; returns the keys to reconcile.
    pub(crate) fn apply(&mut self, event: &WatchEvent) -> Vec<Key> {
        let obj = &event.object;
        let kind = event.kind;
        let ns = str_at(obj, "/metadata/namespace")
            .unwrap_or_default()
            .to_string();
        let name = util::name(obj).to_string();
        let uid = util::uid(obj).to_string();
        let deleted = event.event_type == EventType::Deleted;
        if !deleted && self.gone.contains(&uid) {
            return Vec::new();
        }
        let rv_key = (kind.key(), ns.clone(), name.clone());
        if self
            .rvs
            .get(&rv_key)
            .is_some_and(|rv| *rv > event.resource_version)
        {
            return Vec::new();
        }
        if deleted {
            self.rvs.remove(&rv_key);
            self.gone.insert(uid.clone());
        } else {
            self.rvs.insert(rv_key, event.resource_version);
        }
        let mut keys = Vec::new();
        match kind.kind {
            "Pod" => self.apply_pod(obj, deleted, ns, name, &mut keys),
            "Node" => {
                if deleted {
                    self.nodes.remove(&name);
                } else {
                    self.nodes.insert(name.clone(), obj.clone());
                }
                let relevant = |o: &Value| {
                    (
                        util::node_ready(o),
                        o.pointer("/spec/unschedulable").cloned(),
                        o.pointer("/metadata/labels").cloned(),
                    )
                };
                let changed = deleted
                    || event
                        .previous
                        .as_deref()
                        .is_none_or(|p| relevant(p) != relevant(obj));
                if !deleted
                    && event.previous.as_deref().is_none_or(|p| {
                        p.pointer("/spec/unschedulable") != obj.pointer("/spec/unschedulable")
                            || p.pointer("/spec/taints") != obj.pointer("/spec/taints")
                    })
                {
                    keys.push(Key::Node(name.clone()));
                }
                if changed {
                    keys.extend(
                        self.pending
                            .iter()
                            .map(|(ns, name)| Key::Pod(ns.clone(), name.clone())),
                    );
                    keys.extend(
                        self.daemonsets
                            .keys()
                            .map(|(ns, ds)| self.daemonset_key(ns, ds, &name)),
                    );
                }
            }
            "Service" => {
                let set = self.services.entry(ns.clone()).or_default();
                if deleted {
                    set.remove(&name);
                } else {
                    set.insert(name.clone());
                }
                keys.extend(key_of("Service", &ns, &name));
            }
            "PodDisruptionBudget" => {
                let set = self.pdbs.entry(ns.clone()).or_default();
                if deleted {
                    set.remove(&name);
                } else {
                    set.insert(name.clone());
                }
                keys.extend(key_of("PodDisruptionBudget", &ns, &name));
            }
            k @ ("ReplicaSet" | "Deployment" | "DaemonSet" | "StatefulSet") => {
                let key = key_of(k, &ns, &name).expect("a controller kind");
                if deleted {
                    self.owners.remove(&uid);
                } else {
                    self.owners.insert(uid.clone(), key.clone());
                }
                if k == "DaemonSet" {
                    if deleted {
                        self.daemonsets.remove(&(ns.clone(), name.clone()));
                    } else {
                        let on_delete =
                            str_at(obj, "/spec/updateStrategy/type") == Some("OnDelete");
                        self.daemonsets
                            .insert((ns.clone(), name.clone()), on_delete);
                    }
                }
                if k == "ReplicaSet" {
                    let nn = (ns.clone(), name.clone());
                    if let Some(prev) = event.previous.as_deref().and_then(util::controller_uid)
                        && let Some(set) = self.rs_by_owner.get_mut(prev)
                    {
                        set.remove(&nn);
                    }
                    match util::controller_uid(obj) {
                        Some(owner) if !deleted => {
                            self.rs_owner.insert(uid.clone(), owner.to_string());
                        }
                        _ => {
                            self.rs_owner.remove(&uid);
                        }
                    }
                    if let Some(owner) = util::controller_uid(obj) {
                        if !deleted {
                            self.rs_by_owner
                                .entry(owner.to_string())
                                .or_default()
                                .insert(nn);
                        }
                        keys.extend(self.owners.get(owner).cloned());
                    }
                }
                // The controller's own status write of a DaemonSet changes nothing it acts on:
                // it is not reconciled again for it. Any other write is (a client's status
                // write is corrected, as the real controller's update handler does).
                let acted_on = |o: &Value| {
                    (
                        o.get("spec").cloned(),
                        o.pointer("/metadata/generation").cloned(),
                        o.pointer("/metadata/deletionTimestamp").cloned(),
                        o.pointer("/metadata/uid").cloned(),
                    )
                };
                let status_only = k == "DaemonSet"
                    && util::is_own_status_write()
                    && event
                        .previous
                        .as_deref()
                        .is_some_and(|p| acted_on(p) == acted_on(obj));
                // A deleted DaemonSet is queued too: its reconcile drops what it kept of it.
                if (!deleted && !status_only) || (deleted && k == "DaemonSet") {
                    keys.push(key);
                }
                if deleted {
                    self.pods_by_owner.remove(&uid);
                    self.pods_by_owner_node.remove(&uid);
                    self.rs_by_owner.remove(&uid);
                }
            }
            _ => {}
        }
        keys
    }

    fn apply_pod(
        &mut self,
        obj: &Arc<Value>,
        deleted: bool,
        ns: String,
        name: String,
        keys: &mut Vec<Key>,
    ) {
        let nn = (ns.clone(), name.clone());
        let old = if deleted {
            self.pods.remove(&nn)
        } else {
            self.pods.insert(nn.clone(), obj.clone())
        };
        if let Some(old) = &old {
            if let Some(owner) = util::controller_uid(old) {
                if let Some(set) = self.pods_by_owner.get_mut(owner) {
                    set.remove(&nn);
                }
                if let Some(nodes) = self.pods_by_owner_node.get_mut(owner) {
                    let node = node_name(old).unwrap_or_default();
                    if let Some(set) = nodes.get_mut(node) {
                        set.remove(&nn);
                        if set.is_empty() {
                            nodes.remove(node);
                        }
                    }
                    if nodes.is_empty() {
                        self.pods_by_owner_node.remove(owner);
                    }
                }
            }
            if let Some(node) = node_name(old)
                && !util::finished(old)
                && let Some(n) = self.pods_per_node.get_mut(node)
            {
                *n = n.saturating_sub(1);
            }
            self.pending.remove(&nn);
        }
        if deleted {
            if let Some(set) = self.pods_by_ns.get_mut(&ns) {
                set.remove(&name);
            }
        } else {
            self.pods_by_ns
                .entry(ns.clone())
                .or_default()
                .insert(name.clone());
            if let Some(owner) = util::controller_uid(obj) {
                self.pods_by_owner
                    .entry(owner.to_string())
                    .or_default()
                    .insert(nn.clone());
                self.pods_by_owner_node
                    .entry(owner.to_string())
                    .or_default()
                    .entry(node_name(obj).unwrap_or_default().to_string())
                    .or_default()
                    .insert(nn.clone());
            }
            match node_name(obj) {
                Some(node) if !util::finished(obj) => {
                    *self.pods_per_node.entry(node.to_string()).or_default() += 1;
                }
                Some(_) => {}
                None if !terminating(obj) => {
                    self.pending.insert(nn.clone());
                }
                None => {}
            }
        }
        keys.push(Key::Pod(ns.clone(), name.clone()));
        let owners: BTreeSet<&str> = old
            .as_deref()
            .and_then(util::controller_uid)
            .into_iter()
            .chain(util::controller_uid(obj))
            .collect();
        for owner in owners {
            match self.owners.get(owner) {
                // A DaemonSet's pod: only its node (before and after) is reconciled.
                Some(Key::DaemonSet(ds_ns, ds)) => {
                    let nodes: BTreeSet<&str> = old
                        .as_deref()
                        .into_iter()
                        .chain(std::iter::once(&**obj))
                        .map(|p| node_name(p).unwrap_or_default())
                        .collect();
                    keys.extend(nodes.into_iter().map(|n| self.daemonset_key(ds_ns, ds, n)));
                }
                other => keys.extend(other.cloned()),
            }
            // A pod gone: its ReplicaSet's Deployment may be waiting for it (Recreate waits for
            // every old pod to be gone; the real controller's pod-delete handler queues it).
            if deleted && let Some(grand) = self.rs_owner.get(owner) {
                keys.extend(self.owners.get(grand).cloned());
            }
        }
        let view_changed = deleted
            || old
                .as_deref()
                .is_none_or(|o| endpoint_view(o) != endpoint_view(obj));
        if view_changed {
            for svc in self.services.get(&ns).into_iter().flatten() {
                keys.push(Key::Service(ns.clone(), svc.clone()));
            }
            for pdb in self.pdbs.get(&ns).into_iter().flatten() {
                keys.push(Key::Pdb(ns.clone(), pdb.clone()));
            }
        }
    }

    pub(crate) fn pods_owned_by(&self, uid: &str) -> Vec<Arc<Value>> {
        self.pods_by_owner
            .get(uid)
            .into_iter()
            .flatten()
            .filter_map(|nn| self.pods.get(nn).cloned())
            .collect()
    }

    /// What a change on `node` queues of DaemonSet `ns/name`: that node, or (RollingUpdate)
    /// the whole DaemonSet.
    fn daemonset_key(&self, ns: &str, name: &str, node: &str) -> Key {
        let (ns, name) = (ns.to_string(), name.to_string());
        if self.daemonsets.get(&(ns.clone(), name.clone())) == Some(&true) {
            Key::DaemonSetNode(ns, name, node.to_string())
        } else {
            Key::DaemonSet(ns, name)
        }
    }

    /// The pods of controller `uid` bound to `node`.
    pub(crate) fn pods_owned_by_on(&self, uid: &str, node: &str) -> Vec<Arc<Value>> {
        self.pods_by_owner_node
            .get(uid)
            .and_then(|nodes| nodes.get(node))
            .into_iter()
            .flatten()
            .filter_map(|nn| self.pods.get(nn).cloned())
            .collect()
    }

    pub(crate) fn replicasets_owned_by(&self, uid: &str) -> Vec<NsName> {
        self.rs_by_owner
            .get(uid)
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }

    pub(crate) fn pods_in(&self, ns: &str) -> Vec<Arc<Value>> {
        self.pods_by_ns
            .get(ns)
            .into_iter()
            .flatten()
            .filter_map(|name| self.pods.get(&(ns.to_string(), name.clone())).cloned())
            .collect()
    }

    pub(crate) fn nodes(&self) -> Vec<Arc<Value>> {
        self.nodes.values().cloned().collect()
    }

    pub(crate) fn node(&self, name: &str) -> Option<Arc<Value>> {
        self.nodes.get(name).cloned()
    }

    pub(crate) fn load(&self, node: &str) -> usize {
        self.pods_per_node.get(node).copied().unwrap_or(0)
    }
}

/// Synthetic `Added` events for the objects the controllers care about.
pub(crate) fn initial_events(store: &Store) -> Vec<WatchEvent> {
    let mut out = Vec::new();
    for key in [
        ("", "nodes"),
        ("", "pods"),
        ("", "services"),
        ("policy", "poddisruptionbudgets"),
        ("apps", "deployments"),
        ("apps", "replicasets"),
        ("apps", "daemonsets"),
        ("apps", "statefulsets"),
    ] {
        let kind = kinds::storage(key);
        let (items, _) = store.list(
            kind,
            None,
            &LabelSelector::default(),
            &FieldSelector::default(),
        );
        for object in items {
            let resource_version = str_at(&object, "/metadata/resourceVersion")
                .and_then(|rv| rv.parse().ok())
                .unwrap_or(0);
            out.push(WatchEvent {
                event_type: EventType::Added,
                kind,
                object,
                previous: None,
                resource_version,
            });
        }
    }
    out
}
