//! Tier 4, on the simulator and on the real control plane: a hostile guest (tests/guests/batch-abuse) against `delete-with`, `wait-all` and `evict-many`: bounds refused before any request, a batch with one pod outside the grants evicting nothing, a uid precondition keeping the object, gigantic timeouts ended by the run's, no pod named that the run may not read, no hostile text printed raw; and the three calls recorded and replayed, a malformed `evict-many` answer refused before any guest code runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cutover_tests::cutover::NO_KUBECONFIG;
use cutover_tests::{
    Cutover, Output, Running, SimServe, TestNamespace, Watch, control_plane, exit, guest,
};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};

/// What `mode=cases` must log, case by case: (operation, input, error kind).
const EXPECTED: &[(&str, &str, &str)] = &[
    ("evict-many", "1001-pods", "invalid"),
    ("evict-many", "concurrency-0", "invalid"),
    ("evict-many", "concurrency-65", "invalid"),
    ("evict-many", "empty-uid", "invalid"),
    ("evict-many", "long-uid", "invalid"),
    ("evict-many", "outside-grants", "forbidden"),
    ("evict-many", "outside-grants-first", "forbidden"),
    ("delete-with", "grace-86401", "invalid"),
    ("delete-with", "empty-uid", "invalid"),
    ("delete-with", "long-uid", "invalid"),
    ("delete-with", "other-uid", "conflict"),
    ("delete-with", "escape-uid", "conflict"),
    ("wait-all", "1001-objects", "invalid"),
    ("wait-all", "ready-more-than-named", "invalid"),
    ("wait-all", "query-without-list", "forbidden"),
    ("wait-all", "query-without-list-unserved", "forbidden"),
    ("wait-all", "query-all-namespaces", "forbidden"),
    ("wait-all", "query-other-namespace", "forbidden"),
    ("wait-all", "escape-labels", "invalid"),
    ("wait-all", "escape-fields", "invalid"),
    // The good use of the three calls, after the abuses: they do reach the cluster.
    ("control", "delete-with", "ok"),
    ("control", "wait-all-gone", "ok"),
    ("control", "wait-all-ready", "ok"),
    ("control", "evict-many", "ok"),
];

/// The guest's per-case log lines: (operation, input) → (kind, message as `{:?}` writes it).
fn cases(out: &Output) -> BTreeMap<(String, String), (String, String)> {
    let mut cases = BTreeMap::new();
    for line in out.stderr.lines() {
        let Some((_, case)) = line.split_once("batch-abuse case ") else {
            continue;
        };
        let (head, message) = case.split_once(" message=").unwrap_or((case, ""));
        let field = |key: &str| {
            head.split_whitespace()
                .find_map(|f| f.strip_prefix(key))
                .unwrap_or_default()
                .to_string()
        };
        cases.insert(
            (field("op="), field("input=")),
            (field("kind="), message.to_string()),
        );
    }
    cases
}

/// The capabilities the guest declares, for namespace `ns`: each granted by name, so that
/// `evict` is granted in `ns` only (`cluster/evict:v1/Pod@<ns>`), `wait` on pods (and on a
/// kind no server serves) without `list`.
fn grants(ns: &str) -> Vec<String> {
    [
        "cluster/evict:v1/Pod",
        "cluster/wait:v1/Pod",
        "cluster/wait:example.com/v1/Widget",
        "cluster/get:v1/ConfigMap",
        "cluster/list:v1/ConfigMap",
        "cluster/wait:v1/ConfigMap",
        "cluster/delete:v1/ConfigMap",
        "cluster/get:v1/Pod",
    ]
    .iter()
    .flat_map(|cap| ["--allow".to_string(), format!("{cap}@{ns}")])
    .chain(["--allow".into(), "cluster/wait:apps/v1/Deployment".into()])
    .collect()
}

