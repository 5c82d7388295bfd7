//! The `daemonset-node-by-node` case of the benchmark: calico-node on every one of N simulated
//! nodes, upgraded node by node on virtual time, as `cutover run --sim` runs it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use cutover::capabilities::Grants;
use cutover::checkpoint::CheckpointStore;
use cutover::cluster::Cluster;
use cutover::input_files::InputFile;
use cutover::release::lifecycle::{self, Fresh};
use cutover::release::record::{PolicyRef, Values};
use cutover::release::recorder::Recorder;
use cutover::release::store::ReleaseStore;
use cutover::sandbox::bindings::Invocation;
use cutover::sandbox::cancel::Cancel;
use cutover::sandbox::host::wasi::WasiOptions;
use cutover::sandbox::limits::Limits;
use cutover::sandbox::outcome::Outcome;
use cutover::sandbox::run::Sandbox;
use cutover::sandbox::state::{RunSetup, RunState};
use cutover::source::PolicySource;
use cutover_clock::Clock;
use cutover_sim::Simulator;
use cutover_sim::scenario::{NodeSpec, Scenario};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

use super::{Counted, peak_rss_kib, status_kib};

const NAMESPACE: &str = "kube-system";
const RELEASE: &str = "calico-node";
const OLD_IMAGE: &str = "docker.io/calico/node:v3.26.1";
const NEW_IMAGE: &str = "docker.io/calico/node:v3.27.3";
/// How long a simulated pod takes to become Ready (the Calico scenarios' `startupDelay`).
const STARTUP_DELAY: Duration = Duration::from_secs(5);

/// One measured size.
pub struct Point {
    pub nodes: usize,
    pub max_parallel: u32,
    /// Wall time to load the nodes and the DaemonSet and let its N pods become Ready.
    pub settle: Duration,
    /// The run's virtual time.
    pub simulated: Duration,
    /// The run's wall time.
    pub run: Duration,
    pub requests: u64,
    pub by_kind: BTreeMap<String, u64>,
    pub host_calls: u64,
    pub changed: u64,
    pub start_rss_kib: u64,
    pub settled_peak_kib: u64,
    pub peak_rss_kib: u64,
}

/// calico-node as examples/scenarios/calico.yaml has it (RollingUpdate), running `image`.
fn daemon_set(image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "calico-node", "namespace": NAMESPACE, "labels": {"k8s-app": "calico-node"}},
        "spec": {
            "selector": {"matchLabels": {"k8s-app": "calico-node"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": {"k8s-app": "calico-node"}},
                "spec": {
                    "hostNetwork": true,
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [{"name": "calico-node", "image": image}],
                },
            },
        },
    })
}

/// Measures one size in a fresh simulator on its own virtual clock (a one-thread runtime whose
/// park hook moves the clock, as `cutover run --sim` does).
pub fn measure(
    sandbox: &Sandbox,
    source: &PolicySource,
    nodes: usize,
    max_parallel: u32,
    journal: bool,
) -> Point {
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    assert!(
        reset,
        "cannot reset the peak RSS through /proc/self/clear_refs"
    );
    let start_rss_kib = status_kib("VmRSS:");
    let clock = Clock::virtual_at(SystemTime::now());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_park(clock.park_hook())
        .build()
        .expect("a tokio runtime");
    let mut point = runtime.block_on(run(sandbox, source, nodes, max_parallel, journal, clock));
    point.start_rss_kib = start_rss_kib;
    point.peak_rss_kib = peak_rss_kib();
    point
}

