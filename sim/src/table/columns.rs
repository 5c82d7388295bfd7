//! Each kind's columns and cells, as kube-apiserver 1.20's printers (pkg/printers/internalversion)
//! compute them; priority 1 columns are the ones `kubectl get -o wide` adds.

use serde_json::{Value, json};

use crate::kinds::KindInfo;
use crate::selectors::LabelSelector;

/// Computes one cell of an object's row at a moment (for ages).
pub type Cell = fn(&Value, jiff::Timestamp) -> Value;

/// One column of a kind's Table.
pub struct Column {
    /// The header (`Name`, `Ready`, ...; kubectl prints it upper-cased).
    pub name: &'static str,
    /// `string` or `integer`.
    pub kind: &'static str,
    /// `name` for the name column, else empty.
    pub format: &'static str,
    /// What the column shows.
    pub description: &'static str,
    /// 0, or 1 for the `-o wide` columns.
    pub priority: u8,
    /// The cell.
    pub cell: Cell,
}

const fn col(
    name: &'static str,
    kind: &'static str,
    description: &'static str,
    priority: u8,
    cell: Cell,
) -> Column {
    Column {
        name,
        kind,
        format: "",
        description,
        priority,
        cell,
    }
}

const NAME: Column = Column {
    name: "Name",
    kind: "string",
    format: "name",
    description: "Name must be unique within a namespace.",
    priority: 0,
    cell: |o, _| json!(text(o, "/metadata/name")),
};
const AGE: Column = col(
    "Age",
    "string",
    "Time since the object was created.",
    0,
    |o, now| json!(age(o, now)),
);
const CONTAINERS: Column = col(
    "Containers",
    "string",
    "Names of each container in the template.",
    1,
    |o, _| json!(template_containers(o, "name")),
);
const IMAGES: Column = col(
    "Images",
    "string",
    "Images referenced by each container in the template.",
    1,
    |o, _| json!(template_containers(o, "image")),
);
const SELECTOR: Column = col(
    "Selector",
    "string",
    "Label selector for pods.",
    1,
    |o, _| {
        json!(
            o.pointer("/spec/selector")
                .map_or_else(|| "<none>".to_string(), selector_string)
        )
    },
);

fn text<'a>(o: &'a Value, pointer: &str) -> &'a str {
    o.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn int(o: &Value, pointer: &str) -> i64 {
    o.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn or_none(s: String) -> String {
    if s.is_empty() { "<none>".into() } else { s }
}

fn template_containers(o: &Value, field: &str) -> String {
    o.pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| c[field].as_str().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(",")
}

fn selector_string(selector: &Value) -> String {
    let rendered = LabelSelector::from_json(selector)
        .map(|s| s.to_string())
        .unwrap_or_default();
    or_none(rendered)
}

/// `a=b,c=d` of a string map, sorted by key.
fn map_string(map: Option<&Value>) -> String {
    let mut pairs: Vec<String> = map
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    pairs.sort();
    or_none(pairs.join(","))
}

/// apimachinery's `HumanDuration` of a span in seconds.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days = (hours / 24) % 365;
        let years = hours / 24 / 365;
        return if days == 0 {
            format!("{years}y")
        } else {
            format!("{years}y{days}d")
        };
    }
    format!("{}y", hours / 24 / 365)
}

fn since(o: &Value, pointer: &str, now: jiff::Timestamp) -> Option<String> {
    let then: jiff::Timestamp = o.pointer(pointer)?.as_str()?.parse().ok()?;
    Some(human_duration(now.duration_since(then).as_secs()))
}

fn age(o: &Value, now: jiff::Timestamp) -> String {
    since(o, "/metadata/creationTimestamp", now).unwrap_or_else(|| "<unknown>".into())
}

