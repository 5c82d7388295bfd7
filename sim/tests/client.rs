//! End-to-end: a real `kube::Client` talking to the simulator in-process.

use std::time::Duration;

use cutover_sim::Simulator;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;

use kube::api::{
    Api, DeleteParams, EvictParams, ListParams, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::core::response::{Status, StatusSummary};
use kube::runtime::{wait::await_condition, watcher};
use kube::{Client, Error};
use serde_json::{Value, json};

fn setup() -> (Simulator, Client) {
    let sim = Simulator::new(42);
    let client = sim.client();
    (sim, client)
}

fn api_error(result: Result<impl std::fmt::Debug, Error>) -> Box<Status> {
    match result {
        Err(Error::Api(status)) => status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn pod(name: &str, labels: Value, node: Option<&str>) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "app", "image": "app:1"}], "nodeName": node},
    }))
    .unwrap()
}

fn deployment(name: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [
                    {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}]},
                    {"name": "side", "image": "side:1"}
                ]}
            }
        }
    }))
    .unwrap()
}

async fn make_ready(pods: &Api<Pod>, name: &str) {
    pods.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}})),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn create_get_list_replace_delete() {
    let (_sim, client) = setup();
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let created = pods
        .create(
            &PostParams::default(),
            &pod("web-1", json!({"app": "web"}), Some("n1")),
        )
        .await
        .unwrap();
    assert!(created.metadata.uid.is_some());
    assert!(created.metadata.creation_timestamp.is_some());
    assert_eq!(created.status.unwrap().phase.as_deref(), Some("Pending"));
    pods.create(
        &PostParams::default(),
        &pod("web-2", json!({"app": "web"}), None),
    )
    .await
    .unwrap();
    pods.create(
        &PostParams::default(),
        &pod("db-1", json!({"app": "db"}), Some("n2")),
    )
    .await
    .unwrap();

    let again = api_error(
        pods.create(&PostParams::default(), &pod("web-1", json!({}), None))
            .await,
    );
    assert_eq!((again.code, again.reason.as_str()), (409, "AlreadyExists"));

    let got = pods.get("web-1").await.unwrap();
    assert_eq!(got.metadata.name.as_deref(), Some("web-1"));
    let missing = api_error(pods.get("nope").await);
    assert_eq!(missing.code, 404);
    assert_eq!(missing.message, "pods \"nope\" not found");

    let names = |l: kube::core::ObjectList<Pod>| -> Vec<String> {
        l.items
            .into_iter()
            .map(|p| p.metadata.name.unwrap())
            .collect()
    };
    let web = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap();
    assert_eq!(names(web), ["web-1", "web-2"]);
    let not_web = pods
        .list(&ListParams::default().labels("app notin (web)"))
        .await
        .unwrap();
    assert_eq!(names(not_web), ["db-1"]);
    let on_n1 = pods
        .list(&ListParams::default().fields("spec.nodeName=n1"))
        .await
        .unwrap();
    assert_eq!(names(on_n1), ["web-1"]);
    let unscheduled = pods
        .list(&ListParams::default().fields("spec.nodeName="))
        .await
        .unwrap();
    assert_eq!(names(unscheduled), ["web-2"]);
    let bad = api_error(
        pods.list(&ListParams::default().fields("spec.bogus=1"))
            .await,
    );
    assert_eq!(bad.code, 400);
    // paging
    let page = pods.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(page.items.len(), 2);
    let token = page.metadata.continue_.clone().unwrap();
    let rest = pods
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await
        .unwrap();
    assert_eq!(names(rest), ["web-2"]);
    // across namespaces
    let all: Api<Pod> = Api::all(client.clone());
    assert_eq!(
        all.list(&ListParams::default()).await.unwrap().items.len(),
        3
    );

    // replace with a stale resourceVersion: 409
    let mut stale = got.clone();
    let mut fresh = got.clone();
    fresh
        .metadata
        .labels
        .get_or_insert_default()
        .insert("v".into(), "2".into());
    let replaced = pods
        .replace("web-1", &PostParams::default(), &fresh)
        .await
        .unwrap();
    assert_ne!(
        replaced.metadata.resource_version,
        got.metadata.resource_version
    );
    stale
        .metadata
        .labels
        .get_or_insert_default()
        .insert("v".into(), "stale".into());
    let conflict = api_error(pods.replace("web-1", &PostParams::default(), &stale).await);
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
    assert!(conflict.message.contains("the object has been modified"));

    // dry run stores nothing
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    pods.create(&dry, &pod("ghost", json!({}), None))
        .await
        .unwrap();
    assert_eq!(api_error(pods.get("ghost").await).code, 404);

    // delete: an unscheduled pod goes at once, a bound one terminates gracefully
    pods.delete("web-2", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(api_error(pods.get("web-2").await).code, 404);
    pods.delete("web-1", &DeleteParams::default())
        .await
        .unwrap();
    let terminating = pods.get("web-1").await.unwrap();
    assert!(terminating.metadata.deletion_timestamp.is_some());
    assert_eq!(terminating.metadata.deletion_grace_period_seconds, Some(30));
    pods.delete("web-1", &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    assert_eq!(api_error(pods.get("web-1").await).code, 404);
}

#[tokio::test]
async fn missing_namespace_is_404() {
    let (_sim, client) = setup();
    let cms: Api<ConfigMap> = Api::namespaced(client, "nowhere");
    let err = api_error(
        cms.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "c"}})).unwrap(),
        )
        .await,
    );
    assert_eq!((err.code, err.reason.as_str()), (404, "NotFound"));
    assert_eq!(err.message, "namespaces \"nowhere\" not found");
}

