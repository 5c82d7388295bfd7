//! Defaulting of stored objects as kube-apiserver 1.20 does it on every write (its
//! `SetDefaults_*` functions), plus the pod fields its default admission plugins fill in on create.
//!
//! Only what a JSON client of the served kinds can see is defaulted: Deployment, ReplicaSet,
//! DaemonSet and StatefulSet specs, pod templates and pods (pod spec, containers, probes, ports,
//! env, volumes), Services and Namespaces. The values are kube-apiserver's.

use serde_json::{Value, json};

/// `node.kubernetes.io/not-ready` and `unreachable`: the taints a pod tolerates for 300 s by
/// default (the DefaultTolerationSeconds admission plugin).
const DEFAULT_TOLERATED: [&str; 2] = [
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/unreachable",
];

/// Whether a write creates the object (admission plugins' defaults apply) or updates it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// A create.
    Create,
    /// A replace or patch of the main resource.
    Update,
}

/// Fills in the defaults of `kind` in `object` (a JSON object; anything else is left alone).
pub fn apply(kind: &str, object: &mut Value, operation: Operation) {
    match kind {
        "Deployment" => deployment(object),
        "ReplicaSet" => {
            let spec = child(object, "spec");
            set_default(spec, "replicas", json!(1));
            pod_template(spec);
        }
        "DaemonSet" => daemon_set(object),
        "StatefulSet" => stateful_set(object),
        "Pod" => pod(object, operation),
        "Service" => service(object),
        _ => {}
    }
}

/// The object's map at `key`, created empty if absent (or not a map).
fn child<'a>(object: &'a mut Value, key: &str) -> &'a mut Value {
    if !object.is_object() {
        *object = json!({});
    }
    let map = object.as_object_mut().expect("made an object above");
    let entry = map.entry(key.to_string()).or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    entry
}

fn set_default(object: &mut Value, key: &str, value: Value) {
    if let Some(map) = object.as_object_mut() {
        let slot = map.entry(key.to_string()).or_insert(Value::Null);
        if slot.is_null() {
            *slot = value;
        }
    }
}

fn is_absent(object: &Value, key: &str) -> bool {
    object.get(key).is_none_or(Value::is_null)
}

fn each_in<'a>(object: &'a mut Value, key: &str) -> impl Iterator<Item = &'a mut Value> {
    object
        .get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter(|v| v.is_object())
}

