//! Tier 4: Ctrl-C and SIGTERM during `cutover run` interrupt the guest at once, spinning or in a host call: exit 130 (143 for SIGTERM) within 2 s, with one `error:` line saying `cancelled`.

use std::path::Path;
use std::time::Duration;

use cutover_tests::cutover::NO_KUBECONFIG;
use cutover_tests::{Cutover, Finished, Running, Watch, control_plane, exit, guest};

/// How soon after the signal the process must be gone.
const BOUND: Duration = Duration::from_secs(2);

/// Starts a run and waits until the sandbox has started it (its `Running` line), plus a
/// moment so that the guest is inside its loop or its host call when the signal lands.
async fn started(args: &[&str], kubeconfig: &Path) -> Running {
    let running = Cutover::spawn(args, kubeconfig, Watch::default());
    let seen = running
        .wait_for_output("Running ", Duration::from_secs(120))
        .await;
    if seen.is_none() {
        let finished = running.finish().await;
        panic!("the run never started\n{}", finished.output);
    }
    // Not a wait for a condition: it puts the signal inside the guest rather than in start-up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    running
}

/// Sends `signal`, waits for the exit; returns the run and how long the exit took.
async fn interrupt(running: Running, signal: &str) -> (Finished, Duration) {
    let sent = running.signal(signal);
    let finished = running.finish().await;
    let Some(sent) = sent else {
        panic!("the run ended before the signal\n{}", finished.output);
    };
    let took = finished.exited.saturating_duration_since(sent);
    (finished, took)
}

/// Broken by a host that dies by the signal (no exit code, no error line), finishes the run
/// first, or takes longer than [`BOUND`].
#[track_caller]
fn assert_cancelled(finished: &Finished, took: Duration, code: i32) {
    let out = &finished.output;
    out.expect_error(code, &["cancelled"]);
    assert!(took <= BOUND, "exited {took:?} after the signal\n{out}");
}

fn spin_on_sim() -> Vec<String> {
    ["run", &guest("spin"), "--sim", "--timeout", "10m"]
        .map(String::from)
        .to_vec()
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_interrupts_a_spinning_guest() {
    let args = spin_on_sim();
    let running = started(&refs(&args), Path::new(NO_KUBECONFIG)).await;
    let (finished, took) = interrupt(running, "INT").await;
    assert_cancelled(&finished, took, exit::SIGINT);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_cancels_a_spinning_guest() {
    let args = spin_on_sim();
    let running = started(&refs(&args), Path::new(NO_KUBECONFIG)).await;
    let (finished, took) = interrupt(running, "TERM").await;
    assert_cancelled(&finished, took, exit::SIGTERM);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_interrupts_a_guest_in_a_host_call() {
    // A host sleep of ten minutes on a real cluster: the guest is inside the host.
    let kubeconfig = control_plane::ensure_up().expect("the local control plane starts");
    let sleeper = guest("sleeper");
    let args = ["run", &sleeper, "--timeout", "20m", "--set", "ms=600000"];
    let running = started(&args, &kubeconfig).await;
    let (finished, took) = interrupt(running, "INT").await;
    assert_cancelled(&finished, took, exit::SIGINT);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_sigint_exits_at_once() {
    // A guest waiting in one host call (a watch); the second Ctrl-C must not wait for any
    // clean-up the first one started.
    let kubeconfig = control_plane::ensure_up().expect("the local control plane starts");
    let busy = guest("busy-host");
    let args = [
        "run",
        &busy,
        "--allow-declared",
        "--timeout",
        "20m",
        "--set",
        "mode=wait",
    ];
    let running = started(&args, &kubeconfig).await;
    let first = running.signal("INT");
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The process may be gone already; that is as good.
    let _ = running.signal("INT");
    let finished = running.finish().await;
    let Some(first) = first else {
        panic!("the run ended before the signal\n{}", finished.output);
    };
    let took = finished.exited.saturating_duration_since(first);
    assert_eq!(
        finished.output.code,
        Some(exit::SIGINT),
        "{}",
        finished.output
    );
    assert!(
        took <= BOUND,
        "exited {took:?} after the first signal\n{}",
        finished.output
    );
}
