//! An object's status by kstatus's rules (what Helm 4's `--wait=watcher` waits for): Current, InProgress, Failed, Terminating.
//!
//! Pure: one object's JSON in, a [`Status`] and a one-line reason out. The order is kstatus's:
//! a deletionTimestamp is Terminating; a generation not yet observed is InProgress;
//! `Reconciling=True` is InProgress and `Stalled=True` Failed; then the kind's own rule; then a
//! `Ready` condition; else the object is Current because it exists.
//!
//! Where this differs from kstatus, it follows the `wait-current` contract (wit/cluster.wit)
//! and Helm 4's own readers: a Job is Current once Complete (kstatus: once started), a Pod whose
//! phase is Failed or whose container cannot start (`ImagePullBackOff`, ...) is Failed, a
//! LoadBalancer Service needs an ingress (kstatus: a cluster IP), a PodDisruptionBudget needs an
//! observedGeneration, and an unschedulable Pod stays InProgress (kstatus fails it after 15 s of
//! wall-clock time, which a pure function cannot read).

use std::fmt;

use serde_json::Value;

use super::readiness::pod_problem;

/// The most characters of a reason taken from the object (a condition's message).
const MAX_REASON: usize = 240;

/// kstatus's statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Not there yet, or not yet what its spec asks for.
    InProgress,
    /// Will not get there without a change (a passed progress deadline, `Stalled=True`).
    Failed,
    /// What its spec asks for.
    Current,
    /// Being deleted.
    Terminating,
    /// Does not exist.
    NotFound,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::InProgress => "InProgress",
            Status::Failed => "Failed",
            Status::Current => "Current",
            Status::Terminating => "Terminating",
            Status::NotFound => "NotFound",
        })
    }
}

/// A status and why, in one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Computed {
    pub status: Status,
    pub reason: String,
}

impl Computed {
    fn new(status: Status, reason: impl Into<String>) -> Self {
        Computed {
            status,
            reason: one_line(&reason.into()),
        }
    }

    fn in_progress(reason: impl Into<String>) -> Self {
        Computed::new(Status::InProgress, reason)
    }

    fn failed(reason: impl Into<String>) -> Self {
        Computed::new(Status::Failed, reason)
    }

    fn current(reason: impl Into<String>) -> Self {
        Computed::new(Status::Current, reason)
    }

    /// The status of an object that does not exist.
    pub fn not_found() -> Self {
        Computed::new(Status::NotFound, "it does not exist")
    }
}

impl fmt::Display for Computed {
    /// `InProgress: Available: 1/3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.reason)
    }
}

/// One line, at most [`MAX_REASON`] characters.
fn one_line(s: &str) -> String {
    let joined = super::error::one_line(s);
    if joined.chars().count() <= MAX_REASON {
        return joined;
    }
    let mut cut: String = joined.chars().take(MAX_REASON).collect();
    cut.push('…');
    cut
}

fn int(obj: &Value, pointer: &str) -> Option<i64> {
    obj.pointer(pointer).and_then(Value::as_i64)
}

fn int_or(obj: &Value, pointer: &str, default: i64) -> i64 {
    int(obj, pointer).unwrap_or(default)
}

fn text<'a>(obj: &'a Value, pointer: &str) -> Option<&'a str> {
    obj.pointer(pointer).and_then(Value::as_str)
}

/// One entry of `status.conditions`.
struct Condition<'a> {
    kind: &'a str,
    status: &'a str,
    reason: &'a str,
    message: &'a str,
}

impl Condition<'_> {
    fn is_true(&self) -> bool {
        self.status == "True"
    }

    /// `reason: message`, or whichever is there, or `fallback`.
    fn why(&self, fallback: &str) -> String {
        match (self.reason.is_empty(), self.message.is_empty()) {
            (false, false) => format!("{}: {}", self.reason, self.message),
            (false, true) => self.reason.to_string(),
            (true, false) => self.message.to_string(),
            (true, true) => fallback.to_string(),
        }
    }
}

