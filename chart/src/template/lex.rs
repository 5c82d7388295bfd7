//! Splits template text into text runs and actions, and actions into tokens (Go text/template's lexer).

use std::rc::Rc;

/// A 1-based line and column in a template's source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// One token inside an action.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    /// `.name` (one element of a field chain).
    Field(String),
    /// `$` or `$name`.
    Var(String),
    Dot,
    Str(Rc<str>),
    Char(i64),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil,
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
}

/// A token, its position, and whether whitespace preceded it (which separates arguments).
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    pub pos: Pos,
    pub space_before: bool,
}

/// A piece of a template: literal text or one `{{ ... }}` action (comments are dropped).
#[derive(Debug)]
pub(crate) enum Segment {
    Text(String),
    Action { tokens: Vec<Token>, pos: Pos },
}

/// A lexing error: position and message.
pub(crate) type LexError = (Pos, String);

struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(src: &str) -> LineIndex {
        let mut starts = vec![0];
        for (i, b) in src.bytes().enumerate() {
            if b == b'\n' {
                starts.push(i + 1);
            }
        }
        LineIndex { starts }
    }

    fn pos(&self, src: &str, offset: usize) -> Pos {
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.starts[line];
        let col = src
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(0)
            + 1;
        Pos {
            line: line as u32 + 1,
            col: col as u32,
        }
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Splits `src` into segments, applying the `{{-` and `-}}` trim markers.
pub(crate) fn segments(src: &str) -> Result<Vec<Segment>, LexError> {
    let lines = LineIndex::new(src);
    let mut out: Vec<Segment> = Vec::new();
    let mut rest_start = 0usize;
    let mut trim_next = false;
    loop {
        let Some(rel) = src[rest_start..].find("{{") else {
            let mut text = &src[rest_start..];
            if trim_next {
                text = text.trim_start_matches(is_space);
            }
            if !text.is_empty() {
                out.push(Segment::Text(text.to_string()));
            }
            return Ok(out);
        };
        let open = rest_start + rel;
        let mut inner = open + 2;
        let bytes = src.as_bytes();
        let trim_left = bytes.get(inner) == Some(&b'-')
            && bytes
                .get(inner + 1)
                .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
        let mut text = &src[rest_start..open];
        if trim_next {
            text = text.trim_start_matches(is_space);
        }
        if trim_left {
            text = text.trim_end_matches(is_space);
            inner += 2;
        }
        if !text.is_empty() {
            out.push(Segment::Text(text.to_string()));
        }
        let pos = lines.pos(src, open);
        // Comments: {{/* ... */}} with optional trim markers around them.
        let after_space =
            inner + src[inner..].len() - src[inner..].trim_start_matches(is_space).len();
        if src[after_space..].starts_with("/*") {
            let Some(end_rel) = src[after_space + 2..].find("*/") else {
                return Err((pos, "unclosed comment".into()));
            };
            let mut after = after_space + 2 + end_rel + 2;
            let tail = &src[after..];
            let trimmed = tail.trim_start_matches(is_space);
            if trimmed.starts_with("-}}") && trimmed.len() < tail.len() {
                after += tail.len() - trimmed.len() + 3;
                trim_next = true;
            } else if tail.starts_with("}}") {
                after += 2;
                trim_next = false;
            } else {
                return Err((pos, "comment ends before closing delimiter".into()));
            }
            rest_start = after;
            continue;
        }
        let (tokens, end, trim_right) = lex_action(src, inner, &lines)?;
        out.push(Segment::Action { tokens, pos });
        trim_next = trim_right;
        rest_start = end;
    }
}

/// Lexes one action starting at `start` (just after `{{` and any trim marker).
/// Returns its tokens, the offset after `}}`, and whether it ended with `-}}`.
fn lex_action(
    src: &str,
    start: usize,
    lines: &LineIndex,
) -> Result<(Vec<Token>, usize, bool), LexError> {
    let mut tokens = Vec::new();
    let mut i = start;
    let bytes = src.as_bytes();
    let mut space_before = true;
    let mut paren_depth = 0i32;
    loop {
        let Some(c) = src[i..].chars().next() else {
            return Err((lines.pos(src, start), "unclosed action".into()));
        };
        let pos = lines.pos(src, i);
        if is_space(c) {
            // ` -}}` closes the action and trims what follows.
            let j = i + src[i..].len() - src[i..].trim_start_matches(is_space).len();
            if src[j..].starts_with("-}}") {
                return Ok((tokens, j + 3, true));
            }
            i = j;
            space_before = true;
            continue;
        }
        if src[i..].starts_with("}}") {
            if paren_depth > 0 {
                return Err((pos, "unclosed left paren".into()));
            }
            return Ok((tokens, i + 2, false));
        }
        let push = |tok: Tok, tokens: &mut Vec<Token>| {
            tokens.push(Token {
                tok,
                pos,
                space_before,
            })
        };
        match c {
            '|' => {
                push(Tok::Pipe, &mut tokens);
                i += 1;
            }
            '(' => {
                paren_depth += 1;
                push(Tok::LParen, &mut tokens);
                i += 1;
            }
            ')' => {
                paren_depth -= 1;
                if paren_depth < 0 {
                    return Err((pos, "unexpected right paren".into()));
                }
                push(Tok::RParen, &mut tokens);
                i += 1;
            }
            ',' => {
                push(Tok::Comma, &mut tokens);
                i += 1;
            }
            ':' => {
                if bytes.get(i + 1) == Some(&b'=') {
                    push(Tok::Declare, &mut tokens);
                    i += 2;
                } else {
                    return Err((pos, "expected :=".into()));
                }
            }
            '=' => {
                push(Tok::Assign, &mut tokens);
                i += 1;
            }
            '"' => {
                let (s, end) = lex_quoted(src, i).map_err(|m| (pos, m))?;
                push(Tok::Str(s.into()), &mut tokens);
                i = end;
            }
            '`' => {
                let Some(end_rel) = src[i + 1..].find('`') else {
                    return Err((pos, "unterminated raw quoted string".into()));
                };
                push(Tok::Str(src[i + 1..i + 1 + end_rel].into()), &mut tokens);
                i = i + 1 + end_rel + 1;
            }
            '\'' => {
                let (ch, end) = lex_char(src, i).map_err(|m| (pos, m))?;
                push(Tok::Char(ch), &mut tokens);
                i = end;
            }
            '$' => {
                let end = ident_end(src, i + 1);
                push(Tok::Var(src[i..end].to_string()), &mut tokens);
                i = end;
            }
            '.' => {
                if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    let (t, end) = lex_number(src, i).map_err(|m| (pos, m))?;
                    push(t, &mut tokens);
                    i = end;
                } else {
                    let end = ident_end(src, i + 1);
                    if end == i + 1 {
                        push(Tok::Dot, &mut tokens);
                    } else {
                        push(Tok::Field(src[i + 1..end].to_string()), &mut tokens);
                    }
                    i = end;
                }
            }
            '-' | '+' | '0'..='9' => {
                if !c.is_ascii_digit()
                    && !bytes
                        .get(i + 1)
                        .is_some_and(|b| b.is_ascii_digit() || *b == b'.')
                {
                    return Err((pos, format!("unexpected {c:?} in command")));
                }
                let (t, end) = lex_number(src, i).map_err(|m| (pos, m))?;
                push(t, &mut tokens);
                i = end;
            }
            c if c.is_alphabetic() || c == '_' => {
                let end = ident_end(src, i);
                let word = &src[i..end];
                let tok = match word {
                    "true" => Tok::Bool(true),
                    "false" => Tok::Bool(false),
                    "nil" => Tok::Nil,
                    _ => Tok::Ident(word.to_string()),
                };
                push(tok, &mut tokens);
                i = end;
            }
            other => return Err((pos, format!("unexpected {other:?} in command"))),
        }
        space_before = false;
    }
}

