//! Executes parsed templates with Go text/template semantics, within the work limits of [`Limits`].

use std::collections::HashMap;
use std::rc::Rc;

use super::lex::Pos;
use super::parse::{Arg, Cmd, List, Node, Pipe, parse};
use super::{ErrorKind, TemplateError};
use crate::funcs;
use crate::value::Value;

/// Bounds on the work one render may do; a hostile chart hits one of these instead of exhausting
/// the sandbox. Every limit reached is an error naming it.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Nesting of `include`, `template` and `tpl` calls (Go allows 100000; Helm stops one name
    /// at 1000). Default 64.
    pub max_template_depth: usize,
    /// Template steps (nodes executed, function calls, range iterations). Default 10 million.
    pub max_steps: u64,
    /// Bytes of output of one render, all manifests together. Default 16 MiB.
    pub max_output_bytes: usize,
    /// Bytes of any one string a function builds. Default 16 MiB.
    pub max_string_bytes: usize,
    /// Bytes written or built in total, discarded included (include, tpl, string functions).
    /// Default 256 MiB.
    pub max_total_bytes: u64,
    /// Nesting of blocks (`if`, `with`, `range`), parenthesised pipelines and templates together,
    /// which bounds the executor's stack use (about 1 KiB of stack each in a release build).
    /// Default 150.
    pub max_nesting: usize,
    /// Elements of a list built by `until`, `untilStep`, `repeat`-like functions. Default 1 million.
    pub max_list_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_template_depth: 64,
            max_steps: 10_000_000,
            max_output_bytes: 16 << 20,
            max_string_bytes: 16 << 20,
            max_total_bytes: 256 << 20,
            max_list_len: 1_000_000,
            max_nesting: 150,
        }
    }
}

/// A named template (`define`, or a whole file).
#[derive(Debug)]
pub(crate) struct Template {
    /// The file the template was written in (`mychart/templates/_helpers.tpl`).
    pub file: Rc<str>,
    pub body: List,
}

/// How a list of nodes finished.
enum Flow {
    Normal,
    Break,
    Continue,
}

/// A function's failure: a message (located by the caller) or an already located template error.
pub(crate) enum FnError {
    Msg(String),
    /// `required`/`fail`: reported as Helm's "execution error at (...)".
    User(String),
    Located(Box<TemplateError>),
}

impl From<String> for FnError {
    fn from(m: String) -> Self {
        FnError::Msg(m)
    }
}

impl From<&str> for FnError {
    fn from(m: &str) -> Self {
        FnError::Msg(m.to_string())
    }
}

pub(crate) type FnResult = Result<Value, FnError>;

/// Where execution is: the template being executed, the file it is in, dot and the variables.
pub(crate) struct Scope {
    pub name: Rc<str>,
    pub file: Rc<str>,
    pub dot: Value,
    vars: Vec<(String, Value)>,
}

impl Scope {
    fn new(name: Rc<str>, file: Rc<str>, dot: Value) -> Scope {
        Scope {
            name,
            file,
            vars: vec![("$".to_string(), dot.clone())],
            dot,
        }
    }
}

/// The executor: the named templates of a chart and the work done so far.
pub(crate) struct Engine {
    pub templates: HashMap<String, Rc<Template>>,
    pub limits: Limits,
    steps: u64,
    total_bytes: u64,
    depth: usize,
    nesting: usize,
}

impl Engine {
    pub fn new(limits: Limits) -> Engine {
        Engine {
            templates: HashMap::new(),
            limits,
            steps: 0,
            total_bytes: 0,
            depth: 0,
            nesting: 0,
        }
    }

    /// Parses `src` as the file `file`, registering its defines (later ones replace earlier ones,
    /// as in Go) and the file itself under its name.
    pub fn add_file(&mut self, file: &str, src: &str) -> Result<(), TemplateError> {
        let file_rc: Rc<str> = file.into();
        let parsed = parse(src, &funcs::is_function).map_err(|(pos, msg)| TemplateError {
            kind: ErrorKind::Parse,
            template: file.to_string(),
            name: file.to_string(),
            line: pos.line,
            col: pos.col,
            message: msg,
        })?;
        for (name, body) in parsed.defines {
            self.templates.insert(
                name,
                Rc::new(Template {
                    file: file_rc.clone(),
                    body,
                }),
            );
        }
        self.templates.insert(
            file.to_string(),
            Rc::new(Template {
                file: file_rc,
                body: parsed.body,
            }),
        );
        Ok(())
    }

