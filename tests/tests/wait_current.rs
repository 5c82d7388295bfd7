//! End to end: `cluster.wait-current` (kstatus's Current) through the test guest `wait-current`,
//! on the real control plane with the test kubelet, and on the simulator.

use std::path::Path;
use std::time::Duration;

use cutover_tests::env::SETTLE;
use cutover_tests::manifests::{self, NEVER_READY_IMAGE, READY_IMAGE};
use cutover_tests::{Cutover, Output, TestEnv, Watch, guest, wait};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::{ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

/// Exit code of a policy that failed (docs/cli.md).
const POLICY_FAILED: i32 = 1;

/// `cutover run wait-current` on the test plane's namespace, reporting as JSON.
async fn run_on_plane(env: &TestEnv, targets: &[String], timeout: &str) -> Output {
    let guest = guest("wait-current");
    let targets = format!("targets={}", targets.join(","));
    let timeout = format!("timeout={timeout}");
    env.cutover(&[
        "run",
        &guest,
        "-n",
        env.namespace(),
        "--set",
        &targets,
        "--set",
        &timeout,
        "--allow-declared",
        "-o",
        "json",
    ])
    .await
}

/// The custom resource kind of one test: `Widget` in group `<namespace>.cutover.test`, with a
/// status subresource.
struct Widgets {
    crd_name: String,
    resource: ApiResource,
}

impl Widgets {
    async fn create(env: &TestEnv) -> Widgets {
        let group = format!("{}.cutover.test", env.namespace());
        let crd_name = format!("widgets.{group}");
        let crd: CustomResourceDefinition = serde_json::from_value(json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": crd_name, "labels": {cutover_tests::E2E_LABEL: "true"}},
            "spec": {
                "group": group,
                "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
                "scope": "Namespaced",
                "versions": [{
                    "name": "v1", "served": true, "storage": true,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        },
                    }},
                }],
            },
        }))
        .expect("a CustomResourceDefinition");
        let crds: Api<CustomResourceDefinition> = Api::all(env.client.clone());
        crds.create(&PostParams::default(), &crd)
            .await
            .expect("create the CRD");
        wait::until(&crds, &crd_name, SETTLE, "the CRD Established", |crd| {
            let established = crd
                .and_then(|c| c.status.as_ref())
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                });
            if established {
                Ok(())
            } else {
                Err("not Established".into())
            }
        })
        .await
        .expect("the CRD becomes Established");
        let resource = ApiResource {
            group: group.clone(),
            version: "v1".into(),
            api_version: format!("{group}/v1"),
            kind: "Widget".into(),
            plural: "widgets".into(),
        };
        Widgets { crd_name, resource }
    }

    fn api(&self, env: &TestEnv) -> Api<DynamicObject> {
        Api::namespaced_with(env.client.clone(), env.namespace(), &self.resource)
    }

    /// `apiVersion:Widget:name`, as the test guest takes a target.
    fn target(&self, name: &str) -> String {
        format!("{}:Widget:{name}", self.resource.api_version)
    }

    /// Creates widget `name`, then sets its status conditions through the status subresource.
    async fn make(&self, env: &TestEnv, name: &str, conditions: Value) {
        let widget: DynamicObject = serde_json::from_value(json!({
            "apiVersion": self.resource.api_version,
            "kind": "Widget",
            "metadata": {"name": name},
            "spec": {"size": 1},
        }))
        .expect("a Widget");
        self.api(env)
            .create(&PostParams::default(), &widget)
            .await
            .expect("create a Widget");
        self.set_conditions(env, name, conditions).await;
    }

    async fn set_conditions(&self, env: &TestEnv, name: &str, conditions: Value) {
        self.api(env)
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"conditions": conditions}})),
            )
            .await
            .expect("set a Widget's conditions");
    }

    async fn delete(self, env: &TestEnv) {
        let crds: Api<CustomResourceDefinition> = Api::all(env.client.clone());
        let _ = crds.delete(&self.crd_name, &DeleteParams::default()).await;
    }
}

