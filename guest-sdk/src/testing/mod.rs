//! A fake cluster for a policy's native unit tests: objects as JSON, every call recorded,
//! answers scripted per call, a virtual clock, and the manifest's parameter checks and defaults.
//!
//! Natively there is no host: a host call outside a test context fails with
//! [`Error::Unavailable`] saying so (and `now`, `sleep`, `deadline`, `progress`, which cannot
//! fail, panic with that message), instead of aborting the whole test binary.
//! [`FakeCluster::context`] makes a [`Context`] and makes the fake this thread's host: every
//! call the policy makes on this thread (the `info!` macros included) goes to it. `cargo test`
//! runs each test on a thread of its own.
//!
//! ```
//! use cutover_guest_sdk::testing::FakeCluster;
//! use cutover_guest_sdk::{Condition, Context, Error, Patch};
//! use k8s_openapi::api::apps::v1::Deployment;
//! use serde_json::json;
//! use std::time::Duration;
//!
//! fn resize(ctx: &Context) -> Result<String, Error> {
//!     ctx.patch::<Deployment>("web", &Patch::Merge(json!({"spec": {"replicas": 4}})))?;
//!     ctx.wait::<Deployment>("web", &Condition::RolledOut, Duration::from_secs(300))?;
//!     Ok("scaled".into())
//! }
//!
//! const MANIFEST: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::policy_manifest! {
//!     name: "resize", version: "0.1.0", description: "d", params: [], capabilities: [],
//! };
//!
//! let fake = FakeCluster::new().namespace("shop").with(json!({
//!     "apiVersion": "apps/v1", "kind": "Deployment",
//!     "metadata": {"name": "web", "namespace": "shop"}, "spec": {"replicas": 1},
//! }));
//! let ctx = fake.context(&MANIFEST, json!({}))?;
//! assert_eq!(resize(&ctx)?, "scaled");
//! assert_eq!(fake.call_lines(), ["patch Deployment shop/web", "wait Deployment shop/web"]);
//! let web = fake.object("apps/v1", "Deployment", Some("shop"), "web").unwrap();
//! assert_eq!(web["spec"]["replicas"], 4);
//!
//! // A scripted answer: the next wait times out.
//! fake.respond("wait", "Deployment shop/web", Err(Error::timeout("not rolled out in 5m")));
//! assert!(resize(&ctx).unwrap_err().is_timeout());
//! # Ok::<(), Error>(())
//! ```

mod native;
mod params;
mod probes;
mod store;

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use serde_json::Value;

use crate::manifest::Manifest;
use crate::{Context, Error, Level, Request, Revision, Sample, Timestamp};

pub(crate) use native::{cluster, inputs, probe, revisions, rollout, runtime};
use store::State;

/// 2026-01-01T00:00:00Z: where a fake cluster's clock starts.
const EPOCH_MS: u64 = 1_767_225_600_000;
/// The host's default `--timeout`.
const DEFAULT_DEADLINE: Duration = Duration::from_secs(300);

thread_local! {
    static CURRENT: RefCell<Option<FakeCluster>> = const { RefCell::new(None) };
}