/// A pod's READY, STATUS and RESTARTS, as `printPod` works them out.
fn pod_state(o: &Value) -> (String, String, i64) {
    let total = o
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let mut reason = text(o, "/status/reason").to_string();
    if reason.is_empty() {
        reason = text(o, "/status/phase").to_string();
    }
    let (mut ready, mut restarts, mut running) = (0, 0, false);
    let statuses = o
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for status in statuses.iter().rev() {
        restarts += status["restartCount"].as_i64().unwrap_or(0);
        let state = &status["state"];
        if let Some(r) = state
            .pointer("/waiting/reason")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
        {
            reason = r.to_string();
        } else if let Some(terminated) = state.get("terminated") {
            reason = match terminated["reason"].as_str().filter(|r| !r.is_empty()) {
                Some(r) => r.to_string(),
                None => match terminated["signal"].as_i64().filter(|s| *s != 0) {
                    Some(signal) => format!("Signal:{signal}"),
                    None => format!("ExitCode:{}", terminated["exitCode"].as_i64().unwrap_or(0)),
                },
            };
        } else if status["ready"] == true && state.get("running").is_some() {
            running = true;
            ready += 1;
        }
    }
    if reason == "Completed" && running {
        reason = "Running".into();
    }
    if o.pointer("/metadata/deletionTimestamp").is_some() {
        reason = if text(o, "/status/reason") == "NodeLost" {
            "Unknown".into()
        } else {
            "Terminating".into()
        };
    }
    (format!("{ready}/{total}"), reason, restarts)
}

fn node_status(o: &Value) -> String {
    let conditions = o.pointer("/status/conditions").and_then(Value::as_array);
    let mut parts = Vec::new();
    match conditions.and_then(|c| c.iter().find(|c| c["type"] == "Ready")) {
        Some(c) if c["status"] == "True" => parts.push("Ready"),
        Some(_) => parts.push("NotReady"),
        None => parts.push("Unknown"),
    }
    if o.pointer("/spec/unschedulable") == Some(&json!(true)) {
        parts.push("SchedulingDisabled");
    }
    parts.join(",")
}

fn node_roles(o: &Value) -> String {
    let mut roles: Vec<String> = o
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| match k.strip_prefix("node-role.kubernetes.io/") {
            Some(role) => Some(role.to_string()),
            None if k == "kubernetes.io/role" => v.as_str().map(str::to_string),
            None => None,
        })
        .filter(|r| !r.is_empty())
        .collect();
    roles.sort();
    roles.dedup();
    or_none(roles.join(","))
}

fn node_address(o: &Value, kind: &str) -> String {
    let found = o
        .pointer("/status/addresses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|a| a["type"] == kind)
        .and_then(|a| a["address"].as_str());
    or_none(found.unwrap_or_default().to_string())
}

fn node_info(o: &Value, field: &str) -> String {
    let value = text(o, &format!("/status/nodeInfo/{field}"));
    if value.is_empty() {
        "<unknown>".into()
    } else {
        value.into()
    }
}

fn service_external_ip(o: &Value) -> String {
    let external: Vec<&str> = o
        .pointer("/spec/externalIPs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    match text(o, "/spec/type") {
        "ExternalName" => text(o, "/spec/externalName").to_string(),
        "LoadBalancer" => {
            let mut ips: Vec<&str> = o
                .pointer("/status/loadBalancer/ingress")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|i| i["ip"].as_str().or(i["hostname"].as_str()))
                .collect();
            ips.extend(external);
            if ips.is_empty() {
                "<pending>".into()
            } else {
                ips.join(",")
            }
        }
        _ => or_none(external.join(",")),
    }
}

fn service_ports(o: &Value) -> String {
    let ports: Vec<String> = o
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let protocol = p["protocol"].as_str().unwrap_or("TCP");
            match p["nodePort"].as_i64().filter(|n| *n != 0) {
                Some(node_port) => format!("{}:{node_port}/{protocol}", p["port"]),
                None => format!("{}/{protocol}", p["port"]),
            }
        })
        .collect();
    or_none(ports.join(","))
}

fn endpoints(o: &Value) -> String {
    let mut list = Vec::new();
    for subset in o
        .get("subsets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let ports: Vec<i64> = subset["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["port"].as_i64())
            .collect();
        for address in subset["addresses"].as_array().into_iter().flatten() {
            let ip = address["ip"].as_str().unwrap_or_default();
            if ports.is_empty() {
                list.push(ip.to_string());
            }
            list.extend(ports.iter().map(|p| format!("{ip}:{p}")));
        }
    }
    let more = list.len().saturating_sub(3);
    list.truncate(3);
    let shown = list.join(",");
    if more > 0 {
        format!("{shown} + {more} more...")
    } else {
        or_none(shown)
    }
}

