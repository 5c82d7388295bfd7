//! Stage 1 of `cutover run`: resolve the policy (a bundled name or a file) and read its manifest.
//! The trust check (signatures over the exact bytes that will be compiled) belongs here.

use crate::cli::CliError;
use crate::source::PolicySource;

/// The policy named on the command line, its bytes digested and its manifest checked.
pub(super) fn policy(argument: &str) -> Result<PolicySource, CliError> {
    PolicySource::resolve(argument).map_err(CliError::bad_input)
}
