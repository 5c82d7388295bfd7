//! The HTTP layer: routes Kubernetes API requests to the store and renders responses.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use http::{Method, StatusCode, header};
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody, combinators::UnsyncBoxBody};
use serde_json::{Value, json};
use tokio::sync::broadcast::{self, error::RecvError};

use crate::clock::{Clock, timestamp};
use crate::error::{ApiError, success_status};
use crate::eviction;
use crate::kinds::{self, EVICTION, KindInfo, SCALE, STATUS};
use crate::limits::{self, Nesting};
use crate::patch::{self, PatchType};
use crate::protobuf;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{
    DeleteOptions, DeleteOutcome, EventType, Propagation, Store, UpdateTarget, WatchEvent, meta,
};
use crate::table::TableRequest;
use crate::typed;

/// The response body: a whole JSON document, or a stream of watch events.
pub type SimBody = UnsyncBoxBody<Bytes, Infallible>;

/// The shared state requests run against.
#[derive(Debug)]
pub struct ApiState {
    /// The object store.
    pub store: Store,
    /// Serialises eviction checks with the deletes they allow (the real server uses PDB status
    /// resourceVersions for this).
    pub eviction_lock: std::sync::Mutex<()>,
}

/// The resource a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The kind, at the version the URL asked for.
    pub kind: &'static KindInfo,
    /// The namespace in the URL, if any.
    pub namespace: Option<String>,
    /// The object name, for item URLs.
    pub name: Option<String>,
    /// The subresource (`status`, `scale`, `eviction`), if any.
    pub subresource: Option<String>,
}

/// What a path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A discovery document, already rendered.
    Discovery(Value),
    /// A resource collection or object.
    Resource(Route),
}

/// Parses a request path (without query).
pub fn route(path: &str) -> Result<Target, ApiError> {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let not_found = || ApiError::no_route(path);
    let (group, version, rest) = match segs.as_slice() {
        ["version"] => return Ok(Target::Discovery(kinds::version_info())),
        ["api"] => return Ok(Target::Discovery(kinds::api_versions())),
        ["apis"] => return Ok(Target::Discovery(kinds::api_group_list())),
        ["apis", g] => {
            return kinds::api_group(g)
                .map(Target::Discovery)
                .ok_or_else(not_found);
        }
        ["api", v] => {
            return kinds::api_resource_list("", v)
                .map(Target::Discovery)
                .ok_or_else(not_found);
        }
        ["apis", g, v] => {
            return kinds::api_resource_list(g, v)
                .map(Target::Discovery)
                .ok_or_else(not_found);
        }
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(not_found()),
    };
    let find = |plural: &str| kinds::find(group, version, plural).ok_or_else(not_found);
    let (kind, namespace, name, sub) = match rest {
        ["namespaces", ns, plural, tail @ ..] if kinds::find(group, version, plural).is_some() => {
            let kind = find(plural)?;
            if !kind.namespaced {
                return Err(not_found());
            }
            match tail {
                [] => (kind, Some(*ns), None, None),
                [name] => (kind, Some(*ns), Some(*name), None),
                [name, sub] => (kind, Some(*ns), Some(*name), Some(*sub)),
                _ => return Err(not_found()),
            }
        }
        [plural, tail @ ..] => {
            let kind = find(plural)?;
            match tail {
                [] => (kind, None, None, None),
                [name] if !kind.namespaced => (kind, None, Some(*name), None),
                [name, sub] if !kind.namespaced => (kind, None, Some(*name), Some(*sub)),
                _ => return Err(not_found()),
            }
        }
        _ => return Err(not_found()),
    };
    if let Some(sub) = sub
        && !kind.has_subresource(sub)
    {
        return Err(not_found());
    }
    Ok(Target::Resource(Route {
        kind,
        namespace: namespace.map(str::to_string),
        name: name.map(str::to_string),
        subresource: sub.map(str::to_string),
    }))
}

/// The query parameters the simulator understands.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses a URL query string.
    pub fn parse(query: Option<&str>) -> Query {
        Query {
            pairs: form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1"))
    }

    fn dry_run(&self) -> Result<bool, ApiError> {
        match self.get("dryRun") {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "Invalid dry run value: \"{other}\", supported values: All"
            ))),
        }
    }

    fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        self.get(key)
            .map(|v| {
                v.parse()
                    .map_err(|_| ApiError::bad_request(format!("invalid value for {key}: {v}")))
            })
            .transpose()
    }
}

