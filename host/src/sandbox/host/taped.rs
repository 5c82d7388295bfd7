//! The layer every import goes through on its way to the host side (`cluster`, `revisions`,
//! `runtime`): without a tape it forwards the call; recording, it forwards it and writes the
//! call and its answer on the tape; replaying, it answers from the tape and never forwards.
//!
//! A replayed call that is not the recorded one stops the policy at once: the run is cancelled
//! and the call never returns, so no guest instruction runs after it (the sandbox ends the run
//! on the cancellation, as on Ctrl-C).

use serde_json::{Value, json};
use wasmtime::component::HasData;

use crate::replay::codec::{self, Answer, Infallible, Json};
use crate::replay::{Player, Recording};
use crate::report::{Event, Level};
use crate::sandbox::bindings::cutover::policy::{
    cluster, inputs, probe, revisions, rollout, runtime, types,
};
use crate::sandbox::state::RunState;

use types::{Error, ObjectRef};

/// What a run does with its host calls besides performing them.
#[derive(Clone, Debug)]
pub enum Taping {
    /// Performs them and records each with its answer.
    Record(Recording),
    /// Performs none: answers each from the tape.
    Replay(Player),
}

/// The store's data as the imports see it.
pub struct Taped<'a>(pub &'a mut RunState);

/// The linker's view of the store: every import through [`Taped`].
pub struct TapedData;

impl HasData for TapedData {
    type Data<'a> = Taped<'a>;
}

impl Taped<'_> {
    /// The call's arguments for the tape, built only when there is a tape.
    fn args(&self, build: impl FnOnce() -> Value) -> Option<Value> {
        self.0.taping.is_some().then(build)
    }

    /// One call through the tape: `live` performs it on the run's state (unless replaying).
    async fn taped<A: Answer>(
        &mut self,
        function: &'static str,
        args: Option<Value>,
        live: impl AsyncFnOnce(&mut RunState) -> A,
    ) -> A {
        let (Some(args), Some(taping)) = (args, self.0.taping.clone()) else {
            return live(self.0).await;
        };
        match taping {
            Taping::Record(recording) => {
                let answer = live(self.0).await;
                if let Some(note) = recording.push(function, args, answer.encode()) {
                    self.0.emit(Event::Log {
                        level: Level::Warn,
                        message: note,
                    });
                }
                answer
            }
            Taping::Replay(player) => match player.answer::<A>(function, args) {
                Ok(answer) => answer,
                Err(_stop) => {
                    // The player keeps why; the run ends on the cancellation, this call never
                    // returns to the guest.
                    self.0.time.cancel.cancel("the replay");
                    std::future::pending().await
                }
            },
        }
    }
}

impl types::Host for Taped<'_> {}

