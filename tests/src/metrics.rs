//! Analysis endpoints for the end-to-end tier: a local HTTP server whose gauge the test sets, and
//! a REAL Prometheus server (Debian's `prometheus`, installed by `scripts/setup --for-tests`)
//! scraping it every second.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long Prometheus may take to start and to scrape a changed value (a wait, not an
/// assertion on time: the test fails with what it saw when it runs out).
pub const PATIENCE: Duration = Duration::from_secs(90);

/// The gauge `/metrics` exposes.
pub const GAUGE: &str = "probe_test_value";

/// A local HTTP server on `127.0.0.1:<port>`, serving until the test process ends:
///
/// - `/healthz`: `{"ok": true, "checks": [{"name": "db", "ok": true}, {"name": "cache", "ok": false}]}`;
/// - `/big`: 200 KB of text;
/// - `/gauge`: `{"value": <the gauge>}`;
/// - `/metrics`: Prometheus text with [`GAUGE`];
/// - 404 otherwise.
#[derive(Clone)]
pub struct MetricsServer {
    port: u16,
    value: Arc<AtomicU64>,
}

impl MetricsServer {
    /// Binds the port (panicking with the reason if it cannot) and serves on a thread.
    pub fn start(port: u16) -> MetricsServer {
        let listener = match TcpListener::bind(("127.0.0.1", port)) {
            Ok(l) => l,
            Err(e) => panic!("binding 127.0.0.1:{port} for the test HTTP server: {e}"),
        };
        let server = MetricsServer {
            port,
            value: Arc::new(AtomicU64::new(0f64.to_bits())),
        };
        let value = server.value.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let value = value.clone();
                std::thread::spawn(move || {
                    serve(stream, f64::from_bits(value.load(Ordering::SeqCst)))
                });
            }
        });
        server
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Sets the gauge `/metrics` and `/gauge` answer.
    pub fn set(&self, value: f64) {
        self.value.store(value.to_bits(), Ordering::SeqCst);
    }
}

fn serve(mut stream: TcpStream, value: f64) {
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
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (status, kind, body) = match path.split('?').next().unwrap_or("/") {
        "/healthz" => (
            "200 OK",
            "application/json",
            r#"{"ok": true, "checks": [{"name": "db", "ok": true}, {"name": "cache", "ok": false}]}"#
                .to_string(),
        ),
        "/big" => ("200 OK", "text/plain", "x".repeat(200_000)),
        "/gauge" => ("200 OK", "application/json", format!("{{\"value\": {value}}}")),
        "/metrics" => (
            "200 OK",
            "text/plain; version=0.0.4",
            format!("# TYPE {GAUGE} gauge\n{GAUGE} {value}\n"),
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
pub fn get(port: u16, path_and_query: &str) -> Option<String> {
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

/// A Prometheus server, killed when dropped.
pub struct Prometheus {
    port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Starts Prometheus on `127.0.0.1:<port>` scraping `target` every second, and returns
    /// once Prometheus reports the target up.
    pub fn start(port: u16, target: &MetricsServer) -> Prometheus {
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
                 - job_name: probe-test\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
                target.port()
            ),
        )
        .expect("writing prometheus.yml");
        let data = dir.path().join("data");
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting prometheus");
        let prometheus = Prometheus {
            port,
            child,
            _dir: dir,
        };
        let started = Instant::now();
        loop {
            let up = prometheus.query("up%7Bjob%3D%22probe-test%22%7D");
            if up == Some(1.0) {
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

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The first value of an instant query (URL-encoded), if any.
    pub fn query(&self, encoded_query: &str) -> Option<f64> {
        let body = get(self.port, &format!("/api/v1/query?query={encoded_query}"))?;
        let answer: serde_json::Value = serde_json::from_str(&body).ok()?;
        answer["data"]["result"][0]["value"][1]
            .as_str()?
            .parse()
            .ok()
    }

    /// Waits until Prometheus reports `value` for [`GAUGE`]; panics with what it last saw.
    pub fn wait_until_sees(&self, value: f64) {
        let started = Instant::now();
        let mut seen = None;
        while started.elapsed() < PATIENCE {
            seen = self.query(GAUGE);
            if seen == Some(value) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("Prometheus did not scrape {GAUGE}={value}; last seen {seen:?}");
    }
}
