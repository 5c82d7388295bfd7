//! `export_policy!`: exports a policy function as the world's `run` and embeds its manifest.

/// Exports a policy: its function becomes the component's `run` export, and its manifest is
/// written (checked and serialized at compile time) into the custom section `cutover-manifest`.
///
/// The fields come in this order; inside a parameter, any order:
///
/// | field | what |
/// |---|---|
/// | `name` | the policy's name: a DNS-1123 label (at most 63 of `a-z`, `0-9`, `-`; alphanumeric at both ends) |
/// | `version` | semver, usually `env!("CARGO_PKG_VERSION")` |
/// | `description` | one line |
/// | `release` | optional: the template of the release name when the operator gives no `--release`, such as `"drain-{node}"`: lowercase letters, digits, `-` and `.`, and `{param}` placeholders naming declared `string` or `integer` parameters that are required or have a default; without it, the policy's name |
/// | `inputs` | optional: one line saying what positional inputs the policy takes (`"a chart folder, or manifest files"`); without it the host refuses inputs |
/// | `chart_values` | optional: `true` makes the parameters a chart's values, as Helm takes them (`-f`, `--set a.b[0]=x`, `--set-string`, `--set-file`, `--reuse-values`); `params` must then be empty |
/// | `rollback_on_failure` | optional: `true` makes the host undo a failed run as `--rollback-on-failure` does, by default |
/// | `rollback_by_policy` | optional: `true` says the policy undoes its own runs: `cutover rollback <release>` and `cutover abort <release>` of a failed or interrupted run run it again told [`Request::Abort`](crate::Request::Abort) (with its checkpoint), instead of replaying the host's journal (docs/writing-policies.md); not with `rollback_on_failure` |
/// | `params` | `[{ name: "...", type: "...", required: bool, default: literal, minimum: n, maximum: n, enum: ["a", "b"], description: "..." }, ...]`; `name` and `type` are required; `type` is `string`, `integer`, `number`, `boolean`, `duration`, `string-list`, `object` (any mapping) or `list` (any list); `default` is a string, number or bool literal or `["a", "b"]` (for a `string-list` or a `list`; an `object` takes no default here); `minimum`/`maximum` (number literals) only on `integer` and `number`, `enum` (string literals) only on `string`; a default must lie within them |
/// | `capabilities` | `["cluster/cordon", "cluster/evict:v1/Pod@*", ...]`, see `docs/capabilities.md` |
/// | `run` | a `fn(&Context) -> Result<impl Into<String>, Error>` (or a closure); its `Ok` is the run's one-line summary |
///
/// A manifest the docs would refuse (an unknown type, a default of the wrong type, a malformed
/// capability, a required parameter with a default...) does not compile.
///
/// The exported `run` installs a panic hook that hands the panic message to the host
/// (`runtime.report-panic`) before the module traps, so the operator sees why.
///
/// Use it once per crate, in a `cdylib` built for `wasm32-wasip2`. It also defines
/// `pub(crate) const POLICY_MANIFEST: Manifest` where it is invoked, for the policy's native
/// tests ([`testing::FakeCluster::context`](crate::testing::FakeCluster::context)).
///
/// A capability outside the grammar (here `cluster/destroy`) is a compile error:
///
/// ```compile_fail,E0080
/// fn run(_: &cutover_guest_sdk::Context) -> Result<String, cutover_guest_sdk::Error> {
///     Ok(String::new())
/// }
/// cutover_guest_sdk::export_policy! {
///     name: "bad", version: "0.1.0", description: "d",
///     params: [],
///     capabilities: ["cluster/destroy:v1/Namespace"],
///     run: run,
/// }
/// # fn main() {}
/// ```
///
/// ```no_run
/// use cutover_guest_sdk::{Context, Error, export_policy};
///
/// fn hello(ctx: &Context) -> Result<String, Error> {
///     #[derive(serde::Deserialize)]
///     struct Params {
///         who: String,
///     }
///     let p: Params = ctx.params()?;
///     Ok(format!("said hello to {}", p.who))
/// }
///
/// export_policy! {
///     name: "hello",
///     version: "0.1.0",
///     description: "Says \"hello\".",
///     release: "hello-{who}",
///     params: [
///         { name: "who", type: "string", default: "world", description: "Whom to greet." },
///     ],
///     capabilities: [],
///     run: hello,
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! export_policy {
    (
        name: $name:expr,
        version: $version:expr,
        description: $description:expr,
        $(release: $release:expr,)?
        $(inputs: $inputs:expr,)?
        $(chart_values: $chart_values:expr,)?
        $(rollback_on_failure: $rollback:expr,)?
        $(rollback_by_policy: $by_policy:expr,)?
        params: [ $($params:tt)* ],
        capabilities: [ $($caps:tt)* ],
        run: $run:expr $(,)?
    ) => {
        /// The policy's manifest as `export_policy!` wrote it: what a native test hands to
        /// `cutover_guest_sdk::testing::FakeCluster::context`, so that the parameters get the
        /// host's checks and defaults.
        #[allow(dead_code)]
        pub(crate) const POLICY_MANIFEST: $crate::manifest::Manifest = $crate::policy_manifest! {
            name: $name,
            version: $version,
            description: $description,
            $(release: $release,)?
            $(inputs: $inputs,)?
            $(chart_values: $chart_values,)?
            $(rollback_on_failure: $rollback,)?
            $(rollback_by_policy: $by_policy,)?
            params: [ $($params)* ],
            capabilities: [ $($caps)* ],
        };

        const _: () = {
            const __CUTOVER_MANIFEST: $crate::manifest::Manifest = POLICY_MANIFEST;
            const __CUTOVER_MANIFEST_LEN: usize = __CUTOVER_MANIFEST.json_len();

            // The host reads this section without running guest code. Only wasm has custom
            // sections; elsewhere (a native `cargo test` of the policy crate) it is plain data.
            #[used]
            #[cfg_attr(target_family = "wasm", unsafe(link_section = "cutover-manifest"))]
            static __CUTOVER_MANIFEST_SECTION: [u8; __CUTOVER_MANIFEST_LEN] =
                __CUTOVER_MANIFEST.to_json::<__CUTOVER_MANIFEST_LEN>();

            struct __CutoverPolicy;

            impl $crate::bindings::Guest for __CutoverPolicy {
                fn run(
                    invocation: $crate::bindings::Invocation,
                ) -> ::core::result::Result<$crate::bindings::Outcome, $crate::bindings::Error> {
                    $crate::__private::run(invocation, $run)
                }
            }

            $crate::bindings::__export_rollout_policy!(__CutoverPolicy with_types_in $crate::bindings);
        };
    };
}

