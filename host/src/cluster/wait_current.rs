//! Waiting until many objects are Current by kstatus's rules: one watch per kind and namespace, never polling.
//!
//! The targets are grouped by resource and namespace; each group is one watch (by name when it
//! has one target, otherwise the whole collection in that namespace, of which only the targets
//! are looked at). Every event updates the status of the target it is about ([`kstatus`]): the
//! first Failed target ends the wait at once, all Current ends it successfully, and the
//! deadline ends it with the targets not yet Current and why.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use backon::BackoffBuilder;
use futures::StreamExt;
use futures::stream::{BoxStream, SelectAll};
use kube::api::{Api, DynamicObject};
use kube::core::ApiResource;
use kube::runtime::watcher;

use super::error::{ClusterError, human, one_line};
use super::kstatus::{self, Computed, Status};
use super::wait::{fatal, to_json, watch_backoff};
use super::{Cluster, Located};

/// The most targets one wait takes.
pub const MAX_TARGETS: usize = 1000;

/// How many targets a timeout names before `and N more`.
const NAMED_IN_TIMEOUT: usize = 10;

/// The targets of one watch: one resource in one namespace (or cluster-wide).
struct Group {
    resource: ApiResource,
    namespace: Option<String>,
    /// Target index by object name.
    names: HashMap<String, usize>,
    /// The targets seen since the watch's last (re)list began.
    seen: HashSet<usize>,
}

/// One target's latest status.
struct Target {
    what: String,
    status: Computed,
}

/// The state between events.
struct Tally {
    targets: Vec<Target>,
}

impl Tally {
    fn set(&mut self, index: usize, status: Computed) -> Result<(), ClusterError> {
        let target = &mut self.targets[index];
        target.status = status;
        if target.status.status == Status::Failed {
            return Err(ClusterError::Aborted(one_line(&format!(
                "{} is Failed: {}",
                target.what, target.status.reason
            ))));
        }
        Ok(())
    }

    fn all_current(&self) -> bool {
        self.targets
            .iter()
            .all(|t| t.status.status == Status::Current)
    }

    fn timed_out(&self, timeout: Duration) -> ClusterError {
        let waiting: Vec<&Target> = self
            .targets
            .iter()
            .filter(|t| t.status.status != Status::Current)
            .collect();
        let mut named: Vec<String> = waiting
            .iter()
            .take(NAMED_IN_TIMEOUT)
            .map(|t| format!("{} ({})", t.what, t.status))
            .collect();
        if waiting.len() > NAMED_IN_TIMEOUT {
            named.push(format!("and {} more", waiting.len() - NAMED_IN_TIMEOUT));
        }
        ClusterError::Timeout(one_line(&format!(
            "timed out after {} waiting for {} of {} object(s) to be Current: {}",
            human(timeout),
            waiting.len(),
            self.targets.len(),
            named.join(", ")
        )))
    }
}

/// Groups the targets by resource and namespace; a target named twice is one target.
fn group(targets: &[Located]) -> (Vec<Group>, Vec<Target>) {
    let mut groups: Vec<Group> = Vec::new();
    let mut by_key: HashMap<(String, String, Option<String>), usize> = HashMap::new();
    let mut unique: Vec<Target> = Vec::new();
    for loc in targets {
        let resource = &loc.resolved.resource;
        let key = (
            resource.api_version.clone(),
            resource.plural.clone(),
            loc.namespace.clone(),
        );
        let g = *by_key.entry(key).or_insert_with(|| {
            groups.push(Group {
                resource: resource.clone(),
                namespace: loc.namespace.clone(),
                names: HashMap::new(),
                seen: HashSet::new(),
            });
            groups.len() - 1
        });
        if !groups[g].names.contains_key(&loc.name) {
            unique.push(Target {
                what: loc.what.clone(),
                status: Computed {
                    status: Status::InProgress,
                    reason: "no answer from the API server yet".into(),
                },
            });
            groups[g].names.insert(loc.name.clone(), unique.len() - 1);
        }
    }
    (groups, unique)
}

