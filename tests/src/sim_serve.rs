//! `cutover sim serve` in the background on a free port, for tests that talk to the simulator
//! over HTTP as they would to an API server (with kubectl's habits: a kubeconfig file).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::cutover::Cutover;

/// A running `cutover sim serve`; killed when dropped.
pub struct SimServe {
    _child: tokio::process::Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The kubeconfig it wrote.
    pub kubeconfig: PathBuf,
}

impl SimServe {
    /// Serves the built-in scenario, or `scenario`, writing its kubeconfig into `dir`.
    ///
    /// # Panics
    /// When the simulator does not start or prints no URL.
    pub async fn start(dir: &Path, scenario: Option<&Path>) -> SimServe {
        let kubeconfig = dir.join("sim.kubeconfig");
        let mut command = tokio::process::Command::new(Cutover::bin());
        command
            .args(["sim", "serve", "--port", "0", "--write-kubeconfig"])
            .arg(&kubeconfig)
            .env("HOME", Cutover::test_home())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        if let Some(scenario) = scenario {
            command.arg(scenario);
        }
        let mut child = command.spawn().expect("start cutover sim serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut port = None;
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
                port = rest
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|p| p.parse().ok());
                break;
            }
        }
        let port = port.expect("sim serve printed its URL");
        // The rest of its output is not read: keep the pipe drained so that it never blocks.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        SimServe {
            _child: child,
            port,
            kubeconfig,
        }
    }
}
