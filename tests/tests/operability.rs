//! Operability of `cutover run` against servers that misbehave or are watched: a server that
//! accepts connections and never answers, the `User-Agent` on every request, the host's own
//! logs with `-v`, `-o yaml`, and shell completion. No control plane: the servers are the
//! test's own (a silent TCP listener, and `cutover sim serve` behind a recording proxy).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cutover_tests::{Cutover, Output, SimServe};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const UNREACHABLE: i32 = 4;

/// A kubeconfig for a plain-HTTP server on loopback.
fn kubeconfig(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("kubeconfig");
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: \"http://127.0.0.1:{port}\"}}\n\
         users:\n- name: u\n  user: {{}}\ncontexts:\n- name: c\n  context: {{cluster: c, user: u, namespace: default}}\n\
         current-context: c\n"
    );
    std::fs::write(&path, text).expect("write the kubeconfig");
    path
}

/// A server that accepts connections, reads what comes, and never answers. Breaks when
/// reachability or a request has no deadline (the run would hang until the harness kills it
/// after a minute), or when the deadline is retried or restarted (the run would end more than
/// one `--request-timeout` after the cluster was first reached). The bound is measured from
/// the server's first accepted connection, not from the process's start, so that a slow start
/// on a loaded machine (loading the policy) is not mistaken for a late deadline.
#[tokio::test]
async fn a_server_that_never_answers_ends_the_run_within_the_request_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let first_accept: Arc<Mutex<Option<Instant>>> = Arc::default();
    let reached = first_accept.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            reached
                .lock()
                .expect("the accept instant")
                .get_or_insert_with(Instant::now);
            let mut buf = vec![0u8; 4096];
            let _ = socket.read(&mut buf).await;
            held.push(socket);
        }
    });
    let dir = tempfile::tempdir().expect("scratch dir");
    let config = kubeconfig(dir.path(), port);
    let out = Cutover::run_within(
        &[
            "run",
            "drain",
            "--set",
            "node=node-1",
            "--allow-declared",
            "--request-timeout",
            "2s",
        ],
        &config,
        Duration::from_secs(60),
    )
    .await;
    let ended = Instant::now();
    let line = out.expect_error(UNREACHABLE, &["no answer within 2s", "--request-timeout"]);
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{out}");
    let reached = first_accept
        .lock()
        .expect("the accept instant")
        .expect("the run connected to the server");
    let after_reaching = ended.duration_since(reached);
    assert!(
        after_reaching < Duration::from_secs(4),
        "ended {after_reaching:?} after first reaching the server: more than one \
         --request-timeout (2s) and its exit\n{out}"
    );
}

/// A bad `-n` is bad input (exit 2) before any connection, on a real cluster as on the
/// simulator. Breaks if the namespace is only checked on one path, or after connecting (the
/// unreachable server here would then make it exit 4).
#[tokio::test]
async fn a_bad_namespace_is_bad_input_before_any_connection() {
    let dir = tempfile::tempdir().expect("scratch dir");
    // Port 1 on loopback: nothing listens there.
    let config = kubeconfig(dir.path(), 1);
    for extra in [&[][..], &["--sim"][..]] {
        let mut args = vec![
            "run",
            "drain",
            "--set",
            "node=node-1",
            "--allow-declared",
            "-n",
            "Shop?x",
        ];
        args.extend_from_slice(extra);
        let out = Cutover::run(&args, &config).await;
        out.expect_error(2, &["namespace"]);
    }
}

/// Forwards connections to `upstream` and records every request head sent through it.
async fn recording_proxy(upstream: u16) -> (u16, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let up = async {
                    let mut buf = vec![0u8; 16 << 10];
                    loop {
                        let n = match client_read.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        record.lock().expect("record").extend_from_slice(&buf[..n]);
                        if server_write.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                };
                let down = tokio::io::copy(&mut server_read, &mut client_write);
                let _ = tokio::join!(up, down);
            });
        }
    });
    (port, seen)
}

/// Every request carries `User-Agent: cutover/<version>`, so that API-server audit logs name
/// the tool. Breaks if any request (discovery, reads, patches, evictions, watches) lacks it.
#[tokio::test]
async fn every_request_says_it_comes_from_cutover() {
    let dir = tempfile::tempdir().expect("scratch dir");
    let sim = SimServe::start(dir.path(), None).await;
    let (port, seen) = recording_proxy(sim.port).await;
    let config = kubeconfig(dir.path(), port);
    let out = Cutover::run(
        &[
            "run",
            "drain",
            "--set",
            "node=node-1",
            "--allow-declared",
            "--timeout",
            "20s",
        ],
        &config,
    )
    .await;
    drop(sim);
    let text = String::from_utf8_lossy(&seen.lock().expect("record")).into_owned();
    let methods = ["GET /", "POST /", "PATCH /", "PUT /", "DELETE /"];
    let mut requests = 0;
    let mut agents = Vec::new();
    for head in text.split("\r\n\r\n") {
        let first = head.trim_start_matches(|c: char| c != 'G' && c != 'P' && c != 'D');
        if !methods.iter().any(|m| first.starts_with(m)) {
            continue;
        }
        requests += 1;
        let agent = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("user-agent:")
                    .map(|v| v.trim().to_string())
            })
            .unwrap_or_default();
        agents.push(agent);
    }
    assert!(requests >= 2, "too few requests seen ({requests})\n{out}");
    let expected = format!("cutover/{}", env!("CARGO_PKG_VERSION"));
    assert!(
        agents.iter().all(|a| *a == expected),
        "requests without `User-Agent: {expected}`: {agents:?}\n{out}"
    );
}

