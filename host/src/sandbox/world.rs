//! Checks that a component is a `cutover:policy@0.1.0` rollout policy before it is instantiated,
//! and says precisely what is wrong when it is not.

use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

/// The package and version this host implements.
pub const PACKAGE: &str = "cutover:policy";
pub const VERSION: &str = "0.1.0";
/// The WASI packages the sandbox satisfies (with nothing behind them: no files, sockets, env).
const WASI_PACKAGES: &[&str] = &[
    "wasi:io/",
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
    "wasi:sockets/",
];

/// Why a component is not a policy this host can run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WorldError {
    #[error(
        "it was built for {PACKAGE}@{found}; this cutover provides {PACKAGE}@{VERSION}: rebuild it against cutover-guest-sdk {VERSION}"
    )]
    Version { found: String },
    #[error(
        "it imports `{0}`, which cutover does not provide: a policy may import only {PACKAGE}@{VERSION} and the basic WASI interfaces"
    )]
    UnknownImport(String),
    #[error("it does not export `run`: not a {PACKAGE}/rollout-policy component (it exports: {0})")]
    NoRun(String),
}

/// Checks imports and exports by name. Type mismatches are caught at pre-instantiation.
pub fn check(engine: &Engine, component: &Component) -> Result<(), WorldError> {
    let ty = component.component_type();
    for (name, _) in ty.imports(engine) {
        if let Some(rest) = name.strip_prefix(PACKAGE).and_then(|r| r.strip_prefix('/')) {
            let version = rest
                .split_once('@')
                .map(|(_, v)| v)
                .unwrap_or("(unversioned)");
            if version != VERSION {
                return Err(WorldError::Version {
                    found: version.to_string(),
                });
            }
        } else if !WASI_PACKAGES.iter().any(|p| name.starts_with(p)) {
            return Err(WorldError::UnknownImport(name.to_string()));
        }
    }
    let exports: Vec<(String, bool)> = ty
        .exports(engine)
        .map(|(name, item)| {
            (
                name.to_string(),
                matches!(item.ty, ComponentItem::ComponentFunc(_)),
            )
        })
        .collect();
    if !exports
        .iter()
        .any(|(name, is_func)| name == "run" && *is_func)
    {
        let names: Vec<&str> = exports.iter().map(|(n, _)| n.as_str()).collect();
        let listed = if names.is_empty() {
            "nothing".to_string()
        } else {
            names.join(", ")
        };
        return Err(WorldError::NoRun(listed));
    }
    Ok(())
}
