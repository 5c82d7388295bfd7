//! How host calls are written on a tape: each call's arguments as a JSON object keyed by the
//! WIT parameter names (compared, never read back), each answer as `{"ok": ...}` or
//! `{"error": {"kind", "message"}}` (read back on replay). WIT `json` strings are stored as the
//! JSON they hold, so that the tape reads as JSON and compares semantically.

use serde_json::{Value, json};

use crate::sandbox::bindings::cutover::policy::cluster::{
    Condition, DeleteOptions, ListQuery, PatchType, PodRef, SetCondition, WaitSet,
};
use crate::sandbox::bindings::cutover::policy::inputs::InputFile;
use crate::sandbox::bindings::cutover::policy::probe::{
    HttpRequest, HttpResponse, PrometheusQuery, Sample,
};
use crate::sandbox::bindings::cutover::policy::revisions::{Revision, RevisionStatus};
use crate::sandbox::bindings::cutover::policy::rollout::Request;
use crate::sandbox::bindings::cutover::policy::types::{Error, ObjectRef};
use crate::sandbox::host::call::{error_kind, error_message};

/// The key a WIT `json` string that is not valid JSON is kept under, so that it survives as text.
/// (A policy sending exactly `{"cutover.dev/not-json": "..."}` would compare equal to sending that
/// text unparsed: harmless, as both are the policy's own bytes.)
const NOT_JSON: &str = "cutover.dev/not-json";

/// A WIT `json` string as the JSON it holds (or, when it holds none, its text, marked).
pub fn json_text(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| json!({ NOT_JSON: text }))
}

/// The WIT `json` string a tape's value stands for.
fn json_back(value: &Value) -> String {
    match value.get(NOT_JSON).and_then(Value::as_str) {
        Some(text) if value.as_object().is_some_and(|o| o.len() == 1) => text.to_string(),
        _ => value.to_string(),
    }
}

pub fn object_ref(target: &ObjectRef) -> Value {
    json!({
        "api-version": target.api_version,
        "kind": target.kind,
        "namespace": target.namespace,
        "name": target.name,
    })
}

pub fn list_query(query: &ListQuery) -> Value {
    json!({
        "api-version": query.api_version,
        "kind": query.kind,
        "namespace": query.namespace,
        "label-selector": query.label_selector,
        "field-selector": query.field_selector,
    })
}

pub fn patch_type(kind: PatchType) -> Value {
    Value::from(match kind {
        PatchType::Merge => "merge",
        PatchType::Json => "json",
        PatchType::Strategic => "strategic",
        PatchType::Apply => "apply",
    })
}

pub fn condition(until: &Condition) -> Value {
    match until {
        Condition::Ready => json!("ready"),
        Condition::RolledOut => json!("rolled-out"),
        Condition::Deleted => json!("deleted"),
        Condition::DeletedUid(uid) => json!({ "deleted-uid": uid }),
        Condition::Field(field) => json!({
            "field": { "pointer": field.pointer, "equals": json_text(&field.equals) }
        }),
    }
}

pub fn delete_options(options: &DeleteOptions) -> Value {
    json!({ "uid": options.uid, "grace-period-seconds": options.grace_period_seconds })
}

pub fn wait_set(targets: &WaitSet) -> Value {
    match targets {
        WaitSet::Objects(objects) => {
            json!({ "objects": objects.iter().map(object_ref).collect::<Vec<_>>() })
        }
        WaitSet::Query(query) => json!({ "query": list_query(query) }),
    }
}

pub fn set_condition(until: SetCondition) -> Value {
    match until {
        SetCondition::AllReady(at_least) => json!({ "all-ready": at_least }),
        SetCondition::AllGone => json!("all-gone"),
    }
}

pub fn pod_ref(pod: &PodRef) -> Value {
    json!({ "namespace": pod.namespace, "name": pod.name, "uid": pod.uid })
}

/// Why a tape's answer cannot be what a call returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadAnswer(String);

fn bad(what: &str, value: &Value) -> BadAnswer {
    let mut shown = value.to_string();
    if shown.len() > 200 {
        shown = format!("{}...", crate::text::cap(&shown, 200));
    }
    BadAnswer(format!("expected {what}, found {shown}"))
}