#[tokio::test]
async fn every_patch_type() {
    let (_sim, client) = setup();
    let deploys: Api<Deployment> = Api::default_namespaced(client);
    deploys
        .create(&PostParams::default(), &deployment("web", 2))
        .await
        .unwrap();
    let pp = PatchParams::default();

    let d = deploys
        .patch(
            "web",
            &pp,
            &Patch::Merge(json!({"metadata": {"labels": {"team": "a"}}})),
        )
        .await
        .unwrap();
    assert_eq!(d.metadata.labels.unwrap()["team"], "a");
    assert_eq!(
        d.metadata.generation,
        Some(1),
        "metadata-only change keeps generation"
    );

    let d = deploys
        .patch(
            "web",
            &pp,
            &Patch::Json::<()>(
                serde_json::from_value(json!([
                    {"op": "replace", "path": "/spec/replicas", "value": 4}
                ]))
                .unwrap(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(d.spec.replicas, Some(4));
    assert_eq!(d.metadata.generation, Some(2));

    let d = deploys
        .patch(
            "web",
            &pp,
            &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [
                {"name": "app", "image": "app:2", "env": [{"name": "B", "value": "2"}]}
            ]}}}})),
        )
        .await
        .unwrap();
    let containers = d.spec.template.spec.unwrap().containers;
    assert_eq!(containers.len(), 2, "strategic merge keeps the sidecar");
    assert_eq!(containers[0].image.as_deref(), Some("app:2"));
    assert_eq!(containers[0].env.as_ref().unwrap().len(), 2);
    assert_eq!(d.metadata.generation, Some(3));

    let failed = api_error(
        deploys
            .patch(
                "web",
                &pp,
                &Patch::Json::<()>(
                    serde_json::from_value(json!([
                        {"op": "test", "path": "/spec/replicas", "value": 99}
                    ]))
                    .unwrap(),
                ),
            )
            .await,
    );
    assert_eq!(failed.code, 422);

    // server-side apply: updates an existing object, creates an absent one
    let apply = PatchParams::apply("cutover-test").force();
    let d = deploys
        .patch(
            "web",
            &apply,
            &Patch::Apply(json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web"}, "spec": {"replicas": 1}})),
        )
        .await
        .unwrap();
    assert_eq!(d.spec.replicas, Some(1));
    let mut fresh = deployment("applied", 3);
    fresh.metadata.managed_fields = None;
    let value = serde_json::to_value(&fresh).unwrap();
    let mut value = value;
    value["apiVersion"] = json!("apps/v1");
    value["kind"] = json!("Deployment");
    let created = deploys
        .patch("applied", &apply, &Patch::Apply(value.clone()))
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    // kube refuses an apply without a field manager client-side; the server says 400 too
    let raw = http::Request::patch("/apis/apps/v1/namespaces/default/deployments/web")
        .header("content-type", "application/apply-patch+yaml")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(
            b"apiVersion: apps/v1\nkind: Deployment\n",
        )))
        .unwrap();
    let resp = _sim.handle(raw).await;
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn status_and_scale_subresources() {
    let (_sim, client) = setup();
    let deploys: Api<Deployment> = Api::default_namespaced(client);
    deploys
        .create(&PostParams::default(), &deployment("web", 2))
        .await
        .unwrap();

    let d = deploys
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 2, "observedGeneration": 1}, "spec": {"replicas": 9}})),
        )
        .await
        .unwrap();
    assert_eq!(d.status.unwrap().observed_generation, Some(1));
    assert_eq!(d.spec.replicas, Some(2), "status patches do not touch spec");

    let d = deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 100}})),
        )
        .await
        .unwrap();
    assert_eq!(
        d.status.unwrap().replicas,
        Some(2),
        "main patches do not touch status"
    );

    let scale = deploys.get_scale("web").await.unwrap();
    assert_eq!(scale.spec.as_ref().unwrap().replicas, Some(2));
    assert_eq!(scale.status.as_ref().unwrap().replicas, 2);
    assert_eq!(
        scale.status.as_ref().unwrap().selector.as_deref(),
        Some("app=web")
    );

    let mut bigger = scale.clone();
    bigger.spec.as_mut().unwrap().replicas = Some(5);
    let s = deploys
        .replace_scale("web", &PostParams::default(), &bigger)
        .await
        .unwrap();
    assert_eq!(s.spec.unwrap().replicas, Some(5));
    assert_eq!(deploys.get("web").await.unwrap().spec.replicas, Some(5));
    // the old Scale's resourceVersion is stale now
    let stale = api_error(
        deploys
            .replace_scale("web", &PostParams::default(), &bigger)
            .await,
    );
    assert_eq!(stale.code, 409);

    let s = deploys
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 1}})),
        )
        .await
        .unwrap();
    assert_eq!(s.spec.unwrap().replicas, Some(1));
    let d = deploys.get("web").await.unwrap();
    assert_eq!(d.spec.replicas, Some(1));
    assert_eq!(d.metadata.generation, Some(3));
}

