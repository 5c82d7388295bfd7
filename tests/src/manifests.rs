//! Builders for the workloads tests create, each pinned to its test's nodes.
//!
//! Every pod template carries `nodeSelector: {cutover.test/group: <group>}`: the real scheduler
//! would otherwise place a test's pods on any other test's nodes. Each builder returns a plain
//! typed object so that a test can adjust any field before creating it.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec, Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{ApiResource, DynamicObject, ObjectMeta};
use kube::{Api, Client};
use serde_json::json;

use crate::GROUP_LABEL;

/// An image the test kubelet runs and reports Ready.
pub const READY_IMAGE: &str = "registry.test/app:1";
/// An image whose containers run but never become ready.
pub const NEVER_READY_IMAGE: &str = "registry.test/never-ready:1";
/// An image whose containers crash and restart (`CrashLoopBackOff`).
pub const CRASHLOOP_IMAGE: &str = "registry.test/crashloop:1";
/// An image that cannot be pulled (`ImagePullBackOff`).
pub const NO_SUCH_IMAGE: &str = "registry.test/no-such-image:1";

/// `app: <app>`, the labels (and selector) of every workload built here.
pub fn app_labels(app: &str) -> BTreeMap<String, String> {
    [("app".to_string(), app.to_string())].into()
}

/// A one-container pod spec that only schedules onto the group's nodes.
///
/// The service account token is not mounted: nothing runs in these pods, and it spares a
/// dependency on the token controller having filled in the ServiceAccount's secret.
pub fn pod_spec(group: &str, image: &str) -> PodSpec {
    PodSpec {
        node_selector: Some([(GROUP_LABEL.to_string(), group.to_string())].into()),
        automount_service_account_token: Some(false),
        containers: vec![Container {
            name: "app".into(),
            image: Some(image.into()),
            ..Container::default()
        }],
        ..PodSpec::default()
    }
}

fn template(group: &str, app: &str, image: &str) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(app_labels(app)),
            ..ObjectMeta::default()
        }),
        spec: Some(pod_spec(group, image)),
    }
}

/// A Deployment `name` (label `app=<name>`) of `replicas` pods running `image`.
pub fn deployment(group: &str, name: &str, replicas: i32, image: &str) -> Deployment {
    Deployment {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(app_labels(name)),
            ..ObjectMeta::default()
        },
        spec: DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some(app_labels(name)),
                ..LabelSelector::default()
            },
            template: template(group, name, image),
            ..DeploymentSpec::default()
        },
        status: None,
    }
}

/// A DaemonSet `name` (label `app=<name>`) running `image` on every node of the group.
pub fn daemon_set(group: &str, name: &str, image: &str) -> DaemonSet {
    DaemonSet {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(app_labels(name)),
            ..ObjectMeta::default()
        },
        spec: DaemonSetSpec {
            selector: LabelSelector {
                match_labels: Some(app_labels(name)),
                ..LabelSelector::default()
            },
            template: template(group, name, image),
            ..DaemonSetSpec::default()
        },
        status: None,
    }
}

/// A bare pod (no controller) `name` (label `app=<name>`) running `image` on one of the group's nodes.
pub fn bare_pod(group: &str, name: &str, image: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(app_labels(name)),
            ..ObjectMeta::default()
        },
        spec: Some(pod_spec(group, image)),
        status: None,
    }
}

/// policy/v1beta1 PodDisruptionBudget: the version Kubernetes 1.20 serves (k8s-openapi only
/// has policy/v1, so budgets go through the dynamic API).
pub fn pdb_resource() -> ApiResource {
    ApiResource {
        group: "policy".into(),
        version: "v1beta1".into(),
        api_version: "policy/v1beta1".into(),
        kind: "PodDisruptionBudget".into(),
        plural: "poddisruptionbudgets".into(),
    }
}

/// The PodDisruptionBudgets of a namespace.
pub fn pdb_api(client: &Client, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), namespace, &pdb_resource())
}

/// A PodDisruptionBudget `name` over the pods labelled `app=<app>`, keeping `min_available` of them.
pub fn pdb(name: &str, app: &str, min_available: i32) -> DynamicObject {
    DynamicObject::new(name, &pdb_resource()).data(json!({
        "spec": {
            "minAvailable": min_available,
            "selector": { "matchLabels": app_labels(app) },
        }
    }))
}