async fn run(
    sandbox: &Sandbox,
    source: &PolicySource,
    nodes: usize,
    max_parallel: u32,
    journal: bool,
    clock: Clock,
) -> Point {
    let started = Instant::now();
    let sim = Simulator::with_clock(11, clock.clone());
    let scenario = Scenario {
        seed: 11,
        startup_delay: STARTUP_DELAY,
        nodes: (0..nodes)
            .map(|i| NodeSpec {
                name: format!("node-{i:05}"),
                labels: BTreeMap::new(),
            })
            .collect(),
        objects: vec![daemon_set(OLD_IMAGE)],
        ..Scenario::default()
    };
    scenario.install(&sim).expect("the scenario loads");
    let controllers = sim.start_controllers(scenario.controller_config());
    settle(&sim, &clock, nodes).await;
    let settle_wall = started.elapsed();
    let settled_peak_kib = peak_rss_kib();
    let old_pods = pods(&sim).await;

    let count = Arc::new(AtomicU64::new(0));
    let kinds = Arc::new(Mutex::new(BTreeMap::new()));
    let service = Counted {
        inner: sim.service(),
        count: count.clone(),
        kinds: kinds.clone(),
    };
    let client = kube::Client::new(service, NAMESPACE);
    let manifest = &source.manifest;
    let declared = manifest
        .capabilities()
        .expect("declared capabilities parse");
    let grants = Grants::new(&declared, &declared, NAMESPACE);
    // A node takes about 10 s of virtual time: the run's deadline is far beyond.
    let limits = Limits {
        timeout: Duration::from_secs(7 * 24 * 3600),
        ..Limits::default()
    };
    let prepared = sandbox.prepare(source).expect("the policy prepares");
    let invocation = Invocation {
        release: RELEASE.into(),
        namespace: NAMESPACE.into(),
        params: cutover::params::resolve(manifest, &[], &[format!("max-parallel={max_parallel}")])
            .expect("the parameters resolve")
            .to_string(),
        dry_run: false,
        revision: 0,
        attempt: 1,
    };
    let recorder = if journal {
        let store = ReleaseStore::new(
            &Cluster::from_client(client.clone(), NAMESPACE.into(), clock.clone()),
            NAMESPACE,
            RELEASE,
        );
        let fresh = Fresh {
            policy: PolicyRef {
                name: manifest.name.clone(),
                version: manifest.version.clone(),
                digest: format!("sha256:{}", source.digest),
                source: manifest.name.clone(),
            },
            values: Values::default(),
            holder: "bench".into(),
            now: SystemTime::now(),
        };
        let stored = lifecycle::begin_run_of(&store, fresh, manifest.rollback_by_policy)
            .await
            .expect("a pending revision");
        Some(Arc::new(Recorder::new(store, stored, None, clock.clone())))
    } else {
        None
    };
    let input = InputFile {
        path: "calico-node.yaml".into(),
        input: 0,
        contents: serde_json::to_vec(&daemon_set(NEW_IMAGE)).expect("JSON"),
    };
    count.store(0, Ordering::Relaxed);
    kinds.lock().expect("the counter's lock").clear();
    let state = RunState::new(RunSetup {
        cluster: Cluster::from_client(client, NAMESPACE.into(), clock.clone()),
        grants,
        limits,
        clock: clock.clone(),
        checkpoint: match &recorder {
            Some(r) => CheckpointStore::for_release(r.clone()),
            None => CheckpointStore::none(),
        },
        release: recorder,
        observer: cutover::report::discard(),
        cancel: Cancel::default(),
        wasi: WasiOptions { random_seed: None },
    })
    .with_inputs(Arc::new(vec![input]));
    let (virtual_start, wall_start) = (clock.now(), Instant::now());
    let report = sandbox.run(&prepared, state, &invocation).await;
    let run = wall_start.elapsed();
    let simulated = clock.now() - virtual_start;
    let requests = count.load(Ordering::Relaxed);
    let by_kind = kinds.lock().expect("the counter's lock").clone();
    match &report.outcome {
        Outcome::Succeeded(summary) => {
            assert_eq!(
                summary,
                &format!(
                    "DaemonSet {NAMESPACE}/calico-node upgraded node by node on {nodes} nodes"
                )
            );
        }
        other => panic!("daemonset-node-by-node on {nodes} nodes did not succeed: {other:?}"),
    }
    check_upgraded(&sim, nodes, &old_pods).await;
    controllers.stop();
    Point {
        nodes,
        max_parallel,
        settle: settle_wall,
        simulated,
        run,
        requests,
        by_kind,
        host_calls: report.stats.calls,
        changed: report.stats.changed.total(),
        start_rss_kib: 0,
        settled_peak_kib,
        peak_rss_kib: 0,
    }
}

