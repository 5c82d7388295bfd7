//! When an object counts as ready (Helm v3's rules) or rolled out (`kubectl rollout status`): pure functions on JSON.
//!
//! Each check returns a [`Verdict`]: done, still pending (with the reason, for progress and
//! timeout messages), or failed for good (the wait aborts at once). The rules follow Helm's
//! `pkg/kube/ready.go` and kubectl's rollout status viewers, with these differences, all
//! because only the object itself is at hand (a wait is one watch, without extra reads):
//!
//! - Deployment readiness counts the new ReplicaSet's available pods from the Deployment's own
//!   status (`availableReplicas` minus the pods that are not updated, a lower bound) instead of
//!   reading the new ReplicaSet.
//! - A Job without `completions` (a work queue) is ready when its `Complete` condition is true,
//!   where Helm calls it ready at once.
//! - A Pod that has `Succeeded` is ready (it ran to completion); one that `Failed` fails the wait.
//! - Things that can never become ready fail the wait instead of timing out: a Deployment past
//!   its progress deadline, a rollout of a paused Deployment, a failed Job, a PVC whose volume was
//!   `Lost`, a CRD whose names were not accepted.
//! - `RolledOut` of an `OnDelete` DaemonSet or StatefulSet (which kubectl refuses to watch) is
//!   done once the controller has observed the latest generation: there is nothing to wait for.

use std::fmt;

use serde_json::Value;

/// The outcome of checking an object against a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The condition holds.
    Done,
    /// Not yet; the reason says what is missing (`1 of 3 replicas updated, need at least 2`).
    Pending(String),
    /// The condition can never hold; the reason says why.
    Failed(String),
}

/// Container waiting reasons after which a pod will not become ready without a change to it.
pub const BLOCKING_WAITING_REASONS: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
];

/// A pod stuck in a state it will not leave on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodProblem {
    /// `namespace/name`.
    pub pod: String,
    /// One of [`BLOCKING_WAITING_REASONS`].
    pub reason: String,
    /// The container that is waiting (`init container` is said for init containers).
    pub container: String,
    /// Whether `container` is an init container.
    pub init: bool,
    /// The kubelet's message, if any (`Back-off pulling image "web:nope"`).
    pub message: Option<String>,
}

impl fmt::Display for PodProblem {
    /// `pod shop/web-6d4-xyz is in CrashLoopBackOff (container app)`, then the kubelet's message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let which = if self.init {
            "init container"
        } else {
            "container"
        };
        write!(
            f,
            "pod {} is in {} ({which} {})",
            self.pod, self.reason, self.container
        )?;
        if let Some(m) = &self.message {
            write!(f, ": {}", super::error::one_line(&truncate(m, 200)))?;
        }
        Ok(())
    }
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

// ----- small JSON accessors: absent or mistyped fields read as absent, never panic -----

fn int(obj: &Value, pointer: &str) -> Option<i64> {
    obj.pointer(pointer).and_then(Value::as_i64)
}

fn int_or(obj: &Value, pointer: &str, default: i64) -> i64 {
    int(obj, pointer).unwrap_or(default)
}

fn text<'a>(obj: &'a Value, pointer: &str) -> Option<&'a str> {
    obj.pointer(pointer).and_then(Value::as_str)
}

/// The API group of an object's `apiVersion` (empty for the core group).
fn group(obj: &Value) -> &str {
    text(obj, "/apiVersion")
        .and_then(|v| v.rsplit_once('/'))
        .map_or("", |(g, _)| g)
}

/// The condition of `type_` in `status.conditions`, if present.
fn condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
}

fn condition_is(obj: &Value, type_: &str, status: &str) -> bool {
    condition(obj, type_)
        .and_then(|c| c.get("status"))
        .and_then(Value::as_str)
        == Some(status)
}

/// `reason: message` of a condition, whichever parts it has.
fn condition_text(c: &Value) -> String {
    let reason = c.get("reason").and_then(Value::as_str).unwrap_or_default();
    let message = c.get("message").and_then(Value::as_str).unwrap_or_default();
    match (reason.is_empty(), message.is_empty()) {
        (false, false) => format!("{reason}: {message}"),
        (false, true) => reason.to_string(),
        (true, false) => message.to_string(),
        (true, true) => "no reason given".to_string(),
    }
}

/// `Some(pending reason)` while the controller has not yet seen the latest spec.
fn unobserved(obj: &Value, controller: &str) -> Option<String> {
    let generation = int(obj, "/metadata/generation")?;
    let observed = int_or(obj, "/status/observedGeneration", 0);
    (observed < generation).then(|| {
        format!("waiting for the {controller} controller to observe generation {generation} (it has seen {observed})")
    })
}

/// An int-or-percent field scaled against `total`, as Kubernetes' `GetScaledValueFromIntOrPercent`
/// does; `None` when the value is malformed.
fn scaled(value: &Value, total: i64, round_up: bool) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => match s.strip_suffix('%') {
            Some(p) => {
                let pct: i64 = p.trim().parse().ok()?;
                let scaled = pct.checked_mul(total)?;
                Some(if round_up {
                    (scaled + 99).div_euclid(100)
                } else {
                    scaled.div_euclid(100)
                })
            }
            None => s.trim().parse().ok(),
        },
        _ => None,
    }
}

