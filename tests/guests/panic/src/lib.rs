//! Test guest `panic`: panics with "boom: deliberate panic"; the host must log it and report a trap.

use cutover_guest_sdk::{Context, Error, export_policy};

fn boom(_ctx: &Context) -> Result<String, Error> {
    panic!("boom: deliberate panic")
}

export_policy! {
    name: "panic",
    version: env!("CARGO_PKG_VERSION"),
    description: "Panics (test guest for traps and the panic message).",
    params: [],
    capabilities: [],
    run: boom,
}
