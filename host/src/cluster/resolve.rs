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
/// not one each; a failed request removes its entry, so the next use tries again and a policy
/// that asks for made-up apiVersions leaves nothing behind. At most [`MAX_DISCOVERY_ENTRIES`]
/// group-versions are kept; a cluster serves a few dozen.
#[derive(Debug, Default)]
pub(crate) struct DiscoveryCache {
    entries: Mutex<HashMap<String, Arc<OnceCell<Arc<GroupVersionResources>>>>>,
}

/// The most group-versions one run may look up (a cluster with many CRDs serves about a hundred).
pub(crate) const MAX_DISCOVERY_ENTRIES: usize = 512;

/// Splits `apps/v1` into (`apps`, `v1`) and `v1` into (``, `v1`).
pub(crate) fn split_api_version(api_version: &str) -> Option<(&str, &str)> {
    match api_version.split_once('/') {
        None if !api_version.is_empty() => Some(("", api_version)),
        Some((g, v)) if !g.is_empty() && !v.is_empty() && !v.contains('/') => Some((g, v)),
        _ => None,
    }
}

impl DiscoveryCache {
    /// The entry of one group-version, made empty if new; `None` once the cache is full.
    fn cell(&self, api_version: &str) -> Option<Arc<OnceCell<Arc<GroupVersionResources>>>> {
        // A poisoned lock only means another thread panicked while inserting; the map is still usable.
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if !map.contains_key(api_version) && map.len() >= MAX_DISCOVERY_ENTRIES {
            return None;
        }
        Some(map.entry(api_version.to_string()).or_default().clone())
    }

    fn forget(&self, api_version: &str) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(api_version);
    }

    /// Removes the entry of a failed lookup, unless another caller has filled or replaced it.
    fn forget_failed(&self, api_version: &str, cell: &Arc<OnceCell<Arc<GroupVersionResources>>>) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        // Held by the map and by the caller only: no other caller is still trying it.
        if map
            .get(api_version)
            .is_some_and(|c| Arc::ptr_eq(c, cell) && !c.initialized() && Arc::strong_count(c) <= 2)
        {
            map.remove(api_version);
        }
    }

    /// How many group-versions are cached (or being looked up).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
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
        let Some(cell) = self.cell(api_version) else {
            return Err(ClusterError::Invalid(ctx.line(format_args!(
                "a run may look up at most {MAX_DISCOVERY_ENTRIES} API versions, and {api_version} would be one more"
            ))));
        };
        let looked_up = cell
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
            .await;
        match looked_up {
            Ok(gv) => Ok(gv.clone()),
            Err(e) => {
                self.forget_failed(api_version, &cell);
                Err(e)
            }
        }
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

    /// A loopback API server whose discovery serves every `/apis/ok-*` group-version (with no
    /// kinds) and answers 404 to anything else.
    async fn discovery_server() -> kube::Client {
        use crate::cluster::loopback::{Reply, client};
        client(|head| {
            let (code, body) = if head.starts_with("GET /apis/ok-") {
                (
                    "200 OK",
                    r#"{"kind":"APIResourceList","groupVersion":"x","resources":[]}"#,
                )
            } else {
                (
                    "404 Not Found",
                    r#"{"kind":"Status","status":"Failure","code":404}"#,
                )
            };
            Reply::Whole(format!(
                "HTTP/1.1 {code}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            ))
        })
        .await
    }

    const CTX: Ctx<'static> = Ctx {
        op: "get",
        what: "widget w",
        server: None,
    };

    /// Breaks if a failed lookup stays cached: a policy asking for made-up apiVersions in a
    /// loop would grow the host's memory without end.
    #[tokio::test]
    async fn failed_lookups_leave_nothing_behind() {
        let client = discovery_server().await;
        let (cache, retrier) = (DiscoveryCache::default(), Retrier::default());
        for i in 0..50 {
            let api_version = format!("made-up-{i}.example.com/v1");
            let err = cache
                .group_version(&client, &retrier, &api_version, &CTX)
                .await
                .expect_err("no such group");
            assert!(err.message().contains("serves no API version"), "{err}");
        }
        assert_eq!(cache.len(), 0);
    }

    /// Breaks if the cache has no bound: every distinct group-version a policy names is kept.
    #[tokio::test]
    async fn the_cache_keeps_a_bounded_number_of_group_versions() {
        let client = discovery_server().await;
        let (cache, retrier) = (DiscoveryCache::default(), Retrier::default());
        for i in 0..MAX_DISCOVERY_ENTRIES {
            let api_version = format!("ok-{i}.example.com/v1");
            cache
                .group_version(&client, &retrier, &api_version, &CTX)
                .await
                .expect("served");
        }
        let err = cache
            .group_version(&client, &retrier, "ok-more.example.com/v1", &CTX)
            .await
            .expect_err("past the bound");
        assert!(err.message().contains("at most 512 API versions"), "{err}");
        cache
            .group_version(&client, &retrier, "ok-0.example.com/v1", &CTX)
            .await
            .expect("a cached group-version is still served");
        assert_eq!(cache.len(), MAX_DISCOVERY_ENTRIES);
    }
}
