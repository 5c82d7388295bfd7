//! The policy manifest: read from the `cutover-manifest` custom section of a component without
//! running any guest code, and checked (docs/manifest.md).

use serde::{Deserialize, Serialize};
use wasmparser::{Encoding, Parser, Payload};

use crate::capabilities::{Capability, ParseError};

/// The custom section that holds the manifest.
pub const SECTION: &str = "cutover-manifest";
/// The manifest format this host reads.
pub const MANIFEST_VERSION: u32 = 1;
/// The largest manifest section read.
pub const MAX_SECTION: usize = 64 << 10;
/// The longest policy or parameter name.
pub const MAX_NAME: usize = 63;
/// The longest description (of the policy or of a parameter), in characters.
pub const MAX_DESCRIPTION: usize = cutover_grammar::policy::MAX_DESCRIPTION;
/// The most parameters, and the most capabilities, a manifest may declare.
pub const MAX_PARAMS: usize = 256;
pub const MAX_CAPABILITIES: usize = 256;
/// The most values a string parameter's `enum` lists, and the longest one, in bytes.
pub const MAX_ENUM_VALUES: usize = 64;
pub const MAX_ENUM_VALUE_LEN: usize = 253;

/// What a policy says about itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    pub manifest_version: u32,
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub description: String,
    /// The template of the release name (`drain-{node}`), rendered from the run's parameters
    /// when the operator gives no `--release` ([`crate::release_template`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// What positional inputs the policy takes (one line); none: it takes none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<String>,
    /// The parameters are a chart's values, merged and typed as Helm does ([`crate::values`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub chart_values: bool,
    /// A failed run is undone through the journal unless the operator says otherwise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rollback_on_failure: bool,
    /// The policy undoes its own runs: `cutover rollback` (without a revision) and `cutover
    /// abort` of a failed or interrupted run run it again told `abort`, instead of replaying
    /// the journal.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rollback_by_policy: bool,
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
    /// The smallest value of an `integer` or `number` parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<serde_json::Number>,
    /// The largest value of an `integer` or `number` parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<serde_json::Number>,
    /// The values a `string` parameter may take.
    #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
    #[serde(default)]
    pub description: String,
}