/// A client's header text quoted back in an error, at most 64 characters of it.
fn short(text: &str) -> String {
    text.chars().take(64).collect()
}

fn json_response(code: u16, value: &Value) -> http::Response<SimBody> {
    let body = serde_json::to_vec(value).expect("JSON values serialise");
    http::Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)).boxed_unsync())
        .expect("static response parts are valid")
}

/// The `Status` response for an error.
pub fn error_response(err: &ApiError) -> http::Response<SimBody> {
    json_response(err.code, &err.to_status())
}

/// Handles one request. Never fails: errors become `Status` responses.
pub async fn handle(state: Arc<ApiState>, req: http::Request<Bytes>) -> http::Response<SimBody> {
    let (parts, body) = req.into_parts();
    let query = Query::parse(parts.uri.query());
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let table = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .and_then(|accept| TableRequest::from_accept(accept, query.get("includeObject")));
    let request = Request {
        method: &parts.method,
        path: parts.uri.path(),
        query: &query,
        content_type: &content_type,
        table,
    };
    let result = dispatch(&state, &request, &body);
    match result {
        Ok(Reply::Json(code, value)) => json_response(code, &value),
        Ok(Reply::Watch(stream)) => http::Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .body(stream)
            .expect("static response parts are valid"),
        Err(err) => error_response(&err),
    }
}

enum Reply {
    Json(u16, Value),
    Watch(SimBody),
}

/// Decodes a create, replace, eviction or options body meant to be a `kind`; a body nested
/// too deep or not JSON gets the 400 the API server's decoder gives.
fn parse_body(kind: &str, body: &[u8]) -> Result<Value, ApiError> {
    limits::check_nesting(body).map_err(|n| n.in_object(kind, body))?;
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {kind}): couldn't get \
             version/kind; json parse error: {e} ({})",
            limits::summarize(body)
        ))
    })
}

/// How a request body is encoded.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BodyType {
    Json,
    Protobuf,
}

/// The body's media type: JSON, or protobuf (kubectl's `create` subcommands, drain's evictions and
/// deletes since 1.32; client-go does not retry those in JSON after a 415). Another one is the
/// 415 kube-apiserver gives for an unknown one.
fn body_type(content_type: &str) -> Result<BodyType, ApiError> {
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match media_type.as_str() {
        "" | "application/json" | "*/*" => Ok(BodyType::Json),
        protobuf::MEDIA_TYPE => Ok(BodyType::Protobuf),
        _ => Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: \
                 application/json, {} (got {})",
                protobuf::MEDIA_TYPE,
                short(content_type)
            ),
        )),
    }
}

/// Decodes a create, replace, eviction or options body meant to be a `kind`, in either encoding.
fn decode_body(kind: &str, content_type: &str, body: &[u8]) -> Result<Value, ApiError> {
    match body_type(content_type)? {
        BodyType::Json => parse_body(kind, body),
        BodyType::Protobuf => protobuf::decode(kind, body),
    }
}

/// Checks a body's apiVersion/kind against the URL's kind, as the real decoder does.
fn check_type(kind: &KindInfo, obj: &Value) -> Result<(), ApiError> {
    if let Some(av) = obj.get("apiVersion").and_then(Value::as_str)
        && av != kind.api_version()
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({})",
            kind.api_version()
        )));
    }
    if let Some(k) = obj.get("kind").and_then(Value::as_str)
        && k != kind.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({k}) does not match the expected kind ({})",
            kind.kind
        )));
    }
    Ok(())
}

/// The object as served at the requested version.
fn present(kind: &KindInfo, obj: &Value) -> Value {
    let mut obj = obj.clone();
    if let Some(root) = obj.as_object_mut() {
        root.insert("apiVersion".into(), json!(kind.api_version()));
    }
    obj
}

/// What one request asks, apart from its body.
struct Request<'a> {
    method: &'a Method,
    path: &'a str,
    query: &'a Query,
    content_type: &'a str,
    /// Set when the client asks for `meta.k8s.io` Tables (kubectl get).
    table: Option<TableRequest>,
}

