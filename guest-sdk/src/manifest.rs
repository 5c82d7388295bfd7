//! The policy manifest, checked and serialized to JSON at compile time for the `cutover-manifest` section.
//!
//! [`export_policy!`](crate::export_policy) and [`policy_manifest!`](crate::policy_manifest)
//! build a [`Manifest`] in a `const`, then [`Manifest::to_json`] writes it into a byte array
//! that the linker puts in the custom section. Everything here is `const fn`, so a manifest
//! that `docs/manifest.md` would refuse (a bad name, an unknown parameter type, a default of the
//! wrong type, a malformed capability) is a compile error, not a surprise at `cutover inspect`.
//! Names, durations and capabilities are checked with `cutover-grammar`'s `const fn`s, the
//! grammar the host reads them with, so what compiles here the host accepts.

use cutover_grammar::{capability, duration, policy};

/// The `manifestVersion` this SDK writes.
pub const MANIFEST_VERSION: u32 = 1;

/// The name of the custom section that holds the manifest.
pub const SECTION: &str = "cutover-manifest";

/// A policy's manifest: what `cutover inspect` shows and what the host checks parameters and
/// capabilities against. Build it with [`policy_manifest!`](crate::policy_manifest) rather than
/// by hand.
///
/// ```
/// use cutover_guest_sdk::manifest::{Manifest, Param, ParamType};
///
/// const PARAMS: &[Param] = &[Param::new()
///     .name("node")
///     .ty(ParamType::from_name("string"))
///     .required(true)
///     .description("The node.")];
/// const M: Manifest = Manifest::new("drain", "0.1.0", "Drain a node.", PARAMS, &["cluster/cordon"]);
/// const LEN: usize = M.json_len();
/// const JSON: [u8; LEN] = M.to_json::<LEN>();
/// let v: serde_json::Value = serde_json::from_slice(&JSON).unwrap();
/// assert_eq!(v["params"][0]["name"], "node");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Manifest {
    name: &'static str,
    version: &'static str,
    description: &'static str,
    release: Option<&'static str>,
    inputs: Option<&'static str>,
    chart_values: bool,
    rollback_on_failure: bool,
    rollback_by_policy: bool,
    params: &'static [Param],
    capabilities: &'static [&'static str],
}

/// One declared parameter. Built with chained `const` setters, starting from [`Param::new`].
///
/// ```
/// use cutover_guest_sdk::manifest::{Param, ParamType, Value};
///
/// const P: Param = Param::new()
///     .name("timeout")
///     .ty(ParamType::Duration)
///     .default(Value::Str("5m"))
///     .description("Give up after this long.");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Param {
    name: &'static str,
    ty: Option<ParamType>,
    required: bool,
    default: Option<Value>,
    description: Option<&'static str>,
    minimum: Option<&'static str>,
    maximum: Option<&'static str>,
    allowed: Option<&'static [&'static str]>,
}

/// The parameter types of `docs/manifest.md`.
///
/// ```
/// use cutover_guest_sdk::manifest::ParamType;
/// assert_eq!(ParamType::from_name("string-list").name(), "string-list");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    /// `string`: a JSON string.
    String,
    /// `integer`: a JSON integer.
    Integer,
    /// `number`: a JSON number.
    Number,
    /// `boolean`: `true` or `false`.
    Boolean,
    /// `duration`: a Go duration string (`90s`, `5m`), read with [`params::Duration`](crate::params::Duration).
    Duration,
    /// `string-list`: a JSON array of strings.
    StringList,
    /// `object`: any JSON/YAML mapping (a canary's `analysis: {...}`); no default in the macros.
    Object,
    /// `list`: any JSON/YAML list (a canary's `steps: [{set-weight: 20}, {pause: {}}]`); a
    /// default in the macros is a list of strings.
    List,
}

/// A parameter's default, as a JSON value.
///
/// In the macros, write the default as a Rust literal: a string literal becomes
/// [`Value::Str`], an integer or float literal [`Value::Number`] (its source text, which must
/// be a plain JSON number: no `_`, no suffix), `true`/`false` [`Value::Bool`], and a bracketed
/// list of string literals [`Value::StrList`].
///
/// ```
/// use cutover_guest_sdk::manifest::Value;
/// let v = Value::StrList(&["a", "b"]);
/// # let _ = v;
/// ```
#[derive(Clone, Copy, Debug)]
pub enum Value {
    /// A JSON string (escaped when written).
    Str(&'static str),
    /// A JSON number, by its text (`5`, `-1`, `0.25`).
    Number(&'static str),
    /// `true` or `false`.
    Bool(bool),
    /// An array of strings.
    StrList(&'static [&'static str]),
}

/// Turns a literal into a [`Value`] by its Rust type. The macros call
/// `Lit(lit).value(stringify!(lit))`; inherent methods on each instantiation pick the right
/// case at compile time, and keep `const` (trait methods could not).
#[doc(hidden)]
pub struct Lit<T>(pub T);

impl Lit<&'static str> {
    #[doc(hidden)]
    pub const fn value(self, _text: &'static str) -> Value {
        Value::Str(self.0)
    }
}

impl Lit<bool> {
    #[doc(hidden)]
    pub const fn value(self, _text: &'static str) -> Value {
        Value::Bool(self.0)
    }
}

impl Lit<i64> {
    #[doc(hidden)]
    pub const fn value(self, text: &'static str) -> Value {
        Value::Number(text)
    }
}

impl Lit<f64> {
    #[doc(hidden)]
    pub const fn value(self, text: &'static str) -> Value {
        Value::Number(text)
    }

    #[doc(hidden)]
    pub const fn bound(self, text: &'static str) -> &'static str {
        text
    }
}

impl Lit<i64> {
    /// A `minimum` or `maximum` must be a number literal: only numbers have this method.
    #[doc(hidden)]
    pub const fn bound(self, text: &'static str) -> &'static str {
        text
    }
}

impl ParamType {
    /// The type named as in the manifest (`string`, `integer`, `number`, `boolean`,
    /// `duration`, `string-list`, `object`, `list`). Panics (at compile time, in a `const`) on any other name.
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::ParamType;
    /// assert_eq!(ParamType::from_name("duration"), ParamType::Duration);
    /// ```
    pub const fn from_name(name: &str) -> ParamType {
        let n = name.as_bytes();
        if eq(n, b"string") {
            ParamType::String
        } else if eq(n, b"integer") {
            ParamType::Integer
        } else if eq(n, b"number") {
            ParamType::Number
        } else if eq(n, b"boolean") {
            ParamType::Boolean
        } else if eq(n, b"duration") {
            ParamType::Duration
        } else if eq(n, b"string-list") {
            ParamType::StringList
        } else if eq(n, b"object") {
            ParamType::Object
        } else if eq(n, b"list") {
            ParamType::List
        } else {
            panic!(
                "unknown parameter type: use string, integer, number, boolean, duration, string-list, object or list"
            )
        }
    }

