//! Conformance scenarios of the controllers and of what the API server fills in: rollout
//! strategies, rollbacks, paused Deployments, defaulting, the cordon taint, evictions judged by
//! a budget's status, and field selectors. Each runs against one [`Target`] and returns its
//! normalized outcome, as the scenarios in [`super::scenarios`] do.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, anyhow};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use kube::api::{ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::{Api, ResourceExt};
use serde_json::{Value, json};

use super::scenarios::{eventually, label, outcome, revision, rollout_facts};
use super::{SETTLE, Target};
use crate::{manifests, state, wait};

const HASH: &str = "pod-template-hash";

/// What the pods of one app looked like after each change while a step ran.
#[derive(Default)]
struct PodHistory {
    /// Non-terminating pods, at most, at any moment.
    max_active: usize,
    /// Ready non-terminating pods, at least, at any moment after the first change.
    min_ready: Option<usize>,
    /// Whether non-terminating pods of two pod templates ever ran at once.
    templates_together: bool,
    /// The app's ReplicaSets' `spec.replicas` summed, at most, at any moment: what the
    /// Deployment controller bounds by `replicas + maxSurge`. (Pods themselves may briefly be
    /// one more on a real control plane, where each ReplicaSet controller acts on its own
    /// time: kubernetes#21810; the upstream e2e checks these sums for that reason.)
    max_replica_set_replicas: i32,
}

/// Runs `step` while watching the pods labelled `app=<app>`, and returns its result with what
/// the pods went through meanwhile (from the state just before the step).
async fn watching_pods<R>(
    t: &Target,
    app: &str,
    step: impl Future<Output = Result<R>>,
) -> Result<(R, PodHistory)> {
    let pods: Api<Pod> = t.api();
    let selector = format!("app={app}");
    let list = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .context("list pods")?;
    let mut live: BTreeMap<String, Pod> =
        list.items.into_iter().map(|p| (p.name_any(), p)).collect();
    let rv = list.metadata.resource_version.unwrap_or_default();
    let mut stream = pods
        .watch(&WatchParams::default().labels(&selector).timeout(290), &rv)
        .await
        .context("watch pods")?
        .boxed();
    let sets: Api<ReplicaSet> = t.api();
    let set_list = sets
        .list(&ListParams::default().labels(&selector))
        .await
        .context("list replica sets")?;
    let spec_of = |rs: &ReplicaSet| rs.spec.replicas.unwrap_or(0);
    let mut specs: BTreeMap<String, i32> = set_list
        .items
        .iter()
        .map(|rs| (rs.name_any(), spec_of(rs)))
        .collect();
    let set_rv = set_list.metadata.resource_version.unwrap_or_default();
    let mut set_stream = sets
        .watch(
            &WatchParams::default().labels(&selector).timeout(290),
            &set_rv,
        )
        .await
        .context("watch replica sets")?
        .boxed();
    let mut history = PodHistory {
        max_replica_set_replicas: specs.values().sum(),
        ..PodHistory::default()
    };
    let record = |live: &BTreeMap<String, Pod>, history: &mut PodHistory, first: bool| {
        let active: Vec<&Pod> = live.values().filter(|p| !state::terminating(p)).collect();
        let ready = active.iter().filter(|p| state::pod_ready(p)).count();
        let templates: BTreeSet<Option<&str>> =
            active.iter().map(|p| label(&p.metadata, HASH)).collect();
        history.max_active = history.max_active.max(active.len());
        if !first {
            history.min_ready = Some(history.min_ready.map_or(ready, |m| m.min(ready)));
        }
        history.templates_together |= templates.len() > 1;
    };
    record(&live, &mut history, true);
    tokio::pin!(step);
    let result = loop {
        tokio::select! {
            result = &mut step => break result?,
            event = stream.try_next() => {
                match event.context("pod watch")? {
                    Some(WatchEvent::Added(p) | WatchEvent::Modified(p)) => {
                        live.insert(p.name_any(), p);
                    }
                    Some(WatchEvent::Deleted(p)) => {
                        live.remove(&p.name_any());
                    }
                    Some(WatchEvent::Bookmark(_)) => continue,
                    Some(WatchEvent::Error(e)) => return Err(anyhow!("pod watch error: {e:?}")),
                    None => return Err(anyhow!("the pod watch ended early")),
                }
                record(&live, &mut history, false);
            }
            event = set_stream.try_next() => {
                match event.context("replica set watch")? {
                    Some(WatchEvent::Added(rs) | WatchEvent::Modified(rs)) => {
                        specs.insert(rs.name_any(), spec_of(&rs));
                    }
                    Some(WatchEvent::Deleted(rs)) => {
                        specs.remove(&rs.name_any());
                    }
                    Some(WatchEvent::Bookmark(_)) => continue,
                    Some(WatchEvent::Error(e)) => {
                        return Err(anyhow!("replica set watch error: {e:?}"));
                    }
                    None => return Err(anyhow!("the replica set watch ended early")),
                }
                let sum: i32 = specs.values().sum();
                history.max_replica_set_replicas = history.max_replica_set_replicas.max(sum);
            }
        }
    };
    Ok((result, history))
}

