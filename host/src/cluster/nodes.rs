//! Node scheduling: cordon and uncordon, as `kubectl cordon` / `kubectl uncordon` do it.

use kube::api::Patch;
use serde_json::{Value, json};

use super::error::ClusterError;
use super::resolve::Resolved;
use super::retry::{self, Retry};
use super::{Cluster, describe, valid_path_segment};

/// Nodes are core v1 and cluster-scoped on every cluster: no discovery needed.
fn nodes() -> Resolved {
    Resolved {
        resource: kube::core::ApiResource::erase::<k8s_openapi::api::core::v1::Node>(&()),
        namespaced: false,
        subresources: Vec::new(),
    }
}

impl Cluster {
    /// Marks a node unschedulable (`kubectl cordon`). Cordoning a cordoned node is not an error.
    pub async fn cordon(&self, node: &str) -> Result<(), ClusterError> {
        self.set_unschedulable(node, "cordon", json!(true)).await
    }

    /// Marks a node schedulable again (`kubectl uncordon`). Uncordoning a schedulable node is
    /// not an error.
    pub async fn uncordon(&self, node: &str) -> Result<(), ClusterError> {
        // `null` removes the field, as kubectl's patch does: unset means schedulable.
        self.set_unschedulable(node, "uncordon", Value::Null).await
    }

    /// One merge patch of `spec.unschedulable`; idempotent, so it may be retried.
    async fn set_unschedulable(
        &self,
        node: &str,
        op: &str,
        value: Value,
    ) -> Result<(), ClusterError> {
        let what = describe("Node", None, node);
        let ctx = self.ctx(op, &what);
        if !valid_path_segment(node) {
            return Err(ClusterError::Invalid(
                ctx.line(format_args!("{node:?} is not a valid node name")),
            ));
        }
        let request = kube::core::Request::new(nodes().url_path(None));
        let params = self.patch_params(false);
        let body = json!({ "spec": { "unschedulable": value } });
        let patch = Patch::Merge(&body);
        retry::send(&self.shared.jitter, Retry::Always, || {
            let req = request.patch(node, &params, &patch);
            async move {
                self.client
                    .request::<Value>(req.map_err(kube::Error::BuildRequest)?)
                    .await
            }
        })
        .await
        .map(drop)
        .map_err(|e| ctx.map(&e))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn node_path() {
        assert_eq!(super::nodes().url_path(None), "/api/v1/nodes");
    }
}
