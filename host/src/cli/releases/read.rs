//! `cutover history`, `status`, `get` and `list`: a release's revisions as stored, every
//! string from them escaped (a revision's Secret is input like any other).

use cutover_clock::Clock;
use serde_json::{Value, json};

use super::{GetArgs, GetWhat, HistoryArgs, ListArgs, StatusArgs, cluster_error, connect, open};
use crate::cli::{CliError, ExitCode, Format, output};
use crate::release::lifecycle::LifecycleError;
use crate::release::lock::{self, LeaseState};
use crate::release::record::{Record, Status};
use crate::release::store::{self, Stored};
use crate::text;

fn not_found(release: &str) -> CliError {
    super::super::run::release::lifecycle_error(LifecycleError::NotFound(release.to_string()))
}

fn row(r: &Record) -> Vec<String> {
    vec![
        r.number.to_string(),
        r.updated.clone(),
        r.status.to_string(),
        format!("{}@{}", r.policy.name, r.policy.version),
        r.description.clone(),
    ]
}

fn summary(r: &Record) -> Value {
    json!({
        "revision": r.number,
        "updated": r.updated,
        "status": r.status,
        "policy": format!("{}@{}", r.policy.name, r.policy.version),
        "description": r.description,
    })
}

pub(in crate::cli) async fn history(args: HistoryArgs) -> Result<ExitCode, CliError> {
    let clock = Clock::tokio();
    let (_, _, store) = open(&args.release, &args.cluster, &clock).await?;
    let history = store.history().await.map_err(cluster_error)?;
    if history.is_empty() {
        return Err(not_found(&args.release));
    }
    let skip = match args.max {
        0 => 0,
        max => history.len().saturating_sub(max),
    };
    let shown = &history[skip..];
    match args.output.output {
        Format::Table => outln!(
            "{}",
            output::table(
                &["revision", "updated", "status", "policy", "description"],
                shown.iter().map(|s| row(&s.record)).collect()
            )
        ),
        format => outln!(
            "{}",
            output::machine(
                &Value::Array(shown.iter().map(|s| summary(&s.record)).collect()),
                format
            )
        ),
    }
    Ok(ExitCode::Ok)
}

/// What `status` says of a pending revision, by its lease.
fn pending_state(record: &Record, lease: Option<&LeaseState>) -> String {
    if !record.status.is_pending() {
        return String::new();
    }
    match lease {
        Some(l) if !l.is_stale() => format!(
            "running: locked by {} (expires in {}s unless renewed)",
            text::escape(&l.holder, 256),
            l.expires_in.as_secs()
        ),
        _ if record.status == Status::PendingRollback => format!(
            "interrupted: its holder ({}) is gone; run `cutover rollback {r}` again",
            text::escape(&record.holder, 256),
            r = record.release
        ),
        _ => format!(
            "interrupted: its holder ({}) is gone; continue with `cutover resume {r}` or undo with `cutover rollback {r}`",
            text::escape(&record.holder, 256),
            r = record.release
        ),
    }
}

pub(in crate::cli) async fn status(args: StatusArgs) -> Result<ExitCode, CliError> {
    let clock = Clock::tokio();
    let (cluster, _, store) = open(&args.release, &args.cluster, &clock).await?;
    let stored: Stored = match args.revision {
        Some(n) => store.get(n).await.map_err(cluster_error)?.ok_or_else(|| {
            super::super::run::release::lifecycle_error(LifecycleError::NoRevision {
                release: args.release.clone(),
                number: n,
            })
        })?,
        None => store
            .history()
            .await
            .map_err(cluster_error)?
            .pop()
            .ok_or_else(|| not_found(&args.release))?,
    };
    let lease = lock::inspect(cluster.client(), cluster.namespace(), &args.release, &clock)
        .await
        .map_err(|e| CliError::new(ExitCode::Unreachable, e))?;
    let r = &stored.record;
    let state = pending_state(r, lease.as_ref());
    let irreversible = r
        .journal
        .iter()
        .filter(|e| {
            matches!(
                e.change,
                crate::release::journal::Change::Irreversible { .. }
            )
        })
        .count();
    let lock_line = match &lease {
        Some(l) if !l.is_free() => format!(
            "{}{}",
            text::escape(&l.holder, 256),
            if l.is_stale() {
                " (stale: the next run takes it over)"
            } else {
                ""
            }
        ),
        _ => "free".into(),
    };
    match args.output.output {
        Format::Table => {
            let line = |k: &str, v: &str| outln!("{k}: {}", text::line(v));
            line("NAME", &r.release);
            line("NAMESPACE", &r.namespace);
            line("REVISION", &r.number.to_string());
            let status = if state.is_empty() {
                r.status.to_string()
            } else {
                format!("{} ({state})", r.status)
            };
            line("STATUS", &status);
            line(
                "POLICY",
                &format!(
                    "{}@{} ({})",
                    r.policy.name, r.policy.version, r.policy.digest
                ),
            );
            line("STARTED", &r.started);
            line("UPDATED", &r.updated);
            if r.attempt > 1 {
                line("ATTEMPT", &r.attempt.to_string());
            }
            line("DESCRIPTION", &r.description);
            if r.status == Status::Paused {
                // Escaped and capped when the policy paused; escaped again, harmlessly.
                line("PAUSED", r.paused.as_deref().unwrap_or(""));
                line(
                    "NEXT",
                    &format!(
                        "`cutover promote {0}` (--full: skip the remaining steps), `cutover abort {0}`, or `cutover retry {0}`",
                        r.release
                    ),
                );
            }
            let unfinished = (r.status.is_pending() && r.status != Status::PendingRollback)
                || (r.status == Status::Failed && !r.reverted);
            if r.rollback_by_policy && unfinished {
                line(
                    "UNDO",
                    &format!(
                        "by its policy: `cutover rollback {0}` runs the policy's own undo (`--journal`: replay the journal instead)",
                        r.release
                    ),
                );
            }
            line("LOCK", &lock_line);
            line(
                "JOURNAL",
                &format!(
                    "{} change{}{}",
                    r.journal.len(),
                    if r.journal.len() == 1 { "" } else { "s" },
                    if irreversible > 0 {
                        format!(" ({irreversible} not reversible)")
                    } else {
                        String::new()
                    }
                ),
            );
            if let Some(c) = &r.checkpoint {
                line("CHECKPOINT", &format!("{} bytes", c.len()));
            }
            for u in &r.unreverted {
                line("NOT UNDONE", u);
            }
        }
        format => {
            let mut value = summary(r);
            value["name"] = json!(r.release);
            value["namespace"] = json!(r.namespace);
            value["digest"] = json!(r.policy.digest);
            value["started"] = json!(r.started);
            value["attempt"] = json!(r.attempt);
            value["interrupted"] =
                json!(r.status.is_pending() && lease.as_ref().is_none_or(LeaseState::is_stale));
            value["lock"] = match &lease {
                Some(l) if !l.is_free() => {
                    json!({"holder": l.holder, "stale": l.is_stale(), "expiresInSeconds": l.expires_in.as_secs()})
                }
                _ => Value::Null,
            };
            value["journal"] = json!({"changes": r.journal.len(), "irreversible": irreversible});
            value["checkpoint"] = json!(r.checkpoint.is_some());
            value["unreverted"] = json!(r.unreverted);
            value["reverted"] = json!(r.reverted);
            value["rollbackByPolicy"] = json!(r.rollback_by_policy);
            value["paused"] = json!(r.paused);
            outln!("{}", output::machine(&value, format));
        }
    }
    Ok(ExitCode::Ok)
}

