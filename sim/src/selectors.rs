//! Label selectors (string and `LabelSelector` object forms) and field selectors, matched
//! against stored objects; the string forms are parsed by `cutover-grammar`.

use cutover_grammar::selector::{self, Labels};
use serde_json::{Map, Value};

use crate::error::ApiError;

pub use cutover_grammar::selector::{FieldRequirement, Requirement};

/// A label selector: all requirements must hold. The empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    /// The requirements, ANDed.
    pub requirements: Vec<Requirement>,
}

/// An object's `metadata.labels` (possibly absent) as the grammar's label map.
struct JsonLabels<'a>(Option<&'a Map<String, Value>>);

impl Labels for JsonLabels<'_> {
    fn label(&self, key: &str) -> Option<&str> {
        self.0.and_then(|l| l.get(key)).and_then(Value::as_str)
    }
}

impl LabelSelector {
    /// Parses the string form used in `?labelSelector=`; errors are 400 BadRequest.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let parsed =
            selector::LabelSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?;
        Ok(LabelSelector {
            requirements: parsed.requirements,
        })
    }

    /// Builds a selector from a `metav1.LabelSelector` object (`matchLabels`, `matchExpressions`).
    pub fn from_json(selector: &Value) -> Result<Self, ApiError> {
        let mut requirements = Vec::new();
        if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in labels {
                requirements.push(Requirement::Equals(
                    k.clone(),
                    v.as_str().unwrap_or_default().to_string(),
                ));
            }
        }
        for expr in selector
            .get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = expr["key"].as_str().unwrap_or_default().to_string();
            let values: Vec<String> = expr["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            requirements.push(match expr["operator"].as_str().unwrap_or_default() {
                "In" => Requirement::In(key, values),
                "NotIn" => Requirement::NotIn(key, values),
                "Exists" => Requirement::Exists(key),
                "DoesNotExist" => Requirement::DoesNotExist(key),
                other => {
                    return Err(ApiError::bad_request(format!(
                        "\"{other}\" is not a valid label selector operator"
                    )));
                }
            });
        }
        Ok(LabelSelector { requirements })
    }

    /// Whether a label map (`metadata.labels`, possibly absent) satisfies every requirement.
    pub fn matches_labels(&self, labels: Option<&Map<String, Value>>) -> bool {
        let labels = JsonLabels(labels);
        self.requirements.iter().all(|r| r.matches(&labels))
    }

    /// Whether an object's `metadata.labels` satisfy the selector.
    pub fn matches(&self, object: &Value) -> bool {
        self.matches_labels(
            object
                .pointer("/metadata/labels")
                .and_then(Value::as_object),
        )
    }

    /// Whether there are no requirements (matches everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

impl std::fmt::Display for LabelSelector {
    /// The string form (`a=b,c in (x,y),!d`), as in `Scale.status.selector`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, requirement) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{requirement}")?;
        }
        Ok(())
    }
}

/// A field selector: all terms must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    /// The terms, ANDed.
    pub requirements: Vec<FieldRequirement>,
}

/// The fields a kind can be selected on, as kube-apiserver 1.20 lists them (each kind's
/// `ToSelectableFields` and its field label conversion): `metadata.name` everywhere and
/// `metadata.namespace` on namespaced kinds, plus the kind's own.
pub fn supported_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => &[
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        "Node" => &["metadata.name", "spec.unschedulable"],
        "Namespace" => &["metadata.name", "status.phase"],
        "Secret" => &["metadata.name", "metadata.namespace", "type"],
        "Job" => &["metadata.name", "metadata.namespace", "status.successful"],
        _ => &["metadata.name", "metadata.namespace"],
    }
}

/// A field's value as the real server's selectable fields spell it: strings as they are, a
/// bool as `true`/`false` (`spec.unschedulable` absent is `false`), a number in decimal
/// (`status.successful` absent is `0`); `None` when the object has no such field.
pub(crate) fn field_value(object: &Value, field: &str) -> Option<String> {
    let pointer = format!("/{}", field.replace('.', "/"));
    match (object.pointer(&pointer), field) {
        (Some(Value::String(s)), _) => Some(s.clone()),
        (Some(Value::Bool(b)), _) => Some(b.to_string()),
        (Some(Value::Number(n)), _) => Some(n.to_string()),
        (None | Some(Value::Null), "spec.unschedulable") => Some("false".into()),
        (None | Some(Value::Null), "status.successful") => Some("0".into()),
        _ => None,
    }
}

