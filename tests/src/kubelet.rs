//! The test kubelet: registers fake nodes, keeps them Ready, and plays the pods bound to them.
//!
//! The local control plane has no kubelet, so nothing would ever run a pod, report it Ready or
//! finish deleting it. [`TestKubelet`] does what the tests need of one, through the same API a
//! kubelet uses:
//!
//! - **Nodes** `<group>-<name>` with labels `kubernetes.io/hostname=<node>` and
//!   `cutover.test/group=<group>`, 4 CPUs, 8Gi of memory, room for 110 pods, condition Ready=True.
//!   A heartbeat refreshes the conditions' `lastHeartbeatTime` every 10 s through `nodes/status`:
//!   the node lifecycle controller marks a node Unknown after 40 s without one, taints it, and
//!   later evicts its pods. `start` returns once the controller has lifted the `not-ready` taint
//!   that every new node gets at admission, so that pods can be scheduled at once.
//! - **Pods** bound to its nodes (a watch per node, on `spec.nodeName`) get a status through
//!   `pods/status`: phase, pod IP, start time, conditions and container statuses, chosen by the
//!   **image convention**:
//!
//!   | an image containing | the pod is reported |
//!   |---|---|
//!   | (anything else) | Running; containers running, ready; Ready=True (after [`KubeletOptions::ready_delay`]) |
//!   | `never-ready` | Running; containers running, not ready; Ready=False |
//!   | `crashloop` | Running; containers waiting `CrashLoopBackOff`, restartCount 3; Ready=False |
//!   | `no-such-image` | Pending; containers waiting `ImagePullBackOff`; Ready=False |
//!
//!   In a pod of several containers the worst image decides (`no-such-image` > `crashloop` >
//!   `never-ready`).
//! - **Deletions**: a pod on its nodes with a `deletionTimestamp` is deleted with grace period 0,
//!   which is what a kubelet does once the containers have stopped. Graceful deletion therefore
//!   completes within a second instead of never.

pub mod status;

pub use status::{Behaviour, CRASHLOOP_RESTARTS, Stage, behaviour_of};

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::{Context, Result};
use futures::{StreamExt, stream};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::cleanup;

/// Tunables of the test kubelet.
#[derive(Clone, Debug)]
pub struct KubeletOptions {
    /// How long a pod runs unready before its containers become ready; zero by default.
    /// Tests of "waits until ready" behaviour use a delay, everything else is faster without.
    pub ready_delay: Duration,
    /// The node heartbeat period. The node lifecycle controller's grace period is 40 s.
    pub heartbeat: Duration,
    /// How long a deleted pod stays Terminating before the kubelet finishes deleting it (its
    /// containers stopping); zero by default. Tests of "waits until the pod is gone" use one.
    pub deletion_delay: Duration,
}

impl Default for KubeletOptions {
    fn default() -> Self {
        KubeletOptions {
            ready_delay: Duration::ZERO,
            heartbeat: Duration::from_secs(10),
            deletion_delay: Duration::ZERO,
        }
    }
}

/// A running test kubelet for a group of nodes. Stop it with [`TestKubelet::shutdown`], which also
/// deletes its nodes; dropping it stops it too (and deletes the nodes, best effort).
pub struct TestKubelet {
    client: Client,
    group: String,
    nodes: Vec<String>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    nodes_deleted: bool,
}

impl TestKubelet {
    /// Registers the nodes `<group>-<name>` for each of `nodes` and starts playing them.
    pub async fn start(client: &Client, group: &str, nodes: &[&str]) -> Result<Self> {
        Self::start_with(client, group, nodes, KubeletOptions::default()).await
    }

