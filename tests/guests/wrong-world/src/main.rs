//! Test guest `wrong-world`: a plain WASI command that exports `wasi:cli/run`, not the cutover world.
//!
//! It carries a valid manifest, so a host gets past the manifest check and must refuse it for
//! what it exports, not for a missing section.

/// Written by hand (no SDK): the SDK would link in the cutover world's type information.
#[used]
#[unsafe(link_section = "cutover-manifest")]
static MANIFEST: [u8; MANIFEST_JSON.len()] = *MANIFEST_JSON;

const MANIFEST_JSON: &[u8; 144] = br#"{"manifestVersion":1,"name":"wrong-world","version":"0.1.0","description":"A WASI command, not a cutover policy.","params":[],"capabilities":[]}"#;

fn main() {
    println!("I am not a cutover policy");
}
