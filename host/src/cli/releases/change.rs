//! `cutover rollback` and `cutover uninstall`: each under the release's lock, with `--dry-run`
//! showing the plan and changing nothing. A failed or interrupted run whose policy undoes its
//! own runs is rolled back by running that policy's undo (as `cutover abort` does).

use cutover_clock::Clock;
use serde_json::json;

use super::{ResumeArgs, RollbackArgs, UninstallArgs, cluster_error, open};
use crate::cli::run::release::{lifecycle_error, take_lock};
use crate::cli::{CliError, ExitCode, Format, ReleaseFlags, output};
use crate::release::lifecycle::{self, Again, RollbackPlan, RolledBack};
use crate::release::lock::Lock;
use crate::release::store::{self, Stored};
use crate::release::undo::UndoReport;
use crate::sandbox::bindings::cutover::policy::rollout::Request;
use crate::text;

/// `work`, given up (exit 1) after `timeout`, saying to look at the release's status.
async fn within<T>(
    clock: &Clock,
    timeout: std::time::Duration,
    (what, release): (&str, &str),
    work: impl std::future::Future<Output = T>,
) -> Result<T, CliError> {
    clock.timeout(timeout, work).await.map_err(|_| {
        CliError::new(
            ExitCode::PolicyFailed,
            format!(
                "the {what} of release {release} did not finish within {}; see `cutover status {release}`",
                crate::units::format_duration(timeout)
            ),
        )
    })
}

async fn let_go(lock: Lock) {
    if let Err(e) = lock.release().await {
        tracing::warn!("cannot release the lock: {e}");
    }
}

fn print_report(report: &UndoReport) {
    for line in &report.undone {
        outln!("  undone: {}", text::line(line));
    }
    for line in &report.conflicts {
        outln!("  left as it is (changed since): {}", text::line(line));
    }
    for line in &report.failed {
        outln!("  failed: {}", text::line(line));
    }
    for line in &report.irreversible {
        outln!("  not reversible: {}", text::line(line));
    }
}

pub(in crate::cli) async fn rollback(args: RollbackArgs) -> Result<ExitCode, CliError> {
    let clock = Clock::tokio();
    let (cluster, _, store) = open(&args.release, &args.cluster, &clock).await?;
    if args.revision.is_none() && !args.journal {
        // Read without the lock: a run whose policy undoes its own runs is rolled back by a run
        // of that policy, whose pipeline takes the lock (and checks the policy's manifest).
        // Anything else (a refusal included) goes the journal's way, under the lock.
        let history = store.history().await.map_err(cluster_error)?;
        if let Ok(plan) = lifecycle::plan_rollback(&args.release, &history, None, false)
            && plan.undo_by_policy.is_some()
            && let Some(latest) = history.last().cloned()
        {
            return by_policy(args, latest, &plan, clock).await;
        }
    }
    let lock = take_lock(&cluster, &args.release, &clock).await?;
    let result = rollback_locked(&args, &cluster, &store, &lock, &clock).await;
    let_go(lock).await;
    result
}

async fn rollback_locked(
    args: &RollbackArgs,
    cluster: &crate::cluster::Cluster,
    store: &store::ReleaseStore,
    lock: &Lock,
    clock: &Clock,
) -> Result<ExitCode, CliError> {
    let history = store.history().await.map_err(cluster_error)?;
    let plan = lifecycle::plan_rollback(&args.release, &history, args.revision, args.journal)
        .map_err(lifecycle_error)?;
    if let Some(number) = plan.undo_by_policy {
        // The release changed since it was read without the lock: say so rather than guess.
        return Err(lifecycle_error(lifecycle::LifecycleError::UndoneByPolicy {
            release: args.release.clone(),
            number,
        }));
    }
    if args.dry_run {
        match args.output.output {
            Format::Table => {
                if let Some(n) = plan.undo_in_place {
                    outln!("Would undo the run of revision {n} through its journal");
                }
                if let (Some(to), Some(new)) = (plan.target, plan.new_revision) {
                    outln!("Would write revision {new} \"Rollback to {to}\"");
                }
                for line in &plan.undo {
                    outln!("  undo: {}", text::line(line));
                }
                for line in &plan.reapply {
                    outln!("  re-apply: {}", text::line(line));
                }
                outln!("(dry run: nothing was changed)");
            }
            format => outln!(
                "{}",
                output::machine(&serde_json::to_value(&plan).unwrap_or_default(), format)
            ),
        }
        return Ok(ExitCode::Ok);
    }
    let done = within(
        clock,
        args.timeout,
        ("rollback", &args.release),
        lifecycle::rollback(
            cluster,
            store,
            args.revision,
            args.journal,
            lock.identity().to_string(),
            clock.wall_now(),
            &*crate::release::permit::declared(),
        ),
    )
    .await?
    .map_err(lifecycle_error)?;
    let history = store.history().await.map_err(cluster_error)?;
    let pruned = store::prune(store, &history, args.history_max)
        .await
        .map_err(cluster_error)?;
    report_rollback(args, &done, pruned);
    if done.report.complete() {
        Ok(ExitCode::Ok)
    } else {
        Err(CliError::new(
            ExitCode::PolicyFailed,
            format!(
                "the rollback of release {} left changes in place: {}",
                args.release,
                done.report.summary()
            ),
        ))
    }
}

