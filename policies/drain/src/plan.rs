//! Which pods a drain evicts, skips or refuses: kubectl drain's pod filters, as pure functions.

use crate::pod::{Pod, PodKey};

/// The parameters that change what is evicted.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub ignore_daemonsets: bool,
    pub delete_emptydir_data: bool,
    pub force: bool,
}

const DAEMONSET_FATAL: &str =
    "cannot delete DaemonSet-managed Pods (set ignore-daemonsets=true to ignore)";
const DAEMONSET_WARNING: &str = "ignoring DaemonSet-managed Pods";
const LOCAL_STORAGE_FATAL: &str =
    "cannot delete Pods with local storage (set delete-emptydir-data=true to override)";
const LOCAL_STORAGE_WARNING: &str = "deleting Pods with local storage";
const UNMANAGED_FATAL: &str =
    "cannot delete Pods that declare no controller (set force=true to override)";
const UNMANAGED_WARNING: &str = "deleting Pods that declare no controller";

/// What to do with the pods of a node.
#[derive(Debug, Default)]
pub struct Plan {
    /// In the order listed.
    pub evict: Vec<PodKey>,
    pub daemonset_skipped: usize,
    pub mirror_skipped: usize,
    /// `(message, pods)`, for the log.
    pub warnings: Vec<(&'static str, Vec<PodKey>)>,
    /// `(message, pods)`: any of these refuses the whole drain before anything is evicted.
    pub refusals: Vec<(&'static str, Vec<PodKey>)>,
}

/// Adds `pod` under `message`, keeping messages in first-seen order as kubectl prints them.
fn group(groups: &mut Vec<(&'static str, Vec<PodKey>)>, message: &'static str, pod: PodKey) {
    match groups.iter_mut().find(|(m, _)| *m == message) {
        Some((_, pods)) => pods.push(pod),
        None => groups.push((message, vec![pod])),
    }
}

impl Plan {
    /// Runs kubectl's filters over `pods` in its order (DaemonSet, mirror, local storage,
    /// unreplicated); the first filter that keeps a pod decides, warnings accumulate.
    pub fn new(pods: &[Pod], options: Options) -> Plan {
        let mut plan = Plan::default();
        for pod in pods {
            let key = pod.key();
            let finished = pod.is_finished();
            let controller = pod.controller_kind();

            if controller == Some("DaemonSet") && !finished {
                // The DaemonSet controller would put the pod straight back, so evicting it
                // achieves nothing; kubectl refuses unless told to ignore them.
                if options.ignore_daemonsets {
                    group(&mut plan.warnings, DAEMONSET_WARNING, key);
                    plan.daemonset_skipped += 1;
                } else {
                    group(&mut plan.refusals, DAEMONSET_FATAL, key);
                }
                continue;
            }
            if pod.is_mirror() {
                // The API server's copy of a static pod: only the kubelet can remove it.
                plan.mirror_skipped += 1;
                continue;
            }
            if pod.has_empty_dir() && !finished {
                if !options.delete_emptydir_data {
                    group(&mut plan.refusals, LOCAL_STORAGE_FATAL, key);
                    continue;
                }
                group(&mut plan.warnings, LOCAL_STORAGE_WARNING, key.clone());
            }
            if controller.is_none() && !finished {
                // Nothing would recreate it: its work is lost unless the operator says so.
                if !options.force {
                    group(&mut plan.refusals, UNMANAGED_FATAL, key);
                    continue;
                }
                group(&mut plan.warnings, UNMANAGED_WARNING, key.clone());
            }
            plan.evict.push(key);
        }
        plan
    }

    /// `cannot drain node n1: <message>: ns/a, ns/b; <message>: ns/c`, if anything refuses.
    pub fn refusal(&self, node: &str) -> Option<String> {
        if self.refusals.is_empty() {
            return None;
        }
        Some(format!(
            "cannot drain node {node}: {}",
            describe(&self.refusals)
        ))
    }

    /// `<message>: ns/a, ns/b; <message>: ns/c`, if there are warnings.
    pub fn warning(&self) -> Option<String> {
        (!self.warnings.is_empty()).then(|| describe(&self.warnings))
    }
}

fn describe(groups: &[(&'static str, Vec<PodKey>)]) -> String {
    groups
        .iter()
        .map(|(message, pods)| {
            let pods: Vec<String> = pods.iter().map(PodKey::to_string).collect();
            format!("{message}: {}", pods.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).expect("test pod decodes")
    }

    fn owned(name: &str, kind: &str) -> Pod {
        pod(json!({
            "metadata": {"name": name, "namespace": "shop",
                "ownerReferences": [{"kind": kind, "name": "x", "controller": true}]},
            "status": {"phase": "Running"},
        }))
    }

    fn bare(name: &str, phase: &str) -> Pod {
        pod(json!({"metadata": {"name": name, "namespace": "shop"}, "status": {"phase": phase}}))
    }

    fn with_empty_dir(mut p: Pod) -> Pod {
        p.spec =
            pod(json!({"metadata": {}, "spec": {"volumes": [{"name": "tmp", "emptyDir": {}}]}}))
                .spec;
        p
    }

    fn names(keys: &[PodKey]) -> Vec<&str> {
        keys.iter().map(|k| k.name.as_str()).collect()
    }

    const DEFAULTS: Options = Options {
        ignore_daemonsets: true,
        delete_emptydir_data: false,
        force: false,
    };

    #[test]
    fn evicts_controlled_pods_and_skips_daemonsets_and_mirrors() {
        let mirror = pod(
            json!({"metadata": {"name": "etcd", "namespace": "kube-system",
            "annotations": {"kubernetes.io/config.mirror": "abc"}}}),
        );
        let pods = [
            owned("web-1", "ReplicaSet"),
            owned("proxy", "DaemonSet"),
            mirror,
            owned("db-0", "StatefulSet"),
        ];
        let plan = Plan::new(&pods, DEFAULTS);
        assert_eq!(names(&plan.evict), ["web-1", "db-0"]);
        assert_eq!((plan.daemonset_skipped, plan.mirror_skipped), (1, 1));
        assert_eq!(plan.refusal("n1"), None);
        assert_eq!(
            plan.warning().as_deref(),
            Some("ignoring DaemonSet-managed Pods: shop/proxy")
        );
    }

    #[test]
    fn refuses_daemonsets_unless_ignored() {
        let plan = Plan::new(
            &[owned("proxy", "DaemonSet")],
            Options {
                ignore_daemonsets: false,
                ..DEFAULTS
            },
        );
        assert!(plan.evict.is_empty());
        assert_eq!(
            plan.refusal("n1").as_deref(),
            Some(
                "cannot drain node n1: cannot delete DaemonSet-managed Pods \
                 (set ignore-daemonsets=true to ignore): shop/proxy"
            )
        );
    }

    #[test]
    fn refuses_local_storage_and_bare_pods_grouped_by_reason() {
        let pods = [
            with_empty_dir(owned("cache-1", "ReplicaSet")),
            bare("debug", "Running"),
            with_empty_dir(owned("cache-2", "ReplicaSet")),
            owned("web-1", "ReplicaSet"),
        ];
        let plan = Plan::new(&pods, DEFAULTS);
        assert_eq!(names(&plan.evict), ["web-1"]);
        assert_eq!(
            plan.refusal("n1").as_deref(),
            Some(
                "cannot drain node n1: cannot delete Pods with local storage \
                 (set delete-emptydir-data=true to override): shop/cache-1, shop/cache-2; \
                 cannot delete Pods that declare no controller (set force=true to override): shop/debug"
            )
        );
    }

    #[test]
    fn overrides_turn_refusals_into_warnings() {
        let pods = [with_empty_dir(bare("scratch", "Running"))];
        let plan = Plan::new(
            &pods,
            Options {
                ignore_daemonsets: true,
                delete_emptydir_data: true,
                force: true,
            },
        );
        assert_eq!(names(&plan.evict), ["scratch"]);
        assert_eq!(plan.refusal("n1"), None);
        assert_eq!(
            plan.warning().as_deref(),
            Some(
                "deleting Pods with local storage: shop/scratch; \
                 deleting Pods that declare no controller: shop/scratch"
            )
        );
    }

    #[test]
    fn finished_pods_are_evicted_whatever_they_are() {
        let mut ds_done = owned("ds-job", "DaemonSet");
        ds_done.status.phase = "Succeeded".into();
        let pods = [
            with_empty_dir(bare("done", "Succeeded")),
            bare("failed", "Failed"),
            ds_done,
        ];
        let plan = Plan::new(
            &pods,
            Options {
                ignore_daemonsets: false,
                ..DEFAULTS
            },
        );
        assert_eq!(names(&plan.evict), ["done", "failed", "ds-job"]);
        assert_eq!(plan.refusal("n1"), None);
        assert_eq!(plan.warning(), None);
    }
}