fn job_completions(o: &Value) -> String {
    let succeeded = int(o, "/status/succeeded");
    match o.pointer("/spec/completions").and_then(Value::as_i64) {
        Some(completions) => format!("{succeeded}/{completions}"),
        None => match int(o, "/spec/parallelism") {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    }
}

fn job_duration(o: &Value, now: jiff::Timestamp) -> String {
    let parse = |p: &str| {
        o.pointer(p)
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<jiff::Timestamp>().ok())
    };
    match (parse("/status/startTime"), parse("/status/completionTime")) {
        (None, _) => String::new(),
        (Some(start), None) => human_duration(now.duration_since(start).as_secs()),
        (Some(start), Some(end)) => human_duration(end.duration_since(start).as_secs()),
    }
}

fn int_or_string(o: &Value, pointer: &str) -> String {
    match o.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "N/A".into(),
    }
}

static POD: &[Column] = &[
    NAME,
    col(
        "Ready",
        "string",
        "The aggregate readiness state of this pod for accepting traffic.",
        0,
        |o, _| json!(pod_state(o).0),
    ),
    col(
        "Status",
        "string",
        "The aggregate status of the containers in this pod.",
        0,
        |o, _| json!(pod_state(o).1),
    ),
    col(
        "Restarts",
        "integer",
        "The number of times the containers in this pod have been restarted.",
        0,
        |o, _| json!(pod_state(o).2),
    ),
    AGE,
    col(
        "IP",
        "string",
        "IP address allocated to the pod.",
        1,
        |o, _| json!(or_none(text(o, "/status/podIP").into())),
    ),
    col(
        "Node",
        "string",
        "The node the pod is bound to.",
        1,
        |o, _| json!(or_none(text(o, "/spec/nodeName").into())),
    ),
    col(
        "Nominated Node",
        "string",
        "The node the pod was nominated for by preemption.",
        1,
        |o, _| json!(or_none(text(o, "/status/nominatedNodeName").into())),
    ),
    col(
        "Readiness Gates",
        "string",
        "The readiness gates and how many are met.",
        1,
        |o, _| {
            let gates = o
                .pointer("/spec/readinessGates")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            json!(if gates == 0 {
                "<none>".to_string()
            } else {
                format!("0/{gates}")
            })
        },
    ),
];

static NODE: &[Column] = &[
    NAME,
    col("Status", "string", "The status of the node", 0, |o, _| {
        json!(node_status(o))
    }),
    col("Roles", "string", "The roles of the node", 0, |o, _| {
        json!(node_roles(o))
    }),
    AGE,
    col(
        "Version",
        "string",
        "Kubelet Version reported by the node.",
        0,
        |o, _| json!(text(o, "/status/nodeInfo/kubeletVersion")),
    ),
    col(
        "Internal-IP",
        "string",
        "The node's internal address.",
        1,
        |o, _| json!(node_address(o, "InternalIP")),
    ),
    col(
        "External-IP",
        "string",
        "The node's external address.",
        1,
        |o, _| json!(node_address(o, "ExternalIP")),
    ),
    col(
        "OS-Image",
        "string",
        "OS Image reported by the node.",
        1,
        |o, _| json!(node_info(o, "osImage")),
    ),
    col(
        "Kernel-Version",
        "string",
        "Kernel Version reported by the node.",
        1,
        |o, _| json!(node_info(o, "kernelVersion")),
    ),
    col(
        "Container-Runtime",
        "string",
        "Container runtime version reported by the node.",
        1,
        |o, _| json!(node_info(o, "containerRuntimeVersion")),
    ),
];

