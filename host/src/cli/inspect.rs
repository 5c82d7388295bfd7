//! `cutover inspect`: a policy's manifest, read without running any guest code, every field
//! escaped for the terminal, and the reads its capabilities imply.

use super::output;
use super::{CliError, ExitCode, Format};
use crate::implied::implied_reads;
use crate::source::{Origin, PolicySource};
use crate::text;

pub(super) fn execute(policy: &str, format: Format) -> Result<ExitCode, CliError> {
    let source = PolicySource::resolve(policy).map_err(CliError::bad_input)?;
    let manifest = &source.manifest;
    let origin = match &source.origin {
        Origin::Bundled(_) => "bundled".to_string(),
        Origin::File(path) => path.display().to_string(),
    };
    let declared = manifest.capabilities().map_err(CliError::bad_input)?;
    let implied = implied_reads(&declared);
    if format != Format::Table {
        let value = serde_json::json!({
            "source": origin,
            "digest": format!("sha256:{}", source.digest),
            "size": source.bytes.len(),
            "manifest": manifest,
            "impliedReads": implied,
        });
        outln!("{}", output::machine(&value, format));
        return Ok(ExitCode::Ok);
    }
    let line = text::line;
    outln!("Name:         {}", line(&manifest.name));
    outln!("Version:      {}", line(&manifest.version));
    outln!("Description:  {}", line(&manifest.description));
    // What `--release` defaults to: the template, or the policy's name.
    match &manifest.release {
        Some(template) => outln!("Release:      {} (from the parameters)", line(template)),
        None => outln!("Release:      {} (the policy's name)", line(&manifest.name)),
    }
    match &manifest.inputs {
        Some(inputs) => outln!("Inputs:       {}", line(inputs)),
        None => outln!("Inputs:       (none)"),
    }
    if manifest.rollback_on_failure {
        outln!("On failure:   rolled back (as --rollback-on-failure)");
    }
    if manifest.rollback_by_policy {
        outln!(
            "Rollback:     by the policy (`cutover rollback` and `abort` of a failed or interrupted run run its undo; `--journal` replays the journal instead)"
        );
    }
    outln!("Source:       {}", line(&origin));
    outln!("Digest:       sha256:{}", source.digest);
    outln!("Size:         {} bytes", source.bytes.len());
    outln!("Parameters:");
    if manifest.chart_values {
        outln!(
            "  a chart's values: -f FILE, --set, --set-string, --set-file, --reuse-values (as Helm)"
        );
    } else if manifest.params.is_empty() {
        outln!("  (none)");
    } else {
        let rows = manifest
            .params
            .iter()
            .map(|p| {
                vec![
                    p.name.clone(),
                    p.kind.as_str().to_string(),
                    if p.required { "yes" } else { "no" }.to_string(),
                    p.default
                        .as_ref()
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                    p.allowed_text(),
                    p.description.clone(),
                ]
            })
            .collect();
        let table = output::table(
            &[
                "name",
                "type",
                "required",
                "default",
                "allowed",
                "description",
            ],
            rows,
        );
        for row in table.lines() {
            outln!("  {row}");
        }
    }
    outln!("Capabilities:");
    if declared.is_empty() {
        outln!("  (none)");
    }
    // The parsed, canonical form: what is checked is what is shown.
    for capability in &declared {
        outln!("  {}", line(&capability.to_string()));
        // What a run without `--set` would declare: the policy's author picked these.
        if let Some(defaults) = manifest.default_endpoints(capability) {
            let shown: Vec<String> = defaults.iter().map(ToString::to_string).collect();
            if shown.is_empty() {
                outln!("    (no endpoint unless the run names some)");
            } else {
                outln!("    by default: {}", line(&shown.join(", ")));
            }
        }
    }
    if !implied.is_empty() {
        outln!("Implied reads (made by the host on the policy's behalf):");
        for read in &implied {
            let handed = if read.returned_to_policy {
                "returned to the policy"
            } else {
                "never handed to the policy"
            };
            outln!(
                "  {} ({}): reads {} in namespace {}; {handed}",
                read.call,
                line(&read.capability),
                read.reads.join(" and "),
                line(&read.namespace)
            );
        }
    }
    Ok(ExitCode::Ok)
}
