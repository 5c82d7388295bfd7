//! Helm's `--set` syntax: `a.b=c,d[0].e=f,list={x,y}`, `\` escaping, Helm's type inference;
//! `--set-string` (everything a string) and `--set-file` (values read by the caller).

use serde_json::{Map, Value};

/// Deepest `a.b.c...` nesting accepted, as Helm.
pub const MAX_NESTED_NAME_LEVEL: usize = 30;
/// Largest list index accepted, as Helm.
pub const MAX_INDEX: usize = 65536;

/// A `--set` expression that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("failed parsing --set data: {0}")]
pub struct StrvalsError(pub String);

/// How the text after `=` becomes a value.
enum Reader<'a> {
    /// `--set`: `true`/`false` are bools, `null` is null, integers (not starting with 0) int64.
    Typed,
    /// `--set-string`: always a string.
    String,
    /// `--set-file`: the text is a path; the callback returns the file's contents.
    File(&'a mut dyn FnMut(&str) -> Result<String, String>),
}

impl Reader<'_> {
    fn read(&mut self, rs: &[char]) -> Result<Value, StrvalsError> {
        let text: String = rs.iter().collect();
        match self {
            Reader::Typed => Ok(typed_value(&text)),
            Reader::String => Ok(Value::String(text)),
            Reader::File(f) => f(&text).map(Value::String).map_err(StrvalsError),
        }
    }
}

/// Helm's typedVal.
fn typed_value(v: &str) -> Value {
    if v.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if v.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if v.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    if v == "0" {
        return Value::from(0i64);
    }
    if !v.is_empty()
        && !v.starts_with('0')
        && let Ok(n) = v.parse::<i64>()
    {
        return Value::from(n);
    }
    Value::String(v.to_string())
}

/// Parses `--set` text into a new map.
pub fn parse_set(expr: &str) -> Result<Map<String, Value>, StrvalsError> {
    let mut m = Map::new();
    parse_set_into(expr, &mut m)?;
    Ok(m)
}

/// Parses `--set` text into `dest` (Helm's ParseInto: several `--set` flags apply in order).
pub fn parse_set_into(expr: &str, dest: &mut Map<String, Value>) -> Result<(), StrvalsError> {
    Parser::new(expr, Reader::Typed).parse(dest)
}

/// Parses `--set-string` text into `dest`: every value is a string.
pub fn parse_set_string_into(
    expr: &str,
    dest: &mut Map<String, Value>,
) -> Result<(), StrvalsError> {
    Parser::new(expr, Reader::String).parse(dest)
}

/// Parses `--set-file` text (`key=path,...`) into `dest`; `read_file` is called with each path
/// and returns the file's contents (or an error message), since this crate does no I/O.
pub fn parse_set_file_into(
    expr: &str,
    read_file: &mut dyn FnMut(&str) -> Result<String, String>,
    dest: &mut Map<String, Value>,
) -> Result<(), StrvalsError> {
    Parser::new(expr, Reader::File(read_file)).parse(dest)
}

struct Parser<'a> {
    s: Vec<char>,
    i: usize,
    reader: Reader<'a>,
}

/// Why reading stopped.
enum Stop {
    Rune(char),
    Eof,
}

/// A step's outcome: Ok(true) means the input ended (Go's io.EOF).
type Step = Result<bool, StrvalsError>;

fn err<T>(m: String) -> Result<T, StrvalsError> {
    Err(StrvalsError(m))
}

