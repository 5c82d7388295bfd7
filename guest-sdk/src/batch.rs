//! Batched cluster calls on [`Context`]: wait on a set of objects, evict many pods, delete with
//! a uid precondition and a grace period, so that a policy is not serial by accident.

use std::time::Duration;

use k8s_openapi::Resource;
use serde_json::Value;

use crate::answer::decode;
use crate::cluster::{ListParams, ObjectRef, list_query};
use crate::host::cluster as wit;
use crate::runtime::millis_ceil;
use crate::{Context, Error};

/// How [`Context::delete_with`] deletes.
///
/// ```
/// use cutover_guest_sdk::DeleteOptions;
/// let once = DeleteOptions::default().uid("3f1c...").grace_period_seconds(30);
/// assert_eq!(once.uid.as_deref(), Some("3f1c..."));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// Delete only the object with this uid: another object of the same name (made since) is
    /// left alone and the call fails with [`Error::Conflict`].
    pub uid: Option<String>,
    /// Seconds a Pod's containers get to stop (its `terminationGracePeriodSeconds` when
    /// `None`); 0 deletes at once. At most 86,400.
    pub grace_period_seconds: Option<u32>,
}

impl DeleteOptions {
    /// Sets the uid precondition.
    pub fn uid(mut self, uid: impl Into<String>) -> Self {
        self.uid = Some(uid.into());
        self
    }

    /// Sets the grace period.
    pub fn grace_period_seconds(mut self, seconds: u32) -> Self {
        self.grace_period_seconds = Some(seconds);
        self
    }
}

/// What [`Context::wait_all`] watches.
#[derive(Clone, Debug, PartialEq)]
pub enum WaitSet {
    /// These objects, each by name (at most 1,000).
    Objects(Vec<ObjectRef>),
    /// Every object of `api_version`/`kind` that `params` match, with one watch: "the pods of
    /// DaemonSet calico-node on node-3" is a label and a field selector. Needs `list` as well
    /// as `wait` on the kind.
    Query {
        /// `v1`, `apps/v1`, ...
        api_version: String,
        /// `Pod`, `Deployment`, ...
        kind: String,
        /// Where to look and the selectors.
        params: ListParams,
    },
}

impl WaitSet {
    /// The objects of kind `K` that `params` match.
    ///
    /// ```
    /// use cutover_guest_sdk::{ListParams, WaitSet};
    /// use k8s_openapi::api::core::v1::Pod;
    /// let on_node = WaitSet::query::<Pod>(
    ///     ListParams::default().labels("k8s-app=calico-node").fields("spec.nodeName=node-3"),
    /// );
    /// # let _ = on_node;
    /// ```
    pub fn query<K: Resource>(params: ListParams) -> Self {
        WaitSet::Query {
            api_version: K::API_VERSION.to_string(),
            kind: K::KIND.to_string(),
            params,
        }
    }

    fn to_wit(&self) -> wit::WaitSet {
        match self {
            WaitSet::Objects(objects) => {
                wit::WaitSet::Objects(objects.iter().map(ObjectRef::to_wit).collect())
            }
            WaitSet::Query {
                api_version,
                kind,
                params,
            } => wit::WaitSet::Query(list_query(api_version, kind, params)),
        }
    }
}

/// What [`Context::wait_all`] waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetCondition {
    /// At least this many objects, every one Ready (by [`crate::Condition::Ready`]'s rules) and
    /// none being deleted. Fails fast with [`Error::Aborted`] when one can never be Ready (a
    /// Pod Failed, or in CrashLoopBackOff, ImagePullBackOff, ...).
    AllReady(u32),
    /// No object left: every named one gone, nothing matching the query.
    AllGone,
}

impl SetCondition {
    fn to_wit(self) -> wit::SetCondition {
        match self {
            SetCondition::AllReady(n) => wit::SetCondition::AllReady(n),
            SetCondition::AllGone => wit::SetCondition::AllGone,
        }
    }
}

/// A pod for [`Context::evict_many`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodRef {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub name: String,
    /// The uid read with the pod: the host waits until the pod with this uid is gone (a
    /// StatefulSet's successor of the same name is another pod).
    pub uid: Option<String>,
}