/// A cluster in memory that answers a policy's host calls in a native test.
///
/// - **Objects** are JSON ([`FakeCluster::with`], [`FakeCluster::insert`],
///   [`FakeCluster::object`]). `get`, `list` (label selectors `k=v`, `k!=v`, `k`, `!k`; field
///   selectors `path=value`, `path!=value`), `apply`, `patch` (merge, JSON patch; a strategic
///   merge patch is read as a merge patch), `delete`, `scale`, `cordon`, `uncordon` and `evict`
///   act on them as the API server would in the simple cases; on a dry run nothing changes.
///   A target without a namespace is in the run's namespace, unless its kind is one of
///   Kubernetes' cluster-scoped built-ins (Node, Namespace, PersistentVolume, ...) or the fake
///   holds a cluster-scoped object of that name.
/// - **`wait`** is met at once or never: `deleted` when the object is absent, `deleted-uid`
///   when absent or of another uid, `field` when the field holds the value, `ready` and
///   `rolled-out` when the object exists (script an answer for the other outcomes). A wait
///   that is not met moves the clock on by its timeout (at most to the deadline) and fails
///   with [`Error::Timeout`], as the host's would.
/// - **`wait-current`** is met when every target exists (recorded as one call
///   `wait-current <n> objects`, its body the targets and `timeoutMs`); script an answer for
///   a Failed target ([`Error::aborted`]) or other outcomes.
/// - **Calls** are recorded in order ([`FakeCluster::calls`], [`FakeCluster::call_lines`]);
///   log lines and progress separately ([`FakeCluster::logs`], [`FakeCluster::progress`]).
/// - **Scripted answers** ([`FakeCluster::respond`]) replace the fake's own for a matching
///   call: an error, or the JSON the host would return.
/// - **The clock** is virtual: it starts at 2026-01-01T00:00:00Z with the deadline 5 minutes
///   later (the host's default `--timeout`); `sleep` moves it on, and stops at the deadline.
///
/// Cloning gives another handle on the same cluster.
#[derive(Clone, Default)]
pub struct FakeCluster {
    state: Rc<RefCell<State>>,
}

/// One host call a policy made, as [`FakeCluster::calls`] records it.
///
/// ```
/// use cutover_guest_sdk::testing::Call;
/// let call = Call { operation: "cordon", target: "Node node-1".into(), body: None };
/// assert_eq!(call.to_string(), "cordon Node node-1");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The WIT function: `get`, `list`, `apply`, `patch`, `delete`, `scale`, `wait`, `wait-current`,
    /// `cordon`, `uncordon`, `evict`, `record`, `list-revisions`, `get-revision`,
    /// `checkpoint`, `pause`; `probe` for both probe calls.
    pub operation: &'static str,
    /// What it named: `Deployment shop/web`, `Node node-1`, `Pod in all namespaces`, `Pod in
    /// shop`, a revision's number, `the run's revision` (record, checkpoint), `the release
    /// history` (list-revisions), nothing for `pause`; the namespace is the one the call
    /// resolved to. For a probe: `http GET <url>` or `prometheus <query>`.
    pub target: String,
    /// What it sent besides the target: a patch's or an apply's body, `{"replicas": n}` for a
    /// scale, `{"until": ..., "timeoutMs": n}` for a wait, `{"targets": [...], "timeoutMs": n}`
    /// for a wait-current, `{"timeoutMs": n}` for an eviction,
    /// a list's selectors, a record's manifests and description, a pause's status (a JSON
    /// string); `{"timeoutMs", "maxBytes", "jsonPath"}` for an HTTP probe, `{"address",
    /// "timeoutMs"}` for a Prometheus query.
    pub body: Option<Value>,
}

impl fmt::Display for Call {
    /// `operation target`: `patch Deployment shop/web`; `pause` alone.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.target.is_empty() {
            f.write_str(self.operation)
        } else {
            write!(f, "{} {}", self.operation, self.target)
        }
    }
}

impl FakeCluster {
    /// An empty cluster; the run's namespace is `default`.
    ///
    /// ```
    /// let fake = cutover_guest_sdk::testing::FakeCluster::new();
    /// assert!(fake.calls().is_empty());
    /// ```
    pub fn new() -> Self {
        FakeCluster::default()
    }

    /// Sets the run's namespace (`-n`); set it before inserting objects without one.
    ///
    /// ```
    /// use cutover_guest_sdk::testing::FakeCluster;
    /// let fake = FakeCluster::new().namespace("shop");
    /// let ctx = fake.context(&cutover_guest_sdk::policy_manifest! {
    ///     name: "x", version: "0.1.0", description: "d", params: [], capabilities: [],
    /// }, serde_json::json!({}))?;
    /// assert_eq!(ctx.namespace(), "shop");
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn namespace(self, namespace: impl Into<String>) -> Self {
        self.state.borrow_mut().namespace = namespace.into();
        self
    }