    /// Executes the template called `name` with `dot`; returns its output with Helm's
    /// `<no value>` removed.
    pub fn execute(&mut self, name: &str, dot: Value) -> Result<String, TemplateError> {
        let Some(t) = self.templates.get(name).cloned() else {
            return Err(TemplateError {
                kind: ErrorKind::Exec,
                template: name.to_string(),
                name: name.to_string(),
                line: 0,
                col: 0,
                message: format!("no template {name:?}"),
            });
        };
        let mut out = String::new();
        let mut scope = Scope::new(name.into(), t.file.clone(), dot);
        self.run_template(&t, &mut scope, &mut out, Pos::default())?;
        Ok(out.replace("<no value>", ""))
    }

    fn run_template(
        &mut self,
        t: &Template,
        scope: &mut Scope,
        out: &mut String,
        pos: Pos,
    ) -> Result<(), TemplateError> {
        self.depth += 1;
        if self.depth > self.limits.max_template_depth {
            self.depth -= 1;
            return Err(self.err(
                scope,
                pos,
                format!(
                    "templates nested deeper than {} levels (include/template/tpl recursion)",
                    self.limits.max_template_depth
                ),
            ));
        }
        let r = self.exec_list(&t.body, scope, out);
        self.depth -= 1;
        match r? {
            Flow::Normal => Ok(()),
            _ => Err(self.err(scope, pos, "break or continue outside range".into())),
        }
    }

    fn err(&self, scope: &Scope, pos: Pos, message: String) -> TemplateError {
        TemplateError {
            kind: ErrorKind::Exec,
            template: scope.file.to_string(),
            name: scope.name.to_string(),
            line: pos.line,
            col: pos.col,
            message,
        }
    }

    fn locate(&self, scope: &Scope, pos: Pos, e: FnError) -> TemplateError {
        match e {
            FnError::Msg(m) => self.err(scope, pos, m),
            FnError::User(m) => TemplateError {
                kind: ErrorKind::User,
                ..self.err(scope, pos, m)
            },
            FnError::Located(t) => *t,
        }
    }

    /// Counts one step of work.
    pub fn step(&mut self) -> Result<(), FnError> {
        self.steps += 1;
        if self.steps > self.limits.max_steps {
            return Err(FnError::Msg(format!(
                "template work exceeds {} steps",
                self.limits.max_steps
            )));
        }
        Ok(())
    }

    /// Accounts for `n` bytes built; fails when one string or the total grows past its limit.
    pub fn charge(&mut self, n: usize) -> Result<(), FnError> {
        if n > self.limits.max_string_bytes {
            return Err(FnError::Msg(format!(
                "string longer than {} bytes",
                self.limits.max_string_bytes
            )));
        }
        self.total_bytes += n as u64;
        if self.total_bytes > self.limits.max_total_bytes {
            return Err(FnError::Msg(format!(
                "template work exceeds {} bytes of text",
                self.limits.max_total_bytes
            )));
        }
        Ok(())
    }

    fn write(&mut self, out: &mut String, s: &str) -> Result<(), FnError> {
        self.charge(s.len())?;
        if out.len() + s.len() > self.limits.max_output_bytes {
            return Err(FnError::Msg(format!(
                "output larger than {} bytes",
                self.limits.max_output_bytes
            )));
        }
        out.push_str(s);
        Ok(())
    }

    fn exec_list(
        &mut self,
        list: &List,
        scope: &mut Scope,
        out: &mut String,
    ) -> Result<Flow, TemplateError> {
        self.nesting += 1;
        let r = self.exec_list_inner(list, scope, out);
        self.nesting -= 1;
        r
    }

    fn nest_check(&self, scope: &Scope, pos: Pos) -> Result<(), TemplateError> {
        if self.nesting > self.limits.max_nesting {
            return Err(self.err(
                scope,
                pos,
                format!(
                    "blocks and templates nested deeper than {} levels",
                    self.limits.max_nesting
                ),
            ));
        }
        Ok(())
    }

