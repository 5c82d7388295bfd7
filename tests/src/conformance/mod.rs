//! The conformance suite's support: one scenario, two clusters, one comparison.
//!
//! A [`Target`] is a cluster a scenario runs against: the in-process simulator
//! ([`Target::simulator`], `cutover-sim` with its controllers) or the real local control plane
//! ([`Target::real`], with a [`TestKubelet`] playing the scenario's nodes). Either way the
//! scenario gets a `kube::Client`, its own namespace and its own nodes (`<namespace>-<name>`,
//! labelled with the group, Ready), so scenarios running in parallel never see each other.
//!
//! A scenario ([`scenarios`]) is an async fn from a `&Target` to a normalized outcome: a JSON
//! value of facts that must not depend on the cluster (status codes, reasons, the fields that
//! changed, counts), never names, uids, timestamps or resourceVersions. [`compare`] runs it on
//! both targets at once and fails with the paths where the two outcomes differ. Known
//! differences of the simulator are left out of the outcomes and listed in docs/conformance.md.

pub mod controllers;
pub mod scenarios;

use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use cutover_sim::{Clock, ControllerConfig, Controllers, Simulator};
use k8s_openapi::api::core::v1::{Namespace, Node};
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client};
use serde_json::Value;

use crate::kubelet::status;
use crate::namespace::TestNamespace;
use crate::{E2E_LABEL, TestKubelet, control_plane, init_tracing, random_suffix};

/// How long a scenario waits for either cluster to settle.
pub const SETTLE: Duration = crate::env::SETTLE;

/// Which cluster a [`Target`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `cutover-sim`, in process.
    Simulator,
    /// The real local control plane (Kubernetes 1.20) with the test kubelet.
    Real,
}

enum Backend {
    Simulator {
        _sim: Simulator,
        controllers: Controllers,
    },
    Real(Box<(TestNamespace, TestKubelet)>),
}

/// A cluster for one scenario run: a client, a namespace and the scenario's nodes.
pub struct Target {
    /// Which cluster this is.
    pub kind: Kind,
    /// A client for it.
    pub client: Client,
    namespace: String,
    backend: Backend,
}

impl Target {
    /// The simulator with its controllers (pods start Ready at once, like the test kubelet's
    /// default), a namespace `<prefix>-<random>` and Ready nodes `<namespace>-<node>` labelled
    /// like the test kubelet's.
    pub async fn simulator(prefix: &str, nodes: &[&str]) -> Result<Target> {
        init_tracing();
        let seed = 7;
        let sim = Simulator::with_clock(seed, Clock::tokio());
        let controllers = sim.start_controllers(ControllerConfig {
            startup_delay: Duration::ZERO,
            seed,
            ..ControllerConfig::default()
        });
        let client = sim.client();
        let namespace = format!("{prefix}-{}", random_suffix(6));
        let namespaces: Api<Namespace> = Api::all(client.clone());
        namespaces
            .create(
                &PostParams::default(),
                &Namespace {
                    metadata: ObjectMeta {
                        name: Some(namespace.clone()),
                        labels: Some([(E2E_LABEL.to_string(), "true".to_string())].into()),
                        ..ObjectMeta::default()
                    },
                    ..Namespace::default()
                },
            )
            .await
            .context("creating the namespace on the simulator")?;
        let api: Api<Node> = Api::all(client.clone());
        for (i, node) in nodes.iter().enumerate() {
            let name = format!("{namespace}-{node}");
            let ip = format!("10.64.0.{}", i + 1);
            api.create(
                &PostParams::default(),
                &status::node(&name, &namespace, &ip, Timestamp::now()),
            )
            .await
            .with_context(|| format!("creating node {name} on the simulator"))?;
        }
        Ok(Target {
            kind: Kind::Simulator,
            client,
            namespace,
            backend: Backend::Simulator {
                _sim: sim,
                controllers,
            },
        })
    }

    /// The real local control plane (started if need be), a fresh namespace and the test
    /// kubelet playing nodes `<namespace>-<node>`.
    pub async fn real(prefix: &str, nodes: &[&str]) -> Result<Target> {
        init_tracing();
        // kube's default client retries 429s (up to 15 times, backing off to 1,000 s): that
        // would turn a refused eviction into a hang. The simulator's client has no retry layer.
        let kubeconfig = control_plane::ensure_up()?;
        let file = Kubeconfig::read_from(&kubeconfig).context("reading the kubeconfig")?;
        let mut config = kube::Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
            .await
            .context("loading the kubeconfig")?;
        config.default_retry = false;
        let client = Client::try_from(config).context("building a client")?;
        let ns = TestNamespace::create(&client, prefix).await?;
        let kubelet = TestKubelet::start(&client, ns.name(), nodes).await?;
        Ok(Target {
            kind: Kind::Real,
            client,
            namespace: ns.name().to_string(),
            backend: Backend::Real(Box::new((ns, kubelet))),
        })
    }

