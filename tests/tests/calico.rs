//! End to end: Calico's upgrade procedures on the real control plane.
//!
//! `networkpolicy-v1-migration` on two test namespaces of its own (`shop`, isolated the pre-v1
//! way by the DefaultDeny annotation, and `dev`, not isolated), named in `namespaces` so that
//! no other test's namespace is touched: a dry run prints its table and changes nothing; the
//! run deletes dev's policy and gives shop a deny-all one; `cutover rollback <release> 0` (the
//! journal) restores the policies exactly. A delete the API server refuses (a validating
//! webhook that nobody serves, `failurePolicy: Fail`) fails a run midway; `cutover rollback`
//! runs the policy's undo and the policies are as before.
//!
//! `calico-upgrade` with the shipped examples (examples/scenarios/calico.yaml's kube-system
//! objects as the cluster before, examples/calico/ as the new manifests), pinned to the test's
//! nodes, in a test namespace standing in for kube-system: one run migrates the policies,
//! applies calico-config, moves the policy controller from its ReplicaSet to a Recreate
//! Deployment and upgrades calico-node node by node; a calico-node that never becomes Ready
//! fails the run at the first node (left cordoned), and one `cutover rollback` undoes it all.

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};

use cutover_tests::env::SETTLE;
use cutover_tests::{
    GROUP_LABEL, Output, TestEnv, TestNamespace, control_plane, exit, state, wait,
};

/// The namespace annotation that isolated a namespace before v1 NetworkPolicy semantics.
const ANNOTATION: &str = "net.beta.kubernetes.io/network-policy";
/// Its one isolating value, as Calico's guide writes it.
const DEFAULT_DENY: &str = r#"{"ingress": {"isolation": "DefaultDeny"}}"#;
/// The annotation on each deny-all policy the migration creates.
const CREATED_BY: &str = "cutover.dev/networkpolicy-v1-migration";
/// The deny-all policy's name (the `deny-policy-name` default).
const DENY_POLICY: &str = "default-deny";
/// NetworkPolicies carrying this label (with the test's value) cannot be deleted while the
/// test's [`RefuseDeletes`] webhook is registered.
const REFUSE_LABEL: &str = "cutover.test/refuse-delete";

/// The shipped examples: the cluster before (a scenario) and the new manifests.
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
/// The Calico release every calico-upgrade run writes.
const RELEASE: &str = "calico";
/// `from-version` of every calico-upgrade run: before Calico 2.0, so the migration comes first.
const FROM_VERSION: &str = "from-version=v1.6.0";
/// The test's nodes, in the order the policy takes them (by name).
const NODES: [&str; 3] = ["a", "b", "c"];
/// `node-timeout` of the failing run: the run takes about that long, nearly all of it waiting.
const NODE_TIMEOUT: &str = "node-timeout=10s";
/// The names of the shipped Calico objects.
const CALICO_NODE: &str = "calico-node";
const CONFIG: &str = "calico-config";
const OLD_CONTROLLER: &str = "calico-policy-controller";
const NEW_CONTROLLER: &str = "calico-kube-controllers";

/// What the tests compare of a NetworkPolicy.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    uid: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    spec: Value,
}

/// NetworkPolicies by `namespace/name`.
type Policies = BTreeMap<String, Seen>;

/// The NetworkPolicies of `namespaces`, as the API server has them now.
async fn policies_in(client: &Client, namespaces: &[&str]) -> Policies {
    let mut all = Policies::new();
    for ns in namespaces {
        let api: Api<NetworkPolicy> = Api::namespaced(client.clone(), ns);
        let list = match api.list(&ListParams::default()).await {
            Ok(list) => list,
            Err(e) => panic!("listing the NetworkPolicies of {ns}: {e}"),
        };
        for p in list.items {
            let spec = serde_json::to_value(&p.spec).expect("a NetworkPolicy spec as JSON");
            let seen = Seen {
                uid: p.metadata.uid.clone().unwrap_or_default(),
                labels: p.labels().clone(),
                annotations: p.annotations().clone(),
                spec,
            };
            all.insert(format!("{ns}/{}", p.name_any()), seen);
        }
    }
    all
}

fn network_policy(namespace: &str, name: &str, labels: Value, spec: Value) -> NetworkPolicy {
    let object = json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": spec,
    });
    serde_json::from_value(object).expect("a NetworkPolicy")
}

/// Two namespaces to migrate, as examples/scenarios/calico.yaml has them (with labels on the
/// policies, which a restore must keep): `shop`, isolated by the DefaultDeny annotation, with
/// `allow-web`; `dev`, not isolated, with `only-frontend`, which pre-v1 semantics ignored.
struct Migration {
    shop: TestNamespace,
    dev: TestNamespace,
    /// The policies of both, as created.
    before: Policies,
}

