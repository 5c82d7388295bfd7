//! Chart values, for policies whose parameters are a chart's values (`chartValues`, the
//! `atomic` strategy): `-f` files merged deeply in order, then `--set`, `--set-string` and
//! `--set-file` with Helm's syntax and typing, and `--reuse-values` and its relatives against
//! the last deployed revision — all as Helm does them (the parsing is `cutover_chart`'s, the
//! same code the policy renders with).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::params::ParamError;

/// The most bytes one `--set-file` file may hold.
pub const MAX_SET_FILE: u64 = 4 << 20;

/// The value flags of one run, as given.
#[derive(Debug, Default, Clone)]
pub struct ValueFlags<'a> {
    pub files: &'a [PathBuf],
    pub sets: &'a [String],
    pub set_strings: &'a [String],
    pub set_files: &'a [String],
}

impl ValueFlags<'_> {
    /// Whether any of the Helm-only flags is given (those a plain policy refuses).
    pub fn has_helm_only(&self) -> bool {
        !self.set_strings.is_empty() || !self.set_files.is_empty()
    }
}

/// What an upgrade does with the last deployed revision's values (Helm's flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reuse {
    /// None given: the last values when this run gives none, else only this run's.
    #[default]
    Default,
    /// `--reuse-values`: this run's values merged over the last ones.
    Reuse,
    /// `--reset-values`: only this run's values.
    Reset,
    /// `--reset-then-reuse-values`: the chart's defaults, the last values, this run's on top.
    ResetThenReuse,
}

impl Reuse {
    /// The one of the three flags given; two of them at once are refused.
    pub fn from_flags(reuse: bool, reset: bool, reset_then_reuse: bool) -> Result<Reuse, String> {
        match (reuse, reset, reset_then_reuse) {
            (false, false, false) => Ok(Reuse::Default),
            (true, false, false) => Ok(Reuse::Reuse),
            (false, true, false) => Ok(Reuse::Reset),
            (false, false, true) => Ok(Reuse::ResetThenReuse),
            _ => Err(
                "give at most one of --reuse-values, --reset-values and --reset-then-reuse-values"
                    .into(),
            ),
        }
    }

    pub fn is_default(self) -> bool {
        self == Reuse::Default
    }
}

/// This run's values: the files in order (maps merged deeply, anything else replaced), then
/// every `--set`, then `--set-string`, then `--set-file`, as Helm orders them.
pub fn given(flags: &ValueFlags<'_>) -> Result<Map<String, Value>, ParamError> {
    let mut values = Map::new();
    for path in flags.files {
        let file = crate::params::read_values_file(path)?;
        values = cutover_chart::merge_values(&values, &file);
    }
    for set in flags.sets {
        cutover_chart::strvals::parse_set_into(set, &mut values)
            .map_err(|e| set_error("--set", set, &e.to_string()))?;
    }
    for set in flags.set_strings {
        cutover_chart::strvals::parse_set_string_into(set, &mut values)
            .map_err(|e| set_error("--set-string", set, &e.to_string()))?;
    }
    for set in flags.set_files {
        let mut read = |path: &str| read_set_file(Path::new(path));
        cutover_chart::strvals::parse_set_file_into(set, &mut read, &mut values)
            .map_err(|e| set_error("--set-file", set, &e.to_string()))?;
    }
    Ok(values)
}

/// This run's values with the last deployed revision's (`last`), as Helm's upgrade merges
/// them. The chart's own defaults are the policy's to apply, under whatever this returns.
pub fn with_last(
    given: Map<String, Value>,
    last: Option<&Map<String, Value>>,
    reuse: Reuse,
) -> Map<String, Value> {
    let Some(last) = last else {
        return given;
    };
    match reuse {
        Reuse::Reset => given,
        Reuse::Reuse | Reuse::ResetThenReuse => cutover_chart::coalesce(last, &given),
        Reuse::Default if given.is_empty() => last.clone(),
        Reuse::Default => given,
    }
}

fn set_error(flag: &str, expr: &str, reason: &str) -> ParamError {
    ParamError::Type {
        name: format!("{flag} {}", crate::text::escape(expr, 128)),
        reason: format!("does not parse: {}", crate::text::escape(reason, 256)),
    }
}

/// A `--set-file` file's text, bounded.
fn read_set_file(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let shown = crate::text::escape(&path.display().to_string(), 256);
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let mut text = String::new();
    file.take(MAX_SET_FILE + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if text.len() as u64 > MAX_SET_FILE {
        return Err(format!(
            "{shown} is larger than the {} MiB a --set-file takes",
            MAX_SET_FILE >> 20
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("a test map"),
        }
    }

    #[test]
    fn files_merge_deeply_then_sets_in_helms_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let a = dir.path().join("a.yaml");
        let b = dir.path().join("b.yaml");
        let f = dir.path().join("motd.txt");
        std::fs::write(
            &a,
            "image: {repository: nginx, tag: '1.0'}\nreplicaCount: 1\n",
        )
        .expect("w");
        std::fs::write(&b, "image: {tag: '2.0'}\n").expect("w");
        std::fs::write(&f, "hello\n").expect("w");
        let files = [a, b];
        let sets = ["replicaCount=3,ports[1]=8080".to_string()];
        let strings = ["version=010".to_string()];
        let set_files = [format!("motd={}", f.display())];
        let values = given(&ValueFlags {
            files: &files,
            sets: &sets,
            set_strings: &strings,
            set_files: &set_files,
        })
        .expect("values");
        assert_eq!(
            Value::Object(values),
            json!({
                "image": {"repository": "nginx", "tag": "2.0"},
                "replicaCount": 3,
                "ports": [null, 8080],
                "version": "010",
                "motd": "hello\n",
            })
        );
    }

    #[test]
    fn a_bad_set_names_the_flag() {
        let sets = ["a[x]=1".to_string()];
        let err = given(&ValueFlags {
            sets: &sets,
            ..ValueFlags::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("--set a[x]=1"), "{err}");
    }

    #[test]
    fn reuse_merges_over_the_last_values_and_reset_drops_them() {
        let last = map(json!({"replicaCount": 2, "image": {"tag": "1.0", "pullPolicy": "Always"}}));
        let given = map(json!({"image": {"tag": "2.0"}}));
        assert_eq!(
            Value::Object(with_last(given.clone(), Some(&last), Reuse::Reuse)),
            json!({"replicaCount": 2, "image": {"tag": "2.0", "pullPolicy": "Always"}})
        );
        assert_eq!(
            Value::Object(with_last(given.clone(), Some(&last), Reuse::Reset)),
            json!({"image": {"tag": "2.0"}})
        );
        assert_eq!(
            Value::Object(with_last(given, Some(&last), Reuse::Default)),
            json!({"image": {"tag": "2.0"}})
        );
        // Helm: an upgrade that gives no values keeps the last ones.
        assert_eq!(
            Value::Object(with_last(Map::new(), Some(&last), Reuse::Default)),
            Value::Object(last)
        );
    }

    #[test]
    fn two_reuse_flags_are_refused() {
        assert!(Reuse::from_flags(true, true, false).is_err());
        assert_eq!(
            Reuse::from_flags(false, false, true),
            Ok(Reuse::ResetThenReuse)
        );
    }
}
