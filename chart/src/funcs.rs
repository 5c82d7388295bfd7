//! The functions templates may call: Go's builtins, Sprig's common set and Helm's own.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;

use base64::Engine as _;
use sha2::Digest as _;

use crate::semver;
use crate::template::exec::{Engine, FnError, FnResult};
use crate::value::{
    MAX_VALUE_DEPTH, Value, format_float_e, format_float_f, format_float_g, too_deep,
};
use crate::yaml;

/// Every function name templates may call (`include` and `tpl` are handled by the executor).
pub(crate) const FUNCTIONS: &[&str] = &[
    // Go builtins
    "and",
    "or",
    "not",
    "len",
    "index",
    "slice",
    "print",
    "printf",
    "println",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    // Helm
    "include",
    "tpl",
    "required",
    "toYaml",
    "mustToYaml",
    "toYamlPretty",
    "fromYaml",
    "fromYamlArray",
    "toJson",
    "mustToJson",
    "toPrettyJson",
    "mustToPrettyJson",
    "toRawJson",
    "fromJson",
    "fromJsonArray",
    "lookup",
    "fail",
    // Sprig
    "default",
    "empty",
    "coalesce",
    "ternary",
    "quote",
    "squote",
    "cat",
    "indent",
    "nindent",
    "trim",
    "trimSuffix",
    "trimPrefix",
    "trimAll",
    "trunc",
    "lower",
    "upper",
    "title",
    "untitle",
    "replace",
    "contains",
    "hasPrefix",
    "hasSuffix",
    "repeat",
    "substr",
    "nospace",
    "b64enc",
    "b64dec",
    "sha256sum",
    "toString",
    "int",
    "int64",
    "float64",
    "atoi",
    "add",
    "add1",
    "sub",
    "mul",
    "div",
    "mod",
    "max",
    "min",
    "addf",
    "subf",
    "mulf",
    "divf",
    "floor",
    "ceil",
    "round",
    "list",
    "tuple",
    "dict",
    "get",
    "set",
    "unset",
    "hasKey",
    "keys",
    "values",
    "pluck",
    "dig",
    "merge",
    "mustMerge",
    "mergeOverwrite",
    "mustMergeOverwrite",
    "deepCopy",
    "mustDeepCopy",
    "first",
    "mustFirst",
    "last",
    "mustLast",
    "rest",
    "mustRest",
    "initial",
    "mustInitial",
    "append",
    "mustAppend",
    "push",
    "mustPush",
    "prepend",
    "mustPrepend",
    "concat",
    "has",
    "mustHas",
    "without",
    "mustWithout",
    "uniq",
    "mustUniq",
    "compact",
    "mustCompact",
    "reverse",
    "mustReverse",
    "sortAlpha",
    "join",
    "split",
    "splitList",
    "splitn",
    "toStrings",
    "until",
    "untilStep",
    "seq",
    "semverCompare",
    "kindOf",
    "kindIs",
    "typeOf",
    "typeIs",
    "typeIsLike",
    "deepEqual",
    "toDecimal",
    "empty",
    "trimall",
    "plural",
    "wrap",
    "abbrev",
    "kebabcase",
    "snakecase",
    "camelcase",
    "swapcase",
    "shuffle",
    "adler32sum",
];

/// Whether templates may call `name`.
pub(crate) fn is_function(name: &str) -> bool {
    FUNCTIONS.contains(&name) && !matches!(name, "shuffle" | "adler32sum")
}

fn want(name: &str, args: &[Value], n: usize) -> Result<(), FnError> {
    if args.len() != n {
        return Err(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        )
        .into());
    }
    Ok(())
}

fn want_at_least(name: &str, args: &[Value], n: usize) -> Result<(), FnError> {
    if args.len() < n {
        return Err(format!(
            "wrong number of args for {name}: want at least {n} got {}",
            args.len()
        )
        .into());
    }
    Ok(())
}

/// A `string` parameter: Go rejects anything else.
fn s(v: &Value) -> Result<Rc<str>, FnError> {
    match v {
        Value::Str(s) => Ok(s.clone()),
        Value::Nil => Err("invalid value; expected string".into()),
        other => Err(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        )
        .into()),
    }
}

/// An `int` parameter: ints, and floats holding an integer.
fn i(v: &Value) -> Result<i64, FnError> {
    match v {
        Value::Int(n) => Ok(*n),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(*f as i64),
        other => Err(format!(
            "wrong type for value; expected int; got {}",
            other.type_name()
        )
        .into()),
    }
}

/// Sprig's `strval`: a string as-is, anything else as `fmt.Sprintf("%v")`.
pub(crate) fn strval(v: &Value) -> Result<String, FnError> {
    match v {
        Value::Str(s) => Ok(s.to_string()),
        other => Ok(other.to_go_string()?),
    }
}

/// cast.ToInt64 as Sprig uses it: unconvertible values are 0.
fn to_i64(v: &Value) -> i64 {
    match v {
        Value::Int(n) => *n,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => *b as i64,
        Value::Str(s) => parse_int_base0(s.trim()).unwrap_or(0),
        _ => 0,
    }
}