impl Migration {
    /// Creates the namespaces and their policies. With `refused`, dev also gets
    /// `z-monitoring` labelled `cutover.test/refuse-delete=<refused>`: last in the plan's
    /// deletes (they go by name), after `only-frontend`.
    async fn create(client: &Client, prefix: &str, refused: Option<&str>) -> Migration {
        let shop = TestNamespace::create(client, &format!("{prefix}-shop"))
            .await
            .expect("namespace shop");
        let dev = TestNamespace::create(client, &format!("{prefix}-dev"))
            .await
            .expect("namespace dev");
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let isolate = json!({"metadata": {"annotations": {ANNOTATION: DEFAULT_DENY}}});
        namespaces
            .patch(
                shop.name(),
                &PatchParams::default(),
                &Patch::Merge(&isolate),
            )
            .await
            .expect("annotate namespace shop DefaultDeny");
        let mut policies = vec![
            network_policy(
                shop.name(),
                "allow-web",
                json!({"team": "web"}),
                json!({"podSelector": {"matchLabels": {"app": "web"}},
                       "ingress": [{"ports": [{"port": 80, "protocol": "TCP"}]}]}),
            ),
            network_policy(
                dev.name(),
                "only-frontend",
                json!({"team": "api", "tier": "backend"}),
                json!({"podSelector": {"matchLabels": {"app": "api"}},
                       "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "frontend"}}}]}]}),
            ),
        ];
        if let Some(refused) = refused {
            policies.push(network_policy(
                dev.name(),
                "z-monitoring",
                json!({REFUSE_LABEL: refused}),
                json!({"podSelector": {}, "ingress": [{"ports": [{"port": 9090}]}]}),
            ));
        }
        for p in &policies {
            let api: Api<NetworkPolicy> =
                Api::namespaced(client.clone(), p.namespace().as_deref().unwrap_or_default());
            if let Err(e) = api.create(&PostParams::default(), p).await {
                panic!("creating NetworkPolicy {}: {e}", p.name_any());
            }
        }
        let mut migration = Migration {
            shop,
            dev,
            before: Policies::new(),
        };
        migration.before = migration.now(client).await;
        assert_eq!(
            migration.before.len(),
            policies.len(),
            "setup: the policies"
        );
        migration
    }

    /// `namespaces=<shop>,<dev>`: the run's `--set`, so that only these two are migrated.
    fn param(&self) -> String {
        format!("namespaces={},{}", self.shop.name(), self.dev.name())
    }

    fn shop(&self, name: &str) -> String {
        format!("{}/{name}", self.shop.name())
    }

    fn dev(&self, name: &str) -> String {
        format!("{}/{name}", self.dev.name())
    }

    async fn now(&self, client: &Client) -> Policies {
        policies_in(client, &[self.shop.name(), self.dev.name()]).await
    }

    /// The migration's changes in order: shop's deny-all policy created, then dev's
    /// `only-frontend` deleted.
    fn changes(&self) -> [String; 2] {
        [
            format!(
                "apply networking.k8s.io/v1/NetworkPolicy {}",
                self.shop(DENY_POLICY)
            ),
            format!(
                "delete networking.k8s.io/v1/NetworkPolicy {}",
                self.dev("only-frontend")
            ),
        ]
    }

    /// Migrated: shop keeps `allow-web` untouched and has the deny-all policy (podSelector
    /// {}, policyTypes [Ingress], no rules, the migration's annotation); dev has only `left`,
    /// untouched.
    async fn expect_migrated(&self, client: &Client, left: &[&str]) {
        let now = self.now(client).await;
        let mut expected = vec![self.shop("allow-web"), self.shop(DENY_POLICY)];
        expected.extend(left.iter().map(|name| self.dev(name)));
        expected.sort();
        assert_eq!(
            now.keys().cloned().collect::<Vec<_>>(),
            expected,
            "{now:#?}"
        );
        for key in expected.iter().filter(|k| **k != self.shop(DENY_POLICY)) {
            assert_eq!(now[key], self.before[key], "{key} changed");
        }
        let deny = &now[&self.shop(DENY_POLICY)];
        assert_eq!(
            deny.spec,
            json!({"podSelector": {}, "policyTypes": ["Ingress"]}),
            "the deny-all policy"
        );
        assert!(
            deny.annotations.contains_key(CREATED_BY),
            "the deny-all policy lacks {CREATED_BY}: {deny:?}"
        );
    }

    /// As before: the same policies, each with its spec, labels and annotations; those of
    /// `recreated` (keys) are new objects (another uid), the others the very same.
    async fn expect_as_before(&self, client: &Client, recreated: &[String]) {
        let now = self.now(client).await;
        assert_eq!(
            now.keys().collect::<Vec<_>>(),
            self.before.keys().collect::<Vec<_>>(),
            "{now:#?}"
        );
        for (key, was) in &self.before {
            let is = &now[key];
            assert_eq!(is.spec, was.spec, "the spec of {key}");
            assert_eq!(is.labels, was.labels, "the labels of {key}");
            assert_eq!(is.annotations, was.annotations, "the annotations of {key}");
            if recreated.contains(key) {
                assert_ne!(is.uid, was.uid, "{key} was not created again");
            } else {
                assert_eq!(is.uid, was.uid, "{key} was replaced");
            }
        }
    }

    async fn cleanup(self) -> anyhow::Result<()> {
        let shop = self.shop.cleanup().await;
        let dev = self.dev.cleanup().await;
        shop.and(dev)
    }
}

/// A validating webhook that makes the API server refuse every delete of a NetworkPolicy
/// labelled `cutover.test/refuse-delete=<value>`: it names a URL nobody serves, so with
/// `failurePolicy: Fail` each such delete is answered `Internal error occurred: failed calling
/// webhook` — a real API error, as from an admission webhook that is down. Only objects with
/// the test's unique label match it. Deleted by [`RefuseDeletes::remove`], or (best effort)
/// when dropped.
struct RefuseDeletes {
    client: Client,
    name: String,
    removed: bool,
}

impl RefuseDeletes {
    async fn register(client: &Client, value: &str) -> RefuseDeletes {
        let name = format!("cutover-test-refuse-delete-{value}");
        let config: ValidatingWebhookConfiguration = serde_json::from_value(json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": name, "labels": {cutover_tests::E2E_LABEL: "true"}},
            "webhooks": [{
                "name": format!("refuse-delete.{value}.cutover.test"),
                // The discard port: nothing there speaks TLS, let alone admission.
                "clientConfig": {"url": "https://127.0.0.1:9/refuse"},
                "rules": [{"apiGroups": ["networking.k8s.io"], "apiVersions": ["v1"],
                           "operations": ["DELETE"], "resources": ["networkpolicies"]}],
                "objectSelector": {"matchLabels": {REFUSE_LABEL: value}},
                "failurePolicy": "Fail",
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "timeoutSeconds": 2,
            }],
        }))
        .expect("a ValidatingWebhookConfiguration");
        let api: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
        if let Err(e) = api.create(&PostParams::default(), &config).await {
            panic!("registering the webhook {name}: {e}");
        }
        RefuseDeletes {
            client: client.clone(),
            name,
            removed: false,
        }
    }

