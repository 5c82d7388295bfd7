//! Reading and nudging the cluster state tests assert on: readiness, placement, cordons, budgets.

use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{DynamicObject, ListParams, Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;

/// Whether the pod is Running with condition Ready=True.
pub fn pod_ready(pod: &Pod) -> bool {
    let Some(status) = &pod.status else {
        return false;
    };
    status.phase.as_deref() == Some("Running") && condition(pod, "Ready") == Some("True")
}

/// The status of one of the pod's conditions (`"True"`, `"False"`, ...).
pub fn condition<'a>(pod: &'a Pod, kind: &str) -> Option<&'a str> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind)
        .map(|c| c.status.as_str())
}

/// The node the pod is bound to.
pub fn node_of(pod: &Pod) -> Option<&str> {
    pod.spec.as_ref()?.node_name.as_deref()
}

/// Whether deletion of the pod was requested.
pub fn terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// The pod's uid (every pod read from the API server has one).
pub fn uid(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
}

/// The `waiting` reasons of the pod's containers, e.g. `CrashLoopBackOff`.
pub fn waiting_reasons(pod: &Pod) -> Vec<String> {
    pod.status
        .iter()
        .flat_map(|s| s.container_statuses.iter().flatten())
        .filter_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone())
        .collect()
}

/// One line about a pod, for failure messages.
pub fn describe_pod(pod: &Pod) -> String {
    let status = pod.status.as_ref();
    format!(
        "pod {} on {:?}: phase {:?}, Ready {:?}, waiting {:?}{}",
        pod.name_any(),
        node_of(pod),
        status.and_then(|s| s.phase.as_deref()),
        condition(pod, "Ready"),
        waiting_reasons(pod),
        if terminating(pod) {
            ", terminating"
        } else {
            ""
        }
    )
}

/// One line per pod.
pub fn describe_pods(pods: &[Pod]) -> String {
    if pods.is_empty() {
        return "no pods".into();
    }
    pods.iter().map(describe_pod).collect::<Vec<_>>().join("; ")
}

/// `Ok` when the Deployment is rolled out like `kubectl rollout status` means it: the controller
/// saw the current generation, `replicas` pods run the current template and are available, and
/// no pods of older templates remain.
pub fn deployment_rolled_out(d: &Deployment, replicas: i32) -> Result<(), String> {
    let status = d.status.clone().unwrap_or_default();
    let observed = status.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0);
    if observed
        && status.updated_replicas == Some(replicas)
        && status.available_replicas == Some(replicas)
        && status.ready_replicas == Some(replicas)
        && status.replicas == Some(replicas)
    {
        Ok(())
    } else {
        Err(format!(
            "observed generation {:?} of {:?}, replicas {:?}, updated {:?}, ready {:?}, available {:?}",
            status.observed_generation,
            d.metadata.generation,
            status.replicas,
            status.updated_replicas,
            status.ready_replicas,
            status.available_replicas
        ))
    }
}

/// The pods of a namespace carrying `app=<app>`.
pub async fn pods_of(client: &Client, namespace: &str, app: &str) -> Result<Vec<Pod>> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list = pods
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .with_context(|| format!("listing pods app={app} in {namespace}"))?;
    Ok(list.items)
}

/// Whether the node is cordoned (`spec.unschedulable`).
pub async fn unschedulable(client: &Client, node: &str) -> Result<bool> {
    let nodes: Api<Node> = Api::all(client.clone());
    let node = nodes
        .get(node)
        .await
        .with_context(|| format!("reading node {node}"))?;
    Ok(node.spec.and_then(|s| s.unschedulable).unwrap_or(false))
}

/// Cordons or uncordons a node, the way tests arrange where the scheduler may place pods.
pub async fn set_unschedulable(client: &Client, node: &str, unschedulable: bool) -> Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    nodes
        .patch(
            node,
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "unschedulable": unschedulable } })),
        )
        .await
        .with_context(|| format!("setting node {node} unschedulable={unschedulable}"))?;
    Ok(())
}

/// The integer fields of a PodDisruptionBudget's status that tests look at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BudgetStatus {
    /// `metadata.generation`.
    pub generation: i64,
    /// `status.observedGeneration`: the disruption controller has seen the current spec.
    pub observed_generation: i64,
    /// `status.disruptionsAllowed`.
    pub disruptions_allowed: i64,
    /// `status.currentHealthy`.
    pub current_healthy: i64,
    /// `status.expectedPods`.
    pub expected_pods: i64,
    /// The keys of `status.disruptedPods`: pods the Eviction API let go and the controller has not
    /// yet seen deleted.
    pub disrupted_pods: Vec<String>,
}

/// Reads a PodDisruptionBudget's status (policy/v1beta1 has no typed struct in k8s-openapi).
pub fn budget_status(pdb: &DynamicObject) -> BudgetStatus {
    let status = &pdb.data["status"];
    let int = |field: &str| status[field].as_i64().unwrap_or(0);
    BudgetStatus {
        generation: pdb.metadata.generation.unwrap_or(0),
        observed_generation: int("observedGeneration"),
        disruptions_allowed: int("disruptionsAllowed"),
        current_healthy: int("currentHealthy"),
        expected_pods: int("expectedPods"),
        disrupted_pods: status["disruptedPods"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default(),
    }
}
