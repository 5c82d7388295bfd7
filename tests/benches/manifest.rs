//! Reading a policy's manifest and checking parameters against it, at the bounds a manifest may
//! reach (a 64 KiB section, 256 parameters, 256 capabilities): the checks are linear, so even
//! the largest manifest is read in well under a millisecond. Figures: BENCHMARKS.md.
//!
//! ```sh
//! cargo bench -p cutover-tests --bench manifest
//! ```

use std::time::{Duration, Instant};

use cutover::manifest::{MAX_CAPABILITIES, MAX_PARAMS, Manifest, SECTION};
use serde_json::json;

/// A component holding nothing but one `cutover-manifest` custom section with `manifest`.
fn component(manifest: &[u8]) -> Vec<u8> {
    let mut bytes = b"\0asm\x0d\0\x01\0".to_vec();
    let mut body = Vec::new();
    leb128(SECTION.len(), &mut body);
    body.extend_from_slice(SECTION.as_bytes());
    body.extend_from_slice(manifest);
    bytes.push(0);
    leb128(body.len(), &mut bytes);
    bytes.extend(body);
    bytes
}

fn leb128(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// The largest manifest the rules allow, near the 64 KiB section bound.
fn largest() -> Vec<u8> {
    let params: Vec<_> = (0..MAX_PARAMS)
        .map(|i| {
            json!({"name": format!("parameter-{i:03}"), "type": "duration", "default": "5m",
                   "description": format!("Parameter {i}, a duration with a default.")})
        })
        .collect();
    let caps: Vec<_> = (0..MAX_CAPABILITIES)
        .map(|i| format!("cluster/patch:example{i}.com/v1/Widget@{{namespace}}"))
        .collect();
    serde_json::to_vec(&json!({
        "manifestVersion": 1, "name": "largest", "version": "1.2.3-rc.1+build.7",
        "description": "The largest manifest the rules allow.",
        "params": params, "capabilities": caps,
    }))
    .expect("serializes")
}

fn time<T>(rounds: u32, mut f: impl FnMut() -> T) -> Duration {
    let started = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(f());
    }
    started.elapsed() / rounds
}

fn main() {
    let json = largest();
    let bytes = component(&json);
    let manifest = Manifest::read(&bytes).expect("the largest manifest is valid");
    let sets: Vec<String> = manifest
        .params
        .iter()
        .map(|p| format!("{}=90s", p.name))
        .collect();
    let rounds = 200;
    let read = time(rounds, || Manifest::read(&bytes).expect("reads"));
    let params = time(rounds, || {
        cutover::params::resolve(&manifest, &[], &sets).expect("resolves")
    });
    let small = component(br#"{"manifestVersion":1,"name":"small","version":"0.1.0"}"#);
    let read_small = time(rounds, || Manifest::read(&small).expect("reads"));
    println!("| what | size | mean of {rounds} |");
    println!("|---|---:|---:|");
    println!(
        "| `Manifest::read`, the largest manifest ({} params, {} capabilities) | {} bytes | {:.1} µs |",
        MAX_PARAMS,
        MAX_CAPABILITIES,
        json.len(),
        read.as_secs_f64() * 1e6
    );
    println!(
        "| `params::resolve`, a `--set` for each of the {} parameters | {} values | {:.1} µs |",
        MAX_PARAMS,
        sets.len(),
        params.as_secs_f64() * 1e6
    );
    println!(
        "| `Manifest::read`, a minimal manifest | {} bytes | {:.1} µs |",
        small.len(),
        read_small.as_secs_f64() * 1e6
    );
}