fn condition(kind: &str, status: &str, reason: &str) -> Value {
    json!({"type": kind, "status": status, "reason": reason, "message": format!("{kind} {reason}"),
           "lastTransitionTime": "2026-01-01T00:00:00Z"})
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_current_on_the_control_plane() {
    let env = TestEnv::start("wait-current", &["a"])
        .await
        .expect("test environment");
    let ns = env.namespace().to_string();
    env.create(&manifests::deployment(env.group(), "web", 2, READY_IMAGE))
        .await
        .expect("create Deployment web");
    let mut stuck = manifests::deployment(env.group(), "stuck", 1, NEVER_READY_IMAGE);
    stuck.spec.progress_deadline_seconds = Some(2);
    env.create(&stuck).await.expect("create Deployment stuck");
    let widgets = Widgets::create(&env).await;
    widgets
        .make(&env, "ready", json!([condition("Ready", "True", "Done")]))
        .await;
    widgets
        .make(
            &env,
            "stalled",
            json!([condition("Stalled", "True", "BadSpec")]),
        )
        .await;
    widgets
        .make(
            &env,
            "pending",
            json!([condition("Ready", "False", "Provisioning")]),
        )
        .await;

    // A Deployment that becomes Current (its pods are played Ready after the run starts
    // waiting, or before: either way the run ends when it is), and a Ready custom resource.
    let out = run_on_plane(
        &env,
        &["apps/v1:Deployment:web".into(), widgets.target("ready")],
        "90s",
    )
    .await;
    out.expect_code(0);
    assert_eq!(out.json()["status"], "succeeded", "{out}");
    assert_eq!(out.json()["summary"], "2 object(s) Current", "{out}");
    let web: Api<Deployment> = env.api();
    let web = web.get("web").await.expect("read web");
    assert_eq!(
        web.status.as_ref().and_then(|s| s.available_replicas),
        Some(2),
        "the run ended before web was available"
    );

    // Progress deadline passed: Failed, so aborted long before the 5-minute timeout.
    let out = run_on_plane(&env, &["apps/v1:Deployment:stuck".into()], "5m").await;
    let line = out.expect_error(
        POLICY_FAILED,
        &[
            "(aborted)",
            &format!("deployment {ns}/stuck is Failed"),
            "progress deadline exceeded",
        ],
    );
    // Aborted at once, not a timeout of the wait (the Deployment's own reason says "timed out progressing").
    assert!(
        !line.contains("(timeout)") && !line.contains("not Current"),
        "{out}"
    );

    // Stalled=True on a custom resource: Failed.
    let out = run_on_plane(
        &env,
        &[widgets.target("ready"), widgets.target("stalled")],
        "5m",
    )
    .await;
    out.expect_error(
        POLICY_FAILED,
        &[
            "(aborted)",
            &format!("widget {ns}/stalled is Failed"),
            "Stalled: BadSpec",
        ],
    );

    // A timeout names what is not Current, each with its status; not what is.
    let out = run_on_plane(
        &env,
        &[
            "apps/v1:Deployment:web".into(),
            widgets.target("pending"),
            "v1:ConfigMap:absent".into(),
        ],
        "3s",
    )
    .await;
    let line = out.expect_error(
        POLICY_FAILED,
        &[
            "(timeout)",
            "2 of 3 object(s)",
            &format!("widget {ns}/pending (InProgress: not Ready: Provisioning"),
            &format!("configmap {ns}/absent (NotFound: it does not exist)"),
        ],
    );
    assert!(!line.contains("deployment"), "{out}");

    // The watch sees a change: Ready=False becomes True while the run waits.
    let guest = guest("wait-current");
    let targets = format!("targets={}", widgets.target("pending"));
    let running = Cutover::spawn(
        &[
            "run",
            &guest,
            "-n",
            &ns,
            "--set",
            &targets,
            "--set",
            "timeout=90s",
            "--allow-declared",
            "-o",
            "json",
        ],
        env.kubeconfig(),
        Watch::default(),
    );
    assert!(
        running
            .wait_for_output("waiting for 1 object(s)", Duration::from_secs(60))
            .await
            .is_some(),
        "the run did not start waiting"
    );
    widgets
        .set_conditions(&env, "pending", json!([condition("Ready", "True", "Done")]))
        .await;
    let finished = running.finish().await;
    finished.output.expect_code(0);

    widgets.delete(&env).await;
    env.finish().await.expect("cleanup");
}

/// A scenario of namespace shop with Deployments `web` and `web2` that roll out and `stuck`,
/// whose pods never become ready, with a progress deadline of 30 s.
const SCENARIO: &str = r#"nodes: 3
objects:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, namespace: shop}
    spec:
      replicas: 3
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers: [{name: web, image: "example.com/web:1"}]
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web2, namespace: shop}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web2}}
      template:
        metadata: {labels: {app: web2}}
        spec:
          containers: [{name: web, image: "example.com/web:1"}]
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: stuck, namespace: shop}
    spec:
      replicas: 1
      progressDeadlineSeconds: 30
      selector: {matchLabels: {app: stuck}}
      template:
        metadata: {labels: {app: stuck}}
        spec:
          containers: [{name: web, image: "example.com/never-ready:1"}]
"#;

async fn run_on_sim(scenario: &Path, targets: &str, timeout: &str) -> Output {
    let guest = guest("wait-current");
    let scenario = scenario.display().to_string();
    let targets = format!("targets={targets}");
    let timeout = format!("timeout={timeout}");
    Cutover::sim(&[
        "run",
        &guest,
        "--sim",
        &scenario,
        "-n",
        "shop",
        "--set",
        &targets,
        "--set",
        &timeout,
        "--allow-declared",
        "-o",
        "json",
    ])
    .await
}

