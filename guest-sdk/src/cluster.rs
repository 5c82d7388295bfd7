//! Cluster calls on [`Context`]: typed through k8s-openapi, or dynamic through [`ObjectRef`] and JSON.
//!
//! Typed calls take the kind from the type (`K::API_VERSION`, `K::KIND`) and a name in the
//! run's namespace (for namespaced kinds); the `_in` variants name another namespace. The
//! `_dynamic` calls take an [`ObjectRef`] and `serde_json::Value`, for kinds without a
//! k8s-openapi type (custom resources) or when the kind is only known at run time.
//!
//! Any `DeserializeOwned` type that implements [`k8s_openapi::Resource`] works with the typed
//! calls, including a slim struct of your own with only the fields you read, which keeps the
//! module small (a full `Pod` deserializer is tens of kilobytes of wasm).

use std::fmt;
use std::time::Duration;

use k8s_openapi::{NamespaceResourceScope, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::answer::decode;
use crate::bindings::cutover::policy::types::ObjectRef as WitObjectRef;
use crate::host::cluster as wit;
use crate::runtime::millis_ceil;
use crate::{Answer, Context, Error};

/// Names one object: api-version, kind, optional namespace, name.
///
/// `namespace: None` means the run's namespace for a namespaced kind, and is what a
/// cluster-scoped kind (Node, Namespace) needs.
///
/// ```
/// use cutover_guest_sdk::ObjectRef;
/// use k8s_openapi::api::apps::v1::Deployment;
///
/// let a = ObjectRef::new("apps/v1", "Deployment", "web");
/// assert_eq!(a, ObjectRef::of::<Deployment>("web"));
/// let b = ObjectRef::of::<Deployment>("web").in_namespace("shop");
/// assert_eq!(b.to_string(), "Deployment shop/web");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    /// `v1` for the core group, otherwise `group/version` (`apps/v1`).
    pub api_version: String,
    /// `Pod`, `Deployment`, ...
    pub kind: String,
    /// The namespace; `None` for the run's namespace, or for a cluster-scoped kind.
    pub namespace: Option<String>,
    /// The object's name.
    pub name: String,
}

impl ObjectRef {
    /// An object in the run's namespace (or a cluster-scoped one).
    ///
    /// ```
    /// let r = cutover_guest_sdk::ObjectRef::new("cert-manager.io/v1", "Certificate", "web-tls");
    /// assert_eq!(r.namespace, None);
    /// ```
    pub fn new(
        api_version: impl Into<String>,
        kind: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        ObjectRef {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: None,
            name: name.into(),
        }
    }

    /// An object of the k8s-openapi kind `K`.
    ///
    /// ```
    /// use k8s_openapi::api::core::v1::Node;
    /// let r = cutover_guest_sdk::ObjectRef::of::<Node>("node-1");
    /// assert_eq!((r.api_version.as_str(), r.kind.as_str()), ("v1", "Node"));
    /// ```
    pub fn of<K: Resource>(name: impl Into<String>) -> Self {
        ObjectRef::new(K::API_VERSION, K::KIND, name)
    }

