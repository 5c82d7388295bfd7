//! [`Context`]: what one run was asked to do, and the runtime calls (log, clock, progress, checkpoints).
//!
//! The cluster calls are in [`cluster`](crate::cluster) and the release history in
//! [`revisions`](crate::revisions); all of them are methods of the same `Context`.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::Invocation;
use crate::{Error, Level, Timestamp, runtime};

/// One run of the policy: the invocation (release, namespace, parameters, dry run, revision
/// number, attempt) and every
/// call to the host. [`export_policy!`](crate::export_policy) builds it and hands it to the
/// policy function.
///
/// ```no_run
/// use cutover_guest_sdk::{Context, Error};
///
/// fn run(ctx: &Context) -> Result<String, Error> {
///     ctx.info(&format!("release {} in {}", ctx.release(), ctx.namespace()));
///     if ctx.dry_run() {
///         ctx.warn("dry run: the API server validates every change and stores none");
///     }
///     Ok("done".into())
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    release: String,
    namespace: String,
    params: String,
    dry_run: bool,
    revision: u32,
    attempt: u32,
}

impl Context {
    /// A context for a run with these values; the SDK builds it from the invocation. Useful to
    /// test parameter handling natively (host calls themselves only work inside a component).
    /// Its revision number is 0 and its attempt 1 ([`Context::with_revision`] sets them).
    ///
    /// ```
    /// let ctx = cutover_guest_sdk::Context::new("web", "shop", r#"{"replicas": 3}"#, false);
    /// assert_eq!(ctx.namespace(), "shop");
    /// ```
    pub fn new(
        release: impl Into<String>,
        namespace: impl Into<String>,
        params: impl Into<String>,
        dry_run: bool,
    ) -> Self {
        Context {
            release: release.into(),
            namespace: namespace.into(),
            params: params.into(),
            dry_run,
            revision: 0,
            attempt: 1,
        }
    }

    /// The same context as run `attempt` (1 for a new run) of revision `revision`, to test a
    /// policy's resume path natively.
    ///
    /// ```
    /// let ctx = cutover_guest_sdk::Context::new("web", "shop", "{}", false).with_revision(4, 2);
    /// assert_eq!((ctx.revision_number(), ctx.attempt()), (4, 2));
    /// assert!(ctx.is_resume());
    /// ```
    pub fn with_revision(mut self, revision: u32, attempt: u32) -> Self {
        self.revision = revision;
        self.attempt = attempt;
        self
    }

    pub(crate) fn from_invocation(invocation: Invocation) -> Self {
        Context {
            release: invocation.release,
            namespace: invocation.namespace,
            params: invocation.params,
            dry_run: invocation.dry_run,
            revision: invocation.revision,
            attempt: invocation.attempt,
        }
    }

    /// The release (or target) name: `--release`, defaulting to the manifest's `release`
    /// template rendered with the parameters (`drain-{node}` → `drain-node-1`), else to the
    /// policy's name.
    ///
    /// ```
    /// let ctx = cutover_guest_sdk::Context::new("web", "shop", "{}", false);
    /// assert_eq!(ctx.release(), "web");
    /// ```
    pub fn release(&self) -> &str {
        &self.release
    }

    /// The run's namespace (`-n`): where namespaced kinds are looked up unless a call names
    /// another.
    ///
    /// ```
    /// let ctx = cutover_guest_sdk::Context::new("web", "shop", "{}", false);
    /// assert_eq!(ctx.namespace(), "shop");
    /// ```
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// `--dry-run`: the host sends every mutation as a server-side dry run, and `wait` returns
    /// at once. A policy needs no special path for it, but may say so in its summary.
    ///
    /// ```
    /// let ctx = cutover_guest_sdk::Context::new("web", "shop", "{}", true);
    /// assert!(ctx.dry_run());
    /// ```
    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// The number of the release revision this run writes (1, 2, 3, ... per release), or 0 on a
    /// dry run, which writes none. [`Context::revision`] reads a revision of the history by
    /// number; this is the run's own.
    ///
    /// ```
    /// let ctx = cutover_guest_sdk::Context::new("web", "shop", "{}", false).with_revision(3, 1);
    /// assert_eq!(ctx.revision_number(), 3);
    /// ```
    pub fn revision_number(&self) -> u32 {
        self.revision
    }