impl ParamSpec {
    /// What the schema allows besides the type, for `inspect`: `0..100`, `>= 1`, `<= 10`,
    /// `Deployment | DaemonSet`; empty when unrestricted.
    pub fn allowed_text(&self) -> String {
        match (&self.minimum, &self.maximum, &self.allowed) {
            (Some(min), Some(max), _) => format!("{min}..{max}"),
            (Some(min), None, _) => format!(">= {min}"),
            (None, Some(max), _) => format!("<= {max}"),
            (None, None, Some(values)) => values.join(" | "),
            (None, None, None) => String::new(),
        }
    }
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
    /// Any JSON/YAML mapping.
    Object,
    /// Any JSON/YAML sequence.
    List,
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
            ParamType::Object => "object",
            ParamType::List => "list",
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
        let mut sections = 0usize;
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
                // Anywhere in the component, nested modules included: one manifest, or none.
                Payload::CustomSection(section) if section.name() == SECTION => {
                    sections += 1;
                    found.get_or_insert(section.data());
                }
                _ => {}
            }
        }
        let data = found.ok_or(ManifestError::Missing)?;
        if sections > 1 {
            return Err(ManifestError::Invalid(format!(
                "the component holds {sections} `{SECTION}` sections; a policy has exactly one"
            )));
        }
        if data.len() > MAX_SECTION {
            return Err(ManifestError::Invalid(format!(
                "the section is {} bytes, more than the {} KiB a manifest may take",
                data.len(),
                MAX_SECTION >> 10
            )));
        }
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

    /// The rules of docs/manifest.md, each checked in time linear in the manifest's size.
    fn check(&self) -> Result<(), ManifestError> {
        if self.manifest_version != MANIFEST_VERSION {
            return Err(ManifestError::Version(self.manifest_version));
        }
        let invalid = |m: String| Err(ManifestError::Invalid(m));
        if let Err(e) = cutover_grammar::policy::check_policy_name(&self.name) {
            return invalid(e.to_string());
        }
        if cutover_grammar::policy::version(&self.version).is_err() {
            return invalid(format!(
                "version `{}` is not semver (MAJOR.MINOR.PATCH[-pre][+build])",
                shown(&self.version)
            ));
        }
        check_description(&self.description, "the description")?;
        if let Some(inputs) = &self.inputs {
            check_description(inputs, "the description of the inputs")?;
        }
        if self.chart_values && !self.params.is_empty() {
            return invalid(
                "a manifest with chart values declares no parameters: its values are the chart's"
                    .to_string(),
            );
        }
        if self.rollback_by_policy && self.rollback_on_failure {
            return invalid(
                "a manifest declares rollbackByPolicy or rollbackOnFailure, not both: a policy that undoes its own runs is not undone through the journal on failure"
                    .to_string(),
            );
        }
        if self.params.len() > MAX_PARAMS {
            return invalid(format!(
                "{} parameters declared; at most {MAX_PARAMS}",
                self.params.len()
            ));
        }
        let mut names = std::collections::HashSet::with_capacity(self.params.len());
        for param in &self.params {
            if param.name.len() > MAX_NAME {
                return invalid(format!(
                    "parameter name `{}` is longer than {MAX_NAME} characters",
                    shown(&param.name)
                ));
            }
            if let Err(e) = cutover_grammar::policy::check_parameter_name(&param.name) {
                return invalid(e.to_string());
            }
            if !names.insert(param.name.as_str()) {
                return invalid(format!("parameter `{}` is declared twice", param.name));
            }
            check_description(
                &param.description,
                &format!("the description of parameter `{}`", param.name),
            )?;
            check_schema(param).map_err(|reason| {
                ManifestError::Invalid(format!("parameter `{}` {reason}", param.name))
            })?;
            if let Some(default) = &param.default
                && let Err(e) = crate::params::check_value(param, default)
            {
                return invalid(format!(
                    "the default of parameter `{}` {}",
                    param.name,
                    crate::text::quote(&e)
                ));
            }
        }
        if self.capabilities.len() > MAX_CAPABILITIES {
            return invalid(format!(
                "{} capabilities declared; at most {MAX_CAPABILITIES}",
                self.capabilities.len()
            ));
        }
        for capability in self.capabilities()? {
            self.check_endpoint_param(&capability)?;
        }
        if let Some(template) = &self.release {
            self.check_release_template(template)?;
        }
        Ok(())
    }

    /// A probe capability's `{parameter}` names a declared `string` or `string-list` parameter.
    fn check_endpoint_param(&self, capability: &Capability) -> Result<(), ManifestError> {
        let Some(name) = capability.endpoint_param() else {
            return Ok(());
        };
        match self.param(name) {
            None => Err(ManifestError::Invalid(format!(
                "capability `{capability}` names `{{{name}}}`, which is not a declared parameter"
            ))),
            Some(param) if !matches!(param.kind, ParamType::String | ParamType::StringList) => {
                Err(ManifestError::Invalid(format!(
                    "capability `{capability}` names parameter `{name}` ({}): probe endpoints come from a string or string-list parameter",
                    param.kind.as_str()
                )))
            }
            Some(param) => {
                // A default the host could not resolve would fail every run, blaming the operator.
                let defaults = serde_json::json!({ name: param.default.clone() });
                crate::capabilities::resolve_endpoint_params(
                    std::slice::from_ref(capability),
                    &defaults,
                )
                .map(drop)
                .map_err(|e| ManifestError::Invalid(format!("the default of {e}")))
            }
        }
    }

    /// Resolves the probe capabilities with the parameters' defaults: what `cutover inspect`
    /// shows a run without `--set` would declare.
    pub fn default_endpoints(&self, capability: &Capability) -> Option<Vec<Capability>> {
        let name = capability.endpoint_param()?;
        let default = self.param(name)?.default.clone();
        let defaults = serde_json::json!({ name: default });
        crate::capabilities::resolve_endpoint_params(std::slice::from_ref(capability), &defaults)
            .ok()
    }

    /// The release template's syntax, and each placeholder naming a declared `string` or
    /// `integer` parameter that always has a value (required, or with a default).
    fn check_release_template(&self, template: &str) -> Result<(), ManifestError> {
        use cutover_grammar::policy::{check_release_template, release_template_placeholder};
        let invalid = |m: String| Err(ManifestError::Invalid(m));
        if let Err(e) = check_release_template(template) {
            return invalid(e.to_string());
        }
        let mut from = 0;
        while let Some((start, end)) = release_template_placeholder(template, from) {
            let name = &template[start..end];
            from = end + 1;
            let Some(param) = self.param(name) else {
                return invalid(format!(
                    "the release template `{}` names `{{{name}}}`, which is not a declared parameter",
                    shown(template)
                ));
            };
            if !matches!(param.kind, ParamType::String | ParamType::Integer) {
                return invalid(format!(
                    "the release template names parameter `{name}`, a {}: only string and integer parameters can name a release",
                    param.kind.as_str()
                ));
            }
            if !param.required && param.default.is_none() {
                return invalid(format!(
                    "the release template names parameter `{name}`, which may be unset: make it required or give it a default"
                ));
            }
        }
        Ok(())
    }
}

