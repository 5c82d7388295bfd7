//! Pod eviction through the Eviction API, which honours PodDisruptionBudgets, retried while a budget refuses.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIGroup;
use kube::api::GetParams;
use kube::core::Status;
use serde_json::{Value, json};

use super::error::{ClusterError, Ctx, human, is_transport, status_detail, transport_cause};
use super::retry::retry_after;
use super::target::segment;
use super::{Cluster, Located, Removal};

/// Whether a refused eviction may succeed later: a budget (429), a server that is busy or
/// briefly unreachable, or an internal error after which the pod's state decides (see
/// [`Cluster::evicted_anyway`]).
fn worth_retrying(err: &kube::Error) -> bool {
    match err {
        kube::Error::Api(s) if s.code == 500 => !is_permanent_internal(s),
        kube::Error::Api(s) => matches!(s.code, 429 | 502 | 503 | 504),
        other => is_transport(other),
    }
}

/// A 500 that says the eviction can never work as things stand: the pod has more than one
/// PodDisruptionBudget (kube-apiserver answers that with an InternalError).
fn is_permanent_internal(status: &Status) -> bool {
    status.message.contains("more than one PodDisruptionBudget")
}

/// Whether a 429 came from a PodDisruptionBudget rather than from API priority and fairness.
fn is_budget_refusal(status: &Status) -> bool {
    status.code == 429
        && (status.message.to_lowercase().contains("disruption budget")
            || status
                .details
                .as_ref()
                .is_some_and(|d| d.causes.iter().any(|c| c.reason == "DisruptionBudget")))
}

/// The error once the deadline passes, after the last refusal (if any answer came at all).
fn gave_up(ctx: &Ctx<'_>, timeout: Duration, last: Option<&kube::Error>) -> ClusterError {
    let after = human(timeout);
    let line = match last {
        Some(kube::Error::Api(s)) if is_budget_refusal(s) => ctx.line(format_args!(
            "a PodDisruptionBudget blocks it ({}); gave up after {after}",
            status_detail(s)
        )),
        Some(kube::Error::Api(s)) if s.code == 429 => ctx.line(format_args!(
            "the API server kept refusing it ({}); gave up after {after}",
            status_detail(s)
        )),
        Some(kube::Error::Api(s)) => ctx.line(format_args!(
            "gave up after {after}; last error: {}",
            status_detail(s)
        )),
        Some(other) => ctx.line(format_args!(
            "gave up after {after}; last error: {}",
            transport_cause(other)
        )),
        None => ctx.line(format_args!("no answer from the API server within {after}")),
    };
    ClusterError::Timeout(line)
}

impl Cluster {
    /// Evicts a pod through the Eviction API, which honours PodDisruptionBudgets. A refusal (429,
    /// a budget that allows no disruption now) is retried with jittered backoff (1 s growing to
    /// 5 s) until `timeout`, then reported as `Timeout`. A pod that is already gone is not an error.
    ///
    /// The Eviction version (policy/v1 or policy/v1beta1) is decided once per `Cluster` from
    /// discovery, as `kubectl drain` does: Kubernetes before 1.22 has no policy/v1 Eviction.
    ///
    /// A request that fails in a way that may have evicted the pod after all (a 500, a lost
    /// connection) is judged by what the cluster then holds: a pod that is gone or terminating
    /// was evicted.
    pub async fn evict(&self, pod: &Located, timeout: Duration) -> Result<Removal, ClusterError> {
        self.evict_uid(pod, None, timeout).await
    }