fn parse_int_base0(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let lower = body.to_ascii_lowercase();
    let v = if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()?
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()?
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        i64::from_str_radix(&body[1..], 8).ok()?
    } else {
        body.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Int(n) => *n as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => *b as i64 as f64,
        Value::Str(s) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Sprig's `empty`.
pub(crate) fn is_empty(v: &Value) -> bool {
    !v.truthy()
}

fn list_of(name: &str, v: &Value) -> Result<Rc<Vec<Value>>, FnError> {
    match v {
        Value::List(l) => Ok(l.clone()),
        Value::ApiVersions(a) => Ok(Rc::new(a.iter().map(|x| Value::str(x.as_str())).collect())),
        Value::Nil => Ok(Rc::new(Vec::new())),
        other => Err(format!("{name}: cannot find {name} on type {}", other.type_name()).into()),
    }
}

fn map_of(name: &str, v: &Value) -> Result<crate::value::MapRef, FnError> {
    match v {
        Value::Map(m) => Ok(m.clone()),
        other => Err(format!("{name}: expected a dict, got {}", other.type_name()).into()),
    }
}

fn charge_str(e: &mut Engine, out: String) -> FnResult {
    e.charge(out.len())?;
    Ok(Value::str(out))
}

/// Calls the function `name` (never `include` or `tpl`, which the executor handles).
pub(crate) fn call(e: &mut Engine, name: &str, a: Vec<Value>) -> FnResult {
    match name {
        // ---- Go builtins ----
        "not" => {
            want(name, &a, 1)?;
            Ok(Value::Bool(!a[0].truthy()))
        }
        "len" => {
            want(name, &a, 1)?;
            Ok(Value::Int(match &a[0] {
                Value::Str(s) => s.len() as i64,
                Value::List(l) => l.len() as i64,
                Value::Map(m) => m.borrow().len() as i64,
                Value::Files(f) => f.files.len() as i64,
                Value::ApiVersions(v) => v.len() as i64,
                Value::Nil => return Err("len of nil pointer".into()),
                other => return Err(format!("len of type {}", other.type_name()).into()),
            }))
        }
        "index" => {
            want_at_least(name, &a, 1)?;
            let mut v = a[0].clone();
            for k in &a[1..] {
                v = match (&v, k) {
                    (Value::Map(m), Value::Str(key)) => {
                        m.borrow().get(key.as_ref()).cloned().unwrap_or(Value::Nil)
                    }
                    (Value::Map(_), Value::Nil) => Value::Nil,
                    (Value::Map(_), other) => {
                        return Err(format!(
                            "value has type {}; should be string",
                            other.type_name()
                        )
                        .into());
                    }
                    (Value::List(l), _) => {
                        let n = i(k).map_err(|_| {
                            FnError::from("cannot index slice/array with non-integer")
                        })?;
                        if n < 0 || n as usize >= l.len() {
                            return Err(format!("index out of range: {n}").into());
                        }
                        l[n as usize].clone()
                    }
                    (Value::Str(st), _) => {
                        let n = i(k)?;
                        match st.as_bytes().get(n.max(0) as usize) {
                            Some(b) if n >= 0 => Value::Int(*b as i64),
                            _ => return Err(format!("index out of range: {n}").into()),
                        }
                    }
                    (Value::Nil, _) => return Err("index of untyped nil".into()),
                    (other, _) => {
                        return Err(
                            format!("can't index item of type {}", other.type_name()).into()
                        );
                    }
                };
            }
            Ok(v)
        }
        "slice" => {
            want_at_least(name, &a, 1)?;
            let idx: Vec<i64> = a[1..].iter().map(i).collect::<Result<_, _>>()?;
            if idx.len() > 3 {
                return Err("too many slice indexes".into());
            }
            let len = match &a[0] {
                Value::List(l) => l.len(),
                Value::Str(st) => st.len(),
                Value::Nil => return Err("slice of untyped nil".into()),
                other => {
                    return Err(format!("can't slice item of type {}", other.type_name()).into());
                }
            } as i64;
            let lo = idx.first().copied().unwrap_or(0);
            let hi = idx.get(1).copied().unwrap_or(len);
            if lo < 0 || hi < lo || hi > len {
                return Err(format!("index out of range: {lo}:{hi}").into());
            }
            match &a[0] {
                Value::List(l) => Ok(Value::list(l[lo as usize..hi as usize].to_vec())),
                Value::Str(st) => st
                    .get(lo as usize..hi as usize)
                    .map(Value::str)
                    .ok_or_else(|| "slice splits a UTF-8 character".into()),
                _ => Ok(Value::Nil),
            }
        }
        "print" => charge_str(e, go_sprint(&a)?),
        "println" => {
            let mut out = a
                .iter()
                .map(|v| v.to_go_string())
                .collect::<Result<Vec<_>, _>>()?
                .join(" ");
            out.push('\n');
            charge_str(e, out)
        }
        "printf" => {
            want_at_least(name, &a, 1)?;
            let f = s(&a[0])?;
            charge_str(e, sprintf(&f, &a[1..])?)
        }
        "eq" => {
            want_at_least(name, &a, 2)?;
            for b in &a[1..] {
                if compare_eq(&a[0], b)? {
                    return Ok(Value::Bool(true));
                }
            }
            Ok(Value::Bool(false))
        }
        "ne" => {
            want(name, &a, 2)?;
            Ok(Value::Bool(!compare_eq(&a[0], &a[1])?))
        }
        "lt" | "le" | "gt" | "ge" => {
            want(name, &a, 2)?;
            let ord = compare_ord(&a[0], &a[1])?;
            Ok(Value::Bool(match name {
                "lt" => ord.is_lt(),
                "le" => ord.is_le(),
                "gt" => ord.is_gt(),
                _ => ord.is_ge(),
            }))
        }
        // ---- Helm ----
        "required" => {
            want(name, &a, 2)?;
            let msg = s(&a[0])?;
            match &a[1] {
                Value::Nil => Err(FnError::User(msg.to_string())),
                Value::Str(x) if x.is_empty() => Err(FnError::User(msg.to_string())),
                v => Ok(v.clone()),
            }
        }
        "fail" => {
            want(name, &a, 1)?;
            Err(FnError::User(strval(&a[0])?))
        }
        "toYaml" | "mustToYaml" | "toYamlPretty" => {
            want(name, &a, 1)?;
            let out = match yaml::to_yaml(&a[0]) {
                Ok(y) => y.trim_end_matches('\n').to_string(),
                Err(m) if name == "mustToYaml" => return Err(m.into()),
                Err(_) => String::new(),
            };
            charge_str(e, out)
        }
        "toJson" | "mustToJson" | "toRawJson" | "toPrettyJson" | "mustToPrettyJson" => {
            want(name, &a, 1)?;
            let pretty = name.contains("Pretty");
            let out = match yaml::to_json(&a[0], pretty, name != "toRawJson") {
                Ok(j) => j,
                Err(m) if name.starts_with("must") => return Err(m.into()),
                Err(_) => String::new(),
            };
            charge_str(e, out)
        }
        "fromYaml" | "fromJson" => {
            want(name, &a, 1)?;
            let text = s(&a[0])?;
            e.charge(text.len())?;
            match yaml::parse_helm(&text, name == "fromJson") {
                Ok(v @ Value::Map(_)) => Ok(v),
                Ok(Value::Nil) => Ok(Value::empty_map()),
                Ok(_) => Ok(error_map("cannot unmarshal non-object into map")),
                Err(m) => Ok(error_map(&m)),
            }
        }
        "fromYamlArray" | "fromJsonArray" => {
            want(name, &a, 1)?;
            let text = s(&a[0])?;
            e.charge(text.len())?;
            match yaml::parse_helm(&text, name == "fromJsonArray") {
                Ok(v @ Value::List(_)) => Ok(v),
                Ok(Value::Nil) => Ok(Value::list(Vec::new())),
                Ok(_) => Ok(Value::list(vec![Value::str(
                    "cannot unmarshal non-array into list",
                )])),
                Err(m) => Ok(Value::list(vec![Value::str(m)])),
            }
        }
        "lookup" => {
            want(name, &a, 4)?;
            Ok(Value::empty_map())
        }
        // ---- Sprig: defaults and flow ----
        "default" => {
            want_at_least(name, &a, 1)?;
            if a.len() == 1 {
                return Ok(a[0].clone());
            }
            Ok(if is_empty(&a[1]) {
                a[0].clone()
            } else {
                a[1].clone()
            })
        }
        "empty" => {
            want(name, &a, 1)?;
            Ok(Value::Bool(is_empty(&a[0])))
        }
        "coalesce" => Ok(a
            .iter()
            .find(|v| !is_empty(v))
            .cloned()
            .unwrap_or(Value::Nil)),
        "ternary" => {
            want(name, &a, 3)?;
            let Value::Bool(c) = a[2] else {
                return Err(format!(
                    "wrong type for value; expected bool; got {}",
                    a[2].type_name()
                )
                .into());
            };
            Ok(if c { a[0].clone() } else { a[1].clone() })
        }
        // ---- Sprig: strings ----
        "quote" | "squote" => {
            let mut parts = Vec::new();
            for v in a.iter().filter(|v| !matches!(v, Value::Nil)) {
                let text = strval(v)?;
                parts.push(if name == "quote" {
                    go_quote(&text)
                } else {
                    format!("'{text}'")
                });
            }
            charge_str(e, parts.join(" "))
        }
        "cat" => {
            let parts = a
                .iter()
                .filter(|v| !matches!(v, Value::Nil))
                .map(|v| v.to_go_string())
                .collect::<Result<Vec<_>, _>>()?;
            charge_str(e, parts.join(" "))
        }
        "indent" | "nindent" => {
            want(name, &a, 2)?;
            let n = i(&a[0])?.max(0) as usize;
            let text = s(&a[1])?;
            let lines = text.matches('\n').count() + 1;
            e.charge(n.saturating_mul(lines).saturating_add(text.len()))?;
            let pad = " ".repeat(n);
            let mut out = String::with_capacity(text.len() + n * lines + 1);
            if name == "nindent" {
                out.push('\n');
            }
            out.push_str(&pad);
            out.push_str(&text.replace('\n', &format!("\n{pad}")));
            Ok(Value::str(out))
        }
        "trim" => {
            want(name, &a, 1)?;
            Ok(Value::str(s(&a[0])?.trim()))
        }
        "trimSuffix" => {
            want(name, &a, 2)?;
            let (suf, text) = (s(&a[0])?, s(&a[1])?);
            Ok(Value::str(text.strip_suffix(suf.as_ref()).unwrap_or(&text)))
        }
        "trimPrefix" => {
            want(name, &a, 2)?;
            let (pre, text) = (s(&a[0])?, s(&a[1])?);
            Ok(Value::str(text.strip_prefix(pre.as_ref()).unwrap_or(&text)))
        }
        "trimAll" | "trimall" => {
            want(name, &a, 2)?;
            let (cut, text) = (s(&a[0])?, s(&a[1])?);
            Ok(Value::str(text.trim_matches(|c| cut.contains(c))))
        }
        "trunc" => {
            want(name, &a, 2)?;
            let n = i(&a[0])?;
            let text = s(&a[1])?;
            let chars: Vec<char> = text.chars().collect();
            let len = chars.len() as i64;
            let out: String = if n >= 0 {
                chars[..n.min(len) as usize].iter().collect()
            } else {
                chars[(len + n).max(0) as usize..].iter().collect()
            };
            Ok(Value::str(out))
        }
        "lower" => {
            want(name, &a, 1)?;
            Ok(Value::str(s(&a[0])?.to_lowercase()))
        }
        "upper" => {
            want(name, &a, 1)?;
            Ok(Value::str(s(&a[0])?.to_uppercase()))
        }
        "title" => {
            want(name, &a, 1)?;
            let mut out = String::new();
            let mut prev_letter = false;
            for c in s(&a[0])?.chars() {
                if !prev_letter {
                    out.extend(c.to_uppercase());
                } else {
                    out.push(c);
                }
                prev_letter = c.is_alphanumeric() || c == '_' || c == '\'';
            }
            Ok(Value::str(out))
        }
        "untitle" => {
            want(name, &a, 1)?;
            let mut out = String::new();
            let mut prev_space = true;
            for c in s(&a[0])?.chars() {
                if prev_space {
                    out.extend(c.to_lowercase());
                } else {
                    out.push(c);
                }
                prev_space = c.is_whitespace();
            }
            Ok(Value::str(out))
        }
        "swapcase" => {
            want(name, &a, 1)?;
            let out: String = s(&a[0])?
                .chars()
                .flat_map(|c| -> Vec<char> {
                    if c.is_uppercase() {
                        c.to_lowercase().collect()
                    } else {
                        c.to_uppercase().collect()
                    }
                })
                .collect();
            Ok(Value::str(out))
        }
        "kebabcase" | "snakecase" => {
            want(name, &a, 1)?;
            let sep = if name == "kebabcase" { '-' } else { '_' };
            let mut out = String::new();
            let mut prev_lower = false;
            for c in s(&a[0])?.chars() {
                if c.is_uppercase() {
                    if prev_lower {
                        out.push(sep);
                    }
                    out.extend(c.to_lowercase());
                    prev_lower = false;
                } else if c == '-' || c == '_' || c == ' ' {
                    out.push(sep);
                    prev_lower = false;
                } else {
                    out.push(c);
                    prev_lower = c.is_lowercase() || c.is_ascii_digit();
                }
            }
            Ok(Value::str(out))
        }
        "camelcase" => {
            want(name, &a, 1)?;
            let out: String = s(&a[0])?
                .split(['_', '-', ' '])
                .filter(|w| !w.is_empty())
                .map(|w| {
                    let mut cs = w.chars();
                    cs.next()
                        .map(|f| f.to_uppercase().chain(cs).collect::<String>())
                        .unwrap_or_default()
                })
                .collect();
            Ok(Value::str(out))
        }
        "replace" => {
            want(name, &a, 3)?;
            let (old, new, text) = (s(&a[0])?, s(&a[1])?, s(&a[2])?);
            let count = if old.is_empty() {
                text.chars().count() + 1
            } else {
                text.matches(old.as_ref()).count()
            };
            e.charge(text.len().saturating_add(count.saturating_mul(new.len())))?;
            Ok(Value::str(text.replace(old.as_ref(), &new)))
        }
        "contains" => {
            want(name, &a, 2)?;
            Ok(Value::Bool(s(&a[1])?.contains(s(&a[0])?.as_ref())))
        }
        "hasPrefix" => {
            want(name, &a, 2)?;
            Ok(Value::Bool(s(&a[1])?.starts_with(s(&a[0])?.as_ref())))
        }
        "hasSuffix" => {
            want(name, &a, 2)?;
            Ok(Value::Bool(s(&a[1])?.ends_with(s(&a[0])?.as_ref())))
        }
        "repeat" => {
            want(name, &a, 2)?;
            let n = i(&a[0])?.max(0) as usize;
            let text = s(&a[1])?;
            e.charge(n.saturating_mul(text.len()))?;
            Ok(Value::str(text.repeat(n)))
        }
        "substr" => {
            want(name, &a, 3)?;
            let (start, end) = (i(&a[0])?, i(&a[1])?);
            let text = s(&a[2])?;
            let chars: Vec<char> = text.chars().collect();
            let len = chars.len() as i64;
            let (lo, hi) = if start < 0 {
                (0, end.clamp(0, len))
            } else if end < 0 || end > len {
                (start.min(len), len)
            } else {
                (start.min(end), end)
            };
            Ok(Value::str(
                chars[lo as usize..hi as usize].iter().collect::<String>(),
            ))
        }
        "nospace" => {
            want(name, &a, 1)?;
            Ok(Value::str(
                s(&a[0])?
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect::<String>(),
            ))
        }
        "wrap" | "abbrev" | "plural" => {
            Err(format!("function {name:?} is not supported by cutover's chart renderer").into())
        }
        "b64enc" => {
            want(name, &a, 1)?;
            let text = strval(&a[0])?;
            charge_str(
                e,
                base64::engine::general_purpose::STANDARD.encode(text.as_bytes()),
            )
        }
        "b64dec" => {
            want(name, &a, 1)?;
            let text = strval(&a[0])?;
            Ok(Value::str(
                match base64::engine::general_purpose::STANDARD.decode(text.as_bytes()) {
                    Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    Err(err) => err.to_string(),
                },
            ))
        }
        "sha256sum" => {
            want(name, &a, 1)?;
            let text = strval(&a[0])?;
            let digest = sha2::Sha256::digest(text.as_bytes());
            let mut hex = String::with_capacity(64);
            for b in digest {
                let _ = write!(hex, "{b:02x}");
            }
            Ok(Value::str(hex))
        }
        "toString" => {
            want(name, &a, 1)?;
            Ok(Value::str(strval(&a[0])?))
        }
        "toStrings" => {
            want(name, &a, 1)?;
            let l = list_of(name, &a[0])?;
            Ok(Value::list(
                l.iter()
                    .map(|v| strval(v).map(Value::str))
                    .collect::<Result<_, _>>()?,
            ))
        }
        "join" => {
            want(name, &a, 2)?;
            let sep = s(&a[0])?;
            let parts: Vec<String> = match &a[1] {
                Value::List(l) => l
                    .iter()
                    .filter(|v| !matches!(v, Value::Nil))
                    .map(strval)
                    .collect::<Result<_, _>>()?,
                Value::Nil => Vec::new(),
                other => vec![strval(other)?],
            };
            charge_str(e, parts.join(&sep))
        }
        "split" | "splitList" => {
            want(name, &a, 2)?;
            let (sep, text) = (s(&a[0])?, s(&a[1])?);
            let parts: Vec<&str> = if sep.is_empty() {
                let mut v = Vec::new();
                let mut rest: &str = &text;
                while let Some(c) = rest.chars().next() {
                    v.push(&rest[..c.len_utf8()]);
                    rest = &rest[c.len_utf8()..];
                }
                v
            } else {
                text.split(sep.as_ref()).collect()
            };
            e.charge(parts.len() * 16)?;
            if name == "splitList" {
                Ok(Value::list(parts.into_iter().map(Value::str).collect()))
            } else {
                Ok(Value::map(
                    parts
                        .into_iter()
                        .enumerate()
                        .map(|(n, p)| (format!("_{n}"), Value::str(p)))
                        .collect(),
                ))
            }
        }
        "splitn" => {
            want(name, &a, 3)?;
            let (sep, n, text) = (s(&a[0])?, i(&a[1])?, s(&a[2])?);
            let parts: Vec<&str> = if n < 0 {
                text.split(sep.as_ref()).collect()
            } else {
                text.splitn(n as usize, sep.as_ref()).collect()
            };
            Ok(Value::map(
                parts
                    .into_iter()
                    .enumerate()
                    .map(|(n, p)| (format!("_{n}"), Value::str(p)))
                    .collect(),
            ))
        }
        // ---- Sprig: conversion and math ----
        "int" | "int64" | "atoi" => {
            want(name, &a, 1)?;
            if name == "atoi" {
                return Ok(Value::Int(s(&a[0])?.trim().parse().unwrap_or(0)));
            }
            Ok(Value::Int(to_i64(&a[0])))
        }
        "float64" | "toDecimal" => {
            want(name, &a, 1)?;
            if name == "toDecimal" {
                return Ok(Value::Int(
                    i64::from_str_radix(&strval(&a[0])?, 8).unwrap_or(0),
                ));
            }
            Ok(Value::Float(to_f64(&a[0])))
        }
        "add" => Ok(Value::Int(
            a.iter().map(to_i64).fold(0i64, i64::wrapping_add),
        )),
        "add1" => {
            want(name, &a, 1)?;
            Ok(Value::Int(to_i64(&a[0]).wrapping_add(1)))
        }
        "sub" => {
            want(name, &a, 2)?;
            Ok(Value::Int(to_i64(&a[0]).wrapping_sub(to_i64(&a[1]))))
        }
        "mul" => {
            want_at_least(name, &a, 1)?;
            Ok(Value::Int(
                a.iter().map(to_i64).fold(1i64, i64::wrapping_mul),
            ))
        }
        "div" | "mod" => {
            want(name, &a, 2)?;
            let (x, y) = (to_i64(&a[0]), to_i64(&a[1]));
            if y == 0 {
                return Err("runtime error: integer divide by zero".into());
            }
            Ok(Value::Int(if name == "div" {
                x.wrapping_div(y)
            } else {
                x.wrapping_rem(y)
            }))
        }
        "max" | "min" => {
            want_at_least(name, &a, 1)?;
            let it = a.iter().map(to_i64);
            Ok(Value::Int(if name == "max" {
                it.max().unwrap_or(0)
            } else {
                it.min().unwrap_or(0)
            }))
        }
        "addf" | "mulf" => {
            let it = a.iter().map(to_f64);
            Ok(Value::Float(if name == "addf" {
                it.sum()
            } else {
                it.product()
            }))
        }
        "subf" | "divf" => {
            want_at_least(name, &a, 1)?;
            let mut acc = to_f64(&a[0]);
            for v in &a[1..] {
                if name == "subf" {
                    acc -= to_f64(v)
                } else {
                    acc /= to_f64(v)
                }
            }
            Ok(Value::Float(acc))
        }
        "floor" | "ceil" => {
            want(name, &a, 1)?;
            let f = to_f64(&a[0]);
            Ok(Value::Float(if name == "floor" {
                f.floor()
            } else {
                f.ceil()
            }))
        }
        "round" => {
            want_at_least(name, &a, 2)?;
            let p = 10f64.powi(to_i64(&a[1]).clamp(-300, 300) as i32);
            Ok(Value::Float((to_f64(&a[0]) * p).round() / p))
        }
        "until" => {
            want(name, &a, 1)?;
            let n = i(&a[0])?;
            until_step(e, 0, n, if n < 0 { -1 } else { 1 })
        }
        "untilStep" => {
            want(name, &a, 3)?;
            until_step(e, i(&a[0])?, i(&a[1])?, i(&a[2])?)
        }
        "seq" => {
            let nums: Vec<i64> = a.iter().map(i).collect::<Result<_, _>>()?;
            let (start, step, end) = match nums.as_slice() {
                [end] => (1, 1, *end),
                [start, end] => (*start, if end >= start { 1 } else { -1 }, *end),
                [start, step, end] => (*start, *step, *end),
                _ => return Err("seq: wrong number of arguments".into()),
            };
            let Value::List(l) = &until_step(e, start, end.saturating_add(step.signum()), step)?
            else {
                return Ok(Value::str(""));
            };
            charge_str(
                e,
                l.iter()
                    .map(|v| v.to_go_string())
                    .collect::<Result<Vec<_>, _>>()?
                    .join(" "),
            )
        }
        // ---- Sprig: lists ----
        "list" | "tuple" => {
            e.charge(a.len() * 8)?;
            Ok(Value::list(a))
        }
        "first" | "mustFirst" | "last" | "mustLast" => {
            want(name, &a, 1)?;
            let l = list_of(name, &a[0])?;
            Ok(if name.ends_with("irst") || name == "first" {
                l.first()
            } else {
                l.last()
            }
            .cloned()
            .unwrap_or(Value::Nil))
        }
        "rest" | "mustRest" | "initial" | "mustInitial" => {
            want(name, &a, 1)?;
            let l = list_of(name, &a[0])?;
            if l.is_empty() {
                return Ok(Value::Nil);
            }
            Ok(Value::list(if name.ends_with("est") {
                l[1..].to_vec()
            } else {
                l[..l.len() - 1].to_vec()
            }))
        }
        "append" | "mustAppend" | "push" | "mustPush" => {
            want(name, &a, 2)?;
            let l = list_of(name, &a[0])?;
            e.charge((l.len() + 1) * 8)?;
            let mut v = l.to_vec();
            v.push(a[1].clone());
            Ok(Value::list(v))
        }
        "prepend" | "mustPrepend" => {
            want(name, &a, 2)?;
            let l = list_of(name, &a[0])?;
            e.charge((l.len() + 1) * 8)?;
            let mut v = vec![a[1].clone()];
            v.extend(l.iter().cloned());
            Ok(Value::list(v))
        }
        "concat" => {
            let mut v = Vec::new();
            for x in &a {
                let l = list_of(name, x)?;
                e.charge(l.len() * 8)?;
                v.extend(l.iter().cloned());
            }
            Ok(Value::list(v))
        }
        "reverse" | "mustReverse" => {
            want(name, &a, 1)?;
            let mut v = list_of(name, &a[0])?.to_vec();
            v.reverse();
            Ok(Value::list(v))
        }
        "has" | "mustHas" => {
            want(name, &a, 2)?;
            let l = list_of(name, &a[1])?;
            for x in l.iter() {
                if deep_equal(&a[0], x, 0)? {
                    return Ok(Value::Bool(true));
                }
            }
            Ok(Value::Bool(false))
        }
        "without" | "mustWithout" => {
            want_at_least(name, &a, 1)?;
            let l = list_of(name, &a[0])?;
            let mut out = Vec::new();
            for x in l.iter() {
                let mut drop = false;
                for w in &a[1..] {
                    if deep_equal(x, w, 0)? {
                        drop = true;
                    }
                }
                if !drop {
                    out.push(x.clone());
                }
            }
            Ok(Value::list(out))
        }
        "uniq" | "mustUniq" => {
            want(name, &a, 1)?;
            let l = list_of(name, &a[0])?;
            let mut out: Vec<Value> = Vec::new();
            for x in l.iter() {
                e.step()?;
                let mut seen = false;
                for y in &out {
                    if deep_equal(x, y, 0)? {
                        seen = true;
                        break;
                    }
                }
                if !seen {
                    out.push(x.clone());
                }
            }
            Ok(Value::list(out))
        }
        "compact" | "mustCompact" => {
            want(name, &a, 1)?;
            let l = list_of(name, &a[0])?;
            Ok(Value::list(
                l.iter().filter(|v| !is_empty(v)).cloned().collect(),
            ))
        }
        "sortAlpha" => {
            want(name, &a, 1)?;
            let l = list_of(name, &a[0])?;
            let mut v: Vec<String> = l.iter().map(strval).collect::<Result<_, _>>()?;
            v.sort();
            Ok(Value::list(v.into_iter().map(Value::str).collect()))
        }
        // ---- Sprig: dicts ----
        "dict" => {
            let mut m = BTreeMap::new();
            let mut it = a.into_iter();
            while let Some(k) = it.next() {
                let v = it.next().unwrap_or(Value::Str("".into()));
                m.insert(strval(&k)?, v);
            }
            Ok(Value::map(m))
        }
        "get" => {
            want(name, &a, 2)?;
            let m = map_of(name, &a[0])?;
            let key = s(&a[1])?;
            Ok(m.borrow()
                .get(key.as_ref())
                .cloned()
                .unwrap_or(Value::str("")))
        }
        "set" => {
            want(name, &a, 3)?;
            let m = map_of(name, &a[0])?;
            m.borrow_mut().insert(s(&a[1])?.to_string(), a[2].clone());
            Ok(a[0].clone())
        }
        "unset" => {
            want(name, &a, 2)?;
            let m = map_of(name, &a[0])?;
            m.borrow_mut().remove(s(&a[1])?.as_ref());
            Ok(a[0].clone())
        }
        "hasKey" => {
            want(name, &a, 2)?;
            let m = map_of(name, &a[0])?;
            Ok(Value::Bool(m.borrow().contains_key(s(&a[1])?.as_ref())))
        }
        "keys" => {
            let mut out = Vec::new();
            for v in &a {
                out.extend(
                    map_of(name, v)?
                        .borrow()
                        .keys()
                        .map(|k| Value::str(k.as_str())),
                );
            }
            Ok(Value::list(out))
        }
        "values" => {
            want(name, &a, 1)?;
            let m = map_of(name, &a[0])?;
            let out = m.borrow().values().cloned().collect();
            Ok(Value::list(out))
        }
        "pluck" => {
            want_at_least(name, &a, 1)?;
            let key = s(&a[0])?;
            let mut out = Vec::new();
            for v in &a[1..] {
                if let Some(x) = map_of(name, v)?.borrow().get(key.as_ref()) {
                    out.push(x.clone());
                }
            }
            Ok(Value::list(out))
        }
        "dig" => {
            want_at_least(name, &a, 3)?;
            let (dict, rest) = a.split_last().ok_or("dig: missing dict")?;
            let (default, keys) = rest.split_last().ok_or("dig: missing default")?;
            let mut cur = dict.clone();
            for k in keys {
                let key = s(k)?;
                let next = match &cur {
                    Value::Map(m) => m.borrow().get(key.as_ref()).cloned(),
                    _ => None,
                };
                match next {
                    Some(n) => cur = n,
                    None => return Ok(default.clone()),
                }
            }
            Ok(cur)
        }
        "merge" | "mustMerge" | "mergeOverwrite" | "mustMergeOverwrite" => {
            want_at_least(name, &a, 1)?;
            let dst = map_of(name, &a[0])?;
            let overwrite = name.contains("Overwrite");
            for src in &a[1..] {
                let src = map_of(name, src)?;
                if Rc::ptr_eq(&dst, &src) {
                    continue;
                }
                merge_into(&dst, &src.borrow(), overwrite, 0)?;
            }
            Ok(a[0].clone())
        }
        "deepCopy" | "mustDeepCopy" => {
            want(name, &a, 1)?;
            Ok(a[0].deep_copy()?)
        }
        // ---- Sprig: types and versions ----
        "kindOf" => {
            want(name, &a, 1)?;
            Ok(Value::str(a[0].kind_name()))
        }
        "kindIs" => {
            want(name, &a, 2)?;
            Ok(Value::Bool(s(&a[0])?.as_ref() == a[1].kind_name()))
        }
        "typeOf" => {
            want(name, &a, 1)?;
            Ok(Value::str(a[0].type_name()))
        }
        "typeIs" | "typeIsLike" => {
            want(name, &a, 2)?;
            let t = s(&a[0])?;
            let actual = a[1].type_name();
            Ok(Value::Bool(
                t.as_ref() == actual
                    || (name == "typeIsLike" && t.strip_prefix('*') == Some(actual)),
            ))
        }
        "deepEqual" => {
            want(name, &a, 2)?;
            Ok(Value::Bool(deep_equal(&a[0], &a[1], 0)?))
        }
        "semverCompare" => {
            want(name, &a, 2)?;
            let (c, v) = (s(&a[0])?, s(&a[1])?);
            Ok(Value::Bool(semver::matches(&c, &v)?))
        }
        other => {
            Err(format!("function {other:?} is not supported by cutover's chart renderer").into())
        }
    }
}

fn error_map(msg: &str) -> Value {
    let mut m = BTreeMap::new();
    m.insert("Error".to_string(), Value::str(msg));
    Value::map(m)
}

fn until_step(e: &mut Engine, start: i64, stop: i64, step: i64) -> FnResult {
    let mut v = Vec::new();
    if step == 0 || (step > 0 && start >= stop) || (step < 0 && start <= stop) {
        return Ok(Value::list(v));
    }
    let span = (stop as i128 - start as i128).unsigned_abs();
    let count = span.div_ceil(step.unsigned_abs() as u128);
    if count > e.limits.max_list_len as u128 {
        return Err(format!(
            "list of {count} elements exceeds the limit of {}",
            e.limits.max_list_len
        )
        .into());
    }
    e.charge(count as usize * 8)?;
    let mut x = start;
    while (step > 0 && x < stop) || (step < 0 && x > stop) {
        v.push(Value::Int(x));
        match x.checked_add(step) {
            Some(n) => x = n,
            None => break,
        }
    }
    Ok(Value::list(v))
}

/// mergo.Merge as Sprig uses it: fills keys missing in `dst` (or, overwriting, replaces them),
/// recursing into maps present on both sides.
fn merge_into(
    dst: &crate::value::MapRef,
    src: &BTreeMap<String, Value>,
    overwrite: bool,
    depth: usize,
) -> Result<(), FnError> {
    if depth > MAX_VALUE_DEPTH {
        return Err(too_deep().into());
    }
    for (k, sv) in src {
        let existing = dst.borrow().get(k).cloned();
        match (&existing, sv) {
            (Some(Value::Map(dm)), Value::Map(sm)) => {
                if !Rc::ptr_eq(dm, sm) {
                    let snapshot = sm.borrow().clone();
                    merge_into(dm, &snapshot, overwrite, depth + 1)?;
                }
            }
            (Some(dv), _) if !overwrite && !is_empty(dv) => {}
            (Some(_), _) if overwrite && is_empty(sv) => {}
            (_, _) => {
                dst.borrow_mut().insert(k.clone(), sv.deep_copy()?);
            }
        }
    }
    Ok(())
}

fn deep_equal(a: &Value, b: &Value, depth: usize) -> Result<bool, FnError> {
    if depth > MAX_VALUE_DEPTH {
        return Err(too_deep().into());
    }
    Ok(match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            if x.len() != y.len() {
                return Ok(false);
            }
            for (p, q) in x.iter().zip(y.iter()) {
                if !deep_equal(p, q, depth + 1)? {
                    return Ok(false);
                }
            }
            true
        }
        (Value::Map(x), Value::Map(y)) => {
            if Rc::ptr_eq(x, y) {
                return Ok(true);
            }
            let (x, y) = (x.borrow(), y.borrow());
            if x.len() != y.len() {
                return Ok(false);
            }
            for (k, p) in x.iter() {
                match y.get(k) {
                    Some(q) if deep_equal(p, q, depth + 1)? => {}
                    _ => return Ok(false),
                }
            }
            true
        }
        _ => false,
    })
}