    /// [`TestKubelet::start`] with options.
    pub async fn start_with(
        client: &Client,
        group: &str,
        nodes: &[&str],
        options: KubeletOptions,
    ) -> Result<Self> {
        crate::namespace::check_group_name(group)?;
        let names: Vec<String> = nodes.iter().map(|n| format!("{group}-{n}")).collect();
        let mut kubelet = TestKubelet {
            client: client.clone(),
            group: group.to_string(),
            nodes: names.clone(),
            stop: None,
            task: None,
            nodes_deleted: false,
        };
        let node_ips: HashMap<String, String> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), format!("172.16.{}.{}", i / 250, i % 250 + 2)))
            .collect();
        for name in &names {
            register(client, name, group, &node_ips[name]).await?;
        }
        let (stop, stopped) = oneshot::channel();
        let player = Player::new(client.clone(), options.clone(), node_ips);
        kubelet.stop = Some(stop);
        kubelet.task = Some(tokio::spawn(run(player, names.clone(), options, stopped)));
        for name in &names {
            usable(client, name).await?;
        }
        Ok(kubelet)
    }

    /// The test group of its nodes.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The full name of the node `name` of this kubelet (`<group>-<name>`).
    pub fn node(&self, name: &str) -> String {
        format!("{}-{name}", self.group)
    }

    /// The full names of all its nodes.
    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }

    /// Stops playing and deletes the nodes.
    pub async fn shutdown(mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            // The loop stops at its next await point; a panic in it is a bug worth reporting.
            if let Err(e) = task.await
                && e.is_panic()
            {
                anyhow::bail!("the test kubelet of group {} panicked: {e}", self.group);
            }
        }
        self.nodes_deleted = true;
        delete_nodes(self.client.clone(), self.nodes.clone()).await
    }
}

impl Drop for TestKubelet {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if self.nodes_deleted || cleanup::keep_leftovers() {
            return;
        }
        let nodes = self.nodes.clone();
        cleanup::blocking(&format!("nodes {nodes:?}"), move |client| {
            delete_nodes(client, nodes)
        });
    }
}

async fn delete_nodes(client: Client, nodes: Vec<String>) -> Result<()> {
    let api: Api<Node> = Api::all(client);
    for node in nodes {
        match api.delete(&node, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e).with_context(|| format!("deleting node {node}")),
        }
    }
    Ok(())
}

/// Creates the node Ready, or takes over a leftover one of the same name.
async fn register(client: &Client, name: &str, group: &str, ip: &str) -> Result<()> {
    let api: Api<Node> = Api::all(client.clone());
    let now = Timestamp::now();
    let node = status::node(name, group, ip, now);
    match api.create(&PostParams::default(), &node).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {
            // Left by a killed run: make it ours again (labels, schedulable, no taints).
            let patch = json!({
                "metadata": { "labels": status::node_labels(name, group) },
                "spec": { "unschedulable": null, "taints": null },
            });
            api.patch(name, &PatchParams::default(), &Patch::Merge(patch))
                .await
                .with_context(|| format!("taking over node {name}"))?;
        }
        Err(e) => return Err(e).with_context(|| format!("registering node {name}")),
    }
    // Whether create kept the status or not (it does for nodes, but a leftover's is stale),
    // the status subresource is where a kubelet writes it.
    let patch = json!({ "status": status::node_status(name, ip, now) });
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .with_context(|| format!("reporting node {name} Ready"))?;
    Ok(())
}

/// The taint the `TaintNodesByCondition` admission plugin puts on every new node, until the node
/// lifecycle controller has seen it Ready and removes it.
const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";

/// How long the node lifecycle controller may take to lift that taint on a busy machine.
const USABLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Waits until the node can take pods: Ready and no longer tainted not-ready. Until then the
/// scheduler leaves pods pending, which a test would see as flakiness in whatever it tests.
async fn usable(client: &Client, name: &str) -> Result<()> {
    let api: Api<Node> = Api::all(client.clone());
    let what = format!("node {name} to be untainted by the node lifecycle controller");
    crate::wait::until(&api, name, USABLE_TIMEOUT, &what, |node| {
        let Some(node) = node else {
            return Err("it does not exist".into());
        };
        let taints: Vec<&str> = node
            .spec
            .iter()
            .flat_map(|s| s.taints.iter().flatten())
            .map(|t| t.key.as_str())
            .collect();
        if taints.contains(&NOT_READY_TAINT) {
            Err(format!("taints {taints:?}"))
        } else {
            Ok(())
        }
    })
    .await?;
    Ok(())
}