/// How many pods a rolling Deployment may have unavailable, resolved like Kubernetes'
/// `deploymentutil.MaxUnavailable` (maxSurge rounds up, maxUnavailable down, both 25% by default,
/// and never both zero).
fn deployment_max_unavailable(dep: &Value, replicas: i64) -> i64 {
    let rolling = text(dep, "/spec/strategy/type").unwrap_or("RollingUpdate") == "RollingUpdate";
    if !rolling || replicas == 0 {
        return 0;
    }
    let default = Value::from("25%");
    let surge_v = dep
        .pointer("/spec/strategy/rollingUpdate/maxSurge")
        .unwrap_or(&default);
    let unavail_v = dep
        .pointer("/spec/strategy/rollingUpdate/maxUnavailable")
        .unwrap_or(&default);
    // A malformed value (the API server rejects them) counts as "everything may be unavailable",
    // which is what Helm does too.
    let (Some(surge), Some(unavailable)) = (
        scaled(surge_v, replicas, true),
        scaled(unavail_v, replicas, false),
    ) else {
        return replicas;
    };
    let unavailable = if surge == 0 && unavailable == 0 {
        1
    } else {
        unavailable
    };
    unavailable.clamp(0, replicas)
}

fn deployment_deadline_exceeded(dep: &Value) -> Option<Verdict> {
    let c = condition(dep, "Progressing")?;
    let failed = c.get("status").and_then(Value::as_str) == Some("False")
        && c.get("reason").and_then(Value::as_str) == Some("ProgressDeadlineExceeded");
    failed.then(|| {
        Verdict::Failed(format!(
            "its rollout exceeded its progress deadline ({})",
            condition_text(c)
        ))
    })
}

/// An object on its way out is not ready, whatever its status says: a policy that deletes a
/// StatefulSet pod and waits for it to be ready again must not see the old pod's last status.
fn terminating(obj: &Value) -> Option<Verdict> {
    obj.pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
        .then(|| Verdict::Pending("it is being deleted".into()))
}

// ----- Ready -----

/// Whether `obj` is ready, by Helm's rules for its kind (see the module documentation).
/// Kinds without a rule are ready once they exist.
pub fn ready(obj: &Value) -> Verdict {
    if let Some(pending) = terminating(obj) {
        return pending;
    }
    let kind = text(obj, "/kind").unwrap_or_default();
    match (group(obj), kind) {
        ("apps", "Deployment") => deployment_ready(obj),
        ("apps", "DaemonSet") => daemon_set_ready(obj),
        ("apps", "StatefulSet") => stateful_set_ready(obj),
        ("apps", "ReplicaSet") => replica_set_ready(obj, "replicaset"),
        ("", "ReplicationController") => replica_set_ready(obj, "replication"),
        ("", "Pod") => pod_ready(obj),
        ("", "Service") => service_ready(obj),
        ("", "PersistentVolumeClaim") => pvc_ready(obj),
        ("batch", "Job") => job_ready(obj),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd_ready(obj),
        _ => Verdict::Done,
    }
}

fn deployment_ready(dep: &Value) -> Verdict {
    if dep.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
        return Verdict::Done;
    }
    if let Some(wait) = unobserved(dep, "deployment") {
        return Verdict::Pending(wait);
    }
    if let Some(failed) = deployment_deadline_exceeded(dep) {
        return failed;
    }
    let replicas = int_or(dep, "/spec/replicas", 1);
    let needed = replicas - deployment_max_unavailable(dep, replicas);
    let updated = int_or(dep, "/status/updatedReplicas", 0);
    let total = int_or(dep, "/status/replicas", 0);
    let available = int_or(dep, "/status/availableReplicas", 0);
    if updated < needed {
        return Verdict::Pending(format!(
            "{updated} of {replicas} replicas updated, need at least {needed}"
        ));
    }
    // Old pods may be among the available ones: count only what must be new.
    let new_available = available - (total - updated).max(0);
    if new_available < needed {
        return Verdict::Pending(format!(
            "{} of {replicas} updated replicas available, need at least {needed}",
            new_available.max(0)
        ));
    }
    Verdict::Done
}

fn daemon_set_ready(ds: &Value) -> Verdict {
    if let Some(wait) = unobserved(ds, "daemonset") {
        return Verdict::Pending(wait);
    }
    if text(ds, "/spec/updateStrategy/type").unwrap_or("RollingUpdate") != "RollingUpdate" {
        return Verdict::Done;
    }
    let desired = int_or(ds, "/status/desiredNumberScheduled", 0);
    let updated = int_or(ds, "/status/updatedNumberScheduled", 0);
    if updated < desired {
        return Verdict::Pending(format!("{updated} of {desired} pods updated"));
    }
    let max_unavailable = ds
        .pointer("/spec/updateStrategy/rollingUpdate/maxUnavailable")
        .map_or(Some(1), |v| scaled(v, desired, true))
        .unwrap_or(desired);
    let needed = desired - max_unavailable;
    let ready = int_or(ds, "/status/numberReady", 0);
    if ready < needed {
        return Verdict::Pending(format!(
            "{ready} of {desired} pods ready, need at least {needed}"
        ));
    }
    Verdict::Done
}

