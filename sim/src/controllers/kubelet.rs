//! The kubelet stand-in: plays the pods bound to nodes (status per the pod's fate, Ready after
//! the start-up delay) and finishes graceful deletions. Statuses have the shapes the e2e test
//! kubelet (`tests/src/kubelet/status.rs`) writes.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Instant;

use serde_json::{Value, json};

use super::util::{self, pods, str_at, terminating, write_status};
use super::{Ctx, Key, PodFate};
use crate::error::ApiError;
use crate::store::DeleteOptions;

/// Restarts reported for a crash-looping container.
pub const CRASHLOOP_RESTARTS: i64 = 3;

#[derive(Default)]
pub(crate) struct State {
    pods: HashMap<(String, String), PodState>,
    next_ip: u32,
}

struct PodState {
    uid: String,
    seen: Instant,
    deleting_since: Option<Instant>,
    ip: String,
}

impl State {
    pub(crate) fn forget(&mut self, ns: &str, name: &str) {
        self.pods.remove(&(ns.to_string(), name.to_string()));
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Starting,
    Ready,
    NeverReady,
    CrashLoop,
    ImagePullBackOff,
}

pub(crate) fn play(ctx: &mut Ctx, pod: &Value) -> Result<(), ApiError> {
    let ns = str_at(pod, "/metadata/namespace")
        .unwrap_or_default()
        .to_string();
    let name = util::name(pod).to_string();
    let uid = util::uid(pod).to_string();
    let now = ctx.now();
    let key = (ns.clone(), name.clone());
    let fresh = ctx.kubelet.pods.get(&key).is_none_or(|s| s.uid != uid);
    if fresh {
        let ip = match str_at(pod, "/status/podIP") {
            Some(ip) => ip.to_string(),
            None => {
                let n = ctx.kubelet.next_ip;
                ctx.kubelet.next_ip += 1;
                format!(
                    "10.{}.{}.{}",
                    128 + (n / 62500) % 64,
                    (n / 250) % 250,
                    n % 250 + 2
                )
            }
        };
        ctx.kubelet.pods.insert(
            key.clone(),
            PodState {
                uid: uid.clone(),
                seen: now,
                deleting_since: None,
                ip,
            },
        );
    }
    let delay = ctx.config.startup_delay;
    let state = ctx.kubelet.pods.get_mut(&key).expect("inserted above");
    if terminating(pod) {
        let since = *state.deleting_since.get_or_insert(now);
        let grace = util::int_at(pod, "/metadata/deletionGracePeriodSeconds").unwrap_or(0);
        let grace = std::time::Duration::from_secs(grace.max(0) as u64).min(delay);
        if now >= since + grace {
            let opts = DeleteOptions {
                grace_period_seconds: Some(0),
                precondition_uid: Some(uid),
                ..DeleteOptions::default()
            };
            return match ctx.store().delete(pods(), &ns, &name, &opts) {
                Ok(_) => Ok(()),
                Err(e) if e.code == 404 || e.code == 409 => Ok(()),
                Err(e) => Err(e),
            };
        }
        ctx.wake_at(since + grace, Key::Pod(ns, name));
        return Ok(());
    }
    if util::finished(pod) {
        return Ok(());
    }
    let seen = state.seen;
    let pod_ip = state.ip.clone();
    let stage = match ctx.config.pod_fate(pod) {
        PodFate::Ready if now < seen + delay => {
            ctx.wake_at(seen + delay, Key::Pod(ns.clone(), name.clone()));
            Stage::Starting
        }
        PodFate::Ready => Stage::Ready,
        PodFate::NeverReady => Stage::NeverReady,
        PodFate::CrashLoop => Stage::CrashLoop,
        PodFate::ImagePullBackOff => Stage::ImagePullBackOff,
    };
    let node = util::node_name(pod).unwrap_or_default().to_string();
    let host_ip = ctx
        .shared
        .index(|i| i.node(&node))
        .and_then(|n| {
            n.pointer("/status/addresses")
                .and_then(Value::as_array)
                .and_then(|a| a.iter().find(|x| x["type"] == "InternalIP"))
                .and_then(|x| x["address"].as_str().map(str::to_string))
        })
        .unwrap_or_default();
    let status = pod_status(pod, stage, &pod_ip, &host_ip, &util::now(ctx.store()));
    write_status(ctx.store(), pods(), pod, status)
}

fn hex_id(seed: &str) -> String {
    (0u8..4)
        .map(|i| {
            let mut h = DefaultHasher::new();
            (i, seed).hash(&mut h);
            format!("{:016x}", h.finish())
        })
        .collect()
}

/// The full status of `pod` at `stage`; times that already happened keep their old value.
fn pod_status(pod: &Value, stage: Stage, pod_ip: &str, host_ip: &str, now: &str) -> Value {
    let old = pod.get("status").cloned().unwrap_or_else(|| json!({}));
    let start = old.get("startTime").cloned().unwrap_or_else(|| json!(now));
    let uid = util::uid(pod);
    let pod_name = util::name(pod);
    let containers: Vec<&Value> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let names: Vec<&str> = containers
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let ready = stage == Stage::Ready;
    let statuses: Vec<Value> = containers
        .iter()
        .map(|c| {
            let cname = c["name"].as_str().unwrap_or_default();
            let image = c["image"].as_str().unwrap_or_default();
            let image_id = format!("docker-pullable://{image}@sha256:{}", hex_id(image));
            let container_id = format!("containerd://{}", hex_id(&format!("{uid}/{cname}")));
            match stage {
                Stage::Starting | Stage::Ready | Stage::NeverReady => json!({
                    "name": cname, "image": image, "imageID": image_id,
                    "containerID": container_id, "ready": ready, "started": true,
                    "restartCount": 0, "state": {"running": {"startedAt": start}},
                }),
                Stage::CrashLoop => json!({
                    "name": cname, "image": image, "imageID": image_id,
                    "containerID": container_id, "ready": false, "started": false,
                    "restartCount": CRASHLOOP_RESTARTS,
                    "state": {"waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": format!("back-off 40s restarting failed container={cname} pod={pod_name}"),
                    }},
                    "lastState": {"terminated": {
                        "exitCode": 1, "reason": "Error", "startedAt": start,
                        "finishedAt": start, "containerID": container_id,
                    }},
                }),
                Stage::ImagePullBackOff => json!({
                    "name": cname, "image": image, "imageID": "", "ready": false,
                    "started": false, "restartCount": 0,
                    "state": {"waiting": {
                        "reason": "ImagePullBackOff",
                        "message": format!("Back-off pulling image \"{image}\""),
                    }},
                }),
            }
        })
        .collect();
    let unready = format!("containers with unready status: [{}]", names.join(" "));
    let condition = |kind: &str, ok: bool| {
        let status = if ok { "True" } else { "False" };
        let since = old["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == kind && c["status"] == status)
            .and_then(|c| c.get("lastTransitionTime").cloned())
            .unwrap_or_else(|| json!(now));
        let mut c = json!({"type": kind, "status": status, "lastTransitionTime": since});
        if !ok {
            c["reason"] = json!("ContainersNotReady");
            c["message"] = json!(unready);
        }
        c
    };
    let phase = if stage == Stage::ImagePullBackOff {
        "Pending"
    } else {
        "Running"
    };
    json!({
        "phase": phase,
        "conditions": [
            condition("Initialized", true),
            condition("Ready", ready),
            condition("ContainersReady", ready),
            condition("PodScheduled", true),
        ],
        "hostIP": host_ip,
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": start,
        "containerStatuses": statuses,
    })
}
