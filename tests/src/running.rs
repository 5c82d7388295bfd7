//! A `cutover` run watched while it happens: its output as it comes, signals sent to it, and its peak memory (VmHWM).

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::cutover::{Cutover, Output, RUN_TIMEOUT};

/// How much of each stream a watched run keeps: a host that floods its output must fail the
/// test, not exhaust the test process. The rest is counted ([`Finished::stdout_bytes`]).
pub const KEPT_BYTES: usize = 16 << 20;

/// How often `/proc/<pid>/status` is read for the peak memory.
const POLL: Duration = Duration::from_millis(5);

/// What a watched run may do to the machine: past `rss_ceiling` bytes of resident memory the
/// child is killed (and [`Finished::ceiling_hit`] says so), so a host that leaks fails the test
/// instead of taking the shared machine down.
#[derive(Clone, Copy, Debug)]
pub struct Watch {
    pub rss_ceiling: u64,
}

impl Default for Watch {
    fn default() -> Self {
        Watch {
            rss_ceiling: 4 << 30,
        }
    }
}

/// One stream of the child, as far as it has come.
#[derive(Default)]
struct Stream {
    kept: Vec<u8>,
    total: usize,
}

/// A running `cutover` child.
pub struct Running {
    args: Vec<String>,
    pid: u32,
    started: Instant,
    stdout: Arc<Mutex<Stream>>,
    stderr: Arc<Mutex<Stream>>,
    output_arrived: Arc<Notify>,
    readers: Vec<JoinHandle<()>>,
    monitor: JoinHandle<Monitored>,
}

/// How the child ended, seen by the monitor.
struct Monitored {
    code: Option<i32>,
    exited: Instant,
    peak_rss: Option<u64>,
    ceiling_hit: bool,
    timed_out: bool,
}

/// A watched run, ended.
#[derive(Debug)]
pub struct Finished {
    /// The run as [`Cutover::run`] reports it (each stream cut at [`KEPT_BYTES`]).
    pub output: Output,
    /// When the child exited.
    pub exited: Instant,
    /// The child's peak resident memory in bytes (the last VmHWM read before it exited).
    pub peak_rss: Option<u64>,
    /// Whether it was killed for passing [`Watch::rss_ceiling`].
    pub ceiling_hit: bool,
    /// Bytes the child wrote to stdout and stderr, all of them.
    pub stdout_bytes: usize,
    pub stderr_bytes: usize,
}

impl Cutover {
    /// Starts `cutover <args>` (as [`Cutover::run`] does) and watches it.
    ///
    /// # Panics
    /// When the binary cannot be started.
    pub fn spawn(args: &[&str], kubeconfig: &Path, watch: Watch) -> Running {
        let mut command = Self::command(args, kubeconfig);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => panic!("starting {}: {e}", Self::bin().display()),
        };
        let pid = child.id().unwrap_or_default();
        let output_arrived = Arc::new(Notify::new());
        let (stdout, stderr) = (Arc::default(), Arc::default());
        let mut readers = Vec::new();
        if let Some(pipe) = child.stdout.take() {
            readers.push(read_into(
                pipe,
                Arc::clone(&stdout),
                Arc::clone(&output_arrived),
            ));
        }
        if let Some(pipe) = child.stderr.take() {
            readers.push(read_into(
                pipe,
                Arc::clone(&stderr),
                Arc::clone(&output_arrived),
            ));
        }
        let monitor = tokio::spawn(async move {
            let mut peak_rss = None;
            let mut ceiling_hit = false;
            let mut timed_out = false;
            let status = loop {
                tokio::select! {
                    status = child.wait() => break status.ok(),
                    () = tokio::time::sleep(POLL) => {
                        if let Some(memory) = proc_memory(pid) {
                            peak_rss = peak_rss.max(Some(memory.hwm));
                            if memory.rss > watch.rss_ceiling && !ceiling_hit {
                                ceiling_hit = true;
                                let _ = child.start_kill();
                            }
                        }
                        if started.elapsed() > RUN_TIMEOUT && !timed_out {
                            timed_out = true;
                            let _ = child.start_kill();
                        }
                    }
                }
            };
            Monitored {
                code: status.and_then(|s| s.code()),
                exited: Instant::now(),
                peak_rss,
                ceiling_hit,
                timed_out,
            }
        });
        Running {
            args: args.iter().map(|a| a.to_string()).collect(),
            pid,
            started,
            stdout,
            stderr,
            output_arrived,
            readers,
            monitor,
        }
    }
}

