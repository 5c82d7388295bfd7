//! The host side of the `cluster` interface: each call's names checked, authorized before any
//! request (again once discovery has resolved the target), performed on exactly that target.
//!
//! The order, for every call: check every name by Kubernetes' rules → capability check on what
//! the call could reach → discovery (inside the call's deadline) → capability check on the
//! resolved target → the request(s) → a size-bounded answer back to the guest.

use std::time::Duration;

use serde_json::Value;

use super::call::{CallError, Done, authorize, pre_authorize, removal};
use std::sync::Arc;

use crate::capabilities::{Call, Grants};
use crate::cluster::{self as k8s, Cluster, ListBounds, Located, LocatedList, Selectors};
use crate::release::journal;
use crate::release::recorder::{RecordError, Recorder, Step};
use crate::sandbox::bindings::cutover::policy::{cluster, types};
use crate::sandbox::limits::{LIST_PAGE, MAX_LIST_BYTES, MAX_LIST_ITEMS, MAX_REQUEST_BODY};
use crate::sandbox::state::RunState;
use crate::text;

use types::{Error, ObjectRef};

/// The call on a located object, as the capability check sees it.
pub(super) fn call_on<'a>(operation: &'a str, loc: &'a Located) -> Call<'a> {
    Call {
        interface: "cluster",
        operation,
        api_version: Some(loc.api_version()),
        kind: Some(loc.kind()),
        namespace: loc.namespace(),
    }
}

/// The call as it could reach, before discovery says whether the kind is namespaced.
fn call_before<'a>(operation: &'a str, target: &'a k8s::ObjectRef, run_ns: &'a str) -> Call<'a> {
    Call {
        interface: "cluster",
        operation,
        api_version: Some(&target.api_version),
        kind: Some(&target.kind),
        namespace: Some(target.namespace.as_deref().unwrap_or(run_ns)),
    }
}

/// How reports name a target before it is located: as the guest gave it, escaped and short.
fn requested(target: &k8s::ObjectRef) -> String {
    let q = |s: &str| text::escape(s, 128);
    match &target.namespace {
        Some(ns) => format!(
            "{}/{} {}/{}",
            q(&target.api_version),
            q(&target.kind),
            q(ns),
            q(&target.name)
        ),
        None => format!(
            "{}/{} {}",
            q(&target.api_version),
            q(&target.kind),
            q(&target.name)
        ),
    }
}

fn to_k8s_ref(target: ObjectRef) -> k8s::ObjectRef {
    k8s::ObjectRef {
        api_version: target.api_version,
        kind: target.kind,
        namespace: target.namespace,
        name: target.name,
    }
}

/// JSON text from the guest, bounded in size (and, by serde_json, in nesting depth: 128).
fn parse_json(text: &str, what: &str) -> Result<Value, Error> {
    if text.len() > MAX_REQUEST_BODY {
        return Err(Error::Invalid(format!(
            "{what} is {} bytes, more than the {} MiB the API server takes in one request",
            text.len(),
            MAX_REQUEST_BODY >> 20
        )));
    }
    serde_json::from_str(text).map_err(|e| Error::Invalid(format!("{what} is not valid JSON: {e}")))
}

/// The longest label or field selector passed on (it travels in the request's URL).
const MAX_SELECTOR: usize = 8 << 10;
/// The longest uid or JSON pointer a wait takes.
pub(super) const MAX_WAIT_ARG: usize = 1 << 10;