    /// Makes the contexts it builds dry runs: calls are recorded, nothing changes, and the
    /// revisions reads answer the revisions added, as the host answers a dry run's from the
    /// stored history.
    ///
    /// ```
    /// use cutover_guest_sdk::testing::FakeCluster;
    /// let fake = FakeCluster::new().dry_run(true);
    /// # let _ = fake;
    /// ```
    pub fn dry_run(self, dry_run: bool) -> Self {
        self.state.borrow_mut().dry_run = dry_run;
        self
    }

    /// Puts the run's deadline `after` from the clock's present.
    ///
    /// ```
    /// use cutover_guest_sdk::testing::FakeCluster;
    /// use std::time::Duration;
    /// let fake = FakeCluster::new().deadline_after(Duration::from_secs(60));
    /// assert_eq!(fake.deadline().saturating_duration_since(fake.now()), Duration::from_secs(60));
    /// ```
    pub fn deadline_after(self, after: Duration) -> Self {
        {
            let mut state = self.state.borrow_mut();
            state.deadline_ms = state.now_ms.saturating_add(millis(after));
        }
        self
    }

    /// Adds (or replaces) an object, for building a cluster in one expression. Panics with
    /// the reason when the object lacks `apiVersion`, `kind` or `metadata.name`: it is the
    /// test's own input.
    ///
    /// ```
    /// use cutover_guest_sdk::testing::FakeCluster;
    /// let fake = FakeCluster::new().with(serde_json::json!({
    ///     "apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
    /// }));
    /// assert!(fake.object("v1", "Node", None, "node-1").is_some());
    /// ```
    pub fn with(self, object: Value) -> Self {
        if let Err(e) = self.insert(object) {
            panic!("FakeCluster::with: {e}");
        }
        self
    }

    /// Adds (or replaces) an object. Without `metadata.namespace`, a namespaced kind lands in
    /// the run's namespace; without `metadata.uid`, it gets one.
    ///
    /// ```
    /// use cutover_guest_sdk::testing::FakeCluster;
    /// let fake = FakeCluster::new();
    /// assert!(fake.insert(serde_json::json!({"kind": "Pod"})).unwrap_err().is_invalid());
    /// ```
    pub fn insert(&self, object: Value) -> Result<(), Error> {
        self.state.borrow_mut().insert(object).map(drop)
    }

    /// The object as the fake holds it now (`namespace: None` for a cluster-scoped one).
    ///
    /// ```
    /// let fake = cutover_guest_sdk::testing::FakeCluster::new();
    /// assert!(fake.object("v1", "Pod", Some("shop"), "web-1").is_none());
    /// ```
    pub fn object(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        self.state
            .borrow()
            .object(api_version, kind, namespace, name)
            .cloned()
    }

    /// Every object the fake holds, ordered by api-version, kind, namespace and name.
    ///
    /// ```
    /// assert!(cutover_guest_sdk::testing::FakeCluster::new().objects().is_empty());
    /// ```
    pub fn objects(&self) -> Vec<Value> {
        self.state.borrow().objects.values().cloned().collect()
    }

    /// Scripts the answer to the next call of `operation` (a [`Call::operation`]) whose
    /// [`Call::target`] is `target` (`"*"`: any): an error, or the JSON the host would return
    /// (ignored by calls that return nothing; an array of objects for `list`). Scripted
    /// answers are used once each, in the order given, and change nothing in the fake.
    ///
    /// ```
    /// use cutover_guest_sdk::Error;
    /// use cutover_guest_sdk::testing::FakeCluster;
    /// let fake = FakeCluster::new();
    /// fake.respond("evict", "Pod shop/web-1", Err(Error::timeout("the budget web allows no disruption")));
    /// ```
    pub fn respond(&self, operation: &str, target: &str, answer: Result<Value, Error>) {
        self.script(operation, target, answer, false);
    }

