//! The example policies of examples/policies: the Rust ones built by tests/build.rs, the Python one by scripts/build-python-policy.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The repository's root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The Rust example policy `name` (`resize`), built by tests/build.rs.
///
/// # Panics
/// When it was not built: the build script builds every example, so that is a broken build.
pub fn rust_example(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CUTOVER_EXAMPLE_POLICIES"))
        .join(format!("{}.wasm", name.replace('-', "_")));
    assert!(
        path.is_file(),
        "example policy {} was not built",
        path.display()
    );
    path
}

/// The Python example policy examples/policies/resize-py, built (or found up to date) by
/// scripts/build-python-policy once per test process.
///
/// # Panics
/// When the build fails: a missing Python or componentize-py is a broken set-up
/// (`scripts/setup --for-tests` installs both), never a reason to skip.
pub fn python_resize() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = repo_root();
            let script = root.join("scripts").join("build-python-policy");
            let output = match Command::new(&script).current_dir(&root).output() {
                Ok(output) => output,
                Err(e) => panic!("starting {}: {e}", script.display()),
            };
            assert!(
                output.status.success(),
                "{} failed ({}); `scripts/setup --for-tests` installs what it needs\n{}{}",
                script.display(),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
            );
            let wasm = root.join("target/python-policies/resize-py.wasm");
            assert!(
                wasm.is_file(),
                "{} succeeded but {} does not exist",
                script.display(),
                wasm.display()
            );
            wasm
        })
        .clone()
}
