//! Test guest `membomb`: allocates and writes memory until an allocation fails, so only the memory limit stops it.

use cutover_guest_sdk::{Context, Error, export_policy};

const CHUNK: usize = 1 << 20;
const PAGE: usize = 4096;

fn membomb(_ctx: &Context) -> Result<String, Error> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; CHUNK];
        // Touch every page: fresh wasm memory is zeroed already, and a host could otherwise
        // get away with reserving without committing.
        for i in (0..CHUNK).step_by(PAGE) {
            chunk[i] = 1;
        }
        hoard.push(std::hint::black_box(chunk));
    }
}

export_policy! {
    name: "membomb",
    version: env!("CARGO_PKG_VERSION"),
    description: "Allocates memory until it dies (test guest for the memory limit).",
    params: [],
    capabilities: [],
    run: membomb,
}
