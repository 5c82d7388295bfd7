//! The cluster layer: every Kubernetes operation the host performs for a policy, on kube-rs.
//!
//! One [`Cluster`] talks to one API server (a real one or the simulator, through any
//! `kube::Client`). Objects cross as `serde_json::Value`, exactly as the server sent them, since
//! they cross the WIT boundary as JSON text. Kinds are resolved through discovery (one request
//! per group-version, cached), so any kind the server serves works, CRDs included.
//!
//! Where things happen: [`connect`](Cluster::connect) (kubeconfig rules), `objects.rs`
//! (get/list/apply/patch/delete/scale), `nodes.rs` (cordon/uncordon), `evict.rs` (the Eviction
//! API), `wait.rs` (watches), [`readiness`] (when an object counts as ready or rolled out),
//! `wait_current.rs` with [`kstatus`] (many objects Current, as Helm 4's `--wait=watcher`).

mod body_limit;
mod bounded;
mod connect;
mod error;
mod evict;
pub mod kstatus;
#[cfg(test)]
mod loopback;
mod nodes;
mod objects;
mod pods;
pub mod readiness;
mod resolve;
pub(crate) mod retry;
pub mod target;
mod wait;
mod wait_all;
mod wait_current;

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use connect::{ConnectOptions, Target};
pub use error::ClusterError;
pub use objects::{ListBounds, Selectors};
pub use target::{Located, LocatedList};
pub use wait::WaitOptions;
pub use wait_all::{MAX_TARGETS as MAX_WAIT_ALL_TARGETS, SetCondition};
pub use wait_current::MAX_TARGETS as MAX_WAIT_CURRENT_TARGETS;

use cutover_clock::Clock;
pub(crate) use error::Ctx;
use resolve::DiscoveryCache;

/// What a delete or an eviction did: removed the object, or found it already gone (which
/// counts as done, as `kubectl delete --ignore-not-found` and `kubectl drain` have it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    AlreadyGone,
}

/// The field manager cutover's server-side applies and patches are recorded under, unless a
/// release gives its own ([`release_field_manager`]).
pub const FIELD_MANAGER: &str = "cutover";

/// The field manager of a release's applies and patches: `cutover-<release>`.
pub fn release_field_manager(release: &str) -> String {
    format!("{FIELD_MANAGER}-{release}")
}

/// A handle on one cluster: a kube-rs client, the run's namespace, whether mutations are dry
/// runs, and the discovery caches. Cloning is cheap and clones share the caches.
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    namespace: String,
    dry_run: bool,
    /// The field manager applies and patches are recorded under: the release's own.
    field_manager: String,
    /// The API server URL for error messages; `None` for an in-process client.
    server: Option<String>,
    /// The server-side timeout of each watch request (`timeoutSeconds`), below the client's
    /// read timeout so that a quiet watch ends cleanly and is resumed, never cut by the client.
    watch_timeout_secs: u32,
    shared: Arc<Shared>,
}

/// kube-rs's default watch timeout (the API server's own limit is 30 minutes).
const DEFAULT_WATCH_TIMEOUT_SECS: u32 = 290;

/// State shared by every clone of a `Cluster`.
#[derive(Debug, Default)]
struct Shared {
    discovery: DiscoveryCache,
    /// The apiVersion of the Eviction body this server takes, decided once (see `evict.rs`).
    eviction_version: tokio::sync::OnceCell<String>,
    /// The jitter and clock of every retry backoff (see `retry.rs`).
    retrier: retry::Retrier,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("server", &self.server)
            .field("namespace", &self.namespace)
            .field("dry_run", &self.dry_run)
            .finish_non_exhaustive()
    }
}

/// Names one object. `api_version` is `v1` for the core group, otherwise `group/version`.
/// `namespace` is ignored for cluster-scoped kinds; for a namespaced kind, `None` means the
/// run's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// `v1`, `apps/v1`, ...
    pub api_version: String,
    /// `Deployment`, `Node`, ...
    pub kind: String,
    /// The object's namespace; `None` for the run's namespace (or a cluster-scoped kind).
    pub namespace: Option<String>,
    /// The object's name.
    pub name: String,
}

impl ObjectRef {
    /// A reference to `kind` `name` of `api_version`, in the run's namespace.
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

    /// The same reference in namespace `ns`.
    pub fn in_namespace(mut self, ns: impl Into<String>) -> Self {
        self.namespace = Some(ns.into());
        self
    }
}

impl fmt::Display for ObjectRef {
    /// `deployment shop/web`, or `node node-1` without a namespace.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe(&self.kind, self.namespace.as_deref(), &self.name))
    }
}

