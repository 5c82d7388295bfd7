//! `--record FILE`: the run's host calls are recorded as they happen (`sandbox/host/taped.rs`)
//! and written, once the policy has run — succeeded, failed, stopped or cancelled — as one tape
//! ([`crate::replay::tape`]) for `cutover test --replay`.

use std::path::Path;

use super::connect::Connection;
use super::execute::Ran;
use super::inputs::Inputs;
use super::report::announce;
use crate::cli::{CliError, Format, RunArgs};
use crate::replay::Recording;
use crate::replay::tape::{self, Grants, PolicyRef, RecordedOutcome, Tape};
use crate::source::{Origin, PolicySource};

/// Checks, before anything runs, that the tape can be written where it is asked for: its
/// directory exists, it is not a directory itself, and it is none of the run's own inputs (the
/// policy, a values file, the scenario, the kubeconfig), which a tape would replace.
pub(super) fn check_path(path: &Path, args: &RunArgs) -> Result<(), CliError> {
    let same = |other: &Path| match (path.canonicalize(), other.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    let mut inputs: Vec<&Path> = vec![Path::new(&args.policy)];
    inputs.extend(args.values.iter().map(|p| p.as_path()));
    inputs.extend(args.sim.iter().flatten().map(|p| p.as_path()));
    inputs.extend(args.cluster.kubeconfig.iter().map(|p| p.as_path()));
    if let Some(input) = inputs.into_iter().find(|input| same(input)) {
        return Err(CliError::bad_input(format!(
            "--record {}: that is one of the run's inputs ({}); record to another file",
            path.display(),
            input.display()
        )));
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(CliError::bad_input(format!(
            "--record {}: no directory {} to write it in",
            path.display(),
            dir.display()
        )));
    }
    if path.is_dir() {
        return Err(CliError::bad_input(format!(
            "--record {}: a directory, not a file",
            path.display()
        )));
    }
    Ok(())
}

/// A recording for the run, when `--record` asks for one.
pub(super) fn start(args: &RunArgs) -> Option<Recording> {
    args.record.as_ref().map(|_| Recording::new())
}

/// How a tape names its policy: a bundled one by name, a file by its absolute path.
fn source_of(policy: &PolicySource) -> String {
    match &policy.origin {
        Origin::Bundled(name) => name.clone(),
        Origin::File(path) => std::path::absolute(path)
            .unwrap_or_else(|_| path.clone())
            .display()
            .to_string(),
    }
}

/// Writes the tape. A tape that cannot be written is a warning: the run has happened, and its
/// exit code says how it went.
pub(super) fn save(
    live: Option<Format>,
    path: &Path,
    recording: &Recording,
    policy: &PolicySource,
    inputs: &Inputs,
    connection: &Connection,
    ran: &Ran,
) {
    let recorded = recording.take();
    let calls = recorded.calls.len();
    let invocation = &ran.invocation;
    let tape = Tape {
        format: tape::FORMAT.to_string(),
        cutover: env!("CARGO_PKG_VERSION").to_string(),
        policy: PolicyRef {
            name: policy.manifest.name.clone(),
            version: policy.manifest.version.clone(),
            digest: format!("sha256:{}", policy.digest),
            source: source_of(policy),
        },
        invocation: tape::Invocation {
            release: invocation.release.clone(),
            namespace: invocation.namespace.clone(),
            params: inputs.params.clone(),
            dry_run: invocation.dry_run,
            revision: invocation.revision,
            attempt: invocation.attempt,
            timeout_ms: u64::try_from(inputs.limits.timeout.as_millis()).unwrap_or(u64::MAX),
            memory_limit: inputs.limits.memory,
        },
        grants: Grants {
            declared: inputs.declared.iter().map(ToString::to_string).collect(),
            granted: inputs.granted.iter().map(ToString::to_string).collect(),
        },
        server: connection.target.server.clone(),
        started_ms: ran.started_ms,
        random_seed: connection.sim.as_ref().map(|sim| sim.scenario.seed),
        calls: recorded.calls,
        truncated: recorded.truncated.clone(),
        outcome: RecordedOutcome::of(&ran.report.outcome),
    };
    match tape::write(path, &tape) {
        Ok(()) => {
            let cut = if recorded.truncated.is_some() {
                " (cut at its size bound)"
            } else {
                ""
            };
            if let Some(format) = live {
                announce(
                    format,
                    &format!("Recorded {calls} host calls to {}{cut}", path.display()),
                );
            }
        }
        Err(e) => errln!("warning: {e}"),
    }
}