/// A strategic merge patch giving the `app` container a new image.
fn new_image(image: &str) -> Patch<Value> {
    Patch::Strategic(json!({ "spec": { "template": { "spec": { "containers": [
        { "name": "app", "image": image },
    ] } } } }))
}

/// Recreate: the old ReplicaSet goes to 0, its pods go, and only then does the new one come up
/// (at full size): old and new pods never run together, and the rollout completes.
pub async fn recreate_rollout(t: &Target) -> Result<Value> {
    let api: Api<Deployment> = t.api();
    let mut d = manifests::deployment(t.group(), "web", 3, manifests::READY_IMAGE);
    d.spec.strategy = Some(serde_json::from_value(json!({ "type": "Recreate" }))?);
    api.create(&PostParams::default(), &d)
        .await
        .context("create")?;
    let first = rollout_facts(t, 3).await?;
    let (second, pods) = watching_pods(t, "web", async {
        api.patch(
            "web",
            &PatchParams::default(),
            &new_image("registry.test/app:2"),
        )
        .await
        .context("change the template")?;
        rollout_facts(t, 3).await
    })
    .await?;
    Ok(json!({
        "created": first,
        "templateChanged": second,
        "oldAndNewPodsTogether": pods.templates_together,
        "maxPods": pods.max_active,
    }))
}

/// maxSurge 0, maxUnavailable 1: the roll never asks for more than 3 pods (its ReplicaSets'
/// replicas summed) nor has fewer than 2 ready.
pub async fn rolling_update_without_surge(t: &Target) -> Result<Value> {
    let api: Api<Deployment> = t.api();
    let mut d = manifests::deployment(t.group(), "web", 3, manifests::READY_IMAGE);
    d.spec.strategy = Some(serde_json::from_value(json!({
        "type": "RollingUpdate",
        "rollingUpdate": { "maxSurge": 0, "maxUnavailable": 1 },
    }))?);
    api.create(&PostParams::default(), &d)
        .await
        .context("create")?;
    rollout_facts(t, 3).await?;
    let (facts, pods) = watching_pods(t, "web", async {
        api.patch(
            "web",
            &PatchParams::default(),
            &new_image("registry.test/app:2"),
        )
        .await
        .context("change the template")?;
        rollout_facts(t, 3).await
    })
    .await?;
    Ok(json!({
        "templateChanged": facts,
        "maxReplicaSetReplicas": pods.max_replica_set_replicas,
        "minReadyPods": pods.min_ready,
    }))
}

/// The app's ReplicaSets, oldest revision first.
async fn replica_sets(t: &Target, app: &str) -> Result<Vec<ReplicaSet>> {
    let api: Api<ReplicaSet> = t.api();
    let mut sets = api
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .context("list ReplicaSets")?
        .items;
    sets.sort_by_key(|rs| {
        revision(&rs.metadata)
            .and_then(|r| r.parse::<i64>().ok())
            .unwrap_or(0)
    });
    Ok(sets)
}