impl Running {
    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Waits until stdout or stderr contains `needle`; returns when it arrived, or `None`
    /// after `timeout` (or once the child has closed both streams without it).
    pub async fn wait_for_output(&self, needle: &str, timeout: Duration) -> Option<Instant> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Registered before looking, so output arriving in between still wakes us.
            let arrived = self.output_arrived.notified();
            if self.contains(needle) {
                return Some(Instant::now());
            }
            if self.readers.iter().all(JoinHandle::is_finished) {
                return None;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return None;
            }
        }
    }

    fn contains(&self, needle: &str) -> bool {
        [&self.stdout, &self.stderr].iter().any(|stream| {
            let stream = stream.lock().unwrap_or_else(|e| e.into_inner());
            String::from_utf8_lossy(&stream.kept).contains(needle)
        })
    }

    /// Sends `signal` (`INT`, `TERM`, ...) to the child with kill(1); returns when it was sent,
    /// or `None` when kill(1) refused (the child is gone) or could not be run.
    pub fn signal(&self, signal: &str) -> Option<Instant> {
        let status = std::process::Command::new("kill")
            .arg("-s")
            .arg(signal)
            .arg(self.pid.to_string())
            .status();
        match status {
            Ok(status) if status.success() => Some(Instant::now()),
            _ => None,
        }
    }

    /// Waits for the child to exit (it is killed after [`RUN_TIMEOUT`]) and collects the run.
    ///
    /// # Panics
    /// When the monitor task panicked.
    pub async fn finish(self) -> Finished {
        let monitored = match self.monitor.await {
            Ok(monitored) => monitored,
            Err(e) => panic!("watching cutover {}: {e}", self.args.join(" ")),
        };
        for reader in self.readers {
            let _ = reader.await;
        }
        let take = |stream: &Arc<Mutex<Stream>>| {
            let stream = stream.lock().unwrap_or_else(|e| e.into_inner());
            (
                String::from_utf8_lossy(&stream.kept).into_owned(),
                stream.total,
            )
        };
        let ((stdout, stdout_bytes), (stderr, stderr_bytes)) =
            (take(&self.stdout), take(&self.stderr));
        let output = Output {
            args: self.args,
            code: monitored.code,
            stdout,
            stderr,
            elapsed: monitored.exited.duration_since(self.started),
            timed_out: monitored.timed_out,
        };
        tracing::debug!("\n{output}\npeak RSS: {:?} bytes", monitored.peak_rss);
        Finished {
            output,
            exited: monitored.exited,
            peak_rss: monitored.peak_rss,
            ceiling_hit: monitored.ceiling_hit,
            stdout_bytes,
            stderr_bytes,
        }
    }
}

/// Copies a pipe into `stream`, keeping at most [`KEPT_BYTES`].
fn read_into(
    mut pipe: impl AsyncRead + Unpin + Send + 'static,
    stream: Arc<Mutex<Stream>>,
    arrived: Arc<Notify>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 64 << 10];
        loop {
            let n = match pipe.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            {
                let mut stream = stream.lock().unwrap_or_else(|e| e.into_inner());
                stream.total += n;
                let room = KEPT_BYTES.saturating_sub(stream.kept.len());
                stream.kept.extend_from_slice(&buffer[..n.min(room)]);
            }
            arrived.notify_waiters();
        }
        arrived.notify_waiters();
    })
}

/// Resident memory of a process, in bytes.
struct ProcMemory {
    hwm: u64,
    rss: u64,
}

/// Reads VmHWM and VmRSS from `/proc/<pid>/status`; `None` once the process is gone (or has
/// released its memory on the way out).
fn proc_memory(pid: u32) -> Option<ProcMemory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().strip_suffix("kB"))
            .and_then(|kib| kib.trim().parse::<u64>().ok())
            .map(|kib| kib * 1024)
    };
    Some(ProcMemory {
        hwm: field("VmHWM:")?,
        rss: field("VmRSS:")?,
    })
}

#[cfg(test)]
mod tests {
    use super::proc_memory;

    #[test]
    fn reads_its_own_memory() {
        let memory = proc_memory(std::process::id()).expect("this process has a status");
        assert!(memory.hwm >= memory.rss && memory.rss > 0);
    }
}
