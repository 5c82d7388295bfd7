//! The `cutover` binary.

fn main() -> std::process::ExitCode {
    cutover::cli::main()
}
