//! `cutover policies`: the policies built into this binary.

use super::output;
use super::{CliError, ExitCode, Format, OutputArgs};
use crate::source::PolicySource;

pub(super) fn execute(args: OutputArgs) -> Result<ExitCode, CliError> {
    // A bundled policy that does not load is a broken build, not bad input: still one line.
    let policies = PolicySource::bundled().map_err(|e| CliError::new(ExitCode::Internal, e))?;
    match args.output {
        Format::Json | Format::Yaml => {
            let list: Vec<_> = policies
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "name": p.manifest.name,
                        "version": p.manifest.version,
                        "description": p.manifest.description,
                        "digest": format!("sha256:{}", p.digest),
                    })
                })
                .collect();
            outln!(
                "{}",
                output::machine(&serde_json::Value::Array(list), args.output)
            );
        }
        Format::Table => {
            let rows = policies
                .iter()
                .map(|p| {
                    vec![
                        p.manifest.name.clone(),
                        p.manifest.version.clone(),
                        p.manifest.description.clone(),
                    ]
                })
                .collect();
            outln!(
                "{}",
                output::table(&["name", "version", "description"], rows)
            );
        }
    }
    Ok(ExitCode::Ok)
}
