//! Tier 2: bundled policies and test guests run by the `cutover` binary against the in-process
//! simulator (`cutover run --sim`), on virtual time, with scenario faults. No control plane.

use std::path::{Path, PathBuf};

use cutover_tests::{Cutover, Output};
use serde_json::Value;

/// Exit codes of docs/cli.md.
const POLICY_FAILED: i32 = 1;
const BAD_INPUT: i32 = 2;

/// A kubeconfig that does not exist: `--sim` never reads it.
const NO_KUBECONFIG: &str = "/nonexistent/cutover-sim-runs/kubeconfig";

fn repo_file(path: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
        .display()
        .to_string()
}

/// A test guest built by tests/build.rs from tests/guests/.
fn guest(name: &str) -> String {
    let path = PathBuf::from(env!("CUTOVER_TEST_GUESTS")).join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "test guest {} was not built",
        path.display()
    );
    path.display().to_string()
}

async fn cutover(args: &[&str]) -> Output {
    Cutover::run(args, Path::new(NO_KUBECONFIG)).await
}

/// Writes a scenario into a temporary directory that lives as long as the returned guard.
fn scenario(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("scenario.yaml");
    std::fs::write(&path, text).expect("writing the scenario");
    (dir, path.display().to_string())
}

/// A Deployment `web` in namespace shop of `replicas` pods running `image`, plus `extra` YAML
/// (more objects, then top-level keys).
fn web(replicas: u32, image: &str, extra_objects: &str, rest: &str) -> String {
    format!(
        r#"nodes: 3
objects:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: web, namespace: shop}}
    spec:
      replicas: {replicas}
      selector: {{matchLabels: {{app: web}}}}
      template:
        metadata: {{labels: {{app: web}}}}
        spec:
          containers: [{{name: web, image: "{image}"}}]
{extra_objects}
{rest}
"#
    )
}

fn changed(output: &Output) -> Vec<String> {
    output.json()["changed"]
        .as_array()
        .expect("`changed` is a list")
        .iter()
        .map(|c| c.as_str().expect("changes are strings").to_string())
        .collect()
}

/// `drain` of node-1 on examples/scenarios/drain.yaml, with `extra` flags.
async fn drain_node_1(extra: &[&str]) -> Output {
    let drain = repo_file("examples/scenarios/drain.yaml");
    let mut args = vec![
        "run",
        "drain",
        "--sim",
        drain.as_str(),
        "--set",
        "node=node-1",
        "--allow-declared",
    ];
    args.extend_from_slice(extra);
    cutover(&args).await
}

#[tokio::test]
async fn drain_on_the_drain_scenario_evicts_the_web_pods_of_the_node_only() {
    let out = drain_node_1(&["-o", "json"]).await;
    out.expect_code(0);
    assert!(
        out.stderr
            .lines()
            .next()
            .is_some_and(|l| l.starts_with("Target: simulator (scenario ")
                && l.contains("drain.yaml, seed 7")),
        "the target comes first\n{out}"
    );
    let changed = changed(&out);
    assert_eq!(changed[0], "cordon v1/Node node-1", "{out}");
    let evicted: Vec<&String> = changed.iter().filter(|c| c.starts_with("evict ")).collect();
    // 6 web replicas spread over 3 nodes: 2 on node-1; the DaemonSet's agent pod is skipped.
    assert_eq!(evicted.len(), 2, "{out}");
    assert!(
        evicted
            .iter()
            .all(|c| c.starts_with("evict v1/Pod shop/web-")),
        "{out}"
    );
    assert_eq!(changed.len(), 3, "{out}");
    assert!(out.json()["simulatedMs"].as_u64().is_some(), "{out}");
}

/// A dry run lists what it would change under its own heading, never as "Changed", and
/// leaves the node schedulable. Breaks if the operator could read a dry run as done.
#[tokio::test]
async fn a_dry_run_says_what_it_would_change() {
    let out = drain_node_1(&["--dry-run"]).await;
    out.expect_code(0);
    assert!(
        out.stdout.contains("Would change (dry run) (")
            && out.stdout.contains("cordon v1/Node node-1"),
        "{out}"
    );
    assert!(!out.stdout.contains("Changed ("), "{out}");
}

