//! Object operations: get, list, server-side apply, patch, delete and scale, each one request.

use kube::api::{DeleteParams, GetParams, ListParams, Patch, PatchParams, PropagationPolicy};
use serde_json::{Value, json};

use super::error::ClusterError;
use super::retry::{self, Retry};
use super::{Cluster, FIELD_MANAGER, ListQuery, Located, ObjectRef, PatchKind, describe};

/// Fills in `apiVersion` and `kind` where the server left them out (items of a list).
fn fill_type(obj: &mut Value, api_version: &str, kind: &str) {
    if let Some(map) = obj.as_object_mut() {
        map.entry("apiVersion")
            .or_insert_with(|| Value::from(api_version));
        map.entry("kind").or_insert_with(|| Value::from(kind));
    }
}

/// A string field of a manifest, for messages and lookups.
fn str_at<'a>(obj: &'a Value, pointer: &str) -> Option<&'a str> {
    obj.pointer(pointer).and_then(Value::as_str)
}

impl Cluster {
    /// Patch parameters for every write: field manager `cutover`, the dry-run flag, and `force`
    /// (server-side apply only: take over fields other managers own, as `kubectl apply --force-conflicts`).
    pub(super) fn patch_params(&self, force: bool) -> PatchParams {
        PatchParams {
            dry_run: self.dry_run,
            force,
            field_manager: Some(FIELD_MANAGER.to_string()),
            ..Default::default()
        }
    }

    /// Sends one request built by `build` (rebuilt on each retry) and returns the JSON answer.
    async fn send_json<F>(
        &self,
        loc: &Located,
        op: &str,
        policy: Retry,
        build: F,
    ) -> Result<Value, ClusterError>
    where
        F: Fn(&kube::core::Request) -> Result<http::Request<Vec<u8>>, kube::core::request::Error>,
    {
        let ctx = self.ctx(op, &loc.what);
        let base = loc.request();
        retry::send(&self.shared.jitter, policy, || {
            let req = build(&base);
            async move {
                let req = req.map_err(kube::Error::BuildRequest)?;
                self.client.request::<Value>(req).await
            }
        })
        .await
        .map_err(|e| ctx.map(&e))
    }

    /// Reads one object, as the server sent it.
    pub async fn get(&self, target: &ObjectRef) -> Result<Value, ClusterError> {
        let loc = self.locate(target, "get").await?;
        self.send_json(&loc, "get", Retry::Always, |r| {
            r.get(&loc.name, &GetParams::default())
        })
        .await
    }

    /// Lists objects in one request. Each item has `apiVersion` and `kind` filled in (the server
    /// leaves them out of list items). For a namespaced kind, `namespace: None` lists the run's
    /// namespace and `Some("*")` all namespaces; cluster-scoped kinds ignore the namespace.
    pub async fn list(&self, query: &ListQuery) -> Result<Vec<Value>, ClusterError> {
        let plural_what = format!("{} objects", query.kind);
        let early_ctx = self.ctx("list", &plural_what);
        let resolved = self
            .shared
            .discovery
            .resolve(
                &self.client,
                &self.shared.jitter,
                &query.api_version,
                &query.kind,
                &early_ctx,
            )
            .await?;
        let namespace = match query.namespace.as_deref() {
            _ if !resolved.namespaced => None,
            Some("*") => None,
            Some(ns) => Some(ns.to_string()),
            None => Some(self.namespace.clone()),
        };
        let what = match &namespace {
            Some(ns) => format!("{} in namespace {ns}", query.kind),
            None if resolved.namespaced => format!("{} in all namespaces", query.kind),
            None => query.kind.clone(),
        };
        let ctx = self.ctx("list", &what);
        if let Some(ns) = &namespace
            && !super::valid_path_segment(ns)
        {
            return Err(ClusterError::Invalid(
                ctx.line(format_args!("{ns:?} is not a valid namespace")),
            ));
        }
        let mut params = ListParams::default();
        if let Some(l) = &query.label_selector {
            params = params.labels(l);
        }
        if let Some(f) = &query.field_selector {
            params = params.fields(f);
        }
        let request = kube::core::Request::new(resolved.url_path(namespace.as_deref()));
        let mut answer = retry::send(&self.shared.jitter, Retry::Always, || {
            let req = request.list(&params);
            async move {
                self.client
                    .request::<Value>(req.map_err(kube::Error::BuildRequest)?)
                    .await
            }
        })
        .await
        .map_err(|e| ctx.map(&e))?;
        let items = match answer.get_mut("items").map(Value::take) {
            Some(Value::Array(items)) => items,
            Some(Value::Null) | None => Vec::new(),
            Some(_) => {
                return Err(ClusterError::Other(
                    ctx.line("the API server answered a list without an items array"),
                ));
            }
        };
        Ok(items
            .into_iter()
            .map(|mut item| {
                fill_type(
                    &mut item,
                    &resolved.resource.api_version,
                    &resolved.resource.kind,
                );
                item
            })
            .collect())
    }

