//! Assembles the raw test components: core modules written in WAT (`wat/`), wrapped as components of the `rollout-policy` world, with a `cutover-manifest` section.
//!
//! The guest SDK cannot produce a component that breaks the canonical ABI; these modules do it
//! by hand (a summary pointer out of bounds, a bad discriminant, a realloc that traps...), or
//! ask for more than the host allows (a huge table or memory), or carry a manifest the host
//! must refuse. Each one's manifest is valid unless the case is about the manifest, so what
//! fails is what the case attacks.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::Resolve;

/// The custom section the host reads the manifest from.
const MANIFEST_SECTION: &str = "cutover-manifest";

/// Which manifest sections a case carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Manifests {
    /// One valid manifest naming the case (inside the core module, where rustc puts it).
    Valid,
    /// Two: a valid one without capabilities in the core module, and a second one declaring
    /// `cluster/delete:v1/Namespace` at the component level.
    Two,
    /// One manifest that breaks one rule of docs/manifest.md.
    Breaks(Rule),
    /// A valid manifest whose string parameter's default holds `ESC [2J`, U+202E and U+009B:
    /// no rule limits defaults, so `inspect` must show it, escaped.
    HostileDefault,
}

/// A rule of the manifest that a case breaks (everything else in its manifest is valid).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// The description holds the terminal escape `ESC [2K` (erase the line).
    EscapeInDescription,
    /// The description holds U+202E (right-to-left override).
    BidiInDescription,
    /// The description is two lines.
    MultiLineDescription,
    /// The description is 257 characters.
    LongDescription,
    /// The name has an uppercase letter.
    UppercaseName,
    /// The name is 64 characters.
    LongName,
    /// The version is `1.0`, not semver 2.0.
    BadVersion,
    /// A parameter is named `bad.name` (a parameter name is letters, digits, `-` and `_`).
    BadParamName,
    /// A parameter's name is 64 characters.
    LongParamName,
    /// A parameter's description holds `ESC [2K`.
    EscapeInParamDescription,
    /// The section is over 64 KiB (valid JSON padded with whitespace).
    Oversized,
}

/// One raw component: its name (also the file name, `<name>.wasm`), its WAT source and its manifests.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    pub name: &'static str,
    pub wat: &'static str,
    pub manifests: Manifests,
}

/// The text of `wat/<name>.wat`.
macro_rules! wat_file {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/wat/", $name, ".wat"))
    };
}

/// A case with a valid manifest and its own module `wat/<name>.wat`.
macro_rules! valid {
    ($name:literal) => {
        Case {
            name: $name,
            wat: wat_file!($name),
            manifests: Manifests::Valid,
        }
    };
}

/// Every raw component the tests use.
pub const CASES: &[Case] = &[
    valid!("raw-ok"),
    valid!("abi-oob-pointer"),
    valid!("abi-bad-utf8"),
    valid!("abi-bad-discriminant"),
    valid!("abi-misaligned-return"),
    valid!("abi-realloc-traps"),
    valid!("abi-realloc-oob"),
    valid!("abi-log-oob"),
    valid!("table-huge"),
    valid!("memory-huge"),
    Case {
        name: "two-manifests",
        wat: wat_file!("raw-ok"),
        manifests: Manifests::Two,
    },
    Case {
        name: "manifest-hostile-default",
        wat: wat_file!("raw-ok"),
        manifests: Manifests::HostileDefault,
    },
    breaks("manifest-escape", Rule::EscapeInDescription),
    breaks("manifest-bidi", Rule::BidiInDescription),
    breaks("manifest-multiline", Rule::MultiLineDescription),
    breaks("manifest-long-description", Rule::LongDescription),
    breaks("manifest-uppercase-name", Rule::UppercaseName),
    breaks("manifest-long-name", Rule::LongName),
    breaks("manifest-bad-version", Rule::BadVersion),
    breaks("manifest-bad-param-name", Rule::BadParamName),
    breaks("manifest-long-param-name", Rule::LongParamName),
    breaks("manifest-param-escape", Rule::EscapeInParamDescription),
    breaks("manifest-oversized", Rule::Oversized),
];

/// The well-behaved module with a manifest that breaks `rule`.
const fn breaks(name: &'static str, rule: Rule) -> Case {
    Case {
        name,
        wat: wat_file!("raw-ok"),
        manifests: Manifests::Breaks(rule),
    }
}

/// Builds every case of [`CASES`] into `out_dir/<name>.wasm`, against the WIT package in
/// `wit_dir` (world `rollout-policy`); returns the paths written.
pub fn build_all(wit_dir: &Path, out_dir: &Path) -> Result<Vec<PathBuf>> {
    let mut resolve = Resolve::default();
    let (package, _) = resolve
        .push_dir(wit_dir)
        .with_context(|| format!("reading the WIT package in {}", wit_dir.display()))?;
    let world = resolve.select_world(&[package], Some("rollout-policy"))?;
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    CASES
        .iter()
        .map(|case| {
            let bytes = component(&resolve, world, case)
                .with_context(|| format!("building raw component {}", case.name))?;
            let path = out_dir.join(format!("{}.wasm", case.name));
            std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
            Ok(path)
        })
        .collect()
}