#[tokio::test]
async fn a_drain_blocked_by_a_budget_fails_at_its_timeout_in_virtual_time() {
    let pdb = "  - {apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: web-budget, namespace: shop}, \
               spec: {minAvailable: 6, selector: {matchLabels: {app: web}}}}";
    let (_dir, path) = scenario(&web(6, "nginx:1.27", pdb, ""));
    let out = cutover(&[
        "run",
        "drain",
        "--sim",
        &path,
        "--set",
        "node=node-1",
        "--set",
        "timeout=30s",
        "--allow-declared",
        "-o",
        "json",
    ])
    .await;
    out.expect_error(POLICY_FAILED, &["web-budget", "disruption budget"]);
    let simulated = out.json()["simulatedMs"].as_u64().expect("simulatedMs");
    assert!(
        (30_000..60_000).contains(&simulated),
        "gave up after its 30 s timeout of simulated time, not {simulated} ms\n{out}"
    );
}

#[tokio::test]
async fn a_restart_into_a_crash_loop_fails_fast() {
    let faults = "faults:\n  images: {\"example.com/web:2\": crashloop}";
    let (_dir, path) = scenario(&web(3, "example.com/web:2", "", faults));
    let out = cutover(&[
        "run",
        "restart",
        "--sim",
        &path,
        "-n",
        "shop",
        "--set",
        "name=web",
        "--allow-declared",
        "-o",
        "json",
    ])
    .await;
    out.expect_error(POLICY_FAILED, &["CrashLoopBackOff"]);
    let simulated = out.json()["simulatedMs"].as_u64().expect("simulatedMs");
    assert!(
        simulated < 60_000,
        "a crash loop fails the wait at once, not at the 5m timeout: {simulated} ms\n{out}"
    );
}

#[tokio::test]
async fn a_restart_fails_with_the_servers_error_when_every_patch_fails() {
    let faults = "faults:\n  api: [{verb: patch, kind: Deployment, status: 500, rate: 1.0}]";
    let (_dir, path) = scenario(&web(2, "nginx:1.27", "", faults));
    let out = cutover(&[
        "run",
        "restart",
        "--sim",
        &path,
        "-n",
        "shop",
        "--set",
        "name=web",
        "--allow-declared",
    ])
    .await;
    out.expect_error(
        POLICY_FAILED,
        &["Internal error occurred", "deployment shop/web"],
    );
}

#[tokio::test]
async fn a_thirty_minute_sleep_takes_thirty_simulated_minutes() {
    let out = cutover(&[
        "run",
        &guest("sleeper"),
        "--sim",
        "--set",
        "ms=1800000",
        "--timeout",
        "1h",
        "-o",
        "json",
    ])
    .await;
    out.expect_code(0);
    let json = out.json();
    assert_eq!(json["summary"], "slept 1800000 ms", "{out}");
    let simulated = json["simulatedMs"].as_u64().expect("simulatedMs");
    assert!(simulated >= 1_800_000, "{simulated} ms\n{out}");
}

#[tokio::test]
async fn the_human_summary_shows_the_simulated_time() {
    let out = cutover(&["run", &guest("sleeper"), "--sim", "--set", "ms=90000"]).await;
    out.expect_code(0);
    assert!(
        out.stdout
            .starts_with("Target: simulator (built-in scenario: 3 Ready nodes, seed 0)"),
        "{out}"
    );
    assert!(out.stdout.contains("Simulated time: 1m30s"), "{out}");
}

#[tokio::test]
async fn a_bad_scenario_is_refused_with_one_line_naming_file_and_field() {
    let (_dir, path) = scenario("seed: 1\nfaults:\n  images: {web: sometimes}\n");
    let out = cutover(&["run", "drain", "--sim", &path, "--set", "node=node-1"]).await;
    out.expect_error(
        BAD_INPUT,
        &["scenario.yaml", "faults.images.web", "sometimes"],
    );

    let (_dir, path) = scenario("nodez: 3\n");
    let out = cutover(&["run", "drain", "--sim", &path, "--set", "node=node-1"]).await;
    out.expect_error(BAD_INPUT, &["scenario.yaml", "nodez"]);

    let out = cutover(&[
        "run",
        "drain",
        "--sim",
        "/nonexistent/scenario.yaml",
        "--set",
        "node=n",
    ])
    .await;
    out.expect_error(BAD_INPUT, &["/nonexistent/scenario.yaml"]);
}