    /// The name used in the manifest.
    ///
    /// ```
    /// assert_eq!(cutover_guest_sdk::manifest::ParamType::Boolean.name(), "boolean");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Integer => "integer",
            ParamType::Number => "number",
            ParamType::Boolean => "boolean",
            ParamType::Duration => "duration",
            ParamType::StringList => "string-list",
            ParamType::Object => "object",
            ParamType::List => "list",
        }
    }
}

impl Param {
    /// A parameter with nothing set yet; `name` and `ty` must be set before it is used.
    ///
    /// ```
    /// const P: cutover_guest_sdk::manifest::Param = cutover_guest_sdk::manifest::Param::new().name("ms");
    /// ```
    pub const fn new() -> Param {
        Param {
            name: "",
            ty: None,
            required: false,
            default: None,
            description: None,
            minimum: None,
            maximum: None,
            allowed: None,
        }
    }

    /// Sets the name: letters, digits, `-` and `_`.
    ///
    /// ```
    /// const P: cutover_guest_sdk::manifest::Param = cutover_guest_sdk::manifest::Param::new().name("node");
    /// ```
    pub const fn name(mut self, name: &'static str) -> Param {
        self.name = name;
        self
    }

    /// Sets the type from its manifest name (the macros' `type: "duration"`).
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Param;
    /// const P: Param = Param::new().name("timeout").type_name("duration");
    /// ```
    pub const fn type_name(self, ty: &'static str) -> Param {
        self.ty(ParamType::from_name(ty))
    }

    /// Sets the type.
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::{Param, ParamType};
    /// const P: Param = Param::new().name("force").ty(ParamType::Boolean);
    /// ```
    pub const fn ty(mut self, ty: ParamType) -> Param {
        self.ty = Some(ty);
        self
    }

    /// Sets whether the operator must give it (default `false`).
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Param;
    /// const P: Param = Param::new().name("node").type_name("string").required(true);
    /// ```
    pub const fn required(mut self, required: bool) -> Param {
        self.required = required;
        self
    }

    /// Sets the default, which the host fills in when the operator gives none.
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::{Param, Value};
    /// const P: Param = Param::new().name("force").type_name("boolean").default(Value::Bool(false));
    /// ```
    pub const fn default(mut self, default: Value) -> Param {
        self.default = Some(default);
        self
    }

    /// Sets the one-line description.
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Param;
    /// const P: Param = Param::new().name("node").type_name("string").description("The node to drain.");
    /// ```
    pub const fn description(mut self, description: &'static str) -> Param {
        self.description = Some(description);
        self
    }

    /// Sets the smallest value an `integer` or `number` parameter takes, by its JSON text (the
    /// macros' `minimum: 1`, which they turn into text with `stringify!`).
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Param;
    /// const P: Param = Param::new().name("replicas").type_name("integer").minimum("0");
    /// assert_eq!(P.minimum_text(), Some("0"));
    /// ```
    pub const fn minimum(mut self, minimum: &'static str) -> Param {
        self.minimum = Some(minimum);
        self
    }

    /// Sets the largest value an `integer` or `number` parameter takes, by its JSON text.
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Param;
    /// const P: Param = Param::new().name("ratio").type_name("number").maximum("0.5");
    /// assert_eq!(P.maximum_text(), Some("0.5"));
    /// ```
    pub const fn maximum(mut self, maximum: &'static str) -> Param {
        self.maximum = Some(maximum);
        self
    }

