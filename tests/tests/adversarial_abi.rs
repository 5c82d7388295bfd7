//! Tier 4 on the simulator: raw components (tests/raw-components) that break the canonical ABI, a host limit, or the manifest's rules.
//!
//! An ABI fault is the policy's failure, never the host's: exit 5 with one short `error:` line
//! that says `broke the component ABI`, without a wasm backtrace and without blaming cutover.
//! A manifest that breaks its rules is refused when the module is loaded, by `inspect` and `run`.

use cutover_tests::text::{self, without_digit_separators};
use cutover_tests::{Cutover, Output, exit, raw};

/// The longest error line the contract allows for a stop.
const ERROR_LINE_BOUND: usize = 2000;

async fn run(name: &str, extra: &[&str]) -> Output {
    let module = raw(name);
    let mut args = vec!["run", module.as_str(), "--sim", "--allow-declared"];
    args.extend_from_slice(extra);
    Cutover::sim(&args).await
}

/// Exit 5, one error line saying `needle`, short, with no backtrace and no "cutover could not
/// run the policy" (the host's own failure). Broken by a host that reports a lifting error as
/// its own (exit 1) or prints wasmtime's error chain.
#[track_caller]
fn assert_stopped(out: &Output, needles: &[&str]) -> String {
    out.expect_code(exit::STOPPED);
    let line = out.error_line().to_string();
    let lower = line.to_lowercase();
    assert!(
        needles.iter().any(|n| lower.contains(&n.to_lowercase())),
        "the error line says none of {needles:?}\n{out}"
    );
    assert!(
        !lower.contains("wasm backtrace"),
        "a backtrace in the error line\n{out}"
    );
    assert!(
        !lower.contains("cutover could not run the policy"),
        "the host blames itself for the policy's fault\n{out}"
    );
    assert!(
        line.len() <= ERROR_LINE_BOUND,
        "a {}-byte error line\n{out}",
        line.len()
    );
    assert!(
        text::forbidden(&out.stderr).is_empty(),
        "{}",
        out.abridged()
    );
    line
}

#[tokio::test]
async fn the_raw_control_component_runs() {
    // The raw pipeline itself works: without this, every refusal below could be a broken build.
    let out = run("raw-ok", &["-o", "json"]).await;
    out.expect_code(exit::OK);
    assert_eq!(out.json()["summary"], "raw ok", "{out}");
}

macro_rules! abi_violation {
    ($($test:ident: $case:literal, $what:literal;)*) => {$(
        #[tokio::test]
        #[doc = $what]
        async fn $test() {
            let out = run($case, &[]).await;
            assert_stopped(&out, &["broke the component ABI"]);
        }
    )*};
}

abi_violation! {
    a_summary_pointer_out_of_bounds_breaks_the_abi: "abi-oob-pointer",
        "`run` returns a summary pointer past the end of memory.";
    a_summary_that_is_not_utf8_breaks_the_abi: "abi-bad-utf8",
        "`run` returns a summary of bytes 0xff 0xfe 0xfd.";
    a_bad_result_discriminant_breaks_the_abi: "abi-bad-discriminant",
        "`run` returns a result with discriminant 7.";
    a_misaligned_return_pointer_breaks_the_abi: "abi-misaligned-return",
        "`run` returns its return area at address 1.";
    a_realloc_pointer_out_of_bounds_breaks_the_abi: "abi-realloc-oob",
        "`cabi_realloc` hands out pointers past the end of memory.";
    a_log_call_with_a_pointer_out_of_bounds_breaks_the_abi: "abi-log-oob",
        "`runtime.log` is called with a string past the end of memory.";
}

#[tokio::test]
async fn a_realloc_that_traps_stops_the_run() {
    // The trap happens inside the ABI's lowering of the invocation: either reading of the
    // contract (an ABI violation, or a trap) is a stop by the sandbox, never the host's fault.
    let out = run("abi-realloc-traps", &[]).await;
    assert_stopped(&out, &["broke the component ABI", "the policy trapped: "]);
}

#[tokio::test]
async fn a_table_past_the_limit_stops_the_run_naming_the_limit() {
    // The module's table minimum is 100,001 elements; the host allows 100,000.
    let out = run("table-huge", &[]).await;
    let line = assert_stopped(&out, &["table"]);
    assert!(
        without_digit_separators(&line).contains("100000"),
        "the error line does not name the table limit of 100,000\n{out}"
    );
}

#[tokio::test]
async fn a_memory_minimum_past_the_cap_stops_the_run() {
    // 1,100 pages (68.75 MiB) against the default 64 MiB cap, and against --memory-limit 16Mi.
    let out = run("memory-huge", &[]).await;
    assert_stopped(&out, &["past the cap of 67108864 bytes"]);
    let out = run("memory-huge", &["--memory-limit", "16Mi"]).await;
    assert_stopped(&out, &["past the cap of 16777216 bytes"]);
}

/// `inspect` and `run` both refuse `case` with exit 2 and `not a cutover policy`, and print
/// nothing raw of the manifest. Broken by a host that checks the rule in one command only,
/// or not at all.
async fn assert_refused(case: &str) {
    let module = raw(case);
    let inspect = Cutover::sim(&["inspect", &module]).await;
    inspect.expect_error(exit::BAD_INPUT, &["not a cutover policy"]);
    assert!(
        text::forbidden(&inspect.stdout).is_empty() && text::forbidden(&inspect.stderr).is_empty(),
        "{}",
        inspect.abridged()
    );
    let json = Cutover::sim(&["inspect", &module, "-o", "json"]).await;
    json.expect_error(exit::BAD_INPUT, &["not a cutover policy"]);
    let run = run(case, &[]).await;
    run.expect_error(exit::BAD_INPUT, &["not a cutover policy"]);
    assert!(
        text::forbidden(&run.stderr).is_empty(),
        "{}",
        run.abridged()
    );
}

macro_rules! manifest_refused {
    ($($test:ident: $case:literal, $what:literal;)*) => {$(
        #[tokio::test]
        #[doc = $what]
        async fn $test() {
            assert_refused($case).await;
        }
    )*};
}

manifest_refused! {
    two_manifest_sections_are_refused: "two-manifests",
        "Two `cutover-manifest` sections, the second declaring `cluster/delete:v1/Namespace`.";
    an_escape_in_the_description_is_refused: "manifest-escape",
        "The description holds `ESC [2K`.";
    a_bidi_override_in_the_description_is_refused: "manifest-bidi",
        "The description holds U+202E.";
    a_two_line_description_is_refused: "manifest-multiline",
        "The description is two lines.";
    a_description_over_256_characters_is_refused: "manifest-long-description",
        "The description is 257 characters.";
    an_uppercase_name_is_refused: "manifest-uppercase-name",
        "The name is `Raw-Upper`.";
    a_name_over_63_characters_is_refused: "manifest-long-name",
        "The name is 64 characters.";
    a_version_that_is_not_semver_is_refused: "manifest-bad-version",
        "The version is `1.0`.";
    a_bad_parameter_name_is_refused: "manifest-bad-param-name",
        "A parameter is named `bad.name`.";
    a_parameter_name_over_63_characters_is_refused: "manifest-long-param-name",
        "A parameter's name is 64 characters.";
    an_escape_in_a_parameter_description_is_refused: "manifest-param-escape",
        "A parameter's description holds `ESC [2K`.";
    a_manifest_section_over_64_kib_is_refused: "manifest-oversized",
        "A manifest section of 70 KiB (valid JSON, padded).";
}