/// A host call's answer as a tape holds it.
pub trait Answer: Sized {
    fn encode(&self) -> Value;
    fn decode(value: &Value) -> Result<Self, BadAnswer>;
}

/// A WIT `json` answer (the Rust type is a plain `String`, as for text).
pub struct Json(pub String);

impl Answer for Json {
    fn encode(&self) -> Value {
        json_text(&self.0)
    }
    fn decode(value: &Value) -> Result<Self, BadAnswer> {
        Ok(Json(json_back(value)))
    }
}

impl Answer for Vec<Json> {
    fn encode(&self) -> Value {
        Value::Array(self.iter().map(Answer::encode).collect())
    }
    fn decode(value: &Value) -> Result<Self, BadAnswer> {
        let items = value
            .as_array()
            .ok_or_else(|| bad("a list of JSON objects", value))?;
        items.iter().map(Json::decode).collect()
    }
}

impl Answer for () {
    fn encode(&self) -> Value {
        Value::Null
    }
    fn decode(value: &Value) -> Result<Self, BadAnswer> {
        value
            .is_null()
            .then_some(())
            .ok_or_else(|| bad("null", value))
    }
}

impl Answer for u64 {
    fn encode(&self) -> Value {
        Value::from(*self)
    }
    fn decode(value: &Value) -> Result<Self, BadAnswer> {
        value
            .as_u64()
            .ok_or_else(|| bad("an unsigned integer", value))
    }
}

impl Answer for bool {
    fn encode(&self) -> Value {
        Value::from(*self)
    }
    fn decode(value: &Value) -> Result<Self, BadAnswer> {
        value.as_bool().ok_or_else(|| bad("true or false", value))
    }
}

/// `restore`'s answer: text, not JSON.
impl Answer for Option<String> {
    fn encode(&self) -> Value {
        self.as_deref().map_or(Value::Null, Value::from)
    }
    fn decode(value: &Value) -> Result<Self, BadAnswer> {
        match value {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            other => Err(bad("a string or null", other)),
        }
    }
}

/// `inputs.files`'s answer: each file's path, input and contents (base64).
impl Answer for Vec<InputFile> {
    fn encode(&self) -> Value {
        use base64::Engine;
        Value::Array(
            self.iter()
                .map(|f| {
                    json!({
                        "path": f.path,
                        "input": f.input,
                        "contents": base64::engine::general_purpose::STANDARD.encode(&f.contents),
                    })
                })
                .collect(),
        )
    }
    fn decode(value: &Value) -> Result<Self, BadAnswer> {
        use base64::Engine;
        let shape = "a list of {path, input, contents}";
        let items = value.as_array().ok_or_else(|| bad(shape, value))?;
        items
            .iter()
            .map(|item| {
                let path = item.get("path").and_then(Value::as_str);
                let input = item
                    .get("input")
                    .and_then(Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok());
                let contents = item
                    .get("contents")
                    .and_then(Value::as_str)
                    .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
                match (path, input, contents) {
                    (Some(path), Some(input), Some(contents)) => Ok(InputFile {
                        path: path.to_string(),
                        input,
                        contents,
                    }),
                    _ => Err(bad(shape, item)),
                }
            })
            .collect()
    }
}

const REQUESTS: [(Request, &str); 6] = [
    (Request::Start, "start"),
    (Request::Resume, "resume"),
    (Request::Promote, "promote"),
    (Request::PromoteFull, "promote-full"),
    (Request::Abort, "abort"),
    (Request::Retry, "retry"),
];

/// `rollout.requested`'s answer, by its WIT name.
impl Answer for Request {
    fn encode(&self) -> Value {
        let name = REQUESTS
            .iter()
            .find(|(r, _)| r == self)
            .map_or("unknown", |(_, name)| name);
        Value::from(name)
    }
    fn decode(value: &Value) -> Result<Self, BadAnswer> {
        REQUESTS
            .iter()
            .find(|(_, name)| Some(*name) == value.as_str())
            .map(|(r, _)| *r)
            .ok_or_else(|| {
                bad(
                    "a request (start, resume, promote, promote-full, abort, retry)",
                    value,
                )
            })
    }
}