/// No character that steers a terminal in either stream: guest and server text escaped.
#[track_caller]
fn assert_clean(out: &Output) {
    let raw: Vec<String> = cutover_tests::text::forbidden(&out.stderr)
        .into_iter()
        .chain(cutover_tests::text::forbidden(&out.stdout))
        .collect();
    assert!(
        raw.is_empty(),
        "hostile text printed raw: {raw:?}\n{}",
        out.abridged()
    );
}

/// A pod that no scheduler places (its node selector matches no node), so that it is deleted
/// at once when evicted; `held`: with a finalizer nobody removes but the test.
fn pod(name: &str, namespace: &str, held: bool) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "finalizers": if held { json!(["cutover.test/hold"]) } else { json!([]) },
        },
        "spec": {
            "nodeSelector": {"cutover.test/nowhere": "true"},
            "containers": [{"name": "c", "image": "example.com/app:1"}],
        },
    }))
    .expect("a pod")
}

fn configmap(name: &str, namespace: &str, labels: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..ObjectMeta::default()
        },
        data: Some([("a".to_string(), "b".to_string())].into()),
        ..ConfigMap::default()
    }
}

/// Where the runs go: `cutover sim serve`, or the real control plane; two namespaces, `a`
/// (the run's) and `b`.
struct Plane {
    kubeconfig: PathBuf,
    client: Client,
    a: String,
    b: String,
    keep: Keep,
}

enum Keep {
    Sim(
        #[allow(dead_code)] SimServe,
        #[allow(dead_code)] tempfile::TempDir,
    ),
    Real(TestNamespace, TestNamespace),
}

impl Plane {
    async fn sim() -> Plane {
        let dir = tempfile::tempdir().expect("scratch dir");
        let sim = SimServe::start(dir.path(), None).await;
        let client = control_plane::client_from(&sim.kubeconfig)
            .await
            .expect("client for the simulator");
        let namespaces: Api<Namespace> = Api::all(client.clone());
        for name in ["ns-a", "ns-b"] {
            let ns = Namespace {
                metadata: ObjectMeta {
                    name: Some(name.into()),
                    ..ObjectMeta::default()
                },
                ..Namespace::default()
            };
            namespaces
                .create(&PostParams::default(), &ns)
                .await
                .expect("namespace");
        }
        Plane {
            kubeconfig: sim.kubeconfig.clone(),
            client,
            a: "ns-a".into(),
            b: "ns-b".into(),
            keep: Keep::Sim(sim, dir),
        }
    }

    async fn real() -> Plane {
        let kubeconfig = control_plane::ensure_up().expect("the local control plane starts");
        let client = control_plane::client().await.expect("client");
        let a = TestNamespace::create(&client, "batch-a")
            .await
            .expect("namespace");
        let b = TestNamespace::create(&client, "batch-b")
            .await
            .expect("namespace");
        Plane {
            kubeconfig,
            client,
            a: a.name().to_string(),
            b: b.name().to_string(),
            keep: Keep::Real(a, b),
        }
    }

    async fn finish(self) {
        if let Keep::Real(a, b) = self.keep {
            a.cleanup().await.expect("cleanup");
            b.cleanup().await.expect("cleanup");
        }
    }

    fn pods(&self, namespace: &str) -> Api<Pod> {
        Api::namespaced(self.client.clone(), namespace)
    }

