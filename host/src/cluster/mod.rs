//! The cluster layer: every Kubernetes operation the host performs for a policy, on kube-rs.
//!
//! One [`Cluster`] talks to one API server (a real one or the simulator, through any
//! `kube::Client`). Objects cross as `serde_json::Value`, exactly as the server sent them, since
//! they cross the WIT boundary as JSON text. Kinds are resolved through discovery (one request
//! per group-version, cached), so any kind the server serves works, CRDs included.
//!
//! Where things happen: [`connect`](Cluster::connect) (kubeconfig rules), `objects.rs`
//! (get/list/apply/patch/delete/scale), `nodes.rs` (cordon/uncordon), `evict.rs` (the Eviction
//! API), `wait.rs` (watches), [`readiness`] (when an object counts as ready or rolled out).

mod connect;
mod error;
mod evict;
mod nodes;
mod objects;
mod pods;
pub mod readiness;
mod resolve;
mod retry;
mod wait;

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use connect::{ConnectOptions, Target};
pub use error::ClusterError;

use error::Ctx;
use resolve::{DiscoveryCache, Resolved};

/// The field manager cutover's server-side applies and patches are recorded under.
pub const FIELD_MANAGER: &str = "cutover";

/// A handle on one cluster: a kube-rs client, the run's namespace, whether mutations are dry
/// runs, and the discovery caches. Cloning is cheap and clones share the caches.
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    namespace: String,
    dry_run: bool,
    /// The API server URL for error messages; `None` for an in-process client.
    server: Option<String>,
    shared: Arc<Shared>,
}

/// State shared by every clone of a `Cluster`.
#[derive(Debug, Default)]
struct Shared {
    discovery: DiscoveryCache,
    /// The apiVersion of the Eviction body this server takes, decided once (see `evict.rs`).
    eviction_version: tokio::sync::OnceCell<String>,
    /// The jitter of every retry backoff (see `retry.rs`).
    jitter: retry::Jitter,
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

/// One object as a resolved request target.
#[derive(Debug, Clone)]
struct Located {
    resolved: Resolved,
    /// The namespace, for namespaced kinds only.
    namespace: Option<String>,
    name: String,
    /// `deployment shop/web`, for messages.
    what: String,
}

impl Located {
    fn url_path(&self) -> String {
        self.resolved.url_path(self.namespace.as_deref())
    }

    fn request(&self) -> kube::core::Request {
        kube::core::Request::new(self.url_path())
    }
}

/// `deployment shop/web`; `node node-1` when there is no namespace.
pub(crate) fn describe(kind: &str, namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{} {ns}/{name}", kind.to_lowercase()),
        None => format!("{} {name}", kind.to_lowercase()),
    }
}

/// Whether `s` can be one segment of a request path. Names come from policies, which are not
/// trusted: a name like `../../secrets/x` must not reach another resource's URL. These are the
/// API server's own rules for names (`IsValidPathSegmentName`).
pub(crate) fn valid_path_segment(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '%']) && s.len() <= 253
}

impl Cluster {
    /// Wraps an existing client (the simulator's in-process client, or one built by the caller).
    /// `namespace` is the run's namespace. Transient failures are retried by this layer, so the
    /// client should not carry kube-rs's default retry layer (see `retry.rs`).
    pub fn from_client(client: kube::Client, namespace: String) -> Cluster {
        Cluster {
            client,
            namespace,
            dry_run: false,
            server: None,
            shared: Arc::default(),
        }
    }

    /// Seeds the jitter of every retry backoff (eviction retries included), so that a run on the
    /// simulator repeats exactly, virtual timings included. Real clusters keep random jitter.
    pub fn with_jitter_seed(self, seed: u64) -> Cluster {
        self.shared.jitter.seed(seed);
        self
    }

    /// Makes every mutation a server-side dry run (`dryRun=All`): apply, patch, delete, scale,
    /// cordon, uncordon and evict are validated by the server but change nothing, and
    /// [`wait`](Cluster::wait) returns the current object at once.
    pub fn with_dry_run(mut self, dry_run: bool) -> Cluster {
        self.dry_run = dry_run;
        self
    }

    /// Whether mutations are dry runs.
    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// The run's namespace: where namespaced objects without a namespace live.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The underlying kube-rs client.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// The namespace an operation on `kind` reaches: `None` for a cluster-scoped kind, else
    /// `namespace` or, without one, the run's. This is exactly the namespace the operations of
    /// this type use, so a capability check made with it covers the request that follows.
    /// Costs at most one discovery request per group-version (cached).
    pub async fn effective_namespace(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Result<Option<String>, ClusterError> {
        let what = format!("{kind} objects");
        let ctx = self.ctx("resolve", &what);
        let resolved = self
            .shared
            .discovery
            .resolve(&self.client, &self.shared.jitter, api_version, kind, &ctx)
            .await?;
        Ok(resolved
            .namespaced
            .then(|| namespace.map_or_else(|| self.namespace.clone(), str::to_string)))
    }

    fn ctx<'a>(&'a self, op: &'a str, what: &'a str) -> Ctx<'a> {
        Ctx {
            op,
            what,
            server: self.server.as_deref(),
        }
    }

    /// Resolves a target's kind and namespace, and checks its name, before any request about it.
    async fn locate(&self, target: &ObjectRef, op: &str) -> Result<Located, ClusterError> {
        let early = target.to_string();
        let resolved = self
            .shared
            .discovery
            .resolve(
                &self.client,
                &self.shared.jitter,
                &target.api_version,
                &target.kind,
                &self.ctx(op, &early),
            )
            .await?;
        let namespace = resolved.namespaced.then(|| {
            target
                .namespace
                .clone()
                .unwrap_or_else(|| self.namespace.clone())
        });
        let what = describe(&target.kind, namespace.as_deref(), &target.name);
        let ctx = self.ctx(op, &what);
        if !valid_path_segment(&target.name) {
            return Err(ClusterError::Invalid(ctx.line(format_args!(
                "{:?} is not a valid object name",
                target.name
            ))));
        }
        if let Some(ns) = &namespace
            && !valid_path_segment(ns)
        {
            return Err(ClusterError::Invalid(
                ctx.line(format_args!("{ns:?} is not a valid namespace")),
            ));
        }
        Ok(Located {
            resolved,
            namespace,
            name: target.name.clone(),
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
    fn path_segments() {
        assert!(valid_path_segment("web-1.example"));
        for bad in ["", ".", "..", "a/b", "../x", "a%2fb"] {
            assert!(!valid_path_segment(bad), "{bad:?}");
        }
    }

    #[test]
    fn cluster_is_send_sync_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<Cluster>();
    }

    /// Host imports run on wasmtime's async executor, which needs `Send` futures: this does not
    /// run, it only has to compile.
    #[allow(dead_code)]
    fn futures_are_send(c: &Cluster, r: &ObjectRef, q: &ListQuery) {
        fn send<T: Send>(_: T) {}
        let t = std::time::Duration::ZERO;
        send(Cluster::connect(&ConnectOptions::default()));
        send(c.check_reachable());
        send(c.effective_namespace("v1", "Pod", None));
        send(c.get(r));
        send(c.list(q));
        send(c.apply(serde_json::Value::Null));
        send(c.patch(r, PatchKind::Merge, serde_json::Value::Null));
        send(c.delete(r));
        send(c.scale(r, 1));
        send(c.cordon("n"));
        send(c.uncordon("n"));
        send(c.evict("ns", "p", t));
        send(c.wait(r, &Condition::Ready, t));
    }
}
