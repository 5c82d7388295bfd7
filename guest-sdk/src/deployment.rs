//! A Deployment as a rollout policy reads it, and new images put into its pod template as `kubectl set image` does.
//!
//! A policy that rolls out a new version of an existing Deployment reads it as the API server
//! returned it ([`Context::get_dynamic`](crate::Context::get_dynamic)) with
//! [`Deployment::from_object`], takes the new version as `container=image` pairs with
//! [`parse_images`], and builds the new pod template with [`Deployment::with_images`]:
//!
//! ```
//! use cutover_guest_sdk::deployment::{Deployment, parse_images};
//! use serde_json::json;
//!
//! let found = json!({
//!     "apiVersion": "apps/v1", "kind": "Deployment",
//!     "metadata": {"name": "web", "labels": {"app": "web"}},
//!     "spec": {
//!         "replicas": 3,
//!         "selector": {"matchLabels": {"app": "web"}},
//!         "template": {
//!             "metadata": {"labels": {"app": "web"}},
//!             "spec": {"containers": [{"name": "web", "image": "nginx:1.24"}]},
//!         },
//!     },
//! });
//! let web = Deployment::from_object(&found)?;
//! assert_eq!((web.name.as_str(), web.replicas, web.surge), ("web", 3, true));
//! let images = parse_images(&["web=nginx:1.25".to_string()])?;
//! let template = web.with_images(&images)?;
//! assert_eq!(template["spec"]["containers"][0]["image"], "nginx:1.25");
//! let missing = parse_images(&["api=api:2".to_string()])?;
//! assert_eq!(
//!     web.with_images(&missing).unwrap_err().to_string(),
//!     "image: deployment web has no container \"api\""
//! );
//! # Ok::<(), cutover_guest_sdk::Error>(())
//! ```

use serde_json::{Map, Value};

use crate::Error;

/// One `container=image` pair, as `kubectl set image` takes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageChange {
    /// The container's name in the pod template.
    pub container: String,
    /// The image reference it is to run (`nginx:1.25`, `registry/app@sha256:...`).
    pub image: String,
}

/// Reads `web=nginx:1.25` pairs; refuses an empty list, a pair without `=`, a repeated
/// container and an image reference with spaces or control characters. Every error is
/// `invalid` and starts with `image: `, the parameter's usual name.
///
/// ```
/// use cutover_guest_sdk::deployment::parse_images;
/// let images = parse_images(&["web=nginx:1.25".to_string(), "log=fluent:2".to_string()])?;
/// assert_eq!((images[1].container.as_str(), images[1].image.as_str()), ("log", "fluent:2"));
/// assert_eq!(
///     parse_images(&["nginx:1.25".to_string()]).unwrap_err().to_string(),
///     "image: \"nginx:1.25\" is not container=image"
/// );
/// # Ok::<(), cutover_guest_sdk::Error>(())
/// ```
pub fn parse_images(pairs: &[String]) -> Result<Vec<ImageChange>, Error> {
    if pairs.is_empty() {
        return Err(Error::invalid(
            "image: give at least one container=image pair (--set image=web=nginx:1.25)",
        ));
    }
    let mut changes: Vec<ImageChange> = Vec::new();
    for pair in pairs {
        let Some((container, image)) = pair.split_once('=') else {
            return Err(Error::invalid(format!(
                "image: {pair:?} is not container=image"
            )));
        };
        let valid_name = !container.is_empty()
            && container.len() <= 63
            && container
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid_name {
            return Err(Error::invalid(format!(
                "image: {container:?} is not a container name"
            )));
        }
        if image.is_empty()
            || image.len() > 512
            || image.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(Error::invalid(format!(
                "image: {image:?} is not an image reference"
            )));
        }
        if changes.iter().any(|c| c.container == container) {
            return Err(Error::invalid(format!(
                "image: container {container:?} is named twice"
            )));
        }
        changes.push(ImageChange {
            container: container.to_string(),
            image: image.to_string(),
        });
    }
    Ok(changes)
}

