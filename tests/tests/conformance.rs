//! Fidelity of the simulator, measured: each API-level scenario runs against the simulator and
//! against the real local control plane (Kubernetes 1.20 with the test kubelet), and the two
//! normalized outcomes must be equal. The scenarios are in `cutover_tests::conformance::scenarios`;
//! known differences, left out of the outcomes, are listed in docs/conformance.md.

use cutover_tests::conformance::{compare, controllers, scenarios};

#[tokio::test(flavor = "multi_thread")]
async fn create_get() {
    compare("conf-create", &[], scenarios::create_get).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn patch_of_each_type() {
    compare("conf-patch", &[], scenarios::patch).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_update_conflicts() {
    compare("conf-conflict", &[], scenarios::conflict).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_sees_changes_in_order() {
    compare("conf-watch", &[], scenarios::watch).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn eviction_with_a_budget() {
    compare("conf-evict", &["a", "b"], scenarios::eviction).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deployment_rollout() {
    compare("conf-deploy", &["a", "b"], scenarios::deployment_rollout).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn daemon_set_pod_replacement() {
    compare("conf-ds", &["a", "b"], scenarios::daemon_set_replacement).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cordon() {
    compare("conf-cordon", &["a", "b"], scenarios::cordon).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn request_limits() {
    compare("conf-limits", &[], scenarios::request_limits).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn recreate_rollout() {
    compare("conf-recreate", &["a", "b"], controllers::recreate_rollout).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rolling_update_without_surge() {
    compare(
        "conf-nosurge",
        &["a", "b"],
        controllers::rolling_update_without_surge,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rollout_undo() {
    compare("conf-undo", &["a", "b"], controllers::rollout_undo).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn paused_deployment() {
    compare("conf-paused", &["a", "b"], controllers::paused_deployment).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn defaults_on_create() {
    compare(
        "conf-defaults",
        &["a", "b"],
        controllers::defaults_on_create,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cordon_taint() {
    compare("conf-taint", &["a", "b"], controllers::cordon_taint).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn evictions_by_budget_status() {
    compare(
        "conf-evict-status",
        &["a", "b"],
        controllers::evictions_by_budget_status,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pod_field_selectors() {
    compare("conf-fields", &["a", "b"], controllers::pod_field_selectors).await;
}
