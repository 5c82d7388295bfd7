//! The simulator's controllers, driven through a real `kube::Client`, on virtual time: each test
//! runs as `cutover run --sim` runs a policy, on a current-thread runtime whose park hook moves
//! the simulator's virtual clock to its next timer whenever every task waits.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use cutover_sim::{
    Clock, ControllerConfig, Controllers, Faults, ImageConvention, PodFate, Simulator,
};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Endpoints, Node, Pod, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, DeleteParams, EvictParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const NODES: &[&str] = &["n1", "n2", "n3"];

/// Where virtual time starts: 2030-01-01T00:00:00Z.
const ORIGIN_SECS: u64 = 1_893_456_000;

/// Runs `test` on a current-thread runtime with a virtual clock and its park hook, and the
/// clock (as `Clock::virtual_at` an origin, for the simulator to take).
fn on_virtual_time<F: Future<Output = ()>>(test: impl FnOnce(Clock) -> F) {
    let clock = Clock::virtual_at(SystemTime::UNIX_EPOCH + Duration::from_secs(ORIGIN_SECS));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_park(clock.park_hook())
        .build()
        .expect("a current-thread runtime");
    runtime.block_on(test(clock));
}

struct Cluster {
    sim: Simulator,
    client: Client,
    controllers: Controllers,
}

impl Cluster {
    fn clock(&self) -> &Clock {
        self.sim.clock()
    }
}

async fn cluster_with(clock: &Clock, delay: Duration) -> Cluster {
    cluster_of(
        Simulator::with_clock(7, clock.clone()),
        delay,
        Arc::new(ImageConvention),
    )
    .await
}

async fn cluster_of(sim: Simulator, delay: Duration, faults: Arc<dyn Faults>) -> Cluster {
    let controllers = sim.start_controllers(ControllerConfig {
        startup_delay: delay,
        seed: 11,
        faults,
    });
    let client = sim.client();
    let nodes: Api<Node> = Api::all(client.clone());
    for (i, name) in NODES.iter().enumerate() {
        let node: Node = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "status": {
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                "addresses": [{"type": "InternalIP", "address": format!("172.16.0.{}", i + 2)}],
            },
        }))
        .unwrap();
        nodes.create(&PostParams::default(), &node).await.unwrap();
    }
    Cluster {
        sim,
        client,
        controllers,
    }
}

async fn cluster(clock: &Clock) -> Cluster {
    cluster_with(clock, Duration::from_secs(2)).await
}

/// Waits (by the cluster's clock: virtual time, mostly) until `cond` holds for the object.
async fn wait<K>(c: &Cluster, api: &Api<K>, name: &str, what: &str, cond: impl Fn(&K) -> bool) -> K
where
    K: Resource + Clone + std::fmt::Debug + DeserializeOwned + Send + 'static,
{
    let found = c
        .clock()
        .timeout(
            Duration::from_secs(900),
            await_condition(api.clone(), name, move |o: Option<&K>| o.is_some_and(&cond)),
        )
        .await;
    match found {
        Ok(Ok(Some(o))) => o,
        other => {
            let now = api.get_opt(name).await.unwrap();
            panic!("timed out waiting for {name} {what} ({other:?}); it is now {now:#?}")
        }
    }
}

fn deployment(name: &str, replicas: i32, image: &str) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]}
            }
        }
    }))
    .unwrap()
}

/// The host's notion of a finished rollout: observed, all updated, all available.
fn rolled_out(d: &Deployment) -> bool {
    let Some(s) = &d.status else { return false };
    let want = d.spec.replicas.unwrap_or(1);
    s.observed_generation == d.metadata.generation
        && s.updated_replicas == Some(want)
        && s.replicas == Some(want)
        && s.available_replicas == Some(want)
        && s.ready_replicas == Some(want)
        && condition(
            &d.status.as_ref().and_then(|s| s.conditions.clone()),
            "Available",
        ) == Some(("True".into(), "MinimumReplicasAvailable".into()))
        && condition(
            &d.status.as_ref().and_then(|s| s.conditions.clone()),
            "Progressing",
        ) == Some(("True".into(), "NewReplicaSetAvailable".into()))
}

fn condition(
    conditions: &Option<Vec<k8s_openapi::api::apps::v1::DeploymentCondition>>,
    kind: &str,
) -> Option<(String, String)> {
    conditions
        .iter()
        .flatten()
        .find(|c| c.type_.as_deref() == Some(kind))
        .map(|c| {
            (
                c.status.clone().unwrap_or_default(),
                c.reason.clone().unwrap_or_default(),
            )
        })
}

