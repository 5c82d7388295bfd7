//! The procedure on the fake cluster: node order, the node left cordoned, resume, undo.

use cutover_guest_sdk::testing::FakeCluster;
use cutover_guest_sdk::{Error, Request};
use serde_json::{Value, json};

use super::*;

const NS: &str = "kube-system";

fn node(name: &str, ready: bool, unschedulable: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
           "spec": {"unschedulable": unschedulable},
           "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" },
                                      "reason": if ready { "KubeletReady" } else { "NodeStatusUnknown" }}]}})
}

fn daemon_set(image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
           "metadata": {"name": "calico-node", "namespace": NS, "uid": "ds-uid"},
           "spec": {"selector": {"matchLabels": {"k8s-app": "calico-node"}},
                    "updateStrategy": {"type": "RollingUpdate"},
                    "template": {"metadata": {"labels": {"k8s-app": "calico-node"}},
                                 "spec": {"containers": [{"name": "calico-node", "image": image}]}}}})
}

fn pod(node: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": format!("calico-node-{node}"), "namespace": NS, "uid": format!("uid-{node}"),
                        "labels": {"k8s-app": "calico-node", "controller-revision-hash": "old"},
                        "ownerReferences": [{"kind": "DaemonSet", "name": "calico-node", "uid": "ds-uid", "controller": true}]},
           "spec": {"nodeName": node}})
}

fn new_manifest() -> String {
    "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: calico-node}\nspec:\n  selector: {matchLabels: {k8s-app: calico-node}}\n  template:\n    metadata: {labels: {k8s-app: calico-node}}\n    spec: {containers: [{name: calico-node, image: 'calico/node:v3.27'}]}\n".into()
}

fn cluster() -> FakeCluster {
    FakeCluster::new()
        .namespace(NS)
        .with(node("node-2", true, false))
        .with(node("node-1", true, false))
        .with(node("node-3", true, false))
        .with(daemon_set("calico/node:v3.26"))
        .with(pod("node-1"))
        .with(pod("node-2"))
        .with(pod("node-3"))
}

fn unschedulable(fake: &FakeCluster, name: &str) -> bool {
    fake.object("v1", "Node", None, name).expect("node")["spec"]["unschedulable"] == true
}

fn checkpoint(fake: &FakeCluster) -> Value {
    serde_json::from_str(&fake.checkpoint().expect("a checkpoint")).expect("JSON")
}

/// A run that upgraded node-1 and stopped at node-2, whose new pod was not Ready.
fn failed_at_node_2() -> FakeCluster {
    let fake = cluster().input("calico-node.yaml", new_manifest());
    fake.respond("wait-all", "Pod in kube-system", Ok(json!([])));
    fake.respond(
        "wait-all",
        "Pod in kube-system",
        Err(Error::timeout("not Ready")),
    );
    let ctx = fake.context(&POLICY_MANIFEST, json!({})).expect("params");
    run(&ctx).unwrap_err();
    fake
}

#[test]
fn nodes_are_taken_by_name_cordoned_replaced_and_uncordoned() {
    let fake = cluster().input("calico-node.yaml", new_manifest());
    fake.respond_always("wait-all", "Pod in kube-system", Ok(json!([])));
    let ctx = fake.context(&POLICY_MANIFEST, json!({})).expect("params");
    let summary = run(&ctx).expect("the upgrade succeeds");
    assert_eq!(
        summary,
        "DaemonSet kube-system/calico-node upgraded node by node on 3 nodes"
    );
    let calls = fake.call_lines();
    let node_1: Vec<&String> = calls.iter().filter(|c| c.contains("node-1")).collect();
    assert_eq!(
        node_1,
        [
            "get Node node-1",
            "cordon Node node-1",
            "delete Pod kube-system/calico-node-node-1",
            "uncordon Node node-1",
        ]
    );
    let cordons: Vec<&String> = calls.iter().filter(|c| c.starts_with("cordon")).collect();
    assert_eq!(
        cordons,
        [
            "cordon Node node-1",
            "cordon Node node-2",
            "cordon Node node-3"
        ]
    );
    // The new template, with OnDelete whatever the manifest said.
    let ds = fake
        .object("apps/v1", "DaemonSet", Some(NS), "calico-node")
        .expect("ds");
    assert_eq!(ds["spec"]["updateStrategy"]["type"], "OnDelete");
    assert_eq!(
        ds["spec"]["template"]["spec"]["containers"][0]["image"],
        "calico/node:v3.27"
    );
    assert!((1..=3).all(|i| !unschedulable(&fake, &format!("node-{i}"))));
    assert_eq!(
        checkpoint(&fake)["done"],
        json!(["node-1", "node-2", "node-3"])
    );
}

