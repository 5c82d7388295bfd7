//! The pods a workload's wait watches, and whether a stuck pod belongs to the revision being rolled out.
//!
//! A workload's selector also matches the pods of its older revisions: a Deployment rolling away
//! from a crash-looping version still has crash-looping old pods for a while, and they must not
//! abort the wait for the new version. Only pods the workload controls, of its current revision,
//! count.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::core::Selector;
use serde_json::Value;

/// The annotation the Deployment controller stamps on a Deployment and its ReplicaSets.
const DEPLOYMENT_REVISION: &str = "deployment.kubernetes.io/revision";
/// The annotation on a DaemonSet naming its template generation; its pods carry the label below.
const DAEMONSET_TEMPLATE_GENERATION: &str = "deprecated.daemonset.template.generation";
const POD_TEMPLATE_GENERATION: &str = "pod-template-generation";
/// A StatefulSet pod's revision label; `status.updateRevision` names the revision being rolled out.
const CONTROLLER_REVISION_HASH: &str = "controller-revision-hash";

/// Pods are core v1 and namespaced on every cluster: no discovery needed.
pub(crate) fn resolved() -> super::resolve::Resolved {
    super::resolve::Resolved {
        resource: kube::core::ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&()),
        namespaced: true,
        subresources: vec!["eviction".into(), "status".into()],
    }
}

/// ReplicaSets are apps/v1 and namespaced on every cluster this host supports.
pub(crate) fn replica_sets_resolved() -> super::resolve::Resolved {
    super::resolve::Resolved {
        resource: kube::core::ApiResource::erase::<k8s_openapi::api::apps::v1::ReplicaSet>(&()),
        namespaced: true,
        subresources: vec!["scale".into(), "status".into()],
    }
}

/// Whether a wait on this object also watches its pods.
pub(crate) fn watches_pods(obj: &Value) -> bool {
    let api_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    api_version.starts_with("apps/")
        && matches!(
            kind,
            "Deployment" | "DaemonSet" | "StatefulSet" | "ReplicaSet"
        )
}

/// The workload's `spec.selector` as a label selector string (`app=web,tier in (a,b)`); `None`
/// when it has none or it selects everything (watching every pod of the namespace is not worth it).
pub(crate) fn pod_selector(obj: &Value) -> Option<String> {
    let raw = obj.pointer("/spec/selector")?;
    let selector: LabelSelector = serde_json::from_value(raw.clone()).ok()?;
    let selector = Selector::try_from(selector).ok()?;
    (!selector.selects_all()).then(|| selector.to_string())
}

/// Whether a pod counts for a wait on `workload`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Relevance {
    /// It belongs to the revision being rolled out.
    Yes,
    /// It belongs to another revision or another owner.
    No,
    /// It belongs to a Deployment's ReplicaSet of this name: whether that is the new one takes
    /// a read of the ReplicaSet (see [`replica_set_is_current`]).
    AskReplicaSet(String),
}

fn label<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.pointer("/metadata/labels")?.get(key)?.as_str()
}

fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.pointer("/metadata/annotations")?.get(key)?.as_str()
}

fn uid(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/uid").and_then(Value::as_str)
}

/// The controlling owner reference of an object: (kind, name, uid).
fn controller_of(obj: &Value) -> Option<(&str, &str, &str)> {
    obj.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find_map(|r| {
            if r.get("controller").and_then(Value::as_bool) != Some(true) {
                return None;
            }
            Some((
                r.get("kind")?.as_str()?,
                r.get("name")?.as_str()?,
                r.get("uid")?.as_str()?,
            ))
        })
}

/// Whether `a` and `b` differ, when both are known.
fn known_and_different(a: Option<&str>, b: Option<&str>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a != b)
}

/// Whether `pod` counts for a wait on `workload` (a Pod itself always does).
pub(crate) fn relevance(workload: &Value, pod: &Value) -> Relevance {
    let kind = workload
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let owner = controller_of(pod);
    if kind == "Deployment" {
        // Until the controller has seen the latest spec, no pod can be of the new revision.
        let generation = workload
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let observed = workload
            .pointer("/status/observedGeneration")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if observed < generation {
            return Relevance::No;
        }
        return match owner {
            Some(("ReplicaSet", name, _)) => Relevance::AskReplicaSet(name.to_string()),
            _ => Relevance::No,
        };
    }
    if known_and_different(owner.map(|(_, _, u)| u), uid(workload))
        || (owner.is_none() && kind != "Pod")
    {
        return Relevance::No;
    }
    let other_revision = match kind {
        "StatefulSet" => known_and_different(
            label(pod, CONTROLLER_REVISION_HASH),
            workload
                .pointer("/status/updateRevision")
                .and_then(Value::as_str),
        ),
        "DaemonSet" => known_and_different(
            label(pod, POD_TEMPLATE_GENERATION),
            annotation(workload, DAEMONSET_TEMPLATE_GENERATION),
        ),
        _ => false,
    };
    if other_revision {
        Relevance::No
    } else {
        Relevance::Yes
    }
}