pub(in crate::cli) async fn get(args: GetArgs) -> Result<ExitCode, CliError> {
    let clock = Clock::tokio();
    let (_, _, store) = open(&args.release, &args.cluster, &clock).await?;
    let stored = match args.revision {
        Some(n) => store.get(n).await.map_err(cluster_error)?,
        None => store.history().await.map_err(cluster_error)?.pop(),
    }
    .ok_or_else(|| not_found(&args.release))?;
    let r = stored.record;
    let value = match args.what {
        GetWhat::Values if args.all => r.values.computed.clone(),
        GetWhat::Values => r.values.given.clone(),
        GetWhat::Manifest => Value::Array(r.applied.clone()),
        GetWhat::All => serde_json::to_value(&r).unwrap_or_default(),
    };
    let format = match args.output {
        Some(Format::Json) => Format::Json,
        _ => Format::Yaml,
    };
    if args.what == GetWhat::Manifest && format == Format::Yaml {
        // As `helm get manifest`: one YAML document per object.
        for object in &r.applied {
            outln!("---\n{}", output::yaml(object).trim_end());
        }
        return Ok(ExitCode::Ok);
    }
    outln!("{}", output::machine(&value, format).trim_end());
    Ok(ExitCode::Ok)
}

pub(in crate::cli) async fn list(args: ListArgs) -> Result<ExitCode, CliError> {
    let clock = Clock::tokio();
    let (cluster, _) = connect(&args.cluster, &clock).await?;
    let namespace = (!args.all_namespaces).then(|| cluster.namespace().to_string());
    let latest = store::latest_of_each(&cluster, namespace.as_deref())
        .await
        .map_err(cluster_error)?;
    let any_filter = args.pending || args.failed || args.deployed || args.paused;
    let shown: Vec<&Record> = latest
        .iter()
        .map(|s| &s.record)
        .filter(|r| {
            !any_filter
                || (args.pending && r.status.is_pending())
                || (args.failed && r.status == Status::Failed)
                || (args.deployed && r.status == Status::Deployed)
                || (args.paused && r.status == Status::Paused)
        })
        .collect();
    match args.output.output {
        Format::Table => outln!(
            "{}",
            output::table(
                &[
                    "name",
                    "namespace",
                    "revision",
                    "updated",
                    "status",
                    "policy"
                ],
                shown
                    .iter()
                    .map(|r| vec![
                        r.release.clone(),
                        r.namespace.clone(),
                        r.number.to_string(),
                        r.updated.clone(),
                        r.status.to_string(),
                        format!("{}@{}", r.policy.name, r.policy.version),
                    ])
                    .collect()
            )
        ),
        format => outln!(
            "{}",
            output::machine(
                &Value::Array(
                    shown
                        .iter()
                        .map(|r| {
                            let mut v = summary(r);
                            v["name"] = json!(r.release);
                            v["namespace"] = json!(r.namespace);
                            v
                        })
                        .collect()
                ),
                format
            )
        ),
    }
    Ok(ExitCode::Ok)
}
