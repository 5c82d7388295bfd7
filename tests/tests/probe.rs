//! The `probe` interface end to end: the test guest `probe-check` run by the real `cutover`
//! binary makes an HTTP check against a local HTTP server and queries a REAL Prometheus server
//! (Debian's `prometheus`, installed by `scripts/setup --for-tests`) that scrapes the same
//! server's `/metrics`, whose value the test sets. The runs are dry runs on the local control
//! plane (a probe needs no cluster, but `--sim` answers probes from the scenario: the last test
//! shows that no probe reaches the network there).
//!
//! The guest declares `probe/http:127.0.0.1:19181`, `probe/http:127.0.0.1:19182` and
//! `probe/prometheus:127.0.0.1:19190`: the ports are fixed because capabilities are. The HTTP
//! server listens on 19181, Prometheus on 19190, nothing on 19182.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cutover_tests::metrics::{MetricsServer, Prometheus};
use cutover_tests::{Cutover, control_plane};

const HTTP_PORT: u16 = 19181;
const CLOSED_PORT: u16 = 19182;
const PROMETHEUS_PORT: u16 = 19190;

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

/// The local HTTP server on 127.0.0.1:19181 (see [`MetricsServer`]), started once per test
/// binary.
fn server() -> &'static MetricsServer {
    static SERVER: OnceLock<MetricsServer> = OnceLock::new();
    SERVER.get_or_init(|| MetricsServer::start(HTTP_PORT))
}

/// Runs `probe-check` as a dry run on the local control plane with these parameters; the
/// result line is its `message`.
async fn probe_check(sets: &[&str]) -> cutover_tests::Output {
    let kubeconfig = control_plane::ensure_up().expect("the local control plane starts");
    let guest = guest("probe-check");
    let mut args = vec!["run", guest.as_str(), "--allow-declared", "--dry-run"];
    for set in sets {
        args.extend(["--set", set]);
    }
    let out = Cutover::run(&args, &kubeconfig).await;
    out.expect_code(0);
    out
}

fn url(port: u16, path: &str) -> String {
    format!("url=http://127.0.0.1:{port}{path}")
}

