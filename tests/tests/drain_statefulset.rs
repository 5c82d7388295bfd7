//! End to end: draining a node whose pod belongs to a StatefulSet. The controller recreates the
//! evicted pod under the same name on another node; drain must recognise the new pod as a
//! successor (by uid, as kubectl does) and finish, not wait for the successor to go away.

use cutover_tests::env::SETTLE;
use cutover_tests::manifests::{self, READY_IMAGE};
use cutover_tests::{TestEnv, state, wait};
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::ObjectMeta;

fn stateful_set(group: &str, name: &str) -> StatefulSet {
    StatefulSet {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        spec: StatefulSetSpec {
            replicas: Some(1),
            service_name: Some(name.into()),
            selector: LabelSelector {
                match_labels: Some(manifests::app_labels(name)),
                ..LabelSelector::default()
            },
            template: k8s_openapi::api::core::v1::PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(manifests::app_labels(name)),
                    ..ObjectMeta::default()
                }),
                spec: Some(manifests::pod_spec(group, READY_IMAGE)),
            },
            ..StatefulSetSpec::default()
        },
        ..StatefulSet::default()
    }
}

/// Waits until pod `name` is Ready on `node` and returns its uid.
async fn ready_on(env: &TestEnv, name: &str, node: &str, not_uid: Option<&str>) -> String {
    let pod = wait::until(
        &env.api::<Pod>(),
        name,
        SETTLE,
        &format!("pod {name} ready on {node}"),
        |pod| {
            let Some(pod) = pod else {
                return Err("missing".into());
            };
            if Some(state::uid(pod).as_str()) == not_uid {
                return Err("still the old pod".into());
            }
            if state::node_of(pod) != Some(node) || !state::pod_ready(pod) {
                return Err(state::describe_pod(pod));
            }
            Ok(())
        },
    )
    .await
    .expect("the pod becomes ready")
    .expect("the pod exists");
    state::uid(&pod)
}

#[tokio::test(flavor = "multi_thread")]
async fn drain_finishes_when_a_stateful_set_recreates_the_evicted_pod() {
    let env = TestEnv::start("drain-sts", &["a", "b"])
        .await
        .expect("test env");
    env.cordon("b", true)
        .await
        .expect("cordon b while db-0 is placed");
    env.create(&stateful_set(env.group(), "db"))
        .await
        .expect("create StatefulSet db");
    let (node_a, node_b) = (env.node("a"), env.node("b"));
    let first_uid = ready_on(&env, "db-0", &node_a, None).await;
    env.cordon("b", false).await.expect("uncordon b");

    let out = env
        .cutover(&[
            "run",
            "drain",
            "--set",
            &format!("node={node_a}"),
            "--set",
            "timeout=60s",
            "--allow-declared",
        ])
        .await;
    out.expect_code(0);
    assert!(out.stdout.contains("1 pod evicted"), "{out}");
    // The successor has the same name, another uid, and runs on the other node.
    let second_uid = ready_on(&env, "db-0", &node_b, Some(&first_uid)).await;
    assert_ne!(first_uid, second_uid);
    env.finish().await.expect("cleanup");
}
