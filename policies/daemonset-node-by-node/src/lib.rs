//! `daemonset-node-by-node`: Calico's "Upgrading the Calico DaemonSet": the new DaemonSet
//! applied with `OnDelete`, then node by node cordon → delete its pod → wait until the
//! replacement is Ready → uncordon; `cutover abort` (or `rollback` of a failed run) puts the
//! old template back the same way.

use calico::node_by_node::{self, Change, Params};
use cutover_guest_sdk::{Context, Error, export_policy};

fn run(ctx: &Context) -> Result<String, Error> {
    let p: Params = ctx.params()?;
    let manifest = calico::single_input(ctx, "DaemonSet manifest")?;
    let manifest = manifest.as_ref();
    calico::drive(
        ctx,
        |ctx, state, save| node_by_node::forward(ctx, &p, manifest.map(Change::Apply), state, save),
        |ctx, state, save| node_by_node::undo(ctx, &p, state, save),
    )
}

export_policy! {
    name: "daemonset-node-by-node",
    version: env!("CARGO_PKG_VERSION"),
    description: "Upgrade a DaemonSet node by node (Calico's calico-node): OnDelete, then cordon, replace the pod, wait Ready, uncordon.",
    inputs: "the new DaemonSet manifest (a file, or - for standard input)",
    rollback_by_policy: true,
    params: [
        { name: "node-timeout", type: "duration", default: "90s",
          description: "How long a node's new pod may take to be Ready (BIRD's graceful-restart window)." },
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

#[cfg(test)]
mod tests;