/// A kubeconfig that does not exist: `--sim` never reads one.
const NO_KUBECONFIG: &str = "/nonexistent/cutover-operability/kubeconfig";

async fn sim(args: &[&str]) -> Output {
    Cutover::run(args, Path::new(NO_KUBECONFIG)).await
}

/// `-o yaml` is the same report as `-o json`, in YAML. Breaks if either format loses a field.
#[tokio::test]
async fn yaml_output_is_the_json_report() {
    let base = [
        "run",
        "drain",
        "--sim",
        "--set",
        "node=node-1",
        "--allow-declared",
    ];
    let json = sim(&[&base[..], &["-o", "json"]].concat()).await;
    json.expect_code(0);
    let yaml = sim(&[&base[..], &["-o", "yaml"]].concat()).await;
    yaml.expect_code(0);
    let from_yaml: serde_json::Value =
        serde_saphyr::from_str(&yaml.stdout).expect("stdout is YAML");
    let strip = |mut v: serde_json::Value| {
        if let Some(o) = v.as_object_mut() {
            o.remove("wallMs");
        }
        v
    };
    assert_eq!(strip(from_yaml), strip(json.json()), "{yaml}");
    let inspect = sim(&["inspect", "drain", "-o", "yaml"]).await;
    inspect.expect_code(0);
    let value: serde_json::Value = serde_saphyr::from_str(&inspect.stdout).expect("YAML");
    assert_eq!(value["manifest"]["name"], "drain", "{inspect}");
}

/// `-v` turns on the host's own logs (here, the retries of a request the simulator fails).
/// Breaks if the flag is ignored, or if the logs appear without it.
#[tokio::test]
async fn verbose_shows_the_hosts_own_logs() {
    let dir = tempfile::tempdir().expect("scratch dir");
    let scenario = dir.path().join("s.yaml");
    std::fs::write(
        &scenario,
        "nodes: 1\nfaults:\n  api:\n    - {verb: patch, kind: Node, status: 500, rate: 1.0}\n",
    )
    .expect("scenario");
    let scenario = scenario.to_str().expect("UTF-8 path");
    let args = [
        "run",
        "drain",
        "--sim",
        scenario,
        "--set",
        "node=node-1",
        "--allow-declared",
    ];
    let quiet = sim(&args).await;
    assert!(
        !quiet.stderr.contains("retrying"),
        "host logs without -v\n{quiet}"
    );
    let loud = sim(&[&["-vv"][..], &args[..]].concat()).await;
    assert!(
        loud.stderr.contains("transient API error, retrying"),
        "no host logs with -vv\n{loud}"
    );
}

/// `cutover completion <shell>` prints clap's completion script for the shell.
#[tokio::test]
async fn completion_scripts_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef cutover"),
        ("fish", "complete -c cutover"),
    ] {
        let out = sim(&["completion", shell]).await;
        out.expect_code(0);
        assert!(out.stdout.contains(marker), "{shell}: {out}");
        assert!(
            out.stdout.contains("inspect"),
            "{shell}: subcommands\n{out}"
        );
    }
}

/// `cutover inspect` lists the reads a policy's capabilities imply (restart's waits read the
/// workloads' pods). Breaks if inspect hides what the host reads on a policy's behalf.
#[tokio::test]
async fn inspect_lists_the_implied_reads() {
    let out = sim(&["inspect", "restart", "-o", "json"]).await;
    out.expect_code(0);
    let reads = out.json()["impliedReads"].clone();
    let waited: Vec<&str> = reads
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|r| r["call"].as_str())
        .filter(|call| call.starts_with("wait on"))
        .collect();
    assert_eq!(
        waited,
        [
            "wait on apps/v1/Deployment",
            "wait on apps/v1/DaemonSet",
            "wait on apps/v1/StatefulSet",
        ],
        "{out}"
    );
    // Each of its six patch and wait grants hands the target back to it.
    let returned = reads
        .as_array()
        .expect("a list")
        .iter()
        .filter(|r| r["returnedToPolicy"] == true)
        .count();
    assert_eq!(returned, 6, "{out}");
    let table = sim(&["inspect", "restart"]).await;
    assert!(
        table.stdout.contains("Implied reads")
            && table.stdout.contains("reads v1/Pod (list, watch)")
            && table.stdout.contains(
                "reads the target as stored in namespace {namespace}; returned to the policy"
            ),
        "{table}"
    );
}

/// tokio's test utilities (a clock anything in the process could pause) are not in the shipped
/// binary: virtual time on the simulator comes from cutover-clock. Breaks if any crate the
/// binary is built from turns tokio's `test-util` feature on.
#[test]
fn the_shipped_binary_has_no_tokio_test_utilities() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            "cutover",
            "-e",
            "normal,build",
            "-i",
            "tokio",
            "-f",
            "{p} {f}",
            "--offline",
            "--locked",
        ])
        .current_dir(&repo)
        .output()
        .expect("cargo tree runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let features = text.lines().next().unwrap_or_default();
    assert!(features.starts_with("tokio v1"), "{text}");
    assert!(
        !features.contains("test-util"),
        "tokio is built with {features}"
    );
}
