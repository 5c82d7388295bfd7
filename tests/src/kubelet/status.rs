//! What the test kubelet reports: node objects, and pod statuses chosen by the image convention.
//!
//! Pure functions of their inputs (the clock comes in as an argument), so the convention is
//! unit-tested without a cluster.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints,
    NodeStatus, NodeSystemInfo, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::ObjectMeta;

use crate::GROUP_LABEL;

/// How a pod behaves, decided by the images of its containers: the image convention is the
/// simulator's ([`cutover_sim::PodFate`]), so the test kubelet and the simulated one agree by
/// construction. When several containers say different things, the worst one wins.
pub use cutover_sim::PodFate as Behaviour;

/// The behaviour of a typed pod: its worst container.
pub fn behaviour_of(pod: &Pod) -> Behaviour {
    // The simulator reads pods as JSON; a Pod always serializes.
    serde_json::to_value(pod)
        .map(|value| Behaviour::of_pod(&value))
        .unwrap_or(Behaviour::Ready)
}

/// What the kubelet reports for a pod at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Running, containers started, not ready yet (the start-up delay).
    Starting,
    /// Running and Ready.
    Ready,
    /// Running, containers running but never ready.
    NeverReady,
    /// Running, containers waiting in `CrashLoopBackOff` after restarts.
    CrashLoop,
    /// Pending, containers waiting in `ImagePullBackOff`.
    ImagePullBackOff,
}

impl Stage {
    /// The stage of a pod with this behaviour, `starting` while within its start-up delay.
    pub fn of(behaviour: Behaviour, starting: bool) -> Self {
        match behaviour {
            Behaviour::Ready if starting => Stage::Starting,
            Behaviour::Ready => Stage::Ready,
            Behaviour::NeverReady => Stage::NeverReady,
            Behaviour::CrashLoop => Stage::CrashLoop,
            Behaviour::ImagePullBackOff => Stage::ImagePullBackOff,
        }
    }

    fn ready(self) -> bool {
        self == Stage::Ready
    }
}

/// Restarts reported for a crash-looping container: more than zero is what makes it a loop.
pub const CRASHLOOP_RESTARTS: i32 = 3;

/// The full status of `pod` at `stage`, as a kubelet would write it.
///
/// Times that already happened (start time, unchanged conditions) keep their old value, so that
/// rewriting the status at a later stage does not move them.
pub fn pod_status(
    pod: &Pod,
    stage: Stage,
    pod_ip: &str,
    host_ip: &str,
    now: Timestamp,
) -> PodStatus {
    let old = pod.status.clone().unwrap_or_default();
    let start = old.start_time.clone().unwrap_or(Time(now));
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let containers = pod.spec.iter().flat_map(|s| s.containers.iter());
    let names: Vec<String> = containers.clone().map(|c| c.name.clone()).collect();

    let container_statuses = containers
        .map(|c| {
            let image = c.image.clone().unwrap_or_default();
            let image_id = format!("docker-pullable://{image}@sha256:{}", hex_id(&image));
            let container_id = Some(format!(
                "containerd://{}",
                hex_id(&format!("{uid}/{}", c.name))
            ));
            let running = ContainerState {
                running: Some(ContainerStateRunning {
                    started_at: Some(start.clone()),
                }),
                ..ContainerState::default()
            };
            match stage {
                Stage::Starting | Stage::Ready | Stage::NeverReady => ContainerStatus {
                    name: c.name.clone(),
                    image,
                    image_id,
                    container_id,
                    ready: stage.ready(),
                    started: Some(true),
                    restart_count: 0,
                    state: Some(running),
                    ..ContainerStatus::default()
                },
                Stage::CrashLoop => ContainerStatus {
                    name: c.name.clone(),
                    image,
                    image_id,
                    container_id: container_id.clone(),
                    ready: false,
                    started: Some(false),
                    restart_count: CRASHLOOP_RESTARTS,
                    state: Some(ContainerState {
                        waiting: Some(ContainerStateWaiting {
                            reason: Some("CrashLoopBackOff".into()),
                            message: Some(format!(
                                "back-off 40s restarting failed container={} pod={}",
                                c.name,
                                pod.metadata.name.as_deref().unwrap_or_default()
                            )),
                        }),
                        ..ContainerState::default()
                    }),
                    last_state: Some(ContainerState {
                        terminated: Some(ContainerStateTerminated {
                            exit_code: 1,
                            reason: Some("Error".into()),
                            started_at: Some(Time(now)),
                            finished_at: Some(Time(now)),
                            container_id,
                            ..ContainerStateTerminated::default()
                        }),
                        ..ContainerState::default()
                    }),
                    ..ContainerStatus::default()
                },
                Stage::ImagePullBackOff => ContainerStatus {
                    name: c.name.clone(),
                    // Never pulled: no image id, no container.
                    image_id: String::new(),
                    ready: false,
                    started: Some(false),
                    restart_count: 0,
                    state: Some(ContainerState {
                        waiting: Some(ContainerStateWaiting {
                            reason: Some("ImagePullBackOff".into()),
                            message: Some(format!("Back-off pulling image \"{image}\"")),
                        }),
                        ..ContainerState::default()
                    }),
                    image,
                    ..ContainerStatus::default()
                },
            }
        })
        .collect();

    let ready = stage.ready();
    let unready =
        (!ready).then(|| format!("containers with unready status: [{}]", names.join(" ")));
    let condition = |kind: &str, ok: bool, reason: Option<&str>, message: Option<String>| {
        let status = if ok { "True" } else { "False" };
        // A condition's transition time moves only when its status changes.
        let since = old
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == kind && c.status == status)
            .and_then(|c| c.last_transition_time.clone())
            .unwrap_or(Time(now));
        PodCondition {
            type_: kind.into(),
            status: status.into(),
            last_transition_time: Some(since),
            reason: reason.map(Into::into),
            message,
            ..PodCondition::default()
        }
    };
    let not_ready_reason = (!ready).then_some("ContainersNotReady");
    let conditions = vec![
        condition("Initialized", true, None, None),
        condition("Ready", ready, not_ready_reason, unready.clone()),
        condition("ContainersReady", ready, not_ready_reason, unready),
        condition("PodScheduled", true, None, None),
    ];

    let phase = match stage {
        Stage::ImagePullBackOff => "Pending",
        _ => "Running",
    };
    PodStatus {
        phase: Some(phase.into()),
        conditions: Some(conditions),
        host_ip: Some(host_ip.into()),
        pod_ip: Some(pod_ip.into()),
        pod_ips: Some(vec![PodIP { ip: pod_ip.into() }]),
        start_time: Some(start),
        container_statuses: Some(container_statuses),
        ..PodStatus::default()
    }
}

