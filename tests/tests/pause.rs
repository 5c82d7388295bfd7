//! Strategies that pause for a person, end to end: the `pauser` test guest pauses its release
//! (`rollout.pause`), and `cutover promote`, `abort` and `retry` continue it — against the real
//! control plane (statuses, the lock released, the checkpoint kept, the deployed revision left
//! deployed, the refusals), and on the simulator through `cutover test`'s `run.then` steps.

use std::path::Path;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use serde_json::Value;

use cutover_tests::{Cutover, Output, TestEnv, guest};

/// The `pauser` guest's release on one test namespace.
struct Pauser {
    env: TestEnv,
    policy: String,
}

impl Pauser {
    async fn start() -> Pauser {
        let env = TestEnv::start("pause", &["n1"]).await.expect("test env");
        Pauser {
            env,
            policy: guest("pauser"),
        }
    }

    async fn cutover(&self, args: &[&str]) -> Output {
        let mut all = args.to_vec();
        all.extend(["-n", self.env.namespace()]);
        self.env.cutover(&all).await
    }

    async fn run(&self, extra: &[&str]) -> Output {
        let mut args = vec![
            "run",
            self.policy.as_str(),
            "--release",
            "pauser",
            "--allow-declared",
        ];
        args.extend(extra);
        self.cutover(&args).await
    }

