//! End to end: `daemonset-node-by-node` (Calico's calico-node upgrade) on the real control
//! plane, whose controller-manager runs the real DaemonSet controller: a calico-node-like
//! DaemonSet (RollingUpdate) on three nodes is upgraded node by node (OnDelete, then cordon,
//! delete the pod, its replacement Ready, uncordon), in node order; a new image that never
//! becomes Ready stops the run at the first node, left cordoned, the others untouched, and
//! `cutover resume` finishes it once the pods of that image become Ready; a run stopped at the
//! second node is undone by the policy (`cutover rollback`): the old template back on the nodes
//! it changed, node by node.

use std::collections::BTreeMap;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher;
use kube::{Api, ResourceExt};
use serde_json::json;
use tokio::task::JoinHandle;

use cutover_tests::env::SETTLE;
use cutover_tests::kubelet::{Behaviour, Stage, behaviour_of, status};
use cutover_tests::{GROUP_LABEL, Output, TestEnv, exit, state, wait};

const NAME: &str = "calico-node";
const V1: &str = "registry.test/calico-node:v3.26.1";
const V2: &str = "registry.test/calico-node:v3.27.3";
/// By the test kubelet's image convention its containers run but never become ready.
const BROKEN: &str = "registry.test/calico-node:v3.27.3-never-ready";
/// The nodes, in the order the policy takes them (by name).
const NODES: [&str; 3] = ["a", "b", "c"];
/// `node-timeout` of the failing run: about what that run takes, nearly all of it waiting.
const NODE_TIMEOUT: &str = "10s";

/// calico-node's DaemonSet as Calico ships it (RollingUpdate, tolerating every taint), pinned
/// to the test's nodes, running `image`: the manifest both created at first and given to the
/// run, where only the image differs.
fn manifest(group: &str, image: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: {NAME}, labels: {{app: {NAME}}}}}
spec:
  selector: {{matchLabels: {{app: {NAME}}}}}
  updateStrategy: {{type: RollingUpdate, rollingUpdate: {{maxUnavailable: 1}}}}
  template:
    metadata: {{labels: {{app: {NAME}}}}}
    spec:
      nodeSelector: {{{GROUP_LABEL}: {group}}}
      automountServiceAccountToken: false
      tolerations: [{{operator: Exists}}]
      containers:
        - {{name: calico-node, image: \"{image}\"}}
"
    )
}

/// A test namespace with three nodes, calico-node v1 Ready on each, and the new manifest's file.
struct Calico {
    env: TestEnv,
    dir: tempfile::TempDir,
    /// The pods of v1, by node.
    before: BTreeMap<String, Pod>,
}

impl Calico {
    async fn start(prefix: &str) -> Calico {
        let env = TestEnv::start(prefix, &NODES).await.expect("test env");
        let ds: DaemonSet = match serde_saphyr::from_str(&manifest(env.group(), V1)) {
            Ok(ds) => ds,
            Err(e) => panic!("the DaemonSet manifest does not parse: {e}"),
        };
        env.create(&ds).await.expect("create DaemonSet calico-node");
        wait::daemon_set_ready(&env.api::<DaemonSet>(), NAME, 3, SETTLE)
            .await
            .expect("calico-node v1 Ready on the three nodes");
        let mut calico = Calico {
            env,
            dir: tempfile::tempdir().expect("a temporary directory"),
            before: BTreeMap::new(),
        };
        calico.before = calico.pods_by_node().await;
        assert_eq!(
            calico.before.keys().cloned().collect::<Vec<_>>(),
            calico.nodes(),
            "setup: one pod on each node"
        );
        calico
    }

    fn ns(&self) -> &str {
        self.env.namespace()
    }

    /// The full node names, in order.
    fn nodes(&self) -> Vec<String> {
        NODES.iter().map(|n| self.env.node(n)).collect()
    }

    /// `cutover <args> -n <namespace>`.
    async fn cutover(&self, args: &[&str]) -> Output {
        let mut all = args.to_vec();
        all.extend(["-n", self.ns()]);
        self.env.cutover(&all).await
    }