fn pod_ready(p: &Pod) -> bool {
    p.status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

async fn pods_of(client: &Client, app: &str) -> Vec<Pod> {
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    pods.list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .unwrap()
        .items
}

#[test]
fn a_deployment_of_three_becomes_available() {
    on_virtual_time(|clock| async move {
        let c = cluster(&clock).await;
        let deployments: Api<Deployment> = Api::default_namespaced(c.client.clone());
        deployments
            .create(&PostParams::default(), &deployment("web", 3, "web:1"))
            .await
            .unwrap();
        let d = wait(&c, &deployments, "web", "to roll out", rolled_out).await;
        assert_eq!(
            d.annotations().get("deployment.kubernetes.io/revision"),
            Some(&"1".to_string())
        );

        let replicasets: Api<ReplicaSet> = Api::default_namespaced(c.client.clone());
        let rss = replicasets
            .list(&ListParams::default())
            .await
            .unwrap()
            .items;
        assert_eq!(rss.len(), 1);
        let rs = &rss[0];
        let hash = rs.labels()["pod-template-hash"].clone();
        assert_eq!(rs.name_any(), format!("web-{hash}"));
        assert_eq!(rs.owner_references()[0].uid, d.uid().unwrap());
        let status = rs.status.clone().unwrap();
        assert_eq!(
            (
                status.replicas,
                status.ready_replicas,
                status.available_replicas
            ),
            (3, Some(3), Some(3))
        );
        assert_eq!(status.fully_labeled_replicas, Some(3));
        assert_eq!(status.observed_generation, Some(1));

        let pods = pods_of(&c.client, "web").await;
        assert_eq!(pods.len(), 3);
        let nodes: BTreeSet<String> = pods
            .iter()
            .map(|p| p.spec.as_ref().unwrap().node_name.clone().unwrap())
            .collect();
        assert_eq!(nodes.len(), 3, "least-loaded scheduling spreads the pods");
        for p in &pods {
            assert!(p.name_any().starts_with(&format!("web-{hash}-")));
            assert_eq!(p.name_any().len(), format!("web-{hash}-").len() + 5);
            assert!(pod_ready(p));
            assert_eq!(p.owner_references()[0].uid, rs.uid().unwrap());
            assert_eq!(p.owner_references()[0].controller, Some(true));
            let s = p.status.as_ref().unwrap();
            assert_eq!(s.phase.as_deref(), Some("Running"));
            assert!(s.pod_ip.as_deref().is_some_and(|ip| ip.starts_with("10.")));
            assert!(
                s.host_ip
                    .as_deref()
                    .is_some_and(|ip| ip.starts_with("172.16.0."))
            );
            assert!(s.start_time.is_some());
            let cs = &s.container_statuses.as_ref().unwrap()[0];
            assert!(cs.ready && cs.state.as_ref().unwrap().running.is_some());
        }
    })
}

#[test]
fn a_restart_rolls_to_a_new_replicaset_and_the_old_one_scales_to_zero() {
    on_virtual_time(|clock| async move {
        let c = cluster(&clock).await;
        let deployments: Api<Deployment> = Api::default_namespaced(c.client.clone());
        deployments
            .create(&PostParams::default(), &deployment("web", 3, "web:1"))
            .await
            .unwrap();
        wait(&c, &deployments, "web", "to roll out", rolled_out).await;
        let first: Vec<String> = pods_of(&c.client, "web")
            .await
            .iter()
            .map(|p| p.name_any())
            .collect();

        deployments.restart("web").await.unwrap();
        let d = wait(&c, &deployments, "web", "to roll out again", |d| {
            rolled_out(d)
                && d.annotations().get("deployment.kubernetes.io/revision") == Some(&"2".into())
        })
        .await;
        assert_eq!(d.metadata.generation, Some(2));

        let replicasets: Api<ReplicaSet> = Api::default_namespaced(c.client.clone());
        let mut rss = replicasets
            .list(&ListParams::default())
            .await
            .unwrap()
            .items;
        rss.sort_by_key(|rs| rs.annotations()["deployment.kubernetes.io/revision"].clone());
        assert_eq!(rss.len(), 2);
        assert_ne!(
            rss[0].labels()["pod-template-hash"],
            rss[1].labels()["pod-template-hash"]
        );
        assert_eq!(rss[0].spec.replicas, Some(0));
        assert_eq!(rss[1].spec.replicas, Some(3));

        // The old pods finish terminating; only the new ReplicaSet's remain.
        let old_hash = rss[0].labels()["pod-template-hash"].clone();
        let pods: Api<Pod> = Api::default_namespaced(c.client.clone());
        c.clock().sleep(Duration::from_secs(10)).await;
        let left = pods.list(&ListParams::default()).await.unwrap().items;
        assert_eq!(left.len(), 3);
        for p in &left {
            assert!(!first.contains(&p.name_any()));
            assert_ne!(p.labels()["pod-template-hash"], old_hash);
            // kube-rs's restart writes `kube.kubernetes.io/restartedAt` (kubectl: `kubectl.kubernetes.io/`).
            assert!(p.annotations().keys().any(|k| k.ends_with("/restartedAt")));
        }
    })
}

/// Records, after every change to the pods of `app`, how many are available and how many exist.
fn observe(sim: &Simulator, app: &str) -> Arc<Mutex<Vec<(usize, usize)>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    // The hook keeps a clone of the simulator (a cycle through the store: fine in a test).
    let reader = sim.clone();
    let record = seen.clone();
    let app = app.to_string();
    sim.store().on_change(move |event| {
        if event.kind.kind != "Pod" || event.object["metadata"]["labels"]["app"] != app.as_str() {
            return;
        }
        let pods = reader.pods_with_app(&app);
        let active: Vec<&Value> = pods
            .iter()
            .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
            .collect();
        let available = active
            .iter()
            .filter(|p| {
                p["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
            .count();
        record.lock().unwrap().push((available, active.len()));
    });
    seen
}

/// Reads pods straight from the store (inside hooks, where awaiting a client is impossible).
trait PodsWithApp {
    fn pods_with_app(&self, app: &str) -> Vec<Value>;
}

impl PodsWithApp for Simulator {
    fn pods_with_app(&self, app: &str) -> Vec<Value> {
        let kind = cutover_sim::kinds::find("", "v1", "pods").unwrap();
        let selector = cutover_sim::selectors::LabelSelector::parse(&format!("app={app}")).unwrap();
        let (items, _) = self.store().list(
            kind,
            None,
            &selector,
            &cutover_sim::selectors::FieldSelector::default(),
        );
        items.iter().map(|p| (**p).clone()).collect()
    }
}

#[test]
fn a_rolling_update_respects_max_unavailable_and_max_surge() {
    on_virtual_time(|clock| async move {
        let c = cluster(&clock).await;
        let deployments: Api<Deployment> = Api::default_namespaced(c.client.clone());
        let mut d = deployment("web", 4, "web:1");
        d.spec.strategy = Some(
            serde_json::from_value(json!({
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1},
            }))
            .unwrap(),
        );
        deployments
            .create(&PostParams::default(), &d)
            .await
            .unwrap();
        wait(&c, &deployments, "web", "to roll out", rolled_out).await;

        let seen = observe(&c.sim, "web");
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "web:2"}]}}}});
        deployments
            .patch("web", &PatchParams::default(), &Patch::Strategic(patch))
            .await
            .unwrap();
        wait(&c, &deployments, "web", "to roll out web:2", |d| {
            rolled_out(d) && d.metadata.generation == Some(2)
        })
        .await;

        let seen = seen.lock().unwrap().clone();
        assert!(
            seen.len() > 10,
            "the roll changed pods many times: {seen:?}"
        );
        let min_available = seen.iter().map(|s| s.0).min().unwrap();
        let max_active = seen.iter().map(|s| s.1).max().unwrap();
        assert_eq!(min_available, 3, "4 replicas, maxUnavailable 1: {seen:?}");
        assert_eq!(max_active, 5, "4 replicas, maxSurge 1: {seen:?}");
        for p in pods_of(&c.client, "web").await {
            assert_eq!(
                p.spec.unwrap().containers[0].image.as_deref(),
                Some("web:2")
            );
        }
    })
}

