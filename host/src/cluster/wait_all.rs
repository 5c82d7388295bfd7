//! Waiting on a set of objects at once: every object a list query matches (one watch), or
//! objects named one by one (their waits run together); all Ready, or all gone.
//!
//! A query's set is what the watch holds: an object counts while it matches the selectors and
//! is no longer counted once it is deleted or stops matching. "All Ready" needs at least the
//! given number of objects, each Ready by [`readiness::ready`] (an object being deleted is not
//! Ready): so "the new calico-node pod on node-3 is Ready" is the query for that DaemonSet's
//! pods on that node with at least one, met once the old pod is gone and its replacement Ready.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use backon::BackoffBuilder;
use futures::{FutureExt, StreamExt, TryStreamExt};
use kube::api::{Api, DynamicObject};
use kube::runtime::watcher;
use serde_json::Value;

use super::error::ClusterError;
use super::readiness::{self, Verdict};
use super::wait::{WaitOptions, fatal, to_json, watch_backoff};
use super::{Cluster, Condition, Located, LocatedList, Selectors};

/// The most objects one `wait-all` holds: named, or matched by a query.
pub const MAX_TARGETS: usize = 1_000;
/// The most JSON a query's set may hold, as `list` returns at most.
const MAX_HELD_BYTES: usize = 16 << 20;
/// The most named objects watched at once (each wait is a watch, a connection).
const MAX_CONCURRENT_WAITS: usize = 64;

/// The sizes of the objects a query's set holds, so that its bytes are bounded as it changes.
#[derive(Default)]
struct Sizes {
    each: BTreeMap<String, usize>,
    total: usize,
}

impl Sizes {
    /// Counts `value` under `key` (replacing what it held); false once past the bound.
    fn hold(&mut self, key: &str, value: &Value) -> bool {
        let size = serde_json::to_vec(value).map_or(0, |v| v.len());
        if let Some(old) = self.each.insert(key.to_string(), size) {
            self.total -= old;
        }
        self.total += size;
        self.total <= MAX_HELD_BYTES
    }

    fn drop_key(&mut self, key: &str) {
        if let Some(old) = self.each.remove(key) {
            self.total -= old;
        }
    }
}

/// What a set is waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetCondition {
    /// At least this many objects, every one Ready and none being deleted.
    AllReady(u32),
    /// No object left.
    AllGone,
}

/// Where a query's set stands.
enum Progress {
    Met,
    Pending(String),
    Failed(String),
}

/// Judges the objects a query holds now.
fn judge(objects: &BTreeMap<String, Value>, until: SetCondition) -> Progress {
    match until {
        SetCondition::AllGone if objects.is_empty() => Progress::Met,
        SetCondition::AllGone => Progress::Pending(format!(
            "{} still there: {}",
            plural(objects.len()),
            names(objects.keys())
        )),
        SetCondition::AllReady(at_least) => {
            let mut waiting = Vec::new();
            for (name, object) in objects {
                match readiness::ready(object) {
                    Verdict::Done => {}
                    Verdict::Pending(why) => waiting.push(format!("{name}: {why}")),
                    Verdict::Failed(why) => return Progress::Failed(format!("{name}: {why}")),
                }
            }
            let have = objects.len();
            if !waiting.is_empty() {
                let shown: Vec<&str> = waiting.iter().take(3).map(String::as_str).collect();
                let more = waiting.len().saturating_sub(3);
                let more = if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                };
                Progress::Pending(format!(
                    "{} of {} not Ready: {}{more}",
                    waiting.len(),
                    plural(have),
                    shown.join("; ")
                ))
            } else if (have as u64) < u64::from(at_least) {
                Progress::Pending(format!(
                    "{} matched, waiting for at least {at_least}",
                    plural(have)
                ))
            } else {
                Progress::Met
            }
        }
    }
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 object".into()
    } else {
        format!("{n} objects")
    }
}

/// The first few names of a set, for messages.
fn names<'a>(keys: impl Iterator<Item = &'a String>) -> String {
    let all: Vec<&String> = keys.collect();
    let mut shown: Vec<&str> = all.iter().take(5).map(|s| s.as_str()).collect();
    if all.len() > 5 {
        shown.push("...");
    }
    shown.join(", ")
}

