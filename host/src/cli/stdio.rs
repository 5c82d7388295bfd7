//! Standard output and error that a failed write cannot kill: `cutover history | head` must
//! not panic mid-run (Rust's `println!` panics when a write fails), and a run whose reader went
//! away still finishes its release; the lines are dropped. Any other failed write (a full
//! disk under `> backup.yaml`) is kept, for the exit code to say.

use std::fmt::Arguments;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_STOPPED: AtomicBool = AtomicBool::new(false);
/// The first write to standard output that failed other than by a closed pipe.
static STDOUT_FAILED: Mutex<Option<String>> = Mutex::new(None);

/// Writes to standard output; once a write failed, nothing more is written.
pub(crate) fn out(args: Arguments<'_>) {
    if STDOUT_STOPPED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        STDOUT_STOPPED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            let mut failed = STDOUT_FAILED.lock().unwrap_or_else(|p| p.into_inner());
            failed.get_or_insert_with(|| e.to_string());
        }
    }
}

/// Why writing standard output failed, when it did other than by its reader going away: the
/// output is incomplete, and the command must not exit 0.
pub(crate) fn stdout_failure() -> Option<String> {
    STDOUT_FAILED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}

/// Writes to standard error; a failed write is dropped (there is nowhere to report it).
pub(crate) fn err(args: Arguments<'_>) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_fmt(args);
}

/// `println!` that survives a closed standard output.
macro_rules! outln {
    () => { $crate::cli::stdio::out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::stdio::out(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` that survives a closed standard output.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::stdio::out(format_args!($($arg)*)) };
}

/// `eprintln!` that survives a closed standard error.
macro_rules! errln {
    () => { $crate::cli::stdio::err(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::stdio::err(format_args!("{}\n", format_args!($($arg)*))) };
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_macros_format_as_println_does() {
        // Written to the test's captured output; what matters is that they compile and do not
        // panic.
        outln!();
        outln!("{} {x}", 1, x = 2);
        out!("{}", "no newline");
        errln!("{:>3}", 7);
    }
}
