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
    /// The declared probe capabilities whose endpoints come from a parameter, unresolved.
    pub(super) endpoint_params: Vec<Capability>,
    pub(super) limits: Limits,
    /// The positional inputs' files, read and bounded.
    pub(super) files: std::sync::Arc<Vec<crate::input_files::InputFile>>,
}

pub(super) fn check(args: &RunArgs, policy: &PolicySource) -> Result<Inputs, CliError> {
    let manifest = &policy.manifest;
    let values: Vec<&Path> = args.values.iter().map(|p| p.as_path()).collect();
    let (given, params) = if manifest.chart_values {
        chart_values(args)?
    } else {
        refuse_chart_flags(args, manifest)?;
        match &args.given_values {
            Some(recorded) => crate::params::from_given(manifest, recorded),
            None => crate::params::resolve_given(manifest, &values, &args.sets),
        }
        .map_err(CliError::bad_input)?
    };
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
    // A probe capability's `{parameter}` becomes the endpoints the run's parameter names,
    // in the declaration and in a grant alike.
    let resolve = |caps: Vec<Capability>| {
        crate::capabilities::resolve_endpoint_params(&caps, &params).map_err(CliError::bad_input)
    };
    let unresolved = manifest.capabilities().map_err(CliError::bad_input)?;
    let endpoint_params = unresolved
        .iter()
        .filter(|c| c.endpoint_param().is_some())
        .cloned()
        .collect();
    let declared = resolve(unresolved)?;
    let mut granted = resolve(
        args.allow
            .iter()
            .map(|c| Capability::parse(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(CliError::bad_input)?,
    )?;
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
        endpoint_params,
        limits,
        files,
    })
}

/// A chart's values as given (Helm's flags), or as a revision recorded them; the parameters
/// the policy gets are the same (the chart's defaults are the policy's to apply).
fn chart_values(args: &RunArgs) -> Result<(Value, Value), CliError> {
    use crate::values::{ValueFlags, given};
    let given = match &args.given_values {
        Some(Value::Object(recorded)) => recorded.clone(),
        Some(Value::Null) => serde_json::Map::new(),
        Some(_) => return Err(CliError::bad_input("the recorded values are not a mapping")),
        None => given(&ValueFlags {
            files: &args.values,
            sets: &args.sets,
            set_strings: &args.chart_values.set_strings,
            set_files: &args.chart_values.set_files,
        })
        .map_err(CliError::bad_input)?,
    };
    reuse(args)?;
    let given = Value::Object(given);
    Ok((given.clone(), given))
}

/// Which of `--reuse-values`, `--reset-values`, `--reset-then-reuse-values` was given.
pub(super) fn reuse(args: &RunArgs) -> Result<crate::values::Reuse, CliError> {
    let flags = &args.chart_values;
    crate::values::Reuse::from_flags(
        flags.reuse_values,
        flags.reset_values,
        flags.reset_then_reuse_values,
    )
    .map_err(CliError::bad_input)
}

/// Helm's value flags on a policy with declared parameters: one line saying they do not apply.
fn refuse_chart_flags(args: &RunArgs, manifest: &Manifest) -> Result<(), CliError> {
    let flags = &args.chart_values;
    let given = [
        (!flags.set_strings.is_empty(), "--set-string"),
        (!flags.set_files.is_empty(), "--set-file"),
        (flags.reuse_values, "--reuse-values"),
        (flags.reset_values, "--reset-values"),
        (flags.reset_then_reuse_values, "--reset-then-reuse-values"),
    ];
    match given.iter().find(|(on, _)| *on) {
        Some((_, flag)) => Err(CliError::bad_input(format!(
            "{flag} is for policies that take a chart's values, and {} takes declared parameters (see cutover inspect {}): use --set",
            manifest.name, manifest.name
        ))),
        None => Ok(()),
    }
}

/// For a policy that takes a chart's values, on an upgrade: this run's values with the last
/// deployed revision's, as `--reuse-values` and its relatives (or their absence) ask.
/// A first install, a resume and a dry run without a release read nothing.
pub(super) async fn with_last_values(
    args: &RunArgs,
    manifest: &Manifest,
    inputs: &mut Inputs,
    cluster: &crate::cluster::Cluster,
) -> Result<(), CliError> {
    if !manifest.chart_values || args.given_values.is_some() {
        return Ok(());
    }
    let store =
        crate::release::store::ReleaseStore::new(cluster, cluster.namespace(), &inputs.release);
    let history = store.history().await.map_err(|e| {
        CliError::new(
            crate::cli::ExitCode::Unreachable,
            format!("cannot read the history of release {}: {e}", inputs.release),
        )
    })?;
    let last =
        crate::release::store::deployed(&history).and_then(|s| match &s.record.values.given {
            Value::Object(map) => Some(map.clone()),
            _ => None,
        });
    let given = match std::mem::take(&mut inputs.given) {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    let merged = Value::Object(crate::values::with_last(given, last.as_ref(), reuse(args)?));
    inputs.given = merged.clone();
    inputs.params = merged;
    Ok(())
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