/// A selector within its bound and by the shared grammar (the one the simulator parses with),
/// refused before any request.
fn check_selector(selector: Option<&str>, what: &str) -> Result<(), Error> {
    let Some(s) = selector else {
        return Ok(());
    };
    // No label or field value holds one (names, phases, IPs, types), and a server's answer
    // may echo the selector back: refused here, before it reaches a URL.
    if let Some(c) = s.chars().find(|c| text::is_unsafe(*c)) {
        return Err(Error::Invalid(format!(
            "the {what} selector holds a control or format character ({}), which no selector does",
            text::escape(&c.to_string(), 16)
        )));
    }
    if s.len() > MAX_SELECTOR {
        return Err(Error::Invalid(format!(
            "the {what} selector is {} bytes, more than the {} KiB a request may carry",
            s.len(),
            MAX_SELECTOR >> 10
        )));
    }
    let parsed = match what {
        "label" => cutover_grammar::selector::LabelSelector::parse(s).map(drop),
        _ => cutover_grammar::selector::FieldSelector::parse(s).map(drop),
    };
    parsed.map_err(|e| {
        Error::Invalid(format!(
            "the {what} selector is not valid: {}",
            text::escape(&e.to_string(), 512)
        ))
    })
}

/// Validates, pre-authorizes, locates and authorizes one object for `operation`.
async fn locate_authorized(
    cluster: &Cluster,
    grants: &Grants,
    operation: &'static str,
    target: &k8s::ObjectRef,
) -> Result<Located, CallError> {
    k8s::target::check_ref(target)
        .map_err(|e| Error::Invalid(format!("cannot {operation} {}: {e}", requested(target))))?;
    pre_authorize(grants, &call_before(operation, target, cluster.namespace()))?;
    let loc = cluster.locate(target).await?;
    authorize(grants, &call_on(operation, &loc))?;
    Ok(loc)
}

/// Whether the run may read pods in `namespace` itself (then a wait's abort may name them).
fn may_read_pods(grants: &Grants, namespace: Option<&str>) -> bool {
    ["get", "list"].iter().any(|operation| {
        grants
            .check(&Call {
                interface: "cluster",
                operation,
                api_version: Some("v1"),
                kind: Some("Pod"),
                namespace,
            })
            .is_ok()
    })
}

/// Before a mutating call of a run that belongs to a release: the journal entry is written
/// (and the lock checked) first; a run without one (a dry run) records nothing.
pub(super) async fn journal_before(
    recorder: &Option<Arc<Recorder>>,
    cluster: &Cluster,
    loc: &Located,
    call: journal::Call<'_>,
) -> Result<Option<Step>, CallError> {
    let Some(recorder) = recorder else {
        return Ok(None);
    };
    recorder
        .before(cluster, loc, call)
        .await
        .map(Some)
        .map_err(|e| match e {
            RecordError::Cluster(e) => CallError::from(e),
            RecordError::LockLost(_) => CallError::Refused(Error::Aborted(e.to_string())),
            RecordError::Journal(_) => CallError::Refused(Error::Unavailable(e.to_string())),
            RecordError::Full | RecordError::TooLarge => {
                CallError::Refused(Error::Aborted(e.to_string()))
            }
        })
}

/// After the call, whatever it returned: what it left refines the entry.
pub(super) async fn journal_after(
    recorder: &Option<Arc<Recorder>>,
    step: Option<Step>,
    stored: Option<&Value>,
) {
    if let (Some(recorder), Some(step)) = (recorder, step) {
        recorder.after(step, stored).await;
    }
}

impl types::Host for RunState {}

impl cluster::Host for RunState {
    async fn get(&mut self, target: ObjectRef) -> Result<String, Error> {
        let target = to_k8s_ref(target);
        let label = requested(&target);
        let (cluster, grants) = (self.cluster.clone(), self.grants.clone());
        self.perform("get", label, None, false, async move {
            let loc = locate_authorized(&cluster, &grants, "get", &target).await?;
            let value = cluster.get(&loc).await?;
            Ok((value.to_string(), loc.label().into()))
        })
        .await
    }

    async fn list(&mut self, query: cluster::ListQuery) -> Result<Vec<String>, Error> {
        let query = to_k8s_query(query);
        let label = query_label(&query);
        let (cluster, grants) = (self.cluster.clone(), self.grants.clone());
        self.perform("list", label, None, false, async move {
            let loc = locate_list_authorized(&cluster, &grants, &["list"], &query).await?;
            let selectors = Selectors {
                labels: query.label_selector.as_deref(),
                fields: query.field_selector.as_deref(),
            };
            let bounds = ListBounds {
                page: LIST_PAGE,
                max_items: MAX_LIST_ITEMS,
                max_bytes: MAX_LIST_BYTES,
            };
            let items = cluster.list(&loc, &selectors, bounds).await?;
            Ok((
                items.iter().map(Value::to_string).collect(),
                loc.label().into(),
            ))
        })
        .await
    }

