//! Stage 4 of `cutover run`: the cluster from `--kubeconfig`/`--context`/in-cluster
//! configuration, or the simulator when `--sim` is given — never the simulator by surprise.
//! Also the reachability check, bounded by `--request-timeout`.

use std::path::PathBuf;

use cutover_clock::Clock;
use cutover_sim::controllers::Controllers;
use cutover_sim::scenario::NodeFaultTimers;
use cutover_sim::{Scenario, Simulator};

use super::inputs::Inputs;
use crate::cli::{CliError, ClusterArgs, ExitCode, RunArgs};
use crate::cluster::{Cluster, ConnectOptions, Target};

/// Whether this run goes to the simulator: only when `--sim` says so.
pub(in crate::cli) fn uses_simulator(args: &RunArgs) -> bool {
    args.sim.is_some()
}

/// Whether nothing tells where a cluster is: no `--kubeconfig` or `--context`, no
/// `$KUBECONFIG`, no `~/.kube/config`, not inside a pod.
fn no_cluster_configured(cluster: &ClusterArgs) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    let home_config = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".kube").join("config"))
        .is_some_and(|path| path.exists());
    cluster.kubeconfig.is_none()
        && cluster.context.is_none()
        && !set("KUBECONFIG")
        && !home_config
        && !set("KUBERNETES_SERVICE_HOST")
}

/// The simulated cluster of one run, alive until the run ends.
pub(in crate::cli) struct SimRun {
    pub(super) controllers: Option<Controllers>,
    _node_faults: NodeFaultTimers,
    pub(super) scenario: Scenario,
    /// The simulated cluster, for a later run on it (`cutover test`'s `run.then`).
    simulator: Simulator,
}

impl SimRun {
    /// Loads the scenario into a fresh simulator on the run's clock and starts its controllers
    /// and fault timers.
    fn start(scenario: Scenario, clock: &Clock) -> Result<(SimRun, Simulator), CliError> {
        let sim = Simulator::with_clock(scenario.seed, clock.clone());
        scenario
            .install(&sim)
            .map_err(|e| CliError::bad_input(e.to_string()))?;
        let controllers = sim.start_controllers(scenario.controller_config());
        let node_faults = scenario.start_node_faults(&sim);
        Ok((
            SimRun {
                controllers: Some(controllers),
                _node_faults: node_faults,
                scenario,
                simulator: sim.clone(),
            },
            sim,
        ))
    }

    /// Starts the scenario's controllers again (a run stops them when it ends), for another
    /// run on the same simulated cluster.
    pub(super) fn restart_controllers(&mut self) {
        if self.controllers.is_none() {
            let config = self.scenario.controller_config();
            self.controllers = Some(self.simulator.start_controllers(config));
        }
    }

    /// `scenario examples/scenarios/drain.yaml, seed 7`.
    pub(super) fn describe(&self) -> String {
        match &self.scenario.source {
            Some(path) => format!("scenario {}, seed {}", path.display(), self.scenario.seed),
            None => format!(
                "built-in scenario: {} Ready nodes, seed {}",
                self.scenario.nodes.len(),
                self.scenario.seed
            ),
        }
    }
}

/// The cluster a run acts on.
pub(in crate::cli) struct Connection {
    pub(in crate::cli) cluster: Cluster,
    pub(super) target: Target,
    /// The simulator, with `--sim`.
    pub(super) sim: Option<SimRun>,
}

impl Connection {
    /// The run's namespace.
    pub(in crate::cli) fn namespace(&self) -> &str {
        &self.target.namespace
    }

    /// On the simulator, starts its controllers again (a run stops them when it ends), for work
    /// on the cluster other than a policy's run (`cutover test`'s journal `rollback` step).
    pub(in crate::cli) fn start_controllers(&mut self) {
        if let Some(sim) = self.sim.as_mut() {
            sim.restart_controllers();
        }
    }

    /// On the simulator, stops its controllers, as the end of a run does.
    pub(in crate::cli) fn stop_controllers(&mut self) {
        if let Some(controllers) = self.sim.as_mut().and_then(|sim| sim.controllers.take()) {
            controllers.stop();
        }
    }
}

/// Connects to the cluster (configures the client; no request yet) or starts the simulator.
pub(super) async fn connect(
    args: &RunArgs,
    inputs: &mut Inputs,
    clock: &Clock,
) -> Result<Connection, CliError> {
    if let Some(scenario) = inputs.scenario.take() {
        let namespace = args
            .cluster
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string());
        crate::cluster::target::check_namespace(&namespace).map_err(CliError::bad_input)?;
        let (sim, simulator) = SimRun::start(scenario, clock)?;
        // Retry backoff jitter from the seed too: the same scenario repeats to the millisecond.
        let cluster = Cluster::from_client(simulator.client(), namespace.clone(), clock.clone())
            .with_jitter_seed(sim.scenario.seed);
        let target = Target {
            context: None,
            server: "simulator".to_string(),
            namespace,
        };
        return Ok(Connection {
            cluster,
            target,
            sim: Some(sim),
        });
    }
    if no_cluster_configured(&args.cluster) {
        return Err(CliError::new(
            ExitCode::Unreachable,
            "no cluster is configured (no --kubeconfig or --context, $KUBECONFIG unset, no ~/.kube/config, not in a pod): give one, or add --sim to run the policy on the built-in simulated cluster",
        ));
    }
    let options = ConnectOptions {
        kubeconfig: args.cluster.kubeconfig.clone(),
        context: args.cluster.context.clone(),
        namespace: args.cluster.namespace.clone(),
        request_timeout: args.request_timeout,
    };
    let (cluster, target) = Cluster::connect(&options, clock.clone())
        .await
        .map_err(|e| CliError::new(ExitCode::Unreachable, e))?;
    Ok(Connection {
        cluster,
        target,
        sim: None,
    })
}

/// One cheap request, so that an unreachable cluster is reported before any guest code runs.
pub(super) async fn reach(connection: &Connection, args: &RunArgs) -> Result<(), CliError> {
    connection
        .cluster
        .check_reachable(args.request_timeout)
        .await
        .map(drop)
        .map_err(|e| CliError::new(ExitCode::Unreachable, e))
}