/// One case as component bytes.
fn component(resolve: &Resolve, world: wit_parser::WorldId, case: &Case) -> Result<Vec<u8>> {
    let mut module = wat::parse_str(case.wat)?;
    custom_section(&mut module, MANIFEST_SECTION, &manifest(case, &[]));
    // Legacy (non-canonical) core names: the export `run`, the import module
    // `cutover:policy/runtime@0.1.0`, as the WAT files spell them.
    wit_component::embed_component_metadata(
        &mut module,
        resolve,
        world,
        StringEncoding::UTF8,
        false,
    )?;
    let mut component = ComponentEncoder::default()
        .validate(true)
        .module(&module)?
        .encode()?;
    if case.manifests == Manifests::Two {
        let second = manifest(case, &["cluster/delete:v1/Namespace"]);
        custom_section(&mut component, MANIFEST_SECTION, &second);
    }
    let sections = count(&component, MANIFEST_SECTION.as_bytes());
    let expected = if case.manifests == Manifests::Two {
        2
    } else {
        1
    };
    if sections != expected {
        bail!(
            "expected {expected} `{MANIFEST_SECTION}` section(s) in the component, found {sections}"
        );
    }
    Ok(component)
}

/// The manifest of `case`, as the guest SDK writes it (tests/guests/wrong-world has one by
/// hand too), valid but for the rule the case breaks.
fn manifest(case: &Case, capabilities: &[&str]) -> Vec<u8> {
    let rule = match case.manifests {
        Manifests::Breaks(rule) => Some(rule),
        Manifests::Valid | Manifests::Two | Manifests::HostileDefault => None,
    };
    // JSON string contents: `\u001b` is an escape the host's JSON parser turns into ESC.
    let name = match rule {
        Some(Rule::UppercaseName) => "Raw-Upper".to_string(),
        Some(Rule::LongName) => "a".repeat(64),
        _ => case.name.to_string(),
    };
    let version = match rule {
        Some(Rule::BadVersion) => "1.0",
        _ => "0.1.0",
    };
    let description = match rule {
        Some(Rule::EscapeInDescription) => "Erases the line \\u001b[2K and writes over it.".into(),
        Some(Rule::BidiInDescription) => "Reads backwards: \\u202eexe.txt".into(),
        Some(Rule::MultiLineDescription) => "First line.\\nSecond line.".into(),
        Some(Rule::LongDescription) => "d".repeat(257),
        _ => "A raw test component.".to_string(),
    };
    let param = |name: &str, description: &str| {
        format!(
            r#"[{{"name":"{name}","type":"string","default":"x","description":"{description}"}}]"#
        )
    };
    let params = match (case.manifests, rule) {
        (Manifests::HostileDefault, _) => format!(
            r#"[{{"name":"p","type":"string","default":"{}","description":"A parameter."}}]"#,
            "\\u001b[2J\\u202e\\u009b"
        ),
        (_, Some(Rule::BadParamName)) => param("bad.name", "A parameter."),
        (_, Some(Rule::LongParamName)) => param(&"p".repeat(64), "A parameter."),
        (_, Some(Rule::EscapeInParamDescription)) => param("p", "Erases \\u001b[2K the line."),
        _ => "[]".to_string(),
    };
    let padding = match rule {
        Some(Rule::Oversized) => " ".repeat(70 << 10),
        _ => String::new(),
    };
    let capabilities: Vec<String> = capabilities.iter().map(|c| format!("\"{c}\"")).collect();
    format!(
        r#"{{"manifestVersion":1,"name":"{name}","version":"{version}","description":"{description}","params":{params},"capabilities":[{}]{padding}}}"#,
        capabilities.join(",")
    )
    .into_bytes()
}

/// Appends a custom section (id 0: size, name, data) to a module or component.
fn custom_section(bytes: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut body = Vec::new();
    leb128(&mut body, name.len());
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    bytes.push(0);
    leb128(bytes, body.len());
    bytes.extend(body);
}

fn leb128(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// How often `needle` occurs in `haystack`: a section name followed by its data is unique
/// enough here to check that the encoder kept what we put in.
fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_encodes_multi_byte_values() {
        let mut out = Vec::new();
        leb128(&mut out, 624_485);
        assert_eq!(out, [0xe5, 0x8e, 0x26]);
    }

    #[test]
    fn every_case_builds() {
        let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit");
        let dir = std::env::temp_dir().join(format!("raw-components-{}", std::process::id()));
        let paths = build_all(&wit, &dir).expect("every case builds");
        assert_eq!(paths.len(), CASES.len());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