/// Lets virtual time pass until the DaemonSet's N pods are Ready.
async fn settle(sim: &Simulator, clock: &Clock, nodes: usize) {
    let api: kube::Api<DaemonSet> = kube::Api::namespaced(sim.client(), NAMESPACE);
    for _ in 0..600 {
        clock.sleep(Duration::from_secs(1)).await;
        let ds = api.get("calico-node").await.expect("the DaemonSet reads");
        let status = ds.status.unwrap_or_default();
        if status.number_ready as usize == nodes
            && status.desired_number_scheduled as usize == nodes
        {
            return;
        }
    }
    panic!("calico-node was not Ready on {nodes} nodes after 10 simulated minutes");
}

async fn pods(sim: &Simulator) -> Vec<Pod> {
    let api: kube::Api<Pod> = kube::Api::namespaced(sim.client(), NAMESPACE);
    api.list(&Default::default())
        .await
        .expect("the pods list")
        .items
}

/// Every node runs one Ready pod of the new image, none of the old pods is left, and no node
/// is cordoned.
async fn check_upgraded(sim: &Simulator, nodes: usize, old: &[Pod]) {
    let now = pods(sim).await;
    assert_eq!(now.len(), nodes, "one pod per node after the run");
    let old_uids: Vec<_> = old.iter().map(|p| p.metadata.uid.clone()).collect();
    let mut on: Vec<&str> = Vec::new();
    for pod in &now {
        let spec = pod.spec.as_ref().expect("a pod spec");
        let image = spec.containers.first().and_then(|c| c.image.as_deref());
        assert_eq!(image, Some(NEW_IMAGE), "the image of the pod");
        assert!(!old_uids.contains(&pod.metadata.uid), "an old pod is left");
        let ready = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        assert!(ready, "a new pod is not Ready");
        on.extend(spec.node_name.as_deref());
    }
    on.sort_unstable();
    on.dedup();
    assert_eq!(on.len(), nodes, "pods on every node");
    let listed: kube::Api<Node> = kube::Api::all(sim.client());
    let listed = listed.list(&Default::default()).await.expect("nodes list");
    let cordoned = listed
        .items
        .iter()
        .filter(|n| n.spec.as_ref().and_then(|s| s.unschedulable) == Some(true))
        .count();
    assert_eq!(cordoned, 0, "nodes left cordoned");
}

/// Prints the table of the measured sizes.
pub fn print(points: &[Point], journal: bool) {
    for p in points {
        eprintln!(
            "  {} nodes, max-parallel {}{}: {} requests:",
            p.nodes,
            p.max_parallel,
            if journal { ", as a release" } else { "" },
            p.requests
        );
        for (kind, n) in &p.by_kind {
            eprintln!("    {n:>7}  {kind}");
        }
    }
    println!(
        "| nodes | max-parallel | settle (wall) | run (simulated) | run (wall) | wall per node | API requests | per node | host calls | changes | RSS before | peak after settle | peak RSS |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for p in points {
        println!(
            "| {} | {} | {:.2} s | {:.0} s | {:.2} s | {:.2} ms | {} | {:.2} | {} | {} | {:.1} MiB | {:.1} MiB | {:.1} MiB |",
            p.nodes,
            p.max_parallel,
            p.settle.as_secs_f64(),
            p.simulated.as_secs_f64(),
            p.run.as_secs_f64(),
            p.run.as_secs_f64() * 1e3 / p.nodes as f64,
            p.requests,
            p.requests as f64 / p.nodes as f64,
            p.host_calls,
            p.changed,
            p.start_rss_kib as f64 / 1024.0,
            p.settled_peak_kib as f64 / 1024.0,
            p.peak_rss_kib as f64 / 1024.0,
        );
    }
}
