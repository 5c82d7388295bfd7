//! Loading a chart from its files: Chart.yaml, values.yaml, templates/, crds/, the other files
//! `.Files` serves, and `.helmignore`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::ChartError;
use crate::glob;

/// Most files a chart may have.
pub const MAX_CHART_FILES: usize = 10_000;
/// Most bytes a chart's files may have together.
pub const MAX_CHART_BYTES: usize = 64 << 20;

/// A loaded chart.
#[derive(Clone, Debug)]
pub struct Chart {
    /// Chart.yaml.
    pub metadata: Metadata,
    /// values.yaml, numbers as float64 (Helm's reading); empty when the chart has none.
    pub values: Map<String, Value>,
    /// `templates/...` files: path relative to the chart root and text, sorted by path.
    pub templates: Vec<(String, String)>,
    /// `crds/...` files (installed before anything else, never templated), sorted by path.
    pub crds: Vec<(String, String)>,
    /// Every other file, for `.Files` (Chart.yaml, values.yaml, templates/ and crds/ excluded).
    pub files: BTreeMap<String, Vec<u8>>,
    /// values.schema.json if present (kept, not enforced).
    pub schema: Option<Vec<u8>>,
}

/// Chart.yaml.
#[derive(Clone, Debug, Default)]
pub struct Metadata {
    /// `apiVersion`: `v2` (Helm 3) or `v1`.
    pub api_version: String,
    pub name: String,
    pub version: String,
    pub app_version: String,
    pub description: String,
    /// `application` or `library` (empty when not set).
    pub chart_type: String,
    /// `kubeVersion` constraint, if any.
    pub kube_version: String,
    /// Every field of Chart.yaml as written.
    pub raw: Map<String, Value>,
}

impl Metadata {
    /// `.Chart` as templates see it: Go's field names (`Name`, `Version`, `AppVersion`,
    /// `Description`, `Type`, `APIVersion`, `KubeVersion`, `Home`, `Icon`, `Sources`,
    /// `Keywords`, `Maintainers` (`Name`, `Email`, `URL`), `Annotations`, `Deprecated`,
    /// `Condition`, `Tags`, `Dependencies`), empty strings/lists/nil for fields not set.
    pub fn template_object(&self) -> Value {
        let get = |k: &str| self.raw.get(k).cloned();
        let string = |k: &str| {
            Value::String(match self.raw.get(k) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::Bool(b)) => b.to_string(),
                _ => String::new(),
            })
        };
        let maintainers = match get("maintainers") {
            Some(Value::Array(list)) => Value::Array(
                list.iter()
                    .map(|m| {
                        let f =
                            |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                        serde_json::json!({"Name": f("name"), "Email": f("email"), "URL": f("url")})
                    })
                    .collect(),
            ),
            _ => Value::Null,
        };
        let mut o = Map::new();
        o.insert("Name".into(), Value::String(self.name.clone()));
        o.insert("Version".into(), Value::String(self.version.clone()));
        o.insert("AppVersion".into(), Value::String(self.app_version.clone()));
        o.insert(
            "Description".into(),
            Value::String(self.description.clone()),
        );
        o.insert("Type".into(), Value::String(self.chart_type.clone()));
        o.insert("APIVersion".into(), Value::String(self.api_version.clone()));
        o.insert(
            "KubeVersion".into(),
            Value::String(self.kube_version.clone()),
        );
        o.insert("Home".into(), string("home"));
        o.insert("Icon".into(), string("icon"));
        o.insert("Condition".into(), string("condition"));
        o.insert("Tags".into(), string("tags"));
        o.insert(
            "Deprecated".into(),
            Value::Bool(matches!(get("deprecated"), Some(Value::Bool(true)))),
        );
        o.insert("Sources".into(), get("sources").unwrap_or(Value::Null));
        o.insert("Keywords".into(), get("keywords").unwrap_or(Value::Null));
        o.insert("Maintainers".into(), maintainers);
        o.insert(
            "Annotations".into(),
            get("annotations").unwrap_or(Value::Null),
        );
        o.insert(
            "Dependencies".into(),
            get("dependencies").unwrap_or(Value::Null),
        );
        Value::Object(o)
    }
}

/// Checks and normalises a path relative to the chart root.
fn clean_path(p: &str) -> Result<String, ChartError> {
    let p = p.replace('\\', "/");
    let mut parts = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(ChartError::BadPath(p.clone())),
            other => parts.push(other),
        }
    }
    if p.starts_with('/') || parts.is_empty() {
        return Err(ChartError::BadPath(p.clone()));
    }
    Ok(parts.join("/"))
}

/// `.helmignore` rules.
struct Ignore {
    rules: Vec<(bool, bool, String)>, // (negated, directory only, pattern)
}

impl Ignore {
    fn parse(text: &str) -> Ignore {
        let mut rules = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (neg, pat) = match line.strip_prefix('!') {
                Some(p) => (true, p),
                None => (false, line),
            };
            let dir = pat.ends_with('/');
            let pat = pat
                .trim_end_matches('/')
                .trim_start_matches('/')
                .trim_start_matches("./");
            if !pat.is_empty() {
                rules.push((neg, dir, pat.to_string()));
            }
        }
        Ignore { rules }
    }

    fn ignored(&self, path: &str) -> bool {
        let comps: Vec<&str> = path.split('/').collect();
        let mut ignored = false;
        for (neg, dir, pat) in &self.rules {
            // Directories the file is in (as full paths and as names), and for a file rule the file.
            let mut hit = false;
            for n in 1..=comps.len() {
                let is_dir = n < comps.len();
                if *dir && !is_dir {
                    continue;
                }
                let full = comps[..n].join("/");
                let name = comps[n - 1];
                let m = if pat.contains('/') {
                    glob::matches(pat, &full)
                } else {
                    glob::matches(pat, name)
                };
                if m {
                    hit = true;
                    break;
                }
            }
            if hit {
                ignored = !neg;
            }
        }
        ignored
    }
}

