//! Renders Helm charts from in-memory files: a Go text/template engine with Sprig's and Helm's
//! functions, Helm's values rules and `--set` syntax, hooks and install order. No I/O; builds
//! for `wasm32-wasip2` so that policies can render untrusted charts inside the sandbox.
//!
//! ```
//! use cutover_chart::{coalesce, load, render, Capabilities, Release};
//! let files = vec![
//!     ("Chart.yaml".to_string(), b"apiVersion: v2\nname: demo\nversion: 0.1.0\n".to_vec()),
//!     ("values.yaml".to_string(), b"port: 80\n".to_vec()),
//!     ("templates/svc.yaml".to_string(),
//!      b"apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  ports:\n  - port: {{ .Values.port }}\n".to_vec()),
//! ];
//! let chart = load(&files).unwrap();
//! let values = coalesce(&chart.values, &Default::default());
//! let out = render(&chart, &values, &Release::install("web", "default"), &Capabilities::default()).unwrap();
//! assert_eq!(out.manifests[0].name(), "web");
//! assert_eq!(out.manifests[0].object["spec"]["ports"][0]["port"], 80);
//! ```
//!
//! What is supported and what is not: docs/charts.md.

mod chart;
mod funcs;
mod glob;
mod render;
mod semver;
pub mod strvals;
pub mod template;
mod value;
mod values;
mod yaml;

pub use chart::{Chart, MAX_CHART_BYTES, MAX_CHART_FILES, Metadata, load};
pub use render::{
    Capabilities, DEFAULT_KUBE_VERSION, Hook, HookDeletePolicy, HookEvent, INSTALL_ORDER, Manifest,
    Release, Rendered, UNINSTALL_ORDER, render, render_with_limits, sort_for_install,
    sort_for_uninstall,
};
pub use template::{ErrorKind, Limits, TemplateError, TemplateSet};
pub use values::{coalesce, merge_values, parse_values_yaml};

/// Whether `version` satisfies the semver `constraint` (Sprig's `semverCompare`, e.g.
/// `>=1.19-0`); an error when either does not parse.
pub fn semver_matches(constraint: &str, version: &str) -> Result<bool, String> {
    semver::matches(constraint, version)
}

/// A chart that cannot be loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChartError {
    #[error("chart has no Chart.yaml")]
    MissingChartYaml,
    #[error("Chart.yaml: {0}")]
    InvalidChartYaml(String),
    #[error("{file}: YAML parse error: {message}")]
    Yaml { file: String, message: String },
    #[error("invalid path in chart: {0}")]
    BadPath(String),
    #[error("{0} is not UTF-8 text")]
    NotUtf8(String),
    #[error("chart too large: {0}")]
    TooLarge(String),
    #[error("{0}")]
    Unsupported(String),
}

/// A chart that cannot be rendered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A template failed to parse or execute (located in its file).
    #[error("{0}")]
    Template(#[from] TemplateError),
    /// A rendered file is not valid YAML.
    #[error("YAML parse error on {template}: {message}")]
    Yaml { template: String, message: String },
    /// A rendered document is not a Kubernetes object.
    #[error("{template}: {message}")]
    Object { template: String, message: String },
    /// Library charts have no manifests to install.
    #[error("chart {0:?} is a library chart and cannot be installed")]
    Library(String),
    /// The chart's `kubeVersion` excludes the cluster.
    #[error(
        "chart {chart:?} requires kubeVersion {constraint} which is incompatible with Kubernetes {version}"
    )]
    KubeVersion {
        chart: String,
        constraint: String,
        version: String,
    },
    #[error("{0}")]
    Chart(#[from] ChartError),
}
