//! Stage 5 of `cutover run`: the grant must cover every capability the policy declares, with
//! `{namespace}` resolved to the run's namespace; otherwise the run is refused (exit 3) before
//! any guest code runs. A grant file would be read here.

use crate::capabilities::Grants;
use crate::cli::{CliError, ExitCode};
use crate::source::PolicySource;

use super::inputs::Inputs;

pub(super) fn grants(
    policy: &PolicySource,
    inputs: &Inputs,
    namespace: &str,
    argument: &str,
) -> Result<Grants, CliError> {
    let grants = Grants::new(&inputs.declared, &inputs.granted, namespace);
    if let Some(missing) = grants.first_uncovered() {
        return Err(CliError::new(
            ExitCode::Refused,
            format!(
                "policy {} needs `{missing}`, which is not granted: review `cutover inspect {argument}`, then grant it with --allow '{missing}' (or --allow-declared)",
                policy.manifest.name
            ),
        ));
    }
    Ok(grants)
}