    fn configmaps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), &self.a)
    }

    /// Creates a pod, waiting out a new namespace's service-account token (the real API
    /// server refuses pods until the token controller has made it: 500, ServerTimeout).
    async fn create_pod(&self, name: &str, namespace: &str, held: bool) -> Pod {
        let manifest = pod(name, namespace, held);
        for _ in 0..60 {
            match self
                .pods(namespace)
                .create(&PostParams::default(), &manifest)
                .await
            {
                Ok(pod) => return pod,
                Err(kube::Error::Api(status)) if status.reason == "ServerTimeout" => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => panic!("creating pod {namespace}/{name}: {e}"),
            }
        }
        panic!("creating pod {namespace}/{name}: no service-account token after 30 s")
    }

    async fn create_configmap(&self, name: &str, labels: &[(&str, &str)]) -> ConfigMap {
        self.configmaps()
            .create(&PostParams::default(), &configmap(name, &self.a, labels))
            .await
            .unwrap_or_else(|e| panic!("creating ConfigMap {name}: {e}"))
    }

    /// `run batch-abuse --set mode=<mode> -o json` in namespace `a`, with `extra` arguments.
    fn args(&self, mode: &str, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "run",
            &guest("batch-abuse"),
            "-n",
            &self.a,
            "--set",
            &format!("mode={mode}"),
            "--set",
            &format!("other={}", self.b),
            "-o",
            "json",
        ]
        .map(String::from)
        .to_vec();
        args.extend(grants(&self.a));
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    }

    /// `cutover run batch-abuse --set mode=<mode>` in namespace `a`, with `extra` arguments.
    async fn run(&self, mode: &str, extra: &[&str]) -> Output {
        let args = self.args(mode, extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Cutover::run(&args, &self.kubeconfig).await
    }

    /// The same run, started and left running.
    fn spawn(&self, mode: &str, extra: &[&str]) -> Running {
        let args = self.args(mode, extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Cutover::spawn(&args, &self.kubeconfig, Watch::default())
    }
}

/// Every abuse of `mode=cases`, and what it must leave: the pods of both namespaces and the
/// ConfigMap `keep` as they were, only `gone` and `evictable` removed by the control calls.
async fn abuses_are_refused(plane: Plane) {
    let pod_a = plane.create_pod("pod-a", &plane.a, false).await;
    let pod_b = plane.create_pod("pod-b", &plane.b, false).await;
    plane.create_pod("evictable", &plane.a, false).await;
    let keep = plane.create_configmap("keep", &[("app", "keep")]).await;
    plane.create_configmap("gone", &[]).await;

    let out = plane.run("cases", &[]).await;

    // The cluster first. Broken by a host that evicted pod-a while it went through a batch
    // whose other pod is outside the grants (or whose size or concurrency is refused), or
    // that deleted `keep` with another uid than its own.
    for (before, namespace) in [(&pod_a, &plane.a), (&pod_b, &plane.b)] {
        let name = before.metadata.name.as_deref().unwrap_or_default();
        let after = plane
            .pods(namespace)
            .get(name)
            .await
            .unwrap_or_else(|e| panic!("pod {namespace}/{name} is gone: {e}\n{out}"));
        assert_eq!(after.metadata.uid, before.metadata.uid, "{out}");
        assert!(
            after.metadata.deletion_timestamp.is_none(),
            "pod {namespace}/{name} is being deleted\n{out}"
        );
    }
    let keep_after = plane
        .configmaps()
        .get("keep")
        .await
        .unwrap_or_else(|e| panic!("ConfigMap keep is gone: {e}\n{out}"));
    assert_eq!(keep_after.metadata.uid, keep.metadata.uid, "{out}");
    assert_eq!(
        plane.configmaps().get_opt("gone").await.expect("get gone"),
        None,
        "the control delete-with left `gone`\n{out}"
    );
    assert_eq!(
        plane
            .pods(&plane.a)
            .get_opt("evictable")
            .await
            .expect("get evictable")
            .map(|p| p.metadata.name),
        None,
        "the control evict-many left `evictable`\n{out}"
    );

    // Then the run, case by case.
    out.expect_code(exit::OK);
    let logged = cases(&out);
    let kinds: BTreeMap<(String, String), String> = logged
        .iter()
        .map(|(k, (kind, _))| (k.clone(), kind.clone()))
        .collect();
    let expected: BTreeMap<(String, String), String> = EXPECTED
        .iter()
        .map(|(op, input, kind)| ((op.to_string(), input.to_string()), kind.to_string()))
        .collect();
    assert_eq!(kinds, expected, "{}", out.abridged());
    // The forbidden batches name the pod outside the grants; the conflict names the uid.
    let message = |op: &str, input: &str| {
        logged
            .get(&(op.to_string(), input.to_string()))
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    };
    for input in ["outside-grants", "outside-grants-first"] {
        let m = message("evict-many", input);
        assert!(
            m.contains(&format!("cluster/evict:v1/Pod@{}", plane.b)),
            "{input}: {m}"
        );
    }
    assert!(
        message("delete-with", "other-uid").contains("00000000-0000-4000-8000-000000000000"),
        "{out}"
    );

    let report = out.json();
    assert_eq!(
        report["summary"], "cases=20 controls=ok,ok,ok,ok",
        "{report}"
    );
    let strings = |key: &str| -> Vec<String> {
        report[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        strings("changed"),
        [
            format!("delete v1/ConfigMap {}/gone", plane.a),
            format!("evict v1/Pod {}/evictable", plane.a),
        ],
        "{report}"
    );
    let mut denied = strings("denied");
    denied.sort();
    let mut expected_denied = vec![
        format!("cluster/evict:v1/Pod@{}", plane.b),
        format!("cluster/evict:v1/Pod@{}", plane.b),
        format!("cluster/list:v1/Pod@{}", plane.a),
        format!("cluster/list:example.com/v1/Widget@{}", plane.a),
        "cluster/wait:v1/ConfigMap".to_string(),
        format!("cluster/wait:v1/ConfigMap@{}", plane.b),
    ];
    expected_denied.sort();
    assert_eq!(denied, expected_denied, "{report}");

    // The hostile uid came back in the server's refusal (kube-apiserver: `the UID in the
    // precondition (...) does not match`; the simulator: `UID in precondition: ...`), and
    // the selectors in the host's: shown escaped, never raw.
    assert_clean(&out);
    assert!(
        out.stderr.contains(r"\u{1b}[2J\u{1b}]0;owned\u{7}\u{202e}"),
        "{}",
        out.abridged()
    );
    assert!(
        out.stderr
            .contains(r"the label selector holds a control or format character (\u{1b})"),
        "{}",
        out.abridged()
    );
    plane.finish().await;
}

#[tokio::test]
async fn batch_abuse_is_refused_on_the_simulator() {
    abuses_are_refused(Plane::sim().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_abuse_is_refused_on_the_real_plane() {
    abuses_are_refused(Plane::real().await).await;
}

/// A scenario file in `dir` holding `objects` (JSON is YAML).
fn scenario(dir: &Path, name: &str, extra: Value, objects: Vec<Value>) -> String {
    let mut scenario = extra;
    scenario["objects"] = Value::Array(objects);
    let path = dir.join(name);
    std::fs::write(&path, scenario.to_string()).expect("writing the scenario");
    path.display().to_string()
}

fn to_value<T: serde::Serialize>(object: &T) -> Value {
    serde_json::to_value(object).expect("serializes")
}

/// The objects of the simulated runs: `keep` and `gone`, and the pods of [`abuses_are_refused`]
/// plus `held`.
fn batch_scenario(dir: &Path) -> String {
    let objects = vec![
        to_value(&configmap("keep", "ns-a", &[("app", "keep")])),
        to_value(&configmap("gone", "ns-a", &[])),
        to_value(&pod("pod-a", "ns-a", false)),
        to_value(&pod("evictable", "ns-a", false)),
        to_value(&pod("held", "ns-a", true)),
        to_value(&pod("pod-b", "ns-b", false)),
    ];
    scenario(dir, "batch.json", json!({}), objects)
}

/// `cutover run batch-abuse --sim <scenario>` in namespace ns-a.
async fn sim_run(scenario: &str, mode: &str, extra: &[&str]) -> Output {
    let module = guest("batch-abuse");
    let mode = format!("mode={mode}");
    let grants = grants("ns-a");
    let mut args = vec![
        "run",
        module.as_str(),
        "--sim",
        scenario,
        "-n",
        "ns-a",
        "--set",
        mode.as_str(),
        "--set",
        "other=ns-b",
    ];
    args.extend(grants.iter().map(String::as_str));
    args.extend_from_slice(extra);
    Cutover::sim(&args).await
}

/// A query that matches 1,001 objects is `invalid`; 1,000 are answered, every one of them.
/// On the simulator the 1,001 ConfigMaps are a scenario file.
#[tokio::test]
async fn a_query_past_1000_objects_is_invalid_on_the_simulator() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut objects: Vec<Value> = (0..1_000)
        .map(|i| {
            to_value(&configmap(
                &format!("c-{i}"),
                "ns-a",
                &[("crowd", "yes"), ("edge", "in")],
            ))
        })
        .collect();
    objects.push(to_value(&configmap("c-1000", "ns-a", &[("crowd", "yes")])));
    let crowd = scenario(dir.path(), "crowd.json", json!({}), objects);
    let out = sim_run(&crowd, "crowd", &["-o", "json"]).await;
    out.expect_code(exit::OK);
    let logged = cases(&out);
    let (kind, message) = &logged[&("wait-all".to_string(), "crowd=yes".to_string())];
    assert_eq!(kind, "invalid", "{}", out.abridged());
    assert!(message.contains("more than 1000 objects"), "{message}");
    assert_eq!(
        logged[&("wait-all".to_string(), "edge=in".to_string())].0,
        "ok"
    );
    assert!(
        out.stderr
            .contains("batch-abuse crowd labels=edge=in objects=1000"),
        "{}",
        out.abridged()
    );
    assert_eq!(out.json()["summary"], "crowd=invalid,ok");
}

/// The same on the real plane, where the 1,001 ConfigMaps are 1,001 requests (made 32 at a
/// time) and the watch lists them in pages.
#[tokio::test(flavor = "multi_thread")]
async fn a_query_past_1000_objects_is_invalid_on_the_real_plane() {
    use futures::StreamExt as _;
    let plane = Plane::real().await;
    let api = plane.configmaps();
    let made: Vec<Result<ConfigMap, kube::Error>> = futures::stream::iter(0..1_001)
        .map(|i| {
            let api = api.clone();
            let labels: &[(&str, &str)] = if i < 1_000 {
                &[("crowd", "yes"), ("edge", "in")]
            } else {
                &[("crowd", "yes")]
            };
            let cm = configmap(&format!("c-{i}"), &plane.a, labels);
            async move { api.create(&PostParams::default(), &cm).await }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    assert!(made.iter().all(Result::is_ok), "creating the ConfigMaps");
    let out = plane.run("crowd", &[]).await;
    out.expect_code(exit::OK);
    let logged = cases(&out);
    let (kind, message) = &logged[&("wait-all".to_string(), "crowd=yes".to_string())];
    assert_eq!(kind, "invalid", "{}", out.abridged());
    assert!(message.contains("more than 1000 objects"), "{message}");
    assert!(
        out.stderr
            .contains("batch-abuse crowd labels=edge=in objects=1000"),
        "{}",
        out.abridged()
    );
    assert_eq!(out.json()["summary"], "crowd=invalid,ok");
    plane.finish().await;
}

/// A timeout of `u64::MAX` ms ends with the run's `--timeout`: on virtual time, at 30 s.
#[tokio::test]
async fn gigantic_timeouts_end_with_the_run_on_the_simulator() {
    let dir = tempfile::tempdir().expect("temp dir");
    let batch = batch_scenario(dir.path());
    for (mode, call) in [
        (
            "hang-wait-all",
            "wait-all v1/ConfigMap keep: timed out after 30s",
        ),
        (
            "hang-evict-many",
            "evict v1/Pod ns-a/held: timed out after 30s",
        ),
    ] {
        let out = sim_run(&batch, mode, &["--timeout", "30s", "-o", "json"]).await;
        out.expect_code(exit::STOPPED);
        let report = out.json();
        let simulated = report["simulatedMs"].as_u64().unwrap_or(u64::MAX);
        assert!(
            (30_000..=31_000).contains(&simulated),
            "{mode}: the run took {simulated} ms of virtual time\n{out}"
        );
        assert!(
            report["error"]
                .as_str()
                .unwrap_or_default()
                .contains("deadline of 30s"),
            "{report}"
        );
        // The call was bounded by the run, not by its own timeout: it says so itself.
        assert!(out.stderr.contains(call), "{mode}\n{out}");
        assert_clean(&out);
        if mode == "hang-evict-many" {
            // The eviction happened; the pod outlived the wait: still a change.
            assert_eq!(
                report["changed"],
                json!(["evict v1/Pod ns-a/held"]),
                "{report}"
            );
        }
    }
}

/// The same on the real plane, in wall time: `--timeout 5s` ends each run well before a
/// `u64::MAX` ms timeout would.
#[tokio::test(flavor = "multi_thread")]
async fn gigantic_timeouts_end_with_the_run_on_the_real_plane() {
    let plane = Plane::real().await;
    plane.create_configmap("keep", &[("app", "keep")]).await;
    let held = plane.create_pod("held", &plane.a, true).await;
    let mut outs = Vec::new();
    for mode in ["hang-wait-all", "hang-evict-many"] {
        outs.push((mode, plane.run(mode, &["--timeout", "5s"]).await));
    }
    // The held pod was evicted (it is terminating) and only its finalizer kept it: release it
    // before any assertion, so that its namespace can go.
    let after = plane.pods(&plane.a).get("held").await.expect("held");
    let release = json!({"metadata": {"finalizers": null}});
    plane
        .pods(&plane.a)
        .patch("held", &PatchParams::default(), &Patch::Merge(&release))
        .await
        .expect("removing the finalizer");
    for (mode, out) in &outs {
        out.expect_code(exit::STOPPED);
        assert!(
            out.elapsed < Duration::from_secs(5 + 25),
            "{mode}: the run took {:?}\n{out}",
            out.elapsed
        );
        assert!(
            out.json()["error"]
                .as_str()
                .unwrap_or_default()
                .contains("deadline of 5s"),
            "{out}"
        );
        assert_clean(out);
    }
    assert_eq!(after.metadata.uid, held.metadata.uid);
    assert!(
        after.metadata.deletion_timestamp.is_some(),
        "the held pod was not evicted\n{}",
        outs[1].1
    );
    plane.finish().await;
}

/// Ctrl-C while `evict-many` waits for a pod it evicted (a finalizer holds it): the run is
/// cancelled, and the eviction the server accepted is still a change of the run and an
/// `evict` of its own in the report. Broken by a host that records a batch's evictions only
/// when the whole call answers: the cancelled call then leaves no trace of the pod.
#[tokio::test(flavor = "multi_thread")]
async fn an_eviction_cut_short_by_ctrl_c_is_still_recorded() {
    let plane = Plane::real().await;
    let held = plane.create_pod("held", &plane.a, true).await;
    // `-vv`: the host's debug line says when the eviction is accepted and the wait begins.
    let running = plane.spawn("hang-evict-many", &["--timeout", "10m", "-vv"]);
    let accepted = running
        .wait_for_output("evict-many: eviction accepted", Duration::from_secs(120))
        .await;
    let pods = plane.pods(&plane.a);
    let evicted = cutover_tests::wait::until(
        &pods,
        "held",
        Duration::from_secs(120),
        "the held pod evicted (terminating)",
        |pod| match pod.and_then(|p| p.metadata.deletion_timestamp.as_ref()) {
            Some(_) => Ok(()),
            None => Err("not terminating".into()),
        },
    )
    .await;
    let sent = running.signal("INT");
    let finished = running.finish().await;
    let release = json!({"metadata": {"finalizers": null}});
    pods.patch("held", &PatchParams::default(), &Patch::Merge(&release))
        .await
        .expect("removing the finalizer");
    let out = &finished.output;
    let evicted = match evicted {
        Ok(pod) => pod,
        Err(e) => panic!("{e}\n{out}"),
    };
    assert_eq!(
        evicted.and_then(|pod| pod.metadata.uid),
        held.metadata.uid,
        "the pod evicted is the one created"
    );
    assert!(
        accepted.is_some(),
        "the host never said the eviction was accepted\n{out}"
    );
    assert!(sent.is_some(), "the run ended before the signal\n{out}");
    out.expect_code(exit::SIGINT);
    let report = out.json();
    assert_eq!(report["status"], "cancelled", "{report}");
    let target = format!("v1/Pod {}/held", plane.a);
    assert_eq!(
        report["changed"],
        json!([format!("evict {target}")]),
        "{report}"
    );
    assert!(
        out.stderr.contains(&format!(
            "evict {target}: evicted; the call ended before the pod was gone"
        )),
        "the pod's own record\n{out}"
    );
    assert_clean(out);
    plane.finish().await;
}

/// A budget refuses the eviction for the first 20 s of the call's 30; once accepted, the
/// finalizer holds the pod. The call still answers for the pod within its 30 s (a `timeout`
/// of its own), and the eviction is reported as the change it is. Broken by a wait that gets
/// the whole 30 s again after the eviction: the call then times out as a whole, with no
/// answer per pod and the eviction missing from the report.
#[tokio::test]
async fn an_eviction_accepted_late_still_answers_per_pod() {
    let dir = tempfile::tempdir().expect("temp dir");
    let late = |name: &str, held: bool| {
        let mut pod = to_value(&pod(name, "ns-a", held));
        pod["metadata"]["labels"] = json!({"app": "late"});
        // Placed and made Ready by the simulator's kubelet, after the start-up delay.
        pod["spec"]
            .as_object_mut()
            .map(|spec| spec.remove("nodeSelector"));
        pod
    };
    let budget = json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "late", "namespace": "ns-a"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "late"}}},
    });
    let path = scenario(
        dir.path(),
        "late.json",
        json!({"startupDelay": "20s"}),
        vec![late("late-1", true), late("late-2", false), budget],
    );
    let out = sim_run(
        &path,
        "late-evict-many",
        &["--set", "held=late-1", "--timeout", "120s", "-o", "json"],
    )
    .await;
    out.expect_code(exit::OK);
    let report = out.json();
    assert_eq!(report["summary"], "evict-many=ok pods=timeout", "{out}");
    assert_eq!(
        report["changed"],
        json!(["evict v1/Pod ns-a/late-1"]),
        "{report}"
    );
    let simulated = report["simulatedMs"].as_u64().unwrap_or(u64::MAX);
    assert!(
        simulated <= 31_000,
        "the call's 30 s took {simulated} ms\n{out}"
    );
}

