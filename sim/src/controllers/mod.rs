//! The controllers of the simulated cluster: scheduler, kubelet stand-in, ReplicaSet, Deployment,
//! DaemonSet, StatefulSet, Endpoints, PodDisruptionBudget status and the node lifecycle
//! controller's cordon taint.
//!
//! They run as one tokio task started by [`Simulator::start_controllers`]. A store hook
//! ([`Store::on_change`]) keeps an in-memory index (pods by owner, namespace and node; nodes;
//! DaemonSets, Services and PDBs by namespace) up to date synchronously with every write and
//! queues the keys of the objects a change concerns; the task reconciles queued keys one at a
//! time, level-triggered: each reconcile reads the current state and writes what differs through
//! the store (not HTTP). Delays (kubelet start-up, graceful deletion, progress deadlines, retries)
//! are timers of the simulator's [`Clock`](crate::Clock), so the whole cluster runs on virtual
//! time when that clock is virtual.

mod daemonset;
mod deployment;
mod endpoints;
mod index;
mod kubelet;
mod nodes;
mod replicaset;
mod scheduler;
mod statefulset;
mod util;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::error::ApiError;
use crate::service::Simulator;
use crate::store::{Store, WatchEvent};

use index::Index;

/// What the kubelet stand-in makes of a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodFate {
    /// Running, then Ready after the start-up delay.
    Ready,
    /// Running; containers running but never ready.
    NeverReady,
    /// Running; containers waiting in `CrashLoopBackOff` after restarts; never ready.
    CrashLoop,
    /// Pending; containers waiting in `ImagePullBackOff`.
    ImagePullBackOff,
}

impl PodFate {
    /// The fate one image asks for: an image containing `no-such-image`, `crashloop` or
    /// `never-ready` (the convention of the e2e test kubelet), else [`PodFate::Ready`].
    pub fn of_image(image: &str) -> PodFate {
        if image.contains("no-such-image") {
            PodFate::ImagePullBackOff
        } else if image.contains("crashloop") {
            PodFate::CrashLoop
        } else if image.contains("never-ready") {
            PodFate::NeverReady
        } else {
            PodFate::Ready
        }
    }

    /// The fate of a pod by the image convention: its worst container.
    pub fn of_pod(pod: &Value) -> PodFate {
        pod.pointer("/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c["image"].as_str())
            .map(PodFate::of_image)
            .max_by_key(|f| f.severity())
            .unwrap_or(PodFate::Ready)
    }

    fn severity(self) -> u8 {
        match self {
            PodFate::Ready => 0,
            PodFate::NeverReady => 1,
            PodFate::CrashLoop => 2,
            PodFate::ImagePullBackOff => 3,
        }
    }
}

/// Fault injection hooks consulted by the controllers. The defaults are the image convention.
pub trait Faults: Send + Sync {
    /// What becomes of a pod bound to a node.
    fn pod_fate(&self, pod: &Value) -> PodFate {
        PodFate::of_pod(pod)
    }
}

/// No faults beyond the image convention of [`PodFate::of_pod`].
#[derive(Debug, Default, Clone, Copy)]
pub struct ImageConvention;

impl Faults for ImageConvention {}

/// Settings of the controllers.
#[derive(Clone)]
pub struct ControllerConfig {
    /// How long a pod runs before it becomes Ready; also the cap on how long a deleted pod
    /// takes to terminate. Default 2 s.
    pub startup_delay: Duration,
    /// Seeds the names of the pods the controllers create.
    pub seed: u64,
    /// Fault injection.
    pub faults: Arc<dyn Faults>,
}

impl std::fmt::Debug for ControllerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControllerConfig")
            .field("startup_delay", &self.startup_delay)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            startup_delay: Duration::from_secs(2),
            seed: 0,
            faults: Arc::new(ImageConvention),
        }
    }
}

impl ControllerConfig {
    /// The fate of a pod, per the fault hooks.
    pub fn pod_fate(&self, pod: &Value) -> PodFate {
        self.faults.pod_fate(pod)
    }
}

/// What a reconcile is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Key {
    Pod(String, String),
    ReplicaSet(String, String),
    Deployment(String, String),
    DaemonSet(String, String),
    /// One node of a DaemonSet (namespace, name, node): a change of that node or of one of
    /// the DaemonSet's pods on it.
    DaemonSetNode(String, String, String),
    StatefulSet(String, String),
    Service(String, String),
    Pdb(String, String),
    Node(String),
}

