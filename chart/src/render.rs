//! Rendering a loaded chart: built-in objects, every template executed, manifests split into
//! objects, hooks separated, and Helm's install/uninstall ordering.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use serde_json::{Map, Value as Json};

use crate::RenderError;
use crate::chart::Chart;
use crate::template::{Limits, TemplateError, TemplateSet};
use crate::value::{FilesObj, Value};

/// `.Release`.
#[derive(Clone, Debug)]
pub struct Release {
    pub name: String,
    pub namespace: String,
    /// `.Release.Revision` (1 for a first install).
    pub revision: u32,
    pub is_install: bool,
    pub is_upgrade: bool,
}

impl Release {
    /// A first install of `name` in `namespace` (revision 1).
    pub fn install(name: &str, namespace: &str) -> Release {
        Release {
            name: name.to_string(),
            namespace: namespace.to_string(),
            revision: 1,
            is_install: true,
            is_upgrade: false,
        }
    }
}

/// `.Capabilities`.
#[derive(Clone, Debug)]
pub struct Capabilities {
    /// The cluster's version, `v1.31.0` (a leading `v` is added when missing).
    pub kube_version: String,
    /// What `.Capabilities.APIVersions.Has` answers for: `group/version` and
    /// `group/version/Kind` entries (`apps/v1`, `apps/v1/Deployment`, `v1`).
    pub api_versions: Vec<String>,
}

/// Kubernetes version assumed when the caller has no cluster to ask (as `helm template`).
pub const DEFAULT_KUBE_VERSION: &str = "v1.32.0";

impl Default for Capabilities {
    /// Kubernetes [`DEFAULT_KUBE_VERSION`] with its built-in API groups (no CRDs), as
    /// `helm template` assumes without a cluster.
    fn default() -> Self {
        let api_versions = [
            "v1",
            "admissionregistration.k8s.io/v1",
            "apiextensions.k8s.io/v1",
            "apiregistration.k8s.io/v1",
            "apps/v1",
            "authentication.k8s.io/v1",
            "authorization.k8s.io/v1",
            "autoscaling/v1",
            "autoscaling/v2",
            "batch/v1",
            "certificates.k8s.io/v1",
            "coordination.k8s.io/v1",
            "discovery.k8s.io/v1",
            "events.k8s.io/v1",
            "flowcontrol.apiserver.k8s.io/v1",
            "networking.k8s.io/v1",
            "node.k8s.io/v1",
            "policy/v1",
            "rbac.authorization.k8s.io/v1",
            "scheduling.k8s.io/v1",
            "storage.k8s.io/v1",
        ];
        Capabilities {
            kube_version: DEFAULT_KUBE_VERSION.to_string(),
            api_versions: api_versions.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// One Kubernetes object from a chart, with the template it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    /// The template that produced it: `mychart/templates/service.yaml` (or `mychart/crds/x.yaml`).
    pub template: String,
    /// The object (a JSON object with `apiVersion` and `kind`).
    pub object: Json,
}

impl Manifest {
    /// `kind`.
    pub fn kind(&self) -> &str {
        self.object.get("kind").and_then(Json::as_str).unwrap_or("")
    }

    /// `metadata.name` (empty if not set).
    pub fn name(&self) -> &str {
        self.object
            .pointer("/metadata/name")
            .and_then(Json::as_str)
            .unwrap_or("")
    }

    fn annotation(&self, key: &str) -> Option<&str> {
        self.object
            .get("metadata")?
            .get("annotations")?
            .get(key)?
            .as_str()
    }
}

/// When a hook runs (`helm.sh/hook`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HookEvent {
    PreInstall,
    PostInstall,
    PreDelete,
    PostDelete,
    PreUpgrade,
    PostUpgrade,
    PreRollback,
    PostRollback,
    /// `helm test` (also `test-success`): never installed with the release.
    Test,
}

impl HookEvent {
    fn parse(s: &str) -> Option<HookEvent> {
        Some(match s {
            "pre-install" => HookEvent::PreInstall,
            "post-install" => HookEvent::PostInstall,
            "pre-delete" => HookEvent::PreDelete,
            "post-delete" => HookEvent::PostDelete,
            "pre-upgrade" => HookEvent::PreUpgrade,
            "post-upgrade" => HookEvent::PostUpgrade,
            "pre-rollback" => HookEvent::PreRollback,
            "post-rollback" => HookEvent::PostRollback,
            "test" | "test-success" => HookEvent::Test,
            _ => return None,
        })
    }

