//! The registry of kinds the simulator serves, and the discovery documents built from it.

use serde_json::{Value, json};

/// The storage identity of a kind: `(group, plural)`. Versions of one kind share storage.
pub type KindKey = (&'static str, &'static str);

/// The status subresource (`<plural>/status`).
pub const STATUS: &str = "status";
/// The scale subresource (`<plural>/scale`, autoscaling/v1 Scale).
pub const SCALE: &str = "scale";
/// The eviction subresource (`pods/eviction`, policy/v1 Eviction).
pub const EVICTION: &str = "eviction";

/// One served kind at one group/version.
#[derive(Debug, PartialEq, Eq)]
pub struct KindInfo {
    /// API group; `""` for the core group.
    pub group: &'static str,
    /// API version within the group (`v1`, `v1beta1`).
    pub version: &'static str,
    /// The kind (`Deployment`).
    pub kind: &'static str,
    /// The resource name in URLs (`deployments`).
    pub plural: &'static str,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Served subresources: any of [`STATUS`], [`SCALE`], [`EVICTION`].
    pub subresources: &'static [&'static str],
    /// kubectl short names (`deploy`).
    pub short_names: &'static [&'static str],
    /// Whether the server tracks `metadata.generation` (bumped when `spec` changes).
    pub generation: bool,
    /// Whether this version is the one objects are stored (and returned by default) at.
    pub storage: bool,
}

impl KindInfo {
    /// The storage key shared by every version of this kind.
    pub fn key(&self) -> KindKey {
        (self.group, self.plural)
    }

    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether the subresource is served.
    pub fn has_subresource(&self, sub: &str) -> bool {
        self.subresources.contains(&sub)
    }

    /// The singular resource name (`deployment`).
    pub fn singular(&self) -> String {
        self.kind.to_ascii_lowercase()
    }

    /// The URL of the collection, e.g. `/apis/apps/v1/namespaces/default/deployments`.
    pub fn collection_path(&self, namespace: Option<&str>) -> String {
        let base = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match namespace {
            Some(ns) if self.namespaced => format!("{base}/namespaces/{ns}/{}", self.plural),
            _ => format!("{base}/{}", self.plural),
        }
    }
}

const ST: &[&str] = &[STATUS];
const ST_SCALE: &[&str] = &[STATUS, SCALE];
const NONE: &[&str] = &[];

macro_rules! kind {
    ($g:expr, $v:expr, $k:expr, $p:expr, $ns:expr, $sub:expr, $short:expr, $gen:expr, $storage:expr) => {
        KindInfo {
            group: $g,
            version: $v,
            kind: $k,
            plural: $p,
            namespaced: $ns,
            subresources: $sub,
            short_names: $short,
            generation: $gen,
            storage: $storage,
        }
    };
}

/// Every kind served, in discovery order.
pub static KINDS: &[KindInfo] = &[
    kind!(
        "",
        "v1",
        "Namespace",
        "namespaces",
        false,
        ST,
        &["ns"],
        false,
        true
    ),
    kind!("", "v1", "Node", "nodes", false, ST, &["no"], false, true),
    kind!(
        "",
        "v1",
        "Pod",
        "pods",
        true,
        &[STATUS, EVICTION],
        &["po"],
        false,
        true
    ),
    kind!(
        "",
        "v1",
        "Service",
        "services",
        true,
        ST,
        &["svc"],
        false,
        true
    ),
    kind!(
        "",
        "v1",
        "Endpoints",
        "endpoints",
        true,
        NONE,
        &["ep"],
        false,
        true
    ),
    kind!(
        "",
        "v1",
        "ConfigMap",
        "configmaps",
        true,
        NONE,
        &["cm"],
        false,
        true
    ),
    kind!("", "v1", "Secret", "secrets", true, NONE, NONE, false, true),
    kind!(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        ST,
        &["pvc"],
        false,
        true
    ),
    kind!(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        true,
        ST_SCALE,
        &["deploy"],
        true,
        true
    ),
    kind!(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        true,
        ST_SCALE,
        &["rs"],
        true,
        true
    ),
    kind!(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        true,
        ST,
        &["ds"],
        true,
        true
    ),
    kind!(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        true,
        ST_SCALE,
        &["sts"],
        true,
        true
    ),
    kind!("batch", "v1", "Job", "jobs", true, ST, NONE, true, true),
    kind!(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
        ST,
        &["pdb"],
        true,
        true
    ),
    kind!(
        "policy",
        "v1beta1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
        ST,
        &["pdb"],
        true,
        false
    ),
    kind!(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
        NONE,
        &["netpol"],
        true,
        true
    ),
    kind!(
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
        true,
        NONE,
        NONE,
        false,
        true
    ),
];

/// The kind served at `group/version` under the resource name `plural`.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static KindInfo> {
    KINDS
        .iter()
        .find(|k| k.group == group && k.version == version && k.plural == plural)
}

/// The kind for an object's `apiVersion` and `kind`.
pub fn find_kind(api_version: &str, kind: &str) -> Option<&'static KindInfo> {
    let (group, version) = split_api_version(api_version);
    KINDS
        .iter()
        .find(|k| k.group == group && k.version == version && k.kind == kind)
}

