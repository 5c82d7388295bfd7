//! Test guest `flood`: attacks the host's memory with what it might keep on the guest's behalf (denials, log lines, checkpoints, WASI resources).
//!
//! `mode`:
//! - `denied`: until the host stops it, calls it did not declare with 1 MiB arguments (a 1 MiB
//!   kind, label selector, field selector, manifest, patch body; and a 1 MiB name, which is not
//!   even a name), between bursts of 50 small denied calls;
//! - `log`: logs 64 KiB lines and progress messages without end;
//! - `checkpoint`: checkpoints 2 MiB (expects `invalid`) and exactly 1 MiB, and says what each got;
//! - `resources`: creates 20,000 WASI pollables and never drops them.

use cutover_guest_sdk::bindings::cutover::policy::cluster as wit;
use cutover_guest_sdk::bindings::cutover::policy::types::ObjectRef;
use cutover_guest_sdk::export_policy;
use cutover_guest_sdk::{Context, Error, runtime};
use serde::Deserialize;

const MIB: usize = 1 << 20;

#[derive(Deserialize)]
struct Params {
    mode: String,
}

fn secret(name: &str) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "Secret".into(),
        namespace: None,
        name: name.into(),
    }
}

fn list(label_selector: Option<String>, field_selector: Option<String>) -> wit::ListQuery {
    wit::ListQuery {
        api_version: "v1".into(),
        kind: "Secret".into(),
        namespace: None,
        label_selector,
        field_selector,
    }
}

/// Every call is outside the (empty) declaration; the results are ignored on purpose.
fn denied_forever() -> ! {
    let huge = "a".repeat(MIB);
    let huge_kind = format!("K{}", "k".repeat(MIB));
    let selector = format!("app={}", "v".repeat(MIB));
    let manifest = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "flood"},
        "stringData": {"blob": huge},
    })
    .to_string();
    let body = serde_json::json!({"metadata": {"annotations": {"blob": huge}}}).to_string();
    loop {
        // Small ones too, so that the denials pass the host's record limit (100) at once
        // however slowly it handles the huge ones.
        for _ in 0..50 {
            let _ = wit::get(&secret("flood"));
        }
        let _ = wit::get(&ObjectRef {
            kind: huge_kind.clone(),
            ..secret("flood")
        });
        let _ = wit::get(&secret(&huge));
        let _ = wit::list(&list(Some(selector.clone()), None));
        let _ = wit::list(&list(None, Some(format!("metadata.name={huge}"))));
        let _ = wit::apply(&manifest);
        let _ = wit::patch(&secret("flood"), wit::PatchType::Merge, &body);
    }
}

fn log_forever(ctx: &Context) -> ! {
    let line = "l".repeat(64 << 10);
    let mut n: u32 = 0;
    loop {
        ctx.info(&line);
        ctx.progress(n, u32::MAX, &line);
        n = n.wrapping_add(1);
    }
}

fn checkpoints() -> String {
    [2 * MIB, MIB]
        .iter()
        .map(|&size| {
            let outcome = match runtime::checkpoint_raw(&"c".repeat(size)) {
                Ok(()) => "ok".to_string(),
                Err(e) => e.kind().to_string(),
            };
            format!("checkpoint of {size} bytes: {outcome}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn leak_resources() -> String {
    const COUNT: u32 = 20_000;
    for _ in 0..COUNT {
        std::mem::forget(wasip2::clocks::monotonic_clock::subscribe_duration(
            1_000_000_000,
        ));
    }
    format!("created {COUNT} pollables and dropped none")
}

fn flood(ctx: &Context) -> Result<String, Error> {
    let p: Params = ctx.params()?;
    match p.mode.as_str() {
        "denied" => denied_forever(),
        "log" => log_forever(ctx),
        "checkpoint" => Ok(checkpoints()),
        "resources" => Ok(leak_resources()),
        other => Err(Error::invalid(format!("unknown mode {other}"))),
    }
}

export_policy! {
    name: "flood",
    version: env!("CARGO_PKG_VERSION"),
    description: "Floods the host with denied calls, logs, checkpoints or resources (test guest).",
    params: [
        { name: "mode", type: "string", default: "denied", description: "denied, log, checkpoint or resources." },
    ],
    capabilities: [],
    run: flood,
}
