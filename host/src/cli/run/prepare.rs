//! Stage 3 of `cutover run`: the sandbox (engine, compile cache) and the policy compiled or
//! loaded from the cache and pre-instantiated. Local work only: a module that does not fit the
//! world is refused before any connection is made.

use crate::cli::{CliError, ExitCode};
use crate::sandbox::run::{Prepared, Sandbox};
use crate::source::PolicySource;

/// Builds the sandbox and prepares `policy` on a blocking thread (compiling is CPU work that
/// can take seconds), so that the caller can stop waiting when the run is cancelled.
pub(super) async fn prepare(policy: PolicySource) -> Result<(Sandbox, Prepared), CliError> {
    tokio::task::spawn_blocking(move || prepare_now(&policy))
        .await
        .map_err(|e| {
            CliError::new(
                ExitCode::Internal,
                format!("the compiler thread failed: {e}"),
            )
        })?
}

fn prepare_now(policy: &PolicySource) -> Result<(Sandbox, Prepared), CliError> {
    let sandbox = Sandbox::new(crate::sandbox::cache::default_dir()).map_err(|e| {
        CliError::new(
            ExitCode::Internal,
            format!("cannot start the WebAssembly engine: {e:#}"),
        )
    })?;
    if let Some(why) = sandbox.cache_refused() {
        errln!("warning: {why}");
    }
    let prepared = sandbox.prepare(policy).map_err(CliError::bad_input)?;
    Ok((sandbox, prepared))
}