/// The kubelet's loop: heartbeats, pod events, and delayed work, one at a time so that the
/// writes for one pod never race each other.
async fn run(
    mut player: Player,
    nodes: Vec<String>,
    options: KubeletOptions,
    mut stopped: oneshot::Receiver<()>,
) {
    let pods: Api<Pod> = Api::all(player.client.clone());
    // A field selector takes one node name, so one watch per node.
    let mut events = stream::select_all(nodes.iter().map(|node| {
        let config = watcher::Config::default().fields(&format!("spec.nodeName={node}"));
        watcher::watcher(pods.clone(), config)
            .default_backoff()
            .boxed()
    }));
    let mut heartbeat = tokio::time::interval(options.heartbeat);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let registered = Timestamp::now();
    let (wake_tx, mut wake_rx) = mpsc::unbounded_channel();
    player.wake = Some(wake_tx);
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            _ = heartbeat.tick() => player.heartbeat(&nodes, registered).await,
            Some(event) = events.next() => match event {
                Ok(Event::Apply(pod) | Event::InitApply(pod)) => player.play(pod).await,
                Ok(Event::Delete(pod)) => player.forget(&pod),
                Ok(Event::Init | Event::InitDone) => {}
                Err(e) => tracing::warn!("test kubelet: pod watch: {e}"),
            },
            Some((namespace, name)) = wake_rx.recv() => {
                let api: Api<Pod> = Api::namespaced(player.client.clone(), &namespace);
                match api.get_opt(&name).await {
                    Ok(Some(pod)) => player.play(pod).await,
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!("test kubelet: reading pod {namespace}/{name}: {e}");
                        player.wake_later(&namespace, &name, Duration::from_secs(1));
                    }
                }
            }
        }
    }
}

/// The per-pod memory of the kubelet.
struct Player {
    client: Client,
    options: KubeletOptions,
    node_ips: HashMap<String, String>,
    /// Pod uid → its IP, stable across status rewrites.
    pod_ips: HashMap<String, String>,
    /// Pod uid → when the kubelet first saw it (the start of the ready delay).
    first_seen: HashMap<String, Instant>,
    /// Pod uid → the stage last written, so that the watch events of our own writes are no-ops.
    played: HashMap<String, Stage>,
    /// Pod uids whose deletion was finished (the watch still shows them until it lands).
    deleting: HashSet<String>,
    /// Pod uid → when the kubelet first saw it terminating (the start of the deletion delay).
    terminating_since: HashMap<String, Instant>,
    next_ip: u32,
    wake: Option<mpsc::UnboundedSender<(String, String)>>,
}

impl Player {
    fn new(client: Client, options: KubeletOptions, node_ips: HashMap<String, String>) -> Self {
        Player {
            client,
            options,
            node_ips,
            pod_ips: HashMap::new(),
            first_seen: HashMap::new(),
            played: HashMap::new(),
            deleting: HashSet::new(),
            terminating_since: HashMap::new(),
            next_ip: 0,
            wake: None,
        }
    }

    async fn heartbeat(&self, nodes: &[String], registered: Timestamp) {
        let api: Api<Node> = Api::all(self.client.clone());
        let patch = json!({
            "status": { "conditions": status::node_conditions(Timestamp::now(), registered) }
        });
        for node in nodes {
            if let Err(e) = api
                .patch_status(node, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                tracing::warn!("test kubelet: heartbeat of node {node}: {e}");
            }
        }
    }

