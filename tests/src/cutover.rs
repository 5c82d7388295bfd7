//! Runs the `cutover` binary the way an operator does, and checks its CLI contract.
//!
//! Exit codes: 0 ok; 1 the policy failed; 2 bad input; 3 refused by capabilities; 4 cluster
//! unreachable or kubeconfig unusable; 5 stopped by the sandbox; 130/143 cancelled by SIGINT/SIGTERM
//! ([`exit`]). Errors are one line on stderr starting with `error: `.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// Longest a single run may take before it is killed: far above any test's expectations, only
/// there so that a hung binary fails the test instead of hanging the suite.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The `cutover` binary under test.
#[derive(Debug)]
pub struct Cutover;

impl Cutover {
    /// The binary: `CUTOVER_BIN`, else `cutover` in the target directory of this test executable.
    ///
    /// Cargo builds a test's own package binaries for it, not other packages' ones, so the
    /// binary must be built beforehand (`cargo build -p cutover`).
    ///
    /// # Panics
    /// When the binary does not exist: every test using it would fail anyway, with less to say.
    pub fn bin() -> PathBuf {
        if let Some(bin) = std::env::var_os("CUTOVER_BIN") {
            let bin = PathBuf::from(bin);
            assert!(
                bin.is_file(),
                "CUTOVER_BIN={} does not exist",
                bin.display()
            );
            return bin;
        }
        let bin = profile_dir().join(format!("cutover{}", std::env::consts::EXE_SUFFIX));
        assert!(
            bin.is_file(),
            "{} does not exist: build it first: cargo build -p cutover",
            bin.display()
        );
        bin
    }

    /// The HOME (and XDG cache) the runs share, so that compiled policies are cached once for
    /// all tests, not once per test, and the developer's own cache stays untouched.
    pub fn test_home() -> PathBuf {
        profile_dir().join("cutover-test-home")
    }

    /// Runs `cutover <args>` against the cluster of `kubeconfig` and collects its output.
    ///
    /// # Panics
    /// When the binary cannot be started.
    pub async fn run(args: &[&str], kubeconfig: &Path) -> Output {
        Self::run_within(args, kubeconfig, RUN_TIMEOUT).await
    }

    /// Like [`Cutover::run`], killing the binary after `limit` rather than [`RUN_TIMEOUT`]: for
    /// runs that must first compile a large component (the Python example policy).
    ///
    /// # Panics
    /// When the binary cannot be started.
    pub async fn run_within(args: &[&str], kubeconfig: &Path, limit: Duration) -> Output {
        Self::collect(args, kubeconfig, limit, None).await
    }

    /// Like [`Cutover::run`], with `input` written to the binary's standard input, then closed:
    /// for `-` among a policy's inputs (`helm template ... | cutover run atomic -`).
    ///
    /// # Panics
    /// When the binary cannot be started.
    pub async fn run_with_stdin(args: &[&str], kubeconfig: &Path, input: &[u8]) -> Output {
        Self::collect(args, kubeconfig, RUN_TIMEOUT, Some(input)).await
    }

