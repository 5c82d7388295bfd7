//! End to end: `cutover run --record` on the real control plane and on the simulator, and
//! the recording replayed offline (`--replay`) with no cluster to reach: as recorded, with
//! other parameters, with another policy, and from tapes that are broken or tampered with.

use std::path::{Path, PathBuf};

use cutover_tests::cutover::NO_KUBECONFIG;
use cutover_tests::env::SETTLE;
use cutover_tests::manifests::{self, READY_IMAGE};
use cutover_tests::{Cutover, Output, TestEnv, exit, wait};
use k8s_openapi::api::apps::v1::Deployment;
use serde_json::Value;

/// Replays `tape` (with `extra` arguments) where no cluster can be reached: the kubeconfig
/// named does not exist, so a replay that reached for one would fail.
async fn replay(tape: &Path, extra: &[&str]) -> Output {
    let tape = tape.display().to_string();
    let mut args = vec!["test", "--replay", tape.as_str()];
    args.extend_from_slice(extra);
    Cutover::run(&args, Path::new(NO_KUBECONFIG)).await
}

fn read_tape(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("the recording is written");
    serde_json::from_str(&text).expect("the recording is JSON")
}

/// The functions a tape holds, in order.
fn functions(tape: &Value) -> Vec<String> {
    tape["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| c["call"].as_str().expect("call").to_string())
        .collect()
}

/// Records `cutover run drain` of node a on the real control plane (one pod of Deployment
/// `web` on it), then replays it offline: as recorded, for another node, and as `restart`.
#[tokio::test(flavor = "multi_thread")]
async fn a_drain_recorded_on_the_control_plane_replays_offline() {
    let env = TestEnv::start("record-drain", &["a", "b"])
        .await
        .expect("test environment");
    let (node_a, node_b) = (env.node("a"), env.node("b"));
    env.cordon("b", true)
        .await
        .expect("cordon b while web is scheduled");
    env.create(&manifests::deployment(env.group(), "web", 1, READY_IMAGE))
        .await
        .expect("create Deployment web");
    wait::deployment_rolled_out(&env.api::<Deployment>(), "web", 1, SETTLE)
        .await
        .expect("web available on node a");
    env.cordon("b", false).await.expect("uncordon b");

    let dir = tempfile::tempdir().expect("temp dir");
    let tape = dir.path().join("drain.json");
    let node = format!("node={node_a}");
    let record = tape.display().to_string();
    env.cutover(&[
        "run",
        "drain",
        "-n",
        env.namespace(),
        "--set",
        &node,
        "--set",
        "timeout=60s",
        "--allow-declared",
        "--record",
        &record,
    ])
    .await
    .expect_code(exit::OK);

    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&tape).expect("stat").permissions().mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "the recording may hold Secrets: mode 0600"
    );
    let recorded = read_tape(&tape);
    assert_eq!(recorded["format"], "cutover.dev/recording.v1");
    assert_eq!(recorded["policy"]["name"], "drain");
    assert_eq!(recorded["invocation"]["params"]["node"], node_a.as_str());
    assert_eq!(recorded["outcome"]["status"], "succeeded", "{recorded:#}");
    let calls = functions(&recorded);
    for expected in ["cluster.cordon", "cluster.list", "cluster.evict-many"] {
        assert!(
            calls.iter().any(|c| c == expected),
            "{expected} in {calls:?}"
        );
    }
    // The list's answer is what the API server said: the pod on node a.
    let list = recorded["calls"]
        .as_array()
        .and_then(|calls| calls.iter().find(|c| c["call"] == "cluster.list"))
        .expect("the list call");
    let pods = list["answer"]["ok"].as_array().expect("the pods listed");
    assert!(
        pods.iter()
            .any(|p| p["spec"]["nodeName"] == node_a.as_str()),
        "{list:#}"
    );

    // Offline, as recorded: every call answered from the tape, the same summary.
    let same = replay(&tape, &[]).await;
    same.expect_code(exit::OK);
    assert!(
        same.stdout.contains(&format!(
            "Replayed {} of {} calls as recorded",
            calls.len(),
            calls.len()
        )),
        "{same}"
    );
    assert!(same.stdout.contains("succeeded: node"), "{same}");

    // Another node: the cordon, call 3 (after now and deadline), is not the recorded one.
    let other = format!("node={node_b}");
    let moved = replay(&tape, &["--set", &other]).await;
    moved.expect_error(
        exit::POLICY_FAILED,
        &["diverged at call 3 of", "cluster.cordon", "other arguments"],
    );
    assert!(
        moved.stdout.contains(&format!("-  \"node\": \"{node_a}\"")),
        "{moved}"
    );
    assert!(
        moved.stdout.contains(&format!("+  \"node\": \"{node_b}\"")),
        "{moved}"
    );

    // Another policy: restart takes other parameters and fails before its first call.
    let restart = replay(&tape, &["restart"]).await;
    restart.expect_error(
        exit::POLICY_FAILED,
        &["diverged at call 1 of", "runtime.now"],
    );
    assert!(
        restart.stdout.contains("is not the one recorded"),
        "{restart}"
    );

    env.finish().await.expect("cleanup");
}