#[tokio::test]
async fn raw_watch_sees_added_modified_deleted() {
    let (_sim, client) = setup();
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let list = cms.list(&ListParams::default()).await.unwrap();
    let rv = list.metadata.resource_version.unwrap();
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "c", "labels": {"w": "y"}}})).unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    cms.patch(
        "c",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "v"}})),
    )
    .await
    .unwrap();
    cms.delete("c", &DeleteParams::default()).await.unwrap();

    let stream = cms
        .watch(&WatchParams::default().labels("w=y").timeout(1), &rv)
        .await
        .unwrap();
    let events: Vec<WatchEvent<ConfigMap>> = stream.take(3).try_collect().await.unwrap();
    assert!(matches!(&events[0], WatchEvent::Added(c) if c.data.is_none()));
    assert!(matches!(&events[1], WatchEvent::Modified(c) if c.data.as_ref().unwrap()["k"] == "v"));
    assert!(matches!(&events[2], WatchEvent::Deleted(_)));
}

#[tokio::test]
async fn watch_from_a_compacted_version_is_gone() {
    let (sim, client) = setup();
    sim.store().set_history_limit(1);
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    for name in ["a", "b", "c"] {
        let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
        cms.create(&PostParams::default(), &cm).await.unwrap();
    }
    let mut stream = cms
        .watch(&WatchParams::default(), "1")
        .await
        .unwrap()
        .boxed();
    match stream.next().await {
        // as from a real server: a 200 stream whose one event is an ERROR carrying 410
        Some(Ok(WatchEvent::Error(status))) => {
            assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
            assert!(status.message.starts_with("too old resource version: 1"));
        }
        other => panic!("expected 410 Gone, got {other:?}"),
    }
}