impl cluster::Host for Taped<'_> {
    async fn get(&mut self, target: ObjectRef) -> Result<String, Error> {
        let args = self.args(|| json!({ "target": codec::object_ref(&target) }));
        self.taped("cluster.get", args, async move |s: &mut RunState| {
            cluster::Host::get(s, target).await.map(Json)
        })
        .await
        .map(|j| j.0)
    }

    async fn list(&mut self, query: cluster::ListQuery) -> Result<Vec<String>, Error> {
        let args = self.args(|| json!({ "query": codec::list_query(&query) }));
        self.taped("cluster.list", args, async move |s: &mut RunState| {
            cluster::Host::list(s, query)
                .await
                .map(|items| items.into_iter().map(Json).collect::<Vec<_>>())
        })
        .await
        .map(|items| items.into_iter().map(|j| j.0).collect())
    }

    async fn apply(&mut self, manifest: String) -> Result<String, Error> {
        let args = self.args(|| json!({ "manifest": codec::json_text(&manifest) }));
        self.taped("cluster.apply", args, async move |s: &mut RunState| {
            cluster::Host::apply(s, manifest).await.map(Json)
        })
        .await
        .map(|j| j.0)
    }

    async fn patch(
        &mut self,
        target: ObjectRef,
        kind: cluster::PatchType,
        body: String,
    ) -> Result<String, Error> {
        let args = self.args(|| {
            json!({
                "target": codec::object_ref(&target),
                "kind": codec::patch_type(kind),
                "body": codec::json_text(&body),
            })
        });
        self.taped("cluster.patch", args, async move |s: &mut RunState| {
            cluster::Host::patch(s, target, kind, body).await.map(Json)
        })
        .await
        .map(|j| j.0)
    }

    async fn delete(&mut self, target: ObjectRef) -> Result<(), Error> {
        let args = self.args(|| json!({ "target": codec::object_ref(&target) }));
        self.taped("cluster.delete", args, async move |s: &mut RunState| {
            cluster::Host::delete(s, target).await
        })
        .await
    }

    async fn delete_with(
        &mut self,
        target: ObjectRef,
        options: cluster::DeleteOptions,
    ) -> Result<(), Error> {
        let args = self.args(|| {
            json!({
                "target": codec::object_ref(&target),
                "options": codec::delete_options(&options),
            })
        });
        self.taped(
            "cluster.delete-with",
            args,
            async move |s: &mut RunState| cluster::Host::delete_with(s, target, options).await,
        )
        .await
    }

    async fn scale(&mut self, target: ObjectRef, replicas: u32) -> Result<(), Error> {
        let args =
            self.args(|| json!({ "target": codec::object_ref(&target), "replicas": replicas }));
        self.taped("cluster.scale", args, async move |s: &mut RunState| {
            cluster::Host::scale(s, target, replicas).await
        })
        .await
    }

    async fn cordon(&mut self, node: String) -> Result<(), Error> {
        let args = self.args(|| json!({ "node": node }));
        self.taped("cluster.cordon", args, async move |s: &mut RunState| {
            cluster::Host::cordon(s, node).await
        })
        .await
    }

    async fn uncordon(&mut self, node: String) -> Result<(), Error> {
        let args = self.args(|| json!({ "node": node }));
        self.taped("cluster.uncordon", args, async move |s: &mut RunState| {
            cluster::Host::uncordon(s, node).await
        })
        .await
    }

    async fn evict(
        &mut self,
        namespace: String,
        name: String,
        timeout_ms: u64,
    ) -> Result<(), Error> {
        let args =
            self.args(|| json!({ "namespace": namespace, "name": name, "timeout-ms": timeout_ms }));
        self.taped("cluster.evict", args, async move |s: &mut RunState| {
            cluster::Host::evict(s, namespace, name, timeout_ms).await
        })
        .await
    }

    async fn wait(
        &mut self,
        target: ObjectRef,
        until: cluster::Condition,
        timeout_ms: u64,
    ) -> Result<String, Error> {
        let args = self.args(|| {
            json!({
                "target": codec::object_ref(&target),
                "until": codec::condition(&until),
                "timeout-ms": timeout_ms,
            })
        });
        self.taped("cluster.wait", args, async move |s: &mut RunState| {
            cluster::Host::wait(s, target, until, timeout_ms)
                .await
                .map(Json)
        })
        .await
        .map(|j| j.0)
    }

    async fn wait_current(
        &mut self,
        targets: Vec<ObjectRef>,
        timeout_ms: u64,
    ) -> Result<(), Error> {
        let args = self.args(|| {
            json!({
                "targets": targets.iter().map(codec::object_ref).collect::<Vec<_>>(),
                "timeout-ms": timeout_ms,
            })
        });
        self.taped(
            "cluster.wait-current",
            args,
            async move |s: &mut RunState| cluster::Host::wait_current(s, targets, timeout_ms).await,
        )
        .await
    }
    async fn wait_all(
        &mut self,
        targets: cluster::WaitSet,
        until: cluster::SetCondition,
        timeout_ms: u64,
    ) -> Result<Vec<String>, Error> {
        let args = self.args(|| {
            json!({
                "targets": codec::wait_set(&targets),
                "until": codec::set_condition(until),
                "timeout-ms": timeout_ms,
            })
        });
        self.taped("cluster.wait-all", args, async move |s: &mut RunState| {
            cluster::Host::wait_all(s, targets, until, timeout_ms)
                .await
                .map(|items| items.into_iter().map(Json).collect::<Vec<_>>())
        })
        .await
        .map(|items| items.into_iter().map(|j| j.0).collect())
    }

    async fn evict_many(
        &mut self,
        pods: Vec<cluster::PodRef>,
        concurrency: u32,
        timeout_ms: u64,
    ) -> Result<Vec<Result<(), Error>>, Error> {
        let args = self.args(|| {
            json!({
                "pods": pods.iter().map(codec::pod_ref).collect::<Vec<_>>(),
                "concurrency": concurrency,
                "timeout-ms": timeout_ms,
            })
        });
        self.taped("cluster.evict-many", args, async move |s: &mut RunState| {
            cluster::Host::evict_many(s, pods, concurrency, timeout_ms)
                .await
                .map(codec::Outcomes)
        })
        .await
        .map(|o| o.0)
    }
}