/// Records a run on the simulator into `dir/name`; returns the tape's path.
async fn record_on_sim(dir: &Path, name: &str, args: &[&str]) -> (PathBuf, Output) {
    let tape = dir.join(name);
    let record = tape.display().to_string();
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--allow-declared", "--record", &record]);
    let out = Cutover::sim(&all).await;
    (tape, out)
}

#[tokio::test]
async fn a_simulated_drain_replays_and_an_edited_one_does_not() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/scenarios/drain.yaml")
        .display()
        .to_string();
    let (tape, out) = record_on_sim(
        dir.path(),
        "sim.json",
        &["drain", "--sim", &scenario, "--set", "node=node-1"],
    )
    .await;
    out.expect_code(exit::OK);
    assert!(out.stdout.contains("Recorded "), "{out}");
    let recorded = read_tape(&tape);
    assert_eq!(recorded["server"], "simulator");
    assert_eq!(recorded["randomSeed"], 7);
    replay(&tape, &[]).await.expect_code(exit::OK);

    // A recorded answer changed: the policy sees no web pods on the node and evicts none, so
    // its calls end early: named as the first recorded call it did not make.
    let mut edited = recorded.clone();
    let calls = edited["calls"].as_array_mut().expect("calls");
    let list = calls
        .iter_mut()
        .find(|c| c["call"] == "cluster.list")
        .expect("the list call");
    let pods = list["answer"]["ok"].as_array_mut().expect("pods");
    let before = pods.len();
    pods.retain(|p| {
        !p["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .starts_with("web-")
    });
    assert!(pods.len() < before, "the scenario puts web pods on node-1");
    let edited_path = dir.path().join("edited.json");
    std::fs::write(&edited_path, edited.to_string()).expect("write");
    let out = replay(&edited_path, &[]).await;
    out.expect_error(
        exit::POLICY_FAILED,
        &["diverged at call", "the policy ended before calling"],
    );
}

#[tokio::test]
async fn a_failed_run_is_recorded_and_replays_as_failed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (tape, out) = record_on_sim(
        dir.path(),
        "failed.json",
        &["drain", "--sim", "--set", "node=no-such-node"],
    )
    .await;
    out.expect_code(exit::POLICY_FAILED);
    let recorded = read_tape(&tape);
    assert_eq!(recorded["outcome"]["status"], "failed", "{recorded:#}");
    assert_eq!(recorded["outcome"]["kind"], "not-found", "{recorded:#}");
    let out = replay(&tape, &[]).await;
    out.expect_code(exit::OK);
    assert!(
        out.stdout
            .contains("as recorded; the policy failed (not-found)"),
        "{out}"
    );

    // The outcome edited: every call matches, but the policy does not end as the tape says.
    let mut edited = recorded.clone();
    edited["outcome"] = serde_json::json!({"status": "succeeded", "summary": "drained"});
    let edited_path = dir.path().join("edited.json");
    std::fs::write(&edited_path, edited.to_string()).expect("write");
    replay(&edited_path, &[])
        .await
        .expect_error(exit::POLICY_FAILED, &["in how it ended", "not-found"]);
}

#[tokio::test]
async fn broken_and_tampered_tapes_are_bad_input() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (tape, out) = record_on_sim(
        dir.path(),
        "good.json",
        &["drain", "--sim", "--set", "node=node-1"],
    )
    .await;
    out.expect_code(exit::OK);
    let good = read_tape(&tape);
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path
    };

    let cut = std::fs::read_to_string(&tape).expect("read");
    let half = write("half.json", cut[..cut.len() / 2].to_string());
    replay(&half, &[])
        .await
        .expect_error(exit::BAD_INPUT, &["is not a cutover recording"]);

    let mut later = good.clone();
    later["format"] = "cutover.dev/recording.v9".into();
    let later = write("later.json", later.to_string());
    replay(&later, &[])
        .await
        .expect_error(exit::BAD_INPUT, &["recording.v9", "recording.v1"]);

    let mut tampered = good.clone();
    tampered["calls"][2]["answer"] = serde_json::json!({"ok": "yes"});
    let tampered = write("tampered.json", tampered.to_string());
    replay(&tampered, &[])
        .await
        .expect_error(exit::BAD_INPUT, &["call 3", "cluster.cordon"]);

    let mut unknown = good.clone();
    unknown["calls"][0]["call"] = "cluster.exec".into();
    let unknown = write("unknown.json", unknown.to_string());
    replay(&unknown, &[])
        .await
        .expect_error(exit::BAD_INPUT, &["cluster.exec"]);

    replay(&dir.path().join("missing.json"), &[])
        .await
        .expect_error(exit::BAD_INPUT, &["cannot read the recording"]);
}

#[tokio::test]
async fn a_record_path_that_cannot_be_written_is_refused_before_the_run() {
    let out = Cutover::sim(&[
        "run",
        "drain",
        "--sim",
        "--set",
        "node=node-1",
        "--allow-declared",
        "--record",
        "/nonexistent/dir/run.json",
    ])
    .await;
    out.expect_error(exit::BAD_INPUT, &["--record", "no directory"]);
    assert!(!out.stdout.contains("Running drain"), "{out}");
}
