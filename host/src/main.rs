//! The `cutover` binary.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    cutover::cli::main().await
}