static DEPLOYMENT: &[Column] = &[
    NAME,
    col(
        "Ready",
        "string",
        "Number of the pod with ready state",
        0,
        |o, _| {
            json!(format!(
                "{}/{}",
                int(o, "/status/readyReplicas"),
                int(o, "/spec/replicas")
            ))
        },
    ),
    col(
        "Up-to-date",
        "string",
        "Pods that have the desired template.",
        0,
        |o, _| json!(int(o, "/status/updatedReplicas")),
    ),
    col("Available", "string", "Available pods.", 0, |o, _| {
        json!(int(o, "/status/availableReplicas"))
    }),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

static SERVICE: &[Column] = &[
    NAME,
    col(
        "Type",
        "string",
        "How the Service is exposed.",
        0,
        |o, _| json!(text(o, "/spec/type")),
    ),
    col(
        "Cluster-IP",
        "string",
        "The IP address of the service.",
        0,
        |o, _| json!(or_none(text(o, "/spec/clusterIP").into())),
    ),
    col(
        "External-IP",
        "string",
        "External addresses of the service.",
        0,
        |o, _| json!(service_external_ip(o)),
    ),
    col(
        "Port(s)",
        "string",
        "The ports the service exposes.",
        0,
        |o, _| json!(service_ports(o)),
    ),
    AGE,
    col(
        "Selector",
        "string",
        "The pods the service routes to.",
        1,
        |o, _| json!(map_string(o.pointer("/spec/selector"))),
    ),
];

static NAMESPACE: &[Column] = &[
    NAME,
    col(
        "Status",
        "string",
        "The status of the namespace",
        0,
        |o, _| json!(text(o, "/status/phase")),
    ),
    AGE,
];

static REPLICA_SET: &[Column] = &[
    NAME,
    col(
        "Desired",
        "integer",
        "Number of desired pods.",
        0,
        |o, _| {
            json!(
                o.pointer("/spec/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1)
            )
        },
    ),
    col(
        "Current",
        "integer",
        "Number of actual replicas.",
        0,
        |o, _| json!(int(o, "/status/replicas")),
    ),
    col(
        "Ready",
        "integer",
        "Number of ready replicas.",
        0,
        |o, _| json!(int(o, "/status/readyReplicas")),
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

static DAEMON_SET: &[Column] = &[
    NAME,
    col(
        "Desired",
        "integer",
        "Nodes that should run the daemon pod.",
        0,
        |o, _| json!(int(o, "/status/desiredNumberScheduled")),
    ),
    col(
        "Current",
        "integer",
        "Nodes running at least one daemon pod.",
        0,
        |o, _| json!(int(o, "/status/currentNumberScheduled")),
    ),
    col(
        "Ready",
        "integer",
        "Nodes with a ready daemon pod.",
        0,
        |o, _| json!(int(o, "/status/numberReady")),
    ),
    col(
        "Up-to-date",
        "integer",
        "Nodes running the updated daemon pod.",
        0,
        |o, _| json!(int(o, "/status/updatedNumberScheduled")),
    ),
    col(
        "Available",
        "integer",
        "Nodes with an available daemon pod.",
        0,
        |o, _| json!(int(o, "/status/numberAvailable")),
    ),
    col(
        "Node Selector",
        "string",
        "The template's node selector.",
        0,
        |o, _| json!(map_string(o.pointer("/spec/template/spec/nodeSelector"))),
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

static STATEFUL_SET: &[Column] = &[
    NAME,
    col(
        "Ready",
        "string",
        "Number of the pod with ready state",
        0,
        |o, _| {
            json!(format!(
                "{}/{}",
                int(o, "/status/readyReplicas"),
                o.pointer("/spec/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1)
            ))
        },
    ),
    AGE,
    CONTAINERS,
    IMAGES,
];

static CONFIG_MAP: &[Column] = &[
    NAME,
    col("Data", "string", "Number of keys.", 0, |o, _| {
        let count = |f: &str| o.get(f).and_then(Value::as_object).map_or(0, |m| m.len());
        json!(count("data") + count("binaryData"))
    }),
    AGE,
];

static SECRET: &[Column] = &[
    NAME,
    col(
        "Type",
        "string",
        "Used to facilitate programmatic handling of secret data.",
        0,
        |o, _| json!(text(o, "/type")),
    ),
    col("Data", "string", "Number of keys.", 0, |o, _| {
        let count = |f: &str| o.get(f).and_then(Value::as_object).map_or(0, |m| m.len());
        json!(count("data") + count("stringData"))
    }),
    AGE,
];

static ENDPOINTS: &[Column] = &[
    NAME,
    col(
        "Endpoints",
        "string",
        "The addresses and ports of the endpoints.",
        0,
        |o, _| json!(endpoints(o)),
    ),
    AGE,
];

static JOB: &[Column] = &[
    NAME,
    col(
        "Completions",
        "string",
        "The number of pods which reached phase Succeeded.",
        0,
        |o, _| json!(job_completions(o)),
    ),
    col(
        "Duration",
        "string",
        "Time required to complete the job.",
        0,
        |o, now| json!(job_duration(o, now)),
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

static CLAIM: &[Column] = &[
    NAME,
    col("Status", "string", "Phase of the claim.", 0, |o, _| {
        json!(text(o, "/status/phase"))
    }),
    col(
        "Volume",
        "string",
        "The volume bound to the claim.",
        0,
        |o, _| json!(text(o, "/spec/volumeName")),
    ),
    col(
        "Capacity",
        "string",
        "The resources of the bound volume.",
        0,
        |o, _| json!(text(o, "/status/capacity/storage")),
    ),
    col(
        "Access Modes",
        "string",
        "The access modes of the bound volume.",
        0,
        |o, _| {
            let modes: Vec<&str> = o
                .pointer("/status/accessModes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|m| match m {
                    "ReadWriteOnce" => "RWO",
                    "ReadOnlyMany" => "ROX",
                    "ReadWriteMany" => "RWX",
                    other => other,
                })
                .collect();
            json!(modes.join(","))
        },
    ),
    col(
        "StorageClass",
        "string",
        "The claim's storage class.",
        0,
        |o, _| json!(text(o, "/spec/storageClassName")),
    ),
    AGE,
    col(
        "VolumeMode",
        "string",
        "The volume mode the claim asks for.",
        1,
        |o, _| {
            let mode = text(o, "/spec/volumeMode");
            json!(if mode.is_empty() { "Filesystem" } else { mode })
        },
    ),
];

static BUDGET: &[Column] = &[
    NAME,
    col(
        "Min Available",
        "string",
        "The minimum number of pods that must be available.",
        0,
        |o, _| json!(int_or_string(o, "/spec/minAvailable")),
    ),
    col(
        "Max Unavailable",
        "string",
        "The maximum number of pods that may be unavailable.",
        0,
        |o, _| json!(int_or_string(o, "/spec/maxUnavailable")),
    ),
    col(
        "Allowed Disruptions",
        "integer",
        "Calculated number of pods that may be disrupted at this time.",
        0,
        |o, _| json!(int(o, "/status/disruptionsAllowed")),
    ),
    AGE,
];

static LEASE: &[Column] = &[
    NAME,
    col(
        "Holder",
        "string",
        "The identity of the holder of the lease.",
        0,
        |o, _| json!(text(o, "/spec/holderIdentity")),
    ),
    AGE,
];

static NETWORK_POLICY: &[Column] = &[
    NAME,
    col(
        "Pod-Selector",
        "string",
        "The pods the policy applies to.",
        0,
        |o, _| {
            json!(
                o.pointer("/spec/podSelector")
                    .map_or_else(|| "<none>".to_string(), selector_string)
            )
        },
    ),
    AGE,
];

static DEFAULT: &[Column] = &[
    NAME,
    Column {
        name: "Created At",
        kind: "date",
        format: "",
        description: "When the object was created.",
        priority: 0,
        cell: |o, _| json!(text(o, "/metadata/creationTimestamp")),
    },
];

/// The columns of `kind`'s Table.
pub fn columns(kind: &KindInfo) -> &'static [Column] {
    match (kind.group, kind.kind) {
        ("", "Pod") => POD,
        ("", "Node") => NODE,
        ("", "Service") => SERVICE,
        ("", "Namespace") => NAMESPACE,
        ("", "ConfigMap") => CONFIG_MAP,
        ("", "Secret") => SECRET,
        ("", "Endpoints") => ENDPOINTS,
        ("", "PersistentVolumeClaim") => CLAIM,
        ("apps", "Deployment") => DEPLOYMENT,
        ("apps", "ReplicaSet") => REPLICA_SET,
        ("apps", "DaemonSet") => DAEMON_SET,
        ("apps", "StatefulSet") => STATEFUL_SET,
        ("batch", "Job") => JOB,
        ("policy", "PodDisruptionBudget") => BUDGET,
        ("coordination.k8s.io", "Lease") => LEASE,
        ("networking.k8s.io", "NetworkPolicy") => NETWORK_POLICY,
        _ => DEFAULT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_kubectls() {
        let cases = [
            (5, "5s"),
            (119, "119s"),
            (125, "2m5s"),
            (600, "10m"),
            (3 * 3600 + 120, "3h2m"),
            (9 * 3600, "9h"),
            (3 * 86400 + 3600, "3d1h"),
            (30 * 86400, "30d"),
            (3 * 365 * 86400, "3y"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn pod_state_reads_container_statuses() {
        let pod = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"ready": true, "restartCount": 1, "state": {"running": {}}},
                {"ready": false, "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        assert_eq!(
            pod_state(&pod),
            ("1/2".to_string(), "CrashLoopBackOff".to_string(), 4)
        );
        let node = json!({"spec": {"unschedulable": true}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(node_status(&node), "Ready,SchedulingDisabled");
    }
}