#[test]
fn a_rolling_update_without_surge_never_runs_an_extra_pod() {
    for delay in [Duration::ZERO, Duration::from_secs(2)] {
        on_virtual_time(|clock| async move {
            let c = cluster_with(&clock, delay).await;
            let deployments: Api<Deployment> = Api::default_namespaced(c.client.clone());
            let mut d = deployment("web", 3, "web:1");
            d.spec.strategy = Some(
                serde_json::from_value(json!({
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
                }))
                .unwrap(),
            );
            deployments
                .create(&PostParams::default(), &d)
                .await
                .unwrap();
            wait(&c, &deployments, "web", "to roll out", rolled_out).await;
            let seen = observe(&c.sim, "web");
            let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "web:2"}]}}}});
            deployments
                .patch("web", &PatchParams::default(), &Patch::Strategic(patch))
                .await
                .unwrap();
            wait(&c, &deployments, "web", "to roll out web:2", |d| {
                rolled_out(d) && d.metadata.generation == Some(2)
            })
            .await;
            let seen = seen.lock().unwrap().clone();
            let max_active = seen.iter().map(|s| s.1).max().unwrap();
            let min_available = seen.iter().map(|s| s.0).min().unwrap();
            assert_eq!(
                max_active, 3,
                "3 replicas, maxSurge 0 ({delay:?}): {seen:?}"
            );
            assert_eq!(
                min_available, 2,
                "3 replicas, maxUnavailable 1 ({delay:?}): {seen:?}"
            );
        });
    }
}

#[test]
fn recreate_stops_every_old_pod_before_starting_new_ones() {
    on_virtual_time(|clock| async move {
        let c = cluster(&clock).await;
        let deployments: Api<Deployment> = Api::default_namespaced(c.client.clone());
        let mut d = deployment("web", 3, "web:1");
        d.spec.strategy = Some(serde_json::from_value(json!({"type": "Recreate"})).unwrap());
        deployments
            .create(&PostParams::default(), &d)
            .await
            .unwrap();
        wait(&c, &deployments, "web", "to roll out", rolled_out).await;

        let mixed = Arc::new(Mutex::new(false));
        let flag = mixed.clone();
        let sim = c.sim.clone();
        c.sim.store().on_change(move |event| {
            if event.kind.kind != "Pod" {
                return;
            }
            let images: BTreeSet<String> = sim
                .pods_with_app("web")
                .iter()
                .filter_map(|p| {
                    p["spec"]["containers"][0]["image"]
                        .as_str()
                        .map(str::to_string)
                })
                .collect();
            if images.len() > 1 {
                *flag.lock().unwrap() = true;
            }
        });
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "web:2"}]}}}});
        deployments
            .patch("web", &PatchParams::default(), &Patch::Strategic(patch))
            .await
            .unwrap();
        wait(&c, &deployments, "web", "to roll out web:2", |d| {
            rolled_out(d) && d.metadata.generation == Some(2)
        })
        .await;
        assert!(
            !*mixed.lock().unwrap(),
            "old and new pods never coexist under Recreate"
        );
    })
}

#[test]
fn cordon_keeps_new_pods_off_a_node_but_a_daemonset_still_covers_it() {
    on_virtual_time(|clock| async move {
        let c = cluster(&clock).await;
        let nodes: Api<Node> = Api::all(c.client.clone());
        nodes.cordon("n1").await.unwrap();

        let deployments: Api<Deployment> = Api::default_namespaced(c.client.clone());
        deployments
            .create(&PostParams::default(), &deployment("web", 4, "web:1"))
            .await
            .unwrap();
        wait(&c, &deployments, "web", "to roll out", rolled_out).await;
        for p in pods_of(&c.client, "web").await {
            assert_ne!(p.spec.unwrap().node_name.as_deref(), Some("n1"));
        }

        let daemonsets: Api<DaemonSet> = Api::default_namespaced(c.client.clone());
        let ds: DaemonSet = serde_json::from_value(json!({
            "metadata": {"name": "agent"},
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "template": {
                    "metadata": {"labels": {"app": "agent"}},
                    "spec": {"containers": [{"name": "agent", "image": "agent:1"}]}
                }
            }
        }))
        .unwrap();
        daemonsets
            .create(&PostParams::default(), &ds)
            .await
            .unwrap();
        let ds = wait(&c, &daemonsets, "agent", "to cover every node", |ds| {
            ds.status.as_ref().is_some_and(|s| {
                s.desired_number_scheduled == 3
                    && s.number_ready == 3
                    && s.updated_number_scheduled == Some(3)
            })
        })
        .await;
        assert_eq!(ds.status.unwrap().observed_generation, Some(1));
        let on: BTreeSet<String> = pods_of(&c.client, "agent")
            .await
            .into_iter()
            .map(|p| p.spec.unwrap().node_name.unwrap())
            .collect();
        assert_eq!(on, NODES.iter().map(|n| n.to_string()).collect());

        // A pod that fits nowhere stays Pending, marked Unschedulable.
        let pods: Api<Pod> = Api::default_namespaced(c.client.clone());
        let lonely: Pod = serde_json::from_value(json!({
            "metadata": {"name": "lonely"},
            "spec": {"nodeSelector": {"kubernetes.io/hostname": "n1"},
                     "containers": [{"name": "app", "image": "app:1"}]}
        }))
        .unwrap();
        pods.create(&PostParams::default(), &lonely).await.unwrap();
        let p = wait(&c, &pods, "lonely", "to be marked unschedulable", |p| {
            p.status
                .iter()
                .flat_map(|s| s.conditions.iter().flatten())
                .any(|c| {
                    c.type_ == "PodScheduled"
                        && c.status == "False"
                        && c.reason.as_deref() == Some("Unschedulable")
                })
        })
        .await;
        assert!(p.spec.unwrap().node_name.is_none());
        assert_eq!(p.status.unwrap().phase.as_deref(), Some("Pending"));
        // Uncordoning lets it in.
        nodes.uncordon("n1").await.unwrap();
        let p = wait(&c, &pods, "lonely", "to run on n1", pod_ready).await;
        assert_eq!(p.spec.unwrap().node_name.as_deref(), Some("n1"));
    })
}

