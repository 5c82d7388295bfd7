//! `cutover resume <release>`, and `promote`, `abort`, `retry`: the latest revision's run,
//! again: the same policy (by digest) and values, with the grants given now; `attempt` and
//! `rollout.requested` tell the policy why it runs. Also the policy's own undo of a failed or
//! interrupted run (`cutover abort`, and `cutover rollback`, of a policy that declares
//! `rollbackByPolicy`).

use cutover_clock::Clock;

use super::{PromoteArgs, ResumeArgs, cluster_error, open};
use crate::cli::run::release::{Start, lifecycle_error};
use crate::cli::{CliError, ExitCode, OutputArgs, RunArgs};
use crate::release::lifecycle::{self, Again, LifecycleError};
use crate::release::store::Stored;
use crate::sandbox::bindings::cutover::policy::rollout::Request;

pub(in crate::cli) async fn resume(args: ResumeArgs) -> Result<ExitCode, CliError> {
    again(args, Again::Resume, Request::Resume).await
}

pub(in crate::cli) async fn promote(args: PromoteArgs) -> Result<ExitCode, CliError> {
    let request = if args.full {
        Request::PromoteFull
    } else {
        Request::Promote
    };
    again(args.run, Again::Promote, request).await
}

/// A paused revision is aborted (the policy returns to the stable version); a failed or
/// interrupted one is undone by its policy when the policy undoes its own runs.
pub(in crate::cli) async fn abort(args: ResumeArgs) -> Result<ExitCode, CliError> {
    again(args, Again::Abort, Request::Abort).await
}

pub(in crate::cli) async fn retry(args: ResumeArgs) -> Result<ExitCode, CliError> {
    again(args, Again::Retry, Request::Retry).await
}

/// Runs the latest revision again for `again`, the policy told `request`.
async fn again(args: ResumeArgs, again: Again, request: Request) -> Result<ExitCode, CliError> {
    let clock = Clock::tokio();
    let (_, _, store) = open(&args.release, &args.cluster, &clock).await?;
    // Read without the lock, to learn which policy to prepare and to refuse at once (nothing
    // changed) a revision this command cannot continue; the pipeline takes the lock and checks
    // again that the revision is still the one to run.
    let latest = store
        .history()
        .await
        .map_err(cluster_error)?
        .pop()
        .ok_or_else(|| lifecycle_error(LifecycleError::NotFound(args.release.clone())))?;
    let again = match again {
        Again::Abort => lifecycle::again_for_abort(&latest),
        other => other,
    };
    run_latest(args, latest, again, request, clock).await
}

/// Runs `latest`, the release's latest revision as read just now, again for `again`: checked
/// first by what the revision records, then (under the lock, by the pipeline) by the policy's
/// own manifest.
pub(super) async fn run_latest(
    args: ResumeArgs,
    latest: Stored,
    again: Again,
    request: Request,
    clock: Clock,
) -> Result<ExitCode, CliError> {
    lifecycle::check_again(
        &args.release,
        &latest,
        again,
        latest.record.rollback_by_policy,
    )
    .map_err(lifecycle_error)?;
    let record = latest.record;
    // The revision's Secret is the cluster's text: a recorded file path is never opened unless
    // the operator names it again (whoever can write Secrets must not choose what runs here).
    let policy = match &args.policy {
        Some(policy) => policy.clone(),
        None if crate::source::PolicySource::is_bundled(&record.policy.source) => {
            record.policy.source.clone()
        }
        None => {
            let or_journal = if again == Again::Undo {
                format!(
                    " so that it undoes its run (or replay the journal instead: `cutover rollback {} --journal`)",
                    args.release
                )
            } else {
                String::new()
            };
            return Err(CliError::bad_input(format!(
                "revision {} of release {} ran the policy file {}: give it again with --policy <file> (its digest must be {}){or_journal}",
                record.number,
                args.release,
                crate::text::escape(&record.policy.source, 256),
                crate::text::escape(&record.policy.digest, 80)
            )));
        }
    };
    // Say what will run before it runs: the policy and values come from the cluster.
    let line = if again == Again::Undo {
        format!(
            "Rolling back revision {} ({}, attempt {}) of release {} by its policy, in the policy's own order: {}@{} ({}) with values {}; its journal is not replayed (`cutover rollback {} --journal` replays it instead)",
            record.number,
            record.status,
            record.attempt + 1,
            args.release,
            record.policy.name,
            record.policy.version,
            record.policy.digest,
            record.values.given,
            args.release
        )
    } else {
        let verb = match request {
            Request::Resume => "Resuming",
            Request::Promote => "Promoting",
            Request::PromoteFull => "Fully promoting",
            Request::Abort => "Aborting",
            Request::Retry => "Retrying",
            Request::Start => "Running",
        };
        format!(
            "{verb} revision {} ({}, attempt {}) of release {}: {}@{} ({}) with values {}",
            record.number,
            record.status,
            record.attempt + 1,
            args.release,
            record.policy.name,
            record.policy.version,
            record.policy.digest,
            record.values.given
        )
    };
    let line = crate::text::escape(&line, 4096);
    if args.output.output == crate::cli::Format::Table {
        outln!("{line}");
    } else {
        errln!("{line}");
    }
    let run = RunArgs {
        policy,
        inputs: Vec::new(),
        release: Some(args.release.clone()),
        sets: Vec::new(),
        values: Vec::new(),
        chart_values: Default::default(),
        allow: args.allow.clone(),
        allow_declared: args.allow_declared,
        timeout: args.timeout,
        request_timeout: args.request_timeout,
        memory_limit: args.memory_limit,
        dry_run: false,
        release_flags: args.release_flags,
        record: args.record.clone(),
        sim: None,
        cluster: args.cluster.clone(),
        output: OutputArgs {
            output: args.output.output,
        },
        given_values: Some(record.values.given.clone()),
    };
    crate::cli::run::execute_as(
        run,
        clock,
        Start::Resume {
            digest: record.policy.digest,
            again,
            request,
        },
    )
    .await
}
