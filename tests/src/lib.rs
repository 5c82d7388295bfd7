//! Test support for the end-to-end tier: the local control plane, a test kubelet, and the `cutover` binary.
//!
//! A test that needs the cluster starts a [`TestEnv`]: its own namespace, its own nodes played by a
//! [`TestKubelet`], and workloads pinned to those nodes (see [`manifests`]), so that tests running in
//! parallel in one process never see each other's pods. The test kubelet's image convention (how an
//! image name makes a pod ready, unready, crash-looping or stuck pulling) is in [`kubelet`].
//!
//! For the adversarial tier: [`guests`] locates the hostile modules, [`running`] watches a run
//! while it happens (signals, peak memory), [`text`] holds the contract for guest text.
//! [`examples`] locates (and for Python builds) the example policies of examples/policies.

pub mod conformance;
pub mod control_plane;
pub mod cutover;
pub mod env;
pub mod examples;
pub mod guests;
pub mod kubelet;
pub mod manifests;
pub mod metrics;
pub mod namespace;
pub mod running;
pub mod sim_serve;
pub mod state;
pub mod text;
pub mod wait;

mod cleanup;

pub use cutover::{Cutover, Output, exit};
pub use env::TestEnv;
pub use guests::{guest, raw};
pub use kubelet::{KubeletOptions, TestKubelet};
pub use namespace::TestNamespace;
pub use running::{Finished, Running, Watch};
pub use sim_serve::SimServe;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// The label that ties nodes and workloads of one test together (`nodeSelector` on every workload).
pub const GROUP_LABEL: &str = "cutover.test/group";

/// Set on every namespace the tests create, so that leftovers of killed runs are easy to find:
/// `kubectl delete ns -l cutover.test/e2e`.
pub const E2E_LABEL: &str = "cutover.test/e2e";

/// A short random suffix of lowercase letters and digits, valid in names and label values.
///
/// `RandomState` is seeded randomly per process; the counter keeps two calls in one process apart
/// and the clock keeps two processes apart should they ever share a seed.
pub fn random_suffix(len: usize) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.write_u32(std::process::id());
    let mut bits = hasher.finish();
    (0..len)
        .map(|i| {
            if i > 0 && i % 12 == 0 {
                // 64 bits give 12 characters; stir for more.
                bits = bits.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
            }
            let c = ALPHABET[(bits % ALPHABET.len() as u64) as usize];
            bits /= ALPHABET.len() as u64;
            c as char
        })
        .collect()
}

/// Installs a tracing subscriber once, writing through the test harness so that the kubelet's
/// messages show up with the failing test that produced them and stay quiet otherwise.
pub fn init_tracing() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("cutover_tests=info"));
        // Another crate in the same test binary may have installed one already; that one wins.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .with_ansi(false)
            .try_init();
    });
}

#[cfg(test)]
mod tests {
    use super::random_suffix;

    #[test]
    fn suffixes_are_names_and_differ() {
        let a = random_suffix(6);
        let b = random_suffix(6);
        assert_eq!(a.len(), 6);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        assert_ne!(a, b);
        assert_eq!(random_suffix(30).len(), 30);
    }
}
