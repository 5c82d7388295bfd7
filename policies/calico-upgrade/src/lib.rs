//! `calico-upgrade`: Calico's upgrade guide in one command and one release: the NetworkPolicy
//! migration (when crossing Calico 2.0), calico-config, the policy controller, then calico-node
//! node by node; `cutover abort` (or `rollback` of a failed run) undoes it all, newest first.

use calico::upgrade::{self, Params};
use cutover_guest_sdk::objects::objects_of;
use cutover_guest_sdk::{Context, Error, export_policy};

fn run(ctx: &Context) -> Result<String, Error> {
    let p: Params = ctx.params()?;
    let objects = objects_of(&ctx.inputs()?)?;
    calico::drive(
        ctx,
        |ctx, state, save| upgrade::forward(ctx, &p, &objects, state, save),
        |ctx, state, save| upgrade::undo(ctx, &p, state, save),
    )
}

export_policy! {
    name: "calico-upgrade",
    version: env!("CARGO_PKG_VERSION"),
    description: "Calico's upgrade guide in one release: NetworkPolicy migration, calico-config, the policy controller, then calico-node node by node.",
    inputs: "the new manifests: calico-node's DaemonSet, the policy controller's Deployment, calico-config (files or a folder)",
    rollback_by_policy: true,
    params: [
        { name: "networkpolicy-migration", type: "string", default: "auto", enum: ["auto", "always", "never"],
          description: "Migrate NetworkPolicies to v1 semantics first: auto does when the upgrade crosses Calico 2.0." },
        { name: "from-version", type: "string",
          description: "The Calico version installed (by default read from calico-node's image tag)." },
        { name: "replica-set", type: "string", default: "calico-policy-controller",
          description: "The pre-2.0 policy controller's ReplicaSet; when absent, the Deployment is updated instead." },
        { name: "timeout", type: "duration", default: "5m",
          description: "How long each of the policy controller's waits may take." },
        { name: "namespaces", type: "string-list", default: [],
          description: "The migration's namespaces (all by default)." },
        { name: "exclude-namespaces", type: "string-list", default: [],
          description: "Namespaces the migration leaves alone." },
        { name: "deny-policy-name", type: "string", default: "default-deny",
          description: "The deny-all policy the migration creates in DefaultDeny namespaces." },
        { name: "node-timeout", type: "duration", default: "90s",
          description: "How long a node's new calico-node pod may take to be Ready (BIRD's graceful-restart window)." },
        { name: "max-parallel", type: "integer", default: 1, minimum: 1, maximum: 100,
          description: "How many nodes are upgraded at a time." },
        { name: "node-selector", type: "string",
          description: "Only the nodes this label selector matches (all by default)." },
        { name: "pre-pull", type: "boolean", default: false,
          description: "Pull the new images on every node first, with a short-lived DaemonSet." },
        { name: "pre-pull-timeout", type: "duration", default: "10m",
          description: "How long the pre-pull may take." },
        { name: "grace-period", type: "integer", minimum: 0, maximum: 86400,
          description: "Seconds a replaced pod gets to stop (its own terminationGracePeriodSeconds by default)." },
    ],
    capabilities: [
        "cluster/list:v1/Namespace",
        "cluster/list:networking.k8s.io/v1/NetworkPolicy@*",
        "cluster/get:networking.k8s.io/v1/NetworkPolicy@*",
        "cluster/apply:networking.k8s.io/v1/NetworkPolicy@*",
        "cluster/delete:networking.k8s.io/v1/NetworkPolicy@*",
        "cluster/get:v1/ConfigMap@{namespace}",
        "cluster/apply:v1/ConfigMap@{namespace}",
        "cluster/patch:v1/ConfigMap@{namespace}",
        "cluster/delete:v1/ConfigMap@{namespace}",
        "cluster/get:apps/v1/ReplicaSet@{namespace}",
        "cluster/scale:apps/v1/ReplicaSet@{namespace}",
        "cluster/wait:apps/v1/ReplicaSet@{namespace}",
        "cluster/apply:apps/v1/ReplicaSet@{namespace}",
        "cluster/get:apps/v1/Deployment@{namespace}",
        "cluster/apply:apps/v1/Deployment@{namespace}",
        "cluster/patch:apps/v1/Deployment@{namespace}",
        "cluster/wait:apps/v1/Deployment@{namespace}",
        "cluster/delete:apps/v1/Deployment@{namespace}",
        "cluster/get:apps/v1/DaemonSet@{namespace}",
        "cluster/apply:apps/v1/DaemonSet@{namespace}",
        "cluster/patch:apps/v1/DaemonSet@{namespace}",
        "cluster/delete:apps/v1/DaemonSet@{namespace}",
        "cluster/wait:apps/v1/DaemonSet@{namespace}",
        "cluster/list:v1/Pod@{namespace}",
        "cluster/delete:v1/Pod@{namespace}",
        "cluster/wait:v1/Pod@{namespace}",
        "cluster/get:v1/Node",
        "cluster/list:v1/Node",
        "cluster/cordon",
        "cluster/uncordon",
    ],
    run: run,
}