    /// `cutover promote|abort|retry pauser` with the policy file named again.
    async fn again(&self, command: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            command,
            "pauser",
            "--policy",
            self.policy.as_str(),
            "--allow-declared",
        ];
        args.extend(extra);
        self.cutover(&args).await
    }

    async fn status(&self) -> Value {
        let out = self.cutover(&["status", "pauser", "-o", "json"]).await;
        out.expect_code(0);
        out.json()
    }

    /// `(revision, status)` of each revision, oldest first.
    async fn history(&self) -> Vec<(u64, String)> {
        let out = self.cutover(&["history", "pauser", "-o", "json"]).await;
        out.expect_code(0);
        out.json()
            .as_array()
            .expect("an array of revisions")
            .iter()
            .map(|r| {
                (
                    r["revision"].as_u64().unwrap_or(0),
                    r["status"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// The weight the guest last set.
    async fn weight(&self) -> String {
        let config_maps: Api<ConfigMap> = self.env.api();
        let cm = config_maps
            .get("pauser-weight")
            .await
            .expect("pauser-weight");
        cm.data
            .and_then(|d| d.get("weight").cloned())
            .unwrap_or_default()
    }
}

fn history(pairs: &[(u64, &str)]) -> Vec<(u64, String)> {
    pairs.iter().map(|(n, s)| (*n, s.to_string())).collect()
}

#[tokio::test]
async fn pause_promote_abort_retry_against_the_control_plane() {
    let p = Pauser::start().await;

    // A first run pauses: exit 0, the summary line names both ways on, the lock is free, the
    // checkpoint is kept, the status text is on the revision.
    let out = p.run(&[]).await;
    out.expect_code(0);
    assert!(
        out.stdout.contains(
            "Release pauser paused at revision 1: step 1 of 1: weight 20%; continue with `cutover promote pauser`, or `cutover abort pauser`"
        ),
        "{out}"
    );
    let status = p.status().await;
    assert_eq!(status["status"], "paused", "{status}");
    assert_eq!(status["paused"], "step 1 of 1: weight 20%", "{status}");
    assert_eq!(status["checkpoint"], true, "{status}");
    assert_eq!(status["lock"], Value::Null, "{status}");
    assert_eq!(p.weight().await, "20");
    let table = p.cutover(&["status", "pauser"]).await;
    assert!(table.stdout.contains("STATUS: paused"), "{table}");
    assert!(
        table.stdout.contains("PAUSED: step 1 of 1: weight 20%"),
        "{table}"
    );
    assert!(table.stdout.contains("cutover promote pauser"), "{table}");
    let listed = p.cutover(&["list", "--paused"]).await;
    assert!(listed.stdout.contains("paused"), "{listed}");

    // Refusals while paused: a new run, a resume, a rollback; nothing changes.
    p.run(&[]).await.expect_error(
        6,
        &[
            "release pauser is paused at revision 1",
            "cutover promote pauser",
            "cutover abort pauser",
        ],
    );
    p.again("resume", &[]).await.expect_error(
        6,
        &[
            "release pauser is paused at revision 1",
            "cutover promote pauser",
        ],
    );
    p.cutover(&["rollback", "pauser"])
        .await
        .expect_error(6, &["cutover abort pauser", "then roll back"]);
    assert_eq!(p.history().await, history(&[(1, "paused")]));

    // Promote finishes it: deployed, checkpoint cleared.
    let out = p.again("promote", &[]).await;
    out.expect_code(0);
    assert!(
        out.stdout.contains("Release pauser: revision 1 deployed"),
        "{out}"
    );
    assert_eq!(p.weight().await, "100");
    let status = p.status().await;
    assert_eq!(status["checkpoint"], false, "{status}");
    assert_eq!(status["paused"], Value::Null, "{status}");
    // Promote and abort need a paused revision: one line, exit 2, nothing changed.
    p.again("promote", &[]).await.expect_error(
        2,
        &["release pauser is not paused: its latest revision 1 is deployed"],
    );
    p.again("abort", &[]).await.expect_error(
        2,
        &["release pauser is not paused: its latest revision 1 is deployed"],
    );
    p.again("retry", &[])
        .await
        .expect_error(2, &["nothing to retry", "revision 1 is deployed"]);

    // A second revision pauses; the first stays deployed (not superseded) while it does.
    let out = p.run(&["-o", "json"]).await;
    out.expect_code(0);
    let json = out.json();
    assert_eq!(
        (
            json["status"].as_str(),
            json["releaseStatus"].as_str(),
            json["paused"].as_str()
        ),
        (
            Some("paused"),
            Some("paused"),
            Some("step 1 of 1: weight 20%")
        ),
        "{json}"
    );
    assert_eq!(
        p.history().await,
        history(&[(1, "deployed"), (2, "paused")])
    );

    // Abort: the policy restores the stable weight and fails; the revision is failed as
    // aborted by the operator; the deployed revision stays deployed.
    let out = p.again("abort", &[]).await;
    out.expect_code(1);
    assert_eq!(p.weight().await, "0");
    let status = p.status().await;
    assert_eq!(status["status"], "failed", "{status}");
    assert!(
        status["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("aborted by the operator")),
        "{status}"
    );
    assert_eq!(status["lock"], Value::Null, "{status}");
    assert_eq!(status["checkpoint"], true, "{status}");
    assert_eq!(
        p.history().await,
        history(&[(1, "deployed"), (2, "failed")])
    );
    p.again("promote", &[]).await.expect_error(
        2,
        &["release pauser is not paused: its latest revision 2 is failed"],
    );

    // Retry starts the steps again: paused at step 1; then a promote deploys it.
    let out = p.again("retry", &[]).await;
    out.expect_code(0);
    assert_eq!(p.weight().await, "20");
    assert_eq!(
        p.history().await,
        history(&[(1, "deployed"), (2, "paused")])
    );
    p.again("promote", &[]).await.expect_code(0);
    assert_eq!(
        p.history().await,
        history(&[(1, "superseded"), (2, "deployed")])
    );

    // Two pauses: a promote that pauses again stays paused with the new status; --full ends it.
    p.run(&["--set", "pauses=2"]).await.expect_code(0);
    p.again("promote", &[]).await.expect_code(0);
    let status = p.status().await;
    assert_eq!(
        (status["status"].as_str(), status["paused"].as_str()),
        (Some("paused"), Some("step 2 of 2: weight 50%")),
        "{status}"
    );
    assert_eq!(p.weight().await, "50");
    p.again("promote", &["--full"]).await.expect_code(0);
    assert_eq!(p.weight().await, "100");
    assert_eq!(
        p.history().await,
        history(&[(1, "superseded"), (2, "superseded"), (3, "deployed")])
    );

    // A dry run cannot pause; a run that pauses and then fails is failed, not paused.
    p.run(&["--dry-run"])
        .await
        .expect_error(1, &["dry run cannot pause"]);
    p.run(&["--set", "fail-after-pause=true", "--rollback-on-failure"])
        .await
        .expect_error(1, &["failing after the pause"]);
    assert_eq!(
        p.history().await,
        history(&[
            (1, "superseded"),
            (2, "superseded"),
            (3, "deployed"),
            (4, "failed")
        ])
    );
    p.env.finish().await.expect("cleanup");
}

/// A scenario for the `pauser` guest on an empty simulated cluster, with `run` as given.
fn scenario(dir: &Path, name: &str, run: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("seed: 1\nrun:\n{run}")).expect("write the scenario");
    path.display().to_string()
}

#[tokio::test]
async fn scenario_then_steps_promote_and_abort_on_the_simulator() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    scenario(
        dir.path(),
        "promote.yaml",
        r#"  params: {pauses: 2}
  then:
    - command: promote
      after: 5m
      expect:
        releaseStatus: paused
        objects:
          - {apiVersion: v1, kind: ConfigMap, namespace: default, name: pauser-weight, fields: {data.weight: "50"}}
    - command: promote
      full: true
      expect:
        releaseStatus: deployed
        revisions: [deployed]
        objects:
          - {apiVersion: v1, kind: ConfigMap, namespace: default, name: pauser-weight, fields: {data.weight: "100"}}
expect:
  releaseStatus: paused
  status: paused
"#,
    );
    scenario(
        dir.path(),
        "abort.yaml",
        r#"  then:
    - command: abort
      expect:
        exitCode: 1
        error: "weight back to 0%"
        releaseStatus: failed
        objects:
          - {apiVersion: v1, kind: ConfigMap, namespace: default, name: pauser-weight, fields: {data.weight: "0"}}
    - command: promote
      expect:
        exitCode: 2
        error: "is not paused: its latest revision 1 is failed"
    - retry
expect:
  releaseStatus: paused
"#,
    );
    let policy = guest("pauser");
    let dir_arg = dir.path().display().to_string();
    let out = Cutover::sim(&["test", &policy, &dir_arg, "-o", "json"]).await;
    out.expect_code(0);
    let report = out.json();
    assert_eq!(
        (report["passed"].as_u64(), report["failed"].as_u64()),
        (Some(2), Some(0)),
        "{out}"
    );

    // A step whose expectation does not hold fails the scenario, named after the step.
    scenario(
        dir.path(),
        "wrong.yaml",
        r#"  then:
    - command: promote
      expect:
        releaseStatus: paused
"#,
    );
    let out = Cutover::sim(&["test", &policy, &dir_arg]).await;
    out.expect_code(1);
    assert!(
        out.stdout.contains("then[0] (promote): releaseStatus"),
        "{out}"
    );
}