fn dispatch(state: &Arc<ApiState>, request: &Request<'_>, body: &Bytes) -> Result<Reply, ApiError> {
    let (method, path, query, content_type) = (
        request.method,
        request.path,
        request.query,
        request.content_type,
    );
    let route = match route(path)? {
        Target::Discovery(doc) if method == Method::GET => return Ok(Reply::Json(200, doc)),
        Target::Discovery(_) => return Err(ApiError::unsupported(format!("{method} on {path}"))),
        Target::Resource(route) => route,
    };
    let store = &state.store;
    let kind = route.kind;
    let ns = route.namespace.as_deref().unwrap_or("");
    let sub = route.subresource.as_deref();
    match (method.clone(), route.name.as_deref(), sub) {
        (Method::GET, None, None) if query.flag("watch") => {
            watch(store, &route, query, request.table)
        }
        (Method::GET, None, None) => list(store, &route, query, request.table),
        (Method::GET, Some(name), None) if request.table.is_some() => {
            let object = present(kind, store.get(kind, ns, name)?.as_ref());
            let mut metadata = serde_json::Map::new();
            if let Some(rv) = meta(&object).get("resourceVersion") {
                metadata.insert("resourceVersion".into(), rv.clone());
            }
            let table = request
                .table
                .as_ref()
                .map(|t| t.table(kind, &[object], metadata, true, timestamp(store.clock())));
            Ok(Reply::Json(200, table.unwrap_or_default()))
        }
        (Method::POST, None, None) if route.namespace.is_some() || !kind.namespaced => {
            let mut obj = decode_body(kind.kind, content_type, body)?;
            check_type(kind, &obj)?;
            typed::decode(kind, &mut obj).map_err(|e| e.in_body(kind))?;
            note_manager(&mut obj, query, "Update");
            let created = store.create(kind, ns, obj, query.dry_run()?)?;
            Ok(Reply::Json(201, present(kind, &created)))
        }
        (Method::GET, Some(name), None | Some(STATUS)) => Ok(Reply::Json(
            200,
            present(kind, store.get(kind, ns, name)?.as_ref()),
        )),
        (Method::GET, Some(name), Some(SCALE)) => Ok(Reply::Json(
            200,
            scale_of(store.get(kind, ns, name)?.as_ref()),
        )),
        (Method::PUT, Some(name), None | Some(STATUS)) => {
            let mut obj = decode_body(kind.kind, content_type, body)?;
            check_type(kind, &obj)?;
            typed::decode(kind, &mut obj).map_err(|e| e.in_body(kind))?;
            let target = if sub == Some(STATUS) {
                UpdateTarget::Status
            } else {
                UpdateTarget::Main
            };
            let updated = store.update(kind, ns, name, obj, target, query.dry_run()?)?;
            Ok(Reply::Json(200, present(kind, &updated)))
        }
        (Method::PUT, Some(name), Some(SCALE)) => {
            let scale = decode_body("Scale", content_type, body)?;
            let live = store.get(kind, ns, name)?;
            let updated = write_scale(store, kind, ns, name, &live, &scale, query.dry_run()?)?;
            Ok(Reply::Json(200, scale_of(&updated)))
        }
        (Method::PATCH, Some(name), sub) => {
            patch(store, kind, ns, name, sub, query, content_type, body)
        }
        (Method::DELETE, Some(name), None) => {
            let opts = delete_options(body, content_type, query)?;
            let outcome = store.delete(kind, ns, name, &opts)?;
            Ok(match outcome {
                DeleteOutcome::Deleted(obj) if kind.kind == "Pod" => {
                    Reply::Json(200, present(kind, &obj))
                }
                DeleteOutcome::Deleted(obj) => {
                    let mut status = success_status(200);
                    status["details"] = json!({
                        "name": name, "group": kind.group, "kind": kind.plural,
                        "uid": meta(&obj).get("uid").cloned().unwrap_or_default(),
                    });
                    Reply::Json(200, status)
                }
                DeleteOutcome::Terminating(obj) => {
                    let code = if kind.kind == "Pod" { 200 } else { 202 };
                    Reply::Json(code, present(kind, &obj))
                }
            })
        }
        (Method::POST, Some(name), Some(EVICTION)) => {
            let ev = decode_body("Eviction", content_type, body)?;
            if let Some(av) = ev.get("apiVersion").and_then(Value::as_str)
                && !matches!(av, "policy/v1" | "policy/v1beta1")
            {
                return Err(ApiError::bad_request(format!(
                    "the API version in the data ({av}) does not match the expected API version (policy/v1)"
                )));
            }
            if let Some(k) = ev.get("kind").and_then(Value::as_str)
                && k != "Eviction"
            {
                return Err(ApiError::bad_request(format!(
                    "the kind in the data ({k}) does not match the expected kind (Eviction)"
                )));
            }
            if let Some(n) = ev.pointer("/metadata/name").and_then(Value::as_str)
                && n != name
            {
                return Err(ApiError::bad_request(
                    "name in URL does not match name in Eviction object",
                ));
            }
            let mut opts = match ev.get("deleteOptions") {
                Some(o) if o.is_object() => options_from_json(o)?,
                _ => DeleteOptions::default(),
            };
            opts.dry_run |= query.dry_run()?;
            let _guard = state
                .eviction_lock
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            Ok(Reply::Json(201, eviction::evict(store, ns, name, &opts)?))
        }
        (Method::DELETE, None, None) => Err(ApiError::unsupported("deletecollection")),
        (m, _, Some(s)) => Err(ApiError::unsupported(format!("{m} on the {s} subresource"))),
        (m, _, None) => Err(ApiError::unsupported(format!("{m} on {path}"))),
    }
}