/// `cutover rollback` of a failed or interrupted run whose policy undoes its own runs: the
/// policy runs again, told `abort` (as `cutover abort` runs it); `--dry-run` says what would run.
async fn by_policy(
    args: RollbackArgs,
    latest: Stored,
    plan: &RollbackPlan,
    clock: Clock,
) -> Result<ExitCode, CliError> {
    let record = &latest.record;
    if args.dry_run {
        // The undo is the policy's own code: it is not run here (a dry run has no revision to
        // continue, nor its checkpoint), only named.
        match args.output.output {
            Format::Table => {
                outln!(
                    "Would roll back revision {} of release {} by its policy {}@{} ({}): it runs again (attempt {}), told `abort`, and undoes its run in its own order; its journal ({} changes) is not replayed",
                    record.number,
                    args.release,
                    text::line(&record.policy.name),
                    text::line(&record.policy.version),
                    text::line(&record.policy.digest),
                    record.attempt.saturating_add(1),
                    record.journal.len()
                );
                outln!(
                    "(dry run: nothing was changed, and the policy's undo was not run; `cutover rollback {} --journal --dry-run` shows what replaying the journal would undo)",
                    args.release
                );
            }
            format => {
                let mut value = serde_json::to_value(plan).unwrap_or_default();
                value["policy"] = json!({
                    "name": record.policy.name,
                    "version": record.policy.version,
                    "digest": record.policy.digest,
                });
                value["attempt"] = json!(record.attempt.saturating_add(1));
                outln!("{}", output::machine(&value, format));
            }
        }
        return Ok(ExitCode::Ok);
    }
    let again = ResumeArgs {
        release: args.release,
        policy: args.policy,
        allow: args.allow,
        allow_declared: args.allow_declared,
        timeout: args.timeout,
        request_timeout: std::time::Duration::from_secs(30),
        memory_limit: args.memory_limit,
        release_flags: ReleaseFlags {
            rollback_on_failure: false,
            cleanup_on_fail: false,
            history_max: args.history_max,
        },
        record: None,
        cluster: args.cluster,
        output: args.output,
    };
    super::resume::run_latest(again, latest, Again::Undo, Request::Abort, clock).await
}

fn report_rollback(args: &RollbackArgs, done: &RolledBack, pruned: usize) {
    match args.output.output {
        Format::Table => {
            if let Some(n) = done.plan.undo_in_place {
                outln!("Undid the run of revision {n} ({})", done.report.summary());
            }
            if let (Some(to), Some(new)) = (done.plan.target, done.plan.new_revision) {
                let status = done.status.map_or("?", |s| s.as_str());
                outln!(
                    "Rolled back release {} to revision {to}: revision {new} {status}",
                    args.release
                );
            }
            print_report(&done.report);
            if pruned > 0 {
                outln!("  ({pruned} old revisions pruned by --history-max)");
            }
        }
        format => outln!(
            "{}",
            output::machine(
                &json!({
                    "release": args.release,
                    "plan": done.plan,
                    "status": done.status,
                    "report": done.report,
                    "pruned": pruned,
                }),
                format
            )
        ),
    }
}

pub(in crate::cli) async fn uninstall(args: UninstallArgs) -> Result<ExitCode, CliError> {
    let clock = Clock::tokio();
    let (cluster, _, store) = open(&args.release, &args.cluster, &clock).await?;
    let lock = take_lock(&cluster, &args.release, &clock).await?;
    let result = async {
        let history = store.history().await.map_err(cluster_error)?;
        if history.is_empty() {
            return Err(lifecycle_error(
                crate::release::lifecycle::LifecycleError::NotFound(args.release.clone()),
            ));
        }
        if args.dry_run {
            let plan = lifecycle::plan_uninstall(&history);
            match args.output.output {
                Format::Table => {
                    for line in &plan {
                        outln!("  would delete: {}", text::line(line));
                    }
                    let then = if args.keep_history {
                        "mark the latest revision uninstalled"
                    } else {
                        "delete its history"
                    };
                    outln!(
                        "Would uninstall release {} ({} objects) and {then} (dry run: nothing was changed)",
                        args.release,
                        plan.len()
                    );
                }
                format => outln!("{}", output::machine(&json!({"delete": plan}), format)),
            }
            return Ok(ExitCode::Ok);
        }
        let report = within(
            &clock,
            args.timeout,
            ("uninstall", &args.release),
            lifecycle::uninstall(
                &cluster,
                &store,
                args.keep_history,
                clock.wall_now(),
                &*crate::release::permit::declared(),
            ),
        )
        .await?
        .map_err(lifecycle_error)?;
        match args.output.output {
            Format::Table => {
                print_report(&report);
                outln!("release \"{}\" uninstalled ({})", args.release, report.summary());
            }
            format => outln!("{}", output::machine(&json!({"release": args.release, "report": report}), format)),
        }
        if report.complete() {
            Ok(ExitCode::Ok)
        } else {
            Err(CliError::new(
                ExitCode::PolicyFailed,
                format!("release {} was uninstalled but some objects were left: {}", args.release, report.summary()),
            ))
        }
    }
    .await;
    let_go(lock).await;
    result
}
