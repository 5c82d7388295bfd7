//! Semantic version constraints for `semverCompare` (Masterminds/semver v3 as Sprig uses it):
//! `=`, `!=`, `>`, `<`, `>=`, `<=`, `~`, `^`, wildcards `x`/`*`, ranges `a - b`, `,` or
//! spaces for AND and `||` for OR. A version with a pre-release (`1.31.0-gke.1`) only satisfies
//! a constraint whose version has one too (hence Helm charts' `>=1.19-0`).

use std::cmp::Ordering;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<String>,
}

impl Version {
    fn cmp_to(&self, o: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| cmp_pre(&self.pre, &o.pre))
    }
}

fn cmp_pre(a: &[String], b: &[String]) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    for (x, y) in a.iter().zip(b) {
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(p), Ok(q)) => p.cmp(&q),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            _ => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// A parsed version, with which parts were wildcards or absent.
struct Partial {
    v: Version,
    /// How many of major/minor/patch were given as numbers (wildcards and absent parts are not).
    given: usize,
}

fn parse_version(text: &str) -> Result<Version, String> {
    let p = parse_partial(text)?;
    Ok(p.v)
}

fn parse_partial(text: &str) -> Result<Partial, String> {
    let t = text.trim();
    let t = t.strip_prefix(['v', 'V']).unwrap_or(t);
    let (core, rest) = match t.find(['-', '+']) {
        Some(i) => (&t[..i], &t[i..]),
        None => (t, ""),
    };
    let pre_text = rest
        .strip_prefix('-')
        .map(|r| r.split('+').next().unwrap_or(""));
    let mut nums = [0u64; 3];
    let mut given = 0;
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 || core.is_empty() {
        return Err(format!("invalid semantic version {text:?}"));
    }
    let mut wild = false;
    for (n, part) in parts.iter().enumerate() {
        if matches!(*part, "x" | "X" | "*") {
            wild = true;
            continue;
        }
        if wild {
            return Err(format!("invalid semantic version {text:?}"));
        }
        nums[n] = part
            .parse()
            .map_err(|_| format!("invalid semantic version {text:?}"))?;
        given = n + 1;
    }
    let pre = match pre_text {
        Some(p) if !p.is_empty() => p.split('.').map(str::to_string).collect(),
        Some(_) => return Err(format!("invalid semantic version {text:?}")),
        None => Vec::new(),
    };
    Ok(Partial {
        v: Version {
            major: nums[0],
            minor: nums[1],
            patch: nums[2],
            pre,
        },
        given,
    })
}

fn bump(v: &Version, at: usize) -> Version {
    match at {
        0 => Version {
            major: v.major + 1,
            minor: 0,
            patch: 0,
            pre: vec![],
        },
        1 => Version {
            major: v.major,
            minor: v.minor + 1,
            patch: 0,
            pre: vec![],
        },
        _ => Version {
            major: v.major,
            minor: v.minor,
            patch: v.patch + 1,
            pre: vec![],
        },
    }
}

