//! The host's imports as the SDK calls them: the component's own on wasm; natively, the
//! thread's [`FakeCluster`](crate::testing::FakeCluster), or an error saying there is no host.
//!
//! Natively, wit-bindgen's imports are stubs that abort the process (a panic in an
//! `extern "C"` function), taking a whole `cargo test` binary with them; nothing here calls
//! them off wasm.

#[cfg(target_family = "wasm")]
pub(crate) use crate::bindings::cutover::policy::{cluster, probe, revisions, rollout, runtime};

#[cfg(not(target_family = "wasm"))]
pub(crate) use crate::testing::{cluster, probe, revisions, rollout, runtime};