#[tokio::test]
async fn wait_current_on_the_simulator() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let scenario = dir.path().join("scenario.yaml");
    std::fs::write(&scenario, SCENARIO).expect("writing the scenario");

    // Two Deployments of one namespace (one watch) roll out, on virtual time.
    let out = run_on_sim(
        &scenario,
        "apps/v1:Deployment:web,apps/v1:Deployment:web2",
        "10m",
    )
    .await;
    out.expect_code(0);
    assert_eq!(out.json()["summary"], "2 object(s) Current", "{out}");

    // Recorded on the tape with its targets, and replayed from it.
    let tape = dir.path().join("tape.json").display().to_string();
    let guest_path = guest("wait-current");
    let scenario_path = scenario.display().to_string();
    Cutover::sim(&[
        "run",
        &guest_path,
        "--sim",
        &scenario_path,
        "-n",
        "shop",
        "--set",
        "targets=apps/v1:Deployment:web",
        "--allow-declared",
        "--record",
        &tape,
    ])
    .await
    .expect_code(0);
    let recorded: Value =
        serde_json::from_str(&std::fs::read_to_string(&tape).expect("the tape")).expect("JSON");
    let call = recorded["calls"]
        .as_array()
        .and_then(|calls| calls.iter().find(|c| c["call"] == "cluster.wait-current"))
        .expect("the wait-current call on the tape");
    assert_eq!(call["args"]["targets"][0]["name"], "web", "{call}");
    assert_eq!(call["answer"], json!({"ok": null}), "{call}");
    Cutover::sim(&["test", "--replay", &tape, &guest_path])
        .await
        .expect_code(0);

    // The progress deadline passes: aborted at the deadline, not at the 10-minute timeout.
    let out = run_on_sim(
        &scenario,
        "apps/v1:Deployment:web,apps/v1:Deployment:stuck",
        "10m",
    )
    .await;
    out.expect_error(
        POLICY_FAILED,
        &[
            "(aborted)",
            "deployment shop/stuck is Failed",
            "progress deadline exceeded",
        ],
    );
    let simulated = out.json()["simulatedMs"].as_u64().expect("simulatedMs");
    assert!(
        simulated < 600_000,
        "aborted after {simulated} ms of simulated time, not before the timeout\n{out}"
    );

    // A timeout names what is not Current.
    let out = run_on_sim(
        &scenario,
        "apps/v1:Deployment:web,v1:ConfigMap:absent",
        "20s",
    )
    .await;
    out.expect_error(
        POLICY_FAILED,
        &[
            "(timeout)",
            "timed out after 20s",
            "configmap shop/absent (NotFound: it does not exist)",
        ],
    );
}

/// Not on a terminal, a run prints plain lines as it always has (no display, no escape
/// sequences), and `-o json` lists the policy's progress events.
#[tokio::test]
async fn plain_lines_off_a_terminal_and_progress_in_json() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let scenario = dir.path().join("scenario.yaml");
    std::fs::write(&scenario, SCENARIO).expect("writing the scenario");
    let guest = guest("wait-current");
    let scenario = scenario.display().to_string();
    let args = [
        "run",
        &guest,
        "--sim",
        &scenario,
        "-n",
        "shop",
        "--set",
        "targets=apps/v1:Deployment:web,apps/v1:Deployment:web2",
        "--allow-declared",
    ];
    let out = Cutover::sim(&args).await;
    out.expect_code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    assert!(
        lines[0].starts_with("Target: simulator (scenario "),
        "{out}"
    );
    assert_eq!(
        lines[1], "Running wait-current@0.1.0 for release wait-current, revision 1",
        "{out}"
    );
    assert_eq!(lines[2], "[1/1] waiting for 2 object(s)", "{out}");
    assert!(
        lines[3].starts_with("Succeeded in ") && lines[3].ends_with(": 2 object(s) Current"),
        "{out}"
    );
    assert!(lines[4].starts_with("Simulated time: "), "{out}");
    assert_eq!(
        lines[5], "Release wait-current: revision 1 deployed",
        "{out}"
    );
    assert!(!out.stdout.contains('\u{1b}'), "{out}");
    assert!(!out.stdout.contains('\r'), "{out}");

    let mut json_args = args.to_vec();
    json_args.extend(["-o", "json"]);
    let out = Cutover::sim(&json_args).await;
    out.expect_code(0);
    assert_eq!(
        out.json()["progress"],
        json!([{"step": 1, "total": 1, "message": "waiting for 2 object(s)"}]),
        "{out}"
    );
    assert_eq!(out.json()["progressDropped"], 0, "{out}");
    // The progress line still goes to stderr, as before.
    assert!(
        out.stderr
            .lines()
            .any(|l| l == "[1/1] waiting for 2 object(s)"),
        "{out}"
    );
}
