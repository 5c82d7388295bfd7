//! `networkpolicy-v1-migration`: Calico's "Upgrading to v1 NetworkPolicy semantics" as one reversible release (the procedure is `calico::netpol`).

use calico::netpol;
use cutover_guest_sdk::{Context, Error, export_policy};

fn run(ctx: &Context) -> Result<String, Error> {
    let params: netpol::Params = ctx.params()?;
    calico::drive(
        ctx,
        |ctx, state, save| netpol::forward(ctx, &params, state, save),
        netpol::undo,
    )
}

export_policy! {
    name: "networkpolicy-v1-migration",
    version: env!("CARGO_PKG_VERSION"),
    description: "Calico's move to v1 NetworkPolicy semantics, keeping traffic as it was: delete the policies of namespaces without the DefaultDeny annotation, add a deny-all policy to those with it. Planned before any change; undone by the policy.",
    // `cutover rollback` and `cutover abort` of a failed or interrupted run run `netpol::undo`
    // from the checkpoint, instead of the host's journal.
    rollback_by_policy: true,
    params: [
        { name: "namespaces", type: "string-list", default: [],
          description: "The namespaces to migrate; empty: every namespace." },
        { name: "exclude-namespaces", type: "string-list", default: [],
          description: "Namespaces to leave as they are (their policies then take their v1 meaning)." },
        { name: "deny-policy-name", type: "string", default: "default-deny",
          description: "The name of the deny-all NetworkPolicy created in each DefaultDeny namespace." },
    ],
    capabilities: [
        "cluster/list:v1/Namespace",
        "cluster/list:networking.k8s.io/v1/NetworkPolicy@*",
        "cluster/get:networking.k8s.io/v1/NetworkPolicy@*",
        "cluster/apply:networking.k8s.io/v1/NetworkPolicy@*",
        "cluster/delete:networking.k8s.io/v1/NetworkPolicy@*",
    ],
    run: run,
}

#[cfg(test)]
mod tests {
    use super::*;
    use cutover_guest_sdk::testing::FakeCluster;
    use serde_json::json;

    #[test]
    fn the_manifest_defaults_read_as_the_procedure_params() {
        let fake = FakeCluster::new();
        let ctx = fake.context(&POLICY_MANIFEST, json!({})).unwrap();
        let params: netpol::Params = ctx.params().unwrap();
        assert_eq!(params, netpol::Params::default());
    }

    #[test]
    fn a_run_migrates_through_the_library() {
        let fake = FakeCluster::new()
            .with(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "open"}}))
            .with(json!({"apiVersion": netpol::API_VERSION, "kind": netpol::KIND,
                         "metadata": {"name": "p", "namespace": "open"}, "spec": {"podSelector": {}}}));
        let ctx = fake.context(&POLICY_MANIFEST, json!({})).unwrap();
        let summary = run(&ctx).unwrap();
        assert!(summary.contains("1 NetworkPolicy deleted"), "{summary}");
        assert!(
            fake.object(netpol::API_VERSION, netpol::KIND, Some("open"), "p")
                .is_none()
        );
    }
}
