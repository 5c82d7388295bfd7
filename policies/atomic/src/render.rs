//! Renders a chart in the sandbox (the `cutover-chart` crate) with `.Release`,
//! `.Capabilities` and the values: the chart's values.yaml coalesced with the run's values.

use cutover_chart::{Capabilities, coalesce, load, render};
use cutover_guest_sdk::Error;
use serde_json::Value;

/// The Kubernetes version `.Capabilities.KubeVersion` reports: the sandbox cannot read the
/// cluster's `/version` (it is not an object), so this is assumed, as `helm template` assumes
/// one without a cluster.
pub const KUBE_VERSION: &str = "v1.20.0";

/// What the release's identity is when the chart is rendered.
pub struct Release<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub revision: u32,
    pub is_install: bool,
}

/// A rendered chart: its objects (CRDs first, then its manifests, then its hooks, which keep
/// their annotations) and its NOTES.
pub struct Rendered {
    pub objects: Vec<Value>,
    pub notes: Option<String>,
}

/// Loads and renders the chart; a chart or template fault is [`Error::Invalid`] naming it.
pub fn chart(
    files: &[(String, Vec<u8>)],
    values: &Value,
    release: &Release<'_>,
) -> Result<Rendered, Error> {
    let chart = load(files).map_err(|e| Error::invalid(format!("loading the chart: {e}")))?;
    let user = values.as_object().cloned().unwrap_or_default();
    let values = coalesce(&chart.values, &user);
    let release = cutover_chart::Release {
        name: release.name.to_string(),
        namespace: release.namespace.to_string(),
        revision: release.revision.max(1),
        is_install: release.is_install,
        is_upgrade: !release.is_install,
    };
    let capabilities = Capabilities {
        kube_version: KUBE_VERSION.to_string(),
        ..Capabilities::default()
    };
    let rendered = render(&chart, &values, &release, &capabilities)
        .map_err(|e| Error::invalid(format!("rendering the chart: {e}")))?;
    let objects = rendered
        .crds
        .into_iter()
        .chain(rendered.manifests)
        .chain(rendered.hooks.into_iter().map(|h| h.manifest))
        .map(|m| m.object)
        .collect();
    Ok(Rendered {
        objects,
        notes: rendered.notes,
    })
}