/// The storage version of the kind stored under `key`.
pub fn storage(key: KindKey) -> &'static KindInfo {
    KINDS
        .iter()
        .find(|k| k.key() == key && k.storage)
        .expect("every kind key has a storage version")
}

/// The storage versions of all kinds (one entry per stored kind).
pub fn stored_kinds() -> impl Iterator<Item = &'static KindInfo> {
    KINDS.iter().filter(|k| k.storage)
}

/// Splits `apps/v1` into `("apps", "v1")` and `v1` into `("", "v1")`.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

/// The groups (other than core) in discovery order, each with its versions, preferred first.
fn groups() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for k in KINDS.iter().filter(|k| !k.group.is_empty()) {
        match out.iter_mut().find(|(g, _)| *g == k.group) {
            Some((_, versions)) if !versions.contains(&k.version) => versions.push(k.version),
            Some(_) => {}
            None => out.push((k.group, vec![k.version])),
        }
    }
    out
}

/// `GET /version`.
pub fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "30",
        "gitVersion": "v1.30.0-cutover-sim",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-04-17T00:00:00Z",
        "goVersion": "go1.22.2",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `GET /api`: the core group's versions.
pub fn api_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
    })
}

/// `GET /apis`: every non-core group.
pub fn api_group_list() -> Value {
    let groups: Vec<Value> = groups()
        .into_iter()
        .map(|(group, versions)| {
            let versions: Vec<Value> = versions
                .iter()
                .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
                .collect();
            json!({
                "name": group,
                "versions": versions,
                "preferredVersion": versions[0].clone(),
            })
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/<group>`: one group.
pub fn api_group(group: &str) -> Option<Value> {
    let list = api_group_list();
    list["groups"]
        .as_array()?
        .iter()
        .find(|g| g["name"] == group)
        .map(|g| {
            let mut g = g.clone();
            g["kind"] = json!("APIGroup");
            g["apiVersion"] = json!("v1");
            g
        })
}

/// `GET /api/v1` or `GET /apis/<group>/<version>`: the resources of a group version, subresources included.
pub fn api_resource_list(group: &str, version: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for k in KINDS
        .iter()
        .filter(|k| k.group == group && k.version == version)
    {
        // deletecollection is not implemented, so it is not advertised.
        let verbs = [
            "create", "delete", "get", "list", "patch", "update", "watch",
        ];
        resources.push(json!({
            "name": k.plural,
            "singularName": k.singular(),
            "namespaced": k.namespaced,
            "kind": k.kind,
            "verbs": verbs,
            "shortNames": k.short_names,
            "storageVersionHash": "",
        }));
        for sub in k.subresources {
            let entry = match *sub {
                STATUS => json!({
                    "name": format!("{}/status", k.plural), "singularName": "",
                    "namespaced": k.namespaced, "kind": k.kind, "verbs": ["get", "patch", "update"],
                }),
                SCALE => json!({
                    "name": format!("{}/scale", k.plural), "singularName": "",
                    "namespaced": k.namespaced, "group": "autoscaling", "version": "v1",
                    "kind": "Scale", "verbs": ["get", "patch", "update"],
                }),
                EVICTION => json!({
                    "name": format!("{}/eviction", k.plural), "singularName": "",
                    "namespaced": k.namespaced, "group": "policy", "version": "v1",
                    "kind": "Eviction", "verbs": ["create"],
                }),
                _ => continue,
            };
            resources.push(entry);
        }
    }
    if resources.is_empty() {
        return None;
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_exactly_one_storage_version() {
        for k in KINDS {
            let n = KINDS
                .iter()
                .filter(|o| o.key() == k.key() && o.storage)
                .count();
            assert_eq!(n, 1, "{}", k.kind);
            assert_eq!(storage(k.key()).kind, k.kind);
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(
            find("apps", "v1", "deployments").unwrap().kind,
            "Deployment"
        );
        assert!(find("apps", "v2", "deployments").is_none());
        let pdb = find_kind("policy/v1beta1", "PodDisruptionBudget").unwrap();
        assert!(!pdb.storage);
        assert_eq!(storage(pdb.key()).version, "v1");
        assert_eq!(find_kind("v1", "Pod").unwrap().api_version(), "v1");
        assert_eq!(
            find("", "v1", "pods").unwrap().collection_path(Some("x")),
            "/api/v1/namespaces/x/pods"
        );
    }

    #[test]
    fn discovery_lists_subresources() {
        let core = api_resource_list("", "v1").unwrap();
        let names: Vec<&str> = core["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"pods/eviction"));
        assert!(names.contains(&"pods/status"));
        let apps = api_resource_list("apps", "v1").unwrap();
        assert!(
            apps["resources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["name"] == "deployments/scale" && r["kind"] == "Scale")
        );
        let groups = api_group_list();
        let policy = groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == "policy")
            .unwrap();
        assert_eq!(policy["preferredVersion"]["version"], "v1");
        assert_eq!(policy["versions"].as_array().unwrap().len(), 2);
        assert!(api_resource_list("nope", "v1").is_none());
    }
}