fn deployment(object: &mut Value) {
    let spec = child(object, "spec");
    set_default(spec, "replicas", json!(1));
    let strategy = child(spec, "strategy");
    set_default(strategy, "type", json!("RollingUpdate"));
    if strategy["type"] == "RollingUpdate" {
        let rolling = child(strategy, "rollingUpdate");
        set_default(rolling, "maxUnavailable", json!("25%"));
        set_default(rolling, "maxSurge", json!("25%"));
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(spec, "progressDeadlineSeconds", json!(600));
    pod_template(spec);
}

fn daemon_set(object: &mut Value) {
    let spec = child(object, "spec");
    let strategy = child(spec, "updateStrategy");
    set_default(strategy, "type", json!("RollingUpdate"));
    if strategy["type"] == "RollingUpdate" {
        let rolling = child(strategy, "rollingUpdate");
        set_default(rolling, "maxUnavailable", json!(1));
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    pod_template(spec);
}

fn stateful_set(object: &mut Value) {
    let spec = child(object, "spec");
    set_default(spec, "replicas", json!(1));
    set_default(spec, "podManagementPolicy", json!("OrderedReady"));
    let strategy = child(spec, "updateStrategy");
    set_default(strategy, "type", json!("RollingUpdate"));
    if strategy["type"] == "RollingUpdate" {
        let rolling = child(strategy, "rollingUpdate");
        set_default(rolling, "partition", json!(0));
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    pod_template(spec);
}

/// A workload's `spec.template.spec`.
fn pod_template(workload_spec: &mut Value) {
    pod_template_defaults(child(workload_spec, "template"));
}

/// The defaults of a pod template (`spec` and what it reaches), as a workload's template gets.
pub fn pod_template_defaults(template: &mut Value) {
    pod_spec(child(template, "spec"));
}

fn pod(object: &mut Value, operation: Operation) {
    let spec = child(object, "spec");
    pod_spec(spec);
    // SetDefaults_Pod (pods only, not templates).
    set_default(spec, "enableServiceLinks", json!(true));
    if operation == Operation::Create {
        // The Priority admission plugin (no PriorityClass: priority 0) and the ServiceAccount
        // one (the namespace's `default` account; its token volume is not mounted here).
        if is_absent(spec, "priorityClassName") {
            set_default(spec, "priority", json!(0));
        }
        set_default(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
        let account = spec
            .get("serviceAccountName")
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty())
            .or_else(|| spec.get("serviceAccount").and_then(Value::as_str))
            .filter(|a| !a.is_empty())
            .unwrap_or("default")
            .to_string();
        spec["serviceAccountName"] = json!(account);
        spec["serviceAccount"] = json!(account);
        default_toleration_seconds(spec);
    }
}

/// The DefaultTolerationSeconds admission plugin: tolerate not-ready and unreachable nodes for
/// 300 s unless the pod already tolerates them (`NoExecute`, or any effect).
fn default_toleration_seconds(spec: &mut Value) {
    let tolerates = |spec: &Value, key: &str| {
        spec.get("tolerations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|t| {
                let effect_ok = t
                    .get("effect")
                    .and_then(Value::as_str)
                    .is_none_or(|e| e.is_empty() || e == "NoExecute");
                let key_ok = match t.get("key").and_then(Value::as_str) {
                    Some(k) if !k.is_empty() => k == key,
                    _ => t.get("operator").and_then(Value::as_str) == Some("Exists"),
                };
                effect_ok && key_ok
            })
    };
    let missing: Vec<&str> = DEFAULT_TOLERATED
        .iter()
        .copied()
        .filter(|key| !tolerates(spec, key))
        .collect();
    if missing.is_empty() {
        return;
    }
    if !spec.get("tolerations").is_some_and(Value::is_array) {
        spec["tolerations"] = json!([]);
    }
    if let Some(list) = spec["tolerations"].as_array_mut() {
        for key in missing {
            list.push(json!({
                "key": key,
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            }));
        }
    }
}

/// SetDefaults_PodSpec and what it reaches: containers, probes, ports, env, volumes.
fn pod_spec(spec: &mut Value) {
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    for key in ["containers", "initContainers"] {
        for container in each_in(spec, key) {
            self::container(container);
        }
    }
    for volume in each_in(spec, "volumes") {
        self::volume(volume);
    }
}

fn container(container: &mut Value) {
    set_default(
        container,
        "terminationMessagePath",
        json!("/dev/termination-log"),
    );
    set_default(container, "terminationMessagePolicy", json!("File"));
    let policy = image_pull_policy(container.get("image").and_then(Value::as_str).unwrap_or(""));
    set_default(container, "imagePullPolicy", json!(policy));
    set_default(container, "resources", json!({}));
    for port in each_in(container, "ports") {
        set_default(port, "protocol", json!("TCP"));
    }
    for env in each_in(container, "env") {
        if let Some(field_ref) = env
            .pointer_mut("/valueFrom/fieldRef")
            .filter(|f| f.is_object())
        {
            set_default(field_ref, "apiVersion", json!("v1"));
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = container.get_mut(probe).filter(|p| p.is_object()) {
            set_default(p, "timeoutSeconds", json!(1));
            set_default(p, "periodSeconds", json!(10));
            set_default(p, "successThreshold", json!(1));
            set_default(p, "failureThreshold", json!(3));
            if let Some(get) = p.get_mut("httpGet").filter(|g| g.is_object()) {
                set_default(get, "scheme", json!("HTTP"));
            }
        }
    }
}

/// `Always` for an image tagged `:latest` or not tagged at all (and not pinned by digest),
/// else `IfNotPresent` (SetDefaults_Container).
pub fn image_pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) if tag != "latest" => "IfNotPresent",
        _ => "Always",
    }
}

fn volume(volume: &mut Value) {
    for source in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(s) = volume.get_mut(source).filter(|s| s.is_object()) {
            set_default(s, "defaultMode", json!(420));
        }
    }
    if let Some(host_path) = volume.get_mut("hostPath").filter(|h| h.is_object()) {
        set_default(host_path, "type", json!(""));
    }
}