const STATUSES: [(RevisionStatus, &str); 8] = [
    (RevisionStatus::PendingInstall, "pending-install"),
    (RevisionStatus::PendingUpgrade, "pending-upgrade"),
    (RevisionStatus::PendingRollback, "pending-rollback"),
    (RevisionStatus::Deployed, "deployed"),
    (RevisionStatus::Failed, "failed"),
    (RevisionStatus::Superseded, "superseded"),
    (RevisionStatus::Uninstalled, "uninstalled"),
    (RevisionStatus::Paused, "paused"),
];

impl Answer for Revision {
    fn encode(&self) -> Value {
        let status = STATUSES
            .iter()
            .find(|(s, _)| *s == self.status)
            .map_or("unknown", |(_, name)| name);
        json!({
            "number": self.number,
            "status": status,
            "policy": self.policy,
            "params": json_text(&self.params),
            "manifests": json_text(&self.manifests),
            "updated": self.updated,
            "description": self.description,
        })
    }
    fn decode(value: &Value) -> Result<Self, BadAnswer> {
        let field = |name: &str| value.get(name).ok_or_else(|| bad(name, value));
        let text = |name: &str| {
            field(name)?
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| bad(&format!("a string {name}"), value))
        };
        let number = field("number")?
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| bad("a revision number", value))?;
        let status_name = text("status")?;
        let status = STATUSES
            .iter()
            .find(|(_, name)| *name == status_name)
            .map(|(s, _)| *s)
            .ok_or_else(|| bad("a revision status", value))?;
        Ok(Revision {
            number,
            status,
            policy: text("policy")?,
            params: json_back(field("params")?),
            manifests: json_back(field("manifests")?),
            updated: text("updated")?,
            description: text("description")?,
        })
    }
}

impl Answer for Vec<Revision> {
    fn encode(&self) -> Value {
        Value::Array(self.iter().map(Answer::encode).collect())
    }
    fn decode(value: &Value) -> Result<Self, BadAnswer> {
        let items = value
            .as_array()
            .ok_or_else(|| bad("a list of revisions", value))?;
        items.iter().map(Revision::decode).collect()
    }
}

pub fn http_request(request: &HttpRequest) -> Value {
    json!({
        "url": request.url,
        "timeout-ms": request.timeout_ms,
        "max-bytes": request.max_bytes,
        "json-path": request.json_path,
    })
}

pub fn prometheus_query(query: &PrometheusQuery) -> Value {
    json!({
        "address": query.address,
        "query": query.query,
        "timeout-ms": query.timeout_ms,
    })
}

impl Answer for HttpResponse {
    fn encode(&self) -> Value {
        json!({
            "status": self.status,
            "value": self.value.as_deref().map(json_text),
            "body": self.body,
            "elapsed-ms": self.elapsed_ms,
        })
    }
    fn decode(value: &Value) -> Result<Self, BadAnswer> {
        let field = |name: &str| value.get(name).ok_or_else(|| bad(name, value));
        let status = field("status")?
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(|| bad("an HTTP status", value))?;
        let found = match field("value")? {
            Value::Null => None,
            other => Some(json_back(other)),
        };
        let body = field("body")?
            .as_str()
            .ok_or_else(|| bad("a string body", value))?
            .to_string();
        let elapsed_ms = field("elapsed-ms")?
            .as_u64()
            .ok_or_else(|| bad("an unsigned elapsed-ms", value))?;
        Ok(HttpResponse {
            status,
            value: found,
            body,
            elapsed_ms,
        })
    }
}

/// A sample's value: a JSON number, or `"NaN"`, `"+Inf"`, `"-Inf"` (which JSON cannot hold).
fn sample_value(value: f64) -> Value {
    if value.is_nan() {
        json!("NaN")
    } else if value == f64::INFINITY {
        json!("+Inf")
    } else if value == f64::NEG_INFINITY {
        json!("-Inf")
    } else {
        json!(value)
    }
}

