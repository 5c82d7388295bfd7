//! The simulator at scale: load N Ready nodes, then run the `visit-nodes` test guest (list every
//! node, cordon and uncordon each) through the host library exactly as `cutover run` does, and
//! report the load time, the run time, the API requests the run made and the peak memory.
//!
//! ```sh
//! cargo bench -p cutover-tests --bench sim_nodes            # 100, 1,000 and 10,000 nodes
//! cargo bench -p cutover-tests --bench sim_nodes -- 1000    # chosen sizes only
//! cargo bench -p cutover-tests --bench sim_nodes -- 1000 --journal   # as a release: the undo
//!                                                                    # journal written per change
//! cargo bench -p cutover-tests --bench sim_nodes -- --calico          # daemonset-node-by-node:
//!                     # 100, 300 and 1,000 nodes, max-parallel 1 and 10 (`--max-parallel 10`: one)
//! ```
//!
//! `--calico` runs the bundled `daemonset-node-by-node` instead ([`calico`]): calico-node on
//! every node, upgraded node by node on virtual time; `--journal` runs it as a release too.
//!
//! Figures and what they mean: BENCHMARKS.md. Each size runs in a fresh simulator; the peak
//! RSS (VmHWM) is reset before each size, so it is the process's peak during that size's load
//! and run: the simulator and its objects plus the engine, the compiled component and the runtime.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use cutover::capabilities::Grants;
use cutover::checkpoint::CheckpointStore;
use cutover::cluster::Cluster;
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
use cutover::source::{Origin, PolicySource};
use cutover_clock::Clock;
use cutover_sim::{ControllerConfig, Simulator, kinds};
use k8s_openapi::api::core::v1::Node;
use serde_json::json;

#[path = "sim_nodes/calico.rs"]
mod calico;

/// Counts the requests that pass through to the inner service, by method and path (a named
/// node or pod reads `{name}`; a watch is marked).
#[derive(Clone)]
struct Counted<S> {
    inner: S,
    count: Arc<AtomicU64>,
    kinds: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl<S, B> tower::Service<http::Request<B>> for Counted<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> S::Future {
        self.count.fetch_add(1, Ordering::Relaxed);
        let path = named(req.uri().path());
        let watch = req
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|kv| kv == "watch=true" || kv == "watch=1"));
        *self
            .kinds
            .lock()
            .expect("the counter's lock")
            .entry(format!(
                "{} {path}{}",
                req.method(),
                if watch { " (watch)" } else { "" }
            ))
            .or_default() += 1;
        self.inner.call(req)
    }
}

/// The path with the name of a node or a pod as `{name}`: `/api/v1/nodes/{name}/status`,
/// `/api/v1/namespaces/kube-system/pods/{name}`.
fn named(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').collect();
    let name_at = match parts.as_slice() {
        ["", "api", "v1", "nodes", _, ..] => Some(4),
        ["", "api", "v1", "namespaces", _, "pods", _, ..] => Some(6),
        _ => None,
    };
    match name_at {
        Some(i) => {
            let mut parts = parts;
            parts[i] = "{name}";
            parts.join("/")
        }
        None => path.to_string(),
    }
}

/// One measured size.
struct Point {
    nodes: usize,
    load: Duration,
    run: Duration,
    requests: u64,
    host_calls: u64,
    changed: u64,
    start_rss_kib: u64,
    loaded_peak_kib: u64,
    peak_rss_kib: u64,
}

/// A `/proc/self/status` figure in KiB (`VmHWM:` the peak, `VmRSS:` the current).
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

fn node(i: usize) -> serde_json::Value {
    let name = format!("node-{i:05}");
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": { "kubernetes.io/hostname": name },
        },
        "spec": {},
        "status": {
            "conditions": [{ "type": "Ready", "status": "True", "reason": "KubeletReady" }],
            "addresses": [{ "type": "InternalIP", "address": format!("10.0.{}.{}", i / 250, i % 250 + 1) }],
            "capacity": { "cpu": "4", "memory": "8Gi", "pods": "110" },
            "allocatable": { "cpu": "4", "memory": "8Gi", "pods": "110" },
        },
    })
}

