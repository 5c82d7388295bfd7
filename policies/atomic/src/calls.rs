//! The two host calls the SDK is gaining (`Context::inputs`, `Context::wait_current`), reached
//! through the raw bindings until they land. (Temporary: replaced by the SDK's own.)

use cutover_guest_sdk::{Context, Error, ObjectRef};

use crate::source::File;

#[cfg(target_family = "wasm")]
pub fn input_files(_ctx: &Context) -> Result<Vec<File>, Error> {
    Ok(
        cutover_guest_sdk::bindings::cutover::policy::inputs::files()
            .into_iter()
            .map(|f| File {
                path: f.path,
                input: f.input,
                contents: f.contents,
            })
            .collect(),
    )
}

#[cfg(target_family = "wasm")]
pub fn wait_current(
    _ctx: &Context,
    targets: &[ObjectRef],
    timeout: std::time::Duration,
) -> Result<(), Error> {
    use cutover_guest_sdk::bindings::cutover::policy::{cluster, types};
    let targets: Vec<types::ObjectRef> = targets
        .iter()
        .map(|t| types::ObjectRef {
            api_version: t.api_version.clone(),
            kind: t.kind.clone(),
            namespace: t.namespace.clone(),
            name: t.name.clone(),
        })
        .collect();
    let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    cluster::wait_current(&targets, ms).map_err(Error::from)
}

#[cfg(not(target_family = "wasm"))]
pub fn input_files(_ctx: &Context) -> Result<Vec<File>, Error> {
    Err(Error::unavailable("inputs: not in the native fake yet"))
}

#[cfg(not(target_family = "wasm"))]
pub fn wait_current(
    _ctx: &Context,
    _targets: &[ObjectRef],
    _timeout: std::time::Duration,
) -> Result<(), Error> {
    Err(Error::unavailable(
        "wait-current: not in the native fake yet",
    ))
}
