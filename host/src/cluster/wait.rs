//! Waiting on an object with one watch (plus one pod watch for workloads), failing fast when it cannot succeed.
//!
//! The object is watched by name (a list, then a watch, restarted after a backoff on the run's
//! clock when the connection drops); nothing is polled. For a Deployment, DaemonSet,
//! StatefulSet or ReplicaSet waited on for `Ready` or `RolledOut`, a second watch follows its
//! pods (by its selector), so that a pod of the new revision stuck in `CrashLoopBackOff` or
//! `ImagePullBackOff` ends the wait at once instead of at its timeout. Those reads of pods (and
//! of a Deployment's ReplicaSets) are the wait's *implied reads*, declared in
//! docs/capabilities.md: what they find reaches the caller only as the reason for aborting,
//! and names a pod only when [`WaitOptions::pod_detail`] says the caller may read it.

use std::collections::{BTreeMap, HashMap};
use std::future;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use futures::StreamExt;
use futures::stream::{BoxStream, SelectAll};
use kube::api::{Api, DynamicObject};
use kube::core::ApiResource;
use kube::runtime::watcher;
use serde_json::Value;

use super::error::{ClusterError, Ctx, human};
use super::pods::{Relevance, pod_selector, relevance, replica_set_is_current, watches_pods};
use super::readiness::{self, PodProblem, Verdict, pod_problem};
use super::{Cluster, Condition, Located};

/// How a wait reports what its implied reads found.
#[derive(Debug, Clone, Default)]
pub struct WaitOptions {
    /// Whether an abort may name the stuck pod, its container and the kubelet's message
    /// (the caller may read pods in that namespace); otherwise it gives only the reason.
    pub pod_detail: bool,
    /// Where the detail left out of an abort is put, for the operator's eyes only.
    pub withheld: std::sync::Arc<std::sync::OnceLock<String>>,
}

/// The object watch of a wait, by name: `Some(object)` when it is seen, `None` when it is gone
/// (or was not there when the watch started). As kube-rs's `watch_object`, with the watch's
/// server-side timeout set so that a quiet watch ends before the client's read timeout.
fn watch_named(
    api: Api<DynamicObject>,
    name: &str,
    timeout_secs: u32,
) -> BoxStream<'static, watcher::Result<Option<DynamicObject>>> {
    let config = watcher::Config::default()
        .fields(&format!("metadata.name={name}"))
        .timeout(timeout_secs);
    watcher::watcher(api, config)
        .scan(false, |seen, event| {
            if matches!(event, Ok(watcher::Event::Init)) {
                *seen = false;
            } else if matches!(event, Ok(watcher::Event::InitApply(_))) {
                *seen = true;
            }
            future::ready(Some((*seen, event)))
        })
        .filter_map(|(seen, event)| async move {
            match event {
                Ok(watcher::Event::Apply(obj) | watcher::Event::InitApply(obj)) => {
                    Some(Ok(Some(obj)))
                }
                Ok(watcher::Event::Delete(_)) => Some(Ok(None)),
                Ok(watcher::Event::InitDone) if !seen => Some(Ok(None)),
                Ok(watcher::Event::Init | watcher::Event::InitDone) => None,
                Err(err) => Some(Err(err)),
            }
        })
        .boxed()
}

/// The pause after a watch error before the watch is tried again: 200 ms doubling to 5 s.
pub(super) fn watch_backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(5))
        .without_max_times()
}

/// What the merged watch streams deliver.
enum Event {
    Object(watcher::Result<Option<DynamicObject>>),
    Pods(watcher::Result<watcher::Event<DynamicObject>>),
}

/// Whether a watch error will not go away by retrying (no such resource, no permission, a bad
/// request); other errors (a dropped connection, 410 Gone, a busy server) the watcher recovers from.
pub(super) fn fatal(err: &watcher::Error, ctx: &Ctx<'_>) -> Option<ClusterError> {
    let mapped = match err {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => ctx.map(e),
        watcher::Error::WatchError(status) if status.code == 410 => return None,
        watcher::Error::WatchError(status) => ctx.map_status(status),
        watcher::Error::NoResourceVersion => {
            return Some(ClusterError::Other(
                ctx.line("the API server cannot watch this kind"),
            ));
        }
    };
    matches!(
        mapped,
        ClusterError::NotFound(_) | ClusterError::Forbidden(_) | ClusterError::Invalid(_)
    )
    .then_some(mapped)
}

