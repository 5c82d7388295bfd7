//! Test guest `exit-code`: ends the run through `wasi:cli/exit.exit-with-code(3)`, the one WASI 0.2 call that carries an exit code.
//!
//! `std::process::exit(3)` on wasm32-wasip2 (Rust 1.95) reaches the host as `exit(err)`, which
//! carries no code (see wasi-probe's `exit` mode); this guest hands the host the code itself.

use cutover_guest_sdk::{Context, Error, export_policy};

fn exit_code(_ctx: &Context) -> Result<String, Error> {
    wasip2::cli::exit::exit_with_code(3);
    Ok("exit-with-code returned, which it never should".into())
}

export_policy! {
    name: "exit-code",
    version: env!("CARGO_PKG_VERSION"),
    description: "Calls WASI exit-with-code(3) (test guest).",
    params: [],
    capabilities: [],
    run: exit_code,
}