    /// Sets the values a `string` parameter may take (the manifest's `enum`; the macros'
    /// `enum: ["Deployment", "DaemonSet"]`).
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Param;
    /// const P: Param = Param::new().name("kind").type_name("string").allowed(&["Deployment", "DaemonSet"]);
    /// assert_eq!(P.allowed_values(), Some(&["Deployment", "DaemonSet"][..]));
    /// ```
    pub const fn allowed(mut self, values: &'static [&'static str]) -> Param {
        self.allowed = Some(values);
        self
    }

    /// The parameter's name.
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Param;
    /// assert_eq!(Param::new().name("node").name_str(), "node");
    /// ```
    pub const fn name_str(&self) -> &'static str {
        self.name
    }

    /// The parameter's type, once set.
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::{Param, ParamType};
    /// assert_eq!(Param::new().type_name("boolean").param_type(), Some(ParamType::Boolean));
    /// ```
    pub const fn param_type(&self) -> Option<ParamType> {
        self.ty
    }

    /// Whether the operator must give it.
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Param;
    /// assert!(Param::new().required(true).is_required());
    /// ```
    pub const fn is_required(&self) -> bool {
        self.required
    }

    /// Its default, if it has one.
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::{Param, Value};
    /// assert!(matches!(Param::new().default(Value::Bool(true)).default_value(), Some(Value::Bool(true))));
    /// ```
    pub const fn default_value(&self) -> Option<Value> {
        self.default
    }

    /// Its `minimum`, as JSON text.
    ///
    /// ```
    /// assert_eq!(cutover_guest_sdk::manifest::Param::new().minimum_text(), None);
    /// ```
    pub const fn minimum_text(&self) -> Option<&'static str> {
        self.minimum
    }

    /// Its `maximum`, as JSON text.
    ///
    /// ```
    /// assert_eq!(cutover_guest_sdk::manifest::Param::new().maximum_text(), None);
    /// ```
    pub const fn maximum_text(&self) -> Option<&'static str> {
        self.maximum
    }

    /// The values it may take (`enum`), if restricted.
    ///
    /// ```
    /// assert_eq!(cutover_guest_sdk::manifest::Param::new().allowed_values(), None);
    /// ```
    pub const fn allowed_values(&self) -> Option<&'static [&'static str]> {
        self.allowed
    }

    /// Panics (a compile error in a `const`) unless the parameter is complete and consistent.
    const fn check(&self) {
        if let Err(reason) = policy::parameter_name(self.name) {
            panic!("{}", reason);
        }
        let ty = match self.ty {
            Some(ty) => ty,
            None => panic!("every parameter needs a type"),
        };
        if let Some(d) = self.description
            && let Err(reason) = policy::description(d)
        {
            panic!("{}", reason);
        }
        self.check_schema(ty);
        let default = match self.default {
            Some(d) => d,
            None => return,
        };
        if self.required {
            panic!("a required parameter cannot have a default");
        }
        match (ty, default) {
            (ParamType::String, Value::Str(_)) => {}
            (ParamType::Duration, Value::Str(s)) => {
                if duration::parse_nanos(s).is_err() {
                    panic!(
                        "the default of a duration parameter must be a Go duration: 90s, 5m, 1h30m, 500ms"
                    );
                }
            }
            (ParamType::Integer, Value::Number(n)) => {
                if !is_json_number(n.as_bytes(), false) {
                    panic!("the default of an integer parameter must be a plain integer literal");
                }
            }
            (ParamType::Number, Value::Number(n)) => {
                if !is_json_number(n.as_bytes(), true) {
                    panic!(
                        "the default of a number parameter must be a plain number literal (no '_', no suffix)"
                    );
                }
            }
            (ParamType::Boolean, Value::Bool(_)) => {}
            (ParamType::StringList | ParamType::List, Value::StrList(_)) => {}
            _ => panic!("a parameter's default does not match its type"),
        }
        match (ty, default) {
            (ParamType::Integer | ParamType::Number, Value::Number(n)) if !self.in_range(n) => {
                panic!("a parameter's default is outside its minimum..maximum")
            }
            (ParamType::String, Value::Str(s)) if !self.is_allowed(s) => {
                panic!("a parameter's default is not one of its enum values")
            }
            _ => {}
        }
    }

    /// `minimum` and `maximum` only on numbers, each a number of the parameter's type, in
    /// order; `enum` only on strings, non-empty, each value once.
    const fn check_schema(&self, ty: ParamType) {
        let integer = matches!(ty, ParamType::Integer);
        let numeric = integer || matches!(ty, ParamType::Number);
        let mut bounds = [self.minimum, self.maximum];
        let mut i = 0;
        while i < bounds.len() {
            if let Some(text) = bounds[i] {
                if !numeric {
                    panic!("minimum and maximum apply to integer and number parameters only");
                }
                if !is_json_number(text.as_bytes(), !integer) {
                    panic!(
                        "a parameter's minimum and maximum must be plain number literals of its type"
                    );
                }
                if integer && parse_integer(text.as_bytes()).is_none() {
                    panic!("an integer parameter's minimum and maximum must fit in 64 bits");
                }
            }
            bounds[i] = None;
            i += 1;
        }
        if let (Some(min), Some(max)) = (self.minimum, self.maximum)
            && compare_numbers(min, max) > 0
        {
            panic!("a parameter's minimum is greater than its maximum");
        }
        if let Some(values) = self.allowed {
            if !matches!(ty, ParamType::String) {
                panic!("enum applies to string parameters only");
            }
            if values.is_empty() {
                panic!("a parameter's enum needs at least one value");
            }
            if values.len() > MAX_ENUM_VALUES {
                panic!("a parameter's enum has more than 64 values");
            }
            let mut i = 0;
            while i < values.len() {
                if values[i].len() > MAX_ENUM_VALUE_LEN {
                    panic!("an enum value is longer than 253 bytes");
                }
                // The host's rule: plain text, nothing that could steer a terminal.
                if policy::description(values[i]).is_err() {
                    panic!(
                        "an enum value must be plain text, without control or format characters"
                    );
                }
                let mut j = 0;
                while j < i {
                    if eq(values[i].as_bytes(), values[j].as_bytes()) {
                        panic!("a parameter's enum lists a value twice");
                    }
                    j += 1;
                }
                i += 1;
            }
        }
    }

    /// Whether the number `text` is within `minimum..=maximum`.
    const fn in_range(&self, text: &str) -> bool {
        if let Some(min) = self.minimum
            && compare_numbers(text, min) < 0
        {
            return false;
        }
        if let Some(max) = self.maximum
            && compare_numbers(text, max) > 0
        {
            return false;
        }
        true
    }

    /// Whether `value` is one of the `enum` values (any value without an `enum`).
    const fn is_allowed(&self, value: &str) -> bool {
        let values = match self.allowed {
            Some(values) => values,
            None => return true,
        };
        let mut i = 0;
        while i < values.len() {
            if eq(values[i].as_bytes(), value.as_bytes()) {
                return true;
            }
            i += 1;
        }
        false
    }
}

/// The most values a string parameter's `enum` lists, and the longest one, in bytes (the host
/// reads manifests by the same bounds).
pub const MAX_ENUM_VALUES: usize = 64;
/// See [`MAX_ENUM_VALUES`].
pub const MAX_ENUM_VALUE_LEN: usize = 253;

impl Default for Param {
    fn default() -> Self {
        Param::new()
    }
}

