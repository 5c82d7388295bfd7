//! One object of a release: its identity (what prune compares), its reference for host calls,
//! and Helm's install order.

// Helm's install order is the chart renderer's, so that charts and plain manifests apply alike.
use cutover_chart::INSTALL_ORDER;
use cutover_guest_sdk::ObjectRef;
use serde_json::Value;

/// What makes two manifests the same object: group (not version: `apps/v1` and `apps/v1beta1`
/// name one object), kind, namespace (none: the run's, or cluster-scoped) and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub group: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The object's identity; a namespace equal to the run's counts as none.
pub fn key(object: &Value, run_namespace: &str) -> Key {
    let api_version = text(object, "/apiVersion");
    let group = api_version
        .rsplit_once('/')
        .map(|(g, _)| g)
        .unwrap_or("")
        .to_string();
    let namespace = Some(text(object, "/metadata/namespace"))
        .filter(|ns| !ns.is_empty() && *ns != run_namespace)
        .map(str::to_string);
    Key {
        group,
        kind: text(object, "/kind").to_string(),
        namespace,
        name: text(object, "/metadata/name").to_string(),
    }
}

/// The reference for host calls: the namespace it sets, else none (the run's, for a
/// namespaced kind; the host knows which kinds are).
pub fn reference(object: &Value) -> ObjectRef {
    let r = ObjectRef::new(
        text(object, "/apiVersion"),
        text(object, "/kind"),
        text(object, "/metadata/name"),
    );
    match text(object, "/metadata/namespace") {
        "" => r,
        ns => r.in_namespace(ns),
    }
}

/// `Deployment web`, `ClusterRole web-reader`, `ConfigMap other/settings`, as the log names it.
pub fn describe(object: &Value) -> String {
    match text(object, "/metadata/namespace") {
        "" => format!(
            "{} {}",
            text(object, "/kind"),
            text(object, "/metadata/name")
        ),
        ns => format!(
            "{} {ns}/{}",
            text(object, "/kind"),
            text(object, "/metadata/name")
        ),
    }
}

/// Where `kind` comes in Helm's install order.
pub fn install_rank(kind: &str) -> usize {
    INSTALL_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(INSTALL_ORDER.len())
}

/// Sorts `objects` into Helm's install order: by kind's rank, unknown kinds by kind name; the
/// order given otherwise kept.
pub fn sort_for_install(objects: &mut [Value]) {
    objects.sort_by(|a, b| {
        let (ka, kb) = (text(a, "/kind"), text(b, "/kind"));
        install_rank(ka).cmp(&install_rank(kb)).then_with(|| {
            if install_rank(ka) == INSTALL_ORDER.len() {
                ka.cmp(kb)
            } else {
                std::cmp::Ordering::Equal
            }
        })
    });
}

/// The annotations of `object`, as text (missing ones empty).
pub fn annotation<'a>(object: &'a Value, name: &str) -> &'a str {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(name))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Sets `metadata.namespace` of `manifest` to `namespace` when it sets none.
pub fn set_namespace_if_missing(manifest: &mut Value, namespace: &str) {
    if let Some(metadata) = manifest.get_mut("metadata").and_then(Value::as_object_mut) {
        let missing = metadata
            .get("namespace")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        if missing {
            metadata.insert("namespace".into(), Value::String(namespace.into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(api: &str, kind: &str, name: &str) -> Value {
        json!({"apiVersion": api, "kind": kind, "metadata": {"name": name}})
    }

    #[test]
    fn install_order_is_helms() {
        let mut objects = vec![
            obj("apps/v1", "Deployment", "web"),
            obj("example.com/v1", "Widget", "w"),
            obj("v1", "Service", "web"),
            obj("batch/v1", "CronJob", "c"),
            obj("example.com/v1", "Gadget", "g"),
            obj("v1", "ServiceAccount", "web"),
            obj("v1", "Namespace", "shop"),
            obj("v1", "Service", "other"),
        ];
        sort_for_install(&mut objects);
        let order: Vec<String> = objects.iter().map(describe).collect();
        assert_eq!(
            order,
            [
                "Namespace shop",
                "ServiceAccount web",
                "Service web",
                "Service other",
                "Deployment web",
                "CronJob c",
                "Gadget g",
                "Widget w"
            ]
        );
    }

    #[test]
    fn keys_ignore_the_version_and_the_run_namespace() {
        let a = obj("apps/v1", "Deployment", "web");
        let mut b = obj("apps/v1beta2", "Deployment", "web");
        b["metadata"]["namespace"] = json!("shop");
        assert_eq!(key(&a, "shop"), key(&b, "shop"));
        assert_ne!(key(&a, "other"), key(&b, "other"));
        assert_eq!(key(&obj("v1", "Service", "web"), "x").group, "");
    }

    #[test]
    fn references_keep_a_namespace_only_when_set() {
        let mut cm = obj("v1", "ConfigMap", "settings");
        assert_eq!(reference(&cm).namespace, None);
        cm["metadata"]["namespace"] = json!("other");
        assert_eq!(reference(&cm).to_string(), "ConfigMap other/settings");
        assert_eq!(describe(&cm), "ConfigMap other/settings");
    }

    #[test]
    fn a_namespace_is_filled_in_only_when_missing() {
        let mut a = obj("v1", "ConfigMap", "a");
        set_namespace_if_missing(&mut a, "shop");
        assert_eq!(a["metadata"]["namespace"], "shop");
        set_namespace_if_missing(&mut a, "other");
        assert_eq!(a["metadata"]["namespace"], "shop");
    }
}