/// Builds a [`Manifest`](crate::manifest::Manifest) in a `const` from the same fields as
/// [`export_policy!`](crate::export_policy) (without `run`). `export_policy!` uses it; a
/// policy's own tests can use it to look at a manifest natively.
///
/// ```
/// use cutover_guest_sdk::manifest::Manifest;
///
/// const M: Manifest = cutover_guest_sdk::policy_manifest! {
///     name: "sleeper",
///     version: "0.1.0",
///     description: "Sleeps.",
///     params: [{ name: "ms", type: "integer", default: 1000 }],
///     capabilities: [],
/// };
/// const JSON: [u8; M.json_len()] = M.to_json();
/// let v: serde_json::Value = serde_json::from_slice(&JSON).unwrap();
/// assert_eq!(v["params"][0]["default"], 1000);
/// ```
///
/// Mistakes are compile errors (`E0080`, a `const` that failed), with a message saying what
/// is wrong. A default of the wrong type:
///
/// ```compile_fail,E0080
/// const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::policy_manifest! {
///     name: "x", version: "0.1.0", description: "d",
///     params: [{ name: "n", type: "integer", default: "ten" }],
///     capabilities: [],
/// };
/// const JSON: [u8; M.json_len()] = M.to_json();
/// ```
///
/// A required parameter with a default:
///
/// ```compile_fail,E0080
/// const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::policy_manifest! {
///     name: "x", version: "0.1.0", description: "d",
///     params: [{ name: "node", type: "string", required: true, default: "n1" }],
///     capabilities: [],
/// };
/// const JSON: [u8; M.json_len()] = M.to_json();
/// ```
///
/// A duration default that is not a Go duration:
///
/// ```compile_fail,E0080
/// const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::policy_manifest! {
///     name: "x", version: "0.1.0", description: "d",
///     params: [{ name: "timeout", type: "duration", default: "5 minutes" }],
///     capabilities: [],
/// };
/// const JSON: [u8; M.json_len()] = M.to_json();
/// ```
///
/// A default outside its `minimum`..`maximum`:
///
/// ```compile_fail,E0080
/// const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::policy_manifest! {
///     name: "x", version: "0.1.0", description: "d",
///     params: [{ name: "replicas", type: "integer", default: -1, minimum: 0, maximum: 10 }],
///     capabilities: [],
/// };
/// const JSON: [u8; M.json_len()] = M.to_json();
/// ```
///
/// A `minimum` above the `maximum`:
///
/// ```compile_fail,E0080
/// const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::policy_manifest! {
///     name: "x", version: "0.1.0", description: "d",
///     params: [{ name: "ratio", type: "number", minimum: 1.5, maximum: 0.5 }],
///     capabilities: [],
/// };
/// const JSON: [u8; M.json_len()] = M.to_json();
/// ```
///
/// A default that is not one of the `enum` values:
///
/// ```compile_fail,E0080
/// const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::policy_manifest! {
///     name: "x", version: "0.1.0", description: "d",
///     params: [{ name: "kind", type: "string", default: "Job", enum: ["Deployment", "StatefulSet"] }],
///     capabilities: [],
/// };
/// const JSON: [u8; M.json_len()] = M.to_json();
/// ```
///
/// A bound that is not a number literal (only numbers have bounds):
///
/// ```compile_fail
/// const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::policy_manifest! {
///     name: "x", version: "0.1.0", description: "d",
///     params: [{ name: "n", type: "integer", minimum: "0" }],
///     capabilities: [],
/// };
/// ```
///
/// A release template that names an undeclared parameter:
///
/// ```compile_fail,E0080
/// const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::policy_manifest! {
///     name: "drain", version: "0.1.0", description: "d",
///     release: "drain-{nodes}",
///     params: [{ name: "node", type: "string", required: true }],
///     capabilities: [],
/// };
/// const JSON: [u8; M.json_len()] = M.to_json();
/// ```
///
/// Or with an unbalanced brace:
///
/// ```compile_fail,E0080
/// const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::policy_manifest! {
///     name: "drain", version: "0.1.0", description: "d",
///     release: "drain-{node",
///     params: [{ name: "node", type: "string", required: true }],
///     capabilities: [],
/// };
/// const JSON: [u8; M.json_len()] = M.to_json();
/// ```
///
/// A policy that undoes its own runs (`rollback_by_policy`) and asks for a journal undo on
/// failure (`rollback_on_failure`) at once:
///
/// ```compile_fail,E0080
/// const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::policy_manifest! {
///     name: "x", version: "0.1.0", description: "d",
///     rollback_on_failure: true,
///     rollback_by_policy: true,
///     params: [],
///     capabilities: [],
/// };
/// const JSON: [u8; M.json_len()] = M.to_json();
/// ```
///
/// An unknown field:
///
/// ```compile_fail
/// const M: cutover_guest_sdk::manifest::Manifest = cutover_guest_sdk::policy_manifest! {
///     name: "x", version: "0.1.0", description: "d",
///     params: [{ name: "n", type: "string", optional: true }],
///     capabilities: [],
/// };
/// ```
#[macro_export]
macro_rules! policy_manifest {
    (
        name: $name:expr,
        version: $version:expr,
        description: $description:expr,
        $(release: $release:expr,)?
        $(inputs: $inputs:expr,)?
        $(chart_values: $chart_values:expr,)?
        $(rollback_on_failure: $rollback:expr,)?
        $(rollback_by_policy: $by_policy:expr,)?
        params: [ $( { $($param:tt)* } ),* $(,)? ],
        capabilities: [ $($cap:expr),* $(,)? ] $(,)?
    ) => {{
        const __CUTOVER_PARAMS: &[$crate::manifest::Param] = &[
            $( $crate::__cutover_param!(@ $crate::manifest::Param::new() ; $($param)*) ),*
        ];
        const __CUTOVER_CAPABILITIES: &[&str] = &[ $($cap),* ];
        $crate::manifest::Manifest::new(
            $name,
            $version,
            $description,
            __CUTOVER_PARAMS,
            __CUTOVER_CAPABILITIES,
        )
        $(.release($release))?
        $(.inputs($inputs))?
        $(.chart_values($chart_values))?
        $(.rollback_on_failure($rollback))?
        $(.rollback_by_policy($by_policy))?
    }};
}

