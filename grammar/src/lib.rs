//! The one grammar of the values that cross between operators, policies and clusters.
//!
//! The host, the guest SDK (inside every policy, built for `wasm32-wasip2`) and the simulator
//! read durations, capabilities, Kubernetes names and selectors with this crate and nothing
//! else, so a value one of them accepts is never refused by another. The validators that the
//! SDK runs at compile time are `const fn`s; the runtime parsers are built on them.
//!
//! - [`duration`]: Go's `time.ParseDuration` syntax (`90s`, `5m`, `1h30m`, `500ms`) and the one
//!   formatter (`1m30s`).
//! - [`capability`]: the grammar `<interface>/<operation>[:<api-version>/<Kind>][@<namespace>]`.
//! - [`json_path`]: the JSON paths a probe accepts, put in RFC 9535 form.
//! - [`names`]: the Kubernetes name rules (DNS-1123 label and subdomain, DNS-1035 label, path
//!   segment names, API groups and versions, kinds, label keys and values, Helm release names).
//! - [`policy`]: what a policy manifest gives: the policy's name, version and description, its
//!   parameters' names.
//! - [`selector`]: label selectors (`kubectl -l`) and field selectors.
//! - [`text`]: the characters that may not reach a terminal raw.
//!
//! No dependencies beyond `std`; every parser is linear in its input and never recurses.

mod bytes;
pub mod capability;
pub mod duration;
pub mod json_path;
pub mod names;
pub mod policy;
mod quote;
pub use quote::QUOTED_CHARS;
pub mod selector;
pub mod text;