/// Go's `eq` for two values: basic kinds only, and int against float is an error, as in Go.
fn compare_eq(a: &Value, b: &Value) -> Result<bool, FnError> {
    Ok(match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Nil, _) | (_, Value::Nil) => false,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::List(_) | Value::Map(_) | Value::Files(_) | Value::ApiVersions(_), _)
        | (_, Value::List(_) | Value::Map(_) | Value::Files(_) | Value::ApiVersions(_)) => {
            return Err("non-comparable type".into());
        }
        _ => return Err("incompatible types for comparison".into()),
    })
}

fn compare_ord(a: &Value, b: &Value) -> Result<std::cmp::Ordering, FnError> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Ok(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => {
            x.partial_cmp(y).ok_or_else(|| "NaN is not ordered".into())
        }
        (Value::Str(x), Value::Str(y)) => Ok(x.cmp(y)),
        (
            Value::Int(_) | Value::Float(_) | Value::Str(_),
            Value::Int(_) | Value::Float(_) | Value::Str(_),
        ) => Err("incompatible types for comparison".into()),
        _ => Err("invalid type for comparison".into()),
    }
}

/// Go's `%q` of a string.
pub(crate) fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `fmt.Sprint`: a space between operands when neither is a string.
fn go_sprint(a: &[Value]) -> Result<String, FnError> {
    let mut out = String::new();
    for (n, v) in a.iter().enumerate() {
        if n > 0 && !matches!(v, Value::Str(_)) && !matches!(a[n - 1], Value::Str(_)) {
            out.push(' ');
        }
        out.push_str(&v.to_go_string()?);
    }
    Ok(out)
}

