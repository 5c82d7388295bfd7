//! Host bindings generated from wit/ (the `cutover:policy@0.1.0` world `rollout-policy`).

wasmtime::component::bindgen!({
    world: "rollout-policy",
    path: "../wit",
    imports: { default: async },
    exports: { default: async },
});