/// The object as JSON, with `apiVersion` and `kind` filled in.
pub(super) fn to_json(obj: &DynamicObject, resource: &ApiResource) -> Value {
    let mut value = serde_json::to_value(obj).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.entry("apiVersion")
            .or_insert_with(|| Value::from(resource.api_version.as_str()));
        map.entry("kind")
            .or_insert_with(|| Value::from(resource.kind.as_str()));
    }
    value
}

fn uid_of(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/uid").and_then(Value::as_str)
}

/// The state of one wait between events.
struct Waiter<'a> {
    cluster: &'a Cluster,
    loc: &'a Located,
    until: &'a Condition,
    options: WaitOptions,
    /// The object as last seen; `None` before the first sighting or after a deletion.
    last: Option<Value>,
    /// The uid of the first object seen, for `Deleted` (a new uid means it was replaced).
    first_uid: Option<String>,
    /// Why the condition does not hold yet, for the timeout message.
    pending: String,
    /// Selected pods that are stuck, by name.
    stuck: BTreeMap<String, (PodProblem, Value)>,
    /// Deployment only: whether a ReplicaSet is of the current revision, by (name, revision).
    current_rs: HashMap<(String, String), bool>,
    pods_watched: bool,
}

impl<'a> Waiter<'a> {
    fn goal(&self) -> String {
        match self.until {
            Condition::Ready => "become ready".into(),
            Condition::RolledOut => "roll out".into(),
            Condition::Deleted | Condition::DeletedUid(_) => "be deleted".into(),
            Condition::Field { pointer, equals } => format!("have {pointer} = {equals}"),
        }
    }

    fn aborted(&self, why: impl std::fmt::Display) -> ClusterError {
        ClusterError::Aborted(super::error::one_line(&format!(
            "{} will not {}: {why}",
            self.loc.what,
            self.goal()
        )))
    }

    fn timed_out(&self, timeout: Duration) -> ClusterError {
        ClusterError::Timeout(super::error::one_line(&format!(
            "timed out after {} waiting for {} to {}: {}",
            human(timeout),
            self.loc.what,
            self.goal(),
            self.pending
        )))
    }

    fn fail_fast(&self) -> bool {
        matches!(self.until, Condition::Ready | Condition::RolledOut)
    }

    /// A new sighting of the object (`None`: it does not exist). `Some(result)` ends the wait.
    fn object(&mut self, obj: Option<Value>) -> Option<Value> {
        match obj {
            None => {
                if matches!(self.until, Condition::Deleted | Condition::DeletedUid(_)) {
                    return Some(Value::Null);
                }
                // It may be created (again) later: a StatefulSet recreates a deleted pod under the
                // same name, and a policy may wait for exactly that.
                self.last = None;
                self.pending = "it does not exist".into();
                None
            }
            Some(obj) => {
                if matches!(self.until, Condition::Deleted | Condition::DeletedUid(_)) {
                    let uid = uid_of(&obj).map(str::to_string);
                    match (&self.first_uid, uid) {
                        (Some(first), Some(now)) if *first != now => return Some(Value::Null),
                        (None, now) => self.first_uid = now,
                        _ => {}
                    }
                    self.pending = "it still exists".into();
                }
                self.last = Some(obj);
                None
            }
        }
    }

