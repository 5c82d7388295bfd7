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

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cutover_tests::{Cutover, control_plane};

const HTTP_PORT: u16 = 19181;
const CLOSED_PORT: u16 = 19182;
const PROMETHEUS_PORT: u16 = 19190;
/// How long Prometheus may take to start and to scrape a changed value (a wait, not an
/// assertion on time: the test fails with what it saw when it runs out).
const PATIENCE: Duration = Duration::from_secs(90);

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

/// The metric the local server exposes, as f64 bits.
fn metric() -> &'static AtomicU64 {
    static VALUE: AtomicU64 = AtomicU64::new(0);
    &VALUE
}

fn set_metric(value: f64) {
    metric().store(value.to_bits(), Ordering::SeqCst);
}

/// The local HTTP server on 127.0.0.1:19181: `/healthz` (JSON), `/big` (200 KB), `/metrics`
/// (Prometheus text with `probe_test_value`), 404 otherwise. Started once per test binary.
fn start_http_server() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let listener = match TcpListener::bind(("127.0.0.1", HTTP_PORT)) {
            Ok(l) => l,
            Err(e) => panic!("binding 127.0.0.1:{HTTP_PORT} for the test HTTP server: {e}"),
        };
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || serve(stream));
            }
        });
    });
}

fn serve(mut stream: TcpStream) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let (status, kind, body) = match path.split('?').next().unwrap_or("/") {
        "/healthz" => (
            "200 OK",
            "application/json",
            r#"{"ok": true, "checks": [{"name": "db", "ok": true}, {"name": "cache", "ok": false}]}"#
                .to_string(),
        ),
        "/big" => ("200 OK", "text/plain", "x".repeat(200_000)),
        "/metrics" => (
            "200 OK",
            "text/plain; version=0.0.4",
            format!(
                "# TYPE probe_test_value gauge\nprobe_test_value {}\n",
                f64::from_bits(metric().load(Ordering::SeqCst))
            ),
        ),
        _ => ("404 Not Found", "text/plain", "not found".to_string()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
}

/// A plain GET from the test itself (to watch Prometheus), the body as text.
fn get(port: u16, path_and_query: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = format!(
        "GET {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
}

/// The value Prometheus has for `probe_test_value` now, if any.
fn prometheus_sees() -> Option<f64> {
    let body = get(PROMETHEUS_PORT, "/api/v1/query?query=probe_test_value")?;
    let answer: serde_json::Value = serde_json::from_str(&body).ok()?;
    answer["data"]["result"][0]["value"][1]
        .as_str()?
        .parse()
        .ok()
}

/// Waits until Prometheus reports `value` for the metric; panics with what it last saw.
fn wait_until_prometheus_sees(value: f64) {
    let started = Instant::now();
    let mut seen = None;
    while started.elapsed() < PATIENCE {
        seen = prometheus_sees();
        if seen == Some(value) {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("Prometheus did not scrape probe_test_value={value}; last seen {seen:?}");
}

/// The Prometheus server, killed when the test binary's last test drops it.
struct Prometheus {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts Prometheus on 127.0.0.1:19190 scraping the local server every second.
fn start_prometheus() -> Prometheus {
    let binary = "prometheus";
    let found = Command::new(binary).arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "the `prometheus` binary is missing: run scripts/setup --for-tests (it installs Debian's)"
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  \
             - job_name: probe-test\n    static_configs:\n      - targets: ['127.0.0.1:{HTTP_PORT}']\n"
        ),
    )
    .expect("writing prometheus.yml");
    let data = dir.path().join("data");
    let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
    let child = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("starting prometheus");
    let prometheus = Prometheus { child, _dir: dir };
    // Up: the scrape target is healthy by Prometheus's own API.
    let started = Instant::now();
    loop {
        let up = get(
            PROMETHEUS_PORT,
            "/api/v1/query?query=up%7Bjob%3D%22probe-test%22%7D",
        )
        .and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok())
        .and_then(|a| {
            a["data"]["result"][0]["value"][1]
                .as_str()
                .map(str::to_string)
        });
        if up.as_deref() == Some("1") {
            break;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "Prometheus did not report its target up; last answer {up:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    prometheus
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
    start_http_server();
    set_metric(3.0);
    let _prometheus = start_prometheus();
    wait_until_prometheus_sees(3.0);

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
    set_metric(7.5);
    wait_until_prometheus_sees(7.5);
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
    start_http_server();
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
    start_http_server();
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
