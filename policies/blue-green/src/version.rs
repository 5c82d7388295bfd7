//! The versions' objects: the new Deployment `<app>-<hash>` built from the active one, and the Service selectors that tell old pods from new.
//!
//! How the active Service selects the old version without touching it: every pod a
//! Deployment runs carries `pod-template-hash` (its ReplicaSet's, set by the Deployment
//! controller), so at the first run the active Service's selector gets the old pods'
//! `pod-template-hash` added — it then selects exactly the old pods, and no old pod restarts
//! (adding a label to the old template would replace every pod). The new version's pods
//! carry `cutover.dev/version: <hash of the new template>`, in their template and in the new
//! Deployment's selector; the preview Service, and at promotion the active one, select the
//! Service's own labels plus that version label (the `pod-template-hash` pin removed).

use cutover_guest_sdk::Error;
use cutover_guest_sdk::deployment::{Deployment, ImageChange};
use serde_json::{Map, Value, json};

/// The label that names a version (in the new Deployment's template and selector).
pub const VERSION_LABEL: &str = "cutover.dev/version";
/// The label that names the application on every Deployment this policy creates, so the
/// next rollout finds the active one by the name given the first time.
pub const APP_LABEL: &str = "cutover.dev/app";
/// The Deployment controller's label on every pod and ReplicaSet of a template.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// A short hash of a pod template: FNV-1a over its JSON (object keys sorted), as 10 hex
/// digits. The same template gives the same name on every run, so a resumed or retried run
/// finds the Deployment it created.
pub fn template_hash(template: &Value) -> String {
    let text = template.to_string();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:010x}", hash & 0xff_ffff_ffff)
}

/// The active Deployment, as the policy reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct Active {
    pub deployment: Deployment,
    /// The application's name: the `cutover.dev/app` label of a Deployment this policy
    /// created, else the Deployment's own name.
    pub app: String,
}

impl Active {
    pub fn from_object(object: &Value) -> Result<Active, Error> {
        let deployment = Deployment::from_object(object)?;
        let app = deployment
            .labels
            .get(APP_LABEL)
            .and_then(Value::as_str)
            .map_or_else(|| deployment.name.clone(), str::to_string);
        Ok(Active { deployment, app })
    }

    /// The new version's template: the active's with the new images and the version label.
    /// Returns it with its hash.
    pub fn new_template(&self, images: &[ImageChange]) -> Result<(Value, String), Error> {
        let mut template = self.deployment.with_images(images)?;
        if let Some(labels) = template
            .pointer_mut("/metadata/labels")
            .and_then(Value::as_object_mut)
        {
            labels.remove(VERSION_LABEL);
            labels.remove(POD_TEMPLATE_HASH);
        }
        let hash = template_hash(&template);
        template["metadata"]["labels"][VERSION_LABEL] = json!(hash);
        Ok((template, hash))
    }

    /// The new Deployment `<app>-<hash>`, with `replicas` pods.
    pub fn new_deployment(
        &self,
        namespace: &str,
        template: &Value,
        hash: &str,
        replicas: u32,
    ) -> Value {
        let mut selector = self.deployment.selector.clone();
        if let Some(m) = selector
            .get_mut("matchLabels")
            .and_then(Value::as_object_mut)
        {
            m.remove(VERSION_LABEL);
        }
        selector["matchLabels"][VERSION_LABEL] = json!(hash);
        let mut labels = self.deployment.labels.clone();
        labels.insert(APP_LABEL.into(), json!(self.app));
        labels.insert(VERSION_LABEL.into(), json!(hash));
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": new_name(&self.app, hash), "namespace": namespace, "labels": labels},
            "spec": {"replicas": replicas, "selector": selector, "template": template},
        })
    }
}

/// `<app>-<hash>`.
pub fn new_name(app: &str, hash: &str) -> String {
    format!("{app}-{hash}")
}