    /// `cutover run daemonset-node-by-node <calico-node.yaml of image> --release calico-node
    /// --allow-declared -o json <extra>`, the policy taking the test's nodes only.
    async fn run(&self, image: &str, extra: &[&str]) -> Output {
        let file = self.dir.path().join("calico-node.yaml");
        std::fs::write(&file, manifest(self.env.group(), image)).expect("write the manifest");
        let file = file.display().to_string();
        let selector = format!("node-selector={GROUP_LABEL}={}", self.env.group());
        let mut args = vec![
            "run",
            "daemonset-node-by-node",
            &file,
            "--release",
            NAME,
            "--allow-declared",
            "--set",
            &selector,
            "-o",
            "json",
        ];
        args.extend(extra);
        self.cutover(&args).await
    }

    /// The statuses of the release's revisions, oldest first.
    async fn history(&self) -> Vec<String> {
        let out = self.cutover(&["history", NAME, "-o", "json"]).await;
        out.expect_code(exit::OK);
        out.json()
            .as_array()
            .expect("an array of revisions")
            .iter()
            .map(|r| r["status"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    async fn daemon_set(&self) -> DaemonSet {
        self.env
            .api::<DaemonSet>()
            .get(NAME)
            .await
            .expect("read DaemonSet calico-node")
    }

    /// The DaemonSet's pods, by node; panics on a node with more than one, or a pod on none.
    async fn pods_by_node(&self) -> BTreeMap<String, Pod> {
        let pods = state::pods_of(&self.env.client, self.ns(), NAME)
            .await
            .expect("list the calico-node pods");
        let mut by_node = BTreeMap::new();
        for pod in &pods {
            let Some(node) = state::node_of(pod) else {
                panic!("a pod on no node: {}", state::describe_pods(&pods));
            };
            if by_node.insert(node.to_string(), pod.clone()).is_some() {
                panic!("two pods on {node}: {}", state::describe_pods(&pods));
            }
        }
        by_node
    }

    async fn unschedulable(&self, node: &str) -> bool {
        state::unschedulable(&self.env.client, node)
            .await
            .expect("read the node")
    }

    /// Every node runs exactly one pod of `image`, Ready and not terminating, and is
    /// schedulable; the DaemonSet says so too once its controller has caught up.
    async fn expect_all_on(&self, image: &str) {
        let pods = self.pods_by_node().await;
        assert_eq!(
            pods.keys().cloned().collect::<Vec<_>>(),
            self.nodes(),
            "one pod on each node"
        );
        for (node, pod) in &pods {
            assert_eq!(image_of(pod), image, "the image of the pod on {node}");
            assert!(
                state::pod_ready(pod) && !state::terminating(pod),
                "the pod on {node} is not Ready: {}",
                state::describe_pod(pod)
            );
            assert!(!self.unschedulable(node).await, "{node} is left cordoned");
        }
        wait::daemon_set_ready(&self.env.api::<DaemonSet>(), NAME, 3, SETTLE)
            .await
            .expect("the DaemonSet counts its three pods updated and Ready");
    }
}

fn image_of(pod: &Pod) -> &str {
    pod.spec
        .iter()
        .flat_map(|s| s.containers.first())
        .find_map(|c| c.image.as_deref())
        .unwrap_or_default()
}

/// The template revision the DaemonSet controller labelled the pod with.
fn revision_of(pod: &Pod) -> Option<&str> {
    pod.labels()
        .get("controller-revision-hash")
        .map(String::as_str)
}

/// `(updateStrategy.type, the container's image)` of the DaemonSet.
fn shape(ds: &DaemonSet) -> (Option<String>, Option<String>) {
    let spec = ds.spec.clone();
    let image = spec
        .template
        .spec
        .and_then(|s| s.containers.first().and_then(|c| c.image.clone()));
    (spec.update_strategy.and_then(|s| s.type_), image)
}

/// The report's `changed` lines.
fn changed(out: &Output) -> Vec<String> {
    let report = out.json();
    report["changed"]
        .as_array()
        .unwrap_or_else(|| panic!("no `changed` in the report\n{out}"))
        .iter()
        .map(|line| line.as_str().unwrap_or_default().to_string())
        .collect()
}

/// What replacing the pod on each of `nodes` changes, in order.
fn node_by_node(ns: &str, nodes: &[(&str, &Pod)]) -> Vec<String> {
    nodes
        .iter()
        .flat_map(|(node, old)| {
            [
                format!("cordon v1/Node {node}"),
                format!("delete v1/Pod {ns}/{}", old.name_any()),
                format!("uncordon v1/Node {node}"),
            ]
        })
        .collect()
}

/// Plays the kubelet of `image` fixed (on node `only_on`, or everywhere): each of its pods, once
/// the test kubelet has reported it running but never ready (the image convention), is reported
/// Ready as a kubelet would once the cause is gone. The test kubelet writes a pod's status only
/// when its own verdict changes, which for this image it never does, so the report stands.
fn fix_image(env: &TestEnv, image: &'static str, only_on: Option<String>) -> JoinHandle<()> {
    let api: Api<Pod> = env.api();
    tokio::spawn(async move {
        let config = watcher::Config::default().labels(&format!("app={NAME}"));
        let mut pods = watcher::watcher(api.clone(), config)
            .default_backoff()
            .applied_objects()
            .boxed();
        while let Some(pod) = pods.next().await {
            let Ok(pod) = pod else { continue };
            let reported = pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
            let elsewhere = only_on
                .as_deref()
                .is_some_and(|n| state::node_of(&pod) != Some(n));
            if image_of(&pod) != image
                || elsewhere
                || behaviour_of(&pod) != Behaviour::NeverReady
                || !reported
                || state::pod_ready(&pod)
                || state::terminating(&pod)
            {
                continue;
            }
            let old = pod.status.clone().unwrap_or_default();
            let status = status::pod_status(
                &pod,
                Stage::Ready,
                old.pod_ip.as_deref().unwrap_or_default(),
                old.host_ip.as_deref().unwrap_or_default(),
                Timestamp::now(),
            );
            let patch = Patch::Merge(json!({ "status": status }));
            if let Err(e) = api
                .patch_status(&pod.name_any(), &PatchParams::default(), &patch)
                .await
            {
                tracing::warn!("reporting pod {} Ready: {e}", pod.name_any());
            }
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn calico_node_is_upgraded_node_by_node() {
    let c = Calico::start("calico-node").await;
    let nodes = c.nodes();

    let out = c.run(V2, &[]).await;
    out.expect_code(exit::OK);
    let report = out.json();
    assert_eq!(report["status"], "succeeded", "{out}");
    assert_eq!(
        report["summary"],
        format!(
            "DaemonSet {}/{NAME} upgraded node by node on 3 nodes",
            c.ns()
        ),
        "{out}"
    );

    // The template is the new one, and stays OnDelete.
    assert_eq!(
        shape(&c.daemon_set().await),
        (Some("OnDelete".into()), Some(V2.into()))
    );
    c.expect_all_on(V2).await;
    let now = c.pods_by_node().await;
    for (node, old) in &c.before {
        assert_ne!(
            state::uid(&now[node]),
            state::uid(old),
            "the pod on {node} was not replaced"
        );
        assert!(
            revision_of(&now[node]).is_some() && revision_of(&now[node]) != revision_of(old),
            "the pod on {node} is of the old template's revision"
        );
    }
    assert_eq!(c.history().await, ["deployed"]);

    // The DaemonSet changed, then each node in turn: cordoned, its pod deleted, uncordoned
    // (the run waits for the replacement in between).
    let mut expected = vec![format!("apply apps/v1/DaemonSet {}/{NAME}", c.ns())];
    let order: Vec<(&str, &Pod)> = nodes.iter().map(|n| (n.as_str(), &c.before[n])).collect();
    expected.extend(node_by_node(c.ns(), &order));
    assert_eq!(changed(&out), expected, "{out}");

    c.env.finish().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_pod_never_ready_leaves_its_node_cordoned_until_resumed() {
    let c = Calico::start("calico-never-ready").await;
    let nodes = c.nodes();
    let (first, rest) = (&nodes[0], &nodes[1..]);

    let timeout = format!("node-timeout={NODE_TIMEOUT}");
    let out = c.run(BROKEN, &["--set", &timeout]).await;
    out.expect_error(
        exit::POLICY_FAILED,
        &[
            &format!("node {first}: the new pod"),
            &format!("node {first} is left cordoned"),
            "0 of 3 nodes done",
            "cutover resume",
        ],
    );
    assert_eq!(out.json()["status"], "failed", "{out}");

    // The first node is cordoned and runs the new pod, not Ready; the others are as they were.
    assert!(c.unschedulable(first).await, "{first} was uncordoned");
    let pods = c.pods_by_node().await;
    let on_first = pods
        .get(first)
        .unwrap_or_else(|| panic!("no pod on {first}"));
    assert_eq!(image_of(on_first), BROKEN);
    assert!(
        !state::pod_ready(on_first),
        "{}",
        state::describe_pod(on_first)
    );
    for node in rest {
        assert!(!c.unschedulable(node).await, "{node} was cordoned");
        let (now, old) = (&pods[node], &c.before[node]);
        assert_eq!(
            state::uid(now),
            state::uid(old),
            "the pod on {node} changed"
        );
        assert!(
            !state::terminating(now),
            "the pod on {node} is being deleted"
        );
        assert_eq!(image_of(now), V1);
    }
    assert_eq!(
        shape(&c.daemon_set().await),
        (Some("OnDelete".into()), Some(BROKEN.into()))
    );
    assert_eq!(c.history().await, ["failed"]);

    // Fixed: the pods of the new image become Ready. The resume (no inputs: the checkpoint)
    // keeps the first node's new pod, uncordons it and goes on with the others.
    let fixer = fix_image(&c.env, BROKEN, None);
    let out = c
        .cutover(&["resume", NAME, "--allow-declared", "-o", "json"])
        .await;
    out.expect_code(exit::OK);
    c.expect_all_on(BROKEN).await;
    fixer.abort();
    let now = c.pods_by_node().await;
    assert_eq!(
        state::uid(&now[first]),
        state::uid(on_first),
        "the resume replaced the first node's new pod"
    );
    let mut expected = vec![format!("uncordon v1/Node {first}")];
    let order: Vec<(&str, &Pod)> = rest.iter().map(|n| (n.as_str(), &c.before[n])).collect();
    expected.extend(node_by_node(c.ns(), &order));
    assert_eq!(changed(&out), expected, "{out}");
    assert_eq!(c.history().await, ["deployed"]);

    c.env.finish().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_run_is_rolled_back_node_by_node_by_the_policy() {
    let c = Calico::start("calico-rollback").await;
    let nodes = c.nodes();
    let (first, second, third) = (&nodes[0], &nodes[1], &nodes[2]);

    // The new image works on the first node only: the run upgrades it, then stops at the
    // second, left cordoned.
    let fixer = fix_image(&c.env, BROKEN, Some(first.clone()));
    let timeout = format!("node-timeout={NODE_TIMEOUT}");
    let out = c.run(BROKEN, &["--set", &timeout]).await;
    out.expect_error(
        exit::POLICY_FAILED,
        &[
            &format!("node {second} is left cordoned"),
            "1 of 3 nodes done",
            "cutover rollback",
        ],
    );
    fixer.abort();
    let failed = c.pods_by_node().await;
    for node in [first, second] {
        assert_eq!(image_of(&failed[node]), BROKEN, "the pod on {node}");
    }
    assert!(c.unschedulable(second).await, "{second} was uncordoned");

    // The policy's undo, not the journal's: the old template back, then the nodes the run
    // changed, in order, each given a pod of it again (the first one cordoned for it, the
    // second one still), uncordoned; the update strategy restored last.
    let out = c
        .cutover(&["rollback", NAME, "--allow-declared", "-o", "json"])
        .await;
    out.expect_code(exit::OK);
    let report = out.json();
    assert_eq!(report["status"], "rolled-back", "{out}");
    assert_eq!(report["rolledBackByPolicy"], true, "{out}");
    assert_eq!(
        shape(&c.daemon_set().await),
        (Some("RollingUpdate".into()), Some(V1.into()))
    );
    c.expect_all_on(V1).await;
    let now = c.pods_by_node().await;
    for (node, pod) in &now {
        assert_eq!(
            revision_of(pod),
            revision_of(&c.before[node]),
            "the pod on {node} is not of the old template's revision"
        );
    }
    assert_eq!(
        state::uid(&now[third]),
        state::uid(&c.before[third]),
        "the rollback replaced the untouched pod on {third}"
    );
    let ds = format!("patch apps/v1/DaemonSet {}/{NAME}", c.ns());
    let mut expected = vec![ds.clone()];
    expected.extend(node_by_node(c.ns(), &[(first.as_str(), &failed[first])]));
    expected.extend([
        format!("delete v1/Pod {}/{}", c.ns(), failed[second].name_any()),
        format!("uncordon v1/Node {second}"),
        ds,
    ]);
    assert_eq!(changed(&out), expected, "{out}");
    // The failed revision stays failed, now rolled back; nothing else was written.
    assert_eq!(c.history().await, ["failed"]);

    c.env.finish().await.expect("cleanup");
}