/// State shared between the store hook and the controller task.
pub(crate) struct Shared {
    state: Mutex<State>,
    notify: Notify,
    stopped: AtomicBool,
    /// The task is reconciling (not parked waiting for a change or a timer).
    busy: AtomicBool,
    /// The earliest pending timer, published when the task parks.
    next_timer: Mutex<Option<Instant>>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Key>,
    queued: HashSet<Key>,
    index: Index,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the index (briefly: never write to the store while holding it).
    pub(crate) fn index<R>(&self, f: impl FnOnce(&Index) -> R) -> R {
        f(&self.lock().index)
    }

    fn on_event(&self, event: &WatchEvent) {
        if self.stopped.load(Ordering::Relaxed) {
            return;
        }
        let mut state = self.lock();
        let keys = state.index.apply(event);
        let mut any = false;
        for key in keys {
            if state.queued.insert(key.clone()) {
                state.queue.push_back(key);
                any = true;
            }
        }
        drop(state);
        if any {
            self.notify.notify_one();
        }
    }

    pub(crate) fn enqueue(&self, key: Key) {
        let mut state = self.lock();
        if state.queued.insert(key.clone()) {
            state.queue.push_back(key);
        }
    }

    fn pop(&self) -> Option<Key> {
        let mut state = self.lock();
        let key = state.queue.pop_front()?;
        state.queued.remove(&key);
        Some(key)
    }
}

/// The running controllers. Dropping the handle stops them (as does [`Controllers::stop`]).
#[must_use = "dropping the handle stops the controllers"]
pub struct Controllers {
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Controllers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controllers").finish_non_exhaustive()
    }
}

impl Controllers {
    /// Stops the controllers; objects stay as they are.
    pub fn stop(mut self) {
        self.halt();
    }

    /// Whether the controllers have caught up with every change so far: nothing queued and the
    /// task parked. Timers (start-up delays, terminations, progress deadlines) may still be
    /// pending: see [`Controllers::next_timer`].
    pub fn is_idle(&self) -> bool {
        !self.shared.busy.load(Ordering::SeqCst) && self.shared.lock().queue.is_empty()
    }

    /// When the earliest pending timer fires, if any (an instant of the simulator's clock).
    pub fn next_timer(&self) -> Option<Instant> {
        *self
            .shared
            .next_timer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn halt(&mut self) {
        self.shared.stopped.store(true, Ordering::Relaxed);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Drop for Controllers {
    fn drop(&mut self) {
        self.halt();
    }
}

impl Simulator {
    /// Starts the controllers on the current tokio runtime (call once per simulator). They run
    /// until the returned handle is dropped or stopped.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn start_controllers(&self, config: ControllerConfig) -> Controllers {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            notify: Notify::new(),
            stopped: AtomicBool::new(false),
            busy: AtomicBool::new(true),
            next_timer: Mutex::new(None),
        });
        let hook = shared.clone();
        self.store().on_change(move |event| hook.on_event(event));
        // Objects that existed before the hook: seed the index and queue them.
        for event in index::initial_events(self.store()) {
            shared.on_event(&event);
        }
        let ctx = Ctx {
            clock: self.store().clock().clone(),
            sim: self.clone(),
            shared: shared.clone(),
            config: Arc::new(config.clone()),
            rng: config.seed ^ 0x5EED_C0DE,
            timers: BinaryHeap::new(),
            timer_seq: 0,
            kubelet: kubelet::State::default(),
            deployments: HashMap::new(),
            statefulsets: HashMap::new(),
            daemonsets: HashMap::new(),
        };
        let task = tokio::spawn(run(ctx));
        Controllers {
            shared,
            task: Some(task),
        }
    }
}

/// The controller task's own state.
pub(crate) struct Ctx {
    sim: Simulator,
    /// The simulator's clock, for every delay.
    clock: Clock,
    pub(crate) shared: Arc<Shared>,
    pub(crate) config: Arc<ControllerConfig>,
    rng: u64,
    timers: BinaryHeap<Reverse<(Instant, u64, Key)>>,
    timer_seq: u64,
    pub(crate) kubelet: kubelet::State,
    /// Deployment (namespace, name) → progress tracking; dropped with the Deployment.
    pub(crate) deployments: HashMap<(String, String), deployment::Progress>,
    /// StatefulSet (namespace, name) → its uid and pod templates by revision (for partitioned
    /// rollouts); dropped with the StatefulSet.
    pub(crate) statefulsets: HashMap<(String, String), (String, HashMap<String, Value>)>,
    /// DaemonSet (namespace, name) → its status by node; dropped with the DaemonSet.
    pub(crate) daemonsets: HashMap<(String, String), daemonset::Tally>,
}

/// How soon a reconcile that failed (e.g. a 409 from a concurrent client write) is retried.
const RETRY: Duration = Duration::from_millis(100);
/// Reconciles between yields to the runtime, so that clients are served while controllers work.
const BATCH: usize = 64;

