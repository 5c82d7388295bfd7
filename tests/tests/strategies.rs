//! The bundled `canary` and `blue-green` strategies end to end on the real control plane, the
//! test kubelet playing the pods: a canary paused, promoted, then aborted by a failing analysis
//! (a REAL Prometheus scraping a local gauge the test sets); blue-green switched, then aborted.
//! Each failure path ends with what was deployed still serving.
//!
//! Analysis reaches the test's endpoints because the operator names them (`probe-endpoints`):
//! the HTTP server listens on 19281, Prometheus on 19290.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use kube::api::{ListParams, ObjectMeta};
use kube::{Api, ResourceExt};

use cutover_tests::env::SETTLE;
use cutover_tests::manifests::{self, READY_IMAGE};
use cutover_tests::metrics::{MetricsServer, Prometheus};
use cutover_tests::{Output, TestEnv, wait};

const HTTP_PORT: u16 = 19281;
const PROMETHEUS_PORT: u16 = 19290;
const V2: &str = "registry.test/app:2";
const V3: &str = "registry.test/app:3";

/// One test namespace with two nodes, and the commands on it.
struct Cluster {
    env: TestEnv,
    dir: tempfile::TempDir,
}

impl Cluster {
    async fn start(prefix: &str) -> Cluster {
        Cluster {
            env: TestEnv::start(prefix, &["n1", "n2"])
                .await
                .expect("test env"),
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// `cutover <args> -n <namespace>`.
    async fn cutover(&self, args: &[&str]) -> Output {
        let mut all = args.to_vec();
        all.extend(["-n", self.env.namespace()]);
        self.env.cutover(&all).await
    }

    /// `cutover run <policy> -f <values> --allow-declared` for release `<policy>-web` (the
    /// policies' own release template, named because the harness names a release otherwise),
    /// the values written to a file.
    async fn run(&self, policy: &str, values: &str) -> Output {
        let file = self.dir.path().join(format!("{policy}.yaml"));
        std::fs::write(&file, values).expect("writing the values file");
        let file = file.display().to_string();
        let release = format!("{policy}-web");
        self.cutover(&[
            "run",
            policy,
            "-f",
            &file,
            "--release",
            &release,
            "--allow-declared",
        ])
        .await
    }

    /// `cutover status <release> -o json`'s `status`.
    async fn status(&self, release: &str) -> String {
        let out = self.cutover(&["status", release, "-o", "json"]).await;
        out.expect_code(0);
        out.json()["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn deployment(&self, name: &str) -> Option<Deployment> {
        let api: Api<Deployment> = self.env.api();
        api.get_opt(name).await.expect("reading a Deployment")
    }

    /// A Deployment's `(replicas, first container's image)`, or None when it does not exist.
    async fn shape(&self, name: &str) -> Option<(i32, String)> {
        self.deployment(name).await.map(|d| shape(&d))
    }

    async fn selector(&self, service: &str) -> BTreeMap<String, String> {
        let api: Api<Service> = self.env.api();
        api.get(service)
            .await
            .expect("reading a Service")
            .spec
            .and_then(|s| s.selector)
            .unwrap_or_default()
    }

    /// Creates Deployment `name` and waits until all its pods are ready.
    async fn deploy(&self, name: &str, replicas: i32) {
        let deployment = manifests::deployment(self.env.group(), name, replicas, READY_IMAGE);
        self.env
            .create(&deployment)
            .await
            .expect("create a Deployment");
        self.ready(name, replicas).await;
    }

    async fn ready(&self, name: &str, replicas: i32) {
        let api: Api<Deployment> = self.env.api();
        wait::until(&api, name, SETTLE, "every pod ready", |d| {
            let ready = d
                .and_then(|d| d.status.as_ref())
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0);
            if ready == replicas {
                Ok(())
            } else {
                Err(format!("{ready} of {replicas} ready"))
            }
        })
        .await
        .expect("the Deployment becomes ready");
    }

    /// A Service `name` selecting `app=<app>`.
    async fn service(&self, name: &str, app: &str) {
        let service = Service {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            spec: Some(ServiceSpec {
                selector: Some(manifests::app_labels(app)),
                ports: Some(vec![ServicePort {
                    port: 80,
                    ..ServicePort::default()
                }]),
                ..ServiceSpec::default()
            }),
            status: None,
        };
        self.env.create(&service).await.expect("create a Service");
    }
}

fn shape(d: &Deployment) -> (i32, String) {
    let replicas = d.spec.replicas.unwrap_or(1);
    let image = d
        .spec
        .template
        .spec
        .as_ref()
        .and_then(|p| p.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default();
    (replicas, image)
}

#[tokio::test(flavor = "multi_thread")]
async fn canary_pauses_is_promoted_and_a_failing_analysis_aborts_to_stable() {
    let c = Cluster::start("canary").await;
    c.deploy("web", 5).await;

    // 40% of five pods: two canary pods, three stable; then a pause until promoted.
    let out = c
        .run(
            "canary",
            &format!(
                "deployment: web\nimage: [app={V2}]\nsteps: [{{set-weight: 40}}, {{pause: {{}}}}, {{set-weight: 80}}]\n"
            ),
        )
        .await;
    out.expect_code(0);
    assert!(
        out.stdout.contains("cutover promote canary-web"),
        "{}",
        out.abridged()
    );
    assert_eq!(c.status("canary-web").await, "paused");
    assert_eq!(c.shape("web").await, Some((3, READY_IMAGE.to_string())));
    assert_eq!(c.shape("web-canary").await, Some((2, V2.to_string())));
    c.ready("web-canary", 2).await;

    // Promoted: the remaining steps, then the stable takes the new template at full size and
    // the canary is gone.
    let out = c
        .cutover(&["promote", "canary-web", "--allow-declared"])
        .await;
    out.expect_code(0);
    assert_eq!(c.status("canary-web").await, "deployed");
    assert_eq!(c.shape("web").await, Some((5, V2.to_string())));
    assert_eq!(c.shape("web-canary").await, None);
    c.ready("web", 5).await;

    // The next version's error rate, as the real Prometheus scrapes it, is over the
    // threshold: the first measurement fails and the rollout aborts by itself.
    let server = MetricsServer::start(HTTP_PORT);
    server.set(0.5);
    let prometheus = Prometheus::start(PROMETHEUS_PORT, &server);
    prometheus.wait_until_sees(0.5);
    let out = c
        .run(
            "canary",
            &format!(
                "deployment: web\nimage: [app={V3}]\nprobe-endpoints: ['127.0.0.1:{PROMETHEUS_PORT}']\nsteps:\n\
                 - set-weight: 20\n\
                 - analysis:\n    metrics:\n    - name: error-rate\n      \
                 prometheus: {{address: 'http://127.0.0.1:{PROMETHEUS_PORT}', query: probe_test_value}}\n      \
                 success-condition: result[0] < 0.05\n      count: 3\n      interval: 2s\n\
                 - set-weight: 100\n"
            ),
        )
        .await;
    out.expect_error(1, &["analysis error-rate failed: 0.5 >= 0.05"]);
    assert!(
        out.stdout.contains(&format!(
            "Probe endpoints: probe/*:127.0.0.1:{PROMETHEUS_PORT}\n"
        )),
        "the run names the endpoints it may reach: {}",
        out.abridged()
    );
    assert_eq!(c.status("canary-web").await, "failed");
    assert_eq!(
        c.shape("web").await,
        Some((5, V2.to_string())),
        "stable kept"
    );
    assert_eq!(c.shape("web-canary").await, None, "the canary is gone");
    let pods: Api<k8s_openapi::api::core::v1::Pod> = c.env.api();
    let canary_pods = pods
        .list(&ListParams::default().labels("cutover.dev/role=canary"))
        .await
        .expect("listing pods");
    assert!(
        canary_pods.items.is_empty(),
        "no canary pod outlives an abort: {:?}",
        canary_pods
            .items
            .iter()
            .map(|p| p.name_any())
            .collect::<Vec<_>>()
    );

    // An endpoint the operator did not name is refused by the host, not reached.
    let out = c
        .run(
            "canary",
            &format!(
                "deployment: web\nimage: [app={V3}]\nprobe-endpoints: ['127.0.0.1:{HTTP_PORT}']\nsteps:\n\
                 - set-weight: 20\n\
                 - analysis:\n    metrics:\n    - name: error-rate\n      \
                 prometheus: {{address: 'http://127.0.0.1:{PROMETHEUS_PORT}', query: probe_test_value}}\n      \
                 success-condition: result[0] < 0.05\n      consecutive-error-limit: 0\n"
            ),
        )
        .await;
    let denied = format!(
        "denied by cutover: probe/prometheus:127.0.0.1:{PROMETHEUS_PORT} is not among the endpoints this run names in parameter probe-endpoints"
    );
    out.expect_error(1, &[&denied, "aborted"]);
    assert_eq!(
        c.shape("web").await,
        Some((5, V2.to_string())),
        "stable kept"
    );
    assert_eq!(c.shape("web-canary").await, None);

    // A value that is not an endpoint is refused before anything starts.
    c.run(
        "canary",
        &format!("deployment: web\nimage: [app={V3}]\nprobe-endpoints: ['http://127.0.0.1:{PROMETHEUS_PORT}']\n"),
    )
    .await
    .expect_error(2, &["parameter probe-endpoints", "give <host>:<port>"]);
    c.env.finish().await.expect("cleanup");
}

/// The `cutover.dev/version` a Service selects, if any.
fn version(selector: &BTreeMap<String, String>) -> Option<String> {
    selector.get("cutover.dev/version").cloned()
}

/// The Deployments of app `web` other than `web` itself: blue-green's new versions.
async fn new_versions(c: &Cluster) -> Vec<Deployment> {
    let api: Api<Deployment> = c.env.api();
    api.list(&ListParams::default())
        .await
        .expect("listing Deployments")
        .items
        .into_iter()
        .filter(|d| d.name_any() != "web")
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn blue_green_switches_on_promote_and_an_abort_restores_the_active_service() {
    let c = Cluster::start("bluegreen").await;
    c.deploy("web", 3).await;
    c.service("web", "web").await;
    c.service("web-preview", "web").await;
    let values = |image: &str| {
        format!(
            "deployment: web\nactive-service: web\npreview-service: web-preview\nimage: [app={image}]\n\
             auto-promotion-enabled: false\nscale-down-delay: 1s\n"
        )
    };

    // The new version beside the old, the preview Service on it, the active one pinned to the
    // old pods; paused for a person.
    let out = c.run("blue-green", &values(V2)).await;
    out.expect_code(0);
    assert_eq!(c.status("blue-green-web").await, "paused");
    let green = new_versions(&c).await;
    assert_eq!(green.len(), 1, "one new Deployment");
    let green_name = green[0].name_any();
    assert_eq!(shape(&green[0]), (3, V2.to_string()));
    let preview = c.selector("web-preview").await;
    let green_version = version(&preview).expect("the preview selects the new version");
    let active = c.selector("web").await;
    assert_eq!(version(&active), None, "{active:?}");
    assert!(
        active.contains_key("pod-template-hash"),
        "the active Service is pinned to the old pods: {active:?}"
    );
    assert_eq!(c.shape("web").await, Some((3, READY_IMAGE.to_string())));

    // Promoted: the active Service switches to the new version; the old one is scaled down
    // and deleted after the delay.
    let out = c
        .cutover(&["promote", "blue-green-web", "--allow-declared"])
        .await;
    out.expect_code(0);
    assert_eq!(c.status("blue-green-web").await, "deployed");
    let active = c.selector("web").await;
    assert_eq!(version(&active), Some(green_version.clone()), "{active:?}");
    assert_eq!(active.get("app").map(String::as_str), Some("web"));
    assert_eq!(c.shape("web").await, None, "the old version is deleted");
    assert_eq!(c.shape(&green_name).await, Some((3, V2.to_string())));
    let after_promotion = active;
    let preview_after_promotion = c.selector("web-preview").await;

    // The next version, paused, then aborted: the active Service is back exactly as it was,
    // the aborted version is gone, the promoted one still at full size.
    let out = c.run("blue-green", &values(V3)).await;
    out.expect_code(0);
    assert_eq!(c.status("blue-green-web").await, "paused");
    let versions = new_versions(&c).await;
    assert_eq!(versions.len(), 2, "the new version beside the promoted one");
    let out = c
        .cutover(&["abort", "blue-green-web", "--allow-declared"])
        .await;
    assert_eq!(
        out.code,
        Some(1),
        "an aborted rollout fails: {}",
        out.abridged()
    );
    assert_eq!(c.status("blue-green-web").await, "failed");
    assert_eq!(c.selector("web").await, after_promotion);
    assert_eq!(c.selector("web-preview").await, preview_after_promotion);
    let left = new_versions(&c).await;
    assert_eq!(
        left.iter().map(|d| d.name_any()).collect::<Vec<_>>(),
        std::slice::from_ref(&green_name),
        "the aborted version is deleted"
    );
    assert_eq!(c.shape(&green_name).await, Some((3, V2.to_string())));
    let history = c
        .cutover(&["history", "blue-green-web", "-o", "json"])
        .await;
    history.expect_code(0);
    let statuses: Vec<String> = history
        .json()
        .as_array()
        .expect("an array of revisions")
        .iter()
        .map(|r| r["status"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(statuses, ["deployed", "failed"], "{}", history.abridged());
    c.env.finish().await.expect("cleanup");
}
