//! Tier 4 on the simulator: what the host keeps on a guest's behalf is bounded: denial records, log lines, checkpoints, list results, WASI resources; and its peak RSS (VmHWM) stays within `--memory-limit` + 64 MiB of a trivial run's.

use std::path::Path;

use cutover_tests::cutover::NO_KUBECONFIG;
use cutover_tests::text::without_digit_separators;
use cutover_tests::{Cutover, Finished, Output, Watch, exit, guest};

const MIB: u64 = 1 << 20;

/// Runs `cutover <args>` watched, killing it past a ceiling far above any bound here.
async fn watched(args: &[&str]) -> Finished {
    let watch = Watch {
        rss_ceiling: 3 << 30,
    };
    Cutover::spawn(args, Path::new(NO_KUBECONFIG), watch)
        .finish()
        .await
}

/// The peak RSS of a trivial run on the simulator: the host's own footprint.
async fn baseline() -> u64 {
    let sleeper = guest("sleeper");
    let finished = watched(&["run", &sleeper, "--sim", "--set", "ms=0"]).await;
    finished.output.expect_code(exit::OK);
    finished
        .peak_rss
        .expect("the trivial run's peak RSS was read")
}

/// Broken by a host that keeps what the guest hands it (every denial with its arguments,
/// every log line) or copies it without bound.
#[track_caller]
fn assert_bounded(finished: &Finished, base: u64, memory_limit: u64) {
    assert!(
        !finished.ceiling_hit,
        "killed at the RSS ceiling\n{}",
        finished.output.abridged()
    );
    let peak = finished.peak_rss.expect("the run's peak RSS was read");
    let bound = base + memory_limit + 64 * MIB;
    assert!(
        peak <= bound,
        "peak RSS {} MiB, past the trivial run's {} MiB + the memory limit {} MiB + 64 MiB\n{}",
        peak / MIB,
        base / MIB,
        memory_limit / MIB,
        finished.output.abridged()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn denied_calls_with_huge_arguments_keep_the_host_bounded() {
    let base = baseline().await;
    let flood = guest("flood");
    let finished = watched(&[
        "run",
        &flood,
        "--sim",
        "--set",
        "mode=denied",
        "--timeout",
        "10s",
        "--memory-limit",
        "32Mi",
        "-o",
        "json",
    ])
    .await;
    let out = &finished.output;
    assert_bounded(&finished, base, 32 * MIB);
    out.expect_error(exit::STOPPED, &["ran past its deadline of 10s"]);
    let report = out.json();
    let kept = report["denied"]
        .as_array()
        .map(Vec::len)
        .expect("`denied` is a list");
    let total = report["deniedTotal"]
        .as_u64()
        .expect("`deniedTotal` counts every denial");
    assert!(kept <= 100, "{kept} denial records kept: at most 100");
    assert!(
        total > 100 && total >= kept as u64,
        "deniedTotal {total} with {kept} kept"
    );
    assert!(
        finished.stdout_bytes as u64 <= MIB,
        "a {}-byte report: each denial is cut like any guest text",
        finished.stdout_bytes
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn endless_logging_keeps_the_host_bounded_and_cuts_the_log() {
    let base = baseline().await;
    let flood = guest("flood");
    let finished = watched(&[
        "run",
        &flood,
        "--sim",
        "--set",
        "mode=log",
        "--timeout",
        "5s",
    ])
    .await;
    assert_bounded(&finished, base, 64 * MIB);
    let out = &finished.output;
    out.expect_error(exit::STOPPED, &["ran past its deadline of 5s"]);
    let printed = finished.stdout_bytes + finished.stderr_bytes;
    assert!(
        printed as u64 <= MIB + 256 * 1024,
        "{printed} bytes printed: the log is cut at 1 MiB"
    );
    assert!(
        out.stdout.contains("log cut") || out.stderr.contains("log cut"),
        "no note where the log was cut\n{}",
        out.abridged()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_checkpoint_over_one_mib_is_refused_as_invalid() {
    let flood = guest("flood");
    let out = Cutover::sim(&[
        "run",
        &flood,
        "--sim",
        "--set",
        "mode=checkpoint",
        "-o",
        "json",
    ])
    .await;
    out.expect_code(exit::OK);
    let summary = out.json()["summary"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Broken by a host that keeps (or writes) a checkpoint of any size.
    assert!(
        summary.contains("checkpoint of 2097152 bytes: invalid"),
        "{summary}"
    );
    // And exactly 1 MiB is within the bound.
    assert!(
        summary.contains("checkpoint of 1048576 bytes: "),
        "{summary}"
    );
    assert!(
        !summary.contains("checkpoint of 1048576 bytes: invalid"),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn leaked_wasi_resources_stop_the_run() {
    // 20,000 pollables never dropped, against a table of at most 10,000 entries.
    let flood = guest("flood");
    let out: Output = Cutover::sim(&[
        "run",
        &flood,
        "--sim",
        "--set",
        "mode=resources",
        "--timeout",
        "1m",
    ])
    .await;
    let line = out.expect_error(exit::STOPPED, &[]).to_lowercase();
    assert!(
        !line.contains("deadline"),
        "stopped by the deadline, not by the bound\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_of_more_than_ten_thousand_items_is_refused_naming_the_bound() {
    // visit-nodes lists every Node; the scenario has 10,001.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let scenario = dir.path().join("nodes-10001.yaml");
    std::fs::write(&scenario, "nodes: 10001\n").expect("writing the scenario");
    let visit = guest("visit-nodes");
    let out = Cutover::sim(&[
        "run",
        &visit,
        "--sim",
        &scenario.display().to_string(),
        "--allow-declared",
        "--timeout",
        "30m",
    ])
    .await;
    let line = out.expect_error(exit::POLICY_FAILED, &["invalid"]);
    assert!(
        without_digit_separators(line).contains("10000"),
        "the error does not name the bound of 10,000 items\n{}",
        out.abridged()
    );
}