/// Go's `fmt.Sprintf` for the verbs charts use: %v %s %d %q %f %e %g %x %X %o %b %t %c %T %%,
/// with flags `-+ 0#`, width and precision.
fn sprintf(format: &str, args: &[Value]) -> Result<String, FnError> {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut next = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut minus = false;
        let mut plus = false;
        let mut zero = false;
        let mut space = false;
        while let Some(&f) = chars.peek() {
            match f {
                '-' => minus = true,
                '+' => plus = true,
                '0' => zero = true,
                ' ' => space = true,
                '#' => {}
                _ => break,
            }
            chars.next();
        }
        let mut width = None;
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            width = Some(width.unwrap_or(0).min(10_000) * 10 + d as usize);
            chars.next();
        }
        let mut prec = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = 0usize;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                p = p.min(10_000) * 10 + d as usize;
                chars.next();
            }
            prec = Some(p);
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        next += 1;
        let mut body = format_verb(verb, arg, prec)?;
        if plus && matches!(arg, Value::Int(_) | Value::Float(_)) && !body.starts_with('-') {
            body.insert(0, '+');
        } else if space && matches!(arg, Value::Int(_) | Value::Float(_)) && !body.starts_with('-')
        {
            body.insert(0, ' ');
        }
        let len = body.chars().count();
        match width {
            Some(w) if w > len => {
                let pad = w - len;
                if minus {
                    out.push_str(&body);
                    out.extend(std::iter::repeat_n(' ', pad));
                } else if zero && matches!(arg, Value::Int(_) | Value::Float(_)) {
                    let (sign, digits) = if body.starts_with(['-', '+']) {
                        body.split_at(1)
                    } else {
                        ("", body.as_str())
                    };
                    out.push_str(sign);
                    out.extend(std::iter::repeat_n('0', pad));
                    out.push_str(digits);
                } else {
                    out.extend(std::iter::repeat_n(' ', pad));
                    out.push_str(&body);
                }
            }
            _ => out.push_str(&body),
        }
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[next..]
            .iter()
            .map(|v| Ok::<_, String>(format!("{}={}", v.type_name(), v.to_go_string()?)))
            .collect::<Result<_, _>>()?;
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    Ok(out)
}

