//! End to end: the bundled `atomic` strategy (Helm's `upgrade --install --rollback-on-failure
//! --wait`) on the real control plane with `helm create`'s chart: installed with a values file,
//! planned by a dry run, upgraded (pruning what the new values drop), a failing upgrade undone,
//! rolled back to revision 1; plain manifests from standard input; a failed first install that
//! leaves nothing behind.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Service, ServiceAccount};
use kube::Api;
use kube::api::ListParams;
use serde_json::{Value, json};

use cutover_tests::env::SETTLE;
use cutover_tests::{Cutover, GROUP_LABEL, Output, TestEnv, exit, wait};

/// `helm create mychart`; release `web` names its objects `web-mychart`.
const CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../chart/testdata/mychart");
/// The chart's appVersion, its image tag by default.
const IMAGE: &str = "nginx:1.16.0";
/// `--timeout` of the runs whose image never becomes Ready: each takes about this long, most
/// of it waiting; applying the chart takes well under a second.
const FAILING_TIMEOUT: &str = "15s";

/// One namespace, its nodes, and two values files: `base.yaml` pins the chart's pods to the
/// test's nodes (the scheduler would otherwise use any test's); `values.yaml` adds
/// `replicaCount: 2`.
struct Atomic {
    env: TestEnv,
    _dir: tempfile::TempDir,
    base: String,
    values: String,
}

impl Atomic {
    async fn start() -> Atomic {
        let env = TestEnv::start("atomic", &["n1"]).await.expect("test env");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let pin = format!("nodeSelector:\n  {GROUP_LABEL}: {}\n", env.group());
        let base = dir.path().join("base.yaml");
        let values = dir.path().join("values.yaml");
        std::fs::write(&base, &pin).expect("write base.yaml");
        std::fs::write(&values, format!("replicaCount: 2\n{pin}")).expect("write values.yaml");
        Atomic {
            env,
            base: base.display().to_string(),
            values: values.display().to_string(),
            _dir: dir,
        }
    }

    fn ns(&self) -> &str {
        self.env.namespace()
    }

    /// `cutover <args> -n <namespace>`.
    async fn cutover(&self, args: &[&str]) -> Output {
        let mut all = args.to_vec();
        all.extend(["-n", self.ns()]);
        self.env.cutover(&all).await
    }

    /// `cutover run atomic <chart> --release <release> --allow-declared <extra>`.
    async fn chart(&self, release: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            "run",
            "atomic",
            CHART,
            "--release",
            release,
            "--allow-declared",
        ];
        args.extend(extra);
        self.cutover(&args).await
    }

    /// `(revision, status, description)` of each revision, oldest first.
    async fn history(&self, release: &str) -> Vec<(u64, String, String)> {
        let out = self.cutover(&["history", release, "-o", "json"]).await;
        out.expect_code(exit::OK);
        out.json()
            .as_array()
            .expect("an array of revisions")
            .iter()
            .map(|r| {
                let text = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                (
                    r["revision"].as_u64().unwrap_or(0),
                    text("status"),
                    text("description"),
                )
            })
            .collect()
    }

    /// `(revision, status)` of each revision, oldest first.
    async fn statuses(&self, release: &str) -> Vec<(u64, String)> {
        self.history(release)
            .await
            .into_iter()
            .map(|(n, s, _)| (n, s))
            .collect()
    }

    /// `cutover get values <release> [--revision N]`, its YAML (the default output) parsed.
    async fn values(&self, release: &str, revision: Option<&str>) -> Value {
        let mut args = vec!["get", "values", release];
        if let Some(n) = revision {
            args.extend(["--revision", n]);
        }
        let out = self.cutover(&args).await;
        out.expect_code(exit::OK);
        match serde_saphyr::from_str(&out.stdout) {
            Ok(value) => value,
            Err(e) => panic!("`get values` printed no YAML: {e}\n{out}"),
        }
    }

    /// The values every run gives, with `more` merged in at the top level.
    fn given(&self, more: Value) -> Value {
        let mut values = json!({"nodeSelector": {GROUP_LABEL: self.env.group()}});
        if let (Some(values), Value::Object(more)) = (values.as_object_mut(), more) {
            values.extend(more);
        }
        values
    }

    async fn deployment(&self, name: &str) -> Option<Deployment> {
        self.env
            .api::<Deployment>()
            .get_opt(name)
            .await
            .expect("read the Deployment")
    }

    /// `(replicas, image, serviceAccountName)` of the live Deployment.
    async fn shape(&self, name: &str) -> (Option<i32>, Option<String>, Option<String>) {
        let deployment = self.deployment(name).await;
        let Some(spec) = deployment.map(|d| d.spec) else {
            panic!("Deployment {name} is not there");
        };
        let pod = spec.template.spec.unwrap_or_default();
        (
            spec.replicas,
            pod.containers.first().and_then(|c| c.image.clone()),
            pod.service_account_name,
        )
    }

    async fn service_account(&self, name: &str) -> Option<ServiceAccount> {
        self.env
            .api::<ServiceAccount>()
            .get_opt(name)
            .await
            .expect("read the ServiceAccount")
    }

    async fn service(&self, name: &str) -> Option<Service> {
        self.env
            .api::<Service>()
            .get_opt(name)
            .await
            .expect("read the Service")
    }

    /// The release's own Secrets: its revisions and their journals.
    async fn release_secrets(&self, release: &str) -> Vec<String> {
        let secrets: Api<Secret> = self.env.api();
        let labels = format!("owner=cutover,name={release}");
        secrets
            .list(&ListParams::default().labels(&labels))
            .await
            .expect("list the release's Secrets")
            .items
            .into_iter()
            .filter_map(|s| s.metadata.name)
            .collect()
    }
}