fn stateful_set_ready(sts: &Value) -> Verdict {
    if let Some(wait) = unobserved(sts, "statefulset") {
        return Verdict::Pending(wait);
    }
    if text(sts, "/spec/updateStrategy/type").unwrap_or("RollingUpdate") != "RollingUpdate" {
        return Verdict::Done;
    }
    let replicas = int_or(sts, "/spec/replicas", 1);
    let partition = int_or(sts, "/spec/updateStrategy/rollingUpdate/partition", 0);
    let expected_updated = replicas - partition;
    let updated = int_or(sts, "/status/updatedReplicas", 0);
    if updated < expected_updated {
        return Verdict::Pending(format!("{updated} of {expected_updated} pods updated"));
    }
    let ready = int_or(sts, "/status/readyReplicas", 0);
    if ready != replicas {
        return Verdict::Pending(format!("{ready} of {replicas} pods ready"));
    }
    // With a partition, old pods stay by design and the revisions never converge.
    if partition == 0 && text(sts, "/status/currentRevision") != text(sts, "/status/updateRevision")
    {
        return Verdict::Pending(
            "waiting for the current revision to become the update revision".into(),
        );
    }
    Verdict::Done
}

fn replica_set_ready(rs: &Value, controller: &str) -> Verdict {
    if let Some(wait) = unobserved(rs, controller) {
        return Verdict::Pending(wait);
    }
    let replicas = int_or(rs, "/spec/replicas", 1);
    let ready = int_or(rs, "/status/readyReplicas", 0);
    if ready < replicas {
        return Verdict::Pending(format!("{ready} of {replicas} pods ready"));
    }
    Verdict::Done
}

fn pod_ready(pod: &Value) -> Verdict {
    let phase = text(pod, "/status/phase").unwrap_or("Pending");
    match phase {
        "Failed" => {
            let why = [text(pod, "/status/reason"), text(pod, "/status/message")]
                .into_iter()
                .flatten()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(": ");
            let why = if why.is_empty() {
                String::new()
            } else {
                format!(" ({why})")
            };
            Verdict::Failed(format!("the pod failed{why}"))
        }
        "Succeeded" => Verdict::Done,
        _ if condition_is(pod, "Ready", "True") => Verdict::Done,
        _ => {
            let waiting = pod
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find_map(|c| {
                    let reason = c.pointer("/state/waiting/reason").and_then(Value::as_str)?;
                    let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
                    Some(format!(", container {name} is waiting ({reason})"))
                })
                .unwrap_or_default();
            Verdict::Pending(format!("the pod is {phase} and not ready{waiting}"))
        }
    }
}

fn service_ready(svc: &Value) -> Verdict {
    let type_ = text(svc, "/spec/type").unwrap_or("ClusterIP");
    if type_ == "ExternalName" {
        return Verdict::Done;
    }
    if text(svc, "/spec/clusterIP").unwrap_or_default().is_empty() {
        return Verdict::Pending("the service has no cluster IP yet".into());
    }
    if type_ == "LoadBalancer" {
        let has = |p: &str| {
            svc.pointer(p)
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
        };
        if !has("/spec/externalIPs") && !has("/status/loadBalancer/ingress") {
            return Verdict::Pending("the load balancer has no ingress yet".into());
        }
    }
    Verdict::Done
}

fn pvc_ready(pvc: &Value) -> Verdict {
    match text(pvc, "/status/phase").unwrap_or("Pending") {
        "Bound" => Verdict::Done,
        "Lost" => Verdict::Failed("the claim lost its volume (phase Lost)".into()),
        phase => Verdict::Pending(format!("the claim is {phase}, not Bound")),
    }
}

fn job_ready(job: &Value) -> Verdict {
    if let Some(c) = condition(job, "Failed")
        && c.get("status").and_then(Value::as_str) == Some("True")
    {
        return Verdict::Failed(format!("the job failed ({})", condition_text(c)));
    }
    let failed = int_or(job, "/status/failed", 0);
    let backoff_limit = int_or(job, "/spec/backoffLimit", 6);
    if failed > backoff_limit {
        return Verdict::Failed(format!(
            "the job failed: {failed} pods failed, its backoffLimit is {backoff_limit}"
        ));
    }
    if condition_is(job, "Complete", "True") {
        return Verdict::Done;
    }
    let succeeded = int_or(job, "/status/succeeded", 0);
    match int(job, "/spec/completions") {
        Some(completions) if succeeded >= completions => Verdict::Done,
        Some(completions) => Verdict::Pending(format!("{succeeded} of {completions} completions")),
        None => Verdict::Pending("waiting for the job to complete".into()),
    }
}

