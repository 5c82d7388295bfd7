//! `restart`: `kubectl rollout restart` of a Deployment, DaemonSet or StatefulSet, then wait for the rollout.
//!
//! The restart is a patch of the pod template's `kubectl.kubernetes.io/restartedAt`
//! annotation, exactly as kubectl writes it, so the controller rolls every pod with its usual
//! strategy; then the host watches until the rollout is complete.

use cutover_guest_sdk::params::Duration;
use cutover_guest_sdk::{Condition, Context, Error, ObjectRef, Patch, export_policy, info};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
struct Params {
    kind: String,
    name: String,
    timeout: Duration,
}

/// The kinds `kubectl rollout restart` handles, with the resource name kubectl prints.
fn resource_of(kind: &str) -> Result<&'static str, Error> {
    match kind {
        "Deployment" => Ok("deployment.apps"),
        "DaemonSet" => Ok("daemonset.apps"),
        "StatefulSet" => Ok("statefulset.apps"),
        other => Err(Error::invalid(format!(
            "kind must be Deployment, DaemonSet or StatefulSet, not {other:?}"
        ))),
    }
}

/// The patch kubectl sends: a new value of the template annotation changes the template's
/// hash, which is what makes the controller replace every pod.
fn restart_patch(restarted_at: &str) -> serde_json::Value {
    json!({"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": restarted_at,
    }}}}})
}

fn restart(ctx: &Context) -> Result<String, Error> {
    let p: Params = ctx.params()?;
    let resource = resource_of(&p.kind)?;
    let shown = format!("{resource}/{}", p.name);
    // The dynamic calls keep k8s-openapi's Deployment/DaemonSet/StatefulSet deserializers,
    // which this policy never reads, out of the module.
    let target = ObjectRef::new("apps/v1", p.kind.as_str(), p.name.as_str());
    let restarted_at = ctx.now().to_string();

    ctx.progress(0, 2, &format!("restarting {shown}"));
    // A merge patch: the body holds only maps, where merge and strategic merge agree, and
    // every API server (and the simulator) takes merge patches for every kind.
    ctx.patch_dynamic(&target, &Patch::Merge(restart_patch(&restarted_at)))
        .map_err(|e| e.context(format!("restarting {shown}")))?;
    ctx.progress(1, 2, &format!("{shown} restarted at {restarted_at}"));
    info!(
        "{shown} restarted; waiting up to {} for the rollout",
        p.timeout
    );

    ctx.wait_dynamic(&target, &Condition::RolledOut, p.timeout)
        .map_err(|e| e.context(format!("waiting for {shown} to roll out")))?;
    ctx.progress(2, 2, &format!("{shown} rolled out"));

    let dry_run = if ctx.dry_run() { " (dry run)" } else { "" };
    Ok(format!("{shown} restarted and rolled out{dry_run}"))
}

export_policy! {
    name: "restart",
    version: env!("CARGO_PKG_VERSION"),
    description: "Restart a Deployment, DaemonSet or StatefulSet and wait for it to roll out (kubectl rollout restart).",
    release: "restart-{kind}-{name}",
    params: [
        { name: "kind", type: "string", default: "Deployment",
          enum: ["Deployment", "DaemonSet", "StatefulSet"],
          description: "Deployment, DaemonSet or StatefulSet." },
        { name: "name", type: "string", required: true, description: "The object to restart, in the run's namespace." },
        { name: "timeout", type: "duration", default: "5m", description: "Give up when the rollout takes longer than this." },
    ],
    capabilities: [
        "cluster/patch:apps/v1/Deployment@{namespace}",
        "cluster/patch:apps/v1/DaemonSet@{namespace}",
        "cluster/patch:apps/v1/StatefulSet@{namespace}",
        "cluster/wait:apps/v1/Deployment@{namespace}",
        "cluster/wait:apps/v1/DaemonSet@{namespace}",
        "cluster/wait:apps/v1/StatefulSet@{namespace}",
    ],
    run: restart,
}

#[cfg(test)]
mod tests {
    use super::*;
    use cutover_guest_sdk::testing::FakeCluster;

    #[test]
    fn only_rollout_kinds_are_accepted() {
        assert_eq!(resource_of("Deployment").ok(), Some("deployment.apps"));
        assert_eq!(resource_of("StatefulSet").ok(), Some("statefulset.apps"));
        let e = resource_of("ReplicaSet").unwrap_err();
        assert!(e.is_invalid());
        assert_eq!(
            e.to_string(),
            "kind must be Deployment, DaemonSet or StatefulSet, not \"ReplicaSet\""
        );
    }

    #[test]
    fn patches_the_template_annotation() {
        let patch = restart_patch("2026-11-21T13:20:00Z");
        assert_eq!(
            patch.pointer("/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt"),
            Some(&json!("2026-11-21T13:20:00Z"))
        );
    }

    fn web() -> serde_json::Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "web"}}}},
        })
    }

    #[test]
    fn restarts_then_waits_for_the_rollout() {
        let fake = FakeCluster::new().namespace("shop").with(web());
        let ctx = fake
            .context(&POLICY_MANIFEST, json!({"name": "web"}))
            .expect("parameters");
        assert_eq!(ctx.release(), "restart-Deployment-web");
        let summary = restart(&ctx).expect("the restart succeeds");
        assert_eq!(summary, "deployment.apps/web restarted and rolled out");
        assert_eq!(
            fake.call_lines(),
            ["patch Deployment shop/web", "wait Deployment shop/web"]
        );
        // The default timeout (5m) reached the wait; the annotation is the clock's time.
        assert_eq!(fake.calls()[1].body.as_ref().unwrap()["timeoutMs"], 300_000);
        let stored = fake
            .object("apps/v1", "Deployment", Some("shop"), "web")
            .unwrap();
        assert_eq!(
            stored
                .pointer("/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt"),
            Some(&json!("2026-01-01T00:00:00Z"))
        );
        assert_eq!(
            stored.pointer("/spec/template/metadata/labels/app"),
            Some(&json!("web"))
        );
        assert_eq!(fake.progress().len(), 3);
    }

    #[test]
    fn a_rollout_that_fails_names_the_object() {
        let fake = FakeCluster::new().namespace("shop").with(web());
        let ctx = fake
            .context(&POLICY_MANIFEST, json!({"name": "web", "timeout": "1m"}))
            .unwrap();
        fake.respond(
            "wait",
            "Deployment shop/web",
            Err(Error::aborted(
                "a pod of its current revision is in CrashLoopBackOff",
            )),
        );
        let e = restart(&ctx).unwrap_err();
        assert!(e.is_aborted());
        assert_eq!(
            e.to_string(),
            "waiting for deployment.apps/web to roll out: a pod of its current revision is in CrashLoopBackOff"
        );
    }

    #[test]
    fn the_manifest_refuses_other_kinds_before_the_run() {
        let fake = FakeCluster::new();
        let e = fake
            .context(
                &POLICY_MANIFEST,
                json!({"name": "web", "kind": "ReplicaSet"}),
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "parameter `kind` must be one of Deployment, DaemonSet, StatefulSet, not \"ReplicaSet\""
        );
        // A missing object is the patch's not-found, with what was being done.
        let ctx = fake
            .context(&POLICY_MANIFEST, json!({"name": "api"}))
            .unwrap();
        let e = restart(&ctx).unwrap_err();
        assert!(e.is_not_found(), "{e}");
        assert!(
            e.to_string()
                .starts_with("restarting deployment.apps/api: "),
            "{e}"
        );
    }
}