/// `kubectl rollout undo`: the Deployment gets revision 1's pod template back (as kubectl sends
/// it: the ReplicaSet's template, defaults and all, without `pod-template-hash`); the controller
/// reuses that ReplicaSet, which becomes revision 3, and makes no new one.
pub async fn rollout_undo(t: &Target) -> Result<Value> {
    let api: Api<Deployment> = t.api();
    api.create(
        &PostParams::default(),
        &manifests::deployment(t.group(), "web", 3, manifests::READY_IMAGE),
    )
    .await
    .context("create")?;
    rollout_facts(t, 3).await?;
    api.patch(
        "web",
        &PatchParams::default(),
        &new_image("registry.test/app:2"),
    )
    .await
    .context("change the template")?;
    rollout_facts(t, 3).await?;
    let sets = replica_sets(t, "web").await?;
    let first = sets
        .iter()
        .find(|rs| revision(&rs.metadata).as_deref() == Some("1"))
        .ok_or_else(|| anyhow!("no ReplicaSet of revision 1"))?;
    let mut template = first
        .spec
        .template
        .clone()
        .ok_or_else(|| anyhow!("revision 1 has no template"))?;
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(HASH);
    }
    let undo: json_patch::Patch = serde_json::from_value(json!([
        { "op": "replace", "path": "/spec/template", "value": template },
    ]))?;
    api.patch("web", &PatchParams::default(), &Patch::Json::<()>(undo))
        .await
        .context("roll back")?;
    let undone = rollout_facts(t, 3).await?;
    let history: Vec<Value> = replica_sets(t, "web")
        .await?
        .iter()
        .map(|rs| {
            json!({
                "revision": revision(&rs.metadata),
                "revisionHistory": rs.annotations().get("deployment.kubernetes.io/revision-history"),
                "image": rs.spec.template.as_ref()
                    .and_then(|t| t.spec.as_ref())
                    .and_then(|s| s.containers.first())
                    .and_then(|c| c.image.clone()),
            })
        })
        .collect();
    Ok(json!({ "undone": undone, "replicaSets": history }))
}

/// The Deployment's `Progressing` condition as `[status, reason]`.
fn progressing(d: &Deployment) -> Option<Value> {
    let conditions = serde_json::to_value(d.status.as_ref()?.conditions.as_ref()?).ok()?;
    conditions
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Progressing")
        .map(|c| json!([c["status"], c["reason"]]))
}

/// A paused Deployment: a template change rolls nothing out (no new ReplicaSet, the pods keep
/// the old image), a scale still scales (the one ReplicaSet to 4), `Progressing` is Unknown /
/// DeploymentPaused; resumed, it rolls out the new template.
pub async fn paused_deployment(t: &Target) -> Result<Value> {
    let api: Api<Deployment> = t.api();
    api.create(
        &PostParams::default(),
        &manifests::deployment(t.group(), "web", 2, manifests::READY_IMAGE),
    )
    .await
    .context("create")?;
    rollout_facts(t, 2).await?;
    let pp = PatchParams::default();
    api.patch(
        "web",
        &pp,
        &Patch::Merge(json!({ "spec": { "paused": true } })),
    )
    .await
    .context("pause")?;
    api.patch("web", &pp, &new_image("registry.test/app:2"))
        .await
        .context("change the template")?;
    api.patch(
        "web",
        &pp,
        &Patch::Merge(json!({ "spec": { "replicas": 4 } })),
    )
    .await
    .context("scale")?;
    let paused = eventually("the paused Deployment scaled to 4", || async {
        let d = api.get("web").await?;
        let pods = state::pods_of(&t.client, t.namespace(), "web").await?;
        let ready = pods
            .iter()
            .filter(|p| !state::terminating(p) && state::pod_ready(p))
            .count();
        let seen = d.status.as_ref().and_then(|s| s.observed_generation) == d.metadata.generation;
        let reason = progressing(&d).map(|c| c[1].clone());
        let available = d.status.as_ref().and_then(|s| s.available_replicas);
        Ok((seen
            && ready == 4
            && pods.len() == 4
            && available == Some(4)
            && reason == Some(json!("DeploymentPaused")))
        .then_some((d, pods)))
    })
    .await?;
    let (d, pods) = paused;
    let images: BTreeSet<Option<String>> = pods
        .iter()
        .map(|p| {
            p.spec
                .as_ref()
                .and_then(|s| s.containers.first())
                .and_then(|c| c.image.clone())
        })
        .collect();
    let sets: Vec<Value> = replica_sets(t, "web")
        .await?
        .iter()
        .map(|rs| json!([revision(&rs.metadata), rs.spec.replicas]))
        .collect();
    let status = d.status.clone().unwrap_or_default();
    let while_paused = json!({
        "replicaSets": sets,
        "podImages": images,
        "progressing": progressing(&d),
        "replicas": status.replicas,
        "updatedReplicas": status.updated_replicas,
        "availableReplicas": status.available_replicas,
    });
    api.patch(
        "web",
        &pp,
        &Patch::Merge(json!({ "spec": { "paused": false } })),
    )
    .await
    .context("resume")?;
    let resumed = rollout_facts(t, 4).await?;
    Ok(json!({ "paused": while_paused, "resumed": resumed }))
}