#[test]
fn a_daemonset_rolls_one_node_at_a_time() {
    on_virtual_time(|clock| async move {
        let c = cluster(&clock).await;
        let daemonsets: Api<DaemonSet> = Api::default_namespaced(c.client.clone());
        let ds: DaemonSet = serde_json::from_value(json!({
            "metadata": {"name": "agent"},
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "template": {
                    "metadata": {"labels": {"app": "agent"}},
                    "spec": {"containers": [{"name": "agent", "image": "agent:1"}]}
                }
            }
        }))
        .unwrap();
        daemonsets
            .create(&PostParams::default(), &ds)
            .await
            .unwrap();
        wait(&c, &daemonsets, "agent", "to be ready", |ds| {
            ds.status.as_ref().is_some_and(|s| s.number_ready == 3)
        })
        .await;
        let seen = observe(&c.sim, "agent");
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": "agent:2"}]}}}});
        daemonsets
            .patch("agent", &PatchParams::default(), &Patch::Strategic(patch))
            .await
            .unwrap();
        wait(&c, &daemonsets, "agent", "to roll out agent:2", |ds| {
            ds.status.as_ref().is_some_and(|s| {
                s.observed_generation == Some(2)
                    && s.updated_number_scheduled == Some(3)
                    && s.number_ready == 3
            })
        })
        .await;
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen.iter().map(|s| s.0).min(),
            Some(2),
            "maxUnavailable 1 of 3: {seen:?}"
        );
        assert_eq!(
            seen.iter().map(|s| s.1).max(),
            Some(3),
            "no surge: {seen:?}"
        );
        for p in pods_of(&c.client, "agent").await {
            assert_eq!(
                p.spec.unwrap().containers[0].image.as_deref(),
                Some("agent:2")
            );
        }
    })
}

#[test]
fn a_crashloop_image_never_becomes_ready_and_the_rollout_times_out() {
    on_virtual_time(|clock| async move {
        let c = cluster(&clock).await;
        let deployments: Api<Deployment> = Api::default_namespaced(c.client.clone());
        let mut d = deployment("bad", 1, "registry/crashloop:1");
        d.spec.progress_deadline_seconds = Some(60);
        deployments
            .create(&PostParams::default(), &d)
            .await
            .unwrap();
        let pods: Api<Pod> = Api::default_namespaced(c.client.clone());
        let d = wait(
            &c,
            &deployments,
            "bad",
            "to exceed its progress deadline",
            |d| {
                condition(
                    &d.status.as_ref().and_then(|s| s.conditions.clone()),
                    "Progressing",
                ) == Some(("False".into(), "ProgressDeadlineExceeded".into()))
            },
        )
        .await;
        let s = d.status.unwrap();
        assert_eq!(s.available_replicas.unwrap_or(0), 0);
        assert_eq!(s.unavailable_replicas, Some(1));
        let pod = pods_of(&c.client, "bad").await.remove(0);
        assert!(!pod_ready(&pod));
        let status = pod.status.unwrap();
        assert_eq!(status.phase.as_deref(), Some("Running"));
        let cs = &status.container_statuses.unwrap()[0];
        assert!(!cs.ready);
        assert!(cs.restart_count > 0);
        assert_eq!(
            cs.state
                .as_ref()
                .unwrap()
                .waiting
                .as_ref()
                .unwrap()
                .reason
                .as_deref(),
            Some("CrashLoopBackOff")
        );
        // Other fates by image: never-ready runs unready, no-such-image stays Pending.
        for (name, image) in [("slow", "x/never-ready:1"), ("pull", "no-such-image:1")] {
            let p: Pod = serde_json::from_value(json!({
                "metadata": {"name": name},
                "spec": {"containers": [{"name": "c", "image": image}]}
            }))
            .unwrap();
            pods.create(&PostParams::default(), &p).await.unwrap();
            let p = wait(&c, &pods, name, "to be played", |p| {
                p.status
                    .as_ref()
                    .is_some_and(|s| s.container_statuses.is_some())
            })
            .await;
            assert!(!pod_ready(&p));
            let s = p.status.unwrap();
            let expected_phase = if name == "pull" { "Pending" } else { "Running" };
            assert_eq!(s.phase.as_deref(), Some(expected_phase));
        }
    })
}

#[test]
fn an_evicted_deployment_pod_is_replaced() {
    on_virtual_time(|clock| async move {
        let c = cluster(&clock).await;
        let deployments: Api<Deployment> = Api::default_namespaced(c.client.clone());
        deployments
            .create(&PostParams::default(), &deployment("web", 2, "web:1"))
            .await
            .unwrap();
        wait(&c, &deployments, "web", "to roll out", rolled_out).await;
        let before: BTreeSet<String> = pods_of(&c.client, "web")
            .await
            .iter()
            .map(|p| p.name_any())
            .collect();
        let victim = before.iter().next().unwrap().clone();
        let pods: Api<Pod> = Api::default_namespaced(c.client.clone());
        pods.evict(&victim, &EvictParams::default()).await.unwrap();
        wait(&c, &deployments, "web", "to create a replacement", |d| {
            d.status
                .as_ref()
                .is_some_and(|s| s.replicas == Some(2) && s.ready_replicas == Some(1))
        })
        .await;
        wait(&c, &deployments, "web", "to be whole again", rolled_out).await;
        c.clock().sleep(Duration::from_secs(5)).await;
        let after: BTreeSet<String> = pods_of(&c.client, "web")
            .await
            .iter()
            .map(|p| p.name_any())
            .collect();
        assert_eq!(after.len(), 2);
        assert!(
            !after.contains(&victim),
            "the evicted pod is gone: {after:?}"
        );
        assert_eq!(after.intersection(&before).count(), 1);
    })
}

fn statefulset(name: &str, replicas: i32, image: &str) -> StatefulSet {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "db", "image": image}]}
            }
        }
    }))
    .unwrap()
}