    /// Like [`FakeCluster::respond`], for every matching call from now on.
    ///
    /// ```
    /// use cutover_guest_sdk::Error;
    /// use cutover_guest_sdk::testing::FakeCluster;
    /// let fake = FakeCluster::new();
    /// fake.respond_always("get", "*", Err(Error::unavailable("the API server is down")));
    /// ```
    pub fn respond_always(&self, operation: &str, target: &str, answer: Result<Value, Error>) {
        self.script(operation, target, answer, true);
    }

    fn script(&self, operation: &str, target: &str, answer: Result<Value, Error>, always: bool) {
        self.state.borrow_mut().scripts.push(store::Script {
            operation: operation.to_string(),
            target: target.to_string(),
            answer,
            always,
        });
    }

    /// Scripts the answer to an HTTP probe of exactly `url`: the status and the body (a JSON
    /// string is the body's text as is, any other JSON value its JSON text). Answers for a URL
    /// are used in the order given, the last one again and again. The fake then does what the
    /// host does with a body: refuses one longer than the request's `max_bytes`
    /// ([`Error::Invalid`]), finds the JSON path's value, cuts the body to 4 KiB. An HTTP probe
    /// of a URL with no answer is [`Error::Unavailable`] naming it.
    ///
    /// ```
    /// use cutover_guest_sdk::testing::FakeCluster;
    /// use cutover_guest_sdk::{HttpRequest, policy_manifest};
    /// use serde_json::json;
    ///
    /// let fake = FakeCluster::new();
    /// fake.http("http://web-canary.shop/healthz", 503, "starting");
    /// fake.http("http://web-canary.shop/healthz", 200, json!({"ok": true}));
    /// let ctx = fake.context(&policy_manifest! {
    ///     name: "x", version: "0.1.0", description: "d", params: [], capabilities: [],
    /// }, json!({}))?;
    /// let request = HttpRequest::get("http://web-canary.shop/healthz").with_json_path("$.ok");
    /// assert_eq!(ctx.http_get(&request)?.status, 503);
    /// assert_eq!(ctx.http_get(&request)?.value, Some(json!(true)));
    /// assert_eq!(ctx.http_get(&request)?.status, 200);
    /// assert_eq!(fake.call_lines()[0], "probe http GET http://web-canary.shop/healthz");
    /// assert!(ctx.http_get(&HttpRequest::get("http://elsewhere/")).unwrap_err().is_unavailable());
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn http(&self, url: &str, status: u16, body: impl Into<Value>) {
        let body = probes::body_text(body.into());
        self.state
            .borrow_mut()
            .probes
            .push_http(url, Ok((status, body)));
    }

    /// Scripts a failed HTTP probe of `url` (a connection refused is [`Error::Unavailable`], a
    /// timeout [`Error::Timeout`], as on the host), in the same queue as [`FakeCluster::http`].
    ///
    /// ```
    /// use cutover_guest_sdk::Error;
    /// let fake = cutover_guest_sdk::testing::FakeCluster::new();
    /// fake.http_error("http://web-canary.shop/healthz", Error::unavailable("connection refused"));
    /// ```
    pub fn http_error(&self, url: &str, error: Error) {
        self.state.borrow_mut().probes.push_http(url, Err(error));
    }

