//! Tier 4 on the simulator: stacks under attack (tests/guests/recurse): the guest's own overflows into a trap, and JSON nested 100,000 deep is `invalid` to the host, never a host crash.

use cutover_tests::{Cutover, exit, guest};

/// The `recurse` guest in `mode` on the built-in scenario, with `extra` flags.
async fn recurse(mode: &str, extra: &[&str]) -> cutover_tests::Output {
    let module = guest("recurse");
    let mode = format!("mode={mode}");
    let mut args = vec!["run", &module, "--sim", "--allow-declared", "--set", &mode];
    args.extend_from_slice(extra);
    Cutover::sim(&args).await
}

#[tokio::test]
async fn unbounded_recursion_is_a_trap() {
    let out = recurse("stack", &[]).await;
    // Broken by a host that reports it as its own failure, or crashes with the guest.
    out.expect_error(exit::STOPPED, &["the policy trapped: "]);
}

#[tokio::test]
async fn json_nested_100000_deep_is_invalid() {
    let out = recurse("deep-json", &["-o", "json"]).await;
    // A host that parses without a depth limit overflows its own stack: no exit code at all.
    out.expect_code(exit::OK);
    let summary = out.json()["summary"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let results: Vec<(&str, &str)> = summary
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .collect();
    // apply and four patch types, for arrays and for objects.
    assert_eq!(results.len(), 10, "{summary}");
    for (call, kind) in results {
        assert_eq!(kind, "invalid", "{call} got {kind}: {summary}");
    }
}
