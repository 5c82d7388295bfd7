//! Releases end to end, on `cutover sim serve` and on the real control plane: the CLI killed
//! at every mutation of a multi-step policy (before and after its request) ends deployed after
//! `resume` or reverted after `rollback`, never pending; the lock refuses a second run and is
//! taken over once stale; a body over the Secret limit is split and read back; a failed first
//! install with `--rollback-on-failure` leaves nothing; `--history-max` keeps the deployed
//! revision; and history, status, get, list, rollback and uninstall on the real API server.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Secret};
use kube::api::{DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

use cutover_tests::{Cutover, Output, SimServe, TestEnv, Watch, guest};

/// Where a test's releases live: the simulator over HTTP, or the real control plane.
struct Plane {
    kubeconfig: PathBuf,
    client: Client,
    namespace: String,
    node: String,
    /// Keeps the simulator (or the test's namespace and nodes) alive.
    keep: Keep,
}

enum Keep {
    Sim(
        #[allow(dead_code)] SimServe,
        #[allow(dead_code)] tempfile::TempDir,
    ),
    Real(TestEnv),
}

/// The world the `steps` guest changes, as the assertions compare it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct World {
    base: BTreeMap<String, String>,
    base_annotated: bool,
    old: bool,
    made: Option<String>,
    replicas: i32,
    cordoned: bool,
}

/// Before any step.
fn initial() -> World {
    World {
        base: BTreeMap::from([("a".into(), "1".into())]),
        base_annotated: false,
        old: true,
        made: None,
        replicas: 1,
        cordoned: false,
    }
}

/// After all six.
fn finished() -> World {
    World {
        base: BTreeMap::from([("a".into(), "1".into()), ("patched".into(), "yes".into())]),
        base_annotated: true,
        old: false,
        made: Some("6".into()),
        replicas: 3,
        cordoned: true,
    }
}

impl Plane {
    async fn sim() -> Plane {
        let dir = tempfile::tempdir().expect("scratch dir");
        let sim = SimServe::start(dir.path(), None).await;
        let client = cutover_tests::control_plane::client_from(&sim.kubeconfig)
            .await
            .expect("client for the simulator");
        let namespace = "releases".to_string();
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(namespace.clone()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        namespaces
            .create(&PostParams::default(), &ns)
            .await
            .expect("namespace");
        let plane = Plane {
            kubeconfig: sim.kubeconfig.clone(),
            client,
            namespace,
            node: "node-1".into(),
            keep: Keep::Sim(sim, dir),
        };
        plane.deployment().await;
        plane
    }

    async fn real(prefix: &str) -> Plane {
        let env = TestEnv::start(prefix, &["n1"]).await.expect("test env");
        let plane = Plane {
            kubeconfig: env.kubeconfig().to_path_buf(),
            client: env.client.clone(),
            namespace: env.namespace().to_string(),
            node: env.node("n1"),
            keep: Keep::Real(env),
        };
        plane.deployment().await;
        plane
    }

    async fn finish(self) {
        if let Keep::Real(env) = self.keep {
            env.finish().await.expect("cleanup");
        }
    }

    fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = args.to_vec();
        all.extend(["-n", self.namespace.as_str()]);
        all
    }

    async fn cutover(&self, args: &[&str]) -> Output {
        Cutover::run(&self.args(args), &self.kubeconfig).await
    }

    /// `cutover run steps` for `release`, with more `--set`s.
    async fn steps(&self, release: &str, extra: &[&str]) -> Output {
        let steps = guest("steps");
        let node = format!("node={}", self.node);
        let mut args = vec![
            "run",
            steps.as_str(),
            "--release",
            release,
            "--allow-declared",
            "--set",
            node.as_str(),
        ];
        args.extend(extra);
        self.cutover(&args).await
    }

