//! A policy that undoes its own runs (`rollback_by_policy`), end to end: the `undoer` test
//! guest's failed and interrupted runs are rolled back by the policy itself on `cutover
//! rollback` and `cutover abort` — the revision failed and undone, the journal not replayed
//! (the undo's own log is still there), a second rollback refused; an undo that fails leaves
//! the revision failed and not undone, and the next rollback finishes it; `--journal` replays
//! the journal instead; a policy without the declaration (`steps`) keeps the journal's way and
//! an abort that takes only a paused revision. Against the real control plane, and on the
//! simulator through `cutover test`'s `rollback` steps.

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::ObjectMeta;
use serde_json::Value;

use cutover_tests::{Cutover, Output, TestEnv, guest};

/// The `undoer` guest (and `steps`) on one test namespace.
struct Plane {
    env: TestEnv,
    undoer: String,
}

impl Plane {
    async fn start(prefix: &str) -> Plane {
        let env = TestEnv::start(prefix, &["n1"]).await.expect("test env");
        Plane {
            env,
            undoer: guest("undoer"),
        }
    }

    async fn cutover(&self, args: &[&str]) -> Output {
        let mut all = args.to_vec();
        all.extend(["-n", self.env.namespace()]);
        self.env.cutover(&all).await
    }

    /// `<release>-base`, the ConfigMap the guest's second step patches, as it was.
    async fn base(&self, release: &str) {
        let cm = ConfigMap {
            metadata: ObjectMeta {
                name: Some(format!("{release}-base")),
                ..ObjectMeta::default()
            },
            data: Some([("value".to_string(), "original".to_string())].into()),
            ..ConfigMap::default()
        };
        self.env.create(&cm).await.expect("the base ConfigMap");
    }

    /// `cutover run undoer` for `release`, with more flags.
    async fn run(&self, release: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            "run",
            self.undoer.as_str(),
            "--release",
            release,
            "--allow-declared",
        ];
        args.extend(extra);
        self.cutover(&args).await
    }

    /// The same run, killed at `point` (`2:after`) by the test hook: an interrupted run.
    async fn crashed(&self, release: &str, point: &str) -> Output {
        let args = [
            "run",
            self.undoer.as_str(),
            "--release",
            release,
            "--allow-declared",
            "-n",
            self.env.namespace(),
        ];
        let mut command = Cutover::command(&args, self.env.kubeconfig());
        command.env("CUTOVER_TEST_CRASH_AT", point);
        let out = command.output().await.expect("run cutover");
        Output {
            args: args.iter().map(|a| a.to_string()).collect(),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed: Duration::ZERO,
            timed_out: false,
        }
    }

    /// `cutover <command> <release>` with the policy file named again and its grants.
    async fn again(&self, command: &str, release: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            command,
            release,
            "--policy",
            self.undoer.as_str(),
            "--allow-declared",
        ];
        args.extend(extra);
        self.cutover(&args).await
    }

    async fn status(&self, release: &str) -> Value {
        let out = self.cutover(&["status", release, "-o", "json"]).await;
        out.expect_code(0);
        out.json()
    }

    /// `data[key]` of ConfigMap `name`, or `None` when it does not exist.
    async fn data(&self, name: &str, key: &str) -> Option<String> {
        let config_maps: Api<ConfigMap> = self.env.api();
        let cm = config_maps.get_opt(name).await.expect("read a ConfigMap")?;
        Some(
            cm.data
                .and_then(|d| d.get(key).cloned())
                .unwrap_or_default(),
        )
    }

    /// What the guest's changes look like: `(made's state, base's value, the undo's order)`.
    async fn world(&self, release: &str) -> (Option<String>, Option<String>, Option<String>) {
        (
            self.data(&format!("{release}-made"), "state").await,
            self.data(&format!("{release}-base"), "value").await,
            self.data(&format!("{release}-log"), "order").await,
        )
    }
}

fn some(text: &str) -> Option<String> {
    Some(text.to_string())
}