impl Manifest {
    /// A manifest; nothing is checked until [`Manifest::json_len`] or [`Manifest::to_json`].
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Manifest;
    /// const M: Manifest = Manifest::new("spin", "0.1.0", "Loops forever.", &[], &[]);
    /// ```
    pub const fn new(
        name: &'static str,
        version: &'static str,
        description: &'static str,
        params: &'static [Param],
        capabilities: &'static [&'static str],
    ) -> Manifest {
        Manifest {
            name,
            version,
            description,
            release: None,
            inputs: None,
            chart_values: false,
            rollback_on_failure: false,
            rollback_by_policy: false,
            params,
            capabilities,
        }
    }

    /// Says the policy takes positional inputs (files, folders, `-` for standard input, read
    /// by the host: `ctx.inputs()`), and what they are, in one line for `cutover inspect`.
    /// Without it, the host refuses inputs on the command line.
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Manifest;
    /// const M: Manifest = Manifest::new("atomic", "0.1.0", "d", &[], &[]).inputs("a chart folder");
    /// assert_eq!(M.inputs_description(), Some("a chart folder"));
    /// ```
    pub const fn inputs(mut self, description: &'static str) -> Manifest {
        self.inputs = Some(description);
        self
    }

    /// What the policy's positional inputs are, if it takes any.
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Manifest;
    /// assert_eq!(Manifest::new("spin", "0.1.0", "d", &[], &[]).inputs_description(), None);
    /// ```
    pub const fn inputs_description(&self) -> Option<&'static str> {
        self.inputs
    }

    /// Makes the parameters a chart's values, as Helm takes them: `-f` files merged deeply in
    /// order, `--set a.b[0]=x` with Helm's syntax and typing, `--set-string`, `--set-file`,
    /// `--reuse-values` and the like; the host checks no schema (the policy does). A manifest
    /// with chart values declares no parameters.
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Manifest;
    /// const M: Manifest = Manifest::new("atomic", "0.1.0", "d", &[], &[]).chart_values(true);
    /// assert!(M.has_chart_values());
    /// ```
    pub const fn chart_values(mut self, on: bool) -> Manifest {
        self.chart_values = on;
        self
    }

    /// Whether the parameters are chart values ([`Manifest::chart_values`]).
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Manifest;
    /// assert!(!Manifest::new("spin", "0.1.0", "d", &[], &[]).has_chart_values());
    /// ```
    pub const fn has_chart_values(&self) -> bool {
        self.chart_values
    }

    /// Asks the host to undo a failed run through its journal unless the operator says
    /// otherwise, as `--rollback-on-failure` does (Helm's `--atomic`).
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Manifest;
    /// const M: Manifest = Manifest::new("atomic", "0.1.0", "d", &[], &[]).rollback_on_failure(true);
    /// assert!(M.rolls_back_on_failure());
    /// ```
    pub const fn rollback_on_failure(mut self, on: bool) -> Manifest {
        self.rollback_on_failure = on;
        self
    }

    /// Whether the policy asks for `--rollback-on-failure` by default.
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Manifest;
    /// assert!(!Manifest::new("spin", "0.1.0", "d", &[], &[]).rolls_back_on_failure());
    /// ```
    pub const fn rolls_back_on_failure(&self) -> bool {
        self.rollback_on_failure
    }

    /// Says the policy undoes its own runs: `cutover rollback <release>` (without a revision)
    /// and `cutover abort <release>` of a failed or interrupted run run the policy again, told
    /// [`Request::Abort`](crate::Request::Abort), with its last checkpoint, instead of
    /// replaying the host's journal (`cutover rollback --journal` still replays it). For
    /// undos a journal cannot do in order: a DaemonSet replaced node by node, put back node by
    /// node. Not with [`Manifest::rollback_on_failure`], which undoes through the journal.
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Manifest;
    /// const M: Manifest = Manifest::new("nodes", "0.1.0", "d", &[], &[]).rollback_by_policy(true);
    /// assert!(M.rolls_back_by_policy());
    /// ```
    pub const fn rollback_by_policy(mut self, on: bool) -> Manifest {
        self.rollback_by_policy = on;
        self
    }

    /// Whether the policy undoes its own runs ([`Manifest::rollback_by_policy`]).
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Manifest;
    /// assert!(!Manifest::new("spin", "0.1.0", "d", &[], &[]).rolls_back_by_policy());
    /// ```
    pub const fn rolls_back_by_policy(&self) -> bool {
        self.rollback_by_policy
    }

    /// Sets the template of the release name (the macros' `release: "drain-{node}"`): what
    /// the host names the run's release when the operator gives no `--release`. Its text is
    /// lowercase letters, digits, `-` and `.`; each `{param}` names a declared `string` or
    /// `integer` parameter that is required or has a default, checked at compile time. The host
    /// substitutes the values and makes the result a release name (docs/manifest.md).
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::{Manifest, Param};
    /// const P: &[Param] = &[Param::new().name("node").type_name("string").required(true)];
    /// const M: Manifest = Manifest::new("drain", "0.1.0", "d", P, &[]).release("drain-{node}");
    /// assert_eq!(M.release_template(), Some("drain-{node}"));
    /// ```
    pub const fn release(mut self, template: &'static str) -> Manifest {
        self.release = Some(template);
        self
    }

    /// The template of the release name, if the manifest has one.
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Manifest;
    /// assert_eq!(Manifest::new("spin", "0.1.0", "d", &[], &[]).release_template(), None);
    /// ```
    pub const fn release_template(&self) -> Option<&'static str> {
        self.release
    }

    /// The policy's name.
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Manifest;
    /// assert_eq!(Manifest::new("spin", "0.1.0", "d", &[], &[]).name(), "spin");
    /// ```
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The declared parameters, in order.
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Manifest;
    /// assert!(Manifest::new("spin", "0.1.0", "d", &[], &[]).params().is_empty());
    /// ```
    pub const fn params(&self) -> &'static [Param] {
        self.params
    }

    /// The declared capabilities, as written.
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Manifest;
    /// let m = Manifest::new("drain", "0.1.0", "d", &[], &["cluster/cordon"]);
    /// assert_eq!(m.capabilities(), &["cluster/cordon"]);
    /// ```
    pub const fn capabilities(&self) -> &'static [&'static str] {
        self.capabilities
    }

    /// The policy's version.
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Manifest;
    /// assert_eq!(Manifest::new("spin", "0.1.0", "d", &[], &[]).version(), "0.1.0");
    /// ```
    pub const fn version(&self) -> &'static str {
        self.version
    }

    /// Panics (a compile error in a `const`) unless the manifest follows `docs/manifest.md`.
    ///
    /// ```should_panic
    /// use cutover_guest_sdk::manifest::Manifest;
    /// Manifest::new("Bad Name", "0.1.0", "d", &[], &[]).check();
    /// ```
    pub const fn check(&self) {
        if policy::policy_name(self.name).is_err() {
            panic!(
                "a policy name must be a lowercase RFC 1123 label: at most 63 of a-z, 0-9 and '-', starting and ending with a letter or digit"
            );
        }
        if let Err(reason) = policy::version(self.version) {
            panic!("{}", reason);
        }
        if let Err(reason) = policy::description(self.description) {
            panic!("{}", reason);
        }
        let mut i = 0;
        while i < self.params.len() {
            self.params[i].check();
            let mut j = 0;
            while j < i {
                if eq(
                    self.params[i].name.as_bytes(),
                    self.params[j].name.as_bytes(),
                ) {
                    panic!("two parameters have the same name");
                }
                j += 1;
            }
            i += 1;
        }
        let mut i = 0;
        while i < self.capabilities.len() {
            if let Err(invalid) = capability::validate(self.capabilities[i]) {
                panic!("{}", invalid.message());
            }
            i += 1;
        }
        if let Some(template) = self.release {
            self.check_release(template);
        }
        if let Some(description) = self.inputs
            && let Err(reason) = policy::description(description)
        {
            panic!("{}", reason);
        }
        if self.chart_values && !self.params.is_empty() {
            panic!("a manifest with chart values declares no parameters");
        }
        if self.rollback_by_policy && self.rollback_on_failure {
            panic!(
                "rollback_by_policy and rollback_on_failure exclude each other: a policy that undoes its own runs is not undone through the journal on failure"
            );
        }
    }

    /// Panics unless the release template is well formed and each placeholder names a declared
    /// `string` or `integer` parameter that always has a value, as the host checks it.
    const fn check_release(&self, template: &'static str) {
        if let Err(reason) = policy::release_template(template) {
            panic!("{}", reason);
        }
        let t = template.as_bytes();
        let mut from = 0;
        while let Some((start, end)) = policy::release_template_placeholder(template, from) {
            let name = t.split_at(end).0.split_at(start).1;
            let mut found = None;
            let mut i = 0;
            while i < self.params.len() {
                if eq(self.params[i].name.as_bytes(), name) {
                    found = Some(i);
                }
                i += 1;
            }
            let param = match found {
                Some(i) => &self.params[i],
                None => panic!("the release template names a parameter that is not declared"),
            };
            if !matches!(param.ty, Some(ParamType::String | ParamType::Integer)) {
                panic!("the release template names a parameter that is not a string or an integer");
            }
            if !param.required && param.default.is_none() {
                panic!(
                    "the release template names a parameter that may be unset: make it required or give it a default"
                );
            }
            from = end + 1;
        }
    }

    /// The length of the JSON text in bytes; checks the manifest first.
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Manifest;
    /// const LEN: usize = Manifest::new("spin", "0.1.0", "d", &[], &[]).json_len();
    /// assert!(LEN > 0);
    /// ```
    pub const fn json_len(&self) -> usize {
        self.check();
        let mut w = Writer::<0>::counter();
        self.write(&mut w);
        w.len
    }

    /// The JSON text, `N` bytes long (`N` from [`Manifest::json_len`]); checks the manifest first.
    ///
    /// ```
    /// use cutover_guest_sdk::manifest::Manifest;
    /// const M: Manifest = Manifest::new("spin", "0.1.0", "Loops \"forever\".", &[], &[]);
    /// const JSON: [u8; M.json_len()] = M.to_json();
    /// assert_eq!(
    ///     std::str::from_utf8(&JSON).unwrap(),
    ///     r#"{"manifestVersion":1,"name":"spin","version":"0.1.0","description":"Loops \"forever\".","params":[],"capabilities":[]}"#
    /// );
    /// ```
    pub const fn to_json<const N: usize>(&self) -> [u8; N] {
        self.check();
        let mut w = Writer::<N>::new();
        self.write(&mut w);
        if w.len != N {
            panic!("to_json::<N>() needs N == json_len()");
        }
        w.buf
    }

    const fn write<const N: usize>(&self, w: &mut Writer<N>) {
        w.raw(b"{\"manifestVersion\":");
        w.uint(MANIFEST_VERSION as u64);
        w.raw(b",\"name\":");
        w.string(self.name);
        w.raw(b",\"version\":");
        w.string(self.version);
        w.raw(b",\"description\":");
        w.string(self.description);
        if let Some(template) = self.release {
            w.raw(b",\"release\":");
            w.string(template);
        }
        if let Some(description) = self.inputs {
            w.raw(b",\"inputs\":");
            w.string(description);
        }
        if self.chart_values {
            w.raw(b",\"chartValues\":true");
        }
        if self.rollback_on_failure {
            w.raw(b",\"rollbackOnFailure\":true");
        }
        if self.rollback_by_policy {
            w.raw(b",\"rollbackByPolicy\":true");
        }
        w.raw(b",\"params\":[");
        let mut i = 0;
        while i < self.params.len() {
            if i > 0 {
                w.raw(b",");
            }
            let p = &self.params[i];
            w.raw(b"{\"name\":");
            w.string(p.name);
            w.raw(b",\"type\":");
            if let Some(ty) = p.ty {
                w.string(ty.name());
            }
            w.raw(b",\"required\":");
            w.raw(if p.required { b"true" } else { b"false" });
            if let Some(d) = p.default {
                w.raw(b",\"default\":");
                w.value(d);
            }
            if let Some(min) = p.minimum {
                w.raw(b",\"minimum\":");
                w.raw(min.as_bytes());
            }
            if let Some(max) = p.maximum {
                w.raw(b",\"maximum\":");
                w.raw(max.as_bytes());
            }
            if let Some(values) = p.allowed {
                w.raw(b",\"enum\":");
                w.value(Value::StrList(values));
            }
            if let Some(d) = p.description {
                w.raw(b",\"description\":");
                w.string(d);
            }
            w.raw(b"}");
            i += 1;
        }
        w.raw(b"],\"capabilities\":[");
        let mut i = 0;
        while i < self.capabilities.len() {
            if i > 0 {
                w.raw(b",");
            }
            w.string(self.capabilities[i]);
            i += 1;
        }
        w.raw(b"]}");
    }
}

