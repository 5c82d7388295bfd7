//! The Deployment's manifest from the run's positional inputs: exactly one object, read by the SDK's `InputFile::objects` (YAML or JSON, multi-document, `List` kinds flattened).

use cutover_guest_sdk::{Error, InputFile};
use serde_json::Value;

/// How to give the manifest, for the errors about it.
pub const USAGE: &str = "usage: cutover run replicaset-to-deployment <deployment.yaml | -> -n <namespace> --set replica-set=<old ReplicaSet>";

/// The one object the inputs hold. No inputs, no object, several objects, a file that is not
/// YAML: [`Error::Invalid`] naming the file. Whether it is a Deployment is the procedure's
/// check (`calico::controller::checked_deployment`).
pub fn read(files: &[InputFile]) -> Result<Value, Error> {
    if files.is_empty() {
        return Err(Error::invalid(format!(
            "no Deployment manifest was given; {USAGE}"
        )));
    }
    let mut objects: Vec<(String, Value)> = Vec::new();
    for file in files {
        // A file named alone is read whatever its name; a folder's, only its manifests.
        let single = files.iter().filter(|f| f.input == file.input).count() == 1;
        if single || file.is_manifest() {
            let name = if file.path == "-" {
                "standard input"
            } else {
                file.path.as_str()
            };
            for (i, object) in file.objects()?.into_iter().enumerate() {
                objects.push((format!("{name}, object {}", i + 1), object));
            }
        }
    }
    let mut objects = objects.into_iter();
    match (objects.next(), objects.next()) {
        (Some((_, object)), None) => Ok(object),
        (None, _) => Err(Error::invalid(format!(
            "the input holds no Kubernetes object: give the Deployment's manifest; {USAGE}"
        ))),
        (Some(first), Some(second)) => {
            let all: Vec<String> = [first, second]
                .into_iter()
                .chain(objects)
                .map(|(what, object)| format!("{} ({what})", describe(&object)))
                .collect();
            Err(Error::invalid(format!(
                "the input holds {} objects, {}: give the Deployment alone (apply its ServiceAccount and RBAC first, with `kubectl apply`)",
                all.len(),
                all.join(", ")
            )))
        }
    }
}

/// `Kind name`, for the list of objects given.
fn describe(object: &Value) -> String {
    let field = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("?")
    };
    format!("{} {}", field("/kind"), field("/metadata/name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> InputFile {
        InputFile {
            path: path.into(),
            input: 0,
            contents: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn one_document_is_the_object() {
        let object = read(&[file(
            "calico-kube-controllers.yaml",
            "---\n# the controller\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: calico-kube-controllers}\n",
        )])
        .unwrap();
        assert_eq!(object["metadata"]["name"], "calico-kube-controllers");
        let json = read(&[file(
            "d.json",
            r#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}}"#,
        )])
        .unwrap();
        assert_eq!(json["kind"], "Deployment");
    }

    #[test]
    fn several_objects_none_or_no_inputs_are_refused_with_what_was_found() {
        let two = read(&[file(
            "all.yaml",
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: calico-kube-controllers}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: calico-kube-controllers}\n",
        )])
        .unwrap_err();
        assert!(two.is_invalid());
        assert_eq!(
            two.to_string(),
            "the input holds 2 objects, ServiceAccount calico-kube-controllers (all.yaml, object 1), Deployment calico-kube-controllers (all.yaml, object 2): give the Deployment alone (apply its ServiceAccount and RBAC first, with `kubectl apply`)"
        );
        let empty = read(&[file("-", "---\n")]).unwrap_err();
        assert!(
            empty
                .to_string()
                .starts_with("the input holds no Kubernetes object")
        );
        let none = read(&[]).unwrap_err();
        assert!(
            none.to_string()
                .starts_with("no Deployment manifest was given; usage:")
        );
    }

    #[test]
    fn lists_are_flattened_and_bad_text_is_named() {
        let list = read(&[file(
            "-",
            "kind: List\nitems:\n- {apiVersion: apps/v1, kind: Deployment, metadata: {name: a}}\n",
        )])
        .unwrap();
        assert_eq!(list["metadata"]["name"], "a");
        let scalar = read(&[file("x.yaml", "just text\n")]).unwrap_err();
        assert_eq!(
            scalar.to_string(),
            "x.yaml, document 1 is not a Kubernetes object (a mapping with apiVersion, kind and metadata.name)"
        );
        let bad = read(&[file("bad.yaml", "a: [\n")]).unwrap_err();
        assert!(
            bad.to_string().starts_with("bad.yaml is not YAML: "),
            "{bad}"
        );
    }

    #[test]
    fn a_folder_gives_only_its_manifest_files() {
        let files = [
            file("README.md", "# notes"),
            file(
                "deployment.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n",
            ),
        ];
        assert_eq!(read(&files).unwrap()["metadata"]["name"], "a");
    }
}
