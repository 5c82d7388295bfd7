//! `config-rollout`: Calico's "Updating the Calico ConfigMap": the changed ConfigMap applied,
//! then the policy controller restarted (a `Recreate` Deployment) and calico-node restarted
//! node by node; `cutover abort` (or `rollback` of a failed run) puts the old data back and
//! restarts them again.

use calico::config::{self, Params};
use cutover_guest_sdk::{Context, Error, export_policy};

fn run(ctx: &Context) -> Result<String, Error> {
    let p: Params = ctx.params()?;
    let manifest = calico::single_input(ctx, "ConfigMap manifest")?;
    let manifest = manifest.as_ref();
    calico::drive(
        ctx,
        |ctx, state, save| config::forward(ctx, &p, manifest, state, save),
        |ctx, state, save| config::undo(ctx, &p, state, save),
    )
}

export_policy! {
    name: "config-rollout",
    version: env!("CARGO_PKG_VERSION"),
    description: "Apply a changed ConfigMap (Calico's calico-config), then restart the policy controller and calico-node node by node.",
    inputs: "the changed ConfigMap manifest (a file, or - for standard input)",
    rollback_by_policy: true,
    params: [
        { name: "daemon-set", type: "string", default: "calico-node",
          description: "The DaemonSet restarted node by node; empty: none." },
        { name: "deployment", type: "string", default: "calico-kube-controllers",
          description: "The Deployment restarted (its strategy must be Recreate); empty: none." },
        { name: "timeout", type: "duration", default: "5m",
          description: "How long the Deployment may take to roll out." },
        { name: "node-timeout", type: "duration", default: "90s",
          description: "How long a node's new pod may take to be Ready (BIRD's graceful-restart window)." },
        { name: "max-parallel", type: "integer", default: 1, minimum: 1, maximum: 100,
          description: "How many nodes are restarted at a time." },
        { name: "node-selector", type: "string",
          description: "Only the nodes this label selector matches (all by default)." },
        { name: "pre-pull", type: "boolean", default: false,
          description: "Pull the images on every node first (a restart needs no new image: off)." },
        { name: "pre-pull-timeout", type: "duration", default: "10m",
          description: "How long the pre-pull may take." },
        { name: "grace-period", type: "integer", minimum: 0, maximum: 86400,
          description: "Seconds a replaced pod gets to stop (its own terminationGracePeriodSeconds by default)." },
    ],
    capabilities: [
        "cluster/get:v1/ConfigMap@{namespace}",
        "cluster/apply:v1/ConfigMap@{namespace}",
        "cluster/patch:v1/ConfigMap@{namespace}",
        "cluster/delete:v1/ConfigMap@{namespace}",
        "cluster/get:apps/v1/Deployment@{namespace}",
        "cluster/patch:apps/v1/Deployment@{namespace}",
        "cluster/wait:apps/v1/Deployment@{namespace}",
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