fn selectors(kind: &KindInfo, query: &Query) -> Result<(LabelSelector, FieldSelector), ApiError> {
    Ok((
        LabelSelector::parse(query.get("labelSelector").unwrap_or(""))?,
        FieldSelector::parse(query.get("fieldSelector").unwrap_or(""), kind.kind)?,
    ))
}

fn list(
    store: &Store,
    route: &Route,
    query: &Query,
    table: Option<TableRequest>,
) -> Result<Reply, ApiError> {
    let kind = route.kind;
    let (labels, fields) = selectors(kind, query)?;
    let (items, rv) = store.list(kind, route.namespace.as_deref(), &labels, &fields);
    let start = match query.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => {
            let (ns, name) = token
                .split_once('/')
                .ok_or_else(|| ApiError::bad_request(format!("invalid continue token: {token}")))?;
            items
                .iter()
                .position(|o| {
                    let m = meta(o);
                    let key = (
                        m.get("namespace").and_then(Value::as_str).unwrap_or(""),
                        m.get("name").and_then(Value::as_str).unwrap_or(""),
                    );
                    key > (ns, name)
                })
                .unwrap_or(items.len())
        }
        None => 0,
    };
    let limit = query.int("limit")?.filter(|l| *l > 0).map(|l| l as usize);
    let end = limit.map_or(items.len(), |l| (start + l).min(items.len()));
    let page: Vec<Value> = items[start..end].iter().map(|o| present(kind, o)).collect();
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if end < items.len()
        && let Some(last) = page.last()
    {
        let m = meta(last);
        metadata["continue"] = json!(format!(
            "{}/{}",
            m.get("namespace").and_then(Value::as_str).unwrap_or(""),
            m.get("name").and_then(Value::as_str).unwrap_or("")
        ));
        metadata["remainingItemCount"] = json!(items.len() - end);
    }
    if let (Some(table), Value::Object(metadata)) = (table, metadata.clone()) {
        let now = timestamp(store.clock());
        return Ok(Reply::Json(
            200,
            table.table(kind, &page, metadata, true, now),
        ));
    }
    Ok(Reply::Json(
        200,
        json!({
            "apiVersion": kind.api_version(),
            "kind": format!("{}List", kind.kind),
            "metadata": metadata,
            "items": page,
        }),
    ))
}

fn options_from_json(o: &Value) -> Result<DeleteOptions, ApiError> {
    let propagation = match o.get("propagationPolicy").and_then(Value::as_str) {
        None => None,
        Some(p) => Some(parse_propagation(p)?),
    };
    let orphan = o.get("orphanDependents").and_then(Value::as_bool);
    Ok(DeleteOptions {
        grace_period_seconds: o.get("gracePeriodSeconds").and_then(Value::as_i64),
        propagation: propagation.unwrap_or(if orphan == Some(true) {
            Propagation::Orphan
        } else {
            Propagation::Background
        }),
        precondition_uid: o
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(str::to_string),
        precondition_resource_version: o
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_string),
        dry_run: o
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|d| d.iter().any(|x| x == "All")),
    })
}