/// A 64-hex-digit id derived from `seed`: stable, so rewriting a status keeps the same ids.
fn hex_id(seed: &str) -> String {
    (0u8..4)
        .map(|i| {
            let mut h = DefaultHasher::new();
            (i, seed).hash(&mut h);
            format!("{:016x}", h.finish())
        })
        .collect()
}

fn resources() -> BTreeMap<String, Quantity> {
    [
        ("cpu".to_string(), Quantity("4".into())),
        ("memory".to_string(), Quantity("8Gi".into())),
        ("pods".to_string(), Quantity("110".into())),
    ]
    .into()
}

/// The node's conditions: Ready, no pressure. `since` is when they last changed (registration).
pub fn node_conditions(now: Timestamp, since: Timestamp) -> Vec<NodeCondition> {
    let condition = |kind: &str, status: &str, reason: &str, message: &str| NodeCondition {
        type_: kind.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_heartbeat_time: Some(Time(now)),
        last_transition_time: Some(Time(since)),
    };
    vec![
        condition(
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        condition(
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
        ),
        condition(
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        ),
        condition(
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status",
        ),
    ]
}

/// The full status of a Ready node with 4 CPUs, 8Gi of memory and room for 110 pods.
pub fn node_status(name: &str, ip: &str, now: Timestamp) -> NodeStatus {
    NodeStatus {
        capacity: Some(resources()),
        allocatable: Some(resources()),
        conditions: Some(node_conditions(now, now)),
        addresses: Some(vec![
            NodeAddress {
                type_: "InternalIP".into(),
                address: ip.into(),
            },
            NodeAddress {
                type_: "Hostname".into(),
                address: name.into(),
            },
        ]),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint { port: 10250 }),
        }),
        node_info: Some(NodeSystemInfo {
            architecture: "amd64".into(),
            operating_system: "linux".into(),
            os_image: "cutover test kubelet".into(),
            kernel_version: "6.1.0".into(),
            kubelet_version: "v1.20.2".into(),
            kube_proxy_version: "v1.20.2".into(),
            container_runtime_version: "containerd://1.4.0".into(),
            machine_id: hex_id(name)[..32].into(),
            system_uuid: hex_id(name)[32..].into(),
            boot_id: hex_id(&format!("boot/{name}"))[..32].into(),
            ..NodeSystemInfo::default()
        }),
        ..NodeStatus::default()
    }
}