    /// The annotation's spelling (`pre-install`).
    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::PreInstall => "pre-install",
            HookEvent::PostInstall => "post-install",
            HookEvent::PreDelete => "pre-delete",
            HookEvent::PostDelete => "post-delete",
            HookEvent::PreUpgrade => "pre-upgrade",
            HookEvent::PostUpgrade => "post-upgrade",
            HookEvent::PreRollback => "pre-rollback",
            HookEvent::PostRollback => "post-rollback",
            HookEvent::Test => "test",
        }
    }
}

/// When a hook's object is deleted (`helm.sh/hook-delete-policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HookDeletePolicy {
    /// Delete the previous object before creating the hook again (Helm's default).
    BeforeHookCreation,
    HookSucceeded,
    HookFailed,
}

/// An object with a `helm.sh/hook` annotation.
#[derive(Clone, Debug, PartialEq)]
pub struct Hook {
    pub manifest: Manifest,
    /// Its events (unknown names are ignored, as Helm does).
    pub events: Vec<HookEvent>,
    /// `helm.sh/hook-weight` (0 when absent or not an integer).
    pub weight: i64,
    /// `helm.sh/hook-delete-policy`; `[BeforeHookCreation]` when absent.
    pub delete_policies: Vec<HookDeletePolicy>,
}

impl Hook {
    /// Test hooks are listed but never installed.
    pub fn never_install(&self) -> bool {
        self.events.contains(&HookEvent::Test)
    }
}

/// A rendered chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    /// `crds/` objects (not templated), installed first.
    pub crds: Vec<Manifest>,
    /// Ordinary objects, in Helm's install order ([`sort_for_install`]).
    pub manifests: Vec<Manifest>,
    /// Hook objects, sorted by weight, then name, then install order (as Helm runs them).
    pub hooks: Vec<Hook>,
    /// templates/NOTES.txt rendered, if the chart has one.
    pub notes: Option<String>,
}

/// Helm's install order of kinds; other kinds come after these, alphabetically.
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Helm's uninstall order of kinds (webhooks first, namespaces last); others come after these.
pub const UNINSTALL_ORDER: &[&str] = &[
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
    "Ingress",
    "IngressClass",
    "Service",
    "CronJob",
    "Job",
    "StatefulSet",
    "HorizontalPodAutoscaler",
    "Deployment",
    "ReplicaSet",
    "ReplicationController",
    "Pod",
    "DaemonSet",
    "RoleBindingList",
    "RoleBinding",
    "RoleList",
    "Role",
    "ClusterRoleBindingList",
    "ClusterRoleBinding",
    "ClusterRoleList",
    "ClusterRole",
    "CustomResourceDefinition",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "StorageClass",
    "ConfigMap",
    "SecretList",
    "Secret",
    "ServiceAccount",
    "PodDisruptionBudget",
    "PodSecurityPolicy",
    "LimitRange",
    "ResourceQuota",
    "NetworkPolicy",
    "Namespace",
    "PriorityClass",
];

fn kind_less(a: &str, b: &str, order: &[&str]) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let pa = order.iter().position(|k| *k == a);
    let pb = order.iter().position(|k| *k == b);
    match (pa, pb) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// Sorts objects in Helm's install order (stable: same-kind objects keep their order).
pub fn sort_for_install(manifests: &mut [Manifest]) {
    manifests.sort_by(|a, b| kind_less(a.kind(), b.kind(), INSTALL_ORDER));
}

/// Sorts objects in Helm's uninstall order (stable).
pub fn sort_for_uninstall(manifests: &mut [Manifest]) {
    manifests.sort_by(|a, b| kind_less(a.kind(), b.kind(), UNINSTALL_ORDER));
}

/// Renders `chart` with `values` (already combined: use [`crate::coalesce`] of the chart's
/// defaults and the user's values), for `release` on a cluster with `capabilities`, within
/// the default [`Limits`].
pub fn render(
    chart: &Chart,
    values: &Map<String, Json>,
    release: &Release,
    capabilities: &Capabilities,
) -> Result<Rendered, RenderError> {
    render_with_limits(chart, values, release, capabilities, Limits::default())
}