fn parse_propagation(p: &str) -> Result<Propagation, ApiError> {
    match p {
        "Background" => Ok(Propagation::Background),
        "Foreground" => Ok(Propagation::Foreground),
        "Orphan" => Ok(Propagation::Orphan),
        other => Err(ApiError::bad_request(format!(
            "propagationPolicy: Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
        ))),
    }
}

/// DeleteOptions from the body (if any) overridden by query parameters.
fn delete_options(
    body: &Bytes,
    content_type: &str,
    query: &Query,
) -> Result<DeleteOptions, ApiError> {
    let mut opts = if body.iter().all(u8::is_ascii_whitespace) {
        DeleteOptions::default()
    } else {
        options_from_json(&decode_body("DeleteOptions", content_type, body)?)?
    };
    if let Some(g) = query.int("gracePeriodSeconds")? {
        opts.grace_period_seconds = Some(g);
    }
    if let Some(p) = query.get("propagationPolicy") {
        opts.propagation = parse_propagation(p)?;
    }
    opts.dry_run |= query.dry_run()?;
    Ok(opts)
}

/// The autoscaling/v1 Scale view of a Deployment, ReplicaSet or StatefulSet.
pub fn scale_of(obj: &Value) -> Value {
    let m = meta(obj);
    let mut metadata = serde_json::Map::new();
    for f in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = m.get(f) {
            metadata.insert(f.into(), v.clone());
        }
    }
    let selector = obj
        .pointer("/spec/selector")
        .and_then(|s| LabelSelector::from_json(s).ok())
        .map(|s| s.to_string())
        .unwrap_or_default();
    json!({
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": metadata,
        "spec": {"replicas": obj.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1)},
        "status": {
            "replicas": obj.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0),
            "selector": selector,
        },
    })
}

fn write_scale(
    store: &Store,
    kind: &KindInfo,
    ns: &str,
    name: &str,
    live: &Value,
    scale: &Value,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let replicas = scale
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .ok_or_else(|| {
            ApiError::invalid(
                "Scale",
                "autoscaling",
                name,
                "spec.replicas: Required value",
            )
        })?;
    if replicas < 0 {
        return Err(ApiError::invalid(
            "Scale",
            "autoscaling",
            name,
            format!("spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0"),
        ));
    }
    let mut next = live.clone();
    next["spec"]["replicas"] = json!(replicas);
    let rv = scale
        .pointer("/metadata/resourceVersion")
        .cloned()
        .unwrap_or_else(|| {
            meta(live)
                .get("resourceVersion")
                .cloned()
                .unwrap_or_default()
        });
    next["metadata"]["resourceVersion"] = rv;
    store.update(kind, ns, name, next, UpdateTarget::Main, dry_run)
}

/// A decoded patch body.
enum PatchDoc {
    Merge(Value),
    Json(json_patch::Patch),
    /// Strategic merge, and server-side apply (a strategic merge of the applied configuration).
    Strategic(Value),
}