impl Ctx {
    pub(crate) fn store(&self) -> &Store {
        self.sim.store()
    }

    /// Now, by the simulator's clock.
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Reconciles `key` again at `at`.
    pub(crate) fn wake_at(&mut self, at: Instant, key: Key) {
        self.timer_seq += 1;
        self.timers.push(Reverse((at, self.timer_seq, key)));
    }

    /// 5 lowercase characters from the seeded generator (pod name suffixes).
    pub(crate) fn suffix(&mut self) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let mut x = util::splitmix(&mut self.rng);
        (0..5)
            .map(|_| {
                let c = ALPHABET[(x % ALPHABET.len() as u64) as usize] as char;
                x /= ALPHABET.len() as u64;
                c
            })
            .collect()
    }

    fn reconcile(&mut self, key: Key) {
        let result = match &key {
            Key::Pod(ns, name) => self.reconcile_pod(ns, name),
            Key::ReplicaSet(ns, name) => replicaset::reconcile(self, ns, name),
            Key::Deployment(ns, name) => deployment::reconcile(self, ns, name),
            Key::DaemonSet(ns, name) => daemonset::reconcile(self, ns, name),
            Key::DaemonSetNode(ns, name, node) => daemonset::reconcile_node(self, ns, name, node),
            Key::StatefulSet(ns, name) => statefulset::reconcile(self, ns, name),
            Key::Service(ns, name) => endpoints::reconcile_service(self, ns, name),
            Key::Pdb(ns, name) => endpoints::reconcile_pdb(self, ns, name),
            Key::Node(name) => nodes::reconcile(self, name),
        };
        if let Err(e) = result {
            tracing::debug!("sim controllers: {key:?}: {} (retrying)", e.message);
            let at = self.now() + RETRY;
            self.wake_at(at, key);
        }
    }

    fn reconcile_pod(&mut self, ns: &str, name: &str) -> Result<(), ApiError> {
        let pod = match self.store().get(util::pods(), ns, name) {
            Ok(p) => p,
            Err(e) if e.code == 404 => {
                self.kubelet.forget(ns, name);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if util::node_name(&pod).is_none() {
            scheduler::schedule(self, &pod)
        } else {
            kubelet::play(self, &pod)
        }
    }
}

async fn run(mut ctx: Ctx) {
    loop {
        if ctx.shared.stopped.load(Ordering::Relaxed) {
            return;
        }
        let mut done = 0;
        while let Some(key) = ctx.shared.pop() {
            ctx.reconcile(key);
            done += 1;
            if done % BATCH == 0 {
                tokio::task::yield_now().await;
            }
        }
        let now = ctx.now();
        let mut fired = false;
        while let Some(Reverse((at, _, _))) = ctx.timers.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, _, key))) = ctx.timers.pop() else {
                break;
            };
            ctx.shared.enqueue(key);
            fired = true;
        }
        if fired {
            continue;
        }
        if done > 0 {
            // Let clients run before sleeping; our own writes may have queued more work.
            tokio::task::yield_now().await;
            continue;
        }
        let next = ctx.timers.peek().map(|Reverse((at, _, _))| *at);
        *ctx.shared
            .next_timer
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = next;
        ctx.shared.busy.store(false, Ordering::SeqCst);
        if !ctx.shared.lock().queue.is_empty() {
            ctx.shared.busy.store(true, Ordering::SeqCst);
            continue;
        }
        match next {
            Some(at) => {
                tokio::select! {
                    _ = ctx.shared.notify.notified() => {}
                    _ = ctx.clock.sleep_until(at) => {}
                }
            }
            None => ctx.shared.notify.notified().await,
        }
        ctx.shared.busy.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_choose_the_fate_and_the_worst_container_wins() {
        let pod = |images: &[&str]| {
            let containers: Vec<Value> = images
                .iter()
                .map(|i| serde_json::json!({"name": "c", "image": i}))
                .collect();
            serde_json::json!({"spec": {"containers": containers}})
        };
        assert_eq!(PodFate::of_pod(&pod(&["nginx:1"])), PodFate::Ready);
        assert_eq!(
            PodFate::of_pod(&pod(&["x/never-ready:1"])),
            PodFate::NeverReady
        );
        assert_eq!(PodFate::of_pod(&pod(&["crashloop"])), PodFate::CrashLoop);
        assert_eq!(
            PodFate::of_pod(&pod(&["no-such-image"])),
            PodFate::ImagePullBackOff
        );
        assert_eq!(
            PodFate::of_pod(&pod(&["nginx", "never-ready", "crashloop"])),
            PodFate::CrashLoop
        );
    }
}
