//! Where the test modules are: the SDK guests of tests/guests and the raw components of tests/raw-components.

use std::path::PathBuf;

/// A guest built by tests/build.rs from tests/guests/ (`noisy`, `url-escape`, ...).
///
/// # Panics
/// When it was not built: the build script builds every guest, so that is a broken build.
pub fn guest(name: &str) -> String {
    built(
        PathBuf::from(env!("CUTOVER_TEST_GUESTS")).join(format!("{}.wasm", name.replace('-', "_"))),
    )
}

/// A raw component built by tests/build.rs from tests/raw-components/ (`raw-ok`, `abi-oob-pointer`, ...).
///
/// # Panics
/// When it was not built.
pub fn raw(name: &str) -> String {
    built(PathBuf::from(env!("CUTOVER_RAW_COMPONENTS")).join(format!("{name}.wasm")))
}

fn built(path: PathBuf) -> String {
    assert!(
        path.is_file(),
        "test module {} was not built",
        path.display()
    );
    path.display().to_string()
}