    async fn collect(
        args: &[&str],
        kubeconfig: &Path,
        limit: Duration,
        input: Option<&[u8]>,
    ) -> Output {
        let mut command = Self::command(args, kubeconfig);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        if input.is_some() {
            command.stdin(Stdio::piped());
        }
        let started = Instant::now();
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => panic!("starting {}: {e}", Self::bin().display()),
        };
        if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
            // Written beside the wait, so that a binary that reads late never blocks the
            // writer; one that exits without reading it all closes the pipe: its output says why.
            let input = input.to_vec();
            tokio::spawn(async move {
                let _ = stdin.write_all(&input).await;
            });
        }
        // On timeout the future, and with it the child, is dropped: `kill_on_drop` kills it.
        let (code, timed_out, out, err) =
            match tokio::time::timeout(limit, child.wait_with_output()).await {
                Ok(Ok(output)) => (output.status.code(), false, output.stdout, output.stderr),
                Ok(Err(e)) => panic!("waiting for {}: {e}", Self::bin().display()),
                Err(_) => (None, true, Vec::new(), Vec::new()),
            };
        let output = Output {
            args: args.iter().map(|a| a.to_string()).collect(),
            code,
            stdout: String::from_utf8_lossy(&out).into_owned(),
            stderr: String::from_utf8_lossy(&err).into_owned(),
            elapsed: started.elapsed(),
            timed_out,
        };
        // Passing tests show nothing; `RUST_LOG=cutover_tests=debug` shows every run in full.
        tracing::debug!("\n{output}");
        output
    }

    /// Runs `cutover <args>` on the simulator (`--sim` among `args`): the kubeconfig named
    /// does not exist, so a run that reached for a real cluster would fail.
    pub async fn sim(args: &[&str]) -> Output {
        Self::run(args, Path::new(NO_KUBECONFIG)).await
    }

    /// The command for `cutover <args>` against the cluster of `kubeconfig`, with the test
    /// HOME and cache, no colour, and nothing of the developer's environment that would change
    /// the run; stdin is null, stdout and stderr are the caller's to set.
    ///
    /// # Panics
    /// When the test HOME cannot be created.
    pub fn command(args: &[&str], kubeconfig: &Path) -> Command {
        crate::init_tracing();
        let home = Self::test_home();
        let cache = home.join(".cache");
        // Both exist before a run: concurrent first runs must not race to create them.
        if let Err(e) = std::fs::create_dir_all(&cache) {
            panic!("creating {}: {e}", cache.display());
        }
        let mut command = Command::new(Self::bin());
        command.args(args);
        // Every run on a real cluster is a revision of a release, locked while it lives and
        // refused while an earlier one is interrupted: tests that share a namespace (or run at
        // once) must not share a release by accident. A test about releases names its own.
        let is_run = args.first() == Some(&"run");
        if is_run && !args.iter().any(|a| *a == "--release" || *a == "--sim") {
            command.args(["--release", &format!("t-{}", crate::random_suffix(12))]);
        }
        command
            .env("KUBECONFIG", kubeconfig)
            .env("HOME", &home)
            .env("XDG_CACHE_HOME", &cache)
            .env("NO_COLOR", "1")
            // The tests name their cluster through KUBECONFIG alone: when the suite itself runs
            // in a pod, its in-cluster configuration must not become the cluster under test.
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env_remove("KUBERNETES_SERVICE_PORT")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        // The developer's own CUTOVER_* settings must not change what a test runs.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("CUTOVER_") {
                command.env_remove(key);
            }
        }
        command
    }
}

/// A kubeconfig that does not exist, for runs that must not need one (`--sim`, `inspect`).
pub const NO_KUBECONFIG: &str = "/nonexistent/cutover-tests/kubeconfig";

/// Exit codes of docs/cli.md, and of the cancellation signals.
pub mod exit {
    /// The policy succeeded.
    pub const OK: i32 = 0;
    /// The policy failed: it returned an error or called `exit`.
    pub const POLICY_FAILED: i32 = 1;
    /// Bad input: not a component, another world, a manifest breaking its rules, bad params.
    pub const BAD_INPUT: i32 = 2;
    /// Refused: capabilities not granted.
    pub const REFUSED: i32 = 3;
    /// The cluster is unreachable, or none is configured.
    pub const UNREACHABLE: i32 = 4;
    /// Stopped by the sandbox: deadline, memory cap, panic, trap, ABI violation, a host bound.
    pub const STOPPED: i32 = 5;
    /// Cancelled by SIGINT (128 + 2).
    pub const SIGINT: i32 = 130;
    /// Cancelled by SIGTERM (128 + 15).
    pub const SIGTERM: i32 = 143;
}

/// `target/<profile>`: the test executable is `target/<profile>/deps/<test>-<hash>`.
fn profile_dir() -> PathBuf {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => panic!("locating the test executable: {e}"),
    };
    let deps = exe.parent().unwrap_or(Path::new("."));
    let profile = if deps.ends_with("deps") {
        deps.parent().unwrap_or(deps)
    } else {
        deps
    };
    profile.to_path_buf()
}

/// What one run of the binary did.
#[derive(Clone, Debug)]
pub struct Output {
    /// The arguments, for messages.
    pub args: Vec<String>,
    /// The exit code; `None` when killed by a signal or by [`RUN_TIMEOUT`].
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Whether it was killed after [`RUN_TIMEOUT`].
    pub timed_out: bool,
}

