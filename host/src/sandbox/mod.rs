//! The sandbox: the engine with its epoch ticker and compile cache, the per-run store with its
//! limits, the host side of each WIT interface (`host/`), and how a run ends (`outcome`).

pub mod bindings;
pub mod cache;
pub mod cancel;
pub mod engine;
pub mod host;
pub mod limits;
pub mod outcome;
pub mod run;
pub mod state;
pub mod ticker;
pub mod world;