fn ident_end(src: &str, start: usize) -> usize {
    let mut end = start;
    for (off, c) in src[start..].char_indices() {
        if c.is_alphanumeric() || c == '_' {
            end = start + off + c.len_utf8();
        } else {
            break;
        }
    }
    end
}

fn lex_number(src: &str, start: usize) -> Result<(Tok, usize), String> {
    let mut end = start;
    for (off, c) in src[start..].char_indices() {
        let prev = src[..start + off].chars().last();
        let ok = c.is_ascii_alphanumeric()
            || c == '.'
            || c == '_'
            || ((c == '-' || c == '+')
                && (off == 0 || matches!(prev, Some('e' | 'E' | 'p' | 'P'))));
        if ok {
            end = start + off + c.len_utf8();
        } else {
            break;
        }
    }
    let text = &src[start..end];
    parse_number(text)
        .map(|t| (t, end))
        .ok_or_else(|| format!("bad number syntax: {text:?}"))
}

fn parse_number(text: &str) -> Option<Tok> {
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let lower = body.to_ascii_lowercase();
    let radix = if lower.starts_with("0x") {
        Some((16, &body[2..]))
    } else if lower.starts_with("0o") {
        Some((8, &body[2..]))
    } else if lower.starts_with("0b") {
        Some((2, &body[2..]))
    } else if body.len() > 1 && body.starts_with('0') && body.bytes().all(|b| b.is_ascii_digit()) {
        Some((8, &body[1..]))
    } else {
        None
    };
    if let Some((r, digits)) = radix {
        let v = i64::from_str_radix(digits, r).ok()?;
        return Some(Tok::Int(if neg { -v } else { v }));
    }
    if body.bytes().all(|b| b.is_ascii_digit()) && !body.is_empty() {
        let v: i64 = body.parse().ok()?;
        return Some(Tok::Int(if neg { -v } else { v }));
    }
    let f: f64 = body.parse().ok()?;
    let f = if neg { -f } else { f };
    // Go treats an integral constant such as 1e3 as an int.
    if f.fract() == 0.0 && f.abs() < 9.0e15 && !body.contains('.') {
        return Some(Tok::Int(f as i64));
    }
    Some(Tok::Float(f))
}

