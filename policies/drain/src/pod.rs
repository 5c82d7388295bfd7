//! The few fields of a Pod that drain reads: a slim type keeps the module small.

use std::collections::BTreeMap;
use std::fmt;

use cutover_guest_sdk::k8s_openapi::{NamespaceResourceScope, Resource};
use serde::Deserialize;
use serde::de::IgnoredAny;

/// A Pod, as far as drain cares. Deserializing k8s-openapi's full `Pod` would link its whole
/// schema into the module; unknown fields are ignored instead.
#[derive(Debug, Default, Deserialize)]
pub struct Pod {
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: Spec,
    #[serde(default)]
    pub status: Status,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub uid: String,
    /// Only the keys matter (the mirror-pod annotation).
    #[serde(default)]
    pub annotations: BTreeMap<String, IgnoredAny>,
    #[serde(default)]
    pub owner_references: Vec<OwnerReference>,
}

#[derive(Debug, Default, Deserialize)]
pub struct OwnerReference {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub controller: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Spec {
    #[serde(default)]
    pub volumes: Vec<Volume>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    #[serde(default)]
    pub empty_dir: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Status {
    #[serde(default)]
    pub phase: String,
}

/// Lets the SDK's typed calls (`list`, `wait_in`) name the kind from this type.
impl Resource for Pod {
    const API_VERSION: &'static str = "v1";
    const GROUP: &'static str = "";
    const KIND: &'static str = "Pod";
    const VERSION: &'static str = "v1";
    const URL_PATH_SEGMENT: &'static str = "pods";
    type Scope = NamespaceResourceScope;
}

/// The annotation the kubelet puts on the API server's copy of a static pod.
const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

impl Pod {
    /// The kind of the owner reference marked `controller: true`, if any (Go's
    /// `metav1.GetControllerOf`).
    pub fn controller_kind(&self) -> Option<&str> {
        self.metadata
            .owner_references
            .iter()
            .find(|r| r.controller == Some(true))
            .map(|r| r.kind.as_str())
    }

    pub fn is_mirror(&self) -> bool {
        self.metadata.annotations.contains_key(MIRROR_ANNOTATION)
    }

    /// Succeeded or Failed: kubectl evicts these whatever their storage or controller.
    pub fn is_finished(&self) -> bool {
        matches!(self.status.phase.as_str(), "Succeeded" | "Failed")
    }

    pub fn has_empty_dir(&self) -> bool {
        self.spec.volumes.iter().any(|v| v.empty_dir.is_some())
    }

    pub fn key(&self) -> PodKey {
        PodKey {
            namespace: self.metadata.namespace.clone(),
            name: self.metadata.name.clone(),
            uid: self.metadata.uid.clone(),
        }
    }
}

/// A pod to evict: shown as `namespace/name`; its uid tells it from a successor of the same
/// name (a StatefulSet recreates evicted pods under their old names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodKey {
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

impl fmt::Display for PodKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}