impl Cluster {
    /// Waits until every target is Current ([`kstatus`]), for at most `timeout`: `Aborted` as
    /// soon as one is Failed, `Timeout` naming those that are not Current. At most
    /// [`MAX_TARGETS`]. On a dry run it returns at once: nothing the run did changed them.
    pub async fn wait_current(
        &self,
        targets: &[Located],
        timeout: Duration,
    ) -> Result<(), ClusterError> {
        if targets.len() > MAX_TARGETS {
            return Err(ClusterError::Invalid(format!(
                "cannot wait for {} objects at once; at most {MAX_TARGETS}",
                targets.len()
            )));
        }
        if self.dry_run || targets.is_empty() {
            return Ok(());
        }
        let clock = self.clock().clone();
        let deadline: Instant = clock.now() + timeout;
        let (mut groups, unique) = group(targets);
        let mut tally = Tally { targets: unique };
        let mut events: SelectAll<
            BoxStream<'static, (usize, watcher::Result<watcher::Event<DynamicObject>>)>,
        > = SelectAll::new();
        for (g, group) in groups.iter().enumerate() {
            let api: Api<DynamicObject> = match &group.namespace {
                Some(ns) => Api::namespaced_with(self.client.clone(), ns, &group.resource),
                None => Api::all_with(self.client.clone(), &group.resource),
            };
            let mut config = watcher::Config::default().timeout(self.watch_timeout_secs);
            if group.names.len() == 1
                && let Some(name) = group.names.keys().next()
            {
                config = config.fields(&format!("metadata.name={name}"));
            }
            events.push(
                watcher::watcher(api, config)
                    .map(move |event| (g, event))
                    .boxed(),
            );
        }
        let what = format!("{} object(s)", tally.targets.len());
        let ctx = self.ctx("wait for", &what);
        let mut errors = watch_backoff().build();
        loop {
            let (g, event) = match clock.timeout_at(deadline, events.next()).await {
                Err(_) => return Err(tally.timed_out(timeout)),
                Ok(None) => {
                    return Err(ClusterError::Other(
                        ctx.line("the watch ended unexpectedly"),
                    ));
                }
                Ok(Some(event)) => event,
            };
            let group = &mut groups[g];
            match event {
                Err(e) => {
                    if let Some(err) = fatal(&e, &ctx) {
                        return Err(err);
                    }
                    tracing::debug!(error = %e, "wait-current watch interrupted, resuming");
                    let pause = errors.next().unwrap_or(Duration::from_secs(5));
                    clock.sleep_until(deadline.min(clock.now() + pause)).await;
                    continue;
                }
                Ok(watcher::Event::Init) => group.seen.clear(),
                Ok(watcher::Event::InitApply(obj) | watcher::Event::Apply(obj)) => {
                    errors = watch_backoff().build();
                    let name = obj.metadata.name.as_deref().unwrap_or_default();
                    if let Some(&index) = group.names.get(name) {
                        group.seen.insert(index);
                        tally.set(index, kstatus::compute(&to_json(&obj, &group.resource)))?;
                    }
                }
                Ok(watcher::Event::Delete(obj)) => {
                    let name = obj.metadata.name.as_deref().unwrap_or_default();
                    if let Some(&index) = group.names.get(name) {
                        group.seen.remove(&index);
                        tally.set(index, Computed::not_found())?;
                    }
                }
                Ok(watcher::Event::InitDone) => {
                    errors = watch_backoff().build();
                    let missing: Vec<usize> = group
                        .names
                        .values()
                        .copied()
                        .filter(|index| !group.seen.contains(index))
                        .collect();
                    for index in missing {
                        tally.set(index, Computed::not_found())?;
                    }
                }
            }
            if tally.all_current() {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(what: &str, status: Status, reason: &str) -> Target {
        Target {
            what: what.into(),
            status: Computed {
                status,
                reason: reason.into(),
            },
        }
    }

    #[test]
    fn a_timeout_names_at_most_ten_with_their_status() {
        let mut targets: Vec<Target> = (0..13)
            .map(|i| target(&format!("pod shop/p{i}"), Status::InProgress, "Pending"))
            .collect();
        targets.push(target("deployment shop/web", Status::Current, "available"));
        let tally = Tally { targets };
        let ClusterError::Timeout(message) = tally.timed_out(Duration::from_secs(90)) else {
            panic!("a timeout");
        };
        assert!(
            message.starts_with(
                "timed out after 1m30s waiting for 13 of 14 object(s) to be Current: \
                 pod shop/p0 (InProgress: Pending), pod shop/p1 (InProgress: Pending)"
            ),
            "{message}"
        );
        assert!(
            message.ends_with("pod shop/p9 (InProgress: Pending), and 3 more"),
            "{message}"
        );
        assert!(!message.contains("deployment shop/web"), "{message}");
    }

    #[test]
    fn a_failed_target_aborts_by_name() {
        let mut tally = Tally {
            targets: vec![target("deployment shop/web", Status::InProgress, "x")],
        };
        assert!(tally.set(0, Computed::not_found()).is_ok());
        assert!(!tally.all_current());
        let failed = kstatus::compute(&serde_json::json!({
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "m"},
            "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]},
        }));
        match tally.set(0, failed) {
            Err(ClusterError::Aborted(m)) => assert!(
                m.starts_with("deployment shop/web is Failed: the Job failed"),
                "{m}"
            ),
            other => panic!("{other:?}"),
        }
    }
}
