//! Positional inputs (`cutover run atomic ./chart`, `... -`): the files, folders and standard
//! input named after the policy, read by the host within fixed bounds before anything starts,
//! and handed to the policy as data (the `inputs` interface).

use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// The most bytes all inputs together may hold.
pub const MAX_TOTAL_BYTES: u64 = 16 << 20;
/// The most files all inputs together may hold.
pub const MAX_FILES: usize = 10_000;
/// The deepest a folder input is walked.
pub const MAX_DEPTH: usize = 32;
/// The longest relative path a file may have, in bytes.
pub const MAX_PATH: usize = 1024;

/// One file of the inputs, as the policy receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputFile {
    /// Relative to the input given, `/`-separated; a file given by name is its file name;
    /// standard input is `-`.
    pub path: String,
    /// Which positional input it came from (0, 1, ...).
    pub input: u32,
    pub contents: Vec<u8>,
}

/// Why the inputs could not be read: one line naming the input and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read input {path}: {reason}")]
    Read { path: String, reason: String },
    #[error(
        "the inputs hold more than {} MiB; give a smaller chart or fewer files",
        MAX_TOTAL_BYTES >> 20
    )]
    TooLarge,
    #[error("the inputs hold more than {MAX_FILES} files; give a smaller folder")]
    TooMany,
    #[error("input {0}: folders nested more than {MAX_DEPTH} deep")]
    TooDeep(String),
    #[error("input {0}: a path longer than {MAX_PATH} bytes")]
    PathTooLong(String),
    #[error("input {0}: a file name that is not UTF-8")]
    NotUtf8(String),
    #[error("input {path} is a link to {target}, outside {root}: copy the file in instead")]
    LinksOut {
        path: String,
        target: String,
        root: String,
    },
    #[error("standard input (-) is given more than once")]
    StdinTwice,
    #[error("{policy} takes no inputs; remove {first} (see cutover inspect {policy})")]
    NotTaken { policy: String, first: String },
}

/// What has been read so far, against the bounds.
struct Budget {
    bytes: u64,
    files: Vec<InputFile>,
}

impl Budget {
    fn push(&mut self, file: InputFile) -> Result<(), InputError> {
        if self.files.len() >= MAX_FILES {
            return Err(InputError::TooMany);
        }
        self.files.push(file);
        Ok(())
    }

    /// Reads at most what is left of the byte budget (plus one byte, to see that it is over).
    fn read(&mut self, mut from: impl Read, shown: &str) -> Result<Vec<u8>, InputError> {
        let left = MAX_TOTAL_BYTES - self.bytes;
        let mut contents = Vec::new();
        (&mut from)
            .take(left + 1)
            .read_to_end(&mut contents)
            .map_err(|e| read_error(shown, &e))?;
        if contents.len() as u64 > left {
            return Err(InputError::TooLarge);
        }
        self.bytes += contents.len() as u64;
        Ok(contents)
    }
}

fn read_error(shown: &str, e: &std::io::Error) -> InputError {
    InputError::Read {
        path: shown.to_string(),
        reason: e.to_string(),
    }
}

fn shown(path: &Path) -> String {
    crate::text::escape(&path.display().to_string(), 256)
}

/// Reads every input in order: `-` from `stdin`, a file as itself, a folder as every regular
/// file under it (sorted by path; a symbolic link to a file inside the folder is read, one
/// that leads outside it is refused — a chart is untrusted, and must not hand the policy
/// `~/.kube/config` — and links to folders are not followed, so a link cannot loop).
pub fn read(inputs: &[PathBuf], stdin: impl Read) -> Result<Vec<InputFile>, InputError> {
    let mut budget = Budget {
        bytes: 0,
        files: Vec::new(),
    };
    let mut stdin = Some(stdin);
    for (index, input) in inputs.iter().enumerate() {
        let index = u32::try_from(index).map_err(|_| InputError::TooMany)?;
        if input.as_os_str() == "-" {
            let from = stdin.take().ok_or(InputError::StdinTwice)?;
            let contents = budget.read(from, "- (standard input)")?;
            budget.push(InputFile {
                path: "-".into(),
                input: index,
                contents,
            })?;
            continue;
        }
        let meta = std::fs::metadata(input).map_err(|e| read_error(&shown(input), &e))?;
        if meta.is_dir() {
            let root = std::fs::canonicalize(input).map_err(|e| read_error(&shown(input), &e))?;
            walk(&mut budget, index, input, &root, input, 0)?;
        } else {
            let name = input
                .file_name()
                .map(|n| n.to_str().ok_or_else(|| InputError::NotUtf8(shown(input))))
                .transpose()?
                .unwrap_or("-")
                .to_string();
            let file = std::fs::File::open(input).map_err(|e| read_error(&shown(input), &e))?;
            let contents = budget.read(file, &shown(input))?;
            budget.push(InputFile {
                path: name,
                input: index,
                contents,
            })?;
        }
    }
    Ok(budget.files)
}

