//! `cutover inspect`: a policy's manifest, read without running any guest code.

use super::output;
use super::{CliError, ExitCode, Format};
use crate::source::{Origin, PolicySource};

pub(super) fn execute(policy: &str, format: Format) -> Result<ExitCode, CliError> {
    let source = PolicySource::resolve(policy).map_err(CliError::bad_input)?;
    let manifest = &source.manifest;
    let origin = match &source.origin {
        Origin::Bundled(_) => "bundled".to_string(),
        Origin::File(path) => path.display().to_string(),
    };
    match format {
        Format::Json => {
            let value = serde_json::json!({
                "source": origin,
                "digest": format!("sha256:{}", source.digest),
                "size": source.bytes.len(),
                "manifest": manifest,
            });
            println!("{}", output::json(&value));
        }
        Format::Table => {
            println!("Name:         {}", manifest.name);
            println!("Version:      {}", manifest.version);
            println!("Description:  {}", manifest.description);
            println!("Source:       {origin}");
            println!("Digest:       sha256:{}", source.digest);
            println!("Size:         {} bytes", source.bytes.len());
            println!("Parameters:");
            if manifest.params.is_empty() {
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
                            p.description.clone(),
                        ]
                    })
                    .collect();
                let table = output::table(
                    &["name", "type", "required", "default", "description"],
                    rows,
                );
                for line in table.lines() {
                    println!("  {line}");
                }
            }
            println!("Capabilities:");
            if manifest.capabilities.is_empty() {
                println!("  (none)");
            }
            for capability in &manifest.capabilities {
                println!("  {capability}");
            }
        }
    }
    Ok(ExitCode::Ok)
}