/// A typed object's JSON, which leaves out what a Go client would not tell apart (absent,
/// `null`); `spec` only.
fn spec_of<K: serde::Serialize>(object: &K) -> Result<Value> {
    Ok(serde_json::to_value(object)?["spec"].clone())
}

/// Replaces the scenario's node names in a value with `<node>`, then its namespace (the
/// group of its nodes) with `<ns>`.
fn without_names(t: &Target, v: &Value) -> Result<Value> {
    let text = serde_json::to_string(v)?
        .replace(&t.node("a"), "<node>")
        .replace(&t.node("b"), "<node>")
        .replace(t.namespace(), "<ns>");
    Ok(serde_json::from_str(&text)?)
}

/// What the server fills in on create, compared as whole specs: a Deployment (strategy,
/// revisionHistoryLimit, progressDeadlineSeconds, pod template defaults), a DaemonSet
/// (updateStrategy, revisionHistoryLimit) and its pods (tolerations, node affinity), a Service
/// (type, sessionAffinity, ports, a cluster IP), a bare pod (admission's priority, service
/// account and default tolerations).
pub async fn defaults_on_create(t: &Target) -> Result<Value> {
    let pp = PostParams::default();
    let deployments: Api<Deployment> = t.api();
    let mut d = manifests::deployment(t.group(), "web", 0, "registry.test/app:1");
    if let Some(spec) = d.spec.template.spec.as_mut() {
        spec.containers.push(serde_json::from_value(json!({
            "name": "sidecar", "image": "registry.test/sidecar",
            "ports": [{ "containerPort": 8080 }],
            "env": [{ "name": "NODE", "valueFrom": { "fieldRef": { "fieldPath": "spec.nodeName" } } }],
            "readinessProbe": { "httpGet": { "path": "/", "port": 8080 } },
        }))?);
    }
    let d = deployments
        .create(&pp, &d)
        .await
        .context("create Deployment")?;

    let daemon_sets: Api<DaemonSet> = t.api();
    daemon_sets
        .create(
            &pp,
            &manifests::daemon_set(t.group(), "agent", "registry.test/agent:latest"),
        )
        .await
        .context("create DaemonSet")?;
    let ds = wait::daemon_set_ready(&daemon_sets, "agent", 2, SETTLE).await?;
    let daemon_pods = state::pods_of(&t.client, t.namespace(), "agent").await?;
    let daemon_pod = daemon_pods
        .iter()
        .find(|p| state::node_of(p) == Some(t.node("a").as_str()))
        .ok_or_else(|| anyhow!("no agent pod on node a"))?;
    let mut daemon_pod_spec = spec_of(daemon_pod)?;

    let services: Api<Service> = t.api();
    let service: Service = serde_json::from_value(json!({
        "metadata": { "name": "web" },
        "spec": { "selector": { "app": "web" }, "ports": [{ "name": "web", "port": 80 }, { "name": "alt", "port": 81, "targetPort": "http" }] },
    }))?;
    let service = services
        .create(&pp, &service)
        .await
        .context("create Service")?;
    let mut service_spec = spec_of(&service)?;
    let cluster_ip = service_spec["clusterIP"]
        .as_str()
        .is_some_and(|ip| !ip.is_empty());
    let cluster_ips = service_spec["clusterIPs"] == json!([service_spec["clusterIP"]]);
    for field in ["clusterIP", "clusterIPs"] {
        service_spec.as_object_mut().map(|s| s.remove(field));
    }

    let pods: Api<Pod> = t.api();
    pods.create(
        &pp,
        &manifests::bare_pod(t.group(), "bare", "registry.test/app"),
    )
    .await
    .context("create Pod")?;
    let bare = wait::pod_ready(&pods, "bare", SETTLE).await?;
    let bound = state::node_of(&bare).is_some_and(|n| n == t.node("a") || n == t.node("b"));
    let mut bare_spec = spec_of(&bare)?;
    for spec in [&mut bare_spec, &mut daemon_pod_spec] {
        spec.as_object_mut().map(|s| s.remove("nodeName"));
    }
    without_names(
        t,
        &json!({
            "deployment": spec_of(&d)?,
            "daemonSet": spec_of(&ds)?,
            "daemonPod": daemon_pod_spec,
            "service": service_spec,
            "serviceClusterIP": cluster_ip,
            "serviceClusterIPs": cluster_ips,
            "pod": bare_spec,
            "podBound": bound,
        }),
    )
}

