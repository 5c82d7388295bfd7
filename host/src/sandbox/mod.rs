//! The sandbox: the wasmtime engine and its compile cache, the per-run store with its limits,
//! and the run itself (deadline, memory cap, typed traps).

pub mod bindings;
pub mod cache;
pub mod engine;
pub mod limits;
pub mod run;
pub mod state;
pub mod world;
