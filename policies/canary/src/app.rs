//! The application's objects: the stable Deployment as found (the SDK's `Deployment`), and the canary Deployment built from it and the new pod template.

use cutover_guest_sdk::Error;
use cutover_guest_sdk::deployment::Deployment;
use serde_json::{Value, json};

/// The label that tells the canary's pods (and its selector) from the stable's.
pub const ROLE_LABEL: &str = "cutover.dev/role";

/// The stable Deployment. Its `surge` (a rolling update that may surge) lets the weights use
/// one pod more than `replicas`, as Argo does.
#[derive(Clone, Debug, PartialEq)]
pub struct Stable {
    pub deployment: Deployment,
}

impl Stable {
    /// Reads the Deployment as the API server returned it.
    pub fn from_object(object: &Value) -> Result<Stable, Error> {
        Ok(Stable {
            deployment: Deployment::from_object(object)?,
        })
    }

    /// The canary Deployment's name: `<stable>-canary`.
    pub fn canary_name(&self) -> String {
        format!("{}-canary", self.deployment.name)
    }

    /// The canary Deployment: the new template, `cutover.dev/role: canary` added to its pod
    /// labels and its selector (the stable's Service, which selects the shared labels, sends
    /// it traffic by its share of pods), and `replicas` pods.
    pub fn canary(&self, namespace: &str, template: &Value, replicas: u32) -> Value {
        let mut template = template.clone();
        if let Some(metadata) = template
            .as_object_mut()
            .map(|t| t.entry("metadata").or_insert_with(|| json!({})))
        {
            metadata
                .as_object_mut()
                .map(|m| m.remove("creationTimestamp"));
            metadata["labels"][ROLE_LABEL] = json!("canary");
        }
        let mut selector = self.deployment.selector.clone();
        selector["matchLabels"][ROLE_LABEL] = json!("canary");
        let mut labels = self.deployment.labels.clone();
        labels.insert(ROLE_LABEL.into(), json!("canary"));
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": self.canary_name(), "namespace": namespace, "labels": labels},
            "spec": {"replicas": replicas, "selector": selector, "template": template},
        })
    }

    /// The canary pods' label selector (`app=web,cutover.dev/role=canary`), for the analysis
    /// gates.
    pub fn canary_selector(&self) -> String {
        let mut pairs: Vec<String> = self
            .deployment
            .selector
            .get("matchLabels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")))
                    .collect()
            })
            .unwrap_or_default();
        pairs.push(format!("{ROLE_LABEL}=canary"));
        pairs.join(",")
    }

    /// The stable Deployment as the revision records it: the new template at full replicas.
    pub fn promoted(&self, namespace: &str, template: &Value) -> Value {
        let d = &self.deployment;
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": d.name, "namespace": namespace, "labels": d.labels},
            "spec": {"replicas": d.replicas, "selector": d.selector, "template": template},
        })
    }
}

#[cfg(test)]
mod tests {
    use cutover_guest_sdk::deployment::parse_images;

    use super::*;
    use crate::tests::web;

    #[test]
    fn the_canary_is_the_stable_with_the_new_image_and_the_role_label() {
        let stable = Stable::from_object(&web()).unwrap();
        let images = parse_images(&["web=nginx:1.25".to_string()]).unwrap();
        let template = stable.deployment.with_images(&images).unwrap();
        let canary = stable.canary("shop", &template, 1);
        assert_eq!(canary["metadata"]["name"], "web-canary");
        assert_eq!(
            canary["metadata"]["labels"],
            json!({"app": "web", "cutover.dev/role": "canary"})
        );
        assert_eq!(canary["spec"]["replicas"], 1);
        assert_eq!(
            canary["spec"]["selector"]["matchLabels"],
            json!({"app": "web", "cutover.dev/role": "canary"})
        );
        assert_eq!(
            canary["spec"]["template"]["metadata"]["labels"],
            json!({"app": "web", "cutover.dev/role": "canary"})
        );
        assert_eq!(
            canary["spec"]["template"]["spec"]["containers"][0]["image"],
            "nginx:1.25"
        );
        // The promoted stable keeps its own labels: no role.
        let promoted = stable.promoted("shop", &template);
        assert_eq!(promoted["metadata"]["name"], "web");
        assert_eq!(promoted["spec"]["replicas"], 5);
        assert_eq!(
            promoted["spec"]["template"]["metadata"]["labels"],
            json!({"app": "web"})
        );
        assert_eq!(stable.canary_selector(), "app=web,cutover.dev/role=canary");
    }
}