#[allow(clippy::too_many_arguments)]
fn patch(
    store: &Store,
    kind: &'static KindInfo,
    ns: &str,
    name: &str,
    sub: Option<&str>,
    query: &Query,
    content_type: &str,
    body: &Bytes,
) -> Result<Reply, ApiError> {
    let patch_type = PatchType::from_content_type(content_type).ok_or_else(|| {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: \
                 application/json-patch+json, application/merge-patch+json, \
                 application/apply-patch+yaml, application/strategic-merge-patch+json (got {})",
                short(content_type)
            ),
        )
    })?;
    let dry_run = query.dry_run()?;
    let patch_doc = match patch_type {
        PatchType::Apply => {
            if query.get("fieldManager").is_none_or(str::is_empty) {
                return Err(ApiError::bad_request(
                    "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                ));
            }
            let doc = patch::parse_apply(body)?;
            if sub != Some(SCALE) {
                if doc.get("apiVersion").is_none() || doc.get("kind").is_none() {
                    return Err(ApiError::bad_request(
                        "apiVersion and kind must be set in a server-side apply patch",
                    ));
                }
                check_type(kind, &doc)?;
                typed::check_apply(kind, &doc)?;
            }
            if let Some(n) = doc.pointer("/metadata/name").and_then(Value::as_str)
                && n != name
            {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({name})"
                )));
            }
            PatchDoc::Strategic(doc)
        }
        // kube-apiserver 1.20 answers any merge patch it cannot decode with a bare 500.
        PatchType::Merge => PatchDoc::Merge(
            limits::check_nesting(body)
                .ok()
                .and_then(|()| serde_json::from_slice(body).ok())
                .ok_or_else(limits::undecodable_merge_patch)?,
        ),
        PatchType::Json | PatchType::Strategic => {
            limits::check_nesting(body).map_err(Nesting::in_patch)?;
            let doc: Value = serde_json::from_slice(body).map_err(|e| {
                ApiError::bad_request(format!("the patch could not be decoded: {e}"))
            })?;
            if patch_type == PatchType::Json {
                PatchDoc::Json(patch::parse_json_patch(doc)?)
            } else {
                PatchDoc::Strategic(doc)
            }
        }
    };
    let apply = |target: &mut Value| -> Result<(), ApiError> {
        match &patch_doc {
            PatchDoc::Merge(doc) => patch::merge_patch(target, doc),
            PatchDoc::Json(ops) => patch::json_patch(target, ops),
            PatchDoc::Strategic(doc) => patch::strategic_merge(target, doc),
        }
    };
    // The real server retries a patch whose base changed underneath it; so do we, unless the
    // patch itself pinned a resourceVersion.
    for _ in 0..8 {
        let live = match store.get(kind, ns, name) {
            Ok(live) => live,
            Err(e) if e.code == 404 && patch_type == PatchType::Apply && sub.is_none() => {
                let mut obj = json!({"metadata": {"name": name}});
                apply(&mut obj)?;
                check_type(kind, &obj)?;
                typed::decode(kind, &mut obj).map_err(|e| e.in_patch_result(&obj))?;
                note_manager(&mut obj, query, "Apply");
                let created = store.create(kind, ns, obj, dry_run)?;
                return Ok(Reply::Json(201, present(kind, &created)));
            }
            Err(e) => return Err(e),
        };
        let live_rv = meta(&live).get("resourceVersion").cloned();
        let result = if sub == Some(SCALE) {
            let mut scale = scale_of(&live);
            apply(&mut scale)?;
            let pinned = scale.pointer("/metadata/resourceVersion") != live_rv.as_ref();
            match write_scale(store, kind, ns, name, &live, &scale, dry_run) {
                Err(e) if e.reason == "Conflict" && !pinned => continue,
                r => r.map(|o| scale_of(&o)),
            }
        } else {
            let mut target = present(kind, &live);
            apply(&mut target)?;
            check_type(kind, &target)?;
            let patched = target.clone();
            typed::decode(kind, &mut target).map_err(|e| e.in_patch_result(&patched))?;
            let operation = if patch_type == PatchType::Apply {
                "Apply"
            } else {
                "Update"
            };
            note_manager(&mut target, query, operation);
            let pinned = target.pointer("/metadata/resourceVersion") != live_rv.as_ref();
            let update_target = if sub == Some(STATUS) {
                UpdateTarget::Status
            } else {
                UpdateTarget::Main
            };
            match store.update(kind, ns, name, target, update_target, dry_run) {
                Err(e) if e.reason == "Conflict" && !pinned => continue,
                r => r.map(|o| present(kind, &o)),
            }
        };
        return result.map(|v| Reply::Json(200, v));
    }
    Err(ApiError::conflict(kind.group, kind.plural, name))
}

/// Records the request's `fieldManager` in `metadata.managedFields`, as the real server does
/// (one entry per manager and operation; the fields themselves are not tracked).
fn note_manager(obj: &mut Value, query: &Query, operation: &str) {
    let Some(manager) = query.get("fieldManager").filter(|m| !m.is_empty()) else {
        return;
    };
    let api_version = obj.get("apiVersion").cloned().unwrap_or(Value::Null);
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let fields = meta
        .entry("managedFields")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !fields.is_array() {
        *fields = Value::Array(Vec::new());
    }
    if let Some(list) = fields.as_array_mut() {
        list.retain(|f| {
            f.get("manager").and_then(Value::as_str) != Some(manager)
                || f.get("operation").and_then(Value::as_str) != Some(operation)
        });
        list.push(json!({
            "manager": manager,
            "operation": operation,
            "apiVersion": api_version,
            "fieldsType": "FieldsV1",
        }));
    }
}

