//! End to end: `cutover run restart` against the real control plane and the test kubelet.

use std::collections::BTreeSet;
use std::time::Duration;

use cutover_tests::env::SETTLE;
use cutover_tests::kubelet::{KubeletOptions, Stage, status};
use cutover_tests::manifests::{self, CRASHLOOP_IMAGE, NEVER_READY_IMAGE, READY_IMAGE};
use cutover_tests::{TestEnv, state, wait};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{ListParams, Patch, PatchParams};
use kube::runtime::watcher;

const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

fn restarted_at(
    template_annotations: Option<&std::collections::BTreeMap<String, String>>,
) -> Option<String> {
    template_annotations
        .and_then(|a| a.get(RESTARTED_AT))
        .cloned()
}

fn deployment_restarted_at(d: &Deployment) -> Option<String> {
    restarted_at(
        d.spec
            .template
            .metadata
            .as_ref()
            .and_then(|m| m.annotations.as_ref()),
    )
}

async fn replica_sets(env: &TestEnv) -> Vec<ReplicaSet> {
    env.api::<ReplicaSet>()
        .list(&ListParams::default().labels("app=web"))
        .await
        .expect("list ReplicaSets")
        .items
}

#[tokio::test(flavor = "multi_thread")]
async fn restart_rolls_a_deployment() {
    // A start-up delay makes the rollout take a while, so that "waits until rolled out" is
    // something the run has to do rather than something that happened to be true already.
    let options = KubeletOptions {
        ready_delay: Duration::from_secs(2),
        ..KubeletOptions::default()
    };
    let env = TestEnv::start_with("restart-rolls", &["a", "b"], options)
        .await
        .expect("test environment");
    let deployments = env.api::<Deployment>();
    env.create(&manifests::deployment(env.group(), "web", 2, READY_IMAGE))
        .await
        .expect("create Deployment");
    wait::deployment_rolled_out(&deployments, "web", 2, SETTLE)
        .await
        .expect("web available");
    let old_sets: BTreeSet<String> = replica_sets(&env)
        .await
        .iter()
        .map(|rs| rs.name_any())
        .collect();
    assert_eq!(old_sets.len(), 1, "setup: one ReplicaSet");
    let old_pods: BTreeSet<String> = state::pods_of(&env.client, env.namespace(), "web")
        .await
        .expect("list pods")
        .iter()
        .map(state::uid)
        .collect();

    let out = env
        .cutover(&[
            "run",
            "restart",
            "-n",
            env.namespace(),
            "--set",
            "name=web",
            "--set",
            "timeout=60s",
            "--allow-declared",
            "-o",
            "json",
        ])
        .await;
    out.expect_code(0);
    let report = out.json();
    assert_eq!(report["status"], "succeeded", "{out}");
    assert_eq!(report["policy"], "restart", "{out}");
    assert!(report["error"].is_null(), "{out}");

    // Rolled out when the run ends, not some time later.
    let web = deployments.get("web").await.expect("read Deployment");
    assert!(
        deployment_restarted_at(&web).is_some_and(|t| !t.is_empty()),
        "no {RESTARTED_AT} annotation"
    );
    if let Err(why) = state::deployment_rolled_out(&web, 2) {
        panic!("the run ended before the rollout did: {why}\n{out}");
    }

    // A new ReplicaSet carries the restarted template and all the replicas; the old one none.
    let sets = replica_sets(&env).await;
    let new: Vec<&ReplicaSet> = sets
        .iter()
        .filter(|rs| !old_sets.contains(&rs.name_any()))
        .collect();
    assert_eq!(
        new.len(),
        1,
        "expected one new ReplicaSet, got {:?}",
        sets.iter().map(|r| r.name_any()).collect::<Vec<_>>()
    );
    let new = new[0];
    let template = new.spec.template.as_ref().and_then(|t| t.metadata.as_ref());
    assert!(
        restarted_at(template.and_then(|m| m.annotations.as_ref())).is_some(),
        "the new ReplicaSet's template is not the restarted one"
    );
    assert_eq!(new.status.as_ref().and_then(|s| s.ready_replicas), Some(2));
    for old in sets.iter().filter(|rs| old_sets.contains(&rs.name_any())) {
        assert_eq!(
            old.spec.replicas,
            Some(0),
            "old ReplicaSet {} not scaled down",
            old.name_any()
        );
    }

    // Every pod is a new one, owned by the new ReplicaSet.
    let new_name = new.name_any();
    wait::until_list(
        &env.api::<Pod>(),
        watcher::Config::default().labels("app=web"),
        SETTLE,
        "only new pods",
        |pods| {
            let done = pods.len() == 2
                && pods.iter().all(|p| {
                    !old_pods.contains(&state::uid(p))
                        && state::pod_ready(p)
                        && p.owner_references().iter().any(|o| o.name == new_name)
                });
            if done {
                Ok(())
            } else {
                Err(state::describe_pods(pods))
            }
        },
    )
    .await
    .expect("the old pods were replaced");

    env.finish().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread")]
async fn restart_of_a_crash_looping_deployment_fails_fast() {
    let env = TestEnv::start("restart-crashloop", &["a"])
        .await
        .expect("test environment");
    env.create(&manifests::deployment(
        env.group(),
        "web",
        1,
        CRASHLOOP_IMAGE,
    ))
    .await
    .expect("create Deployment");
    wait::until_list(
        &env.api::<Pod>(),
        watcher::Config::default().labels("app=web"),
        SETTLE,
        "a crash-looping pod",
        |pods| {
            if pods.iter().any(|p| {
                state::waiting_reasons(p)
                    .iter()
                    .any(|r| r == "CrashLoopBackOff")
            }) {
                Ok(())
            } else {
                Err(state::describe_pods(pods))
            }
        },
    )
    .await
    .expect("setup: the pod crash-loops");

    let out = env
        .cutover(&[
            "run",
            "restart",
            "-n",
            env.namespace(),
            "--set",
            "name=web",
            "--set",
            "timeout=2m",
            "--allow-declared",
        ])
        .await;
    let line = out.expect_error(1, &["CrashLoopBackOff"]);
    assert!(
        out.elapsed < Duration::from_secs(40),
        "did not fail fast (timeout 2m)\n{out}"
    );

    // It did restart before noticing, and what it noticed is the restarted pods crashing: the
    // old ones crashing is what a restart is often meant to cure.
    let web = env
        .api::<Deployment>()
        .get("web")
        .await
        .expect("read Deployment");
    assert!(
        deployment_restarted_at(&web).is_some(),
        "no {RESTARTED_AT} annotation\n{out}"
    );
    let sets = replica_sets(&env).await;
    assert_eq!(sets.len(), 2, "no new ReplicaSet");
    let new = sets
        .iter()
        .find(|rs| {
            let template = rs.spec.template.as_ref().and_then(|t| t.metadata.as_ref());
            restarted_at(template.and_then(|m| m.annotations.as_ref())).is_some()
        })
        .expect("the restarted ReplicaSet");
    // `restart` may not read pods itself, so its error gives only the reason; the host names
    // the stuck pod to the operator, on the failed call's line (docs/capabilities.md, implied
    // reads). Either way it must be a pod of the new ReplicaSet.
    assert!(
        !line.contains(&format!("/{}-", new.name_any())),
        "the policy was told a pod's name it may not read\n{out}"
    );
    let operator_line = out
        .stdout
        .lines()
        .find(|l| l.contains("for the operator:"))
        .unwrap_or_default();
    assert!(
        operator_line.contains(&format!("/{}-", new.name_any())),
        "the operator is not told which pod of the new ReplicaSet {} is stuck\n{out}",
        new.name_any()
    );

    env.finish().await.expect("cleanup");
}

/// The classic reason to restart: the pods crash on a bad ConfigMap, the ConfigMap is fixed, a
/// restart brings up pods that work. The old pods' crash loop must not fail the run.
#[tokio::test(flavor = "multi_thread")]
async fn restart_replaces_crash_looping_pods() {
    // New pods take a moment to become ready, so that the run does see the old pods crashing.
    let options = KubeletOptions {
        ready_delay: Duration::from_secs(2),
        ..KubeletOptions::default()
    };
    let env = TestEnv::start_with("restart-cures", &["a"], options)
        .await
        .expect("test environment");
    let deployments = env.api::<Deployment>();
    env.create(&manifests::deployment(env.group(), "web", 1, READY_IMAGE))
        .await
        .expect("create Deployment");
    wait::deployment_rolled_out(&deployments, "web", 1, SETTLE)
        .await
        .expect("web available");
    // Its containers start crashing (the kubelet only rewrites a status when its own verdict
    // changes, so this one stays).
    let pods = env.api::<Pod>();
    let old = state::pods_of(&env.client, env.namespace(), "web")
        .await
        .expect("list pods");
    let old = &old[0];
    let crashing = status::pod_status(
        old,
        Stage::CrashLoop,
        "10.128.250.2",
        "172.16.0.2",
        Timestamp::now(),
    );
    pods.patch_status(
        &old.name_any(),
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({ "status": crashing })),
    )
    .await
    .expect("make the old pod crash-loop");
    wait::pod(
        &pods,
        &old.name_any(),
        SETTLE,
        "the old pod crash-looping",
        |p| {
            if state::waiting_reasons(p)
                .iter()
                .any(|r| r == "CrashLoopBackOff")
            {
                Ok(())
            } else {
                Err(state::describe_pod(p))
            }
        },
    )
    .await
    .expect("the old pod crash-loops");

    let out = env
        .cutover(&[
            "run",
            "restart",
            "-n",
            env.namespace(),
            "--set",
            "name=web",
            "--set",
            "timeout=60s",
            "--allow-declared",
        ])
        .await;
    out.expect_code(0);
    let web = deployments.get("web").await.expect("read Deployment");
    if let Err(why) = state::deployment_rolled_out(&web, 1) {
        panic!("the run ended before the rollout did: {why}\n{out}");
    }
    wait::gone(&pods, &old.name_any(), SETTLE)
        .await
        .expect("the crashing pod was replaced");

    env.finish().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread")]
async fn restart_of_a_never_ready_deployment_times_out() {
    let env = TestEnv::start("restart-never-ready", &["a"])
        .await
        .expect("test environment");
    env.create(&manifests::deployment(
        env.group(),
        "web",
        1,
        NEVER_READY_IMAGE,
    ))
    .await
    .expect("create Deployment");
    wait::until_list(
        &env.api::<Pod>(),
        watcher::Config::default().labels("app=web"),
        SETTLE,
        "a running pod",
        |pods| {
            let running = pods
                .iter()
                .any(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"));
            if running {
                Ok(())
            } else {
                Err(state::describe_pods(pods))
            }
        },
    )
    .await
    .expect("setup: the pod runs");

    let out = env
        .cutover(&[
            "run",
            "restart",
            "-n",
            env.namespace(),
            "--set",
            "name=web",
            "--set",
            "timeout=5s",
            "--allow-declared",
        ])
        .await;
    // Exit 1 (the policy's own timeout), not 5 (the sandbox's deadline).
    let line = out.expect_error(1, &[]).to_lowercase();
    assert!(
        line.contains("timeout") || line.contains("timed out"),
        "the error does not mention the timeout\n{out}"
    );
    assert!(
        out.elapsed >= Duration::from_secs(5),
        "gave up before its timeout\n{out}"
    );
    assert!(
        out.elapsed < Duration::from_secs(40),
        "took far longer than its timeout\n{out}"
    );

    let web = env
        .api::<Deployment>()
        .get("web")
        .await
        .expect("read Deployment");
    assert!(
        deployment_restarted_at(&web).is_some(),
        "no {RESTARTED_AT} annotation\n{out}"
    );

    env.finish().await.expect("cleanup");
}