#[tokio::test]
async fn the_same_seed_changes_the_same_objects() {
    let drain = repo_file("examples/scenarios/drain.yaml");
    let args = [
        "run",
        "drain",
        "--sim",
        &drain,
        "--set",
        "node=node-2",
        "--allow-declared",
        "-o",
        "json",
    ];
    let first = cutover(&args).await;
    first.expect_code(0);
    let second = cutover(&args).await;
    second.expect_code(0);
    let (a, b) = (changed(&first), changed(&second));
    assert!(a.len() > 1, "{first}");
    assert_eq!(a, b);
    assert_eq!(
        first.json()["simulatedMs"],
        second.json()["simulatedMs"],
        "and in the same simulated time"
    );
}

#[tokio::test]
async fn api_faults_at_a_rate_repeat_with_the_seed() {
    // 50% of Deployment patches fail with 409: the host's retries make a run succeed or fail,
    // but the same seed always gives the same run.
    let faults =
        "seed: 3\nfaults:\n  api: [{verb: patch, kind: Deployment, status: 409, rate: 0.5}]";
    let (_dir, path) = scenario(&web(2, "nginx:1.27", "", faults));
    let args = [
        "run",
        "restart",
        "--sim",
        &path,
        "-n",
        "shop",
        "--set",
        "name=web",
        "--allow-declared",
        "-o",
        "json",
    ];
    let first = cutover(&args).await;
    let second = cutover(&args).await;
    assert_eq!(first.code, second.code, "{first}\n{second}");
    // Everything but the wall time repeats.
    let strip = |mut v: Value| {
        if let Some(o) = v.as_object_mut() {
            o.remove("wallMs");
        }
        v
    };
    assert_eq!(strip(first.json()), strip(second.json()));
}

/// Never a silent simulator: with no cluster configured and no `--sim`, a run is refused with
/// exit 4 and a hint, and nothing runs. (It would break if `cutover run` fell back to the
/// simulator, or failed with a less helpful line.)
#[tokio::test]
async fn without_any_cluster_configured_the_run_is_refused_with_a_hint() {
    assert!(
        !Cutover::test_home().join(".kube/config").exists(),
        "the test HOME has no kubeconfig"
    );
    // An empty $KUBECONFIG counts as unset, as for kubectl.
    let out = Cutover::run(
        &[
            "run",
            &guest("sleeper"),
            "--set",
            "ms=1000",
            "--allow-declared",
        ],
        Path::new(""),
    )
    .await;
    out.expect_error(4, &["no cluster is configured", "--sim"]);
    assert!(
        !out.stdout.contains("Target:") && !out.stdout.contains("Running"),
        "nothing may run\n{out}"
    );
    // With --sim it runs, on the built-in scenario.
    let out = Cutover::run(
        &["run", &guest("sleeper"), "--set", "ms=1000", "--sim"],
        Path::new(""),
    )
    .await;
    out.expect_code(0);
    assert!(
        out.stdout
            .starts_with("Target: simulator (built-in scenario: 3 Ready nodes"),
        "{out}"
    );
}

/// A delete that finds its object already gone succeeds and is not a change: the report lists
/// the apply and the one delete that removed something. Breaks if "not found" is recorded as a
/// deletion (the report would name a change the run never made) or fails the call.
#[tokio::test]
async fn a_delete_of_what_is_already_gone_is_not_a_change() {
    let module = guest("delete_twice");
    let out = cutover(&["run", &module, "--sim", "--allow-declared", "-o", "json"]).await;
    out.expect_code(0);
    assert_eq!(
        changed(&out),
        [
            "apply v1/ConfigMap default/doomed",
            "delete v1/ConfigMap default/doomed"
        ],
        "{out}"
    );
}
