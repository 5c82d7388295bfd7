//! Field selectors: `a=b`, `a==b`, `a!=b`, comma-separated (no escapes, as the simulator takes them).

use super::SelectorError;

/// One term of a field selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    /// The field path, e.g. `spec.nodeName`.
    pub field: String,
    /// The value compared against (absent fields compare as `""`).
    pub value: String,
    /// `!=` rather than `=`/`==`.
    pub negate: bool,
}

impl FieldRequirement {
    /// Whether a field's value (`None` when the object has no such field) satisfies the term.
    pub fn matches(&self, actual: Option<&str>) -> bool {
        (actual.unwrap_or("") == self.value) != self.negate
    }
}

/// A field selector: all terms must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    /// The terms, ANDed.
    pub requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Parses `?fieldSelector=` (`kubectl --field-selector`); an empty (or blank) selector has
    /// no terms. Which fields exist is the caller's to check.
    ///
    /// ```
    /// use cutover_grammar::selector::FieldSelector;
    ///
    /// let selector = FieldSelector::parse("spec.nodeName=n1, status.phase!=Running").unwrap();
    /// assert_eq!(selector.requirements[1].field, "status.phase");
    /// assert!(selector.requirements[1].negate);
    /// assert!(FieldSelector::parse("nonsense").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<FieldSelector, SelectorError> {
        Ok(FieldSelector {
            requirements: FieldSelector::terms(s).collect::<Result<_, _>>()?,
        })
    }

    /// The terms one by one, so a caller can check each field as it comes (and report the first
    /// problem in the order the terms are written).
    pub fn terms(s: &str) -> FieldTerms<'_> {
        let blank = s.trim().is_empty();
        FieldTerms {
            selector: s,
            terms: (!blank).then(|| s.split(',')),
        }
    }
}

/// The terms of a field selector, parsed one at a time ([`FieldSelector::terms`]).
#[derive(Debug, Clone)]
pub struct FieldTerms<'a> {
    selector: &'a str,
    terms: Option<std::str::Split<'a, char>>,
}

impl Iterator for FieldTerms<'_> {
    type Item = Result<FieldRequirement, SelectorError>;

    fn next(&mut self) -> Option<Self::Item> {
        let term = self.terms.as_mut()?.next()?.trim();
        let (field, value, negate) = if let Some((f, v)) = term.split_once("!=") {
            (f, v, true)
        } else if let Some((f, v)) = term.split_once("==") {
            (f, v, false)
        } else if let Some((f, v)) = term.split_once('=') {
            (f, v, false)
        } else {
            return Some(Err(SelectorError::field(self.selector, term)));
        };
        Some(Ok(FieldRequirement {
            field: field.trim().to_string(),
            value: value.trim().to_string(),
            negate,
        }))
    }
}
