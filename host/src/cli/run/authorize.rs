//! Stage 5 of `cutover run`: the grant must cover every capability the policy declares, with
//! `{namespace}` resolved to the run's namespace; otherwise the run is refused (exit 3) before
//! any guest code runs. A grant file would be read here.

use crate::capabilities::{Capability, Grants};
use crate::cli::{CliError, ExitCode};
use crate::source::PolicySource;

use super::inputs::Inputs;

pub(super) fn grants(
    policy: &PolicySource,
    inputs: &Inputs,
    namespace: &str,
    argument: &str,
) -> Result<Grants, CliError> {
    let grants = Grants::new(&inputs.declared, &inputs.granted, namespace)
        .with_endpoint_params(inputs.endpoint_params.clone());
    let missing = grants.uncovered();
    if !missing.is_empty() {
        return Err(CliError::new(
            ExitCode::Refused,
            refusal(&policy.manifest.name, &missing, argument),
        ));
    }
    Ok(grants)
}

/// One line naming every capability the grant lacks, with the flags that would grant them.
fn refusal(policy: &str, missing: &[&Capability], argument: &str) -> String {
    let names: Vec<String> = missing.iter().map(|c| format!("`{c}`")).collect();
    let flags: Vec<String> = missing.iter().map(|c| format!("--allow '{c}'")).collect();
    let (verb, them) = if missing.len() == 1 {
        ("is", "it")
    } else {
        ("are", "them")
    };
    format!(
        "policy {policy} needs {}, which {verb} not granted: review `cutover inspect {argument}`, then grant {them} with {} (or --allow-declared)",
        names.join(", "),
        flags.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_every_missing_capability() {
        let caps: Vec<Capability> = ["cluster/cordon", "cluster/evict:v1/Pod@*"]
            .iter()
            .map(|c| Capability::parse(c).unwrap())
            .collect();
        let all: Vec<&Capability> = caps.iter().collect();
        assert_eq!(
            refusal("drain", &all, "drain"),
            "policy drain needs `cluster/cordon`, `cluster/evict:v1/Pod`, which are not granted: review `cutover inspect drain`, then grant them with --allow 'cluster/cordon' --allow 'cluster/evict:v1/Pod' (or --allow-declared)"
        );
        assert_eq!(
            refusal("drain", &all[..1], "./d.wasm"),
            "policy drain needs `cluster/cordon`, which is not granted: review `cutover inspect ./d.wasm`, then grant it with --allow 'cluster/cordon' (or --allow-declared)"
        );
    }
}
