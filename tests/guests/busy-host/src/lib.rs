//! Test guest `busy-host`: attacks the run's deadline from inside host calls, which epoch interruption does not reach.
//!
//! `mode`:
//! - `loop`: calls `now()` and logs at debug level in a tight loop, forever;
//! - `wait`: waits an hour, in one host call, for the Namespace `default` to be named otherwise;
//! - `cluster-loop`: gets the Namespace `default` in a tight loop, forever (on the simulator
//!   each call is answered at once, and the virtual clock does not move);
//! - `list-loop`: lists every Node in a tight loop, forever, through the raw binding (no
//!   parsing): nearly all of its wall time is the host's.

use std::time::Duration;

use cutover_guest_sdk::bindings::cutover::policy::cluster as wit;
use cutover_guest_sdk::k8s_openapi::api::core::v1::Namespace;
use cutover_guest_sdk::{Condition, Context, Error, export_policy};
use serde::Deserialize;

#[derive(Deserialize)]
struct Params {
    mode: String,
}

fn busy_host(ctx: &Context) -> Result<String, Error> {
    let p: Params = ctx.params()?;
    match p.mode.as_str() {
        "loop" => {
            let mut n: u64 = 0;
            loop {
                let now = ctx.now();
                ctx.debug(&format!("call {n} at {}", now.unix_millis()));
                n = n.wrapping_add(1);
            }
        }
        "list-loop" => loop {
            let nodes = wit::ListQuery {
                api_version: "v1".into(),
                kind: "Node".into(),
                namespace: None,
                label_selector: None,
                field_selector: None,
            };
            let _ = wit::list(&nodes);
        },
        "cluster-loop" => loop {
            let _ = ctx.get::<Namespace>("default")?;
        },
        "wait" => {
            let never = Condition::field("/metadata/name", "never-this-name");
            ctx.wait::<Namespace>("default", &never, Duration::from_secs(3600))?;
            Ok("the Namespace default changed its name".into())
        }
        other => Err(Error::invalid(format!("unknown mode {other}"))),
    }
}

export_policy! {
    name: "busy-host",
    version: env!("CARGO_PKG_VERSION"),
    description: "Spends its time in host calls: a tight loop of cheap ones, or one endless wait (test guest).",
    params: [
        { name: "mode", type: "string", default: "loop", description: "loop, cluster-loop, list-loop or wait." },
    ],
    capabilities: [
        "cluster/wait:v1/Namespace",
        "cluster/get:v1/Namespace",
        "cluster/list:v1/Node",
    ],
    run: busy_host,
}
