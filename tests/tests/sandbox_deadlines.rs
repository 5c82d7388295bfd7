//! The sandbox's deadlines through the host library, with several runs in one process sharing
//! one engine (and its one epoch ticker), as a long-lived host would run them.

use std::path::PathBuf;
use std::time::Duration;

use cutover::capabilities::Grants;
use cutover::checkpoint::CheckpointStore;
use cutover::cluster::Cluster;
use cutover::sandbox::bindings::Invocation;
use cutover::sandbox::cancel::Cancel;
use cutover::sandbox::host::wasi::WasiOptions;
use cutover::sandbox::limits::Limits;
use cutover::sandbox::outcome::{Outcome, Stop};
use cutover::sandbox::run::{RunReport, Sandbox};
use cutover::sandbox::state::{RunSetup, RunState};
use cutover::source::{Origin, PolicySource};
use cutover_clock::Clock;

fn guest(name: &str) -> PolicySource {
    let path = PathBuf::from(env!("CUTOVER_TEST_GUESTS")).join(format!("{name}.wasm"));
    let bytes = std::fs::read(&path).expect("the test guest is built by tests/build.rs");
    PolicySource::from_bytes(Origin::File(path), bytes).expect("a policy")
}

/// A run of `policy` on a fresh simulator, with `timeout`, cancellable through `cancel`.
async fn run_with(
    sandbox: &Sandbox,
    policy: &PolicySource,
    params: &str,
    timeout: Duration,
    cancel: Cancel,
) -> RunReport {
    let prepared = sandbox.prepare(policy).expect("prepares");
    let clock = Clock::tokio();
    let sim = cutover_sim::Simulator::new(0);
    let state = RunState::new(RunSetup {
        cluster: Cluster::from_client(sim.client(), "default".into(), clock.clone()),
        grants: Grants::new(&[], &[], "default"),
        limits: Limits {
            timeout,
            ..Limits::default()
        },
        clock,
        checkpoint: CheckpointStore::none(),
        release: None,
        observer: cutover::report::discard(),
        cancel,
        wasi: WasiOptions { random_seed: None },
    });
    let invocation = Invocation {
        release: "r".into(),
        namespace: "default".into(),
        params: params.into(),
        dry_run: false,
        revision: 0,
        attempt: 1,
    };
    sandbox.run(&prepared, state, &invocation).await
}

async fn run(
    sandbox: &Sandbox,
    policy: &PolicySource,
    params: &str,
    timeout: Duration,
) -> RunReport {
    run_with(sandbox, policy, params, timeout, Cancel::default()).await
}

fn assert_deadline(report: &RunReport, timeout: Duration) {
    assert_eq!(
        report.outcome,
        Outcome::Stopped(Stop::Deadline(timeout)),
        "{report:?}"
    );
    // Not sooner: another run's ticks must not count towards this one's deadline.
    assert!(
        report.elapsed >= timeout - Duration::from_millis(50),
        "stopped after {:?}, before its deadline of {timeout:?}",
        report.elapsed
    );
    // And not later than the promise.
    assert!(
        report.elapsed <= timeout + Duration::from_secs(1),
        "stopped after {:?}, past its deadline of {timeout:?} plus a second",
        report.elapsed
    );
}

/// Breaks when runs share a counted deadline: with one ticker per run (the old design), two
/// concurrent runs advanced the shared epoch twice as fast and each stopped at half its time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_runs_keep_their_own_deadlines() {
    let sandbox = Sandbox::new(None).expect("the engine starts");
    let spin = guest("spin");
    let sleeper = guest("sleeper");
    let timeout = Duration::from_millis(1500);
    let (a, b, c) = tokio::join!(
        run(&sandbox, &spin, "{}", timeout),
        run(&sandbox, &spin, "{}", timeout),
        run(&sandbox, &sleeper, r#"{"ms": 600000}"#, timeout),
    );
    assert_deadline(&a, timeout);
    assert_deadline(&b, timeout);
    assert_deadline(&c, timeout);
}

/// A run cancelled from outside stops at once, spinning or sleeping in the host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_run_stops_at_once() {
    let sandbox = Sandbox::new(None).expect("the engine starts");
    for (name, params) in [("spin", "{}"), ("sleeper", r#"{"ms": 600000}"#)] {
        let policy = guest(name);
        let cancel = Cancel::default();
        let trigger = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            trigger.cancel("the test");
        });
        let started = std::time::Instant::now();
        let report = run_with(&sandbox, &policy, params, Limits::default().timeout, cancel).await;
        assert_eq!(
            report.outcome,
            Outcome::Cancelled("the test".into()),
            "{name}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{name}: cancelled after {:?}",
            started.elapsed()
        );
    }
}
