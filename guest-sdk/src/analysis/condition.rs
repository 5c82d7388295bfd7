//! The analysis condition language: `result[0] < 0.05 && len(result) > 0`, parsed once, evaluated per measurement.
//!
//! Grammar (whitespace is free):
//!
//! ```text
//! expr    := and ( "||" and )*
//! and     := unary ( "&&" unary )*
//! unary   := "!" unary | "(" expr ")" | compare
//! compare := operand ( "<" | "<=" | ">" | ">=" | "==" | "!=" ) operand
//! operand := number | "result" | "result[" index "]" | "len(result)"
//! ```
//!
//! `result` is the measurement's list of numbers (a Prometheus vector's values; an HTTP
//! check's JSON value); bare `result` is `result[0]`. Numbers are decimal (`0.05`, `-1`,
//! `1e3`). Anything else is refused when the condition is parsed, so a typo fails the
//! parameter check, not the rollout.

use std::fmt;

/// A parsed condition.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    text: String,
    expr: Expr,
}

#[derive(Clone, Debug, PartialEq)]
enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare(Operand, Op, Operand),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Operand {
    Number(f64),
    Result(usize),
    Len,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }
}

/// Why a condition did not parse, or could not be evaluated on a result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionError(pub String);

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConditionError {}

/// Longest condition accepted: a gate's condition is a line, not a program.
const MAX_LEN: usize = 1024;
/// Deepest nesting of `(` and `!` accepted.
const MAX_DEPTH: usize = 32;

