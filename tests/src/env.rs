//! One test's world: a client, its namespace, its nodes and kubelet, and the binary to run.

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::NamespaceResourceScope;
use kube::api::{DynamicObject, PostParams};
use kube::{Api, Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cutover::{Cutover, Output};
use crate::kubelet::{KubeletOptions, TestKubelet};
use crate::namespace::TestNamespace;
use crate::{control_plane, init_tracing, manifests, state};

/// How long tests wait for the cluster to settle (pods scheduled, played Ready, controllers
/// caught up). Generous for two busy cores; a healthy plane takes a few seconds.
pub const SETTLE: Duration = Duration::from_secs(45);

/// A test's namespace and nodes. Its group (the value of `cutover.test/group` on its nodes and
/// in its workloads' `nodeSelector`) is the namespace's name, unique per run.
pub struct TestEnv {
    /// A client for the plane.
    pub client: Client,
    /// The plane's kubeconfig, for the binary.
    pub kubeconfig: PathBuf,
    ns: TestNamespace,
    kubelet: TestKubelet,
}

impl TestEnv {
    /// Starts (or joins) the plane, creates a namespace `<prefix>-<random>` and the nodes
    /// `<namespace>-<node>` for each of `nodes`.
    pub async fn start(prefix: &str, nodes: &[&str]) -> Result<Self> {
        Self::start_with(prefix, nodes, KubeletOptions::default()).await
    }

    /// [`TestEnv::start`] with kubelet options.
    pub async fn start_with(prefix: &str, nodes: &[&str], options: KubeletOptions) -> Result<Self> {
        init_tracing();
        let kubeconfig = control_plane::ensure_up()?;
        let client = control_plane::client_from(&kubeconfig).await?;
        let ns = TestNamespace::create(&client, prefix).await?;
        let kubelet = TestKubelet::start_with(&client, ns.name(), nodes, options).await?;
        Ok(TestEnv {
            client,
            kubeconfig,
            ns,
            kubelet,
        })
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        self.ns.name()
    }

    /// The group of the nodes and workloads.
    pub fn group(&self) -> &str {
        self.kubelet.group()
    }

    /// The full name of node `name`.
    pub fn node(&self, name: &str) -> String {
        self.kubelet.node(name)
    }

    /// The kubelet.
    pub fn kubelet(&self) -> &TestKubelet {
        &self.kubelet
    }

    /// An API for a namespaced kind in the test's namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), self.namespace())
    }

    /// The test namespace's PodDisruptionBudgets (policy/v1beta1).
    pub fn pdbs(&self) -> Api<DynamicObject> {
        manifests::pdb_api(&self.client, self.namespace())
    }

    /// Creates a namespaced object in the test's namespace.
    pub async fn create<K>(&self, object: &K) -> Result<K>
    where
        K: Resource<Scope = NamespaceResourceScope> + Clone + DeserializeOwned + Serialize + Debug,
        K::DynamicType: Default,
    {
        self.api::<K>()
            .create(&PostParams::default(), object)
            .await
            .with_context(|| {
                format!(
                    "creating {} {:?} in {}",
                    K::kind(&K::DynamicType::default()),
                    object.meta().name,
                    self.namespace()
                )
            })
    }

    /// Creates a PodDisruptionBudget in the test's namespace.
    pub async fn create_pdb(&self, pdb: &DynamicObject) -> Result<DynamicObject> {
        self.pdbs()
            .create(&PostParams::default(), pdb)
            .await
            .with_context(|| format!("creating PodDisruptionBudget {:?}", pdb.metadata.name))
    }

    /// Cordons (`true`) or uncordons node `name`, to steer where the scheduler puts pods.
    pub async fn cordon(&self, name: &str, cordoned: bool) -> Result<()> {
        state::set_unschedulable(&self.client, &self.node(name), cordoned).await
    }

    /// Runs `cutover <args>` against the plane.
    pub async fn cutover(&self, args: &[&str]) -> Output {
        Cutover::run(args, &self.kubeconfig).await
    }

    /// The kubeconfig path.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// Deletes the namespace (force-deleting its pods), stops the kubelet and deletes the nodes.
    pub async fn finish(self) -> Result<()> {
        let TestEnv { ns, kubelet, .. } = self;
        let namespace = ns.cleanup().await;
        let nodes = kubelet.shutdown().await;
        namespace.and(nodes)
    }
}