/// Whether `version` satisfies `constraint`.
pub(crate) fn matches(constraint: &str, version: &str) -> Result<bool, String> {
    let v = parse_version(version)?;
    for alt in constraint.split("||") {
        if all_match(alt, &v)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn all_match(group: &str, v: &Version) -> Result<bool, String> {
    // Split into single constraints: commas, or spaces between complete constraints.
    let mut items: Vec<String> = Vec::new();
    let tokens: Vec<&str> = group.split([',', ' ']).filter(|t| !t.is_empty()).collect();
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i];
        if i + 2 < tokens.len() && tokens[i + 1] == "-" {
            items.push(format!("{t} - {}", tokens[i + 2]));
            i += 3;
            continue;
        }
        if matches!(
            t,
            "=" | "!=" | ">" | "<" | ">=" | "<=" | "=>" | "=<" | "~" | "~>" | "^"
        ) && i + 1 < tokens.len()
        {
            items.push(format!("{t}{}", tokens[i + 1]));
            i += 2;
            continue;
        }
        items.push(t.to_string());
        i += 1;
    }
    if items.is_empty() {
        return Err(format!("improper constraint: {group:?}"));
    }
    for item in items {
        if !one(&item, v)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn one(c: &str, v: &Version) -> Result<bool, String> {
    if let Some((lo, hi)) = c.split_once(" - ") {
        return Ok(one(&format!(">={lo}"), v)? && one(&format!("<={hi}"), v)?);
    }
    let ops = [">=", "=>", "<=", "=<", "!=", "~>", ">", "<", "=", "~", "^"];
    let (op, rest) = ops
        .iter()
        .find_map(|op| c.strip_prefix(op).map(|r| (*op, r)))
        .unwrap_or(("", c));
    let p = parse_partial(rest).map_err(|_| format!("improper constraint: {c:?}"))?;
    // Pre-release versions only match constraints that carry a pre-release.
    if !v.pre.is_empty() && p.v.pre.is_empty() {
        return Ok(false);
    }
    let c_v = &p.v;
    let ord = v.cmp_to(c_v);
    let upper_of_given = |v2: &Version| {
        if p.given == 0 {
            None
        } else {
            Some(bump(v2, p.given - 1))
        }
    };
    Ok(match op {
        "" | "=" => {
            if p.given == 3 {
                ord == Ordering::Equal
            } else {
                ord != Ordering::Less
                    && upper_of_given(c_v).is_none_or(|u| v.cmp_to(&u) == Ordering::Less)
            }
        }
        "!=" => {
            if p.given == 3 {
                ord != Ordering::Equal
            } else {
                !(ord != Ordering::Less
                    && upper_of_given(c_v).is_none_or(|u| v.cmp_to(&u) == Ordering::Less))
            }
        }
        ">" => {
            if p.given == 3 || p.given == 0 {
                ord == Ordering::Greater
            } else {
                upper_of_given(c_v).is_some_and(|u| v.cmp_to(&u) != Ordering::Less)
            }
        }
        ">=" | "=>" => ord != Ordering::Less,
        "<" => ord == Ordering::Less,
        "<=" | "=<" => {
            if p.given == 3 {
                ord != Ordering::Greater
            } else {
                upper_of_given(c_v).is_none_or(|u| v.cmp_to(&u) == Ordering::Less)
            }
        }
        "~" | "~>" => {
            let upper = if p.given <= 1 {
                bump(c_v, 0)
            } else {
                bump(c_v, 1)
            };
            ord != Ordering::Less && v.cmp_to(&upper) == Ordering::Less
        }
        _ => {
            // ^: the left-most non-zero part stays fixed.
            let upper = if c_v.major > 0 || p.given <= 1 {
                bump(c_v, 0)
            } else if c_v.minor > 0 || p.given == 2 {
                bump(c_v, 1)
            } else {
                bump(c_v, 2)
            };
            ord != Ordering::Less && v.cmp_to(&upper) == Ordering::Less
        }
    })
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn constraints() {
        assert!(matches(">=1.19-0", "v1.31.0").unwrap());
        assert!(matches(">=1.19-0", "v1.31.2-gke.100").unwrap());
        assert!(!matches(">=1.19", "v1.31.2-gke.100").unwrap());
        assert!(!matches(">=1.19-0", "v1.18.4").unwrap());
        assert!(matches("<1.19-0", "1.18.9").unwrap());
        assert!(matches("^1.2.3", "1.9.0").unwrap());
        assert!(!matches("^1.2.3", "2.0.0").unwrap());
        assert!(matches("~1.2.3", "1.2.9").unwrap());
        assert!(!matches("~1.2.3", "1.3.0").unwrap());
        assert!(matches("1.2.x", "1.2.7").unwrap());
        assert!(matches(">= 1.2, < 1.4", "1.3.0").unwrap());
        assert!(matches("<1.0 || >=2.0", "2.1.0").unwrap());
        assert!(matches("1.2 - 1.4", "1.4.0").unwrap());
        assert!(matches(">=1.21.0-0 <1.32.0-0", "v1.31.0+k3s1").unwrap());
        assert!(matches("1.3.0 - 1.4.0", "1.3.5").unwrap());
        assert!(matches("=1.2.3", "1.2.3").unwrap());
        assert!(!matches("!=1.2.3", "1.2.3").unwrap());
        assert!(matches("*", "1.2.3").unwrap());
        assert!(matches(">1.2", "1.3.0").unwrap());
        assert!(!matches(">1.2", "1.2.5").unwrap());
        assert!(matches("<=1.2", "1.2.5").unwrap());
        assert!(matches(">=1.19-0", "garbage").is_err());
    }
}
