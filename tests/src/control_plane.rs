//! Starts the real local control plane (once per test process) and connects clients to it.
//!
//! The plane is `../shared/k8s/control-plane` next to the repository (override with
//! `CUTOVER_CONTROL_PLANE`). `up` is idempotent, so every test process calls it once; the
//! processes it starts outlive the tests (`control-plane down` stops them). A test that needs the
//! plane fails when it cannot start: a skipped e2e test looks exactly like a passing one.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow, bail};
use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};

/// The outcome of the one `control-plane up` of this process; an error is kept as text so that
/// every test sees the same reason instead of retrying a start that already failed.
static KUBECONFIG: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// Starts the control plane unless this process already did, and returns its kubeconfig path.
///
/// Blocks while `up` runs (a few seconds when the plane is down, instant when it is up); other
/// tests calling it meanwhile wait for the same result.
pub fn ensure_up() -> Result<PathBuf> {
    KUBECONFIG
        .get_or_init(|| start().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow!("the local control plane is not available: {e}"))
}

/// The kubeconfig of the plane if this process started it successfully, without starting it.
/// Cleanup code uses it: it must never be the thing that starts a cluster.
pub fn started_kubeconfig() -> Option<PathBuf> {
    KUBECONFIG.get().and_then(|r| r.as_ref().ok().cloned())
}

/// The `control-plane` script: `CUTOVER_CONTROL_PLANE`, else `<repo>/../shared/k8s/control-plane`.
pub fn script() -> PathBuf {
    match std::env::var_os("CUTOVER_CONTROL_PLANE") {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/k8s/control-plane"),
    }
}

/// A client for the plane, started if needed.
pub async fn client() -> Result<Client> {
    let kubeconfig = ensure_up()?;
    client_from(&kubeconfig).await
}

/// A client from a kubeconfig file (its current context).
pub async fn client_from(kubeconfig: &Path) -> Result<Client> {
    let file = Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading kubeconfig {}", kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
        .await
        .with_context(|| format!("loading kubeconfig {}", kubeconfig.display()))?;
    Client::try_from(config).context("building a Kubernetes client")
}

fn start() -> Result<PathBuf> {
    let script = script();
    if !script.is_file() {
        bail!(
            "control-plane script not found at {} (set CUTOVER_CONTROL_PLANE to its path)",
            script.display()
        );
    }
    // `up` builds the binaries when they are missing: ten minutes of compiling (and apt-get) must
    // not hide inside a test run that looks hung, so ask for the build explicitly instead.
    let bin = local_home().join("bin/kube-scheduler");
    if !bin.exists() {
        bail!(
            "the control plane is not built ({} is missing): run `{} build` first (about 10 minutes)",
            bin.display(),
            script.display()
        );
    }
    let out = Command::new(&script)
        .arg("up")
        .output()
        .with_context(|| format!("running {} up", script.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!(
            "`{} up` failed ({}): {}",
            script.display(),
            out.status,
            last_lines(&stderr, 20)
        );
    }
    let path = parse_kubeconfig(&stdout).ok_or_else(|| {
        anyhow!(
            "`{} up` printed no `export KUBECONFIG=` line; stdout: {stdout:?}, stderr: {}",
            script.display(),
            last_lines(&stderr, 20)
        )
    })?;
    if !path.is_file() {
        bail!(
            "`control-plane up` named kubeconfig {} which does not exist",
            path.display()
        );
    }
    Ok(path)
}

/// Where the control-plane script keeps its binaries and state (its `K8S_LOCAL_HOME`).
fn local_home() -> PathBuf {
    if let Some(home) = std::env::var_os("K8S_LOCAL_HOME") {
        return PathBuf::from(home);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cache/k8s-local")
}

/// The path in the `export KUBECONFIG=<path>` line that `up` and `env` print.
pub fn parse_kubeconfig(stdout: &str) -> Option<PathBuf> {
    stdout
        .lines()
        .filter_map(|line| line.trim().strip_prefix("export KUBECONFIG="))
        .map(|path| path.trim().trim_matches(|c| c == '"' || c == '\''))
        .find(|path| !path.is_empty())
        .map(PathBuf::from)
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::parse_kubeconfig;
    use std::path::PathBuf;

    #[test]
    fn finds_the_export_line() {
        let out = "noise\nexport KUBECONFIG=/root/.cache/k8s-local/run/pki/admin.kubeconfig\n";
        assert_eq!(
            parse_kubeconfig(out),
            Some(PathBuf::from(
                "/root/.cache/k8s-local/run/pki/admin.kubeconfig"
            ))
        );
        assert_eq!(
            parse_kubeconfig("export KUBECONFIG='/a b'\n"),
            Some(PathBuf::from("/a b"))
        );
        assert_eq!(parse_kubeconfig("control-plane: already running\n"), None);
        assert_eq!(parse_kubeconfig("export KUBECONFIG=\n"), None);
    }
}
