//! `drain`: cordon a node and evict its pods, honouring PodDisruptionBudgets, as `kubectl drain` does.
//!
//! Steps: cordon → list the node's pods (all namespaces) → refuse or skip what kubectl would
//! → evict the pods in parallel (`concurrency` at a time, as `kubectl drain` evicts them all
//! at once), each waited on until it is gone, within what is left of the overall timeout →
//! optionally uncordon. A refusal fails the run before anything is evicted (the node stays
//! cordoned, as with kubectl).

mod plan;
mod pod;

use cutover_guest_sdk::params::Duration;
use cutover_guest_sdk::{Context, Error, ListParams, PodRef, Timestamp, export_policy, warn};
use serde::Deserialize;

use crate::plan::{Options, Plan};
use crate::pod::{Pod, PodKey};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Params {
    node: String,
    #[serde(default)]
    timeout: Option<Duration>,
    ignore_daemonsets: bool,
    delete_emptydir_data: bool,
    force: bool,
    #[serde(default)]
    pod_selector: Option<String>,
    uncordon: bool,
    concurrency: u32,
}

/// Reports `step` of `total` (the host shows it and puts it in the run's record).
struct Steps<'a> {
    ctx: &'a Context,
    done: u32,
    total: u32,
}

impl Steps<'_> {
    fn next(&mut self, message: &str) {
        self.done += 1;
        self.ctx.progress(self.done, self.total, message);
    }
}

/// When the drain gives up: after its `timeout` parameter, and in any case a little before the
/// run's own deadline (`--timeout`), so that a drain held up by a PodDisruptionBudget ends with
/// the budget's name rather than being stopped by the host. Returns the deadline and how long
/// that is from now.
fn drain_deadline(ctx: &Context, timeout: Option<Duration>) -> (Timestamp, Duration) {
    let now = ctx.now();
    let run_left = ctx.deadline().saturating_duration_since(now);
    // Keep 5% of what the run has left (1 to 30 seconds) to report in.
    let margin = (run_left / 20).clamp(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(30),
    );
    let ours = run_left.saturating_sub(margin);
    let budget = match timeout {
        Some(t) => (*t).min(ours),
        None => ours,
    };
    (now + budget, Duration::from(budget))
}

/// Time left until `deadline`; a timeout error naming `what` once none is left.
fn time_left(
    ctx: &Context,
    deadline: Timestamp,
    timeout: Duration,
    what: &str,
) -> Result<std::time::Duration, Error> {
    let left = deadline.saturating_duration_since(ctx.now());
    if left.is_zero() {
        return Err(Error::timeout(format!(
            "drain timed out after {timeout} before {what}"
        )));
    }
    Ok(left)
}

fn drain(ctx: &Context) -> Result<String, Error> {
    let p: Params = ctx.params()?;
    let (deadline, timeout) = drain_deadline(ctx, p.timeout);
    let node = p.node.as_str();

    ctx.cordon(node)
        .map_err(|e| e.context(format!("cordoning node {node}")))?;

    let mut query = ListParams::default()
        .all_namespaces()
        .fields(format!("spec.nodeName={node}"));
    if let Some(selector) = p.pod_selector.as_deref().filter(|s| !s.is_empty()) {
        query = query.labels(selector);
    }
    let pods: Vec<Pod> = ctx
        .list(&query)
        .map_err(|e| e.context(format!("listing the pods on node {node}")))?;

    let plan = Plan::new(
        &pods,
        Options {
            ignore_daemonsets: p.ignore_daemonsets,
            delete_emptydir_data: p.delete_emptydir_data,
            force: p.force,
        },
    );
    if let Some(refusal) = plan.refusal(node) {
        return Err(Error::aborted(refusal));
    }
    if let Some(warning) = plan.warning() {
        warn!("{warning}");
    }

    let n = u32::try_from(plan.evict.len()).unwrap_or(u32::MAX);
    let mut steps = Steps {
        ctx,
        done: 0,
        total: 1 + n + u32::from(p.uncordon),
    };
    steps.next(&format!(
        "cordoned node {node}; {} to evict",
        plural(plan.evict.len(), "pod")
    ));

    // All at once, `concurrency` at a time: the host retries a budget's refusal until the time
    // given (a budget typically lets the next pod go once an earlier one's replacement is
    // ready), then waits for each pod, by uid (a StatefulSet's successor of the same name is
    // not the pod evicted), to be gone.
    if !plan.evict.is_empty() {
        let left = time_left(ctx, deadline, timeout, "evicting the pods")?;
        let pods: Vec<PodRef> = plan
            .evict
            .iter()
            .map(|pod| PodRef {
                namespace: pod.namespace.clone(),
                name: pod.name.clone(),
                uid: Some(pod.uid.clone()).filter(|uid| !uid.is_empty()),
            })
            .collect();
        let outcomes = ctx
            .evict_many(&pods, p.concurrency, left)
            .map_err(|e| e.context(format!("evicting the pods of node {node}")))?;
        let mut first_failure = None;
        for (pod, outcome) in plan.evict.iter().zip(outcomes) {
            match outcome {
                Ok(()) => steps.next(&format!("evicted pod {pod}")),
                Err(e) => {
                    warn!("pod {pod} was not evicted: {e}");
                    first_failure.get_or_insert((pod, e));
                }
            }
        }
        if let Some((pod, e)) = first_failure {
            return Err(eviction_failed(pod, e, timeout));
        }
    }

    if p.uncordon {
        ctx.uncordon(node)
            .map_err(|e| e.context(format!("uncordoning node {node}")))?;
        steps.next(&format!("uncordoned node {node}"));
    }

    Ok(summary(node, &plan, p.uncordon, ctx.dry_run()))
}