fn conditions(obj: &Value) -> impl Iterator<Item = Condition<'_>> {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            let field = |name: &str| c.get(name).and_then(Value::as_str).unwrap_or_default();
            Condition {
                kind: field("type"),
                status: field("status"),
                reason: field("reason"),
                message: field("message"),
            }
        })
}

fn condition<'a>(obj: &'a Value, kind: &str) -> Option<Condition<'a>> {
    conditions(obj).find(|c| c.kind == kind)
}

/// The object's status by kstatus's rules.
pub fn compute(obj: &Value) -> Computed {
    if let Some(done) = generic(obj) {
        return done;
    }
    let api_version = text(obj, "/apiVersion").unwrap_or_default();
    let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
    let kind = text(obj, "/kind").unwrap_or_default();
    let by_kind = match (group, kind) {
        ("apps" | "extensions", "Deployment") => Some(deployment(obj)),
        ("apps", "StatefulSet") => Some(stateful_set(obj)),
        ("apps" | "extensions", "DaemonSet") => Some(daemon_set(obj)),
        ("apps" | "extensions", "ReplicaSet") => Some(replica_set(obj)),
        ("batch", "Job") => Some(job(obj)),
        ("batch", "CronJob") | ("", "ConfigMap" | "Secret") => {
            Some(Computed::current("always current once it exists"))
        }
        ("", "Pod") => Some(pod(obj)),
        ("", "PersistentVolumeClaim") => Some(claim(obj)),
        ("", "Service") => Some(service(obj)),
        ("policy", "PodDisruptionBudget") => Some(disruption_budget(obj)),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => Some(crd(obj)),
        _ => None,
    };
    if let Some(done) = by_kind {
        return done;
    }
    if let Some(ready) = condition(obj, "Ready") {
        return if ready.is_true() {
            Computed::current("Ready")
        } else {
            Computed::in_progress(format!("not Ready: {}", ready.why(ready.status)))
        };
    }
    Computed::current("it exists (no status to wait for)")
}

/// The rules for every kind: deletion, the observed generation, `Reconciling`, `Stalled`.
fn generic(obj: &Value) -> Option<Computed> {
    if obj
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null() && t.as_str() != Some(""))
    {
        return Some(Computed::new(Status::Terminating, "scheduled for deletion"));
    }
    if let (Some(generation), Some(observed)) = (
        int(obj, "/metadata/generation"),
        int(obj, "/status/observedGeneration"),
    ) && generation != observed
    {
        return Some(Computed::in_progress(format!(
            "generation {generation} not yet observed (observed {observed})"
        )));
    }
    for c in conditions(obj) {
        if c.kind == "Reconciling" && c.is_true() {
            return Some(Computed::in_progress(format!(
                "Reconciling: {}",
                c.why("True")
            )));
        }
        if c.kind == "Stalled" && c.is_true() {
            return Some(Computed::failed(format!("Stalled: {}", c.why("True"))));
        }
    }
    None
}

/// Both generations must be set: the controller has acted on the object.
fn generation_set(obj: &Value) -> Option<Computed> {
    if int(obj, "/metadata/generation").is_none() {
        return Some(Computed::in_progress("metadata.generation not set"));
    }
    if int(obj, "/status/observedGeneration").is_none() {
        return Some(Computed::in_progress(
            "status.observedGeneration not set yet",
        ));
    }
    None
}