    /// Scripts one answer to the Prometheus query `query` (exactly that PromQL text, on any
    /// address): one sample without labels per value (none: "no values found"). Answers for a
    /// query are used in the order given, the last one again and again. A query with no answer
    /// is [`Error::Unavailable`] naming it.
    ///
    /// ```
    /// use cutover_guest_sdk::testing::FakeCluster;
    /// use std::time::Duration;
    ///
    /// let fake = FakeCluster::new();
    /// fake.prometheus("sum(rate(http_errors_total[1m]))", [0.01]);
    /// fake.prometheus("sum(rate(http_errors_total[1m]))", [0.5]);
    /// let ctx = fake.context(&cutover_guest_sdk::policy_manifest! {
    ///     name: "x", version: "0.1.0", description: "d", params: [], capabilities: [],
    /// }, serde_json::json!({}))?;
    /// let ask = || ctx.query_prometheus("http://prom:9090", "sum(rate(http_errors_total[1m]))", Duration::from_secs(5));
    /// assert_eq!(ask()?[0].value, 0.01);
    /// assert_eq!(ask()?[0].value, 0.5);
    /// assert_eq!(ask()?[0].value, 0.5);
    /// assert_eq!(fake.call_lines()[0], "probe prometheus sum(rate(http_errors_total[1m]))");
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn prometheus(&self, query: &str, values: impl IntoIterator<Item = f64>) {
        let samples = values
            .into_iter()
            .map(|value| Sample {
                labels: Vec::new(),
                value,
            })
            .collect();
        self.prometheus_samples(query, samples);
    }

    /// Scripts a sequence of answers to `query`, one per value, each a single sample without
    /// labels: the same as calling [`FakeCluster::prometheus`] once per value.
    ///
    /// ```
    /// let fake = cutover_guest_sdk::testing::FakeCluster::new();
    /// fake.prometheus_sequence("sum(up)", [3.0, 2.0, 3.0]);
    /// ```
    pub fn prometheus_sequence(&self, query: &str, values: impl IntoIterator<Item = f64>) {
        for value in values {
            self.prometheus(query, [value]);
        }
    }

    /// Scripts one answer to `query` with labelled samples.
    ///
    /// ```
    /// use cutover_guest_sdk::Sample;
    /// let fake = cutover_guest_sdk::testing::FakeCluster::new();
    /// fake.prometheus_samples("up", vec![Sample { labels: vec![("job".into(), "web".into())], value: 1.0 }]);
    /// ```
    pub fn prometheus_samples(&self, query: &str, samples: Vec<Sample>) {
        self.state
            .borrow_mut()
            .probes
            .push_prometheus(query, Ok(samples));
    }

    /// Scripts a failed answer to `query` (bad PromQL is [`Error::Invalid`] on the host).
    ///
    /// ```
    /// use cutover_guest_sdk::Error;
    /// let fake = cutover_guest_sdk::testing::FakeCluster::new();
    /// fake.prometheus_error("sum(", Error::invalid("bad_data: parse error"));
    /// ```
    pub fn prometheus_error(&self, query: &str, error: Error) {
        self.state
            .borrow_mut()
            .probes
            .push_prometheus(query, Err(error));
    }

    /// Every host call made so far, in order (log lines and progress are kept apart).
    ///
    /// ```
    /// assert!(cutover_guest_sdk::testing::FakeCluster::new().calls().is_empty());
    /// ```
    pub fn calls(&self) -> Vec<Call> {
        self.state.borrow().calls.clone()
    }

    /// [`FakeCluster::calls`] as `operation target` lines, to compare with a list.
    ///
    /// ```
    /// assert!(cutover_guest_sdk::testing::FakeCluster::new().call_lines().is_empty());
    /// ```
    pub fn call_lines(&self) -> Vec<String> {
        self.state
            .borrow()
            .calls
            .iter()
            .map(Call::to_string)
            .collect()
    }

    /// The log lines written so far (`ctx.info`, `info!`, ...).
    ///
    /// ```
    /// assert!(cutover_guest_sdk::testing::FakeCluster::new().logs().is_empty());
    /// ```
    pub fn logs(&self) -> Vec<(Level, String)> {
        self.state.borrow().logs.clone()
    }

    /// The progress reports so far: `(step, total, message)`.
    ///
    /// ```
    /// assert!(cutover_guest_sdk::testing::FakeCluster::new().progress().is_empty());
    /// ```
    pub fn progress(&self) -> Vec<(u32, u32, String)> {
        self.state.borrow().progress.clone()
    }

