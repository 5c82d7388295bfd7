//! The one wasmtime `Engine` configuration every policy runs under. Each knob says its trade-off.

use wasmtime::{Config, Engine, OptLevel};

/// Builds the engine. Compiled artifacts only load into an engine of this same configuration,
/// which is why the compile cache keys on [`Engine::precompile_compatibility_hash`].
pub fn build() -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    // Host calls go through kube-rs, which is async: the guest runs on a fiber and yields while
    // the host awaits the API server (wasmtime 48 enables this by default for async linkers).
    config.wasm_component_model(true);
    // CPU deadline by epochs: a load and compare at loop back-edges and function entries, much
    // cheaper than fuel. Each tick (ticker.rs) runs the run's epoch callback, which reads the
    // run's clock: the deadline is measured, not counted in ticks.
    config.epoch_interruption(true);
    // Policies are small and run once; Speed costs little more compile time than None, and the
    // compiled artifact is cached on disk anyway.
    config.cranelift_opt_level(OptLevel::Speed);
    // 512 KiB of wasm stack: deep recursion traps (StackOverflow) instead of growing without end.
    config.max_wasm_stack(512 << 10);
    // Fiber stacks must hold the wasm stack plus host frames of the async calls.
    config.async_stack_size(2 << 20);
    // Keep the default memory reservation (guard pages make bounds checks free); the
    // ResourceLimiter, not the reservation, enforces the memory cap.
    Engine::new(&config)
}
