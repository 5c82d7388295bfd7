//! A policy in a second language: examples/policies/resize-py (Python, componentize-py) and its
//! Rust twin examples/policies/resize, through the same WIT world, on the same scenarios
//! (examples/policies/resize/scenarios) under `cutover test`: the same manifest, every
//! scenario's expectations met by both, with the same results. No control plane: the
//! scenarios run on the simulator.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cutover::manifest::{Manifest, ManifestError};
use cutover_tests::cutover::NO_KUBECONFIG;
use cutover_tests::examples::{python_resize, repo_root, rust_example};
use cutover_tests::{Cutover, Output};
use serde_json::{Value, json};

/// The folder of the scenarios both policies must pass, and its scenario files.
fn scenarios() -> (PathBuf, Vec<PathBuf>) {
    let dir = repo_root().join("examples/policies/resize/scenarios");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) => panic!("reading {}: {e}", dir.display()),
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    // A success, a rollout that times out, one that crash-loops, a missing Deployment.
    assert!(files.len() >= 4, "scenarios missing in {}", dir.display());
    (dir, files)
}

/// How long `cutover test` may take: the first run of the Python policy compiles 18 MB of
/// WebAssembly, which takes minutes of a busy 2-core machine in a debug build of the host
/// (BENCHMARKS.md); this only stops a hung binary.
const TEST_RUN_LIMIT: Duration = Duration::from_secs(15 * 60);

/// `cutover test <policy> <the scenarios>`: every scenario's expectations checked (outcome,
/// error, summary, objects at the end, the ordered calls, revision statuses).
async fn cutover_test(policy: &Path, scenarios: &Path) -> Output {
    let policy = policy.display().to_string();
    let scenarios = scenarios.display().to_string();
    let args = ["test", policy.as_str(), scenarios.as_str(), "-o", "json"];
    Cutover::run_within(&args, Path::new(NO_KUBECONFIG), TEST_RUN_LIMIT).await
}

/// Per scenario, what the two policies must agree on: the file, passed or not, the failed
/// expectations, and the simulated time the run took.
fn results(report: &Value) -> Vec<Value> {
    report["scenarios"]
        .as_array()
        .expect("`scenarios` is a list")
        .iter()
        .map(|case| {
            let scenario = case["scenario"].as_str().expect("a scenario file");
            let file = Path::new(scenario).file_name().expect("a file name");
            json!({
                "scenario": file.to_string_lossy(),
                "status": case["status"],
                "failures": case["failures"],
                "error": case["error"],
                "simulatedMs": case["simulatedMs"],
            })
        })
        .collect()
}

/// The manifest `cutover inspect` reads from a policy, without running it.
async fn inspect(policy: &Path) -> Value {
    let policy = policy.display().to_string();
    let output = Cutover::sim(&["inspect", policy.as_str(), "-o", "json"]).await;
    output.expect_code(cutover_tests::exit::OK);
    output.json()["manifest"].clone()
}

#[tokio::test]
async fn both_declare_the_same_manifest() {
    let python = python_resize();
    let rust = rust_example("resize");
    let (mut python, mut rust) = (inspect(&python).await, inspect(&rust).await);
    assert_eq!(python["name"], "resize-py");
    assert_eq!(rust["name"], "resize");
    // Everything but the name is the same: parameters, defaults, capabilities, release template.
    python["name"] = Value::Null;
    rust["name"] = Value::Null;
    assert_eq!(python, rust);
}

#[tokio::test]
async fn both_pass_every_scenario_alike() {
    let python = python_resize();
    let rust = rust_example("resize");
    let (dir, files) = scenarios();
    // One after the other: the first run of each policy compiles it (the Python component is
    // 18 MB), and two compiles at once would only slow each other down.
    let rust_run = cutover_test(&rust, &dir).await;
    let python_run = cutover_test(&python, &dir).await;
    for run in [&rust_run, &python_run] {
        run.expect_code(cutover_tests::exit::OK);
        let report = run.json();
        assert_eq!(
            report["passed"],
            files.len(),
            "every scenario passes\n{run}"
        );
        assert_eq!(report["failed"], 0, "{run}");
        assert_eq!(report["errors"], 0, "{run}");
    }
    let (rust_results, python_results) = (results(&rust_run.json()), results(&python_run.json()));
    assert_eq!(rust_results.len(), files.len(), "{rust_run}");
    assert_eq!(
        python_results, rust_results,
        "the Python policy and its Rust twin differ\n{python_run}\n{rust_run}"
    );
}

/// The step of scripts/build-python-policy that gives a component its manifest, against the
/// host's reader: a top-level section is read; a second one, or a malformed one, is refused.
#[test]
fn an_appended_top_level_manifest_section_is_read_and_a_bad_one_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let empty_component = dir.path().join("empty.wasm");
    std::fs::write(&empty_component, b"\0asm\x0d\0\x01\0").expect("writing the component");
    let manifest = repo_root().join("examples/policies/resize-py/manifest.json");
    let once = dir.path().join("once.wasm");
    let twice = dir.path().join("twice.wasm");
    append_section(&empty_component, &manifest, &once);
    append_section(&once, &manifest, &twice);

    let read = |path: &Path| Manifest::read(&std::fs::read(path).expect("reading the component"));
    let expected: Manifest =
        serde_json::from_slice(&std::fs::read(&manifest).expect("manifest.json"))
            .expect("manifest.json is a manifest");
    assert_eq!(
        read(&once).expect("the appended manifest is read"),
        expected
    );
    match read(&twice) {
        Err(ManifestError::Invalid(why)) => {
            assert!(why.contains("2 `cutover-manifest` sections"), "{why}")
        }
        other => panic!("two sections: {other:?}"),
    }

    // A malformed manifest is appended as any bytes are, and refused by the host, clearly.
    let malformed = dir.path().join("malformed.json");
    std::fs::write(&malformed, b"{\"manifestVersion\": 1,").expect("writing the data");
    let bad = dir.path().join("bad.wasm");
    append_section(&empty_component, &malformed, &bad);
    let why = read(&bad)
        .expect_err("a malformed manifest is refused")
        .to_string();
    assert!(why.contains("is not a valid manifest"), "{why}");

    // A core module is not a component: the script refuses it rather than writing a policy.
    let core = dir.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").expect("writing the module");
    let refused = append_command(&core, &manifest, &dir.path().join("out.wasm"))
        .output()
        .expect("running python3");
    assert!(
        !refused.status.success(),
        "a core module was given a section"
    );
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("not a WebAssembly component"), "{why}");
}

fn append_command(component: &Path, data: &Path, out: &Path) -> std::process::Command {
    let mut command = std::process::Command::new("python3");
    command
        .arg(repo_root().join("scripts/lib/append_custom_section.py"))
        .arg(component)
        .arg("cutover-manifest")
        .arg(data)
        .arg(out);
    command
}

fn append_section(component: &Path, data: &Path, out: &Path) {
    let output = append_command(component, data, out)
        .output()
        .expect("running python3");
    assert!(
        output.status.success(),
        "append_custom_section.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
