//! Request bodies in Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`), decoded
//! into the JSON the rest of the simulator handles, for the objects kubectl's `create`
//! subcommands send (since 1.32 they send protobuf, and client-go does not retry in JSON).
//!
//! The envelope is the magic `k8s\0` and a `runtime.Unknown` (type meta, the raw message); the
//! raw message is read by a schema of the served types' fields (their `generated.proto` field
//! numbers) that covers ConfigMap, Secret, Namespace, Service, Deployment, Eviction and
//! DeleteOptions with the fields a plain client sends. A field outside the schema is refused (415), never dropped. Go's protobuf
//! encoder writes non-pointer fields even when empty: those zero values are left out, as its JSON
//! encoder's `omitempty` would, except for pointer fields (`replicas: 0` stays). A status sent
//! along is skipped: the server keeps the live one.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// The media type.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";
const MAGIC: &[u8] = b"k8s\x00";
/// `time.Time{}` in seconds since the Unix epoch: Go's zero time, JSON `null`.
const GO_ZERO_TIME: i64 = -62_135_596_800;

#[derive(Clone, Copy)]
enum Ty {
    Str,
    /// Bytes, base64 in JSON.
    Bytes,
    Int,
    Bool,
    Msg(&'static [Field]),
    /// A `map<string, V>`: entries of key 1, value 2.
    Map(&'static Ty),
    IntOrString,
    Quantity,
    Time,
    /// A status a client sends along: the server keeps the live one (or none, on create), so it
    /// is read past, whatever it holds.
    Status,
}

#[derive(Clone, Copy)]
struct Field {
    tag: u64,
    json: &'static str,
    ty: Ty,
    repeated: bool,
    /// A Go pointer: present means set, even to a zero value.
    keep_zero: bool,
}

const fn f(tag: u64, json: &'static str, ty: Ty) -> Field {
    Field {
        tag,
        json,
        ty,
        repeated: false,
        keep_zero: false,
    }
}
const fn rep(tag: u64, json: &'static str, ty: Ty) -> Field {
    Field {
        tag,
        json,
        ty,
        repeated: true,
        keep_zero: false,
    }
}
const fn ptr(tag: u64, json: &'static str, ty: Ty) -> Field {
    Field {
        tag,
        json,
        ty,
        repeated: false,
        keep_zero: true,
    }
}

const STRINGS: Ty = Ty::Map(&Ty::Str);
const OWNER_REFERENCE: &[Field] = &[
    f(1, "kind", Ty::Str),
    f(3, "name", Ty::Str),
    f(4, "uid", Ty::Str),
    f(5, "apiVersion", Ty::Str),
    ptr(6, "controller", Ty::Bool),
    ptr(7, "blockOwnerDeletion", Ty::Bool),
];
const OBJECT_META: &[Field] = &[
    f(1, "name", Ty::Str),
    f(2, "generateName", Ty::Str),
    f(3, "namespace", Ty::Str),
    f(4, "selfLink", Ty::Str),
    f(5, "uid", Ty::Str),
    f(6, "resourceVersion", Ty::Str),
    f(7, "generation", Ty::Int),
    f(8, "creationTimestamp", Ty::Time),
    f(9, "deletionTimestamp", Ty::Time),
    ptr(10, "deletionGracePeriodSeconds", Ty::Int),
    f(11, "labels", STRINGS),
    f(12, "annotations", STRINGS),
    rep(13, "ownerReferences", Ty::Msg(OWNER_REFERENCE)),
    rep(14, "finalizers", Ty::Str),
];
const META: Field = f(1, "metadata", Ty::Msg(OBJECT_META));
const SELECTOR_REQUIREMENT: &[Field] = &[
    f(1, "key", Ty::Str),
    f(2, "operator", Ty::Str),
    rep(3, "values", Ty::Str),
];
const LABEL_SELECTOR: &[Field] = &[
    f(1, "matchLabels", STRINGS),
    rep(2, "matchExpressions", Ty::Msg(SELECTOR_REQUIREMENT)),
];
const CONFIG_MAP: &[Field] = &[
    META,
    f(2, "data", STRINGS),
    f(3, "binaryData", Ty::Map(&Ty::Bytes)),
    ptr(4, "immutable", Ty::Bool),
];
const SECRET: &[Field] = &[
    META,
    f(2, "data", Ty::Map(&Ty::Bytes)),
    f(3, "type", Ty::Str),
    f(4, "stringData", STRINGS),
    ptr(5, "immutable", Ty::Bool),
];
const NAMESPACE: &[Field] = &[
    META,
    f(2, "spec", Ty::Msg(&[rep(1, "finalizers", Ty::Str)])),
    f(3, "status", Ty::Status),
];
const SERVICE_PORT: &[Field] = &[
    f(1, "name", Ty::Str),
    f(2, "protocol", Ty::Str),
    f(3, "port", Ty::Int),
    ptr(4, "targetPort", Ty::IntOrString),
    f(5, "nodePort", Ty::Int),
    f(6, "appProtocol", Ty::Str),
];
const SERVICE_SPEC: &[Field] = &[
    rep(1, "ports", Ty::Msg(SERVICE_PORT)),
    f(2, "selector", STRINGS),
    f(3, "clusterIP", Ty::Str),
    f(4, "type", Ty::Str),
    rep(5, "externalIPs", Ty::Str),
    f(7, "sessionAffinity", Ty::Str),
    f(8, "loadBalancerIP", Ty::Str),
    rep(9, "loadBalancerSourceRanges", Ty::Str),
    f(10, "externalName", Ty::Str),
    f(11, "externalTrafficPolicy", Ty::Str),
    f(12, "healthCheckNodePort", Ty::Int),
    f(13, "publishNotReadyAddresses", Ty::Bool),
    rep(16, "topologyKeys", Ty::Str),
    f(17, "ipFamilyPolicy", Ty::Str),
    rep(18, "clusterIPs", Ty::Str),
    rep(19, "ipFamilies", Ty::Str),
    ptr(20, "allocateLoadBalancerNodePorts", Ty::Bool),
    f(21, "loadBalancerClass", Ty::Str),
    f(22, "internalTrafficPolicy", Ty::Str),
];
const SERVICE: &[Field] = &[
    META,
    f(2, "spec", Ty::Msg(SERVICE_SPEC)),
    f(3, "status", Ty::Status),
];
const CONTAINER_PORT: &[Field] = &[
    f(1, "name", Ty::Str),
    f(2, "hostPort", Ty::Int),
    f(3, "containerPort", Ty::Int),
    f(4, "protocol", Ty::Str),
    f(5, "hostIP", Ty::Str),
];
const ENV_VAR: &[Field] = &[f(1, "name", Ty::Str), f(2, "value", Ty::Str)];
const RESOURCES: &[Field] = &[
    f(1, "limits", Ty::Map(&Ty::Quantity)),
    f(2, "requests", Ty::Map(&Ty::Quantity)),
];
const CONTAINER: &[Field] = &[
    f(1, "name", Ty::Str),
    f(2, "image", Ty::Str),
    rep(3, "command", Ty::Str),
    rep(4, "args", Ty::Str),
    f(5, "workingDir", Ty::Str),
    rep(6, "ports", Ty::Msg(CONTAINER_PORT)),
    rep(7, "env", Ty::Msg(ENV_VAR)),
    f(8, "resources", Ty::Msg(RESOURCES)),
    f(13, "terminationMessagePath", Ty::Str),
    f(14, "imagePullPolicy", Ty::Str),
    f(16, "stdin", Ty::Bool),
    f(17, "stdinOnce", Ty::Bool),
    f(18, "tty", Ty::Bool),
    f(20, "terminationMessagePolicy", Ty::Str),
];
const POD_SPEC: &[Field] = &[
    rep(2, "containers", Ty::Msg(CONTAINER)),
    f(3, "restartPolicy", Ty::Str),
    ptr(4, "terminationGracePeriodSeconds", Ty::Int),
    ptr(5, "activeDeadlineSeconds", Ty::Int),
    f(6, "dnsPolicy", Ty::Str),
    f(7, "nodeSelector", STRINGS),
    f(8, "serviceAccountName", Ty::Str),
    f(9, "serviceAccount", Ty::Str),
    f(10, "nodeName", Ty::Str),
    f(11, "hostNetwork", Ty::Bool),
    f(12, "hostPID", Ty::Bool),
    f(13, "hostIPC", Ty::Bool),
    f(16, "hostname", Ty::Str),
    f(17, "subdomain", Ty::Str),
    f(19, "schedulerName", Ty::Str),
    rep(20, "initContainers", Ty::Msg(CONTAINER)),
    ptr(21, "automountServiceAccountToken", Ty::Bool),
    f(24, "priorityClassName", Ty::Str),
    ptr(25, "priority", Ty::Int),
    ptr(27, "shareProcessNamespace", Ty::Bool),
    f(29, "runtimeClassName", Ty::Str),
    ptr(30, "enableServiceLinks", Ty::Bool),
    f(31, "preemptionPolicy", Ty::Str),
    ptr(35, "setHostnameAsFQDN", Ty::Bool),
];
const POD_TEMPLATE: &[Field] = &[META, f(2, "spec", Ty::Msg(POD_SPEC))];
const ROLLING_UPDATE: &[Field] = &[
    ptr(1, "maxUnavailable", Ty::IntOrString),
    ptr(2, "maxSurge", Ty::IntOrString),
];
const STRATEGY: &[Field] = &[
    f(1, "type", Ty::Str),
    f(2, "rollingUpdate", Ty::Msg(ROLLING_UPDATE)),
];
const DEPLOYMENT_SPEC: &[Field] = &[
    ptr(1, "replicas", Ty::Int),
    f(2, "selector", Ty::Msg(LABEL_SELECTOR)),
    f(3, "template", Ty::Msg(POD_TEMPLATE)),
    f(4, "strategy", Ty::Msg(STRATEGY)),
    f(5, "minReadySeconds", Ty::Int),
    ptr(6, "revisionHistoryLimit", Ty::Int),
    f(7, "paused", Ty::Bool),
    ptr(9, "progressDeadlineSeconds", Ty::Int),
];
const DEPLOYMENT: &[Field] = &[
    META,
    f(2, "spec", Ty::Msg(DEPLOYMENT_SPEC)),
    f(3, "status", Ty::Status),
];

const PRECONDITIONS: &[Field] = &[f(1, "uid", Ty::Str), f(2, "resourceVersion", Ty::Str)];
const DELETE_OPTIONS: &[Field] = &[
    ptr(1, "gracePeriodSeconds", Ty::Int),
    f(2, "preconditions", Ty::Msg(PRECONDITIONS)),
    ptr(3, "orphanDependents", Ty::Bool),
    f(4, "propagationPolicy", Ty::Str),
    rep(5, "dryRun", Ty::Str),
];
const EVICTION: &[Field] = &[META, f(2, "deleteOptions", Ty::Msg(DELETE_OPTIONS))];

const TYPE_META: &[Field] = &[f(1, "apiVersion", Ty::Str), f(2, "kind", Ty::Str)];

fn unsupported(what: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        415,
        "UnsupportedMediaType",
        format!(
            "the cutover simulator does not decode {what} in {MEDIA_TYPE}; send application/json"
        ),
    )
}

fn malformed(what: &str) -> ApiError {
    ApiError::bad_request(format!(
        "the object provided is unrecognized: malformed {MEDIA_TYPE} body ({what})"
    ))
}

/// Decodes a protobuf body meant to be a `kind` into its JSON form (apiVersion and kind from the
/// envelope).
pub fn decode(kind: &str, body: &[u8]) -> Result<Value, ApiError> {
    let raw = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| malformed("no k8s\\0 prefix"))?;
    let mut type_meta = None;
    let mut object = None;
    let mut reader = Reader(raw);
    while let Some((tag, wire)) = reader.key()? {
        match (tag, wire) {
            (1, Wire::Len(bytes)) => type_meta = Some(message(bytes, TYPE_META, "TypeMeta")?),
            (2, Wire::Len(bytes)) => object = Some(bytes),
            (3 | 4, Wire::Len([])) => {}
            (3, _) => return Err(unsupported("a content encoding")),
            (4, _) => return Err(unsupported("a content type")),
            _ => return Err(unsupported(format!("field {tag} of runtime.Unknown"))),
        }
    }
    let type_meta = type_meta.unwrap_or_else(|| json!({}));
    let body_kind = type_meta
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or(kind);
    let schema = match body_kind {
        "ConfigMap" => CONFIG_MAP,
        "Secret" => SECRET,
        "Namespace" => NAMESPACE,
        "Service" => SERVICE,
        "Deployment" => DEPLOYMENT,
        "Eviction" => EVICTION,
        "DeleteOptions" => DELETE_OPTIONS,
        other => {
            return Err(unsupported(format!(
                "a {}",
                other.chars().take(64).collect::<String>()
            )));
        }
    };
    let mut value = message(object.unwrap_or_default(), schema, body_kind)?;
    if let Some(map) = value.as_object_mut() {
        for key in ["apiVersion", "kind"] {
            if let Some(v) = type_meta.get(key) {
                map.insert(key.into(), v.clone());
            }
        }
    }
    Ok(value)
}

