//! The controller procedure through FakeCluster: refusals before any change, the happy path's calls in order, a resume after the scale, and undo from each point.

use cutover_guest_sdk::manifest::Manifest;
use cutover_guest_sdk::testing::FakeCluster;
use cutover_guest_sdk::{Context, Error, Request};
use serde_json::{Value, json};

use super::*;

const MANIFEST: Manifest = cutover_guest_sdk::policy_manifest! {
    name: "controller-test", version: "0.1.0", description: "d",
    params: [
        { name: "replica-set", type: "string", required: true },
        { name: "timeout", type: "duration", default: "5m" },
        { name: "delete-replica-set", type: "boolean", default: false },
    ],
    capabilities: [],
};

const NS: &str = "kube-system";
const RS: &str = "calico-policy-controller";
const DEPLOY: &str = "calico-kube-controllers";

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": DEPLOY, "namespace": NS, "labels": {"k8s-app": DEPLOY}},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": {"k8s-app": DEPLOY}},
            "template": {
                "metadata": {"labels": {"k8s-app": DEPLOY}},
                "spec": {"containers": [{"name": DEPLOY, "image": "calico/kube-controllers:v3.0.0"}]},
            },
        },
    })
}

fn owned_by(kind: &str, name: &str, uid: &str) -> Value {
    json!([{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": uid, "controller": true}])
}

/// The old ReplicaSet with one pod, and a pod with the same labels that is not its own.
fn cluster() -> FakeCluster {
    FakeCluster::new()
        .namespace(NS)
        .with(json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": RS, "namespace": NS, "uid": "rs-1",
                         "labels": {"k8s-app": "calico-policy"},
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}", "team": "net"}},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"k8s-app": "calico-policy"}},
                "template": {"metadata": {"labels": {"k8s-app": "calico-policy"}},
                             "spec": {"containers": [{"name": "p", "image": "calico/kube-policy-controller:v0.7.0"}]}},
            },
        }))
        .with(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "calico-policy-controller-x1", "namespace": NS, "uid": "pod-1",
                         "labels": {"k8s-app": "calico-policy"},
                         "ownerReferences": owned_by("ReplicaSet", RS, "rs-1")},
        }))
        .with(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "stray", "namespace": NS, "uid": "pod-2",
                         "labels": {"k8s-app": "calico-policy"}},
        }))
}

fn params(extra: Value) -> Value {
    let mut p = json!({"replica-set": RS});
    if let (Some(p), Some(extra)) = (p.as_object_mut(), extra.as_object()) {
        p.extend(extra.clone());
    }
    p
}

fn context(fake: &FakeCluster, extra: Value) -> (Context, Params) {
    let ctx = fake.context(&MANIFEST, params(extra)).unwrap();
    let p: Params = ctx.params().unwrap();
    (ctx, p)
}

/// Runs the procedure as a policy would: `drive` from the fake's checkpoint.
fn run(ctx: &Context, p: &Params, manifest: Option<&Value>) -> Result<String, Error> {
    crate::drive(
        ctx,
        |ctx, state: &mut State, save| {
            let manifest = if state.needs_manifest() {
                manifest
            } else {
                None
            };
            forward(ctx, p, manifest, state, save)
        },
        undo,
    )
}

fn rs_replicas(fake: &FakeCluster) -> Option<u64> {
    fake.object("apps/v1", "ReplicaSet", Some(NS), RS)
        .and_then(|rs| rs["spec"]["replicas"].as_u64())
}

fn checkpoint(fake: &FakeCluster) -> Value {
    serde_json::from_str(&fake.checkpoint().expect("a checkpoint")).unwrap()
}

/// The calls other than checkpoints.
fn calls(fake: &FakeCluster) -> Vec<String> {
    fake.call_lines()
        .into_iter()
        .filter(|c| !c.starts_with("checkpoint"))
        .collect()
}

/// What the undo lists the Deployment's pods as.
const PODS: &str = "Pod in kube-system";

/// A pod of the Deployment, as its ReplicaSet `calico-kube-controllers-6d4` makes it.
fn deployment_pod(suffix: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("calico-kube-controllers-6d4-{suffix}"), "namespace": NS,
                     "uid": format!("pod-{suffix}"), "labels": {"k8s-app": DEPLOY},
                     "ownerReferences": owned_by("ReplicaSet", "calico-kube-controllers-6d4", "rs-2")},
    })
}