/// A node's taints as `[key, effect, timeAdded present]`.
fn taints(node: &Node) -> Vec<Value> {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|t| json!([t.key, t.effect, t.time_added.is_some()]))
        .collect()
}

/// The scenario's nodes a field selector lists, by their short names.
async fn nodes_selected(t: &Target, selector: &str) -> Result<Vec<String>> {
    let nodes: Api<Node> = Api::all(t.client.clone());
    let prefix = format!("{}-", t.namespace());
    Ok(nodes
        .list(&ListParams::default().fields(selector))
        .await
        .with_context(|| format!("list nodes {selector}"))?
        .items
        .iter()
        .filter_map(|n| n.name_any().strip_prefix(&prefix).map(str::to_string))
        .collect())
}

/// Cordon adds the `node.kubernetes.io/unschedulable:NoSchedule` taint, uncordon removes it;
/// `spec.unschedulable` selects nodes.
pub async fn cordon_taint(t: &Target) -> Result<Value> {
    let nodes: Api<Node> = Api::all(t.client.clone());
    let node_a = t.node("a");
    let patch = |unschedulable: Value| {
        Patch::Strategic(json!({ "spec": { "unschedulable": unschedulable } }))
    };
    nodes
        .patch(&node_a, &PatchParams::default(), &patch(json!(true)))
        .await
        .context("cordon")?;
    let cordoned = eventually("the cordon taint", || async {
        let node = nodes.get(&node_a).await?;
        Ok((!taints(&node).is_empty()).then_some(node))
    })
    .await?;
    let selected_cordoned = nodes_selected(t, "spec.unschedulable=true").await?;
    let selected_schedulable = nodes_selected(t, "spec.unschedulable=false").await?;
    nodes
        .patch(&node_a, &PatchParams::default(), &patch(Value::Null))
        .await
        .context("uncordon")?;
    let uncordoned = eventually("the cordon taint gone", || async {
        let node = nodes.get(&node_a).await?;
        Ok(taints(&node).is_empty().then_some(node))
    })
    .await?;
    Ok(json!({
        "cordonedTaints": taints(&cordoned),
        "uncordonedTaints": uncordoned.spec.as_ref().map(|s| s.taints.clone()),
        "unschedulableTrue": selected_cordoned,
        "unschedulableFalse": selected_schedulable,
        "afterUncordon": nodes_selected(t, "spec.unschedulable=true").await?,
    }))
}

