//! `replicaset-to-deployment`: Calico's pre-2.0 policy-controller upgrade, from the old ReplicaSet to a Deployment with never two controllers running.
//!
//! Steps (the procedure is `calico::controller`): read the one Deployment from the inputs →
//! refuse, before any change, what is not an apps/v1 Deployment with strategy `Recreate` and
//! at most one replica, or a ReplicaSet that does not exist → scale the ReplicaSet to 0 → wait
//! until its pods are gone → apply the Deployment → wait until it is rolled out → keep the
//! ReplicaSet at 0 (or delete it with `delete-replica-set`). `cutover resume` continues from
//! the checkpoint, which holds the manifest (a resumed run gets no inputs); `cutover abort`
//! undoes: the Deployment deleted and its pods gone, then the ReplicaSet scaled back and Ready.

mod input;

use calico::controller::{self, Params, State};
use cutover_guest_sdk::{Context, Error, export_policy};
use serde_json::Value;

fn run(ctx: &Context) -> Result<String, Error> {
    let params: Params = ctx.params()?;
    calico::drive(
        ctx,
        |ctx, state: &mut State, save| {
            let deployment = if state.needs_manifest() {
                Some(read_deployment(ctx)?)
            } else {
                None
            };
            controller::forward(ctx, &params, deployment.as_ref(), state, save)
        },
        controller::undo,
    )
}

/// The manifest from the inputs; a resumed run that had not started gets none, and says so.
fn read_deployment(ctx: &Context) -> Result<Value, Error> {
    let files = ctx.inputs()?;
    if files.is_empty() && ctx.is_resume() {
        return Err(Error::invalid(format!(
            "a resumed run gets no inputs, and this one had not started (nothing was changed): run it again with the Deployment's manifest; {}",
            input::USAGE
        )));
    }
    input::read(&files)
}

export_policy! {
    name: "replicaset-to-deployment",
    version: env!("CARGO_PKG_VERSION"),
    description: "Calico's pre-2.0 policy-controller upgrade: scale the old ReplicaSet to 0, wait until its pods are gone, apply the Deployment (strategy Recreate only) and wait until it is rolled out; an abort scales the ReplicaSet back.",
    inputs: "the new Deployment's manifest: one apps/v1 Deployment with strategy Recreate, in a YAML or JSON file, or - for standard input",
    // `cutover rollback` and `abort` of a failed or interrupted run undo it here (`undo`): the
    // Deployment's pods gone before the ReplicaSet is scaled back. The journal would not wait.
    rollback_by_policy: true,
    params: [
        { name: "replica-set", type: "string", required: true, description: "The old ReplicaSet, in the run's namespace (calico-policy-controller)." },
        { name: "timeout", type: "duration", default: "5m", description: "How long each wait may take (the ReplicaSet's pods gone, the Deployment rolled out; on abort the Deployment's pods gone, the ReplicaSet Ready), within --timeout." },
        { name: "delete-replica-set", type: "boolean", default: false, description: "Delete the old ReplicaSet once the Deployment is rolled out (by default it is kept at 0 replicas)." },
    ],
    capabilities: [
        "cluster/get:apps/v1/ReplicaSet@{namespace}",
        "cluster/scale:apps/v1/ReplicaSet@{namespace}",
        "cluster/wait:apps/v1/ReplicaSet@{namespace}",
        // `delete-replica-set`, and an abort re-creating a ReplicaSet that is gone.
        "cluster/delete:apps/v1/ReplicaSet@{namespace}",
        "cluster/apply:apps/v1/ReplicaSet@{namespace}",
        "cluster/list:v1/Pod@{namespace}",
        "cluster/wait:v1/Pod@{namespace}",
        "cluster/get:apps/v1/Deployment@{namespace}",
        "cluster/apply:apps/v1/Deployment@{namespace}",
        "cluster/wait:apps/v1/Deployment@{namespace}",
        "cluster/delete:apps/v1/Deployment@{namespace}",
    ],
    run: run,
}

#[cfg(test)]
mod tests {
    use super::*;
    use cutover_guest_sdk::Request;
    use cutover_guest_sdk::testing::FakeCluster;
    use serde_json::json;