impl revisions::Host for Taped<'_> {
    async fn record(&mut self, manifests: String, description: String) -> Result<(), Error> {
        let args = self.args(
            || json!({ "manifests": codec::json_text(&manifests), "description": description }),
        );
        self.taped("revisions.record", args, async move |s: &mut RunState| {
            revisions::Host::record(s, manifests, description).await
        })
        .await
    }

    async fn list_revisions(&mut self) -> Result<Vec<revisions::Revision>, Error> {
        let args = self.args(|| json!({}));
        self.taped(
            "revisions.list-revisions",
            args,
            async move |s: &mut RunState| revisions::Host::list_revisions(s).await,
        )
        .await
    }

    async fn get_revision(&mut self, number: u32) -> Result<revisions::Revision, Error> {
        let args = self.args(|| json!({ "number": number }));
        self.taped(
            "revisions.get-revision",
            args,
            async move |s: &mut RunState| revisions::Host::get_revision(s, number).await,
        )
        .await
    }
}

/// Log and progress lines and the panic report are not on the tape: a policy's wording may
/// change without changing what it does.
impl runtime::Host for Taped<'_> {
    async fn log(&mut self, level: runtime::Level, message: String) {
        runtime::Host::log(self.0, level, message).await
    }

    async fn now(&mut self) -> u64 {
        let args = self.args(|| json!({}));
        self.taped("runtime.now", args, async move |s: &mut RunState| {
            Infallible(runtime::Host::now(s).await)
        })
        .await
        .0
    }

    async fn sleep(&mut self, ms: u64) -> bool {
        let args = self.args(|| json!({ "ms": ms }));
        self.taped("runtime.sleep", args, async move |s: &mut RunState| {
            Infallible(runtime::Host::sleep(s, ms).await)
        })
        .await
        .0
    }

    async fn deadline(&mut self) -> u64 {
        let args = self.args(|| json!({}));
        self.taped("runtime.deadline", args, async move |s: &mut RunState| {
            Infallible(runtime::Host::deadline(s).await)
        })
        .await
        .0
    }

    async fn progress(&mut self, step: u32, total: u32, message: String) {
        runtime::Host::progress(self.0, step, total, message).await
    }

    async fn checkpoint(&mut self, state: String) -> Result<(), Error> {
        let args = self.args(|| json!({ "state": state }));
        self.taped("runtime.checkpoint", args, async move |s: &mut RunState| {
            runtime::Host::checkpoint(s, state).await
        })
        .await
    }

    async fn restore(&mut self) -> Option<String> {
        let args = self.args(|| json!({}));
        self.taped("runtime.restore", args, async move |s: &mut RunState| {
            Infallible(runtime::Host::restore(s).await)
        })
        .await
        .0
    }

    async fn report_panic(&mut self, message: String) {
        runtime::Host::report_panic(self.0, message).await
    }
}

impl inputs::Host for Taped<'_> {
    async fn files(&mut self) -> Vec<inputs::InputFile> {
        let args = self.args(|| json!({}));
        self.taped("inputs.files", args, async move |s: &mut RunState| {
            Infallible(inputs::Host::files(s).await)
        })
        .await
        .0
    }
}

/// Probes are on the tape like cluster calls: a replay answers them from it and reaches no
/// endpoint.
impl probe::Host for Taped<'_> {
    async fn http_get(
        &mut self,
        request: probe::HttpRequest,
    ) -> Result<probe::HttpResponse, Error> {
        let args = self.args(|| json!({ "request": codec::http_request(&request) }));
        self.taped("probe.http-get", args, async move |s: &mut RunState| {
            probe::Host::http_get(s, request).await
        })
        .await
    }

    async fn query_prometheus(
        &mut self,
        query: probe::PrometheusQuery,
    ) -> Result<Vec<probe::Sample>, Error> {
        let args = self.args(|| json!({ "query": codec::prometheus_query(&query) }));
        self.taped(
            "probe.query-prometheus",
            args,
            async move |s: &mut RunState| probe::Host::query_prometheus(s, query).await,
        )
        .await
    }
}

impl rollout::Host for Taped<'_> {
    async fn requested(&mut self) -> rollout::Request {
        let args = self.args(|| json!({}));
        self.taped("rollout.requested", args, async move |s: &mut RunState| {
            Infallible(rollout::Host::requested(s).await)
        })
        .await
        .0
    }

    /// Replayed, the pause is the tape's answer only: nothing is paused (a replay writes no
    /// revision).
    async fn pause(&mut self, status: String) -> Result<(), Error> {
        let args = self.args(|| json!({ "status": status }));
        self.taped("rollout.pause", args, async move |s: &mut RunState| {
            rollout::Host::pause(s, status).await
        })
        .await
    }
}
