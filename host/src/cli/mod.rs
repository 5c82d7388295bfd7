//! The `cutover` command line: argument parsing, the host's own logs (`-v`), the runtime each
//! command runs on, dispatch, and the one-line errors with their documented exit codes.

#[macro_use]
pub(crate) mod stdio;
mod completion;
mod exit;
mod inspect;
mod new;
mod output;
mod policies;
mod releases;
mod replay;
pub(crate) mod run;
mod signals;
mod sim;
mod test;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use cutover_clock::Clock;

pub use exit::{CliError, ExitCode};

/// Run Kubernetes upgrade and rollout strategies as sandboxed WebAssembly policies.
#[derive(Debug, Parser)]
#[command(name = "cutover", version, about, propagate_version = true)]
pub struct Cli {
    /// Show cutover's own logs on stderr (-v: info, -vv: debug, -vvv: trace); RUST_LOG
    /// overrides (e.g. RUST_LOG=cutover=debug,kube=debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the policies built into this binary.
    Policies(OutputArgs),
    /// Show a policy's manifest (parameters, capabilities) without running it.
    Inspect(InspectArgs),
    /// Run a policy against a cluster, or the simulated cluster with --sim.
    Run(Box<RunArgs>),
    /// Continue a release's interrupted or failed run from its checkpoint.
    Resume(Box<releases::ResumeArgs>),
    /// Continue a paused release (canary, blue-green) past its pause; --full skips the rest.
    Promote(Box<releases::PromoteArgs>),
    /// End a paused release: its policy returns to the stable version, the revision fails.
    Abort(Box<releases::ResumeArgs>),
    /// Run a failed or paused release's latest revision again from its first step.
    Retry(Box<releases::ResumeArgs>),
    /// Show a release's revisions.
    History(releases::HistoryArgs),
    /// Show a release's latest revision: its status, lock, journal and checkpoint.
    Status(releases::StatusArgs),
    /// Show a revision's values, the objects it applied, or all of it.
    Get(releases::GetArgs),
    /// List releases (their latest revisions).
    #[command(visible_alias = "ls")]
    List(releases::ListArgs),
    /// Undo an interrupted or failed run, or return a release to an earlier revision.
    Rollback(releases::RollbackArgs),
    /// Delete what a release created, and its history.
    Uninstall(releases::UninstallArgs),
    /// Scaffold a new policy crate on the guest SDK, with scenarios that `cutover test` checks.
    New(new::NewArgs),
    /// Run a policy on the simulator for each scenario and check the scenarios' expectations.
    Test(test::TestArgs),
    /// The simulated cluster.
    #[command(subcommand)]
    Sim(SimCommand),
    /// Print a shell completion script: `source <(cutover completion bash)`.
    Completion(CompletionArgs),
}

#[derive(Debug, Subcommand)]
enum SimCommand {
    /// Serve the simulated cluster over HTTP on loopback and write a kubeconfig for kubectl.
    Serve(SimServeArgs),
}

#[derive(Debug, Args)]
struct SimServeArgs {
    /// The port on 127.0.0.1 (0: pick a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Where to write the kubeconfig (default: ~/.cache/cutover/sim/kubeconfig-<port>.yaml,
    /// removed on exit).
    #[arg(long, value_name = "PATH")]
    write_kubeconfig: Option<PathBuf>,
    /// The seed uids and generated names derive from (default: the scenario's, else 0).
    #[arg(long)]
    seed: Option<u64>,
    /// A scenario file to load first (docs/simulator.md); default: the built-in scenario.
    #[arg(value_name = "SCENARIO")]
    scenario: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct CompletionArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: completion::Shell,
}

#[derive(Debug, Args)]
struct OutputArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    output: Format,
}

