//! End to end: the read-only commands, `cutover policies` and `cutover inspect`, which list and
//! describe the bundled policies without running guest code and without a cluster (a reviewer
//! inspects a policy offline).

use std::path::Path;

use cutover_tests::Cutover;
use serde_json::Value;

/// A kubeconfig that does not exist: these commands must not need one.
fn no_cluster() -> &'static Path {
    Path::new("/nonexistent/cutover-tests/kubeconfig")
}

/// Every JSON object anywhere in `value` (the output's exact nesting is the CLI's business;
/// the tests care that the facts are there).
fn objects(value: &Value) -> Vec<&serde_json::Map<String, Value>> {
    let mut found = Vec::new();
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                found.push(map);
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn policies_lists_the_bundled_ones() {
    let out = Cutover::run(&["policies", "-o", "json"], no_cluster()).await;
    out.expect_code(0);
    let listed = out.json();
    for name in ["drain", "restart", "canary", "blue-green"] {
        assert!(
            objects(&listed)
                .iter()
                .any(|o| o.get("name") == Some(&Value::from(name))),
            "{name} is not listed\n{out}"
        );
    }
    let table = Cutover::run(&["policies"], no_cluster()).await;
    table.expect_code(0);
    assert!(
        table.stdout.contains("drain") && table.stdout.contains("restart"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn inspect_shows_parameters_and_capabilities() {
    let out = Cutover::run(&["inspect", "drain", "-o", "json"], no_cluster()).await;
    out.expect_code(0);
    let manifest = out.json();
    let all = objects(&manifest);
    let node = all
        .iter()
        .find(|o| o.get("name") == Some(&Value::from("node")) && o.contains_key("type"))
        .unwrap_or_else(|| panic!("no `node` parameter\n{out}"));
    assert_eq!(node.get("required"), Some(&Value::Bool(true)), "{out}");
    let capabilities: Vec<&str> = all
        .iter()
        .filter_map(|o| o.get("capabilities")?.as_array())
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    // Drain cordons nodes and evicts pods: both must be declared for a reviewer to see.
    assert!(
        capabilities
            .iter()
            .any(|c| c.contains("cordon") || c.starts_with("cluster/*") || c.starts_with("*/")),
        "{out}"
    );
    assert!(
        capabilities
            .iter()
            .any(|c| c.contains("evict") || c.starts_with("cluster/*") || c.starts_with("*/")),
        "{out}"
    );
}

/// The capabilities `cutover inspect <policy> -o json` shows, in order.
async fn declared(policy: &str) -> Vec<String> {
    let out = Cutover::run(&["inspect", policy, "-o", "json"], no_cluster()).await;
    out.expect_code(0);
    out.json()["manifest"]["capabilities"]
        .as_array()
        .unwrap_or_else(|| panic!("no manifest.capabilities list\n{out}"))
        .iter()
        .map(|c| {
            c.as_str()
                .unwrap_or_else(|| panic!("a capability that is not a string\n{out}"))
                .to_string()
        })
        .collect()
}

// A reviewer reads these lists before granting them: any change to what a bundled policy may
// touch must show up here (and in a review), so they are asserted exactly.

#[tokio::test(flavor = "multi_thread")]
async fn drain_declares_exactly_its_capabilities() {
    assert_eq!(
        declared("drain").await,
        [
            "cluster/cordon",
            "cluster/uncordon",
            "cluster/list:v1/Pod@*",
            "cluster/evict:v1/Pod@*",
            "cluster/wait:v1/Pod@*",
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn restart_declares_exactly_its_capabilities() {
    assert_eq!(
        declared("restart").await,
        [
            "cluster/patch:apps/v1/Deployment@{namespace}",
            "cluster/patch:apps/v1/DaemonSet@{namespace}",
            "cluster/patch:apps/v1/StatefulSet@{namespace}",
            "cluster/wait:apps/v1/Deployment@{namespace}",
            "cluster/wait:apps/v1/DaemonSet@{namespace}",
            "cluster/wait:apps/v1/StatefulSet@{namespace}",
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn inspect_shows_parameter_schemas() {
    let out = Cutover::run(&["inspect", "restart", "-o", "json"], no_cluster()).await;
    out.expect_code(0);
    let params = out.json()["manifest"]["params"].clone();
    let kind = params
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "kind"))
        .cloned()
        .unwrap_or_else(|| panic!("no `kind` parameter\n{out}"));
    assert_eq!(
        kind["enum"],
        serde_json::json!(["Deployment", "DaemonSet", "StatefulSet"]),
        "{out}"
    );
    let table = Cutover::run(&["inspect", "restart"], no_cluster()).await;
    table.expect_code(0);
    assert!(table.stdout.contains("ALLOWED"), "{table}");
    let row = table
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("kind "))
        .unwrap_or_else(|| panic!("no `kind` row\n{table}"));
    assert!(
        row.contains("Deployment | DaemonSet | StatefulSet"),
        "{row}"
    );

    let sleeper = cutover_tests::guests::guest("sleeper");
    let out = Cutover::run(&["inspect", &sleeper, "-o", "json"], no_cluster()).await;
    out.expect_code(0);
    let ms = out.json()["manifest"]["params"][0].clone();
    assert_eq!(
        (ms["minimum"].clone(), ms["maximum"].clone()),
        (0.into(), 86_400_000.into()),
        "{out}"
    );
    let table = Cutover::run(&["inspect", &sleeper], no_cluster()).await;
    assert!(table.stdout.contains("0..86400000"), "{table}");
}

#[tokio::test(flavor = "multi_thread")]
async fn inspect_canary_and_blue_green_show_their_parameters() {
    for (policy, expected) in [
        (
            "canary",
            &[
                "deployment",
                "image",
                "steps",
                "analysis",
                "progress-deadline",
                "probe-endpoints",
            ][..],
        ),
        (
            "blue-green",
            &[
                "deployment",
                "active-service",
                "preview-service",
                "image",
                "preview-replica-count",
                "auto-promotion-enabled",
                "auto-promotion-seconds",
                "pre-promotion-analysis",
                "post-promotion-analysis",
                "scale-down-delay",
                "progress-deadline",
                "probe-endpoints",
            ][..],
        ),
    ] {
        let out = Cutover::run(&["inspect", policy, "-o", "json"], no_cluster()).await;
        out.expect_code(0);
        let params = out.json()["manifest"]["params"].clone();
        let names: Vec<&str> = params
            .as_array()
            .map(|ps| ps.iter().filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(names, expected, "{out}");
        let deadline = params
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "progress-deadline"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(deadline["default"], "10m", "{out}");
        let capabilities = out.json()["manifest"]["capabilities"].clone();
        assert!(
            capabilities
                .as_array()
                .is_some_and(|cs| cs.iter().any(|c| c == "probe/*:{probe-endpoints}")),
            "analysis reaches the endpoints the operator names: {out}"
        );
    }
    let table = Cutover::run(&["inspect", "canary"], no_cluster()).await;
    table.expect_code(0);
    assert!(table.stdout.contains("steps"), "{table}");
}

/// `cutover inspect canary | head -1`: a standard output whose reader is gone (its read end
/// closed before the binary starts, so every write fails with EPIPE) is no panic and no
/// failure, and nothing is written to standard error about it.
#[tokio::test]
async fn a_closed_standard_output_is_not_a_crash() {
    for args in [
        &["inspect", "canary"][..],
        &["policies"][..],
        &[
            "run",
            "drain",
            "--sim",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../examples/scenarios/drain.yaml"
            ),
            "--set",
            "node=node-1",
            "--allow-declared",
        ][..],
    ] {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        let mut command = Cutover::command(args, no_cluster());
        command.stdout(writer).stderr(std::process::Stdio::piped());
        let out = command
            .spawn()
            .expect("starting cutover")
            .wait_with_output()
            .await
            .expect("waiting for cutover");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}