#[test]
fn a_statefulset_creates_in_order_and_recreates_a_deleted_pod() {
    on_virtual_time(|clock| async move {
        let c = cluster(&clock).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let record = order.clone();
        let sim = c.sim.clone();
        c.sim.store().on_change(move |event| {
            if event.kind.kind == "Pod" && event.event_type == cutover_sim::EventType::Added {
                let ready_before: Vec<String> = sim
                    .pods_with_app("db")
                    .iter()
                    .filter(|p| {
                        p["status"]["conditions"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|c| c["type"] == "Ready" && c["status"] == "True")
                    })
                    .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
                    .collect();
                let name = event.object["metadata"]["name"]
                    .as_str()
                    .unwrap()
                    .to_string();
                record.lock().unwrap().push((name, ready_before));
            }
        });
        let sets: Api<StatefulSet> = Api::default_namespaced(c.client.clone());
        sets.create(&PostParams::default(), &statefulset("db", 3, "db:1"))
            .await
            .unwrap();
        let s = wait(&c, &sets, "db", "to be ready", |s| {
            s.status
                .as_ref()
                .is_some_and(|s| s.ready_replicas == Some(3))
        })
        .await;
        let status = s.status.unwrap();
        assert_eq!(status.current_revision, status.update_revision);
        assert_eq!(status.current_replicas, Some(3));
        let order = order.lock().unwrap().clone();
        assert_eq!(
            order,
            vec![
                ("db-0".to_string(), vec![]),
                ("db-1".to_string(), vec!["db-0".to_string()]),
                (
                    "db-2".to_string(),
                    vec!["db-0".to_string(), "db-1".to_string()]
                ),
            ],
            "OrderedReady: each pod after the previous one is Ready"
        );

        let pods: Api<Pod> = Api::default_namespaced(c.client.clone());
        let old_uid = pods.get("db-0").await.unwrap().uid().unwrap();
        pods.delete("db-0", &DeleteParams::default()).await.unwrap();
        let p = wait(&c, &pods, "db-0", "to be recreated", |p| {
            p.uid().is_some_and(|u| u != old_uid) && pod_ready(p)
        })
        .await;
        assert_eq!(p.labels()["statefulset.kubernetes.io/pod-name"], "db-0");
        assert_eq!(p.spec.unwrap().hostname.as_deref(), Some("db-0"));
    })
}

#[test]
fn a_statefulset_rolls_down_to_its_partition() {
    on_virtual_time(|clock| async move {
        let c = cluster(&clock).await;
        let sets: Api<StatefulSet> = Api::default_namespaced(c.client.clone());
        sets.create(&PostParams::default(), &statefulset("db", 3, "db:1"))
            .await
            .unwrap();
        wait(&c, &sets, "db", "to be ready", |s| {
            s.status
                .as_ref()
                .is_some_and(|s| s.ready_replicas == Some(3))
        })
        .await;
        let patch = json!({"spec": {
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}},
            "template": {"spec": {"containers": [{"name": "db", "image": "db:2"}]}},
        }});
        sets.patch("db", &PatchParams::default(), &Patch::Strategic(patch))
            .await
            .unwrap();
        let s = wait(&c, &sets, "db", "to update down to the partition", |s| {
            s.status.as_ref().is_some_and(|st| {
                st.observed_generation == s.metadata.generation
                    && st.updated_replicas == Some(2)
                    && st.ready_replicas == Some(3)
            })
        })
        .await;
        let status = s.status.unwrap();
        assert_ne!(status.current_revision, status.update_revision);
        assert_eq!(status.current_replicas, Some(1));
        let pods: Api<Pod> = Api::default_namespaced(c.client.clone());
        let image = |p: Pod| p.spec.unwrap().containers[0].image.clone().unwrap();
        assert_eq!(image(pods.get("db-0").await.unwrap()), "db:1");
        assert_eq!(image(pods.get("db-1").await.unwrap()), "db:2");
        assert_eq!(image(pods.get("db-2").await.unwrap()), "db:2");

        // Partition 0 finishes the roll; the current revision catches up.
        let patch = json!({"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}});
        sets.patch("db", &PatchParams::default(), &Patch::Merge(patch))
            .await
            .unwrap();
        let s = wait(&c, &sets, "db", "to finish the roll", |s| {
            s.status.as_ref().is_some_and(|st| {
                st.updated_replicas == Some(3)
                    && st.ready_replicas == Some(3)
                    && st.current_revision == st.update_revision
            })
        })
        .await;
        assert_eq!(s.status.unwrap().current_replicas, Some(3));
        assert_eq!(image(pods.get("db-0").await.unwrap()), "db:2");

        // Scale down removes the highest ordinal.
        let patch = json!({"spec": {"replicas": 2}});
        sets.patch("db", &PatchParams::default(), &Patch::Merge(patch))
            .await
            .unwrap();
        wait(&c, &sets, "db", "to scale down", |s| {
            s.status
                .as_ref()
                .is_some_and(|st| st.replicas == 2 && st.ready_replicas == Some(2))
        })
        .await;
        c.clock().sleep(Duration::from_secs(5)).await;
        assert!(pods.get_opt("db-2").await.unwrap().is_none());
    })
}

#[test]
fn a_thirty_second_startup_delay_runs_on_virtual_time() {
    on_virtual_time(|clock| async move {
        let start = clock.now();
        let sim = Simulator::with_clock(7, clock.clone());
        let c = cluster_of(sim, Duration::from_secs(30), Arc::new(ImageConvention)).await;
        let deployments: Api<Deployment> = Api::default_namespaced(c.client.clone());
        deployments
            .create(&PostParams::default(), &deployment("web", 2, "web:1"))
            .await
            .unwrap();
        c.clock().sleep(Duration::from_secs(29)).await;
        let pods = pods_of(&c.client, "web").await;
        assert_eq!(pods.len(), 2);
        for p in &pods {
            assert!(!pod_ready(p), "not ready within the start-up delay");
            assert_eq!(p.status.as_ref().unwrap().phase.as_deref(), Some("Running"));
        }
        wait(&c, &deployments, "web", "to roll out", rolled_out).await;
        // Virtual time moved straight from timer to timer: the rollout ends at the delay.
        assert_eq!(clock.since(start), Duration::from_secs(30));
        // Object timestamps follow the same clock: Ready 30 s after the pod started.
        for p in pods_of(&c.client, "web").await {
            let s = p.status.unwrap();
            let started = s.start_time.unwrap().0;
            let ready = s
                .conditions
                .unwrap()
                .into_iter()
                .find(|c| c.type_ == "Ready")
                .unwrap();
            let since = ready.last_transition_time.unwrap().0;
            assert_eq!(since.duration_since(started).as_secs(), 30);
            assert_eq!(started.to_string(), "2030-01-01T00:00:00Z");
        }
    })
}

