//! End to end: `cutover run drain` against the real control plane and the test kubelet.

use std::collections::BTreeSet;
use std::time::Duration;

use cutover_tests::env::SETTLE;
use cutover_tests::manifests::{self, READY_IMAGE};
use cutover_tests::{TestEnv, state, wait};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, watch_object};
use tokio::sync::watch;

/// Puts a Deployment `web` of `replicas` ready pods on node `a` (by cordoning the others while
/// they are scheduled) and returns its pods.
async fn web_on_node_a(env: &TestEnv, others: &[&str], replicas: i32) -> Vec<Pod> {
    for other in others {
        env.cordon(other, true)
            .await
            .expect("cordon the other nodes");
    }
    env.create(&manifests::deployment(
        env.group(),
        "web",
        replicas,
        READY_IMAGE,
    ))
    .await
    .expect("create Deployment web");
    wait::deployment_rolled_out(&env.api::<Deployment>(), "web", replicas, SETTLE)
        .await
        .expect("web available");
    for other in others {
        env.cordon(other, false)
            .await
            .expect("uncordon the other nodes");
    }
    let pods = state::pods_of(&env.client, env.namespace(), "web")
        .await
        .expect("list web pods");
    let node_a = env.node("a");
    assert!(
        pods.iter()
            .all(|p| state::node_of(p) == Some(node_a.as_str())),
        "setup: all web pods on {node_a}: {}",
        state::describe_pods(&pods)
    );
    pods
}

/// Creates the budget and waits until the disruption controller has computed it, so that the
/// Eviction API judges by the real numbers and not by a status that is not there yet.
async fn budget(env: &TestEnv, name: &str, min_available: i32, expected_allowed: i64) {
    env.create_pdb(&manifests::pdb(name, "web", min_available))
        .await
        .expect("create PodDisruptionBudget");
    wait::until(
        &env.pdbs(),
        name,
        SETTLE,
        "PodDisruptionBudget computed",
        |pdb| {
            let Some(pdb) = pdb else {
                return Err("missing".into());
            };
            let status = state::budget_status(pdb);
            if status.observed_generation >= status.generation
                && status.generation > 0
                && status.expected_pods > 0
                && status.disruptions_allowed == expected_allowed
            {
                Ok(())
            } else {
                Err(format!("{status:?}"))
            }
        },
    )
    .await
    .expect("budget computed");
}

/// Records every pod name that ever appears in the budget's `status.disruptedPods`.
///
/// Only the Eviction API writes there (before it deletes a pod), so a pod seen here was evicted,
/// not deleted. The disruption controller removes the entry soon after; a watch sees every write
/// after its initial listing, which is why this returns only once that listing is done.
async fn record_evictions(
    env: &TestEnv,
    name: &str,
) -> (
    watch::Receiver<BTreeSet<String>>,
    tokio::task::JoinHandle<()>,
) {
    let (record, seen) = watch::channel(BTreeSet::new());
    let mut stream = watch_object(env.pdbs(), name).default_backoff().boxed();
    let first = tokio::time::timeout(SETTLE, stream.next()).await;
    assert!(
        matches!(first, Ok(Some(Ok(Some(_))))),
        "watching PodDisruptionBudget {name}: {first:?}"
    );
    let task = tokio::spawn(async move {
        while let Some(event) = stream.next().await {
            if let Ok(Some(pdb)) = event {
                let disrupted = state::budget_status(&pdb).disrupted_pods;
                record.send_modify(|seen| seen.extend(disrupted));
            }
        }
    });
    (seen, task)
}

