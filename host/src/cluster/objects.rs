//! Object operations on a located target: get, list (page by page, bounded), server-side apply,
//! patch, delete and scale.

use kube::api::{DeleteParams, GetParams, ListParams, Patch, PatchParams, PropagationPolicy};
use serde_json::{Value, json};

use super::bounded::{self, Answer};
use super::error::ClusterError;
use super::retry::Retry;
use super::{Cluster, Located, LocatedList, PatchKind, Removal};

/// What a list may hand back, and how it is read.
#[derive(Debug, Clone, Copy)]
pub struct ListBounds {
    /// Items asked for per request (`limit`); the rest follow with `continue`.
    pub page: u32,
    /// The most items returned; more is an error naming the bound.
    pub max_items: usize,
    /// The most JSON text read, all pages together; more is an error naming the bound.
    pub max_bytes: usize,
}

/// Label and field selectors of a list, as `kubectl -l` and `--field-selector` take them.
#[derive(Debug, Clone, Default)]
pub struct Selectors<'a> {
    pub labels: Option<&'a str>,
    pub fields: Option<&'a str>,
}

/// Fills in `apiVersion` and `kind` where the server left them out (items of a list).
fn fill_type(obj: &mut Value, api_version: &str, kind: &str) {
    if let Some(map) = obj.as_object_mut() {
        map.entry("apiVersion")
            .or_insert_with(|| Value::from(api_version));
        map.entry("kind").or_insert_with(|| Value::from(kind));
    }
}

