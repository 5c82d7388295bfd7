//! Which objects of the previous deployed revision the new one no longer has, deleted after
//! the new ones are applied (what `helm upgrade` removes).

use std::collections::HashSet;

use serde_json::Value;

use crate::object::{annotation, install_rank, key};

/// The objects of `previous` that `current` does not hold, newest kinds first (the reverse of
/// the install order: a Deployment before its ServiceAccount). Helm's
/// `helm.sh/resource-policy: keep` keeps an object, and a CustomResourceDefinition is never
/// deleted (as Helm never deletes CRDs: that would delete every object of the kind).
pub fn stale(previous: &[Value], current: &[Value], run_namespace: &str) -> Vec<Value> {
    let kept: HashSet<_> = current.iter().map(|o| key(o, run_namespace)).collect();
    let mut gone: Vec<Value> = previous
        .iter()
        .filter(|o| !kept.contains(&key(o, run_namespace)))
        .filter(|o| annotation(o, "helm.sh/resource-policy") != "keep")
        .filter(|o| o["kind"] != "CustomResourceDefinition")
        .cloned()
        .collect();
    gone.sort_by_key(|o| std::cmp::Reverse(install_rank(o["kind"].as_str().unwrap_or(""))));
    gone
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(api: &str, kind: &str, name: &str) -> Value {
        json!({"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": "shop"}})
    }

    #[test]
    fn what_the_new_revision_dropped_goes_in_reverse_install_order() {
        let mut kept = obj("v1", "ConfigMap", "kept");
        kept["metadata"]["annotations"] = json!({"helm.sh/resource-policy": "keep"});
        let previous = vec![
            obj(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                "widgets.example.com",
            ),
            obj("v1", "ServiceAccount", "web"),
            obj("apps/v1", "Deployment", "old"),
            obj("v1", "Service", "web"),
            kept,
        ];
        // The new revision names the Service without a namespace, in a newer API version.
        let current =
            vec![json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}})];
        let gone = stale(&previous, &current, "shop");
        let names: Vec<&str> = gone.iter().map(|o| o["kind"].as_str().unwrap()).collect();
        assert_eq!(names, ["Deployment", "ServiceAccount"]);
        assert!(stale(&previous, &previous, "shop").is_empty());
    }
}