    /// The same object in namespace `namespace`.
    ///
    /// ```
    /// let r = cutover_guest_sdk::ObjectRef::new("v1", "Pod", "web-1").in_namespace("shop");
    /// assert_eq!(r.namespace.as_deref(), Some("shop"));
    /// ```
    pub fn in_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    pub(crate) fn to_wit(&self) -> WitObjectRef {
        WitObjectRef {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

impl fmt::Display for ObjectRef {
    /// `Kind namespace/name`, or `Kind name` without a namespace.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// Where [`Context::list`] looks.
///
/// ```
/// use cutover_guest_sdk::Namespace;
/// assert_eq!(Namespace::default(), Namespace::Run);
/// let ns = Namespace::named("kube-system");
/// # let _ = ns;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Namespace {
    /// The run's namespace (`-n`); for cluster-scoped kinds, the whole cluster.
    #[default]
    Run,
    /// Every namespace (needs a capability with `@*`).
    All,
    /// One named namespace.
    Named(String),
}

impl Namespace {
    /// [`Namespace::Named`].
    ///
    /// ```
    /// use cutover_guest_sdk::Namespace;
    /// assert_eq!(Namespace::named("shop"), Namespace::Named("shop".into()));
    /// ```
    pub fn named(namespace: impl Into<String>) -> Self {
        Namespace::Named(namespace.into())
    }

    fn to_wit(&self) -> Option<String> {
        match self {
            Namespace::Run => None,
            Namespace::All => Some("*".to_owned()),
            Namespace::Named(ns) => Some(ns.clone()),
        }
    }
}

/// What [`Context::list`] returns: a namespace and optional label and field selectors, with
/// kube-rs-like builder methods.
///
/// ```
/// use cutover_guest_sdk::ListParams;
///
/// let lp = ListParams::default()
///     .all_namespaces()
///     .fields("spec.nodeName=node-1")
///     .labels("app=web,tier!=cache");
/// assert_eq!(lp.field_selector.as_deref(), Some("spec.nodeName=node-1"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ListParams {
    /// Where to look (default: the run's namespace).
    pub namespace: Namespace,
    /// A label selector as `kubectl -l` takes it: `app=web,tier!=cache`.
    pub label_selector: Option<String>,
    /// A field selector as `kubectl --field-selector` takes it: `spec.nodeName=node-1`.
    pub field_selector: Option<String>,
}

impl ListParams {
    /// Sets the label selector.
    ///
    /// ```
    /// let lp = cutover_guest_sdk::ListParams::default().labels("app=web");
    /// assert_eq!(lp.label_selector.as_deref(), Some("app=web"));
    /// ```
    pub fn labels(mut self, selector: impl Into<String>) -> Self {
        self.label_selector = Some(selector.into());
        self
    }

    /// Sets the field selector.
    ///
    /// ```
    /// let lp = cutover_guest_sdk::ListParams::default().fields("status.phase=Running");
    /// assert_eq!(lp.field_selector.as_deref(), Some("status.phase=Running"));
    /// ```
    pub fn fields(mut self, selector: impl Into<String>) -> Self {
        self.field_selector = Some(selector.into());
        self
    }

    /// Looks in every namespace.
    ///
    /// ```
    /// use cutover_guest_sdk::{ListParams, Namespace};
    /// assert_eq!(ListParams::default().all_namespaces().namespace, Namespace::All);
    /// ```
    pub fn all_namespaces(mut self) -> Self {
        self.namespace = Namespace::All;
        self
    }

    /// Looks in namespace `namespace`.
    ///
    /// ```
    /// use cutover_guest_sdk::{ListParams, Namespace};
    /// let lp = ListParams::default().in_namespace("shop");
    /// assert_eq!(lp.namespace, Namespace::named("shop"));
    /// ```
    pub fn in_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Namespace::Named(namespace.into());
        self
    }
}

/// A patch body and how the server reads it.
///
/// ```
/// use cutover_guest_sdk::Patch;
/// use serde_json::json;
///
/// let scale = Patch::Merge(json!({"spec": {"replicas": 3}}));
/// let ops = Patch::Json(json!([{"op": "replace", "path": "/spec/replicas", "value": 3}]));
/// # let _ = (scale, ops);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Patch {
    /// RFC 7386 JSON merge patch: objects merge, `null` deletes, lists are replaced.
    Merge(Value),
    /// RFC 6902 JSON patch: an array of operations.
    Json(Value),
    /// Kubernetes strategic merge patch (built-in kinds only): lists merge by their keys.
    Strategic(Value),
    /// Server-side apply of a partial object (field manager `cutover`, forced). The typed
    /// [`Context::patch`] fills in `apiVersion`, `kind` and `metadata.name` when missing.
    Apply(Value),
}

impl Patch {
    fn parts(&self) -> (wit::PatchType, &Value) {
        match self {
            Patch::Merge(body) => (wit::PatchType::Merge, body),
            Patch::Json(body) => (wit::PatchType::Json, body),
            Patch::Strategic(body) => (wit::PatchType::Strategic, body),
            Patch::Apply(body) => (wit::PatchType::Apply, body),
        }
    }
}

/// What [`Context::wait`] waits for; the host watches, the guest does not poll.
///
/// ```
/// use cutover_guest_sdk::Condition;
/// let running = Condition::field("/status/phase", "Running");
/// # let _ = running;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// Helm's readiness rules for the kind (Pod Ready, Deployment available, Job complete...).
    Ready,
    /// `kubectl rollout status`: every replica updated and available, no old ones left.
    RolledOut,
    /// The object is gone (or replaced by a new object with another uid).
    Deleted,
    /// The object with this uid is gone, or replaced by a new object of the same name: what to
    /// wait for after evicting or deleting a pod that a StatefulSet recreates under its name.
    DeletedUid(String),
    /// A field, named by a JSON pointer (`/status/phase`), equals a JSON value.
    Field {
        /// A JSON pointer into the object.
        pointer: String,
        /// The value to wait for.
        equals: Value,
    },
}