    /// [`Cluster::evict`] of the pod with `uid` only (a precondition the API server checks):
    /// another pod of the same name, a StatefulSet's successor made while a budget held the
    /// eviction back, is not evicted, and the one asked about counts as already gone.
    pub async fn evict_uid(
        &self,
        pod: &Located,
        uid: Option<&str>,
        timeout: Duration,
    ) -> Result<Removal, ClusterError> {
        let (namespace, name) = (pod.namespace().unwrap_or_default(), pod.name());
        let ctx = self.ctx("evict", &pod.what);
        let clock = self.clock().clone();
        let deadline = clock.now() + timeout;
        let version = clock
            .timeout_at(deadline, self.eviction_version(&ctx))
            .await
            .map_err(|_| gave_up(&ctx, timeout, None))??;
        let mut body = json!({
            "apiVersion": version,
            "kind": "Eviction",
            "metadata": { "name": name, "namespace": namespace },
        });
        if self.dry_run {
            body["deleteOptions"] = json!({ "dryRun": ["All"] });
        }
        if let Some(uid) = uid {
            body["deleteOptions"]["preconditions"] = json!({ "uid": uid });
        }
        let body = serde_json::to_vec(&body).map_err(|e| ClusterError::Other(ctx.line(e)))?;
        let url = format!(
            "/api/v1/namespaces/{}/pods/{}/eviction",
            segment(namespace),
            segment(name)
        );
        let mut delays = self
            .shared
            .retrier
            .jitter
            .apply(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_secs(1))
                    .with_max_delay(Duration::from_secs(5))
                    .without_max_times(),
            )
            .build();
        let mut last: Option<kube::Error> = None;
        // Whether an earlier attempt may have evicted the pod: a later "not found" is then
        // counted as this run's eviction, so that the report never leaves one out.
        let mut maybe_evicted = false;
        loop {
            if clock.now() >= deadline {
                return Err(gave_up(&ctx, timeout, last.as_ref()));
            }
            let req = http::Request::post(url.as_str())
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .map_err(|e| ClusterError::Invalid(ctx.line(e)))?;
            match clock
                .timeout_at(
                    deadline,
                    super::bounded::request_json::<Value>(&self.client, req),
                )
                .await
            {
                Err(_elapsed) => return Err(gave_up(&ctx, timeout, last.as_ref())),
                Ok(Ok(_)) => return Ok(Removal::Removed),
                Ok(Err(kube::Error::Api(s))) if s.code == 404 => {
                    return Ok(if maybe_evicted {
                        Removal::Removed
                    } else {
                        Removal::AlreadyGone
                    });
                }
                // The precondition failed: the pod with that uid is not there any more.
                Ok(Err(kube::Error::Api(s))) if s.code == 409 && uid.is_some() => {
                    return Ok(if maybe_evicted {
                        Removal::Removed
                    } else {
                        Removal::AlreadyGone
                    });
                }
                Ok(Err(e)) if worth_retrying(&e) => {
                    tracing::debug!(pod = %pod.what, error = %e, "eviction refused, will retry");
                    let ambiguous = !matches!(&e, kube::Error::Api(s) if s.code != 500);
                    maybe_evicted |= ambiguous;
                    if ambiguous
                        && !self.dry_run
                        && clock
                            .timeout_at(deadline, self.evicted_anyway(pod))
                            .await
                            .unwrap_or(false)
                    {
                        return Ok(Removal::Removed);
                    }
                    last = Some(e);
                }
                Ok(Err(e)) => return Err(ctx.map(&e)),
            }
            let delay = delays.next().unwrap_or(Duration::from_secs(5));
            let delay = last
                .as_ref()
                .and_then(retry_after)
                .map_or(delay, |a| a.max(delay));
            clock.sleep_until(deadline.min(clock.now() + delay)).await;
        }
    }

    /// After an eviction request that may or may not have been carried out: whether the pod is
    /// gone or terminating now. A read that fails says "not evicted" (the eviction is tried again).
    async fn evicted_anyway(&self, pod: &Located) -> bool {
        let name = pod.encoded_name();
        let req = match pod.request().get(&name, &GetParams::default()) {
            Ok(req) => req,
            Err(_) => return false,
        };
        match super::bounded::request_json::<Value>(&self.client, req).await {
            Err(kube::Error::Api(s)) if s.code == 404 => true,
            Ok(obj) => obj.pointer("/metadata/deletionTimestamp").is_some(),
            Err(_) => false,
        }
    }

    /// The apiVersion of the Eviction body this server takes, decided once per `Cluster`.
    async fn eviction_version(&self, ctx: &Ctx<'_>) -> Result<String, ClusterError> {
        self.shared
            .eviction_version
            .get_or_try_init(|| async {
                // kubectl drain's rule: the core group's `pods/eviction` entry names the version
                // of the Eviction kind it takes. Usually cached already by any pod operation.
                let core = self
                    .shared
                    .discovery
                    .group_version(&self.client, &self.shared.retrier, "v1", ctx)
                    .await?;
                if let Some(sub) = core.subresource("pods/eviction")
                    && let (Some(group), Some(version)) = (&sub.group, &sub.version)
                    && !group.is_empty()
                    && !version.is_empty()
                {
                    return Ok(format!("{group}/{version}"));
                }
                // A server that leaves the entry bare: policy/v1 where the policy group serves it.
                let req = http::Request::get("/apis/policy")
                    .body(Vec::new())
                    .map_err(|e| ClusterError::Invalid(ctx.line(e)))?;
                let group: APIGroup = super::bounded::request_json::<APIGroup>(&self.client, req)
                    .await
                    .map_err(|e| match e {
                        kube::Error::Api(s) if s.code == 404 => ClusterError::Invalid(
                            ctx.line("the cluster serves no policy API group, so no Eviction API"),
                        ),
                        e => ctx.map(&e),
                    })?;
                let v1 = group.versions.iter().any(|v| v.version == "v1");
                Ok(if v1 { "policy/v1" } else { "policy/v1beta1" }.to_string())
            })
            .await
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What kube-apiserver 1.20 answers when a budget refuses an eviction.
    fn pdb_status() -> Status {
        serde_json::from_value(serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 429, "reason": "TooManyRequests",
            "message": "Cannot evict pod as it would violate the pod's disruption budget.",
            "details": {"causes": [{"reason": "DisruptionBudget",
                "message": "The disruption budget web needs 2 healthy pods and has 2 currently"}]}
        }))
        .unwrap()
    }

    fn ctx() -> Ctx<'static> {
        Ctx {
            op: "evict",
            what: "pod shop/web-1",
            server: None,
        }
    }

    #[test]
    fn budget_refusal_message() {
        let e = gave_up(
            &ctx(),
            Duration::from_secs(30),
            Some(&kube::Error::Api(Box::new(pdb_status()))),
        );
        assert_eq!(
            e,
            ClusterError::Timeout(
                "cannot evict pod shop/web-1: a PodDisruptionBudget blocks it (Cannot evict pod as it would \
                 violate the pod's disruption budget.; The disruption budget web needs 2 healthy pods and has \
                 2 currently); gave up after 30s"
                    .into()
            )
        );
    }

    #[test]
    fn other_refusals() {
        let throttled =
            Status::failure("too many requests, retry later", "TooManyRequests").with_code(429);
        assert!(!is_budget_refusal(&throttled));
        let e = gave_up(
            &ctx(),
            Duration::from_secs(90),
            Some(&kube::Error::Api(Box::new(throttled))),
        );
        assert!(
            e.message()
                .contains("kept refusing it (too many requests, retry later); gave up after 1m30s")
        );
        let busy = Status::failure("etcd is busy", "ServiceUnavailable").with_code(503);
        let e = gave_up(
            &ctx(),
            Duration::from_secs(5),
            Some(&kube::Error::Api(Box::new(busy))),
        );
        assert_eq!(
            e,
            ClusterError::Timeout(
                "cannot evict pod shop/web-1: gave up after 5s; last error: etcd is busy".into()
            )
        );
        let e = gave_up(&ctx(), Duration::from_millis(300), None);
        assert!(
            e.message()
                .ends_with("no answer from the API server within 300ms")
        );
    }

    #[test]
    fn retry_classes() {
        assert!(worth_retrying(&kube::Error::Api(Box::new(pdb_status()))));
        let forbidden = Status::failure("no", "Forbidden").with_code(403);
        assert!(!worth_retrying(&kube::Error::Api(Box::new(forbidden))));
        let multi = Status::failure(
            "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
            "InternalError",
        )
        .with_code(500);
        assert!(!worth_retrying(&kube::Error::Api(Box::new(multi))));
        let flaky =
            Status::failure("etcdserver: request timed out", "InternalError").with_code(500);
        assert!(worth_retrying(&kube::Error::Api(Box::new(flaky))));
    }
}