/// Writes JSON into a fixed array, or only counts bytes when `counting` (the first pass, which
/// sizes the array).
struct Writer<const N: usize> {
    buf: [u8; N],
    len: usize,
    counting: bool,
}

impl<const N: usize> Writer<N> {
    const fn new() -> Self {
        Writer {
            buf: [0; N],
            len: 0,
            counting: false,
        }
    }

    const fn counter() -> Self {
        Writer {
            buf: [0; N],
            len: 0,
            counting: true,
        }
    }

    const fn byte(&mut self, b: u8) {
        if !self.counting {
            if self.len >= N {
                panic!("manifest longer than its array");
            }
            self.buf[self.len] = b;
        }
        self.len += 1;
    }

    const fn raw(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            self.byte(bytes[i]);
            i += 1;
        }
    }

    const fn uint(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut k = 0;
        loop {
            digits[k] = b'0' + (n % 10) as u8;
            k += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        while k > 0 {
            k -= 1;
            self.byte(digits[k]);
        }
    }

    /// A JSON string: quotes, backslashes and control characters escaped; other UTF-8 as is.
    const fn string(&mut self, s: &str) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let s = s.as_bytes();
        self.byte(b'"');
        let mut i = 0;
        while i < s.len() {
            let c = s[i];
            match c {
                b'"' => self.raw(b"\\\""),
                b'\\' => self.raw(b"\\\\"),
                b'\n' => self.raw(b"\\n"),
                b'\r' => self.raw(b"\\r"),
                b'\t' => self.raw(b"\\t"),
                0..=0x1f | 0x7f => {
                    self.raw(b"\\u00");
                    self.byte(HEX[(c >> 4) as usize]);
                    self.byte(HEX[(c & 0xf) as usize]);
                }
                _ => self.byte(c),
            }
            i += 1;
        }
        self.byte(b'"');
    }

    const fn value(&mut self, v: Value) {
        match v {
            Value::Str(s) => self.string(s),
            // Checked by `Param::check` to be a JSON number before anything is written.
            Value::Number(n) => self.raw(n.as_bytes()),
            Value::Bool(b) => self.raw(if b { b"true" } else { b"false" }),
            Value::StrList(items) => {
                self.byte(b'[');
                let mut i = 0;
                while i < items.len() {
                    if i > 0 {
                        self.byte(b',');
                    }
                    self.string(items[i]);
                    i += 1;
                }
                self.byte(b']');
            }
        }
    }
}

