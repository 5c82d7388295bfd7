//! The application's objects: the stable Deployment as found, the new pod template (`container=image` pairs), and the canary Deployment built from them.

use cutover_guest_sdk::Error;
use serde_json::{Map, Value, json};

pub use crate::images::ImageChange;

/// The label that tells the canary's pods (and its selector) from the stable's.
pub const ROLE_LABEL: &str = "cutover.dev/role";

/// What the policy needs of the stable Deployment.
#[derive(Clone, Debug, PartialEq)]
pub struct Stable {
    pub name: String,
    pub replicas: u32,
    /// Whether its rolling update may surge (`maxSurge` other than 0): the weights may then
    /// use one pod more than `replicas`, as Argo does.
    pub surge: bool,
    pub labels: Map<String, Value>,
    pub selector: Value,
    pub template: Value,
}

impl Stable {
    /// Reads the Deployment as the API server returned it.
    pub fn from_object(object: &Value) -> Result<Stable, Error> {
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::invalid("the Deployment has no name"))?
            .to_string();
        let replicas = object
            .pointer("/spec/replicas")
            .and_then(Value::as_u64)
            .unwrap_or(1);
        let replicas = u32::try_from(replicas)
            .map_err(|_| Error::invalid(format!("deployment {name}: replicas out of range")))?;
        let selector = object
            .pointer("/spec/selector")
            .filter(|s| s.is_object())
            .cloned()
            .ok_or_else(|| Error::invalid(format!("deployment {name} has no selector")))?;
        let template = object
            .pointer("/spec/template")
            .filter(|t| t.is_object())
            .cloned()
            .ok_or_else(|| Error::invalid(format!("deployment {name} has no pod template")))?;
        let labels = object
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let surge = match object.pointer("/spec/strategy/rollingUpdate/maxSurge") {
            Some(Value::Number(n)) => n.as_u64() != Some(0),
            Some(Value::String(s)) => s != "0" && s != "0%",
            // The default maxSurge is 25%; a Recreate strategy never surges.
            _ => {
                object
                    .pointer("/spec/strategy/type")
                    .and_then(Value::as_str)
                    != Some("Recreate")
            }
        };
        Ok(Stable {
            name,
            replicas,
            surge,
            labels,
            selector,
            template,
        })
    }

    /// The stable's pod template with the new images. Fails when a named container is not
    /// in the template.
    pub fn new_template(&self, images: &[ImageChange]) -> Result<Value, Error> {
        let mut template = self.template.clone();
        let containers = template
            .pointer_mut("/spec/containers")
            .and_then(Value::as_array_mut)
            .ok_or_else(|| Error::invalid(format!("deployment {} has no containers", self.name)))?;
        for change in images {
            let container = containers
                .iter_mut()
                .find(|c| c["name"] == change.container.as_str())
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "image: deployment {} has no container {:?}",
                        self.name, change.container
                    ))
                })?;
            container["image"] = Value::String(change.image.clone());
        }
        Ok(template)
    }

    /// The canary Deployment's name: `<stable>-canary`.
    pub fn canary_name(&self) -> String {
        format!("{}-canary", self.name)
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
        let mut selector = self.selector.clone();
        selector["matchLabels"][ROLE_LABEL] = json!("canary");
        let mut labels = self.labels.clone();
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
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": self.name, "namespace": namespace, "labels": self.labels},
            "spec": {"replicas": self.replicas, "selector": self.selector, "template": template},
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
            "spec": {
                "replicas": 5,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"rollingUpdate": {"maxSurge": 0}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.24"}, {"name": "log", "image": "fluent:1"}]},
                },
            },
        })
    }

    #[test]
    fn the_canary_is_the_stable_with_the_new_image_and_the_role_label() {
        let stable = Stable::from_object(&web()).unwrap();
        assert_eq!((stable.replicas, stable.surge), (5, false));
        let images = [ImageChange {
            container: "web".into(),
            image: "nginx:1.25".into(),
        }];
        let template = stable.new_template(&images).unwrap();
        let canary = stable.canary("shop", &template, 1);
        assert_eq!(canary["metadata"]["name"], "web-canary");
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
        assert_eq!(
            canary["spec"]["template"]["spec"]["containers"][1]["image"],
            "fluent:1"
        );
        // The promoted stable keeps its own labels: no role.
        let promoted = stable.promoted("shop", &template);
        assert_eq!(
            promoted["spec"]["template"]["metadata"]["labels"],
            json!({"app": "web"})
        );
        assert_eq!(stable.canary_selector(), "app=web,cutover.dev/role=canary");
        let missing = [ImageChange {
            container: "api".into(),
            image: "x".into(),
        }];
        assert_eq!(
            stable.new_template(&missing).unwrap_err().to_string(),
            "image: deployment web has no container \"api\""
        );
    }

    #[test]
    fn surge_follows_the_rolling_update() {
        let mut d = web();
        d["spec"]["strategy"] = json!({});
        assert!(Stable::from_object(&d).unwrap().surge);
        d["spec"]["strategy"] = json!({"rollingUpdate": {"maxSurge": "0%"}});
        assert!(!Stable::from_object(&d).unwrap().surge);
        d["spec"]["strategy"] = json!({"type": "Recreate"});
        assert!(!Stable::from_object(&d).unwrap().surge);
    }
}