impl Output {
    /// Panics, showing the whole run, unless it exited with `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "unexpected exit code\n{self}");
        self
    }

    /// The lines of stderr starting with `error: `.
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect()
    }

    /// The one `error: ` line of stderr; panics, showing the whole run, unless there is exactly
    /// one and nothing but blank lines follows it (it is the last word of a failed run).
    #[track_caller]
    pub fn error_line(&self) -> &str {
        let lines = self.error_lines();
        assert_eq!(
            lines.len(),
            1,
            "expected exactly one `error: ` line on stderr\n{self}"
        );
        let last = self.stderr.lines().rev().find(|l| !l.trim().is_empty());
        assert_eq!(
            last,
            Some(lines[0]),
            "the `error: ` line is not the last line of stderr\n{self}"
        );
        lines[0]
    }

    /// Panics unless it exited with `code` and one error line containing every one of `needles`
    /// (case-insensitive); returns the line.
    #[track_caller]
    pub fn expect_error(&self, code: i32, needles: &[&str]) -> &str {
        self.expect_code(code);
        let line = self.error_line();
        let lower = line.to_lowercase();
        for needle in needles {
            assert!(
                lower.contains(&needle.to_lowercase()),
                "the error line does not mention {needle:?}\n{self}"
            );
        }
        line
    }

    /// The run for a failure message when its output may be huge or hostile: each stream's
    /// first and last 2 KiB, with control characters escaped (`{:?}` style).
    pub fn abridged(&self) -> String {
        fn ends(text: &str) -> String {
            const EDGE: usize = 2 << 10;
            if text.len() <= 2 * EDGE {
                return format!("{text:?}");
            }
            let head = text
                .char_indices()
                .take_while(|(i, _)| *i < EDGE)
                .map(|(_, c)| c);
            let tail_start = text
                .char_indices()
                .map(|(i, _)| i)
                .find(|i| *i >= text.len() - EDGE)
                .unwrap_or(text.len());
            format!(
                "{:?} [... {} bytes ...] {:?}",
                head.collect::<String>(),
                tail_start.saturating_sub(EDGE),
                &text[tail_start..]
            )
        }
        format!(
            "command: cutover {}\nexit code: {:?} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args.join(" "),
            self.code,
            self.elapsed,
            ends(&self.stdout),
            ends(&self.stderr)
        )
    }

    /// Stdout parsed as one JSON document (`-o json`).
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        match serde_json::from_str(self.stdout.trim()) {
            Ok(value) => value,
            Err(e) => panic!("stdout is not one JSON document: {e}\n{self}"),
        }
    }
}

/// Past this much output, [`Output`]'s `Display` shows [`Output::abridged`]: a failing test
/// must not print megabytes.
const DISPLAY_WHOLE: usize = 64 << 10;

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.stdout.len() + self.stderr.len() > DISPLAY_WHOLE {
            return f.write_str(&self.abridged());
        }
        writeln!(f, "command: cutover {}", self.args.join(" "))?;
        match (self.code, self.timed_out) {
            (_, true) => writeln!(f, "killed after {RUN_TIMEOUT:?}")?,
            (Some(code), _) => writeln!(f, "exit code: {code} after {:?}", self.elapsed)?,
            (None, _) => writeln!(f, "killed by a signal after {:?}", self.elapsed)?,
        }
        writeln!(f, "--- stdout ---\n{}", self.stdout.trim_end())?;
        write!(f, "--- stderr ---\n{}", self.stderr.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::Output;
    use std::time::Duration;

    fn output(stderr: &str) -> Output {
        Output {
            args: vec!["run".into()],
            code: Some(2),
            stdout: String::new(),
            stderr: stderr.into(),
            elapsed: Duration::ZERO,
            timed_out: false,
        }
    }

    #[test]
    fn the_error_line_is_the_last_one() {
        let out = output("progress\nerror: missing parameter node\n\n");
        assert_eq!(
            out.expect_error(2, &["NODE"]),
            "error: missing parameter node"
        );
    }

    #[test]
    #[should_panic(expected = "exactly one")]
    fn two_error_lines_break_the_contract() {
        output("error: a\nerror: b\n").error_line();
    }

    #[test]
    #[should_panic(expected = "not the last line")]
    fn output_after_the_error_breaks_the_contract() {
        output("error: a\nmore\n").error_line();
    }
}