/// [`render`] with explicit work limits.
pub fn render_with_limits(
    chart: &Chart,
    values: &Map<String, Json>,
    release: &Release,
    capabilities: &Capabilities,
    limits: Limits,
) -> Result<Rendered, RenderError> {
    if chart.metadata.chart_type == "library" {
        return Err(RenderError::Library(chart.metadata.name.clone()));
    }
    let name = &chart.metadata.name;
    let kube = if capabilities.kube_version.starts_with('v') {
        capabilities.kube_version.clone()
    } else {
        format!("v{}", capabilities.kube_version)
    };
    if !chart.metadata.kube_version.is_empty() {
        match crate::semver::matches(&chart.metadata.kube_version, &kube) {
            Ok(true) => {}
            Ok(false) => {
                return Err(RenderError::KubeVersion {
                    chart: name.clone(),
                    constraint: chart.metadata.kube_version.clone(),
                    version: kube,
                });
            }
            Err(m) => {
                return Err(RenderError::Chart(crate::ChartError::InvalidChartYaml(
                    format!("kubeVersion: {m}"),
                )));
            }
        }
    }
    let mut set = TemplateSet::new(limits.clone());
    // Parse every template (partials included) so defines are shared, in Helm's order: deeper
    // paths first, then names in reverse; a define parsed later replaces an earlier one.
    let mut order: Vec<&(String, String)> = chart.templates.iter().collect();
    order.sort_by(|a, b| {
        let da = a.0.matches('/').count();
        let db = b.0.matches('/').count();
        db.cmp(&da).then_with(|| b.0.cmp(&a.0))
    });
    for (path, src) in &order {
        set.add(&format!("{name}/{path}"), src)?;
    }
    let top = context(chart, values, release, capabilities, &kube);
    let mut manifests = Vec::new();
    let mut hooks = Vec::new();
    let mut notes = None;
    let mut total = 0usize;
    for (path, _) in &chart.templates {
        let base = path.rsplit('/').next().unwrap_or(path);
        if base.starts_with('_') {
            continue;
        }
        let full = format!("{name}/{path}");
        let dot = with_template(&top, &full, &format!("{name}/templates"));
        let out = set.execute_value(&full, dot)?;
        total += out.len();
        if total > limits.max_output_bytes {
            return Err(RenderError::Template(TemplateError {
                kind: crate::template::ErrorKind::Exec,
                template: full.clone(),
                name: full,
                line: 0,
                col: 0,
                message: format!("chart output larger than {} bytes", limits.max_output_bytes),
            }));
        }
        if path == "templates/NOTES.txt" {
            notes = Some(out);
            continue;
        }
        if path.ends_with("NOTES.txt") {
            continue;
        }
        for object in split_documents(&full, &out)? {
            let m = Manifest {
                template: full.clone(),
                object,
            };
            match m.annotation("helm.sh/hook") {
                Some(events) => hooks.push(hook(m.clone(), events)),
                None => manifests.push(m),
            }
        }
    }
    sort_for_install(&mut manifests);
    // Helm: hooks in install order of kinds, then (stably) by weight and name.
    hooks.sort_by(|a, b| kind_less(a.manifest.kind(), b.manifest.kind(), INSTALL_ORDER));
    hooks.sort_by(|a, b| {
        a.weight
            .cmp(&b.weight)
            .then_with(|| a.manifest.name().cmp(b.manifest.name()))
    });
    let mut crds = Vec::new();
    for (path, src) in &chart.crds {
        let full = format!("{name}/{path}");
        for object in split_documents(&full, src)? {
            crds.push(Manifest {
                template: full.clone(),
                object,
            });
        }
    }
    Ok(Rendered {
        crds,
        manifests,
        hooks,
        notes,
    })
}

fn hook(manifest: Manifest, events: &str) -> Hook {
    let events: Vec<HookEvent> = events
        .split(',')
        .filter_map(|e| HookEvent::parse(&e.trim().to_ascii_lowercase()))
        .collect();
    let weight = manifest
        .annotation("helm.sh/hook-weight")
        .and_then(|w| w.trim().parse().ok())
        .unwrap_or(0);
    let mut delete_policies: Vec<HookDeletePolicy> = manifest
        .annotation("helm.sh/hook-delete-policy")
        .unwrap_or("")
        .split(',')
        .filter_map(|p| match p.trim().to_ascii_lowercase().as_str() {
            "before-hook-creation" => Some(HookDeletePolicy::BeforeHookCreation),
            "hook-succeeded" => Some(HookDeletePolicy::HookSucceeded),
            "hook-failed" => Some(HookDeletePolicy::HookFailed),
            _ => None,
        })
        .collect();
    if delete_policies.is_empty() {
        delete_policies.push(HookDeletePolicy::BeforeHookCreation);
    }
    Hook {
        manifest,
        events,
        weight,
        delete_policies,
    }
}

