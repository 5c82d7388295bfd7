//! Write cutover rollout policies in Rust: typed cluster calls, parameters, and the policy manifest.
//!
//! A policy is a function `fn(&Context) -> Result<String, Error>` exported with
//! [`export_policy!`], which also embeds the policy's manifest (name, version, parameters,
//! capabilities) in the component's `cutover-manifest` custom section. The host runs it in a
//! sandbox: every cluster call goes through the host, which checks it against the declared and
//! granted capabilities, bounds it by a deadline, and performs it with kube-rs.
//!
//! Build a policy as a `cdylib` for `wasm32-wasip2`; rustc links it straight into a component
//! (see `docs/writing-policies.md`).
//!
//! # A whole policy
//!
//! ```no_run
//! use cutover_guest_sdk::params::Duration;
//! use cutover_guest_sdk::{Condition, Context, Error, Patch, export_policy, info};
//! use k8s_openapi::api::apps::v1::Deployment;
//! use serde_json::json;
//!
//! #[derive(serde::Deserialize)]
//! struct Params {
//!     name: String,
//!     replicas: u32,
//!     timeout: Duration,
//! }
//!
//! fn resize(ctx: &Context) -> Result<String, Error> {
//!     let p: Params = ctx.params()?;
//!     ctx.progress(1, 2, &format!("scaling {} to {}", p.name, p.replicas));
//!     ctx.patch::<Deployment>(&p.name, &Patch::Merge(json!({"spec": {"replicas": p.replicas}})))?;
//!     info!("waiting up to {} for {} to roll out", p.timeout, p.name);
//!     ctx.wait::<Deployment>(&p.name, &Condition::RolledOut, p.timeout)
//!         .map_err(|e| e.context(format!("deployment {}", p.name)))?;
//!     ctx.progress(2, 2, "rolled out");
//!     Ok(format!("deployment {} scaled to {}", p.name, p.replicas))
//! }
//!
//! export_policy! {
//!     name: "resize",
//!     version: env!("CARGO_PKG_VERSION"),
//!     description: "Scale a Deployment and wait for it to roll out.",
//!     params: [
//!         { name: "name", type: "string", required: true, description: "The Deployment." },
//!         { name: "replicas", type: "integer", default: 1, description: "How many replicas." },
//!         { name: "timeout", type: "duration", default: "5m", description: "Give up after this long." },
//!     ],
//!     capabilities: [
//!         "cluster/patch:apps/v1/Deployment@{namespace}",
//!         "cluster/wait:apps/v1/Deployment@{namespace}",
//!     ],
//!     run: resize,
//! }
//! # fn main() {}
//! ```
//!
//! # Map of the crate
//!
//! - [`Context`]: the invocation (release, namespace, [`Context::params`], dry run,
//!   [`Context::revision_number`], [`Context::attempt`]/[`Context::is_resume`]), the
//!   runtime (log, [`Context::now`], [`Context::sleep`], [`Context::progress`],
//!   [`Context::checkpoint`]/[`Context::restore`]), and every host call:
//!   - typed cluster calls ([`Context::get`], [`Context::list`], [`Context::apply`],
//!     [`Context::patch`], [`Context::delete`], [`Context::scale`], [`Context::wait`], and
//!     `_in` variants for another namespace);
//!   - node and pod calls ([`Context::cordon`], [`Context::uncordon`], [`Context::evict`]);
//!   - dynamic calls on an [`ObjectRef`] with JSON ([`Context::get_dynamic`], ...);
//!   - release history ([`Context::record`], [`Context::revisions`], [`Context::revision`]).
//!   - strategies that pause for a person ([`Context::requested`], a [`Request`];
//!     [`Context::pause`]).
//!   - probes for analysis gates ([`Context::http_get`] with an [`HttpRequest`],
//!     [`Context::query_prometheus`] answering [`Sample`]s).
//!   - writes and waits ([`Context::apply`], [`Context::patch`], [`Context::wait`] and their
//!     variants) answer an [`Answer`], decoded only by [`Answer::object`]: a policy that
//!     throws it away links no deserializer for the kind (see `docs/writing-policies.md`,
//!     "Keeping modules small").
//! - [`testing::FakeCluster`] (native builds): a cluster in memory for a policy's unit tests,
//!   with recorded calls, scripted answers, a virtual clock and the manifest's parameter
//!   checks; natively, a host call outside it fails with [`Error::Unavailable`].
//! - [`Error`]: the WIT error variant; `?` works on every call.
//! - [`params::Duration`]: Go/Helm durations (`90s`, `5m`, `1h30m`) in parameters.
//! - [`deployment`]: a Deployment as a rollout reads it, and `container=image` pairs put
//!   into its pod template as `kubectl set image` does (the canary and blue-green policies').
//! - [`export_policy!`], [`policy_manifest!`], [`manifest`]: the export and the manifest.
//! - [`info!`], [`warn!`], [`error!`], [`debug!`]: formatted log lines.
//! - [`bindings`]: the raw wit-bindgen bindings, for anything the wrappers do not cover.

#![warn(missing_docs)]

pub mod analysis;
mod answer;
pub mod batch;
pub mod cluster;
pub mod context;
pub mod deployment;
pub mod error;
mod export;
mod host;
pub mod inputs;
pub mod manifest;
pub mod objects;
pub mod params;
pub mod probe;
pub mod revisions;
pub mod rollout;
pub mod runtime;
#[cfg(not(target_family = "wasm"))]
pub mod testing;
pub mod time;

pub use answer::Answer;

pub use batch::{DeleteOptions, PodRef, SetCondition, WaitSet};
pub use cluster::{Condition, ListParams, Namespace, ObjectRef, Patch};
pub use context::Context;
pub use error::Error;
#[doc(hidden)]
pub use export::__private;
pub use inputs::InputFile;
pub use probe::{HttpRequest, HttpResponse, Sample};
pub use revisions::{Revision, RevisionStatus};
pub use rollout::Request;
pub use runtime::Level;
pub use time::Timestamp;

/// The k8s-openapi version this SDK's typed calls use, re-exported so a policy can name the
/// same types without a version skew.
///
/// ```
/// use cutover_guest_sdk::k8s_openapi::api::core::v1::Pod;
/// let _ = Pod::default();
/// ```
pub use k8s_openapi;

/// Raw bindings of the `cutover:policy@0.1.0` world `rollout-policy`, generated by wit-bindgen.
/// Every import is a plain function (`bindings::cutover::policy::cluster::get`, ...); the
/// export macro is `bindings::__export_rollout_policy!`. Prefer [`Context`] and
/// [`export_policy!`], which wrap them.
// Generated: the WIT comments become the docs where it has them, and the `run` export's
// canonical-ABI shim takes the invocation flattened, as nine core parameters.
#[allow(missing_docs, clippy::too_many_arguments)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "rollout-policy",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "__export_rollout_policy",
        default_bindings_module: "cutover_guest_sdk::bindings",
    });
}