fn format_verb(verb: char, arg: &Value, prec: Option<usize>) -> Result<String, FnError> {
    let bad = || {
        format!(
            "%!{verb}({}={})",
            arg.type_name(),
            arg.to_go_string().unwrap_or_default()
        )
    };
    Ok(match (verb, arg) {
        ('v', Value::Nil) | ('s', Value::Nil) => "<nil>".to_string(),
        ('v', _) => arg.to_go_string()?,
        ('T', _) => arg.type_name().to_string(),
        ('s', Value::Str(s)) => match prec {
            Some(p) => s.chars().take(p).collect(),
            None => s.to_string(),
        },
        ('s', Value::List(_) | Value::Map(_) | Value::Bool(_)) => arg.to_go_string()?,
        ('q', Value::Str(s)) => go_quote(s),
        ('q', Value::Int(n)) => match char::from_u32(*n as u32) {
            Some(c) => format!("'{c}'"),
            None => bad(),
        },
        ('d', Value::Int(n)) => n.to_string(),
        ('c', Value::Int(n)) => char::from_u32(*n as u32)
            .map(String::from)
            .unwrap_or_else(bad),
        ('x', Value::Int(n)) => {
            if *n < 0 {
                format!("-{:x}", n.unsigned_abs())
            } else {
                format!("{n:x}")
            }
        }
        ('X', Value::Int(n)) => {
            if *n < 0 {
                format!("-{:X}", n.unsigned_abs())
            } else {
                format!("{n:X}")
            }
        }
        ('o', Value::Int(n)) => format!("{n:o}"),
        ('b', Value::Int(n)) => format!("{n:b}"),
        ('x', Value::Str(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
        ('X', Value::Str(s)) => s.bytes().map(|b| format!("{b:02X}")).collect(),
        ('t', Value::Bool(b)) => b.to_string(),
        ('f' | 'F', Value::Float(f)) => format_float_f(*f, prec.unwrap_or(6)),
        ('e', Value::Float(f)) => format_float_e(*f, Some(prec.unwrap_or(6))),
        ('g', Value::Float(f)) => match prec {
            None => format_float_g(*f),
            Some(_) => format_float_g(*f),
        },
        ('s' | 'd' | 'f' | 'e' | 'g' | 'x' | 'X' | 'q' | 't' | 'c' | 'o' | 'b' | 'F', _) => bad(),
        _ => format!("%!{verb}({}={})", arg.type_name(), arg.to_go_string()?),
    })
}

/// Methods of the special objects: `.Files.Get`, `.Files.Glob`, `.Capabilities.APIVersions.Has`...
pub(crate) fn method(e: &mut Engine, recv: &Value, name: &str, a: Vec<Value>) -> FnResult {
    match (recv, name) {
        (Value::ApiVersions(set), "Has") => {
            want(name, &a, 1)?;
            Ok(Value::Bool(set.contains(s(&a[0])?.as_ref())))
        }
        (Value::Files(f), "Get" | "GetBytes") => {
            want(name, &a, 1)?;
            let path = s(&a[0])?;
            let text = f
                .files
                .get(path.as_ref())
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            e.charge(text.len())?;
            Ok(Value::str(text))
        }
        (Value::Files(f), "Lines") => {
            want(name, &a, 1)?;
            let path = s(&a[0])?;
            let text = f
                .files
                .get(path.as_ref())
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            if text.is_empty() {
                return Ok(Value::list(Vec::new()));
            }
            Ok(Value::list(text.split('\n').map(Value::str).collect()))
        }
        (Value::Files(f), "Glob") => {
            want(name, &a, 1)?;
            let pattern = s(&a[0])?;
            let mut out = crate::value::FilesObj::default();
            for (k, v) in &f.files {
                if crate::glob::matches(&pattern, k) {
                    out.files.insert(k.clone(), v.clone());
                }
            }
            Ok(Value::Files(Rc::new(out)))
        }
        (Value::Files(f), "AsConfig" | "AsSecrets") => {
            want(name, &a, 0)?;
            let mut m = BTreeMap::new();
            for (k, v) in &f.files {
                let base = k.rsplit('/').next().unwrap_or(k).to_string();
                let text = if name == "AsSecrets" {
                    base64::engine::general_purpose::STANDARD.encode(v)
                } else {
                    String::from_utf8_lossy(v).into_owned()
                };
                m.insert(base, Value::str(text));
            }
            let y = yaml::to_yaml(&Value::map(m))?;
            charge_str(e, y.trim_end_matches('\n').to_string())
        }
        (Value::Files(_), _) | (Value::ApiVersions(_), _) => {
            Err(format!("can't evaluate field {name} in type {}", recv.type_name()).into())
        }
        _ => Err(format!("{name} is not a method of {}", recv.type_name()).into()),
    }
}
