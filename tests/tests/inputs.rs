//! End to end: positional inputs (files, folders, `-`) reach a policy as the host read them,
//! Helm's value flags follow Helm's rules across revisions (`--reuse-values`,
//! `--reset-values`, an upgrade that gives none), and what a policy does not take is refused
//! with one line and exit 2 — on `cutover sim serve`, whose releases outlive each run.

use std::process::Stdio;

use cutover_tests::{Cutover, SimServe, guest};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

fn chart_dir(dir: &std::path::Path) -> std::path::PathBuf {
    let chart = dir.join("chart");
    std::fs::create_dir_all(chart.join("templates")).expect("mkdir");
    std::fs::write(chart.join("Chart.yaml"), "name: web\nversion: 0.1.0\n").expect("write");
    std::fs::write(chart.join("templates/svc.yaml"), "kind: Service\n").expect("write");
    chart
}

/// The values the latest revision of `release` recorded.
async fn values(sim: &SimServe, release: &str) -> Value {
    let out = Cutover::run(
        &["get", "values", release, "-n", "default", "-o", "json"],
        &sim.kubeconfig,
    )
    .await;
    out.expect_code(0);
    out.json()
}

#[tokio::test(flavor = "multi_thread")]
async fn files_folders_and_stdin_reach_the_policy_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = SimServe::start(dir.path(), None).await;
    let chart = chart_dir(dir.path());
    let extra = dir.path().join("extra.yaml");
    std::fs::write(&extra, "kind: ConfigMap\n").expect("write");
    let values_file = dir.path().join("values.yaml");
    std::fs::write(&values_file, "image: {repository: nginx, tag: '1.0'}\n").expect("write");
    let policy = guest("echo-inputs");
    let (chart, extra, values_file) = (
        chart.display().to_string(),
        extra.display().to_string(),
        values_file.display().to_string(),
    );
    let mut command = Cutover::command(
        &[
            "run",
            &policy,
            &chart,
            "-",
            &extra,
            "--release",
            "echo",
            "-n",
            "default",
            "-f",
            &values_file,
            "--set",
            "image.tag=2.0,ports[1]=80",
            "--set-string",
            "build=010",
        ],
        &sim.kubeconfig,
    );
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn cutover");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(b"apiVersion: v1\nkind: List\n")
        .await
        .expect("write stdin");
    drop(stdin);
    let out = child.wait_with_output().await.expect("cutover ran");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    let lines: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once("input ").map(|(_, rest)| rest))
        .collect();
    assert_eq!(
        lines,
        [
            "0 Chart.yaml 25 name: web",
            "0 templates/svc.yaml 14 kind: Service",
            "1 - 26 apiVersion: v1",
            "2 extra.yaml 16 kind: ConfigMap",
        ],
        "{text}"
    );
    assert_eq!(
        values(&sim, "echo").await,
        json!({"image": {"repository": "nginx", "tag": "2.0"}, "ports": [null, 80], "build": "010"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn value_flags_follow_helms_rules_across_revisions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = SimServe::start(dir.path(), None).await;
    let policy = guest("echo-inputs");
    let run = |extra: &[&str]| {
        let mut args = vec!["run", policy.as_str(), "--release", "vals", "-n", "default"];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let steps: [(&[&str], Value); 5] = [
        (&["--set", "a=1,b.c=2"], json!({"a": 1, "b": {"c": 2}})),
        (
            &["--reuse-values", "--set", "b.d=3"],
            json!({"a": 1, "b": {"c": 2, "d": 3}}),
        ),
        // An upgrade that gives no values keeps the last ones.
        (&[], json!({"a": 1, "b": {"c": 2, "d": 3}})),
        // One that gives some, without --reuse-values, has only those.
        (&["--set", "y=2"], json!({"y": 2})),
        (&["--reset-values", "--set", "x=true"], json!({"x": true})),
    ];
    for (flags, expected) in steps {
        let args = run(flags);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Cutover::run(&args, &sim.kubeconfig).await.expect_code(0);
        assert_eq!(values(&sim, "vals").await, expected, "after {flags:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn what_a_policy_does_not_take_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let chart = chart_dir(dir.path()).display().to_string();
    let echo = guest("echo-inputs");
    let cases: [(Vec<&str>, &[&str]); 5] = [
        (
            vec!["run", "drain", &chart, "--set", "node=n1", "--sim"],
            &["drain takes no inputs", "chart"],
        ),
        (
            vec![
                "run",
                "drain",
                "--set",
                "node=n1",
                "--set-string",
                "a=b",
                "--sim",
            ],
            &["--set-string is for policies that take a chart's values"],
        ),
        (
            vec!["run", &echo, "/nonexistent/chart", "--sim"],
            &["cannot read input /nonexistent/chart"],
        ),
        (
            vec!["run", &echo, "--reuse-values", "--reset-values", "--sim"],
            &["at most one of --reuse-values"],
        ),
        (
            vec!["run", &echo, "--set", "a[x]=1", "--sim"],
            &["--set a[x]=1", "does not parse"],
        ),
    ];
    for (args, needles) in cases {
        let out = Cutover::sim(&args).await;
        out.expect_error(2, needles);
    }
}