impl Answer for Vec<Sample> {
    fn encode(&self) -> Value {
        Value::Array(
            self.iter()
                .map(|s| {
                    json!({
                        "labels": s.labels.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
                        "value": sample_value(s.value),
                    })
                })
                .collect(),
        )
    }
    fn decode(value: &Value) -> Result<Self, BadAnswer> {
        let items = value
            .as_array()
            .ok_or_else(|| bad("a list of samples", value))?;
        items
            .iter()
            .map(|item| {
                let labels = item
                    .get("labels")
                    .and_then(Value::as_array)
                    .ok_or_else(|| bad("a sample's labels", item))?
                    .iter()
                    .map(|pair| match pair.as_array().map(Vec::as_slice) {
                        Some([Value::String(k), Value::String(v)]) => Ok((k.clone(), v.clone())),
                        _ => Err(bad("a label [name, value]", pair)),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let value = match item.get("value") {
                    Some(Value::Number(n)) => n.as_f64(),
                    Some(Value::String(s)) => match s.as_str() {
                        "NaN" => Some(f64::NAN),
                        "+Inf" => Some(f64::INFINITY),
                        "-Inf" => Some(f64::NEG_INFINITY),
                        _ => None,
                    },
                    _ => None,
                }
                .ok_or_else(|| bad("a sample's value", item))?;
                Ok(Sample { labels, value })
            })
            .collect()
    }
}

const ERROR_KINDS: [&str; 8] = [
    "not-found",
    "conflict",
    "forbidden",
    "invalid",
    "timeout",
    "unavailable",
    "aborted",
    "other",
];

fn error_of(kind: &str, message: String) -> Option<Error> {
    Some(match kind {
        "not-found" => Error::NotFound(message),
        "conflict" => Error::Conflict(message),
        "forbidden" => Error::Forbidden(message),
        "invalid" => Error::Invalid(message),
        "timeout" => Error::Timeout(message),
        "unavailable" => Error::Unavailable(message),
        "aborted" => Error::Aborted(message),
        "other" => Error::Other(message),
        _ => return None,
    })
}

/// A fallible call's answer: `{"ok": value}` or `{"error": {"kind", "message"}}`.
impl<T: Answer> Answer for Result<T, Error> {
    fn encode(&self) -> Value {
        match self {
            Ok(value) => json!({ "ok": value.encode() }),
            Err(error) => json!({
                "error": { "kind": error_kind(error), "message": error_message(error) }
            }),
        }
    }
    fn decode(value: &Value) -> Result<Self, BadAnswer> {
        let wrong = || {
            bad(
                "{\"ok\": ...} or {\"error\": {\"kind\", \"message\"}}",
                value,
            )
        };
        let object = value
            .as_object()
            .filter(|o| o.len() == 1)
            .ok_or_else(wrong)?;
        if let Some(ok) = object.get("ok") {
            return T::decode(ok).map(Ok);
        }
        let error = object.get("error").ok_or_else(wrong)?;
        let kind = error.get("kind").and_then(Value::as_str);
        let message = error.get("message").and_then(Value::as_str);
        match (kind, message) {
            (Some(kind), Some(message)) => {
                error_of(kind, message.to_string()).map(Err).ok_or_else(|| {
                    bad(
                        &format!("an error kind ({})", ERROR_KINDS.join(", ")),
                        error,
                    )
                })
            }
            _ => Err(wrong()),
        }
    }
}

/// `evict-many`'s answer: one outcome per pod.
pub struct Outcomes(pub Vec<Result<(), Error>>);

impl Answer for Outcomes {
    fn encode(&self) -> Value {
        Value::Array(self.0.iter().map(Answer::encode).collect())
    }
    fn decode(value: &Value) -> Result<Self, BadAnswer> {
        let items = value
            .as_array()
            .ok_or_else(|| bad("a list of outcomes", value))?;
        items
            .iter()
            .map(<Result<(), Error>>::decode)
            .collect::<Result<Vec<_>, _>>()
            .map(Outcomes)
    }
}

/// An infallible call's answer, `{"ok": value}`, as every answer reads.
pub struct Infallible<T>(pub T);

impl<T: Answer> Answer for Infallible<T> {
    fn encode(&self) -> Value {
        json!({ "ok": self.0.encode() })
    }
    fn decode(value: &Value) -> Result<Self, BadAnswer> {
        match value
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.get("ok"))
        {
            Some(ok) => T::decode(ok).map(Infallible),
            None => Err(bad("{\"ok\": ...}", value)),
        }
    }
}

/// The functions a tape may hold, with their answer's shape: a tape is checked whole before a
/// replay starts, so that a malformed one is refused before any policy code runs.
pub fn check_answer(function: &str, args: &Value, answer: &Value) -> Result<(), BadAnswer> {
    fn check<A: Answer>(answer: &Value) -> Result<(), BadAnswer> {
        A::decode(answer).map(drop)
    }
    match function {
        "cluster.get" | "cluster.apply" | "cluster.patch" | "cluster.wait" => {
            check::<Result<Json, Error>>(answer)
        }
        "cluster.list" | "cluster.wait-all" => check::<Result<Vec<Json>, Error>>(answer),
        "cluster.evict-many" => {
            check::<Result<Outcomes, Error>>(answer)?;
            // One outcome per pod asked about: a tape may not hand the policy more or fewer.
            let asked = args
                .get("pods")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            match answer.get("ok").and_then(Value::as_array) {
                Some(outcomes) if outcomes.len() != asked => Err(BadAnswer(format!(
                    "{} outcomes for the {asked} pods asked about",
                    outcomes.len()
                ))),
                _ => Ok(()),
            }
        }
        "cluster.delete"
        | "cluster.delete-with"
        | "cluster.scale"
        | "cluster.cordon"
        | "cluster.uncordon"
        | "cluster.evict"
        | "cluster.wait-current"
        | "revisions.record"
        | "runtime.checkpoint"
        | "rollout.pause" => check::<Result<(), Error>>(answer),
        "revisions.list-revisions" => check::<Result<Vec<Revision>, Error>>(answer),
        "revisions.get-revision" => check::<Result<Revision, Error>>(answer),
        "runtime.now" | "runtime.deadline" => check::<Infallible<u64>>(answer),
        "runtime.sleep" => check::<Infallible<bool>>(answer),
        "runtime.restore" => check::<Infallible<Option<String>>>(answer),
        "rollout.requested" => check::<Infallible<Request>>(answer),
        "inputs.files" => check::<Infallible<Vec<InputFile>>>(answer),
        "probe.http-get" => check::<Result<HttpResponse, Error>>(answer),
        "probe.query-prometheus" => check::<Result<Vec<Sample>, Error>>(answer),
        other => Err(BadAnswer(format!(
            "`{}` is not a host function a tape records",
            crate::text::escape(other, 64)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<A: Answer>(answer: &A) -> A {
        A::decode(&answer.encode()).expect("decodes what it encoded")
    }

    #[test]
    fn probe_answers_round_trip() {
        let response = HttpResponse {
            status: 503,
            value: Some(r#"{"ok":false}"#.into()),
            body: "down".into(),
            elapsed_ms: 12,
        };
        let back = round_trip(&response);
        assert_eq!(
            (back.status, back.body.as_str(), back.elapsed_ms),
            (503, "down", 12)
        );
        assert_eq!(back.value.as_deref(), Some(r#"{"ok":false}"#));
        let samples = vec![
            Sample {
                labels: vec![("job".into(), "web".into())],
                value: 0.25,
            },
            Sample {
                labels: vec![],
                value: f64::NAN,
            },
            Sample {
                labels: vec![],
                value: f64::NEG_INFINITY,
            },
        ];
        let back = round_trip(&samples);
        assert_eq!(back[0].labels, samples[0].labels);
        assert_eq!(back[0].value, 0.25);
        assert!(back[1].value.is_nan());
        assert_eq!(back[2].value, f64::NEG_INFINITY);
        assert!(
            check_answer(
                "probe.query-prometheus",
                &json!({}),
                &json!({"ok": [{"labels": [], "value": 1}]})
            )
            .is_ok()
        );
        assert!(
            check_answer(
                "probe.http-get",
                &json!({}),
                &json!({"ok": {"status": 200}})
            )
            .is_err()
        );
    }

    #[test]
    fn json_answers_are_stored_as_json_and_read_back() {
        let stored = Json(r#"{"kind":"Pod","metadata":{"name":"a"}}"#.into());
        assert_eq!(
            stored.encode(),
            json!({"kind": "Pod", "metadata": {"name": "a"}})
        );
        let back = round_trip(&stored);
        let parsed: Value = serde_json::from_str(&back.0).expect("JSON");
        assert_eq!(parsed, json!({"kind": "Pod", "metadata": {"name": "a"}}));
        // Text that is not JSON survives as text.
        assert_eq!(round_trip(&Json("not {json".into())).0, "not {json");
    }

    #[test]
    fn errors_keep_their_kind_and_message() {
        let failed: Result<(), Error> = Err(Error::Timeout("no answer within 30s".into()));
        assert_eq!(
            failed.encode(),
            json!({"error": {"kind": "timeout", "message": "no answer within 30s"}})
        );
        match round_trip(&failed) {
            Err(Error::Timeout(m)) => assert_eq!(m, "no answer within 30s"),
            other => panic!("{other:?}"),
        }
        let unknown = json!({"error": {"kind": "gone", "message": "x"}});
        assert!(Result::<(), Error>::decode(&unknown).is_err());
        assert!(Result::<(), Error>::decode(&json!({"ok": null, "error": {}})).is_err());
    }

    #[test]
    fn revisions_round_trip() {
        let revision = Revision {
            number: 3,
            status: RevisionStatus::Superseded,
            policy: "drain@0.1.0".into(),
            params: r#"{"node":"n1"}"#.into(),
            manifests: "[]".into(),
            updated: "2026-12-01T17:00:00Z".into(),
            description: "drained".into(),
        };
        let back = round_trip(&vec![revision.clone()]);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].number, 3);
        assert_eq!(back[0].status, RevisionStatus::Superseded);
        assert_eq!(back[0].params, r#"{"node":"n1"}"#);
    }

    #[test]
    fn answers_of_the_wrong_shape_are_refused_by_function() {
        assert!(check_answer("cluster.get", &json!({}), &json!({"ok": {"kind": "Pod"}})).is_ok());
        assert!(check_answer("cluster.wait-current", &json!({}), &json!({"ok": null})).is_ok());
        assert!(
            check_answer(
                "cluster.wait-current",
                &json!({}),
                &json!({"ok": {"kind": "Pod"}})
            )
            .is_err()
        );
        assert!(
            check_answer(
                "cluster.cordon",
                &json!({}),
                &json!({"ok": {"kind": "Pod"}})
            )
            .is_err()
        );
        assert!(check_answer("runtime.now", &json!({}), &json!({"ok": -1})).is_err());
        assert!(check_answer("runtime.now", &json!({}), &json!({"ok": 17})).is_ok());
        assert!(check_answer("runtime.sleep", &json!({}), &json!(true)).is_err());
        assert!(check_answer("runtime.restore", &json!({}), &json!({"ok": null})).is_ok());
        assert!(check_answer("cluster.exec", &json!({}), &json!({"ok": null})).is_err());
        assert!(
            check_answer(
                "rollout.requested",
                &json!({}),
                &json!({"ok": "promote-full"})
            )
            .is_ok()
        );
        assert!(check_answer("rollout.requested", &json!({}), &json!({"ok": "skip"})).is_err());
        assert!(check_answer("rollout.pause", &json!({}), &json!({"ok": null})).is_ok());
        for (request, _) in REQUESTS {
            assert_eq!(round_trip(&request), request);
        }
    }
}

#[cfg(test)]
mod evict_many_tests {
    use super::*;

    #[test]
    fn an_evict_many_answer_has_one_outcome_per_pod() {
        let args =
            json!({"pods": [{"namespace": "a", "name": "p", "uid": null}], "concurrency": 1});
        let one = json!({"ok": [{"ok": null}]});
        assert!(check_answer("cluster.evict-many", &args, &one).is_ok());
        let three = json!({"ok": [{"ok": null}, {"ok": null}, {"ok": null}]});
        assert!(check_answer("cluster.evict-many", &args, &three).is_err());
        assert!(check_answer("cluster.evict-many", &args, &json!({"ok": []})).is_err());
        let refused = json!({"error": {"kind": "invalid", "message": "no"}});
        assert!(check_answer("cluster.evict-many", &args, &refused).is_ok());
    }
}