    fn exec_list_inner(
        &mut self,
        list: &List,
        scope: &mut Scope,
        out: &mut String,
    ) -> Result<Flow, TemplateError> {
        self.nest_check(scope, Pos::default())?;
        for node in list {
            match self.exec_node(node, scope, out)? {
                Flow::Normal => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    fn exec_node(
        &mut self,
        node: &Node,
        scope: &mut Scope,
        out: &mut String,
    ) -> Result<Flow, TemplateError> {
        match node {
            Node::Text(t) => {
                self.write(out, t)
                    .map_err(|e| self.locate(scope, Pos::default(), e))?;
                Ok(Flow::Normal)
            }
            Node::Action(pipe) => self.exec_action(pipe, scope, out),
            Node::If {
                pipe,
                then,
                otherwise,
            } => self.exec_if_with(false, pipe, then, otherwise.as_ref(), scope, out),
            Node::With {
                pipe,
                then,
                otherwise,
            } => self.exec_if_with(true, pipe, then, otherwise.as_ref(), scope, out),
            Node::Range {
                pipe,
                body,
                otherwise,
            } => {
                self.step().map_err(|e| self.locate(scope, pipe.pos, e))?;
                self.exec_range(pipe, body, otherwise.as_ref(), scope, out)
            }
            Node::Template { pos, name, pipe } => {
                self.exec_template(*pos, name, pipe.as_ref(), scope, out)
            }
            Node::Break => Ok(Flow::Break),
            Node::Continue => Ok(Flow::Continue),
        }
    }

    #[inline(never)]
    fn exec_action(
        &mut self,
        pipe: &Pipe,
        scope: &mut Scope,
        out: &mut String,
    ) -> Result<Flow, TemplateError> {
        self.step().map_err(|e| self.locate(scope, pipe.pos, e))?;
        let v = self.eval_pipe(pipe, scope, true)?;
        if pipe.decl.is_empty() {
            let s = match &v {
                Value::Nil => "<no value>".to_string(),
                other => other
                    .to_go_string()
                    .map_err(|m| self.err(scope, pipe.pos, m))?,
            };
            self.write(out, &s)
                .map_err(|e| self.locate(scope, pipe.pos, e))?;
        }
        Ok(Flow::Normal)
    }

    #[inline(never)]
    fn exec_if_with(
        &mut self,
        is_with: bool,
        pipe: &Pipe,
        then: &List,
        otherwise: Option<&List>,
        scope: &mut Scope,
        out: &mut String,
    ) -> Result<Flow, TemplateError> {
        self.step().map_err(|e| self.locate(scope, pipe.pos, e))?;
        let mark = scope.vars.len();
        let v = self.eval_pipe(pipe, scope, true)?;
        let flow = if v.truthy() {
            if is_with {
                let saved = std::mem::replace(&mut scope.dot, v);
                let r = self.exec_list(then, scope, out);
                scope.dot = saved;
                r?
            } else {
                drop(v);
                self.exec_list(then, scope, out)?
            }
        } else if let Some(o) = otherwise {
            self.exec_list(o, scope, out)?
        } else {
            Flow::Normal
        };
        scope.vars.truncate(mark);
        Ok(flow)
    }

    #[inline(never)]
    fn exec_template(
        &mut self,
        pos: Pos,
        name: &str,
        pipe: Option<&Pipe>,
        scope: &mut Scope,
        out: &mut String,
    ) -> Result<Flow, TemplateError> {
        self.step().map_err(|e| self.locate(scope, pos, e))?;
        let dot = match pipe {
            Some(p) => self.eval_pipe(p, scope, false)?,
            None => Value::Nil,
        };
        let Some(t) = self.templates.get(name).cloned() else {
            return Err(self.err(
                scope,
                pos,
                format!(
                    "template: no template {name:?} associated with template {:?}",
                    scope.name
                ),
            ));
        };
        let mut inner = Scope::new(name.into(), t.file.clone(), dot);
        self.run_template(&t, &mut inner, out, pos)?;
        Ok(Flow::Normal)
    }

    fn exec_range(
        &mut self,
        pipe: &Pipe,
        body: &List,
        otherwise: Option<&List>,
        scope: &mut Scope,
        out: &mut String,
    ) -> Result<Flow, TemplateError> {
        let mark = scope.vars.len();
        let v = self.eval_pipe(pipe, scope, false)?;
        let items: Vec<(Value, Value)> = match &v {
            Value::Nil => Vec::new(),
            Value::List(l) => l
                .iter()
                .enumerate()
                .map(|(i, x)| (Value::Int(i as i64), x.clone()))
                .collect(),
            Value::Map(m) => m
                .borrow()
                .iter()
                .map(|(k, x)| (Value::str(k.as_str()), x.clone()))
                .collect(),
            Value::ApiVersions(a) => a
                .iter()
                .enumerate()
                .map(|(i, x)| (Value::Int(i as i64), Value::str(x.as_str())))
                .collect(),
            Value::Files(f) => f
                .files
                .iter()
                .map(|(k, x)| {
                    (
                        Value::str(k.as_str()),
                        Value::str(String::from_utf8_lossy(x).as_ref()),
                    )
                })
                .collect(),
            Value::Int(n) => {
                if *n as u64 > self.limits.max_list_len as u64 {
                    return Err(self.err(
                        scope,
                        pipe.pos,
                        format!(
                            "range over {n} exceeds {} iterations",
                            self.limits.max_list_len
                        ),
                    ));
                }
                (0..(*n).max(0))
                    .map(|i| (Value::Int(i), Value::Int(i)))
                    .collect()
            }
            other => {
                return Err(self.err(
                    scope,
                    pipe.pos,
                    format!(
                        "range can't iterate over {}",
                        other.to_go_string().unwrap_or_default()
                    ),
                ));
            }
        };
        if items.is_empty() {
            let flow = match otherwise {
                Some(o) => self.exec_list(o, scope, out)?,
                None => Flow::Normal,
            };
            scope.vars.truncate(mark);
            return Ok(flow);
        }
        let saved = scope.dot.clone();
        let mut result = Ok(Flow::Normal);
        for (key, elem) in items {
            if let Err(e) = self.step() {
                result = Err(self.locate(scope, pipe.pos, e));
                break;
            }
            scope.vars.truncate(mark);
            match pipe.decl.len() {
                0 => {}
                1 => scope.vars.push((pipe.decl[0].clone(), elem.clone())),
                _ => {
                    scope.vars.push((pipe.decl[0].clone(), key));
                    scope.vars.push((pipe.decl[1].clone(), elem.clone()));
                }
            }
            scope.dot = elem;
            match self.exec_list(body, scope, out) {
                Ok(Flow::Break) => break,
                Ok(_) => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        scope.dot = saved;
        scope.vars.truncate(mark);
        result.map(|_| Flow::Normal)
    }

    fn eval_pipe(
        &mut self,
        pipe: &Pipe,
        scope: &mut Scope,
        declare: bool,
    ) -> Result<Value, TemplateError> {
        let mut val: Option<Value> = None;
        for cmd in &pipe.cmds {
            val = Some(self.eval_cmd(cmd, scope, val)?);
        }
        let v = val.unwrap_or(Value::Nil);
        if declare && !pipe.decl.is_empty() {
            let name = &pipe.decl[0];
            if pipe.is_assign {
                match scope.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    Some(slot) => slot.1 = v.clone(),
                    None => {
                        return Err(self.err(
                            scope,
                            pipe.pos,
                            format!("undefined variable {name:?}"),
                        ));
                    }
                }
            } else {
                scope.vars.push((name.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn eval_cmd(
        &mut self,
        cmd: &Cmd,
        scope: &mut Scope,
        piped: Option<Value>,
    ) -> Result<Value, TemplateError> {
        let first = &cmd.args[0];
        match first {
            Arg::Func(name, pos) => {
                self.step().map_err(|e| self.locate(scope, *pos, e))?;
                if name == "and" || name == "or" {
                    return self.and_or(name == "and", &cmd.args[1..], piped, scope, *pos);
                }
                let mut args = Vec::with_capacity(cmd.args.len());
                for a in &cmd.args[1..] {
                    args.push(self.eval_arg(a, scope, *pos)?);
                }
                args.extend(piped);
                self.call(name, args, scope, *pos)
            }
            Arg::Field(fields) if cmd.args.len() > 1 || piped.is_some() => {
                let recv = self.walk(
                    scope.dot.clone(),
                    &fields[..fields.len() - 1],
                    scope,
                    cmd.pos,
                )?;
                self.method(
                    recv,
                    &fields[fields.len() - 1],
                    &cmd.args[1..],
                    piped,
                    scope,
                    cmd.pos,
                )
            }
            Arg::Chain(term, fields) if cmd.args.len() > 1 || piped.is_some() => {
                let base = self.eval_arg(term, scope, cmd.pos)?;
                let recv = self.walk(base, &fields[..fields.len() - 1], scope, cmd.pos)?;
                self.method(
                    recv,
                    &fields[fields.len() - 1],
                    &cmd.args[1..],
                    piped,
                    scope,
                    cmd.pos,
                )
            }
            _ => {
                if cmd.args.len() > 1 || piped.is_some() {
                    return Err(self.err(
                        scope,
                        cmd.pos,
                        "can't give argument to non-function".into(),
                    ));
                }
                self.eval_arg(first, scope, cmd.pos)
            }
        }
    }

    fn and_or(
        &mut self,
        is_and: bool,
        args: &[Arg],
        piped: Option<Value>,
        scope: &mut Scope,
        pos: Pos,
    ) -> Result<Value, TemplateError> {
        if args.is_empty() && piped.is_none() {
            return Err(self.err(
                scope,
                pos,
                format!(
                    "wrong number of args for {}: want at least 1 got 0",
                    if is_and { "and" } else { "or" }
                ),
            ));
        }
        let mut last = Value::Nil;
        for a in args {
            last = self.eval_arg(a, scope, pos)?;
            if last.truthy() != is_and {
                return Ok(last);
            }
        }
        if let Some(p) = piped {
            last = p;
        }
        Ok(last)
    }

    fn method(
        &mut self,
        recv: Value,
        name: &str,
        args: &[Arg],
        piped: Option<Value>,
        scope: &mut Scope,
        pos: Pos,
    ) -> Result<Value, TemplateError> {
        let mut vals = Vec::new();
        for a in args {
            vals.push(self.eval_arg(a, scope, pos)?);
        }
        vals.extend(piped);
        match &recv {
            Value::Files(_) | Value::ApiVersions(_) => {
                funcs::method(self, &recv, name, vals).map_err(|e| self.locate(scope, pos, e))
            }
            Value::Nil => Err(self.err(
                scope,
                pos,
                format!("nil pointer evaluating interface {{}}.{name}"),
            )),
            _ => Err(self.err(
                scope,
                pos,
                format!("{name} has arguments but cannot be invoked as function"),
            )),
        }
    }

    fn eval_arg(&mut self, arg: &Arg, scope: &mut Scope, pos: Pos) -> Result<Value, TemplateError> {
        Ok(match arg {
            Arg::Dot => scope.dot.clone(),
            Arg::Nil => Value::Nil,
            Arg::Bool(b) => Value::Bool(*b),
            Arg::Int(i) => Value::Int(*i),
            Arg::Float(f) => Value::Float(*f),
            Arg::Str(s) => Value::Str(s.clone()),
            Arg::Var(name) => self.var(scope, name, pos)?,
            Arg::Field(fields) => self.walk(scope.dot.clone(), fields, scope, pos)?,
            Arg::Func(name, pos) => {
                self.step().map_err(|e| self.locate(scope, *pos, e))?;
                if name == "and" || name == "or" {
                    return self.and_or(name == "and", &[], None, scope, *pos);
                }
                self.call(name, Vec::new(), scope, *pos)?
            }
            Arg::Sub(pipe) => {
                self.nesting += 1;
                let r = self
                    .nest_check(scope, pipe.pos)
                    .and_then(|()| self.eval_pipe(pipe, scope, false));
                self.nesting -= 1;
                r?
            }
            Arg::Chain(term, fields) => {
                let base = self.eval_arg(term, scope, pos)?;
                self.walk(base, fields, scope, pos)?
            }
        })
    }

    fn var(&self, scope: &Scope, name: &str, pos: Pos) -> Result<Value, TemplateError> {
        scope
            .vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| self.err(scope, pos, format!("undefined variable {name:?}")))
    }

    fn walk(
        &mut self,
        mut v: Value,
        fields: &[String],
        scope: &mut Scope,
        pos: Pos,
    ) -> Result<Value, TemplateError> {
        for f in fields {
            v = match &v {
                Value::Map(m) => m.borrow().get(f).cloned().unwrap_or(Value::Nil),
                Value::Nil => {
                    return Err(self.err(
                        scope,
                        pos,
                        format!("nil pointer evaluating interface {{}}.{f}"),
                    ));
                }
                Value::Files(_) | Value::ApiVersions(_) => {
                    funcs::method(self, &v, f, Vec::new())
                        .map_err(|e| self.locate(scope, pos, e))?
                }
                other => {
                    return Err(self.err(
                        scope,
                        pos,
                        format!("can't evaluate field {f} in type {}", other.type_name()),
                    ));
                }
            };
        }
        Ok(v)
    }

    fn call(
        &mut self,
        name: &str,
        args: Vec<Value>,
        scope: &mut Scope,
        pos: Pos,
    ) -> Result<Value, TemplateError> {
        let r = match name {
            "include" => self.include(args, scope, pos),
            "tpl" => self.tpl(args, scope, pos),
            _ => funcs::call(self, name, args),
        };
        r.map_err(|e| match e {
            FnError::Msg(m) => self.err(scope, pos, format!("error calling {name}: {m}")),
            other => self.locate(scope, pos, other),
        })
    }

    fn include(&mut self, args: Vec<Value>, scope: &Scope, pos: Pos) -> FnResult {
        let [name, dot]: [Value; 2] = args.try_into().map_err(|a: Vec<Value>| {
            format!("wrong number of args for include: want 2 got {}", a.len())
        })?;
        let Value::Str(name) = &name else {
            return Err("include: the template name must be a string".into());
        };
        let Some(t) = self.templates.get(name.as_ref()).cloned() else {
            return Err(format!(
                "template: no template {name:?} associated with template {:?}",
                scope.name
            )
            .into());
        };
        let mut out = String::new();
        let mut inner = Scope::new(name.clone(), t.file.clone(), dot);
        self.run_template(&t, &mut inner, &mut out, pos)
            .map_err(|e| FnError::Located(Box::new(e)))?;
        Ok(Value::str(out))
    }

    fn tpl(&mut self, args: Vec<Value>, scope: &Scope, pos: Pos) -> FnResult {
        let [text, dot]: [Value; 2] = args.try_into().map_err(|a: Vec<Value>| {
            format!("wrong number of args for tpl: want 2 got {}", a.len())
        })?;
        let text = match &text {
            Value::Str(s) => s.clone(),
            other => other.to_go_string()?.into(),
        };
        let parsed = parse(&text, &funcs::is_function).map_err(|(p, m)| {
            format!(
                "cannot parse template {:?}: {}:{}: {m}",
                truncate(&text),
                p.line,
                p.col
            )
        })?;
        // Defines made by the text are visible while it runs, then the chart's own come back.
        let mut replaced = Vec::new();
        for (name, body) in parsed.defines {
            let old = self.templates.insert(
                name.clone(),
                Rc::new(Template {
                    file: scope.file.clone(),
                    body,
                }),
            );
            replaced.push((name, old));
        }
        let t = Template {
            file: scope.file.clone(),
            body: parsed.body,
        };
        let mut out = String::new();
        let mut inner = Scope::new(scope.name.clone(), scope.file.clone(), dot);
        let r = self.run_template(&t, &mut inner, &mut out, pos);
        for (name, old) in replaced.into_iter().rev() {
            match old {
                Some(o) => self.templates.insert(name, o),
                None => self.templates.remove(&name),
            };
        }
        r.map_err(|e| FnError::Located(Box::new(e)))?;
        Ok(Value::str(out.replace("<no value>", "")))
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(60).collect();
        format!("{cut}...")
    } else {
        s.to_string()
    }
}