/// `wait-all` on a Deployment whose pods the run may read and one whose pods it may not
/// (namespace ns-b, crash-looping): the abort never names the ns-b pod to the policy, in
/// either order, as `wait` alone does not; the operator sees it.
#[tokio::test]
async fn wait_all_names_no_pod_the_run_may_not_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let deployment = |name: &str, namespace: &str, image: &str| {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "secret-sidecar", "image": image}]},
                },
            },
        })
    };
    let path = scenario(
        dir.path(),
        "detail.json",
        json!({}),
        vec![
            deployment("web-a", "ns-a", "example.com/web:1"),
            deployment("web-b", "ns-b", "example.com/crashloop:1"),
        ],
    );
    let out = sim_run(&path, "pod-detail", &["-o", "json"]).await;
    out.expect_code(exit::OK);
    let logged = cases(&out);
    for input in ["wait", "wait-all-mine-first", "wait-all-theirs-first"] {
        let (kind, message) = &logged[&("detail".to_string(), input.to_string())];
        assert_eq!(kind, "aborted", "{input}: {message}");
        assert!(
            message.contains("CrashLoopBackOff") && message.contains("to see which"),
            "{input}: {message}"
        );
        assert!(
            !message.contains("web-b-") && !message.contains("secret-sidecar"),
            "{input} names a pod of ns-b to the policy: {message}"
        );
    }
    // The operator is told which pod, on every call's line.
    let told = out
        .stderr
        .lines()
        .filter(|l| l.contains("[for the operator: pod ns-b/web-b-"))
        .count();
    assert_eq!(told, 3, "{out}");
}