fn shape(
    replicas: i32,
    image: &str,
    account: &str,
) -> (Option<i32>, Option<String>, Option<String>) {
    (Some(replicas), Some(image.into()), Some(account.into()))
}

fn statuses(pairs: &[(u64, &str)]) -> Vec<(u64, String)> {
    pairs.iter().map(|(n, s)| (*n, s.to_string())).collect()
}

/// Whether stdout has the policy's log line `info: <line>` exactly.
fn logged(out: &Output, line: &str) -> bool {
    out.stdout
        .lines()
        .any(|l| l.trim_start().strip_prefix("info: ") == Some(line))
}

/// Whether the dry run's diff has a line `sign` (`-` or `+`) then `text`, indentation aside.
fn diff_line(out: &Output, sign: char, text: &str) -> bool {
    out.stdout.lines().any(|l| {
        l.trim_start()
            .strip_prefix("info:   ")
            .and_then(|d| d.strip_prefix(sign))
            .is_some_and(|d| d.trim() == text)
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chart_installed_planned_upgraded_undone_and_rolled_back() {
    let a = Atomic::start().await;
    let ns = a.ns().to_string();
    let (base, values) = (a.base.as_str(), a.values.as_str());
    let deployments: Api<Deployment> = a.env.api();

    // 1. Install: the chart's three objects, waited for; its test hook never installed.
    let out = a.chart("web", &["-f", values]).await;
    out.expect_code(exit::OK);
    for line in [
        "installed web (revision 1): 3 objects applied and Current",
        "Release web: revision 1 deployed",
    ] {
        assert!(out.stdout.contains(line), "{line:?} missing\n{out}");
    }
    assert!(
        logged(&out, "1 test hook not installed (run by `helm test`)"),
        "{out}"
    );
    assert_eq!(a.shape("web-mychart").await, shape(2, IMAGE, "web-mychart"));
    // --wait: the run ended once both replicas were available.
    let available = a
        .deployment("web-mychart")
        .await
        .and_then(|d| d.status)
        .and_then(|s| s.available_replicas);
    assert_eq!(available, Some(2), "the run returned before the rollout");
    assert!(a.service("web-mychart").await.is_some());
    assert!(a.service_account("web-mychart").await.is_some());
    let pods: Api<Pod> = a.env.api();
    let test_pod = pods
        .get_opt("web-mychart-test-connection")
        .await
        .expect("read pods");
    assert!(test_pod.is_none(), "the test hook was installed");
    assert_eq!(a.statuses("web").await, statuses(&[(1, "deployed")]));
    assert_eq!(
        a.values("web", None).await,
        a.given(json!({"replicaCount": 2}))
    );

    // 2. A dry run of the upgrade prints the plan and changes nothing. It reads the history
    // (docs/strategies.md, "Dry run"), so the plan is an upgrade's, with its deletion.
    let upgrade = ["-f", base, "--set", "serviceAccount.create=false"];
    let mut dry = upgrade.to_vec();
    dry.push("--dry-run");
    let out = a.chart("web", &dry).await;
    out.expect_code(exit::OK);
    for line in [
        format!("unchanged Service {ns}/web-mychart"),
        format!("change Deployment {ns}/web-mychart:"),
        format!("delete ServiceAccount {ns}/web-mychart"),
        "plan: 0 to create, 1 to change, 1 to delete".to_string(),
    ] {
        assert!(logged(&out, &line), "{line:?} not logged\n{out}");
    }
    assert!(
        out.stdout
            .contains("plan: 0 to create, 1 to change, 1 to delete (dry run)"),
        "{out}"
    );
    for (sign, text) in [
        ('-', "replicas: 2"),
        ('+', "replicas: 1"),
        ('-', "serviceAccountName: web-mychart"),
        ('+', "serviceAccountName: default"),
    ] {
        assert!(
            diff_line(&out, sign, text),
            "no {sign}{text} in the diff\n{out}"
        );
    }
    assert!(a.service_account("web-mychart").await.is_some());
    assert_eq!(a.shape("web-mychart").await, shape(2, IMAGE, "web-mychart"));
    assert_eq!(a.statuses("web").await, statuses(&[(1, "deployed")]));

    // 3. The upgrade: the ServiceAccount the new values drop is pruned. Values given replace
    // the last ones (Helm's rule without --reuse-values): replicaCount is the chart's 1 again.
    let out = a.chart("web", &upgrade).await;
    out.expect_code(exit::OK);
    for line in [
        "upgraded web (revision 2): 2 objects applied and Current, 1 object deleted",
        "Release web: revision 2 deployed",
    ] {
        assert!(out.stdout.contains(line), "{line:?} missing\n{out}");
    }
    assert!(
        logged(&out, &format!("deleted ServiceAccount {ns}/web-mychart")),
        "{out}"
    );
    assert!(a.service_account("web-mychart").await.is_none());
    assert_eq!(a.shape("web-mychart").await, shape(1, IMAGE, "default"));
    assert_eq!(
        a.statuses("web").await,
        statuses(&[(1, "superseded"), (2, "deployed")])
    );
    let rev2 = a.given(json!({"serviceAccount": {"create": false}}));
    assert_eq!(a.values("web", None).await, rev2);

    // 4. An upgrade whose pods never become Ready fails at its timeout and is undone (the
    // manifest's rollbackOnFailure): revision 2's objects as they were, revision 3 failed.
    let out = a
        .chart(
            "web",
            &[
                "--reuse-values",
                "--set",
                "image.tag=never-ready",
                "--timeout",
                FAILING_TIMEOUT,
                "-o",
                "json",
            ],
        )
        .await;
    let deployment = format!("deployment {ns}/web-mychart");
    out.expect_error(
        exit::POLICY_FAILED,
        &["atomic failed", "timed out", "to be Current", &deployment],
    );
    let report = out.json();
    assert_eq!(
        (
            report["status"].as_str(),
            report["revision"].as_u64(),
            report["releaseStatus"].as_str(),
            report["releaseRemoved"].as_bool(),
        ),
        (Some("failed"), Some(3), Some("failed"), Some(false)),
        "{report}"
    );
    let undo = &report["undo"];
    assert_eq!(
        (&undo["conflicts"], &undo["failed"]),
        (&json!([]), &json!([])),
        "{report}"
    );
    let restored = undo["undone"].as_array().is_some_and(|u| {
        u.iter().filter_map(Value::as_str).any(|line| {
            line.starts_with(&format!("apply {deployment}:")) && line.ends_with(": restored")
        })
    });
    assert!(restored, "the Deployment was not restored: {report}");
    assert_eq!(a.shape("web-mychart").await, shape(1, IMAGE, "default"));
    assert!(a.service_account("web-mychart").await.is_none());
    wait::deployment_rolled_out(&deployments, "web-mychart", 1, SETTLE)
        .await
        .expect("revision 2's pods serve again");
    assert_eq!(
        a.statuses("web").await,
        statuses(&[(1, "superseded"), (2, "deployed"), (3, "failed")])
    );
    // --reuse-values merged the new value over revision 2's.
    let mut rev3 = rev2.clone();
    rev3["image"] = json!({"tag": "never-ready"});
    assert_eq!(a.values("web", Some("3")).await, rev3);

    // 5. Back to revision 1: its ServiceAccount again, its Deployment; a revision of its own.
    let out = a.cutover(&["rollback", "web", "1"]).await;
    out.expect_code(exit::OK);
    assert!(
        out.stdout
            .contains("Rolled back release web to revision 1: revision 4 deployed"),
        "{out}"
    );
    assert!(a.service_account("web-mychart").await.is_some());
    assert_eq!(a.shape("web-mychart").await, shape(2, IMAGE, "web-mychart"));
    wait::deployment_rolled_out(&deployments, "web-mychart", 2, SETTLE)
        .await
        .expect("revision 1's two replicas");
    let history = a.history("web").await;
    assert_eq!(
        history
            .iter()
            .map(|(n, s, _)| (*n, s.as_str()))
            .collect::<Vec<_>>(),
        [
            (1, "superseded"),
            (2, "superseded"),
            (3, "failed"),
            (4, "deployed")
        ],
        "{history:?}"
    );
    assert!(
        history[2].2.starts_with("Failed (timeout): ") && history[2].2.contains("rolled back"),
        "{history:?}"
    );
    assert_eq!(history[3].2, "Rollback to 1", "{history:?}");
    // The rollback revision runs with revision 1's values: what an upgrade giving none keeps.
    assert_eq!(
        a.values("web", None).await,
        a.given(json!({"replicaCount": 2}))
    );

    manifests_from_stdin(&a).await;
    a_failed_first_install_leaves_nothing(&a).await;
    a.env.finish().await.expect("cleanup");
}

/// 6. `helm template ... | cutover run atomic -`: plain manifests from standard input.
async fn manifests_from_stdin(a: &Atomic) {
    const CONFIG_MAP: &str = "\
---
# Source: cm/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: blue
";
    let args = [
        "run",
        "atomic",
        "-",
        "--release",
        "cm",
        "--allow-declared",
        "-n",
        a.ns(),
    ];
    let out = Cutover::run_with_stdin(&args, a.env.kubeconfig(), CONFIG_MAP.as_bytes()).await;
    out.expect_code(exit::OK);
    assert!(
        out.stdout
            .contains("installed cm (revision 1): 1 object applied and Current"),
        "{out}"
    );
    let config_maps: Api<ConfigMap> = a.env.api();
    let settings = config_maps
        .get("settings")
        .await
        .expect("ConfigMap settings");
    assert_eq!(
        settings
            .data
            .and_then(|d| d.get("mode").cloned())
            .as_deref(),
        Some("blue")
    );
    assert_eq!(a.statuses("cm").await, statuses(&[(1, "deployed")]));
}

/// 7. A first install that fails is undone whole: its objects and its revision removed.
async fn a_failed_first_install_leaves_nothing(a: &Atomic) {
    let out = a
        .chart(
            "bad",
            &[
                "-f",
                &a.base,
                "--set",
                "image.tag=never-ready",
                "--timeout",
                FAILING_TIMEOUT,
                "-o",
                "json",
            ],
        )
        .await;
    let ns = a.ns();
    out.expect_error(
        exit::POLICY_FAILED,
        &[
            "atomic failed",
            "timed out",
            &format!("deployment {ns}/bad-mychart"),
        ],
    );
    let report = out.json();
    assert_eq!(
        (
            report["status"].as_str(),
            report["releaseRemoved"].as_bool()
        ),
        (Some("failed"), Some(true)),
        "{report}"
    );
    let mut undone: Vec<&str> = report["undo"]["undone"]
        .as_array()
        .map(|u| u.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    undone.sort_unstable();
    assert_eq!(
        undone,
        [
            format!("create deployment {ns}/bad-mychart: deleted"),
            format!("create service {ns}/bad-mychart: deleted"),
            format!("create serviceaccount {ns}/bad-mychart: deleted"),
        ],
        "{report}"
    );
    assert!(a.deployment("bad-mychart").await.is_none());
    assert!(a.service("bad-mychart").await.is_none());
    assert!(a.service_account("bad-mychart").await.is_none());
    assert_eq!(a.release_secrets("bad").await, Vec::<String>::new());
    a.cutover(&["history", "bad"])
        .await
        .expect_error(exit::BAD_INPUT, &["release bad not found"]);
    // The release starts again as an install.
    let again = a.chart("bad", &["-f", &a.base]).await;
    again.expect_code(exit::OK);
    assert!(
        again
            .stdout
            .contains("installed bad (revision 1): 3 objects applied and Current"),
        "{again}"
    );
}
