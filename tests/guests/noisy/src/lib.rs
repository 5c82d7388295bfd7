//! Test guest `noisy`: attacks the operator's terminal with escapes, forged host lines and floods through every text channel.
//!
//! `mode` picks the channel:
//! - `escapes`: log lines at every level, progress messages, stdout, stderr and the summary,
//!   each carrying every sequence of [`ESCAPES`] and the forged line [`FORGERY`];
//! - `error`: the same text as the policy's error reason; `panic`: as its panic message;
//! - `long-line`: one log line of 10 MiB; `many-lines`: 20,000 log lines of 100 bytes;
//! - `long-summary`: a summary of 1 MiB;
//! - `stdout-flood`: 5,000 short lines to stdout with `println!`, then 4 MiB, then returns.

use cutover_guest_sdk::{Context, Error, Level, export_policy};
use serde::Deserialize;

/// Control, C1, bidi and format characters a terminal would act on, by name.
const ESCAPES: &[(&str, &str)] = &[
    ("clear-screen", "\x1b[2J"),
    ("cursor-up", "\x1b[1A"),
    ("osc-title", "\x1b]0;owned\x07"),
    ("carriage-return", "\r"),
    ("newline", "\n"),
    ("nul", "\0"),
    ("bell", "\x07"),
    ("del", "\x7f"),
    ("c1-csi", "\u{9b}31m"),
    ("bidi-override", "\u{202e}"),
    ("bidi-isolate", "\u{2066}"),
    ("zero-width-space", "\u{200b}"),
    ("byte-order-mark", "\u{feff}"),
];

/// A line that would read as the host's own verdict if a guest could start a line with it.
const FORGERY: &str = "\nSucceeded in 1s: all good";

#[derive(Deserialize)]
struct Params {
    mode: String,
}

/// Every escape in one string, each tagged with its name.
fn all_escapes() -> String {
    ESCAPES
        .iter()
        .map(|(name, seq)| format!("<{name}:{seq}>"))
        .collect()
}

fn noisy(ctx: &Context) -> Result<String, Error> {
    let p: Params = ctx.params()?;
    let escapes = all_escapes();
    match p.mode.as_str() {
        "escapes" => {
            for (name, seq) in ESCAPES {
                ctx.info(&format!("noisy {name} [{seq}]"));
            }
            for level in [Level::Info, Level::Warn, Level::Error] {
                ctx.log(level, &format!("noisy all [{escapes}]"));
            }
            ctx.info(FORGERY);
            ctx.info(&format!("\r{}", FORGERY.trim_start()));
            ctx.progress(1, 3, &format!("noisy progress [{escapes}]"));
            ctx.progress(2, 3, FORGERY);
            println!("noisy stdout [{escapes}]{FORGERY}");
            eprintln!("noisy stderr [{escapes}]{FORGERY}");
            Ok(format!("noisy summary [{escapes}]{FORGERY}"))
        }
        "error" => Err(Error::other(format!("noisy error [{escapes}]{FORGERY}"))),
        "panic" => panic!("noisy panic [{escapes}]{FORGERY}"),
        "long-line" => {
            ctx.info(&"a".repeat(10 << 20));
            Ok("logged one line of 10 MiB".into())
        }
        "many-lines" => {
            for i in 0..20_000 {
                // 100 bytes: "line 00042 " and 89 x.
                ctx.info(&format!("line {i:05} {}", "x".repeat(89)));
            }
            Ok("logged 20000 lines of 100 bytes".into())
        }
        "long-summary" => Ok(format!("summary {}", "s".repeat(1 << 20))),
        "stdout-flood" => {
            // As a policy would print: `println!` panics if the host ever refuses a write.
            for i in 0..5000 {
                println!("line {i}");
            }
            let chunk = "o".repeat(64 << 10);
            for _ in 0..64 {
                println!("{chunk}");
            }
            Ok("wrote 4 MiB to stdout".into())
        }
        other => Err(Error::invalid(format!("unknown mode {other}"))),
    }
}

export_policy! {
    name: "noisy",
    version: env!("CARGO_PKG_VERSION"),
    description: "Writes terminal escapes and forged lines through every text channel (test guest).",
    params: [
        { name: "mode", type: "string", default: "escapes", description: "escapes, error, panic, long-line, many-lines, long-summary or stdout-flood." },
    ],
    capabilities: [],
    run: noisy,
}