#[tokio::test(flavor = "multi_thread")]
async fn http_checks_and_prometheus_queries_get_what_the_endpoints_answer() {
    server().set(3.0);
    let prometheus = Prometheus::start(PROMETHEUS_PORT, server());
    prometheus.wait_until_sees(3.0);

    let healthz = url(HTTP_PORT, "/healthz");
    let out = probe_check(&[
        &healthz,
        "json-path=$.checks[0].ok",
        "query=probe_test_value",
    ])
    .await;
    assert!(
        out.stdout.contains("http=200 value=true ; prometheus=3"),
        "{}",
        out.abridged()
    );

    // Argo's form of a path, and a path matching several values.
    let out = probe_check(&[&healthz, "json-path={$.checks[*].ok}"]).await;
    assert!(
        out.stdout.contains("http=200 value=[true,false]"),
        "{}",
        out.abridged()
    );

    // A changed metric is seen once Prometheus has scraped it.
    server().set(7.5);
    prometheus.wait_until_sees(7.5);
    let out = probe_check(&[&healthz, "query=probe_test_value"]).await;
    assert!(out.stdout.contains("prometheus=7.5"), "{}", out.abridged());

    // Bad PromQL is Prometheus's error, as `invalid`; no data is an empty answer.
    let out = probe_check(&[&healthz, "query=sum(probe_test_value"]).await;
    assert!(
        out.stdout
            .contains("prometheus-error=invalid: Prometheus: bad_data:"),
        "{}",
        out.abridged()
    );
    let out = probe_check(&[&healthz, "query=no_such_metric"]).await;
    assert!(
        out.stdout.lines().any(|l| l.ends_with("; prometheus=")),
        "no data is an empty answer: {}",
        out.abridged()
    );
    // A range vector is refused: the policy must aggregate it.
    let out = probe_check(&[&healthz, "query=probe_test_value[1m]"]).await;
    assert!(out.stdout.contains("is a matrix"), "{}", out.abridged());
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_past_max_bytes_and_closed_ports_are_errors() {
    server();
    let big = url(HTTP_PORT, "/big");
    let out = probe_check(&[&big, "max-bytes=1000"]).await;
    assert!(
        out.stdout.contains(&format!(
            "http-error=invalid: the body of 127.0.0.1:{HTTP_PORT}/big is longer than 1000 bytes"
        )),
        "{}",
        out.abridged()
    );
    // Within the bound, the same body is an answer.
    let out = probe_check(&[&big, "max-bytes=300000"]).await;
    assert!(
        out.stdout.contains("http=200 value=none"),
        "{}",
        out.abridged()
    );

    let closed = url(CLOSED_PORT, "/healthz");
    let out = probe_check(&[&closed]).await;
    assert!(
        out.stdout.contains(&format!(
            "http-error=unavailable: cannot reach 127.0.0.1:{CLOSED_PORT}"
        )),
        "{}",
        out.abridged()
    );
    assert!(
        out.stdout.to_lowercase().contains("connection refused"),
        "{}",
        out.abridged()
    );
    // The failed call is in the run's report (printed with the run's lines).
    assert!(
        out.stdout.contains(&format!(
            "probe http GET http://127.0.0.1:{CLOSED_PORT}/healthz"
        )),
        "{}",
        out.abridged()
    );

    let missing = url(HTTP_PORT, "/nothing-here");
    let out = probe_check(&[&missing]).await;
    assert!(
        out.stdout.contains("http=404"),
        "any status is an answer: {}",
        out.abridged()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoints_not_declared_are_refused_before_any_connection() {
    server();
    for (endpoint, what) in [
        (
            format!("url=http://127.0.0.1:{}/healthz", HTTP_PORT + 2),
            "another port",
        ),
        (
            format!("url=http://localhost:{HTTP_PORT}/healthz"),
            "another name",
        ),
        (
            "url=http://127.0.0.1/healthz".to_string(),
            "the default port",
        ),
    ] {
        let out = probe_check(&[&endpoint]).await;
        assert!(
            out.stdout
                .contains("http-error=forbidden: denied by cutover:"),
            "{what}: {}",
            out.abridged()
        );
        assert!(
            out.stdout
                .contains("is not among the capabilities the policy declares"),
            "{what}: {}",
            out.abridged()
        );
        assert!(
            out.stdout.contains("denied: probe/http:"),
            "{what}: {}",
            out.abridged()
        );
    }
    // Odd URLs are refused before the capability check.
    let out = probe_check(&[&format!("url=http://user:pw@127.0.0.1:{HTTP_PORT}/healthz")]).await;
    assert!(
        out.stdout.contains("http-error=invalid:"),
        "{}",
        out.abridged()
    );
    assert!(out.stdout.contains("credentials"), "{}", out.abridged());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grant_narrower_than_the_declaration_refuses_the_run() {
    let kubeconfig = control_plane::ensure_up().expect("the local control plane starts");
    let guest = guest("probe-check");
    let out = Cutover::run(
        &[
            "run",
            &guest,
            "--dry-run",
            "--allow",
            "*/*",
            "--set",
            &url(HTTP_PORT, "/healthz"),
        ],
        &kubeconfig,
    )
    .await;
    // `*/*` reaches no endpoint: the probe declarations stay uncovered.
    out.expect_error(3, &["probe/http:127.0.0.1:19181"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn on_the_simulator_the_scenario_answers_and_nothing_reaches_the_network() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let scenario = dir.path().join("probes.yaml");
    // Nothing listens on the closed port: an answer can only come from the scenario.
    std::fs::write(
        &scenario,
        format!(
            "probes:\n  http:\n    - url: http://127.0.0.1:{CLOSED_PORT}/healthz\n      body: {{ok: true}}\n  \
             prometheus:\n    - query: up\n      samples: [{{labels: {{job: web}}, value: 1}}, {{value: 0}}]\n"
        ),
    )
    .expect("writing the scenario");
    let guest = guest("probe-check");
    let scenario = scenario.display().to_string();
    let run = |sets: Vec<String>| {
        let mut args: Vec<String> = vec![
            "run".into(),
            guest.clone(),
            "--sim".into(),
            scenario.clone(),
            "--allow-declared".into(),
        ];
        for set in sets {
            args.push("--set".into());
            args.push(set);
        }
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            Cutover::run(&args, Path::new("/nonexistent-kubeconfig")).await
        }
    };
    let out = run(vec![
        url(CLOSED_PORT, "/healthz"),
        "json-path=ok".into(),
        "query=up".into(),
    ])
    .await;
    out.expect_code(0);
    assert!(
        out.stdout.contains("http=200 value=true ; prometheus=1,0"),
        "{}",
        out.abridged()
    );
    let out = run(vec![url(CLOSED_PORT, "/other")]).await;
    out.expect_code(0);
    assert!(
        out.stdout
            .contains("http-error=unavailable: the simulator has no answer for probe http GET"),
        "{}",
        out.abridged()
    );
    assert!(
        out.stdout.contains("add one to the scenario's `probes:`"),
        "{}",
        out.abridged()
    );
    // The grant check applies on the simulator too.
    let out = run(vec![format!(
        "url=http://127.0.0.1:{}/healthz",
        HTTP_PORT + 2
    )])
    .await;
    out.expect_code(0);
    assert!(
        out.stdout.contains("http-error=forbidden"),
        "{}",
        out.abridged()
    );
}