/// `cutover test --replay` of `tape`, where no cluster can be reached.
async fn replay(tape: &Path) -> Output {
    let tape = tape.display().to_string();
    Cutover::run(&["test", "--replay", &tape], Path::new(NO_KUBECONFIG)).await
}

/// Records the control calls on the simulator (`--record`); returns the tape and its JSON.
async fn record(dir: &Path) -> (PathBuf, Value) {
    let batch = batch_scenario(dir);
    let tape = dir.join("run.json");
    let record = tape.display().to_string();
    let out = sim_run(&batch, "controls", &["--record", &record]).await;
    out.expect_code(exit::OK);
    let text = std::fs::read_to_string(&tape).expect("the recording is written");
    let recorded: Value = serde_json::from_str(&text).expect("the recording is JSON");
    (tape, recorded)
}

/// The tape with `cluster.evict-many`'s answer replaced by `answer`, written into `dir`.
fn with_evict_many_answer(dir: &Path, recorded: &Value, answer: Value) -> (PathBuf, usize) {
    let mut edited = recorded.clone();
    let calls = edited["calls"].as_array_mut().expect("calls");
    let index = calls
        .iter()
        .position(|c| c["call"] == "cluster.evict-many")
        .expect("the evict-many call");
    calls[index]["answer"] = answer;
    let path = dir.join(format!("edited-{}.json", cutover_tests::random_suffix(6)));
    std::fs::write(&path, edited.to_string()).expect("write");
    (path, index + 1)
}