/// Decodes a Go double-quoted string starting at `start`; returns it and the offset after it.
pub(crate) fn lex_quoted(src: &str, start: usize) -> Result<(String, usize), String> {
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((off, c)) = chars.next() {
        match c {
            '"' => return Ok((out, start + 1 + off + 1)),
            '\n' => return Err("unterminated quoted string".into()),
            '\\' => {
                let Some((_, e)) = chars.next() else {
                    break;
                };
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'a' => out.push('\x07'),
                    'b' => out.push('\x08'),
                    'f' => out.push('\x0c'),
                    'v' => out.push('\x0b'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    '\'' => out.push('\''),
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut code = 0u32;
                        for _ in 0..n {
                            let d = chars
                                .next()
                                .and_then(|(_, d)| d.to_digit(16))
                                .ok_or("invalid syntax in escape")?;
                            code = code * 16 + d;
                        }
                        out.push(char::from_u32(code).ok_or("invalid unicode escape")?);
                    }
                    '0'..='7' => {
                        let mut code = e.to_digit(8).unwrap_or(0);
                        for _ in 0..2 {
                            let d = chars
                                .next()
                                .and_then(|(_, d)| d.to_digit(8))
                                .ok_or("invalid syntax in octal escape")?;
                            code = code * 8 + d;
                        }
                        out.push(char::from_u32(code).ok_or("invalid octal escape")?);
                    }
                    _ => return Err(format!("unknown escape sequence \\{e}")),
                }
            }
            c => out.push(c),
        }
    }
    Err("unterminated quoted string".into())
}

fn lex_char(src: &str, start: usize) -> Result<(i64, usize), String> {
    let body = &src[start + 1..];
    let mut escaped = false;
    let mut close = None;
    for (i, c) in body.char_indices() {
        if c == '\n' {
            break;
        }
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '\'' {
            close = Some(i);
            break;
        }
    }
    let close = close.ok_or("unterminated character constant")?;
    let inner = &body[..close];
    let decoded = if inner.starts_with('\\') {
        let quoted = format!("\"{}\"", inner.replace("\\'", "'"));
        lex_quoted(&quoted, 0)?.0
    } else {
        inner.to_string()
    };
    let mut it = decoded.chars();
    match (it.next(), it.next()) {
        (Some(c), None) => Ok((c as i64, start + 1 + close + 1)),
        _ => Err(format!("malformed character constant: '{inner}'")),
    }
}
