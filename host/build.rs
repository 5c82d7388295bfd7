//! Builds the bundled policies (policies/ workspace) for wasm32-wasip2 and writes
//! `bundled.rs`, which embeds each one with `include_bytes!`.

use std::path::PathBuf;
use std::{env, fs};

/// The bundled policies, by crate name; each becomes `<name>.wasm`.
const BUNDLED: &[&str] = &[
    "atomic",
    "drain",
    "restart",
    "canary",
    "blue-green",
    "daemonset-node-by-node",
    "networkpolicy-v1-migration",
    "replicaset-to-deployment",
    "config-rollout",
    "calico-upgrade",
];

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let policies = root.join("../policies/Cargo.toml");
    let wasm_dir = wasm_build::build_workspace(&policies);
    let mut source =
        String::from("/// The policies built into this binary: (name, component bytes).\n");
    source.push_str("pub const BUNDLED: &[(&str, &[u8])] = &[\n");
    for name in BUNDLED {
        let file = wasm_dir.join(format!("{}.wasm", name.replace('-', "_")));
        assert!(
            file.exists(),
            "bundled policy {} was not built at {}",
            name,
            file.display()
        );
        source.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            file.display().to_string()
        ));
    }
    source.push_str("];\n");
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo")).join("bundled.rs");
    fs::write(&out, source).expect("write bundled.rs");
}
