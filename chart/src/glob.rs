//! Path globs for `.Files.Glob` and `.helmignore`: `*` and `?` stay within one path segment,
//! `**` crosses segments, `[abc]`/`[a-z]`/`[!x]` classes and `{a,b}` alternatives.

/// Whether `path` matches `pattern` as a whole.
pub(crate) fn matches(pattern: &str, path: &str) -> bool {
    // Expand {a,b} first (bounded: patterns come from the chart, keep the expansion small).
    let expanded = expand_braces(pattern, 0);
    let path: Vec<char> = path.chars().collect();
    expanded.iter().any(|p| {
        let p: Vec<char> = p.chars().collect();
        match_here(&p, &path, &mut MAX_MATCH_STEPS.clone())
    })
}

fn expand_braces(pattern: &str, depth: usize) -> Vec<String> {
    if depth > 8 {
        return vec![pattern.to_string()];
    }
    let Some(open) = pattern.find('{') else {
        return vec![pattern.to_string()];
    };
    let mut level = 0;
    let mut close = None;
    for (i, c) in pattern[open..].char_indices() {
        match c {
            '{' => level += 1,
            '}' => {
                level -= 1;
                if level == 0 {
                    close = Some(open + i);
                    break;
                }
            }
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![pattern.to_string()];
    };
    let inner = &pattern[open + 1..close];
    let mut alts = Vec::new();
    let mut level = 0;
    let mut start = 0;
    for (i, c) in inner.char_indices() {
        match c {
            '{' => level += 1,
            '}' => level -= 1,
            ',' if level == 0 => {
                alts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    alts.push(&inner[start..]);
    let mut out = Vec::new();
    for alt in alts {
        let candidate = format!("{}{}{}", &pattern[..open], alt, &pattern[close + 1..]);
        for e in expand_braces(&candidate, depth + 1) {
            if out.len() < 256 {
                out.push(e);
            }
        }
    }
    out
}

/// Matching work allowed for one path (a hostile pattern such as `*a*a*a*a` stops here).
const MAX_MATCH_STEPS: usize = 100_000;

fn match_here(p: &[char], s: &[char], budget: &mut usize) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    match p.first() {
        None => s.is_empty(),
        Some('*') if p.get(1) == Some(&'*') => {
            let after = &p[2..];
            // "**/" may also match no directory at all.
            if after.first() == Some(&'/') && match_here(&after[1..], s, budget) {
                return true;
            }
            (0..=s.len()).any(|i| match_here(after, &s[i..], budget))
        }
        Some('*') => {
            let rest = &p[1..];
            for i in 0..=s.len() {
                if match_here(rest, &s[i..], budget) {
                    return true;
                }
                if i < s.len() && s[i] == '/' {
                    break;
                }
            }
            false
        }
        Some('?') => !s.is_empty() && s[0] != '/' && match_here(&p[1..], &s[1..], budget),
        Some('[') => {
            let Some(end) = p.iter().skip(1).position(|c| *c == ']').map(|i| i + 1) else {
                return !s.is_empty() && s[0] == '[' && match_here(&p[1..], &s[1..], budget);
            };
            let Some(&c) = s.first() else { return false };
            let class = &p[1..end];
            let (negate, class) = match class.first() {
                Some('!') | Some('^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negate && c != '/' && match_here(&p[end + 1..], &s[1..], budget)
        }
        Some('\\') if p.len() > 1 => {
            !s.is_empty() && s[0] == p[1] && match_here(&p[2..], &s[1..], budget)
        }
        Some(&c) => !s.is_empty() && s[0] == c && match_here(&p[1..], &s[1..], budget),
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs() {
        assert!(matches("files/*.conf", "files/a.conf"));
        assert!(!matches("files/*.conf", "files/x/a.conf"));
        assert!(matches("files/**", "files/x/a.conf"));
        assert!(matches("**.yaml", "a/b/c.yaml"));
        assert!(matches("*.{yaml,json}", "a.json"));
        assert!(matches("config?.ini", "config1.ini"));
        assert!(matches("[ab].txt", "b.txt"));
        assert!(!matches("[!ab].txt", "b.txt"));
    }
}