async fn measure(sandbox: &Sandbox, source: &PolicySource, nodes: usize, journal: bool) -> Point {
    // Reset the peak (VmHWM) to the current RSS, so that the peak printed is this size's alone
    // (the engine, the compiled component and the runtime included), not an earlier size's or
    // the component's compilation.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    assert!(
        reset,
        "cannot reset the peak RSS through /proc/self/clear_refs"
    );
    let start_rss_kib = status_kib("VmRSS:");
    let sim = Simulator::new(nodes as u64);
    let kind = kinds::find("", "v1", "nodes").expect("nodes are served");
    let started = Instant::now();
    for i in 0..nodes {
        sim.store()
            .create_with_status(kind, "", node(i))
            .expect("a node loads");
    }
    let controllers = sim.start_controllers(ControllerConfig::default());
    let load = started.elapsed();
    let loaded_peak_kib = peak_rss_kib();

    let count = Arc::new(AtomicU64::new(0));
    let kinds = Arc::new(Mutex::new(BTreeMap::new()));
    let service = Counted {
        inner: sim.service(),
        count: count.clone(),
        kinds: kinds.clone(),
    };
    let client = kube::Client::new(service, "default");
    let manifest = &source.manifest;
    let declared = manifest
        .capabilities()
        .expect("declared capabilities parse");
    let grants = Grants::new(&declared, &declared, "default");
    let limits = Limits {
        timeout: Duration::from_secs(600),
        ..Limits::default()
    };
    let prepared = sandbox.prepare(source).expect("visit-nodes prepares");
    let invocation = Invocation {
        release: "visit-nodes".into(),
        namespace: "default".into(),
        params: cutover::params::resolve(manifest, &[], &[])
            .expect("no parameters to resolve")
            .to_string(),
        dry_run: false,
        revision: 0,
        attempt: 1,
    };
    let clock = Clock::tokio();
    // As a release: a pending revision written first (as `cutover run` does; not counted),
    // then the journal entry of every change written before it (counted).
    let recorder = if journal {
        let store = ReleaseStore::new(
            &Cluster::from_client(client.clone(), "default".into(), clock.clone()),
            "default",
            "visit-nodes",
        );
        let fresh = Fresh {
            policy: PolicyRef {
                name: manifest.name.clone(),
                version: manifest.version.clone(),
                digest: format!("sha256:{}", source.digest),
                source: "visit-nodes".into(),
            },
            values: Values::default(),
            holder: "bench".into(),
            now: std::time::SystemTime::now(),
        };
        let stored = lifecycle::begin_run(&store, fresh)
            .await
            .expect("a pending revision");
        Some(Arc::new(Recorder::new(store, stored, None, clock.clone())))
    } else {
        None
    };
    count.store(0, Ordering::Relaxed);
    kinds.lock().expect("the counter's lock").clear();
    let state = RunState::new(RunSetup {
        cluster: Cluster::from_client(client, "default".into(), clock.clone()),
        grants,
        limits,
        clock,
        checkpoint: match &recorder {
            Some(r) => CheckpointStore::for_release(r.clone()),
            None => CheckpointStore::none(),
        },
        release: recorder,
        observer: cutover::report::discard(),
        cancel: Cancel::default(),
        wasi: WasiOptions { random_seed: None },
    });
    let started = Instant::now();
    let report = sandbox.run(&prepared, state, &invocation).await;
    let run = started.elapsed();
    let requests = count.load(Ordering::Relaxed);
    let by_kind = kinds.lock().expect("the counter's lock").clone();
    match &report.outcome {
        Outcome::Succeeded(summary) => {
            eprintln!("  {nodes} nodes: {summary}; {requests} requests:");
            for (kind, n) in &by_kind {
                eprintln!("    {n:>6}  {kind}");
            }
        }
        other => panic!("visit-nodes on {nodes} nodes did not succeed: {other:?}"),
    }
    // Every node was cordoned and uncordoned: none is left unschedulable.
    let listed: kube::Api<Node> = kube::Api::all(sim.client());
    let listed = listed.list(&Default::default()).await.expect("nodes list");
    assert_eq!(listed.items.len(), nodes, "nodes listed after the run");
    let cordoned = listed
        .items
        .iter()
        .filter(|n| n.spec.as_ref().and_then(|s| s.unschedulable) == Some(true))
        .count();
    assert_eq!(cordoned, 0, "nodes left cordoned");
    controllers.stop();
    Point {
        nodes,
        load,
        run,
        requests,
        host_calls: report.stats.calls,
        changed: report.stats.changed.total(),
        start_rss_kib,
        loaded_peak_kib,
        peak_rss_kib: peak_rss_kib(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let journal = args.iter().any(|a| a == "--journal");
    let calico = args.iter().any(|a| a == "--calico");
    // `--max-parallel N`: N is not a size.
    let parallel_at = args.iter().position(|a| a == "--max-parallel");
    let max_parallel: Vec<u32> = match parallel_at.and_then(|i| args.get(i + 1)) {
        Some(n) => vec![n.parse().expect("--max-parallel takes a number")],
        None => vec![1, 10],
    };
    let mut sizes: Vec<usize> = args
        .iter()
        .enumerate()
        .filter(|(i, _)| parallel_at.is_none_or(|at| *i != at + 1))
        .filter_map(|(_, a)| a.replace([',', '_'], "").parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = if calico {
            vec![100, 300, 1_000]
        } else {
            vec![100, 1_000, 10_000]
        };
    }
    sizes.sort_unstable();
    if calico {
        return calico_main(&sizes, &max_parallel, journal);
    }

    let guest = PathBuf::from(env!("CUTOVER_TEST_GUESTS")).join("visit_nodes.wasm");
    let bytes = std::fs::read(&guest).expect("the visit-nodes guest is built by tests/build.rs");
    let source = PolicySource::from_bytes(Origin::File(guest), bytes).expect("a policy");
    let cache = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-cache/compiled");
    let sandbox = Sandbox::new(Some(cache)).expect("the engine starts");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    eprintln!(
        "sim_nodes{}: profile {}, {} cores",
        if journal { " (journal)" } else { "" },
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "optimised"
        },
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let points: Vec<Point> = runtime.block_on(async {
        let mut points = Vec::new();
        // Compile (or load from the cache) once before measuring, as a second `cutover run` would.
        let _ = sandbox.prepare(&source).expect("visit-nodes prepares");
        for &n in &sizes {
            points.push(measure(&sandbox, &source, n, journal).await);
        }
        points
    });

    println!(
        "| nodes | load (wall) | run (wall) | per node | API requests | host calls | changes | RSS before | peak after load | peak RSS |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for p in &points {
        println!(
            "| {} | {:.1} ms | {:.1} ms | {:.1} µs | {} | {} | {} | {:.1} MiB | {:.1} MiB | {:.1} MiB |",
            p.nodes,
            p.load.as_secs_f64() * 1e3,
            p.run.as_secs_f64() * 1e3,
            p.run.as_secs_f64() * 1e6 / p.nodes as f64,
            p.requests,
            p.host_calls,
            p.changed,
            p.start_rss_kib as f64 / 1024.0,
            p.loaded_peak_kib as f64 / 1024.0,
            p.peak_rss_kib as f64 / 1024.0,
        );
    }
}

/// `--calico`: `daemonset-node-by-node` at each size and each `max-parallel`.
fn calico_main(sizes: &[usize], max_parallel: &[u32], journal: bool) {
    let source = PolicySource::resolve("daemonset-node-by-node").expect("a bundled policy");
    let cache = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-cache/compiled");
    let sandbox = Sandbox::new(Some(cache)).expect("the engine starts");
    eprintln!(
        "sim_nodes --calico{}: profile {}, {} cores",
        if journal { " (as a release)" } else { "" },
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "optimised"
        },
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    // Compile (or load from the cache) once before measuring, as a second `cutover run` would.
    let _ = sandbox.prepare(&source).expect("the policy prepares");
    let mut points = Vec::new();
    for &parallel in max_parallel {
        for &n in sizes {
            points.push(calico::measure(&sandbox, &source, n, parallel, journal));
        }
    }
    calico::print(&points, journal);
}