#[test]
fn endpoints_follow_ready_pods_and_pdb_status_counts_them() {
    on_virtual_time(|clock| async move {
        let c = cluster(&clock).await;
        let services: Api<Service> = Api::default_namespaced(c.client.clone());
        let svc: Service = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}
    }))
    .unwrap();
        services.create(&PostParams::default(), &svc).await.unwrap();
        let pdbs: Api<PodDisruptionBudget> = Api::default_namespaced(c.client.clone());
        let pdb: PodDisruptionBudget = serde_json::from_value(json!({
            "metadata": {"name": "web"},
            "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}
        }))
        .unwrap();
        pdbs.create(&PostParams::default(), &pdb).await.unwrap();
        let deployments: Api<Deployment> = Api::default_namespaced(c.client.clone());
        deployments
            .create(&PostParams::default(), &deployment("web", 3, "web:1"))
            .await
            .unwrap();
        wait(&c, &deployments, "web", "to roll out", rolled_out).await;

        let endpoints: Api<Endpoints> = Api::default_namespaced(c.client.clone());
        let ep = wait(&c, &endpoints, "web", "to list three ready pods", |ep| {
            ep.subsets
                .iter()
                .flatten()
                .map(|s| s.addresses.iter().flatten().count())
                .sum::<usize>()
                == 3
        })
        .await;
        let subset = &ep.subsets.unwrap()[0];
        assert_eq!(subset.ports.as_ref().unwrap()[0].port, 8080);
        assert!(subset.not_ready_addresses.is_none());

        let pdb = wait(&c, &pdbs, "web", "to count the pods", |p| {
            p.status
                .as_ref()
                .is_some_and(|s| s.current_healthy == Some(3))
        })
        .await;
        let s = pdb.status.unwrap();
        assert_eq!(
            (
                s.current_healthy,
                s.desired_healthy,
                s.expected_pods,
                s.disruptions_allowed
            ),
            (Some(3), Some(2), Some(3), Some(1))
        );
        assert_eq!(s.observed_generation, Some(1));

        // One eviction is allowed, the second is refused while the replacement starts.
        let pods: Api<Pod> = Api::default_namespaced(c.client.clone());
        let names: Vec<String> = pods_of(&c.client, "web")
            .await
            .iter()
            .map(|p| p.name_any())
            .collect();
        pods.evict(&names[0], &EvictParams::default())
            .await
            .unwrap();
        let refused = pods.evict(&names[1], &EvictParams::default()).await;
        assert!(matches!(refused, Err(kube::Error::Api(s)) if s.code == 429));

        services
            .delete("web", &DeleteParams::default())
            .await
            .unwrap();
        c.clock().sleep(Duration::from_secs(1)).await;
        assert!(endpoints.get_opt("web").await.unwrap().is_none());
    })
}

#[test]
fn objects_that_exist_before_thecontrollers_start_are_reconciled() {
    on_virtual_time(|clock| async move {
        let sim = Simulator::with_clock(3, clock.clone());
        let client = sim.client();
        let deployments: Api<Deployment> = Api::default_namespaced(client.clone());
        deployments
            .create(&PostParams::default(), &deployment("early", 2, "app:1"))
            .await
            .unwrap();
        let c = cluster_of(sim, Duration::from_secs(2), Arc::new(ImageConvention)).await;
        let d = wait(&c, &deployments, "early", "to roll out", rolled_out).await;
        assert_eq!(d.status.unwrap().observed_generation, Some(1));
        assert_eq!(pods_of(&c.client, "early").await.len(), 2);
    })
}

#[test]
fn the_same_seeds_give_the_same_cluster() {
    on_virtual_time(|clock| async move {
        let mut runs = Vec::new();
        for _ in 0..2 {
            let c = cluster(&clock).await;
            let deployments: Api<Deployment> = Api::default_namespaced(c.client.clone());
            deployments
                .create(&PostParams::default(), &deployment("web", 3, "web:1"))
                .await
                .unwrap();
            wait(&c, &deployments, "web", "to roll out", rolled_out).await;
            let mut pods: Vec<(String, String, String)> = pods_of(&c.client, "web")
                .await
                .into_iter()
                .map(|p| {
                    (
                        p.name_any(),
                        p.spec.unwrap().node_name.unwrap(),
                        p.status.unwrap().pod_ip.unwrap(),
                    )
                })
                .collect();
            pods.sort();
            runs.push(pods);
        }
        assert_eq!(runs[0], runs[1]);
    })
}

#[test]
fn a_replicaset_scales_down_its_unready_pods_first() {
    on_virtual_time(|clock| async move {
        let c = cluster(&clock).await;
        let replicasets: Api<ReplicaSet> = Api::default_namespaced(c.client.clone());
        let rs: ReplicaSet = serde_json::from_value(json!({
            "metadata": {"name": "rs"},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "rs"}},
                "template": {
                    "metadata": {"labels": {"app": "rs"}},
                    "spec": {"containers": [{"name": "app", "image": "app:1"}]}
                }
            }
        }))
        .unwrap();
        replicasets
            .create(&PostParams::default(), &rs)
            .await
            .unwrap();
        wait(&c, &replicasets, "rs", "to be ready", |rs| {
            rs.status
                .as_ref()
                .is_some_and(|s| s.ready_replicas == Some(3))
        })
        .await;
        // A ReplicaSet does not roll: the new template only applies to the 4th pod, which never
        // becomes ready; scaling back to 3 removes that one.
        let patch = json!({"spec": {"replicas": 4, "template": {"spec": {"containers": [
            {"name": "app", "image": "x/never-ready:1"}
        ]}}}});
        replicasets
            .patch("rs", &PatchParams::default(), &Patch::Strategic(patch))
            .await
            .unwrap();
        wait(&c, &replicasets, "rs", "to have 4 pods", |rs| {
            rs.status
                .as_ref()
                .is_some_and(|s| s.replicas == 4 && s.ready_replicas == Some(3))
        })
        .await;
        replicasets
            .patch(
                "rs",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": 3}})),
            )
            .await
            .unwrap();
        let rs = wait(&c, &replicasets, "rs", "to scale down", |rs| {
            rs.status
                .as_ref()
                .is_some_and(|s| s.replicas == 3 && s.observed_generation == rs.metadata.generation)
        })
        .await;
        assert_eq!(rs.status.unwrap().ready_replicas, Some(3));
        c.clock().sleep(Duration::from_secs(5)).await;
        for p in pods_of(&c.client, "rs").await {
            assert_eq!(
                p.spec.unwrap().containers[0].image.as_deref(),
                Some("app:1")
            );
        }
    })
}

