//! The host side of each WIT interface, one module each (as Spin keeps one per host capability):
//! `cluster` (with `evict_many`, its batch eviction) and `revisions` go through the one call
//! path in `call`; `runtime` serves log, time, progress and checkpoints; `wasi` is the WASI a
//! policy gets; `taped` is the layer in front of them all that records a run's calls or
//! replays them.
//!
//! Where later features go: the audit log records every call in `call::RunState::perform`
//! (one funnel for every cluster and revisions call, with the target as located and authorized,
//! and its outcome); the undo journal takes a mutation's before-image in `cluster.rs`, between
//! authorization and the request, through the same funnel; revisions storage replaces
//! `revisions.rs`.

pub mod call;
pub mod cluster;
pub(crate) mod evict_many;
pub mod inputs;
pub mod output;
pub mod probe;
pub mod revisions;
pub mod rollout;
pub mod runtime;
pub mod taped;
pub mod wasi;