fn crd_ready(crd: &Value) -> Verdict {
    if condition_is(crd, "Established", "True") {
        return Verdict::Done;
    }
    if let Some(c) = condition(crd, "NamesAccepted")
        && c.get("status").and_then(Value::as_str) == Some("False")
    {
        return Verdict::Failed(format!(
            "its names were not accepted ({})",
            condition_text(c)
        ));
    }
    Verdict::Pending("the CRD is not established yet".into())
}

// ----- RolledOut -----

/// Whether `obj` has finished rolling out, as `kubectl rollout status` decides for Deployments,
/// DaemonSets and StatefulSets. Any other kind: [`ready`].
pub fn rolled_out(obj: &Value) -> Verdict {
    if let Some(pending) = terminating(obj) {
        return pending;
    }
    let kind = text(obj, "/kind").unwrap_or_default();
    match (group(obj), kind) {
        ("apps", "Deployment") => deployment_rolled_out(obj),
        ("apps", "DaemonSet") => daemon_set_rolled_out(obj),
        ("apps", "StatefulSet") => stateful_set_rolled_out(obj),
        _ => ready(obj),
    }
}

fn deployment_rolled_out(dep: &Value) -> Verdict {
    if let Some(wait) = unobserved(dep, "deployment") {
        return Verdict::Pending(wait);
    }
    if let Some(failed) = deployment_deadline_exceeded(dep) {
        return failed;
    }
    let updated = int_or(dep, "/status/updatedReplicas", 0);
    let total = int_or(dep, "/status/replicas", 0);
    let available = int_or(dep, "/status/availableReplicas", 0);
    let pending = if let Some(replicas) = int(dep, "/spec/replicas")
        && updated < replicas
    {
        Some(format!(
            "{updated} of {replicas} new replicas have been updated"
        ))
    } else if total > updated {
        Some(format!(
            "{} old replicas are pending termination",
            total - updated
        ))
    } else if available < updated {
        Some(format!(
            "{available} of {updated} updated replicas are available"
        ))
    } else {
        None
    };
    match pending {
        None => Verdict::Done,
        // A paused Deployment does not progress: its rollout cannot finish until it is resumed.
        Some(p) if dep.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) => {
            Verdict::Failed(format!(
                "its rollout is paused (spec.paused is true) with {p}"
            ))
        }
        Some(p) => Verdict::Pending(p),
    }
}

fn daemon_set_rolled_out(ds: &Value) -> Verdict {
    if let Some(wait) = unobserved(ds, "daemonset") {
        return Verdict::Pending(wait);
    }
    if text(ds, "/spec/updateStrategy/type").unwrap_or("RollingUpdate") != "RollingUpdate" {
        return Verdict::Done;
    }
    let desired = int_or(ds, "/status/desiredNumberScheduled", 0);
    let updated = int_or(ds, "/status/updatedNumberScheduled", 0);
    if updated < desired {
        return Verdict::Pending(format!("{updated} of {desired} updated pods are scheduled"));
    }
    let available = int_or(ds, "/status/numberAvailable", 0);
    if available < desired {
        return Verdict::Pending(format!(
            "{available} of {desired} updated pods are available"
        ));
    }
    Verdict::Done
}

fn stateful_set_rolled_out(sts: &Value) -> Verdict {
    if int_or(sts, "/status/observedGeneration", 0) == 0 {
        return Verdict::Pending(
            "waiting for the statefulset controller to observe the spec".into(),
        );
    }
    if let Some(wait) = unobserved(sts, "statefulset") {
        return Verdict::Pending(wait);
    }
    if text(sts, "/spec/updateStrategy/type").unwrap_or("RollingUpdate") != "RollingUpdate" {
        return Verdict::Done;
    }
    let ready = int_or(sts, "/status/readyReplicas", 0);
    if let Some(replicas) = int(sts, "/spec/replicas")
        && ready < replicas
    {
        return Verdict::Pending(format!("{ready} of {replicas} pods are ready"));
    }
    if let Some(partition) = int(sts, "/spec/updateStrategy/rollingUpdate/partition")
        && partition > 0
    {
        let replicas = int_or(sts, "/spec/replicas", 1);
        let updated = int_or(sts, "/status/updatedReplicas", 0);
        if updated < replicas - partition {
            return Verdict::Pending(format!(
                "{updated} of {} pods updated for partition {partition}",
                replicas - partition
            ));
        }
        return Verdict::Done;
    }
    if text(sts, "/status/currentRevision") != text(sts, "/status/updateRevision") {
        let updated = int_or(sts, "/status/updatedReplicas", 0);
        return Verdict::Pending(format!(
            "{updated} pods at the update revision, waiting for all of them"
        ));
    }
    Verdict::Done
}

// ----- Field -----

/// Whether the value at `pointer` (RFC 6901) equals `equals`. Numbers compare by value (`1`
/// equals `1.0`); an absent field equals only `null`.
pub fn field_equals(obj: &Value, pointer: &str, equals: &Value) -> Verdict {
    let actual = obj.pointer(pointer);
    let same = match (actual, equals) {
        (None, Value::Null) => true,
        (Some(Value::Number(a)), Value::Number(b)) => a == b || a.as_f64() == b.as_f64(),
        (Some(a), b) => a == b,
        (None, _) => false,
    };
    if same {
        return Verdict::Done;
    }
    Verdict::Pending(match actual {
        Some(a) => format!(
            "{pointer} is {}, waiting for {equals}",
            truncate(&a.to_string(), 80)
        ),
        None => format!("{pointer} is not set, waiting for {equals}"),
    })
}

