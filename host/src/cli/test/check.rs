//! Checks a run against its scenario's expectations: each one that does not hold becomes a
//! failure saying what was expected and what happened.

use serde::Serialize;
use serde_json::Value;

use super::calls;
use super::case::Observed;
use super::path;
use super::spec::Expect;
use crate::text;

/// One expectation that did not hold.
#[derive(Debug, Serialize)]
pub(super) struct Failure {
    /// Which expectation: `exitCode`, `objects[0] apps/v1/Deployment web`, `calls`, ...
    pub(super) expectation: String,
    /// What was expected and what happened, possibly over several lines.
    pub(super) detail: String,
}

fn fail(expectation: impl Into<String>, detail: impl Into<String>) -> Failure {
    Failure {
        expectation: expectation.into(),
        detail: detail.into(),
    }
}

/// A value as one short line of JSON.
fn shown(value: Option<&Value>) -> String {
    match value {
        None => "(absent)".into(),
        Some(v) => text::escape(&v.to_string(), 512),
    }
}

/// Every failed expectation, in the order the format lists them.
pub(super) fn check(expect: &Expect, seen: &Observed) -> Vec<Failure> {
    let mut failures = Vec::new();
    let error_line = seen.error.as_deref().unwrap_or("");
    let outcome = format!(
        "the run ended with exit code {} ({}){}",
        seen.exit_code,
        seen.status,
        match &seen.error {
            Some(e) => format!(": {}", text::line(e)),
            None => String::new(),
        }
    );
    if !expect.names_the_outcome() && seen.exit_code != 0 {
        failures.push(fail(
            "exitCode",
            format!("expected 0 (no expectation names another); {outcome}"),
        ));
    }
    if let Some(code) = expect.exit_code
        && code != seen.exit_code
    {
        failures.push(fail("exitCode", format!("expected {code}; {outcome}")));
    }
    if let Some(status) = &expect.status
        && *status != seen.status
    {
        failures.push(fail("status", format!("expected {status}; {outcome}")));
    }
    if let Some(wanted) = &expect.error {
        for part in wanted.all() {
            if seen.error.is_none() || !error_line.contains(part) {
                failures.push(fail(
                    "error",
                    format!("expected the error to contain {part:?}; {outcome}"),
                ));
            }
        }
    }
    if let Some(wanted) = &expect.summary {
        let summary = seen.summary.as_deref().unwrap_or("");
        for part in wanted.all() {
            if !summary.contains(part) {
                failures.push(fail(
                    "summary",
                    format!(
                        "expected the summary to contain {part:?}; it is {}",
                        match &seen.summary {
                            Some(s) => format!("{:?}", text::line(s)),
                            None => format!("absent ({outcome})"),
                        }
                    ),
                ));
            }
        }
    }
    if let Some(status) = &expect.release_status
        && seen.release_status.as_deref() != Some(status.as_str())
    {
        failures.push(fail(
            "releaseStatus",
            format!(
                "expected the run's revision {status}; it is {}",
                seen.release_status
                    .as_deref()
                    .unwrap_or("absent (no revision: a dry run, or the run never started)")
            ),
        ));
    }
    if let Some(wanted) = &expect.revisions {
        match &seen.revisions {
            Ok(statuses) if statuses == wanted => {}
            Ok(statuses) => failures.push(fail(
                "revisions",
                format!(
                    "expected [{}]; the history is [{}]",
                    wanted.join(", "),
                    statuses.join(", ")
                ),
            )),
            Err(why) => failures.push(fail("revisions", why.clone())),
        }
    }
    for (i, (object, read)) in expect.objects.iter().zip(&seen.objects).enumerate() {
        let name = match &object.namespace {
            Some(ns) => format!("{ns}/{}", object.name),
            None => object.name.clone(),
        };
        let label = format!("objects[{i}] {}/{} {name}", object.api_version, object.kind);
        match read {
            Err(why) => failures.push(fail(label, why.clone())),
            Ok(None) if object.absent => {}
            Ok(None) => failures.push(fail(label, "expected it to exist; it does not")),
            Ok(Some(_)) if object.absent => {
                failures.push(fail(label, "expected it to be absent; it exists"))
            }
            Ok(Some(live)) => {
                let wrong: Vec<String> = object
                    .fields
                    .iter()
                    .filter_map(|(field, want)| {
                        let steps = path::parse(field).ok()?;
                        let got = path::lookup(live, &steps);
                        let holds = match got {
                            None => want.is_null(),
                            Some(got) => path::same(want, got),
                        };
                        (!holds).then(|| {
                            format!(
                                "{field}: expected {}, got {}",
                                shown(Some(want)),
                                shown(got)
                            )
                        })
                    })
                    .collect();
                if !wrong.is_empty() {
                    failures.push(fail(label, wrong.join("\n")));
                }
            }
        }
    }
    if let Some(wanted) = &expect.calls {
        let mode = expect.calls_match.unwrap_or_default();
        if let Some(diff) = calls::check(wanted, &seen.calls, mode) {
            failures.push(fail("calls", diff));
        }
    }
    failures
}
