//! Waiting for cluster state with watches (never sleep-and-poll), reporting why on timeout.
//!
//! A check returns `Ok(())` when the state is reached and `Err(why not)` otherwise; the last
//! "why not" ends up in the timeout error, which is usually all a failing test needs to say.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

use anyhow::{Result, anyhow};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event, watch_object};
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use crate::state;

/// Waits until `check` accepts the named object (`None`: it does not exist) and returns it.
pub async fn until<K>(
    api: &Api<K>,
    name: &str,
    timeout: Duration,
    what: &str,
    mut check: impl FnMut(Option<&K>) -> Result<(), String>,
) -> Result<Option<K>>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let mut last = String::from("nothing observed yet");
    let watch = async {
        let mut stream = watch_object(api.clone(), name).default_backoff().boxed();
        while let Some(item) = stream.next().await {
            match item {
                Ok(object) => match check(object.as_ref()) {
                    Ok(()) => return Some(object),
                    Err(why) => last = why,
                },
                Err(e) => last = format!("watch error: {e}"),
            }
        }
        None
    };
    match tokio::time::timeout(timeout, watch).await {
        Ok(Some(object)) => Ok(object),
        Ok(None) => Err(anyhow!("the watch for {what} ended; last: {last}")),
        Err(_) => Err(anyhow!(
            "timed out after {timeout:?} waiting for {what}; last: {last}"
        )),
    }
}

/// Waits until `check` accepts the full set of objects the watcher selects, and returns them.
///
/// The check sees a complete list (after the initial listing), updated on every event.
pub async fn until_list<K>(
    api: &Api<K>,
    config: watcher::Config,
    timeout: Duration,
    what: &str,
    mut check: impl FnMut(&[K]) -> Result<(), String>,
) -> Result<Vec<K>>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let mut last = String::from("nothing observed yet");
    let watch = async {
        let mut stream = watcher::watcher(api.clone(), config)
            .default_backoff()
            .boxed();
        // Keyed by namespace and name: a list over all namespaces may repeat names.
        let mut store: BTreeMap<(String, String), K> = BTreeMap::new();
        let mut listing: BTreeMap<(String, String), K> = BTreeMap::new();
        let mut listed = false;
        while let Some(event) = stream.next().await {
            match event {
                Ok(Event::Init) => listing.clear(),
                Ok(Event::InitApply(object)) => {
                    listing.insert(key(&object), object);
                    continue;
                }
                Ok(Event::InitDone) => {
                    store = std::mem::take(&mut listing);
                    listed = true;
                }
                Ok(Event::Apply(object)) => {
                    store.insert(key(&object), object);
                }
                Ok(Event::Delete(object)) => {
                    store.remove(&key(&object));
                }
                Err(e) => {
                    last = format!("watch error: {e}");
                    continue;
                }
            }
            if !listed {
                continue;
            }
            let objects: Vec<K> = store.values().cloned().collect();
            match check(&objects) {
                Ok(()) => return Some(objects),
                Err(why) => last = why,
            }
        }
        None
    };
    match tokio::time::timeout(timeout, watch).await {
        Ok(Some(objects)) => Ok(objects),
        Ok(None) => Err(anyhow!("the watch for {what} ended; last: {last}")),
        Err(_) => Err(anyhow!(
            "timed out after {timeout:?} waiting for {what}; last: {last}"
        )),
    }
}

fn key<K: Resource>(object: &K) -> (String, String) {
    (object.namespace().unwrap_or_default(), object.name_any())
}

/// Waits until a Deployment is rolled out with `replicas` available pods of its current template
/// and no others (what `kubectl rollout status` waits for), and returns it.
pub async fn deployment_rolled_out(
    api: &Api<Deployment>,
    name: &str,
    replicas: i32,
    timeout: Duration,
) -> Result<Deployment> {
    let what = format!("Deployment {name} rolled out with {replicas} available replicas");
    let deployment = until(api, name, timeout, &what, |d| match d {
        None => Err("it does not exist".into()),
        Some(d) => state::deployment_rolled_out(d, replicas),
    })
    .await?;
    deployment.ok_or_else(|| anyhow!("{what}: gone"))
}

/// Waits until every node selected by a DaemonSet runs a ready pod of it (`expected` of them).
pub async fn daemon_set_ready(
    api: &Api<DaemonSet>,
    name: &str,
    expected: i32,
    timeout: Duration,
) -> Result<DaemonSet> {
    let what = format!("DaemonSet {name} ready on {expected} nodes");
    let ds = until(api, name, timeout, &what, |ds| {
        let Some(ds) = ds else {
            return Err("it does not exist".into());
        };
        let status = ds.status.clone().unwrap_or_default();
        let observed =
            status.observed_generation.unwrap_or(0) >= ds.metadata.generation.unwrap_or(0);
        if observed
            && status.desired_number_scheduled == expected
            && status.number_ready == expected
            && status.updated_number_scheduled.unwrap_or(0) == expected
        {
            Ok(())
        } else {
            Err(format!(
                "desired {}, ready {}, updated {:?}, observed generation {:?} of {:?}",
                status.desired_number_scheduled,
                status.number_ready,
                status.updated_number_scheduled,
                status.observed_generation,
                ds.metadata.generation
            ))
        }
    })
    .await?;
    ds.ok_or_else(|| anyhow!("{what}: gone"))
}

/// Waits until a pod exists and `check` accepts it.
pub async fn pod(
    api: &Api<Pod>,
    name: &str,
    timeout: Duration,
    what: &str,
    mut check: impl FnMut(&Pod) -> Result<(), String>,
) -> Result<Pod> {
    let pod = until(api, name, timeout, what, |pod| match pod {
        None => Err("the pod does not exist".into()),
        Some(pod) => check(pod),
    })
    .await?;
    pod.ok_or_else(|| anyhow!("{what}: gone"))
}

/// Waits until a pod is Running and Ready.
pub async fn pod_ready(api: &Api<Pod>, name: &str, timeout: Duration) -> Result<Pod> {
    pod(api, name, timeout, &format!("pod {name} ready"), |p| {
        if state::pod_ready(p) {
            Ok(())
        } else {
            Err(state::describe_pod(p))
        }
    })
    .await
}

/// Waits until the named object no longer exists (deletion finished, not merely requested).
pub async fn gone<K>(api: &Api<K>, name: &str, timeout: Duration) -> Result<()>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
    K::DynamicType: Default,
{
    let what = format!("{} {name} to be deleted", K::kind(&Default::default()));
    until(api, name, timeout, &what, |object| match object {
        None => Ok(()),
        Some(o) => Err(match o.meta().deletion_timestamp {
            Some(_) => "terminating".into(),
            None => "still exists, not terminating".into(),
        }),
    })
    .await
    .map(|_| ())
}