#[test]
fn a_node_whose_new_pod_is_not_ready_stops_the_run_left_cordoned_then_resume_goes_on() {
    let fake = cluster().input("calico-node.yaml", new_manifest());
    fake.respond("wait-all", "Pod in kube-system", Ok(json!([])));
    fake.respond(
        "wait-all",
        "Pod in kube-system",
        Err(Error::timeout(
            "1 of 1 objects not Ready: calico-node-x: CrashLoopBackOff",
        )),
    );
    let ctx = fake.context(&POLICY_MANIFEST, json!({})).expect("params");
    let e = run(&ctx).unwrap_err();
    assert!(e.is_aborted(), "{e}");
    let text = e.to_string();
    assert!(text.contains("node node-2: the new pod"), "{text}");
    assert!(text.contains("node node-2 is left cordoned"), "{text}");
    assert!(text.contains("1 of 3 nodes done"), "{text}");
    assert!(unschedulable(&fake, "node-2"));
    assert!(!unschedulable(&fake, "node-3"));
    let state = checkpoint(&fake);
    assert_eq!(state["done"], json!(["node-1"]));
    assert_eq!(state["inHand"][0]["deleted"], json!(["uid-node-2"]));

    // `cutover resume`: no inputs, the checkpoint; node-2's replacement is not deleted.
    let resumed = cluster();
    resumed.set_checkpoint(&state);
    resumed.request(Request::Resume);
    resumed.respond_always("wait-all", "Pod in kube-system", Ok(json!([])));
    // The replacement that came up on node-2 while the run was stopped.
    let mut replacement = pod("node-2");
    replacement["metadata"]["name"] = json!("calico-node-new2");
    replacement["metadata"]["uid"] = json!("uid-new2");
    resumed.insert(replacement).expect("insert");
    resumed
        .insert({
            let mut n = node("node-2", true, true);
            n["metadata"]["name"] = json!("node-2");
            n
        })
        .expect("node-2 is still cordoned");
    let ctx = resumed
        .context(&POLICY_MANIFEST, json!({}))
        .expect("params");
    let summary = run(&ctx).expect("the resume finishes");
    assert!(summary.contains("on 3 nodes"), "{summary}");
    let calls = resumed.call_lines();
    assert!(
        !calls.iter().any(|c| c.contains("calico-node-new2")),
        "{calls:?}"
    );
    assert!(
        !calls.iter().any(|c| c == "cordon Node node-2"),
        "{calls:?}"
    );
    assert!(!unschedulable(&resumed, "node-2"));
}