impl Condition {
    /// [`Condition::Field`]: `pointer` equals `equals`.
    ///
    /// ```
    /// use cutover_guest_sdk::Condition;
    /// let c = Condition::field("/spec/unschedulable", true);
    /// assert!(matches!(c, Condition::Field { .. }));
    /// ```
    pub fn field(pointer: impl Into<String>, equals: impl Into<Value>) -> Self {
        Condition::Field {
            pointer: pointer.into(),
            equals: equals.into(),
        }
    }

    fn to_wit(&self) -> wit::Condition {
        match self {
            Condition::Ready => wit::Condition::Ready,
            Condition::RolledOut => wit::Condition::RolledOut,
            Condition::Deleted => wit::Condition::Deleted,
            Condition::DeletedUid(uid) => wit::Condition::DeletedUid(uid.clone()),
            Condition::Field { pointer, equals } => wit::Condition::Field(wit::FieldCondition {
                pointer: pointer.clone(),
                equals: equals.to_string(),
            }),
        }
    }
}

/// A typed server-side apply needs the object's identity in the body; fill it in when the
/// caller left it out, so `Patch::Apply(json!({"spec": ...}))` just works.
fn complete_apply_body(body: &Value, target: &ObjectRef) -> Value {
    let mut body = body.clone();
    if let Value::Object(map) = &mut body {
        map.entry("apiVersion")
            .or_insert_with(|| Value::from(target.api_version.as_str()));
        map.entry("kind")
            .or_insert_with(|| Value::from(target.kind.as_str()));
        let metadata = map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Value::Object(metadata) = metadata {
            metadata
                .entry("name")
                .or_insert_with(|| Value::from(target.name.as_str()));
            if let Some(ns) = &target.namespace {
                metadata
                    .entry("namespace")
                    .or_insert_with(|| Value::from(ns.as_str()));
            }
        }
    }
    body
}

/// Typed calls.
impl Context {
    /// Reads object `name` of kind `K` (in the run's namespace for a namespaced kind).
    ///
    /// Here, and in the examples below that run, the context comes from a
    /// [`FakeCluster`](crate::testing::FakeCluster) holding the objects shown.
    ///
    /// ```
    /// # use serde_json::json;
    /// # const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::manifest::Manifest::new("x", "0.1.0", "d", &[], &[]);
    /// # let fake = cutover_guest_sdk::testing::FakeCluster::new().with(json!({
    /// #     "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 3}}));
    /// # let ctx = fake.context(&M, json!({}))?;
    /// use k8s_openapi::api::apps::v1::Deployment;
    /// let web: Deployment = ctx.get("web")?;
    /// let replicas = web.spec.replicas.unwrap_or(1);
    /// assert_eq!(replicas, 3);
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn get<K: Resource + DeserializeOwned>(&self, name: &str) -> Result<K, Error> {
        self.get_ref(&ObjectRef::of::<K>(name))
    }

    /// Reads object `name` of the namespaced kind `K` in `namespace`.
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// use k8s_openapi::api::core::v1::ConfigMap;
    /// let cm: ConfigMap = ctx.get_in("kube-system", "kube-proxy")?;
    /// # let _ = cm; Ok(()) }
    /// ```
    pub fn get_in<K>(&self, namespace: &str, name: &str) -> Result<K, Error>
    where
        K: Resource<Scope = NamespaceResourceScope> + DeserializeOwned,
    {
        self.get_ref(&ObjectRef::of::<K>(name).in_namespace(namespace))
    }

