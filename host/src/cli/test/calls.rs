//! The `calls` expectation: the ordered cluster operations a run made, matched against
//! patterns in which `*` stands for any text, and a readable diff when they differ.

use similar::{ChangeTag, TextDiff};

use super::spec::CallsMatch;

/// The most lines a calls failure shows: a policy that makes a million calls must not print them.
const MAX_SHOWN: usize = 200;

/// Whether `text` matches `pattern`, where `*` matches any run of characters (none included).
pub(super) fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// Checks `made` against `expected`; `None` when they match, else the explanation.
pub(super) fn check(expected: &[String], made: &[String], mode: CallsMatch) -> Option<String> {
    match mode {
        CallsMatch::Exact => exact(expected, made),
        CallsMatch::Subsequence => subsequence(expected, made),
    }
}

fn exact(expected: &[String], made: &[String]) -> Option<String> {
    let matches =
        expected.len() == made.len() && expected.iter().zip(made).all(|(p, m)| glob(p, m));
    if matches {
        return None;
    }
    // Where a pattern matched the call made at its place, show the call itself, so that the
    // diff shows only the calls that really differ.
    let shown: Vec<&str> = expected
        .iter()
        .enumerate()
        .map(|(i, p)| match made.get(i) {
            Some(m) if glob(p, m) => m.as_str(),
            _ => p.as_str(),
        })
        .collect();
    let (want, got) = (lines(&shown), lines(made));
    let mut out = format!(
        "the calls differ (expected {}, made {}; - expected, + made):",
        expected.len(),
        made.len()
    );
    let diff = TextDiff::from_lines(&want, &got);
    let changes: Vec<_> = diff.iter_all_changes().collect();
    for change in changes.iter().take(MAX_SHOWN) {
        let sign = match change.tag() {
            ChangeTag::Delete => '-',
            ChangeTag::Insert => '+',
            ChangeTag::Equal => ' ',
        };
        out.push_str(&format!("\n    {sign} {}", change.value().trim_end()));
    }
    if changes.len() > MAX_SHOWN {
        out.push_str(&format!(
            "\n    [... {} more lines]",
            changes.len() - MAX_SHOWN
        ));
    }
    Some(out)
}

fn subsequence(expected: &[String], made: &[String]) -> Option<String> {
    let mut next = 0;
    for (i, pattern) in expected.iter().enumerate() {
        match made[next..].iter().position(|m| glob(pattern, m)) {
            Some(at) => next += at + 1,
            None => {
                let mut out = format!(
                    "expected call {} of {} in order, not made{}: {pattern}\n    the calls made:",
                    i + 1,
                    expected.len(),
                    if next > 0 {
                        format!(" after call {next}")
                    } else {
                        String::new()
                    }
                );
                for (n, call) in made.iter().enumerate().take(MAX_SHOWN) {
                    out.push_str(&format!("\n    {:>4}  {call}", n + 1));
                }
                if made.len() > MAX_SHOWN {
                    out.push_str(&format!(
                        "\n    [... {} more calls]",
                        made.len() - MAX_SHOWN
                    ));
                }
                return Some(out);
            }
        }
    }
    None
}

fn lines<S: AsRef<str>>(items: &[S]) -> String {
    items.iter().map(|s| format!("{}\n", s.as_ref())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn glob_matches_stars_anywhere() {
        assert!(glob(
            "evict v1/Pod shop/web-*",
            "evict v1/Pod shop/web-7f9c"
        ));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "abc"));
        assert!(glob("a*b*c", "a-x-b-y-c"));
        assert!(!glob("a*b*c", "a-x-c"));
        assert!(!glob("ab*ba", "aba"));
        assert!(!glob("cordon v1/Node n1", "cordon v1/Node n10"));
    }

    #[test]
    fn exact_calls_show_only_what_differs() {
        let made = strings(&[
            "cordon v1/Node n1",
            "evict v1/Pod a/web-1",
            "uncordon v1/Node n1",
        ]);
        let want = strings(&["cordon v1/Node n1", "evict v1/Pod a/web-*"]);
        let diff = check(&want, &made, CallsMatch::Exact).unwrap();
        assert!(diff.contains("  evict v1/Pod a/web-1"), "{diff}");
        assert!(diff.contains("+ uncordon v1/Node n1"), "{diff}");
        assert!(!diff.contains("\n    - "), "{diff}");
        let all = strings(&["cordon *", "evict *", "uncordon *"]);
        assert_eq!(check(&all, &made, CallsMatch::Exact), None);
    }

    #[test]
    fn a_subsequence_allows_calls_between() {
        let made = strings(&["get v1/Node n1", "cordon v1/Node n1", "list v1/Pod"]);
        assert_eq!(
            check(
                &strings(&["cordon *", "list *"]),
                &made,
                CallsMatch::Subsequence
            ),
            None
        );
        let out = check(
            &strings(&["list *", "cordon *"]),
            &made,
            CallsMatch::Subsequence,
        )
        .unwrap();
        assert!(
            out.contains("expected call 2 of 2 in order, not made after call 3"),
            "{out}"
        );
    }
}
