//! Builds the test guests in tests/guests for wasm32-wasip2 and tells the tests where they are:
//! `env!("CUTOVER_TEST_GUESTS")` is the directory holding `<crate name with '-' as '_'>.wasm`
//! (spin, membomb, escape, panic, sleeper, wrong_world).

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR")
            .expect("cargo sets CARGO_MANIFEST_DIR for build scripts"),
    );
    let dir = wasm_build::build_workspace(&crate_dir.join("guests").join("Cargo.toml"));
    println!("cargo:rustc-env=CUTOVER_TEST_GUESTS={}", dir.display());
}