/// Whether `rs` is the ReplicaSet of the Deployment's current revision.
pub(crate) fn replica_set_is_current(deployment: &Value, rs: &Value) -> bool {
    let owned = match (controller_of(rs), uid(deployment)) {
        (Some((_, _, owner)), Some(dep)) => owner == dep,
        _ => true,
    };
    owned
        && matches!(
            (annotation(deployment, DEPLOYMENT_REVISION), annotation(rs, DEPLOYMENT_REVISION)),
            (Some(a), Some(b)) if a == b
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(owner_kind: &str, owner: &str, owner_uid: &str, labels: Value) -> Value {
        json!({"metadata": {"name": "p", "namespace": "shop", "labels": labels,
               "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner_kind, "name": owner, "uid": owner_uid,
                                    "controller": true}]}})
    }

    #[test]
    fn selectors() {
        let d = json!({"spec": {"selector": {"matchLabels": {"app": "web"}}}});
        assert_eq!(pod_selector(&d).as_deref(), Some("app=web"));
        let d = json!({"spec": {"selector": {"matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}}});
        let s = pod_selector(&d).unwrap();
        assert!(s.contains("app=web") && s.contains("tier in (a,b)"), "{s}");
        assert_eq!(pod_selector(&json!({"spec": {"selector": {}}})), None);
        assert_eq!(pod_selector(&json!({"spec": {}})), None);
        assert_eq!(
            pod_selector(&json!({"spec": {"selector": "nonsense"}})),
            None
        );
    }

    #[test]
    fn which_kinds_watch_pods() {
        assert!(watches_pods(
            &json!({"apiVersion": "apps/v1", "kind": "Deployment"})
        ));
        assert!(watches_pods(
            &json!({"apiVersion": "apps/v1", "kind": "StatefulSet"})
        ));
        assert!(!watches_pods(&json!({"apiVersion": "v1", "kind": "Pod"})));
        assert!(!watches_pods(
            &json!({"apiVersion": "example.com/v1", "kind": "Deployment"})
        ));
    }

    #[test]
    fn deployment_pods_need_their_replica_set() {
        let dep = json!({"kind": "Deployment", "metadata": {"uid": "d1", "generation": 2,
                         "annotations": {DEPLOYMENT_REVISION: "3"}}, "status": {"observedGeneration": 2}});
        let p = pod("ReplicaSet", "web-6d4", "rs1", json!({}));
        assert_eq!(
            relevance(&dep, &p),
            Relevance::AskReplicaSet("web-6d4".into())
        );
        let mut unobserved = dep.clone();
        unobserved["status"]["observedGeneration"] = json!(1);
        assert_eq!(relevance(&unobserved, &p), Relevance::No);

        let rs = |rev: &str, owner: &str| {
            json!({"metadata": {"annotations": {DEPLOYMENT_REVISION: rev},
            "ownerReferences": [{"kind": "Deployment", "name": "web", "uid": owner, "controller": true}]}})
        };
        assert!(replica_set_is_current(&dep, &rs("3", "d1")));
        assert!(
            !replica_set_is_current(&dep, &rs("2", "d1")),
            "an old revision"
        );
        assert!(
            !replica_set_is_current(&dep, &rs("3", "other")),
            "someone else's ReplicaSet"
        );
    }

    #[test]
    fn stateful_set_pods_of_the_update_revision_only() {
        let sts = json!({"kind": "StatefulSet", "metadata": {"uid": "s1"}, "status": {"updateRevision": "db-2"}});
        assert_eq!(
            relevance(
                &sts,
                &pod(
                    "StatefulSet",
                    "db",
                    "s1",
                    json!({CONTROLLER_REVISION_HASH: "db-2"})
                )
            ),
            Relevance::Yes
        );
        assert_eq!(
            relevance(
                &sts,
                &pod(
                    "StatefulSet",
                    "db",
                    "s1",
                    json!({CONTROLLER_REVISION_HASH: "db-1"})
                )
            ),
            Relevance::No
        );
        assert_eq!(
            relevance(
                &sts,
                &pod(
                    "StatefulSet",
                    "db",
                    "s9",
                    json!({CONTROLLER_REVISION_HASH: "db-2"})
                )
            ),
            Relevance::No
        );
    }

    #[test]
    fn daemon_set_pods_of_the_current_template_only() {
        let ds = json!({"kind": "DaemonSet", "metadata": {"uid": "ds1", "annotations": {DAEMONSET_TEMPLATE_GENERATION: "4"}}});
        assert_eq!(
            relevance(
                &ds,
                &pod(
                    "DaemonSet",
                    "a",
                    "ds1",
                    json!({POD_TEMPLATE_GENERATION: "4"})
                )
            ),
            Relevance::Yes
        );
        assert_eq!(
            relevance(
                &ds,
                &pod(
                    "DaemonSet",
                    "a",
                    "ds1",
                    json!({POD_TEMPLATE_GENERATION: "3"})
                )
            ),
            Relevance::No
        );
    }

    #[test]
    fn replica_set_pods_it_controls() {
        let rs = json!({"kind": "ReplicaSet", "metadata": {"uid": "r1"}});
        assert_eq!(
            relevance(&rs, &pod("ReplicaSet", "x", "r1", json!({}))),
            Relevance::Yes
        );
        assert_eq!(
            relevance(&rs, &pod("ReplicaSet", "y", "r2", json!({}))),
            Relevance::No
        );
        assert_eq!(
            relevance(&rs, &json!({"metadata": {"name": "orphan"}})),
            Relevance::No
        );
    }
}