    async fn apply(&mut self, manifest: String) -> Result<String, Error> {
        let parsed = parse_json(&manifest, "the manifest");
        drop(manifest);
        let field = |value: &Value, name: &str| {
            value
                .pointer(name)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let (value, target) = match parsed {
            Ok(value) => {
                let target = match (
                    field(&value, "/apiVersion"),
                    field(&value, "/kind"),
                    field(&value, "/metadata/name"),
                ) {
                    (Some(api_version), Some(kind), Some(name)) => Some(k8s::ObjectRef {
                        api_version,
                        kind,
                        namespace: field(&value, "/metadata/namespace"),
                        name,
                    }),
                    _ => None,
                };
                (Some(value), target)
            }
            Err(e) => {
                return self
                    .perform("apply", "a manifest".into(), None, true, async move {
                        Err::<Done<String>, _>(CallError::Refused(e))
                    })
                    .await;
            }
        };
        let Some(target) = target else {
            return self
                .perform("apply", "a manifest".into(), None, true, async move {
                    Err::<Done<String>, _>(CallError::Refused(Error::Invalid(
                        "the manifest needs apiVersion, kind and metadata.name (strings)".into(),
                    )))
                })
                .await;
        };
        let value = value.unwrap_or(Value::Null);
        let label = requested(&target);
        let (cluster, grants) = (self.cluster.clone(), self.grants.clone());
        let recorder = self.release.clone();
        self.perform("apply", label, None, true, async move {
            let loc = locate_authorized(&cluster, &grants, "apply", &target).await?;
            let step = journal_before(
                &recorder,
                &cluster,
                &loc,
                journal::Call::Apply { manifest: &value },
            )
            .await?;
            let stored = cluster.apply(&loc, value).await;
            journal_after(&recorder, step, stored.as_ref().ok()).await;
            Ok((stored?.to_string(), loc.label().into()))
        })
        .await
    }

    async fn patch(
        &mut self,
        target: ObjectRef,
        kind: cluster::PatchType,
        body: String,
    ) -> Result<String, Error> {
        let target = to_k8s_ref(target);
        let label = requested(&target);
        let body = parse_json(&body, "the patch");
        let kind = match kind {
            cluster::PatchType::Merge => k8s::PatchKind::Merge,
            cluster::PatchType::Json => k8s::PatchKind::Json,
            cluster::PatchType::Strategic => k8s::PatchKind::Strategic,
            cluster::PatchType::Apply => k8s::PatchKind::Apply,
        };
        let (cluster, grants) = (self.cluster.clone(), self.grants.clone());
        let recorder = self.release.clone();
        self.perform("patch", label, None, true, async move {
            let loc = locate_authorized(&cluster, &grants, "patch", &target).await?;
            let body = body?;
            let step = journal_before(
                &recorder,
                &cluster,
                &loc,
                journal::Call::Patch { kind, body: &body },
            )
            .await?;
            let stored = cluster.patch(&loc, kind, body).await;
            journal_after(&recorder, step, stored.as_ref().ok()).await;
            Ok((stored?.to_string(), loc.label().into()))
        })
        .await
    }

    async fn delete(&mut self, target: ObjectRef) -> Result<(), Error> {
        let target = to_k8s_ref(target);
        let label = requested(&target);
        let (cluster, grants) = (self.cluster.clone(), self.grants.clone());
        let recorder = self.release.clone();
        self.perform("delete", label, None, true, async move {
            let loc = locate_authorized(&cluster, &grants, "delete", &target).await?;
            let step = journal_before(&recorder, &cluster, &loc, journal::Call::Delete).await?;
            let removed = cluster.delete(&loc).await;
            journal_after(&recorder, step, None).await;
            Ok(((), removal(loc.label(), removed?)))
        })
        .await
    }

    async fn delete_with(
        &mut self,
        target: ObjectRef,
        options: cluster::DeleteOptions,
    ) -> Result<(), Error> {
        let target = to_k8s_ref(target);
        let label = requested(&target);
        let checked = check_delete_options(&options);
        let (cluster, grants) = (self.cluster.clone(), self.grants.clone());
        let recorder = self.release.clone();
        self.perform("delete", label, None, true, async move {
            checked?;
            let loc = locate_authorized(&cluster, &grants, "delete", &target).await?;
            let step = journal_before(&recorder, &cluster, &loc, journal::Call::Delete).await?;
            let removed = cluster
                .delete_with(&loc, options.uid.as_deref(), options.grace_period_seconds)
                .await;
            journal_after(&recorder, step, None).await;
            Ok(((), removal(loc.label(), removed?)))
        })
        .await
    }

    async fn scale(&mut self, target: ObjectRef, replicas: u32) -> Result<(), Error> {
        let target = to_k8s_ref(target);
        let label = format!("{} to {replicas}", requested(&target));
        let (cluster, grants) = (self.cluster.clone(), self.grants.clone());
        let recorder = self.release.clone();
        self.perform("scale", label, None, true, async move {
            let loc = locate_authorized(&cluster, &grants, "scale", &target).await?;
            let step = journal_before(&recorder, &cluster, &loc, journal::Call::Scale { replicas })
                .await?;
            let scaled = cluster.scale(&loc, replicas).await;
            journal_after(&recorder, step, None).await;
            scaled?;
            Ok(((), format!("{} to {replicas}", loc.label()).into()))
        })
        .await
    }

    async fn cordon(&mut self, node: String) -> Result<(), Error> {
        self.node_call("cordon", node).await
    }

    async fn uncordon(&mut self, node: String) -> Result<(), Error> {
        self.node_call("uncordon", node).await
    }

    async fn evict(
        &mut self,
        namespace: String,
        name: String,
        timeout_ms: u64,
    ) -> Result<(), Error> {
        let own = Duration::from_millis(timeout_ms).min(self.time.remaining());
        let label = format!(
            "v1/Pod {}/{}",
            text::escape(&namespace, 128),
            text::escape(&name, 128)
        );
        let (cluster, grants) = (self.cluster.clone(), self.grants.clone());
        // One second of slack so the cluster layer's own, clearer timeout message wins the race.
        let slack = Some(own + Duration::from_secs(1));
        let recorder = self.release.clone();
        self.perform("evict", label, slack, true, async move {
            let pod = cluster.locate_pod(&namespace, &name)?;
            authorize(&grants, &call_on("evict", &pod))?;
            let step = journal_before(&recorder, &cluster, &pod, journal::Call::Evict).await?;
            let removed = cluster.evict(&pod, own).await;
            journal_after(&recorder, step, None).await;
            Ok(((), removal(pod.label(), removed?)))
        })
        .await
    }

    async fn wait(
        &mut self,
        target: ObjectRef,
        until: cluster::Condition,
        timeout_ms: u64,
    ) -> Result<String, Error> {
        let target = to_k8s_ref(target);
        let label = requested(&target);
        let too_long = |what: &str, s: &str| {
            Error::Invalid(format!(
                "the {what} is {} bytes, more than the {MAX_WAIT_ARG} a wait takes",
                s.len()
            ))
        };
        let condition = match until {
            cluster::Condition::DeletedUid(uid) if uid.len() > MAX_WAIT_ARG => {
                Err(too_long("uid", &uid))
            }
            cluster::Condition::Field(field) if field.pointer.len() > MAX_WAIT_ARG => {
                Err(too_long("JSON pointer", &field.pointer))
            }
            cluster::Condition::Ready => Ok(k8s::Condition::Ready),
            cluster::Condition::RolledOut => Ok(k8s::Condition::RolledOut),
            cluster::Condition::Deleted => Ok(k8s::Condition::Deleted),
            cluster::Condition::DeletedUid(uid) => Ok(k8s::Condition::DeletedUid(uid)),
            cluster::Condition::Field(field) => {
                parse_json(&field.equals, "the field condition's value").map(|equals| {
                    k8s::Condition::Field {
                        pointer: field.pointer,
                        equals,
                    }
                })
            }
        };
        let own = Duration::from_millis(timeout_ms).min(self.time.remaining());
        let (cluster, grants) = (self.cluster.clone(), self.grants.clone());
        let slack = Some(own + Duration::from_secs(1));
        self.perform("wait", label, slack, false, async move {
            let condition = condition?;
            let loc = locate_authorized(&cluster, &grants, "wait", &target).await?;
            let options = k8s::WaitOptions {
                pod_detail: may_read_pods(&grants, loc.namespace()),
                ..k8s::WaitOptions::default()
            };
            match cluster.wait(&loc, &condition, own, options.clone()).await {
                Ok(value) => Ok((value.to_string(), loc.label().into())),
                Err(e) => Err(withheld_error(e, &options.withheld)),
            }
        })
        .await
    }

    async fn wait_current(
        &mut self,
        targets: Vec<ObjectRef>,
        timeout_ms: u64,
    ) -> Result<(), Error> {
        let count = targets.len();
        let label = many_label(&targets);
        let targets: Result<Vec<k8s::ObjectRef>, Error> = if count > k8s::MAX_WAIT_CURRENT_TARGETS {
            Err(Error::Invalid(format!(
                "wait-current takes at most {} targets, not {count}",
                k8s::MAX_WAIT_CURRENT_TARGETS
            )))
        } else {
            Ok(targets.into_iter().map(to_k8s_ref).collect())
        };
        let own = Duration::from_millis(timeout_ms).min(self.time.remaining());
        let (cluster, grants) = (self.cluster.clone(), self.grants.clone());
        let slack = Some(own + Duration::from_secs(1));
        self.perform("wait-current", label, slack, false, async move {
            let targets = targets?;
            check_refs(&targets)?;
            let mut located = Vec::with_capacity(targets.len());
            for target in &targets {
                located.push(locate_authorized(&cluster, &grants, "wait", target).await?);
            }
            cluster.wait_current(&located, own).await?;
            Ok(((), reached_label(&located).into()))
        })
        .await
    }
    async fn wait_all(
        &mut self,
        targets: cluster::WaitSet,
        until: cluster::SetCondition,
        timeout_ms: u64,
    ) -> Result<Vec<String>, Error> {
        let until = match until {
            cluster::SetCondition::AllReady(n) => k8s::SetCondition::AllReady(n),
            cluster::SetCondition::AllGone => k8s::SetCondition::AllGone,
        };
        let own = Duration::from_millis(timeout_ms).min(self.time.remaining());
        let slack = Some(own + Duration::from_secs(1));
        let (cluster, grants) = (self.cluster.clone(), self.grants.clone());
        match targets {
            cluster::WaitSet::Query(query) => {
                let query = to_k8s_query(query);
                let label = query_label(&query);
                self.perform("wait-all", label, slack, false, async move {
                    // A query's answer is a list: it needs `list` as well as `wait`, both
                    // checked before discovery and again after it.
                    let loc = locate_list_authorized(&cluster, &grants, &["wait", "list"], &query)
                        .await?;
                    let selectors = Selectors {
                        labels: query.label_selector.as_deref(),
                        fields: query.field_selector.as_deref(),
                    };
                    let seen = cluster
                        .wait_all_matching(&loc, &selectors, until, own)
                        .await?;
                    let answer = bounded_items(seen)?;
                    Ok((answer, loc.label().into()))
                })
                .await
            }
            cluster::WaitSet::Objects(targets) => {
                let count = targets.len();
                let label = many_label(&targets);
                let targets: Result<Vec<k8s::ObjectRef>, Error> =
                    if count > k8s::MAX_WAIT_ALL_TARGETS {
                        Err(Error::Invalid(format!(
                            "wait-all takes at most {} objects, not {count}",
                            k8s::MAX_WAIT_ALL_TARGETS
                        )))
                    } else {
                        Ok(targets.into_iter().map(to_k8s_ref).collect())
                    };
                self.perform("wait-all", label, slack, false, async move {
                    let targets = targets?;
                    check_refs(&targets)?;
                    let mut located = Vec::with_capacity(targets.len());
                    for target in &targets {
                        located.push(locate_authorized(&cluster, &grants, "wait", target).await?);
                    }
                    // One set of options serves every wait: a stuck pod is named only when
                    // the run may read pods in each namespace of the set, so that no target's
                    // abort names a pod of a namespace the run may not read. The operator is
                    // told what the policy is not, as for `wait`.
                    let options = k8s::WaitOptions {
                        pod_detail: located
                            .iter()
                            .all(|l| may_read_pods(&grants, l.namespace())),
                        ..k8s::WaitOptions::default()
                    };
                    let withheld = options.withheld.clone();
                    match cluster.wait_all_named(&located, until, own, options).await {
                        Ok(seen) => {
                            let answer = bounded_items(seen)?;
                            Ok((answer, reached_label(&located).into()))
                        }
                        Err(e) => Err(withheld_error(e, &withheld)),
                    }
                })
                .await
            }
        }
    }

    async fn evict_many(
        &mut self,
        pods: Vec<cluster::PodRef>,
        concurrency: u32,
        timeout_ms: u64,
    ) -> Result<Vec<Result<(), Error>>, Error> {
        self.evict_many_call(pods, concurrency, timeout_ms).await
    }
}

/// A wait's error for the guest, with what its implied reads found kept for the operator
/// alone when the run may not read it.
fn withheld_error(e: k8s::ClusterError, withheld: &std::sync::OnceLock<String>) -> CallError {
    let guest = super::call::to_wit_error(e);
    match withheld.get() {
        Some(detail) => CallError::Withheld {
            operator: format!(
                "{} [for the operator: {detail}]",
                super::call::error_message(&guest)
            ),
            guest,
        },
        None => CallError::Refused(guest),
    }
}

/// Every name of a set of waits, first: a hostile one is `invalid` before any member is
/// checked against the grants or located.
fn check_refs(targets: &[k8s::ObjectRef]) -> Result<(), Error> {
    for target in targets {
        k8s::target::check_ref(target)
            .map_err(|e| Error::Invalid(format!("cannot wait {}: {e}", requested(target))))?;
    }
    Ok(())
}

/// The longest grace period `delete-with` passes on: a day.
const MAX_GRACE_PERIOD_SECONDS: u32 = 86_400;
fn check_delete_options(options: &cluster::DeleteOptions) -> Result<(), Error> {
    if let Some(uid) = &options.uid
        && (uid.is_empty() || uid.len() > MAX_WAIT_ARG)
    {
        return Err(Error::Invalid(format!(
            "the uid precondition is {} bytes; a uid is 1 to {MAX_WAIT_ARG}",
            uid.len()
        )));
    }
    match options.grace_period_seconds {
        Some(g) if g > MAX_GRACE_PERIOD_SECONDS => Err(Error::Invalid(format!(
            "a grace period of {g} s is more than the {MAX_GRACE_PERIOD_SECONDS} s (a day) delete-with takes"
        ))),
        _ => Ok(()),
    }
}

/// A wait's answer within what `list` may return.
fn bounded_items(items: Vec<Value>) -> Result<Vec<String>, CallError> {
    let mut bytes = 0usize;
    let mut answer = Vec::with_capacity(items.len());
    for item in items {
        let text = item.to_string();
        bytes += text.len();
        if answer.len() >= MAX_LIST_ITEMS || bytes > MAX_LIST_BYTES {
            return Err(CallError::Refused(Error::Invalid(format!(
                "wait-all: the objects waited on are more than a list may return ({MAX_LIST_ITEMS} objects, {} MiB)",
                MAX_LIST_BYTES >> 20
            ))));
        }
        answer.push(text);
    }
    Ok(answer)
}

fn to_k8s_query(query: cluster::ListQuery) -> k8s::ListQuery {
    k8s::ListQuery {
        api_version: query.api_version,
        kind: query.kind,
        namespace: query.namespace,
        label_selector: query.label_selector,
        field_selector: query.field_selector,
    }
}

/// `v1/Pod in kube-system`, as the guest asked.
fn query_label(query: &k8s::ListQuery) -> String {
    format!(
        "{}/{} in {}",
        text::escape(&query.api_version, 128),
        text::escape(&query.kind, 128),
        text::escape(
            query.namespace.as_deref().unwrap_or("the run's namespace"),
            128
        )
    )
}

fn many_label(targets: &[ObjectRef]) -> String {
    match targets.first() {
        None => "no objects".to_string(),
        Some(first) if targets.len() == 1 => requested(&to_k8s_ref(first.clone())),
        Some(first) => format!(
            "{} and {} more",
            requested(&to_k8s_ref(first.clone())),
            targets.len() - 1
        ),
    }
}

fn reached_label(located: &[Located]) -> String {
    match located {
        [] => "no objects".to_string(),
        [one] => one.label(),
        [first, rest @ ..] => format!("{} and {} more", first.label(), rest.len()),
    }
}

/// Validates, pre-authorizes, locates and authorizes a list query for each of `operations`
/// (every one checked before discovery, and again on the located kind and namespace).
async fn locate_list_authorized(
    cluster: &Cluster,
    grants: &Grants,
    operations: &[&'static str],
    query: &k8s::ListQuery,
) -> Result<LocatedList, CallError> {
    let operation = operations.first().copied().unwrap_or("list");
    k8s::target::check_list(query).map_err(|e| {
        Error::Invalid(format!(
            "cannot {operation} {} objects: {e}",
            text::escape(&query.kind, 64)
        ))
    })?;
    check_selector(query.label_selector.as_deref(), "label")?;
    check_selector(query.field_selector.as_deref(), "field")?;
    let all = query.namespace.as_deref() == Some("*");
    let run_ns = cluster.namespace().to_string();
    for operation in operations {
        let before = Call {
            interface: "cluster",
            operation,
            api_version: Some(&query.api_version),
            kind: Some(&query.kind),
            namespace: if all {
                None
            } else {
                Some(query.namespace.as_deref().unwrap_or(&run_ns))
            },
        };
        pre_authorize(grants, &before)?;
    }
    let loc: LocatedList = cluster.locate_list(query).await?;
    for operation in operations {
        authorize(
            grants,
            &Call {
                interface: "cluster",
                operation,
                api_version: Some(loc.api_version()),
                kind: Some(loc.kind()),
                namespace: loc.namespace(),
            },
        )?;
    }
    Ok(loc)
}

impl RunState {
    /// `cordon` and `uncordon`: a node needs no discovery.
    async fn node_call(&mut self, operation: &'static str, node: String) -> Result<(), Error> {
        let label = format!("v1/Node {}", text::escape(&node, 128));
        let (cluster, grants) = (self.cluster.clone(), self.grants.clone());
        let recorder = self.release.clone();
        self.perform(operation, label, None, true, async move {
            let loc = cluster.locate_node(&node)?;
            authorize(&grants, &call_on(operation, &loc))?;
            let call = match operation {
                "cordon" => journal::Call::Cordon,
                _ => journal::Call::Uncordon,
            };
            let step = journal_before(&recorder, &cluster, &loc, call).await?;
            let done = match operation {
                "cordon" => cluster.cordon(&loc).await,
                _ => cluster.uncordon(&loc).await,
            };
            journal_after(&recorder, step, None).await;
            done?;
            Ok(((), loc.label().into()))
        })
        .await
    }
}
