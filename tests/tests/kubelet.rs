//! The test support itself against the real control plane: the test kubelet plays nodes and pods
//! the way the e2e tests rely on.

use std::time::{Duration, Instant};

use cutover_tests::env::SETTLE;
use cutover_tests::kubelet::{CRASHLOOP_RESTARTS, KubeletOptions};
use cutover_tests::manifests::{
    self, CRASHLOOP_IMAGE, NEVER_READY_IMAGE, NO_SUCH_IMAGE, READY_IMAGE,
};
use cutover_tests::{GROUP_LABEL, TestEnv, state, wait};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::DeleteParams;
use kube::{Api, ResourceExt};

#[tokio::test(flavor = "multi_thread")]
async fn deployment_of_three_becomes_available() {
    let env = TestEnv::start("kubelet-deploy", &["a", "b"])
        .await
        .expect("test environment");
    env.create(&manifests::deployment(env.group(), "web", 3, READY_IMAGE))
        .await
        .expect("create Deployment");

    wait::deployment_rolled_out(&env.api::<Deployment>(), "web", 3, SETTLE)
        .await
        .expect("Deployment available");

    let pods = state::pods_of(&env.client, env.namespace(), "web")
        .await
        .expect("list pods");
    assert_eq!(pods.len(), 3, "{}", state::describe_pods(&pods));
    let nodes = env.kubelet().nodes();
    for pod in &pods {
        assert!(state::pod_ready(pod), "{}", state::describe_pod(pod));
        let node = state::node_of(pod).expect("bound to a node");
        assert!(
            nodes.iter().any(|n| n == node),
            "pod on a foreign node {node}"
        );
        let status = pod.status.as_ref().expect("status");
        assert!(status.pod_ip.is_some() && status.start_time.is_some());
        let containers = status
            .container_statuses
            .as_ref()
            .expect("container statuses");
        assert!(
            containers
                .iter()
                .all(|c| c.ready && c.state.as_ref().and_then(|s| s.running.as_ref()).is_some())
        );
    }

    // The nodes look like a kubelet registered them.
    let node: Node = Api::all(env.client.clone())
        .get(&env.node("a"))
        .await
        .expect("node a");
    assert_eq!(node.labels()[GROUP_LABEL], env.group());
    assert_eq!(node.labels()["kubernetes.io/hostname"], env.node("a"));

    env.finish().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread")]
async fn never_ready_pod_stays_unready() {
    let env = TestEnv::start("kubelet-never-ready", &["a"])
        .await
        .expect("test environment");
    let pods = env.api::<Pod>();
    env.create(&manifests::bare_pod(
        env.group(),
        "stuck",
        NEVER_READY_IMAGE,
    ))
    .await
    .expect("create pod");

    wait::pod(&pods, "stuck", SETTLE, "pod stuck running", |p| {
        let running = p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
        if running {
            Ok(())
        } else {
            Err(state::describe_pod(p))
        }
    })
    .await
    .expect("pod running");

    // "Stays": watch it for a while and fail on the first Ready.
    let watched = wait::pod(
        &pods,
        "stuck",
        Duration::from_secs(4),
        "pod stuck to turn ready",
        |p| {
            if state::condition(p, "Ready") == Some("True") {
                Ok(())
            } else {
                Err("unready".into())
            }
        },
    )
    .await;
    assert!(watched.is_err(), "the never-ready pod became Ready");

    let pod = pods.get("stuck").await.expect("read pod");
    assert_eq!(state::condition(&pod, "Ready"), Some("False"));
    assert_eq!(state::condition(&pod, "ContainersReady"), Some("False"));
    let container = &pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.clone())
        .expect("statuses")[0];
    assert!(!container.ready);
    assert!(
        container
            .state
            .as_ref()
            .and_then(|s| s.running.as_ref())
            .is_some(),
        "containers run"
    );

    env.finish().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_images_report_crash_loops_and_pull_errors() {
    let env = TestEnv::start("kubelet-failing", &["a"])
        .await
        .expect("test environment");
    let pods = env.api::<Pod>();
    env.create(&manifests::bare_pod(env.group(), "crash", CRASHLOOP_IMAGE))
        .await
        .expect("create crashloop pod");
    env.create(&manifests::bare_pod(env.group(), "pull", NO_SUCH_IMAGE))
        .await
        .expect("create image pod");

    let crash = wait::pod(&pods, "crash", SETTLE, "CrashLoopBackOff", |p| {
        if state::waiting_reasons(p) == ["CrashLoopBackOff"] {
            Ok(())
        } else {
            Err(state::describe_pod(p))
        }
    })
    .await
    .expect("crash loop reported");
    let status = crash.status.as_ref().expect("status");
    assert_eq!(status.phase.as_deref(), Some("Running"));
    assert_eq!(state::condition(&crash, "Ready"), Some("False"));
    assert_eq!(
        status.container_statuses.as_ref().expect("statuses")[0].restart_count,
        CRASHLOOP_RESTARTS
    );

    let pull = wait::pod(&pods, "pull", SETTLE, "ImagePullBackOff", |p| {
        if state::waiting_reasons(p) == ["ImagePullBackOff"] {
            Ok(())
        } else {
            Err(state::describe_pod(p))
        }
    })
    .await
    .expect("pull failure reported");
    assert_eq!(
        pull.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Pending")
    );
    assert_eq!(state::condition(&pull, "Ready"), Some("False"));

    env.finish().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread")]
async fn pod_deletion_finishes() {
    let env = TestEnv::start("kubelet-delete", &["a"])
        .await
        .expect("test environment");
    let pods = env.api::<Pod>();
    env.create(&manifests::bare_pod(env.group(), "doomed", READY_IMAGE))
        .await
        .expect("create pod");
    wait::pod_ready(&pods, "doomed", SETTLE)
        .await
        .expect("pod ready");

    // The default grace period is 30 s; only a kubelet finishing the deletion makes it faster.
    let started = Instant::now();
    pods.delete("doomed", &DeleteParams::default())
        .await
        .expect("delete pod");
    wait::gone(&pods, "doomed", Duration::from_secs(20))
        .await
        .expect("deletion finished");
    assert!(started.elapsed() < Duration::from_secs(20));

    env.finish().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread")]
async fn ready_delay_holds_pods_unready_first() {
    let options = KubeletOptions {
        ready_delay: Duration::from_secs(3),
        ..KubeletOptions::default()
    };
    let env = TestEnv::start_with("kubelet-delay", &["a"], options)
        .await
        .expect("test environment");
    let pods = env.api::<Pod>();
    env.create(&manifests::bare_pod(env.group(), "slow", READY_IMAGE))
        .await
        .expect("create pod");

    let created = Instant::now();
    let running = wait::pod(&pods, "slow", SETTLE, "pod slow running", |p| {
        let running = p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
        if running {
            Ok(())
        } else {
            Err(state::describe_pod(p))
        }
    })
    .await
    .expect("pod running");
    assert_eq!(
        state::condition(&running, "Ready"),
        Some("False"),
        "ready before the delay"
    );
    wait::pod_ready(&pods, "slow", SETTLE)
        .await
        .expect("ready after the delay");
    assert!(
        created.elapsed() >= Duration::from_secs(2),
        "became ready too early"
    );

    env.finish().await.expect("cleanup");
}

/// Longer than the node lifecycle controller's 40 s grace period: only the heartbeat keeps the
/// node Ready and untainted that long.
#[tokio::test(flavor = "multi_thread")]
async fn heartbeat_keeps_nodes_ready_past_the_grace_period() {
    let env = TestEnv::start("kubelet-heartbeat", &["a"])
        .await
        .expect("test environment");
    let nodes: Api<Node> = Api::all(env.client.clone());
    let name = env.node("a");

    // Any moment in 50 s where the node is not Ready, or is tainted, fails the test.
    let result = wait::until(
        &nodes,
        &name,
        Duration::from_secs(50),
        "node to degrade",
        |node| {
            let Some(node) = node else {
                return Ok(());
            };
            let ready = node
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
                .map(|c| c.status.as_str());
            let taints = node
                .spec
                .as_ref()
                .and_then(|s| s.taints.as_ref())
                .map(|t| t.iter().map(|t| t.key.as_str()).collect::<Vec<_>>())
                .unwrap_or_default();
            if ready != Some("True") || !taints.is_empty() {
                Ok(())
            } else {
                Err("healthy".into())
            }
        },
    )
    .await;
    match result {
        Err(e) => assert!(e.to_string().contains("timed out"), "{e:#}"),
        Ok(None) => panic!("node {name} was deleted under the test"),
        Ok(Some(node)) => {
            let status = node.status.unwrap_or_default();
            panic!(
                "node {name} degraded: conditions {:?}, taints {:?}",
                status.conditions,
                node.spec.and_then(|s| s.taints)
            );
        }
    }

    env.finish().await.expect("cleanup");
}
