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
        println!("{}", output::machine(&value, format));
        return Ok(ExitCode::Ok);
    }
    let line = text::line;
    println!("Name:         {}", line(&manifest.name));
    println!("Version:      {}", line(&manifest.version));
    println!("Description:  {}", line(&manifest.description));
    // What `--release` defaults to: the template, or the policy's name.
    match &manifest.release {
        Some(template) => println!("Release:      {} (from the parameters)", line(template)),
        None => println!("Release:      {} (the policy's name)", line(&manifest.name)),
    }
    match &manifest.inputs {
        Some(inputs) => println!("Inputs:       {}", line(inputs)),
        None => println!("Inputs:       (none)"),
    }
    if manifest.rollback_on_failure {
        println!("On failure:   rolled back (as --rollback-on-failure)");
    }
    println!("Source:       {}", line(&origin));
    println!("Digest:       sha256:{}", source.digest);
    println!("Size:         {} bytes", source.bytes.len());
    println!("Parameters:");
    if manifest.chart_values {
        println!(
            "  a chart's values: -f FILE, --set, --set-string, --set-file, --reuse-values (as Helm)"
        );
    } else if manifest.params.is_empty() {
        println!("  (none)");
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
            println!("  {row}");
        }
    }
    println!("Capabilities:");
    if declared.is_empty() {
        println!("  (none)");
    }
    // The parsed, canonical form: what is checked is what is shown.
    for capability in &declared {
        println!("  {}", line(&capability.to_string()));
    }
    if !implied.is_empty() {
        println!("Implied reads (made by the host on the policy's behalf):");
        for read in &implied {
            let handed = if read.returned_to_policy {
                "returned to the policy"
            } else {
                "never handed to the policy"
            };
            println!(
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
