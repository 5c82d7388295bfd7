//! End to end, as a new policy author goes: `cutover new` outside the repository, a release
//! build for wasm32-wasip2, its unit tests, `cutover test` on its own scenarios, and
//! `cutover run` of the result against the real control plane.

use std::path::{Path, PathBuf};
use std::process::Command;

use cutover_tests::env::SETTLE;
use cutover_tests::manifests::{self, READY_IMAGE};
use cutover_tests::{Cutover, TestEnv, wait};
use k8s_openapi::api::apps::v1::Deployment;

/// The target dir the scaffolded crates share, so that their dependencies build once.
fn authoring_target() -> PathBuf {
    let profile = Cutover::test_home()
        .parent()
        .map(Path::to_path_buf)
        .expect("the test home lives in the profile dir");
    profile
        .parent()
        .map(|target| target.join("authoring"))
        .expect("the profile dir lives in the target dir")
}

/// `cargo <args>` in `dir` as an author would run it (nothing of the outer build leaks in).
fn cargo(dir: &Path, args: &[&str]) {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.args(args).current_dir(dir);
    if std::env::var_os("CUTOVER_OFFLINE").is_some() {
        command.arg("--offline");
    }
    for var in wasm_build::LEAKY_VARS {
        command.env_remove(var);
    }
    command.env("CARGO_TARGET_DIR", authoring_target());
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("starting cargo in {}: {e}", dir.display()));
    assert!(
        status.success(),
        "cargo {args:?} failed in {}",
        dir.display()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_policy_builds_tests_and_runs() {
    // Outside the repository, as a new author's crate would be.
    let outside = tempfile::tempdir().expect("a temporary directory");
    let dir = outside.path().join("scale-web");
    let dir_arg = dir.display().to_string();
    let new = Cutover::sim(&["new", "scale-web", "--path", &dir_arg]).await;
    new.expect_code(0);
    assert!(
        new.stdout
            .contains("cutover test target/wasm32-wasip2/release/scale_web.wasm scenarios/"),
        "{new}"
    );
    for file in [
        "Cargo.toml",
        "src/lib.rs",
        "scenarios/scales.yaml",
        "README.md",
        "Cargo.lock",
    ] {
        assert!(dir.join(file).is_file(), "no {file}\n{new}");
    }

    cargo(&dir, &["build", "--release", "--target", "wasm32-wasip2"]);
    cargo(&dir, &["test"]);
    let wasm = authoring_target().join("wasm32-wasip2/release/scale_web.wasm");
    let wasm_arg = wasm.display().to_string();
    let scenarios = dir.join("scenarios").display().to_string();

    let tested = Cutover::sim(&["test", &wasm_arg, &scenarios]).await;
    tested.expect_code(0);
    assert!(
        tested.stdout.contains("2 scenarios: 2 passed, 0 failed"),
        "{tested}"
    );

    // Changing the policy without its scenarios makes `cutover test` fail, with the diff.
    let broken = dir.join("scenarios/scales.yaml");
    let text = std::fs::read_to_string(&broken).expect("read the scenario");
    std::fs::write(
        &broken,
        text.replace("spec.replicas: 4", "spec.replicas: 5"),
    )
    .expect("write the scenario");
    let junit = outside.path().join("results.xml");
    let junit_arg = junit.display().to_string();
    let failed = Cutover::sim(&["test", &wasm_arg, &scenarios, "--junit", &junit_arg]).await;
    failed.expect_error(1, &["1 of 2 scenarios failed"]);
    assert!(
        failed.stdout.contains("spec.replicas: expected 5, got 4"),
        "{failed}"
    );
    let xml = std::fs::read_to_string(&junit).expect("the JUnit file");
    assert!(
        xml.contains(r#"tests="2" failures="1" errors="0""#),
        "{xml}"
    );

    // And the same module on the real control plane.
    let env = TestEnv::start("authoring", &["a"])
        .await
        .expect("test environment");
    let deployments = env.api::<Deployment>();
    env.create(&manifests::deployment(env.group(), "web", 1, READY_IMAGE))
        .await
        .expect("create Deployment");
    wait::deployment_rolled_out(&deployments, "web", 1, SETTLE)
        .await
        .expect("web available");
    let ran = env
        .cutover(&[
            "run",
            &wasm_arg,
            "-n",
            env.namespace(),
            "--set",
            "deployment=web",
            "--set",
            "replicas=3",
            "--set",
            "timeout=60s",
            "--allow-declared",
            "-o",
            "json",
        ])
        .await;
    ran.expect_code(0);
    assert_eq!(ran.json()["summary"], "deployment web scaled to 3", "{ran}");
    let web = deployments.get("web").await.expect("read web");
    let ready = web.status.and_then(|s| s.ready_replicas);
    assert_eq!(
        ready,
        Some(3),
        "the run ended before the rollout did\n{ran}"
    );
    env.finish().await.expect("clean up");
}

#[tokio::test]
async fn cutover_new_refuses_bad_names_and_occupied_folders() {
    let outside = tempfile::tempdir().expect("a temporary directory");
    let at = |name: &str| outside.path().join(name).display().to_string();
    let bad = Cutover::sim(&["new", "Bad_Name", "--path", &at("bad")]).await;
    bad.expect_error(2, &["cannot name a policy \"Bad_Name\""]);
    assert!(
        !outside.path().join("bad").exists(),
        "a refused name created files"
    );

    std::fs::create_dir_all(outside.path().join("taken")).expect("mkdir");
    std::fs::write(outside.path().join("taken/keep.txt"), "mine").expect("write");
    let taken = Cutover::sim(&["new", "taken", "--path", &at("taken")]).await;
    taken.expect_error(2, &["already exists and is not empty"]);
    let kept = std::fs::read_to_string(outside.path().join("taken/keep.txt")).expect("read");
    assert_eq!(kept, "mine");

    let no_sdk = Cutover::sim(&[
        "new",
        "elsewhere",
        "--path",
        &at("elsewhere"),
        "--sdk",
        &at("nope"),
    ])
    .await;
    no_sdk.expect_error(2, &["cannot read the guest SDK"]);
    assert!(
        !outside.path().join("elsewhere").exists(),
        "a refused SDK created files"
    );
}
