//! Ctrl-C and SIGTERM during a command: the first cancels the run (the guest is interrupted at
//! once and the run reported as cancelled), a second exits at once.

use std::sync::{Arc, OnceLock};

use tokio::signal::unix::{SignalKind, signal};

use super::ExitCode;
use crate::sandbox::cancel::Cancel;

/// Which signal cancelled the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Signal {
    Interrupt,
    Terminate,
}

impl Signal {
    /// `SIGINT (Ctrl-C)`, `SIGTERM`.
    pub(super) fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT (Ctrl-C)",
            Signal::Terminate => "SIGTERM",
        }
    }

    /// 130 for SIGINT, 143 for SIGTERM, as shells report a process killed by them.
    pub(super) fn exit_code(self) -> ExitCode {
        match self {
            Signal::Interrupt => ExitCode::Interrupted,
            Signal::Terminate => ExitCode::Terminated,
        }
    }
}

/// The signal handler of one command.
#[derive(Debug, Clone)]
pub(super) struct Interrupts {
    received: Arc<OnceLock<Signal>>,
}

impl Interrupts {
    /// Listens for SIGINT and SIGTERM: the first cancels `cancel`; the second exits the process
    /// at once with the first one's code. Must be called inside the runtime.
    pub(super) fn install(cancel: Cancel) -> std::io::Result<Interrupts> {
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let received = Arc::new(OnceLock::new());
        let seen = received.clone();
        tokio::spawn(async move {
            loop {
                let got = tokio::select! {
                    Some(()) = interrupt.recv() => Signal::Interrupt,
                    Some(()) = terminate.recv() => Signal::Terminate,
                    else => return,
                };
                match seen.get() {
                    None => {
                        let _ = seen.set(got);
                        cancel.cancel(got.name());
                    }
                    Some(first) => {
                        let first: &Signal = first;
                        errln!("error: {} again: exiting at once", got.name());
                        std::process::exit(i32::from(first.exit_code().as_u8()));
                    }
                }
            }
        });
        Ok(Interrupts { received })
    }

    /// The signal that cancelled the run, if one did.
    pub(super) fn received(&self) -> Option<Signal> {
        self.received.get().copied()
    }
}