#[derive(Debug, Args)]
struct InspectArgs {
    /// A bundled policy's name or a path to a .wasm file.
    policy: String,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// A bundled policy's name or a path to a .wasm file.
    policy: String,
    /// Files, folders or `-` (standard input) handed to the policy as data, for policies that
    /// take inputs (`cutover run atomic ./chart`, `helm template ... | cutover run atomic -`);
    /// `cutover inspect` says whether a policy takes any.
    #[arg(value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// The release (target) name the run acts for: a DNS-1123 name of at most 53 characters,
    /// as Helm's; defaults to the name the policy's manifest derives from the parameters
    /// (`drain-{node}`), else to the policy's name.
    #[arg(long)]
    release: Option<String>,
    /// Set a parameter (repeatable): --set node=worker-1.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Read parameters from a YAML values file (repeatable; later files win, --set wins over all).
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    values: Vec<PathBuf>,
    #[command(flatten)]
    chart_values: ChartValueArgs,
    /// Grant a capability (repeatable), e.g. --allow cluster/cordon. See docs/capabilities.md.
    #[arg(long = "allow", value_name = "CAPABILITY")]
    allow: Vec<String>,
    /// Grant exactly the capabilities the policy declares (read them first with `cutover inspect`).
    #[arg(long)]
    allow_declared: bool,
    /// Stop the policy after this long (Go/Helm durations: 90s, 5m, 1h).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    timeout: std::time::Duration,
    /// Deadline for one cluster request that has no timeout of its own, for connecting, and
    /// for the first check that the cluster answers.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    request_timeout: std::time::Duration,
    /// Cap on the policy's memory (64Mi, 1Gi, or bytes).
    #[arg(long, default_value = "64Mi", value_parser = parse_bytes)]
    memory_limit: u64,
    /// Send every change as a server-side dry run: validated by the API server, stored nowhere
    /// (no revision is written and no lock taken).
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    release_flags: ReleaseFlags,
    /// Record every host call the policy makes, and its answer, to FILE (mode 0600; it holds
    /// what the policy read, Secrets included), for `cutover test --replay`.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Run against the built-in simulated cluster, on virtual time, loaded from a scenario
    /// file (docs/simulator.md); `--sim` alone: the built-in scenario (3 Ready nodes).
    #[arg(long, value_name = "SCENARIO", num_args = 0..=1)]
    sim: Option<Option<PathBuf>>,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    output: OutputArgs,
    /// Parameters given as data rather than flags: the revision's recorded values for
    /// `cutover resume`, a scenario's `run.params` for `cutover test`.
    #[arg(skip)]
    given_values: Option<serde_json::Value>,
}

/// Helm's value flags, for policies whose parameters are a chart's values (`cutover inspect`
/// says which: the `atomic` strategy).
#[derive(Debug, Args, Clone, Default)]
struct ChartValueArgs {
    /// Set a value as a string, whatever it looks like (repeatable): --set-string tag=010.
    #[arg(long = "set-string", value_name = "KEY=VALUE")]
    set_strings: Vec<String>,
    /// Set a value to a file's contents (repeatable): --set-file motd=./motd.txt.
    #[arg(long = "set-file", value_name = "KEY=PATH")]
    set_files: Vec<String>,
    /// Merge the values given over the last deployed revision's.
    #[arg(long)]
    reuse_values: bool,
    /// Forget the last deployed revision's values: only the values given (and the chart's).
    #[arg(long)]
    reset_values: bool,
    /// The chart's values, then the last deployed revision's, then the values given.
    #[arg(long)]
    reset_then_reuse_values: bool,
}

/// What becomes of the release's revision when a run fails, and how much history is kept.
#[derive(Debug, Args, Clone, Copy)]
struct ReleaseFlags {
    /// When the run fails, is stopped or is cancelled, undo its changes through the journal,
    /// newest first (Helm 4's name; --atomic is an alias). A failed first install leaves nothing.
    #[arg(long, visible_alias = "atomic")]
    rollback_on_failure: bool,
    /// When the run fails, delete the objects it created (and leave its other changes).
    #[arg(long)]
    cleanup_on_fail: bool,
    /// Keep at most this many revisions (0: all); the deployed one is never pruned.
    #[arg(long, default_value_t = 10)]
    history_max: usize,
}

/// How to reach the cluster, as kubectl takes it.
#[derive(Debug, Args, Clone)]
struct ClusterArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, value_name = "PATH")]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long)]
    context: Option<String>,
    /// The namespace (default: the context's, else "default").
    #[arg(short, long)]
    namespace: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
    Yaml,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    crate::units::parse_duration(text)
}

fn parse_bytes(text: &str) -> Result<u64, String> {
    crate::units::parse_bytes(text)
}

/// Turns on the host's own logs: `-v` levels, or `RUST_LOG` when set. Off by default, so that a
/// run's output is the run's; errors are reported as one `error:` line either way.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => return init_filter(std::env::var("RUST_LOG").ok()),
        1 => "cutover=info,cutover_sim=info",
        2 => "cutover=debug,cutover_sim=debug,kube=debug",
        _ => "trace",
    };
    init_filter(Some(
        std::env::var("RUST_LOG").unwrap_or_else(|_| default.to_string()),
    ));
}