#[tokio::test]
async fn a_failed_run_is_rolled_back_by_its_policy_not_by_the_journal() {
    let p = Plane::start("undo-policy").await;
    let inspected = p.env.cutover(&["inspect", p.undoer.as_str()]).await;
    inspected.expect_code(0);
    assert!(
        inspected.stdout.contains("Rollback:     by the policy"),
        "{inspected}"
    );

    // A run that fails after its second step: failed, its changes in place.
    p.base("one").await;
    p.run("one", &["--set", "fail-after=2"])
        .await
        .expect_error(1, &["failing after step 2"]);
    assert_eq!(p.world("one").await, (some("made"), some("changed"), None));
    let status = p.status("one").await;
    assert_eq!(status["status"], "failed", "{status}");
    assert_eq!(status["reverted"], false, "{status}");

    // The dry run says what would run, and changes nothing.
    let dry = p.cutover(&["rollback", "one", "--dry-run"]).await;
    dry.expect_code(0);
    assert!(
        dry.stdout
            .contains("Would roll back revision 1 of release one by its policy undoer@0.1.0")
            && dry
                .stdout
                .contains("its journal (2 changes) is not replayed")
            && dry.stdout.contains("dry run: nothing was changed"),
        "{dry}"
    );
    assert_eq!(p.world("one").await, (some("made"), some("changed"), None));
    // The policy's undo is guest code: it needs the grants a run needs; nothing ran.
    p.cutover(&["rollback", "one", "--policy", p.undoer.as_str()])
        .await
        .expect_error(3, &["not granted", "--allow-declared"]);
    assert_eq!(p.status("one").await["attempt"], 1);

    // `cutover rollback`: the policy's undo, newest first; its log is left (a journal replay
    // would have deleted it), the revision failed and undone, with the policy's description.
    let out = p.again("rollback", "one", &[]).await;
    out.expect_code(0);
    assert!(
        out.stdout.contains(
            "Rolling back revision 1 (failed, attempt 2) of release one by its policy, in the policy's own order: undoer@0.1.0"
        ),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("Release one: revision 1 rolled back by the policy (failed, undone)"),
        "{out}"
    );
    assert!(!out.stdout.contains("undone:"), "no journal step: {out}");
    assert_eq!(p.world("one").await, (None, some("original"), some("2,1")));
    let status = p.status("one").await;
    assert_eq!(
        (
            status["status"].as_str(),
            status["reverted"].as_bool(),
            status["attempt"].as_u64()
        ),
        (Some("failed"), Some(true), Some(2)),
        "{status}"
    );
    assert!(
        status["description"].as_str().is_some_and(
            |d| d.starts_with("Rolled back by the policy (attempt 2): undid steps 2,1")
        ),
        "{status}"
    );
    assert_eq!(status["lock"], Value::Null, "{status}");

    // Undone: another rollback has nowhere to go, an abort, a resume and a retry refuse;
    // nothing changes.
    p.cutover(&["rollback", "one"])
        .await
        .expect_error(2, &["no earlier revision to roll back to"]);
    p.again("abort", "one", &[]).await.expect_error(
        2,
        &["release one is not paused: its latest revision 1 is failed, and was rolled back"],
    );
    p.again("resume", "one", &[])
        .await
        .expect_error(6, &["nothing to resume"]);
    p.again("retry", "one", &[])
        .await
        .expect_error(2, &["nothing to retry", "and was rolled back"]);
    assert_eq!(p.world("one").await, (None, some("original"), some("2,1")));
    assert_eq!(p.status("one").await["attempt"], 2);

    // An undo that fails: the revision stays failed and not undone, the error says so (exit
    // 1); the next rollback goes on from the policy's checkpoint and finishes.
    p.base("two").await;
    p.run(
        "two",
        &["--set", "fail-after=3", "--set", "fail-undo-attempt=2"],
    )
    .await
    .expect_error(1, &["failing after step 3"]);
    assert_eq!(p.world("two").await, (some("done"), some("changed"), None));
    let out = p.again("abort", "two", &[]).await;
    out.expect_error(
        1,
        &[
            "the rollback of release two by its policy undoer failed",
            "undo failed on attempt 2 after undoing step 3",
            "stays failed and not undone",
            "cutover rollback two",
        ],
    );
    assert!(
        out.stdout
            .contains("Rolling back revision 1 (failed, attempt 2) of release two by its policy"),
        "{out}"
    );
    assert_eq!(
        p.world("two").await,
        (some("made"), some("changed"), some("3"))
    );
    let status = p.status("two").await;
    assert_eq!(
        (status["status"].as_str(), status["reverted"].as_bool()),
        (Some("failed"), Some(false)),
        "{status}"
    );
    assert!(
        status["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("Rollback by the policy failed (attempt 2)")),
        "{status}"
    );
    let out = p.again("rollback", "two", &["-o", "json"]).await;
    out.expect_code(0);
    let json = out.json();
    assert_eq!(
        (
            json["status"].as_str(),
            json["releaseStatus"].as_str(),
            json["rolledBackByPolicy"].as_bool()
        ),
        (Some("rolled-back"), Some("failed"), Some(true)),
        "{json}"
    );
    assert_eq!(
        p.world("two").await,
        (None, some("original"), some("3,2,1"))
    );
    assert_eq!(p.status("two").await["reverted"], true);

    // `--journal`: the journal is replayed, as for any policy; the policy does not run.
    p.base("three").await;
    p.run("three", &["--set", "fail-after=2"])
        .await
        .expect_code(1);
    let out = p.cutover(&["rollback", "three", "--journal"]).await;
    out.expect_code(0);
    assert!(out.stdout.contains("Undid the run of revision 1"), "{out}");
    assert!(!out.stdout.contains("by its policy"), "{out}");
    assert_eq!(p.world("three").await, (None, some("original"), None));
    let status = p.status("three").await;
    assert_eq!(status["reverted"], true, "{status}");
    assert_eq!(status["attempt"], 1, "{status}");
    p.env.finish().await.expect("cleanup");
}

#[tokio::test]
async fn an_interrupted_run_is_aborted_by_its_policy_and_a_plain_policy_keeps_the_journal() {
    let p = Plane::start("undo-abort").await;

    // Killed after its second change (before the checkpoint saying so): pending, holder gone.
    // The policy undoes the step it was in as well.
    p.base("four").await;
    let crashed = p.crashed("four", "2:after").await;
    assert_eq!(crashed.code, None, "killed by SIGKILL: {crashed}");
    assert_eq!(p.status("four").await["interrupted"], true);
    assert_eq!(p.world("four").await, (some("made"), some("changed"), None));
    let out = p.again("abort", "four", &[]).await;
    out.expect_code(0);
    assert!(
        out.stdout.contains(
            "Rolling back revision 1 (pending-install, attempt 2) of release four by its policy"
        ),
        "{out}"
    );
    assert_eq!(p.world("four").await, (None, some("original"), some("2,1")));
    let status = p.status("four").await;
    assert_eq!(
        (status["status"].as_str(), status["reverted"].as_bool()),
        (Some("failed"), Some(true)),
        "{status}"
    );
    // A new run goes on: the release is no longer interrupted.
    p.run("four", &[]).await.expect_code(0);
    assert_eq!(
        p.world("four").await,
        (some("done"), some("changed"), some("2,1"))
    );

    // `steps` does not declare rollback_by_policy: abort takes only a paused revision, and
    // says to roll back through the journal, which `cutover rollback` does.
    let steps = guest("steps");
    let base = ConfigMap {
        metadata: ObjectMeta {
            name: Some("steps-base".into()),
            ..ObjectMeta::default()
        },
        data: Some([("a".to_string(), "1".to_string())].into()),
        ..ConfigMap::default()
    };
    p.env.create(&base).await.expect("steps-base");
    p.cutover(&[
        "run",
        steps.as_str(),
        "--release",
        "plain",
        "--allow-declared",
        "--set",
        "fail-after=2",
    ])
    .await
    .expect_error(1, &["failing after step 2"]);
    p.cutover(&[
        "abort",
        "plain",
        "--policy",
        steps.as_str(),
        "--allow-declared",
    ])
    .await
    .expect_error(
        2,
        &[
            "release plain is not paused: its latest revision 1 is failed",
            "does not undo its own runs",
            "cutover rollback plain",
        ],
    );
    let out = p.cutover(&["rollback", "plain"]).await;
    out.expect_code(0);
    assert!(out.stdout.contains("Undid the run of revision 1"), "{out}");
    assert!(!out.stdout.contains("by its policy"), "{out}");
    assert_eq!(p.data("steps-made", "step").await, None);
    // The patched key removed again (`data` gives "" for a key the ConfigMap lacks).
    assert_eq!(p.data("steps-base", "patched").await, some(""));
    assert_eq!(p.data("steps-base", "a").await, some("1"));
    p.env.finish().await.expect("cleanup");
}

/// A scenario for the `undoer` guest on a simulated cluster with its base ConfigMaps.
fn scenario(dir: &Path, name: &str, run: &str) {
    let text = format!(
        r#"seed: 1
objects:
  - {{apiVersion: v1, kind: ConfigMap, metadata: {{name: undoer-base, namespace: default}}, data: {{value: original}}}}
run:
  release: undoer
{run}"#
    );
    std::fs::write(dir.join(name), text).expect("write the scenario");
}

#[tokio::test]
async fn scenario_rollback_steps_on_the_simulator() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let object = |name: &str, fields: &str| {
        format!("{{apiVersion: v1, kind: ConfigMap, namespace: default, name: {name}, {fields}}}")
    };
    let made_gone = object("undoer-made", "absent: true");
    let base_back = object("undoer-base", "fields: {data.value: original}");
    let log = |order: &str| {
        object(
            "undoer-log",
            &format!("fields: {{data.order: \"{order}\"}}"),
        )
    };
    scenario(
        dir.path(),
        "by-policy.yaml",
        &format!(
            r#"  params: {{fail-after: 2}}
  then:
    - command: rollback
      expect:
        status: rolled-back
        releaseStatus: failed
        revisions: [failed]
        summary: "undid steps 2,1 (attempt 2)"
        objects: [{made_gone}, {base_back}, {log}]
    - command: rollback
      expect:
        exitCode: 2
        error: "no earlier revision to roll back to"
expect:
  status: failed
  releaseStatus: failed
"#,
            log = log("2,1")
        ),
    );
    scenario(
        dir.path(),
        "journal.yaml",
        &format!(
            r#"  params: {{fail-after: 2}}
  then:
    - command: rollback
      journal: true
      expect:
        status: rolled-back
        releaseStatus: failed
        summary: "undid the run of revision 1 through its journal"
        calls: []
        objects: [{made_gone}, {base_back}, {no_log}]
expect:
  status: failed
"#,
            no_log = object("undoer-log", "absent: true")
        ),
    );
    scenario(
        dir.path(),
        "abort.yaml",
        &format!(
            r#"  params: {{fail-after: 3}}
  then:
    - command: abort
      expect:
        status: rolled-back
        releaseStatus: failed
        objects: [{made_gone}, {base_back}, {log}]
    - command: abort
      expect:
        exitCode: 2
        error: "is not paused: its latest revision 1 is failed, and was rolled back"
expect:
  status: failed
"#,
            log = log("3,2,1")
        ),
    );
    // With a revision number, as before: the failed run undone through its journal, then the
    // release back at revision 1; the policy does not run.
    scenario(
        dir.path(),
        "to-a-revision.yaml",
        &format!(
            r#"  then:
    - command: run
      params: {{fail-after: 2}}
      expect: {{status: failed, revisions: [deployed, failed]}}
    - command: rollback
      revision: 1
      expect:
        status: rolled-back
        releaseStatus: deployed
        revisions: [superseded, failed, deployed]
        calls: []
        objects: [{made_done}, {no_log}]
"#,
            made_done = object("undoer-made", "fields: {data.state: done}"),
            no_log = object("undoer-log", "absent: true")
        ),
    );
    let policy = guest("undoer");
    let dir_arg = dir.path().display().to_string();
    let out = Cutover::sim(&["test", &policy, &dir_arg]).await;
    out.expect_code(0);
    assert!(out.stdout.contains("4 scenarios: 4 passed"), "{out}");
}