    /// 1 for a new run; 2, 3, ... when `cutover resume` continues an interrupted or failed run
    /// of the same revision from its checkpoint ([`Context::restore`]).
    ///
    /// ```
    /// let ctx = cutover_guest_sdk::Context::new("web", "shop", "{}", false);
    /// assert_eq!(ctx.attempt(), 1);
    /// ```
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Whether this run continues an earlier attempt of its revision: [`Context::attempt`] > 1.
    ///
    /// ```
    /// let ctx = cutover_guest_sdk::Context::new("web", "shop", "{}", false).with_revision(2, 3);
    /// assert!(ctx.is_resume());
    /// assert!(!cutover_guest_sdk::Context::new("web", "shop", "{}", false).is_resume());
    /// ```
    pub fn is_resume(&self) -> bool {
        self.attempt > 1
    }

    /// The parameters, deserialized into `T`. The host has checked them against the manifest
    /// and filled in defaults, so a struct with one field per declared parameter (kebab-case
    /// names through `#[serde(rename_all = "kebab-case")]`) reads them all. A `duration`
    /// parameter reads into [`params::Duration`](crate::params::Duration).
    ///
    /// ```
    /// use cutover_guest_sdk::{Context, params::Duration};
    ///
    /// #[derive(serde::Deserialize)]
    /// #[serde(rename_all = "kebab-case")]
    /// struct Params {
    ///     node: String,
    ///     timeout: Duration,
    ///     ignore_daemonsets: bool,
    /// }
    ///
    /// let ctx = Context::new("d", "default", r#"{"node":"n1","timeout":"5m","ignore-daemonsets":true}"#, false);
    /// let p: Params = ctx.params()?;
    /// assert_eq!(p.node, "n1");
    /// assert_eq!(p.timeout.as_secs(), 300);
    /// assert!(p.ignore_daemonsets);
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn params<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_str(&self.params).map_err(|e| Error::invalid(format!("parameters: {e}")))
    }

    /// The parameters as the host sent them: a JSON object.
    ///
    /// ```
    /// let ctx = cutover_guest_sdk::Context::new("d", "default", r#"{"a":1}"#, false);
    /// assert_eq!(ctx.params_json(), r#"{"a":1}"#);
    /// ```
    pub fn params_json(&self) -> &str {
        &self.params
    }

    /// Writes a line to the run's log.
    ///
    /// ```no_run
    /// # let ctx = cutover_guest_sdk::Context::new("d", "default", "{}", false);
    /// ctx.log(cutover_guest_sdk::Level::Debug, "listing pods");
    /// ```
    pub fn log(&self, level: Level, message: &str) {
        runtime::log(level, message);
    }

    /// Logs at debug level.
    ///
    /// ```no_run
    /// # let ctx = cutover_guest_sdk::Context::new("d", "default", "{}", false);
    /// ctx.debug("3 pods on the node");
    /// ```
    pub fn debug(&self, message: &str) {
        runtime::log(Level::Debug, message);
    }

    /// Logs at info level (see also the [`info!`](crate::info) macro, which formats).
    ///
    /// ```no_run
    /// # let ctx = cutover_guest_sdk::Context::new("d", "default", "{}", false);
    /// ctx.info("cordoned node-1");
    /// ```
    pub fn info(&self, message: &str) {
        runtime::log(Level::Info, message);
    }

    /// Logs at warn level.
    ///
    /// ```no_run
    /// # let ctx = cutover_guest_sdk::Context::new("d", "default", "{}", false);
    /// ctx.warn("ignoring DaemonSet-managed pod kube-system/kube-proxy-x");
    /// ```
    pub fn warn(&self, message: &str) {
        runtime::log(Level::Warn, message);
    }

    /// Logs at error level.
    ///
    /// ```no_run
    /// # let ctx = cutover_guest_sdk::Context::new("d", "default", "{}", false);
    /// ctx.error("eviction of shop/web-1 failed");
    /// ```
    pub fn error(&self, message: &str) {
        runtime::log(Level::Error, message);
    }

    /// The run's clock (virtual on the simulator, so never read the system clock).
    ///
    /// ```
    /// # const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::manifest::Manifest::new("x", "0.1.0", "d", &[], &[]);
    /// # let ctx = cutover_guest_sdk::testing::FakeCluster::new().context(&M, serde_json::json!({}))?;
    /// let deadline = ctx.now() + std::time::Duration::from_secs(300);
    /// let left = deadline.saturating_duration_since(ctx.now());
    /// # assert_eq!(left.as_secs(), 300);
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn now(&self) -> Timestamp {
        runtime::now()
    }

    /// When the run's deadline (`--timeout`) falls. A policy that waits should stop before it,
    /// so that its own message (what it was waiting for) reaches the operator.
    ///
    /// ```no_run
    /// # let ctx = cutover_guest_sdk::Context::new("d", "default", "{}", false);
    /// let left = ctx.deadline().saturating_duration_since(ctx.now());
    /// # let _ = left;
    /// ```
    pub fn deadline(&self) -> Timestamp {
        runtime::deadline()
    }

    /// Pauses for `duration` of the run's clock. Returns `false` when the run's deadline cut
    /// it short. Prefer [`Context::wait`] to sleeping in a loop.
    ///
    /// ```
    /// # const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::manifest::Manifest::new("x", "0.1.0", "d", &[], &[]);
    /// # let ctx = cutover_guest_sdk::testing::FakeCluster::new().context(&M, serde_json::json!({}))?;
    /// if !ctx.sleep(std::time::Duration::from_secs(60)) {
    ///     return Err(cutover_guest_sdk::Error::timeout("out of time during the canary pause"));
    /// }
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn sleep(&self, duration: impl Into<Duration>) -> bool {
        runtime::sleep(duration.into())
    }

    /// Reports progress: step `step` of `total`, with a one-line message.
    ///
    /// ```
    /// # const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::manifest::Manifest::new("x", "0.1.0", "d", &[], &[]);
    /// # let fake = cutover_guest_sdk::testing::FakeCluster::new();
    /// # let ctx = fake.context(&M, serde_json::json!({}))?;
    /// ctx.progress(1, 4, "cordoned node-1");
    /// # assert_eq!(fake.progress(), [(1, 4, "cordoned node-1".to_string())]);
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn progress(&self, step: u32, total: u32, message: &str) {
        runtime::progress(step, total, message);
    }

    /// Saves `state` (as JSON) for a later run of this release to resume from; replaces the
    /// previous checkpoint, which the host clears when a run succeeds. At most 1 MiB of JSON;
    /// a dry run keeps nothing.
    ///
    /// ```
    /// # const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::manifest::Manifest::new("x", "0.1.0", "d", &[], &[]);
    /// # let fake = cutover_guest_sdk::testing::FakeCluster::new();
    /// # let ctx = fake.context(&M, serde_json::json!({}))?;
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct State {
    ///     evicted: Vec<String>,
    /// }
    /// ctx.checkpoint(&State { evicted: vec!["shop/web-1".into()] })?;
    /// # assert_eq!(fake.checkpoint().as_deref(), Some(r#"{"evicted":["shop/web-1"]}"#));
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn checkpoint<T: Serialize + ?Sized>(&self, state: &T) -> Result<(), Error> {
        let json = serde_json::to_string(state)?;
        runtime::checkpoint_raw(&json)
    }

    /// The state the last [`Context::checkpoint`] of this release saved, if a run left one.
    ///
    /// ```
    /// # const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::manifest::Manifest::new("x", "0.1.0", "d", &[], &[]);
    /// # let fake = cutover_guest_sdk::testing::FakeCluster::new();
    /// # let ctx = fake.context(&M, serde_json::json!({}))?;
    /// # fake.set_checkpoint(&serde_json::json!({"evicted": ["shop/web-1"]}));
    /// # #[derive(serde::Deserialize, Default)]
    /// # struct State { evicted: Vec<String> }
    /// let state: State = ctx.restore()?.unwrap_or_default();
    /// assert_eq!(state.evicted, ["shop/web-1"]);
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn restore<T: DeserializeOwned>(&self) -> Result<Option<T>, Error> {
        match runtime::restore_raw() {
            Some(json) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|e| Error::invalid(format!("checkpoint: {e}"))),
            None => Ok(None),
        }
    }
}

impl fmt::Display for Context {
    /// `release web in namespace shop` (plus `(dry run)`), for log lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "release {} in namespace {}",
            self.release, self.namespace
        )?;
        if self.dry_run {
            f.write_str(" (dry run)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_params_are_invalid() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)] // only decoding is under test
        struct P {
            node: String,
        }
        let ctx = Context::new("r", "ns", r#"{"nod":"x"}"#, false);
        let e = ctx.params::<P>().unwrap_err();
        assert!(e.is_invalid());
        assert!(e.reason().contains("missing field `node`"), "{e}");
    }

    #[test]
    fn displays_for_logs() {
        assert_eq!(
            Context::new("web", "shop", "{}", true).to_string(),
            "release web in namespace shop (dry run)"
        );
    }
}
