//! Node scheduling: cordon and uncordon, as `kubectl cordon` / `kubectl uncordon` do it.

use kube::api::Patch;
use serde_json::{Value, json};

use super::error::ClusterError;
use super::resolve::Resolved;
use super::retry::Retry;
use super::{Cluster, Located};

/// Nodes are core v1 and cluster-scoped on every cluster: no discovery needed.
pub(crate) fn resolved() -> Resolved {
    Resolved {
        resource: kube::core::ApiResource::erase::<k8s_openapi::api::core::v1::Node>(&()),
        namespaced: false,
        subresources: Vec::new(),
    }
}

impl Cluster {
    /// Marks a node unschedulable (`kubectl cordon`). Cordoning a cordoned node is not an error.
    pub async fn cordon(&self, node: &Located) -> Result<(), ClusterError> {
        self.set_unschedulable(node, "cordon", json!(true)).await
    }

    /// Marks a node schedulable again (`kubectl uncordon`). Uncordoning a schedulable node is
    /// not an error.
    pub async fn uncordon(&self, node: &Located) -> Result<(), ClusterError> {
        // `null` removes the field, as kubectl's patch does: unset means schedulable.
        self.set_unschedulable(node, "uncordon", Value::Null).await
    }

    /// One merge patch of `spec.unschedulable`; idempotent, so it may be retried.
    async fn set_unschedulable(
        &self,
        node: &Located,
        op: &str,
        value: Value,
    ) -> Result<(), ClusterError> {
        let ctx = self.ctx(op, &node.what);
        let request = node.request();
        let name = node.encoded_name();
        let params = self.patch_params(false);
        let body = json!({ "spec": { "unschedulable": value } });
        let patch = Patch::Merge(&body);
        self.shared
            .retrier
            .send(Retry::Always, || {
                let req = request.patch(&name, &params, &patch);
                async move {
                    super::bounded::request_json::<Value>(
                        &self.client,
                        req.map_err(kube::Error::BuildRequest)?,
                    )
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
        assert_eq!(super::resolved().url_path(None), "/api/v1/nodes");
    }
}