    /// The same run, killed at `point` (`3:after`) by the test hook.
    async fn crashed(&self, release: &str, point: &str) -> Output {
        let steps = guest("steps");
        let node = format!("node={}", self.node);
        let args = [
            "run",
            steps.as_str(),
            "--release",
            release,
            "--allow-declared",
            "--set",
            node.as_str(),
        ];
        let mut command = Cutover::command(&self.args(&args), &self.kubeconfig);
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

    async fn status(&self, release: &str) -> serde_json::Value {
        let out = self.cutover(&["status", release, "-o", "json"]).await;
        out.expect_code(0);
        out.json()
    }

    fn config_maps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    async fn deployment(&self) {
        let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), &self.namespace);
        let web: Deployment = serde_json::from_value(json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "nodeSelector": {"cutover.test/none": "none"},
                        "containers": [{"name": "web", "image": "nginx:1.27"}],
                    },
                },
            },
        }))
        .expect("deployment");
        deployments
            .create(&PostParams::default(), &web)
            .await
            .expect("create deployment web");
    }

    /// Puts the world back as [`initial`] has it.
    async fn reset(&self) {
        let cms = self.config_maps();
        for name in ["steps-base", "steps-old", "steps-made"] {
            let _ = cms.delete(name, &DeleteParams::default()).await;
        }
        for (name, key, value) in [("steps-base", "a", "1"), ("steps-old", "old", "yes")] {
            let cm = ConfigMap {
                metadata: ObjectMeta {
                    name: Some(name.into()),
                    ..ObjectMeta::default()
                },
                data: Some(BTreeMap::from([(key.to_string(), value.to_string())])),
                ..ConfigMap::default()
            };
            cms.create(&PostParams::default(), &cm)
                .await
                .expect("config map");
        }
        let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), &self.namespace);
        deployments
            .patch(
                "web",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": 1}})),
            )
            .await
            .expect("scale web to 1");
        let nodes: Api<Node> = Api::all(self.client.clone());
        nodes
            .patch(
                &self.node,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"unschedulable": null}})),
            )
            .await
            .expect("uncordon");
        assert_eq!(self.world().await, initial(), "the reset world");
    }

    async fn world(&self) -> World {
        let cms = self.config_maps();
        let base = cms.get("steps-base").await.expect("steps-base");
        let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), &self.namespace);
        let web = deployments.get("web").await.expect("web");
        let nodes: Api<Node> = Api::all(self.client.clone());
        let node = nodes.get(&self.node).await.expect("node");
        World {
            base: base.data.clone().unwrap_or_default(),
            base_annotated: base
                .metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key("steps/at")),
            old: cms.get_opt("steps-old").await.expect("read").is_some(),
            made: cms
                .get_opt("steps-made")
                .await
                .expect("read")
                .and_then(|c| c.data?.get("step").cloned()),
            replicas: web.spec.replicas.unwrap_or_default(),
            cordoned: node.spec.and_then(|s| s.unschedulable).unwrap_or(false),
        }
    }

    /// The Secrets of `release` (revisions and their parts).
    async fn secrets(&self, release: &str) -> Vec<Secret> {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        secrets
            .list(&ListParams::default().labels(&format!("owner=cutover,name={release}")))
            .await
            .expect("list secrets")
            .items
    }

    /// Starts `steps` for `release`, sleeping `hold_ms` first while it holds the release, and
    /// returns the running command and its lease once it has taken it.
    async fn holding(
        &self,
        release: &str,
        hold_ms: u64,
    ) -> (tokio::task::JoinHandle<Output>, Lease) {
        let steps = guest("steps");
        let node = format!("node={}", self.node);
        let hold = format!("hold-ms={hold_ms}");
        let args: Vec<String> = self
            .args(&[
                "run",
                &steps,
                "--release",
                release,
                "--allow-declared",
                "--set",
                &node,
                "--set",
                &hold,
            ])
            .into_iter()
            .map(str::to_string)
            .collect();
        let kubeconfig = self.kubeconfig.clone();
        let running = tokio::spawn(async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            Cutover::run(&args, &kubeconfig).await
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(lease) = self.lease(release).await {
                return (running, lease);
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the run never took the lock"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn lease(&self, release: &str) -> Option<Lease> {
        let leases: Api<Lease> = Api::namespaced(self.client.clone(), &self.namespace);
        leases
            .get_opt(&format!("cutover.release.v1.{release}"))
            .await
            .expect("read lease")
    }
}

/// Kills the CLI before and after the request of each of the six changes; each case is then
/// resumed (and must end deployed with every step done) or rolled back (and must end reverted
/// with the world as it was), never left pending.
async fn crash_at_every_mutation(plane: &Plane) {
    for step in 1..=6 {
        for when in ["before", "after"] {
            for then in ["resume", "rollback"] {
                let release = format!("crash-{step}-{when}-{then}");
                let case = format!("killed {when} change {step}, then {then}");
                plane.reset().await;
                let out = plane.crashed(&release, &format!("{step}:{when}")).await;
                assert_eq!(
                    out.code,
                    None,
                    "{case}: the run was killed\n{}",
                    out.abridged()
                );
                let status = plane.status(&release).await;
                assert_eq!(status["interrupted"], true, "{case}: {status}");
                assert_eq!(status["status"], "pending-install", "{case}: {status}");
                plane
                    .steps(&release, &[])
                    .await
                    .expect_error(6, &["interrupted", "cutover resume", "cutover rollback"]);
                if then == "resume" {
                    let out = plane
                        .cutover(&[
                            "resume",
                            &release,
                            "--allow-declared",
                            "--policy",
                            &guest("steps"),
                        ])
                        .await;
                    out.expect_code(0);
                    assert!(
                        out.stdout.contains("attempt 2"),
                        "{case}: {}",
                        out.abridged()
                    );
                    let status = plane.status(&release).await;
                    assert_eq!(status["status"], "deployed", "{case}: {status}");
                    assert_eq!(plane.world().await, finished(), "{case}");
                } else {
                    let out = plane.cutover(&["rollback", &release]).await;
                    out.expect_code(0);
                    let status = plane.status(&release).await;
                    assert_eq!(status["status"], "failed", "{case}: {status}");
                    assert_eq!(status["interrupted"], false, "{case}: {status}");
                    assert_eq!(plane.world().await, initial(), "{case}");
                }
                assert!(
                    plane.lease(&release).await.is_none(),
                    "{case}: the lock was released"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_crash_at_every_mutation_is_resumed_or_rolled_back_on_the_simulator() {
    let plane = Plane::sim().await;
    crash_at_every_mutation(&plane).await;
    plane.finish().await;
}

#[tokio::test]
async fn a_crash_at_every_mutation_is_resumed_or_rolled_back_on_the_control_plane() {
    let plane = Plane::real("crash").await;
    crash_at_every_mutation(&plane).await;
    plane.finish().await;
}

/// A second run while the first holds the release is refused with who holds it; once the
/// first is done, the release is free again.
#[tokio::test]
async fn a_concurrent_run_is_refused_with_the_holder() {
    let plane = Plane::sim().await;
    plane.reset().await;
    let (first, _) = plane.holding("busy", 6000).await;
    let second = plane.steps("busy", &[]).await;
    let line = second.expect_error(6, &["release busy is locked by", " since ", "(expires in "]);
    assert!(
        line.contains("pid "),
        "the holder names its process: {line}"
    );
    first.await.expect("first run").expect_code(0);
    assert!(plane.lease("busy").await.is_none());
    plane.steps("busy", &[]).await.expect_code(0);
    plane.finish().await;
}

/// A run whose lease another holder took (while the run slept past a renewal) stops before
/// its next change: nothing is changed, and the revision is left to the new holder.
#[tokio::test]
async fn a_run_that_lost_its_lock_stops_before_its_next_change() {
    let plane = Plane::sim().await;
    plane.reset().await;
    let (first, mut lease) = plane.holding("stolen", 14000).await;
    let leases: Api<Lease> = Api::namespaced(plane.client.clone(), &plane.namespace);
    let spec = lease.spec.get_or_insert_default();
    spec.holder_identity = Some("thief@elsewhere.example pid 1 run 0".into());
    spec.renew_time = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(
        k8s_openapi::jiff::Timestamp::now(),
    ));
    spec.lease_duration_seconds = Some(600);
    lease.metadata.annotations = None;
    leases
        .replace("cutover.release.v1.stolen", &PostParams::default(), &lease)
        .await
        .expect("steal the lease");
    let out = first.await.expect("the run");
    out.expect_error(1, &["the release lock was lost"]);
    assert_eq!(plane.world().await, initial(), "no change was made");
    // The release is the new holder's now: this run wrote nothing more to it.
    let status = plane.status("stolen").await;
    assert_eq!(status["status"], "pending-install", "{status}");
    assert_eq!(status["interrupted"], false, "held by the thief: {status}");
    assert!(
        out.stdout.contains("is left as it is, for its new holder"),
        "{}",
        out.abridged()
    );
    plane.finish().await;
}

/// SIGTERM in the middle of a run with `--rollback-on-failure`: the guest stops, its two
/// changes are undone, the revision is failed, the lock released, exit 143.
#[tokio::test]
async fn sigterm_marks_the_revision_failed_undoes_and_releases_the_lock() {
    let plane = Plane::sim().await;
    plane.reset().await;
    let steps = guest("steps");
    let node = format!("node={}", plane.node);
    let args = plane.args(&[
        "run",
        &steps,
        "--release",
        "term",
        "--allow-declared",
        "--set",
        &node,
        "--set",
        "hold-ms=60000",
        "--set",
        "hold-after=2",
        "--rollback-on-failure",
    ]);
    let running = Cutover::spawn(&args, &plane.kubeconfig, Watch::default());
    assert!(
        running
            .wait_for_output("step 2 done", Duration::from_secs(30))
            .await
            .is_some(),
        "the run reached its hold"
    );
    assert_ne!(plane.world().await, initial(), "two changes made");
    running.signal("TERM").expect("SIGTERM sent");
    let finished = running.finish().await;
    finished.output.expect_error(143, &["cancelled by SIGTERM"]);
    assert!(
        finished.output.stdout.contains("2 changes undone"),
        "{}",
        finished.output.abridged()
    );
    assert_eq!(plane.world().await, initial());
    assert!(plane.lease("term").await.is_none(), "the lock was released");
    // A first install wholly undone leaves nothing, even when cancelled.
    assert!(plane.secrets("term").await.is_empty());
    plane.finish().await;
}

/// `rollback <release> 0` undoes every revision's changes and re-applies nothing.
#[tokio::test]
async fn a_rollback_to_0_undoes_every_revision() {
    let plane = Plane::sim().await;
    plane.reset().await;
    plane.steps("zero", &[]).await.expect_code(0);
    assert_eq!(plane.world().await, finished());
    let out = plane.cutover(&["rollback", "zero", "0"]).await;
    out.expect_code(0);
    assert!(
        out.stdout.contains("revision 2 deployed"),
        "{}",
        out.abridged()
    );
    assert_eq!(plane.world().await, initial());
    // Back to 1: its applied object comes back, journaled in revision 3, so that an uninstall
    // then deletes it.
    plane
        .cutover(&["rollback", "zero", "1"])
        .await
        .expect_code(0);
    assert_eq!(plane.world().await.made.as_deref(), Some("6"));
    plane.cutover(&["uninstall", "zero"]).await.expect_code(0);
    assert_eq!(plane.world().await.made, None);
    assert!(plane.secrets("zero").await.is_empty());
    plane.finish().await;
}

/// A journal step forged into a bundled policy's revision (a Secret writer adding "we created
/// configmap victim") is refused by `rollback`: drain does not declare it, so the rollback does
/// not delete what it names, and fails saying so.
#[tokio::test]
async fn a_forged_journal_step_outside_the_policys_declaration_is_refused() {
    use cutover::release::journal::{Change, Entry, Operation, Target};
    use cutover::release::store::ReleaseStore;
    let plane = Plane::sim().await;
    plane.reset().await;
    let node = format!("node={}", plane.node);
    plane
        .cutover(&[
            "run",
            "drain",
            "--set",
            &node,
            "--allow-declared",
            "--release",
            "forged",
        ])
        .await
        .expect_code(0);
    let cluster = cutover::cluster::Cluster::from_client(
        plane.client.clone(),
        plane.namespace.clone(),
        cutover_clock::Clock::tokio(),
    );
    let store = ReleaseStore::new(&cluster, &plane.namespace, "forged");
    let mut stored = store.get(1).await.expect("read").expect("revision 1");
    let seq = u32::try_from(stored.record.journal.len() + 1).expect("a short journal");
    stored.record.journal.push(Entry {
        manifest: None,
        seq,
        operation: Operation::Apply,
        target: Target {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some(plane.namespace.clone()),
            name: "steps-base".into(),
        },
        change: Change::Create { uid: None },
    });
    store.save(&mut stored).await.expect("forge");
    let out = plane.cutover(&["rollback", "forged", "0"]).await;
    out.expect_error(1, &["left changes in place"]);
    assert!(
        out.stdout.contains("does not declare"),
        "{}",
        out.abridged()
    );
    assert!(
        plane
            .config_maps()
            .get_opt("steps-base")
            .await
            .expect("read")
            .is_some(),
        "what the forged step names is left alone"
    );
    assert!(!plane.world().await.cordoned, "the real step was undone");
    plane.finish().await;
}

/// A lease whose holder stopped renewing (another machine, renewed ten minutes ago with a
/// 30 s TTL) is taken over; one renewed just now by another machine is not.
#[tokio::test]
async fn a_stale_lease_is_taken_over_and_a_live_one_is_not() {
    let plane = Plane::sim().await;
    plane.reset().await;
    let leases: Api<Lease> = Api::namespaced(plane.client.clone(), &plane.namespace);
    let lease = |name: &str, renewed_secs_ago: i64| -> Lease {
        let renewed = k8s_openapi::jiff::Timestamp::now()
            - k8s_openapi::jiff::SignedDuration::from_secs(renewed_secs_ago);
        serde_json::from_value(json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": format!("cutover.release.v1.{name}"),
                "annotations": {
                    "cutover.dev/holder-host": "elsewhere.example",
                    "cutover.dev/holder-pid": "4242",
                },
            },
            "spec": {
                "holderIdentity": "ops@elsewhere.example pid 4242 run feedface",
                "leaseDurationSeconds": 30,
                "acquireTime": renewed.to_string(),
                "renewTime": renewed.to_string(),
            },
        }))
        .expect("lease")
    };
    leases
        .create(&PostParams::default(), &lease("stale", 600))
        .await
        .expect("stale lease");
    plane.steps("stale", &[]).await.expect_code(0);
    assert!(
        plane.lease("stale").await.is_none(),
        "taken over, then released"
    );
    leases
        .create(&PostParams::default(), &lease("live", 0))
        .await
        .expect("live lease");
    plane.steps("live", &[]).await.expect_error(
        6,
        &["release live is locked by ops@elsewhere.example pid 4242 run feedface since"],
    );
    assert!(
        plane.secrets("live").await.is_empty(),
        "a refused run writes no revision"
    );
    plane.finish().await;
}

/// A revision whose body is over the 1 MiB Secret limit (a checkpoint and a ConfigMap of 1 MB
/// of noise each) is
/// split across Secrets, and a resume reads it back whole.
#[tokio::test]
async fn a_body_over_the_secret_limit_is_split_and_read_back() {
    let plane = Plane::sim().await;
    plane.reset().await;
    plane
        .steps(
            "big",
            &["--set", "checkpoint-bytes=1000000", "--set", "fail-after=3"],
        )
        .await
        .expect_code(1);
    // More than one Secret can hold: the revision is spread over several, none over the limit.
    let secrets = plane.secrets("big").await;
    let sizes: Vec<usize> = secrets
        .iter()
        .map(|s| {
            s.data
                .as_ref()
                .map_or(0, |d| d.values().map(|v| v.0.len()).sum())
        })
        .collect();
    let total: usize = sizes.iter().sum();
    assert!(total > 1 << 20, "the revision is over 1 MiB: {sizes:?}");
    assert!(
        sizes.iter().all(|&n| n < 1 << 20),
        "no Secret is: {sizes:?}"
    );
    // A file the revision names is not opened unless the operator names it again.
    plane
        .cutover(&["resume", "big", "--allow-declared"])
        .await
        .expect_error(2, &["ran the policy file", "give it again with --policy"]);
    let out = plane
        .cutover(&[
            "resume",
            "big",
            "--allow-declared",
            "--policy",
            &guest("steps"),
        ])
        .await;
    out.expect_code(0);
    assert!(out.stdout.contains("from step 4"), "{}", out.abridged());
    assert_eq!(plane.status("big").await["status"], "deployed");
    assert_eq!(plane.world().await, finished());
    plane.finish().await;
}

/// A failed first install with `--rollback-on-failure` undoes its changes and removes its
/// revision: no Secret, no Lease, the world as before.
#[tokio::test]
async fn a_failed_first_install_with_rollback_on_failure_leaves_nothing() {
    let plane = Plane::sim().await;
    plane.reset().await;
    let out = plane
        .steps("first", &["--set", "fail-after=5", "--rollback-on-failure"])
        .await;
    out.expect_error(1, &["failing after step 5"]);
    assert!(out.stdout.contains("nothing is left"), "{}", out.abridged());
    assert!(plane.secrets("first").await.is_empty());
    assert!(plane.lease("first").await.is_none());
    assert_eq!(plane.world().await, initial());
    // --atomic is the same flag; and the release starts again as an install.
    plane
        .steps("first", &["--set", "fail-after=1", "--atomic"])
        .await
        .expect_code(1);
    assert!(plane.secrets("first").await.is_empty());
    plane.steps("first", &[]).await.expect_code(0);
    assert_eq!(plane.status("first").await["revision"], 1);
    plane.finish().await;
}

/// `--history-max 2` after three failures keeps the deployed revision and the newest.
#[tokio::test]
async fn history_max_never_prunes_the_deployed_revision() {
    let plane = Plane::sim().await;
    plane.reset().await;
    plane.steps("kept", &[]).await.expect_code(0);
    for _ in 0..3 {
        plane
            .steps("kept", &["--set", "fail-after=1", "--history-max", "2"])
            .await
            .expect_code(1);
    }
    let out = plane.cutover(&["history", "kept", "-o", "json"]).await;
    out.expect_code(0);
    let revisions: Vec<(u64, String)> = out
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|r| {
            (
                r["revision"].as_u64().unwrap_or(0),
                r["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        revisions,
        [(1, "deployed".to_string()), (4, "failed".to_string())]
    );
    plane.finish().await;
}

/// history, status, get, list, rollback (Helm's "Rollback to N" revision) and uninstall
/// against the real API server.
#[tokio::test]
async fn the_release_commands_work_against_the_control_plane() {
    let plane = Plane::real("relcmd").await;
    plane.reset().await;
    plane.steps("web", &[]).await.expect_code(0);
    plane
        .steps("web", &["--set", "hold-ms=1"])
        .await
        .expect_code(0);
    let out = plane.cutover(&["history", "web"]).await;
    out.expect_code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("REVISION"), "{}", out.stdout);
    assert!(
        lines[1].contains("superseded") && lines[2].contains("deployed"),
        "{}",
        out.stdout
    );

    let status = plane.status("web").await;
    assert_eq!(
        (status["revision"].as_u64(), status["status"].as_str()),
        (Some(2), Some("deployed"))
    );
    let values = plane.cutover(&["get", "values", "web", "-o", "json"]).await;
    values.expect_code(0);
    assert_eq!(values.json(), json!({"hold-ms": 1, "node": plane.node}));
    let all = plane
        .cutover(&[
            "get",
            "values",
            "web",
            "--all",
            "--revision",
            "1",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(all.json()["fail-after"], 0);
    let manifest = plane.cutover(&["get", "manifest", "web"]).await;
    manifest.expect_code(0);
    assert!(
        manifest.stdout.contains("name: steps-made"),
        "{}",
        manifest.stdout
    );
    let everything = plane.cutover(&["get", "all", "web", "-o", "json"]).await;
    assert_eq!(
        everything.json()["journal"].as_array().map(Vec::len),
        Some(6)
    );

    let list = plane.cutover(&["list", "-o", "json"]).await;
    list.expect_code(0);
    assert!(
        list.json()
            .as_array()
            .expect("array")
            .iter()
            .any(|r| r["name"] == "web" && r["status"] == "deployed")
    );
    let deployed = plane.cutover(&["list", "--failed"]).await;
    assert!(!deployed.stdout.contains("web"), "{}", deployed.stdout);

    plane
        .cutover(&["rollback", "web", "1", "--dry-run"])
        .await
        .expect_code(0);
    assert_eq!(
        plane.status("web").await["revision"],
        2,
        "a dry run writes nothing"
    );
    let out = plane.cutover(&["rollback", "web", "1"]).await;
    out.expect_code(0);
    assert!(
        out.stdout.contains("revision 3 deployed"),
        "{}",
        out.abridged()
    );
    let status = plane.status("web").await;
    assert_eq!(
        (status["revision"].as_u64(), status["description"].as_str()),
        (Some(3), Some("Rollback to 1"))
    );
    assert_eq!(plane.world().await, finished());

    plane
        .cutover(&["uninstall", "web", "--dry-run"])
        .await
        .expect_code(0);
    assert_eq!(plane.world().await, finished(), "a dry run changes nothing");
    plane.cutover(&["uninstall", "web"]).await.expect_code(0);
    assert_eq!(
        plane.world().await.made,
        None,
        "what the release created is gone"
    );
    assert!(plane.secrets("web").await.is_empty());
    plane
        .cutover(&["history", "web"])
        .await
        .expect_error(2, &["release web not found"]);
    plane.finish().await;
}