impl Context {
    /// Deletes one object as [`Context::delete_dynamic`] does, with a uid precondition and a
    /// grace period (`kubectl delete --grace-period`). An object already gone is not an error;
    /// another object of the same name is [`Error::Conflict`]. Needs `cluster/delete`.
    ///
    /// ```
    /// # use serde_json::json;
    /// # const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::manifest::Manifest::new("x", "0.1.0", "d", &[], &[]);
    /// # let fake = cutover_guest_sdk::testing::FakeCluster::new().with(json!({
    /// #     "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "calico-node-x", "namespace": "kube-system", "uid": "u-1"}}));
    /// # let ctx = fake.context(&M, json!({}))?;
    /// use cutover_guest_sdk::{DeleteOptions, ObjectRef};
    /// let pod = ObjectRef::new("v1", "Pod", "calico-node-x").in_namespace("kube-system");
    /// let other = ctx.delete_with(&pod, &DeleteOptions::default().uid("u-2"));
    /// assert!(other.is_err_and(|e| e.is_conflict()));
    /// ctx.delete_with(&pod, &DeleteOptions::default().uid("u-1").grace_period_seconds(30))?;
    /// # assert!(fake.object("v1", "Pod", Some("kube-system"), "calico-node-x").is_none());
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn delete_with(&self, target: &ObjectRef, options: &DeleteOptions) -> Result<(), Error> {
        let options = wit::DeleteOptions {
            uid: options.uid.clone(),
            grace_period_seconds: options.grace_period_seconds,
        };
        Ok(wit::delete_with(&target.to_wit(), &options)?)
    }

    /// Waits until the set meets `until`, the host watching it all together; returns the
    /// objects as last seen. Fails with [`Error::Timeout`] saying what is not yet met, and
    /// with [`Error::Aborted`] as [`SetCondition`] says. Needs `cluster/wait` on the kind (and
    /// `cluster/list` for a query).
    ///
    /// ```
    /// # use serde_json::json;
    /// # const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::manifest::Manifest::new("x", "0.1.0", "d", &[], &[]);
    /// # let fake = cutover_guest_sdk::testing::FakeCluster::new().with(json!({
    /// #     "apiVersion": "v1", "kind": "Pod",
    /// #     "metadata": {"name": "calico-node-y", "namespace": "kube-system", "labels": {"k8s-app": "calico-node"}},
    /// #     "spec": {"nodeName": "node-3"},
    /// #     "status": {"conditions": [{"type": "Ready", "status": "True"}]}}));
    /// # let ctx = fake.context(&M, json!({}))?;
    /// use cutover_guest_sdk::{ListParams, SetCondition, WaitSet};
    /// use k8s_openapi::api::core::v1::Pod;
    /// use std::time::Duration;
    /// let replacement = WaitSet::query::<Pod>(
    ///     ListParams::default()
    ///         .in_namespace("kube-system")
    ///         .labels("k8s-app=calico-node")
    ///         .fields("spec.nodeName=node-3"),
    /// );
    /// let ready = ctx.wait_all(&replacement, SetCondition::AllReady(1), Duration::from_secs(90))?;
    /// assert_eq!(ready[0]["metadata"]["name"], "calico-node-y");
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn wait_all(
        &self,
        set: &WaitSet,
        until: SetCondition,
        timeout: impl Into<Duration>,
    ) -> Result<Vec<Value>, Error> {
        let items = wit::wait_all(&set.to_wit(), until.to_wit(), millis_ceil(timeout.into()))?;
        items
            .iter()
            .map(|item| decode(item, "an object waited on"))
            .collect()
    }

    /// Evicts pods as `kubectl drain` does: at most `concurrency` (1 to 64) at a time, each
    /// through the Eviction API (a budget's refusal retried until `timeout`) and then waited on
    /// until it is gone (by uid). One outcome per pod, in order: one pod's failure does not
    /// stop the others. Fails as a whole, evicting nothing, when the call is refused (more
    /// than 1,000 pods, a pod outside the grants). Needs `cluster/evict` on each pod.
    ///
    /// ```
    /// # use serde_json::json;
    /// # const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::manifest::Manifest::new("x", "0.1.0", "d", &[], &[]);
    /// # let fake = cutover_guest_sdk::testing::FakeCluster::new()
    /// #     .with(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "shop"}}))
    /// #     .with(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-2", "namespace": "shop"}}));
    /// # let ctx = fake.context(&M, json!({}))?;
    /// use cutover_guest_sdk::PodRef;
    /// use std::time::Duration;
    /// let pods: Vec<PodRef> = ["web-1", "web-2"]
    ///     .map(|name| PodRef { namespace: "shop".into(), name: name.into(), uid: None })
    ///     .into();
    /// let outcomes = ctx.evict_many(&pods, 4, Duration::from_secs(120))?;
    /// assert!(outcomes.iter().all(Result::is_ok));
    /// # assert!(fake.object("v1", "Pod", Some("shop"), "web-2").is_none());
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn evict_many(
        &self,
        pods: &[PodRef],
        concurrency: u32,
        timeout: impl Into<Duration>,
    ) -> Result<Vec<Result<(), Error>>, Error> {
        let pods: Vec<wit::PodRef> = pods
            .iter()
            .map(|p| wit::PodRef {
                namespace: p.namespace.clone(),
                name: p.name.clone(),
                uid: p.uid.clone(),
            })
            .collect();
        let outcomes = wit::evict_many(&pods, concurrency, millis_ceil(timeout.into()))?;
        Ok(outcomes
            .into_iter()
            .map(|o| o.map_err(Error::from))
            .collect())
    }
}