/// The `pod-template-hash` of a Deployment's current ReplicaSet: among `replica_sets`, the
/// one it owns (by uid) at its current revision, else the newest it owns.
pub fn current_pod_template_hash(active: &Active, replica_sets: &[Value]) -> Option<String> {
    let owned: Vec<&Value> = replica_sets
        .iter()
        .filter(|rs| {
            rs.pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|refs| {
                    refs.iter().any(|r| {
                        r["uid"] == active.deployment.uid.as_str() && r["kind"] == "Deployment"
                    })
                })
        })
        .collect();
    let revision_of = |rs: &Value| {
        rs.pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let revision = &active.deployment.revision;
    let current = owned
        .iter()
        .find(|rs| revision.is_some() && revision_of(rs) == *revision)
        .or_else(|| {
            owned
                .iter()
                .max_by_key(|rs| revision_of(rs).and_then(|r| r.parse::<u64>().ok()))
        })?;
    current
        .pointer("/metadata/labels/pod-template-hash")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// A Service's selector with `extra` set (and `remove` dropped): the JSON merge patch that
/// makes it so, and the selector it gives.
pub fn selector_patch(
    current: &Map<String, Value>,
    set: &[(&str, &str)],
    remove: &[&str],
) -> (Value, Map<String, Value>) {
    let mut patch = Map::new();
    let mut result = current.clone();
    for key in remove {
        if result.remove(*key).is_some() {
            patch.insert((*key).to_string(), Value::Null);
        }
    }
    for (key, value) in set {
        patch.insert((*key).to_string(), json!(value));
        result.insert((*key).to_string(), json!(value));
    }
    (json!({"spec": {"selector": patch}}), result)
}

/// The merge patch that turns selector `from` into exactly `to`.
pub fn restore_patch(from: &Map<String, Value>, to: &Map<String, Value>) -> Value {
    let mut patch = Map::new();
    for key in from.keys() {
        if !to.contains_key(key) {
            patch.insert(key.clone(), Value::Null);
        }
    }
    for (key, value) in to {
        patch.insert(key.clone(), value.clone());
    }
    json!({"spec": {"selector": patch}})
}

/// `k=v,k2=v2` for a pod list.
pub fn selector_text(selector: &Map<String, Value>) -> String {
    selector
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::web;

    fn img(image: &str) -> [ImageChange; 1] {
        [ImageChange {
            container: "web".into(),
            image: image.into(),
        }]
    }

    #[test]
    fn the_new_deployment_carries_the_version() {
        let active = Active::from_object(&web()).unwrap();
        let (template, hash) = active.new_template(&img("nginx:1.25")).unwrap();
        assert_eq!(hash.len(), 10);
        // Same template, same hash; another image, another hash.
        assert_eq!(active.new_template(&img("nginx:1.25")).unwrap().1, hash);
        assert_ne!(active.new_template(&img("nginx:1.26")).unwrap().1, hash);
        let d = active.new_deployment("shop", &template, &hash, 3);
        assert_eq!(d["metadata"]["name"], format!("web-{hash}"));
        assert_eq!(d["metadata"]["labels"][APP_LABEL], "web");
        assert_eq!(
            d["spec"]["selector"]["matchLabels"],
            json!({"app": "web", VERSION_LABEL: hash})
        );
        assert_eq!(
            d["spec"]["template"]["metadata"]["labels"],
            json!({"app": "web", VERSION_LABEL: hash})
        );
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["image"],
            "nginx:1.25"
        );

        // A template that carries a version's labels already gets them replaced.
        let mut labelled = web();
        labelled["spec"]["template"]["metadata"]["labels"] =
            json!({"app": "web", VERSION_LABEL: "old", POD_TEMPLATE_HASH: "5d8f"});
        let (relabelled, again) = Active::from_object(&labelled)
            .unwrap()
            .new_template(&img("nginx:1.25"))
            .unwrap();
        assert_eq!((relabelled, again), (template.clone(), hash.clone()));

        // The next rollout from that Deployment keeps the app's name.
        let mut next = d.clone();
        next["metadata"]["uid"] = json!("u2");
        let active = Active::from_object(&next).unwrap();
        assert_eq!(active.app, "web");
        let (template, hash2) = active.new_template(&img("nginx:1.26")).unwrap();
        let d2 = active.new_deployment("shop", &template, &hash2, 3);
        assert_eq!(d2["metadata"]["name"], format!("web-{hash2}"));
        assert_eq!(
            d2["spec"]["selector"]["matchLabels"],
            json!({"app": "web", VERSION_LABEL: hash2})
        );
    }

    #[test]
    fn finds_the_current_replica_set() {
        let mut active = Active::from_object(&web()).unwrap();
        let rs = |uid: &str, rev: &str, hash: &str| {
            json!({"metadata": {
            "ownerReferences": [{"kind": "Deployment", "uid": uid}],
            "annotations": {"deployment.kubernetes.io/revision": rev},
            "labels": {"app": "web", "pod-template-hash": hash}}})
        };
        let sets = [
            rs("u-web", "1", "aaa"),
            rs("u-web", "2", "bbb"),
            rs("other", "1", "ccc"),
        ];
        // The one at the Deployment's revision (1), not the newest.
        assert_eq!(
            current_pod_template_hash(&active, &sets).as_deref(),
            Some("aaa")
        );
        assert_eq!(current_pod_template_hash(&active, &sets[2..]), None);
        // Without the revision annotation: the newest it owns.
        active.deployment.revision = None;
        assert_eq!(
            current_pod_template_hash(&active, &sets).as_deref(),
            Some("bbb")
        );
    }

    #[test]
    fn selector_patches() {
        let current: Map<String, Value> = json!({"app": "web"}).as_object().unwrap().clone();
        let (patch, pinned) = selector_patch(&current, &[(POD_TEMPLATE_HASH, "bbb")], &[]);
        assert_eq!(
            patch,
            json!({"spec": {"selector": {"pod-template-hash": "bbb"}}})
        );
        let (patch, new) = selector_patch(&pinned, &[(VERSION_LABEL, "h")], &[POD_TEMPLATE_HASH]);
        assert_eq!(
            patch,
            json!({"spec": {"selector": {"pod-template-hash": null, VERSION_LABEL: "h"}}})
        );
        assert_eq!(selector_text(&new), "app=web,cutover.dev/version=h");
        assert_eq!(
            restore_patch(&new, &current),
            json!({"spec": {"selector": {VERSION_LABEL: null, "app": "web"}}})
        );
    }
}