impl<'a> Parser<'a> {
    fn new(expr: &str, reader: Reader<'a>) -> Parser<'a> {
        Parser {
            s: expr.chars().collect(),
            i: 0,
            reader,
        }
    }

    fn parse(&mut self, dest: &mut Map<String, Value>) -> Result<(), StrvalsError> {
        loop {
            if self.i >= self.s.len() {
                return Ok(());
            }
            if self.key(dest, 0)? {
                return Ok(());
            }
        }
    }

    fn runes_until(&mut self, stop: &[char]) -> (Vec<char>, Stop) {
        let mut out = Vec::new();
        while self.i < self.s.len() {
            let c = self.s[self.i];
            self.i += 1;
            if c == '\\' {
                if self.i < self.s.len() {
                    out.push(self.s[self.i]);
                    self.i += 1;
                }
                continue;
            }
            if stop.contains(&c) {
                return (out, Stop::Rune(c));
            }
            out.push(c);
        }
        (out, Stop::Eof)
    }

    fn key(&mut self, data: &mut Map<String, Value>, level: usize) -> Step {
        let (k, last) = self.runes_until(&['=', '[', ',', '.']);
        let key: String = k.iter().collect();
        match last {
            Stop::Eof => {
                if key.is_empty() {
                    return Ok(true);
                }
                err(format!("key {key:?} has no value"))
            }
            Stop::Rune('[') => {
                let i = self.key_index()?;
                let list = match data.remove(&key) {
                    Some(Value::Array(l)) => l,
                    _ => Vec::new(),
                };
                let (list, eof) = self.list_item(list, i, level)?;
                set(data, &key, Value::Array(list));
                Ok(eof)
            }
            Stop::Rune('=') => {
                let (value, eof) = self.value()?;
                set(data, &key, value);
                Ok(eof)
            }
            Stop::Rune(',') => {
                set(data, &key, Value::String(String::new()));
                err(format!("key {key:?} has no value (cannot end with ,)"))
            }
            Stop::Rune(_) => {
                let level = level + 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return err(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    ));
                }
                let mut inner = match data.remove(&key) {
                    Some(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                let r = self.key(&mut inner, level);
                if matches!(r, Ok(false)) && inner.is_empty() {
                    return err(format!("key map {key:?} has no value"));
                }
                if !inner.is_empty() {
                    set(data, &key, Value::Object(inner));
                }
                r
            }
        }
    }

    /// The value after `=`: a `{a,b}` list or a scalar up to the next comma.
    fn value(&mut self) -> Result<(Value, bool), StrvalsError> {
        if self.i >= self.s.len() {
            return Ok((Value::String(String::new()), true));
        }
        if self.s[self.i] == '{' {
            self.i += 1;
            let mut list = Vec::new();
            loop {
                let (rs, last) = self.runes_until(&[',', '}']);
                match last {
                    Stop::Eof => return err("list must terminate with '}'".into()),
                    Stop::Rune('}') => {
                        if self.i < self.s.len() && self.s[self.i] == ',' {
                            self.i += 1;
                        }
                        list.push(self.reader.read(&rs)?);
                        return Ok((Value::Array(list), self.i >= self.s.len()));
                    }
                    Stop::Rune(_) => list.push(self.reader.read(&rs)?),
                }
            }
        }
        let (rs, last) = self.runes_until(&[',']);
        let v = self.reader.read(&rs)?;
        Ok((v, matches!(last, Stop::Eof)))
    }

    fn key_index(&mut self) -> Result<usize, StrvalsError> {
        let (rs, _) = self.runes_until(&[']']);
        let text: String = rs.iter().collect();
        let n: i64 = text
            .trim()
            .parse()
            .map_err(|_| StrvalsError(format!("invalid index {text:?}")))?;
        if n < 0 {
            return err(format!("negative {n} index not allowed"));
        }
        if n as u64 > MAX_INDEX as u64 {
            return err(format!(
                "index of {n} is greater than maximum supported index of {MAX_INDEX}"
            ));
        }
        Ok(n as usize)
    }

    fn list_item(
        &mut self,
        mut list: Vec<Value>,
        i: usize,
        level: usize,
    ) -> Result<(Vec<Value>, bool), StrvalsError> {
        let (k, last) = self.runes_until(&['[', '.', '=']);
        if !k.is_empty() {
            return err(format!(
                "unexpected data at end of array index: {:?}",
                k.iter().collect::<String>()
            ));
        }
        match last {
            Stop::Eof => err("unexpected end of --set text after an index".into()),
            Stop::Rune('=') => {
                let (v, eof) = self.value()?;
                set_index(&mut list, i, v)?;
                Ok((list, eof))
            }
            Stop::Rune('[') => {
                let next = self.key_index()?;
                let current = match list.get_mut(i).map(std::mem::take) {
                    Some(Value::Array(l)) => l,
                    _ => Vec::new(),
                };
                let (inner, eof) = self.list_item(current, next, level)?;
                set_index(&mut list, i, Value::Array(inner))?;
                Ok((list, eof))
            }
            Stop::Rune(_) => {
                let mut inner = match list.get_mut(i).map(std::mem::take) {
                    Some(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                let eof = self.key(&mut inner, level)?;
                set_index(&mut list, i, Value::Object(inner))?;
                Ok((list, eof))
            }
        }
    }
}

fn set(data: &mut Map<String, Value>, key: &str, v: Value) {
    if !key.is_empty() {
        data.insert(key.to_string(), v);
    }
}

fn set_index(list: &mut Vec<Value>, i: usize, v: Value) -> Result<(), StrvalsError> {
    if i > MAX_INDEX {
        return err(format!(
            "index of {i} is greater than maximum supported index of {MAX_INDEX}"
        ));
    }
    if list.len() <= i {
        list.resize(i + 1, Value::Null);
    }
    list[i] = v;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> Value {
        Value::Object(parse_set(s).unwrap())
    }

    #[test]
    fn helm_set_syntax() {
        assert_eq!(p("a.b=c"), json!({"a": {"b": "c"}}));
        assert_eq!(
            p("a=1,b=true,c=null,d=007,e=,f=1.5"),
            json!({"a": 1, "b": true, "c": null, "d": "007", "e": "", "f": "1.5"})
        );
        assert_eq!(p("a.b[0].c=d"), json!({"a": {"b": [{"c": "d"}]}}));
        assert_eq!(p("a[1]=x"), json!({"a": [null, "x"]}));
        assert_eq!(p("a={x,y,3},b=2"), json!({"a": ["x", "y", 3], "b": 2}));
        assert_eq!(p(r"a\.b=c"), json!({"a.b": "c"}));
        assert_eq!(p(r"a=x\,y"), json!({"a": "x,y"}));
        assert_eq!(p("a[0][1]=z"), json!({"a": [[null, "z"]]}));
        assert_eq!(
            p("name=value1,name2=value2"),
            json!({"name": "value1", "name2": "value2"})
        );
        assert_eq!(p("a=TRUE,b=0,c=-3"), json!({"a": true, "b": 0, "c": -3}));
        assert!(parse_set("a").is_err());
        assert!(parse_set("a,").is_err());
        assert!(parse_set("a={x").is_err());
        assert!(parse_set("a[-1]=x").is_err());
        assert!(parse_set("a[999999]=x").is_err());
    }

    #[test]
    fn set_into_existing_values_and_string_and_file() {
        let mut m = parse_set("a.b=1,a.c=2").unwrap();
        parse_set_into("a.b=3", &mut m).unwrap();
        assert_eq!(Value::Object(m.clone()), json!({"a": {"b": 3, "c": 2}}));
        parse_set_string_into("n=42,t=true", &mut m).unwrap();
        assert_eq!(m["n"], json!("42"));
        assert_eq!(m["t"], json!("true"));
        let mut read = |path: &str| {
            if path == "f.txt" {
                Ok("contents".to_string())
            } else {
                Err(format!("no file {path}"))
            }
        };
        parse_set_file_into("cfg=f.txt", &mut read, &mut m).unwrap();
        assert_eq!(m["cfg"], json!("contents"));
        assert!(parse_set_file_into("cfg=nope", &mut read, &mut m).is_err());
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}=1", vec!["a"; 40].join("."));
        assert!(parse_set(&deep).is_err());
    }
}