#[tokio::test(flavor = "multi_thread")]
async fn drain_cordons_the_node_and_evicts_its_pods() {
    let env = TestEnv::start("drain-evicts", &["a", "b"])
        .await
        .expect("test environment");
    let node_a = env.node("a");
    let node_b = env.node("b");

    let web = web_on_node_a(&env, &["b"], 2).await;
    let web_uids: BTreeSet<String> = web.iter().map(state::uid).collect();
    env.create(&manifests::daemon_set(env.group(), "agent", READY_IMAGE))
        .await
        .expect("create DaemonSet");
    wait::daemon_set_ready(&env.api::<DaemonSet>(), "agent", 2, SETTLE)
        .await
        .expect("DaemonSet ready on both nodes");
    let agents = state::pods_of(&env.client, env.namespace(), "agent")
        .await
        .expect("list agent pods");
    let agent_on_a = agents
        .iter()
        .find(|p| state::node_of(p) == Some(node_a.as_str()))
        .expect("a DaemonSet pod on node a");
    // A budget that allows every eviction, only there to witness them.
    budget(&env, "web-budget", 0, 2).await;
    let (mut evicted, recorder) = record_evictions(&env, "web-budget").await;

    let out = env
        .cutover(&[
            "run",
            "drain",
            "-n",
            env.namespace(),
            "--set",
            &format!("node={node_a}"),
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
    assert_eq!(report["policy"], "drain", "{out}");
    assert!(report["error"].is_null(), "{out}");

    assert!(
        state::unschedulable(&env.client, &node_a)
            .await
            .expect("read node a"),
        "node a is not cordoned"
    );
    // The pods left node a and the Deployment is whole again on node b.
    wait::deployment_rolled_out(&env.api::<Deployment>(), "web", 2, SETTLE)
        .await
        .expect("web available again");
    let pods = env.api::<Pod>();
    let web_now = wait::until_list(
        &pods,
        watcher::Config::default().labels("app=web"),
        SETTLE,
        "web pods all on node b",
        |pods| {
            let done = pods.len() == 2
                && pods.iter().all(|p| {
                    state::node_of(p) == Some(node_b.as_str())
                        && state::pod_ready(p)
                        && !web_uids.contains(&state::uid(p))
                });
            if done {
                Ok(())
            } else {
                Err(state::describe_pods(pods))
            }
        },
    )
    .await
    .expect("web pods recreated on node b");
    assert_eq!(web_now.len(), 2);

    // Evicted, not deleted: each of them went through the budget.
    let names: BTreeSet<String> = web
        .iter()
        .map(|p| p.metadata.name.clone().unwrap_or_default())
        .collect();
    let seen = tokio::time::timeout(
        Duration::from_secs(10),
        evicted.wait_for(|seen| names.is_subset(seen)),
    )
    .await
    .is_ok_and(|seen| seen.is_ok());
    recorder.abort();
    assert!(
        seen,
        "not every web pod went through the Eviction API: evicted {:?}, expected {names:?}",
        *evicted.borrow()
    );

    // The DaemonSet pod on node a was left alone.
    let agent = pods
        .get(&agent_on_a.metadata.name.clone().unwrap_or_default())
        .await
        .expect("the DaemonSet pod on node a still exists");
    assert_eq!(state::uid(&agent), state::uid(agent_on_a));
    assert!(
        !state::terminating(&agent),
        "the DaemonSet pod is being deleted"
    );

    env.finish().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread")]
async fn drain_evicts_as_fast_as_the_budget_allows() {
    let env = TestEnv::start("drain-budget-ok", &["a", "b"])
        .await
        .expect("test environment");
    let node_a = env.node("a");
    let web = web_on_node_a(&env, &["b"], 2).await;
    // One at a time: the second eviction is refused (429) until the first pod's replacement
    // is Ready on node b; a drain retries until then, like kubectl does.
    budget(&env, "web-budget", 1, 1).await;

    let out = env
        .cutover(&[
            "run",
            "drain",
            "-n",
            env.namespace(),
            "--set",
            &format!("node={node_a}"),
            "--set",
            "timeout=60s",
            "--allow-declared",
        ])
        .await;
    out.expect_code(0);

    let pods = state::pods_of(&env.client, env.namespace(), "web")
        .await
        .expect("list pods");
    for old in &web {
        assert!(
            !pods
                .iter()
                .any(|p| state::uid(p) == state::uid(old) && !state::terminating(p)),
            "{} was not evicted: {}",
            old.metadata.name.as_deref().unwrap_or_default(),
            state::describe_pods(&pods)
        );
    }
    wait::deployment_rolled_out(&env.api::<Deployment>(), "web", 2, SETTLE)
        .await
        .expect("web available again on node b");

    env.finish().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread")]
async fn drain_blocked_by_a_budget_fails_and_leaves_the_node_cordoned() {
    let env = TestEnv::start("drain-budget-blocks", &["a"])
        .await
        .expect("test environment");
    let node_a = env.node("a");
    let web = web_on_node_a(&env, &[], 2).await;
    let web_uids: BTreeSet<String> = web.iter().map(state::uid).collect();
    budget(&env, "web-budget", 2, 0).await;

    let out = env
        .cutover(&[
            "run",
            "drain",
            "-n",
            env.namespace(),
            "--set",
            &format!("node={node_a}"),
            "--set",
            "timeout=5s",
            "--allow-declared",
        ])
        .await;
    out.expect_error(1, &["web-budget"]);
    assert!(
        out.elapsed >= Duration::from_secs(5),
        "gave up before its timeout\n{out}"
    );
    assert!(
        out.elapsed < Duration::from_secs(60),
        "took far longer than its timeout\n{out}"
    );

    assert!(
        state::unschedulable(&env.client, &node_a)
            .await
            .expect("read node a"),
        "node a was uncordoned"
    );
    let pods = state::pods_of(&env.client, env.namespace(), "web")
        .await
        .expect("list pods");
    let now: BTreeSet<String> = pods.iter().map(state::uid).collect();
    assert_eq!(
        now,
        web_uids,
        "the protected pods changed: {}",
        state::describe_pods(&pods)
    );
    assert!(
        pods.iter()
            .all(|p| state::pod_ready(p) && !state::terminating(p)),
        "{}",
        state::describe_pods(&pods)
    );

    env.finish().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread")]
async fn drain_refuses_a_bare_pod_unless_forced() {
    let env = TestEnv::start("drain-bare-pod", &["a"])
        .await
        .expect("test environment");
    let node_a = env.node("a");
    let pods = env.api::<Pod>();
    env.create(&manifests::bare_pod(env.group(), "lonely", READY_IMAGE))
        .await
        .expect("create bare pod");
    let lonely = wait::pod_ready(&pods, "lonely", SETTLE)
        .await
        .expect("pod ready");

    let node = format!("node={node_a}");
    let out = env
        .cutover(&[
            "run",
            "drain",
            "-n",
            env.namespace(),
            "--set",
            &node,
            "--set",
            "timeout=30s",
            "--allow-declared",
        ])
        .await;
    out.expect_error(1, &["lonely"]);
    let still = pods.get("lonely").await.expect("the bare pod still exists");
    assert_eq!(state::uid(&still), state::uid(&lonely));
    assert!(!state::terminating(&still), "the bare pod is being deleted");

    // With force the same drain goes through, and nothing recreates the pod.
    let out = env
        .cutover(&[
            "run",
            "drain",
            "-n",
            env.namespace(),
            "--set",
            &node,
            "--set",
            "timeout=30s",
            "--set",
            "force=true",
            "--allow-declared",
        ])
        .await;
    out.expect_code(0);
    wait::gone(&pods, "lonely", Duration::from_secs(20))
        .await
        .expect("the bare pod is gone");
    assert!(
        state::unschedulable(&env.client, &node_a)
            .await
            .expect("read node a")
    );

    env.finish().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread")]
async fn drain_with_uncordon_leaves_the_node_schedulable() {
    let env = TestEnv::start("drain-uncordon", &["a"])
        .await
        .expect("test environment");
    let node_a = env.node("a");
    let web = web_on_node_a(&env, &[], 1).await;

    let out = env
        .cutover(&[
            "run",
            "drain",
            "-n",
            env.namespace(),
            "--set",
            &format!("node={node_a}"),
            "--set",
            "timeout=30s",
            "--set",
            "uncordon=true",
            "--allow-declared",
        ])
        .await;
    out.expect_code(0);

    assert!(
        !state::unschedulable(&env.client, &node_a)
            .await
            .expect("read node a"),
        "node a is still cordoned"
    );
    // The pod was evicted all the same, and its replacement can land on node a again.
    let pods = env.api::<Pod>();
    let old = web[0].metadata.name.clone().unwrap_or_default();
    wait::gone(&pods, &old, SETTLE)
        .await
        .expect("the web pod was evicted");
    let replaced = wait::deployment_rolled_out(&env.api::<Deployment>(), "web", 1, SETTLE).await;
    replaced.expect("web available again on the uncordoned node");

    env.finish().await.expect("cleanup");
}

/// Drain returns only once the pods it evicted are gone, as `kubectl drain` does: with a
/// kubelet that takes seconds to stop a pod's containers, the evicted pods are terminating for
/// that long, and none of them may still exist when the run reports success. Breaks if drain
/// stops waiting (or waits on the wrong object) before returning.
#[tokio::test(flavor = "multi_thread")]
async fn drain_returns_only_once_its_evicted_pods_are_gone() {
    let options = cutover_tests::KubeletOptions {
        deletion_delay: Duration::from_secs(3),
        ..cutover_tests::KubeletOptions::default()
    };
    let env = TestEnv::start_with("drain-gone", &["a", "b"], options)
        .await
        .expect("test environment");
    let web = web_on_node_a(&env, &["b"], 2).await;
    let out = env
        .cutover(&[
            "run",
            "drain",
            "-n",
            env.namespace(),
            "--set",
            &format!("node={}", env.node("a")),
            "--allow-declared",
        ])
        .await;
    out.expect_code(0);
    // Right after the run: every evicted pod is gone (or replaced by another of its name).
    let pods = env.api::<Pod>();
    for pod in &web {
        let name = pod.metadata.name.clone().unwrap_or_default();
        match pods.get_opt(&name).await.expect("read pod") {
            None => {}
            Some(now) => assert_ne!(
                state::uid(&now),
                state::uid(pod),
                "evicted pod {name} still exists when drain returned\n{out}"
            ),
        }
    }
    env.finish().await.expect("cleanup");
}
