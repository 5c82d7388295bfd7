//! Renders a chart in the sandbox with `.Release`, `.Capabilities` and the coalesced values.
//! (Waiting for the `cutover-chart` crate: until it lands, a chart is refused.)

use cutover_guest_sdk::Error;
use serde_json::Value;

/// What the release's identity is when the chart is rendered.
pub struct Release<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub revision: u32,
    pub is_install: bool,
}

/// A rendered chart: its objects (hooks among them, by their annotations) and its NOTES.
pub struct Rendered {
    pub objects: Vec<Value>,
    pub notes: Option<String>,
}

pub fn chart(
    _files: &[(String, Vec<u8>)],
    _values: &Value,
    _release: &Release<'_>,
) -> Result<Rendered, Error> {
    Err(Error::invalid(
        "rendering charts is not in this build yet: render it with `helm template <release> <chart> | cutover run atomic -`",
    ))
}
