//! Tier 4 on the simulator: what a policy gets through WASI (tests/guests/wasi-probe): no files, environment, arguments or sockets; clocks and randomness that follow the run; randomness bounded per call.

use std::io::ErrorKind;
use std::net::TcpListener;

use cutover_tests::{Cutover, Output, exit, guest};
use serde_json::Value;

async fn probe(mode: &str, extra: &[&str]) -> Output {
    let module = guest("wasi-probe");
    let mode = format!("mode={mode}");
    let mut args = vec!["run", module.as_str(), "--sim", "--set", mode.as_str()];
    args.extend_from_slice(extra);
    Cutover::sim(&args).await
}

/// The guest's JSON report (its summary) of a successful `-o json` run.
#[track_caller]
fn report(out: &Output) -> Value {
    out.expect_code(exit::OK);
    let summary = out.json()["summary"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    match serde_json::from_str(&summary) {
        Ok(report) => report,
        Err(e) => panic!("the summary is not the guest's JSON report: {e}\n{out}"),
    }
}

fn ms(value: &Value, pointer: &str) -> i64 {
    value
        .pointer(pointer)
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("no {pointer} in {value}"))
}

#[tokio::test]
async fn wasi_gives_no_files_environment_arguments_or_sockets() {
    // A listener the guest tries to reach: it must see no connection.
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback listener");
    listener.set_nonblocking(true).expect("non-blocking");
    let port = listener.local_addr().expect("its address").port();
    let tmp_x = std::path::Path::new("/tmp/x");
    let before = std::fs::metadata(tmp_x).and_then(|m| m.modified()).ok();

    let port = format!("port={port}");
    let out = probe("probe", &["--set", &port, "-o", "json"]).await;
    let report = report(&out);
    // Broken by a host that preopens a directory, passes the environment or arguments
    // through, or lets the guest open sockets.
    for surface in [
        "readPasswd",
        "writeTmp",
        "readDirRoot",
        "tcpConnect",
        "tcpListen",
        "udpBind",
        "dnsLookup",
    ] {
        assert_eq!(report[surface], "denied", "{surface}: {report}");
    }
    assert_eq!(report["envVars"], 0, "{report}");
    assert_eq!(report["args"], 0, "{report}");
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the guest reached the loopback listener: {other:?}"),
    }
    let after = std::fs::metadata(tmp_x).and_then(|m| m.modified()).ok();
    assert_eq!(before, after, "/tmp/x was written");
}

#[tokio::test]
async fn wasi_clocks_follow_the_simulated_clock() {
    // A host sleep of one hour takes no wall time on the simulator; SystemTime and Instant
    // must move with it. Broken by WASI clocks that read the machine's clocks.
    let out = probe("clock", &["--timeout", "2h", "-o", "json"]).await;
    let report = report(&out);
    assert_eq!(report["hostSleptFully"], true, "{report}");
    let hour = 3_600_000;
    for point in ["before", "afterHostSleep", "afterThreadSleep"] {
        let (system, host) = (
            ms(&report, &format!("/{point}/system")),
            ms(&report, &format!("/{point}/host")),
        );
        assert!(
            (system - host).abs() <= 1000,
            "{point}: SystemTime {system} and runtime.now {host} differ by more than a second"
        );
    }
    let moved = ms(&report, "/afterHostSleep/system") - ms(&report, "/before/system");
    assert!(
        (moved - hour).abs() <= 1000,
        "SystemTime moved {moved} ms over a host sleep of an hour\n{report}"
    );
    let instant = ms(&report, "/afterHostSleep/instantElapsed");
    assert!(
        (instant - hour).abs() <= 1000,
        "Instant moved {instant} ms over a host sleep of an hour\n{report}"
    );
    // std::thread::sleep(1 s) passes a second of the run's clock.
    let slept = ms(&report, "/afterThreadSleep/host") - ms(&report, "/afterHostSleep/host");
    assert!(
        (1000..=2000).contains(&slept),
        "a 1 s thread::sleep took {slept} ms of the run's clock\n{report}"
    );
}

/// Writes a scenario of the built-in shape with `seed`; the guard keeps the file.
fn seeded(seed: u64) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join(format!("seed-{seed}.yaml"));
    std::fs::write(&path, format!("seed: {seed}\nnodes: 3\n")).expect("writing the scenario");
    let path = path.display().to_string();
    (dir, path)
}

async fn random(scenario: &str) -> Value {
    let module = guest("wasi-probe");
    let out = Cutover::sim(&[
        "run",
        &module,
        "--sim",
        scenario,
        "--set",
        "mode=random",
        "-o",
        "json",
    ])
    .await;
    report(&out)
}

#[tokio::test]
async fn random_numbers_repeat_with_the_scenario_seed() {
    let (_one, seed_one) = seeded(1);
    let (_two, seed_two) = seeded(2);
    let first = random(&seed_one).await;
    let again = random(&seed_one).await;
    let other = random(&seed_two).await;
    // Broken by randomness from the machine (no repeat) or a constant (no difference).
    assert_eq!(first, again, "the same seed gave other random numbers");
    for source in ["getrandom", "randomState"] {
        assert_ne!(
            first[source], other[source],
            "{source}: seeds 1 and 2 gave the same numbers"
        );
    }
}

/// A megabyte of randomness in one call is a sandbox limit, named, not a broken ABI (nor the
/// host's memory). Breaks if the bound is lost or reported as something else.
#[tokio::test]
async fn a_huge_random_request_is_a_named_sandbox_limit() {
    let out = probe("random-huge", &[]).await;
    let line = out.expect_error(
        exit::STOPPED,
        &[
            "asked for 1048576 random bytes at once",
            "65536",
            "was stopped",
        ],
    );
    assert!(!line.contains("ABI"), "{out}");
}

#[tokio::test]
async fn std_process_exit_fails_the_policy() {
    // std::process::exit(3) on wasm32-wasip2 reaches the host as wasi:cli/exit.exit(err):
    // Rust 1.95's std passes no code, so `called exit(` is what the host can say here; the
    // code itself is checked with the exit-code guest below.
    let out = probe("exit", &[]).await;
    out.expect_error(exit::POLICY_FAILED, &["called exit("]);
}

#[tokio::test]
async fn exit_with_code_is_reported_with_its_code() {
    // wasi:cli/exit.exit-with-code(3): the host must provide it (wasmtime-wasi's
    // cli_exit_with_code link option) and name the code.
    let module = guest("exit-code");
    let out = Cutover::sim(&["run", &module, "--sim"]).await;
    out.expect_error(exit::POLICY_FAILED, &["called exit(3)"]);
}

#[tokio::test]
async fn a_wasi_sleep_ends_at_the_deadline_in_simulated_time() {
    // std::thread::sleep of ten minutes, --timeout 30s: the run ends at 30 s of simulated time
    // (within a second). Broken by a WASI sleep outside the run's clock, or a late stop.
    let out = probe("wasi-sleep", &["--timeout", "30s", "-o", "json"]).await;
    out.expect_error(exit::STOPPED, &["ran past its deadline of 30s"]);
    let simulated = out.json()["simulatedMs"].as_u64().expect("simulatedMs");
    assert!(
        simulated <= 31_000,
        "{simulated} ms of simulated time\n{out}"
    );
}