    /// Server-side applies a whole manifest (field manager `cutover`, conflicts forced) and
    /// returns the object as stored. A namespaced manifest without a namespace gets the run's
    /// namespace; a cluster-scoped one has its namespace dropped, as kubectl does.
    /// `metadata.managedFields` is dropped too, so that an object read back with `get` can be
    /// applied again.
    pub async fn apply(&self, mut manifest: Value) -> Result<Value, ClusterError> {
        let api_version = str_at(&manifest, "/apiVersion")
            .unwrap_or_default()
            .to_string();
        let kind = str_at(&manifest, "/kind").unwrap_or_default().to_string();
        let name = str_at(&manifest, "/metadata/name")
            .unwrap_or_default()
            .to_string();
        let early = describe(if kind.is_empty() { "object" } else { &kind }, None, &name);
        let ctx = self.ctx("apply", &early);
        if !manifest.is_object() {
            return Err(ClusterError::Invalid(
                ctx.line("the manifest is not a JSON object"),
            ));
        }
        if api_version.is_empty() || kind.is_empty() {
            return Err(ClusterError::Invalid(
                ctx.line("the manifest has no apiVersion or no kind"),
            ));
        }
        if name.is_empty() {
            return Err(ClusterError::Invalid(ctx.line(
                "the manifest has no metadata.name (server-side apply needs one)",
            )));
        }
        let target = ObjectRef {
            api_version: api_version.clone(),
            kind: kind.clone(),
            namespace: str_at(&manifest, "/metadata/namespace").map(str::to_string),
            name,
        };
        let loc = self.locate(&target, "apply").await?;
        if let Some(meta) = manifest.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("managedFields");
            match &loc.namespace {
                Some(ns) => meta.insert("namespace".into(), Value::from(ns.as_str())),
                None => meta.remove("namespace"),
            };
        }
        let params = self.patch_params(true);
        let patch = Patch::Apply(&manifest);
        self.send_json(&loc, "apply", Retry::Always, |r| {
            r.patch(&loc.name, &params, &patch)
        })
        .await
    }

    /// Patches one object and returns it as stored. `PatchKind::Apply` fills in `apiVersion`,
    /// `kind`, `metadata.name` and `metadata.namespace` from `target` when the body leaves them out.
    pub async fn patch(
        &self,
        target: &ObjectRef,
        kind: PatchKind,
        body: Value,
    ) -> Result<Value, ClusterError> {
        let loc = self.locate(target, "patch").await?;
        let ctx = self.ctx("patch", &loc.what);
        match kind {
            PatchKind::Merge | PatchKind::Strategic => {
                let params = self.patch_params(false);
                let patch = if kind == PatchKind::Merge {
                    Patch::Merge(&body)
                } else {
                    Patch::Strategic(&body)
                };
                self.send_json(&loc, "patch", Retry::Always, |r| {
                    r.patch(&loc.name, &params, &patch)
                })
                .await
            }
            PatchKind::Json => {
                // The operations' type (json_patch::Patch) is inferred from `Patch::Json`, so that
                // the crate needs no direct json-patch dependency.
                let patch: Patch<()> = Patch::Json(serde_json::from_value(body).map_err(|e| {
                    ClusterError::Invalid(ctx.line(format_args!(
                        "a JSON patch must be an array of RFC 6902 operations: {e}"
                    )))
                })?);
                let params = self.patch_params(false);
                // A JSON patch may not be idempotent (`add` to a list): never sent twice.
                self.send_json(&loc, "patch", Retry::Rejected, |r| {
                    r.patch(&loc.name, &params, &patch)
                })
                .await
            }
            PatchKind::Apply => {
                let mut body = body;
                let Some(map) = body.as_object_mut() else {
                    return Err(ClusterError::Invalid(
                        ctx.line("an apply patch must be a JSON object"),
                    ));
                };
                map.entry("apiVersion")
                    .or_insert_with(|| Value::from(target.api_version.as_str()));
                map.entry("kind")
                    .or_insert_with(|| Value::from(target.kind.as_str()));
                let meta = map.entry("metadata").or_insert_with(|| json!({}));
                if let Some(meta) = meta.as_object_mut() {
                    meta.entry("name")
                        .or_insert_with(|| Value::from(loc.name.as_str()));
                    meta.remove("managedFields");
                    if let Some(ns) = &loc.namespace {
                        meta.entry("namespace")
                            .or_insert_with(|| Value::from(ns.as_str()));
                    }
                }
                let params = self.patch_params(true);
                let patch = Patch::Apply(&body);
                self.send_json(&loc, "patch", Retry::Always, |r| {
                    r.patch(&loc.name, &params, &patch)
                })
                .await
            }
        }
    }

    /// Deletes one object with background propagation, as kubectl does. An object that is
    /// already gone is not an error.
    pub async fn delete(&self, target: &ObjectRef) -> Result<(), ClusterError> {
        let loc = self.locate(target, "delete").await?;
        let params = DeleteParams {
            dry_run: self.dry_run,
            propagation_policy: Some(PropagationPolicy::Background),
            ..Default::default()
        };
        match self
            .send_json(&loc, "delete", Retry::Always, |r| {
                r.delete(&loc.name, &params)
            })
            .await
        {
            Ok(_) | Err(ClusterError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Sets the replica count through the scale subresource (Deployment, StatefulSet,
    /// ReplicaSet, or any CRD that has one).
    pub async fn scale(&self, target: &ObjectRef, replicas: u32) -> Result<(), ClusterError> {
        let loc = self.locate(target, "scale").await?;
        if !loc.resolved.has_subresource("scale") {
            return Err(ClusterError::Invalid(self.ctx("scale", &loc.what).line(
                format_args!("{} has no scale subresource", loc.resolved.resource.kind),
            )));
        }
        let params = self.patch_params(false);
        let body = json!({ "spec": { "replicas": replicas } });
        let patch = Patch::Merge(&body);
        self.send_json(&loc, "scale", Retry::Always, |r| {
            r.patch_subresource("scale", &loc.name, &params, &patch)
        })
        .await
        .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_missing_type_only() {
        let mut v = json!({"metadata": {"name": "a"}});
        fill_type(&mut v, "apps/v1", "Deployment");
        assert_eq!(v["apiVersion"], "apps/v1");
        assert_eq!(v["kind"], "Deployment");
        let mut v = json!({"apiVersion": "v1", "kind": "Pod"});
        fill_type(&mut v, "apps/v1", "Deployment");
        assert_eq!(v["kind"], "Pod");
    }
}
