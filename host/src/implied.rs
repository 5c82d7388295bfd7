//! Reads the host makes on a policy's behalf beyond what a call's name says, derived from the
//! capabilities it declares, so that `cutover inspect` can list them (docs/capabilities.md).
//!
//! `wait` for `ready` or `rolled-out` on a Deployment, DaemonSet, StatefulSet or ReplicaSet
//! watches the workload's pods (list and watch, by its selector) to fail fast on a stuck pod,
//! and for a Deployment reads the stuck pod's ReplicaSet to tell whether it is the current one;
//! `evict` reads the pod after an answer that does not say whether the eviction happened;
//! `wait-current` on several objects of one kind watches that kind in their namespace;
//! `evict-many` watches each evicted pod by name until it is gone. None of
//! that is handed to the policy: an abort names a pod only when the run may read pods. `apply`,
//! `patch` and `wait` return their target as stored: a grant of them is a grant to read it.
//! Every change but an eviction reads its target first, for the release's undo journal (kept in
//! the revision, not handed to the policy).

use crate::capabilities::{Call, Capability};

/// The workload kinds whose `wait` reads more than the workload.
const WORKLOADS: &[(&str, &str, &[&str])] = &[
    (
        "apps/v1",
        "Deployment",
        &["v1/Pod (list, watch)", "apps/v1/ReplicaSet (get)"],
    ),
    ("apps/v1", "DaemonSet", &["v1/Pod (list, watch)"]),
    ("apps/v1", "StatefulSet", &["v1/Pod (list, watch)"]),
    ("apps/v1", "ReplicaSet", &["v1/Pod (list, watch)"]),
];

/// The operations the undo journal reads the target of, before the call.
const JOURNALED: &[&str] = &["apply", "patch", "delete", "scale", "cordon", "uncordon"];

/// The operations whose answer is the target as stored.
const RETURN_THE_TARGET: &[&str] = &["apply", "patch", "wait"];

/// What one declared capability makes the host read besides what its calls are named for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImpliedRead {
    /// The declared capability, as written.
    pub capability: String,
    /// The call that reads: `wait on apps/v1/Deployment`, `evict`, `apply, patch`.
    pub call: String,
    /// What is read: `v1/Pod (list, watch)`, `the target as stored`, ...
    pub reads: Vec<String>,
    /// In which namespace: the capability's, or the target's.
    pub namespace: String,
    /// Whether what is read is handed to the policy.
    pub returned_to_policy: bool,
}