fn deployment(obj: &Value) -> Computed {
    // Without a progress deadline the controller sets no `Progressing` reason to wait for.
    let mut progressing =
        int(obj, "/spec/progressDeadlineSeconds").is_none_or(|s| s == i64::from(i32::MAX));
    let mut available = false;
    for c in conditions(obj) {
        match c.kind {
            "Progressing" if c.reason == "ProgressDeadlineExceeded" => {
                return Computed::failed(format!(
                    "progress deadline exceeded{}",
                    if c.message.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", c.message)
                    }
                ));
            }
            "Progressing" if c.is_true() && c.reason == "NewReplicaSetAvailable" => {
                progressing = true
            }
            "Available" if c.is_true() => available = true,
            _ => {}
        }
    }
    let spec = int_or(obj, "/spec/replicas", 1);
    let replicas = int_or(obj, "/status/replicas", 0);
    let updated = int_or(obj, "/status/updatedReplicas", 0);
    let ready = int_or(obj, "/status/readyReplicas", 0);
    let available_replicas = int_or(obj, "/status/availableReplicas", 0);
    if spec > replicas {
        return Computed::in_progress(format!("replicas: {replicas}/{spec}"));
    }
    if spec > updated {
        return Computed::in_progress(format!("updated: {updated}/{spec}"));
    }
    if replicas > spec {
        return Computed::in_progress(format!(
            "pending termination: {} old replica(s)",
            replicas - spec
        ));
    }
    if updated > available_replicas {
        return Computed::in_progress(format!("available: {available_replicas}/{updated}"));
    }
    if spec > ready {
        return Computed::in_progress(format!("ready: {ready}/{spec}"));
    }
    if !progressing {
        return Computed::in_progress("the new ReplicaSet is not available yet");
    }
    if !available {
        return Computed::in_progress("the Deployment is not Available yet");
    }
    Computed::current(format!("available, {replicas} replica(s)"))
}

fn stateful_set(obj: &Value) -> Computed {
    if text(obj, "/spec/updateStrategy/type") == Some("OnDelete") {
        return Computed::current("updated by hand (updateStrategy OnDelete)");
    }
    let spec = int_or(obj, "/spec/replicas", 1);
    let replicas = int_or(obj, "/status/replicas", 0);
    let ready = int_or(obj, "/status/readyReplicas", 0);
    let current = int_or(obj, "/status/currentReplicas", 0);
    let updated = int_or(obj, "/status/updatedReplicas", 0);
    if spec > replicas {
        return Computed::in_progress(format!("replicas: {replicas}/{spec}"));
    }
    if spec > ready {
        return Computed::in_progress(format!("ready: {ready}/{spec}"));
    }
    if replicas > spec {
        return Computed::in_progress(format!(
            "pending termination: {} replica(s)",
            replicas - spec
        ));
    }
    if let Some(partition) = int(obj, "/spec/updateStrategy/rollingUpdate/partition") {
        let wanted = spec - partition;
        if updated < wanted {
            return Computed::in_progress(format!(
                "partitioned rollout: updated {updated}/{wanted}"
            ));
        }
        return Computed::current(format!("partitioned rollout complete: {updated} updated"));
    }
    if spec > current {
        return Computed::in_progress(format!("current: {current}/{spec}"));
    }
    let current_revision = text(obj, "/status/currentRevision").unwrap_or_default();
    let update_revision = text(obj, "/status/updateRevision").unwrap_or_default();
    if current_revision != update_revision {
        return Computed::in_progress(format!(
            "revision {current_revision} is not yet the update revision {update_revision}"
        ));
    }
    Computed::current(format!("{replicas} replica(s) updated and ready"))
}

fn daemon_set(obj: &Value) -> Computed {
    if let Some(not_yet) = generation_set(obj) {
        return not_yet;
    }
    let Some(desired) = int(obj, "/status/desiredNumberScheduled") else {
        return Computed::in_progress("status.desiredNumberScheduled not set yet");
    };
    for (pointer, what) in [
        ("/status/currentNumberScheduled", "scheduled"),
        ("/status/updatedNumberScheduled", "updated"),
        ("/status/numberAvailable", "available"),
        ("/status/numberReady", "ready"),
    ] {
        let n = int_or(obj, pointer, 0);
        if desired > n {
            return Computed::in_progress(format!("{what}: {n}/{desired}"));
        }
    }
    Computed::current(format!("{desired} pod(s) updated and ready"))
}

