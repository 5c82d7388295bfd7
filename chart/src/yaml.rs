//! YAML and JSON in and out as Helm does it: toYaml/toJson output, and parsing where every
//! number becomes a float64 (sigs.k8s.io/yaml and encoding/json semantics).

use std::fmt::Write as _;

use crate::value::{MAX_VALUE_DEPTH, Value, format_float_g, format_float_json, too_deep};

/// Largest YAML or JSON text parsed at once.
pub(crate) const MAX_YAML_BYTES: usize = 16 << 20;

/// Parses YAML (or JSON, when `json`) into a value whose numbers are all float64, as Helm's
/// values, `fromYaml` and `fromJson` see them.
pub(crate) fn parse_helm(text: &str, json: bool) -> Result<Value, String> {
    let v = parse_json_value(text, json)?;
    Ok(Value::from_json(&floats(v)))
}

/// Parses YAML (or JSON) into JSON, integers kept as integers.
pub(crate) fn parse_json_value(text: &str, json: bool) -> Result<serde_json::Value, String> {
    if text.len() > MAX_YAML_BYTES {
        return Err(format!("document larger than {MAX_YAML_BYTES} bytes"));
    }
    if json {
        return serde_json::from_str(text).map_err(|e| e.to_string());
    }
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Null);
    }
    serde_saphyr::from_str::<serde_json::Value>(text).map_err(|e| first_line(&e.to_string()))
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// Turns every number into a float, as decoding into `interface{}` does in Go.
pub(crate) fn floats(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Number(n) if !n.is_f64() => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        serde_json::Value::Array(a) => {
            serde_json::Value::Array(a.into_iter().map(floats).collect())
        }
        serde_json::Value::Object(o) => {
            serde_json::Value::Object(o.into_iter().map(|(k, v)| (k, floats(v))).collect())
        }
        other => other,
    }
}

/// Helm's `toYaml` (sigs.k8s.io/yaml): block style, keys sorted, sequences not indented under
/// their key, strings quoted only when needed. Ends with a newline.
pub(crate) fn to_yaml(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    match v {
        Value::Map(m) if !m.borrow().is_empty() => write_map(&mut out, v, 0, 0)?,
        Value::List(l) if !l.is_empty() => write_list(&mut out, v, 0, 0)?,
        Value::Files(_) | Value::ApiVersions(_) => {
            let json = v.to_json()?;
            return to_yaml(&Value::from_json(&json));
        }
        other => {
            out.push_str(&scalar(other, 0));
            out.push('\n');
        }
    }
    Ok(out)
}

fn write_map(out: &mut String, v: &Value, indent: usize, depth: usize) -> Result<(), String> {
    if depth > MAX_VALUE_DEPTH {
        return Err(too_deep());
    }
    let Value::Map(m) = v else { return Ok(()) };
    for (k, x) in m.borrow().iter() {
        pad(out, indent);
        out.push_str(&key(k));
        out.push(':');
        write_child(out, x, indent, depth, true)?;
    }
    Ok(())
}

fn write_list(out: &mut String, v: &Value, indent: usize, depth: usize) -> Result<(), String> {
    if depth > MAX_VALUE_DEPTH {
        return Err(too_deep());
    }
    let Value::List(l) = v else { return Ok(()) };
    for x in l.iter() {
        pad(out, indent);
        out.push('-');
        match x {
            Value::Map(m) if !m.borrow().is_empty() => {
                // The first key goes on the dash's line.
                let mut first = true;
                for (k, y) in m.borrow().iter() {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        pad(out, indent + 2);
                    }
                    out.push_str(&key(k));
                    out.push(':');
                    write_child(out, y, indent + 2, depth + 1, true)?;
                }
            }
            Value::List(inner) if !inner.is_empty() => {
                out.push(' ');
                let mut nested = String::new();
                write_list(&mut nested, x, indent + 2, depth + 1)?;
                out.push_str(nested.trim_start_matches(' '));
            }
            other => write_child(out, other, indent, depth, false)?,
        }
    }
    Ok(())
}

/// Writes what follows `key:` or `-`.
fn write_child(
    out: &mut String,
    x: &Value,
    indent: usize,
    depth: usize,
    in_map: bool,
) -> Result<(), String> {
    match x {
        Value::Map(m) if !m.borrow().is_empty() => {
            out.push('\n');
            write_map(out, x, indent + 2, depth + 1)
        }
        Value::List(l) if !l.is_empty() => {
            out.push('\n');
            // yaml.v2 style: a sequence under a key is not indented.
            write_list(out, x, if in_map { indent } else { indent + 2 }, depth + 1)
        }
        Value::Files(_) | Value::ApiVersions(_) => {
            let converted = Value::from_json(&x.to_json()?);
            write_child(out, &converted, indent, depth + 1, in_map)
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other, indent + 2));
            out.push('\n');
            Ok(())
        }
    }
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn key(k: &str) -> String {
    if plain_ok(k) {
        k.to_string()
    } else {
        double_quoted(k)
    }
}