const fn eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// An integer's JSON text as an `i64`; `None` when it does not fit (or is not an integer).
const fn parse_integer(s: &[u8]) -> Option<i64> {
    let (negative, mut i) = match s.first() {
        Some(b'-') => (true, 1),
        _ => (false, 0),
    };
    if i >= s.len() {
        return None;
    }
    let mut n: i64 = 0;
    while i < s.len() {
        let digit = s[i];
        if !digit.is_ascii_digit() {
            return None;
        }
        let d = (digit - b'0') as i64;
        n = match n.checked_mul(10) {
            Some(n) => n,
            None => return None,
        };
        n = match if negative {
            n.checked_sub(d)
        } else {
            n.checked_add(d)
        } {
            Some(n) => n,
            None => return None,
        };
        i += 1;
    }
    Some(n)
}

/// A JSON number's text as an `f64`, by decimal digits, fraction and exponent (close enough to
/// order bounds and defaults: two texts that are equal give equal values).
const fn parse_number(s: &[u8]) -> f64 {
    let mut i = 0;
    let negative = i < s.len() && s[i] == b'-';
    if negative {
        i += 1;
    }
    let mut value = 0.0f64;
    while i < s.len() && s[i].is_ascii_digit() {
        value = value * 10.0 + (s[i] - b'0') as f64;
        i += 1;
    }
    let mut exponent: i32 = 0;
    if i < s.len() && s[i] == b'.' {
        i += 1;
        while i < s.len() && s[i].is_ascii_digit() {
            value = value * 10.0 + (s[i] - b'0') as f64;
            exponent -= 1;
            i += 1;
        }
    }
    if i < s.len() && (s[i] == b'e' || s[i] == b'E') {
        i += 1;
        let mut sign = 1;
        if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
            if s[i] == b'-' {
                sign = -1;
            }
            i += 1;
        }
        let mut e: i32 = 0;
        while i < s.len() && s[i].is_ascii_digit() {
            e = e.saturating_mul(10).saturating_add((s[i] - b'0') as i32);
            i += 1;
        }
        exponent = exponent.saturating_add(sign * e);
    }
    while exponent > 0 {
        value *= 10.0;
        exponent -= 1;
    }
    while exponent < 0 {
        value /= 10.0;
        exponent += 1;
    }
    if negative { -value } else { value }
}

/// Orders two JSON numbers given as text: exactly when both are integers, else as `f64`s.
const fn compare_numbers(a: &str, b: &str) -> i32 {
    if let (Some(x), Some(y)) = (parse_integer(a.as_bytes()), parse_integer(b.as_bytes())) {
        return if x < y {
            -1
        } else if x > y {
            1
        } else {
            0
        };
    }
    let (x, y) = (parse_number(a.as_bytes()), parse_number(b.as_bytes()));
    if x < y {
        -1
    } else if x > y {
        1
    } else {
        0
    }
}

