//! Tier 2: the bundled policies absorb transient API answers. With 5% of every request
//! answered HTTP 500 and another 5% HTTP 429 (the simulator's fault layer, seeded), `drain` and
//! `restart` succeed in each of 30 seeded runs: each call retries what can safely be retried
//! within its deadline (docs/cli.md, "Transient answers"). Breaks when a 500 or a 429 reaches a
//! policy as a failure, or when a retried eviction is misjudged.

use std::path::Path;

use cutover_tests::{Cutover, Output};

/// A kubeconfig that does not exist: `--sim` never reads it.
const NO_KUBECONFIG: &str = "/nonexistent/cutover-sim-faults/kubeconfig";

/// The drain scenario's cluster (a Deployment behind a budget, a DaemonSet) with faults on
/// every request.
fn scenario(seed: u64) -> String {
    format!(
        r#"seed: {seed}
startupDelay: 5s
nodes: 3
objects:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: web, namespace: shop, labels: {{app: web}}}}
    spec:
      replicas: 6
      selector: {{matchLabels: {{app: web}}}}
      template:
        metadata: {{labels: {{app: web}}}}
        spec:
          containers: [{{name: web, image: "nginx:1.27"}}]
  - apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {{name: web, namespace: shop}}
    spec:
      minAvailable: 4
      selector: {{matchLabels: {{app: web}}}}
  - apiVersion: apps/v1
    kind: DaemonSet
    metadata: {{name: agent, namespace: kube-system, labels: {{app: agent}}}}
    spec:
      selector: {{matchLabels: {{app: agent}}}}
      template:
        metadata: {{labels: {{app: agent}}}}
        spec:
          containers: [{{name: agent, image: "example.com/node-agent:2.1"}}]
faults:
  api:
    - {{verb: "*", kind: "*", status: 500, rate: 0.05}}
    - {{verb: "*", kind: "*", status: 429, rate: 0.05}}
"#
    )
}

async fn run(args: &[&str]) -> Output {
    Cutover::run(args, Path::new(NO_KUBECONFIG)).await
}

#[tokio::test]
async fn bundled_policies_succeed_in_30_of_30_runs_with_transient_faults() {
    let dir = tempfile::tempdir().expect("scratch dir");
    let mut failures = Vec::new();
    let mut retried = 0;
    for seed in 1..=30u64 {
        let path = dir.path().join(format!("faults-{seed}.yaml"));
        std::fs::write(&path, scenario(seed)).expect("write the scenario");
        let path = path.to_str().expect("a UTF-8 path");
        let runs = [
            (
                "drain",
                vec![
                    "run",
                    "drain",
                    "--sim",
                    path,
                    "--set",
                    "node=node-1",
                    "--allow-declared",
                    "-vv",
                ],
            ),
            (
                "restart",
                vec![
                    "run",
                    "restart",
                    "--sim",
                    path,
                    "-n",
                    "shop",
                    "--set",
                    "name=web",
                    "--allow-declared",
                    "-vv",
                ],
            ),
        ];
        for (policy, args) in runs {
            let out = run(&args).await;
            // kube-rs logs every unsuccessful answer at debug level (-vv).
            if out.stderr.contains("injected by the scenario's faults.api") {
                retried += 1;
            }
            if out.code != Some(0) {
                failures.push(format!("{policy}, seed {seed}:\n{out}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 60 runs failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // The faults did fire: most runs met some.
    assert!(
        retried >= 10,
        "only {retried} of 60 runs met an injected fault"
    );
}