// ----- pods -----

/// The first container of a pod that waits for a reason it will not leave on its own
/// ([`BLOCKING_WAITING_REASONS`]). Pods that are terminating are not considered.
pub fn pod_problem(pod: &Value) -> Option<PodProblem> {
    if pod
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
    {
        return None;
    }
    let ns = text(pod, "/metadata/namespace").unwrap_or_default();
    let name = text(pod, "/metadata/name").unwrap_or_default();
    for (pointer, init) in [
        ("/status/initContainerStatuses", true),
        ("/status/containerStatuses", false),
    ] {
        let statuses = pod
            .pointer(pointer)
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        for c in statuses {
            let Some(reason) = c.pointer("/state/waiting/reason").and_then(Value::as_str) else {
                continue;
            };
            if BLOCKING_WAITING_REASONS.contains(&reason) {
                return Some(PodProblem {
                    pod: format!("{ns}/{name}"),
                    reason: reason.to_string(),
                    container: c
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_string(),
                    init,
                    message: c
                        .pointer("/state/waiting/message")
                        .and_then(Value::as_str)
                        .filter(|m| !m.is_empty())
                        .map(str::to_string),
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pending(v: Verdict) -> String {
        match v {
            Verdict::Pending(p) => p,
            other => panic!("expected pending, got {other:?}"),
        }
    }

    fn failed(v: Verdict) -> String {
        match v {
            Verdict::Failed(p) => p,
            other => panic!("expected failed, got {other:?}"),
        }
    }

    fn deployment(replicas: i64, status: Value) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "generation": 2},
            "spec": {"replicas": replicas, "strategy": {"type": "RollingUpdate",
                     "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}},
            "status": status,
        })
    }

    #[test]
    fn deployment_ready_rules() {
        // 4 replicas, 25% → 1 may be unavailable: 3 new available pods are enough.
        let d = deployment(
            4,
            json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 4, "availableReplicas": 3}),
        );
        assert_eq!(ready(&d), Verdict::Done);
        let d = deployment(
            4,
            json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 2, "availableReplicas": 4}),
        );
        assert_eq!(
            pending(ready(&d)),
            "2 of 4 replicas updated, need at least 3"
        );
        // Mid-rollout: 3 updated but the 4 available include 2 old pods → at most 2 new available.
        let d = deployment(
            4,
            json!({"observedGeneration": 2, "replicas": 5, "updatedReplicas": 3, "availableReplicas": 4}),
        );
        assert_eq!(
            pending(ready(&d)),
            "2 of 4 updated replicas available, need at least 3"
        );
        let d = deployment(
            4,
            json!({"observedGeneration": 1, "replicas": 4, "updatedReplicas": 4, "availableReplicas": 4}),
        );
        assert!(pending(ready(&d)).contains("observe generation 2"));
        let d = deployment(0, json!({"observedGeneration": 2}));
        assert_eq!(ready(&d), Verdict::Done);
        let mut d = deployment(4, json!({"observedGeneration": 1}));
        d["spec"]["paused"] = json!(true);
        assert_eq!(
            ready(&d),
            Verdict::Done,
            "paused counts as ready, as Helm's --wait does"
        );
    }

    #[test]
    fn deployment_without_status_is_pending_not_a_panic() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": {}});
        assert_eq!(
            pending(ready(&d)),
            "0 of 1 replicas updated, need at least 1"
        );
    }

    #[test]
    fn deployment_max_unavailable_resolution() {
        let with = |strategy: Value, replicas: i64| {
            let d = json!({"spec": {"strategy": strategy}});
            deployment_max_unavailable(&d, replicas)
        };
        assert_eq!(with(json!({}), 4), 1, "defaults 25%/25%");
        assert_eq!(with(json!({}), 1), 0, "25% of 1 rounds down to 0");
        assert_eq!(
            with(
                json!({"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}),
                3
            ),
            1,
            "never both zero"
        );
        assert_eq!(
            with(
                json!({"rollingUpdate": {"maxUnavailable": "50%", "maxSurge": 1}}),
                5
            ),
            2
        );
        assert_eq!(
            with(
                json!({"rollingUpdate": {"maxUnavailable": 10, "maxSurge": 1}}),
                3
            ),
            3,
            "capped at replicas"
        );
        assert_eq!(with(json!({"type": "Recreate"}), 3), 0);
        assert_eq!(
            with(json!({"rollingUpdate": {"maxUnavailable": "x%"}}), 3),
            3,
            "malformed: Helm's fallback"
        );
    }

    #[test]
    fn deployment_progress_deadline_fails() {
        let d = deployment(
            2,
            json!({
                "observedGeneration": 2, "replicas": 3, "updatedReplicas": 1, "availableReplicas": 2,
                "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                "message": "ReplicaSet \"web-6d4\" has timed out progressing."}]
            }),
        );
        let msg = failed(ready(&d));
        assert_eq!(
            msg,
            "its rollout exceeded its progress deadline (ProgressDeadlineExceeded: ReplicaSet \"web-6d4\" has timed out progressing.)"
        );
        assert!(matches!(rolled_out(&d), Verdict::Failed(_)));
        // A deadline from an older generation does not count until the controller catches up.
        let mut d = d;
        d["status"]["observedGeneration"] = json!(1);
        assert!(matches!(ready(&d), Verdict::Pending(_)));
    }

    #[test]
    fn deployment_rollout_status_rules() {
        let d = deployment(
            3,
            json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3}),
        );
        assert_eq!(rolled_out(&d), Verdict::Done);
        let d = deployment(
            3,
            json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 2, "availableReplicas": 3}),
        );
        assert_eq!(
            pending(rolled_out(&d)),
            "2 of 3 new replicas have been updated"
        );
        let d = deployment(
            3,
            json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3, "availableReplicas": 3}),
        );
        assert_eq!(
            pending(rolled_out(&d)),
            "1 old replicas are pending termination"
        );
        let d = deployment(
            3,
            json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 2}),
        );
        assert_eq!(
            pending(rolled_out(&d)),
            "2 of 3 updated replicas are available"
        );
        let mut d = deployment(
            3,
            json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 1, "availableReplicas": 3}),
        );
        d["spec"]["paused"] = json!(true);
        assert!(failed(rolled_out(&d)).starts_with("its rollout is paused"));
    }

    fn daemon_set(status: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "generation": 3},
               "spec": {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}},
               "status": status})
    }

    #[test]
    fn daemon_set_rules() {
        let ds = daemon_set(
            json!({"observedGeneration": 3, "desiredNumberScheduled": 4, "updatedNumberScheduled": 4,
                                   "numberReady": 3, "numberAvailable": 3}),
        );
        assert_eq!(ready(&ds), Verdict::Done, "one may be unavailable");
        assert_eq!(
            pending(rolled_out(&ds)),
            "3 of 4 updated pods are available"
        );
        let ds = daemon_set(
            json!({"observedGeneration": 3, "desiredNumberScheduled": 4, "updatedNumberScheduled": 3,
                                   "numberReady": 4, "numberAvailable": 4}),
        );
        assert_eq!(pending(ready(&ds)), "3 of 4 pods updated");
        assert_eq!(
            pending(rolled_out(&ds)),
            "3 of 4 updated pods are scheduled"
        );
        let ds = daemon_set(
            json!({"observedGeneration": 3, "desiredNumberScheduled": 4, "updatedNumberScheduled": 4,
                                   "numberReady": 2}),
        );
        assert_eq!(pending(ready(&ds)), "2 of 4 pods ready, need at least 3");
        let mut ds = daemon_set(
            json!({"observedGeneration": 3, "desiredNumberScheduled": 10, "updatedNumberScheduled": 10,
                                       "numberReady": 7}),
        );
        ds["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] = json!("25%");
        assert_eq!(ready(&ds), Verdict::Done, "25% of 10 rounds up to 3");
        let mut ds = daemon_set(json!({"observedGeneration": 3}));
        ds["spec"]["updateStrategy"] = json!({"type": "OnDelete"});
        assert_eq!(ready(&ds), Verdict::Done);
        assert_eq!(rolled_out(&ds), Verdict::Done);
        let ds = daemon_set(json!({"observedGeneration": 2}));
        assert!(pending(ready(&ds)).contains("generation 3"));
    }

    fn stateful_set(partition: Option<i64>, status: Value) -> Value {
        let mut s = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "generation": 1},
               "spec": {"replicas": 3, "updateStrategy": {"type": "RollingUpdate"}}, "status": status});
        if let Some(p) = partition {
            s["spec"]["updateStrategy"]["rollingUpdate"] = json!({"partition": p});
        }
        s
    }

    #[test]
    fn stateful_set_rules() {
        let done = json!({"observedGeneration": 1, "replicas": 3, "readyReplicas": 3, "updatedReplicas": 3,
                          "currentRevision": "db-1", "updateRevision": "db-1"});
        assert_eq!(ready(&stateful_set(None, done.clone())), Verdict::Done);
        assert_eq!(rolled_out(&stateful_set(None, done)), Verdict::Done);
        let mid = json!({"observedGeneration": 1, "replicas": 3, "readyReplicas": 3, "updatedReplicas": 3,
                         "currentRevision": "db-1", "updateRevision": "db-2"});
        assert!(pending(ready(&stateful_set(None, mid.clone()))).contains("revision"));
        assert!(matches!(
            rolled_out(&stateful_set(None, mid)),
            Verdict::Pending(_)
        ));
        let not_ready = json!({"observedGeneration": 1, "readyReplicas": 2, "updatedReplicas": 3,
                               "currentRevision": "db-2", "updateRevision": "db-2"});
        assert_eq!(
            pending(ready(&stateful_set(None, not_ready.clone()))),
            "2 of 3 pods ready"
        );
        assert_eq!(
            pending(rolled_out(&stateful_set(None, not_ready))),
            "2 of 3 pods are ready"
        );
        // Partition 2: only one pod is updated, and the revisions never converge.
        let part = json!({"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 1,
                          "currentRevision": "db-1", "updateRevision": "db-2"});
        assert_eq!(ready(&stateful_set(Some(2), part.clone())), Verdict::Done);
        assert_eq!(rolled_out(&stateful_set(Some(2), part)), Verdict::Done);
        let part = json!({"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 0});
        assert_eq!(
            pending(ready(&stateful_set(Some(2), part.clone()))),
            "0 of 1 pods updated"
        );
        assert_eq!(
            pending(rolled_out(&stateful_set(Some(2), part))),
            "0 of 1 pods updated for partition 2"
        );
        let mut od = stateful_set(None, json!({"observedGeneration": 1}));
        od["spec"]["updateStrategy"] = json!({"type": "OnDelete"});
        assert_eq!(ready(&od), Verdict::Done);
        assert_eq!(rolled_out(&od), Verdict::Done);
        assert!(matches!(
            rolled_out(&stateful_set(None, json!({}))),
            Verdict::Pending(_)
        ));
    }

    #[test]
    fn replica_set_rules() {
        let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"generation": 1},
                        "spec": {"replicas": 2}, "status": {"observedGeneration": 1, "readyReplicas": 1}});
        assert_eq!(pending(ready(&rs)), "1 of 2 pods ready");
        let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"generation": 1},
                        "spec": {"replicas": 2}, "status": {"observedGeneration": 1, "readyReplicas": 2}});
        assert_eq!(ready(&rs), Verdict::Done);
        assert_eq!(
            rolled_out(&rs),
            Verdict::Done,
            "RolledOut is Ready for other kinds"
        );
    }

    fn pod(phase: &str, ready_status: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "shop"},
               "status": {"phase": phase, "conditions": [{"type": "Ready", "status": ready_status}]}})
    }

    #[test]
    fn pod_rules() {
        assert_eq!(ready(&pod("Running", "True")), Verdict::Done);
        assert_eq!(
            pending(ready(&pod("Running", "False"))),
            "the pod is Running and not ready"
        );
        assert_eq!(ready(&pod("Succeeded", "False")), Verdict::Done);
        let mut p = pod("Failed", "False");
        p["status"]["reason"] = json!("Evicted");
        p["status"]["message"] = json!("The node was low on resource: memory.");
        assert_eq!(
            failed(ready(&p)),
            "the pod failed (Evicted: The node was low on resource: memory.)"
        );
        let mut p = pod("Pending", "False");
        p["status"]["containerStatuses"] =
            json!([{"name": "app", "state": {"waiting": {"reason": "ContainerCreating"}}}]);
        assert_eq!(
            pending(ready(&p)),
            "the pod is Pending and not ready, container app is waiting (ContainerCreating)"
        );
    }

    #[test]
    fn service_rules() {
        let svc = |spec: Value, status: Value| json!({"apiVersion": "v1", "kind": "Service", "spec": spec, "status": status});
        assert_eq!(
            ready(&svc(json!({"type": "ExternalName"}), json!({}))),
            Verdict::Done
        );
        assert_eq!(
            ready(&svc(json!({"clusterIP": "10.0.0.5"}), json!({}))),
            Verdict::Done
        );
        assert_eq!(
            ready(&svc(json!({"clusterIP": "None"}), json!({}))),
            Verdict::Done,
            "headless"
        );
        assert!(matches!(
            ready(&svc(json!({}), json!({}))),
            Verdict::Pending(_)
        ));
        let lb = json!({"type": "LoadBalancer", "clusterIP": "10.0.0.5"});
        assert_eq!(
            pending(ready(&svc(lb.clone(), json!({"loadBalancer": {}})))),
            "the load balancer has no ingress yet"
        );
        assert_eq!(
            ready(&svc(
                lb.clone(),
                json!({"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}})
            )),
            Verdict::Done
        );
        let mut with_ip = lb;
        with_ip["externalIPs"] = json!(["1.2.3.4"]);
        assert_eq!(ready(&svc(with_ip, json!({}))), Verdict::Done);
    }

    #[test]
    fn pvc_rules() {
        let pvc = |phase: &str| json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": phase}});
        assert_eq!(ready(&pvc("Bound")), Verdict::Done);
        assert_eq!(
            pending(ready(&pvc("Pending"))),
            "the claim is Pending, not Bound"
        );
        assert!(matches!(ready(&pvc("Lost")), Verdict::Failed(_)));
    }

    #[test]
    fn job_rules() {
        let job = |spec: Value, status: Value| json!({"apiVersion": "batch/v1", "kind": "Job", "spec": spec, "status": status});
        assert_eq!(
            ready(&job(json!({"completions": 2}), json!({"succeeded": 2}))),
            Verdict::Done
        );
        assert_eq!(
            pending(ready(&job(
                json!({"completions": 2}),
                json!({"succeeded": 1})
            ))),
            "1 of 2 completions"
        );
        let m = failed(ready(&job(
            json!({"backoffLimit": 2}),
            json!({"failed": 3}),
        )));
        assert_eq!(m, "the job failed: 3 pods failed, its backoffLimit is 2");
        assert!(
            matches!(
                ready(&job(json!({}), json!({"failed": 6}))),
                Verdict::Pending(_)
            ),
            "default backoffLimit 6"
        );
        let cond = json!({"conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
                                          "message": "Job was active longer than specified deadline"}]});
        assert_eq!(
            failed(ready(&job(json!({}), cond))),
            "the job failed (DeadlineExceeded: Job was active longer than specified deadline)"
        );
        let work_queue = json!({"parallelism": 3});
        assert!(matches!(
            ready(&job(work_queue.clone(), json!({"succeeded": 1}))),
            Verdict::Pending(_)
        ));
        let complete = json!({"conditions": [{"type": "Complete", "status": "True"}]});
        assert_eq!(ready(&job(work_queue, complete)), Verdict::Done);
    }

    #[test]
    fn crd_rules() {
        let crd = |conds: Value| {
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                                        "status": {"conditions": conds}})
        };
        assert_eq!(
            ready(&crd(json!([{"type": "Established", "status": "True"}]))),
            Verdict::Done
        );
        assert!(matches!(
            ready(&crd(json!([{"type": "Established", "status": "False"}]))),
            Verdict::Pending(_)
        ));
        let m = failed(ready(&crd(
            json!([{"type": "NamesAccepted", "status": "False", "reason": "ListKindConflict",
                                            "message": "\"FooList\" is already in use"}]),
        )));
        assert!(m.starts_with("its names were not accepted (ListKindConflict"));
    }

    #[test]
    fn terminating_objects_are_not_ready() {
        let mut p = pod("Running", "True");
        p["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
        assert_eq!(pending(ready(&p)), "it is being deleted");
        assert_eq!(pending(rolled_out(&p)), "it is being deleted");
    }

    #[test]
    fn other_kinds_are_ready_once_they_exist() {
        assert_eq!(
            ready(&json!({"apiVersion": "v1", "kind": "ConfigMap"})),
            Verdict::Done
        );
        // A CRD kind called Deployment in another group gets no Deployment rules.
        assert_eq!(
            ready(&json!({"apiVersion": "example.com/v1", "kind": "Deployment"})),
            Verdict::Done
        );
        assert_eq!(ready(&json!(null)), Verdict::Done);
    }

    #[test]
    fn field_conditions() {
        let p = pod("Running", "True");
        assert_eq!(
            field_equals(&p, "/status/phase", &json!("Running")),
            Verdict::Done
        );
        assert_eq!(
            pending(field_equals(&p, "/status/phase", &json!("Succeeded"))),
            "/status/phase is \"Running\", waiting for \"Succeeded\""
        );
        assert_eq!(
            pending(field_equals(&p, "/spec/x", &json!(1))),
            "/spec/x is not set, waiting for 1"
        );
        assert_eq!(field_equals(&p, "/spec/x", &Value::Null), Verdict::Done);
        let n = json!({"a": 1});
        assert_eq!(field_equals(&n, "/a", &json!(1.0)), Verdict::Done);
    }

    #[test]
    fn pod_problems() {
        let mut p = pod("Running", "False");
        assert_eq!(pod_problem(&p), None);
        p["status"]["containerStatuses"] = json!([
            {"name": "sidecar", "state": {"running": {}}},
            {"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff",
                "message": "back-off 5m0s restarting failed container=app pod=web-1_shop(…)"}}}
        ]);
        let problem = pod_problem(&p).unwrap();
        assert_eq!(problem.pod, "shop/web-1");
        assert_eq!(problem.reason, "CrashLoopBackOff");
        assert_eq!(problem.container, "app");
        assert!(
            problem.to_string().starts_with(
                "pod shop/web-1 is in CrashLoopBackOff (container app): back-off 5m0s"
            )
        );
        // Terminating pods do not count.
        p["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
        assert_eq!(pod_problem(&p), None);

        let mut p = pod("Pending", "False");
        p["status"]["initContainerStatuses"] =
            json!([{"name": "migrate", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]);
        assert_eq!(
            pod_problem(&p).unwrap().to_string(),
            "pod shop/web-1 is in ImagePullBackOff (init container migrate)"
        );
        let mut p = pod("Pending", "False");
        p["status"]["containerStatuses"] =
            json!([{"name": "app", "state": {"waiting": {"reason": "ContainerCreating"}}}]);
        assert_eq!(pod_problem(&p), None, "ContainerCreating passes on its own");
        for reason in BLOCKING_WAITING_REASONS {
            p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] = json!(reason);
            assert_eq!(pod_problem(&p).map(|x| x.reason), Some(reason.to_string()));
        }
    }

    #[test]
    fn long_messages_are_cut() {
        let problem = PodProblem {
            pod: "a/b".into(),
            reason: "ErrImagePull".into(),
            container: "c".into(),
            init: false,
            message: Some("x".repeat(500)),
        };
        assert!(problem.to_string().len() < 300);
    }
}