/// The labels of a test node: what a kubelet sets, plus the test group.
pub fn node_labels(name: &str, group: &str) -> BTreeMap<String, String> {
    [
        ("kubernetes.io/hostname", name),
        ("kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", "amd64"),
        (GROUP_LABEL, group),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A Ready node of the group, as the kubelet registers it.
pub fn node(name: &str, group: &str, ip: &str, now: Timestamp) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(node_labels(name, group)),
            ..ObjectMeta::default()
        },
        spec: None,
        status: Some(node_status(name, ip, now)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};

    fn pod(images: &[&str]) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some("p".into()),
                uid: Some("u-1".into()),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                containers: images
                    .iter()
                    .enumerate()
                    .map(|(i, image)| Container {
                        name: format!("c{i}"),
                        image: Some(image.to_string()),
                        ..Container::default()
                    })
                    .collect(),
                ..PodSpec::default()
            }),
            status: None,
        }
    }

    fn ready(status: &PodStatus) -> Option<&str> {
        status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Ready")
            .map(|c| c.status.as_str())
    }

    #[test]
    fn images_choose_the_behaviour_and_the_worst_container_wins() {
        assert_eq!(behaviour_of(&pod(&["nginx:1"])), Behaviour::Ready);
        assert_eq!(
            behaviour_of(&pod(&["x/never-ready:1"])),
            Behaviour::NeverReady
        );
        assert_eq!(behaviour_of(&pod(&["x/crashloop"])), Behaviour::CrashLoop);
        assert_eq!(
            behaviour_of(&pod(&["no-such-image"])),
            Behaviour::ImagePullBackOff
        );
        assert_eq!(
            behaviour_of(&pod(&["nginx", "never-ready", "crashloop"])),
            Behaviour::CrashLoop
        );
    }

    #[test]
    fn ready_pods_are_running_with_running_ready_containers() {
        let now = Timestamp::now();
        let status = pod_status(
            &pod(&["a", "b"]),
            Stage::Ready,
            "10.1.0.2",
            "172.16.0.1",
            now,
        );
        assert_eq!(status.phase.as_deref(), Some("Running"));
        assert_eq!(ready(&status), Some("True"));
        let containers = status.container_statuses.expect("container statuses");
        assert_eq!(containers.len(), 2);
        for c in &containers {
            assert!(c.ready);
            assert_eq!(c.restart_count, 0);
            assert!(c.state.as_ref().and_then(|s| s.running.as_ref()).is_some());
            assert!(c.image_id.starts_with("docker-pullable://"));
            assert!(
                c.container_id
                    .as_deref()
                    .is_some_and(|id| id.len() == "containerd://".len() + 64)
            );
        }
        assert_ne!(containers[0].container_id, containers[1].container_id);
        assert_eq!(status.pod_ip.as_deref(), Some("10.1.0.2"));
    }

    #[test]
    fn failing_images_are_reported_like_a_kubelet_does() {
        let now = Timestamp::now();
        let never = pod_status(
            &pod(&["never-ready"]),
            Stage::NeverReady,
            "10.1.0.2",
            "h",
            now,
        );
        assert_eq!(never.phase.as_deref(), Some("Running"));
        assert_eq!(ready(&never), Some("False"));
        let c = &never.container_statuses.expect("statuses")[0];
        assert!(!c.ready && c.state.as_ref().and_then(|s| s.running.as_ref()).is_some());

        let crash = pod_status(&pod(&["crashloop"]), Stage::CrashLoop, "10.1.0.2", "h", now);
        assert_eq!(crash.phase.as_deref(), Some("Running"));
        assert_eq!(ready(&crash), Some("False"));
        let c = &crash.container_statuses.expect("statuses")[0];
        assert!(c.restart_count > 0);
        let waiting = c
            .state
            .as_ref()
            .and_then(|s| s.waiting.as_ref())
            .expect("waiting");
        assert_eq!(waiting.reason.as_deref(), Some("CrashLoopBackOff"));

        let pull = pod_status(
            &pod(&["no-such-image"]),
            Stage::ImagePullBackOff,
            "10.1.0.2",
            "h",
            now,
        );
        assert_eq!(pull.phase.as_deref(), Some("Pending"));
        let c = &pull.container_statuses.expect("statuses")[0];
        let waiting = c
            .state
            .as_ref()
            .and_then(|s| s.waiting.as_ref())
            .expect("waiting");
        assert_eq!(waiting.reason.as_deref(), Some("ImagePullBackOff"));
    }

    #[test]
    fn a_later_stage_keeps_the_start_time() {
        let mut p = pod(&["a"]);
        let t0 = Timestamp::from_second(1_700_000_000).expect("a valid time");
        p.status = Some(pod_status(&p, Stage::Starting, "10.1.0.2", "h", t0));
        let later = pod_status(&p, Stage::Ready, "10.1.0.2", "h", Timestamp::now());
        assert_eq!(later.start_time, Some(Time(t0)));
        let scheduled = later
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "PodScheduled")
            .expect("PodScheduled");
        assert_eq!(scheduled.last_transition_time, Some(Time(t0)));
    }

    #[test]
    fn nodes_are_ready_and_labelled() {
        let node = node("g-a", "g", "172.16.0.10", Timestamp::now());
        let labels = node.metadata.labels.expect("labels");
        assert_eq!(labels["kubernetes.io/hostname"], "g-a");
        assert_eq!(labels[GROUP_LABEL], "g");
        let status = node.status.expect("status");
        let ready = status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Ready")
            .expect("Ready");
        assert_eq!(ready.status, "True");
        assert_eq!(
            status.allocatable.expect("allocatable")["pods"],
            Quantity("110".into())
        );
    }
}