/// Every implied read of the declared capabilities, in their order.
pub fn implied_reads(declared: &[Capability]) -> Vec<ImpliedRead> {
    let mut out = Vec::new();
    for capability in declared {
        let written = capability.to_string();
        let namespace = match written.rsplit_once('@') {
            Some((_, ns)) => ns.to_string(),
            None => "*".to_string(),
        };
        let shown_namespace = |of: &str| {
            if namespace == "*" {
                format!("the {of}'s")
            } else {
                namespace.clone()
            }
        };
        // `{namespace}` resolves to itself here, so that one probe covers every spelling.
        let probe_ns = if namespace == "*" {
            None
        } else {
            Some(namespace.as_str())
        };
        let resolved = capability.resolve(&namespace);
        for (api_version, kind, reads) in WORKLOADS {
            let call = Call {
                interface: "cluster",
                operation: "wait",
                api_version: Some(api_version),
                kind: Some(kind),
                namespace: probe_ns,
            };
            if resolved.allows(&call) {
                out.push(ImpliedRead {
                    capability: written.clone(),
                    call: format!("wait on {api_version}/{kind}"),
                    reads: reads.iter().map(|r| r.to_string()).collect(),
                    namespace: shown_namespace("waited-on object"),
                    returned_to_policy: false,
                });
            }
        }
        if resolved.allows_operation("cluster", "wait") {
            out.push(ImpliedRead {
                capability: written.clone(),
                call: "wait-current on several objects of one kind".into(),
                reads: vec![
                    "every object of that kind in their namespace (list, watch), for one watch"
                        .into(),
                ],
                namespace: shown_namespace("target"),
                returned_to_policy: false,
            });
        }
        let evict = Call {
            interface: "cluster",
            operation: "evict",
            api_version: Some("v1"),
            kind: Some("Pod"),
            namespace: probe_ns,
        };
        if resolved.allows(&evict) {
            out.push(ImpliedRead {
                capability: written.clone(),
                call: "evict, evict-many".into(),
                reads: vec![
                    "v1/Pod (get), after an answer that leaves the outcome open".into(),
                    "v1/Pod (list, watch by name), until each pod evict-many evicted is gone"
                        .into(),
                ],
                namespace: shown_namespace("pod"),
                returned_to_policy: false,
            });
        }
        let allowed = |ops: &[&'static str]| -> Vec<&'static str> {
            ops.iter()
                .copied()
                .filter(|op| resolved.allows_operation("cluster", op))
                .collect()
        };
        let journaled = allowed(JOURNALED);
        if !journaled.is_empty() {
            out.push(ImpliedRead {
                capability: written.clone(),
                call: journaled.join(", "),
                reads: vec![
                    "the target (get), just before the call, for the release's undo journal".into(),
                ],
                namespace: shown_namespace("target"),
                returned_to_policy: false,
            });
        }
        let returning = allowed(RETURN_THE_TARGET);
        if !returning.is_empty() {
            out.push(ImpliedRead {
                capability: written.clone(),
                call: returning.join(", "),
                reads: vec!["the target as stored".into()],
                namespace: shown_namespace("target"),
                returned_to_policy: true,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(list: &[&str]) -> Vec<Capability> {
        list.iter().map(|c| Capability::parse(c).unwrap()).collect()
    }

    #[test]
    fn waits_on_workloads_read_their_pods() {
        let reads = implied_reads(&caps(&[
            "cluster/wait:apps/v1/Deployment@{namespace}",
            "cluster/get:apps/v1/Deployment@{namespace}",
            "cluster/wait:v1/Pod@*",
        ]));
        let pods: Vec<_> = reads
            .iter()
            .filter(|r| !r.returned_to_policy && r.call.starts_with("wait on"))
            .collect();
        assert_eq!(pods.len(), 1, "{reads:?}");
        assert_eq!(pods[0].call, "wait on apps/v1/Deployment");
        assert_eq!(pods[0].namespace, "{namespace}");
        assert!(pods[0].reads.iter().any(|r| r.starts_with("v1/Pod")));
        assert!(
            pods[0]
                .reads
                .iter()
                .any(|r| r.starts_with("apps/v1/ReplicaSet"))
        );
    }

    /// Breaks if inspect hides that a wait, apply or patch grant hands the target to the policy.
    #[test]
    fn calls_that_return_their_target_are_reads_of_it() {
        let reads = implied_reads(&caps(&[
            "cluster/patch:apps/v1/Deployment@shop",
            "cluster/wait:v1/Pod",
            "cluster/get:v1/Pod",
        ]));
        let returned: Vec<_> = reads.iter().filter(|r| r.returned_to_policy).collect();
        assert_eq!(returned.len(), 2, "{reads:?}");
        assert_eq!(returned[0].call, "patch");
        assert_eq!(returned[0].namespace, "shop");
        assert_eq!(returned[1].call, "wait");
        assert_eq!(returned[1].namespace, "the target's");
        let all = implied_reads(&caps(&["cluster/*"]));
        assert!(
            all.iter().any(|r| r.call == "apply, patch, wait"),
            "{all:?}"
        );
    }

    #[test]
    fn wait_grants_read_the_kind_for_wait_current() {
        let reads = implied_reads(&caps(&[
            "cluster/wait:v1/ConfigMap@shop",
            "cluster/get:v1/Pod",
        ]));
        let group: Vec<_> = reads
            .iter()
            .filter(|r| r.call.starts_with("wait-current"))
            .collect();
        assert_eq!(group.len(), 1, "{reads:?}");
        assert_eq!(group[0].capability, "cluster/wait:v1/ConfigMap@shop");
        assert_eq!(group[0].namespace, "shop");
        assert!(!group[0].returned_to_policy);
    }

    #[test]
    fn evictions_read_the_pod() {
        let reads = implied_reads(&caps(&["cluster/evict:v1/Pod@{namespace}"]));
        assert_eq!(reads.len(), 1, "{reads:?}");
        assert_eq!(reads[0].call, "evict, evict-many");
        assert!(reads[0].reads[0].starts_with("v1/Pod (get)"));
        assert!(!reads[0].returned_to_policy);
        // A grant that cannot evict a pod implies no read of one.
        let apps = implied_reads(&caps(&["cluster/*:apps/v1/*@shop"]));
        assert!(
            apps.iter().all(|r| !r.call.starts_with("evict")),
            "{apps:?}"
        );
    }

    #[test]
    fn wildcards_imply_every_workload() {
        let reads = implied_reads(&caps(&["cluster/*:apps/v1/*@shop"]));
        let waits = reads
            .iter()
            .filter(|r| r.call.starts_with("wait on"))
            .count();
        assert_eq!(waits, 4);
        assert!(reads.iter().all(|r| r.namespace == "shop"));
        let any_wait = implied_reads(&caps(&["cluster/wait"]));
        assert_eq!(
            any_wait
                .iter()
                .filter(|r| r.call.starts_with("wait on"))
                .count(),
            4
        );
        assert!(implied_reads(&caps(&["cluster/get:apps/v1/Deployment"])).is_empty());
    }
}
