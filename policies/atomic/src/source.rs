//! What the operator handed over: one chart (a folder with `Chart.yaml` at its root) or plain
//! manifests (YAML or JSON files, multi-document, `List` kinds flattened; `-` for stdin).

use cutover_guest_sdk::{Error, InputFile as File};
use serde_json::Value;

/// How to give inputs, for the error when there are none or they make no sense.
pub const USAGE: &str = "usage: cutover run atomic <chart folder | manifest files or folders | -> \
     [-f values.yaml] [--set k=v] --release <name> (`helm template ... | cutover run atomic -` \
     reads manifests from stdin)";

/// What the inputs hold.
#[derive(Debug, PartialEq)]
pub enum Source {
    /// A chart's files, paths relative to the chart's root.
    Chart(Vec<(String, Vec<u8>)>),
    /// Manifests, in the order given (documents of a file in order, `List` items in order).
    Manifests(Vec<Value>),
}

/// Reads the inputs: one chart, or manifests. No inputs, a chart beside other inputs, a
/// document that is not a Kubernetes object: [`Error::Invalid`] naming the file.
pub fn read(files: &[File]) -> Result<Source, Error> {
    if files.is_empty() {
        return Err(Error::invalid(format!("no inputs were given; {USAGE}")));
    }
    let mut inputs: Vec<u32> = files.iter().map(|f| f.input).collect();
    inputs.dedup();
    let charts: Vec<u32> = inputs
        .iter()
        .copied()
        .filter(|i| {
            files
                .iter()
                .any(|f| f.input == *i && f.path == "Chart.yaml")
        })
        .collect();
    match charts.as_slice() {
        [] => {}
        [chart] if inputs.len() == 1 => {
            return Ok(Source::Chart(
                files
                    .iter()
                    .filter(|f| f.input == *chart)
                    .map(|f| (f.path.clone(), f.contents.clone()))
                    .collect(),
            ));
        }
        _ => {
            return Err(Error::invalid(format!(
                "a chart must be the only input (got {} inputs, {} of them charts); {USAGE}",
                inputs.len(),
                charts.len()
            )));
        }
    }
    let mut objects = Vec::new();
    for input in inputs {
        let of_input: Vec<&File> = files.iter().filter(|f| f.input == input).collect();
        let single = of_input.len() == 1;
        for file in of_input {
            if single || is_manifest_file(&file.path) {
                parse_file(file, &mut objects)?;
            }
        }
    }
    if objects.is_empty() {
        return Err(Error::invalid(format!(
            "the inputs hold no Kubernetes objects (a folder's *.yaml, *.yml and *.json files are read); {USAGE}"
        )));
    }
    Ok(Source::Manifests(objects))
}

fn is_manifest_file(path: &str) -> bool {
    path == "-" || [".yaml", ".yml", ".json"].iter().any(|e| path.ends_with(e))
}

fn parse_file(file: &File, out: &mut Vec<Value>) -> Result<(), Error> {
    out.extend(file.objects()?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn file(path: &str, input: u32, text: &str) -> File {
        File {
            path: path.into(),
            input,
            contents: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn no_inputs_names_the_usage() {
        let e = read(&[]).unwrap_err();
        assert!(e.is_invalid());
        assert!(
            e.to_string().contains("cutover run atomic <chart folder"),
            "{e}"
        );
    }

    #[test]
    fn a_folder_with_chart_yaml_is_a_chart() {
        let files = [
            file("Chart.yaml", 0, "name: mychart\nversion: 0.1.0\n"),
            file("templates/service.yaml", 0, "kind: {{ .Values.kind }}"),
        ];
        let Source::Chart(chart) = read(&files).unwrap() else {
            panic!("not a chart")
        };
        assert_eq!(chart.len(), 2);
        assert_eq!(chart[1].0, "templates/service.yaml");
    }

    #[test]
    fn a_chart_with_other_inputs_is_refused() {
        let files = [
            file("Chart.yaml", 0, "name: c\n"),
            file("extra.yaml", 1, "kind: ConfigMap\n"),
        ];
        assert!(read(&files).unwrap_err().to_string().contains("only input"));
    }

    #[test]
    fn stdin_documents_and_lists_are_flattened_in_order() {
        let stream = "---\n# Source: c/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n---\n\
            apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n\
            - apiVersion: v1\n  kind: ConfigMapList\n  items:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n---\n";
        let Source::Manifests(objects) = read(&[file("-", 0, stream)]).unwrap() else {
            panic!("not manifests")
        };
        let names: Vec<&str> = objects
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["web", "a", "b"]);
    }

    #[test]
    fn a_folder_reads_only_its_manifest_files() {
        let files = [
            file("README.md", 0, "# not yaml: {"),
            file(
                "cm.json",
                0,
                r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j"}}"#,
            ),
            file(
                "deploy.yml",
                0,
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
            ),
        ];
        let Source::Manifests(objects) = read(&files).unwrap() else {
            panic!()
        };
        assert_eq!(
            objects[0],
            json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j"}})
        );
        assert_eq!(objects.len(), 2);
    }

    #[test]
    fn a_document_without_a_name_is_refused_with_its_place() {
        let e = read(&[file("a.yaml", 0, "apiVersion: v1\nkind: ConfigMap\n---\n")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.yaml, document 1 has no metadata.name (a Kubernetes object needs apiVersion, kind and metadata.name)"
        );
        let e = read(&[file("-", 0, "[1, 2]\n")]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("standard input, document 1 is not"),
            "{e}"
        );
    }
}
