//! Parses a template's segments into a tree of nodes and its `define`d templates (Go text/template's parser).

use std::rc::Rc;

use super::lex::{Pos, Segment, Tok, Token, segments};

/// Deepest nesting of blocks and parentheses a template may have.
pub(crate) const MAX_PARSE_DEPTH: usize = 100;

pub(crate) type List = Vec<Node>;

#[derive(Debug)]
pub(crate) enum Node {
    Text(Rc<str>),
    Action(Pipe),
    If {
        pipe: Pipe,
        then: List,
        otherwise: Option<List>,
    },
    With {
        pipe: Pipe,
        then: List,
        otherwise: Option<List>,
    },
    Range {
        pipe: Pipe,
        body: List,
        otherwise: Option<List>,
    },
    Template {
        pos: Pos,
        name: String,
        pipe: Option<Pipe>,
    },
    Break,
    Continue,
}

#[derive(Debug)]
pub(crate) struct Pipe {
    pub pos: Pos,
    pub decl: Vec<String>,
    /// `=` (assign to existing variables) rather than `:=`.
    pub is_assign: bool,
    pub cmds: Vec<Cmd>,
}

#[derive(Debug)]
pub(crate) struct Cmd {
    pub pos: Pos,
    pub args: Vec<Arg>,
}

#[derive(Debug)]
pub(crate) enum Arg {
    Dot,
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    /// `.a.b` on dot.
    Field(Vec<String>),
    /// `$x` (or `$`).
    Var(String),
    /// A function name.
    Func(String, Pos),
    /// `(pipeline)`.
    Sub(Box<Pipe>),
    /// Fields on another term: `$x.a.b`, `(pipeline).a`.
    Chain(Box<Arg>, Vec<String>),
}

/// A parsed template file: its body and the templates it defines.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub body: List,
    pub defines: Vec<(String, List)>,
}

pub(crate) type ParseError = (Pos, String);

/// Parses template source. `is_func` says whether a name is a known function.
pub(crate) fn parse(src: &str, is_func: &dyn Fn(&str) -> bool) -> Result<Parsed, ParseError> {
    let segs = segments(src)?;
    let mut p = Parser {
        segs,
        i: 0,
        defines: Vec::new(),
        is_func,
        depth: 0,
    };
    let (body, end) = p.list(true)?;
    if let Some((pos, kw, _)) = end {
        return Err((pos, format!("unexpected {{{{{kw}}}}}")));
    }
    Ok(Parsed {
        body,
        defines: p.defines,
    })
}

struct Parser<'a> {
    segs: Vec<Segment>,
    i: usize,
    defines: Vec<(String, List)>,
    is_func: &'a dyn Fn(&str) -> bool,
    depth: usize,
}