    /// Like [`Context::get`], but `Ok(None)` when the object does not exist.
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// use k8s_openapi::api::core::v1::Service;
    /// if ctx.get_opt::<Service>("web-canary")?.is_none() {
    ///     ctx.info("no canary service yet");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn get_opt<K: Resource + DeserializeOwned>(&self, name: &str) -> Result<Option<K>, Error> {
        match self.get(name) {
            Ok(object) => Ok(Some(object)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn get_ref<K: DeserializeOwned>(&self, target: &ObjectRef) -> Result<K, Error> {
        let json = wit::get(&target.to_wit())?;
        decode(&json, target)
    }

    /// Lists objects of kind `K`.
    ///
    /// ```
    /// # use serde_json::json;
    /// # const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::manifest::Manifest::new("x", "0.1.0", "d", &[], &[]);
    /// # let pod = |ns: &str, name: &str, node: &str| json!({"apiVersion": "v1", "kind": "Pod",
    /// #     "metadata": {"name": name, "namespace": ns}, "spec": {"nodeName": node}});
    /// # let fake = cutover_guest_sdk::testing::FakeCluster::new()
    /// #     .with(pod("shop", "web-1", "node-1")).with(pod("kube-system", "proxy", "node-1")).with(pod("shop", "web-2", "node-2"));
    /// # let ctx = fake.context(&M, json!({}))?;
    /// use cutover_guest_sdk::ListParams;
    /// use k8s_openapi::api::core::v1::Pod;
    /// let pods: Vec<Pod> = ctx.list(&ListParams::default().all_namespaces().fields("spec.nodeName=node-1"))?;
    /// ctx.info(&format!("{} pods on node-1", pods.len()));
    /// assert_eq!(pods.len(), 2);
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn list<K: Resource + DeserializeOwned>(
        &self,
        params: &ListParams,
    ) -> Result<Vec<K>, Error> {
        let items = wit::list(&list_query(K::API_VERSION, K::KIND, params))?;
        items
            .iter()
            .map(|item| decode(item, format_args!("a listed {}", K::KIND)))
            .collect()
    }

    /// Server-side applies `object` (field manager `cutover`, conflicts forced). Without a
    /// namespace in its metadata it lands in the run's namespace. The [`Answer`] holds the
    /// object as stored; `.object()?` decodes it (and only then is `K`'s deserializer
    /// compiled in).
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// use k8s_openapi::api::core::v1::ConfigMap;
    /// use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    /// let cm = ConfigMap {
    ///     metadata: ObjectMeta { name: Some("web-config".into()), ..Default::default() },
    ///     data: Some([("mode".to_string(), "canary".to_string())].into()),
    ///     ..Default::default()
    /// };
    /// ctx.apply(&cm)?;
    /// let stored: ConfigMap = ctx.apply(&cm)?.object()?;
    /// # let _ = stored; Ok(()) }
    /// ```
    pub fn apply<K: Resource + Serialize>(&self, object: &K) -> Result<Answer<K>, Error> {
        let json = wit::apply(&serde_json::to_string(object)?)?;
        Ok(Answer::from_json(
            json,
            format_args!("the applied {}", K::KIND),
        ))
    }

    /// Patches object `name` of kind `K`. The [`Answer`] holds the object as stored;
    /// `.object()?` decodes it.
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// use cutover_guest_sdk::Patch;
    /// use k8s_openapi::api::apps::v1::Deployment;
    /// use serde_json::json;
    /// ctx.patch::<Deployment>("web", &Patch::Merge(json!({"spec": {"paused": true}})))?;
    /// let d: Deployment = ctx.patch("web", &Patch::Merge(json!({"spec": {"paused": false}})))?.object()?;
    /// # let _ = d; Ok(()) }
    /// ```
    pub fn patch<K: Resource>(&self, name: &str, patch: &Patch) -> Result<Answer<K>, Error> {
        self.patch_ref(&ObjectRef::of::<K>(name), patch)
    }

    /// Patches object `name` of the namespaced kind `K` in `namespace`.
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// use cutover_guest_sdk::Patch;
    /// use k8s_openapi::api::apps::v1::DaemonSet;
    /// use serde_json::json;
    /// let body = json!({"spec": {"updateStrategy": {"rollingUpdate": {"maxUnavailable": 2}}}});
    /// ctx.patch_in::<DaemonSet>("kube-system", "kube-proxy", &Patch::Strategic(body))?;
    /// # Ok(()) }
    /// ```
    pub fn patch_in<K>(
        &self,
        namespace: &str,
        name: &str,
        patch: &Patch,
    ) -> Result<Answer<K>, Error>
    where
        K: Resource<Scope = NamespaceResourceScope>,
    {
        self.patch_ref(&ObjectRef::of::<K>(name).in_namespace(namespace), patch)
    }

    fn patch_ref<K>(&self, target: &ObjectRef, patch: &Patch) -> Result<Answer<K>, Error> {
        let patch = match patch {
            Patch::Apply(body) => Patch::Apply(complete_apply_body(body, target)),
            other => other.clone(),
        };
        let json = self.patch_json(target, &patch)?;
        Ok(Answer::from_json(json, target))
    }

    /// Deletes object `name` of kind `K` (background propagation); an object already gone is
    /// not an error.
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// use k8s_openapi::api::apps::v1::Deployment;
    /// ctx.delete::<Deployment>("web-canary")?;
    /// # Ok(()) }
    /// ```
    pub fn delete<K: Resource>(&self, name: &str) -> Result<(), Error> {
        self.delete_dynamic(&ObjectRef::of::<K>(name))
    }

    /// Deletes object `name` of the namespaced kind `K` in `namespace`.
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// use k8s_openapi::api::core::v1::Pod;
    /// ctx.delete_in::<Pod>("shop", "web-1")?;
    /// # Ok(()) }
    /// ```
    pub fn delete_in<K: Resource<Scope = NamespaceResourceScope>>(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<(), Error> {
        self.delete_dynamic(&ObjectRef::of::<K>(name).in_namespace(namespace))
    }

    /// Sets the replica count of object `name` of kind `K` through its scale subresource.
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// use k8s_openapi::api::apps::v1::Deployment;
    /// ctx.scale::<Deployment>("web", 5)?;
    /// # Ok(()) }
    /// ```
    pub fn scale<K: Resource>(&self, name: &str, replicas: u32) -> Result<(), Error> {
        self.scale_dynamic(&ObjectRef::of::<K>(name), replicas)
    }

    /// Sets the replica count of object `name` of the namespaced kind `K` in `namespace`.
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// use k8s_openapi::api::apps::v1::StatefulSet;
    /// ctx.scale_in::<StatefulSet>("db", "postgres", 3)?;
    /// # Ok(()) }
    /// ```
    pub fn scale_in<K: Resource<Scope = NamespaceResourceScope>>(
        &self,
        namespace: &str,
        name: &str,
        replicas: u32,
    ) -> Result<(), Error> {
        self.scale_dynamic(&ObjectRef::of::<K>(name).in_namespace(namespace), replicas)
    }

    /// Waits, with a host-side watch, until object `name` of kind `K` meets `until` or
    /// `timeout` passes (then [`Error::Timeout`]). Fails fast with [`Error::Aborted`] when the
    /// condition can never be met. The [`Answer`] holds the object as last seen;
    /// `.object()?` decodes it, `None` once deleted.
    ///
    /// ```
    /// # use serde_json::json;
    /// # const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::manifest::Manifest::new("x", "0.1.0", "d", &[], &[]);
    /// # let fake = cutover_guest_sdk::testing::FakeCluster::new().with(json!({
    /// #     "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 3}}));
    /// # let ctx = fake.context(&M, json!({}))?;
    /// use cutover_guest_sdk::Condition;
    /// use k8s_openapi::api::apps::v1::Deployment;
    /// use std::time::Duration;
    /// // The answer is thrown away: no Deployment deserializer in the module.
    /// ctx.wait::<Deployment>("web", &Condition::RolledOut, Duration::from_secs(300))?;
    /// // Read: decoded here.
    /// let seen: Option<Deployment> = ctx.wait("web", &Condition::Ready, Duration::from_secs(60))?.object()?;
    /// assert_eq!(seen.and_then(|d| d.spec.replicas), Some(3));
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn wait<K: Resource>(
        &self,
        name: &str,
        until: &Condition,
        timeout: impl Into<Duration>,
    ) -> Result<Answer<Option<K>>, Error> {
        self.wait_ref(&ObjectRef::of::<K>(name), until, timeout.into())
    }

    /// Like [`Context::wait`], for object `name` of the namespaced kind `K` in `namespace`.
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// use cutover_guest_sdk::Condition;
    /// use k8s_openapi::api::core::v1::Pod;
    /// use std::time::Duration;
    /// ctx.wait_in::<Pod>("shop", "web-1", &Condition::Deleted, Duration::from_secs(60))?;
    /// # Ok(()) }
    /// ```
    pub fn wait_in<K>(
        &self,
        namespace: &str,
        name: &str,
        until: &Condition,
        timeout: impl Into<Duration>,
    ) -> Result<Answer<Option<K>>, Error>
    where
        K: Resource<Scope = NamespaceResourceScope>,
    {
        self.wait_ref(
            &ObjectRef::of::<K>(name).in_namespace(namespace),
            until,
            timeout.into(),
        )
    }

    /// Waits; typed callers answer `Option<K>`, which reads the host's `null` (object
    /// deleted) as `None`.
    fn wait_ref<T>(
        &self,
        target: &ObjectRef,
        until: &Condition,
        timeout: Duration,
    ) -> Result<Answer<T>, Error> {
        let json = wit::wait(&target.to_wit(), &until.to_wit(), millis_ceil(timeout))?;
        Ok(Answer::from_json(json, target))
    }
}

/// Waiting for many objects at once.
impl Context {
    /// Waits until every target is Current by kstatus's rules, as Helm 4's `--wait=watcher`
    /// computes them: no deletionTimestamp, the spec's generation observed, no
    /// `Reconciling=True` or `Stalled=True`, then the kind's own rule (a Deployment has every
    /// replica updated and available and no old ones left; a StatefulSet or DaemonSet every
    /// pod updated and ready; a Job is Complete; a Pod Ready; a PVC Bound; a LoadBalancer
    /// Service has an ingress; a CRD is Established), else its `Ready` condition, else Current
    /// once it exists. The host watches all targets together (at most 1,000; each needs the
    /// `wait` capability on its kind and namespace).
    ///
    /// Fails with [`Error::Aborted`] naming the first target that is Failed (a Deployment past
    /// its progress deadline, a Pod in CrashLoopBackOff, `Stalled=True`, a failed Job) as soon
    /// as it is seen, and with [`Error::Timeout`] naming the targets not yet Current, each with
    /// its status, when `timeout` passes.
    ///
    /// ```
    /// # use serde_json::json;
    /// # const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::manifest::Manifest::new("x", "0.1.0", "d", &[], &[]);
    /// # let fake = cutover_guest_sdk::testing::FakeCluster::new()
    /// #     .with(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}))
    /// #     .with(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}));
    /// # let ctx = fake.context(&M, json!({}))?;
    /// use cutover_guest_sdk::ObjectRef;
    /// use std::time::Duration;
    /// let targets = [
    ///     ObjectRef::new("apps/v1", "Deployment", "web"),
    ///     ObjectRef::new("v1", "Service", "web"),
    /// ];
    /// ctx.wait_current(&targets, Duration::from_secs(300))?;
    /// # assert_eq!(fake.call_lines(), ["wait-current 2 objects"]);
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn wait_current(
        &self,
        targets: &[ObjectRef],
        timeout: impl Into<Duration>,
    ) -> Result<(), Error> {
        let targets: Vec<WitObjectRef> = targets.iter().map(ObjectRef::to_wit).collect();
        Ok(wit::wait_current(&targets, millis_ceil(timeout.into()))?)
    }
}

/// Node and pod operations.
impl Context {
    /// Marks node `node` unschedulable (`kubectl cordon`). Needs `cluster/cordon`.
    ///
    /// ```
    /// # use serde_json::json;
    /// # const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::manifest::Manifest::new("x", "0.1.0", "d", &[], &[]);
    /// # let fake = cutover_guest_sdk::testing::FakeCluster::new().with(json!({
    /// #     "apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"}}));
    /// # let ctx = fake.context(&M, json!({}))?;
    /// ctx.cordon("node-1")?;
    /// # assert_eq!(fake.object("v1", "Node", None, "node-1").unwrap()["spec"]["unschedulable"], true);
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn cordon(&self, node: &str) -> Result<(), Error> {
        Ok(wit::cordon(node)?)
    }

    /// Marks node `node` schedulable again (`kubectl uncordon`). Needs `cluster/uncordon`.
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// ctx.uncordon("node-1")?;
    /// # Ok(()) }
    /// ```
    pub fn uncordon(&self, node: &str) -> Result<(), Error> {
        Ok(wit::uncordon(node)?)
    }

    /// Evicts pod `namespace/name` through the Eviction API, which honours
    /// PodDisruptionBudgets: a refusal by a budget is retried by the host until `timeout`,
    /// then [`Error::Timeout`]. A pod already gone is not an error. Needs `cluster/evict`.
    ///
    /// ```
    /// # use serde_json::json;
    /// # const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::manifest::Manifest::new("x", "0.1.0", "d", &[], &[]);
    /// # let fake = cutover_guest_sdk::testing::FakeCluster::new().with(json!({
    /// #     "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "shop"}}));
    /// # let ctx = fake.context(&M, json!({}))?;
    /// use std::time::Duration;
    /// ctx.evict("shop", "web-1", Duration::from_secs(120))?;
    /// # assert!(fake.object("v1", "Pod", Some("shop"), "web-1").is_none());
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn evict(
        &self,
        namespace: &str,
        name: &str,
        timeout: impl Into<Duration>,
    ) -> Result<(), Error> {
        Ok(wit::evict(namespace, name, millis_ceil(timeout.into()))?)
    }
}

/// Dynamic calls: any kind, by [`ObjectRef`], with `serde_json::Value` objects.
impl Context {
    /// Reads one object as JSON.
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// use cutover_guest_sdk::ObjectRef;
    /// let cert = ctx.get_dynamic(&ObjectRef::new("cert-manager.io/v1", "Certificate", "web-tls"))?;
    /// let ready = cert.pointer("/status/conditions/0/status") == Some(&"True".into());
    /// # let _ = ready; Ok(()) }
    /// ```
    pub fn get_dynamic(&self, target: &ObjectRef) -> Result<Value, Error> {
        self.get_ref(target)
    }

    /// Lists objects of `api_version`/`kind` as JSON.
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// use cutover_guest_sdk::ListParams;
    /// let routes = ctx.list_dynamic("gateway.networking.k8s.io/v1", "HTTPRoute", &ListParams::default().labels("app=web"))?;
    /// # let _ = routes; Ok(()) }
    /// ```
    pub fn list_dynamic(
        &self,
        api_version: &str,
        kind: &str,
        params: &ListParams,
    ) -> Result<Vec<Value>, Error> {
        let items = wit::list(&list_query(api_version, kind, params))?;
        items
            .iter()
            .map(|item| decode(item, format_args!("a listed {kind}")))
            .collect()
    }

    /// Server-side applies a whole manifest. The [`Answer`] holds the object as stored
    /// (`.json()?` or `.object()?` reads it).
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// use serde_json::json;
    /// let stored = ctx.apply_dynamic(&json!({
    ///     "apiVersion": "v1", "kind": "ConfigMap",
    ///     "metadata": {"name": "web-config"},
    ///     "data": {"mode": "canary"},
    /// }))?;
    /// let uid = stored.json()?["metadata"]["uid"].clone();
    /// # let _ = uid; Ok(()) }
    /// ```
    pub fn apply_dynamic(&self, manifest: &Value) -> Result<Answer<Value>, Error> {
        let json = wit::apply(&manifest.to_string())?;
        Ok(Answer::from_json(json, "the applied object"))
    }

    /// Patches one object; the [`Answer`] holds it as stored. The body is sent as given (for
    /// [`Patch::Apply`] it must carry `apiVersion`, `kind` and `metadata.name`).
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// use cutover_guest_sdk::{ObjectRef, Patch};
    /// use serde_json::json;
    /// let target = ObjectRef::new("apps/v1", "Deployment", "web");
    /// ctx.patch_dynamic(&target, &Patch::Merge(json!({"spec": {"replicas": 4}})))?;
    /// # Ok(()) }
    /// ```
    pub fn patch_dynamic(&self, target: &ObjectRef, patch: &Patch) -> Result<Answer<Value>, Error> {
        let json = self.patch_json(target, patch)?;
        Ok(Answer::from_json(json, target))
    }

    fn patch_json(&self, target: &ObjectRef, patch: &Patch) -> Result<String, Error> {
        let (kind, body) = patch.parts();
        Ok(wit::patch(&target.to_wit(), kind, &body.to_string())?)
    }

    /// Deletes one object (background propagation); an object already gone is not an error.
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// use cutover_guest_sdk::ObjectRef;
    /// ctx.delete_dynamic(&ObjectRef::new("v1", "Namespace", "scratch"))?;
    /// # Ok(()) }
    /// ```
    pub fn delete_dynamic(&self, target: &ObjectRef) -> Result<(), Error> {
        Ok(wit::delete(&target.to_wit())?)
    }

    /// Sets the replica count through the scale subresource.
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// use cutover_guest_sdk::ObjectRef;
    /// ctx.scale_dynamic(&ObjectRef::new("apps/v1", "StatefulSet", "db"), 3)?;
    /// # Ok(()) }
    /// ```
    pub fn scale_dynamic(&self, target: &ObjectRef, replicas: u32) -> Result<(), Error> {
        Ok(wit::scale(&target.to_wit(), replicas)?)
    }

    /// Waits until `target` meets `until` or `timeout` passes; the [`Answer`] holds the object
    /// as last seen (`.json()?` is `Value::Null` once deleted).
    ///
    /// ```no_run
    /// # fn f(ctx: &cutover_guest_sdk::Context) -> Result<(), cutover_guest_sdk::Error> {
    /// use cutover_guest_sdk::{Condition, ObjectRef};
    /// use std::time::Duration;
    /// let target = ObjectRef::new("apps/v1", "DaemonSet", "agent");
    /// ctx.wait_dynamic(&target, &Condition::RolledOut, Duration::from_secs(600))?;
    /// # Ok(()) }
    /// ```
    pub fn wait_dynamic(
        &self,
        target: &ObjectRef,
        until: &Condition,
        timeout: impl Into<Duration>,
    ) -> Result<Answer<Value>, Error> {
        self.wait_ref(target, until, timeout.into())
    }
}

pub(crate) fn list_query(api_version: &str, kind: &str, params: &ListParams) -> wit::ListQuery {
    wit::ListQuery {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
        namespace: params.namespace.to_wit(),
        label_selector: params.label_selector.clone(),
        field_selector: params.field_selector.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Namespace as NamespaceKind, Pod};
    use serde_json::json;

    #[test]
    fn object_refs_come_from_the_type() {
        let pod = ObjectRef::of::<Pod>("web-1");
        assert_eq!((pod.api_version.as_str(), pod.kind.as_str()), ("v1", "Pod"));
        assert_eq!(pod.namespace, None);
        let ns = ObjectRef::of::<NamespaceKind>("kube-system");
        assert_eq!(ns.to_string(), "Namespace kube-system");
        let w = pod.in_namespace("shop").to_wit();
        assert_eq!(w.namespace.as_deref(), Some("shop"));
    }

    #[test]
    fn list_namespaces_map_to_the_wit_convention() {
        let q = |lp: ListParams| list_query("v1", "Pod", &lp).namespace;
        assert_eq!(q(ListParams::default()), None);
        assert_eq!(q(ListParams::default().all_namespaces()), Some("*".into()));
        assert_eq!(q(ListParams::default().in_namespace("a")), Some("a".into()));
        let full = list_query(
            "v1",
            "Pod",
            &ListParams::default()
                .labels("app=web")
                .fields("spec.nodeName=n1"),
        );
        assert_eq!(full.label_selector.as_deref(), Some("app=web"));
        assert_eq!(full.field_selector.as_deref(), Some("spec.nodeName=n1"));
    }

    #[test]
    fn apply_bodies_get_their_identity() {
        let target = ObjectRef::new("apps/v1", "Deployment", "web").in_namespace("shop");
        let body = complete_apply_body(&json!({"spec": {"replicas": 2}}), &target);
        assert_eq!(
            body,
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "shop"},
                "spec": {"replicas": 2},
            })
        );
        // What the caller wrote wins.
        let kept = complete_apply_body(&json!({"metadata": {"name": "other"}}), &target);
        assert_eq!(kept["metadata"]["name"], "other");
    }

    #[test]
    fn field_conditions_carry_json_text() {
        match Condition::field("/status/phase", "Running").to_wit() {
            wit::Condition::Field(f) => {
                assert_eq!(f.pointer, "/status/phase");
                assert_eq!(f.equals, "\"Running\"");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn decoding_names_the_object_and_accepts_null_as_none() {
        let none: Option<Pod> = decode("null", "Pod a/b").unwrap();
        assert!(none.is_none());
        // List items may lack apiVersion/kind; k8s-openapi types accept that.
        let pod: Pod = decode(r#"{"metadata":{"name":"x"}}"#, "Pod a/x").unwrap();
        assert_eq!(pod.metadata.name.as_deref(), Some("x"));
        let e = decode::<Pod>(r#"{"kind":"Node"}"#, "Pod a/y").unwrap_err();
        assert!(
            e.is_invalid() && e.reason().starts_with("decoding Pod a/y: "),
            "{e}"
        );
    }
}
