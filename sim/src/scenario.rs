//! Scenario files: the starting cluster (nodes, objects, a folder of manifests), faults and a
//! seed, read from YAML and loaded into a [`Simulator`]. The format is documented in
//! docs/simulator.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::controllers::{ControllerConfig, Faults, PodFate};
use crate::faults::{ApiFaultRule, ApiFaultStatus, ApiFaults, ImageFaults};
use crate::kinds;
use crate::service::Simulator;
use crate::store::UpdateTarget;

/// A scenario that cannot be read or loaded: one line, naming the file and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScenarioError(pub String);

/// A scenario as written in its file.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    seed: u64,
    startup_delay: Option<String>,
    nodes: Option<RawNodes>,
    objects: Option<Vec<Value>>,
    manifests: Option<PathBuf>,
    faults: Option<RawFaults>,
    /// How `cutover test` runs a policy on this scenario; kept as written, for it to check.
    run: Option<Value>,
    /// What `cutover test` expects of the run; kept as written, for it to check.
    expect: Option<Value>,
    /// The answers to the policy's probes.
    probes: Option<crate::probes::RawProbes>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawNodes {
    Count(u32),
    Generated(RawNodeCount),
    List(Vec<RawNode>),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawNodeCount {
    count: u32,
    #[serde(default = "default_prefix")]
    prefix: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

fn default_prefix() -> String {
    "node-".to_string()
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawNode {
    Name(String),
    Full {
        name: String,
        #[serde(default)]
        labels: BTreeMap<String, String>,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawFaults {
    #[serde(default)]
    images: BTreeMap<String, String>,
    #[serde(default)]
    api: Vec<RawApiFault>,
    #[serde(default)]
    nodes: Vec<RawNodeFault>,
    slow_rollout: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawApiFault {
    #[serde(default = "any")]
    verb: String,
    #[serde(default = "any")]
    kind: String,
    status: Value,
    #[serde(default = "always")]
    rate: f64,
}

fn any() -> String {
    "*".to_string()
}

fn always() -> f64 {
    1.0
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawNodeFault {
    name: String,
    not_ready_at: String,
}

/// One node of the starting cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    /// The node's name.
    pub name: String,
    /// Labels besides `kubernetes.io/hostname`.
    pub labels: BTreeMap<String, String>,
}

/// A node that turns NotReady at a simulated time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFault {
    /// The node.
    pub name: String,
    /// Simulated time after the scenario starts.
    pub not_ready_at: Duration,
}

/// A scenario, checked and ready to load.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Where it came from (`None`: built in).
    pub source: Option<PathBuf>,
    /// Seeds uids, generated names and the API fault RNG.
    pub seed: u64,
    /// How long a pod takes to become Ready (`startupDelay`, or `faults.slowRollout`).
    pub startup_delay: Duration,
    /// The nodes, all Ready.
    pub nodes: Vec<NodeSpec>,
    /// Objects to create, in order (`objects`, then the `manifests` folder's files by name).
    pub objects: Vec<Value>,
    /// Pod fates by image substring.
    pub images: BTreeMap<String, PodFate>,
    /// API fault rules.
    pub api_faults: Vec<ApiFaultRule>,
    /// Nodes going NotReady.
    pub node_faults: Vec<NodeFault>,
    /// The `run` section (how `cutover test` runs a policy here), unchecked: the simulator
    /// ignores it, `cutover test` reads it.
    pub run: Option<Value>,
    /// The `expect` section (what `cutover test` checks after the run), unchecked likewise.
    pub expect: Option<Value>,
    /// The `probes` section: what the host answers the policy's probes (none reach the network).
    pub probes: Arc<crate::probes::ProbeScript>,
}

impl Default for Scenario {
    /// The built-in scenario: three Ready nodes `node-1`..`node-3`, nothing else, seed 0.
    fn default() -> Self {
        Scenario {
            source: None,
            seed: 0,
            startup_delay: Duration::from_secs(2),
            nodes: (1..=3)
                .map(|i| NodeSpec {
                    name: format!("node-{i}"),
                    labels: BTreeMap::new(),
                })
                .collect(),
            objects: Vec::new(),
            images: BTreeMap::new(),
            api_faults: Vec::new(),
            node_faults: Vec::new(),
            run: None,
            expect: None,
            probes: Arc::default(),
        }
    }
}

/// The first line of a parser's message (serde-saphyr adds a source snippet on later lines).
fn one_line(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    let first = first.split(" --> ").next().unwrap_or(first).trim();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

impl Scenario {
    /// Reads and checks a scenario file (and its `manifests` folder).
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ScenarioError(format!("cannot read the scenario {file}: {e}")))?;
        let raw: Raw = if text.trim().is_empty() {
            Raw::default()
        } else {
            serde_saphyr::from_str(&text).map_err(|e| {
                ScenarioError(format!("scenario {file}: {}", one_line(&e.to_string())))
            })?
        };
        let base = path.parent().unwrap_or(Path::new("."));
        Scenario::from_raw(raw, &file, base).map(|mut s| {
            s.source = Some(path.to_path_buf());
            s
        })
    }

    fn from_raw(raw: Raw, file: &str, base: &Path) -> Result<Scenario, ScenarioError> {
        let bad =
            |field: &str, what: String| ScenarioError(format!("scenario {file}: {field}: {what}"));
        let duration = |field: &str, text: &str| {
            cutover_grammar::duration::parse(text).map_err(|e| bad(field, e.to_string()))
        };
        let mut scenario = Scenario {
            seed: raw.seed,
            nodes: Vec::new(),
            run: raw.run,
            expect: raw.expect,
            ..Scenario::default()
        };
        if let Some(text) = &raw.startup_delay {
            scenario.startup_delay = duration("startupDelay", text)?;
        }
        if let Some(probes) = raw.probes {
            scenario.probes = Arc::new(crate::probes::ProbeScript::from_raw(probes, bad)?);
        }
        let faults = raw.faults.unwrap_or_default();
        if let Some(text) = &faults.slow_rollout {
            scenario.startup_delay = duration("faults.slowRollout", text)?;
        }
        scenario.nodes = match raw.nodes {
            None => Scenario::default().nodes,
            Some(RawNodes::Count(count)) => generated(count, "node-", &BTreeMap::new()),
            Some(RawNodes::Generated(g)) => generated(g.count, &g.prefix, &g.labels),
            Some(RawNodes::List(list)) => list
                .into_iter()
                .map(|n| match n {
                    RawNode::Name(name) => NodeSpec {
                        name,
                        labels: BTreeMap::new(),
                    },
                    RawNode::Full { name, labels } => NodeSpec { name, labels },
                })
                .collect(),
        };
        for (i, object) in raw.objects.into_iter().flatten().enumerate() {
            check_object(&object).map_err(|e| bad(&format!("objects[{i}]"), e))?;
            scenario.objects.push(object);
        }
        if let Some(dir) = &raw.manifests {
            let dir = base.join(dir);
            let objects = read_manifests(&dir).map_err(|e| bad("manifests", e))?;
            scenario.objects.extend(objects);
        }
        for (image, fate) in faults.images {
            let fate = match fate.as_str() {
                "never-ready" => PodFate::NeverReady,
                "crashloop" => PodFate::CrashLoop,
                "image-pull-backoff" => PodFate::ImagePullBackOff,
                "ready" => PodFate::Ready,
                other => {
                    return Err(bad(
                        &format!("faults.images.{image}"),
                        format!(
                            "{other:?} is not a fate (never-ready, crashloop, image-pull-backoff, ready)"
                        ),
                    ));
                }
            };
            scenario.images.insert(image, fate);
        }
        for (i, rule) in faults.api.into_iter().enumerate() {
            let field = format!("faults.api[{i}]");
            let text = match &rule.status {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => other.to_string(),
            };
            let status = ApiFaultStatus::parse(&text).ok_or_else(|| {
                bad(
                    &format!("{field}.status"),
                    format!("{text} is not one of 500, 409, 429, 504-timeout"),
                )
            })?;
            if !(0.0..=1.0).contains(&rule.rate) {
                return Err(bad(
                    &format!("{field}.rate"),
                    format!("{} is not between 0 and 1", rule.rate),
                ));
            }
            const VERBS: &[&str] = &[
                "*", "get", "list", "watch", "create", "update", "patch", "delete", "evict",
            ];
            if !VERBS.contains(&rule.verb.to_ascii_lowercase().as_str()) {
                return Err(bad(
                    &format!("{field}.verb"),
                    format!("{:?} is not one of {}", rule.verb, VERBS.join(", ")),
                ));
            }
            scenario.api_faults.push(ApiFaultRule {
                verb: rule.verb,
                kind: rule.kind,
                status,
                rate: rule.rate,
            });
        }
        for (i, fault) in faults.nodes.into_iter().enumerate() {
            let at = duration(
                &format!("faults.nodes[{i}].notReadyAt"),
                &fault.not_ready_at,
            )?;
            if !scenario.nodes.iter().any(|n| n.name == fault.name) {
                return Err(bad(
                    &format!("faults.nodes[{i}].name"),
                    format!("no node {:?} in the scenario", fault.name),
                ));
            }
            scenario.node_faults.push(NodeFault {
                name: fault.name,
                not_ready_at: at,
            });
        }
        Ok(scenario)
    }

    /// The controller settings this scenario asks for.
    pub fn controller_config(&self) -> ControllerConfig {
        let faults: Arc<dyn Faults> = Arc::new(ImageFaults {
            images: self.images.clone(),
        });
        ControllerConfig {
            startup_delay: self.startup_delay,
            seed: self.seed,
            faults,
        }
    }

    /// Creates the nodes, the namespaces the objects need, and the objects; installs the API
    /// faults. Call it before starting the controllers or right after: the controllers catch up.
    pub fn install(&self, sim: &Simulator) -> Result<(), ScenarioError> {
        let what = match &self.source {
            Some(path) => format!("scenario {}", path.display()),
            None => "the built-in scenario".to_string(),
        };
        let store = sim.store();
        let node_kind = kinds::find("", "v1", "nodes").expect("nodes are served");
        let ns_kind = kinds::find("", "v1", "namespaces").expect("namespaces are served");
        for (i, node) in self.nodes.iter().enumerate() {
            let mut labels = node.labels.clone();
            labels.insert("kubernetes.io/hostname".into(), node.name.clone());
            let obj = json!({
                "metadata": {"name": node.name, "labels": labels},
                "spec": {},
                "status": {
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                    "message": "kubelet is posting ready status"}],
                    "addresses": [
                        {"type": "InternalIP", "address": format!("10.0.{}.{}", i / 250, i % 250 + 2)},
                        {"type": "Hostname", "address": node.name},
                    ],
                },
            });
            store
                .create_with_status(node_kind, "", obj)
                .map_err(|e| ScenarioError(format!("{what}: node {}: {}", node.name, e.message)))?;
        }
        for (i, object) in self.objects.iter().enumerate() {
            let api_version = object["apiVersion"].as_str().unwrap_or_default();
            let kind_name = object["kind"].as_str().unwrap_or_default();
            let kind = kinds::find_kind(api_version, kind_name).ok_or_else(|| {
                ScenarioError(format!(
                    "{what}: object {i}: the simulator does not serve {api_version} {kind_name}"
                ))
            })?;
            let name = object
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            let ns = if kind.namespaced {
                let ns = object
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("default");
                if !store.namespace_exists(ns) {
                    store
                        .create(ns_kind, "", json!({"metadata": {"name": ns}}), false)
                        .map_err(|e| {
                            ScenarioError(format!("{what}: namespace {ns}: {}", e.message))
                        })?;
                }
                ns.to_string()
            } else {
                String::new()
            };
            store
                .create_with_status(kind, &ns, object.clone())
                .map_err(|e| {
                    ScenarioError(format!(
                        "{what}: {} {name}: {}",
                        kind_name.to_lowercase(),
                        e.message
                    ))
                })?;
        }
        if !self.api_faults.is_empty() {
            sim.set_api_faults(ApiFaults::new(self.api_faults.clone(), self.seed));
        }
        Ok(())
    }

    /// Starts the timers of the node faults on the current tokio runtime, by the simulator's
    /// clock (virtual time on a virtual clock), counted from now. Dropping the handle cancels them.
    pub fn start_node_faults(&self, sim: &Simulator) -> NodeFaultTimers {
        let clock = sim.clock().clone();
        let start = clock.now();
        let tasks = self
            .node_faults
            .iter()
            .map(|fault| {
                let sim = sim.clone();
                let fault = fault.clone();
                let clock = clock.clone();
                tokio::spawn(async move {
                    match start.checked_add(fault.not_ready_at) {
                        Some(at) => clock.sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                    mark_not_ready(&sim, &fault.name);
                })
            })
            .collect();
        NodeFaultTimers { tasks }
    }
}

/// The pending node faults; dropping it cancels them.
#[derive(Debug)]
pub struct NodeFaultTimers {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for NodeFaultTimers {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Turns a node's Ready condition to Unknown/False as the node lifecycle controller does when
/// the kubelet stops posting status.
fn mark_not_ready(sim: &Simulator, name: &str) {
    let kind = kinds::find("", "v1", "nodes").expect("nodes are served");
    let Ok(node) = sim.store().get(kind, "", name) else {
        return;
    };
    let mut node = (*node).clone();
    let now = crate::clock::now(sim.clock());
    let ready = json!({"type": "Ready", "status": "False", "reason": "KubeletNotReady",
                       "message": "injected by the scenario's faults.nodes",
                       "lastTransitionTime": now, "lastHeartbeatTime": now});
    let conditions = node
        .pointer_mut("/status/conditions")
        .and_then(Value::as_array_mut);
    match conditions {
        Some(list) => {
            list.retain(|c| c["type"] != "Ready");
            list.push(ready);
        }
        None => node["status"]["conditions"] = json!([ready]),
    }
    if let Some(meta) = node.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    if let Err(e) = sim
        .store()
        .update(kind, "", name, node, UpdateTarget::Status, false)
    {
        tracing::warn!("node fault on {name}: {e}");
    }
}

fn generated(count: u32, prefix: &str, labels: &BTreeMap<String, String>) -> Vec<NodeSpec> {
    (1..=count)
        .map(|i| NodeSpec {
            name: format!("{prefix}{i}"),
            labels: labels.clone(),
        })
        .collect()
}

fn check_object(object: &Value) -> Result<(), String> {
    if !object.is_object() {
        return Err("not a mapping".into());
    }
    for field in ["apiVersion", "kind"] {
        if object[field].as_str().is_none_or(str::is_empty) {
            return Err(format!("{field} is missing"));
        }
    }
    if object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err("metadata.name is missing".into());
    }
    let (api_version, kind) = (object["apiVersion"].as_str(), object["kind"].as_str());
    if kinds::find_kind(api_version.unwrap_or(""), kind.unwrap_or("")).is_none() {
        return Err(format!(
            "the simulator does not serve {} {}",
            api_version.unwrap_or(""),
            kind.unwrap_or("")
        ));
    }
    Ok(())
}

/// The objects of every `.yaml`/`.yml`/`.json` file in `dir`, files by name, documents in order;
/// `kind: List` documents are flattened.
fn read_manifests(dir: &Path) -> Result<Vec<Value>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
        })
        .collect();
    files.sort();
    let mut objects = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
            .map_err(|e| format!("{}: {}", file.display(), one_line(&e.to_string())))?;
        for doc in docs {
            let items = match doc {
                Value::Null => continue,
                Value::Object(ref o) if o.get("kind").and_then(Value::as_str) == Some("List") => o
                    .get("items")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                other => vec![other],
            };
            for item in items {
                check_object(&item).map_err(|e| format!("{}: {e}", file.display()))?;
                objects.push(item);
            }
        }
    }
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        let raw: Raw = serde_saphyr::from_str(text).map_err(|e| ScenarioError(e.to_string()))?;
        Scenario::from_raw(raw, "t.yaml", Path::new("."))
    }

    #[test]
    fn run_and_expect_sections_are_kept_for_cutover_test() {
        let s = parse("seed: 3\nrun: {params: {node: n1}}\nexpect: {exitCode: 1}\n").unwrap();
        assert_eq!(s.seed, 3);
        assert_eq!(s.run, Some(json!({"params": {"node": "n1"}})));
        assert_eq!(s.expect, Some(json!({"exitCode": 1})));
        assert_eq!(parse("seed: 3\n").unwrap().run, None);
        assert!(
            parse("expectations: {}\n").is_err(),
            "an unknown section loads"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse("startupDelay: 1h30m").unwrap().startup_delay,
            Duration::from_secs(5400)
        );
        assert_eq!(
            parse("startupDelay: 250ms").unwrap().startup_delay,
            Duration::from_millis(250)
        );
        let bare = parse("startupDelay: \"7\"").unwrap_err().0;
        assert!(
            bare.contains("startupDelay") && bare.contains("give a unit"),
            "{bare}"
        );
    }

    #[test]
    fn nodes_as_count_prefix_or_list() {
        let s = parse("nodes: {count: 2, prefix: w-}").unwrap();
        assert_eq!(
            s.nodes.iter().map(|n| &n.name).collect::<Vec<_>>(),
            ["w-1", "w-2"]
        );
        let s = parse("nodes: [a, {name: b, labels: {zone: x}}]").unwrap();
        assert_eq!(s.nodes[1].labels["zone"], "x");
        assert_eq!(parse("seed: 1").unwrap().nodes.len(), 3);
    }

    #[test]
    fn errors_name_the_file_and_the_field() {
        let err = parse("faults: {images: {web: sometimes}}").unwrap_err().0;
        assert!(
            err.contains("t.yaml") && err.contains("faults.images.web"),
            "{err}"
        );
        let err = parse("faults: {api: [{verb: patch, status: 418}]}")
            .unwrap_err()
            .0;
        assert!(err.contains("faults.api[0].status"), "{err}");
        let err = parse("startupDelay: soon").unwrap_err().0;
        assert!(err.contains("startupDelay"), "{err}");
        let err = parse("objects: [{apiVersion: v1, kind: Gadget, metadata: {name: x}}]")
            .unwrap_err()
            .0;
        assert!(
            err.contains("objects[0]") && err.contains("Gadget"),
            "{err}"
        );
    }

    #[test]
    fn install_creates_namespaces_and_node_faults_fire_on_time() {
        let s = parse(
            "nodes: 2\nobjects:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: shop}}\n\
             faults: {nodes: [{name: node-2, notReadyAt: 30s}]}",
        )
        .unwrap();
        let clock = crate::Clock::virtual_at(std::time::UNIX_EPOCH);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .on_thread_park(clock.park_hook())
            .build()
            .unwrap();
        runtime.block_on(async {
            let sim = Simulator::with_clock(0, clock.clone());
            s.install(&sim).unwrap();
            assert!(sim.store().namespace_exists("shop"));
            let _timers = s.start_node_faults(&sim);
            let nodes = kinds::find("", "v1", "nodes").unwrap();
            let ready = |sim: &Simulator| {
                sim.store().get(nodes, "", "node-2").unwrap()["status"]["conditions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            };
            clock.sleep(Duration::from_secs(29)).await;
            assert!(ready(&sim));
            clock.sleep(Duration::from_secs(2)).await;
            assert!(!ready(&sim));
            let node = sim.store().get(nodes, "", "node-2").unwrap();
            let condition = node["status"]["conditions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["type"] == "Ready")
                .cloned()
                .unwrap();
            assert_eq!(
                condition["lastTransitionTime"], "1970-01-01T00:00:30Z",
                "stamped at the virtual time the fault fired"
            );
        });
    }
}