/// The error of a drain whose eviction of `pod` failed.
fn eviction_failed(pod: &PodKey, e: Error, timeout: Duration) -> Error {
    // The host retries a budget's 429 until the time given, then says `timeout`; its reason
    // already names the pod and the budget.
    if e.is_timeout() {
        Error::timeout(format!("{} (drain timeout {timeout})", e.reason()))
    } else {
        e.context(format!("evicting pod {pod}"))
    }
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `node n1 drained: 3 pods evicted, 1 DaemonSet pod skipped`.
fn summary(node: &str, plan: &Plan, uncordoned: bool, dry_run: bool) -> String {
    let mut s = format!(
        "node {node} drained: {} evicted",
        plural(plan.evict.len(), "pod")
    );
    if plan.daemonset_skipped > 0 {
        s += &format!(
            ", {} skipped",
            plural(plan.daemonset_skipped, "DaemonSet pod")
        );
    }
    if plan.mirror_skipped > 0 {
        s += &format!(", {} skipped", plural(plan.mirror_skipped, "mirror pod"));
    }
    if uncordoned {
        s += "; node uncordoned";
    }
    if dry_run {
        s += " (dry run)";
    }
    s
}

export_policy! {
    name: "drain",
    version: env!("CARGO_PKG_VERSION"),
    description: "Cordon a node and evict its pods, honouring PodDisruptionBudgets (kubectl drain).",
    release: "drain-{node}",
    params: [
        { name: "node", type: "string", required: true, description: "The node to drain." },
        { name: "timeout", type: "duration",
          description: "Give up when evicting and deleting the pods takes longer than this; by default, a little before the run's --timeout." },
        { name: "ignore-daemonsets", type: "boolean", default: true,
          description: "Skip DaemonSet-managed pods; when false, their presence refuses the drain." },
        { name: "delete-emptydir-data", type: "boolean", default: false,
          description: "Evict pods with emptyDir volumes (their data is lost); when false, they refuse the drain." },
        { name: "force", type: "boolean", default: false,
          description: "Evict pods that no controller manages (nothing recreates them); when false, they refuse the drain." },
        { name: "pod-selector", type: "string",
          description: "Only evict pods matching this label selector." },
        { name: "uncordon", type: "boolean", default: false,
          description: "Make the node schedulable again after a successful drain." },
        { name: "concurrency", type: "integer", default: 16, minimum: 1, maximum: 64,
          description: "How many pods are evicted (and waited on) at once." },
    ],
    capabilities: [
        "cluster/cordon",
        "cluster/uncordon",
        "cluster/list:v1/Pod@*",
        "cluster/evict:v1/Pod@*",
        "cluster/wait:v1/Pod@*",
    ],
    run: drain,
}

#[cfg(test)]
mod tests {
    use super::*;
    use cutover_guest_sdk::testing::FakeCluster;
    use serde_json::json;

    fn node(name: &str) -> serde_json::Value {
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": {}})
    }

    fn pod(ns: &str, name: &str, node: &str, owner: Option<&str>) -> serde_json::Value {
        let owners: Vec<_> = owner
            .map(|kind| json!({"kind": kind, "name": "o", "controller": true}))
            .into_iter()
            .collect();
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "ownerReferences": owners},
            "spec": {"nodeName": node},
            "status": {"phase": "Running"},
        })
    }

    fn cluster() -> FakeCluster {
        FakeCluster::new()
            .with(node("n1"))
            .with(pod("shop", "web-1", "n1", Some("ReplicaSet")))
            .with(pod("shop", "web-2", "n1", Some("ReplicaSet")))
            .with(pod("shop", "web-3", "n2", Some("ReplicaSet")))
            .with(pod("kube-system", "proxy-x", "n1", Some("DaemonSet")))
    }

    #[test]
    fn drains_a_node_through_the_fake_cluster() {
        let fake = cluster();
        let ctx = fake
            .context(&POLICY_MANIFEST, json!({"node": "n1", "uncordon": true}))
            .expect("parameters");
        assert_eq!(ctx.release(), "drain-n1");
        let summary = drain(&ctx).expect("the drain succeeds");
        assert_eq!(
            summary,
            "node n1 drained: 2 pods evicted, 1 DaemonSet pod skipped; node uncordoned"
        );
        assert_eq!(
            fake.call_lines(),
            [
                "cordon Node n1",
                "list Pod in all namespaces",
                "evict Pod shop/web-1",
                "evict Pod shop/web-2",
                "uncordon Node n1",
            ]
        );
        assert!(fake.object("v1", "Pod", Some("shop"), "web-1").is_none());
        assert!(fake.object("v1", "Pod", Some("shop"), "web-3").is_some());
        assert!(
            fake.object("v1", "Pod", Some("kube-system"), "proxy-x")
                .is_some()
        );
        assert_eq!(fake.progress().last().map(|p| (p.0, p.1)), Some((4, 4)));
        assert_eq!(
            fake.logs().first().map(|l| l.1.as_str()),
            Some("ignoring DaemonSet-managed Pods: kube-system/proxy-x")
        );
    }

    #[test]
    fn a_budget_that_never_allows_the_eviction_times_out_with_its_reason() {
        let fake = cluster();
        let ctx = fake
            .context(&POLICY_MANIFEST, json!({"node": "n1", "timeout": "2m"}))
            .unwrap();
        fake.respond(
            "evict",
            "Pod shop/web-2",
            Err(Error::timeout(
                "evicting shop/web-2: the PodDisruptionBudget web allows no disruption",
            )),
        );
        let e = drain(&ctx).unwrap_err();
        assert!(e.is_timeout());
        assert_eq!(
            e.to_string(),
            "evicting shop/web-2: the PodDisruptionBudget web allows no disruption (drain timeout 2m)"
        );
        // Stopped there: the node stays cordoned; the other pod was evicted beside it.
        assert_eq!(fake.call_lines().len(), 4);
        assert_eq!(
            fake.object("v1", "Node", None, "n1").unwrap()["spec"]["unschedulable"],
            true
        );
    }

    #[test]
    fn an_unmanaged_pod_refuses_the_drain_before_any_eviction() {
        let fake = cluster().with(pod("shop", "debug", "n1", None));
        let ctx = fake
            .context(&POLICY_MANIFEST, json!({"node": "n1"}))
            .unwrap();
        let e = drain(&ctx).unwrap_err();
        assert!(e.is_aborted());
        assert!(e.to_string().contains("shop/debug"), "{e}");
        assert!(!fake.call_lines().iter().any(|c| c.starts_with("evict")));
    }

    #[test]
    fn summaries_read_like_kubectl() {
        let key = |name: &str| PodKey {
            namespace: "shop".into(),
            name: name.into(),
            uid: format!("uid-{name}"),
        };
        let plan = Plan {
            evict: vec![key("a"), key("b"), key("c")],
            daemonset_skipped: 1,
            ..Plan::default()
        };
        assert_eq!(
            summary("n1", &plan, false, false),
            "node n1 drained: 3 pods evicted, 1 DaemonSet pod skipped"
        );
        let plan = Plan {
            evict: vec![key("a")],
            mirror_skipped: 2,
            ..Plan::default()
        };
        assert_eq!(
            summary("n1", &plan, true, true),
            "node n1 drained: 1 pod evicted, 2 mirror pods skipped; node uncordoned (dry run)"
        );
    }

    #[test]
    fn params_read_with_their_defaults_filled_in() {
        let ctx = Context::new(
            "drain",
            "default",
            r#"{"node":"n1","timeout":"5m","ignore-daemonsets":true,"delete-emptydir-data":false,
                "force":false,"uncordon":false,"concurrency":16}"#,
            false,
        );
        let p: Params = ctx.params().expect("params decode");
        assert_eq!(p.node, "n1");
        assert_eq!(p.timeout.map(|t| t.as_secs()), Some(300));
        assert!(p.pod_selector.is_none());
    }
}
