//! End to end: how `cutover run` fails. Each failure has its exit code (2 bad input, 3 refused by
//! capabilities, 4 cluster unreachable or kubeconfig unusable), one `error: ` line on stderr, and
//! leaves the cluster as it was.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cutover_tests::env::SETTLE;
use cutover_tests::manifests::{self, READY_IMAGE};
use cutover_tests::{Cutover, TestEnv, control_plane, state, wait};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;

const BAD_INPUT: i32 = 2;
const REFUSED: i32 = 3;
const UNREACHABLE: i32 = 4;

fn plane() -> PathBuf {
    control_plane::ensure_up().expect("the local control plane starts")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write a scratch file");
    path
}

/// A kubeconfig for a cluster that cannot be there: nothing listens on port 1.
const UNREACHABLE_KUBECONFIG: &str = "\
apiVersion: v1
kind: Config
clusters:
- name: nowhere
  cluster:
    server: https://127.0.0.1:1
    insecure-skip-tls-verify: true
users:
- name: nobody
  user:
    token: not-a-token
contexts:
- name: nowhere
  context: {cluster: nowhere, user: nobody, namespace: default}
current-context: nowhere
";

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_cluster_exits_4() {
    let dir = tempfile::tempdir().expect("scratch dir");
    let kubeconfig = write(dir.path(), "kubeconfig", UNREACHABLE_KUBECONFIG.as_bytes());
    let out = Cutover::run(
        &[
            "run",
            "drain",
            "--set",
            "node=nowhere-a",
            "--allow-declared",
        ],
        &kubeconfig,
    )
    .await;
    out.expect_error(UNREACHABLE, &[]);
    assert!(
        out.elapsed < Duration::from_secs(60),
        "gave up too slowly\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unusable_kubeconfig_flag_exits_4() {
    let dir = tempfile::tempdir().expect("scratch dir");
    let garbage = write(
        dir.path(),
        "kubeconfig",
        b"clusters: [this is: not, a kubeconfig\n",
    );
    let garbage = garbage.to_str().expect("a UTF-8 path");
    // KUBECONFIG names the working plane: the flag must win over it.
    let out = Cutover::run(
        &[
            "run",
            "drain",
            "--set",
            "node=nowhere-a",
            "--allow-declared",
            "--kubeconfig",
            garbage,
        ],
        &plane(),
    )
    .await;
    out.expect_error(UNREACHABLE, &[]);
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_required_parameter_exits_2() {
    let out = Cutover::run(
        &["run", "drain", "-n", "default", "--allow-declared"],
        &plane(),
    )
    .await;
    out.expect_error(BAD_INPUT, &["node"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_parameter_value_exits_2() {
    let out = Cutover::run(
        &[
            "run",
            "drain",
            "-n",
            "default",
            "--set",
            "node=nowhere-a",
            "--set",
            "timeout=forever",
            "--allow-declared",
        ],
        &plane(),
    )
    .await;
    out.expect_error(BAD_INPUT, &["timeout"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_parameter_exits_2_before_touching_the_cluster() {
    let env = TestEnv::start("errors-unknown-param", &["a"])
        .await
        .expect("test environment");
    let node_a = env.node("a");
    let out = env
        .cutover(&[
            "run",
            "drain",
            "-n",
            env.namespace(),
            "--set",
            &format!("node={node_a}"),
            "--set",
            "no-such-param=1",
            "--allow-declared",
        ])
        .await;
    out.expect_error(BAD_INPUT, &["no-such-param"]);
    assert!(
        !state::unschedulable(&env.client, &node_a)
            .await
            .expect("read node a"),
        "the node was cordoned by a run that should have been refused"
    );
    env.finish().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_bundled_policy_exits_2() {
    let out = Cutover::run(
        &["run", "no-such-policy", "-n", "default", "--allow-declared"],
        &plane(),
    )
    .await;
    out.expect_error(BAD_INPUT, &["no-such-policy"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_file_exits_2() {
    let dir = tempfile::tempdir().expect("scratch dir");
    let missing = dir.path().join("no-such-policy.wasm");
    let missing = missing.to_str().expect("a UTF-8 path");
    let out = Cutover::run(
        &["run", missing, "-n", "default", "--allow-declared"],
        &plane(),
    )
    .await;
    out.expect_error(BAD_INPUT, &["no-such-policy.wasm"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn random_bytes_are_not_a_policy() {
    let dir = tempfile::tempdir().expect("scratch dir");
    let garbage = write(dir.path(), "garbage.wasm", &pseudo_random_bytes(4096));
    let garbage = garbage.to_str().expect("a UTF-8 path");

    let out = Cutover::run(
        &["run", garbage, "-n", "default", "--allow-declared"],
        &plane(),
    )
    .await;
    out.expect_error(BAD_INPUT, &[]);
    // `inspect` reads the same file without a cluster and must judge it the same way.
    let out = Cutover::run(&["inspect", garbage], Path::new("/nonexistent/kubeconfig")).await;
    out.expect_error(BAD_INPUT, &[]);
}

/// Bytes that are certainly not WebAssembly (which starts with `\0asm`), from a fixed seed so
/// that a failure reproduces.
fn pseudo_random_bytes(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut bytes: Vec<u8> = (0..len)
        .map(|_| {
            // xorshift64*
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect();
    bytes[0] = 0xff;
    bytes
}

#[tokio::test(flavor = "multi_thread")]
async fn undeclared_capabilities_are_refused_before_anything_runs() {
    let env = TestEnv::start("errors-capabilities", &["a"])
        .await
        .expect("test environment");
    let node_a = env.node("a");
    env.create(&manifests::deployment(env.group(), "web", 1, READY_IMAGE))
        .await
        .expect("create Deployment");
    wait::deployment_rolled_out(&env.api::<Deployment>(), "web", 1, SETTLE)
        .await
        .expect("web available");
    let before = state::pods_of(&env.client, env.namespace(), "web")
        .await
        .expect("list pods");

    // No --allow, no --allow-declared: deny by default.
    let out = env
        .cutover(&[
            "run",
            "drain",
            "-n",
            env.namespace(),
            "--set",
            &format!("node={node_a}"),
            "--set",
            "timeout=30s",
        ])
        .await;
    out.expect_error(REFUSED, &["cluster/"]);

    assert!(
        !state::unschedulable(&env.client, &node_a)
            .await
            .expect("read node a"),
        "the node was cordoned by a refused run"
    );
    let pods = env.api::<Pod>();
    for pod in &before {
        let now = pods
            .get(&pod.metadata.name.clone().unwrap_or_default())
            .await
            .expect("the pod is still there");
        assert_eq!(state::uid(&now), state::uid(pod));
        assert!(!state::terminating(&now), "{}", state::describe_pod(&now));
    }

    env.finish().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parameter_outside_its_schema_exits_2_naming_the_value_and_the_range() {
    let sleeper = cutover_tests::guests::guest("sleeper");
    let out = Cutover::run(
        &[
            "run",
            &sleeper,
            "-n",
            "default",
            "--set",
            "ms=-1",
            "--allow-declared",
        ],
        &plane(),
    )
    .await;
    let line = out.expect_error(BAD_INPUT, &[]);
    assert_eq!(
        line, "error: parameter `ms` must be between 0 and 86400000, not -1",
        "{out}"
    );
    let out = Cutover::run(
        &[
            "run",
            "restart",
            "-n",
            "default",
            "--set",
            "name=web",
            "--set",
            "kind=ReplicaSet",
            "--allow-declared",
        ],
        &plane(),
    )
    .await;
    let line = out.expect_error(BAD_INPUT, &[]);
    assert_eq!(
        line,
        "error: parameter `kind` must be one of Deployment, DaemonSet, StatefulSet, not \"ReplicaSet\"",
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_grant_names_every_missing_capability() {
    let out = Cutover::run(
        &[
            "run",
            "drain",
            "-n",
            "default",
            "--set",
            "node=nowhere-a",
            "--allow",
            "cluster/cordon",
            "--allow",
            "cluster/list:v1/Pod@*",
        ],
        &plane(),
    )
    .await;
    let line = out.expect_error(
        REFUSED,
        &[
            "`cluster/uncordon`, `cluster/evict:v1/Pod`, `cluster/wait:v1/Pod`",
            "which are not granted",
            "--allow 'cluster/uncordon' --allow 'cluster/evict:v1/Pod' --allow 'cluster/wait:v1/Pod'",
        ],
    );
    assert!(!line.contains("`cluster/cordon`"), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_undeclared_call_says_to_declare_it_not_to_grant_it() {
    let escape = cutover_tests::guests::guest("escape");
    // Granted everything; the policy declares only `cluster/get:v1/Node`. The target does not
    // exist, so nothing is at stake if the check ever failed.
    let out = Cutover::run(
        &[
            "run",
            &escape,
            "-n",
            "default",
            "--allow",
            "*/*",
            "--set",
            "target=cutover-no-such-namespace",
            "-o",
            "json",
        ],
        &plane(),
    )
    .await;
    out.expect_code(0);
    let declare = "declare it in the policy's manifest (`capabilities:` of export_policy!)";
    // What the guest was told, which it put in its summary.
    let summary = out.json()["summary"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(summary.contains(declare), "{summary}\n{out}");
    assert!(!summary.contains("grant it with --allow"), "{summary}");
    // And the report's line for the operator.
    let denial = out
        .stderr
        .lines()
        .find(|l| l.contains("denied: cluster/delete:v1/Namespace"))
        .unwrap_or_else(|| panic!("no denial line\n{out}"));
    assert!(denial.contains(declare), "{denial}");
}