/// Filters for one watch, and how it renders events.
struct WatchFilter {
    kind: &'static KindInfo,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
    /// Events as one-row Tables (column definitions in the first only), by this clock's ages.
    table: Option<(TableRequest, Clock)>,
    headers_sent: bool,
}

impl WatchFilter {
    fn matches(&self, obj: &Value) -> bool {
        let ns_ok = self
            .namespace
            .as_deref()
            .is_none_or(|ns| meta(obj).get("namespace").and_then(Value::as_str) == Some(ns));
        ns_ok && self.labels.matches(obj) && self.fields.matches(obj)
    }

    /// The wire event for a store event, if this watch should see it. A modification that moves
    /// an object into (out of) the selection is seen as ADDED (DELETED), as on the real server.
    fn render(&mut self, event: &WatchEvent) -> Option<Bytes> {
        if event.kind.key() != self.kind.key() {
            return None;
        }
        let now = self.matches(&event.object);
        let before = event.previous.as_deref().is_some_and(|p| self.matches(p));
        let event_type = match event.event_type {
            EventType::Modified if now && !before => EventType::Added,
            EventType::Modified if !now && before => EventType::Deleted,
            t if now => t,
            _ => return None,
        };
        let mut object = present(self.kind, &event.object);
        if let Some((table, clock)) = &self.table {
            let mut metadata = serde_json::Map::new();
            if let Some(rv) = meta(&object).get("resourceVersion") {
                metadata.insert("resourceVersion".into(), rv.clone());
            }
            let headers = !std::mem::replace(&mut self.headers_sent, true);
            object = table.table(self.kind, &[object], metadata, headers, timestamp(clock));
        }
        Some(line(
            &json!({"type": event_type.as_str(), "object": object}),
        ))
    }
}

fn line(v: &Value) -> Bytes {
    let mut buf = serde_json::to_vec(v).expect("JSON values serialise");
    buf.push(b'\n');
    Bytes::from(buf)
}

struct WatchState {
    filter: WatchFilter,
    replay: VecDeque<Bytes>,
    rx: broadcast::Receiver<WatchEvent>,
    /// `timeoutSeconds`, by the store's clock.
    deadline: Option<(Clock, Instant)>,
    done: bool,
}

