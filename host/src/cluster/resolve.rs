//! Resolves an apiVersion + kind to its REST resource and scope through discovery, cached per group-version.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
use kube::core::ApiResource;
use tokio::sync::OnceCell;

use super::error::{ClusterError, Ctx};
use super::retry::{Retrier, Retry};

/// One kind as the cluster serves it.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// Group, version, kind and plural, as kube-rs wants them.
    pub(crate) resource: ApiResource,
    /// Whether objects of this kind live in a namespace.
    pub(crate) namespaced: bool,
    /// Subresource names (`scale`, `status`, `eviction`, ...).
    pub(crate) subresources: Vec<String>,
}

impl Resolved {
    /// The collection URL path: `/apis/apps/v1/namespaces/shop/deployments` or `/api/v1/nodes`.
    /// Every segment is percent-encoded (see `target.rs`), discovery's answers included.
    pub(crate) fn url_path(&self, namespace: Option<&str>) -> String {
        use super::target::segment;
        let gv = if self.resource.group.is_empty() {
            format!("/api/{}", segment(&self.resource.version))
        } else {
            format!(
                "/apis/{}/{}",
                segment(&self.resource.group),
                segment(&self.resource.version)
            )
        };
        let plural = segment(&self.resource.plural);
        match namespace {
            Some(ns) if self.namespaced => format!("{gv}/namespaces/{}/{plural}", segment(ns)),
            _ => format!("{gv}/{plural}"),
        }
    }

    /// Whether the kind has the named subresource.
    pub(crate) fn has_subresource(&self, name: &str) -> bool {
        self.subresources.iter().any(|s| s == name)
    }
}

/// A subresource entry that names the group/version of its own body (`pods/eviction` does).
#[derive(Debug, Clone)]
pub(crate) struct SubresourceVersion {
    pub(crate) group: Option<String>,
    pub(crate) version: Option<String>,
}

/// What one discovery request (`GET /api/v1` or `GET /apis/<group>/<version>`) told us.
#[derive(Debug)]
pub(crate) struct GroupVersionResources {
    kinds: Vec<Resolved>,
    /// `resource/subresource` → the group/version its body uses.
    subresources: HashMap<String, SubresourceVersion>,
}

impl GroupVersionResources {
    fn from_list(api_version: &str, group: &str, version: &str, list: APIResourceList) -> Self {
        let mut kinds = Vec::new();
        let mut subresources = HashMap::new();
        for r in &list.resources {
            if r.name.contains('/') {
                subresources.insert(
                    r.name.clone(),
                    SubresourceVersion {
                        group: r.group.clone(),
                        version: r.version.clone(),
                    },
                );
            }
        }
        for r in list.resources {
            if r.name.contains('/') {
                continue;
            }
            let prefix = format!("{}/", r.name);
            let subs = subresources
                .keys()
                .filter_map(|k| k.strip_prefix(&prefix).map(str::to_string))
                .collect();
            kinds.push(Resolved {
                resource: ApiResource {
                    group: group.to_string(),
                    version: version.to_string(),
                    api_version: api_version.to_string(),
                    kind: r.kind,
                    plural: r.name,
                },
                namespaced: r.namespaced,
                subresources: subs,
            });
        }
        GroupVersionResources {
            kinds,
            subresources,
        }
    }

    fn kind(&self, kind: &str) -> Option<&Resolved> {
        self.kinds.iter().find(|r| r.resource.kind == kind)
    }

    /// The group/version a subresource body uses (`pods/eviction` → `policy`, `v1beta1`).
    pub(crate) fn subresource(&self, name: &str) -> Option<&SubresourceVersion> {
        self.subresources.get(name)
    }
}

/// Discovery results, one entry per group-version, shared by every clone of a `Cluster`.
///
/// Each entry is a `OnceCell` so that concurrent first uses of a group-version make one request,
/// not one each; a failed request leaves the cell empty, so the next use tries again.
#[derive(Debug, Default)]
pub(crate) struct DiscoveryCache {
    entries: Mutex<HashMap<String, Arc<OnceCell<Arc<GroupVersionResources>>>>>,
}

/// Splits `apps/v1` into (`apps`, `v1`) and `v1` into (``, `v1`).
pub(crate) fn split_api_version(api_version: &str) -> Option<(&str, &str)> {
    match api_version.split_once('/') {
        None if !api_version.is_empty() => Some(("", api_version)),
        Some((g, v)) if !g.is_empty() && !v.is_empty() && !v.contains('/') => Some((g, v)),
        _ => None,
    }
}

impl DiscoveryCache {
    fn cell(&self, api_version: &str) -> Arc<OnceCell<Arc<GroupVersionResources>>> {
        // A poisoned lock only means another thread panicked while inserting; the map is still usable.
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(api_version.to_string()).or_default().clone()
    }

