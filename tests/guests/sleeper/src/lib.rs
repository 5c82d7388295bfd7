//! Test guest `sleeper`: sleeps `ms` milliseconds of the run's clock through the host, then returns.

use std::time::Duration;

use cutover_guest_sdk::{Context, Error, export_policy};
use serde::Deserialize;

#[derive(Deserialize)]
struct Params {
    ms: u64,
}

fn sleeper(ctx: &Context) -> Result<String, Error> {
    let p: Params = ctx.params()?;
    Ok(if ctx.sleep(Duration::from_millis(p.ms)) {
        format!("slept {} ms", p.ms)
    } else {
        format!("sleep of {} ms cut short by the run's deadline", p.ms)
    })
}

export_policy! {
    name: "sleeper",
    version: env!("CARGO_PKG_VERSION"),
    description: "Sleeps on the run's clock (test guest for time and deadlines).",
    params: [
        { name: "ms", type: "integer", default: 1000, minimum: 0, maximum: 86400000, description: "How long to sleep, in milliseconds." },
    ],
    capabilities: [],
    run: sleeper,
}