fn service(object: &mut Value) {
    let spec = child(object, "spec");
    set_default(spec, "type", json!("ClusterIP"));
    if spec["type"] != "ExternalName" {
        set_default(spec, "sessionAffinity", json!("None"));
    }
    for port in each_in(spec, "ports") {
        set_default(port, "protocol", json!("TCP"));
        if is_absent(port, "targetPort")
            || port["targetPort"] == json!(0)
            || port["targetPort"] == json!("")
        {
            let target = port.get("port").cloned().unwrap_or(Value::Null);
            port["targetPort"] = target;
        }
    }
}

/// Whether a Service gets a cluster IP allocated: any type but ExternalName, without one.
pub fn needs_cluster_ip(service: &Value) -> bool {
    let spec = service.get("spec").and_then(Value::as_object);
    let ip = spec
        .and_then(|s| s.get("clusterIP"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = spec.and_then(|s| s.get("type")).and_then(Value::as_str);
    ip.is_empty() && kind != Some("ExternalName")
}

/// Sets a Service's `clusterIP` and `clusterIPs` to `ip`.
pub fn set_cluster_ip(service: &mut Value, ip: &str) {
    let spec = child(service, "spec");
    spec["clusterIP"] = json!(ip);
    spec["clusterIPs"] = json!([ip]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_pull_policy_follows_the_tag() {
        assert_eq!(image_pull_policy("nginx"), "Always");
        assert_eq!(image_pull_policy("nginx:latest"), "Always");
        assert_eq!(image_pull_policy("nginx:1.19"), "IfNotPresent");
        assert_eq!(image_pull_policy("registry:5000/app"), "Always");
        assert_eq!(image_pull_policy("registry:5000/app:2"), "IfNotPresent");
        assert_eq!(image_pull_policy("app@sha256:abc"), "IfNotPresent");
    }

    #[test]
    fn a_deployment_gets_the_real_servers_defaults() {
        let mut d = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "x:1", "ports": [{"containerPort": 80}]}
        ]}}}});
        apply("Deployment", &mut d, Operation::Create);
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(
            d["spec"]["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        );
        assert_eq!(d["spec"]["revisionHistoryLimit"], 10);
        assert_eq!(d["spec"]["progressDeadlineSeconds"], 600);
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(pod["restartPolicy"], "Always");
        assert_eq!(pod["securityContext"], json!({}));
        let c = &pod["containers"][0];
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        assert_eq!(c["terminationMessagePolicy"], "File");
        // Templates get no admission defaults.
        assert!(pod.get("tolerations").is_none() && pod.get("priority").is_none());
    }

    #[test]
    fn recreate_keeps_no_rolling_update_and_defaults_are_idempotent() {
        let mut d = json!({"spec": {"strategy": {"type": "Recreate"}}});
        apply("Deployment", &mut d, Operation::Create);
        assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
        let once = d.clone();
        apply("Deployment", &mut d, Operation::Update);
        assert_eq!(d, once);
    }

    #[test]
    fn a_pod_gets_admission_defaults_on_create_only() {
        let mut p = json!({"spec": {"containers": [{"name": "a", "image": "x"}],
            "tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}]}});
        apply("Pod", &mut p, Operation::Create);
        let tolerations = p["spec"]["tolerations"].as_array().unwrap();
        assert_eq!(tolerations.len(), 2, "{tolerations:?}");
        assert_eq!(tolerations[1]["key"], "node.kubernetes.io/not-ready");
        assert_eq!(p["spec"]["serviceAccountName"], "default");
        assert_eq!(p["spec"]["priority"], 0);
        let mut q = json!({"spec": {"containers": []}});
        apply("Pod", &mut q, Operation::Update);
        assert!(q["spec"].get("tolerations").is_none());
    }

    #[test]
    fn a_service_targets_its_port_by_default() {
        let mut s = json!({"spec": {"ports": [{"port": 80}, {"port": 81, "targetPort": "http"}]}});
        apply("Service", &mut s, Operation::Create);
        assert_eq!(s["spec"]["type"], "ClusterIP");
        assert_eq!(s["spec"]["sessionAffinity"], "None");
        assert_eq!(s["spec"]["ports"][0]["targetPort"], 80);
        assert_eq!(s["spec"]["ports"][1]["targetPort"], "http");
        assert!(needs_cluster_ip(&s));
        set_cluster_ip(&mut s, "10.96.0.1");
        assert!(!needs_cluster_ip(&s));
    }
}
