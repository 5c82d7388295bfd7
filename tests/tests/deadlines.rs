//! Tier 4, on the real control plane and the simulator: `--timeout T` ends a run within T + 1 s of wall time however the guest spends it (spinning, sleeping through the host or WASI, looping on host calls, waiting in one).
//!
//! Elapsed time is measured from the host's `Running <policy>` line (printed as the sandbox
//! starts) to the exit, so process start-up and compilation are not counted; only an upper
//! bound is asserted.

use std::path::Path;
use std::time::Duration;

use cutover_tests::{Cutover, Output, Watch, control_plane, exit, guest};

/// `--timeout` of every run here, and the slack the contract gives.
const TIMEOUT: &str = "2s";
const BOUND: Duration = Duration::from_secs(3);

/// Runs `cutover <args>` and returns the run and the wall time from its `Running` line to exit.
async fn timed(args: &[&str], kubeconfig: &Path) -> (Output, Duration) {
    let running = Cutover::spawn(args, kubeconfig, Watch::default());
    let started = running
        .wait_for_output("Running ", Duration::from_secs(120))
        .await;
    let finished = running.finish().await;
    let Some(started) = started else {
        panic!("the run never started\n{}", finished.output);
    };
    (
        finished.output,
        finished.exited.saturating_duration_since(started),
    )
}

/// Exit 5 for the deadline, within [`BOUND`]. Broken by a host whose deadline does not reach
/// the guest where it is (a host call, a WASI poll), or only a late backstop does.
#[track_caller]
fn assert_stopped_in_time(out: &Output, elapsed: Duration) {
    out.expect_error(
        exit::STOPPED,
        &[&format!("ran past its deadline of {TIMEOUT}")],
    );
    assert!(
        elapsed <= BOUND,
        "stopped {elapsed:?} after it started, past {TIMEOUT} + 1 s\n{out}"
    );
}

async fn real(policy: &str, set: &[&str]) -> (Output, Duration) {
    let kubeconfig = control_plane::ensure_up().expect("the local control plane starts");
    let module = guest(policy);
    let mut args = vec![
        "run",
        module.as_str(),
        "--allow-declared",
        "--timeout",
        TIMEOUT,
    ];
    for s in set {
        args.extend(["--set", s]);
    }
    timed(&args, &kubeconfig).await
}

async fn sim(policy: &str, set: &[&str]) -> (Output, Duration) {
    let module = guest(policy);
    let mut args = vec![
        "run",
        module.as_str(),
        "--sim",
        "--allow-declared",
        "--timeout",
        TIMEOUT,
    ];
    for s in set {
        args.extend(["--set", s]);
    }
    timed(&args, Path::new(cutover_tests::cutover::NO_KUBECONFIG)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spinning_guest_stops_in_time() {
    let (out, elapsed) = real("spin", &[]).await;
    assert_stopped_in_time(&out, elapsed);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spinning_guest_on_the_simulator_stops_in_wall_time() {
    // Virtual time stands still while the guest spins: only the wall-clock epoch stops it.
    let (out, elapsed) = sim("spin", &[]).await;
    assert_stopped_in_time(&out, elapsed);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_loop_of_cheap_host_calls_stops_in_time() {
    let (out, elapsed) = real("busy-host", &["mode=loop"]).await;
    assert_stopped_in_time(&out, elapsed);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_loop_of_cheap_host_calls_on_the_simulator_stops_in_wall_time() {
    let (out, elapsed) = sim("busy-host", &["mode=loop"]).await;
    assert_stopped_in_time(&out, elapsed);
}

/// A guest that does nothing but list 2,000 Nodes on the simulator moves neither the virtual
/// clock (each call is answered at once) nor runs much guest code of its own: the run still ends
/// within `--timeout` + 1 s of wall time. Breaks if the wall bound looks only at guest code, or
/// is lost while the time is the host's.
#[tokio::test(flavor = "multi_thread")]
async fn a_loop_of_cluster_calls_on_the_simulator_stops_in_wall_time() {
    let dir = tempfile::tempdir().expect("scratch dir");
    let scenario = dir.path().join("nodes.yaml");
    std::fs::write(&scenario, "seed: 7\nnodes: 2000\n").expect("write the scenario");
    let module = guest("busy-host");
    let args = [
        "run",
        module.as_str(),
        "--sim",
        scenario.to_str().expect("utf-8 path"),
        "--timeout",
        TIMEOUT,
        "--set",
        "mode=list-loop",
        "--allow-declared",
    ];
    let (out, elapsed) = timed(&args, Path::new(cutover_tests::cutover::NO_KUBECONFIG)).await;
    assert_stopped_in_time(&out, elapsed);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_sleep_is_clamped_to_the_deadline() {
    let (out, elapsed) = real("sleeper", &["ms=600000"]).await;
    assert_stopped_in_time(&out, elapsed);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_sleep_on_the_simulator_ends_at_the_deadline_in_simulated_time() {
    let module = guest("sleeper");
    let out = Cutover::sim(&[
        "run",
        &module,
        "--sim",
        "--timeout",
        TIMEOUT,
        "--set",
        "ms=600000",
        "-o",
        "json",
    ])
    .await;
    out.expect_error(
        exit::STOPPED,
        &[&format!("ran past its deadline of {TIMEOUT}")],
    );
    let simulated = out.json()["simulatedMs"].as_u64().expect("simulatedMs");
    assert!(
        simulated <= 3_000,
        "{simulated} ms of simulated time for a 2 s deadline\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wasi_sleep_is_clamped_to_the_deadline() {
    let (out, elapsed) = real("wasi-probe", &["mode=wasi-sleep"]).await;
    assert_stopped_in_time(&out, elapsed);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_waiting_in_one_host_call_stops_in_time() {
    // One `wait` with a timeout of an hour on a condition that never holds.
    let (out, elapsed) = real("busy-host", &["mode=wait"]).await;
    assert_stopped_in_time(&out, elapsed);
}
