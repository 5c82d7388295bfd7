//! The per-run resource limits: memory cap (a `ResourceLimiter` that records, typed, that the cap
//! was hit), table and instance counts.

use std::time::Duration;

/// Default memory cap, as the issue and Helm-like defaults ask: 64 MiB.
pub const DEFAULT_MEMORY: u64 = 64 << 20;
/// Default run deadline, as Helm's `--timeout`: 5 minutes.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// Default deadline for one host call that has no timeout of its own.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Limits of one run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall time for the whole run (epoch deadline plus a backstop on host calls).
    pub timeout: Duration,
    /// Bytes of linear memory, all memories together.
    pub memory: u64,
    /// Deadline for one host call that has no timeout of its own (get, list, patch, ...).
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: DEFAULT_TIMEOUT,
            memory: DEFAULT_MEMORY,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// The guest asked for more memory than the cap allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the policy tried to grow its memory to {desired} bytes, past the cap of {cap} bytes")]
pub struct MemoryCapExceeded {
    pub desired: usize,
    pub cap: u64,
}

/// A `ResourceLimiter` that traps the guest when it grows past the cap and remembers that it
/// did, so the run is reported as "memory cap" by type rather than by an error string.
#[derive(Debug)]
pub struct MemoryCap {
    cap: u64,
    /// Bytes of all memories together: every creation and growth passes through here.
    total: usize,
    pub exceeded: Option<MemoryCapExceeded>,
}

impl MemoryCap {
    pub fn new(cap: u64) -> MemoryCap {
        MemoryCap {
            cap,
            total: 0,
            exceeded: None,
        }
    }
}

impl wasmtime::ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // A component may hold several memories (the guest's and its adapters'): count them all.
        let total = self.total.saturating_add(desired.saturating_sub(current));
        if total as u64 > self.cap {
            let exceeded = MemoryCapExceeded {
                desired: total,
                cap: self.cap,
            };
            self.exceeded = Some(exceeded);
            return Err(exceeded.into());
        }
        self.total = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }

    fn instances(&self) -> usize {
        100
    }

    fn tables(&self) -> usize {
        100
    }

    fn memories(&self) -> usize {
        10
    }
}