#[tokio::test]
async fn runtime_watcher_and_await_condition() {
    let (_sim, client) = setup();
    let pods: Api<Pod> = Api::default_namespaced(client);
    pods.create(
        &PostParams::default(),
        &pod("early", json!({"app": "w"}), Some("n1")),
    )
    .await
    .unwrap();
    let mut events = watcher(pods.clone(), watcher::Config::default().labels("app=w")).boxed();
    // initial list
    let mut initial = Vec::new();
    loop {
        match events.try_next().await.unwrap().unwrap() {
            watcher::Event::InitApply(p) => initial.push(p.metadata.name.unwrap()),
            watcher::Event::InitDone => break,
            _ => {}
        }
    }
    assert_eq!(initial, ["early"]);

    let waiter = tokio::spawn(await_condition(pods.clone(), "late", |p: Option<&Pod>| {
        p.and_then(|p| p.status.as_ref())
            .and_then(|s| s.phase.as_deref())
            == Some("Running")
    }));
    pods.create(
        &PostParams::default(),
        &pod("late", json!({"app": "w"}), Some("n1")),
    )
    .await
    .unwrap();
    make_ready(&pods, "late").await;
    pods.delete("late", &DeleteParams::default().grace_period(0))
        .await
        .unwrap();

    let mut seen = Vec::new();
    while seen.len() < 3 {
        match events.try_next().await.unwrap().unwrap() {
            watcher::Event::Apply(p) => seen.push(format!(
                "apply {} {}",
                p.metadata.name.unwrap(),
                p.status.and_then(|s| s.phase).unwrap_or_default()
            )),
            watcher::Event::Delete(p) => seen.push(format!("delete {}", p.metadata.name.unwrap())),
            _ => {}
        }
    }
    assert_eq!(
        seen,
        ["apply late Pending", "apply late Running", "delete late"]
    );
    let done = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("await_condition finishes")
        .unwrap()
        .unwrap();
    assert!(done.is_some());
}

#[tokio::test]
async fn eviction_respects_disruption_budgets() {
    let (_sim, client) = setup();
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    for name in ["web-1", "web-2"] {
        pods.create(
            &PostParams::default(),
            &pod(name, json!({"app": "web"}), Some("n1")),
        )
        .await
        .unwrap();
        make_ready(&pods, name).await;
    }
    pods.create(
        &PostParams::default(),
        &pod("free", json!({"app": "other"}), Some("n1")),
    )
    .await
    .unwrap();
    make_ready(&pods, "free").await;
    let pdbs: Api<PodDisruptionBudget> = Api::default_namespaced(client.clone());
    let pdb = serde_json::from_value(json!({"metadata": {"name": "web"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}}))
    .unwrap();
    pdbs.create(&PostParams::default(), &pdb).await.unwrap();
    // Without its status the budget refuses: the eviction API judges by the status.
    let unprocessed = api_error(pods.evict("web-1", &EvictParams::default()).await);
    assert_eq!(unprocessed.code, 429);
    // No controllers run here: write the status the disruption controller would.
    let budget_status = |generation: i64, expected: i64, healthy: i64, desired: i64| {
        json!({"status": {
            "observedGeneration": generation, "expectedPods": expected,
            "currentHealthy": healthy, "desiredHealthy": desired,
            "disruptionsAllowed": (healthy - desired).max(0),
        }})
    };
    pdbs.patch_status(
        "web",
        &PatchParams::default(),
        &Patch::Merge(budget_status(1, 2, 2, 1)),
    )
    .await
    .unwrap();

    // no budget covers this pod
    let ok = pods.evict("free", &EvictParams::default()).await.unwrap();
    assert_eq!(ok.status, Some(StatusSummary::Success));
    assert!(
        pods.get("free")
            .await
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_some()
    );

    // two healthy, minAvailable 1: the first eviction is allowed
    pods.evict("web-1", &EvictParams::default()).await.unwrap();
    assert!(
        pods.get("web-1")
            .await
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_some()
    );
    // the eviction took the one disruption the status allowed, and recorded the pod
    let taken = pdbs.get_status("web").await.unwrap().status.unwrap();
    assert_eq!(taken.disruptions_allowed, Some(0));
    assert!(
        taken
            .disrupted_pods
            .unwrap_or_default()
            .contains_key("web-1")
    );
    // the second would leave none
    let refused = api_error(pods.evict("web-2", &EvictParams::default()).await);
    assert_eq!(
        (refused.code, refused.reason.as_str()),
        (429, "TooManyRequests")
    );
    assert_eq!(
        refused.message,
        "Cannot evict pod as it would violate the pod's disruption budget."
    );
    assert!(
        pods.get("web-2")
            .await
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_none()
    );

    // a percentage maxUnavailable of 50% of one pod rounds up to 1: allowed
    pdbs.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"minAvailable": null, "maxUnavailable": "50%"}})),
    )
    .await
    .unwrap();
    // a budget whose status is behind its spec refuses until the controller catches up
    let behind = api_error(pods.evict("web-2", &EvictParams::default()).await);
    assert_eq!(behind.code, 429);
    pdbs.patch_status(
        "web",
        &PatchParams::default(),
        &Patch::Merge(budget_status(2, 1, 1, 0)),
    )
    .await
    .unwrap();
    pods.evict("web-2", &EvictParams::default()).await.unwrap();
    assert_eq!(
        api_error(pods.evict("nope", &EvictParams::default()).await).code,
        404
    );
}

