//! Label selectors as `kubectl -l` takes them, and field selectors as `--field-selector` does.
//!
//! Both parse in one pass over the input (linear time, no recursion) into a list of
//! requirements that must all hold. The error messages are the simulator's, worded after the
//! API server's.

mod field;
mod label;

pub use field::{FieldRequirement, FieldSelector, FieldTerms};
pub use label::{LabelSelector, Labels, Requirement};

use std::fmt;

/// A selector that does not parse; the message names the selector and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorError {
    message: String,
}

impl SelectorError {
    /// `unable to parse requirement: <why> in "<selector>"`, as for a label selector.
    fn label(selector: &str, why: &str) -> SelectorError {
        SelectorError {
            message: format!("unable to parse requirement: {why} in \"{selector}\""),
        }
    }

    /// `invalid selector: '<selector>'; can't understand '<term>'`, as for a field selector.
    fn field(selector: &str, term: &str) -> SelectorError {
        SelectorError {
            message: format!("invalid selector: '{selector}'; can't understand '{term}'"),
        }
    }
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SelectorError {}

#[cfg(test)]
mod tests;