    const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: calico-kube-controllers
  namespace: kube-system
spec:
  replicas: 1
  strategy: {type: Recreate}
  selector:
    matchLabels: {k8s-app: calico-kube-controllers}
  template:
    metadata:
      labels: {k8s-app: calico-kube-controllers}
    spec:
      containers:
      - {name: calico-kube-controllers, image: 'calico/kube-controllers:v3.0.0'}
";

    fn cluster() -> FakeCluster {
        FakeCluster::new().namespace("kube-system").with(json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "calico-policy-controller", "namespace": "kube-system",
                         "uid": "rs-1", "labels": {"k8s-app": "calico-policy"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"k8s-app": "calico-policy"}}},
        }))
    }

    fn params() -> Value {
        json!({"replica-set": "calico-policy-controller"})
    }

    fn replicas(fake: &FakeCluster) -> Option<u64> {
        fake.object(
            "apps/v1",
            "ReplicaSet",
            Some("kube-system"),
            "calico-policy-controller",
        )
        .and_then(|rs| rs["spec"]["replicas"].as_u64())
    }

    #[test]
    fn runs_from_the_input_then_an_abort_puts_the_replica_set_back() {
        let fake = cluster().input("calico-kube-controllers.yaml", DEPLOYMENT);
        let ctx = fake.context(&POLICY_MANIFEST, params()).unwrap();
        let summary = run(&ctx).unwrap();
        assert!(
            summary.contains("Deployment kube-system/calico-kube-controllers created"),
            "{summary}"
        );
        assert_eq!(replicas(&fake), Some(0));
        let checkpoint: Value = serde_json::from_str(&fake.checkpoint().unwrap()).unwrap();
        assert_eq!(checkpoint["step"], "rolled-out");

        // The abort runs on the checkpoint the run left (the fake keeps it; the host keeps a
        // failed run's for its abort), and reads no inputs.
        fake.request(Request::Abort);
        let ctx = fake
            .context(&POLICY_MANIFEST, params())
            .unwrap()
            .with_revision(1, 2);
        let summary = run(&ctx).unwrap();
        assert_eq!(
            summary,
            "Deployment kube-system/calico-kube-controllers deleted; ReplicaSet kube-system/calico-policy-controller scaled back to 1 replica, Ready"
        );
        assert_eq!(replicas(&fake), Some(1));
        assert!(
            fake.object(
                "apps/v1",
                "Deployment",
                Some("kube-system"),
                "calico-kube-controllers"
            )
            .is_none()
        );
    }

    #[test]
    fn a_resumed_run_that_had_not_started_says_to_run_again() {
        let fake = cluster();
        fake.request(Request::Resume);
        let ctx = fake
            .context(&POLICY_MANIFEST, params())
            .unwrap()
            .with_revision(1, 2);
        let e = run(&ctx).unwrap_err();
        assert!(e.is_invalid());
        assert!(
            e.to_string()
                .starts_with("a resumed run gets no inputs, and this one had not started"),
            "{e}"
        );
        assert!(fake.call_lines().is_empty(), "{:?}", fake.call_lines());
    }

    #[test]
    fn a_rolling_update_is_refused_before_any_call() {
        let fake = cluster().input(
            "d.yaml",
            DEPLOYMENT.replace(
                "strategy: {type: Recreate}",
                "strategy: {type: RollingUpdate}",
            ),
        );
        let ctx = fake.context(&POLICY_MANIFEST, params()).unwrap();
        let e = run(&ctx).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Deployment calico-kube-controllers has strategy RollingUpdate, which runs old and new pods together: set spec.strategy.type: Recreate: at most one calico-kube-controllers may run"
        );
        assert!(fake.call_lines().is_empty());
        assert_eq!(replicas(&fake), Some(1));
    }

    #[test]
    fn the_manifest_takes_inputs_and_undoes_its_own_runs() {
        assert!(POLICY_MANIFEST.inputs_description().is_some());
        assert!(POLICY_MANIFEST.rolls_back_by_policy());
        assert!(!POLICY_MANIFEST.rolls_back_on_failure());
        assert!(
            POLICY_MANIFEST
                .capabilities()
                .iter()
                .all(|c| c.ends_with("@{namespace}")),
            "every call stays in the run's namespace"
        );
    }
}