impl FieldSelector {
    /// Parses `?fieldSelector=` for `kind`; unknown fields and syntax errors are 400 BadRequest,
    /// reported for the first bad term in the order they are written.
    pub fn parse(s: &str, kind: &str) -> Result<Self, ApiError> {
        let mut requirements = Vec::new();
        for term in selector::FieldSelector::terms(s) {
            let term = term.map_err(|e| ApiError::bad_request(e.to_string()))?;
            if !supported_fields(kind).contains(&term.field.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {}",
                    term.field
                )));
            }
            requirements.push(term);
        }
        Ok(FieldSelector { requirements })
    }

    /// Whether the object satisfies every term.
    pub fn matches(&self, object: &Value) -> bool {
        self.requirements
            .iter()
            .all(|r| r.matches(field_value(object, &r.field).as_deref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(labels: Value) -> Value {
        json!({"metadata": {"name": "a", "namespace": "ns", "labels": labels}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}})
    }

    #[test]
    fn label_selector_operators() {
        let o = obj(json!({"app": "web", "tier": "front"}));
        let yes = [
            "",
            "app=web",
            "app==web",
            "app!=db",
            "missing!=x",
            "app in (web, db)",
            "app notin (db)",
            "missing notin (db)",
            "app",
            "!missing",
            "app=web,tier in (front),!missing",
        ];
        for s in yes {
            assert!(LabelSelector::parse(s).unwrap().matches(&o), "{s}");
        }
        let no = [
            "app=db",
            "app!=web",
            "app in (db)",
            "app notin (web,db)",
            "missing",
            "!app",
            "app=web,tier=back",
        ];
        for s in no {
            assert!(!LabelSelector::parse(s).unwrap().matches(&o), "{s}");
        }
        assert_eq!(
            LabelSelector::parse("a in (x,y),b").unwrap().requirements,
            vec![
                Requirement::In("a".into(), vec!["x".into(), "y".into()]),
                Requirement::Exists("b".into())
            ]
        );
    }

    #[test]
    fn label_selector_round_trips_as_a_string() {
        let s = "a=b,c in (x,y),d notin (z),e,!f,g!=h";
        assert_eq!(LabelSelector::parse(s).unwrap().to_string(), s);
    }

    #[test]
    fn label_selector_errors_are_400() {
        for s in ["app in web", "app=web,", "a b c", "a in ()", "=x", "a=b c"] {
            let err = LabelSelector::parse(s).unwrap_err();
            assert_eq!(err.code, 400, "{s}");
        }
    }

    #[test]
    fn label_selector_objects() {
        let sel = LabelSelector::from_json(&json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]
        }))
        .unwrap();
        assert!(sel.matches(&obj(json!({"app": "web", "tier": "front"}))));
        assert!(!sel.matches(&obj(json!({"app": "web"}))));
        assert!(LabelSelector::from_json(&json!({})).unwrap().is_empty());
        assert!(
            LabelSelector::from_json(
                &json!({"matchExpressions": [{"key": "a", "operator": "Nope"}]})
            )
            .is_err()
        );
    }

    #[test]
    fn field_selectors() {
        let o = obj(json!({}));
        for s in [
            "metadata.name=a",
            "metadata.namespace==ns",
            "spec.nodeName=n1,status.phase!=Pending",
        ] {
            assert!(FieldSelector::parse(s, "Pod").unwrap().matches(&o), "{s}");
        }
        assert!(
            !FieldSelector::parse("spec.nodeName=", "Pod")
                .unwrap()
                .matches(&o)
        );
        assert!(
            FieldSelector::parse("spec.nodeName=", "Pod")
                .unwrap()
                .matches(&json!({"metadata": {}}))
        );
        let err = FieldSelector::parse("spec.nodeName=n1", "ConfigMap").unwrap_err();
        assert_eq!(err.code, 400);
        assert_eq!(err.message, "field label not supported: spec.nodeName");
        assert_eq!(
            FieldSelector::parse("nonsense", "Pod").unwrap_err().code,
            400
        );
    }

    #[test]
    fn node_and_pod_field_selectors_of_1_20() {
        let cordoned = json!({"metadata": {"name": "n1"}, "spec": {"unschedulable": true}});
        let plain = json!({"metadata": {"name": "n2"}, "spec": {}});
        let sel = |s: &str| FieldSelector::parse(s, "Node").unwrap();
        assert!(sel("spec.unschedulable=true").matches(&cordoned));
        assert!(!sel("spec.unschedulable=true").matches(&plain));
        assert!(sel("spec.unschedulable=false").matches(&plain));
        assert!(sel("spec.unschedulable!=true,metadata.name=n2").matches(&plain));
        assert_eq!(
            FieldSelector::parse("metadata.namespace=x", "Node")
                .unwrap_err()
                .code,
            400
        );
        let pod = json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"restartPolicy": "Never", "schedulerName": "default-scheduler",
                     "serviceAccountName": "default", "nodeName": "n1"},
            "status": {"phase": "Running", "podIP": "10.0.0.1", "nominatedNodeName": "n2"},
        });
        for s in [
            "spec.restartPolicy=Never",
            "spec.schedulerName=default-scheduler",
            "spec.serviceAccountName=default",
            "status.podIP=10.0.0.1",
            "status.nominatedNodeName=n2",
            "spec.restartPolicy!=Always",
        ] {
            assert!(FieldSelector::parse(s, "Pod").unwrap().matches(&pod), "{s}");
        }
        let job = json!({"metadata": {"name": "j"}, "status": {}});
        assert!(
            FieldSelector::parse("status.successful=0", "Job")
                .unwrap()
                .matches(&job)
        );
    }
}
