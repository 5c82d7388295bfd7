//! The host's imports, natively: each one answered by the thread's [`FakeCluster`], or, outside
//! a test context, by an error (or, for calls that cannot fail, a panic) saying so. Same names
//! and signatures as the wit-bindgen imports, so the SDK's wrappers call either.

use crate::bindings::cutover::policy::types::Error as WitError;

use super::{FakeCluster, State};

/// What a call outside a test context is told.
fn no_host(call: &str) -> String {
    format!(
        "{call}: there is no cutover host in a native build; in a test, make the Context with \
         cutover_guest_sdk::testing::FakeCluster::context"
    )
}

/// Runs `answer` on the thread's fake cluster, or fails with [`no_host`].
fn on_fake<T>(
    call: &str,
    answer: impl FnOnce(&mut State) -> Result<T, crate::Error>,
) -> Result<T, WitError> {
    match FakeCluster::current() {
        Some(fake) => answer(&mut fake.state.borrow_mut()).map_err(WitError::from),
        None => Err(WitError::Unavailable(no_host(call))),
    }
}

/// For the calls that cannot return an error: the fake's answer, or a panic naming the call
/// (which fails the one test that made it, where wit-bindgen's stub would abort them all).
fn on_fake_or_panic<T>(call: &str, answer: impl FnOnce(&mut State) -> T) -> T {
    match FakeCluster::current() {
        Some(fake) => answer(&mut fake.state.borrow_mut()),
        None => panic!("{}", no_host(call)),
    }
}

pub(crate) mod cluster {
    pub(crate) use crate::bindings::cutover::policy::cluster::{
        Condition, DeleteOptions, FieldCondition, ListQuery, PatchType, PodRef, SetCondition,
        WaitSet,
    };
    use crate::bindings::cutover::policy::types::{Error, ObjectRef};

    use super::on_fake;

    pub(crate) fn get(target: &ObjectRef) -> Result<String, Error> {
        on_fake("ctx.get", |s| s.get(target))
    }

    pub(crate) fn list(query: &ListQuery) -> Result<Vec<String>, Error> {
        on_fake("ctx.list", |s| s.list(query))
    }

    pub(crate) fn apply(manifest: &str) -> Result<String, Error> {
        on_fake("ctx.apply", |s| s.apply(manifest))
    }

    pub(crate) fn patch(target: &ObjectRef, kind: PatchType, body: &str) -> Result<String, Error> {
        on_fake("ctx.patch", |s| s.patch(target, kind, body))
    }

    pub(crate) fn delete(target: &ObjectRef) -> Result<(), Error> {
        on_fake("ctx.delete", |s| s.delete(target))
    }

    pub(crate) fn scale(target: &ObjectRef, replicas: u32) -> Result<(), Error> {
        on_fake("ctx.scale", |s| s.scale(target, replicas))
    }

    pub(crate) fn cordon(node: &str) -> Result<(), Error> {
        on_fake("ctx.cordon", |s| s.set_unschedulable("cordon", node, true))
    }

    pub(crate) fn uncordon(node: &str) -> Result<(), Error> {
        on_fake("ctx.uncordon", |s| {
            s.set_unschedulable("uncordon", node, false)
        })
    }

    pub(crate) fn evict(namespace: &str, name: &str, timeout_ms: u64) -> Result<(), Error> {
        on_fake("ctx.evict", |s| s.evict(namespace, name, timeout_ms))
    }

    pub(crate) fn wait(
        target: &ObjectRef,
        until: &Condition,
        timeout_ms: u64,
    ) -> Result<String, Error> {
        on_fake("ctx.wait", |s| s.wait(target, until, timeout_ms))
    }

    pub(crate) fn wait_current(targets: &[ObjectRef], timeout_ms: u64) -> Result<(), Error> {
        on_fake("ctx.wait_current", |s| s.wait_current(targets, timeout_ms))
    }

    pub(crate) fn delete_with(target: &ObjectRef, options: &DeleteOptions) -> Result<(), Error> {
        on_fake("ctx.delete_with", |s| s.delete_with(target, options))
    }

    pub(crate) fn wait_all(
        targets: &WaitSet,
        until: SetCondition,
        timeout_ms: u64,
    ) -> Result<Vec<String>, Error> {
        on_fake("ctx.wait_all", |s| s.wait_all(targets, until, timeout_ms))
    }