    async fn remove(mut self) -> anyhow::Result<()> {
        self.removed = true;
        delete_webhook(self.client.clone(), self.name.clone()).await
    }
}

async fn delete_webhook(client: Client, name: String) -> anyhow::Result<()> {
    let api: Api<ValidatingWebhookConfiguration> = Api::all(client);
    match api.delete(&name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(e) => Err(anyhow::anyhow!("deleting the webhook {name}: {e}")),
    }
}

impl Drop for RefuseDeletes {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        // A panicking test: the test's runtime may be unwinding, so a thread of its own with
        // a runtime and a client of its own, bounded in time.
        let Some(kubeconfig) = control_plane::started_kubeconfig() else {
            return;
        };
        let name = self.name.clone();
        let thread = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let work = async {
                    let client = control_plane::client_from(&kubeconfig).await?;
                    delete_webhook(client, name.clone()).await
                };
                match tokio::time::timeout(std::time::Duration::from_secs(15), work).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => eprintln!("cleanup of the webhook {name} failed: {e:#}"),
                    Err(_) => eprintln!("cleanup of the webhook {name} timed out"),
                }
            });
        });
        let _ = thread.join();
    }
}

/// `cutover <args> -n <namespace>` in `env`.
async fn cutover_in(env: &TestEnv, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(["-n", env.namespace()]);
    env.cutover(&all).await
}

/// The statuses (and descriptions) of `release`'s revisions, oldest first.
async fn history(env: &TestEnv, release: &str) -> Vec<(String, String)> {
    let out = cutover_in(env, &["history", release, "-o", "json"]).await;
    out.expect_code(exit::OK);
    out.json()
        .as_array()
        .unwrap_or_else(|| panic!("not an array of revisions\n{out}"))
        .iter()
        .map(|r| {
            let text = |key: &str| r[key].as_str().unwrap_or_default().to_string();
            (text("status"), text("description"))
        })
        .collect()
}

async fn statuses(env: &TestEnv, release: &str) -> Vec<String> {
    history(env, release)
        .await
        .into_iter()
        .map(|(status, _)| status)
        .collect()
}

