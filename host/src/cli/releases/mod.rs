//! The release commands, as Helm has them: `history`, `status`, `get`, `list` read a release's
//! revisions; `rollback`, `uninstall` and `resume` change it, each under the release's lock.

mod change;
mod read;
mod resume;

use clap::{Args, ValueEnum};
use cutover_clock::Clock;

use super::{CliError, ClusterArgs, ExitCode, OutputArgs, ReleaseFlags};
use crate::cluster::{Cluster, ConnectOptions, Target};
use crate::release::store::ReleaseStore;

pub(super) use change::{rollback, uninstall};
pub(super) use read::{get, history, list, status};
pub(super) use resume::{abort, promote, resume, retry};

/// `cutover history <release>`.
#[derive(Debug, Args)]
pub(super) struct HistoryArgs {
    /// The release.
    release: String,
    /// Show at most this many revisions, the newest (0: all).
    #[arg(long, default_value_t = 256)]
    max: usize,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// `cutover status <release>`.
#[derive(Debug, Args)]
pub(super) struct StatusArgs {
    /// The release.
    release: String,
    /// A revision other than the latest.
    #[arg(long)]
    revision: Option<u32>,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// What `cutover get` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum GetWhat {
    /// The values the run was given (`--all`: with the defaults filled in).
    Values,
    /// The objects the revision applied.
    Manifest,
    /// The whole revision: values, objects, journal, checkpoint, status.
    All,
}

/// `cutover get values|manifest|all <release>`.
#[derive(Debug, Args)]
pub(super) struct GetArgs {
    #[arg(value_enum)]
    what: GetWhat,
    /// The release.
    release: String,
    /// A revision other than the latest.
    #[arg(long)]
    revision: Option<u32>,
    /// For `values`: the computed values (defaults filled in), not only those given.
    #[arg(short, long)]
    all: bool,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Output format (default: yaml, as Helm prints values and manifests).
    #[arg(short, long, value_enum)]
    output: Option<super::Format>,
}

/// `cutover list`.
#[derive(Debug, Args)]
pub(super) struct ListArgs {
    /// Releases in every namespace.
    #[arg(short = 'A', long)]
    all_namespaces: bool,
    /// Only releases whose latest revision is pending (a run under way, or interrupted).
    #[arg(long)]
    pending: bool,
    /// Only failed releases.
    #[arg(long)]
    failed: bool,
    /// Only deployed releases.
    #[arg(long)]
    deployed: bool,
    /// Only paused releases (waiting for `cutover promote`, `abort` or `retry`).
    #[arg(long)]
    paused: bool,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// `cutover rollback <release> [REVISION]`.
#[derive(Debug, Args)]
pub(super) struct RollbackArgs {
    /// The release.
    release: String,
    /// The revision to return to (default: the one before the deployed revision; for an
    /// interrupted or failed run, undo that run: by its policy when the policy undoes its own
    /// runs, else through its journal). 0: before the first revision, every revision's
    /// changes undone.
    revision: Option<u32>,
    /// Undo an interrupted or failed run through its journal even when its policy undoes its
    /// own runs (its manifest's rollbackByPolicy).
    #[arg(long)]
    journal: bool,
    /// Show what would be undone and re-applied; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Give up after this long (for a policy's own undo: stop the policy after this long).
    #[arg(long, default_value = "5m", value_parser = super::parse_duration)]
    timeout: std::time::Duration,
    /// For a policy's own undo: the policy, when the revision ran a .wasm file that is
    /// elsewhere now (its digest must match the revision's).
    #[arg(long, value_name = "POLICY")]
    policy: Option<String>,
    /// For a policy's own undo: grant a capability (repeatable), as for `cutover run`.
    #[arg(long = "allow", value_name = "CAPABILITY")]
    allow: Vec<String>,
    /// For a policy's own undo: grant exactly the capabilities the policy declares.
    #[arg(long)]
    allow_declared: bool,
    /// For a policy's own undo: cap on the policy's memory.
    #[arg(long, default_value = "64Mi", value_parser = super::parse_bytes)]
    memory_limit: u64,
    /// Keep at most this many revisions (0: all); the deployed one is never pruned.
    #[arg(long, default_value_t = 10)]
    history_max: usize,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// `cutover uninstall <release>`.
#[derive(Debug, Args)]
pub(super) struct UninstallArgs {
    /// The release.
    release: String,
    /// Keep the revisions, the latest marked uninstalled (`cutover history` still shows them).
    #[arg(long)]
    keep_history: bool,
    /// Show what would be deleted; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Give up after this long.
    #[arg(long, default_value = "5m", value_parser = super::parse_duration)]
    timeout: std::time::Duration,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// `cutover promote <release> [--full]`.
#[derive(Debug, Args)]
pub(super) struct PromoteArgs {
    /// Skip the remaining steps and analysis (the policy is told `promote-full`).
    #[arg(long)]
    full: bool,
    #[command(flatten)]
    run: ResumeArgs,
}

/// `cutover resume <release>`, and the flags of `promote`, `abort` and `retry`.
#[derive(Debug, Args)]
pub(super) struct ResumeArgs {
    /// The release whose latest revision to run again.
    release: String,
    /// The policy, when the revision ran a .wasm file that is elsewhere now (its digest must
    /// match the revision's).
    #[arg(long, value_name = "POLICY")]
    policy: Option<String>,
    /// Grant a capability (repeatable), as for `cutover run`.
    #[arg(long = "allow", value_name = "CAPABILITY")]
    allow: Vec<String>,
    /// Grant exactly the capabilities the policy declares.
    #[arg(long)]
    allow_declared: bool,
    /// Stop the policy after this long.
    #[arg(long, default_value = "5m", value_parser = super::parse_duration)]
    timeout: std::time::Duration,
    /// Deadline for one cluster request.
    #[arg(long, default_value = "30s", value_parser = super::parse_duration)]
    request_timeout: std::time::Duration,
    /// Cap on the policy's memory.
    #[arg(long, default_value = "64Mi", value_parser = super::parse_bytes)]
    memory_limit: u64,
    #[command(flatten)]
    release_flags: ReleaseFlags,
    /// Record every host call the policy makes, and its answer, to FILE, as `cutover run --record`.
    #[arg(long, value_name = "FILE")]
    record: Option<std::path::PathBuf>,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// The release's cluster and store: checks the name first, then connects and checks that the
/// cluster answers.
async fn open(
    release: &str,
    cluster: &ClusterArgs,
    clock: &Clock,
) -> Result<(Cluster, Target, ReleaseStore), CliError> {
    crate::release::check_name(release).map_err(CliError::bad_input)?;
    let (cluster, target) = connect(cluster, clock).await?;
    let cluster = cluster.with_field_manager(crate::cluster::release_field_manager(release));
    let store = ReleaseStore::new(&cluster, cluster.namespace(), release)
        .with_server(Some(target.server.clone()));
    Ok((cluster, target, store))
}

async fn connect(args: &ClusterArgs, clock: &Clock) -> Result<(Cluster, Target), CliError> {
    if let Some(namespace) = &args.namespace {
        crate::cluster::target::check_namespace(namespace).map_err(CliError::bad_input)?;
    }
    let request_timeout = std::time::Duration::from_secs(30);
    let options = ConnectOptions {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        namespace: args.namespace.clone(),
        request_timeout,
    };
    let (cluster, target) = Cluster::connect(&options, clock.clone())
        .await
        .map_err(|e| CliError::new(ExitCode::Unreachable, e))?;
    cluster
        .check_reachable(request_timeout)
        .await
        .map_err(|e| CliError::new(ExitCode::Unreachable, e))?;
    Ok((cluster, target))
}

fn cluster_error(e: crate::cluster::ClusterError) -> CliError {
    let code = match &e {
        crate::cluster::ClusterError::Invalid(_) => ExitCode::BadInput,
        crate::cluster::ClusterError::Forbidden(_) => ExitCode::Refused,
        _ => ExitCode::Unreachable,
    };
    CliError::new(code, e)
}
