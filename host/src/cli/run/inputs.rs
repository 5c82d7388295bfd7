//! Stage 2 of `cutover run`: check every input before anything touches a cluster: parameters
//! against the manifest, the scenario file, the release name, the capabilities granted.

use std::path::Path;

use cutover_sim::Scenario;
use serde_json::Value;

use crate::capabilities::Capability;
use crate::cli::{CliError, RunArgs};
use crate::manifest::Manifest;
use crate::sandbox::limits::Limits;
use crate::source::PolicySource;

/// What the run was asked to do, checked.
pub(super) struct Inputs {
    /// The parameters, defaults filled in.
    pub(super) params: Value,
    /// The parameters as given (`-f`, `--set`), before defaults: the revision records both.
    pub(super) given: Value,
    /// The simulated cluster to load, with `--sim`.
    pub(super) scenario: Option<Scenario>,
    /// The release the run acts for.
    pub(super) release: String,
    /// What the policy declares and what the operator granted (unresolved: `{namespace}`
    /// is filled in once the namespace is known).
    pub(super) declared: Vec<Capability>,
    pub(super) granted: Vec<Capability>,
    pub(super) limits: Limits,
    /// The positional inputs' files, read and bounded.
    pub(super) files: std::sync::Arc<Vec<crate::input_files::InputFile>>,
}

pub(super) fn check(args: &RunArgs, policy: &PolicySource) -> Result<Inputs, CliError> {
    let manifest = &policy.manifest;
    let values: Vec<&Path> = args.values.iter().map(|p| p.as_path()).collect();
    let (given, params) = match &args.given_values {
        Some(recorded) => crate::params::from_given(manifest, recorded),
        None => crate::params::resolve_given(manifest, &values, &args.sets),
    }
    .map_err(CliError::bad_input)?;
    // The scenario is input too: a bad one is refused before anything starts.
    let scenario = match &args.sim {
        Some(Some(path)) => {
            Some(Scenario::load(path).map_err(|e| CliError::bad_input(e.to_string()))?)
        }
        Some(None) => Some(Scenario::default()),
        None => None,
    };
    // `-n` is checked here, before anything starts, for a real cluster and the simulator alike.
    if let Some(namespace) = &args.cluster.namespace {
        crate::cluster::target::check_namespace(namespace).map_err(CliError::bad_input)?;
    }
    let release = release(args.release.as_deref(), manifest, &params)?;
    let declared = manifest.capabilities().map_err(CliError::bad_input)?;
    let mut granted = args
        .allow
        .iter()
        .map(|c| Capability::parse(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(CliError::bad_input)?;
    if args.allow_declared {
        granted.extend(declared.iter().cloned());
    }
    let files = std::sync::Arc::new(read_inputs(args, manifest)?);
    let limits = Limits {
        timeout: args.timeout,
        memory: args.memory_limit,
        request_timeout: args.request_timeout,
    };
    Ok(Inputs {
        params,
        given,
        scenario,
        release,
        declared,
        granted,
        limits,
        files,
    })
}

/// The positional inputs, refused for a policy that takes none (before any is read).
fn read_inputs(
    args: &RunArgs,
    manifest: &Manifest,
) -> Result<Vec<crate::input_files::InputFile>, CliError> {
    use crate::input_files::{InputError, read};
    if let Some(first) = args.inputs.first()
        && manifest.inputs.is_none()
    {
        return Err(CliError::bad_input(
            InputError::NotTaken {
                policy: manifest.name.clone(),
                first: crate::text::escape(&first.display().to_string(), 256),
            }
            .to_string(),
        ));
    }
    read(&args.inputs, std::io::stdin().lock()).map_err(|e| CliError::bad_input(e.to_string()))
}

/// The release the run acts for: `--release`; else the manifest's template rendered with the
/// parameters (defaults filled in); else the policy's name.
fn release(given: Option<&str>, manifest: &Manifest, params: &Value) -> Result<String, CliError> {
    let (release, hint) = match (given, &manifest.release) {
        (Some(release), _) => (release.to_string(), String::new()),
        (None, Some(template)) => {
            let hint = format!(
                " (the policy names its release `{}` from its parameters: give --release)",
                crate::text::escape(template, 64)
            );
            let release = crate::release_template::render(template, params)
                .map_err(|e| CliError::bad_input(format!("{e}{hint}")))?;
            (release, hint)
        }
        (None, None) => (
            manifest.name.clone(),
            " (it defaults to the policy's name: give --release)".to_string(),
        ),
    };
    crate::release::check_name(&release).map_err(|e| CliError::bad_input(format!("{e}{hint}")))?;
    Ok(release)
}