/// How a list ended: `end` or `else` (with the tokens after the keyword).
type Ending = Option<(Pos, &'static str, Vec<Token>)>;

impl Parser<'_> {
    fn list(&mut self, top: bool) -> Result<(List, Ending), ParseError> {
        let mut list = Vec::new();
        while self.i < self.segs.len() {
            let seg = std::mem::replace(&mut self.segs[self.i], Segment::Text(String::new()));
            self.i += 1;
            match seg {
                Segment::Text(t) => list.push(Node::Text(t.into())),
                Segment::Action { tokens, pos } => {
                    let mut toks = tokens.into_iter();
                    let first = toks.next();
                    let rest: Vec<Token> = toks.collect();
                    let kw = match &first {
                        Some(Token {
                            tok: Tok::Ident(w), ..
                        }) => w.as_str(),
                        None => return Err((pos, "missing value for command".into())),
                        _ => "",
                    };
                    match kw {
                        "end" => {
                            if !rest.is_empty() {
                                return Err((pos, "unexpected tokens after end".into()));
                            }
                            return Ok((list, Some((pos, "end", rest))));
                        }
                        "else" => return Ok((list, Some((pos, "else", rest)))),
                        "if" | "with" | "range" => {
                            let node = self.control(kw, pos, rest)?;
                            list.push(node);
                        }
                        "define" | "block" => {
                            if kw == "define" && !top {
                                return Err((pos, "unexpected define inside a block".into()));
                            }
                            let (name, pipe) = self.template_head(pos, rest, kw == "block")?;
                            self.enter(pos)?;
                            let (body, end) = self.list(false)?;
                            self.depth -= 1;
                            expect_end(pos, kw, end)?;
                            self.defines.push((name.clone(), body));
                            if kw == "block" {
                                list.push(Node::Template { pos, name, pipe });
                            }
                        }
                        "template" => {
                            let (name, pipe) = self.template_head(pos, rest, false)?;
                            list.push(Node::Template { pos, name, pipe });
                        }
                        "break" | "continue" => {
                            if !rest.is_empty() {
                                return Err((pos, format!("unexpected tokens after {kw}")));
                            }
                            list.push(if kw == "break" {
                                Node::Break
                            } else {
                                Node::Continue
                            });
                        }
                        _ => {
                            let mut all = Vec::with_capacity(rest.len() + 1);
                            all.extend(first);
                            all.extend(rest);
                            let pipe = self.pipeline(pos, all, true)?;
                            list.push(Node::Action(pipe));
                        }
                    }
                }
            }
        }
        Ok((list, None))
    }

    fn enter(&mut self, pos: Pos) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_PARSE_DEPTH {
            return Err((
                pos,
                format!("template nested deeper than {MAX_PARSE_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    /// `if`/`with`/`range` with their else branches (`else if`, `else with` chains share one end).
    fn control(&mut self, kw: &str, pos: Pos, rest: Vec<Token>) -> Result<Node, ParseError> {
        self.enter(pos)?;
        let pipe = self.pipeline(pos, rest, kw == "range")?;
        if kw != "range" && pipe.decl.len() > 1 {
            return Err((pos, "too many declarations".into()));
        }
        let (then, end) = self.list(false)?;
        let otherwise = match end {
            None => return Err((pos, format!("unexpected EOF: {kw} has no end"))),
            Some((_, "end", _)) => None,
            Some((epos, _, else_rest)) => {
                if else_rest.is_empty() {
                    let (other, end2) = self.list(false)?;
                    expect_end(epos, "else", end2)?;
                    Some(other)
                } else {
                    let chained = match &else_rest[0].tok {
                        Tok::Ident(w) if w == "if" || (w == "with" && kw == "with") => w.clone(),
                        _ => return Err((epos, "unexpected tokens after else".into())),
                    };
                    let inner_rest = else_rest.into_iter().skip(1).collect();
                    Some(vec![self.control(&chained, epos, inner_rest)?])
                }
            }
        };
        self.depth -= 1;
        Ok(match kw {
            "if" => Node::If {
                pipe,
                then,
                otherwise,
            },
            "with" => Node::With {
                pipe,
                then,
                otherwise,
            },
            _ => Node::Range {
                pipe,
                body: then,
                otherwise,
            },
        })
    }

    fn template_head(
        &mut self,
        pos: Pos,
        rest: Vec<Token>,
        pipe_required: bool,
    ) -> Result<(String, Option<Pipe>), ParseError> {
        let mut it = rest.into_iter();
        let name = match it.next() {
            Some(Token {
                tok: Tok::Str(s), ..
            }) => s.to_string(),
            _ => return Err((pos, "expected a quoted template name".into())),
        };
        let rest: Vec<Token> = it.collect();
        if rest.is_empty() {
            if pipe_required {
                return Err((pos, "missing pipeline in block clause".into()));
            }
            return Ok((name, None));
        }
        Ok((name, Some(self.pipeline(pos, rest, false)?)))
    }

    fn pipeline(
        &mut self,
        pos: Pos,
        toks: Vec<Token>,
        allow_decl: bool,
    ) -> Result<Pipe, ParseError> {
        let mut decl = Vec::new();
        let mut is_assign = false;
        let mut start = 0;
        // Declarations: $x := / $x = / $i, $v :=
        {
            let mut j = 0;
            let mut names = Vec::new();
            while let Some(Tok::Var(v)) = toks.get(j).map(|t| &t.tok) {
                names.push(v.clone());
                j += 1;
                match toks.get(j).map(|t| &t.tok) {
                    Some(Tok::Comma) if names.len() == 1 => j += 1,
                    Some(Tok::Declare) | Some(Tok::Assign) => {
                        is_assign = matches!(toks[j].tok, Tok::Assign);
                        decl = names.clone();
                        start = j + 1;
                        break;
                    }
                    _ => break,
                }
            }
            if decl.len() > 2 || (decl.len() == 2 && !allow_decl) {
                return Err((pos, "too many declarations".into()));
            }
        }
        let mut cmds = Vec::new();
        let mut cur: Vec<Token> = Vec::new();
        let mut depth = 0;
        for t in toks.into_iter().skip(start) {
            match t.tok {
                Tok::LParen => depth += 1,
                Tok::RParen => depth -= 1,
                Tok::Pipe if depth == 0 => {
                    cmds.push(self.command(pos, std::mem::take(&mut cur))?);
                    continue;
                }
                _ => {}
            }
            cur.push(t);
        }
        cmds.push(self.command(pos, cur)?);
        Ok(Pipe {
            pos,
            decl,
            is_assign,
            cmds,
        })
    }

    fn command(&mut self, pos: Pos, toks: Vec<Token>) -> Result<Cmd, ParseError> {
        if toks.is_empty() {
            return Err((pos, "missing value for command".into()));
        }
        let cpos = toks[0].pos;
        let mut args = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            if i > 0 && !toks[i].space_before && !matches!(toks[i].tok, Tok::LParen) {
                return Err((toks[i].pos, "missing space between arguments".into()));
            }
            let (arg, next) = self.operand(&toks, i)?;
            args.push(arg);
            i = next;
        }
        Ok(Cmd { pos: cpos, args })
    }

    /// A term and the field chain glued to it.
    fn operand(&mut self, toks: &[Token], i: usize) -> Result<(Arg, usize), ParseError> {
        let t = &toks[i];
        let mut next = i + 1;
        let term = match &t.tok {
            Tok::Dot => Arg::Dot,
            Tok::Nil => Arg::Nil,
            Tok::Bool(b) => Arg::Bool(*b),
            Tok::Int(n) | Tok::Char(n) => Arg::Int(*n),
            Tok::Float(f) => Arg::Float(*f),
            Tok::Str(s) => Arg::Str(s.clone()),
            Tok::Var(v) => Arg::Var(v.clone()),
            Tok::Field(f) => {
                let mut fields = vec![f.clone()];
                while let Some(Token {
                    tok: Tok::Field(f),
                    space_before: false,
                    ..
                }) = toks.get(next)
                {
                    fields.push(f.clone());
                    next += 1;
                }
                return Ok((Arg::Field(fields), next));
            }
            Tok::Ident(name) => {
                if matches!(
                    name.as_str(),
                    "if" | "else"
                        | "end"
                        | "range"
                        | "with"
                        | "define"
                        | "template"
                        | "block"
                        | "break"
                        | "continue"
                ) {
                    return Err((t.pos, format!("unexpected keyword {name:?} in command")));
                }
                if !(self.is_func)(name) {
                    return Err((
                        t.pos,
                        format!("function {name:?} is not supported by cutover's chart renderer"),
                    ));
                }
                Arg::Func(name.clone(), t.pos)
            }
            Tok::LParen => {
                self.enter(t.pos)?;
                let mut depth = 1;
                let mut j = next;
                while j < toks.len() {
                    match toks[j].tok {
                        Tok::LParen => depth += 1,
                        Tok::RParen => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                if j >= toks.len() {
                    return Err((t.pos, "unclosed left paren".into()));
                }
                let inner = toks[next..j].to_vec();
                let pipe = self.pipeline(t.pos, inner, false)?;
                self.depth -= 1;
                next = j + 1;
                Arg::Sub(Box::new(pipe))
            }
            other => return Err((t.pos, format!("unexpected {} in operand", describe(other)))),
        };
        let mut fields = Vec::new();
        while let Some(Token {
            tok: Tok::Field(f),
            space_before: false,
            ..
        }) = toks.get(next)
        {
            fields.push(f.clone());
            next += 1;
        }
        if fields.is_empty() {
            return Ok((term, next));
        }
        if matches!(
            term,
            Arg::Func(..) | Arg::Nil | Arg::Bool(_) | Arg::Int(_) | Arg::Float(_) | Arg::Str(_)
        ) {
            return Err((t.pos, "unexpected . after term".into()));
        }
        Ok((Arg::Chain(Box::new(term), fields), next))
    }
}

fn describe(t: &Tok) -> &'static str {
    match t {
        Tok::Pipe => "\"|\"",
        Tok::RParen => "\")\"",
        Tok::Declare => "\":=\"",
        Tok::Assign => "\"=\"",
        Tok::Comma => "\",\"",
        _ => "token",
    }
}

fn expect_end(pos: Pos, what: &str, end: Ending) -> Result<(), ParseError> {
    match end {
        Some((_, "end", _)) => Ok(()),
        Some((p, kw, _)) => Err((p, format!("unexpected {{{{{kw}}}}} in {what}"))),
        None => Err((pos, format!("unexpected EOF: {what} has no end"))),
    }
}
