//! `meta.k8s.io/v1` Table answers (what `kubectl get` asks for), with the columns kube-apiserver
//! 1.20's printers give each kind the simulator serves.
//!
//! A request whose `Accept` header asks for `as=Table;g=meta.k8s.io` (v1 or v1beta1) gets a Table
//! for a list, a get or each watch event (column definitions in the first event only, as the
//! real server sends them); its rows carry the object as `PartialObjectMetadata`, the whole
//! object for `includeObject=Object`, or nothing for `includeObject=None`.

mod columns;

use serde_json::{Map, Value, json};

use crate::kinds::KindInfo;

pub use columns::{Column, columns, human_duration};

/// What a row carries besides its cells (`?includeObject=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    /// Nothing.
    None,
    /// The object's metadata as a `PartialObjectMetadata` (the default).
    Metadata,
    /// The whole object.
    Object,
}

/// A request for Table answers, from the `Accept` header and `includeObject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableRequest {
    /// `meta.k8s.io/v1` or `meta.k8s.io/v1beta1`, whichever the client listed first.
    pub api_version: &'static str,
    /// What each row carries.
    pub include: IncludeObject,
}

impl TableRequest {
    /// The Table the `Accept` header asks for, if it asks for one before plain JSON.
    pub fn from_accept(accept: &str, include_object: Option<&str>) -> Option<TableRequest> {
        let api_version = accept.split(',').find_map(|media| {
            let mut params = media.split(';').map(str::trim);
            if params.next()? != "application/json" {
                return None;
            }
            let (mut table, mut group, mut version) = (false, None, None);
            for p in params {
                match p.split_once('=') {
                    Some(("as", "Table")) => table = true,
                    Some(("g", g)) => group = Some(g),
                    Some(("v", v)) => version = Some(v),
                    _ => {}
                }
            }
            // A media type without `as=` is plain JSON, and wins if listed first.
            if !table {
                return Some(None);
            }
            match (group, version) {
                (Some("meta.k8s.io"), Some("v1")) => Some(Some("meta.k8s.io/v1")),
                (Some("meta.k8s.io"), Some("v1beta1")) => Some(Some("meta.k8s.io/v1beta1")),
                _ => None,
            }
        })??;
        let include = match include_object {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        };
        Some(TableRequest {
            api_version,
            include,
        })
    }

    fn row(&self, kind: &KindInfo, object: &Value, now: jiff::Timestamp) -> Value {
        let cells: Vec<Value> = columns(kind)
            .iter()
            .map(|c| (c.cell)(object, now))
            .collect();
        let mut row = json!({"cells": cells});
        match self.include {
            IncludeObject::None => {}
            IncludeObject::Object => row["object"] = object.clone(),
            IncludeObject::Metadata => {
                row["object"] = json!({
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
                });
            }
        }
        row
    }

    /// A Table of `objects`, with `metadata` (resourceVersion, continue) from the list; column
    /// definitions unless `headers` is false.
    pub fn table(
        &self,
        kind: &KindInfo,
        objects: &[Value],
        metadata: Map<String, Value>,
        headers: bool,
        now: jiff::Timestamp,
    ) -> Value {
        let rows: Vec<Value> = objects.iter().map(|o| self.row(kind, o, now)).collect();
        let mut table = json!({
            "kind": "Table",
            "apiVersion": self.api_version,
            "metadata": metadata,
            "rows": rows,
        });
        if headers {
            let definitions: Vec<Value> = columns(kind)
                .iter()
                .map(|c| {
                    json!({
                        "name": c.name, "type": c.kind, "format": c.format,
                        "description": c.description, "priority": c.priority,
                    })
                })
                .collect();
            table["columnDefinitions"] = json!(definitions);
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectls_accept_header_asks_for_a_v1_table() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        let t = TableRequest::from_accept(kubectl, None).unwrap();
        assert_eq!(t.api_version, "meta.k8s.io/v1");
        assert_eq!(t.include, IncludeObject::Metadata);
        assert!(TableRequest::from_accept("application/json", None).is_none());
        assert!(TableRequest::from_accept("application/json, */*", None).is_none());
        assert!(
            TableRequest::from_accept("application/json;as=Table;v=v2;g=meta.k8s.io", None)
                .is_none()
        );
        let beta = TableRequest::from_accept(
            "application/json;as=Table;v=v1beta1;g=meta.k8s.io",
            Some("Object"),
        )
        .unwrap();
        assert_eq!(
            (beta.api_version, beta.include),
            ("meta.k8s.io/v1beta1", IncludeObject::Object)
        );
    }
}
