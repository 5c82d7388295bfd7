//! kubectl against `cutover sim serve`: the issue's promise that an operator's usual tool works
//! on the simulated cluster (get, apply, cordon, create, rollout undo), which starts as the built-in scenario. kubectl comes with the machine image or from
//! Debian through `scripts/setup`; a missing kubectl fails this test, it never skips.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cutover_tests::Cutover;

/// The served simulator, killed when dropped.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The kubectl to run: `$CUTOVER_KUBECTL`, else `kubectl` from the PATH. (kubectl 1.32 sends
/// protobuf bodies; Google's kubectl dispatcher picks a kubectl by the server's version, 1.30 for
/// the simulator, which sends JSON: point `CUTOVER_KUBECTL` at a 1.32 binary to test protobuf.)
fn kubectl_binary() -> String {
    std::env::var("CUTOVER_KUBECTL").unwrap_or_else(|_| "kubectl".to_string())
}

fn kubectl(kubeconfig: &Path, args: &[&str]) -> String {
    let out = Command::new(kubectl_binary())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .expect("kubectl runs (scripts/setup installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "kubectl {args:?} failed\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn kubectl_gets_applies_and_cordons_against_sim_serve() {
    let dir = std::env::temp_dir().join(format!("cutover-sim-kubectl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let kubeconfig = dir.join("kubeconfig");
    let child = Command::new(Cutover::bin())
        .args(["sim", "serve", "--port", "0", "--write-kubeconfig"])
        .arg(&kubeconfig)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cutover sim serve starts");
    let _served = Served(child);
    let started = Instant::now();
    while !kubeconfig.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "sim serve wrote no kubeconfig"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let manifests = dir.join("objects.yaml");
    std::fs::write(
        &manifests,
        r#"apiVersion: v1
kind: Node
metadata: {name: worker-1, labels: {kubernetes.io/hostname: worker-1}}
status: {conditions: [{type: Ready, status: "True"}], allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: registry.test/app:1}]}
"#,
    )
    .expect("write manifests");

    let namespaces = kubectl(&kubeconfig, &["get", "namespaces", "-o", "name"]);
    assert!(namespaces.contains("namespace/default"), "{namespaces}");
    // No scenario given: the built-in one, three Ready nodes, as `cutover run --sim` has.
    let nodes = kubectl(&kubeconfig, &["get", "nodes", "-o", "name"]);
    assert_eq!(
        nodes.lines().collect::<Vec<_>>(),
        ["node/node-1", "node/node-2", "node/node-3"],
        "{nodes}"
    );
    let ready = kubectl(
        &kubeconfig,
        &[
            "get",
            "nodes",
            "-o",
            r#"jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}"#,
        ],
    );
    assert_eq!(ready.lines().collect::<Vec<_>>(), ["True", "True", "True"]);
    let applied = kubectl(
        &kubeconfig,
        &["apply", "-f", manifests.to_str().expect("utf-8 path")],
    );
    assert!(applied.contains("node/worker-1 created"), "{applied}");
    assert!(applied.contains("deployment.apps/web created"), "{applied}");
    let image = kubectl(
        &kubeconfig,
        &[
            "get",
            "deployment",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    );
    assert_eq!(image, "registry.test/app:1");

    let cordoned = kubectl(&kubeconfig, &["cordon", "worker-1"]);
    assert!(cordoned.contains("cordoned"), "{cordoned}");
    let unschedulable = kubectl(
        &kubeconfig,
        &[
            "get",
            "node",
            "worker-1",
            "-o",
            "jsonpath={.spec.unschedulable}",
        ],
    );
    assert_eq!(unschedulable, "true");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts `cutover sim serve` (the built-in scenario) writing its kubeconfig into `dir`.
fn serve_into(dir: &Path) -> (Served, std::path::PathBuf) {
    std::fs::create_dir_all(dir).expect("temp dir");
    let kubeconfig = dir.join("kubeconfig");
    let child = Command::new(Cutover::bin())
        .args(["sim", "serve", "--port", "0", "--write-kubeconfig"])
        .arg(&kubeconfig)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cutover sim serve starts");
    let served = Served(child);
    let started = Instant::now();
    while !kubeconfig.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "sim serve wrote no kubeconfig"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (served, kubeconfig)
}

/// Polls a kubectl query until it prints `expected` (the controllers work in the background).
fn kubectl_until(kubeconfig: &Path, args: &[&str], expected: &str) -> String {
    let started = Instant::now();
    loop {
        let out = kubectl(kubeconfig, args);
        if out == expected || started.elapsed() > Duration::from_secs(30) {
            return out;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `kubectl create configmap|deployment|service|namespace` (in protobuf from kubectl 1.32), the
/// objects read back with the server's defaults, and `kubectl rollout undo` reusing the first
/// ReplicaSet.
#[test]
fn kubectl_creates_and_rolls_back_against_sim_serve() {
    let dir =
        std::env::temp_dir().join(format!("cutover-sim-kubectl-create-{}", std::process::id()));
    let (_served, kc) = serve_into(&dir);
    let created = kubectl(&kc, &["create", "namespace", "shop"]);
    assert!(created.contains("namespace/shop created"), "{created}");
    let created = kubectl(
        &kc,
        &[
            "-n",
            "shop",
            "create",
            "configmap",
            "settings",
            "--from-literal=a=b",
        ],
    );
    assert!(created.contains("configmap/settings created"), "{created}");
    let created = kubectl(
        &kc,
        &[
            "-n",
            "shop",
            "create",
            "deployment",
            "web",
            "--image=registry.test/app:1",
            "--replicas=2",
        ],
    );
    assert!(created.contains("deployment.apps/web created"), "{created}");
    let created = kubectl(
        &kc,
        &[
            "-n",
            "shop",
            "create",
            "service",
            "clusterip",
            "web",
            "--tcp=80:8080",
        ],
    );
    assert!(created.contains("service/web created"), "{created}");

    let data = kubectl(
        &kc,
        &[
            "-n",
            "shop",
            "get",
            "configmap",
            "settings",
            "-o",
            "jsonpath={.data.a}",
        ],
    );
    assert_eq!(data, "b");
    let defaults = kubectl(
        &kc,
        &[
            "-n",
            "shop",
            "get",
            "deployment",
            "web",
            "-o",
            "jsonpath={.spec.strategy.type} {.spec.revisionHistoryLimit} {.spec.template.spec.containers[0].imagePullPolicy}",
        ],
    );
    assert_eq!(defaults, "RollingUpdate 10 IfNotPresent");
    let service = kubectl(
        &kc,
        &[
            "-n",
            "shop",
            "get",
            "service",
            "web",
            "-o",
            "jsonpath={.spec.type} {.spec.ports[0].targetPort} {.spec.clusterIP}",
        ],
    );
    let parts: Vec<&str> = service.split(' ').collect();
    assert_eq!(parts[..2], ["ClusterIP", "8080"], "{service}");
    assert!(parts.get(2).is_some_and(|ip| !ip.is_empty()), "{service}");

    let rolled = |image: &str| {
        kubectl_until(
            &kc,
            &[
                "-n",
                "shop",
                "get",
                "deployment",
                "web",
                "-o",
                "jsonpath={.status.updatedReplicas} {.status.availableReplicas} {.spec.template.spec.containers[0].image}",
            ],
            &format!("2 2 {image}"),
        )
    };
    assert_eq!(rolled("registry.test/app:1"), "2 2 registry.test/app:1");
    kubectl(
        &kc,
        &[
            "-n",
            "shop",
            "set",
            "image",
            "deployment/web",
            "app=registry.test/app:2",
        ],
    );
    assert_eq!(rolled("registry.test/app:2"), "2 2 registry.test/app:2");
    let undone = kubectl(&kc, &["-n", "shop", "rollout", "undo", "deployment/web"]);
    assert!(undone.contains("rolled back"), "{undone}");
    assert_eq!(rolled("registry.test/app:1"), "2 2 registry.test/app:1");
    // The first ReplicaSet was reused (now revision 3): still two ReplicaSets.
    let sets = kubectl(
        &kc,
        &[
            "-n",
            "shop",
            "get",
            "replicasets",
            "-o",
            r#"jsonpath={range .items[*]}{.metadata.annotations.deployment\.kubernetes\.io/revision}{" "}{end}"#,
        ],
    );
    let mut revisions: Vec<&str> = sets.split_whitespace().collect();
    revisions.sort();
    assert_eq!(revisions, ["2", "3"], "{sets}");
    let _ = std::fs::remove_dir_all(&dir);
}
