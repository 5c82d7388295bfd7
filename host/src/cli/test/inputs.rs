//! A scenario's `run.inputs`: paths inside the scenario's folder, resolved into the positional
//! inputs `cutover run` takes (which `crate::input_files` then reads, with its own rules).

use std::path::{Component, Path, PathBuf};

/// The inputs `given` at `field` (`run.inputs`, `run.then[0].inputs`), each joined to the
/// folder of `scenario`. A scenario is someone else's file: an input that leads out of its
/// folder (`..`, an absolute path, a link to elsewhere) or that is standard input (`-`) is
/// refused, as is one that does not exist.
pub(super) fn resolve(
    scenario: &Path,
    given: &[String],
    field: &str,
) -> Result<Vec<PathBuf>, String> {
    let base = match scenario.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let real_base = std::fs::canonicalize(base).map_err(|e| {
        format!(
            "{field}: cannot read the scenario's folder {}: {e}",
            base.display()
        )
    })?;
    let mut inputs = Vec::with_capacity(given.len());
    for (i, text) in given.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let shown = crate::text::escape(text, 256);
        if text == "-" {
            return Err(format!(
                "{at}: standard input (-) is not a scenario's input: put the manifests in a file beside the scenario"
            ));
        }
        let path = Path::new(text);
        let inside = !text.is_empty()
            && path
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !inside {
            return Err(format!(
                "{at}: {shown:?} is not a path inside the scenario's folder (relative, without `..`): copy the files in instead"
            ));
        }
        let joined = base.join(path);
        let real = std::fs::canonicalize(&joined).map_err(|e| {
            format!(
                "{at}: cannot read {}: {e}",
                crate::text::escape(&joined.display().to_string(), 256)
            )
        })?;
        if !real.starts_with(&real_base) {
            return Err(format!(
                "{at}: {shown:?} is a link to {}, outside the scenario's folder: copy the files in instead",
                crate::text::escape(&real.display().to_string(), 256)
            ));
        }
        inputs.push(joined);
    }
    Ok(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scenario file beside a chart folder and a file, in a folder of its own, with a file
    /// outside that folder.
    fn tree() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("a temp dir");
        let folder = dir.path().join("scenarios");
        std::fs::create_dir_all(folder.join("charts/web/templates")).expect("mkdir");
        std::fs::write(folder.join("charts/web/Chart.yaml"), "name: web\n").expect("write");
        std::fs::write(folder.join("extra.yaml"), "kind: ConfigMap\n").expect("write");
        std::fs::write(dir.path().join("outside.yaml"), "kind: Secret\n").expect("write");
        let scenario = folder.join("install.yaml");
        std::fs::write(&scenario, "seed: 1\n").expect("write");
        (dir, scenario)
    }

    fn given(paths: &[&str]) -> Vec<String> {
        paths.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn inputs_are_joined_to_the_scenario_folder_in_order() {
        let (_dir, scenario) = tree();
        let folder = scenario.parent().unwrap().to_path_buf();
        let inputs = resolve(
            &scenario,
            &given(&["charts/web", "./extra.yaml"]),
            "run.inputs",
        )
        .expect("resolved");
        assert_eq!(
            inputs,
            [folder.join("charts/web"), folder.join("./extra.yaml")]
        );
        assert!(
            resolve(&scenario, &[], "run.inputs")
                .expect("none")
                .is_empty()
        );
    }

    #[test]
    fn a_path_out_of_the_folder_is_refused_with_its_field() {
        let (dir, scenario) = tree();
        let outside = dir.path().join("outside.yaml").display().to_string();
        for bad in [
            "../outside.yaml",
            "charts/../../outside.yaml",
            outside.as_str(),
            "",
        ] {
            let err = resolve(
                &scenario,
                &given(&["extra.yaml", bad]),
                "run.then[0].inputs",
            )
            .unwrap_err();
            assert!(err.starts_with("run.then[0].inputs[1]: "), "{err}");
            assert!(
                err.contains("not a path inside the scenario's folder"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_link_out_of_the_folder_stdin_and_a_missing_path_are_refused() {
        let (dir, scenario) = tree();
        let folder = scenario.parent().unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside.yaml"), folder.join("link.yaml"))
            .expect("symlink");
        let err = resolve(&scenario, &given(&["link.yaml"]), "run.inputs").unwrap_err();
        assert!(
            err.starts_with("run.inputs[0]: \"link.yaml\" is a link to "),
            "{err}"
        );
        assert!(err.contains("outside the scenario's folder"), "{err}");
        let err = resolve(&scenario, &given(&["-"]), "run.inputs").unwrap_err();
        assert!(
            err.contains("standard input (-) is not a scenario's input"),
            "{err}"
        );
        let err = resolve(&scenario, &given(&["charts/nope"]), "run.inputs").unwrap_err();
        assert!(err.starts_with("run.inputs[0]: cannot read "), "{err}");
    }
}