/// JSON's number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`; without
/// `fraction`, only the integer part.
const fn is_json_number(s: &[u8], fraction: bool) -> bool {
    let mut i = 0;
    if i < s.len() && s[i] == b'-' {
        i += 1;
    }
    if i >= s.len() || !s[i].is_ascii_digit() {
        return false;
    }
    if s[i] == b'0' {
        i += 1;
    } else {
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
    }
    if fraction && i < s.len() && s[i] == b'.' {
        i += 1;
        let start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if fraction && i < s.len() && (s[i] == b'e' || s[i] == b'E') {
        i += 1;
        if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
            i += 1;
        }
        let start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: Manifest = crate::policy_manifest! {
        name: "drain",
        version: "0.1.0-rc.1+build.5",
        description: "Cordon a node and evict its \"pods\" \\ honouring PDBs (kubectl drain).",
        params: [
            { name: "node", type: "string", required: true, description: "The node to drain." },
            { name: "timeout", type: "duration", default: "5m", description: "Give up after this long." },
            { description: "Any order works.", default: -1, type: "integer", name: "grace" },
            { name: "ratio", type: "number", default: 0.25 },
            { name: "force", type: "boolean", default: false },
            { name: "labels", type: "string-list", default: ["a=b", "c\"d"] },
            { name: "empty", type: "string-list", default: [] },
            { name: "unicode", type: "string", default: "µ \u{1} é" },
        ],
        capabilities: [
            "cluster/cordon",
            "cluster/evict:v1/Pod@*",
            "cluster/patch:apps/v1/Deployment@{namespace}",
            "cluster/*:apps/v1/*@shop",
            "revisions/*",
            "*/*",
            "cluster/get:*",
            "cluster/get:cert-manager.io/v1/Certificate",
        ],
    };
    const LEN: usize = MANIFEST.json_len();
    const JSON: [u8; LEN] = MANIFEST.to_json::<LEN>();

    /// Breaks if the SDK builds a manifest that the host refuses to load: the two read a
    /// version and a description by the same rules (cutover-grammar).
    #[test]
    #[should_panic(expected = "numbers without leading zeros")]
    fn a_version_the_host_refuses_does_not_build() {
        Manifest::new("x", "01.0.0", "d", &[], &[]).check();
    }

    #[test]
    #[should_panic(expected = "without control or format characters")]
    fn a_description_the_host_refuses_does_not_build() {
        Manifest::new("x", "0.1.0", "tab\there", &[], &[]).check();
    }

    #[test]
    fn object_and_list_types_serialize_and_check() {
        const M: Manifest = crate::policy_manifest! {
            name: "canary", version: "0.1.0", description: "d",
            params: [
                { name: "steps", type: "list", default: ["pause"] },
                { name: "analysis", type: "object" },
            ],
            capabilities: [],
        };
        const N: usize = M.json_len();
        const J: [u8; N] = M.to_json::<N>();
        let v: serde_json::Value = serde_json::from_slice(&J).expect("valid JSON");
        assert_eq!(v["params"][0]["type"], "list");
        assert_eq!(v["params"][0]["default"], serde_json::json!(["pause"]));
        assert_eq!(v["params"][1]["type"], "object");
        let fake = crate::testing::FakeCluster::new();
        let steps = serde_json::json!([{"set-weight": 20}, {"pause": {"duration": "1m"}}]);
        let ctx = fake
            .context(
                &M,
                serde_json::json!({"steps": steps, "analysis": {"interval": "30s"}}),
            )
            .unwrap();
        let params: serde_json::Value = ctx.params().unwrap();
        assert_eq!(params["steps"][1]["pause"]["duration"], "1m");
        let e = fake
            .context(&M, serde_json::json!({"analysis": [1]}))
            .unwrap_err();
        assert!(e.to_string().contains("must be of type object"), "{e}");
        let e = fake
            .context(&M, serde_json::json!({"steps": {}}))
            .unwrap_err();
        assert!(e.to_string().contains("must be of type list"), "{e}");
    }

    #[test]
    fn macro_manifest_parses_back() {
        let v: serde_json::Value = serde_json::from_slice(&JSON).expect("valid JSON");
        assert_eq!(v["manifestVersion"], 1);
        assert_eq!(v["name"], "drain");
        assert_eq!(v["version"], "0.1.0-rc.1+build.5");
        assert_eq!(
            v["description"],
            "Cordon a node and evict its \"pods\" \\ honouring PDBs (kubectl drain)."
        );
        let params = v["params"].as_array().expect("params array");
        assert_eq!(params.len(), 8);
        assert_eq!(
            params[0],
            serde_json::json!({"name": "node", "type": "string", "required": true, "description": "The node to drain."})
        );
        assert_eq!(params[1]["default"], "5m");
        assert_eq!(params[1]["required"], false);
        assert_eq!(params[2]["name"], "grace");
        assert_eq!(params[2]["default"], -1);
        assert_eq!(params[3]["default"], 0.25);
        assert_eq!(params[3].get("description"), None);
        assert_eq!(params[4]["default"], false);
        assert_eq!(params[5]["default"], serde_json::json!(["a=b", "c\"d"]));
        assert_eq!(params[6]["default"], serde_json::json!([]));
        assert_eq!(params[7]["default"], "µ \u{1} é");
        assert_eq!(v["capabilities"].as_array().map(Vec::len), Some(8));
        assert_eq!(
            v["capabilities"][2],
            "cluster/patch:apps/v1/Deployment@{namespace}"
        );
    }

    #[test]
    fn release_template_is_written_after_the_description() {
        const M: Manifest = crate::policy_manifest! {
            name: "restart",
            version: "0.1.0",
            description: "d",
            release: "restart-{kind}-{name}",
            params: [
                { name: "kind", type: "string", default: "Deployment" },
                { name: "name", type: "string", required: true },
            ],
            capabilities: [],
        };
        const J: [u8; M.json_len()] = M.to_json();
        let text = std::str::from_utf8(&J).unwrap();
        assert!(
            text.contains(r#""description":"d","release":"restart-{kind}-{name}","params""#),
            "{text}"
        );
        assert!(!std::str::from_utf8(&JSON).unwrap().contains("release"));
    }

    #[test]
    fn refuses_bad_release_templates() {
        const PARAMS: &[Param] = &[
            Param::new().name("node").type_name("string").required(true),
            Param::new()
                .name("count")
                .type_name("integer")
                .default(Value::Number("3")),
            Param::new().name("maybe").type_name("string"),
            Param::new()
                .name("force")
                .type_name("boolean")
                .default(Value::Bool(false)),
        ];
        let with = |t: &'static str| Manifest::new("ok", "0.1.0", "d", PARAMS, &[]).release(t);
        for good in ["drain-{node}", "{node}.{count}", "fixed", ""] {
            assert!(!refused(with(good)), "{good}");
        }
        for bad in [
            "drain-{nodes}",
            "drain-{node",
            "drain-node}",
            "drain-{{node}}",
            "drain-{}",
            "Drain-{node}",
            "drain_{node}",
            "drain-{force}",
            "drain-{maybe}",
        ] {
            assert!(refused(with(bad)), "{bad}");
        }
    }

    #[test]
    fn schemas_are_written_and_checked() {
        const M: Manifest = crate::policy_manifest! {
            name: "resize", version: "0.1.0", description: "d",
            params: [
                { name: "replicas", type: "integer", default: 1, minimum: 0, maximum: 100 },
                { name: "ratio", type: "number", minimum: -0.5, maximum: 1e2 },
                { name: "kind", type: "string", default: "Deployment", enum: ["Deployment", "StatefulSet"] },
            ],
            capabilities: [],
        };
        const J: [u8; M.json_len()] = M.to_json();
        let v: serde_json::Value = serde_json::from_slice(&J).expect("valid JSON");
        assert_eq!(v["params"][0]["minimum"], 0);
        assert_eq!(v["params"][0]["maximum"], 100);
        assert_eq!(v["params"][1]["minimum"], -0.5);
        assert_eq!(v["params"][1]["maximum"], 100.0);
        assert_eq!(
            v["params"][2]["enum"],
            serde_json::json!(["Deployment", "StatefulSet"])
        );

        let p = |p: Param| -> &'static [Param] { Box::leak(Box::new([p])) };
        let with = |param: Param| refused(Manifest::new("ok", "0.1.0", "d", p(param), &[]));
        let int = Param::new().name("n").type_name("integer");
        assert!(!with(
            int.minimum("-3").maximum("-3").default(Value::Number("-3"))
        ));
        assert!(with(int.minimum("5").maximum("4")), "minimum above maximum");
        assert!(
            with(int.minimum("0").default(Value::Number("-1"))),
            "default below"
        );
        assert!(
            with(int.maximum("9").default(Value::Number("10"))),
            "default above"
        );
        assert!(with(int.minimum("0.5")), "a fraction bounds an integer");
        assert!(with(int.minimum("99999999999999999999")), "past i64");
        assert!(with(int.allowed(&["a"])), "enum on an integer");
        let num = Param::new().name("x").type_name("number");
        assert!(!with(
            num.minimum("0.25")
                .maximum("0.5")
                .default(Value::Number("0.3"))
        ));
        assert!(with(num.minimum("0.5").maximum("0.25")));
        assert!(with(num.maximum("1e-3").default(Value::Number("0.01"))));
        let string = Param::new().name("s").type_name("string");
        assert!(!with(string.allowed(&["a", "b"]).default(Value::Str("b"))));
        assert!(
            with(string.allowed(&["a", "b"]).default(Value::Str("c"))),
            "default not allowed"
        );
        assert!(with(string.allowed(&[])), "empty enum");
        assert!(with(string.allowed(&["a", "a"])), "a value twice");
        assert!(with(string.allowed(&["a\u{1b}[2J"])), "a control character");
        assert!(with(string.minimum("1")), "a bound on a string");
        let duration = Param::new().name("t").type_name("duration");
        assert!(with(duration.allowed(&["5m"])), "enum on a duration");
    }

    #[test]
    fn rollback_by_policy_is_written_only_when_declared() {
        const M: Manifest = crate::policy_manifest! {
            name: "nodes", version: "0.1.0", description: "d",
            rollback_by_policy: true,
            params: [], capabilities: [],
        };
        const J: [u8; M.json_len()] = M.to_json();
        let v: serde_json::Value = serde_json::from_slice(&J).expect("valid JSON");
        assert_eq!(v["rollbackByPolicy"], true);
        assert!(M.rolls_back_by_policy());
        // Absent when not declared, so that a host that predates it reads the manifest.
        assert!(
            !std::str::from_utf8(&JSON)
                .unwrap()
                .contains("rollbackByPolicy")
        );
        let both = Manifest::new("x", "0.1.0", "d", &[], &[])
            .rollback_by_policy(true)
            .rollback_on_failure(true);
        assert!(refused(both));
    }

    #[test]
    fn empty_manifest() {
        const M: Manifest = crate::policy_manifest! {
            name: "spin", version: "1.2.3", description: "", params: [], capabilities: [],
        };
        const J: [u8; M.json_len()] = M.to_json();
        let v: serde_json::Value = serde_json::from_slice(&J).expect("valid JSON");
        assert_eq!(v["params"], serde_json::json!([]));
    }

    /// Each check panics at run time here as it would fail a `const` at compile time.
    fn refused(m: Manifest) -> bool {
        std::panic::catch_unwind(|| m.check()).is_err()
    }

    #[test]
    fn refuses_bad_manifests() {
        let p = |p: Param| -> &'static [Param] { Box::leak(Box::new([p])) };
        let base = |params, caps| Manifest::new("ok", "0.1.0", "d", params, caps);
        assert!(!refused(base(&[], &["cluster/get"])));
        assert!(refused(Manifest::new("Drain", "0.1.0", "d", &[], &[])));
        assert!(refused(Manifest::new("drain-", "0.1.0", "d", &[], &[])));
        assert!(refused(Manifest::new("drain", "0.1", "d", &[], &[])));
        assert!(refused(Manifest::new(
            "drain",
            "0.1.0",
            "two\nlines",
            &[],
            &[]
        )));
        for cap in [
            "cluster",
            "cluster/fly",
            "cluster/get:Pod",
            "cluster/get:v1/Pod-x",
            "cluster/get@Shop",
            "cluster/get@shop-",
            "*/get",
            "revisions/*@shop",
            "revisions/get",
            "net/get",
            "cluster/get:v1/Pod@",
        ] {
            assert!(refused(base(&[], Box::leak(Box::new([cap])))), "{cap}");
        }
        let string = Param::new().name("x").type_name("string");
        assert!(!refused(base(p(string), &[])));
        assert!(refused(base(p(Param::new().name("x")), &[])));
        assert!(refused(base(p(string.name("")), &[])));
        assert!(refused(base(p(string.name("a.b")), &[])));
        assert!(refused(base(p(string.default(Value::Bool(true))), &[])));
        assert!(refused(base(
            p(string.required(true).default(Value::Str("a"))),
            &[]
        )));
        let duration = Param::new().name("t").type_name("duration");
        assert!(refused(base(p(duration.default(Value::Str("5 min"))), &[])));
        assert!(refused(base(p(duration.default(Value::Str("300"))), &[])));
        assert!(!refused(base(p(duration.default(Value::Str("1.5h"))), &[])));
        let integer = Param::new().name("n").type_name("integer");
        assert!(refused(base(p(integer.default(Value::Number("1.5"))), &[])));
        assert!(refused(base(
            p(integer.default(Value::Number("1_000"))),
            &[]
        )));
        assert!(refused(base(
            p(integer.default(Value::Number("5i64"))),
            &[]
        )));
        let number = Param::new().name("n").type_name("number");
        assert!(!refused(base(
            p(number.default(Value::Number("1e-3"))),
            &[]
        )));
        assert!(refused(base(p(number.default(Value::Number("1."))), &[])));
        assert!(refused(base(Box::leak(Box::new([string, string])), &[])));
    }
}