#[tokio::test]
async fn owner_reference_cascade() {
    let (_sim, client) = setup();
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let owner = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "owner"}})).unwrap(),
        )
        .await
        .unwrap();
    let oref = json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
        "uid": owner.metadata.uid.unwrap(), "controller": true}]);
    for name in ["dep-1", "dep-2"] {
        let cm =
            serde_json::from_value(json!({"metadata": {"name": name, "ownerReferences": oref}}))
                .unwrap();
        cms.create(&PostParams::default(), &cm).await.unwrap();
    }
    cms.delete("owner", &DeleteParams::background())
        .await
        .unwrap();
    assert_eq!(api_error(cms.get("dep-1").await).code, 404);
    assert_eq!(api_error(cms.get("dep-2").await).code, 404);

    let owner2 = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "owner2"}})).unwrap(),
        )
        .await
        .unwrap();
    let oref = json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner2", "uid": owner2.metadata.uid.unwrap()}]);
    let cm = serde_json::from_value(json!({"metadata": {"name": "kept", "ownerReferences": oref}}))
        .unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    cms.delete("owner2", &DeleteParams::orphan()).await.unwrap();
    let kept = cms.get("kept").await.unwrap();
    assert!(
        kept.metadata
            .owner_references
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn discovery_finds_kinds_and_subresources() {
    let (_sim, client) = setup();
    let version = client.apiserver_version().await.unwrap();
    assert_eq!(version.git_version, "v1.30.0-cutover-sim");
    let discovery = kube::discovery::Discovery::new(client).run().await.unwrap();
    let apps = discovery.get("apps").expect("apps group");
    let (deploy, caps) = apps
        .recommended_resources()
        .into_iter()
        .find(|(r, _)| r.kind == "Deployment")
        .expect("Deployment");
    assert_eq!(deploy.version, "v1");
    assert_eq!(deploy.plural, "deployments");
    assert!(caps.subresources.iter().any(|(r, _)| r.plural == "scale"));
    let core = discovery.get("").expect("core group");
    let (_, pod_caps) = core
        .recommended_resources()
        .into_iter()
        .find(|(r, _)| r.kind == "Pod")
        .expect("Pod");
    assert!(
        pod_caps
            .subresources
            .iter()
            .any(|(r, _)| r.plural == "eviction")
    );
    let policy = discovery.get("policy").expect("policy group");
    assert_eq!(policy.preferred_version(), Some("v1"));
}