impl Cluster {
    /// Patch parameters for every write: field manager `cutover`, the dry-run flag, and `force`
    /// (server-side apply only: take over fields other managers own, as `kubectl apply --force-conflicts`).
    pub(super) fn patch_params(&self, force: bool) -> PatchParams {
        PatchParams {
            dry_run: self.dry_run,
            force,
            field_manager: Some(self.field_manager.clone()),
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
        self.shared
            .retrier
            .send(policy, || {
                let req = build(&base);
                async move {
                    let req = req.map_err(kube::Error::BuildRequest)?;
                    super::bounded::request_json::<Value>(&self.client, req).await
                }
            })
            .await
            .map_err(|e| ctx.map(&e))
    }

    /// Reads one object, as the server sent it.
    pub async fn get(&self, loc: &Located) -> Result<Value, ClusterError> {
        let name = loc.encoded_name();
        self.send_json(loc, "get", Retry::Always, |r| {
            r.get(&name, &GetParams::default())
        })
        .await
    }

    /// Lists objects page by page (`limit`, then `continue`), as `kubectl get` does, and
    /// stops with `Invalid` naming the bound once more than `bounds` allow would come back.
    /// Each item has `apiVersion` and `kind` filled in (the server leaves them out of list items).
    pub async fn list(
        &self,
        loc: &LocatedList,
        selectors: &Selectors<'_>,
        bounds: ListBounds,
    ) -> Result<Vec<Value>, ClusterError> {
        let ctx = self.ctx("list", &loc.what);
        let request = loc.request();
        let mut items = Vec::new();
        let mut bytes = 0usize;
        let mut token: Option<String> = None;
        loop {
            let mut params = ListParams::default().limit(bounds.page);
            if let Some(l) = selectors.labels {
                params = params.labels(l);
            }
            if let Some(f) = selectors.fields {
                params = params.fields(f);
            }
            if let Some(t) = &token {
                params = params.continue_token(t);
            }
            // The page is read only up to what the bound has left: a longer one is refused while
            // it streams in, never held whole.
            let left = bounds.max_bytes.saturating_sub(bytes);
            let answer = self
                .shared
                .retrier
                .send(Retry::Always, || {
                    let req = request.list(&params);
                    async move {
                        bounded::request_text(
                            &self.client,
                            req.map_err(kube::Error::BuildRequest)?,
                            left,
                        )
                        .await
                    }
                })
                .await
                .map_err(|e| ctx.map(&e))?;
            let text = match answer {
                Answer::Text(text) => text,
                Answer::TooLarge => {
                    return Err(ClusterError::Invalid(ctx.line(format_args!(
                        "the list is larger than the {} MiB a policy may be handed at once; narrow it with a label or field selector",
                        bounds.max_bytes >> 20
                    ))));
                }
            };
            bytes = bytes.saturating_add(text.len());
            let mut page: Value = serde_json::from_str(&text).map_err(|e| {
                ClusterError::Other(ctx.line(format_args!(
                    "the API server sent a list that is not valid JSON: {e}"
                )))
            })?;
            match page.get_mut("items").map(Value::take) {
                Some(Value::Array(page_items)) => items.extend(page_items),
                Some(Value::Null) | None => {}
                Some(_) => {
                    return Err(ClusterError::Other(
                        ctx.line("the API server answered a list without an items array"),
                    ));
                }
            }
            if items.len() > bounds.max_items {
                return Err(ClusterError::Invalid(ctx.line(format_args!(
                    "the list has more than the {} items a policy may be handed at once; narrow it with a label or field selector",
                    bounds.max_items
                ))));
            }
            token = page
                .pointer("/metadata/continue")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        for item in &mut items {
            fill_type(item, loc.api_version(), loc.kind());
        }
        Ok(items)
    }

    /// Server-side applies a whole manifest (field manager `cutover`, conflicts forced) to the
    /// object `loc` names (located from the manifest's own apiVersion, kind, namespace and
    /// name) and returns the object as stored. A namespaced manifest gets the located
    /// namespace; a cluster-scoped one has its namespace dropped, as kubectl does.
    /// `metadata.managedFields` is dropped too, so that an object read back with `get` can be
    /// applied again.
    pub async fn apply(&self, loc: &Located, mut manifest: Value) -> Result<Value, ClusterError> {
        let ctx = self.ctx("apply", &loc.what);
        let Some(meta) = manifest.get_mut("metadata").and_then(Value::as_object_mut) else {
            return Err(ClusterError::Invalid(
                ctx.line("the manifest has no metadata object"),
            ));
        };
        meta.remove("managedFields");
        match &loc.namespace {
            Some(ns) => meta.insert("namespace".into(), Value::from(ns.as_str())),
            None => meta.remove("namespace"),
        };
        let params = self.patch_params(true);
        let patch = Patch::Apply(&manifest);
        let name = loc.encoded_name();
        self.send_json(loc, "apply", Retry::Always, |r| {
            r.patch(&name, &params, &patch)
        })
        .await
    }

    /// Patches one object and returns it as stored. `PatchKind::Apply` fills in `apiVersion`,
    /// `kind`, `metadata.name` and `metadata.namespace` from `target` when the body leaves them out.
    pub async fn patch(
        &self,
        loc: &Located,
        kind: PatchKind,
        body: Value,
    ) -> Result<Value, ClusterError> {
        let ctx = self.ctx("patch", &loc.what);
        let name = loc.encoded_name();
        match kind {
            PatchKind::Merge | PatchKind::Strategic => {
                let params = self.patch_params(false);
                let patch = if kind == PatchKind::Merge {
                    Patch::Merge(&body)
                } else {
                    Patch::Strategic(&body)
                };
                self.send_json(loc, "patch", Retry::Always, |r| {
                    r.patch(&name, &params, &patch)
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
                self.send_json(loc, "patch", Retry::Rejected, |r| {
                    r.patch(&name, &params, &patch)
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
                // The target's type and name, whatever the body says: an apply patch names the
                // object it reaches, and that must be the object that was authorized.
                map.insert("apiVersion".into(), Value::from(loc.api_version()));
                map.insert("kind".into(), Value::from(loc.kind()));
                let meta = map.entry("metadata").or_insert_with(|| json!({}));
                let Some(meta) = meta.as_object_mut() else {
                    return Err(ClusterError::Invalid(
                        ctx.line("an apply patch's metadata must be a JSON object"),
                    ));
                };
                meta.insert("name".into(), Value::from(loc.name.as_str()));
                meta.remove("managedFields");
                match &loc.namespace {
                    Some(ns) => meta.insert("namespace".into(), Value::from(ns.as_str())),
                    None => meta.remove("namespace"),
                };
                let params = self.patch_params(true);
                let patch = Patch::Apply(&body);
                self.send_json(loc, "patch", Retry::Always, |r| {
                    r.patch(&name, &params, &patch)
                })
                .await
            }
        }
    }

    /// Deletes one object with background propagation, as kubectl does. An object that is
    /// already gone is not an error.
    pub async fn delete(&self, loc: &Located) -> Result<Removal, ClusterError> {
        let name = loc.encoded_name();
        let params = DeleteParams {
            dry_run: self.dry_run,
            propagation_policy: Some(PropagationPolicy::Background),
            ..Default::default()
        };
        let attempts = std::sync::atomic::AtomicU32::new(0);
        let result = self
            .send_json(loc, "delete", Retry::Always, |r| {
                attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                r.delete(&name, &params)
            })
            .await;
        match result {
            Ok(_) => Ok(Removal::Removed),
            // After a retry, "not found" may be our own earlier attempt's work, whose answer
            // was lost: counted as removed, so that the report never leaves out a deletion.
            Err(ClusterError::NotFound(_))
                if attempts.load(std::sync::atomic::Ordering::Relaxed) > 1 =>
            {
                Ok(Removal::Removed)
            }
            Err(ClusterError::NotFound(_)) => Ok(Removal::AlreadyGone),
            Err(e) => Err(e),
        }
    }

    /// Deletes one object only if it is still the one with `uid` (a precondition the server
    /// checks): what an undo deletes is what the run created, never a newer object of the
    /// same name. Gone already is not an error.
    pub async fn delete_if(
        &self,
        loc: &Located,
        uid: Option<&str>,
    ) -> Result<Removal, ClusterError> {
        self.delete_with(loc, uid, None).await
    }

    /// Deletes one object only if it is still the one with `uid` (when given), giving a Pod's
    /// containers `grace_period_seconds` to stop (when given): `kubectl delete --grace-period`.
    /// Another object of the same name is refused by the server as a conflict. Gone already is
    /// not an error.
    pub async fn delete_with(
        &self,
        loc: &Located,
        uid: Option<&str>,
        grace_period_seconds: Option<u32>,
    ) -> Result<Removal, ClusterError> {
        let name = loc.encoded_name();
        let params = DeleteParams {
            dry_run: self.dry_run,
            grace_period_seconds,
            propagation_policy: Some(PropagationPolicy::Background),
            preconditions: uid.map(|uid| kube::api::Preconditions {
                uid: Some(uid.to_string()),
                resource_version: None,
            }),
        };
        match self
            .send_json(loc, "delete", Retry::Always, |r| r.delete(&name, &params))
            .await
        {
            Ok(_) => Ok(Removal::Removed),
            Err(ClusterError::NotFound(_)) => Ok(Removal::AlreadyGone),
            Err(e) => Err(e),
        }
    }

    /// Creates an object (POST): refused with a conflict when one of its name exists.
    pub async fn create(&self, loc: &Located, mut object: Value) -> Result<Value, ClusterError> {
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            match &loc.namespace {
                Some(ns) => meta.insert("namespace".into(), Value::from(ns.as_str())),
                None => meta.remove("namespace"),
            };
        }
        let body = serde_json::to_vec(&object)
            .map_err(|e| ClusterError::Invalid(self.ctx("create", &loc.what).line(e)))?;
        let params = kube::api::PostParams {
            dry_run: self.dry_run,
            field_manager: Some(self.field_manager.clone()),
        };
        self.send_json(loc, "create", Retry::Rejected, |r| {
            r.create(&params, body.clone())
        })
        .await
    }

    /// Sets the replica count through the scale subresource (Deployment, StatefulSet,
    /// ReplicaSet, or any CRD that has one).
    pub async fn scale(&self, loc: &Located, replicas: u32) -> Result<(), ClusterError> {
        let name = loc.encoded_name();
        if !loc.resolved.has_subresource("scale") {
            return Err(ClusterError::Invalid(self.ctx("scale", &loc.what).line(
                format_args!("{} has no scale subresource", loc.resolved.resource.kind),
            )));
        }
        let params = self.patch_params(false);
        let body = json!({ "spec": { "replicas": replicas } });
        let patch = Patch::Merge(&body);
        self.send_json(loc, "scale", Retry::Always, |r| {
            r.patch_subresource("scale", &name, &params, &patch)
        })
        .await
        .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ListQuery;

    async fn sim_with_config_maps(n: usize) -> Cluster {
        let sim = cutover_sim::Simulator::new(1);
        let kind = cutover_sim::kinds::find("", "v1", "configmaps").expect("served");
        for i in 0..n {
            sim.store()
                .create(
                    kind,
                    "default",
                    json!({"metadata": {"name": format!("cm-{i:03}")}}),
                    false,
                )
                .expect("created");
        }
        Cluster::from_client(
            sim.client(),
            "default".into(),
            cutover_clock::Clock::tokio(),
        )
    }

    fn query() -> ListQuery {
        ListQuery {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            ..ListQuery::default()
        }
    }

    #[tokio::test]
    async fn lists_are_read_page_by_page_and_bounded() {
        let cluster = sim_with_config_maps(7).await;
        let loc = cluster.locate_list(&query()).await.unwrap();
        let bounds = ListBounds {
            page: 2,
            max_items: 100,
            max_bytes: 1 << 20,
        };
        let items = cluster
            .list(&loc, &Selectors::default(), bounds)
            .await
            .unwrap();
        assert_eq!(items.len(), 7, "all four pages");
        assert!(items.iter().all(|i| i["kind"] == "ConfigMap"));
        let few = ListBounds {
            max_items: 5,
            ..bounds
        };
        let err = cluster
            .list(&loc, &Selectors::default(), few)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ClusterError::Invalid(m) if m.contains("more than the 5 items")),
            "{err:?}"
        );
        let small = ListBounds {
            max_bytes: 200,
            ..bounds
        };
        let err = cluster
            .list(&loc, &Selectors::default(), small)
            .await
            .unwrap_err();
        assert!(matches!(err, ClusterError::Invalid(_)), "{err:?}");
    }

    /// Breaks if a delete of an object that is gone is reported as a removal (the run's
    /// "Changed" list would name an object it never touched) or as an error.
    #[tokio::test]
    async fn a_delete_says_whether_it_removed_anything() {
        let cluster = sim_with_config_maps(1).await;
        let target = crate::cluster::ObjectRef {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: None,
            name: "cm-000".into(),
        };
        let loc = cluster.locate(&target).await.unwrap();
        assert_eq!(cluster.delete(&loc).await.unwrap(), Removal::Removed);
        assert_eq!(cluster.delete(&loc).await.unwrap(), Removal::AlreadyGone);
    }

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
