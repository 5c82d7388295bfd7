//! Builds the test guests: the SDK guests in tests/guests for wasm32-wasip2, and the raw
//! components of tests/raw-components (WAT that breaks the canonical ABI), and tells the tests
//! where they are:
//! - `env!("CUTOVER_TEST_GUESTS")`: `<crate name with '-' as '_'>.wasm` (spin, membomb, noisy, ...);
//! - `env!("CUTOVER_RAW_COMPONENTS")`: `<case name>.wasm` (raw-ok, abi-oob-pointer, ...);
//! - `env!("CUTOVER_EXAMPLE_POLICIES")`: the Rust example policies of examples/policies
//!   (`resize.wasm`), each a crate of its own, built into the same target directory as the guests.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR")
            .expect("cargo sets CARGO_MANIFEST_DIR for build scripts"),
    );
    let dir = wasm_build::build_workspace(&crate_dir.join("guests").join("Cargo.toml"));
    println!("cargo:rustc-env=CUTOVER_TEST_GUESTS={}", dir.display());
    let examples = crate_dir.join("..").join("examples").join("policies");
    let dir = wasm_build::build_workspace(&examples.join("resize").join("Cargo.toml"));
    println!("cargo:rustc-env=CUTOVER_EXAMPLE_POLICIES={}", dir.display());

    let raw = crate_dir.join("raw-components");
    println!("cargo:rerun-if-changed={}", raw.join("wat").display());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("raw");
    let wit = crate_dir.join("..").join("wit");
    if let Err(e) = raw_components::build_all(&wit, &out) {
        panic!("building the raw components: {e:#}");
    }
    println!("cargo:rustc-env=CUTOVER_RAW_COMPONENTS={}", out.display());
}