enum Wire<'a> {
    Varint(u64),
    Len(&'a [u8]),
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, ApiError> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let (&byte, rest) = self
                .0
                .split_first()
                .ok_or_else(|| malformed("truncated varint"))?;
            self.0 = rest;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(malformed("varint too long"))
    }

    /// The next field's number and value; `None` at the end.
    fn key(&mut self) -> Result<Option<(u64, Wire<'a>)>, ApiError> {
        if self.0.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| malformed("length"))?;
                if len > self.0.len() {
                    return Err(malformed("truncated field"));
                }
                let (bytes, rest) = self.0.split_at(len);
                self.0 = rest;
                Wire::Len(bytes)
            }
            other => return Err(unsupported(format!("wire type {other}"))),
        };
        Ok(Some((key >> 3, wire)))
    }
}

fn utf8(bytes: &[u8]) -> Result<String, ApiError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| malformed("a string is not UTF-8"))
}

/// One message by its schema; a field outside it is refused.
fn message(bytes: &[u8], schema: &[Field], name: &str) -> Result<Value, ApiError> {
    let mut out = Map::new();
    let mut reader = Reader(bytes);
    while let Some((tag, wire)) = reader.key()? {
        let field = schema
            .iter()
            .find(|f| f.tag == tag)
            .ok_or_else(|| unsupported(format!("field {tag} of {name}")))?;
        if let (Ty::Status, Wire::Len(_)) = (field.ty, &wire) {
            continue;
        }
        let Some(value) = scalar_or_message(field, wire, name)? else {
            continue;
        };
        if field.repeated {
            let list = out
                .entry(field.json)
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Some(list) = list.as_array_mut() {
                list.push(value);
            }
        } else if let Ty::Map(_) = field.ty {
            let map = out
                .entry(field.json)
                .or_insert_with(|| Value::Object(Map::new()));
            if let (Some(map), Value::Object(entry)) = (map.as_object_mut(), value) {
                map.extend(entry);
            }
        } else {
            out.insert(field.json.into(), value);
        }
    }
    Ok(Value::Object(out))
}