    /// A pod watch event: keeps the set of stuck pods current.
    fn pod_event(&mut self, event: watcher::Event<DynamicObject>) {
        let pod_resource = ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&());
        match event {
            watcher::Event::Init => self.stuck.clear(),
            watcher::Event::InitDone => {}
            watcher::Event::Apply(pod) | watcher::Event::InitApply(pod) => {
                let name = pod.metadata.name.clone().unwrap_or_default();
                let value = to_json(&pod, &pod_resource);
                match pod_problem(&value) {
                    Some(problem) => {
                        self.stuck.insert(name, (problem, value));
                    }
                    None => {
                        self.stuck.remove(&name);
                    }
                }
            }
            watcher::Event::Delete(pod) => {
                self.stuck
                    .remove(&pod.metadata.name.clone().unwrap_or_default());
            }
        }
    }

    /// Evaluates the condition on the last sighting. `Ok(Some(obj))` ends the wait successfully.
    async fn check(&mut self) -> Result<Option<Value>, ClusterError> {
        let Some(obj) = &self.last else {
            return Ok(None);
        };
        let verdict = match self.until {
            Condition::Ready => readiness::ready(obj),
            Condition::RolledOut => readiness::rolled_out(obj),
            Condition::Field { pointer, equals } => readiness::field_equals(obj, pointer, equals),
            Condition::Deleted | Condition::DeletedUid(_) => return Ok(None),
        };
        match verdict {
            Verdict::Done => return Ok(Some(obj.clone())),
            Verdict::Failed(why) => return Err(self.aborted(why)),
            Verdict::Pending(why) => self.pending = why,
        }
        if !self.fail_fast() {
            return Ok(None);
        }
        let obj = obj.clone();
        if obj.get("kind").and_then(Value::as_str) == Some("Pod")
            && obj.get("apiVersion").and_then(Value::as_str) == Some("v1")
        {
            // The object waited on is this pod: its own state is the caller's to know.
            if let Some(problem) = pod_problem(&obj) {
                return Err(self.aborted(problem));
            }
            return Ok(None);
        }
        let stuck: Vec<(PodProblem, Value)> = self.stuck.values().cloned().collect();
        for (problem, pod) in stuck {
            let counts = match relevance(&obj, &pod) {
                Relevance::Yes => true,
                Relevance::No => false,
                Relevance::AskReplicaSet(rs) => self.replica_set_is_current(&obj, &rs).await,
            };
            if counts {
                return Err(self.aborted(self.describe_stuck(&problem)));
            }
        }
        Ok(None)
    }

    /// A stuck pod found by the implied pod watch, as much as the caller may know of it.
    fn describe_stuck(&self, problem: &PodProblem) -> String {
        if self.options.pod_detail {
            problem.to_string()
        } else {
            let _ = self.options.withheld.set(problem.to_string());
            let ns = self.loc.namespace().unwrap_or_default();
            format!(
                "a pod of its current revision is in {} (grant cluster/get:v1/Pod@{ns} to see which)",
                problem.reason
            )
        }
    }

    /// Whether ReplicaSet `name` is the Deployment's current one: one read per ReplicaSet and
    /// revision, and only when one of its pods is stuck. When it cannot be read, the pod does not
    /// count (a wrong abort is worse than waiting for the timeout).
    async fn replica_set_is_current(&mut self, deployment: &Value, name: &str) -> bool {
        let revision = deployment
            .pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let key = (name.to_string(), revision);
        if let Some(known) = self.current_rs.get(&key) {
            return *known;
        }
        let target = Located {
            resolved: super::pods::replica_sets_resolved(),
            namespace: self.loc.namespace.clone(),
            name: name.to_string(),
            what: super::describe("ReplicaSet", self.loc.namespace(), name),
        };
        let current = match self.cluster.get(&target).await {
            Ok(rs) => replica_set_is_current(deployment, &rs),
            Err(e) => {
                tracing::debug!(error = %e, "cannot tell whether a stuck pod's ReplicaSet is current");
                false
            }
        };
        self.current_rs.insert(key, current);
        current
    }
}