fn watch(
    store: &Store,
    route: &Route,
    query: &Query,
    table: Option<TableRequest>,
) -> Result<Reply, ApiError> {
    let kind = route.kind;
    let (labels, fields) = selectors(kind, query)?;
    let mut filter = WatchFilter {
        kind,
        namespace: route.namespace.clone(),
        labels,
        fields,
        table: table.map(|t| (t, store.clock().clone())),
        headers_sent: false,
    };
    let initial_events = query.flag("sendInitialEvents");
    let rv = match query.get("resourceVersion") {
        None | Some("" | "0") => None,
        Some(_) if initial_events => None,
        Some(v) => Some(v.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!(
                "resourceVersion: Invalid value: \"{v}\": must be a number"
            ))
        })?),
    };
    let timeout = query.int("timeoutSeconds")?.filter(|t| *t > 0);
    let mut replay = VecDeque::new();
    let rx = match store.watch(kind, rv) {
        Ok((events, rx)) => {
            replay.extend(events.iter().filter_map(|e| filter.render(e)));
            if initial_events {
                replay.push_back(line(&json!({"type": "BOOKMARK", "object": {
                    "apiVersion": kind.api_version(), "kind": kind.kind,
                    "metadata": {
                        "resourceVersion": store.resource_version().to_string(),
                        "annotations": {"k8s.io/initial-events-end": "true"},
                    },
                }})));
            }
            Some(rx)
        }
        Err(gone) => {
            // As the real server does: a 200 stream carrying one ERROR event, then the end.
            replay.push_back(line(&json!({"type": "ERROR", "object": gone.to_status()})));
            None
        }
    };
    let state = WatchState {
        filter,
        replay,
        rx: rx.unwrap_or_else(|| store.subscribe()),
        deadline: timeout.and_then(|t| {
            let clock = store.clock().clone();
            let at = clock
                .now()
                .checked_add(Duration::from_secs(t.unsigned_abs()))?;
            Some((clock, at))
        }),
        done: false,
    };
    let stream = futures::stream::unfold(state, |mut st| async move {
        if let Some(b) = st.replay.pop_front() {
            return Some((b, st));
        }
        if st.done {
            return None;
        }
        loop {
            let next = match &st.deadline {
                Some((clock, at)) => match clock.timeout_at(*at, st.rx.recv()).await {
                    Ok(r) => r,
                    Err(_) => return None,
                },
                None => st.rx.recv().await,
            };
            match next {
                Ok(event) => {
                    if let Some(b) = st.filter.render(&event) {
                        return Some((b, st));
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    st.done = true;
                    let err = ApiError::gone("too old resource version: the watch fell behind");
                    return Some((
                        line(&json!({"type": "ERROR", "object": err.to_status()})),
                        st,
                    ));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Ok(Reply::Watch(
        StreamBody::new(stream.map(|b| Ok::<_, Infallible>(Frame::data(b)))).boxed_unsync(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(path: &str) -> Route {
        match route(path).unwrap() {
            Target::Resource(r) => r,
            Target::Discovery(d) => panic!("{path} is discovery: {d}"),
        }
    }

    #[test]
    fn routes() {
        let r = resource("/api/v1/namespaces/default/pods/web-1/eviction");
        assert_eq!(
            (r.kind.kind, r.namespace.as_deref()),
            ("Pod", Some("default"))
        );
        assert_eq!(
            (r.name.as_deref(), r.subresource.as_deref()),
            (Some("web-1"), Some("eviction"))
        );
        let r = resource("/api/v1/pods");
        assert_eq!((r.kind.kind, r.namespace, r.name), ("Pod", None, None));
        let r = resource("/api/v1/namespaces/kube-system");
        assert_eq!(
            (r.kind.kind, r.name.as_deref()),
            ("Namespace", Some("kube-system"))
        );
        let r = resource("/api/v1/namespaces/x/status");
        assert_eq!(r.subresource.as_deref(), Some("status"));
        let r = resource("/apis/apps/v1/namespaces/d/deployments/web/scale");
        assert_eq!(
            (r.kind.kind, r.subresource.as_deref()),
            ("Deployment", Some("scale"))
        );
        let r = resource("/apis/policy/v1beta1/namespaces/d/poddisruptionbudgets");
        assert_eq!(r.kind.version, "v1beta1");
        assert!(matches!(
            route("/apis/apps/v1").unwrap(),
            Target::Discovery(_)
        ));
        assert!(matches!(route("/version").unwrap(), Target::Discovery(_)));
        for bad in [
            "/api/v1/namespaces/d/nodes",
            "/api/v1/nope",
            "/apis/apps/v1/deployments/x",
            "/api/v1/namespaces/d/configmaps/x/status",
            "/api/v1/namespaces/d/pods/a/b/c",
            "/healthz",
        ] {
            assert_eq!(route(bad).unwrap_err().code, 404, "{bad}");
        }
    }

    #[test]
    fn queries() {
        let q = Query::parse(Some(
            "labelSelector=app%3Dweb&watch=true&dryRun=All&limit=2",
        ));
        assert_eq!(q.get("labelSelector"), Some("app=web"));
        assert!(q.flag("watch"));
        assert!(q.dry_run().unwrap());
        assert_eq!(q.int("limit").unwrap(), Some(2));
        assert_eq!(
            Query::parse(Some("dryRun=Some"))
                .dry_run()
                .unwrap_err()
                .code,
            400
        );
    }

    #[test]
    fn scale_view() {
        let d = json!({"metadata": {"name": "w", "resourceVersion": "5"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "w"}}}, "status": {"replicas": 2}});
        let s = scale_of(&d);
        assert_eq!(s["spec"]["replicas"], 3);
        assert_eq!(s["status"], json!({"replicas": 2, "selector": "app=w"}));
        assert_eq!(s["metadata"]["resourceVersion"], "5");
    }
}
