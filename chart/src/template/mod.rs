//! Go text/template: lexer, parser and executor, plus the public [`TemplateSet`] over them.

pub(crate) mod exec;
pub(crate) mod lex;
pub(crate) mod parse;

pub use exec::Limits;
pub use lex::Pos;

use crate::value::Value;

/// Which stage a [`TemplateError`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The template text does not parse (or names an unsupported function).
    Parse,
    /// Executing the template failed (Go's "executing ..." errors, limits reached).
    Exec,
    /// The chart itself failed the render: `required` or `fail`.
    User,
}

/// A template error, located in the file it comes from.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct TemplateError {
    /// What kind of error this is.
    pub kind: ErrorKind,
    /// The file the failing text is in (`mychart/templates/deployment.yaml`).
    pub template: String,
    /// The template being executed (a file or a `define`d name).
    pub name: String,
    /// 1-based line in `template` (0 when unknown).
    pub line: u32,
    /// 1-based column in `template` (0 when unknown).
    pub col: u32,
    /// What went wrong.
    pub message: String,
}

impl TemplateError {
    fn render(&self) -> String {
        match self.kind {
            ErrorKind::Parse => format!("{}:{}: {}", self.template, self.line, self.message),
            ErrorKind::User => format!(
                "execution error at ({}:{}:{}): {}",
                self.template, self.line, self.col, self.message
            ),
            ErrorKind::Exec => {
                if self.name == self.template {
                    format!(
                        "template: {}:{}:{}: {}",
                        self.template, self.line, self.col, self.message
                    )
                } else {
                    format!(
                        "template: {}:{}:{}: executing {:?}: {}",
                        self.template, self.line, self.col, self.name, self.message
                    )
                }
            }
        }
    }
}

/// A set of named templates sharing their `define`s, with every Sprig and Helm function of this
/// crate (`include` and `tpl` included). This is the engine [`crate::render`] uses; use it
/// directly to render a template outside a chart.
pub struct TemplateSet {
    engine: exec::Engine,
}

impl TemplateSet {
    /// An empty set that enforces `limits`.
    pub fn new(limits: Limits) -> TemplateSet {
        TemplateSet {
            engine: exec::Engine::new(limits),
        }
    }

    /// Parses `source` as the template `name`, adding the templates it `define`s (a later define
    /// of a name replaces an earlier one).
    pub fn add(&mut self, name: &str, source: &str) -> Result<(), TemplateError> {
        self.engine.add_file(name, source)
    }

    /// Whether a template (file or define) called `name` exists.
    pub fn has(&self, name: &str) -> bool {
        self.engine.templates.contains_key(name)
    }

    /// Executes the template `name` with `data` as dot. JSON floats are Go float64, JSON
    /// integers int64. As in Helm, the text `<no value>` is removed from the output.
    pub fn execute(
        &mut self,
        name: &str,
        data: &serde_json::Value,
    ) -> Result<String, TemplateError> {
        self.engine.execute(name, Value::from_json(data))
    }

    pub(crate) fn execute_value(
        &mut self,
        name: &str,
        data: Value,
    ) -> Result<String, TemplateError> {
        self.engine.execute(name, data)
    }
}