/// `minimum`/`maximum` only on numbers (integers for an `integer`), in order; `enum` only on
/// strings, 1 to [`MAX_ENUM_VALUES`] distinct plain values of at most [`MAX_ENUM_VALUE_LEN`]
/// bytes. The reason reads after the parameter's name.
fn check_schema(param: &ParamSpec) -> Result<(), String> {
    let numeric = matches!(param.kind, ParamType::Integer | ParamType::Number);
    for (what, bound) in [("minimum", &param.minimum), ("maximum", &param.maximum)] {
        let Some(bound) = bound else { continue };
        if !numeric {
            return Err(format!(
                "is a {}: only integer and number parameters take a {what}",
                param.kind.as_str()
            ));
        }
        if param.kind == ParamType::Integer && !(bound.is_i64() || bound.is_u64()) {
            return Err(format!(
                "is an integer: its {what} must be an integer, not {bound}"
            ));
        }
    }
    if let (Some(min), Some(max)) = (&param.minimum, &param.maximum)
        && crate::params::compare(min, max).is_gt()
    {
        return Err(format!(
            "has a minimum ({min}) greater than its maximum ({max})"
        ));
    }
    if let Some(values) = &param.allowed {
        if param.kind != ParamType::String {
            return Err(format!(
                "is a {}: only string parameters take an enum",
                param.kind.as_str()
            ));
        }
        if values.is_empty() || values.len() > MAX_ENUM_VALUES {
            return Err(format!(
                "lists {} enum values; an enum lists 1 to {MAX_ENUM_VALUES}",
                values.len()
            ));
        }
        let mut seen = std::collections::HashSet::with_capacity(values.len());
        for value in values {
            if value.len() > MAX_ENUM_VALUE_LEN || value.chars().any(crate::text::is_unsafe) {
                return Err(format!(
                    "lists the enum value `{}`: each is at most {MAX_ENUM_VALUE_LEN} bytes of plain text",
                    shown(value)
                ));
            }
            if !seen.insert(value.as_str()) {
                return Err(format!("lists the enum value `{}` twice", shown(value)));
            }
        }
    }
    Ok(())
}

/// Hostile text quoted in an error: escaped and short.
fn shown(s: &str) -> String {
    crate::text::escape(s, 64)
}

