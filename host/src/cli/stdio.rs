//! Standard output and error that a closed pipe cannot kill: `cutover history | head` must
//! not panic mid-run (Rust's `println!` panics when a write fails), and a run whose reader went
//! away still finishes its release; the lines are dropped.

use std::fmt::Arguments;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes to standard output; once its reader is gone, nothing more is written.
pub(crate) fn out(args: Arguments<'_>) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_fmt(args)
        .and_then(|()| stdout.flush())
        .is_err()
    {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
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
