//! `cutover sim serve`: the simulator over HTTP on loopback, with a kubeconfig for kubectl.

use std::io::Write;
use std::path::PathBuf;

use cutover_sim::serve::{Server, write_kubeconfig};
use cutover_sim::{Clock, Scenario, Simulator};

use super::{CliError, ExitCode, SimServeArgs};

pub(super) async fn serve(args: SimServeArgs) -> Result<ExitCode, CliError> {
    // Without a scenario: the built-in one, as `cutover run --sim` uses (three Ready nodes).
    let mut scenario = match &args.scenario {
        Some(path) => Scenario::load(path).map_err(|e| CliError::bad_input(e.to_string()))?,
        None => Scenario::default(),
    };
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    // Wall-clock time (tokio's clock): kubectl users wait in real time.
    let sim = Simulator::with_clock(scenario.seed, Clock::tokio());
    scenario
        .install(&sim)
        .map_err(|e| CliError::bad_input(e.to_string()))?;
    // Deployment/ReplicaSet/DaemonSet/StatefulSet controllers, the scheduler and the kubelet
    // stand-in, on wall-clock time (tokio's clock): what kubectl applies moves on as it would.
    let controllers = sim.start_controllers(scenario.controller_config());
    let _node_faults = scenario.start_node_faults(&sim);
    let server = Server::bind(sim, args.port).await.map_err(|e| {
        CliError::bad_input(format!("cannot listen on 127.0.0.1:{}: {e}", args.port))
    })?;
    let url = server.url();
    let (path, owned) = match args.write_kubeconfig {
        Some(path) => (path, false),
        None => (default_kubeconfig(server.local_addr().port()), true),
    };
    write_kubeconfig(&path, &url).map_err(|e| {
        CliError::bad_input(format!(
            "cannot write the kubeconfig {}: {e}",
            path.display()
        ))
    })?;
    let shown = std::path::absolute(&path).unwrap_or_else(|_| path.clone());

    let loaded = match &args.scenario {
        Some(path) => format!("scenario {}, ", path.display()),
        None => format!("built-in scenario: {} Ready nodes, ", scenario.nodes.len()),
    };
    outln!(
        "Serving the simulated cluster at {url} ({loaded}seed {})",
        scenario.seed
    );
    outln!("Kubeconfig: {} (context cutover-sim)", shown.display());
    outln!(
        "  export KUBECONFIG={}",
        shell_quote(&shown.to_string_lossy())
    );
    outln!("Press Ctrl-C to stop.");
    let _ = std::io::stdout().flush();

    let result = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    controllers.stop();
    if owned {
        // It names a server that is gone now.
        let _ = std::fs::remove_file(&path);
    }
    result
        .map_err(|e| CliError::new(ExitCode::Internal, format!("cannot wait for Ctrl-C: {e}")))?;
    outln!("Stopped.");
    Ok(ExitCode::Ok)
}

/// `<cache>/sim/kubeconfig-<port>.yaml` in the cache directory ([`crate::paths::cache_dir`]:
/// $CUTOVER_CACHE_DIR, $XDG_CACHE_HOME/cutover, ~/.cache/cutover), else the temp directory.
fn default_kubeconfig(port: u16) -> PathBuf {
    crate::paths::cache_dir()
        .unwrap_or_else(|| std::env::temp_dir().join("cutover"))
        .join("sim")
        .join(format!("kubeconfig-{port}.yaml"))
}

/// Quotes a path for a POSIX shell when it needs it.
fn shell_quote(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:@%=,".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(shell_quote("/tmp/a-b/k.yaml"), "/tmp/a-b/k.yaml");
        assert_eq!(shell_quote("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_quote("/tmp/it's"), r"'/tmp/it'\''s'");
    }
}