/// Turns `key: value, ...` of one parameter into a chain of `const` setters on
/// [`Param`](crate::manifest::Param), one key at a time, so keys can come in any order.
#[doc(hidden)]
#[macro_export]
macro_rules! __cutover_param {
    (@ $p:expr ;) => { $p };
    (@ $p:expr ; name: $v:expr $(, $($rest:tt)*)?) => {
        $crate::__cutover_param!(@ $p.name($v) ; $($($rest)*)?)
    };
    (@ $p:expr ; type: $v:expr $(, $($rest:tt)*)?) => {
        $crate::__cutover_param!(@ $p.type_name($v) ; $($($rest)*)?)
    };
    (@ $p:expr ; required: $v:expr $(, $($rest:tt)*)?) => {
        $crate::__cutover_param!(@ $p.required($v) ; $($($rest)*)?)
    };
    (@ $p:expr ; description: $v:expr $(, $($rest:tt)*)?) => {
        $crate::__cutover_param!(@ $p.description($v) ; $($($rest)*)?)
    };
    (@ $p:expr ; default: [ $($item:literal),* $(,)? ] $(, $($rest:tt)*)?) => {
        $crate::__cutover_param!(
            @ $p.default($crate::manifest::Value::StrList(&[ $($item),* ])) ; $($($rest)*)?
        )
    };
    (@ $p:expr ; default: $v:literal $(, $($rest:tt)*)?) => {
        $crate::__cutover_param!(
            @ $p.default($crate::manifest::Lit($v).value(stringify!($v))) ; $($($rest)*)?
        )
    };
    (@ $p:expr ; minimum: $v:literal $(, $($rest:tt)*)?) => {
        $crate::__cutover_param!(
            @ $p.minimum($crate::manifest::Lit($v).bound(stringify!($v))) ; $($($rest)*)?
        )
    };
    (@ $p:expr ; maximum: $v:literal $(, $($rest:tt)*)?) => {
        $crate::__cutover_param!(
            @ $p.maximum($crate::manifest::Lit($v).bound(stringify!($v))) ; $($($rest)*)?
        )
    };
    (@ $p:expr ; enum: [ $($item:literal),* $(,)? ] $(, $($rest:tt)*)?) => {
        $crate::__cutover_param!(@ $p.allowed(&[ $($item),* ]) ; $($($rest)*)?)
    };
    (@ $p:expr ; default: $($rest:tt)*) => {
        ::core::compile_error!(
            "a parameter default must be a literal: \"5m\", 10, 0.5, true, or [\"a\", \"b\"]"
        )
    };
    (@ $p:expr ; $key:ident : $($rest:tt)*) => {
        ::core::compile_error!(concat!(
            "unknown parameter field `", stringify!($key),
            "`: use name, type, required, default, minimum, maximum, enum, description"
        ))
    };
}

/// What the macros expand to; not part of the API.
#[doc(hidden)]
pub mod __private {
    use crate::bindings::{Error as WitError, Invocation, Outcome};
    use crate::{Context, Error, runtime};

    /// The body of the exported `run`: panic hook, context, the policy, the result back to WIT.
    pub fn run<S: Into<String>>(
        invocation: Invocation,
        policy: impl FnOnce(&Context) -> Result<S, Error>,
    ) -> Result<Outcome, WitError> {
        install_panic_hook();
        let ctx = Context::from_invocation(invocation);
        match policy(&ctx) {
            Ok(summary) => Ok(Outcome {
                summary: summary.into(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// A panic traps the module (release builds abort), and the default hook writes to a
    /// stderr the operator may never see; hand the message to the host instead, which reports
    /// the run as a panic once the trap follows.
    fn install_panic_hook() {
        std::panic::set_hook(Box::new(|info| {
            let message = info.payload_as_str().unwrap_or("a panic without a message");
            let line = match info.location() {
                Some(at) => format!("{message} (at {}:{}:{})", at.file(), at.line(), at.column()),
                None => message.to_string(),
            };
            runtime::report_panic(&line);
        }));
    }
}
