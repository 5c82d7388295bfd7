//! Tier 4 on the simulator: guest text (log lines, progress, stdout/stderr, summary, error, panic) reaches the terminal escaped, cut, and never as a forged host line.
//!
//! The guest is `noisy` (tests/guests/noisy): every control, C1, bidi and format character a
//! terminal acts on, and the line `\nSucceeded in 1s: all good`, through every channel; and a
//! raw component whose manifest carries the same in a parameter default, for `cutover inspect`.

use cutover_tests::text::{self, LINE_BOUND};
use cutover_tests::{Cutover, Output, exit, guest, raw};

async fn noisy(mode: &str, extra: &[&str]) -> Output {
    let noisy = guest("noisy");
    let mode = format!("mode={mode}");
    let mut args = vec!["run", noisy.as_str(), "--sim", "--set", mode.as_str()];
    args.extend_from_slice(extra);
    Cutover::sim(&args).await
}

/// No forbidden character in either stream, no line longer than a cut line. Broken by a host
/// that prints any guest string raw, or does not cut it.
#[track_caller]
fn assert_clean(out: &Output) {
    for (name, stream) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let found = text::forbidden(stream);
        assert!(
            found.is_empty(),
            "raw control characters on {name}: {found:?}\n{}",
            out.abridged()
        );
        let longest = text::longest_line(stream);
        assert!(
            longest <= LINE_BOUND,
            "a {longest}-byte line on {name}: guest text is cut at 4 KiB\n{}",
            out.abridged()
        );
    }
}

/// The lines of both streams that start with `Succeeded`: only the host's verdict may.
fn verdicts(out: &Output) -> Vec<&str> {
    out.stdout
        .lines()
        .chain(out.stderr.lines())
        .filter(|l| l.starts_with("Succeeded"))
        .collect()
}

#[tokio::test]
async fn escapes_in_every_channel_are_shown_escaped() {
    let out = noisy("escapes", &[]).await;
    out.expect_code(exit::OK);
    assert_clean(&out);
    // One verdict, the host's; the guest's forgeries (in a log line, a progress message,
    // stdout, stderr, the summary) all start with a prefix or an escape.
    assert_eq!(verdicts(&out).len(), 1, "{out}");
    let all = format!("{}{}", out.stdout, out.stderr);
    // Every channel made it through, so a host that drops guest text does not pass.
    for channel in [
        "noisy clear-screen",
        "noisy all",
        "noisy progress",
        "noisy stdout",
        "noisy stderr",
        "noisy summary",
    ] {
        assert!(all.contains(channel), "{channel:?} is missing\n{out}");
    }
    // Shown, visibly: `escape_debug` style.
    for shown in [r"\u{1b}[2J", r"\u{9b}", r"\u{202e}"] {
        assert!(all.contains(shown), "{shown} is not shown escaped\n{out}");
    }
}

