//! `cutover completion bash|zsh|fish`: shell completion scripts from clap's own generator.

use clap::CommandFactory;

use super::{CliError, ExitCode};

/// The shells a completion script can be printed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum Shell {
    Bash,
    Zsh,
    Fish,
}

pub(super) fn execute(shell: Shell) -> Result<ExitCode, CliError> {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut command = super::Cli::command();
    // Into memory first: clap_complete panics on a failed write (`... | head`).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "cutover", &mut script);
    out!("{}", String::from_utf8_lossy(&script));
    Ok(ExitCode::Ok)
}
