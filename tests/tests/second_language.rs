//! A policy in a second language: examples/policies/resize-py (Python, componentize-py) and its
//! Rust twin examples/policies/resize, through the same WIT world, on the same scenarios
//! (examples/policies/resize/scenarios): the same manifest, and every scenario's expectations met
//! by both, with the same outcome. No control plane: the scenarios run on the simulator.

use std::path::{Path, PathBuf};

use cutover::manifest::{Manifest, ManifestError};
use cutover_tests::examples::{python_resize, repo_root, rust_example};
use cutover_tests::{Cutover, Output};
use serde_json::{Map, Value};

/// The scenarios both policies must pass, sorted by file name.
fn scenarios() -> Vec<PathBuf> {
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
    files
}

fn read_yaml(path: &Path) -> Value {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => panic!("reading {}: {e}", path.display()),
    };
    match serde_saphyr::from_str(&text) {
        Ok(value) => value,
        Err(e) => panic!("{} is not YAML: {e}", path.display()),
    }
}

/// A scalar parameter value as `--set` takes it.
fn set_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(_) | Value::Bool(_) => value.to_string(),
        other => panic!("parameter value {other} is not a scalar"),
    }
}

/// One scenario run as `cutover run --sim` would: the `run` section turned into flags, the
/// scenario without `run` and `expect` written beside them (this `cutover run` refuses the two
/// sections; `cutover test` reads them).
struct Prepared {
    _dir: tempfile::TempDir,
    scenario: String,
    args: Vec<String>,
    expect: Map<String, Value>,
}

fn prepare(path: &Path) -> Prepared {
    let mut scenario = read_yaml(path);
    let object = scenario
        .as_object_mut()
        .unwrap_or_else(|| panic!("{} is not a mapping", path.display()));
    let run = object.remove("run").unwrap_or(Value::Null);
    let expect = match object.remove("expect") {
        Some(Value::Object(expect)) => expect,
        None => Map::new(),
        Some(other) => panic!("{}: expect is {other}, not a mapping", path.display()),
    };
    let mut args = Vec::new();
    for (key, value) in run.as_object().into_iter().flatten() {
        match key.as_str() {
            "namespace" => args.extend(["-n".into(), set_value(value)]),
            "release" => args.extend(["--release".into(), set_value(value)]),
            "timeout" => args.extend(["--timeout".into(), set_value(value)]),
            "memoryLimit" => args.extend(["--memory-limit".into(), set_value(value)]),
            "params" => {
                for (name, value) in value.as_object().expect("run.params is a mapping") {
                    args.extend(["--set".into(), format!("{name}={}", set_value(value))]);
                }
            }
            other => panic!("{}: run.{other} is not read by this test", path.display()),
        }
    }
    args.push("--allow-declared".into());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join(path.file_name().expect("a file name"));
    std::fs::write(&file, scenario.to_string()).expect("writing the scenario");
    Prepared {
        scenario: file.display().to_string(),
        _dir: dir,
        args,
        expect,
    }
}

/// What a run came to, as far as the two policies must agree.
#[derive(Debug, PartialEq)]
struct Outcome {
    exit_code: Option<i32>,
    status: Value,
    error: Value,
    summary: Value,
    release: Value,
    release_status: Value,
    changed: Value,
    simulated_ms: Value,
}

async fn run(policy: &Path, prepared: &Prepared) -> (Output, Outcome) {
    let policy = policy.display().to_string();
    let mut args = vec!["run", policy.as_str(), "--sim", prepared.scenario.as_str()];
    args.extend(prepared.args.iter().map(String::as_str));
    args.extend(["-o", "json"]);
    let output = Cutover::sim(&args).await;
    let report = output.json();
    let outcome = Outcome {
        exit_code: output.code,
        status: report["status"].clone(),
        error: report["error"].clone(),
        summary: report["summary"].clone(),
        release: report["release"].clone(),
        release_status: report["releaseStatus"].clone(),
        changed: report["changed"].clone(),
        simulated_ms: report["simulatedMs"].clone(),
    };
    (output, outcome)
}

/// Checks the expectations a `cutover run -o json` report can show; `objects` and `revisions`
/// need the cluster after the run, which only `cutover test` keeps, and of `calls` the report
/// shows the ones that changed something (`changed`).
fn check(scenario: &Path, expect: &Map<String, Value>, output: &Output, outcome: &Outcome) {
    let what = format!("{} with {}", scenario.display(), output.args[1]);
    let expected_code = expect
        .get("exitCode")
        .map_or(0, |c| c.as_i64().expect("exitCode is a number"));
    assert_eq!(
        outcome.exit_code,
        i32::try_from(expected_code).ok(),
        "{what}: exit code\n{output}"
    );
    if let Some(status) = expect.get("status") {
        assert_eq!(&outcome.status, status, "{what}: status\n{output}");
    }
    if let Some(summary) = expect.get("summary") {
        let summary = summary.as_str().expect("summary is a string");
        let got = outcome.summary.as_str().unwrap_or_default();
        assert!(
            got.contains(summary),
            "{what}: summary {got:?} lacks {summary:?}\n{output}"
        );
    }
    let errors: Vec<&str> = match expect.get("error") {
        None => Vec::new(),
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().map(|e| e.as_str().expect("a string")).collect(),
        Some(other) => panic!("{what}: expect.error is {other}"),
    };
    for part in errors {
        let got = outcome.error.as_str().unwrap_or_default();
        assert!(
            got.contains(part),
            "{what}: error {got:?} lacks {part:?}\n{output}"
        );
    }
    if let Some(status) = expect.get("releaseStatus") {
        assert_eq!(
            &outcome.release_status, status,
            "{what}: release status\n{output}"
        );
    }
    if let Some(calls) = expect.get("calls").and_then(Value::as_array) {
        // A failed call changed nothing, so the changes are the expected calls that succeeded.
        let mut expected = calls.iter();
        for change in outcome.changed.as_array().into_iter().flatten() {
            assert!(
                expected.any(|call| call == change),
                "{what}: change {change} is not among the expected calls, in order\n{output}"
            );
        }
    }
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
async fn both_meet_every_scenario_with_the_same_outcome() {
    let python = python_resize();
    let rust = rust_example("resize");
    for scenario in scenarios() {
        let prepared = prepare(&scenario);
        // One run at a time: the first run of each policy compiles it (the Python component
        // is 18 MB), and two compiles at once would only slow each other down.
        let (rust_output, rust_outcome) = run(&rust, &prepared).await;
        check(&scenario, &prepared.expect, &rust_output, &rust_outcome);
        let (python_output, python_outcome) = run(&python, &prepared).await;
        check(&scenario, &prepared.expect, &python_output, &python_outcome);
        assert_eq!(
            python_outcome,
            rust_outcome,
            "{}: the Python policy and its Rust twin differ\n{python_output}\n{rust_output}",
            scenario.display()
        );
    }
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