#[tokio::test]
async fn escapes_stay_escaped_in_json_output() {
    let out = noisy("escapes", &["-o", "json"]).await;
    out.expect_code(exit::OK);
    // Raw stdout is checked, not the parsed value: serde_json would write U+009B and U+202E
    // as they are; the contract wants them as `\u009b` and `\u202e` (or escaped before).
    assert_clean(&out);
    assert!(verdicts(&out).is_empty(), "{out}");
    let summary = out.json()["summary"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(summary.contains("noisy summary"), "{out}");
    assert!(
        out.stderr.contains("noisy progress") && out.stderr.contains("noisy stdout"),
        "{out}"
    );
}

#[tokio::test]
async fn an_error_reason_is_escaped() {
    let out = noisy("error", &[]).await;
    out.expect_error(exit::POLICY_FAILED, &["noisy error"]);
    assert_clean(&out);
    assert!(
        verdicts(&out).is_empty(),
        "a failed run forged a verdict\n{out}"
    );
}

#[tokio::test]
async fn a_panic_message_is_escaped() {
    let out = noisy("panic", &[]).await;
    out.expect_error(exit::STOPPED, &["panicked: noisy panic"]);
    assert_clean(&out);
    assert!(verdicts(&out).is_empty(), "{out}");
}

#[tokio::test]
async fn a_ten_mib_log_line_is_cut_at_four_kib() {
    let out = noisy("long-line", &[]).await;
    out.expect_code(exit::OK);
    assert_clean(&out);
    assert!(
        out.stderr.contains("[cut:") || out.stdout.contains("[cut:"),
        "no cut note\n{}",
        out.abridged()
    );
    // Broken by a host that prints the whole line (10 MiB), or many 4 KiB pieces of it.
    let total = out.stdout.len() + out.stderr.len();
    assert!(total < 64 << 10, "{total} bytes of output for one cut line");
}

#[tokio::test]
async fn twenty_thousand_lines_are_cut_at_one_mib() {
    let out = noisy("many-lines", &[]).await;
    out.expect_code(exit::OK);
    assert_clean(&out);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains("log cut"),
        "no note where the log was cut\n{}",
        out.abridged()
    );
    // 2 MB of guest text; 1 MiB of it may be shown, with the host's prefixes on top.
    assert!(
        all.len() < (1 << 20) + (256 << 10),
        "{} bytes of output: the log is cut at 1 MiB",
        all.len()
    );
    assert!(
        !all.contains("line 19999 "),
        "the last line got past the cut"
    );
    assert!(all.contains("line 00000 "), "the first lines must be shown");
}

#[tokio::test]
async fn a_one_mib_summary_is_cut() {
    let out = noisy("long-summary", &[]).await;
    out.expect_code(exit::OK);
    assert_clean(&out);
    assert!(
        out.stdout.contains("[cut:"),
        "no cut note in the summary\n{}",
        out.abridged()
    );

    let out = noisy("long-summary", &["-o", "json"]).await;
    out.expect_code(exit::OK);
    let summary = out.json()["summary"].as_str().unwrap_or_default().len();
    assert!(
        summary <= LINE_BOUND,
        "a {summary}-byte summary in the JSON report"
    );
}

#[tokio::test]
async fn manifest_text_shown_by_inspect_is_escaped() {
    // A valid manifest (no rule limits a default) whose parameter default holds ESC [2J,
    // U+202E and U+009B: a reviewer's `cutover inspect` must not run them.
    let module = raw("manifest-hostile-default");
    let table = Cutover::sim(&["inspect", &module]).await;
    table.expect_code(exit::OK);
    assert_clean(&table);
    assert!(
        // Visibly: as `escape_debug` does, or as the JSON literal of the default.
        table.stdout.contains(r"\u{1b}[2J") || table.stdout.contains(r"\u001b[2J"),
        "the default is not shown escaped\n{}",
        table.abridged()
    );
    let json = Cutover::sim(&["inspect", &module, "-o", "json"]).await;
    json.expect_code(exit::OK);
    assert_clean(&json);
}

/// 5,000 lines and 4 MiB to stdout with `println!`: the host keeps 256 KiB, shows at most 1,000
/// lines of it as guest text cut at 4 KiB a line, and says how much it dropped; the policy goes
/// on and succeeds. Breaks if a write past the bound fails (`println!` then panics the policy),
/// if the output is shown unbounded, or if a cut is silent.
#[tokio::test]
async fn captured_stdout_is_bounded_and_cut_without_failing_the_policy() {
    let out = noisy("stdout-flood", &[]).await;
    out.expect_code(exit::OK);
    assert_clean(&out);
    assert!(
        out.stderr.contains("[cut: ") && out.stderr.contains("bytes past the 256 KiB kept"),
        "no note of what was dropped\n{}",
        out.abridged()
    );
    assert!(
        out.stderr.contains("more lines]"),
        "no note of the lines not shown\n{}",
        out.abridged()
    );
    let total = out.stdout.len() + out.stderr.len();
    assert!(
        total <= 256 << 10,
        "{total} bytes shown of 4 MiB captured output"
    );
}
