//! Tier 4, on the simulator and on the real control plane: names, namespaces and selectors with URL metacharacters (tests/guests/url-escape) are `invalid` in every cluster operation, batched ones included, before any request or capability check, and reach nothing.

use std::collections::{BTreeMap, BTreeSet};

use cutover_tests::{Cutover, Output, TestNamespace, control_plane, exit, guest};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::Api;
use kube::api::{ObjectMeta, PostParams};

/// Every operation the guest attacks with (patch once per patch type).
const OPERATIONS: &[&str] = &[
    "get",
    "list",
    "apply",
    "patch-merge",
    "patch-json",
    "patch-strategic",
    "patch-apply",
    "delete",
    "scale",
    "cordon",
    "uncordon",
    "evict",
    "wait",
    "delete-with",
    "wait-all-objects",
    "wait-all-mixed",
    "wait-all-query",
    "evict-many",
    "evict-many-mixed",
];

/// At least this many (operation, input) cases: 17 names × 17 operations (12, and 5 batched:
/// `delete-with`, `wait-all-objects`, `wait-all-mixed`, `evict-many`, `evict-many-mixed`) +
/// 11 namespaces × 17 (11, the same 5 and `wait-all-query`) + 16 selectors × 2 (`list`,
/// `wait-all-query`).
const CASES: usize = 17 * 17 + 11 * 17 + 16 * 2;

/// One case as the guest logged it.
#[derive(Debug)]
struct Case {
    kind: String,
    /// The error's reason, as Rust's `{:?}` writes it (quoted, escaped).
    message: String,
}

/// The guest's per-case log lines: (operation, input) → outcome.
fn cases(out: &Output) -> BTreeMap<(String, String), Case> {
    let mut cases = BTreeMap::new();
    for line in out.stderr.lines().chain(out.stdout.lines()) {
        let Some((_, case)) = line.split_once("url-escape case ") else {
            continue;
        };
        let field = |key: &str| {
            case.split_whitespace()
                .find_map(|f| f.strip_prefix(key))
                .unwrap_or_default()
                .to_string()
        };
        let message = case
            .split_once(" message=")
            .map(|(_, m)| m.to_string())
            .unwrap_or_default();
        let outcome = Case {
            kind: field("kind="),
            message,
        };
        cases.insert((field("op="), field("input=")), outcome);
    }
    cases
}

/// Whether a refusal is the host's own check of the input, made before any request: its name
/// and namespace check (`cannot get v1/ConfigMap x?: invalid name "x?": ...`) or its selector
/// check (`the label selector is not valid: ...`). An API server's refusal of a request that
/// was sent reads otherwise (`cannot list ConfigMap in namespace shop: field label not
/// supported: ...`), and a label selector the server parsed would be `invalid` too.
fn refused_by_the_host(message: &str) -> bool {
    let message = message.trim_start_matches('"');
    message.contains(r#"invalid name \""#)
        || message.contains(r#"invalid namespace \""#)
        || message.starts_with("the label selector ")
        || message.starts_with("the field selector ")
}

/// What every run must show, on either cluster. Broken by a host that sends a hostile name to
/// the API server (any kind but `invalid`: not-found, forbidden, ok...), that checks the
/// capability first (`denied` not empty), or whose report names another object than asked.
#[track_caller]
fn assert_all_invalid(out: &Output, namespace: &str) {
    out.expect_code(exit::OK);
    let cases = cases(out);
    assert!(
        cases.len() >= CASES,
        "{} cases logged, not {CASES}\n{out}",
        cases.len()
    );
    let not_invalid: Vec<_> = cases
        .iter()
        .filter(|(_, case)| case.kind != "invalid")
        .collect();
    assert!(
        not_invalid.is_empty(),
        "not refused as invalid: {not_invalid:?}"
    );
    let sent: Vec<_> = cases
        .iter()
        .filter(|(_, case)| !refused_by_the_host(&case.message))
        .collect();
    assert!(
        sent.is_empty(),
        "refused, but not by the host's own checks before any request: {sent:?}"
    );
    let operations: BTreeSet<&str> = cases.keys().map(|(op, _)| op.as_str()).collect();
    assert_eq!(operations, OPERATIONS.iter().copied().collect(), "{out}");

    // The names are guest text wherever the host shows them (its own call and denial lines).
    let raw = cutover_tests::text::forbidden(&out.stderr);
    assert!(
        raw.is_empty(),
        "hostile names printed raw: {raw:?}\n{}",
        out.abridged()
    );

    let report = out.json();
    let summary = report["summary"].as_str().unwrap_or_default();
    assert!(
        summary.starts_with(&format!("cases={} invalid={}", cases.len(), cases.len())),
        "{summary}"
    );
    // The control calls went through: the guest's calls do reach the cluster.
    assert!(
        summary.contains("control-get=ok control-patch=ok"),
        "{summary}"
    );
    let denied = report["denied"]
        .as_array()
        .map(Vec::len)
        .unwrap_or_default();
    assert_eq!(
        denied, 0,
        "hostile names were checked against capabilities\n{report}"
    );
    let changed: Vec<&str> = report["changed"]
        .as_array()
        .map(|c| c.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        changed.len(),
        1,
        "only the control patch changed anything: {changed:?}"
    );
    assert!(
        changed[0].contains("ConfigMap") && changed[0].ends_with(&format!("{namespace}/probe")),
        "the report names another object than the one patched: {changed:?}"
    );
}

#[tokio::test]
async fn hostile_names_are_invalid_on_the_simulator() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let scenario = dir.path().join("names.yaml");
    std::fs::write(
        &scenario,
        "objects:\n\
         - {apiVersion: v1, kind: ConfigMap, metadata: {name: probe, namespace: shop}, data: {a: b}}\n\
         - {apiVersion: v1, kind: ConfigMap, metadata: {name: target, namespace: victim}, data: {a: b}}\n",
    )
    .expect("writing the scenario");
    let module = guest("url-escape");
    let out = Cutover::sim(&[
        "run",
        &module,
        "--sim",
        &scenario.display().to_string(),
        "-n",
        "shop",
        "--set",
        "victim=victim",
        "--allow-declared",
        "-o",
        "json",
    ])
    .await;
    assert_all_invalid(&out, "shop");
}

fn configmap(name: &str, namespace: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            ..ObjectMeta::default()
        },
        data: Some([("a".to_string(), "b".to_string())].into()),
        ..ConfigMap::default()
    }
}

