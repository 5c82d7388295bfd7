//! The template engine's dynamic value (Go's `interface{}` as Helm charts see it) and Go's printing rules.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::rc::Rc;

/// A map shared by reference, as Go maps are (`set` on a dict is seen by every holder).
pub(crate) type MapRef = Rc<RefCell<BTreeMap<String, Value>>>;

/// Deepest nesting printed, copied or converted; deeper (or cyclic, via `set $d "me" $d`) values fail.
pub(crate) const MAX_VALUE_DEPTH: usize = 200;

/// The files of a chart outside `templates/`, as `.Files` exposes them.
#[derive(Debug, Default)]
pub(crate) struct FilesObj {
    pub files: BTreeMap<String, Vec<u8>>,
}

/// A template value.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    /// Go's nil (also what a missing map key yields).
    Nil,
    Bool(bool),
    /// Go's int/int64 (template literals, `--set` numbers, arithmetic results).
    Int(i64),
    /// Go's float64 (every number read from a YAML or JSON values file).
    Float(f64),
    Str(Rc<str>),
    List(Rc<Vec<Value>>),
    Map(MapRef),
    /// `.Files`: methods Get, GetBytes, Glob, Lines, AsConfig, AsSecrets.
    Files(Rc<FilesObj>),
    /// `.Capabilities.APIVersions`: method Has.
    ApiVersions(Rc<BTreeSet<String>>),
}

/// Drops nested lists and maps iteratively: a hostile chart can nest values far deeper than the
/// stack would survive a recursive drop (`$l = list $l` in a long range).
impl Drop for Value {
    fn drop(&mut self) {
        let mut stack = Vec::new();
        take_children(self, &mut stack);
        while let Some(mut v) = stack.pop() {
            take_children(&mut v, &mut stack);
        }
    }
}

fn take_children(v: &mut Value, stack: &mut Vec<Value>) {
    match v {
        Value::List(rc) => {
            if let Some(items) = Rc::get_mut(rc) {
                stack.append(items);
            }
        }
        Value::Map(rc) => {
            if Rc::strong_count(rc) == 1
                && let Ok(mut m) = rc.try_borrow_mut()
            {
                stack.extend(std::mem::take(&mut *m).into_values());
            }
        }
        _ => {}
    }
}