/// What a rollout needs of a Deployment, read from its JSON (`apps/v1`).
#[derive(Clone, Debug, PartialEq)]
pub struct Deployment {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.uid`; empty when absent (a manifest not yet applied).
    pub uid: String,
    /// `spec.replicas`; 1 when absent, the API server's default.
    pub replicas: u32,
    /// `metadata.labels`; empty when absent.
    pub labels: Map<String, Value>,
    /// `spec.selector`, a label selector object (`{"matchLabels": {...}}`).
    pub selector: Value,
    /// `spec.template`, the pod template.
    pub template: Value,
    /// The `deployment.kubernetes.io/revision` annotation: which of its ReplicaSets is current.
    pub revision: Option<String>,
    /// Whether its rolling update may surge (`maxSurge` other than 0 or `0%`; the default
    /// is 25%), so that it may run a pod more than `replicas`; a `Recreate` strategy never
    /// surges.
    pub surge: bool,
}

impl Deployment {
    /// Reads the Deployment as the API server returned it. Fails (`invalid`) when it has no
    /// name, its replicas do not fit a `u32`, or it has no selector or pod template, naming
    /// the Deployment: `deployment web has no selector`.
    pub fn from_object(object: &Value) -> Result<Deployment, Error> {
        let text = |pointer: &str| {
            object
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let name =
            text("/metadata/name").ok_or_else(|| Error::invalid("the Deployment has no name"))?;
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
            _ => text("/spec/strategy/type").as_deref() != Some("Recreate"),
        };
        Ok(Deployment {
            uid: text("/metadata/uid").unwrap_or_default(),
            revision: text("/metadata/annotations/deployment.kubernetes.io~1revision"),
            name,
            replicas,
            labels,
            selector,
            template,
            surge,
        })
    }

    /// Its pod template with the new images, the rest of it as it is. Fails (`invalid`) when
    /// the template has no containers or a named container is not among them:
    /// `image: deployment web has no container "api"`.
    pub fn with_images(&self, images: &[ImageChange]) -> Result<Value, Error> {
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
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn web() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "uid": "u1", "labels": {"app": "web"},
                         "annotations": {"deployment.kubernetes.io/revision": "2"}},
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

    fn change(container: &str, image: &str) -> ImageChange {
        ImageChange {
            container: container.into(),
            image: image.into(),
        }
    }

    #[test]
    fn reads_what_a_rollout_needs() {
        let d = Deployment::from_object(&web()).unwrap();
        assert_eq!(
            (d.name.as_str(), d.uid.as_str(), d.replicas, d.surge),
            ("web", "u1", 5, false)
        );
        assert_eq!(d.revision.as_deref(), Some("2"));
        assert_eq!(Value::Object(d.labels), json!({"app": "web"}));
        assert_eq!(d.selector, json!({"matchLabels": {"app": "web"}}));
        assert_eq!(d.template, web()["spec"]["template"]);

        // What the API server may leave out.
        let mut bare = web();
        for pointer in ["uid", "labels", "annotations"] {
            bare["metadata"].as_object_mut().unwrap().remove(pointer);
        }
        bare["spec"].as_object_mut().unwrap().remove("replicas");
        let d = Deployment::from_object(&bare).unwrap();
        assert_eq!((d.uid.as_str(), d.replicas, d.revision), ("", 1, None));
        assert!(d.labels.is_empty());
    }

    #[test]
    fn refuses_a_deployment_it_cannot_roll_out() {
        let broken = |pointer: &str, value: Value| {
            let mut d = web();
            *d.pointer_mut(pointer).unwrap() = value;
            Deployment::from_object(&d).unwrap_err()
        };
        for (pointer, value, message) in [
            ("/metadata/name", json!(null), "the Deployment has no name"),
            (
                "/spec/replicas",
                json!(u64::from(u32::MAX) + 1),
                "deployment web: replicas out of range",
            ),
            (
                "/spec/selector",
                json!(null),
                "deployment web has no selector",
            ),
            (
                "/spec/template",
                json!("x"),
                "deployment web has no pod template",
            ),
        ] {
            let e = broken(pointer, value);
            assert!(e.is_invalid(), "{e}");
            assert_eq!(e.to_string(), message);
        }
    }

    #[test]
    fn surge_follows_the_rolling_update() {
        let mut d = web();
        for (strategy, surge) in [
            (json!({}), true),
            (json!({"rollingUpdate": {"maxSurge": 1}}), true),
            (json!({"rollingUpdate": {"maxSurge": "10%"}}), true),
            (json!({"rollingUpdate": {"maxSurge": "0"}}), false),
            (json!({"rollingUpdate": {"maxSurge": "0%"}}), false),
            (json!({"type": "Recreate"}), false),
        ] {
            d["spec"]["strategy"] = strategy.clone();
            assert_eq!(
                Deployment::from_object(&d).unwrap().surge,
                surge,
                "{strategy}"
            );
        }
    }

    #[test]
    fn new_images_go_into_the_named_containers_only() {
        let d = Deployment::from_object(&web()).unwrap();
        let template = d.with_images(&[change("web", "nginx:1.25")]).unwrap();
        assert_eq!(
            template["spec"]["containers"],
            json!([{"name": "web", "image": "nginx:1.25"}, {"name": "log", "image": "fluent:1"}])
        );
        assert_eq!(template["metadata"], d.template["metadata"]);
        // The Deployment read stays as it was.
        assert_eq!(d.template, web()["spec"]["template"]);

        let e = d.with_images(&[change("api", "x")]).unwrap_err();
        assert!(e.is_invalid());
        assert_eq!(
            e.to_string(),
            "image: deployment web has no container \"api\""
        );

        let mut empty = web();
        empty["spec"]["template"]["spec"] = json!({});
        let e = Deployment::from_object(&empty)
            .unwrap()
            .with_images(&[change("web", "x")])
            .unwrap_err();
        assert_eq!(e.to_string(), "deployment web has no containers");
    }

    #[test]
    fn image_pairs() {
        let pairs = |p: &[&str]| parse_images(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            pairs(&["web=nginx:1.25", "log=registry:5000/fluent@sha256:ab"]).unwrap(),
            [
                change("web", "nginx:1.25"),
                change("log", "registry:5000/fluent@sha256:ab")
            ]
        );
        for (bad, message) in [
            (
                &[][..],
                "image: give at least one container=image pair (--set image=web=nginx:1.25)",
            ),
            (
                &["nginx:1.25"][..],
                "image: \"nginx:1.25\" is not container=image",
            ),
            (&["Web=x"][..], "image: \"Web\" is not a container name"),
            (&["=x"][..], "image: \"\" is not a container name"),
            (&["web="][..], "image: \"\" is not an image reference"),
            (&["web=a b"][..], "image: \"a b\" is not an image reference"),
            (
                &["web=a", "web=b"][..],
                "image: container \"web\" is named twice",
            ),
        ] {
            let e = pairs(bad).unwrap_err();
            assert!(e.is_invalid());
            assert_eq!(e.to_string(), message);
        }
    }
}