/// Which objects [`Cluster::list`] returns.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// `v1`, `apps/v1`, ...
    pub api_version: String,
    /// `Pod`, `Deployment`, ...
    pub kind: String,
    /// `None`: the run's namespace (for namespaced kinds); `Some("*")`: all namespaces.
    pub namespace: Option<String>,
    /// A label selector as `kubectl -l` takes it: `app=web,tier!=cache`.
    pub label_selector: Option<String>,
    /// A field selector as `kubectl --field-selector` takes it: `spec.nodeName=node-1`.
    pub field_selector: Option<String>,
}

/// How [`Cluster::patch`] reads its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PatchKind {
    /// RFC 7386 JSON merge patch.
    Merge,
    /// RFC 6902 JSON patch: a JSON array of operations.
    Json,
    /// Kubernetes strategic merge patch (built-in kinds only).
    Strategic,
    /// Server-side apply of a partial object, field manager `cutover`, conflicts forced.
    Apply,
}

/// What [`Cluster::wait`] waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// Helm's readiness rules for the kind (see [`readiness::ready`]).
    Ready,
    /// `kubectl rollout status` (see [`readiness::rolled_out`]).
    RolledOut,
    /// The object is gone, or was replaced by a new object with another uid.
    Deleted,
    /// The object with this uid is gone, or replaced by one of another uid.
    DeletedUid(String),
    /// The value at a JSON pointer (`/status/phase`) equals `equals`.
    Field {
        /// An RFC 6901 JSON pointer into the object.
        pointer: String,
        /// The value to wait for.
        equals: serde_json::Value,
    },
}

/// `deployment shop/web`; `node node-1` when there is no namespace.
pub(crate) fn describe(kind: &str, namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{} {ns}/{name}", kind.to_lowercase()),
        None => format!("{} {name}", kind.to_lowercase()),
    }
}

impl Cluster {
    /// Wraps an existing client (the simulator's in-process client, or one built by the caller).
    /// `namespace` is the run's namespace. Transient failures are retried by this layer, so the
    /// client should not carry kube-rs's default retry layer (see `retry.rs`).
    pub fn from_client(client: kube::Client, namespace: String, clock: Clock) -> Cluster {
        Cluster {
            client,
            namespace,
            dry_run: false,
            field_manager: FIELD_MANAGER.to_string(),
            server: None,
            watch_timeout_secs: DEFAULT_WATCH_TIMEOUT_SECS,
            shared: Arc::new(Shared {
                retrier: retry::Retrier {
                    jitter: retry::Jitter::default(),
                    clock,
                },
                ..Shared::default()
            }),
        }
    }

    /// Seeds the jitter of every retry backoff (eviction retries included), so that a run on the
    /// simulator repeats exactly, virtual timings included. Real clusters keep random jitter.
    pub fn with_jitter_seed(self, seed: u64) -> Cluster {
        self.shared.retrier.jitter.seed(seed);
        self
    }

    /// The clock this cluster's retries, waits and deadlines follow.
    pub fn clock(&self) -> &Clock {
        &self.shared.retrier.clock
    }

    /// Makes every mutation a server-side dry run (`dryRun=All`): apply, patch, delete, scale,
    /// cordon, uncordon and evict are validated by the server but change nothing, and
    /// [`wait`](Cluster::wait) returns the current object at once.
    pub fn with_dry_run(mut self, dry_run: bool) -> Cluster {
        self.dry_run = dry_run;
        self
    }

    /// Records applies and patches under `manager` (a release's own, so that re-applying one
    /// revision's objects drops the fields a later revision set and this one does not).
    pub fn with_field_manager(mut self, manager: impl Into<String>) -> Cluster {
        self.field_manager = manager.into();
        self
    }

    /// The field manager of applies and patches.
    pub fn field_manager(&self) -> &str {
        &self.field_manager
    }

    /// Whether mutations are dry runs.
    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// The run's namespace: where namespaced objects without a namespace live.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Runs one kube-rs request with this cluster's retries (and their jitter and clock):
    /// `idempotent` ones after any transient failure, others only after a 429.
    pub(crate) async fn retried<T, F, Fut>(
        &self,
        idempotent: bool,
        attempt: F,
    ) -> Result<T, kube::Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, kube::Error>>,
    {
        let policy = if idempotent {
            retry::Retry::Always
        } else {
            retry::Retry::Rejected
        };
        self.shared.retrier.send(policy, attempt).await
    }