/// POSTs a policy/v1beta1 Eviction: the HTTP status, reason and the causes' reasons.
async fn evict(t: &Target, name: &str) -> Result<Value> {
    let body = json!({
        "apiVersion": "policy/v1beta1",
        "kind": "Eviction",
        "metadata": { "name": name, "namespace": t.namespace() },
    });
    let request = http::Request::post(format!(
        "/api/v1/namespaces/{}/pods/{name}/eviction",
        t.namespace()
    ))
    .header(http::header::CONTENT_TYPE, "application/json")
    .body(kube::client::Body::from(serde_json::to_vec(&body)?))?;
    let response = t.client.send(request).await.context("eviction request")?;
    let code = response.status().as_u16();
    let bytes = response.into_body().collect_bytes().await?;
    let status: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let causes: Vec<Value> = status["details"]["causes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["reason"].clone())
        .collect();
    Ok(json!({
        "code": code,
        "reason": status["reason"],
        "message": status["message"],
        "causes": causes,
    }))
}

/// Evictions judged by the budget's status: three Ready pods, minAvailable 1 (2 disruptions
/// allowed); three evictions in quick succession: two allowed, the third refused. Each allowed
/// one is recorded in `status.disruptedPods` (seen by a watch on the budget), and the records
/// are gone once the budget has caught up (the scenario waits for a status without them).
pub async fn evictions_by_budget_status(t: &Target) -> Result<Value> {
    let pods: Api<Pod> = t.api();
    for name in ["p1", "p2", "p3"] {
        let mut pod = manifests::bare_pod(t.group(), name, manifests::READY_IMAGE);
        pod.metadata.labels = Some(manifests::app_labels("guarded"));
        pods.create(&PostParams::default(), &pod)
            .await
            .with_context(|| format!("create pod {name}"))?;
    }
    for name in ["p1", "p2", "p3"] {
        wait::pod_ready(&pods, name, SETTLE).await?;
    }
    let pdbs = manifests::pdb_api(&t.client, t.namespace());
    pdbs.create(
        &PostParams::default(),
        &manifests::pdb("guard", "guarded", 1),
    )
    .await
    .context("create PodDisruptionBudget")?;
    let before = super::scenarios::budget_settled(t, 3, 2).await?;
    let list = pdbs.list(&ListParams::default()).await?;
    let rv = list.metadata.resource_version.unwrap_or_default();
    let mut budget_events = pdbs
        .watch(&WatchParams::default().timeout(290), &rv)
        .await
        .context("watch budgets")?
        .boxed();
    let mut evictions = Vec::new();
    for name in ["p1", "p2", "p3"] {
        evictions.push(evict(t, name).await?);
    }
    for name in ["p1", "p2"] {
        wait::gone(&pods, name, SETTLE).await?;
    }
    let after = super::scenarios::budget_settled(t, 1, 0).await?;
    // Every status the budget went through, up to the settled one.
    let mut disrupted_seen = BTreeSet::new();
    let collect = async {
        while let Some(event) = budget_events.next().await {
            if let WatchEvent::Added(pdb) | WatchEvent::Modified(pdb) = event? {
                let s = state::budget_status(&pdb);
                disrupted_seen.extend(s.disrupted_pods.clone());
                if s.expected_pods == 1 && s.disruptions_allowed == 0 && s.disrupted_pods.is_empty()
                {
                    return Ok::<_, anyhow::Error>(());
                }
            }
        }
        Err(anyhow!("the budget watch ended early"))
    };
    tokio::time::timeout(SETTLE, collect)
        .await
        .map_err(|_| anyhow!("the budget never settled without disrupted pods"))??;
    Ok(json!({
        "budgetBefore": before,
        "evictions": evictions,
        "budgetAfter": after,
        "disruptedPodsSeen": disrupted_seen,
    }))
}

/// Names of the scenario's pods a field selector lists.
async fn pods_selected(t: &Target, selector: &str) -> Result<Value> {
    let pods: Api<Pod> = t.api();
    Ok(
        match pods.list(&ListParams::default().fields(selector)).await {
            Ok(list) => {
                let mut names: Vec<String> = list.items.iter().map(|p| p.name_any()).collect();
                names.sort();
                json!(names)
            }
            Err(e) => {
                let o = outcome(t, &Err::<(), _>(e));
                json!({ "code": o["code"], "reason": o["reason"] })
            }
        },
    )
}

/// The pod field selectors 1.20 supports, and one it does not.
pub async fn pod_field_selectors(t: &Target) -> Result<Value> {
    let pods: Api<Pod> = t.api();
    let mut never = manifests::bare_pod(t.group(), "never", manifests::READY_IMAGE);
    if let Some(spec) = never.spec.as_mut() {
        spec.restart_policy = Some("Never".into());
    }
    pods.create(&PostParams::default(), &never)
        .await
        .context("create never")?;
    pods.create(
        &PostParams::default(),
        &manifests::bare_pod(t.group(), "always", manifests::READY_IMAGE),
    )
    .await
    .context("create always")?;
    let never = wait::pod_ready(&pods, "never", SETTLE).await?;
    wait::pod_ready(&pods, "always", SETTLE).await?;
    let ip = never
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .ok_or_else(|| anyhow!("pod never has no IP"))?;
    let node = state::node_of(&never).unwrap_or_default().to_string();
    let mut selected = serde_json::Map::new();
    for selector in [
        "spec.restartPolicy=Never".to_string(),
        "spec.restartPolicy=Always".to_string(),
        "spec.schedulerName=default-scheduler".to_string(),
        "spec.serviceAccountName=default".to_string(),
        "status.phase=Running".to_string(),
        "status.nominatedNodeName=".to_string(),
        format!("status.podIP={ip}"),
        format!("spec.nodeName={node},spec.restartPolicy!=Always"),
        "metadata.uid=x".to_string(),
    ] {
        let key = selector.replace(&ip, "<ip>").replace(&node, "<node>");
        selected.insert(key, pods_selected(t, &selector).await?);
    }
    Ok(Value::Object(selected))
}