fn replica_set(obj: &Value) -> Computed {
    if let Some(c) = condition(obj, "ReplicaFailure").filter(Condition::is_true) {
        return Computed::in_progress(format!("ReplicaFailure: {}", c.why("True")));
    }
    let spec = int_or(obj, "/spec/replicas", 1);
    let replicas = int_or(obj, "/status/replicas", 0);
    for (pointer, what) in [
        ("/status/fullyLabeledReplicas", "labelled"),
        ("/status/availableReplicas", "available"),
        ("/status/readyReplicas", "ready"),
    ] {
        let n = int_or(obj, pointer, 0);
        if spec > n {
            return Computed::in_progress(format!("{what}: {n}/{spec}"));
        }
    }
    if replicas > spec {
        return Computed::in_progress(format!(
            "pending termination: {} replica(s)",
            replicas - spec
        ));
    }
    Computed::current(format!("available, {replicas} replica(s)"))
}

fn job(obj: &Value) -> Computed {
    let parallelism = int_or(obj, "/spec/parallelism", 1);
    let completions = int_or(obj, "/spec/completions", parallelism);
    let succeeded = int_or(obj, "/status/succeeded", 0);
    let active = int_or(obj, "/status/active", 0);
    let failed = int_or(obj, "/status/failed", 0);
    for c in conditions(obj).filter(Condition::is_true) {
        match c.kind {
            "Complete" => {
                return Computed::current(format!("complete: {succeeded}/{completions} succeeded"));
            }
            "Failed" => {
                return Computed::failed(format!(
                    "the Job failed ({failed} failed pod(s)): {}",
                    c.why("Failed")
                ));
            }
            "Suspended" if obj.pointer("/spec/suspend") == Some(&Value::Bool(true)) => {
                return Computed::current("suspended");
            }
            _ => {}
        }
    }
    Computed::in_progress(format!(
        "not complete: {succeeded}/{completions} succeeded, {active} active, {failed} failed"
    ))
}

fn pod(obj: &Value) -> Computed {
    let phase = text(obj, "/status/phase").unwrap_or_default();
    match phase {
        "Succeeded" => return Computed::current("completed successfully"),
        "Failed" => {
            let why = text(obj, "/status/reason")
                .or_else(|| text(obj, "/status/message"))
                .unwrap_or("no reason given");
            return Computed::failed(format!("the pod failed: {why}"));
        }
        _ => {}
    }
    if let Some(problem) = pod_problem(obj) {
        let which = if problem.init {
            "init container"
        } else {
            "container"
        };
        return Computed::failed(format!(
            "{which} {} is in {}",
            problem.container, problem.reason
        ));
    }
    match phase {
        "Running" if condition(obj, "Ready").is_some_and(|c| c.is_true()) => {
            Computed::current("Ready")
        }
        "Running" => Computed::in_progress("running, not Ready"),
        "Pending" => match condition(obj, "PodScheduled").filter(|c| c.status == "False") {
            Some(c) if c.reason == "Unschedulable" => {
                Computed::in_progress(format!("not scheduled: {}", c.why("Unschedulable")))
            }
            _ => Computed::in_progress("Pending"),
        },
        "" => Computed::in_progress("no phase reported yet"),
        other => Computed::in_progress(format!("phase {other}")),
    }
}

fn claim(obj: &Value) -> Computed {
    match text(obj, "/status/phase") {
        Some("Bound") => Computed::current("Bound"),
        Some(phase) => Computed::in_progress(format!("not Bound: phase {phase}")),
        None => Computed::in_progress("not Bound: no phase reported yet"),
    }
}

fn service(obj: &Value) -> Computed {
    if text(obj, "/spec/type") != Some("LoadBalancer") {
        return Computed::current("a Service is current once it exists");
    }
    let has_ingress = obj
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .is_some_and(|ingress| !ingress.is_empty());
    if has_ingress {
        Computed::current("the load balancer has an ingress")
    } else {
        Computed::in_progress("the load balancer has no ingress yet")
    }
}

fn disruption_budget(obj: &Value) -> Computed {
    match int(obj, "/status/observedGeneration") {
        Some(_) => Computed::current("the disruption controller has observed it"),
        None => Computed::in_progress("not yet observed by the disruption controller"),
    }
}

