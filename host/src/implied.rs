//! Reads the host makes on a policy's behalf beyond a call's own target, derived from the
//! capabilities it declares, so that `cutover inspect` can list them (docs/capabilities.md).
//!
//! `wait` for `ready` or `rolled-out` on a Deployment, DaemonSet, StatefulSet or ReplicaSet
//! watches the workload's pods (list and watch, by its selector) to fail fast on a stuck pod,
//! and for a Deployment reads the stuck pod's ReplicaSet to tell whether it is the current one.
//! None of it is handed to the policy: an abort names a pod only when the run may read pods.

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

/// What one declared capability makes the host read besides its targets.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImpliedRead {
    /// The declared capability, as written.
    pub capability: String,
    /// The workload kind whose wait reads more, `apps/v1/Deployment`.
    pub waited_on: String,
    /// What is read: `v1/Pod (list, watch)`, ...
    pub reads: Vec<String>,
    /// In which namespace: the waited-on object's.
    pub namespace: String,
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
                    waited_on: format!("{api_version}/{kind}"),
                    reads: reads.iter().map(|r| r.to_string()).collect(),
                    namespace: if namespace == "*" {
                        "the waited-on object's".into()
                    } else {
                        namespace.clone()
                    },
                });
            }
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
            "cluster/patch:apps/v1/Deployment@{namespace}",
            "cluster/wait:v1/Pod@*",
        ]));
        assert_eq!(reads.len(), 1, "{reads:?}");
        assert_eq!(reads[0].waited_on, "apps/v1/Deployment");
        assert_eq!(reads[0].namespace, "{namespace}");
        assert!(reads[0].reads.iter().any(|r| r.starts_with("v1/Pod")));
        assert!(
            reads[0]
                .reads
                .iter()
                .any(|r| r.starts_with("apps/v1/ReplicaSet"))
        );
    }

    #[test]
    fn wildcards_imply_every_workload() {
        let reads = implied_reads(&caps(&["cluster/*:apps/v1/*@shop"]));
        assert_eq!(reads.len(), 4);
        assert!(reads.iter().all(|r| r.namespace == "shop"));
        assert_eq!(implied_reads(&caps(&["cluster/wait"])).len(), 4);
        assert!(implied_reads(&caps(&["cluster/get:apps/v1/Deployment"])).is_empty());
    }
}