    pub(crate) fn evict_many(
        pods: &[PodRef],
        concurrency: u32,
        timeout_ms: u64,
    ) -> Result<Vec<Result<(), Error>>, Error> {
        on_fake("ctx.evict_many", |s| {
            s.evict_many(pods, concurrency, timeout_ms)
                .map(|all| all.into_iter().map(|o| o.map_err(Error::from)).collect())
        })
    }
}

pub(crate) mod runtime {
    pub(crate) use crate::bindings::cutover::policy::runtime::Level;
    use crate::bindings::cutover::policy::types::Error;

    use super::{on_fake, on_fake_or_panic};

    /// Outside a test context a log line goes to stderr, where `cargo test` shows it.
    pub(crate) fn log(level: Level, message: &str) {
        let level = crate::Level::from(level);
        match super::FakeCluster::current() {
            Some(fake) => fake
                .state
                .borrow_mut()
                .logs
                .push((level, message.to_string())),
            None => eprintln!("{level:?}: {message}"),
        }
    }

    pub(crate) fn now() -> u64 {
        on_fake_or_panic("ctx.now", |s| s.now_ms)
    }

    pub(crate) fn sleep(ms: u64) -> bool {
        on_fake_or_panic("ctx.sleep", |s| s.sleep(ms))
    }

    pub(crate) fn deadline() -> u64 {
        on_fake_or_panic("ctx.deadline", |s| s.deadline_ms)
    }

    pub(crate) fn progress(step: u32, total: u32, message: &str) {
        on_fake_or_panic("ctx.progress", |s| {
            s.progress.push((step, total, message.to_string()))
        })
    }

    pub(crate) fn checkpoint(state: &str) -> Result<(), Error> {
        on_fake("ctx.checkpoint", |s| s.checkpoint(state))
    }

    pub(crate) fn restore() -> Option<String> {
        super::FakeCluster::current().and_then(|fake| fake.state.borrow().checkpoint.clone())
    }

    pub(crate) fn report_panic(message: &str) {
        if let Some(fake) = super::FakeCluster::current() {
            fake.state.borrow_mut().panics.push(message.to_string());
        }
    }
}

pub(crate) mod inputs {
    pub(crate) use crate::bindings::cutover::policy::inputs::InputFile;

    pub(crate) fn files() -> Result<Vec<InputFile>, crate::Error> {
        match super::FakeCluster::current() {
            Some(fake) => Ok(fake.state.borrow().inputs.clone()),
            None => Err(crate::Error::Unavailable(super::no_host("ctx.inputs"))),
        }
    }
}

pub(crate) mod revisions {
    pub(crate) use crate::bindings::cutover::policy::revisions::{Revision, RevisionStatus};
    use crate::bindings::cutover::policy::types::Error;

    use super::on_fake;

    pub(crate) fn record(manifests: &str, description: &str) -> Result<(), Error> {
        on_fake("ctx.record", |s| s.record(manifests, description))
    }

    pub(crate) fn list_revisions() -> Result<Vec<Revision>, Error> {
        on_fake("ctx.revisions", |s| s.list_revisions())
    }

    pub(crate) fn get_revision(number: u32) -> Result<Revision, Error> {
        on_fake("ctx.revision", |s| s.get_revision(number))
    }
}

pub(crate) mod rollout {
    pub(crate) use crate::bindings::cutover::policy::rollout::Request;
    use crate::bindings::cutover::policy::types::Error;

    use super::on_fake;

    /// Outside a test context a run is a new one: [`Request::Start`].
    pub(crate) fn requested() -> Request {
        super::FakeCluster::current()
            .map_or(Request::Start, |fake| fake.state.borrow().requested.into())
    }

    pub(crate) fn pause(status: &str) -> Result<(), Error> {
        on_fake("ctx.pause", |s| s.pause(status))
    }
}

pub(crate) mod probe {
    pub(crate) use crate::bindings::cutover::policy::probe::{
        HttpRequest, HttpResponse, PrometheusQuery, Sample,
    };
    use crate::bindings::cutover::policy::types::Error;

    use super::on_fake;

    pub(crate) fn http_get(request: &HttpRequest) -> Result<HttpResponse, Error> {
        on_fake("ctx.http_get", |s| s.http_get(request))
    }

    pub(crate) fn query_prometheus(query: &PrometheusQuery) -> Result<Vec<Sample>, Error> {
        on_fake("ctx.query_prometheus", |s| s.query_prometheus(query))
    }
}
