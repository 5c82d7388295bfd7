//! Test guest `visit-nodes`: lists every Node, then cordons and uncordons each in turn, reporting
//! progress every 100 nodes. The work of a node-by-node maintenance policy without the waiting:
//! the simulator benchmark (tests/benches/sim_nodes.rs) runs it over 1,000 nodes.

use cutover_guest_sdk::k8s_openapi::api::core::v1::Node;
use cutover_guest_sdk::{Context, Error, ListParams, export_policy};

fn visit_nodes(ctx: &Context) -> Result<String, Error> {
    let nodes: Vec<Node> = ctx.list(&ListParams::default())?;
    let names: Vec<String> = nodes.into_iter().filter_map(|n| n.metadata.name).collect();
    let total = u32::try_from(names.len()).unwrap_or(u32::MAX);
    for (i, name) in names.iter().enumerate() {
        ctx.cordon(name)?;
        ctx.uncordon(name)?;
        let done = i + 1;
        if done % 100 == 0 || done == names.len() {
            ctx.progress(
                u32::try_from(done).unwrap_or(u32::MAX),
                total,
                &format!("visited {done} of {total} nodes"),
            );
        }
    }
    Ok(format!("cordoned and uncordoned {} nodes", names.len()))
}

export_policy! {
    name: "visit-nodes",
    version: env!("CARGO_PKG_VERSION"),
    description: "Cordons then uncordons every node (test guest for the simulator benchmark).",
    params: [],
    capabilities: [
        "cluster/list:v1/Node",
        "cluster/cordon",
        "cluster/uncordon",
    ],
    run: visit_nodes,
}
