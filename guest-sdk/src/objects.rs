//! Kubernetes objects read from the run's input files: YAML (several documents to a file) or
//! JSON, a `List` flattened into its items, each object checked for apiVersion, kind and name.

use serde_json::Value;

use crate::{Error, InputFile};

impl InputFile {
    /// The Kubernetes objects this file holds, in order: every YAML document (JSON for a
    /// `.json` file), the items of a `...List`, nothing for an empty document. An object
    /// without apiVersion, kind or metadata.name is an `invalid` error naming the file and
    /// the document.
    ///
    /// ```
    /// let file = cutover_guest_sdk::InputFile {
    ///     path: "calico.yaml".into(),
    ///     input: 0,
    ///     contents: b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: calico-config}\n---\n\
    ///         apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: calico-node}\n".to_vec(),
    /// };
    /// let objects = file.objects()?;
    /// assert_eq!(objects[1]["kind"], "DaemonSet");
    /// # Ok::<(), cutover_guest_sdk::Error>(())
    /// ```
    pub fn objects(&self) -> Result<Vec<Value>, Error> {
        let name = if self.path == "-" {
            "standard input"
        } else {
            self.path.as_str()
        };
        let text = std::str::from_utf8(&self.contents)
            .map_err(|_| Error::invalid(format!("{name} is not UTF-8 text")))?;
        let documents: Vec<Value> = if self.path.ends_with(".json") {
            vec![
                serde_json::from_str(text)
                    .map_err(|e| Error::invalid(format!("{name} is not JSON: {e}")))?,
            ]
        } else {
            serde_saphyr::from_str_multiple(text)
                .map_err(|e| Error::invalid(format!("{name} is not YAML: {}", first_line(&e))))?
        };
        let mut out = Vec::new();
        for (i, document) in documents.into_iter().enumerate() {
            flatten(document, &format!("{name}, document {}", i + 1), &mut out)?;
        }
        Ok(out)
    }

    /// Whether the file is one [`InputFile::objects`] reads: `.yaml`, `.yml`, `.json`, or
    /// standard input.
    pub fn is_manifest(&self) -> bool {
        self.path == "-"
            || [".yaml", ".yml", ".json"]
                .iter()
                .any(|e| self.path.ends_with(e))
    }
}

/// Every object of `files` that are manifests ([`InputFile::is_manifest`]), in order.
///
/// ```
/// let files = [cutover_guest_sdk::InputFile {
///     path: "README.md".into(), input: 0, contents: b"not read".to_vec(),
/// }];
/// assert!(cutover_guest_sdk::objects::objects_of(&files)?.is_empty());
/// # Ok::<(), cutover_guest_sdk::Error>(())
/// ```
pub fn objects_of(files: &[InputFile]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for file in files.iter().filter(|f| f.is_manifest()) {
        out.extend(file.objects()?);
    }
    Ok(out)
}

/// Adds `document` to `out`: nothing for an empty document, the items of a `List` (of any
/// `...List` kind with `items`), else the object once it names its apiVersion, kind and name.
fn flatten(document: Value, what: &str, out: &mut Vec<Value>) -> Result<(), Error> {
    match document {
        Value::Null => Ok(()),
        Value::Object(ref map) => {
            let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
            if let (true, Some(Value::Array(items))) = (kind.ends_with("List"), map.get("items")) {
                for (i, item) in items.iter().enumerate() {
                    flatten(item.clone(), &format!("{what}, item {}", i + 1), out)?;
                }
                return Ok(());
            }
            check_object(&document, what)?;
            out.push(document);
            Ok(())
        }
        _ => Err(Error::invalid(format!(
            "{what} is not a Kubernetes object (a mapping with apiVersion, kind and metadata.name)"
        ))),
    }
}

/// An object names its apiVersion, kind and metadata.name, as text.
///
/// ```
/// use serde_json::json;
/// let e = cutover_guest_sdk::objects::check_object(&json!({"kind": "Pod"}), "pod.yaml").unwrap_err();
/// assert!(e.to_string().contains("pod.yaml has no apiVersion"));
/// ```
pub fn check_object(object: &Value, what: &str) -> Result<(), Error> {
    for pointer in ["/apiVersion", "/kind", "/metadata/name"] {
        match object.pointer(pointer).and_then(Value::as_str) {
            Some(s) if !s.is_empty() => {}
            _ => {
                return Err(Error::invalid(format!(
                    "{what} has no {} (a Kubernetes object needs apiVersion, kind and metadata.name)",
                    &pointer[1..].replace('/', ".")
                )));
            }
        }
    }
    Ok(())
}

/// The first line of a parser's message, capped: enough to find the fault.
fn first_line(e: &impl std::fmt::Display) -> String {
    let text = e.to_string();
    let line = text.lines().next().unwrap_or_default();
    line.chars().take(200).collect()
}