fn walk(
    budget: &mut Budget,
    index: u32,
    root: &Path,
    real_root: &Path,
    folder: &Path,
    depth: usize,
) -> Result<(), InputError> {
    if depth > MAX_DEPTH {
        return Err(InputError::TooDeep(shown(folder)));
    }
    let mut entries = std::fs::read_dir(folder)
        .map_err(|e| read_error(&shown(folder), &e))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read_error(&shown(folder), &e))?;
    entries.sort();
    for path in entries {
        let link = std::fs::symlink_metadata(&path).map_err(|e| read_error(&shown(&path), &e))?;
        let meta = if link.file_type().is_symlink() {
            match std::fs::metadata(&path) {
                Ok(target) if target.is_file() => {
                    let real =
                        std::fs::canonicalize(&path).map_err(|e| read_error(&shown(&path), &e))?;
                    if !real.starts_with(real_root) {
                        return Err(InputError::LinksOut {
                            path: shown(&path),
                            target: shown(&real),
                            root: shown(root),
                        });
                    }
                    target
                }
                // A link to a folder is not followed; a dangling link is skipped as Helm skips it.
                _ => continue,
            }
        } else {
            link
        };
        if meta.is_dir() {
            walk(budget, index, root, real_root, &path, depth + 1)?;
        } else if meta.is_file() {
            let relative = relative(root, &path)?;
            let file = std::fs::File::open(&path).map_err(|e| read_error(&shown(&path), &e))?;
            let contents = budget.read(file, &shown(&path))?;
            budget.push(InputFile {
                path: relative,
                input: index,
                contents,
            })?;
        }
    }
    Ok(())
}

/// `templates/service.yaml` for `<root>/templates/service.yaml`.
fn relative(root: &Path, path: &Path) -> Result<String, InputError> {
    let rest = path.strip_prefix(root).unwrap_or(path);
    let mut parts = Vec::new();
    for part in rest.components() {
        if let Component::Normal(name) = part {
            parts.push(
                name.to_str()
                    .ok_or_else(|| InputError::NotUtf8(shown(path)))?,
            );
        }
    }
    let joined = parts.join("/");
    if joined.len() > MAX_PATH {
        return Err(InputError::PathTooLong(shown(path)));
    }
    Ok(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a temp dir");
        let chart = dir.path().join("chart");
        std::fs::create_dir_all(chart.join("templates/tests")).expect("mkdir");
        std::fs::write(chart.join("Chart.yaml"), "name: web\n").expect("write");
        std::fs::write(chart.join("templates/service.yaml"), "kind: Service\n").expect("write");
        std::fs::write(chart.join("templates/tests/t.yaml"), "kind: Pod\n").expect("write");
        std::fs::write(dir.path().join("extra.yaml"), "kind: ConfigMap\n").expect("write");
        dir
    }

    #[test]
    fn folders_files_and_stdin_arrive_in_order_with_relative_paths() {
        let dir = tree();
        let inputs = [
            dir.path().join("chart"),
            PathBuf::from("-"),
            dir.path().join("extra.yaml"),
        ];
        let files = read(&inputs, &b"kind: List\n"[..]).expect("read");
        let got: Vec<(u32, &str)> = files.iter().map(|f| (f.input, f.path.as_str())).collect();
        assert_eq!(
            got,
            [
                (0, "Chart.yaml"),
                (0, "templates/service.yaml"),
                (0, "templates/tests/t.yaml"),
                (1, "-"),
                (2, "extra.yaml"),
            ]
        );
        assert_eq!(files[3].contents, b"kind: List\n");
    }

    #[test]
    fn a_missing_input_names_itself() {
        let err = read(&[PathBuf::from("/nonexistent/chart")], &b""[..]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read input /nonexistent/chart: "),
            "{err}"
        );
    }

    #[test]
    fn stdin_twice_is_refused() {
        let err = read(&[PathBuf::from("-"), PathBuf::from("-")], &b""[..]).unwrap_err();
        assert!(matches!(err, InputError::StdinTwice), "{err}");
    }

    #[test]
    fn more_than_the_byte_bound_is_refused() {
        let big = std::io::repeat(b'x').take(MAX_TOTAL_BYTES + 10);
        let err = read(&[PathBuf::from("-")], big).unwrap_err();
        assert!(matches!(err, InputError::TooLarge), "{err}");
    }

    #[test]
    fn a_link_to_a_folder_is_not_followed() {
        let dir = tree();
        let chart = dir.path().join("chart");
        std::os::unix::fs::symlink(&chart, chart.join("templates/loop")).expect("symlink");
        std::os::unix::fs::symlink(chart.join("Chart.yaml"), chart.join("linked.yaml"))
            .expect("symlink");
        let files = read(&[chart], &b""[..]).expect("read");
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "Chart.yaml",
                "linked.yaml",
                "templates/service.yaml",
                "templates/tests/t.yaml"
            ]
        );
    }

    #[test]
    fn a_link_leading_out_of_the_folder_is_refused() {
        let dir = tree();
        let chart = dir.path().join("chart");
        std::os::unix::fs::symlink(dir.path().join("extra.yaml"), chart.join("stolen.yaml"))
            .expect("symlink");
        let err = read(&[chart], &b""[..]).unwrap_err();
        assert!(matches!(err, InputError::LinksOut { .. }), "{err}");
        assert!(
            err.to_string().contains("copy the file in instead"),
            "{err}"
        );
    }
}