/// A field's value; `None` for a zero value Go's JSON would leave out.
fn scalar_or_message(field: &Field, wire: Wire<'_>, name: &str) -> Result<Option<Value>, ApiError> {
    let keep = field.keep_zero || field.repeated;
    let value = match (field.ty, wire) {
        (Ty::Str, Wire::Len(b)) => {
            let s = utf8(b)?;
            if s.is_empty() && !keep {
                return Ok(None);
            }
            json!(s)
        }
        (Ty::Bytes, Wire::Len(b)) => json!(base64::engine::general_purpose::STANDARD.encode(b)),
        // int32 fields carry negative values sign-extended to 64 bits.
        (Ty::Int, Wire::Varint(v)) => {
            let n = v as i64;
            if n == 0 && !keep {
                return Ok(None);
            }
            json!(n)
        }
        (Ty::Bool, Wire::Varint(v)) => {
            if v == 0 && !keep {
                return Ok(None);
            }
            json!(v != 0)
        }
        (Ty::Msg(schema), Wire::Len(b)) => message(b, schema, field.json)?,
        (Ty::Map(value_ty), Wire::Len(b)) => {
            let entry_schema: &[Field] = &[
                f(1, "key", Ty::Str),
                Field {
                    keep_zero: true,
                    ..f(2, "value", *value_ty)
                },
            ];
            let entry = message(b, entry_schema, field.json)?;
            let key = entry
                .get("key")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            // An empty value is not written: "" (bytes: "" in base64).
            let value = entry.get("value").cloned().unwrap_or_else(|| json!(""));
            json!({ key: value })
        }
        (Ty::IntOrString, Wire::Len(b)) => {
            let v = message(
                b,
                &[
                    f(1, "type", Ty::Int),
                    ptr(2, "intVal", Ty::Int),
                    f(3, "strVal", Ty::Str),
                ],
                field.json,
            )?;
            if v.get("type").and_then(Value::as_i64).unwrap_or(0) == 1 {
                v.get("strVal").cloned().unwrap_or_else(|| json!(""))
            } else {
                v.get("intVal").cloned().unwrap_or_else(|| json!(0))
            }
        }
        (Ty::Quantity, Wire::Len(b)) => message(b, &[f(1, "string", Ty::Str)], field.json)?
            .get("string")
            .cloned()
            .unwrap_or_else(|| json!("0")),
        (Ty::Time, Wire::Len(b)) => {
            let t = message(
                b,
                &[ptr(1, "seconds", Ty::Int), f(2, "nanos", Ty::Int)],
                field.json,
            )?;
            let seconds = t.get("seconds").and_then(Value::as_i64).unwrap_or(0);
            if seconds == GO_ZERO_TIME {
                return Ok(None);
            }
            let ts = jiff::Timestamp::from_second(seconds)
                .map_err(|_| malformed("a time out of range"))?;
            json!(crate::clock::format_time(ts))
        }
        _ => {
            return Err(malformed(&format!(
                "field {} of {name} has the wrong wire type",
                field.tag
            )));
        }
    };
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    fn len_field(tag: u64, bytes: &[u8], out: &mut Vec<u8>) {
        varint(tag << 3 | 2, out);
        varint(bytes.len() as u64, out);
        out.extend_from_slice(bytes);
    }
    fn int_field(tag: u64, v: u64, out: &mut Vec<u8>) {
        varint(tag << 3, out);
        varint(v, out);
    }
    fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let mut type_meta = Vec::new();
        len_field(1, api_version.as_bytes(), &mut type_meta);
        len_field(2, kind.as_bytes(), &mut type_meta);
        let mut unknown = Vec::new();
        len_field(1, &type_meta, &mut unknown);
        len_field(2, raw, &mut unknown);
        len_field(3, b"", &mut unknown);
        len_field(4, b"", &mut unknown);
        [MAGIC, &unknown].concat()
    }
    fn meta(name: &str) -> Vec<u8> {
        let mut m = Vec::new();
        len_field(1, name.as_bytes(), &mut m);
        len_field(2, b"", &mut m); // generateName, written empty as Go does
        int_field(7, 0, &mut m); // generation 0
        let mut zero_time = Vec::new();
        int_field(1, GO_ZERO_TIME as u64, &mut zero_time);
        len_field(8, &zero_time, &mut m);
        m
    }

    #[test]
    fn a_config_map_as_kubectl_sends_it() {
        let mut cm = Vec::new();
        len_field(1, &meta("x"), &mut cm);
        let mut entry = Vec::new();
        len_field(1, b"a", &mut entry);
        len_field(2, b"b", &mut entry);
        len_field(2, &entry, &mut cm);
        let value = decode("ConfigMap", &envelope("v1", "ConfigMap", &cm)).unwrap();
        assert_eq!(
            value,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "b"}})
        );
    }

    #[test]
    fn pointer_zeros_stay_and_int_or_string_reads_both_ways() {
        let mut spec = Vec::new();
        int_field(1, 0, &mut spec); // replicas: 0
        let mut strategy = Vec::new();
        let mut rolling = Vec::new();
        let mut surge = Vec::new();
        int_field(1, 1, &mut surge);
        len_field(3, b"50%", &mut surge);
        len_field(2, &surge, &mut rolling);
        let mut unavailable = Vec::new();
        int_field(1, 0, &mut unavailable);
        int_field(2, 2, &mut unavailable);
        len_field(1, &unavailable, &mut rolling);
        len_field(2, &rolling, &mut strategy);
        len_field(4, &strategy, &mut spec);
        let mut d = Vec::new();
        len_field(1, &meta("web"), &mut d);
        len_field(2, &spec, &mut d);
        let mut status = Vec::new();
        int_field(1, 0, &mut status);
        len_field(3, &status, &mut d);
        let value = decode("Deployment", &envelope("apps/v1", "Deployment", &d)).unwrap();
        assert_eq!(value["spec"]["replicas"], 0);
        assert_eq!(
            value["spec"]["strategy"]["rollingUpdate"],
            json!({"maxSurge": "50%", "maxUnavailable": 2})
        );
        assert!(value.get("status").is_none(), "a sent status is not kept");
    }

    #[test]
    fn unknown_fields_and_kinds_are_refused_not_dropped() {
        let mut cm = Vec::new();
        len_field(1, &meta("x"), &mut cm);
        int_field(9, 1, &mut cm);
        let err = decode("ConfigMap", &envelope("v1", "ConfigMap", &cm)).unwrap_err();
        assert_eq!((err.code, err.reason), (415, "UnsupportedMediaType"));
        assert!(
            err.message.contains("field 9 of ConfigMap"),
            "{}",
            err.message
        );
        let err = decode("Pod", &envelope("v1", "Pod", &[])).unwrap_err();
        assert_eq!(err.code, 415);
        assert_eq!(decode("ConfigMap", b"{}").unwrap_err().code, 400);
        let mut truncated = envelope("v1", "ConfigMap", &cm);
        truncated.pop();
        assert_eq!(decode("ConfigMap", &truncated).unwrap_err().code, 400);
    }
}
