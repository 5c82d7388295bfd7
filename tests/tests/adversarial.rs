//! Adversarial guests against the sandbox: a guest that never stops, one that eats memory, one
//! that reaches for what it did not declare, one that panics, and files that are not policies.
//! Each must end with a clear one-line error, its documented exit code, and the cluster untouched.

use std::path::PathBuf;

use cutover_tests::{Cutover, TestNamespace, control_plane};
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;

/// Exit codes of docs/cli.md.
const BAD_INPUT: i32 = 2;
const STOPPED: i32 = 5;

/// A guest built by tests/build.rs from tests/guests/.
fn guest(name: &str) -> String {
    let path =
        PathBuf::from(env!("CUTOVER_TEST_GUESTS")).join(format!("{}.wasm", name.replace('-', "_")));
    assert!(
        path.is_file(),
        "test guest {} was not built",
        path.display()
    );
    path.display().to_string()
}

async fn cutover(args: &[&str]) -> cutover_tests::Output {
    let kubeconfig = control_plane::ensure_up().expect("the local control plane starts");
    Cutover::run(args, &kubeconfig).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_infinite_loop_stops_at_the_deadline() {
    let spin = guest("spin");
    let out = cutover(&["run", &spin, "--allow-declared", "--timeout", "2s"]).await;
    out.expect_error(STOPPED, &["deadline of 2s", "--timeout"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_sleep_cannot_outlive_the_deadline() {
    let sleeper = guest("sleeper");
    let out = cutover(&[
        "run",
        &sleeper,
        "--allow-declared",
        "--timeout",
        "1s",
        "--set",
        "ms=600000",
    ])
    .await;
    out.expect_error(STOPPED, &["deadline of 1s"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_memory_bomb_stops_at_the_cap() {
    let membomb = guest("membomb");
    let out = cutover(&[
        "run",
        &membomb,
        "--allow-declared",
        "--memory-limit",
        "16Mi",
    ])
    .await;
    out.expect_error(
        STOPPED,
        &["past the cap of 16777216 bytes", "--memory-limit"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_is_reported_with_its_message() {
    let panic = guest("panic");
    let out = cutover(&["run", &panic, "--allow-declared"]).await;
    out.expect_error(STOPPED, &["panicked", "boom: deliberate panic"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_outside_the_declaration_is_denied_even_when_granted() {
    let client = control_plane::client().await.expect("client");
    // A namespace the escaping guest tries to delete: it must survive.
    let target = TestNamespace::create(&client, "escape-target")
        .await
        .expect("namespace");
    let escape = guest("escape");
    // `*/*` grants everything, but the policy declared only `cluster/get:v1/Node`: the
    // declaration binds the policy as much as the grant does.
    let out = cutover(&[
        "run",
        &escape,
        "--allow",
        "*/*",
        "--set",
        &format!("target={}", target.name()),
        "-o",
        "json",
    ])
    .await;
    out.expect_code(0);
    let report = out.json();
    let denied = report["denied"].as_array().expect("denied is a list");
    assert!(
        denied.iter().any(|d| d == "cluster/delete:v1/Namespace"),
        "the delete was not reported as denied\n{out}"
    );
    assert!(
        report["summary"]
            .as_str()
            .unwrap_or("")
            .contains("forbidden"),
        "{out}"
    );
    assert!(
        out.stderr.contains("denied: cluster/delete:v1/Namespace"),
        "the denial is not logged\n{out}"
    );
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let survivor = namespaces
        .get(target.name())
        .await
        .expect("the namespace still exists");
    assert!(
        survivor.metadata.deletion_timestamp.is_none(),
        "the namespace is being deleted"
    );
    target.cleanup().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_of_another_world_is_refused() {
    let wrong = guest("wrong-world");
    let out = cutover(&["run", &wrong, "--allow-declared"]).await;
    out.expect_error(BAD_INPUT, &["not a cutover policy"]);
}

/// A module file past the size bound, and a FIFO named as the module, are refused at once with
/// exit 2. Breaks if the module is read without a bound (a 65 MiB file would be read whole) or
/// opened blocking (a FIFO with no writer would hang the run).
#[tokio::test(flavor = "multi_thread")]
async fn a_huge_module_and_a_fifo_are_refused_without_reading_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let huge = dir.path().join("huge.wasm");
    let file = std::fs::File::create(&huge).expect("create");
    file.set_len(65 << 20).expect("a sparse 65 MiB file");
    let out = cutover(&["inspect", huge.to_str().expect("utf-8 path")]).await;
    out.expect_error(
        BAD_INPUT,
        &["larger than the 64 MiB a policy module may be"],
    );

    let fifo = dir.path().join("fifo.wasm");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let out = cutover(&["run", fifo.to_str().expect("utf-8 path"), "--sim"]).await;
    out.expect_error(BAD_INPUT, &["is not a regular file"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_core_module_and_random_bytes_are_refused() {
    let dir = std::env::temp_dir().join(format!("cutover-adversarial-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let core = dir.join("core.wasm");
    // The smallest core module: magic number and version 1.
    std::fs::write(&core, b"\0asm\x01\0\0\0").expect("write");
    let random = dir.join("random.wasm");
    let noise: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&random, noise).expect("write");

    let out = cutover(&[
        "run",
        core.to_str().expect("utf-8 path"),
        "--allow-declared",
    ])
    .await;
    out.expect_error(BAD_INPUT, &["core WebAssembly module", "wasm32-wasip2"]);
    let out = cutover(&["inspect", random.to_str().expect("utf-8 path")]).await;
    out.expect_error(BAD_INPUT, &["not a WebAssembly file"]);
    let _ = std::fs::remove_dir_all(&dir);
}