/// The pod's deletion the fake cannot do (it runs no ReplicaSet controller): the next wait
/// for `n` pods to be gone is met.
fn pods_go(fake: &FakeCluster, n: usize) {
    fake.respond("wait-all", &format!("{n} objects"), Ok(json!([])));
}

#[test]
fn a_rolling_update_or_no_strategy_is_refused_before_any_call() {
    for (strategy, says) in [
        (
            json!({"type": "RollingUpdate"}),
            "has strategy RollingUpdate, which runs old and new pods together",
        ),
        (
            Value::Null,
            "sets no spec.strategy.type, which Kubernetes defaults to RollingUpdate",
        ),
    ] {
        let fake = cluster();
        let (ctx, p) = context(&fake, json!({}));
        let mut manifest = deployment();
        manifest["spec"]["strategy"] = strategy;
        let e = run(&ctx, &p, Some(&manifest)).unwrap_err();
        assert!(e.is_invalid(), "{e}");
        let text = e.to_string();
        assert!(text.contains(says), "{text}");
        assert!(
            text.ends_with(
                "set spec.strategy.type: Recreate: at most one calico-kube-controllers may run"
            ),
            "{text}"
        );
        assert!(fake.call_lines().is_empty(), "{:?}", fake.call_lines());
        assert_eq!(rs_replicas(&fake), Some(1));
        assert_eq!(fake.checkpoint(), None);
    }
}

