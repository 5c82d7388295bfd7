//! cutover: runs Kubernetes rollout policies as sandboxed WebAssembly components.
//!
//! - [`source`] finds a policy (bundled or a file) and reads its [`manifest`];
//! - [`capabilities`] decides what a run may do; [`params`] checks what it was asked;
//! - [`sandbox`] compiles, caches and runs it under wasmtime with limits;
//! - [`cluster`] performs every cluster operation through kube-rs; [`probe`] the HTTP checks
//!   and Prometheus queries of analysis gates;
//! - [`text`] makes a policy's text safe for a terminal; [`release`] names what a run acts for;
//! - [`replay`] records a run's host calls and replays them offline;
//! - [`cli`] is the `cutover` command line.

pub mod capabilities;
pub mod checkpoint;
pub mod cli;
pub mod cluster;
pub mod implied;
pub mod manifest;
pub mod params;
pub mod paths;
pub mod probe;
pub mod release;
pub mod release_template;
pub mod replay;
pub mod report;
pub mod sandbox;
pub mod source;
pub mod text;
pub mod units;