/// The longest field of a log record shown, after escaping.
const MAX_LOG_FIELD: usize = 16 << 10;

fn init_filter(filter: Option<String>) {
    let Some(filter) = filter.filter(|f| !f.is_empty()) else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("cutover=info"));
    use std::io::IsTerminal as _;
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    // Every field of a log record (its message included) is escaped as guest text is: with
    // `-vv` the records quote what a policy sent (names, kube errors about them, a wasm
    // backtrace's function names), which must not steer the operator's terminal either.
    use tracing_subscriber::field::MakeExt as _;
    let fields = tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
        let text = crate::text::escape(&format!("{value:?}"), MAX_LOG_FIELD);
        if field.name() == "message" {
            write!(writer, "{text}")
        } else {
            write!(writer, "{}={text}", field.name())
        }
    })
    .delimited(" ");
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .fmt_fields(fields)
        .with_writer(std::io::stderr)
        .with_target(true)
        .with_ansi(color)
        .try_init();
}

/// Runs the command line; returns the process exit code.
///
/// Builds the tokio runtime itself: `run --sim` gets a current-thread runtime whose idle moments
/// advance the run's virtual clock (see [`run::uses_simulator`] and the `cutover-clock` crate);
/// everything else a multi-thread runtime on the real clock.
pub fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout with success; usage errors exit 2.
            let _ = e.print();
            return std::process::ExitCode::from(if e.use_stderr() {
                ExitCode::BadInput as u8
            } else {
                0
            });
        }
    };
    init_logging(cli.verbose);
    // Each scenario of `cutover test` runs on a runtime and virtual clock of its own.
    let cli = match cli.command {
        Command::Test(args) => return exit_with(test::execute(args)),
        command => Cli { command, ..cli },
    };
    let simulated = matches!(&cli.command, Command::Run(args) if run::uses_simulator(args));
    let (runtime, clock) = if simulated {
        run::simulator_runtime()
    } else {
        (
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build(),
            None,
        )
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            errln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(ExitCode::Internal as u8);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Policies(args) => policies::execute(args),
            Command::New(args) => new::execute(args),
            Command::Inspect(args) => inspect::execute(&args.policy, args.output.output),
            Command::Run(args) => {
                let clock = clock.unwrap_or_else(Clock::tokio);
                run::execute(*args, clock).await
            }
            Command::Resume(args) => releases::resume(*args).await,
            Command::Promote(args) => releases::promote(*args).await,
            Command::Abort(args) => releases::abort(*args).await,
            Command::Retry(args) => releases::retry(*args).await,
            Command::History(args) => releases::history(args).await,
            Command::Status(args) => releases::status(args).await,
            Command::Get(args) => releases::get(args).await,
            Command::List(args) => releases::list(args).await,
            Command::Rollback(args) => releases::rollback(args).await,
            Command::Uninstall(args) => releases::uninstall(args).await,
            // Handled above, before any runtime starts: each scenario builds its own.
            Command::Test(_) => Err(CliError::new(
                ExitCode::Internal,
                "cutover test must not run inside another runtime",
            )),
            Command::Sim(SimCommand::Serve(args)) => sim::serve(args).await,
            Command::Completion(args) => completion::execute(args.shell),
        }
    });
    // Dropping the runtime would wait for every blocking task still running: a compile that a
    // Ctrl-C left behind, a checkpoint write stuck on a hung filesystem. The answer is known
    // now; leave them to the exit.
    runtime.shutdown_background();
    exit_with(result)
}

/// The process exit code of a command's result, its error printed as one `error:` line.
fn exit_with(result: Result<ExitCode, CliError>) -> std::process::ExitCode {
    let result = match (result, stdio::stdout_failure()) {
        (Ok(ExitCode::Ok), Some(e)) => Err(CliError::new(
            ExitCode::Internal,
            format!("writing standard output failed, so it is incomplete: {e}"),
        )),
        (result, _) => result,
    };
    match result {
        Ok(code) => std::process::ExitCode::from(code.as_u8()),
        Err(error) => {
            errln!("error: {}", error.message);
            std::process::ExitCode::from(error.code.as_u8())
        }
    }
}