fn scalar(v: &Value, indent: usize) -> String {
    match v {
        Value::Nil => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => {
            if f.is_nan() {
                ".nan".into()
            } else if f.is_infinite() {
                if *f > 0.0 {
                    ".inf".into()
                } else {
                    "-.inf".into()
                }
            } else if f.fract() == 0.0 && f.abs() < 1e21 {
                format_float_json(*f)
            } else {
                format_float_g(*f)
            }
        }
        Value::Str(s) => string(s, indent),
        Value::Map(_) => "{}".into(),
        Value::List(_) => "[]".into(),
        Value::Files(_) | Value::ApiVersions(_) => "{}".into(),
    }
}

fn string(s: &str, indent: usize) -> String {
    if s.contains('\n') && literal_ok(s) {
        let chomp = if s.ends_with("\n\n") {
            "+"
        } else if s.ends_with('\n') {
            ""
        } else {
            "-"
        };
        let body = s.strip_suffix('\n').unwrap_or(s);
        let mut out = format!("|{chomp}");
        for line in body.split('\n') {
            out.push('\n');
            if !line.is_empty() {
                pad(&mut out, indent);
                out.push_str(line);
            }
        }
        return out;
    }
    if plain_ok(s) {
        s.to_string()
    } else {
        double_quoted(s)
    }
}

fn literal_ok(s: &str) -> bool {
    !s.starts_with([' ', '\t', '\n'])
        && !s
            .chars()
            .any(|c| (c.is_control() && c != '\n') || c == '\u{feff}')
        && !s.split('\n').any(|l| l.ends_with([' ', '\t']))
}

/// Whether a string can be written as a plain YAML scalar and read back as the same string.
fn plain_ok(s: &str) -> bool {
    if s.is_empty() || s.trim() != s || s.chars().any(|c| c.is_control() || c == '\u{feff}') {
        return false;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.contains('\t') {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true"
            | "false"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "y"
            | "n"
            | "null"
            | "~"
            | "<<"
            | "="
            | ".inf"
            | "-.inf"
            | "+.inf"
            | ".nan"
    ) {
        return false;
    }
    // Anything that may read as a number or a timestamp is quoted.
    let looks_numeric = first.is_ascii_digit()
        || ((first == '+' || first == '.') && s.chars().nth(1).is_some_and(|c| c.is_ascii_digit()));
    !looks_numeric
}

fn double_quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Helm's `toJson` (encoding/json): compact or indented by two spaces, keys sorted, `<>&`
/// escaped when `html_escape`, float64 integers written without a fraction.
pub(crate) fn to_json(v: &Value, pretty: bool, html_escape: bool) -> Result<String, String> {
    let mut out = String::new();
    write_json(&mut out, v, pretty, html_escape, 0)?;
    Ok(out)
}

fn write_json(
    out: &mut String,
    v: &Value,
    pretty: bool,
    esc: bool,
    depth: usize,
) -> Result<(), String> {
    if depth > MAX_VALUE_DEPTH {
        return Err(too_deep());
    }
    let nl = |out: &mut String, d: usize| {
        if pretty {
            out.push('\n');
            pad(out, d * 2);
        }
    };
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(format!("json: unsupported value: {}", format_float_g(*f)));
            }
            out.push_str(&format_float_json(*f));
        }
        Value::Str(s) => json_string(out, s, esc),
        Value::List(l) => {
            out.push('[');
            for (n, x) in l.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                nl(out, depth + 1);
                write_json(out, x, pretty, esc, depth + 1)?;
            }
            if !l.is_empty() {
                nl(out, depth);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            let m = m.borrow();
            for (n, (k, x)) in m.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                nl(out, depth + 1);
                json_string(out, k, esc);
                out.push(':');
                if pretty {
                    out.push(' ');
                }
                write_json(out, x, pretty, esc, depth + 1)?;
            }
            if !m.is_empty() {
                nl(out, depth);
            }
            out.push('}');
        }
        Value::Files(_) | Value::ApiVersions(_) => {
            let converted = Value::from_json(&v.to_json()?);
            write_json(out, &converted, pretty, esc, depth + 1)?;
        }
    }
    Ok(())
}

fn json_string(out: &mut String, s: &str, esc: bool) {
    let quoted = serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    if esc {
        for c in quoted.chars() {
            match c {
                '<' => out.push_str("\\u003c"),
                '>' => out.push_str("\\u003e"),
                '&' => out.push_str("\\u0026"),
                '\u{2028}' => out.push_str("\\u2028"),
                '\u{2029}' => out.push_str("\\u2029"),
                c => out.push(c),
            }
        }
    } else {
        out.push_str(&quoted);
    }
}
