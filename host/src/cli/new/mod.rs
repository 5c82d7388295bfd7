//! `cutover new <name>`: scaffolds a policy crate on the guest SDK — Cargo.toml, src/lib.rs,
//! scenarios with expectations, a README — that builds and passes `cutover test` at once.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{CliError, ExitCode};

/// `cutover new` arguments.
#[derive(Debug, Args)]
pub(super) struct NewArgs {
    /// The policy's name, a DNS-1123 label: the crate's, the manifest's and the folder's.
    name: String,
    /// Where to create it (default: ./<name>); it must not exist or be empty.
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,
    /// The guest SDK to depend on: the guest-sdk folder of a cutover source tree (default: the
    /// one this binary was built from).
    #[arg(long, value_name = "PATH", env = "CUTOVER_SDK")]
    sdk: Option<PathBuf>,
}

/// The files of a new policy: (path in the crate, template).
const FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("template/Cargo.toml.in")),
    ("src/lib.rs", include_str!("template/lib.rs.in")),
    (
        "scenarios/scales.yaml",
        include_str!("template/scenarios/scales.yaml"),
    ),
    (
        "scenarios/never-ready.yaml",
        include_str!("template/scenarios/never-ready.yaml"),
    ),
    ("README.md", include_str!("template/README.md.in")),
    (".gitignore", include_str!("template/gitignore.in")),
    // The versions the bundled policies are built and tested with, so that a new policy
    // resolves to the same (and builds with this toolchain); cargo adds the new crate to it.
    (
        "Cargo.lock",
        include_str!("../../../../policies/Cargo.lock"),
    ),
];

/// The guest SDK of the source tree this binary was built from.
fn built_from_sdk() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk")
}

/// The SDK folder, checked: it holds the `cutover-guest-sdk` crate.
fn find_sdk(given: Option<&Path>) -> Result<PathBuf, CliError> {
    let (dir, hint) = match given {
        Some(dir) => (dir.to_path_buf(), ""),
        None => (
            built_from_sdk(),
            " (the source tree this cutover was built from is gone: pass --sdk PATH, the guest-sdk folder of a cutover checkout)",
        ),
    };
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(|e| {
        CliError::bad_input(format!(
            "cannot read the guest SDK's {}: {e}{hint}",
            manifest.display()
        ))
    })?;
    if !text.contains("name = \"cutover-guest-sdk\"") {
        return Err(CliError::bad_input(format!(
            "{} is not the guest SDK (no package cutover-guest-sdk){hint}",
            manifest.display()
        )));
    }
    dir.canonicalize()
        .map_err(|e| CliError::bad_input(format!("cannot resolve {}: {e}", dir.display())))
}

/// The inside of a TOML basic string: backslashes and quotes escaped, control characters
/// refused by the caller's path check (a path with them is not one a crate should name).
fn toml_string(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A template with its placeholders filled in.
fn render(template: &str, name: &str, sdk: &Path) -> String {
    template
        .replace("{{name}}", name)
        .replace("{{crate}}", &name.replace('-', "_"))
        .replace("{{sdk_path}}", &toml_string(&sdk.display().to_string()))
        .replace("{{sdk_version}}", env!("CARGO_PKG_VERSION"))
}

/// Writes every file of the new crate into `dir`.
fn write_files(dir: &Path, name: &str, sdk: &Path) -> Result<(), CliError> {
    for (path, template) in FILES {
        let file = dir.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                CliError::bad_input(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        std::fs::write(&file, render(template, name, sdk))
            .map_err(|e| CliError::bad_input(format!("cannot write {}: {e}", file.display())))?;
    }
    Ok(())
}

/// Creates the crate and prints what to do next.
pub(super) fn execute(args: NewArgs) -> Result<ExitCode, CliError> {
    let name = args.name.as_str();
    cutover_grammar::policy::check_policy_name(name).map_err(|e| {
        CliError::bad_input(format!(
            "cannot name a policy {:?}: {e}",
            crate::text::escape(name, 64)
        ))
    })?;
    let dir = args.path.clone().unwrap_or_else(|| PathBuf::from(name));
    let occupied = std::fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_some());
    if occupied || dir.is_file() {
        return Err(CliError::bad_input(format!(
            "{} already exists and is not empty: choose another name or --path",
            dir.display()
        )));
    }
    let sdk = find_sdk(args.sdk.as_deref())?;
    if sdk.display().to_string().chars().any(char::is_control) {
        return Err(CliError::bad_input(format!(
            "the guest SDK's path {} has control characters: move it, or pass --sdk",
            crate::text::escape(&sdk.display().to_string(), 256)
        )));
    }
    let existed = dir.exists();
    write_files(&dir, name, &sdk).inspect_err(|_| {
        // Nothing half-made is left behind: a folder this command created goes again.
        if !existed {
            let _ = std::fs::remove_dir_all(&dir);
        }
    })?;
    let wasm = format!(
        "target/wasm32-wasip2/release/{}.wasm",
        name.replace('-', "_")
    );
    outln!("Created the policy {name} in {}/", dir.display());
    outln!("  src/lib.rs        the policy and its manifest (parameters, capabilities)");
    outln!("  scenarios/        simulated clusters, how to run on each, what must hold after");
    outln!("  guest SDK         {}", sdk.display());
    outln!("Next:");
    outln!("  cd {}", dir.display());
    outln!("  rustup target add wasm32-wasip2     # once");
    outln!("  cargo build --release --target wasm32-wasip2");
    outln!("  cutover test {wasm} scenarios/");
    Ok(ExitCode::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled() {
        for (path, template) in FILES {
            let text = render(template, "my-policy", Path::new("/src/cutover/guest-sdk"));
            assert!(!text.contains("{{"), "{path} keeps a placeholder");
        }
        let lib = render(FILES[1].1, "my-policy", Path::new("/x"));
        assert!(lib.contains("name: \"my-policy\""));
        assert!(lib.contains("release: \"my-policy-{deployment}\""));
        let cargo = render(FILES[0].1, "my-policy", Path::new("/src/cutover/guest-sdk"));
        assert!(
            cargo.contains("path = \"/src/cutover/guest-sdk\""),
            "{cargo}"
        );
        let odd = render(FILES[0].1, "p", Path::new("/src/a\"b\\c"));
        assert!(odd.contains(r#"path = "/src/a\"b\\c""#), "{odd}");
    }

    #[test]
    fn the_sdk_this_binary_was_built_from_is_found() {
        let sdk = find_sdk(None).unwrap();
        assert!(sdk.join("src/lib.rs").exists());
        let elsewhere = find_sdk(Some(Path::new(env!("CARGO_MANIFEST_DIR"))));
        assert!(
            elsewhere
                .unwrap_err()
                .message
                .contains("is not the guest SDK")
        );
    }
}
