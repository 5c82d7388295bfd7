//! Test guest `spin`: loops forever without calling the host, so only an epoch deadline stops it.

use cutover_guest_sdk::{Context, Error, export_policy};

fn spin(_ctx: &Context) -> Result<String, Error> {
    let mut n: u64 = 0;
    loop {
        // black_box keeps the optimizer from proving the loop pointless.
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

export_policy! {
    name: "spin",
    version: env!("CARGO_PKG_VERSION"),
    description: "Loops forever (test guest for the CPU deadline).",
    params: [],
    capabilities: [],
    run: spin,
}