/// Splits a rendered file on `---` lines, drops empty documents, parses each into an object.
fn split_documents(template: &str, text: &str) -> Result<Vec<Json>, RenderError> {
    let mut docs: Vec<String> = vec![String::new()];
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("---") {
            docs.push(String::new());
            let rest = rest.trim_start();
            if !rest.is_empty()
                && !rest.starts_with('#')
                && let Some(d) = docs.last_mut()
            {
                d.push_str(rest);
            }
            continue;
        }
        if let Some(d) = docs.last_mut() {
            d.push_str(line);
        }
    }
    let mut out = Vec::new();
    for doc in docs {
        if doc.trim().is_empty() {
            continue;
        }
        let v = crate::yaml::parse_json_value(&doc, false).map_err(|m| RenderError::Yaml {
            template: template.to_string(),
            message: m,
        })?;
        match v {
            Json::Null => continue,
            Json::Object(ref o) => {
                let kind = o.get("kind").and_then(Json::as_str).unwrap_or("");
                let api = o.get("apiVersion").and_then(Json::as_str).unwrap_or("");
                if kind.is_empty() || api.is_empty() {
                    return Err(RenderError::Object {
                        template: template.to_string(),
                        message: "object has no apiVersion or kind".into(),
                    });
                }
                out.push(v);
            }
            _ => {
                return Err(RenderError::Object {
                    template: template.to_string(),
                    message: "a document is not a YAML map".into(),
                });
            }
        }
    }
    Ok(out)
}

/// The top-level objects every template sees (`.Template` is set per file).
fn context(
    chart: &Chart,
    values: &Map<String, Json>,
    release: &Release,
    caps: &Capabilities,
    kube: &str,
) -> BTreeMap<String, Value> {
    let mut top = BTreeMap::new();
    top.insert(
        "Values".to_string(),
        Value::from_json(&Json::Object(values.clone())),
    );
    top.insert(
        "Release".to_string(),
        Value::from_json(&serde_json::json!({
            "Name": release.name,
            "Namespace": release.namespace,
            "Revision": release.revision,
            "IsInstall": release.is_install,
            "IsUpgrade": release.is_upgrade,
            "Service": "Helm",
        })),
    );
    top.insert(
        "Chart".to_string(),
        Value::from_json(&chart.metadata.template_object()),
    );
    let core = kube.trim_start_matches('v');
    let mut parts = core.split(['.', '-', '+']);
    let major = parts.next().unwrap_or("").to_string();
    let minor = parts.next().unwrap_or("").to_string();
    let mut caps_map = BTreeMap::new();
    caps_map.insert(
        "KubeVersion".to_string(),
        Value::from_json(&serde_json::json!({
            "Version": kube,
            "GitVersion": kube,
            "Major": major,
            "Minor": minor,
        })),
    );
    let set: BTreeSet<String> = caps.api_versions.iter().cloned().collect();
    caps_map.insert("APIVersions".to_string(), Value::ApiVersions(Rc::new(set)));
    caps_map.insert(
        "HelmVersion".to_string(),
        Value::from_json(&serde_json::json!({"Version": "v3.19.0", "GitCommit": "", "GitTreeState": "", "GoVersion": ""})),
    );
    top.insert("Capabilities".to_string(), Value::map(caps_map));
    top.insert(
        "Files".to_string(),
        Value::Files(Rc::new(FilesObj {
            files: chart.files.clone(),
        })),
    );
    top.insert("Subcharts".to_string(), Value::empty_map());
    top
}

fn with_template(top: &BTreeMap<String, Value>, name: &str, base: &str) -> Value {
    let mut m = top.clone();
    let mut t = BTreeMap::new();
    t.insert("Name".to_string(), Value::str(name));
    t.insert("BasePath".to_string(), Value::str(base));
    m.insert("Template".to_string(), Value::map(t));
    Value::map(m)
}
