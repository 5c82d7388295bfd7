//! The per-run limits: time and memory an operator sets, the bounds on what the host keeps for a
//! guest, and the `ResourceLimiter` that enforces the memory cap and records, typed, what it refused.
//!
//! Everything a guest can make the host hold has a bound here; docs/writing-policies.md
//! ("Limits") lists them. A guest argument is copied into host memory once while its call runs
//! (at most the guest's own memory, itself capped by `--memory-limit`); what outlives the call
//! is cut to these bounds.

use std::time::Duration;

/// Default memory cap, as `--memory-limit`: 64 MiB.
pub const DEFAULT_MEMORY: u64 = 64 << 20;
/// Default run deadline, as Helm's `--timeout`: 5 minutes.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// Default deadline for one host call that has no timeout of its own.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Denied calls remembered for the report; later ones are only counted.
pub const MAX_DENIAL_RECORDS: usize = 100;
/// Changes (successful mutations) remembered for the report; later ones are only counted.
pub const MAX_CHANGE_RECORDS: usize = 1_000;
/// The largest checkpoint a policy may save.
pub const MAX_CHECKPOINT: usize = 1 << 20;
/// The most JSON a `list` hands to a guest, all items together.
pub const MAX_LIST_BYTES: usize = 16 << 20;
/// The most items a `list` hands to a guest.
pub const MAX_LIST_ITEMS: usize = 10_000;
/// Items asked for per page when the host reads a list (`limit`/`continue`).
pub const LIST_PAGE: u32 = 500;
/// The most JSON text a guest may hand the host in one argument (a manifest, a patch): the
/// API server's own request limit.
pub const MAX_REQUEST_BODY: usize = 3 << 20;
/// Entries of the WASI resource table (streams, pollables) a guest may hold at once.
pub const MAX_RESOURCES: usize = 10_000;
/// Bytes of a guest's stdout (and of its stderr) kept for the report.
pub const MAX_GUEST_OUTPUT: usize = 256 << 10;
/// Elements of one table a guest may create or grow to.
pub const MAX_TABLE_ELEMENTS: usize = 100_000;
/// Component instances, tables and memories a guest may create.
pub const MAX_INSTANCES: usize = 100;
pub const MAX_TABLES: usize = 100;
pub const MAX_MEMORIES: usize = 10;

/// Limits of one run, as the operator set them.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long the whole run may take, by the run's clock (`--timeout`); the guest's own CPU
    /// time is also cut at this much wall time.
    pub timeout: Duration,
    /// Bytes of linear memory, all memories together (`--memory-limit`).
    pub memory: u64,
    /// Deadline for one host call that has no timeout of its own (`--request-timeout`).
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

/// The guest asked for a table larger than [`MAX_TABLE_ELEMENTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the policy asked for a table of {desired} elements, past the sandbox's limit of {MAX_TABLE_ELEMENTS}"
)]
pub struct TableLimitExceeded {
    pub desired: usize,
}

/// A `ResourceLimiter` that refuses growth past the caps and remembers what it refused, so the
/// run is reported by type rather than by an error string.
#[derive(Debug)]
pub struct MemoryCap {
    cap: u64,
    /// Bytes of all memories together: every creation and growth passes through here.
    total: usize,
    pub exceeded: Option<MemoryCapExceeded>,
    pub table_exceeded: Option<TableLimitExceeded>,
}

impl MemoryCap {
    pub fn new(cap: u64) -> MemoryCap {
        MemoryCap {
            cap,
            total: 0,
            exceeded: None,
            table_exceeded: None,
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
        if desired > MAX_TABLE_ELEMENTS {
            let exceeded = TableLimitExceeded { desired };
            self.table_exceeded = Some(exceeded);
            return Err(exceeded.into());
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

/// Records of one kind kept for the report, at most `cap` of them; the rest only counted.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Records {
    kept: Vec<String>,
    total: u64,
}

impl Records {
    /// Adds one record (kept while fewer than `cap` are).
    pub fn push(&mut self, record: String, cap: usize) {
        self.total += 1;
        if self.kept.len() < cap {
            self.kept.push(record);
        }
    }

    /// The records kept, oldest first.
    pub fn kept(&self) -> &[String] {
        &self.kept
    }

    /// How many there were, kept or not.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Whether there were none.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keep_the_first_and_count_all() {
        let mut r = Records::default();
        for i in 0..250 {
            r.push(format!("call {i}"), 100);
        }
        assert_eq!(r.kept().len(), 100);
        assert_eq!(r.kept()[99], "call 99");
        assert_eq!(r.total(), 250);
    }

    #[test]
    fn the_limiter_refuses_and_remembers() {
        use wasmtime::ResourceLimiter as _;
        let mut cap = MemoryCap::new(1 << 20);
        assert!(cap.memory_growing(0, 512 << 10, None).unwrap());
        assert!(cap.memory_growing(0, 1 << 20, None).is_err());
        assert_eq!(cap.exceeded.map(|e| e.cap), Some(1 << 20));
        assert!(cap.table_growing(0, 10, None).unwrap());
        assert!(cap.table_growing(0, MAX_TABLE_ELEMENTS + 1, None).is_err());
        assert!(cap.table_exceeded.is_some());
    }
}