#[tokio::test]
async fn the_three_calls_replay_as_recorded_and_a_malformed_answer_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (tape, recorded) = record(dir.path()).await;
    let calls: Vec<&str> = recorded["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .filter_map(|c| c["call"].as_str())
        .collect();
    assert_eq!(
        calls,
        [
            "cluster.get",
            "cluster.delete-with",
            "cluster.wait-all",
            "cluster.wait-all",
            "cluster.evict-many",
        ],
        "{recorded:#}"
    );
    let evict_many = &recorded["calls"][4];
    assert_eq!(
        evict_many["args"]["pods"],
        json!([{"namespace": "ns-a", "name": "evictable", "uid": null}])
    );
    assert_eq!(evict_many["answer"], json!({"ok": [{"ok": null}]}));

    let same = replay(&tape).await;
    same.expect_code(exit::OK);
    assert!(
        same.stdout.contains(
            "Replayed 5 of 5 calls as recorded; the policy succeeded: controls=ok,ok,ok,ok"
        ),
        "{same}"
    );

    for answer in [
        json!({"ok": [{"ok": 1}]}),
        json!({"ok": {"ok": null}}),
        json!({"ok": [{"error": {"kind": "exploded", "message": "x"}}]}),
        json!({"ok": [{"error": {"kind": "timeout"}}]}),
        json!({"ok": [null]}),
    ] {
        let (path, index) = with_evict_many_answer(dir.path(), &recorded, answer.clone());
        let out = replay(&path).await;
        out.expect_error(
            exit::BAD_INPUT,
            &[&format!("call {index} (cluster.evict-many)")],
        );
        // Refused before the policy's first instruction: it logs as it starts.
        assert!(
            !out.stdout.contains("batch-abuse starts")
                && !out.stderr.contains("batch-abuse starts"),
            "{answer}: the policy ran\n{out}"
        );
    }
}

/// `evict-many` answers once per pod, in order: a tape answering one pod with three outcomes
/// (or none) is one no host could have recorded, and is refused as the malformed ones are,
/// before the policy runs.
#[tokio::test]
async fn an_evict_many_answer_for_other_pods_than_asked_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, recorded) = record(dir.path()).await;
    for answer in [
        json!({"ok": [{"ok": null}, {"ok": null}, {"ok": null}]}),
        json!({"ok": []}),
    ] {
        let (path, index) = with_evict_many_answer(dir.path(), &recorded, answer);
        replay(&path).await.expect_error(
            exit::BAD_INPUT,
            &[&format!("call {index} (cluster.evict-many)")],
        );
    }
}
