//! Label selectors: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, comma-separated.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasher;

use super::SelectorError;
use crate::names::{label_key, label_value};

/// A set of labels a selector can be matched against.
pub trait Labels {
    /// The value of the label `key`, if the label is set.
    fn label(&self, key: &str) -> Option<&str>;
}

impl Labels for BTreeMap<String, String> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl<S: BuildHasher> Labels for HashMap<String, String, S> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl<T: Labels + ?Sized> Labels for &T {
    fn label(&self, key: &str) -> Option<&str> {
        (**self).label(key)
    }
}

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `key=value` or `key==value`.
    Equals(String, String),
    /// `key!=value` (also true when the label is absent).
    NotEquals(String, String),
    /// `key in (a,b)`.
    In(String, Vec<String>),
    /// `key notin (a,b)` (also true when the label is absent).
    NotIn(String, Vec<String>),
    /// `key`.
    Exists(String),
    /// `!key`.
    DoesNotExist(String),
}

impl Requirement {
    /// The label key the requirement is about.
    pub fn key(&self) -> &str {
        match self {
            Requirement::Equals(k, _)
            | Requirement::NotEquals(k, _)
            | Requirement::In(k, _)
            | Requirement::NotIn(k, _)
            | Requirement::Exists(k)
            | Requirement::DoesNotExist(k) => k,
        }
    }

    /// Whether `labels` satisfy the requirement.
    pub fn matches(&self, labels: &impl Labels) -> bool {
        let get = |k: &str| labels.label(k);
        match self {
            Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => !get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::DoesNotExist(k) => get(k).is_none(),
        }
    }
}

/// The string form of one requirement (`a=b`, `c in (x,y)`, `!d`).
impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Requirement::Equals(k, v) => write!(f, "{k}={v}"),
            Requirement::NotEquals(k, v) => write!(f, "{k}!={v}"),
            Requirement::In(k, vs) => write!(f, "{k} in ({})", vs.join(",")),
            Requirement::NotIn(k, vs) => write!(f, "{k} notin ({})", vs.join(",")),
            Requirement::Exists(k) => f.write_str(k),
            Requirement::DoesNotExist(k) => write!(f, "!{k}"),
        }
    }
}

/// A label selector: all requirements must hold. The empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    /// The requirements, ANDed.
    pub requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parses the string form (`?labelSelector=`, `kubectl -l`). Whitespace around keys,
    /// operators and values is ignored; an empty (or blank) selector has no requirements.
    /// Keys and values follow the API server's rules ([`label_key`], [`label_value`]).
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use cutover_grammar::selector::LabelSelector;
    ///
    /// let selector = LabelSelector::parse("app=web, tier in (front, edge), !canary").unwrap();
    /// let labels = BTreeMap::from([("app".to_string(), "web".to_string()), ("tier".into(), "edge".into())]);
    /// assert!(selector.matches(&labels));
    /// assert_eq!(selector.to_string(), "app=web,tier in (front,edge),!canary");
    /// ```
    pub fn parse(s: &str) -> Result<LabelSelector, SelectorError> {
        let mut requirements = Vec::new();
        if s.trim().is_empty() {
            return Ok(LabelSelector::default());
        }
        for raw in split_terms(s) {
            requirements.push(requirement(s, raw.trim())?);
        }
        Ok(LabelSelector { requirements })
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &impl Labels) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Whether there are no requirements (matches everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

/// The string form (`a=b,c in (x,y),!d`), as in `Scale.status.selector`.
impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, requirement) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{requirement}")?;
        }
        Ok(())
    }
}

/// Splits on the commas that are not inside parentheses.
fn split_terms(s: &str) -> impl Iterator<Item = &str> {
    let mut depth = 0i32;
    s.split(move |c| {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        c == ',' && depth == 0
    })
}

/// One term of `selector`, trimmed.
fn requirement(selector: &str, term: &str) -> Result<Requirement, SelectorError> {
    let bad = |why: &str| SelectorError::label(selector, why);
    if term.is_empty() {
        return Err(bad("empty requirement"));
    }
    let pair = |k: &str, v: &str| (k.trim().to_string(), v.trim().to_string());
    let req = if let Some(key) = term.strip_prefix('!') {
        Requirement::DoesNotExist(key.trim().to_string())
    } else if let Some((k, v)) = term.split_once("!=") {
        let (k, v) = pair(k, v);
        Requirement::NotEquals(k, v)
    } else if let Some((k, v)) = term.split_once("==") {
        let (k, v) = pair(k, v);
        Requirement::Equals(k, v)
    } else if let Some((k, v)) = term.split_once('=') {
        let (k, v) = pair(k, v);
        Requirement::Equals(k, v)
    } else if let Some((key, rest)) = term.split_once(char::is_whitespace) {
        set_requirement(key.trim(), rest.trim_start()).map_err(|why| bad(&why))?
    } else {
        Requirement::Exists(term.to_string())
    };
    let key = req.key();
    if label_key(key).is_err() {
        return Err(bad(&format!("invalid label key \"{key}\"")));
    }
    if let Requirement::Equals(_, v) | Requirement::NotEquals(_, v) = &req
        && label_value(v).is_err()
    {
        return Err(bad(&format!("invalid label value: \"{v}\"")));
    }
    Ok(req)
}

/// `in (a,b)` or `notin (a,b)` after `key`.
fn set_requirement(key: &str, rest: &str) -> Result<Requirement, String> {
    let (negate, list) = if let Some(list) = rest.strip_prefix("notin") {
        (true, list)
    } else if let Some(list) = rest.strip_prefix("in") {
        (false, list)
    } else {
        return Err("found unexpected token, expected 'in' or 'notin'".into());
    };
    let inner = list
        .trim()
        .strip_prefix('(')
        .and_then(|l| l.strip_suffix(')'))
        .ok_or("expected a parenthesised list of values")?;
    let values: Vec<String> = inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    if values.is_empty() {
        return Err("for 'in', 'notin' operators, values set can't be empty".into());
    }
    if let Some(v) = values.iter().find(|v| label_value(v).is_err()) {
        return Err(format!("invalid label value: \"{v}\""));
    }
    let key = key.to_string();
    Ok(if negate {
        Requirement::NotIn(key, values)
    } else {
        Requirement::In(key, values)
    })
}
