//! A guest's stdout and stderr: captured up to a bound, the rest counted and dropped, never an error to the guest.
//!
//! wasmtime-wasi's `MemoryOutputPipe` fails a write past its capacity, and Rust's `println!`
//! panics on a failed write: a policy that printed a little too much would die of it. Here a
//! write always succeeds; what does not fit is counted, and the report says how much was cut.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// How much one write may be (what `check-write` grants); more is split by the guest.
const PERMIT: usize = 64 << 10;

/// One captured stream; clones share it.
#[derive(Clone, Debug)]
pub struct CappedOutput {
    capacity: usize,
    kept: Arc<Mutex<Kept>>,
}

#[derive(Debug, Default)]
struct Kept {
    bytes: Vec<u8>,
    dropped: u64,
}

impl CappedOutput {
    /// A capture that keeps at most `capacity` bytes.
    pub fn new(capacity: usize) -> CappedOutput {
        CappedOutput {
            capacity,
            kept: Arc::default(),
        }
    }

    /// What was kept, and how many bytes were dropped after it.
    pub fn contents(&self) -> (Vec<u8>, u64) {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        (kept.bytes.clone(), kept.dropped)
    }

    fn keep(&self, data: &[u8]) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let room = self.capacity.saturating_sub(kept.bytes.len());
        let taken = data.len().min(room);
        kept.bytes.extend_from_slice(&data[..taken]);
        kept.dropped = kept.dropped.saturating_add((data.len() - taken) as u64);
    }
}

impl IsTerminal for CappedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for CappedOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.keep(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(PERMIT)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedOutput {
    async fn ready(&mut self) {}
}

impl AsyncWrite for CappedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.keep(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_bound_is_counted_not_refused() {
        let mut out = CappedOutput::new(4);
        out.write(Bytes::from_static(b"abc")).expect("write");
        out.write(Bytes::from_static(b"defg"))
            .expect("a write past the bound still succeeds");
        assert_eq!(out.check_write().expect("permit"), PERMIT);
        assert_eq!(out.contents(), (b"abcd".to_vec(), 3));
    }
}