fn text(path: &str, bytes: &[u8]) -> Result<String, ChartError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| ChartError::NotUtf8(path.to_string()))
}

/// Loads a chart from its files, paths relative to the chart root (`Chart.yaml`,
/// `templates/deployment.yaml`, ...). `.helmignore` is honoured (glob patterns, `!` negation,
/// trailing `/` for directories, patterns without `/` matching a name at any depth). Charts
/// with subcharts (`charts/`, `dependencies` in Chart.yaml, `requirements.yaml`) are refused
/// with [`ChartError::Unsupported`].
pub fn load(files: &[(String, Vec<u8>)]) -> Result<Chart, ChartError> {
    if files.len() > MAX_CHART_FILES {
        return Err(ChartError::TooLarge(format!(
            "more than {MAX_CHART_FILES} files"
        )));
    }
    let total: usize = files.iter().map(|(_, b)| b.len()).sum();
    if total > MAX_CHART_BYTES {
        return Err(ChartError::TooLarge(format!(
            "more than {MAX_CHART_BYTES} bytes"
        )));
    }
    let mut by_path: BTreeMap<String, &[u8]> = BTreeMap::new();
    for (p, b) in files {
        let p = clean_path(p)?;
        if by_path.insert(p.clone(), b).is_some() {
            return Err(ChartError::BadPath(format!("{p} (given twice)")));
        }
    }
    let ignore = match by_path.get(".helmignore") {
        Some(b) => Ignore::parse(&text(".helmignore", b)?),
        None => Ignore { rules: Vec::new() },
    };
    let chart_yaml = by_path
        .get("Chart.yaml")
        .ok_or(ChartError::MissingChartYaml)?;
    let metadata = parse_metadata(&text("Chart.yaml", chart_yaml)?)?;
    let values = match by_path.get("values.yaml") {
        Some(b) => crate::values::parse_values_yaml("values.yaml", &text("values.yaml", b)?)?,
        None => Map::new(),
    };
    let mut chart = Chart {
        metadata,
        values,
        templates: Vec::new(),
        crds: Vec::new(),
        files: BTreeMap::new(),
        schema: None,
    };
    for (path, bytes) in &by_path {
        if matches!(path.as_str(), "Chart.yaml" | "values.yaml" | ".helmignore") {
            continue;
        }
        if ignore.ignored(path) {
            continue;
        }
        if path == "requirements.yaml" || path.starts_with("charts/") {
            return Err(ChartError::Unsupported(format!(
                "subcharts are not supported by cutover's chart renderer ({path})"
            )));
        }
        if path == "values.schema.json" {
            chart.schema = Some(bytes.to_vec());
        } else if path.starts_with("templates/") {
            chart.templates.push((path.clone(), text(path, bytes)?));
        } else if path.starts_with("crds/") {
            chart.crds.push((path.clone(), text(path, bytes)?));
        } else {
            chart.files.insert(path.clone(), bytes.to_vec());
        }
    }
    Ok(chart)
}

fn parse_metadata(yaml: &str) -> Result<Metadata, ChartError> {
    let raw = match crate::yaml::parse_json_value(yaml, false) {
        Ok(Value::Object(o)) => o,
        Ok(_) => {
            return Err(ChartError::InvalidChartYaml(
                "Chart.yaml must be a map".into(),
            ));
        }
        Err(m) => {
            return Err(ChartError::Yaml {
                file: "Chart.yaml".into(),
                message: m,
            });
        }
    };
    let s = |k: &str| match raw.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let m = Metadata {
        api_version: s("apiVersion"),
        name: s("name"),
        version: s("version"),
        app_version: s("appVersion"),
        description: s("description"),
        chart_type: s("type"),
        kube_version: s("kubeVersion"),
        raw: raw.clone(),
    };
    if m.api_version.is_empty() {
        return Err(ChartError::InvalidChartYaml(
            "apiVersion is required".into(),
        ));
    }
    if m.api_version != "v1" && m.api_version != "v2" {
        return Err(ChartError::InvalidChartYaml(format!(
            "apiVersion {:?} is not v1 or v2",
            m.api_version
        )));
    }
    if m.name.is_empty() {
        return Err(ChartError::InvalidChartYaml("name is required".into()));
    }
    if m.name.contains(['/', '\\']) || m.name == "." || m.name == ".." {
        return Err(ChartError::InvalidChartYaml(format!(
            "chart name {:?} is not valid",
            m.name
        )));
    }
    if m.version.is_empty() {
        return Err(ChartError::InvalidChartYaml("version is required".into()));
    }
    if matches!(raw.get("dependencies"), Some(Value::Array(d)) if !d.is_empty()) {
        return Err(ChartError::Unsupported(
            "charts with dependencies (subcharts) are not supported by cutover's chart renderer"
                .into(),
        ));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helmignore_rules() {
        let ig = Ignore::parse("# c\n.git/\n*.swp\n!keep.swp\nsecret/*.key\n");
        assert!(ig.ignored(".git/config"));
        assert!(ig.ignored("a/b.swp"));
        assert!(!ig.ignored("keep.swp"));
        assert!(ig.ignored("secret/a.key"));
        assert!(!ig.ignored("other/a.key"));
        assert!(!ig.ignored("templates/x.yaml"));
    }

    #[test]
    fn paths_are_checked() {
        assert!(clean_path("../x").is_err());
        assert!(clean_path("/abs").is_err());
        assert_eq!(
            clean_path("./templates//a.yaml").unwrap(),
            "templates/a.yaml"
        );
    }
}
