//! Builds a cargo workspace of policy crates for `wasm32-wasip2` from a build script, so that a
//! plain `cargo build` of the host (or the tests) also builds the policies it embeds.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target every policy is built for: rustc links it straight into a component.
pub const TARGET: &str = "wasm32-wasip2";

/// Environment that the outer cargo sets for build scripts and that must not leak into the
/// inner build (flags for the host target, the jobserver, the outer target dir).
pub const LEAKY_VARS: &[&str] = &[
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_LLVM_COV",
    "CARGO_LLVM_COV_TARGET_DIR",
];

/// Builds every binary-less crate of the workspace at `manifest` in release mode for
/// [`TARGET`] and returns the directory holding the `.wasm` files.
///
/// The inner build uses `<target dir>/policies` so the host's target dir stays the only one.
/// Panics with a readable message (build scripts report errors by panicking).
pub fn build_workspace(manifest: &Path) -> PathBuf {
    let workspace_dir = manifest.parent().expect("manifest has a parent directory");
    println!("cargo:rerun-if-changed={}", workspace_dir.display());
    let root = workspace_root();
    for shared in ["guest-sdk", "grammar", "wit"] {
        println!("cargo:rerun-if-changed={}", root.join(shared).display());
    }
    let target_dir = outer_target_dir(&root).join("policies");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .arg("build")
        .arg("--release")
        .arg("--workspace")
        .arg("--target")
        .arg(TARGET)
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--target-dir")
        .arg(&target_dir);
    if env::var_os("CUTOVER_OFFLINE").is_some() {
        command.arg("--offline");
    }
    for var in LEAKY_VARS {
        command.env_remove(var);
    }
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("could not start cargo to build {}: {e}", manifest.display()));
    if !status.success() {
        panic!(
            "building the policies in {} for {TARGET} failed (is the target installed? \
             `rustup target add {TARGET}`)",
            workspace_dir.display()
        );
    }
    target_dir.join(TARGET).join("release")
}

/// The repository root: the parent of the crate whose build script is running.
fn workspace_root() -> PathBuf {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("run from a build script"));
    crate_dir
        .parent()
        .expect("crate lives inside the workspace")
        .to_path_buf()
}

/// The outer build's target dir: `CARGO_TARGET_DIR` when set, else `OUT_DIR`'s ancestor that
/// holds the profile directory (`target/debug/build/<crate>/out` → `target`).
fn outer_target_dir(root: &Path) -> PathBuf {
    if let Some(dir) = env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        return if dir.is_absolute() {
            dir
        } else {
            root.join(dir)
        };
    }
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("run from a build script"));
    out_dir
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build"))
        .and_then(|build| build.parent())
        .and_then(|profile| profile.parent())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.join("target"))
}