    fn forget(&self, api_version: &str) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(api_version);
    }

    /// The resources of one group-version, from the cache or with one discovery request.
    pub(crate) async fn group_version(
        &self,
        client: &kube::Client,
        retrier: &Retrier,
        api_version: &str,
        ctx: &Ctx<'_>,
    ) -> Result<Arc<GroupVersionResources>, ClusterError> {
        let Some((group, version)) = split_api_version(api_version) else {
            return Err(ClusterError::Invalid(ctx.line(format_args!(
                "apiVersion {api_version:?} is not of the form v1 or group/version"
            ))));
        };
        let cell = self.cell(api_version);
        let gv = cell
            .get_or_try_init(|| async {
                let path = if group.is_empty() {
                    format!("/api/{}", super::target::segment(version))
                } else {
                    format!(
                        "/apis/{}/{}",
                        super::target::segment(group),
                        super::target::segment(version)
                    )
                };
                let list: APIResourceList = retrier
                    .send(Retry::Always, || {
                        let req = http::Request::get(path.as_str()).body(Vec::new());
                        async move {
                            let req = req.map_err(kube::Error::HttpError)?;
                            super::bounded::request_json::<APIResourceList>(client, req).await
                        }
                    })
                    .await
                    .map_err(|e| match e {
                        kube::Error::Api(s) if s.code == 404 => ClusterError::Invalid(ctx.line(
                            format_args!("the cluster serves no API version {api_version}"),
                        )),
                        e => ctx.map(&e),
                    })?;
                Ok::<_, ClusterError>(Arc::new(GroupVersionResources::from_list(
                    api_version,
                    group,
                    version,
                    list,
                )))
            })
            .await?;
        Ok(gv.clone())
    }

    /// The resource behind an apiVersion/kind. A kind missing from a cached group-version is looked
    /// up once more before giving up, since a CRD applied earlier in the run may have added it.
    pub(crate) async fn resolve(
        &self,
        client: &kube::Client,
        retrier: &Retrier,
        api_version: &str,
        kind: &str,
        ctx: &Ctx<'_>,
    ) -> Result<Resolved, ClusterError> {
        let gv = self
            .group_version(client, retrier, api_version, ctx)
            .await?;
        if let Some(r) = gv.kind(kind) {
            return Ok(r.clone());
        }
        self.forget(api_version);
        let gv = self
            .group_version(client, retrier, api_version, ctx)
            .await?;
        gv.kind(kind).cloned().ok_or_else(|| {
            ClusterError::Invalid(ctx.line(format_args!(
                "no kind {kind} in {api_version} on this cluster"
            )))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core_v1() -> GroupVersionResources {
        let list: APIResourceList = serde_json::from_value(serde_json::json!({
            "kind": "APIResourceList",
            "groupVersion": "v1",
            "resources": [
                {"name": "pods", "singularName": "", "namespaced": true, "kind": "Pod", "verbs": ["get"]},
                {"name": "pods/eviction", "singularName": "", "namespaced": true, "group": "policy",
                 "version": "v1beta1", "kind": "Eviction", "verbs": ["create"]},
                {"name": "pods/status", "singularName": "", "namespaced": true, "kind": "Pod", "verbs": ["get"]},
                {"name": "nodes", "singularName": "", "namespaced": false, "kind": "Node", "verbs": ["get"]}
            ]
        }))
        .unwrap();
        GroupVersionResources::from_list("v1", "", "v1", list)
    }

    #[test]
    fn parses_kinds_scope_and_subresources() {
        let gv = core_v1();
        let pod = gv.kind("Pod").unwrap();
        assert_eq!(pod.resource.plural, "pods");
        assert!(pod.namespaced);
        assert!(pod.has_subresource("eviction") && pod.has_subresource("status"));
        assert_eq!(pod.url_path(Some("shop")), "/api/v1/namespaces/shop/pods");
        let node = gv.kind("Node").unwrap();
        assert!(!node.namespaced);
        assert_eq!(node.url_path(Some("ignored")), "/api/v1/nodes");
        assert!(gv.kind("Eviction").is_none(), "subresources are not kinds");
        let ev = gv.subresource("pods/eviction").unwrap();
        assert_eq!(
            (ev.group.as_deref(), ev.version.as_deref()),
            (Some("policy"), Some("v1beta1"))
        );
    }

    #[test]
    fn group_url_paths() {
        let r = Resolved {
            resource: ApiResource {
                group: "apps".into(),
                version: "v1".into(),
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                plural: "deployments".into(),
            },
            namespaced: true,
            subresources: vec!["scale".into()],
        };
        assert_eq!(
            r.url_path(Some("shop")),
            "/apis/apps/v1/namespaces/shop/deployments"
        );
        assert_eq!(r.url_path(None), "/apis/apps/v1/deployments");
    }

    #[test]
    fn splits_api_versions() {
        assert_eq!(split_api_version("v1"), Some(("", "v1")));
        assert_eq!(split_api_version("apps/v1"), Some(("apps", "v1")));
        assert_eq!(split_api_version(""), None);
        assert_eq!(split_api_version("/v1"), None);
        assert_eq!(split_api_version("a/b/c"), None);
    }
}