/// Fault injection through the hook: pods labelled `chaos=crash` crash-loop, whatever their image.
struct Chaos;

impl Faults for Chaos {
    fn pod_fate(&self, pod: &Value) -> PodFate {
        if pod["metadata"]["labels"]["chaos"] == "crash" {
            PodFate::CrashLoop
        } else {
            PodFate::of_pod(pod)
        }
    }
}

#[test]
fn the_fault_hook_decides_a_pods_fate() {
    on_virtual_time(|clock| async move {
        let c = cluster_of(
            Simulator::with_clock(5, clock.clone()),
            Duration::from_secs(2),
            Arc::new(Chaos),
        )
        .await;
        let pods: Api<Pod> = Api::default_namespaced(c.client.clone());
        for (name, chaos) in [("calm", "no"), ("wild", "crash")] {
            let p: Pod = serde_json::from_value(json!({
                "metadata": {"name": name, "labels": {"chaos": chaos}},
                "spec": {"containers": [{"name": "c", "image": "app:1"}]}
            }))
            .unwrap();
            pods.create(&PostParams::default(), &p).await.unwrap();
        }
        wait(&c, &pods, "calm", "to be ready", pod_ready).await;
        c.clock().sleep(Duration::from_secs(60)).await;
        let wild = pods.get("wild").await.unwrap();
        assert!(!pod_ready(&wild));
        let cs = &wild.status.unwrap().container_statuses.unwrap()[0];
        assert_eq!(
            cs.state
                .as_ref()
                .unwrap()
                .waiting
                .as_ref()
                .unwrap()
                .reason
                .as_deref(),
            Some("CrashLoopBackOff")
        );
    })
}