#[test]
fn abort_restores_the_template_and_replaces_the_new_pods_node_by_node() {
    let fake = failed_at_node_2();
    let state = checkpoint(&fake);

    let undo = FakeCluster::new()
        .namespace(NS)
        .with(node("node-1", true, false))
        .with(node("node-2", true, true))
        .with(node("node-3", true, false))
        .with(daemon_set("calico/node:v3.27"))
        .with({
            let mut p = pod("node-1");
            p["metadata"]["labels"]["controller-revision-hash"] = json!("new");
            p["metadata"]["uid"] = json!("uid-new1");
            p
        })
        .with(pod("node-3"));
    undo.set_checkpoint(&state);
    undo.request(Request::Abort);
    undo.respond_always("wait-all", "Pod in kube-system", Ok(json!([])));
    let ctx = undo.context(&POLICY_MANIFEST, json!({})).expect("params");
    let summary = run(&ctx).expect("the undo succeeds");
    assert!(summary.contains("on 2 nodes"), "{summary}");
    let ds = undo
        .object("apps/v1", "DaemonSet", Some(NS), "calico-node")
        .expect("ds");
    assert_eq!(
        ds["spec"]["template"]["spec"]["containers"][0]["image"],
        "calico/node:v3.26"
    );
    assert_eq!(ds["spec"]["updateStrategy"]["type"], "RollingUpdate");
    let calls = undo.call_lines();
    assert!(
        calls.contains(&"delete Pod kube-system/calico-node-node-1".to_string()),
        "{calls:?}"
    );
    // node-3 was never touched: its old pod stays, it is not cordoned.
    assert!(
        !calls
            .iter()
            .any(|c| c.contains("node-3") && !c.starts_with("list")),
        "{calls:?}"
    );
    assert!(!unschedulable(&undo, "node-2"));
    assert!(!unschedulable(&undo, "node-1"));
}

#[test]
fn a_not_ready_node_stops_the_run_before_it_is_touched() {
    let fake = cluster()
        .with(node("node-2", false, false))
        .input("calico-node.yaml", new_manifest());
    fake.respond_always("wait-all", "Pod in kube-system", Ok(json!([])));
    let ctx = fake.context(&POLICY_MANIFEST, json!({})).expect("params");
    let e = run(&ctx).unwrap_err();
    assert!(
        e.to_string()
            .contains("node node-2 is NotReady (NodeStatusUnknown)"),
        "{e}"
    );
    assert!(
        !fake
            .call_lines()
            .iter()
            .any(|c| c.contains("Node node-2") && !c.starts_with("get"))
    );
    assert!(!unschedulable(&fake, "node-2"));
}

#[test]
fn a_node_cordoned_before_the_run_stays_cordoned() {
    let fake = cluster()
        .with(node("node-3", true, true))
        .input("calico-node.yaml", new_manifest());
    fake.respond_always("wait-all", "Pod in kube-system", Ok(json!([])));
    let ctx = fake.context(&POLICY_MANIFEST, json!({})).expect("params");
    run(&ctx).expect("the upgrade succeeds");
    assert!(unschedulable(&fake, "node-3"));
    assert!(
        !fake
            .call_lines()
            .iter()
            .any(|c| c.ends_with("cordon Node node-3"))
    );
}

#[test]
fn anything_but_one_daemon_set_is_refused_before_any_change() {
    let fake = cluster().input(
        "two.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    );
    let ctx = fake.context(&POLICY_MANIFEST, json!({})).expect("params");
    let e = run(&ctx).unwrap_err();
    assert!(e.to_string().contains("not an apps/v1 DaemonSet"), "{e}");
    assert!(
        !fake
            .call_lines()
            .iter()
            .any(|c| c.starts_with("apply") || c.starts_with("cordon"))
    );
}

#[test]
fn once_an_undo_has_started_the_run_cannot_go_forward() {
    let fake = failed_at_node_2();
    // The undo stops half way (its first wait times out)...
    fake.request(Request::Abort);
    fake.respond(
        "wait-all",
        "Pod in kube-system",
        Err(Error::timeout("not Ready")),
    );
    let ctx = fake.context(&POLICY_MANIFEST, json!({})).expect("params");
    run(&ctx).unwrap_err();
    assert_eq!(checkpoint(&fake)["undoing"], true);
    // ...and `cutover resume` is refused, changing nothing: only the undo may go on.
    fake.request(Request::Resume);
    let before = fake.call_lines().len();
    let ctx = fake.context(&POLICY_MANIFEST, json!({})).expect("params");
    let e = run(&ctx).unwrap_err();
    assert!(
        e.to_string().contains("an undo of this run has started"),
        "{e}"
    );
    assert_eq!(fake.call_lines().len(), before);
}