#[test]
fn other_manifests_are_refused_with_what_to_change() {
    type Edit = fn(&mut Value);
    let cases: [(Edit, &str); 6] = [
        (
            |d| d["kind"] = json!("DaemonSet"),
            "the manifest must be one apps/v1 Deployment, not apps/v1 DaemonSet calico-kube-controllers",
        ),
        (
            |d| d["apiVersion"] = json!("extensions/v1beta1"),
            "the manifest must be one apps/v1 Deployment, not extensions/v1beta1 Deployment",
        ),
        (
            |d| d["metadata"]["namespace"] = json!("calico"),
            "Deployment calico/calico-kube-controllers is for namespace calico, not the run's kube-system: run with -n calico",
        ),
        (
            |d| d["spec"]["replicas"] = json!(2),
            "Deployment calico-kube-controllers asks for 2 replicas: at most one calico-kube-controllers may run; set spec.replicas: 1",
        ),
        (
            |d| d["spec"]["strategy"]["rollingUpdate"] = json!({"maxSurge": 0}),
            "has spec.strategy.rollingUpdate, which the API server refuses with strategy Recreate",
        ),
        (
            |d| d["spec"]["template"]["metadata"]["labels"] = json!({"app": "x"}),
            "spec.selector asks for k8s-app=calico-kube-controllers, which spec.template.metadata.labels does not have",
        ),
    ];
    for (edit, says) in cases {
        let mut manifest = deployment();
        edit(&mut manifest);
        let e = checked_deployment(&manifest, NS).unwrap_err();
        assert!(e.is_invalid() && e.to_string().contains(says), "{e}");
    }
    // Without a namespace it is given the run's.
    let mut bare = deployment();
    bare["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("namespace");
    assert_eq!(
        checked_deployment(&bare, NS).unwrap()["metadata"]["namespace"],
        NS
    );
}

#[test]
fn a_missing_replica_set_or_two_controllers_running_are_refused_before_any_change() {
    let fake = cluster();
    let (ctx, mut p) = context(&fake, json!({}));
    p.replica_set = "calico-policy".into();
    let e = run(&ctx, &p, Some(&deployment())).unwrap_err();
    assert!(e.is_not_found());
    assert!(
        e.to_string()
            .starts_with("ReplicaSet kube-system/calico-policy does not exist"),
        "{e}"
    );
    assert_eq!(calls(&fake), ["get ReplicaSet kube-system/calico-policy"]);

    let fake = cluster().with(deployment());
    let (ctx, p) = context(&fake, json!({}));
    let e = run(&ctx, &p, Some(&deployment())).unwrap_err();
    assert_eq!(
        e.to_string(),
        "ReplicaSet kube-system/calico-policy-controller (1 replica) and Deployment kube-system/calico-kube-controllers (1 replica) both run already: at most one calico-kube-controllers may run; scale one of them to 0 first"
    );
    assert_eq!(rs_replicas(&fake), Some(1));
    assert_eq!(fake.checkpoint(), None);
}

#[test]
fn a_replica_set_another_controller_owns_is_refused() {
    let fake = cluster();
    let mut rs = fake.object("apps/v1", "ReplicaSet", Some(NS), RS).unwrap();
    rs["metadata"]["ownerReferences"] = owned_by("Deployment", "calico-policy-controller", "d-0");
    fake.insert(rs).unwrap();
    let (ctx, p) = context(&fake, json!({}));
    let e = run(&ctx, &p, Some(&deployment())).unwrap_err();
    assert!(
        e.to_string()
            .contains("is controlled by Deployment calico-policy-controller"),
        "{e}"
    );
    assert_eq!(fake.checkpoint(), None);
}

#[test]
fn the_happy_path_scales_waits_applies_and_waits_in_order() {
    let fake = cluster();
    pods_go(&fake, 1);
    let (ctx, p) = context(&fake, json!({}));
    let summary = run(&ctx, &p, Some(&deployment())).unwrap();
    assert_eq!(
        summary,
        "ReplicaSet kube-system/calico-policy-controller scaled from 1 replica to 0 and its pods gone, Deployment kube-system/calico-kube-controllers created (Recreate) and rolled out; the ReplicaSet is kept at 0 replicas"
    );
    assert_eq!(
        calls(&fake),
        [
            "get ReplicaSet kube-system/calico-policy-controller",
            "get Deployment kube-system/calico-kube-controllers",
            "scale ReplicaSet kube-system/calico-policy-controller",
            "list Pod in kube-system",
            "wait-all 1 objects",
            "apply Deployment kube-system/calico-kube-controllers",
            "wait Deployment kube-system/calico-kube-controllers",
        ]
    );
    let all = fake.calls();
    // The stray pod with the same labels is not the ReplicaSet's: it is not waited on.
    let wait_all = all.iter().find(|c| c.operation == "wait-all").unwrap();
    let body = wait_all.body.as_ref().unwrap();
    assert_eq!(body["until"], "allGone");
    assert!(body["timeoutMs"].as_u64().unwrap() <= 300_000);
    let waited = all.iter().rfind(|c| c.operation == "wait").unwrap();
    assert_eq!(waited.body.as_ref().unwrap()["until"], "rolled-out");
    // A checkpoint before the scale, and one after each change.
    let checkpoints = fake
        .call_lines()
        .iter()
        .filter(|c| c.starts_with("checkpoint"))
        .count();
    assert_eq!(checkpoints, 5);
    assert_eq!(rs_replicas(&fake), Some(0));
    let created = fake
        .object("apps/v1", "Deployment", Some(NS), DEPLOY)
        .unwrap();
    assert_eq!(created["spec"]["strategy"]["type"], "Recreate");
    let state = checkpoint(&fake);
    assert_eq!(state["step"], "rolled-out");
    assert_eq!(state["deployment"]["uid"], created["metadata"]["uid"]);
    assert_eq!(state["replica-set"]["replicas"], 1);
    // The copy leaves kubectl's last-applied annotation out, and keeps the others.
    let copy = &state["replica-set"]["copy"];
    assert_eq!(copy["metadata"]["annotations"], json!({"team": "net"}));
    assert_eq!(copy["metadata"]["uid"], Value::Null);
}

#[test]
fn a_resume_after_the_scale_gets_no_manifest_and_goes_on_from_the_wait() {
    let fake = cluster();
    fake.respond(
        "wait-all",
        "1 objects",
        Err(Error::timeout(
            "wait-all 1 objects: not met within 285000ms",
        )),
    );
    let (ctx, p) = context(&fake, json!({}));
    let e = run(&ctx, &p, Some(&deployment())).unwrap_err();
    assert!(e.is_timeout());
    assert!(
        e.to_string().ends_with("ReplicaSet kube-system/calico-policy-controller stays at 0 replicas: `cutover resume controller-test` continues, `cutover rollback controller-test` scales it back"),
        "{e}"
    );
    assert_eq!(checkpoint(&fake)["step"], "scaled-down");
    assert!(
        fake.object("apps/v1", "Deployment", Some(NS), DEPLOY)
            .is_none()
    );

    // The resumed run: attempt 2, no manifest, and the ReplicaSet may even be gone by now.
    let before = fake.call_lines().len();
    fake.request(Request::Resume);
    pods_go(&fake, 1);
    let ctx = ctx.with_revision(1, 2);
    let summary = run(&ctx, &p, None).unwrap();
    assert!(
        summary.contains("created (Recreate) and rolled out"),
        "{summary}"
    );
    let resumed: Vec<String> = fake.call_lines()[before..]
        .iter()
        .filter(|c| !c.starts_with("checkpoint"))
        .cloned()
        .collect();
    assert_eq!(
        resumed,
        [
            "list Pod in kube-system",
            "wait-all 1 objects",
            "apply Deployment kube-system/calico-kube-controllers",
            "wait Deployment kube-system/calico-kube-controllers",
        ]
    );
    assert!(
        fake.object("apps/v1", "Deployment", Some(NS), DEPLOY)
            .is_some()
    );
}

#[test]
fn a_resume_after_the_scale_does_not_need_the_replica_set() {
    let fake = cluster();
    let (ctx, p) = context(&fake, json!({}));
    // Checked and scaled by an earlier attempt; since then someone deleted the ReplicaSet.
    let mut state = check(&ctx, &p, &deployment()).unwrap();
    state.step = Step::PodsGone;
    let gone = FakeCluster::new().namespace(NS);
    gone.set_checkpoint(&serde_json::to_value(&state).unwrap());
    gone.request(Request::Resume);
    let ctx = gone
        .context(&MANIFEST, params(json!({})))
        .unwrap()
        .with_revision(1, 2);
    run(&ctx, &p, None).unwrap();
    assert_eq!(
        calls(&gone),
        [
            "apply Deployment kube-system/calico-kube-controllers",
            "wait Deployment kube-system/calico-kube-controllers",
        ]
    );
}

#[test]
fn a_deployment_that_never_rolls_out_fails_with_the_replica_set_at_zero() {
    let fake = cluster();
    pods_go(&fake, 1);
    fake.respond(
        "wait",
        "Deployment kube-system/calico-kube-controllers",
        Err(Error::timeout(
            "Deployment kube-system/calico-kube-controllers: 0 of 1 updated replicas available",
        )),
    );
    let (ctx, p) = context(&fake, json!({"timeout": "1m"}));
    let e = run(&ctx, &p, Some(&deployment())).unwrap_err();
    assert!(e.is_timeout());
    assert!(
        e.to_string().starts_with("waiting until Deployment kube-system/calico-kube-controllers is rolled out: Deployment kube-system/calico-kube-controllers: 0 of 1"),
        "{e}"
    );
    let waited = fake
        .calls()
        .into_iter()
        .rfind(|c| c.operation == "wait")
        .unwrap();
    assert_eq!(waited.body.unwrap()["timeoutMs"], 60_000);
    assert_eq!(checkpoint(&fake)["step"], "applied");
    assert_eq!(rs_replicas(&fake), Some(0));
}

#[test]
fn undo_deletes_the_deployment_waits_for_its_pods_then_scales_back() {
    let fake = cluster();
    pods_go(&fake, 1);
    let (ctx, p) = context(&fake, json!({}));
    run(&ctx, &p, Some(&deployment())).unwrap();
    let uid = checkpoint(&fake)["deployment"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    // The Deployment's pod, as its ReplicaSet made it; gone once waited on (the fake runs no
    // garbage collector: its lists are scripted).
    fake.respond("list", PODS, Ok(json!([deployment_pod("abcde")])));
    pods_go(&fake, 1);
    fake.respond("list", PODS, Ok(json!([])));
    let before = fake.call_lines().len();
    fake.request(Request::Abort);
    let ctx = ctx.with_revision(1, 2);
    let summary = run(&ctx, &p, None).unwrap();
    assert_eq!(
        summary,
        "Deployment kube-system/calico-kube-controllers deleted; ReplicaSet kube-system/calico-policy-controller scaled back to 1 replica, Ready"
    );
    let undone: Vec<String> = fake.call_lines()[before..].to_vec();
    assert_eq!(
        undone,
        [
            // The undo has started: going forward is refused from here on.
            "checkpoint the run's revision",
            "get Deployment kube-system/calico-kube-controllers",
            "delete Deployment kube-system/calico-kube-controllers",
            "wait Deployment kube-system/calico-kube-controllers",
            "list Pod in kube-system",
            "wait-all 1 objects",
            // Listed again: none is left, so none is coming.
            "list Pod in kube-system",
            "checkpoint the run's revision",
            "get ReplicaSet kube-system/calico-policy-controller",
            "scale ReplicaSet kube-system/calico-policy-controller",
            "wait ReplicaSet kube-system/calico-policy-controller",
            "checkpoint the run's revision",
        ]
    );
    let delete = fake
        .calls()
        .into_iter()
        .find(|c| c.operation == "delete")
        .unwrap();
    assert_eq!(delete.body.unwrap()["uid"], uid.as_str());
    assert_eq!(rs_replicas(&fake), Some(1));
    assert!(
        fake.object("apps/v1", "Deployment", Some(NS), DEPLOY)
            .is_none()
    );
    assert_eq!(checkpoint(&fake)["step"], "not-started");
}

/// On a real cluster a deleted Deployment's ReplicaSet lives until the garbage collector
/// deletes it, and may make a pod in that moment: a pod that was in no earlier list. The undo
/// lists again once the listed pods are gone and waits for the late one too, so that the old
/// ReplicaSet is never scaled up while a pod of the Deployment runs. Breaks with a single list.
#[test]
fn undo_waits_for_a_pod_the_deleted_deployments_replica_set_made_late() {
    let fake = cluster();
    pods_go(&fake, 1);
    let (ctx, p) = context(&fake, json!({}));
    run(&ctx, &p, Some(&deployment())).unwrap();
    fake.respond("list", PODS, Ok(json!([deployment_pod("first")])));
    pods_go(&fake, 1);
    fake.respond("list", PODS, Ok(json!([deployment_pod("late0")])));
    pods_go(&fake, 1);
    fake.respond("list", PODS, Ok(json!([])));
    let before = fake.call_lines().len();
    fake.request(Request::Abort);
    let ctx = ctx.with_revision(1, 2);
    run(&ctx, &p, None).unwrap();
    let undone = calls(&fake)[..].to_vec();
    let tail: Vec<&str> = undone
        .iter()
        .map(String::as_str)
        .skip_while(|c| !c.starts_with("delete Deployment"))
        .collect();
    assert_eq!(
        &tail[..7],
        [
            "delete Deployment kube-system/calico-kube-controllers",
            "wait Deployment kube-system/calico-kube-controllers",
            "list Pod in kube-system",
            "wait-all 1 objects",
            "list Pod in kube-system",
            "wait-all 1 objects",
            "list Pod in kube-system",
        ],
        "{:?}",
        &fake.call_lines()[before..]
    );
    // Only then is the ReplicaSet back.
    assert_eq!(
        tail[7],
        "get ReplicaSet kube-system/calico-policy-controller"
    );
    assert_eq!(rs_replicas(&fake), Some(1));
}

#[test]
fn undo_of_a_run_stopped_after_the_check_only_scales_back() {
    let fake = cluster();
    let (ctx, p) = context(&fake, json!({}));
    let state = check(&ctx, &p, &deployment()).unwrap();
    fake.set_checkpoint(&serde_json::to_value(&state).unwrap());
    // The scale went through before the run died (the checkpoint still says checked).
    ctx.scale_dynamic(&replica_set_ref(RS), 0).unwrap();
    let before = fake.call_lines().len();
    fake.request(Request::Abort);
    let summary = run(&ctx, &p, None).unwrap();
    assert_eq!(
        summary,
        "ReplicaSet kube-system/calico-policy-controller scaled back to 1 replica, Ready"
    );
    let undone: Vec<String> = fake.call_lines()[before..]
        .iter()
        .filter(|c| !c.starts_with("checkpoint"))
        .cloned()
        .collect();
    assert_eq!(
        undone,
        [
            "get ReplicaSet kube-system/calico-policy-controller",
            "scale ReplicaSet kube-system/calico-policy-controller",
            "wait ReplicaSet kube-system/calico-policy-controller",
        ]
    );
    assert_eq!(rs_replicas(&fake), Some(1));
}

#[test]
fn undo_re_creates_a_deleted_replica_set_from_its_copy() {
    let fake = cluster();
    pods_go(&fake, 1);
    let (ctx, p) = context(&fake, json!({"delete-replica-set": true}));
    let summary = run(&ctx, &p, Some(&deployment())).unwrap();
    assert!(summary.ends_with("the ReplicaSet is deleted"), "{summary}");
    assert!(fake.object("apps/v1", "ReplicaSet", Some(NS), RS).is_none());
    let delete = fake
        .calls()
        .into_iter()
        .find(|c| c.operation == "delete")
        .unwrap();
    assert_eq!(delete.body.unwrap()["uid"], "rs-1");

    fake.request(Request::Abort);
    let summary = run(&ctx, &p, None).unwrap();
    assert_eq!(
        summary,
        "Deployment kube-system/calico-kube-controllers deleted; ReplicaSet kube-system/calico-policy-controller re-created with 1 replica, Ready"
    );
    let rs = fake.object("apps/v1", "ReplicaSet", Some(NS), RS).unwrap();
    assert_eq!(rs["spec"]["replicas"], 1);
    assert_eq!(
        rs["spec"]["selector"]["matchLabels"]["k8s-app"],
        "calico-policy"
    );
    assert_eq!(rs["metadata"]["annotations"], json!({"team": "net"}));
}

#[test]
fn undo_waits_for_an_adopted_replica_set_to_go_with_the_deployment_then_re_creates_it() {
    let fake = cluster();
    pods_go(&fake, 1);
    let (ctx, p) = context(&fake, json!({}));
    run(&ctx, &p, Some(&deployment())).unwrap();
    let uid = checkpoint(&fake)["deployment"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    // The Deployment controller adopted the old ReplicaSet (its selector matched).
    let mut rs = fake.object("apps/v1", "ReplicaSet", Some(NS), RS).unwrap();
    rs["metadata"]["ownerReferences"] = owned_by("Deployment", DEPLOY, &uid);
    fake.insert(rs).unwrap();
    // The garbage collector deletes it with the Deployment.
    fake.respond(
        "wait",
        "ReplicaSet kube-system/calico-policy-controller",
        Ok(Value::Null),
    );
    fake.request(Request::Abort);
    let e = run(&ctx, &p, None);
    // The fake has no garbage collector: the ReplicaSet is still there, so the apply that
    // re-creates it merges into it; what matters is the order and the wait by uid.
    assert!(e.is_ok(), "{e:?}");
    let lines = fake.call_lines();
    let gc_wait = lines
        .iter()
        .position(|c| c == "wait ReplicaSet kube-system/calico-policy-controller")
        .unwrap();
    assert_eq!(
        lines[gc_wait + 1],
        "apply ReplicaSet kube-system/calico-policy-controller"
    );
    let waited = fake
        .calls()
        .into_iter()
        .find(|c| c.operation == "wait" && c.target.starts_with("ReplicaSet"))
        .unwrap();
    assert_eq!(
        waited.body.unwrap()["until"],
        json!({"deleted-uid": "rs-1"})
    );
}

#[test]
fn undo_leaves_a_deployment_it_did_not_create_and_the_replica_set_at_zero() {
    let fake = cluster();
    pods_go(&fake, 1);
    let (ctx, p) = context(&fake, json!({}));
    run(&ctx, &p, Some(&deployment())).unwrap();
    // Someone replaced the Deployment since.
    let mut other = fake
        .object("apps/v1", "Deployment", Some(NS), DEPLOY)
        .unwrap();
    other["metadata"]["uid"] = json!("someone-else");
    fake.insert(other).unwrap();
    fake.request(Request::Abort);
    let e = run(&ctx, &p, None).unwrap_err();
    assert!(e.is_aborted());
    assert!(
        e.to_string()
            .contains("is not the one this run created (uid someone-else"),
        "{e}"
    );
    assert!(
        fake.object("apps/v1", "Deployment", Some(NS), DEPLOY)
            .is_some()
    );
    assert_eq!(rs_replicas(&fake), Some(0));
}

#[test]
fn undo_of_an_update_re_applies_the_deployment_as_it_was() {
    // A Deployment at 0 replicas was there before the run, with the old image.
    let mut before = deployment();
    before["metadata"]["uid"] = json!("d-0");
    before["spec"]["replicas"] = json!(0);
    before["spec"]["template"]["spec"]["containers"][0]["image"] =
        json!("calico/kube-controllers:v2.6.0");
    let fake = cluster().with(before);
    pods_go(&fake, 1);
    let (ctx, p) = context(&fake, json!({}));
    let summary = run(&ctx, &p, Some(&deployment())).unwrap();
    assert!(
        summary.contains("calico-kube-controllers updated (Recreate)"),
        "{summary}"
    );
    fake.request(Request::Abort);
    let summary = run(&ctx, &p, None).unwrap();
    assert_eq!(
        summary,
        "Deployment kube-system/calico-kube-controllers re-applied as it was before; ReplicaSet kube-system/calico-policy-controller scaled back to 1 replica, Ready"
    );
    let back = fake
        .object("apps/v1", "Deployment", Some(NS), DEPLOY)
        .unwrap();
    assert_eq!(back["spec"]["replicas"], 0);
    assert_eq!(
        back["spec"]["template"]["spec"]["containers"][0]["image"],
        "calico/kube-controllers:v2.6.0"
    );
    assert!(fake.call_lines().iter().all(|c| !c.starts_with("delete")));
}

#[test]
fn undo_before_anything_was_done_does_nothing() {
    let fake = cluster();
    fake.request(Request::Abort);
    let (ctx, p) = context(&fake, json!({}));
    let summary = run(&ctx, &p, None).unwrap();
    assert_eq!(
        summary,
        "nothing to undo: the move to the Deployment had not started"
    );
    // Only the checkpoint saying an undo has started.
    assert_eq!(fake.call_lines(), ["checkpoint the run's revision"]);
}

#[test]
fn a_dry_run_plans_and_changes_nothing() {
    let fake = cluster().dry_run(true);
    let (ctx, p) = context(&fake, json!({}));
    let summary = run(&ctx, &p, Some(&deployment())).unwrap();
    assert_eq!(
        summary,
        "would move ReplicaSet kube-system/calico-policy-controller (1 replica) to Deployment kube-system/calico-kube-controllers (dry run)"
    );
    assert_eq!(
        calls(&fake),
        [
            "get ReplicaSet kube-system/calico-policy-controller",
            "get Deployment kube-system/calico-kube-controllers",
            "list Pod in kube-system",
            "apply Deployment kube-system/calico-kube-controllers",
        ]
    );
    let logs: Vec<String> = fake.logs().into_iter().map(|(_, line)| line).collect();
    assert!(
        logs.contains(&"would scale ReplicaSet kube-system/calico-policy-controller from 1 replica to 0 and wait up to 5m until its 1 pod is gone (calico-policy-controller-x1)".to_string()),
        "{logs:?}"
    );
    assert!(
        logs.contains(&"would create Deployment kube-system/calico-kube-controllers (strategy Recreate, 1 replica, image calico/kube-controllers:v3.0.0) and wait up to 5m until it is rolled out".to_string()),
        "{logs:?}"
    );
    assert_eq!(rs_replicas(&fake), Some(1));
    assert!(
        fake.object("apps/v1", "Deployment", Some(NS), DEPLOY)
            .is_none()
    );
}

#[test]
fn the_state_round_trips_as_json() {
    let fake = cluster();
    let (ctx, p) = context(&fake, json!({"timeout": "90s"}));
    let state = check(&ctx, &p, &deployment()).unwrap();
    let text = serde_json::to_string(&state).unwrap();
    let back: State = serde_json::from_str(&text).unwrap();
    assert_eq!(back, state);
    assert_eq!(back.timeout.as_secs(), 90);
    // An empty checkpoint object reads as nothing done, with the default timeout.
    let empty: State = serde_json::from_str("{}").unwrap();
    assert_eq!(empty.step, Step::NotStarted);
    assert_eq!(empty.timeout.get(), DEFAULT_TIMEOUT);
    assert_eq!((empty.replica_set, empty.deployment), (None, None));
}

#[test]
fn a_zero_timeout_is_refused_before_any_call() {
    let fake = cluster();
    let (ctx, p) = context(&fake, json!({"timeout": "0s"}));
    let e = run(&ctx, &p, Some(&deployment())).unwrap_err();
    assert!(
        e.is_invalid() && e.to_string().starts_with("timeout must be more than 0"),
        "{e}"
    );
    assert!(fake.call_lines().is_empty());
}