    /// The messages the SDK's panic hook reported (a policy under test that panicked).
    ///
    /// ```
    /// assert!(cutover_guest_sdk::testing::FakeCluster::new().panics().is_empty());
    /// ```
    pub fn panics(&self) -> Vec<String> {
        self.state.borrow().panics.clone()
    }

    /// The virtual clock's present.
    ///
    /// ```
    /// let fake = cutover_guest_sdk::testing::FakeCluster::new();
    /// assert_eq!(fake.now().to_string(), "2026-01-01T00:00:00Z");
    /// ```
    pub fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.state.borrow().now_ms)
    }

    /// The run's deadline.
    ///
    /// ```
    /// let fake = cutover_guest_sdk::testing::FakeCluster::new();
    /// assert_eq!(fake.deadline().to_string(), "2026-01-01T00:05:00Z");
    /// ```
    pub fn deadline(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.state.borrow().deadline_ms)
    }

    /// Moves the clock on by `by` (past the deadline if asked: the fake does not stop the run).
    ///
    /// ```
    /// let fake = cutover_guest_sdk::testing::FakeCluster::new();
    /// fake.advance(std::time::Duration::from_secs(90));
    /// assert_eq!(fake.now().to_string(), "2026-01-01T00:01:30Z");
    /// ```
    pub fn advance(&self, by: Duration) {
        let mut state = self.state.borrow_mut();
        state.now_ms = state.now_ms.saturating_add(millis(by));
    }

    /// The last checkpoint the policy saved (JSON text).
    ///
    /// ```
    /// assert_eq!(cutover_guest_sdk::testing::FakeCluster::new().checkpoint(), None);
    /// ```
    pub fn checkpoint(&self) -> Option<String> {
        self.state.borrow().checkpoint.clone()
    }

    /// Sets the checkpoint `ctx.restore()` returns, to test a resume (with
    /// [`Context::with_revision`] for the attempt).
    ///
    /// ```
    /// let fake = cutover_guest_sdk::testing::FakeCluster::new();
    /// fake.set_checkpoint(&serde_json::json!({"step": 3}));
    /// assert_eq!(fake.checkpoint().as_deref(), Some(r#"{"step":3}"#));
    /// ```
    pub fn set_checkpoint(&self, state: &Value) {
        self.state.borrow_mut().checkpoint = Some(state.to_string());
    }

    /// Adds a file to the run's positional inputs (of the first input, 0), as `ctx.inputs()`
    /// returns them; call it in the order the host would hand them over.
    ///
    /// ```
    /// let fake = cutover_guest_sdk::testing::FakeCluster::new()
    ///     .input("Chart.yaml", "name: web")
    ///     .input("templates/service.yaml", "kind: Service");
    /// # let _ = fake;
    /// ```
    pub fn input(self, path: impl Into<String>, contents: impl Into<Vec<u8>>) -> Self {
        self.input_of(0, path, contents)
    }

    /// As [`FakeCluster::input`], for the positional input numbered `input` (0, 1, ...).
    ///
    /// ```
    /// let fake = cutover_guest_sdk::testing::FakeCluster::new().input_of(1, "-", "kind: List");
    /// # let _ = fake;
    /// ```
    pub fn input_of(
        self,
        input: u32,
        path: impl Into<String>,
        contents: impl Into<Vec<u8>>,
    ) -> Self {
        self.state
            .borrow_mut()
            .inputs
            .push(crate::bindings::cutover::policy::inputs::InputFile {
                path: path.into(),
                input,
                contents: contents.into(),
            });
        self
    }

    /// Sets what [`Context::requested`] returns from now on ([`Request::Start`] until then),
    /// to test a policy's promote, abort and retry paths.
    ///
    /// ```
    /// use cutover_guest_sdk::Request;
    /// let fake = cutover_guest_sdk::testing::FakeCluster::new();
    /// fake.request(Request::Abort);
    /// # let _ = fake;
    /// ```
    pub fn request(&self, request: Request) {
        self.state.borrow_mut().requested = request;
    }

    /// The status of the policy's last [`Context::pause`], if it paused (capped at 4 KiB, as
    /// the host caps it).
    ///
    /// ```
    /// assert_eq!(cutover_guest_sdk::testing::FakeCluster::new().paused(), None);
    /// ```
    pub fn paused(&self) -> Option<String> {
        self.state.borrow().paused.clone()
    }

    /// What the policy recorded with `ctx.record`: `(manifests, description)`, in order.
    ///
    /// ```
    /// assert!(cutover_guest_sdk::testing::FakeCluster::new().recorded().is_empty());
    /// ```
    pub fn recorded(&self) -> Vec<(Value, String)> {
        self.state.borrow().recorded.clone()
    }

    /// Adds a revision to the release's history, which `ctx.revisions()` and
    /// `ctx.revision(n)` read.
    ///
    /// ```
    /// use cutover_guest_sdk::{Revision, RevisionStatus};
    /// let fake = cutover_guest_sdk::testing::FakeCluster::new();
    /// fake.add_revision(Revision {
    ///     number: 1, status: RevisionStatus::Deployed, policy: "canary@0.1.0".into(),
    ///     params: serde_json::json!({}), manifests: serde_json::json!([]),
    ///     updated: "2026-01-01T00:00:00Z".into(), description: "install".into(),
    /// });
    /// ```
    pub fn add_revision(&self, revision: Revision) {
        self.state.borrow_mut().revisions.push(revision);
    }

    /// A context for a run of the policy `manifest` (its `POLICY_MANIFEST`, which
    /// [`export_policy!`](crate::export_policy) defines) with the parameters `params`, a JSON
    /// object, checked and completed as the host does it: unknown names, values of the wrong
    /// type, outside a `minimum`/`maximum` or an `enum`, and missing required parameters are
    /// [`Error::Invalid`]; defaults are filled in. The release is the manifest's `release`
    /// template with the values substituted, or the policy's name. Makes this fake the
    /// thread's host.
    ///
    /// ```
    /// use cutover_guest_sdk::testing::FakeCluster;
    /// use serde_json::json;
    ///
    /// const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::policy_manifest! {
    ///     name: "resize", version: "0.1.0", description: "d",
    ///     release: "resize-{name}",
    ///     params: [
    ///         { name: "name", type: "string", required: true },
    ///         { name: "replicas", type: "integer", default: 1, minimum: 0, maximum: 100 },
    ///     ],
    ///     capabilities: [],
    /// };
    /// let fake = FakeCluster::new();
    /// let ctx = fake.context(&M, json!({"name": "web"}))?;
    /// assert_eq!(ctx.params_json(), r#"{"name":"web","replicas":1}"#);
    /// assert_eq!(ctx.release(), "resize-web");
    /// let e = fake.context(&M, json!({"name": "web", "replicas": -1})).unwrap_err();
    /// assert_eq!(e.to_string(), "parameter `replicas` must be between 0 and 100, not -1");
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn context(&self, manifest: &Manifest, params: Value) -> Result<Context, Error> {
        let params = params::complete(manifest, params)?;
        let release = params::release(manifest, &params);
        CURRENT.with(|current| *current.borrow_mut() = Some(self.clone()));
        let state = self.state.borrow();
        Ok(Context::new(
            release,
            state.namespace.clone(),
            params.to_string(),
            state.dry_run,
        ))
    }

    /// The fake this thread's host calls go to, if a test made one.
    fn current() -> Option<FakeCluster> {
        CURRENT.with(|current| current.borrow().clone())
    }
}

impl fmt::Debug for FakeCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("FakeCluster")
            .field("namespace", &state.namespace)
            .field("objects", &state.objects.len())
            .field("calls", &state.calls.len())
            .finish()
    }
}

/// Whole milliseconds of `d`, saturated.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
