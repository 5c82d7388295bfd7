//! Test guest `wasi-probe`: attacks the sandbox through WASI instead of the cutover interfaces, and reports what each surface gave it.
//!
//! `mode`:
//! - `probe`: files, environment, arguments, sockets (a TCP connect to 127.0.0.1:`port`, a UDP
//!   bind, a TCP listen, a DNS lookup), returned as a JSON summary (`"denied"` or what leaked);
//! - `clock`: `SystemTime`, `Instant` and the host's `now` before and after a host sleep of
//!   one hour, and around a one-second `std::thread::sleep`, as JSON (milliseconds);
//! - `random`: 16 bytes from `getrandom` and a `RandomState` hash, as JSON hex;
//! - `exit`: `std::process::exit(3)`;
//! - `wasi-sleep`: `std::thread::sleep` for ten minutes.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::{TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cutover_guest_sdk::{Context, Error, export_policy};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Params {
    mode: String,
    port: u16,
}

/// `"denied"` for an error, else what the guest got (which the sandbox should never give).
fn outcome<T>(result: std::io::Result<T>, leaked: impl FnOnce(T) -> Value) -> Value {
    match result {
        Ok(value) => json!({"leaked": leaked(value)}),
        Err(_) => json!("denied"),
    }
}

fn probe(port: u16) -> Value {
    json!({
        "readPasswd": outcome(std::fs::read("/etc/passwd"), |b| json!(b.len())),
        "writeTmp": outcome(std::fs::write("/tmp/x", b"x"), |()| json!("written")),
        "readDirRoot": outcome(std::fs::read_dir("/"), |d| json!(d.count())),
        "envVars": std::env::vars_os().count(),
        "args": std::env::args_os().count(),
        "tcpConnect": outcome(
            TcpStream::connect(("127.0.0.1", port)),
            |s| json!(s.peer_addr().map(|a| a.to_string()).unwrap_or_default()),
        ),
        "tcpListen": outcome(
            TcpListener::bind("127.0.0.1:0"),
            |l| json!(l.local_addr().map(|a| a.to_string()).unwrap_or_default()),
        ),
        "udpBind": outcome(
            UdpSocket::bind("0.0.0.0:0"),
            |s| json!(s.local_addr().map(|a| a.to_string()).unwrap_or_default()),
        ),
        "dnsLookup": outcome(
            "localhost:80".to_socket_addrs(),
            |addrs| json!(addrs.map(|a| a.to_string()).collect::<Vec<_>>()),
        ),
    })
}

fn system_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn clock(ctx: &Context) -> Value {
    let (system0, host0, instant0) = (system_ms(), ctx.now().unix_millis(), Instant::now());
    let slept = ctx.sleep(Duration::from_secs(3600));
    let (system1, host1) = (system_ms(), ctx.now().unix_millis());
    let instant1 = instant0.elapsed().as_millis() as u64;
    std::thread::sleep(Duration::from_secs(1));
    let (system2, host2) = (system_ms(), ctx.now().unix_millis());
    let instant2 = instant0.elapsed().as_millis() as u64;
    json!({
        "hostSleptFully": slept,
        "before": {"system": system0, "host": host0},
        "afterHostSleep": {"system": system1, "host": host1, "instantElapsed": instant1},
        "afterThreadSleep": {"system": system2, "host": host2, "instantElapsed": instant2},
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random() -> Result<Value, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::other(format!("getrandom: {e}")))?;
    let hash = RandomState::new().hash_one(42u64);
    Ok(json!({"getrandom": hex(&bytes), "randomState": format!("{hash:016x}")}))
}

fn wasi_probe(ctx: &Context) -> Result<String, Error> {
    let p: Params = ctx.params()?;
    let report = match p.mode.as_str() {
        "probe" => probe(p.port),
        "clock" => clock(ctx),
        "random" => random()?,
        // One megabyte in one call: past the sandbox's bound on a single random request.
        "random-huge" => json!(wasip2::random::random::get_random_bytes(1 << 20).len()),
        "exit" => std::process::exit(3),
        "wasi-sleep" => {
            std::thread::sleep(Duration::from_secs(600));
            json!("woke up after ten minutes")
        }
        other => return Err(Error::invalid(format!("unknown mode {other}"))),
    };
    Ok(report.to_string())
}

export_policy! {
    name: "wasi-probe",
    version: env!("CARGO_PKG_VERSION"),
    description: "Tries every WASI surface and reports what it got (test guest).",
    params: [
        { name: "mode", type: "string", default: "probe", description: "probe, clock, random, random-huge, exit or wasi-sleep." },
        { name: "port", type: "integer", default: 9, description: "The loopback TCP port to try to connect to." },
    ],
    capabilities: [],
    run: wasi_probe,
}