/// The report's `changed` lines (`-o json`).
fn changed(out: &Output) -> Vec<String> {
    out.json()["changed"]
        .as_array()
        .unwrap_or_else(|| panic!("no `changed` in the report\n{out}"))
        .iter()
        .map(|line| line.as_str().unwrap_or_default().to_string())
        .collect()
}

/// The dry run's table: the cells of each `info:` line of stdout, header first.
fn table(out: &Output) -> Vec<Vec<String>> {
    out.stdout
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("info: "))
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// `cutover run networkpolicy-v1-migration --release <release> --allow-declared --set
/// namespaces=<shop>,<dev> <extra> -n <env's namespace>`.
async fn migrate(env: &TestEnv, release: &str, m: &Migration, extra: &[&str]) -> Output {
    let only = m.param();
    let mut args = vec![
        "run",
        "networkpolicy-v1-migration",
        "--release",
        release,
        "--allow-declared",
        "--set",
        &only,
    ];
    args.extend(extra);
    cutover_in(env, &args).await
}

#[tokio::test(flavor = "multi_thread")]
async fn networkpolicies_migrate_then_roll_back_through_the_journal() {
    // The release's namespace; the migration's are the two of `Migration`.
    let env = TestEnv::start("np-migration", &[]).await.expect("test env");
    let m = Migration::create(&env.client, "np-migration", None).await;
    let release = "np";

    // 1. The dry run prints the plan as a table, one line per namespace (only the two named),
    // and changes nothing: no policy, no revision.
    let out = migrate(&env, release, &m, &["--dry-run"]).await;
    out.expect_code(exit::OK);
    let row = |cells: [&str; 4]| cells.map(String::from).to_vec();
    let mut rows = vec![
        row([m.dev.name(), "none", "only-frontend", "-"]),
        row([m.shop.name(), "DefaultDeny", "-", DENY_POLICY]),
    ];
    rows.sort();
    rows.insert(0, row(["NAMESPACE", "ANNOTATION", "DELETE", "CREATE"]));
    assert_eq!(table(&out), rows, "{out}");
    assert!(
        out.stdout.contains(
            "dry run: would delete 1 NetworkPolicy and create 1 deny-all NetworkPolicy in 2 \
             namespaces; nothing changed"
        ),
        "{out}"
    );
    assert_eq!(
        m.now(&env.client).await,
        m.before,
        "the dry run changed a policy"
    );
    let out = cutover_in(&env, &["history", release]).await;
    assert!(
        out.code != Some(exit::OK) && out.stderr.contains("not found"),
        "the dry run wrote a revision\n{out}"
    );

    // 2. The run: dev's policy deleted, shop's kept and a deny-all one added; deployed.
    let out = migrate(&env, release, &m, &["-o", "json"]).await;
    out.expect_code(exit::OK);
    let report = out.json();
    assert_eq!(report["status"], "succeeded", "{out}");
    assert_eq!(report["releaseStatus"], "deployed", "{out}");
    assert_eq!(changed(&out), m.changes(), "{out}");
    m.expect_migrated(&env.client, &[]).await;
    assert_eq!(statuses(&env, release).await, ["deployed"]);

    // 3. Back to before the release: the journal deletes the deny-all policy (by uid) and
    // creates only-frontend again, spec and labels as they were.
    let out = cutover_in(&env, &["rollback", release, "0", "-o", "json"]).await;
    out.expect_code(exit::OK);
    let report = out.json();
    assert_eq!(report["status"], "deployed", "{out}");
    for key in ["conflicts", "failed", "irreversible"] {
        assert_eq!(report["report"][key], json!([]), "{key}\n{out}");
    }
    assert_eq!(
        report["report"]["undone"].as_array().map(Vec::len),
        Some(2),
        "{out}"
    );
    m.expect_as_before(&env.client, &[m.dev("only-frontend")])
        .await;
    assert_eq!(statuses(&env, release).await, ["superseded", "deployed"]);

    m.cleanup()
        .await
        .expect("cleanup of the migrated namespaces");
    env.finish().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_the_api_server_refuses_fails_the_migration_and_the_policy_undoes_it() {
    let env = TestEnv::start("np-refused", &[]).await.expect("test env");
    let refused = env.namespace().to_string();
    let m = Migration::create(&env.client, "np-refused", Some(&refused)).await;
    let webhook = RefuseDeletes::register(&env.client, &refused).await;
    let release = "np";

    // The deny-all policy is created, only-frontend deleted, then the API server refuses
    // z-monitoring's delete: the run fails there, the revision failed and not undone.
    let out = migrate(&env, release, &m, &["-o", "json"]).await;
    out.expect_error(
        exit::POLICY_FAILED,
        &[
            &format!("deleting NetworkPolicy {}", m.dev("z-monitoring")),
            "failed calling webhook",
        ],
    );
    assert_eq!(out.json()["status"], "failed", "{out}");
    assert_eq!(changed(&out), m.changes(), "{out}");
    m.expect_migrated(&env.client, &["z-monitoring"]).await;
    assert_eq!(statuses(&env, release).await, ["failed"]);

    // `cutover rollback` runs the policy's undo from its checkpoint (the policy declares
    // rollback_by_policy), newest first: only-frontend created again, the deny-all policy
    // deleted; z-monitoring, never deleted, is left as it is.
    let out = cutover_in(
        &env,
        &["rollback", release, "--allow-declared", "-o", "json"],
    )
    .await;
    out.expect_code(exit::OK);
    let report = out.json();
    assert_eq!(report["status"], "rolled-back", "{out}");
    assert_eq!(report["rolledBackByPolicy"], true, "{out}");
    m.expect_as_before(&env.client, &[m.dev("only-frontend")])
        .await;
    let revisions = history(&env, release).await;
    assert_eq!(revisions.len(), 1, "{revisions:?}");
    assert_eq!(revisions[0].0, "failed", "{revisions:?}");
    assert!(
        revisions[0]
            .1
            .starts_with("Rolled back by the policy (attempt 2): "),
        "{revisions:?}"
    );

    webhook.remove().await.expect("remove the webhook");
    m.cleanup()
        .await
        .expect("cleanup of the migrated namespaces");
    env.finish().await.expect("cleanup");
}

/// A shipped example file of examples/ as JSON.
fn example(path: &str) -> Value {
    let path = Path::new(EXAMPLES).join(path);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

/// `object` in `namespace`, its pods (if it makes any) pinned to `group`'s nodes: the real
/// scheduler would otherwise use any test's nodes.
fn pinned(mut object: Value, namespace: &str, group: &str) -> Value {
    object["metadata"]["namespace"] = json!(namespace);
    if let Some(spec) = object
        .pointer_mut("/spec/template/spec")
        .and_then(Value::as_object_mut)
    {
        spec.insert("nodeSelector".into(), json!({GROUP_LABEL: group}));
        spec.insert("automountServiceAccountToken".into(), json!(false));
    }
    object
}

fn typed<K: serde::de::DeserializeOwned>(object: &Value) -> K {
    serde_json::from_value(object.clone()).unwrap_or_else(|e| {
        panic!(
            "{} is not a {}: {e}",
            object["metadata"]["name"], object["kind"]
        )
    })
}

fn first_image(object: &Value) -> &str {
    object["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
}

fn image_of(pod: &Pod) -> &str {
    pod.spec
        .iter()
        .flat_map(|s| s.containers.first())
        .find_map(|c| c.image.as_deref())
        .unwrap_or_default()
}

/// What calico-upgrade starts from, and the state before the run.
struct Upgrade {
    env: TestEnv,
    migration: Migration,
    /// The new manifests, one file each, for the run's input.
    dir: tempfile::TempDir,
    /// calico-node's image before and in the new manifest.
    old_image: String,
    new_image: String,
    /// The new calico-config's data.
    new_config: Value,
    /// calico-config's data, calico-node and its pods (by node) before the run.
    old_config: Value,
    daemon_set: DaemonSet,
    pods: BTreeMap<String, Pod>,
}

impl Upgrade {
    /// A test namespace standing in for kube-system with examples/scenarios/calico.yaml's
    /// kube-system objects (calico-config, calico-node on the three nodes, the old policy
    /// controller's ReplicaSet), Ready; the two migration namespaces; and examples/calico/'s
    /// new manifests for this namespace, calico-node's image replaced by `new_image` if given.
    async fn start(prefix: &str, new_image: Option<&str>) -> Upgrade {
        let env = TestEnv::start(prefix, &NODES).await.expect("test env");
        let (ns, group) = (env.namespace().to_string(), env.group().to_string());
        let scenario = example("scenarios/calico.yaml");
        let objects = scenario["objects"]
            .as_array()
            .expect("the scenario's objects");
        let mut old_config = Value::Null;
        let mut old_image = String::new();
        for object in objects
            .iter()
            .filter(|o| o["metadata"]["namespace"] == "kube-system")
        {
            let object = pinned(object.clone(), &ns, &group);
            match object["kind"].as_str().unwrap_or_default() {
                "ConfigMap" => {
                    old_config = object["data"].clone();
                    env.create(&typed::<ConfigMap>(&object))
                        .await
                        .expect("create calico-config");
                }
                "DaemonSet" => {
                    old_image = first_image(&object).to_string();
                    env.create(&typed::<DaemonSet>(&object))
                        .await
                        .expect("create calico-node");
                }
                "ReplicaSet" => {
                    env.create(&typed::<ReplicaSet>(&object))
                        .await
                        .expect("create the policy controller's ReplicaSet");
                }
                other => panic!("the scenario's kube-system holds a {other}"),
            }
        }
        wait::daemon_set_ready(&env.api::<DaemonSet>(), CALICO_NODE, 3, SETTLE)
            .await
            .expect("calico-node Ready on the three nodes");
        replica_set_ready(&env, 1).await;

        let migration = Migration::create(&env.client, prefix, None).await;

        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut new_config = Value::Null;
        let mut new = String::new();
        for file in ["calico-node", "calico-kube-controllers", "calico-config"] {
            let mut object = pinned(example(&format!("calico/{file}.yaml")), &ns, &group);
            if file == "calico-node" {
                if let Some(image) = new_image {
                    object["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
                }
                new = first_image(&object).to_string();
            }
            if file == "calico-config" {
                new_config = object["data"].clone();
            }
            let text = serde_json::to_string_pretty(&object).expect("JSON");
            std::fs::write(dir.path().join(format!("{file}.json")), text)
                .expect("write a manifest");
        }
        assert_ne!(
            old_config, new_config,
            "setup: the examples change calico-config"
        );
        assert_ne!(
            old_image, new,
            "setup: the examples change calico-node's image"
        );

        let mut upgrade = Upgrade {
            daemon_set: env
                .api::<DaemonSet>()
                .get(CALICO_NODE)
                .await
                .expect("read calico-node"),
            env,
            migration,
            dir,
            old_image,
            new_image: new,
            new_config,
            old_config,
            pods: BTreeMap::new(),
        };
        upgrade.pods = upgrade.nodes_run(&upgrade.old_image.clone()).await;
        upgrade
    }

    fn ns(&self) -> &str {
        self.env.namespace()
    }

    fn nodes(&self) -> Vec<String> {
        NODES.iter().map(|n| self.env.node(n)).collect()
    }

    /// `cutover run calico-upgrade <folder> -n <ns> --release calico --allow-declared
    /// --set from-version=v1.6.0 --set namespaces=<shop>,<dev> --set node-selector=<the
    /// test's nodes> -o json <extra>`.
    async fn run(&self, extra: &[&str]) -> Output {
        let dir = self.dir.path().display().to_string();
        let only = self.migration.param();
        let selector = format!("node-selector={GROUP_LABEL}={}", self.env.group());
        let mut args = vec![
            "run",
            "calico-upgrade",
            &dir,
            "--release",
            RELEASE,
            "--allow-declared",
            "--set",
            FROM_VERSION,
            "--set",
            &only,
            "--set",
            &selector,
            "-o",
            "json",
        ];
        args.extend(extra);
        cutover_in(&self.env, &args).await
    }

    async fn pods(&self, app: &str) -> Vec<Pod> {
        let api: Api<Pod> = self.env.api();
        match api
            .list(&ListParams::default().labels(&format!("k8s-app={app}")))
            .await
        {
            Ok(list) => list.items,
            Err(e) => panic!("listing the pods k8s-app={app}: {e}"),
        }
    }

    /// Waits until every node runs exactly one pod of calico-node, of `image`, Ready, and
    /// no other (none terminating); returns them by node.
    async fn nodes_run(&self, image: &str) -> BTreeMap<String, Pod> {
        let nodes = self.nodes();
        let config = watcher::Config::default().labels(&format!("k8s-app={CALICO_NODE}"));
        let pods = wait::until_list(
            &self.env.api::<Pod>(),
            config,
            SETTLE,
            &format!("one Ready calico-node pod of {image} on each node"),
            |pods| {
                let on: Vec<Option<&str>> = pods.iter().map(state::node_of).collect();
                let good = pods
                    .iter()
                    .all(|p| image_of(p) == image && state::pod_ready(p) && !state::terminating(p));
                let placed = nodes
                    .iter()
                    .all(|n| on.iter().filter(|o| **o == Some(n)).count() == 1);
                if good && placed && pods.len() == nodes.len() {
                    Ok(())
                } else {
                    Err(state::describe_pods(pods))
                }
            },
        )
        .await
        .expect("calico-node on every node");
        pods.into_iter()
            .map(|p| (state::node_of(&p).unwrap_or_default().to_string(), p))
            .collect()
    }

    async fn unschedulable(&self, node: &str) -> bool {
        state::unschedulable(&self.env.client, node)
            .await
            .expect("read the node")
    }

    async fn daemon_set(&self) -> DaemonSet {
        self.env
            .api::<DaemonSet>()
            .get(CALICO_NODE)
            .await
            .expect("read calico-node")
    }

    async fn config_data(&self) -> Value {
        let cm = self
            .env
            .api::<ConfigMap>()
            .get(CONFIG)
            .await
            .expect("read calico-config");
        serde_json::to_value(cm.data).expect("JSON")
    }

    async fn replica_set(&self) -> ReplicaSet {
        self.env
            .api::<ReplicaSet>()
            .get(OLD_CONTROLLER)
            .await
            .expect("read the old policy controller's ReplicaSet")
    }

    /// The new policy controller is rolled out: one pod, Ready; the old one has none.
    async fn expect_new_controller(&self) {
        wait::deployment_rolled_out(&self.env.api::<Deployment>(), NEW_CONTROLLER, 1, SETTLE)
            .await
            .expect("calico-kube-controllers rolled out");
        let pods = self.pods(NEW_CONTROLLER).await;
        assert!(
            pods.len() == 1 && state::pod_ready(&pods[0]) && !state::terminating(&pods[0]),
            "calico-kube-controllers' pods: {}",
            state::describe_pods(&pods)
        );
        let rs = self.replica_set().await;
        assert_eq!(rs.spec.replicas, Some(0), "the ReplicaSet's replicas");
        let old = self.pods(OLD_CONTROLLER).await;
        assert!(
            old.is_empty(),
            "the old controller runs: {}",
            state::describe_pods(&old)
        );
    }
}

/// Waits until the old policy controller's ReplicaSet has `replicas` Ready of `replicas`.
async fn replica_set_ready(env: &TestEnv, replicas: i32) -> ReplicaSet {
    let what = format!("ReplicaSet {OLD_CONTROLLER} Ready with {replicas}");
    let rs = wait::until(
        &env.api::<ReplicaSet>(),
        OLD_CONTROLLER,
        SETTLE,
        &what,
        |rs| {
            let Some(rs) = rs else {
                return Err("it does not exist".into());
            };
            let want = rs.spec.replicas;
            let status = rs.status.clone().unwrap_or_default();
            if want == Some(replicas)
                && status.replicas == replicas
                && status.ready_replicas == Some(replicas)
            {
                Ok(())
            } else {
                Err(format!("spec {want:?}, status {status:?}"))
            }
        },
    )
    .await
    .expect("the ReplicaSet Ready");
    rs.unwrap_or_else(|| panic!("{what}: gone"))
}

/// `(updateStrategy.type, the container's image)` of a DaemonSet.
fn shape(ds: &DaemonSet) -> (Option<String>, Option<String>) {
    let spec = ds.spec.clone();
    let image = spec
        .template
        .spec
        .and_then(|s| s.containers.first().and_then(|c| c.image.clone()));
    (spec.update_strategy.and_then(|s| s.type_), image)
}

#[tokio::test(flavor = "multi_thread")]
async fn calico_is_upgraded_in_one_release() {
    let u = Upgrade::start("calico-upgrade", None).await;
    let m = &u.migration;

    let out = u.run(&[]).await;
    out.expect_code(exit::OK);
    let report = out.json();
    assert_eq!(report["status"], "succeeded", "{out}");
    assert!(
        report["summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("Calico upgraded: ")),
        "{out}"
    );

    // 1. The NetworkPolicies, 2. calico-config, 3. the policy controller, 4. calico-node.
    m.expect_migrated(&u.env.client, &[]).await;
    assert_eq!(u.config_data().await, u.new_config, "calico-config's data");
    u.expect_new_controller().await;
    assert_eq!(
        shape(&u.daemon_set().await),
        (Some("OnDelete".into()), Some(u.new_image.clone()))
    );
    let now = u.nodes_run(&u.new_image).await;
    for node in u.nodes() {
        assert!(!u.unschedulable(&node).await, "{node} is left cordoned");
        assert_ne!(
            state::uid(&now[&node]),
            state::uid(&u.pods[&node]),
            "the pod on {node} was not replaced"
        );
    }
    assert_eq!(statuses(&u.env, RELEASE).await, ["deployed"]);

    // In that order, then node by node in node order.
    let ns = u.ns();
    let mut expected = m.changes().to_vec();
    expected.extend([
        format!("apply v1/ConfigMap {ns}/{CONFIG}"),
        format!("scale apps/v1/ReplicaSet {ns}/{OLD_CONTROLLER} to 0"),
        format!("apply apps/v1/Deployment {ns}/{NEW_CONTROLLER}"),
        format!("apply apps/v1/DaemonSet {ns}/{CALICO_NODE}"),
    ]);
    for node in u.nodes() {
        expected.extend([
            format!("cordon v1/Node {node}"),
            format!("delete v1/Pod {ns}/{}", u.pods[&node].name_any()),
            format!("uncordon v1/Node {node}"),
        ]);
    }
    assert_eq!(changed(&out), expected, "{out}");

    u.migration
        .cleanup()
        .await
        .expect("cleanup of the migrated namespaces");
    u.env.finish().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_calico_upgrade_is_rolled_back_by_the_policy() {
    // By the test kubelet's image convention its containers run but never become ready; the
    // tag still reads as Calico 3.27.3.
    let broken = "docker.io/calico/node:v3.27.3-never-ready";
    let u = Upgrade::start("calico-upgrade-fails", Some(broken)).await;
    let m = &u.migration;
    let nodes = u.nodes();
    let (first, rest) = (&nodes[0], &nodes[1..]);

    // Everything before calico-node is done; the first node's new pod is never Ready.
    let out = u.run(&["--set", NODE_TIMEOUT]).await;
    out.expect_error(
        exit::POLICY_FAILED,
        &[
            &format!("node {first}"),
            &format!("node {first} is left cordoned"),
        ],
    );
    assert_eq!(out.json()["status"], "failed", "{out}");
    assert!(u.unschedulable(first).await, "{first} was uncordoned");
    for node in rest {
        assert!(!u.unschedulable(node).await, "{node} was cordoned");
    }
    // The first node runs the new pod, not Ready; the others their old pods.
    let pods = u.pods(CALICO_NODE).await;
    let on = |node: &str| -> Vec<&Pod> {
        pods.iter()
            .filter(|p| state::node_of(p) == Some(node) && !state::terminating(p))
            .collect()
    };
    let fresh = on(first);
    assert!(
        fresh.len() == 1 && image_of(fresh[0]) == broken && !state::pod_ready(fresh[0]),
        "on {first}: {}",
        state::describe_pods(&pods)
    );
    for node in rest {
        let old = on(node);
        assert!(
            old.len() == 1 && state::uid(old[0]) == state::uid(&u.pods[node]),
            "the pod on {node} changed: {}",
            state::describe_pods(&pods)
        );
    }
    m.expect_migrated(&u.env.client, &[]).await;
    assert_eq!(u.config_data().await, u.new_config, "calico-config's data");
    u.expect_new_controller().await;
    assert_eq!(statuses(&u.env, RELEASE).await, ["failed"]);

    // One rollback, by the policy, newest first: calico-node (template back, the first
    // node's pod replaced, uncordoned, strategy back), the policy controller (Deployment
    // deleted, the ReplicaSet back at 1), calico-config, the NetworkPolicies.
    let out = cutover_in(
        &u.env,
        &["rollback", RELEASE, "--allow-declared", "-o", "json"],
    )
    .await;
    out.expect_code(exit::OK);
    let report = out.json();
    assert_eq!(report["status"], "rolled-back", "{out}");
    assert_eq!(report["rolledBackByPolicy"], true, "{out}");

    let ds = u.daemon_set().await;
    let (now, before) = (ds.spec.clone(), u.daemon_set.spec.clone());
    assert_eq!(now.template, before.template, "calico-node's template");
    assert_eq!(
        now.update_strategy, before.update_strategy,
        "calico-node's update strategy"
    );
    let pods = u.nodes_run(&u.old_image).await;
    for node in &nodes {
        assert!(!u.unschedulable(node).await, "{node} is left cordoned");
    }
    for node in rest {
        assert_eq!(
            state::uid(&pods[node]),
            state::uid(&u.pods[node]),
            "the untouched pod on {node} was replaced"
        );
    }
    let gone = u
        .env
        .api::<Deployment>()
        .get_opt(NEW_CONTROLLER)
        .await
        .expect("read the Deployment");
    assert!(
        gone.is_none(),
        "calico-kube-controllers is still there: {gone:?}"
    );
    let left = u.pods(NEW_CONTROLLER).await;
    assert!(
        left.is_empty(),
        "calico-kube-controllers' pods: {}",
        state::describe_pods(&left)
    );
    replica_set_ready(&u.env, 1).await;
    assert_eq!(u.config_data().await, u.old_config, "calico-config's data");
    m.expect_as_before(&u.env.client, &[m.dev("only-frontend")])
        .await;
    let revisions = history(&u.env, RELEASE).await;
    assert_eq!(revisions.len(), 1, "{revisions:?}");
    assert_eq!(revisions[0].0, "failed", "{revisions:?}");
    assert!(
        revisions[0]
            .1
            .starts_with("Rolled back by the policy (attempt 2): "),
        "{revisions:?}"
    );

    u.migration
        .cleanup()
        .await
        .expect("cleanup of the migrated namespaces");
    u.env.finish().await.expect("cleanup");
}