fn crd(obj: &Value) -> Computed {
    for c in conditions(obj) {
        if c.kind == "NamesAccepted" && c.status == "False" {
            return Computed::failed(format!("names not accepted: {}", c.why("False")));
        }
        if c.kind == "Established" {
            if c.is_true() {
                return Computed::current("Established");
            }
            if c.status == "False" && c.reason != "Installing" {
                return Computed::failed(format!("not Established: {}", c.why("False")));
            }
        }
    }
    Computed::in_progress("not yet Established")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status(obj: Value) -> Status {
        compute(&obj).status
    }

    fn cond(kind: &str, status: &str, reason: &str) -> Value {
        json!({"type": kind, "status": status, "reason": reason, "message": "m"})
    }

    fn deploy(spec: i64, st: Value, conds: Vec<Value>) -> Value {
        let mut status = st;
        status["conditions"] = json!(conds);
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "generation": 2},
            "spec": {"replicas": spec, "progressDeadlineSeconds": 600},
            "status": status,
        })
    }

    fn rolled_out_conditions() -> Vec<Value> {
        vec![
            cond("Progressing", "True", "NewReplicaSetAvailable"),
            cond("Available", "True", "MinimumReplicasAvailable"),
        ]
    }

    fn all(n: i64) -> Value {
        json!({"observedGeneration": 2, "replicas": n, "updatedReplicas": n,
               "readyReplicas": n, "availableReplicas": n})
    }

    #[test]
    fn deletion_comes_first() {
        let mut d = deploy(3, all(3), rolled_out_conditions());
        d["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        d["status"]["observedGeneration"] = json!(1);
        assert_eq!(status(d), Status::Terminating);
    }

    #[test]
    fn an_unobserved_generation_is_in_progress() {
        let mut d = deploy(3, all(3), rolled_out_conditions());
        d["status"]["observedGeneration"] = json!(1);
        let c = compute(&d);
        assert_eq!(c.status, Status::InProgress);
        assert_eq!(c.reason, "generation 2 not yet observed (observed 1)");
        // Without an observedGeneration the check does not apply.
        if let Some(s) = d["status"].as_object_mut() {
            s.remove("observedGeneration");
        }
        assert_eq!(status(d), Status::Current);
    }

    #[test]
    fn reconciling_and_stalled_decide_before_the_kind() {
        let mut conds = rolled_out_conditions();
        conds.push(cond("Reconciling", "True", "Progressing"));
        assert_eq!(
            compute(&deploy(3, all(3), conds)).reason,
            "Reconciling: Progressing: m"
        );
        let cr = json!({
            "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "status": {"conditions": [cond("Ready", "True", "Done"), cond("Stalled", "True", "BadSpec")]},
        });
        let c = compute(&cr);
        assert_eq!(
            (c.status, c.reason.as_str()),
            (Status::Failed, "Stalled: BadSpec: m")
        );
        let fine = json!({
            "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "status": {"conditions": [cond("Stalled", "False", ""), cond("Reconciling", "False", "")]},
        });
        assert_eq!(status(fine), Status::Current);
    }

    #[test]
    fn deployments() {
        assert_eq!(
            status(deploy(3, all(3), rolled_out_conditions())),
            Status::Current
        );
        let failed = deploy(
            3,
            all(1),
            vec![cond("Progressing", "False", "ProgressDeadlineExceeded")],
        );
        let c = compute(&failed);
        assert_eq!(c.status, Status::Failed);
        assert_eq!(c.reason, "progress deadline exceeded: m");
        let st = |replicas, updated, ready, available| {
            json!({"observedGeneration": 2, "replicas": replicas, "updatedReplicas": updated,
                   "readyReplicas": ready, "availableReplicas": available})
        };
        let reason = |s: Value| compute(&deploy(3, s, rolled_out_conditions())).reason;
        assert_eq!(reason(st(2, 2, 2, 2)), "replicas: 2/3");
        assert_eq!(reason(st(3, 1, 3, 3)), "updated: 1/3");
        assert_eq!(
            reason(st(4, 3, 3, 3)),
            "pending termination: 1 old replica(s)"
        );
        assert_eq!(reason(st(3, 3, 3, 2)), "available: 2/3");
        assert_eq!(reason(st(3, 3, 2, 3)), "ready: 2/3");
        // Counts complete, the controller not yet done.
        let mut progressing = deploy(3, all(3), vec![cond("Available", "True", "")]);
        assert_eq!(
            compute(&progressing).reason,
            "the new ReplicaSet is not available yet"
        );
        // No progress deadline: no Progressing condition to wait for.
        progressing["spec"]["progressDeadlineSeconds"] = json!(i32::MAX);
        assert_eq!(status(progressing), Status::Current);
        let unavailable = deploy(
            3,
            all(3),
            vec![cond("Progressing", "True", "NewReplicaSetAvailable")],
        );
        assert_eq!(
            compute(&unavailable).reason,
            "the Deployment is not Available yet"
        );
        // spec.replicas defaults to 1.
        let mut one = deploy(1, all(1), rolled_out_conditions());
        if let Some(s) = one["spec"].as_object_mut() {
            s.remove("replicas");
        }
        assert_eq!(status(one), Status::Current);
    }

    fn sts(spec: Value, st: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
               "metadata": {"name": "db", "generation": 1}, "spec": spec, "status": st})
    }

    #[test]
    fn stateful_sets() {
        let done = json!({"observedGeneration": 1, "replicas": 3, "readyReplicas": 3,
            "currentReplicas": 3, "updatedReplicas": 3, "currentRevision": "db-2", "updateRevision": "db-2"});
        assert_eq!(
            status(sts(json!({"replicas": 3}), done.clone())),
            Status::Current
        );
        let mut mismatch = done.clone();
        mismatch["currentRevision"] = json!("db-1");
        assert_eq!(
            compute(&sts(json!({"replicas": 3}), mismatch)).reason,
            "revision db-1 is not yet the update revision db-2"
        );
        let mut unready = done.clone();
        unready["readyReplicas"] = json!(2);
        assert_eq!(
            compute(&sts(json!({"replicas": 3}), unready)).reason,
            "ready: 2/3"
        );
        let mut extra = done.clone();
        extra["replicas"] = json!(4);
        extra["readyReplicas"] = json!(4);
        assert_eq!(
            status(sts(json!({"replicas": 3}), extra)),
            Status::InProgress
        );
        // A partition of 2 of 3: one updated pod is the whole rollout.
        let partitioned = json!({"replicas": 3,
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}});
        let mut part = done.clone();
        part["updatedReplicas"] = json!(1);
        part["currentRevision"] = json!("db-1");
        assert_eq!(
            status(sts(partitioned.clone(), part.clone())),
            Status::Current
        );
        part["updatedReplicas"] = json!(0);
        assert_eq!(
            compute(&sts(partitioned, part)).reason,
            "partitioned rollout: updated 0/1"
        );
        let mut current = done.clone();
        current["currentReplicas"] = json!(1);
        assert_eq!(
            compute(&sts(json!({"replicas": 3}), current)).reason,
            "current: 1/3"
        );
        let on_delete = sts(
            json!({"replicas": 3, "updateStrategy": {"type": "OnDelete"}}),
            json!({"observedGeneration": 1}),
        );
        assert_eq!(status(on_delete), Status::Current);
    }

    #[test]
    fn daemon_sets() {
        let ds = |meta: Value, st: Value| json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta, "status": st});
        let gen1 = json!({"name": "agent", "generation": 1});
        let done = json!({"observedGeneration": 1, "desiredNumberScheduled": 2, "currentNumberScheduled": 2,
            "updatedNumberScheduled": 2, "numberAvailable": 2, "numberReady": 2});
        assert_eq!(status(ds(gen1.clone(), done.clone())), Status::Current);
        for (field, reason) in [
            ("currentNumberScheduled", "scheduled: 1/2"),
            ("updatedNumberScheduled", "updated: 1/2"),
            ("numberAvailable", "available: 1/2"),
            ("numberReady", "ready: 1/2"),
        ] {
            let mut st = done.clone();
            st[field] = json!(1);
            assert_eq!(compute(&ds(gen1.clone(), st)).reason, reason);
        }
        // The controller has not acted on it yet.
        assert_eq!(
            compute(&ds(gen1.clone(), json!({}))).reason,
            "status.observedGeneration not set yet"
        );
        assert_eq!(
            compute(&ds(json!({"name": "agent"}), done.clone())).reason,
            "metadata.generation not set"
        );
        assert_eq!(
            compute(&ds(gen1, json!({"observedGeneration": 1}))).reason,
            "status.desiredNumberScheduled not set yet"
        );
    }

    #[test]
    fn replica_sets() {
        let rs = |st: Value| {
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-1"},
                   "spec": {"replicas": 2}, "status": st})
        };
        let done = json!({"replicas": 2, "fullyLabeledReplicas": 2, "readyReplicas": 2, "availableReplicas": 2});
        assert_eq!(status(rs(done.clone())), Status::Current);
        let mut failing = done.clone();
        failing["conditions"] = json!([cond("ReplicaFailure", "True", "FailedCreate")]);
        assert_eq!(
            compute(&rs(failing)).reason,
            "ReplicaFailure: FailedCreate: m"
        );
        let mut unavailable = done.clone();
        unavailable["availableReplicas"] = json!(1);
        assert_eq!(compute(&rs(unavailable)).reason, "available: 1/2");
        let mut extra = done;
        extra["replicas"] = json!(3);
        assert_eq!(status(rs(extra)), Status::InProgress);
    }

    #[test]
    fn jobs() {
        let job = |spec: Value, st: Value| {
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"},
                   "spec": spec, "status": st})
        };
        let complete = json!({"succeeded": 1, "conditions": [cond("Complete", "True", "")]});
        assert_eq!(status(job(json!({}), complete)), Status::Current);
        let failed =
            json!({"failed": 6, "conditions": [cond("Failed", "True", "BackoffLimitExceeded")]});
        let c = compute(&job(json!({}), failed));
        assert_eq!(c.status, Status::Failed);
        assert!(c.reason.contains("BackoffLimitExceeded"), "{c}");
        let running = json!({"active": 1, "startTime": "2026-01-01T00:00:00Z"});
        assert_eq!(
            compute(&job(json!({"completions": 3}), running)).reason,
            "not complete: 0/3 succeeded, 1 active, 0 failed"
        );
        let suspended = json!({"conditions": [cond("Suspended", "True", "JobSuspended")]});
        assert_eq!(
            status(job(json!({"suspend": true}), suspended.clone())),
            Status::Current
        );
        assert_eq!(
            status(job(json!({"suspend": false}), suspended)),
            Status::InProgress
        );
    }

    fn pod_with(st: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "shop"}, "status": st})
    }

    #[test]
    fn pods() {
        assert_eq!(
            status(pod_with(json!({"phase": "Succeeded"}))),
            Status::Current
        );
        assert_eq!(
            compute(&pod_with(json!({"phase": "Failed", "reason": "Evicted"}))).reason,
            "the pod failed: Evicted"
        );
        let ready = json!({"phase": "Running", "conditions": [cond("Ready", "True", "")]});
        assert_eq!(status(pod_with(ready)), Status::Current);
        let unready = json!({"phase": "Running", "conditions": [cond("Ready", "False", "ContainersNotReady")]});
        assert_eq!(compute(&pod_with(unready)).reason, "running, not Ready");
        let crash = json!({"phase": "Running", "containerStatuses": [
            {"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]});
        let c = compute(&pod_with(crash));
        assert_eq!(
            (c.status, c.reason.as_str()),
            (Status::Failed, "container app is in CrashLoopBackOff")
        );
        let pull = json!({"phase": "Pending", "containerStatuses": [
            {"name": "app", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]});
        assert_eq!(status(pod_with(pull)), Status::Failed);
        let unschedulable = json!({"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes"}]});
        assert_eq!(
            compute(&pod_with(unschedulable)).reason,
            "not scheduled: Unschedulable: 0/3 nodes"
        );
        assert_eq!(
            compute(&pod_with(json!({"phase": "Pending"}))).reason,
            "Pending"
        );
        assert_eq!(
            compute(&pod_with(json!({}))).reason,
            "no phase reported yet"
        );
    }

    #[test]
    fn claims_services_budgets_and_always_current_kinds() {
        let pvc = |phase: &str| {
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
                   "status": {"phase": phase}})
        };
        assert_eq!(status(pvc("Bound")), Status::Current);
        assert_eq!(compute(&pvc("Pending")).reason, "not Bound: phase Pending");
        let svc = |ty: &str, st: Value| {
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                   "spec": {"type": ty, "clusterIP": "10.0.0.1"}, "status": st})
        };
        assert_eq!(status(svc("ClusterIP", json!({}))), Status::Current);
        assert_eq!(
            status(svc("LoadBalancer", json!({"loadBalancer": {}}))),
            Status::InProgress
        );
        assert_eq!(
            status(svc(
                "LoadBalancer",
                json!({"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}})
            )),
            Status::Current
        );
        let pdb = |st: Value| {
            json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                   "metadata": {"name": "web", "generation": 1}, "status": st})
        };
        assert_eq!(status(pdb(json!({}))), Status::InProgress);
        assert_eq!(
            status(pdb(json!({"observedGeneration": 1}))),
            Status::Current
        );
        assert_eq!(
            status(pdb(json!({"observedGeneration": 0}))),
            Status::InProgress
        );
        for (api_version, kind) in [
            ("v1", "ConfigMap"),
            ("v1", "Secret"),
            ("batch/v1", "CronJob"),
        ] {
            let obj = json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}});
            assert_eq!(status(obj), Status::Current, "{kind}");
        }
    }

    #[test]
    fn custom_resource_definitions() {
        let crd = |conds: Vec<Value>| {
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                   "metadata": {"name": "widgets.example.com"}, "status": {"conditions": conds}})
        };
        assert_eq!(
            status(crd(vec![
                cond("NamesAccepted", "True", ""),
                cond("Established", "True", "")
            ])),
            Status::Current
        );
        assert_eq!(
            status(crd(vec![cond("Established", "False", "Installing")])),
            Status::InProgress
        );
        assert_eq!(status(crd(vec![])), Status::InProgress);
        let c = compute(&crd(vec![cond(
            "NamesAccepted",
            "False",
            "MultipleNamesNotAllowed",
        )]));
        assert_eq!(c.status, Status::Failed);
        assert_eq!(c.reason, "names not accepted: MultipleNamesNotAllowed: m");
        assert_eq!(
            status(crd(vec![cond("Established", "False", "Other")])),
            Status::Failed
        );
    }

    #[test]
    fn other_kinds_go_by_ready_or_exist() {
        let widget = |conds: Value| {
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                   "status": {"conditions": conds}})
        };
        assert_eq!(
            status(widget(json!([cond("Ready", "True", "")]))),
            Status::Current
        );
        let c = compute(&widget(json!([cond("Ready", "False", "Provisioning")])));
        assert_eq!(
            (c.status, c.reason.as_str()),
            (Status::InProgress, "not Ready: Provisioning: m")
        );
        assert_eq!(
            status(widget(json!([cond("Ready", "Unknown", "")]))),
            Status::InProgress
        );
        let bare =
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
        assert_eq!(status(bare), Status::Current);
        // A core kind without a rule of its own.
        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "x"}});
        assert_eq!(status(sa), Status::Current);
    }

    #[test]
    fn reasons_are_one_short_line() {
        let long = "x".repeat(1000);
        let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "A", "message": format!("line\n{long}")}]}});
        let c = compute(&widget);
        assert!(!c.reason.contains('\n'), "{c}");
        assert!(
            c.reason.chars().count() <= MAX_REASON + 1,
            "{}",
            c.reason.len()
        );
        assert!(c.reason.starts_with("not Ready: A: line; xxx"), "{c}");
        assert_eq!(
            Computed::not_found().to_string(),
            "NotFound: it does not exist"
        );
    }
}