    /// The underlying kube-rs client.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    fn ctx<'a>(&'a self, op: &'a str, what: &'a str) -> Ctx<'a> {
        Ctx {
            op,
            what,
            server: self.server.as_deref(),
        }
    }

    /// Checks a reference by Kubernetes' name rules, then resolves its kind and namespace: at
    /// most one discovery request per group-version (cached). The result is what a capability
    /// check looks at and exactly what the operations on it reach.
    pub async fn locate(&self, target: &ObjectRef) -> Result<Located, ClusterError> {
        target::check_ref(target).map_err(|e| {
            let shown = describe(
                &crate::text::escape(&target.kind, 64),
                target
                    .namespace
                    .as_deref()
                    .map(|ns| crate::text::escape(ns, 64))
                    .as_deref(),
                &crate::text::escape(&target.name, 64),
            );
            ClusterError::Invalid(self.ctx("resolve", &shown).line(e))
        })?;
        let early = target.to_string();
        let ctx = self.ctx("resolve", &early);
        let resolved = self
            .shared
            .discovery
            .resolve(
                &self.client,
                &self.shared.retrier,
                &target.api_version,
                &target.kind,
                &ctx,
            )
            .await?;
        let namespace = resolved.namespaced.then(|| {
            target
                .namespace
                .clone()
                .unwrap_or_else(|| self.namespace.clone())
        });
        let what = describe(&target.kind, namespace.as_deref(), &target.name);
        Ok(Located {
            resolved,
            namespace,
            name: target.name.clone(),
            what,
        })
    }

    /// Checks a list query (all but its selectors, which travel encoded in the query string and
    /// are parsed by the server), then resolves its kind and namespace as [`locate`](Cluster::locate) does.
    pub async fn locate_list(&self, query: &ListQuery) -> Result<LocatedList, ClusterError> {
        let early = format!("{} objects", crate::text::escape(&query.kind, 64));
        let ctx = self.ctx("list", &early);
        target::check_list(query).map_err(|e| ClusterError::Invalid(ctx.line(e)))?;
        let resolved = self
            .shared
            .discovery
            .resolve(
                &self.client,
                &self.shared.retrier,
                &query.api_version,
                &query.kind,
                &ctx,
            )
            .await?;
        let namespace = match query.namespace.as_deref() {
            _ if !resolved.namespaced => None,
            Some("*") => None,
            Some(ns) => Some(ns.to_string()),
            None => Some(self.namespace.clone()),
        };
        let what = match &namespace {
            Some(ns) => format!("{} in namespace {ns}", query.kind),
            None if resolved.namespaced => format!("{} in all namespaces", query.kind),
            None => query.kind.clone(),
        };
        Ok(LocatedList {
            resolved,
            namespace,
            what,
        })
    }

    /// A node, located without discovery: nodes are core v1 and cluster-scoped everywhere.
    pub fn locate_node(&self, node: &str) -> Result<Located, ClusterError> {
        target::check_node(node).map_err(|e| {
            let shown = describe("Node", None, &crate::text::escape(node, 64));
            ClusterError::Invalid(self.ctx("resolve", &shown).line(e))
        })?;
        let what = describe("Node", None, node);
        Ok(Located {
            resolved: nodes::resolved(),
            namespace: None,
            name: node.to_string(),
            what,
        })
    }

    /// A pod, located without discovery: pods are core v1 and namespaced everywhere.
    pub fn locate_pod(&self, namespace: &str, name: &str) -> Result<Located, ClusterError> {
        let reference = ObjectRef::new("v1", "Pod", name).in_namespace(namespace);
        target::check_ref(&reference).map_err(|e| {
            let shown = describe(
                "Pod",
                Some(&crate::text::escape(namespace, 64)),
                &crate::text::escape(name, 64),
            );
            ClusterError::Invalid(self.ctx("resolve", &shown).line(e))
        })?;
        let what = reference.to_string();
        Ok(Located {
            resolved: pods::resolved(),
            namespace: Some(namespace.to_string()),
            name: name.to_string(),
            what,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_objects() {
        assert_eq!(
            describe("Deployment", Some("shop"), "web"),
            "deployment shop/web"
        );
        assert_eq!(describe("Node", None, "n1"), "node n1");
        let r = ObjectRef::new("apps/v1", "Deployment", "web").in_namespace("shop");
        assert_eq!(r.to_string(), "deployment shop/web");
    }

    #[test]
    fn cluster_is_send_sync_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<Cluster>();
    }

    /// Host imports run on wasmtime's async executor, which needs `Send` futures: this does not
    /// run, it only has to compile.
    #[allow(dead_code)]
    fn futures_are_send(c: &Cluster, r: &ObjectRef, q: &ListQuery, l: &Located, ll: &LocatedList) {
        fn send<T: Send>(_: T) {}
        let t = std::time::Duration::ZERO;
        send(Cluster::connect(&ConnectOptions::default(), Clock::tokio()));
        send(c.check_reachable(t));
        send(c.locate(r));
        send(c.locate_list(q));
        send(c.get(l));
        let bounds = ListBounds {
            page: 1,
            max_items: 1,
            max_bytes: 1,
        };
        send(c.list(ll, &Selectors::default(), bounds));
        send(c.apply(l, serde_json::Value::Null));
        send(c.patch(l, PatchKind::Merge, serde_json::Value::Null));
        send(c.delete(l));
        send(c.scale(l, 1));
        send(c.cordon(l));
        send(c.uncordon(l));
        send(c.evict(l, t));
        send(c.wait(l, &Condition::Ready, t, WaitOptions::default()));
    }
}