impl Condition {
    /// Parses a condition.
    ///
    /// ```
    /// use cutover_guest_sdk::analysis::Condition;
    /// let c = Condition::parse("result[0] < 0.05").unwrap();
    /// assert_eq!(c.eval(&[0.01]), Ok(true));
    /// assert_eq!(c.eval(&[0.31]), Ok(false));
    /// assert!(Condition::parse("result < ").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        if text.len() > MAX_LEN {
            return Err(ConditionError(format!(
                "a condition is at most {MAX_LEN} characters"
            )));
        }
        let mut parser = Parser {
            text,
            pos: 0,
            depth: 0,
        };
        let expr = parser.expr()?;
        parser.skip_space();
        if parser.pos < text.len() {
            return Err(parser.unexpected("`&&`, `||` or the end"));
        }
        Ok(Condition {
            text: text.trim().to_string(),
            expr,
        })
    }

    /// The condition as written (trimmed).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Evaluates the condition on a result. An index past the end of `result` is an error
    /// (the measurement is then an error, not a verdict).
    pub fn eval(&self, result: &[f64]) -> Result<bool, ConditionError> {
        eval(&self.expr, result)
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn eval(expr: &Expr, result: &[f64]) -> Result<bool, ConditionError> {
    Ok(match expr {
        Expr::Or(a, b) => eval(a, result)? || eval(b, result)?,
        Expr::And(a, b) => eval(a, result)? && eval(b, result)?,
        Expr::Not(a) => !eval(a, result)?,
        Expr::Compare(a, op, b) => {
            let (a, b) = (value(*a, result)?, value(*b, result)?);
            match op {
                Op::Lt => a < b,
                Op::Le => a <= b,
                Op::Gt => a > b,
                Op::Ge => a >= b,
                Op::Eq => a == b,
                Op::Ne => a != b,
            }
        }
    })
}

fn value(operand: Operand, result: &[f64]) -> Result<f64, ConditionError> {
    match operand {
        Operand::Number(n) => Ok(n),
        Operand::Len => Ok(result.len() as f64),
        Operand::Result(i) => result.get(i).copied().ok_or_else(|| {
            ConditionError(format!(
                "result[{i}] is past the end of the result ({} values)",
                result.len()
            ))
        }),
    }
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn skip_space(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.text.len() - trimmed.len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn unexpected(&self, wanted: &str) -> ConditionError {
        let found: String = self.rest().chars().take(16).collect();
        if found.is_empty() {
            ConditionError(format!("expected {wanted} at the end of the condition"))
        } else {
            ConditionError(format!(
                "expected {wanted} at column {}, found {found:?}",
                self.pos + 1
            ))
        }
    }

    fn expr(&mut self) -> Result<Expr, ConditionError> {
        let mut left = self.and()?;
        while self.eat("||") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ConditionError> {
        let mut left = self.unary()?;
        while self.eat("&&") {
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ConditionError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ConditionError(format!(
                "a condition nests at most {MAX_DEPTH} deep"
            )));
        }
        let expr = if self.eat("!") && !self.rest().starts_with('=') {
            Expr::Not(Box::new(self.unary()?))
        } else if self.eat("(") {
            let inner = self.expr()?;
            if !self.eat(")") {
                return Err(self.unexpected("`)`"));
            }
            inner
        } else {
            let a = self.operand()?;
            let op = self.op()?;
            let b = self.operand()?;
            Expr::Compare(a, op, b)
        };
        self.depth -= 1;
        Ok(expr)
    }

    fn op(&mut self) -> Result<Op, ConditionError> {
        // Two-character operators first.
        for (token, op) in [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
        ] {
            if self.eat(token) {
                return Ok(op);
            }
        }
        Err(self.unexpected("a comparison (< <= > >= == !=)"))
    }

    fn operand(&mut self) -> Result<Operand, ConditionError> {
        if self.eat("len(") {
            if !self.eat("result") || !self.eat(")") {
                return Err(self.unexpected("`result)` after `len(`"));
            }
            return Ok(Operand::Len);
        }
        if self.eat("result") {
            if self
                .rest()
                .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(self.unexpected("`result`, `result[i]`, `len(result)` or a number"));
            }
            if self.eat("[") {
                self.skip_space();
                let digits: String = self
                    .rest()
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                let index = digits
                    .parse::<usize>()
                    .map_err(|_| self.unexpected("an index"))?;
                self.pos += digits.len();
                if !self.eat("]") {
                    return Err(self.unexpected("`]`"));
                }
                return Ok(Operand::Result(index));
            }
            return Ok(Operand::Result(0));
        }
        self.skip_space();
        let number: String = self
            .rest()
            .chars()
            .enumerate()
            .take_while(|(i, c)| {
                c.is_ascii_digit()
                    || *c == '.'
                    || *c == 'e'
                    || *c == 'E'
                    || ((*c == '-' || *c == '+') && *i == 0)
            })
            .map(|(_, c)| c)
            .collect();
        match number.parse::<f64>() {
            Ok(n) if n.is_finite() => {
                self.pos += number.len();
                Ok(Operand::Number(n))
            }
            _ => Err(self.unexpected("`result`, `result[i]`, `len(result)` or a number")),
        }
    }
}

/// The comparison a condition makes, for a measurement's log line: `0.012 < 0.05` when the
/// condition is one comparison of `result[i]` with a number, else the condition itself.
pub(crate) fn describe(condition: &Condition, result: &[f64]) -> String {
    if let Expr::Compare(a, op, b) = &condition.expr {
        let show = |o: &Operand| match o {
            Operand::Number(n) => Some(format_number(*n)),
            Operand::Len => Some(result.len().to_string()),
            Operand::Result(i) => result.get(*i).map(|v| format_number(*v)),
        };
        if let (Some(a), Some(b)) = (show(a), show(b)) {
            return format!("{a} {} {b}", op.symbol());
        }
    }
    condition.text.clone()
}

/// The comparison's negation for a failure message: `0.31 >= 0.05` for `result < 0.05`.
pub(crate) fn describe_negated(condition: &Condition, result: &[f64]) -> String {
    if let Expr::Compare(a, op, b) = &condition.expr {
        let negated = match op {
            Op::Lt => Op::Ge,
            Op::Le => Op::Gt,
            Op::Gt => Op::Le,
            Op::Ge => Op::Lt,
            Op::Eq => Op::Ne,
            Op::Ne => Op::Eq,
        };
        let flipped = Condition {
            text: String::new(),
            expr: Expr::Compare(*a, negated, *b),
        };
        let shown = describe(&flipped, result);
        if !shown.is_empty() {
            return shown;
        }
    }
    format!("not ({})", condition.text)
}

/// A number as a person writes it: `0.012`, `3`, not `3.0`.
pub(crate) fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        let s = format!("{n:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(text: &str, result: &[f64]) -> bool {
        Condition::parse(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .eval(result)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn comparisons() {
        assert!(holds("result < 0.05", &[0.01]));
        assert!(!holds("result < 0.05", &[0.05]));
        assert!(holds("result <= 0.05", &[0.05]));
        assert!(holds("result[1] > 2", &[0.0, 3.0]));
        assert!(holds("result[0] >= -1", &[-1.0]));
        assert!(holds("result == 1", &[1.0]));
        assert!(holds("result != 1", &[2.0]));
        assert!(holds("0.05 > result[0]", &[0.01]));
        assert!(holds("len(result) == 0", &[]));
        assert!(holds("len( result ) >= 2", &[1.0, 2.0]));
        assert!(holds("result < 1e3", &[999.0]));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        // false || (true && true)
        assert!(holds("result > 5 || result > 0 && result < 2", &[1.0]));
        // (false || true) && false with brackets
        assert!(!holds("(result > 5 || result > 0) && result > 2", &[1.0]));
        assert!(holds("!(result > 5)", &[1.0]));
        assert!(holds("result[0] < 0.05 && result[1] < 0.05", &[0.01, 0.02]));
    }

    #[test]
    fn refuses_anything_else() {
        for (text, message) in [
            (
                "",
                "expected `result`, `result[i]`, `len(result)` or a number at the end of the condition",
            ),
            (
                "result < ",
                "expected `result`, `result[i]`, `len(result)` or a number at the end of the condition",
            ),
            (
                "result = 1",
                "expected a comparison (< <= > >= == !=) at column 8, found \"= 1\"",
            ),
            (
                "results < 1",
                "expected `result`, `result[i]`, `len(result)` or a number at column 7, found \"s < 1\"",
            ),
            (
                "result[x] < 1",
                "expected an index at column 8, found \"x] < 1\"",
            ),
            (
                "result < 1 and result > 0",
                "expected `&&`, `||` or the end at column 12, found \"and result > 0\"",
            ),
            ("(result < 1", "expected `)` at the end of the condition"),
            (
                "len(x) > 1",
                "expected `result)` after `len(` at column 5, found \"x) > 1\"",
            ),
            (
                "result < nan",
                "expected `result`, `result[i]`, `len(result)` or a number at column 10, found \"nan\"",
            ),
        ] {
            assert_eq!(
                Condition::parse(text).unwrap_err().to_string(),
                message,
                "{text}"
            );
        }
        assert!(Condition::parse(&"(".repeat(40)).is_err());
        assert!(Condition::parse(&"x".repeat(2000)).is_err());
    }

    #[test]
    fn an_index_past_the_end_is_an_error() {
        let c = Condition::parse("result[2] < 1").unwrap();
        assert_eq!(
            c.eval(&[0.0]).unwrap_err().to_string(),
            "result[2] is past the end of the result (1 values)"
        );
    }

    #[test]
    fn describes_the_comparison() {
        let c = Condition::parse("result[0] < 0.05").unwrap();
        assert_eq!(describe(&c, &[0.012]), "0.012 < 0.05");
        assert_eq!(describe_negated(&c, &[0.31]), "0.31 >= 0.05");
        let c = Condition::parse("result < 1 && result > 0").unwrap();
        assert_eq!(describe(&c, &[0.5]), "result < 1 && result > 0");
        assert_eq!(
            describe_negated(&c, &[0.5]),
            "not (result < 1 && result > 0)"
        );
        assert_eq!(format_number(3.0), "3");
    }
}
