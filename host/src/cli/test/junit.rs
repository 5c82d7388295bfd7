//! `cutover test --junit FILE`: the results as JUnit XML, one `<testsuite>` per policy and one
//! `<testcase>` per scenario, as CI systems (GitLab, Jenkins, GitHub's test reporters) read it.
//! Text is escaped by quick-xml; quick-junit would also do, but its chrono/uuid/indexmap
//! features would rebuild wasmtime's dependency tree for 40 lines of markup.

use std::fmt::Write as _;
use std::path::Path;

use super::{CaseOutcome, CaseResult};
use crate::text;

/// Text made safe for XML 1.0: control and format characters shown escaped as on a terminal
/// (XML cannot carry most of them at all), then markup escaped. Lines are kept.
fn escape(s: &str) -> String {
    // U+FFFE and U+FFFF are not characters XML 1.0 may carry either.
    let lines: Vec<String> = s
        .lines()
        .map(|l| {
            text::escape(l, 64 << 10)
                .replace('\u{fffe}', "\\u{fffe}")
                .replace('\u{ffff}', "\\u{ffff}")
        })
        .collect();
    quick_xml::escape::escape(lines.join("\n").as_str()).into_owned()
}

/// The report for `results` of `policy`.
pub(super) fn report(policy: &str, results: &[CaseResult]) -> String {
    let failures = results
        .iter()
        .filter(|r| matches!(r.outcome, CaseOutcome::Failed(_)))
        .count();
    let errors = results
        .iter()
        .filter(|r| matches!(r.outcome, CaseOutcome::Error(_)))
        .count();
    let seconds = |d: std::time::Duration| format!("{:.3}", d.as_secs_f64());
    let total: std::time::Duration = results.iter().map(|r| r.wall).sum();
    let policy = escape(policy);
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"cutover test\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{}\">",
        results.len(),
        seconds(total)
    );
    let _ = writeln!(
        xml,
        "    <testsuite name=\"{policy}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{}\">",
        results.len(),
        seconds(total)
    );
    for result in results {
        let _ = write!(
            xml,
            "        <testcase name=\"{}\" classname=\"{policy}\" time=\"{}\"",
            escape(&result.file),
            seconds(result.wall)
        );
        match &result.outcome {
            CaseOutcome::Passed => xml.push_str("/>\n"),
            CaseOutcome::Failed(failures) => {
                let first = failures.first().map_or("", |f| f.expectation.as_str());
                let message = format!(
                    "{} expectation{} failed: {first}{}",
                    failures.len(),
                    if failures.len() == 1 { "" } else { "s" },
                    if failures.len() > 1 { ", ..." } else { "" }
                );
                let detail: Vec<String> = failures
                    .iter()
                    .map(|f| format!("{}: {}", f.expectation, f.detail))
                    .collect();
                let _ = writeln!(
                    xml,
                    ">\n            <failure message=\"{}\" type=\"expectation\">{}</failure>\n        </testcase>",
                    escape(&message),
                    escape(&detail.join("\n"))
                );
            }
            CaseOutcome::Error(why) => {
                let _ = writeln!(
                    xml,
                    ">\n            <error message=\"{}\" type=\"scenario\"/>\n        </testcase>",
                    escape(why)
                );
            }
        }
    }
    xml.push_str("    </testsuite>\n</testsuites>\n");
    xml
}

/// Writes the report to `path` (replacing it), or says why not.
pub(super) fn write(xml: &str, path: &Path) -> Result<(), String> {
    std::fs::write(path, xml).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::test::check::Failure;
    use std::time::Duration;

    #[test]
    fn failures_and_errors_become_junit_elements() {
        let results = vec![
            CaseResult {
                file: "ok.yaml".into(),
                outcome: CaseOutcome::Passed,
                wall: Duration::from_millis(5),
                simulated: None,
            },
            CaseResult {
                file: "bad <1>.yaml".into(),
                outcome: CaseOutcome::Failed(vec![Failure {
                    expectation: "exitCode".into(),
                    detail: "expected 1; the run ended with exit code 0 (succeeded)".into(),
                }]),
                wall: Duration::from_millis(7),
                simulated: None,
            },
            CaseResult {
                file: "broken.yaml".into(),
                outcome: CaseOutcome::Error(
                    "scenario broken.yaml: run.grant: bad \u{1b}[2J \u{ffff}".into(),
                ),
                wall: Duration::ZERO,
                simulated: None,
            },
        ];
        let xml = report("drain", &results);
        assert!(xml.contains(r#"tests="3""#), "{xml}");
        assert!(xml.contains(r#"failures="1""#), "{xml}");
        assert!(xml.contains(r#"errors="1""#), "{xml}");
        assert!(xml.contains("bad &lt;1&gt;.yaml"), "{xml}");
        assert!(xml.contains("1 expectation failed: exitCode"), "{xml}");
        assert!(xml.contains("run.grant: bad"), "{xml}");
        assert!(
            !xml.contains('\u{1b}') && !xml.contains('\u{ffff}'),
            "{xml}"
        );
    }
}