#[test]
fn a_daemonset_covers_a_thousand_nodes() {
    on_virtual_time(|clock| async move {
        let sim = Simulator::with_clock(9, clock.clone());
        let nodes = cutover_sim::kinds::find("", "v1", "nodes").unwrap();
        for i in 0..1000 {
            let node = json!({
                "metadata": {"name": format!("node-{i:04}"), "labels": {"pool": if i % 2 == 0 { "even" } else { "odd" }}},
                "status": {"conditions": [{"type": "Ready", "status": "True"}]},
            });
            sim.store().create(nodes, "", node, false).unwrap();
        }
        let c = cluster_of(sim, Duration::from_secs(2), Arc::new(ImageConvention)).await;
        let daemonsets: Api<DaemonSet> = Api::default_namespaced(c.client.clone());
        let ds: DaemonSet = serde_json::from_value(json!({
        "metadata": {"name": "agent"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {"nodeSelector": {"pool": "even"}, "containers": [{"name": "agent", "image": "agent:1"}]}
            }
        }
    }))
    .unwrap();
        daemonsets
            .create(&PostParams::default(), &ds)
            .await
            .unwrap();
        let ds = wait(&c, &daemonsets, "agent", "to cover the even nodes", |ds| {
            ds.status.as_ref().is_some_and(|s| s.number_ready == 500)
        })
        .await;
        let s = ds.status.unwrap();
        assert_eq!(
            (s.desired_number_scheduled, s.current_number_scheduled),
            (500, 500)
        );
        assert_eq!(pods_of(&c.client, "agent").await.len(), 500);
        // Once everything is ready the controllers go quiet: nothing queued, no timer pending.
        c.clock().sleep(Duration::from_secs(5)).await;
        assert!(c.controllers.is_idle());
        assert_eq!(c.controllers.next_timer(), None);
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controllers_also_run_on_a_multi_threaded_runtime_in_real_time() {
    let c = cluster_with(&Clock::tokio(), Duration::from_millis(20)).await;
    let deployments: Api<Deployment> = Api::default_namespaced(c.client.clone());
    deployments
        .create(&PostParams::default(), &deployment("web", 3, "web:1"))
        .await
        .unwrap();
    wait(&c, &deployments, "web", "to roll out", rolled_out).await;
    deployments.restart("web").await.unwrap();
    wait(&c, &deployments, "web", "to roll out again", |d| {
        rolled_out(d) && d.metadata.generation == Some(2)
    })
    .await;
}

#[test]
fn an_on_delete_daemonset_updates_only_the_pods_that_are_deleted() {
    on_virtual_time(|clock| async move {
        let c = cluster(&clock).await;
        let daemonsets: Api<DaemonSet> = Api::default_namespaced(c.client.clone());
        let ds: DaemonSet = serde_json::from_value(json!({
            "metadata": {"name": "agent"},
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "updateStrategy": {"type": "OnDelete"},
                "template": {
                    "metadata": {"labels": {"app": "agent"}},
                    "spec": {"containers": [{"name": "agent", "image": "agent:1"}]}
                }
            }
        }))
        .unwrap();
        daemonsets
            .create(&PostParams::default(), &ds)
            .await
            .unwrap();
        wait(&c, &daemonsets, "agent", "to be ready", |ds| {
            ds.status.as_ref().is_some_and(|s| s.number_ready == 3)
        })
        .await;
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": "agent:2"}]}}}});
        daemonsets
            .patch("agent", &PatchParams::default(), &Patch::Strategic(patch))
            .await
            .unwrap();
        let ds = wait(&c, &daemonsets, "agent", "to observe the change", |ds| {
            ds.status
                .as_ref()
                .is_some_and(|s| s.observed_generation == Some(2))
        })
        .await;
        // 0 is left out, as the API server leaves out `omitempty` integers.
        assert_eq!(ds.status.unwrap().updated_number_scheduled, None);
        c.clock().sleep(Duration::from_secs(60)).await;
        let pods: Api<Pod> = Api::default_namespaced(c.client.clone());
        let before = pods_of(&c.client, "agent").await;
        assert!(
        before
            .iter()
            .all(|p| p.spec.as_ref().unwrap().containers[0].image.as_deref() == Some("agent:1"))
    );

        let victim = before
            .iter()
            .find(|p| p.spec.as_ref().unwrap().node_name.as_deref() == Some("n2"))
            .unwrap();
        pods.delete(&victim.name_any(), &DeleteParams::default())
            .await
            .unwrap();
        wait(
            &c,
            &daemonsets,
            "agent",
            "to replace the deleted pod",
            |ds| {
                ds.status
                    .as_ref()
                    .is_some_and(|s| s.updated_number_scheduled == Some(1) && s.number_ready == 3)
            },
        )
        .await;
        for p in pods_of(&c.client, "agent").await {
            let spec = p.spec.unwrap();
            let expected = if spec.node_name.as_deref() == Some("n2") {
                "agent:2"
            } else {
                "agent:1"
            };
            assert_eq!(spec.containers[0].image.as_deref(), Some(expected));
        }
    })
}

/// An `OnDelete` DaemonSet is reconciled node by node (only the node a change concerns), its
/// status kept by node: relabelling nodes in and out of its node selector, and replacing one
/// pod, must leave the same pods and the same status a whole reconcile computes. Breaks when
/// a node's change is not queued for that node, or when the status by node drifts from the
/// pods (a count not taken back when a node leaves).
#[test]
fn an_on_delete_daemonset_follows_each_node_and_keeps_its_status_by_node() {
    on_virtual_time(|clock| async move {
        let c = cluster(&clock).await;
        let nodes: Api<Node> = Api::all(c.client.clone());
        let label = |pool: &str| json!({"metadata": {"labels": {"pool": pool}}});
        let relabel = async |node: &str, pool: &str| {
            nodes
                .patch(node, &PatchParams::default(), &Patch::Merge(label(pool)))
                .await
                .unwrap();
        };
        relabel("n1", "a").await;
        relabel("n2", "a").await;
        let daemonsets: Api<DaemonSet> = Api::default_namespaced(c.client.clone());
        let ds: DaemonSet = serde_json::from_value(json!({
            "metadata": {"name": "agent"},
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "updateStrategy": {"type": "OnDelete"},
                "template": {
                    "metadata": {"labels": {"app": "agent"}},
                    "spec": {
                        "nodeSelector": {"pool": "a"},
                        "containers": [{"name": "agent", "image": "agent:1"}],
                    }
                }
            }
        }))
        .unwrap();
        daemonsets
            .create(&PostParams::default(), &ds)
            .await
            .unwrap();
        let covers = |n: i32| {
            move |ds: &DaemonSet| {
                ds.status.as_ref().is_some_and(|s| {
                    (
                        s.desired_number_scheduled,
                        s.current_number_scheduled,
                        s.number_ready,
                    ) == (n, n, n)
                        && s.number_misscheduled == 0
                })
            }
        };
        wait(&c, &daemonsets, "agent", "to cover n1 and n2", covers(2)).await;
        // n2 leaves the selector, n3 joins it: n2's pod goes, n3 gets one.
        relabel("n2", "b").await;
        relabel("n3", "a").await;
        wait(&c, &daemonsets, "agent", "to cover n1 and n3", covers(2)).await;
        c.clock().sleep(Duration::from_secs(60)).await;
        let running = |pods: Vec<Pod>| -> Vec<(String, String)> {
            let mut on: Vec<(String, String)> = pods
                .into_iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .map(|p| {
                    let spec = p.spec.unwrap_or_default();
                    let image = spec.containers[0].image.clone().unwrap_or_default();
                    (spec.node_name.unwrap_or_default(), image)
                })
                .collect();
            on.sort();
            on
        };
        assert_eq!(
            running(pods_of(&c.client, "agent").await),
            [
                ("n1".into(), "agent:1".into()),
                ("n3".into(), "agent:1".into())
            ]
        );
        let settled = daemonsets.get("agent").await.unwrap();
        assert!(covers(2)(&settled), "{:?}", settled.status);
        // A new template, then n3's pod deleted: only n3's pod is of the new template.
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": "agent:2"}]}}}});
        daemonsets
            .patch("agent", &PatchParams::default(), &Patch::Strategic(patch))
            .await
            .unwrap();
        let on_n3 = pods_of(&c.client, "agent")
            .await
            .into_iter()
            .find(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some("n3"))
            .unwrap();
        let pods: Api<Pod> = Api::default_namespaced(c.client.clone());
        pods.delete(&on_n3.name_any(), &DeleteParams::default())
            .await
            .unwrap();
        let ds = wait(&c, &daemonsets, "agent", "to replace n3's pod", |ds| {
            ds.status
                .as_ref()
                .is_some_and(|s| s.updated_number_scheduled == Some(1) && s.number_ready == 2)
        })
        .await;
        let status = ds.status.unwrap();
        assert_eq!(
            (
                status.desired_number_scheduled,
                status.current_number_scheduled,
                status.number_misscheduled,
                status.number_available,
                status.number_unavailable,
            ),
            (2, 2, 0, Some(2), None),
        );
        c.clock().sleep(Duration::from_secs(60)).await;
        assert_eq!(
            running(pods_of(&c.client, "agent").await),
            [
                ("n1".into(), "agent:1".into()),
                ("n3".into(), "agent:2".into())
            ]
        );
        // The status by node agrees with a whole reconcile's: a change of the template's
        // metadata (no new pod under OnDelete) makes one.
        let patch =
            json!({"spec": {"template": {"metadata": {"annotations": {"touched": "yes"}}}}});
        daemonsets
            .patch("agent", &PatchParams::default(), &Patch::Merge(patch))
            .await
            .unwrap();
        let whole = wait(&c, &daemonsets, "agent", "to observe generation 3", |ds| {
            ds.status
                .as_ref()
                .is_some_and(|s| s.observed_generation == Some(3))
        })
        .await;
        let whole = whole.status.unwrap();
        assert_eq!(
            (
                whole.desired_number_scheduled,
                whole.current_number_scheduled,
                whole.number_ready
            ),
            (2, 2, 2),
        );
        assert_eq!(
            whole.updated_number_scheduled, None,
            "no pod of generation 3's template"
        );
        // A client's status write is not the controller's own: it is corrected.
        let wrong = json!({"status": {"numberReady": 0, "desiredNumberScheduled": 7}});
        daemonsets
            .patch_status("agent", &PatchParams::default(), &Patch::Merge(wrong))
            .await
            .unwrap();
        wait(
            &c,
            &daemonsets,
            "agent",
            "to correct a client's status",
            covers(2),
        )
        .await;
    })
}
