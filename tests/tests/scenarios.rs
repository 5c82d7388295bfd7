//! `cutover test`: the bundled policies pass their own scenarios (policies/*/scenarios), and
//! a scenario whose expectations do not hold, or that is malformed, fails as documented.

use std::path::{Path, PathBuf};

use cutover_tests::Cutover;

fn repo(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
        .display()
        .to_string()
}

#[tokio::test]
async fn the_bundled_policies_pass_their_scenarios() {
    for (policy, count) in [
        ("drain", 3),
        ("restart", 4),
        ("canary", 5),
        ("blue-green", 5),
        ("atomic", 5),
        ("networkpolicy-v1-migration", 5),
        ("daemonset-node-by-node", 5),
        ("config-rollout", 2),
        ("calico-upgrade", 5),
        ("replicaset-to-deployment", 7),
    ] {
        let dir = repo(&format!("policies/{policy}/scenarios"));
        let out = Cutover::sim(&["test", policy, &dir, "-o", "json"]).await;
        out.expect_code(0);
        let report = out.json();
        assert_eq!(report["passed"], count, "{out}");
        assert_eq!(report["failed"], 0, "{out}");
        for scenario in report["scenarios"].as_array().expect("scenarios") {
            assert_eq!(scenario["status"], "passed", "{out}");
        }
    }
}

/// A copy of drain's `drains.yaml` with `edit` applied to its text, in `dir`.
fn drain_scenario(dir: &Path, name: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let text = std::fs::read_to_string(repo("policies/drain/scenarios/drains.yaml"))
        .expect("read drains.yaml");
    let path = dir.join(name);
    std::fs::write(&path, edit(&text)).expect("write the scenario");
    path
}

#[tokio::test]
async fn failed_expectations_are_shown_as_diffs_and_exit_1() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let wrong = drain_scenario(dir.path(), "wrong.yaml", |t| {
        t.replace("spec.unschedulable: true", "spec.unschedulable: false")
            .replace("    - list v1/Pod in all namespaces\n", "")
            .replace("releaseStatus: deployed", "releaseStatus: failed")
    });
    let junit = dir.path().join("junit.xml");
    let out = Cutover::sim(&[
        "test",
        "drain",
        &wrong.display().to_string(),
        "--junit",
        &junit.display().to_string(),
    ])
    .await;
    out.expect_error(1, &["1 of 1 scenarios failed"]);
    let stdout = &out.stdout;
    assert!(stdout.contains("FAIL  "), "{out}");
    assert!(
        stdout.contains("spec.unschedulable: expected false, got true"),
        "{out}"
    );
    assert!(
        stdout.contains("releaseStatus: expected the run's revision failed; it is deployed"),
        "{out}"
    );
    // The diff shows the call made that the scenario left out, and not the ones that match.
    assert!(stdout.contains("+ list v1/Pod in all namespaces"), "{out}");
    assert!(stdout.contains("  cordon v1/Node node-1"), "{out}");
    assert!(!stdout.contains("- cordon"), "{out}");
    let xml = std::fs::read_to_string(&junit).expect("the JUnit file");
    assert!(
        xml.contains("<failure message=\"3 expectations failed: releaseStatus, ...\""),
        "{xml}"
    );
}

#[tokio::test]
async fn a_malformed_scenario_is_named_with_its_field_and_exits_2() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let typo = drain_scenario(dir.path(), "typo.yaml", |t| t.replace("fields:", "feilds:"));
    let good = drain_scenario(dir.path(), "good.yaml", str::to_string);
    let out = Cutover::sim(&[
        "test",
        "drain",
        &typo.display().to_string(),
        &good.display().to_string(),
    ])
    .await;
    out.expect_error(2, &["1 of 2 scenarios could not run"]);
    assert!(
        out.stdout
            .contains("expect.objects[0].feilds: unknown field `feilds`"),
        "{out}"
    );
    // The other scenario still ran.
    assert!(out.stdout.contains("PASS  "), "{out}");
    let bad_flag = drain_scenario(dir.path(), "flag.yaml", |t| {
        t.replace("run:\n", "run:\n  flags: [--no-such-flag]\n")
    });
    let out = Cutover::sim(&["test", "drain", &bad_flag.display().to_string()]).await;
    out.expect_code(2);
    assert!(
        out.stdout
            .contains("run.flags: \"--no-such-flag\" is not one of the flags"),
        "{out}"
    );
    // A scenario names no files: it cannot make `cutover test` write a tape or read values.
    for flag in [
        "--record=/tmp/x.json",
        "--values=/etc/passwd",
        "--kubeconfig=/dev/null",
    ] {
        let named = drain_scenario(dir.path(), "files.yaml", |t| {
            t.replace("run:\n", &format!("run:\n  flags: [\"{flag}\"]\n"))
        });
        let out = Cutover::sim(&["test", "drain", &named.display().to_string()]).await;
        out.expect_code(2);
        assert!(
            out.stdout
                .contains("is not one of the flags a scenario may pass"),
            "{out}"
        );
    }
}