/// One line of at most [`MAX_DESCRIPTION`] characters with nothing that could steer a terminal.
fn check_description(text: &str, what: &str) -> Result<(), ManifestError> {
    use cutover_grammar::policy::{DESCRIPTION_TEXT_MESSAGE, description};
    match description(text) {
        Ok(()) => Ok(()),
        Err(DESCRIPTION_TEXT_MESSAGE) => Err(ManifestError::Invalid(format!(
            "{what} must be one line of plain text (it holds control or format characters: `{}`)",
            shown(text)
        ))),
        Err(_) => Err(ManifestError::Invalid(format!(
            "{what} is longer than {MAX_DESCRIPTION} characters"
        ))),
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
    fn descriptions_are_one_plain_line() {
        let with = |description: &str| {
            let text = serde_json::json!({
                "manifestVersion": 1, "name": "x", "version": "0.1.0",
                "description": description,
            });
            serde_json::from_value::<Manifest>(text).unwrap().check()
        };
        assert!(with("Drain a node.").is_ok());
        for bad in [
            "a\nb",
            "clear\x1b[2J",
            "hide\x1b[1A\x1b[2K",
            "\u{9b}c",
            "rtl\u{202e}x",
        ] {
            let err = with(bad).unwrap_err().to_string();
            assert!(err.contains("one line"), "{bad:?}: {err}");
            assert!(!err.chars().any(crate::text::is_unsafe), "{err}");
        }
        assert!(with(&"x".repeat(MAX_DESCRIPTION + 1)).is_err());
    }

    #[test]
    fn rollback_by_policy_is_read_and_defaults_to_false() {
        let with = |extra: serde_json::Value| {
            let mut text = serde_json::json!({
                "manifestVersion": 1, "name": "nodes", "version": "0.1.0",
            });
            if let (Some(text), Some(extra)) = (text.as_object_mut(), extra.as_object()) {
                text.extend(extra.clone());
            }
            let manifest: Manifest = serde_json::from_value(text)?;
            Ok::<_, serde_json::Error>(manifest)
        };
        let absent = with(serde_json::json!({})).unwrap();
        assert!(!absent.rollback_by_policy);
        absent.check().unwrap();
        // Written back only when declared: a manifest without it reads as before.
        assert!(
            !serde_json::to_string(&absent)
                .unwrap()
                .contains("rollbackByPolicy")
        );
        let declared = with(serde_json::json!({"rollbackByPolicy": true})).unwrap();
        assert!(declared.rollback_by_policy);
        declared.check().unwrap();
        assert!(with(serde_json::json!({"rollbackByPolicy": "yes"})).is_err());
        let both =
            with(serde_json::json!({"rollbackByPolicy": true, "rollbackOnFailure": true})).unwrap();
        let err = both.check().unwrap_err().to_string();
        assert!(
            err.contains("rollbackByPolicy or rollbackOnFailure, not both"),
            "{err}"
        );
    }

    #[test]
    fn one_manifest_section_only_and_bounded() {
        let json = br#"{"manifestVersion":1,"name":"a","version":"0.1.0"}"#;
        // A component with the section twice (in two nested places is the same to the reader).
        let mut bytes = b"\0asm\x0d\0\x01\0".to_vec();
        for _ in 0..2 {
            let mut body = vec![SECTION.len() as u8];
            body.extend_from_slice(SECTION.as_bytes());
            body.extend_from_slice(json);
            bytes.push(0);
            bytes.push(body.len() as u8);
            bytes.extend(body);
        }
        let err = Manifest::read(&bytes).unwrap_err().to_string();
        assert!(err.contains("2 `cutover-manifest` sections"), "{err}");
    }

    #[test]
    fn a_large_manifest_is_checked_in_one_pass() {
        // 256 parameters and 256 capabilities: the duplicate check is a set, not a pairwise scan.
        let params: Vec<_> = (0..MAX_PARAMS)
            .map(|i| serde_json::json!({"name": format!("p{i}"), "type": "string"}))
            .collect();
        let caps: Vec<_> = (0..MAX_CAPABILITIES)
            .map(|i| format!("cluster/get:v1/Kind{i}"))
            .collect();
        let text = serde_json::json!({
            "manifestVersion": 1, "name": "big", "version": "1.0.0",
            "params": params, "capabilities": caps,
        });
        let manifest: Manifest = serde_json::from_value(text.clone()).unwrap();
        manifest.check().unwrap();
        let mut over = text;
        over["params"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"name": "one-too-many", "type": "string"}));
        let manifest: Manifest = serde_json::from_value(over).unwrap();
        assert!(
            manifest
                .check()
                .unwrap_err()
                .to_string()
                .contains("at most")
        );
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

        for (from, to, why) in [
            ("0.1.0", "1.0", "semver"),
            ("0.1.0", "01.0.0", "semver"),
            ("0.1.0", "1.0.0-\\u001b[2J", "semver"),
            ("\"drain\"", "\"Drain\"", "invalid policy name \"Drain\""),
            ("\"drain\"", "\"drain-\"", "a lowercase RFC 1123 label"),
            (
                "\"node\"",
                "\"node.name\"",
                "invalid parameter name \"node.name\"",
            ),
        ] {
            let text = good.replacen(from, to, 1);
            let manifest: Manifest = serde_json::from_str(&text).unwrap();
            let err = manifest.check().unwrap_err().to_string();
            assert!(err.contains(why), "{to}: {err}");
            assert!(!err.contains('\x1b'), "{err}");
        }
        for version in ["0.1.0", "1.2.3-rc.1+build.5", "10.20.30-alpha-beta.0"] {
            assert!(
                cutover_grammar::policy::version(version).is_ok(),
                "{version}"
            );
        }
        for version in [
            "1.2", "1.2.3.4", "1.02.3", "1.2.3-", "1.2.3-01", "v1.2.3", "1.2.3+",
        ] {
            assert!(
                cutover_grammar::policy::version(version).is_err(),
                "{version}"
            );
        }

        let future = good.replace("\"manifestVersion\":1", "\"manifestVersion\":7");
        let manifest: Manifest = serde_json::from_str(&future).unwrap();
        assert!(matches!(manifest.check(), Err(ManifestError::Version(7))));
    }

    #[test]
    fn parameter_schemas_are_checked() {
        let with = |param: serde_json::Value| {
            let text = serde_json::json!({
                "manifestVersion": 1, "name": "resize", "version": "0.1.0", "params": [param],
            });
            serde_json::from_value::<Manifest>(text).unwrap().check()
        };
        for good in [
            serde_json::json!({"name": "n", "type": "integer", "minimum": 0, "maximum": 10, "default": 0}),
            serde_json::json!({"name": "n", "type": "number", "minimum": -0.5, "maximum": 0.5}),
            serde_json::json!({"name": "n", "type": "integer", "minimum": 3, "maximum": 3}),
            serde_json::json!({"name": "k", "type": "string", "enum": ["a", "b"], "default": "b"}),
        ] {
            assert!(with(good.clone()).is_ok(), "{good}");
        }
        for (bad, why) in [
            (
                serde_json::json!({"name": "n", "type": "integer", "minimum": 5, "maximum": 4}),
                "parameter `n` has a minimum (5) greater than its maximum (4)",
            ),
            (
                serde_json::json!({"name": "n", "type": "integer", "minimum": 0.5}),
                "parameter `n` is an integer: its minimum must be an integer, not 0.5",
            ),
            (
                serde_json::json!({"name": "s", "type": "string", "maximum": 3}),
                "parameter `s` is a string: only integer and number parameters take a maximum",
            ),
            (
                serde_json::json!({"name": "n", "type": "integer", "enum": ["1"]}),
                "only string parameters take an enum",
            ),
            (
                serde_json::json!({"name": "s", "type": "string", "enum": []}),
                "lists 0 enum values",
            ),
            (
                serde_json::json!({"name": "s", "type": "string", "enum": ["a", "a"]}),
                "lists the enum value `a` twice",
            ),
            (
                serde_json::json!({"name": "s", "type": "string", "enum": ["a\u{1b}[2J"]}),
                "at most 253 bytes of plain text",
            ),
            (
                serde_json::json!({"name": "n", "type": "integer", "minimum": 1, "default": 0}),
                "the default of parameter `n` must be at least 1, not 0",
            ),
            (
                serde_json::json!({"name": "s", "type": "string", "enum": ["a"], "default": "b"}),
                "the default of parameter `s` must be one of a, not \"b\"",
            ),
        ] {
            let err = with(bad.clone()).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
            assert!(!err.chars().any(crate::text::is_unsafe), "{err}");
        }
        // Not a number at all: refused by the reader.
        let text = r#"{"manifestVersion":1,"name":"x","version":"0.1.0","params":[
            {"name":"n","type":"integer","minimum":"0"}]}"#;
        assert!(serde_json::from_str::<Manifest>(text).is_err());
    }

    #[test]
    fn release_templates_name_declared_parameters() {
        let with = |release: &str| {
            let text = serde_json::json!({
                "manifestVersion": 1, "name": "drain", "version": "0.1.0",
                "release": release,
                "params": [
                    {"name": "node", "type": "string", "required": true},
                    {"name": "count", "type": "integer", "default": 3},
                    {"name": "maybe", "type": "string"},
                    {"name": "force", "type": "boolean", "default": false},
                ],
            });
            serde_json::from_value::<Manifest>(text).unwrap().check()
        };
        for good in ["drain-{node}", "{node}-{count}", "fixed", ""] {
            assert!(with(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            (
                "drain-{nodes}",
                "`{nodes}`, which is not a declared parameter",
            ),
            ("drain-{node", "must be closed by `}`"),
            ("drain-node}", "must close a `{`"),
            ("drain-{}", "a parameter's name in braces"),
            ("Drain-{node}", "lowercase letters"),
            ("drain-{force}", "a boolean: only string and integer"),
            ("drain-{maybe}", "may be unset"),
            ("x\u{1b}[2J{node}", "lowercase letters"),
        ] {
            let err = with(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
            assert!(!err.chars().any(crate::text::is_unsafe), "{err}");
        }
    }

    #[test]
    fn endpoint_placeholders_name_string_parameters() {
        let with = |capability: &str| {
            let text = serde_json::json!({
                "manifestVersion": 1, "name": "canary", "version": "0.1.0",
                "params": [
                    {"name": "endpoints", "type": "string-list"},
                    {"name": "one", "type": "string"},
                    {"name": "count", "type": "integer", "default": 3},
                    {"name": "good", "type": "string-list", "default": ["web:80"]},
                    {"name": "bad", "type": "string-list", "default": ["http://web:80"]},
                ],
                "capabilities": [capability],
            });
            serde_json::from_value::<Manifest>(text).unwrap().check()
        };
        for good in [
            "probe/*:{endpoints}",
            "probe/http:{one}",
            "probe/http:web:80",
            "probe/*:{good}",
        ] {
            assert!(with(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            (
                "probe/*:{nope}",
                "names `{nope}`, which is not a declared parameter",
            ),
            (
                "probe/*:{count}",
                "parameter `count` (integer): probe endpoints come from a string or string-list parameter",
            ),
            (
                "probe/*:{bad}",
                "the default of parameter bad (the endpoints of `probe/*:{bad}`): invalid capability",
            ),
        ] {
            let err = with(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }
}
