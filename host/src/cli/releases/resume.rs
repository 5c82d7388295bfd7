//! `cutover resume <release>`: the latest revision's run, again, from its checkpoint: the same
//! policy (by digest) and values, with the grants given now; `attempt` tells the policy.

use cutover_clock::Clock;

use super::{ResumeArgs, cluster_error, open};
use crate::cli::run::release::{Start, lifecycle_error};
use crate::cli::{CliError, ExitCode, OutputArgs, RunArgs};
use crate::release::lifecycle::LifecycleError;

pub(in crate::cli) async fn resume(args: ResumeArgs) -> Result<ExitCode, CliError> {
    let clock = Clock::tokio();
    let (_, _, store) = open(&args.release, &args.cluster, &clock).await?;
    // Read without the lock, to learn which policy to prepare; the pipeline takes the lock and
    // checks again that the revision is still the one to resume.
    let latest = store
        .history()
        .await
        .map_err(cluster_error)?
        .pop()
        .ok_or_else(|| lifecycle_error(LifecycleError::NotFound(args.release.clone())))?;
    let record = latest.record;
    // The revision's Secret is the cluster's text: a recorded file path is never opened unless
    // the operator names it again (whoever can write Secrets must not choose what runs here).
    let policy = match &args.policy {
        Some(policy) => policy.clone(),
        None if crate::source::PolicySource::is_bundled(&record.policy.source) => {
            record.policy.source.clone()
        }
        None => {
            return Err(CliError::bad_input(format!(
                "revision {} of release {} ran the policy file {}: give it again with --policy <file> (its digest must be {})",
                record.number,
                args.release,
                crate::text::escape(&record.policy.source, 256),
                crate::text::escape(&record.policy.digest, 80)
            )));
        }
    };
    // Say what will run before it runs: the policy and values come from the cluster.
    let line = format!(
        "Resuming revision {} ({}, attempt {}) of release {}: {}@{} ({}) with values {}",
        record.number,
        record.status,
        record.attempt + 1,
        args.release,
        record.policy.name,
        record.policy.version,
        record.policy.digest,
        record.values.given
    );
    let line = crate::text::escape(&line, 4096);
    if args.output.output == crate::cli::Format::Table {
        println!("{line}");
    } else {
        eprintln!("{line}");
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
        },
    )
    .await
}