/// The names of the ConfigMaps in `namespace`, but the one every namespace gets.
async fn configmaps(client: &kube::Client, namespace: &str) -> BTreeSet<String> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    api.list(&Default::default())
        .await
        .expect("listing ConfigMaps")
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .filter(|n| n != "kube-root-ca.crt")
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_names_are_invalid_on_the_real_plane_and_reach_nothing() {
    let kubeconfig = control_plane::ensure_up().expect("the local control plane starts");
    let client = control_plane::client().await.expect("client");
    let run = TestNamespace::create(&client, "urlesc")
        .await
        .expect("namespace");
    let victim = TestNamespace::create(&client, "victim")
        .await
        .expect("namespace");
    let (run_cms, victim_cms): (Api<ConfigMap>, Api<ConfigMap>) = (
        Api::namespaced(client.clone(), run.name()),
        Api::namespaced(client.clone(), victim.name()),
    );
    run_cms
        .create(&PostParams::default(), &configmap("probe", run.name()))
        .await
        .expect("the probe ConfigMap");
    let target = victim_cms
        .create(&PostParams::default(), &configmap("target", victim.name()))
        .await
        .expect("the victim's ConfigMap");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let victim_before = namespaces
        .get(victim.name())
        .await
        .expect("the victim namespace");

    let module = guest("url-escape");
    let out = Cutover::run(
        &[
            "run",
            &module,
            "-n",
            run.name(),
            "--set",
            &format!("victim={}", victim.name()),
            "--allow-declared",
            "-o",
            "json",
        ],
        &kubeconfig,
    )
    .await;
    // The cluster first: the victim Namespace and its ConfigMap untouched, no object created
    // under a hostile name in either namespace. Broken by any hostile name that reached a URL.
    let victim_after = namespaces
        .get(victim.name())
        .await
        .expect("the victim namespace survives");
    assert!(
        victim_after.metadata.deletion_timestamp.is_none(),
        "the victim namespace is being deleted\n{out}"
    );
    assert_eq!(
        victim_after.metadata.resource_version, victim_before.metadata.resource_version,
        "the victim namespace changed\n{out}"
    );
    let target_after = victim_cms
        .get("target")
        .await
        .unwrap_or_else(|e| panic!("the victim's ConfigMap is gone: {e}\n{out}"));
    assert_eq!(
        target_after.metadata.resource_version, target.metadata.resource_version,
        "the victim's ConfigMap changed\n{out}"
    );
    assert_eq!(
        configmaps(&client, victim.name()).await,
        BTreeSet::from(["target".to_string()]),
        "{out}"
    );
    assert_eq!(
        configmaps(&client, run.name()).await,
        BTreeSet::from(["probe".to_string()]),
        "a ConfigMap was created under a hostile name\n{out}"
    );
    // Then the report; the control patch went through.
    assert_all_invalid(&out, run.name());
    let probe = run_cms.get("probe").await.expect("the probe ConfigMap");
    let annotations = probe.metadata.annotations.unwrap_or_default();
    assert_eq!(
        annotations
            .get("cutover.test/url-escape")
            .map(String::as_str),
        Some("probed")
    );

    victim.cleanup().await.expect("cleanup");
    run.cleanup().await.expect("cleanup");
}