impl Value {
    pub fn str(s: impl Into<Rc<str>>) -> Value {
        Value::Str(s.into())
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(items))
    }

    pub fn map(m: BTreeMap<String, Value>) -> Value {
        Value::Map(Rc::new(RefCell::new(m)))
    }

    pub fn empty_map() -> Value {
        Value::map(BTreeMap::new())
    }

    /// Go's truthiness: false, 0, nil, empty string/list/map are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.borrow().is_empty(),
            Value::Files(f) => !f.files.is_empty(),
            Value::ApiVersions(_) => true,
        }
    }

    /// Go's type name, as Sprig's `typeOf` prints it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int64",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::Files(_) => "files.Files",
            Value::ApiVersions(_) => "common.VersionSet",
        }
    }

    /// Go's reflect kind, as Sprig's `kindOf` prints it.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int64",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) | Value::ApiVersions(_) => "slice",
            Value::Map(_) | Value::Files(_) => "map",
        }
    }

    /// Go's `fmt.Sprint` of the value (`%v`).
    pub fn to_go_string(&self) -> Result<String, String> {
        let mut out = String::new();
        write_go(&mut out, self, 0)?;
        Ok(out)
    }

    /// Converts from JSON: floats stay float64, integers become int64 (as Helm's `--set` produces).
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => {
                if n.is_f64() {
                    Value::Float(n.as_f64().unwrap_or(0.0))
                } else if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else {
                    Value::Float(n.as_f64().unwrap_or(0.0))
                }
            }
            serde_json::Value::String(s) => Value::str(s.as_str()),
            serde_json::Value::Array(a) => Value::list(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => Value::map(
                o.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// Converts to JSON (float64 stays a JSON float, int64 an integer).
    pub fn to_json(&self) -> Result<serde_json::Value, String> {
        to_json_depth(self, 0)
    }

    /// A copy that shares nothing mutable with the original.
    pub fn deep_copy(&self) -> Result<Value, String> {
        deep_copy_depth(self, 0)
    }
}

fn to_json_depth(v: &Value, depth: usize) -> Result<serde_json::Value, String> {
    if depth > MAX_VALUE_DEPTH {
        return Err(too_deep());
    }
    Ok(match v {
        Value::Nil => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Value::Str(s) => serde_json::Value::String(s.to_string()),
        Value::List(l) => serde_json::Value::Array(
            l.iter()
                .map(|x| to_json_depth(x, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(m) => {
            let mut o = serde_json::Map::new();
            for (k, x) in m.borrow().iter() {
                o.insert(k.clone(), to_json_depth(x, depth + 1)?);
            }
            serde_json::Value::Object(o)
        }
        Value::Files(f) => {
            let mut o = serde_json::Map::new();
            for (k, x) in &f.files {
                o.insert(
                    k.clone(),
                    serde_json::Value::String(String::from_utf8_lossy(x).into_owned()),
                );
            }
            serde_json::Value::Object(o)
        }
        Value::ApiVersions(a) => serde_json::Value::Array(
            a.iter()
                .map(|s| serde_json::Value::from(s.as_str()))
                .collect(),
        ),
    })
}

fn deep_copy_depth(v: &Value, depth: usize) -> Result<Value, String> {
    if depth > MAX_VALUE_DEPTH {
        return Err(too_deep());
    }
    Ok(match v {
        Value::List(l) => Value::list(
            l.iter()
                .map(|x| deep_copy_depth(x, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(m) => {
            let mut out = BTreeMap::new();
            for (k, x) in m.borrow().iter() {
                out.insert(k.clone(), deep_copy_depth(x, depth + 1)?);
            }
            Value::map(out)
        }
        other => other.clone(),
    })
}

pub(crate) fn too_deep() -> String {
    format!("value nested deeper than {MAX_VALUE_DEPTH} levels (or cyclic)")
}

fn write_go(out: &mut String, v: &Value, depth: usize) -> Result<(), String> {
    if depth > MAX_VALUE_DEPTH {
        return Err(too_deep());
    }
    match v {
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&format_float_g(*f)),
        Value::Str(s) => out.push_str(s),
        Value::List(l) => {
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_go(out, x, depth + 1)?;
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, x)) in m.borrow().iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_go(out, x, depth + 1)?;
            }
            out.push(']');
        }
        Value::Files(f) => {
            out.push_str("map[");
            for (i, k) in f.files.keys().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                let _ = write!(out, "{k}:[...]");
            }
            out.push(']');
        }
        Value::ApiVersions(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(x);
            }
            out.push(']');
        }
    }
    Ok(())
}

/// The shortest decimal digits of `f` and its decimal exponent (`d.ddd × 10^exp`).
fn shortest_digits(f: f64) -> (String, i32) {
    let s = format!("{:e}", f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    (digits, exp.parse().unwrap_or(0))
}

fn special_float(f: f64) -> Option<String> {
    if f.is_nan() {
        Some("NaN".into())
    } else if f.is_infinite() {
        Some(if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        })
    } else {
        None
    }
}

/// `d.ddde±XX` from digits and exponent, as Go's %e with shortest precision.
fn exp_form(neg: bool, digits: &str, exp: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    let _ = write!(
        out,
        "e{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.unsigned_abs()
    );
    out
}

/// Plain decimal form from digits and exponent.
fn plain_form(neg: bool, digits: &str, exp: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// Go's `%v` for a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`): `1`, `1.5`, `1e+06`, `1e-05`.
pub(crate) fn format_float_g(f: f64) -> String {
    if let Some(s) = special_float(f) {
        return s;
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // strconv's shortest %g uses exponent form when exp < -4 || exp >= 6 (eprec = 6).
    let (digits, exp) = shortest_digits(f);
    if !(-4..6).contains(&exp) {
        return exp_form(f < 0.0, &digits, exp);
    }
    plain_form(f < 0.0, &digits, exp)
}

/// Go's `strconv.FormatFloat(f, 'f', prec, 64)`.
pub(crate) fn format_float_f(f: f64, prec: usize) -> String {
    if let Some(s) = special_float(f) {
        return s;
    }
    format!("{f:.prec$}")
}

/// Go's `strconv.FormatFloat(f, 'e', prec, 64)`.
pub(crate) fn format_float_e(f: f64, prec: Option<usize>) -> String {
    if let Some(s) = special_float(f) {
        return s;
    }
    let s = match prec {
        Some(p) => format!("{f:.p$e}"),
        None => format!("{f:e}"),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    format!(
        "{mant}e{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.unsigned_abs()
    )
}

/// Go's encoding/json float formatting (used by toJson/toYaml): integers up to 1e21 plainly.
pub(crate) fn format_float_json(f: f64) -> String {
    if let Some(s) = special_float(f) {
        return s;
    }
    if f == 0.0 {
        return "0".into();
    }
    let (digits, exp) = shortest_digits(f);
    if f.abs() < 1e-6 || f.abs() >= 1e21 {
        let s = exp_form(f < 0.0, &digits, exp);
        // encoding/json writes e-07 as e-7.
        return s.replace("e-0", "e-").replace("e+0", "e+");
    }
    plain_form(f < 0.0, &digits, exp)
}
