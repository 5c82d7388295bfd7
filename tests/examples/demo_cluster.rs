//! A small demo cluster on the real local control plane, for README's main command
//! (`scripts/demo`): two nodes played by the test kubelet, a Deployment `web` of 4 replicas with a
//! PodDisruptionBudget, and a DaemonSet `agent`. Prints `ready <namespace> <node> <node>` once
//! everything is running, keeps playing the kubelet until its standard input closes, then cleans up.
//!
//! Run: `cargo run -p cutover-tests --example demo_cluster`

use std::time::Duration;

use anyhow::{Context, Result};
use cutover_tests::env::SETTLE;
use cutover_tests::manifests::{self, READY_IMAGE};
use cutover_tests::{TestEnv, wait};
use k8s_openapi::api::apps::v1::Deployment;
use tokio::io::AsyncReadExt;

#[tokio::main]
async fn main() -> Result<()> {
    let env = TestEnv::start("cutover-demo", &["worker-1", "worker-2"]).await?;
    env.create(&manifests::deployment(env.group(), "web", 4, READY_IMAGE))
        .await
        .context("creating Deployment web")?;
    env.create(&manifests::daemon_set(env.group(), "agent", READY_IMAGE))
        .await
        .context("creating DaemonSet agent")?;
    env.create_pdb(&manifests::pdb("web", "web", 3))
        .await
        .context("creating PodDisruptionBudget web")?;
    wait::deployment_rolled_out(&env.api::<Deployment>(), "web", 4, SETTLE)
        .await
        .context("waiting for web to be available")?;
    // Give the disruption controller a moment to compute the budget before anyone evicts.
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!(
        "ready {} {} {}",
        env.namespace(),
        env.node("worker-1"),
        env.node("worker-2")
    );

    // Play the kubelet until the caller closes our standard input (or goes away).
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    env.finish().await
}