/// A matched object's key: `namespace/name`, or `name` when cluster-scoped.
fn key_of(object: &Value) -> String {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
    {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

impl Cluster {
    /// Waits until what `selectors` match in `loc` meets `until`, with one watch (a list, then
    /// a watch, resumed after a backoff on the run's clock when it drops). Returns the objects
    /// as last seen, in name order. In dry-run mode, judges the objects as they are, at once.
    pub async fn wait_all_matching(
        &self,
        loc: &LocatedList,
        selectors: &Selectors<'_>,
        until: SetCondition,
        timeout: Duration,
    ) -> Result<Vec<Value>, ClusterError> {
        let clock = self.clock().clone();
        let deadline: Instant = clock.now() + timeout;
        let ctx = self.ctx("wait for", &loc.what);
        let resource = loc.resolved.resource.clone();
        let api: Api<DynamicObject> = match &loc.namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &resource),
            None => Api::all_with(self.client.clone(), &resource),
        };
        let mut config = watcher::Config::default().timeout(self.watch_timeout_secs);
        if let Some(labels) = selectors.labels {
            config = config.labels(labels);
        }
        if let Some(fields) = selectors.fields {
            config = config.fields(fields);
        }
        let mut events = watcher::watcher(api, config).boxed();
        let mut objects: BTreeMap<String, Value> = BTreeMap::new();
        // The set being (re)listed after a watch restart: swapped in at `InitDone`.
        let mut relisting: Option<BTreeMap<String, Value>> = None;
        let mut listed = false;
        let mut pending = "no answer from the API server yet".to_string();
        let mut errors = watch_backoff().build();
        let too_many = || {
            ClusterError::Invalid(ctx.line(format!(
                "the query matches more than {MAX_TARGETS} objects, or more than {} MiB of them, the most one wait takes",
                MAX_HELD_BYTES >> 20
            )))
        };
        let (mut sizes, mut relisted_sizes) = (Sizes::default(), Sizes::default());
        loop {
            let event = match clock.timeout_at(deadline, events.next()).await {
                Err(_) => {
                    return Err(ClusterError::Timeout(ctx.line(format!(
                        "not met within {}: {pending}",
                        crate::units::format_duration(timeout)
                    ))));
                }
                Ok(None) => {
                    return Err(ClusterError::Other(
                        ctx.line("the watch ended unexpectedly"),
                    ));
                }
                Ok(Some(event)) => event,
            };
            match event {
                Err(e) => {
                    if let Some(err) = fatal(&e, &ctx) {
                        return Err(err);
                    }
                    tracing::debug!(set = %loc.what, error = %e, "watch interrupted, resuming");
                    let pause = errors.next().unwrap_or(Duration::from_secs(5));
                    clock.sleep_until(deadline.min(clock.now() + pause)).await;
                    continue;
                }
                Ok(watcher::Event::Init) => {
                    relisting = Some(BTreeMap::new());
                    relisted_sizes = Sizes::default();
                    continue;
                }
                Ok(watcher::Event::InitApply(obj)) => {
                    let value = to_json(&obj, &resource);
                    let set = relisting.get_or_insert_with(BTreeMap::new);
                    let key = key_of(&value);
                    if !relisted_sizes.hold(&key, &value) {
                        return Err(too_many());
                    }
                    set.insert(key, value);
                    if set.len() > MAX_TARGETS {
                        return Err(too_many());
                    }
                    continue;
                }
                Ok(watcher::Event::InitDone) => {
                    objects = relisting.take().unwrap_or_default();
                    sizes = std::mem::take(&mut relisted_sizes);
                    listed = true;
                    errors = watch_backoff().build();
                }
                Ok(watcher::Event::Apply(obj)) => {
                    let value = to_json(&obj, &resource);
                    let key = key_of(&value);
                    if !sizes.hold(&key, &value) {
                        return Err(too_many());
                    }
                    objects.insert(key, value);
                    if objects.len() > MAX_TARGETS {
                        return Err(too_many());
                    }
                }
                Ok(watcher::Event::Delete(obj)) => {
                    let key = key_of(&to_json(&obj, &resource));
                    sizes.drop_key(&key);
                    objects.remove(&key);
                }
            }
            if !listed {
                continue;
            }
            match judge(&objects, until) {
                Progress::Met => return Ok(objects.into_values().collect()),
                Progress::Failed(why) => {
                    return Err(ClusterError::Aborted(
                        ctx.line(format!("can never be met: {why}")),
                    ));
                }
                Progress::Pending(_) if self.dry_run => {
                    return Ok(objects.into_values().collect());
                }
                Progress::Pending(why) => pending = why,
            }
        }
    }

    /// Waits until each named object meets `until` (their waits run together, each with its
    /// own watch), failing at the first that cannot. Returns the objects as last seen, those
    /// still there.
    pub async fn wait_all_named(
        &self,
        located: &[Located],
        until: SetCondition,
        timeout: Duration,
        options: WaitOptions,
    ) -> Result<Vec<Value>, ClusterError> {
        if let SetCondition::AllReady(at_least) = until
            && (located.len() as u64) < u64::from(at_least)
        {
            return Err(ClusterError::Invalid(format!(
                "wait-all: {} named, fewer than the {at_least} asked to be Ready",
                plural(located.len())
            )));
        }
        let condition = match until {
            SetCondition::AllReady(_) => Condition::Ready,
            SetCondition::AllGone => Condition::Deleted,
        };
        // At most 64 watches at once, each within what is left of the call's time.
        let clock = self.clock().clone();
        let deadline = clock.now() + timeout;
        let waits: Vec<_> = located
            .iter()
            .map(|loc| {
                let (condition, options, clock) =
                    (condition.clone(), options.clone(), clock.clone());
                async move {
                    let left = deadline.saturating_duration_since(clock.now());
                    self.wait(loc, &condition, left, options).await
                }
                .boxed()
            })
            .collect();
        let seen: Vec<Value> = futures::stream::iter(waits)
            .buffered(MAX_CONCURRENT_WAITS)
            .try_collect()
            .await?;
        let objects: Vec<Value> = seen.into_iter().filter(|v| !v.is_null()).collect();
        Ok(objects)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, ready: bool, deleting: bool) -> (String, Value) {
        let mut meta = json!({"name": name, "namespace": "kube-system"});
        if deleting {
            meta["deletionTimestamp"] = json!("2026-12-02T00:00:00Z");
        }
        let status = if ready { "True" } else { "False" };
        (
            format!("kube-system/{name}"),
            json!({
                "apiVersion": "v1", "kind": "Pod", "metadata": meta,
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": status}]},
            }),
        )
    }

    #[test]
    fn all_ready_needs_enough_objects_all_ready_and_none_terminating() {
        let mut set = BTreeMap::new();
        assert!(matches!(
            judge(&set, SetCondition::AllReady(1)),
            Progress::Pending(why) if why.contains("at least 1")
        ));
        assert!(matches!(
            judge(&set, SetCondition::AllReady(0)),
            Progress::Met
        ));
        let (k, old) = pod("calico-node-old", true, true);
        set.insert(k, old);
        assert!(matches!(
            judge(&set, SetCondition::AllReady(1)),
            Progress::Pending(why) if why.contains("calico-node-old")
        ));
        set.clear();
        let (k, new) = pod("calico-node-new", true, false);
        set.insert(k, new);
        assert!(matches!(
            judge(&set, SetCondition::AllReady(1)),
            Progress::Met
        ));
        let (k, other) = pod("calico-node-2", false, false);
        set.insert(k, other);
        assert!(matches!(
            judge(&set, SetCondition::AllReady(1)),
            Progress::Pending(why) if why.starts_with("1 of 2 objects not Ready")
        ));
    }

    #[test]
    fn a_failed_pod_fails_all_ready_and_all_gone_needs_an_empty_set() {
        let mut set = BTreeMap::new();
        let (k, mut failed) = pod("calico-node-x", false, false);
        failed["status"]["phase"] = json!("Failed");
        set.insert(k, failed);
        assert!(matches!(
            judge(&set, SetCondition::AllReady(1)),
            Progress::Failed(_)
        ));
        assert!(matches!(
            judge(&set, SetCondition::AllGone),
            Progress::Pending(why) if why.contains("kube-system/calico-node-x")
        ));
        set.clear();
        assert!(matches!(judge(&set, SetCondition::AllGone), Progress::Met));
    }
}