    /// The scenario's namespace (also the group of its nodes and workloads).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The group label value of the scenario's nodes, for workloads' `nodeSelector`.
    pub fn group(&self) -> &str {
        &self.namespace
    }

    /// The full name of the scenario's node `name`.
    pub fn node(&self, name: &str) -> String {
        format!("{}-{name}", self.namespace)
    }

    /// An API for a namespaced kind in the scenario's namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// Stops the controllers (simulator), or deletes the namespace and nodes (real plane).
    pub async fn finish(self) -> Result<()> {
        match self.backend {
            Backend::Simulator { controllers, .. } => {
                controllers.stop();
                Ok(())
            }
            Backend::Real(real) => {
                let (ns, kubelet) = *real;
                let namespace = ns.cleanup().await;
                let nodes = kubelet.shutdown().await;
                namespace.and(nodes)
            }
        }
    }
}

/// Runs `scenario` on the simulator and on the real control plane at once, and fails unless
/// both succeed with equal outcomes. `nodes` are the nodes each target gets.
pub async fn compare(name: &str, nodes: &[&str], scenario: impl AsyncFn(&Target) -> Result<Value>) {
    let (sim, real) = tokio::join!(Target::simulator(name, nodes), Target::real(name, nodes));
    let sim = sim.expect("the simulator target");
    let real = real.expect("the real control-plane target");
    let (on_sim, on_real) = tokio::join!(
        tokio::time::timeout(4 * SETTLE, scenario(&sim)),
        tokio::time::timeout(4 * SETTLE, scenario(&real))
    );
    let flatten = |r: Result<Result<Value>, _>| {
        r.map_err(|_| anyhow!("timed out after {:?}", 4 * SETTLE))
            .and_then(|r| r)
    };
    let (on_sim, on_real) = (flatten(on_sim), flatten(on_real));
    let (sim_done, real_done) = tokio::join!(sim.finish(), real.finish());
    let on_sim = on_sim.unwrap_or_else(|e| panic!("scenario {name} on the simulator: {e:#}"));
    let on_real =
        on_real.unwrap_or_else(|e| panic!("scenario {name} on the real control plane: {e:#}"));
    if on_sim != on_real {
        let mut lines = Vec::new();
        diff("", &on_sim, &on_real, &mut lines);
        panic!(
            "scenario {name}: the simulator and the real control plane differ\n{}\n\nsimulator:\n{}\n\nreal control plane:\n{}",
            lines.join("\n"),
            serde_json::to_string_pretty(&on_sim).unwrap_or_default(),
            serde_json::to_string_pretty(&on_real).unwrap_or_default(),
        );
    }
    if std::env::var_os("CUTOVER_CONFORMANCE_PRINT").is_some() {
        eprintln!(
            "scenario {name}: the same on both targets:\n{}",
            serde_json::to_string_pretty(&on_sim).unwrap_or_default()
        );
    }
    sim_done.expect("stopping the simulator");
    real_done.expect("cleaning up the real control plane");
}

/// The paths where two JSON values differ, one line each: `path: simulator <a>, real <b>`.
pub fn diff(path: &str, sim: &Value, real: &Value, out: &mut Vec<String>) {
    match (sim, real) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let null = Value::Null;
                diff(
                    &format!("{path}.{k}"),
                    a.get(k).unwrap_or(&null),
                    b.get(k).unwrap_or(&null),
                    out,
                );
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(&format!("{path}[{i}]"), x, y, out);
            }
        }
        (a, b) if a != b => out.push(format!(
            "  {}: simulator {a}, real {b}",
            if path.is_empty() { "." } else { path }
        )),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn diff_names_the_differing_paths() {
        let mut out = Vec::new();
        super::diff(
            "",
            &json!({"a": 1, "b": [1, 2], "c": {"d": "x"}}),
            &json!({"a": 1, "b": [1, 3], "c": {"d": "y", "e": true}}),
            &mut out,
        );
        assert_eq!(
            out,
            vec![
                "  .b[1]: simulator 2, real 3",
                "  .c.d: simulator \"x\", real \"y\"",
                "  .c.e: simulator null, real true",
            ]
        );
    }
}
