//! cutover-sim: an in-memory Kubernetes API server emulator that `kube::Client` talks to in-process.
//!
//! [`Simulator::client`] gives a `kube::Client` backed by a tower service; [`Simulator::handle`]
//! serves one request (what `cutover sim serve` serves over HTTP); [`Simulator::store`] gives direct access
//! to the object store and its change feed (for tests and controllers). One [`Clock`] (tokio's,
//! or a virtual one) drives all of its time; [`limits`] bounds what one request may ask.

pub mod api;
pub mod clock;
pub mod controllers;
pub mod defaults;
pub mod error;
pub mod eviction;
pub mod faults;
pub mod kinds;
pub mod limits;
pub mod patch;
pub mod probes;
pub mod protobuf;
pub mod scenario;
pub mod selectors;
pub mod serve;
pub mod service;
pub mod store;
pub mod table;
pub mod typed;
pub mod validation;

pub use api::SimBody;
pub use clock::Clock;
pub use controllers::{ControllerConfig, Controllers, Faults, ImageConvention, PodFate};
pub use error::ApiError;
pub use scenario::{Scenario, ScenarioError};
pub use service::{SimService, Simulator};
pub use store::{
    DeleteOptions, DeleteOutcome, EventType, Propagation, Store, UpdateTarget, WatchEvent,
};