impl Cluster {
    /// Waits until `target` meets `until`, with a watch (never polling), for at most `timeout`.
    /// Returns the object as last seen, `Value::Null` once it is deleted.
    ///
    /// `Ready` and `RolledOut` fail fast with `Aborted` when the object can no longer get there
    /// (see [`readiness`]), including when a pod of a workload's current
    /// revision is in `CrashLoopBackOff`, `ImagePullBackOff`, `ErrImagePull`,
    /// `InvalidImageName` or `CreateContainerConfigError`. A missing object is waited for: it may
    /// be created later. In dry-run mode the current object is returned at once (`Value::Null`
    /// when it does not exist).
    pub async fn wait(
        &self,
        loc: &Located,
        until: &Condition,
        timeout: Duration,
        options: WaitOptions,
    ) -> Result<Value, ClusterError> {
        if self.dry_run {
            return match self.get(loc).await {
                Err(ClusterError::NotFound(_)) => Ok(Value::Null),
                other => other,
            };
        }
        let clock = self.clock().clone();
        let deadline: Instant = clock.now() + timeout;
        let ctx = self.ctx("wait for", &loc.what);
        let resource = loc.resolved.resource.clone();
        let api: Api<DynamicObject> = match &loc.namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &resource),
            None => Api::all_with(self.client.clone(), &resource),
        };
        let mut events: SelectAll<BoxStream<'static, Event>> = SelectAll::new();
        events.push(
            watch_named(api, &loc.name, self.watch_timeout_secs)
                .map(Event::Object)
                .boxed(),
        );
        let mut waiter = Waiter {
            cluster: self,
            loc,
            until,
            options,
            last: None,
            // With a uid given, any other uid (or none) means the object asked about is gone.
            first_uid: match until {
                Condition::DeletedUid(uid) => Some(uid.clone()),
                _ => None,
            },
            pending: "no answer from the API server yet".into(),
            stuck: BTreeMap::new(),
            current_rs: HashMap::new(),
            pods_watched: false,
        };
        let mut object_errors = watch_backoff().build();
        let mut pod_errors = watch_backoff().build();
        loop {
            let event = match clock.timeout_at(deadline, events.next()).await {
                Err(_) => return Err(waiter.timed_out(timeout)),
                Ok(None) => {
                    return Err(ClusterError::Other(
                        ctx.line("the watch ended unexpectedly"),
                    ));
                }
                Ok(Some(event)) => event,
            };
            match event {
                Event::Object(Err(e)) => {
                    if let Some(err) = fatal(&e, &ctx) {
                        return Err(err);
                    }
                    tracing::debug!(object = %loc.what, error = %e, "watch interrupted, resuming");
                    let pause = object_errors.next().unwrap_or(Duration::from_secs(5));
                    clock.sleep_until(deadline.min(clock.now() + pause)).await;
                    continue;
                }
                Event::Object(Ok(obj)) => {
                    object_errors = watch_backoff().build();
                    if let Some(done) = waiter.object(obj.map(|o| to_json(&o, &resource))) {
                        return Ok(done);
                    }
                    if !waiter.pods_watched
                        && waiter.fail_fast()
                        && let Some(obj) = &waiter.last
                        && watches_pods(obj)
                        && let Some(selector) = pod_selector(obj)
                    {
                        waiter.pods_watched = true;
                        events.push(self.watch_pods(loc, &selector));
                    }
                }
                Event::Pods(Err(e)) => {
                    tracing::debug!(object = %loc.what, error = %e, "pod watch interrupted, resuming");
                    let pause = pod_errors.next().unwrap_or(Duration::from_secs(5));
                    clock.sleep_until(deadline.min(clock.now() + pause)).await;
                    continue;
                }
                Event::Pods(Ok(event)) => {
                    pod_errors = watch_backoff().build();
                    waiter.pod_event(event)
                }
            }
            // The check may read a ReplicaSet: that read counts against the deadline too.
            match clock.timeout_at(deadline, waiter.check()).await {
                Err(_) => return Err(waiter.timed_out(timeout)),
                Ok(Err(e)) => return Err(e),
                Ok(Ok(Some(done))) => return Ok(done),
                Ok(Ok(None)) => {}
            }
        }
    }

    /// The pod watch of a workload wait. It ends itself on an error that retrying will not fix
    /// (RBAC that allows reading the workload but not its pods): the wait then goes on without
    /// failing fast on stuck pods.
    fn watch_pods(&self, loc: &Located, selector: &str) -> BoxStream<'static, Event> {
        let pod_resource = ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&());
        let ns = loc
            .namespace
            .clone()
            .unwrap_or_else(|| self.namespace.clone());
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), &ns, &pod_resource);
        let what = format!("pods of {}", loc.what);
        let server = self.server.clone();
        let config = watcher::Config::default()
            .labels(selector)
            .timeout(self.watch_timeout_secs);
        watcher::watcher(api, config)
            .take_while(move |event| {
                let ctx = Ctx {
                    op: "watch",
                    what: &what,
                    server: server.as_deref(),
                };
                let fatal = match event {
                    Err(e) => fatal(e, &ctx),
                    Ok(_) => None,
                };
                if let Some(err) = &fatal {
                    tracing::warn!("{err}; waiting without watching them");
                }
                future::ready(fatal.is_none())
            })
            .map(Event::Pods)
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;

    fn ctx() -> Ctx<'static> {
        Ctx {
            op: "wait for",
            what: "deployment shop/web",
            server: None,
        }
    }

    #[test]
    fn watch_errors_fatal_or_not() {
        let api = |code: u16| kube::Error::Api(Box::new(Status::failure("x", "y").with_code(code)));
        assert!(matches!(
            fatal(&watcher::Error::InitialListFailed(api(403)), &ctx()),
            Some(ClusterError::Forbidden(_))
        ));
        assert!(matches!(
            fatal(&watcher::Error::WatchStartFailed(api(404)), &ctx()),
            Some(ClusterError::NotFound(_))
        ));
        assert!(fatal(&watcher::Error::InitialListFailed(api(503)), &ctx()).is_none());
        assert!(
            fatal(
                &watcher::Error::WatchError(Box::new(
                    Status::failure("gone", "Expired").with_code(410)
                )),
                &ctx()
            )
            .is_none()
        );
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(
            fatal(
                &watcher::Error::WatchFailed(kube::Error::Service(Box::new(io))),
                &ctx()
            )
            .is_none()
        );
    }
}