    fn forget(&mut self, pod: &Pod) {
        if let Some(uid) = pod.uid() {
            self.pod_ips.remove(&uid);
            self.first_seen.remove(&uid);
            self.played.remove(&uid);
            self.deleting.remove(&uid);
            self.terminating_since.remove(&uid);
        }
    }

    /// Asks the loop to look at a pod again after `after`.
    fn wake_later(&self, namespace: &str, name: &str, after: Duration) {
        let Some(wake) = self.wake.clone() else {
            return;
        };
        let key = (namespace.to_string(), name.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            // The kubelet may have stopped meanwhile: nothing left to do then.
            let _ = wake.send(key);
        });
    }

    async fn play(&mut self, pod: Pod) {
        let (Some(uid), Some(namespace)) = (pod.uid(), pod.namespace()) else {
            return;
        };
        let name = pod.name_any();
        if pod.metadata.deletion_timestamp.is_some() {
            let since = *self
                .terminating_since
                .entry(uid.clone())
                .or_insert_with(Instant::now);
            let waited = since.elapsed();
            if waited < self.options.deletion_delay {
                self.wake_later(&namespace, &name, self.options.deletion_delay - waited);
                return;
            }
            self.finish_deletion(&pod, &uid, &namespace, &name).await;
            return;
        }
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        if matches!(phase, Some("Succeeded" | "Failed")) {
            return;
        }
        let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) else {
            return;
        };
        let seen = *self
            .first_seen
            .entry(uid.clone())
            .or_insert_with(Instant::now);
        let behaviour = behaviour_of(&pod);
        let waited = seen.elapsed();
        let starting = behaviour == Behaviour::Ready && waited < self.options.ready_delay;
        let stage = Stage::of(behaviour, starting);
        if starting {
            self.wake_later(&namespace, &name, self.options.ready_delay - waited);
        }
        if self.played.get(&uid) == Some(&stage) {
            return;
        }
        let pod_ip = match self.pod_ips.get(&uid) {
            Some(ip) => ip.clone(),
            None => {
                let n = self.next_ip;
                self.next_ip += 1;
                let ip = format!("10.128.{}.{}", (n / 250) % 250, n % 250 + 2);
                self.pod_ips.insert(uid.clone(), ip.clone());
                ip
            }
        };
        let host_ip = self.node_ips.get(&node).cloned().unwrap_or_default();
        let status = status::pod_status(&pod, stage, &pod_ip, &host_ip, Timestamp::now());
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &namespace);
        // A JSON merge patch replaces the lists (conditions, container statuses) as a whole:
        // the kubelet owns them.
        let patch = Patch::Merge(json!({ "status": status }));
        match api
            .patch_status(&name, &PatchParams::default(), &patch)
            .await
        {
            Ok(_) => {
                tracing::debug!("test kubelet: pod {namespace}/{name} on {node}: {stage:?}");
                self.played.insert(uid, stage);
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                tracing::warn!("test kubelet: status of pod {namespace}/{name}: {e}");
                self.wake_later(&namespace, &name, Duration::from_secs(1));
            }
        }
    }

    /// Deletes the pod for good, as a kubelet does when its containers have stopped.
    async fn finish_deletion(&mut self, pod: &Pod, uid: &str, namespace: &str, name: &str) {
        if !self.deleting.insert(uid.to_string()) {
            return;
        }
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            // A pod recreated under the same name (StatefulSet) must not be deleted by mistake.
            preconditions: Some(Preconditions {
                uid: Some(uid.to_string()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(name, &params).await {
            Ok(_) => tracing::debug!(
                "test kubelet: finished deleting pod {namespace}/{name} on {:?}",
                pod.spec.as_ref().and_then(|s| s.node_name.as_deref())
            ),
            // Gone already, or a different pod now has the name.
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
            Err(e) => {
                tracing::warn!("test kubelet: deleting pod {namespace}/{name}: {e}");
                self.deleting.remove(uid);
                self.wake_later(namespace, name, Duration::from_secs(1));
            }
        }
    }
}
