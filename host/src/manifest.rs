//! The policy manifest: read from the `cutover-manifest` custom section of a component without
//! running any guest code, and checked (docs/manifest.md).

use serde::{Deserialize, Serialize};
use wasmparser::{Encoding, Parser, Payload};

use crate::capabilities::{Capability, ParseError};

/// The custom section that holds the manifest.
pub const SECTION: &str = "cutover-manifest";
/// The manifest format this host reads.
pub const MANIFEST_VERSION: u32 = 1;

/// What a policy says about itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    pub manifest_version: u32,
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub params: Vec<ParamSpec>,
    #[serde(default)]
    pub capabilities: Vec<String>,
}

/// One declared parameter.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ParamType,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    #[serde(default)]
    pub description: String,
}

/// The types a parameter can have.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ParamType {
    String,
    Integer,
    Number,
    Boolean,
    Duration,
    StringList,
}

impl ParamType {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Integer => "integer",
            ParamType::Number => "number",
            ParamType::Boolean => "boolean",
            ParamType::Duration => "duration",
            ParamType::StringList => "string-list",
        }
    }
}

/// Why bytes are not a usable policy.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("not a WebAssembly file ({0})")]
    NotWasm(String),
    #[error(
        "a core WebAssembly module, not a component: build the policy for --target wasm32-wasip2"
    )]
    CoreModule,
    #[error("malformed WebAssembly component: {0}")]
    Malformed(String),
    #[error(
        "no `{SECTION}` section: not a cutover policy (build it with cutover-guest-sdk's export_policy!)"
    )]
    Missing,
    #[error("the `{SECTION}` section is not a valid manifest: {0}")]
    Invalid(String),
    #[error(
        "manifest version {0} is not supported (this cutover reads version {MANIFEST_VERSION})"
    )]
    Version(u32),
    #[error("the manifest declares {0}")]
    Capability(#[from] ParseError),
}

impl Manifest {
    /// Reads and checks the manifest of a component. Also refuses bytes that are not a
    /// component at all, with a message that says what they are.
    pub fn read(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        if !bytes.starts_with(b"\0asm") {
            let what = if bytes.is_empty() {
                "the file is empty"
            } else {
                "no \\0asm magic number"
            };
            return Err(ManifestError::NotWasm(what.into()));
        }
        let mut found: Option<&[u8]> = None;
        let mut outermost = true;
        for payload in Parser::new(0).parse_all(bytes) {
            match payload.map_err(|e| ManifestError::Malformed(e.to_string()))? {
                // The first header is the file's own; nested core modules come later.
                Payload::Version { encoding, .. } if outermost => {
                    outermost = false;
                    if encoding == Encoding::Module {
                        return Err(ManifestError::CoreModule);
                    }
                }
                Payload::CustomSection(section) if section.name() == SECTION => {
                    found.get_or_insert(section.data());
                }
                _ => {}
            }
        }
        let data = found.ok_or(ManifestError::Missing)?;
        let manifest: Manifest =
            serde_json::from_slice(data).map_err(|e| ManifestError::Invalid(e.to_string()))?;
        manifest.check()?;
        Ok(manifest)
    }

    /// The declared capabilities, parsed.
    pub fn capabilities(&self) -> Result<Vec<Capability>, ParseError> {
        self.capabilities
            .iter()
            .map(|c| Capability::parse(c))
            .collect()
    }

    /// The parameter named `name`.
    pub fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }

    fn check(&self) -> Result<(), ManifestError> {
        if self.manifest_version != MANIFEST_VERSION {
            return Err(ManifestError::Version(self.manifest_version));
        }
        let invalid = |m: String| Err(ManifestError::Invalid(m));
        if let Err(e) = cutover_grammar::policy::check_policy_name(&self.name) {
            return invalid(e.to_string());
        }
        for (i, param) in self.params.iter().enumerate() {
            if let Err(e) = cutover_grammar::policy::check_parameter_name(&param.name) {
                return invalid(e.to_string());
            }
            if self.params[..i].iter().any(|p| p.name == param.name) {
                return invalid(format!("parameter `{}` is declared twice", param.name));
            }
            if let Some(default) = &param.default
                && let Err(e) = crate::params::check_value(param, default)
            {
                return invalid(format!("the default of parameter `{}` {e}", param.name));
            }
        }
        self.capabilities()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A core module with one custom section, assembled by hand.
    fn module_with_section(name: &str, data: &[u8]) -> Vec<u8> {
        let mut body = vec![name.len() as u8];
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(data);
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        bytes.push(0);
        bytes.push(body.len() as u8);
        bytes.extend(body);
        bytes
    }

    #[test]
    fn refuses_what_is_not_a_component() {
        assert!(matches!(
            Manifest::read(b""),
            Err(ManifestError::NotWasm(_))
        ));
        assert!(matches!(
            Manifest::read(b"hello world"),
            Err(ManifestError::NotWasm(_))
        ));
        let core = module_with_section("other", b"x");
        assert!(matches!(
            Manifest::read(&core),
            Err(ManifestError::CoreModule)
        ));
        let truncated = b"\0asm\x0d\0\x01\0\x01";
        assert!(matches!(
            Manifest::read(truncated),
            Err(ManifestError::Malformed(_))
        ));
    }

    #[test]
    fn manifest_json_is_checked() {
        let good = r#"{"manifestVersion":1,"name":"drain","version":"0.1.0","params":[
            {"name":"node","type":"string","required":true},
            {"name":"timeout","type":"duration","default":"5m"}],
            "capabilities":["cluster/cordon"]}"#;
        let manifest: Manifest = serde_json::from_str(good).unwrap();
        manifest.check().unwrap();
        assert_eq!(manifest.param("timeout").unwrap().kind, ParamType::Duration);

        let bad_default = good.replace("\"5m\"", "\"soon\"");
        let manifest: Manifest = serde_json::from_str(&bad_default).unwrap();
        assert!(
            manifest
                .check()
                .unwrap_err()
                .to_string()
                .contains("parameter `timeout`")
        );

        let bad_cap = good.replace("cluster/cordon", "cluster/explode");
        let manifest: Manifest = serde_json::from_str(&bad_cap).unwrap();
        assert!(matches!(
            manifest.check(),
            Err(ManifestError::Capability(_))
        ));

        for (from, to, reason) in [
            ("\"drain\"", "\"Drain\"", "invalid policy name \"Drain\""),
            ("\"drain\"", "\"drain-\"", "a lowercase RFC 1123 label"),
            (
                "\"node\"",
                "\"node.name\"",
                "invalid parameter name \"node.name\"",
            ),
        ] {
            let renamed = good.replacen(from, to, 1);
            let manifest: Manifest = serde_json::from_str(&renamed).unwrap();
            let error = manifest.check().unwrap_err().to_string();
            assert!(error.contains(reason), "{to}: {error}");
        }

        let future = good.replace("\"manifestVersion\":1", "\"manifestVersion\":7");
        let manifest: Manifest = serde_json::from_str(&future).unwrap();
        assert!(matches!(manifest.check(), Err(ManifestError::Version(7))));
    }
}
