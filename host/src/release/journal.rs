//! The undo journal of a revision: what each mutating call will change, and how to undo it.
//!
//! Pure logic, no I/O. Before a mutating call the caller reads the live object and records
//! [`plan`]'s [`Change`] in the pending revision; once the call succeeds, [`observe`] refines
//! it from the object the server returned. To undo a failed or crashed run, the caller walks
//! the entries in reverse order, reads each target as it is now and asks [`undo`] what to do:
//! every undo carries a precondition, so a change someone else made after ours is reported
//! ([`Undo::Conflict`]), never overwritten. Entries are serde types (camelCase) stored as JSON.
//!
//! Everything here may come from a sandboxed policy (names, keys, values, bodies): nothing
//! panics on any input, and no walk goes deeper than [`MAX_DEPTH`] levels (deeper subtrees are
//! leaves).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};

use crate::cluster::PatchKind;

/// The deepest a body is walked; a subtree below it is one leaf.
pub const MAX_DEPTH: usize = 64;

/// One mutating call of a run, in the order the run made it (`seq`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub seq: u32,
    pub operation: Operation,
    pub target: Target,
    pub change: Change,
    /// For an apply: the manifest as applied (its namespace filled in), which the revision's
    /// applied objects are made of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Value>,
}

/// The kind of call an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    Apply,
    Patch,
    Delete,
    Scale,
    Cordon,
    Uncordon,
    Evict,
}

impl Operation {
    /// The name as stored (`apply`, `patch`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "apply",
            Operation::Patch => "patch",
            Operation::Delete => "delete",
            Operation::Scale => "scale",
            Operation::Cordon => "cordon",
            Operation::Uncordon => "uncordon",
            Operation::Evict => "evict",
        }
    }
}

/// The object a call acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub api_version: String,
    pub kind: String,
    /// `None` for cluster-scoped kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

/// What a call changes, as needed to undo it. Stored as `{"type": "create" | "fields" |
/// "delete" | "irreversible", ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Change {
    /// The object did not exist: the call creates it. Undo: delete it, with its uid (once
    /// [`observe`] knows it) as precondition.
    Create {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        uid: Option<String>,
    },
    /// Fields of an existing object (`uid`: its `metadata.uid` when read). No fields: the call
    /// changes nothing that needs undoing (e.g. its target is absent, so it fails).
    Fields {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        uid: Option<String>,
        fields: Vec<Field>,
    },
    /// The whole object as it was before the call deleted it. Undo: create it again if absent.
    Delete { object: Value },
    /// Cannot be undone (an eviction, a pod deletion): why.
    Irreversible { reason: String },
}

/// One touched field: an RFC 6901 pointer, the value before the call, and the value the call
/// left. No pointer is an ancestor of another in one entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub pointer: String,
    /// The value before the call; `None` (key left out of the JSON) when absent. A present
    /// `null` stays `Some(Value::Null)`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub prior: Option<Value>,
    pub ours: Ours,
}

/// Keeps a present `null` as `Some(Value::Null)`; a missing key is `None` by `default`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// The value a call left at a field: stored as `"unknown"`, `"absent"` or `{"value": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ours {
    /// Not known: the body does not tell (strategic lists, directives, JSON-patch ops on
    /// arrays) and [`observe`] has not run.
    Unknown,
    /// The call removed the field (or left it absent).
    Absent,
    /// The call left this value.
    Value(Value),
}

/// A mutating call as [`plan`] reads it.
#[derive(Debug, Clone, Copy)]
pub enum Call<'a> {
    /// Server-side apply of a whole manifest.
    Apply {
        manifest: &'a Value,
    },
    /// A patch of the given kind (an `Apply` patch is server-side apply of a partial object).
    Patch {
        kind: PatchKind,
        body: &'a Value,
    },
    Delete,
    /// The scale subresource, recorded as `/spec/replicas` of the object.
    Scale {
        replicas: u32,
    },
    Cordon,
    Uncordon,
    Evict,
}

impl Call<'_> {
    /// The operation an entry of this call records.
    pub fn operation(&self) -> Operation {
        match self {
            Call::Apply { .. } => Operation::Apply,
            Call::Patch { .. } => Operation::Patch,
            Call::Delete => Operation::Delete,
            Call::Scale { .. } => Operation::Scale,
            Call::Cordon => Operation::Cordon,
            Call::Uncordon => Operation::Uncordon,
            Call::Evict => Operation::Evict,
        }
    }
}

/// What to do to undo one entry, given its target as it is now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "detail", rename_all = "kebab-case")]
pub enum Undo {
    /// Nothing to do (the call never took effect, or there is nothing to undo): why.
    Nothing(String),
    /// Restore fields with this RFC 6902 patch: `test` ops first (the object's
    /// `metadata.resourceVersion` as read, then each field's current value, which is ours),
    /// then `add`/`remove` ops restoring the prior values. A failed test means the object
    /// changed after the read: read again and ask again.
    Patch(Value),
    /// Delete the object the call created, with this uid as precondition (`None`: unknown).
    Delete { uid: Option<String> },
    /// Create the deleted object again (stripped of server-set metadata and status).
    Recreate(Value),
    /// Someone else changed it after us: one line saying what; reported, not overwritten.
    Conflict(String),
    /// Not reversible: why.
    Irreversible(String),
}

/// Top-level keys never recorded: identity, and status (apply and patches of the main
/// resource ignore it).
const TOP_SKIP: &[&str] = &["apiVersion", "kind", "status"];
/// `metadata` keys never recorded: identity, and what the server sets.
const META_SKIP: &[&str] = &[
    "name",
    "namespace",
    "resourceVersion",
    "uid",
    "managedFields",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];
/// `metadata` keys [`Undo::Recreate`] strips.
const RECREATE_STRIP: &[&str] = &[
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "managedFields",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
];

/// The change `call` will make to `target`, whose live object (read just before the call) is
/// `live` (`None`: absent).
pub fn plan(call: Call<'_>, target: &Target, live: Option<&Value>) -> Change {
    let nothing = || Change::Fields {
        uid: None,
        fields: Vec::new(),
    };
    let Some(live) = live else {
        return match call {
            // Server-side apply creates an absent object; every other call fails on it.
            Call::Apply { .. }
            | Call::Patch {
                kind: PatchKind::Apply,
                ..
            } => Change::Create { uid: None },
            Call::Evict => irreversible_eviction(),
            _ => nothing(),
        };
    };
    let touches = match call {
        Call::Evict => return irreversible_eviction(),
        Call::Delete => {
            if target.api_version == "v1" && target.kind == "Pod" {
                return Change::Irreversible {
                    reason: "a deleted pod is replaced by its controller, not restored".into(),
                };
            }
            if controlled(live) {
                return Change::Irreversible {
                    reason: "a deleted object with a controller is replaced by it, not restored"
                        .into(),
                };
            }
            return Change::Delete {
                object: live.clone(),
            };
        }
        Call::Apply { manifest } => merge_touches(Mode::Apply, manifest, live),
        Call::Patch { kind, body } => match kind {
            PatchKind::Merge => merge_touches(Mode::Merge, body, live),
            PatchKind::Strategic => merge_touches(Mode::Strategic, body, live),
            PatchKind::Apply => merge_touches(Mode::Apply, body, live),
            PatchKind::Json => match json_touches(body) {
                Some(touches) => touches,
                None => {
                    return Change::Irreversible {
                        reason: "a JSON patch of the whole document (path \"\")".into(),
                    };
                }
            },
        },
        Call::Scale { replicas } => {
            vec![touch(&["spec", "replicas"], Ours::Value(replicas.into()))]
        }
        Call::Cordon => vec![touch(&["spec", "unschedulable"], Ours::Value(true.into()))],
        // As `Cluster::uncordon` does it: a merge patch of `null` removes the field.
        Call::Uncordon => vec![touch(&["spec", "unschedulable"], Ours::Absent)],
    };
    Change::Fields {
        uid: uid_of(live),
        fields: fields(touches, live),
    }
}

fn irreversible_eviction() -> Change {
    Change::Irreversible {
        reason: "an evicted pod is replaced by its controller, not restored".into(),
    }
}

/// After the call succeeded: the value it left at each field, from the object the server
/// returned (`Absent` where missing), and the uid of a created object.
pub fn observe(change: &mut Change, stored: &Value) {
    match change {
        Change::Create { uid } => *uid = uid_of(stored),
        Change::Fields { uid, fields } => {
            if uid.is_none() {
                *uid = uid_of(stored);
            }
            for field in fields {
                field.ours = match segments(&field.pointer) {
                    Some(segs) => match get(stored, &segs) {
                        Some(v) => Ours::Value(v.clone()),
                        None => Ours::Absent,
                    },
                    None => Ours::Unknown,
                };
            }
        }
        Change::Delete { .. } | Change::Irreversible { .. } => {}
    }
}

/// How to undo `entry`, given its target as it is now (`None`: absent).
pub fn undo(entry: &Entry, current: Option<&Value>) -> Undo {
    match &entry.change {
        Change::Irreversible { reason } => Undo::Irreversible(reason.clone()),
        Change::Create { uid } => {
            let Some(current) = current else {
                return Undo::Nothing("already gone".into());
            };
            match (uid, uid_of(current)) {
                (Some(ours), Some(now)) if *ours != now => {
                    Undo::Conflict("replaced by another object of the same name".into())
                }
                _ => Undo::Delete { uid: uid.clone() },
            }
        }
        Change::Delete { object } => {
            let Some(current) = current else {
                return Undo::Recreate(recreatable(object));
            };
            match (uid_of(object), uid_of(current)) {
                (Some(ours), Some(now)) if ours == now => {
                    if get(current, &["metadata", "deletionTimestamp"]).is_some() {
                        Undo::Conflict(
                            "still being deleted (finalizers pending): undo once it is gone".into(),
                        )
                    } else {
                        Undo::Nothing("the delete did not happen: the object is still there".into())
                    }
                }
                (Some(_), _) => Undo::Conflict("recreated by someone else".into()),
                (None, _) => Undo::Conflict(
                    "present again, and with no uid recorded it cannot be told from ours".into(),
                ),
            }
        }
        Change::Fields { uid, fields } => {
            undo_fields(&entry.target, uid.as_deref(), fields, current)
        }
    }
}

fn undo_fields(
    target: &Target,
    uid: Option<&str>,
    fields: &[Field],
    current: Option<&Value>,
) -> Undo {
    if fields.is_empty() {
        return Undo::Nothing("the call changed nothing to undo".into());
    }
    let Some(current) = current else {
        return Undo::Conflict("deleted since".into());
    };
    if let (Some(ours), Some(now)) = (uid, uid_of(current))
        && ours != now
    {
        return Undo::Conflict("replaced by another object".into());
    }
    let mut restores: Vec<(Vec<String>, &Field, Option<&Value>)> = Vec::new();
    let mut conflicts: Vec<String> = Vec::new();
    for field in fields {
        let Some(segs) = segments(&field.pointer) else {
            conflicts.push(format!("{}: not a JSON pointer", clean(&field.pointer)));
            continue;
        };
        if segs.is_empty() {
            conflicts.push("the whole object was recorded as one field".into());
            continue;
        }
        let now = get(current, &segs);
        let same = |a: Option<&Value>, b: Option<&Value>| {
            normal(target, &field.pointer, a) == normal(target, &field.pointer, b)
        };
        if same(now, field.prior.as_ref()) {
            continue; // as before the call
        }
        let pointer = clean(&field.pointer);
        match &field.ours {
            Ours::Value(v) if same(now, Some(v)) => {}
            Ours::Absent if same(now, None) => {}
            Ours::Unknown => {
                conflicts.push(format!(
                    "{pointer}: was {}, is now {}, and what our call set was not recorded",
                    show(field.prior.as_ref()),
                    show(now),
                ));
                continue;
            }
            ours => {
                let ours = match ours {
                    Ours::Value(v) => Some(v),
                    _ => None,
                };
                conflicts.push(format!(
                    "{pointer}: we set {}, it is now {}",
                    show(ours),
                    show(now)
                ));
                continue;
            }
        }
        if field.prior.is_some() {
            let parent = &segs[..segs.len() - 1];
            if !matches!(get(current, parent), Some(Value::Object(_))) {
                conflicts.push(format!("{pointer}: its parent is gone"));
                continue;
            }
        }
        restores.push((segs, field, now));
    }
    if let Some(first) = conflicts.first() {
        return Undo::Conflict(match conflicts.len() {
            1 => first.clone(),
            n => format!("{first} (and {} more)", n - 1),
        });
    }
    if restores.is_empty() {
        return Undo::Nothing("not applied: every field is as it was before the call".into());
    }
    // Ancestors first, so that a parent is restored before anything under it.
    restores.sort_by(|a, b| a.0.cmp(&b.0));
    let mut ops = Vec::new();
    if let Some(rv) = get(current, &["metadata", "resourceVersion"]) {
        ops.push(json!({"op": "test", "path": "/metadata/resourceVersion", "value": rv}));
    }
    for (_, field, now) in &restores {
        if let Some(now) = now {
            ops.push(json!({"op": "test", "path": field.pointer, "value": now}));
        }
    }
    for (_, field, _) in &restores {
        ops.push(match &field.prior {
            Some(prior) => json!({"op": "add", "path": field.pointer, "value": prior}),
            None => json!({"op": "remove", "path": field.pointer}),
        });
    }
    Undo::Patch(Value::Array(ops))
}

/// A node's `spec.unschedulable: false` means what its absence means.
fn normal<'a>(target: &Target, pointer: &str, v: Option<&'a Value>) -> Option<&'a Value> {
    match v {
        Some(Value::Bool(false)) if target.kind == "Node" && pointer == "/spec/unschedulable" => {
            None
        }
        v => v,
    }
}

/// One line for listing an entry: `patch deployment shop/web: 2 fields`.
pub fn describe(entry: &Entry) -> String {
    let t = &entry.target;
    let place = match &t.namespace {
        Some(ns) => format!("{}/{}", clean(ns), clean(&t.name)),
        None => clean(&t.name),
    };
    let what = format!("{} {place}", clean(&t.kind.to_lowercase()));
    let op = entry.operation.as_str();
    match &entry.change {
        Change::Create { .. } => format!("create {what}"),
        Change::Fields { fields, .. } => match fields.len() {
            0 => format!("{op} {what}: nothing to undo"),
            1 => format!("{op} {what}: 1 field"),
            n => format!("{op} {what}: {n} fields"),
        },
        Change::Delete { .. } => format!("delete {what}"),
        Change::Irreversible { .. } => format!("{op} {what} (not reversible)"),
    }
}

/// A touched field before it is checked against the live object.
struct Touch {
    segs: Vec<String>,
    ours: Ours,
}

fn touch(segs: &[&str], ours: Ours) -> Touch {
    Touch {
        segs: segs.iter().map(|s| s.to_string()).collect(),
        ours,
    }
}

/// How a merge-like body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// RFC 7386: the result at a leaf is the body's value, nulls removed.
    Merge,
    /// Strategic merge: lists merge by key and directives steer, so those results are unknown.
    Strategic,
    /// Server-side apply: associative lists merge, so list results are unknown.
    Apply,
}

/// The fields a merge patch, strategic merge patch or applied configuration touches.
fn merge_touches(mode: Mode, body: &Value, live: &Value) -> Vec<Touch> {
    let (Value::Object(body), Value::Object(live_map)) = (body, live) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if mode == Mode::Strategic && has_directive(body) {
        // A directive at the top (`$patch: replace`, `$retainKeys`) may touch every key.
        let mut keys: Vec<&String> = body.keys().chain(live_map.keys()).collect();
        keys.sort();
        keys.dedup();
        for key in keys.into_iter().filter(|k| !is_directive(k)) {
            out.push(Touch {
                segs: vec![key.clone()],
                ours: Ours::Unknown,
            });
        }
        return out;
    }
    walk(mode, body, live_map, &mut Vec::new(), &mut out);
    out
}

fn walk(
    mode: Mode,
    body: &Map<String, Value>,
    live: &Map<String, Value>,
    path: &mut Vec<String>,
    out: &mut Vec<Touch>,
) {
    for (key, value) in body {
        path.push(key.clone());
        let directive = mode == Mode::Strategic && is_directive(key);
        if !skipped(path) && !directive {
            match (live.get(key), value) {
                // Removing what is absent changes nothing.
                (None, Value::Null) => {}
                (None, _) => out.push(Touch {
                    segs: path.clone(),
                    ours: created(mode, value),
                }),
                // An empty object merges nothing into an object.
                (Some(Value::Object(_)), Value::Object(b)) if b.is_empty() => {}
                (Some(Value::Object(l)), Value::Object(b))
                    if path.len() < MAX_DEPTH && !(mode == Mode::Strategic && has_directive(b)) =>
                {
                    walk(mode, b, l, path, out)
                }
                // Merged into an object, but too deep to follow or steered by a directive.
                (Some(Value::Object(_)), Value::Object(_)) => out.push(Touch {
                    segs: path.clone(),
                    ours: Ours::Unknown,
                }),
                (Some(_), _) => out.push(Touch {
                    segs: path.clone(),
                    ours: created(mode, value),
                }),
            }
        }
        path.pop();
    }
}

/// What a merge-like body leaves at a key whose live value is absent or not an object.
fn created(mode: Mode, value: &Value) -> Ours {
    match (mode, value) {
        (Mode::Apply, Value::Null) => Ours::Unknown,
        (_, Value::Null) => Ours::Absent,
        (Mode::Merge, v) => Ours::Value(strip_nulls(v, 0)),
        (_, Value::Array(_)) => Ours::Unknown,
        (_, v) if plain(v, 0) => Ours::Value(strip_nulls(v, 0)),
        _ => Ours::Unknown,
    }
}

/// The value with null members of objects removed (as a merge patch creates it).
fn strip_nulls(v: &Value, depth: usize) -> Value {
    match v {
        Value::Object(m) if depth < MAX_DEPTH => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v, depth + 1)))
                .collect(),
        ),
        v => v.clone(),
    }
}

/// No lists or directives anywhere within (within the depth bound): the body is the result.
fn plain(v: &Value, depth: usize) -> bool {
    match v {
        Value::Array(_) => false,
        Value::Object(m) => {
            depth < MAX_DEPTH
                && !has_directive(m)
                && m.values().all(|v| v.is_null() || plain(v, depth + 1))
        }
        _ => true,
    }
}

fn is_directive(key: &str) -> bool {
    key == "$patch"
        || key == "$retainKeys"
        || key.starts_with("$setElementOrder/")
        || key.starts_with("$deleteFromPrimitiveList/")
}

fn has_directive(m: &Map<String, Value>) -> bool {
    m.keys().any(|k| is_directive(k))
}

/// The fields an RFC 6902 patch touches; `None` if an op touches the whole document.
fn json_touches(body: &Value) -> Option<Vec<Touch>> {
    let Some(ops) = body.as_array() else {
        return Some(Vec::new());
    };
    let mut out = Vec::new();
    for op in ops {
        let Some(op) = op.as_object() else { continue };
        let pointer = |key: &str| op.get(key).and_then(Value::as_str).and_then(segments);
        let mut push = |segs: Option<Vec<String>>, ours: Ours| -> Option<()> {
            match segs {
                Some(segs) if segs.is_empty() => None,
                Some(segs) => {
                    out.push(Touch { segs, ours });
                    Some(())
                }
                None => Some(()), // not a pointer: the server rejects the patch
            }
        };
        match op.get("op").and_then(Value::as_str) {
            Some("add" | "replace") => {
                let ours = op.get("value").cloned().map_or(Ours::Unknown, Ours::Value);
                push(pointer("path"), ours)?
            }
            Some("remove") => push(pointer("path"), Ours::Absent)?,
            Some("move") => {
                push(pointer("from"), Ours::Absent)?;
                push(pointer("path"), Ours::Unknown)?
            }
            Some("copy") => push(pointer("path"), Ours::Unknown)?,
            _ => {} // test touches nothing; anything else is rejected by the server
        }
    }
    Some(out)
}

/// Touches made fields: each pointer cut at the highest ancestor missing from `live` (whose
/// prior is absent) or at an array or scalar it would go through (an atomic leaf); where cut,
/// ours is unknown. Skipped keys dropped, pointers deduplicated, an ancestor wins over what
/// is under it (ours unknown when several touches meet).
fn fields(touches: Vec<Touch>, live: &Value) -> Vec<Field> {
    let mut cut: Vec<Touch> = touches
        .into_iter()
        .filter_map(|Touch { mut segs, ours }| {
            let exact = truncate(live, &mut segs);
            if segs.is_empty() || skipped(&segs) {
                return None;
            }
            let ours = if exact { ours } else { Ours::Unknown };
            Some(Touch { segs, ours })
        })
        .collect();
    // Lexicographic by segment: everything under a pointer follows it directly.
    cut.sort_by(|a, b| a.segs.cmp(&b.segs));
    let mut kept: Vec<Touch> = Vec::new();
    for t in cut {
        match kept.last_mut() {
            Some(last) if t.segs.starts_with(&last.segs) => last.ours = Ours::Unknown,
            _ => kept.push(t),
        }
    }
    kept.into_iter()
        .map(|t| Field {
            pointer: pointer(&t.segs),
            prior: get(live, &t.segs).cloned(),
            ours: t.ours,
        })
        .collect()
}

/// Cuts `segs` where `live` stops being objects all the way down; whether it was left whole.
fn truncate(live: &Value, segs: &mut Vec<String>) -> bool {
    let mut cur = live;
    for i in 0..segs.len() {
        match cur {
            Value::Object(m) => match m.get(&segs[i]) {
                Some(next) => cur = next,
                None => {
                    let whole = i + 1 == segs.len();
                    segs.truncate(i + 1);
                    return whole;
                }
            },
            _ => {
                segs.truncate(i);
                return false;
            }
        }
    }
    true
}

fn skipped(segs: &[String]) -> bool {
    match segs {
        [top, ..] if TOP_SKIP.contains(&top.as_str()) => true,
        [meta, key, ..] if meta == "metadata" => META_SKIP.contains(&key.as_str()),
        _ => false,
    }
}

/// The value at `segs`, through objects only (pointers here never index arrays).
fn get<'a, S: AsRef<str>>(v: &'a Value, segs: &[S]) -> Option<&'a Value> {
    segs.iter()
        .try_fold(v, |cur, seg| cur.as_object()?.get(seg.as_ref()))
}

/// An RFC 6901 pointer's reference tokens; `None` if it is not a pointer.
fn segments(pointer: &str) -> Option<Vec<String>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    let rest = pointer.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// The RFC 6901 pointer of reference tokens.
fn pointer<S: AsRef<str>>(segs: &[S]) -> String {
    let mut out = String::new();
    for seg in segs {
        out.push('/');
        out.push_str(&seg.as_ref().replace('~', "~0").replace('/', "~1"));
    }
    out
}

fn uid_of(v: &Value) -> Option<String> {
    get(v, &["metadata", "uid"])
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Whether an object has a controller owner, which recreates it when deleted.
fn controlled(v: &Value) -> bool {
    get(v, &["metadata", "ownerReferences"])
        .and_then(Value::as_array)
        .is_some_and(|refs| {
            refs.iter()
                .any(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        })
}

/// A deleted object as it can be created again.
fn recreatable(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(m) = object.as_object_mut() {
        m.remove("status");
        if let Some(Value::Object(meta)) = m.get_mut("metadata") {
            for key in RECREATE_STRIP {
                meta.remove(*key);
            }
        }
    }
    object
}

/// A value for a one-line message: compact JSON, cut short.
fn show(v: Option<&Value>) -> String {
    match v {
        None => "absent".into(),
        Some(v) => cut(&v.to_string()),
    }
}

/// A policy-supplied string for a one-line message: control characters escaped, cut short.
fn clean(s: &str) -> String {
    let escaped: String = s
        .chars()
        .flat_map(|c| {
            let e: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            e
        })
        .collect();
    cut(&escaped)
}

fn cut(s: &str) -> String {
    const MAX: usize = 120;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(kind: &str, ns: Option<&str>, name: &str) -> Target {
        Target {
            api_version: if kind == "Deployment" {
                "apps/v1".into()
            } else {
                "v1".into()
            },
            kind: kind.into(),
            namespace: ns.map(str::to_string),
            name: name.into(),
        }
    }

    fn deploy() -> Target {
        target("Deployment", Some("shop"), "web")
    }

    fn entry(operation: Operation, target: Target, change: Change) -> Entry {
        Entry {
            manifest: None,
            seq: 1,
            operation,
            target,
            change,
        }
    }

    fn live_web() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "web", "namespace": "shop", "uid": "u1", "resourceVersion": "7",
                "labels": {"app": "web"},
                "annotations": {"keep": "1", "a/b~c": "old"}
            },
            "spec": {
                "replicas": 2,
                "template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}
            },
            "status": {"replicas": 2}
        })
    }

    fn fields_of(change: &Change) -> Vec<(String, Option<Value>, Ours)> {
        match change {
            Change::Fields { fields, .. } => fields
                .iter()
                .map(|f| (f.pointer.clone(), f.prior.clone(), f.ours.clone()))
                .collect(),
            other => panic!("not fields: {other:?}"),
        }
    }

    fn field(p: &str, prior: Option<Value>, ours: Ours) -> (String, Option<Value>, Ours) {
        (p.to_string(), prior, ours)
    }

    fn patch(kind: PatchKind, body: &Value) -> Call<'_> {
        Call::Patch { kind, body }
    }

    /// RFC 6902 for the ops undo writes (test, add, remove) plus replace, on objects.
    fn apply_json_patch(doc: &Value, ops: &Value) -> Result<Value, String> {
        let mut doc = doc.clone();
        for op in ops.as_array().ok_or("not an array")? {
            let path = op["path"].as_str().ok_or("no path")?;
            let segs = segments(path).ok_or("bad pointer")?;
            let (last, parent) = segs.split_last().ok_or("root")?;
            let mut cur = &mut doc;
            for s in parent {
                cur = cur.get_mut(s).ok_or(format!("missing parent at {path}"))?;
            }
            let obj = cur.as_object_mut().ok_or("parent not an object")?;
            match op["op"].as_str() {
                Some("test") => {
                    if obj.get(last) != Some(&op["value"]) {
                        return Err(format!("test failed at {path}"));
                    }
                }
                Some("add") => {
                    obj.insert(last.clone(), op["value"].clone());
                }
                Some("replace") => {
                    obj.get(last).ok_or("replace of absent")?;
                    obj.insert(last.clone(), op["value"].clone());
                }
                Some("remove") => {
                    obj.remove(last).ok_or(format!("remove of absent {path}"))?;
                }
                other => return Err(format!("op {other:?}")),
            }
        }
        Ok(doc)
    }

    /// RFC 7386.
    fn merge(target: &Value, patch: &Value) -> Value {
        let Value::Object(p) = patch else {
            return patch.clone();
        };
        let mut t = match target {
            Value::Object(t) => t.clone(),
            _ => Map::new(),
        };
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                let merged = merge(t.get(k).unwrap_or(&Value::Null), v);
                t.insert(k.clone(), merged);
            }
        }
        Value::Object(t)
    }

    /// Plans `call`, "runs" it by producing `stored`, observes, and checks that the undo
    /// patch against `stored` gives back `live`.
    fn round_trip(t: Target, call: Call<'_>, live: &Value, stored: &Value) {
        let mut change = plan(call, &t, Some(live));
        observe(&mut change, stored);
        let e = entry(call.operation(), t, change);
        let Undo::Patch(ops) = undo(&e, Some(stored)) else {
            panic!("not a patch: {:?}", undo(&e, Some(stored)));
        };
        let mut back = apply_json_patch(stored, &ops).expect("the undo patch applies");
        // The server sets resourceVersion; everything else is as before.
        if let (Some(m), Some(rv)) = (
            back["metadata"].as_object_mut(),
            live.pointer("/metadata/resourceVersion"),
        ) {
            m.insert("resourceVersion".into(), rv.clone());
        }
        assert_eq!(&back, live, "{ops:#}");
    }

    #[test]
    fn merge_patch_pointers() {
        let live = live_web();
        let body = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "other", "resourceVersion": "9", "uid": "x",
                "annotations": {"a/b~c": "new", "gone": null, "keep": null},
                "labels": {"tier": {"deep": 1, "drop": null}}
            },
            "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "app"}]}},
                     "strategy": {"type": "Recreate", "rollingUpdate": null}},
            "status": {"replicas": 9},
            "extra": {}
        });
        let change = plan(patch(PatchKind::Merge, &body), &deploy(), Some(&live));
        assert_eq!(
            fields_of(&change),
            vec![
                field("/extra", None, Ours::Value(json!({}))),
                field(
                    "/metadata/annotations/a~1b~0c",
                    Some(json!("old")),
                    Ours::Value(json!("new"))
                ),
                field("/metadata/annotations/keep", Some(json!("1")), Ours::Absent),
                field(
                    "/metadata/labels/tier",
                    None,
                    Ours::Value(json!({"deep": 1}))
                ),
                field("/spec/replicas", Some(json!(2)), Ours::Value(json!(3))),
                // Missing ancestor: the highest missing key, whole.
                field(
                    "/spec/strategy",
                    None,
                    Ours::Value(json!({"type": "Recreate"}))
                ),
                // Arrays are atomic leaves.
                field(
                    "/spec/template/spec/containers",
                    Some(json!([{"name": "app", "image": "app:1"}])),
                    Ours::Value(json!([{"name": "app"}]))
                ),
            ]
        );
        let Change::Fields { uid, .. } = change else {
            unreachable!()
        };
        assert_eq!(uid.as_deref(), Some("u1"));
    }

    #[test]
    fn merge_patch_onto_a_scalar_or_an_empty_object() {
        let live = json!({"spec": {"a": 1, "b": {"c": 1}}});
        let body = json!({"spec": {"a": {"x": 1, "y": null}, "b": {}}});
        let change = plan(patch(PatchKind::Merge, &body), &deploy(), Some(&live));
        assert_eq!(
            fields_of(&change),
            vec![field(
                "/spec/a",
                Some(json!(1)),
                Ours::Value(json!({"x": 1}))
            )]
        );
        // A body that is not an object touches nothing.
        for body in [json!("x"), json!(null), json!([1])] {
            let change = plan(patch(PatchKind::Merge, &body), &deploy(), Some(&live));
            assert_eq!(fields_of(&change), vec![]);
        }
    }

    #[test]
    fn apply_creates_or_touches() {
        let manifest = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web", "v": "2"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}},
                     "selector": {"matchLabels": {"app": "web"}}},
            "status": {}
        });
        let call = Call::Apply {
            manifest: &manifest,
        };
        assert_eq!(plan(call, &deploy(), None), Change::Create { uid: None });
        let change = plan(call, &deploy(), Some(&live_web()));
        assert_eq!(
            fields_of(&change),
            vec![
                field(
                    "/metadata/labels/app",
                    Some(json!("web")),
                    Ours::Value(json!("web"))
                ),
                field("/metadata/labels/v", None, Ours::Value(json!("2"))),
                // Subtree our call creates, with a list inside: the result is not the body.
                field("/spec/replicas", Some(json!(2)), Ours::Value(json!(2))),
                field(
                    "/spec/selector",
                    None,
                    Ours::Value(json!({"matchLabels": {"app": "web"}}))
                ),
                field(
                    "/spec/template/spec/containers",
                    Some(json!([{"name": "app", "image": "app:1"}])),
                    Ours::Unknown
                ),
            ]
        );
        // An apply patch creates, too; other patches of an absent object fail.
        let body = json!({"data": {"a": "1"}});
        assert_eq!(
            plan(patch(PatchKind::Apply, &body), &deploy(), None),
            Change::Create { uid: None }
        );
        for kind in [PatchKind::Merge, PatchKind::Strategic, PatchKind::Json] {
            assert_eq!(
                plan(patch(kind, &body), &deploy(), None),
                Change::Fields {
                    uid: None,
                    fields: vec![]
                }
            );
        }
        let with_list = json!({"spec": {"new": {"list": [1]}, "gone": null}});
        let live = json!({"spec": {"gone": 1}});
        let change = plan(patch(PatchKind::Apply, &with_list), &deploy(), Some(&live));
        assert_eq!(
            fields_of(&change),
            vec![
                field("/spec/gone", Some(json!(1)), Ours::Unknown),
                field("/spec/new", None, Ours::Unknown),
            ]
        );
    }

    #[test]
    fn strategic_lists_and_directives() {
        let live = live_web();
        let body = json!({
            "metadata": {"labels": {"$patch": "replace", "app": "x"}, "annotations": {"keep": null}},
            "spec": {
                "replicas": 4,
                "template": {"spec": {
                    "$setElementOrder/containers": [{"name": "app"}],
                    "containers": [{"name": "app", "image": "app:2"}]
                }},
                "strategy": {"rollingUpdate": {"maxSurge": 1}},
                "paused": {"x": [1]}
            }
        });
        let change = plan(patch(PatchKind::Strategic, &body), &deploy(), Some(&live));
        assert_eq!(
            fields_of(&change),
            vec![
                field("/metadata/annotations/keep", Some(json!("1")), Ours::Absent),
                field(
                    "/metadata/labels",
                    Some(json!({"app": "web"})),
                    Ours::Unknown
                ),
                field("/spec/paused", None, Ours::Unknown),
                field("/spec/replicas", Some(json!(2)), Ours::Value(json!(4))),
                field(
                    "/spec/strategy",
                    None,
                    Ours::Value(json!({"rollingUpdate": {"maxSurge": 1}}))
                ),
                field(
                    "/spec/template/spec",
                    Some(json!({"containers": [{"name": "app", "image": "app:1"}]})),
                    Ours::Unknown
                ),
            ]
        );
        // A directive at the top may touch every key.
        let body = json!({"$patch": "replace", "spec": {"replicas": 1}});
        let change = plan(patch(PatchKind::Strategic, &body), &deploy(), Some(&live));
        let pointers: Vec<String> = fields_of(&change).into_iter().map(|f| f.0).collect();
        assert_eq!(pointers, vec!["/metadata", "/spec"]);
        // A merge patch has no directives: a `$` key is a key.
        let body = json!({"spec": {"$patch": "x"}});
        let change = plan(patch(PatchKind::Merge, &body), &deploy(), Some(&live));
        assert_eq!(
            fields_of(&change),
            vec![field("/spec/$patch", None, Ours::Value(json!("x")))]
        );
    }

    #[test]
    fn json_patch_pointers() {
        let live = live_web();
        let ops = json!([
            {"op": "test", "path": "/spec/replicas", "value": 2},
            {"op": "replace", "path": "/spec/replicas", "value": 5},
            {"op": "add", "path": "/metadata/annotations/a~1b~0c", "value": "new"},
            {"op": "remove", "path": "/metadata/annotations/keep"},
            {"op": "add", "path": "/spec/template/spec/containers/-", "value": {"name": "side"}},
            {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "app:2"},
            {"op": "add", "path": "/spec/strategy/type", "value": "Recreate"},
            {"op": "move", "from": "/metadata/labels/app", "path": "/metadata/labels/name"},
            {"op": "copy", "from": "/spec/replicas", "path": "/spec/minReadySeconds"},
            {"op": "replace", "path": "/metadata/resourceVersion", "value": "1"},
            {"op": "add", "path": "/status/replicas", "value": 1},
            {"op": "frobnicate", "path": "/spec/x"},
            {"op": "add", "path": "no-slash", "value": 1},
            "not an op"
        ]);
        let change = plan(patch(PatchKind::Json, &ops), &deploy(), Some(&live));
        assert_eq!(
            fields_of(&change),
            vec![
                field(
                    "/metadata/annotations/a~1b~0c",
                    Some(json!("old")),
                    Ours::Value(json!("new"))
                ),
                field("/metadata/annotations/keep", Some(json!("1")), Ours::Absent),
                field("/metadata/labels/app", Some(json!("web")), Ours::Absent),
                field("/metadata/labels/name", None, Ours::Unknown),
                field("/spec/minReadySeconds", None, Ours::Unknown),
                field("/spec/replicas", Some(json!(2)), Ours::Value(json!(5))),
                // The highest missing ancestor; ours unknown, as the pointer was cut.
                field("/spec/strategy", None, Ours::Unknown),
                // Appends and indices touch the array itself.
                field(
                    "/spec/template/spec/containers",
                    Some(json!([{"name": "app", "image": "app:1"}])),
                    Ours::Unknown
                ),
            ]
        );
        // The same pointer twice, or an ancestor and a descendant: the ancestor, ours unknown.
        let ops = json!([
            {"op": "add", "path": "/metadata/labels/x", "value": "1"},
            {"op": "add", "path": "/metadata/labels", "value": {"y": "2"}},
            {"op": "add", "path": "/spec/replicas", "value": 1},
            {"op": "add", "path": "/spec/replicas", "value": 2}
        ]);
        let change = plan(patch(PatchKind::Json, &ops), &deploy(), Some(&live));
        assert_eq!(
            fields_of(&change),
            vec![
                field(
                    "/metadata/labels",
                    Some(json!({"app": "web"})),
                    Ours::Unknown
                ),
                field("/spec/replicas", Some(json!(2)), Ours::Unknown),
            ]
        );
        // The whole document.
        let ops = json!([{"op": "replace", "path": "", "value": {}}]);
        assert!(matches!(
            plan(patch(PatchKind::Json, &ops), &deploy(), Some(&live)),
            Change::Irreversible { .. }
        ));
        // Not an array: nothing.
        let ops = json!({"op": "add"});
        assert_eq!(
            fields_of(&plan(patch(PatchKind::Json, &ops), &deploy(), Some(&live))),
            vec![]
        );
    }

    #[test]
    fn pointer_escaping() {
        for seg in ["a/b~c", "~1", "/", "~", "", "plain", "~01"] {
            let p = pointer(&[seg]);
            assert_eq!(segments(&p), Some(vec![seg.to_string()]), "{p}");
        }
        assert_eq!(pointer(&["a/b~c"]), "/a~1b~0c");
        assert_eq!(segments(""), Some(vec![]));
        assert_eq!(segments("x"), None);
    }

    #[test]
    fn delete_scale_cordon_evict() {
        let cm = json!({"metadata": {"name": "b", "uid": "u2"}, "data": {"k": "v"}});
        let t = target("ConfigMap", Some("shop"), "b");
        assert_eq!(
            plan(Call::Delete, &t, Some(&cm)),
            Change::Delete { object: cm.clone() }
        );
        assert_eq!(
            plan(Call::Delete, &t, None),
            Change::Fields {
                uid: None,
                fields: vec![]
            }
        );
        let pod = target("Pod", Some("shop"), "p");
        assert_eq!(
            plan(Call::Delete, &pod, Some(&cm)),
            Change::Irreversible {
                reason: "a deleted pod is replaced by its controller, not restored".into()
            }
        );
        let owned = json!({"metadata": {"uid": "u", "ownerReferences": [{"controller": true}]}});
        assert!(matches!(
            plan(Call::Delete, &t, Some(&owned)),
            Change::Irreversible { .. }
        ));
        for live in [None, Some(&cm)] {
            assert_eq!(
                plan(Call::Evict, &pod, live),
                Change::Irreversible {
                    reason: "an evicted pod is replaced by its controller, not restored".into()
                }
            );
        }

        let change = plan(Call::Scale { replicas: 0 }, &deploy(), Some(&live_web()));
        assert_eq!(
            fields_of(&change),
            vec![field(
                "/spec/replicas",
                Some(json!(2)),
                Ours::Value(json!(0))
            )]
        );

        let node = target("Node", None, "n1");
        let live = json!({"metadata": {"uid": "n"}, "spec": {}});
        assert_eq!(
            fields_of(&plan(Call::Cordon, &node, Some(&live))),
            vec![field("/spec/unschedulable", None, Ours::Value(json!(true)))]
        );
        let cordoned = json!({"metadata": {"uid": "n"}, "spec": {"unschedulable": true}});
        assert_eq!(
            fields_of(&plan(Call::Uncordon, &node, Some(&cordoned))),
            vec![field(
                "/spec/unschedulable",
                Some(json!(true)),
                Ours::Absent
            )]
        );
        // No spec at all: the highest missing ancestor.
        assert_eq!(
            fields_of(&plan(Call::Cordon, &node, Some(&json!({"metadata": {}})))),
            vec![field("/spec", None, Ours::Unknown)]
        );
    }

    #[test]
    fn observe_fills_ours_and_uid() {
        let live = live_web();
        let body = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}}},
                          "metadata": {"labels": {"x": "1"}, "annotations": {"keep": null}}});
        let mut change = plan(patch(PatchKind::Strategic, &body), &deploy(), Some(&live));
        let mut stored = merge(&live, &body);
        stored["spec"]["template"]["spec"]["containers"][0]["image"] = json!("app:2");
        observe(&mut change, &stored);
        assert_eq!(
            fields_of(&change),
            vec![
                field("/metadata/annotations/keep", Some(json!("1")), Ours::Absent),
                field("/metadata/labels/x", None, Ours::Value(json!("1"))),
                field(
                    "/spec/template/spec/containers",
                    Some(json!([{"name": "app", "image": "app:1"}])),
                    Ours::Value(json!([{"name": "app", "image": "app:2"}]))
                ),
            ]
        );
        let mut create = Change::Create { uid: None };
        observe(&mut create, &json!({"metadata": {"uid": "new"}}));
        assert_eq!(
            create,
            Change::Create {
                uid: Some("new".into())
            }
        );
        let mut irreversible = Change::Irreversible { reason: "r".into() };
        observe(&mut irreversible, &json!(null));
        assert_eq!(irreversible, Change::Irreversible { reason: "r".into() });
    }

    fn fields_entry(uid: Option<&str>, fields: Vec<Field>) -> Entry {
        entry(
            Operation::Patch,
            deploy(),
            Change::Fields {
                uid: uid.map(str::to_string),
                fields,
            },
        )
    }

    fn f(pointer: &str, prior: Option<Value>, ours: Ours) -> Field {
        Field {
            pointer: pointer.into(),
            prior,
            ours,
        }
    }

    #[test]
    fn undo_fields_rules() {
        let now = json!({"metadata": {"uid": "u1", "resourceVersion": "8", "labels": {"a": "ours"}},
                         "spec": {"replicas": 5}});
        let two = vec![
            f(
                "/metadata/labels/a",
                Some(json!("before")),
                Ours::Value(json!("ours")),
            ),
            f("/spec/replicas", Some(json!(2)), Ours::Value(json!(5))),
        ];
        // Restorable: tests of resourceVersion and of each field, then the restores.
        assert_eq!(
            undo(&fields_entry(Some("u1"), two.clone()), Some(&now)),
            Undo::Patch(json!([
                {"op": "test", "path": "/metadata/resourceVersion", "value": "8"},
                {"op": "test", "path": "/metadata/labels/a", "value": "ours"},
                {"op": "test", "path": "/spec/replicas", "value": 5},
                {"op": "add", "path": "/metadata/labels/a", "value": "before"},
                {"op": "add", "path": "/spec/replicas", "value": 2},
            ]))
        );
        // No fields; gone; replaced.
        assert!(matches!(
            undo(&fields_entry(None, vec![]), None),
            Undo::Nothing(_)
        ));
        assert_eq!(
            undo(&fields_entry(Some("u1"), two.clone()), None),
            Undo::Conflict("deleted since".into())
        );
        assert_eq!(
            undo(&fields_entry(Some("other"), two.clone()), Some(&now)),
            Undo::Conflict("replaced by another object".into())
        );
        // Never took effect.
        let before =
            json!({"metadata": {"uid": "u1", "labels": {"a": "before"}}, "spec": {"replicas": 2}});
        assert_eq!(
            undo(&fields_entry(Some("u1"), two.clone()), Some(&before)),
            Undo::Nothing("not applied: every field is as it was before the call".into())
        );
        // One field restorable, the other changed by someone else: no half undo.
        let theirs =
            json!({"metadata": {"uid": "u1", "labels": {"a": "ours"}}, "spec": {"replicas": 9}});
        assert_eq!(
            undo(&fields_entry(Some("u1"), two.clone()), Some(&theirs)),
            Undo::Conflict("/spec/replicas: we set 5, it is now 9".into())
        );
        // Removed by someone else after we set it.
        let removed = json!({"metadata": {"uid": "u1", "labels": {"a": "ours"}}, "spec": {}});
        assert_eq!(
            undo(&fields_entry(Some("u1"), two.clone()), Some(&removed)),
            Undo::Conflict("/spec/replicas: we set 5, it is now absent".into())
        );
        // Set again by someone else after we removed it; and several conflicts at once.
        let gone = vec![
            f("/metadata/labels/a", Some(json!("before")), Ours::Absent),
            f("/spec/replicas", Some(json!(2)), Ours::Absent),
        ];
        assert_eq!(
            undo(&fields_entry(Some("u1"), gone), Some(&theirs)),
            Undo::Conflict(
                "/metadata/labels/a: we set absent, it is now \"ours\" (and 1 more)".into()
            )
        );
        // One field already as before, the other restorable: only that one.
        let half =
            json!({"metadata": {"uid": "u1", "labels": {"a": "before"}}, "spec": {"replicas": 5}});
        assert_eq!(
            undo(&fields_entry(Some("u1"), two.clone()), Some(&half)),
            Undo::Patch(json!([
                {"op": "test", "path": "/spec/replicas", "value": 5},
                {"op": "add", "path": "/spec/replicas", "value": 2},
            ]))
        );
        // Unknown ours: as before is fine; anything else cannot be told from another writer's.
        let unknown = vec![f("/spec/replicas", Some(json!(2)), Ours::Unknown)];
        assert!(matches!(
            undo(&fields_entry(Some("u1"), unknown.clone()), Some(&before)),
            Undo::Nothing(_)
        ));
        assert_eq!(
            undo(&fields_entry(Some("u1"), unknown), Some(&now)),
            Undo::Conflict(
                "/spec/replicas: was 2, is now 5, and what our call set was not recorded".into()
            )
        );
        // A restore whose parent someone removed.
        let parentless = json!({"metadata": {"uid": "u1"}});
        let removed_label = vec![f("/metadata/labels/a", Some(json!("before")), Ours::Absent)];
        assert_eq!(
            undo(&fields_entry(Some("u1"), removed_label), Some(&parentless)),
            Undo::Conflict("/metadata/labels/a: its parent is gone".into())
        );
        // A created field: removed, after testing it holds ours.
        let created = vec![f(
            "/metadata/labels",
            None,
            Ours::Value(json!({"a": "ours"})),
        )];
        assert_eq!(
            undo(&fields_entry(None, created), Some(&now)),
            Undo::Patch(json!([
                {"op": "test", "path": "/metadata/resourceVersion", "value": "8"},
                {"op": "test", "path": "/metadata/labels", "value": {"a": "ours"}},
                {"op": "remove", "path": "/metadata/labels"},
            ]))
        );
        // Garbage pointers from a tampered entry: reported, no panic.
        let bad = vec![f("nope", None, Ours::Absent), f("", None, Ours::Absent)];
        assert!(matches!(
            undo(&fields_entry(None, bad), Some(&now)),
            Undo::Conflict(_)
        ));
    }

    #[test]
    fn undo_uncordon_false_is_absent() {
        let node = target("Node", None, "n1");
        let cordoned = json!({"metadata": {"uid": "n"}, "spec": {"unschedulable": true}});
        let change = plan(Call::Uncordon, &node, Some(&cordoned));
        let e = entry(Operation::Uncordon, node.clone(), change);
        // Whether the server left `false` or removed the field, it is ours: cordon again.
        for now in [
            json!({"metadata": {"uid": "n"}, "spec": {"unschedulable": false}}),
            json!({"metadata": {"uid": "n"}, "spec": {}}),
        ] {
            let Undo::Patch(ops) = undo(&e, Some(&now)) else {
                panic!("{now}")
            };
            assert_eq!(apply_json_patch(&now, &ops), Ok(cordoned.clone()));
        }
        assert!(matches!(undo(&e, Some(&cordoned)), Undo::Nothing(_)));
        // Cordon of a node whose `false` was explicit: false and absent are both "as before".
        let live = json!({"metadata": {"uid": "n"}, "spec": {"unschedulable": false}});
        let e = entry(
            Operation::Cordon,
            node,
            plan(Call::Cordon, &target("Node", None, "n1"), Some(&live)),
        );
        assert!(matches!(
            undo(&e, Some(&json!({"metadata": {"uid": "n"}, "spec": {}}))),
            Undo::Nothing(_)
        ));
    }

    #[test]
    fn undo_create_delete_irreversible() {
        let t = target("ConfigMap", Some("shop"), "a");
        let create = |uid: Option<&str>| {
            entry(
                Operation::Apply,
                t.clone(),
                Change::Create {
                    uid: uid.map(str::to_string),
                },
            )
        };
        let obj = |uid: &str| json!({"metadata": {"name": "a", "uid": uid}});
        assert_eq!(
            undo(&create(Some("u")), None),
            Undo::Nothing("already gone".into())
        );
        assert_eq!(
            undo(&create(Some("u")), Some(&obj("u"))),
            Undo::Delete {
                uid: Some("u".into())
            }
        );
        assert_eq!(
            undo(&create(Some("u")), Some(&obj("v"))),
            Undo::Conflict("replaced by another object of the same name".into())
        );
        assert_eq!(
            undo(&create(None), Some(&obj("v"))),
            Undo::Delete { uid: None }
        );

        let stored = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "namespace": "shop", "uid": "u", "resourceVersion": "3",
                         "creationTimestamp": "t", "generation": 1, "managedFields": [],
                         "selfLink": "/x", "deletionTimestamp": "t", "deletionGracePeriodSeconds": 0,
                         "labels": {"l": "1"}, "finalizers": ["f"]},
            "data": {"k": "v"},
            "status": {}
        });
        let delete = entry(
            Operation::Delete,
            t.clone(),
            Change::Delete {
                object: stored.clone(),
            },
        );
        assert_eq!(
            undo(&delete, None),
            Undo::Recreate(json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "a", "namespace": "shop", "labels": {"l": "1"}, "finalizers": ["f"]},
                "data": {"k": "v"}
            }))
        );
        assert_eq!(
            undo(&delete, Some(&obj("u"))),
            Undo::Nothing("the delete did not happen: the object is still there".into())
        );
        let terminating = json!({"metadata": {"uid": "u", "deletionTimestamp": "t"}});
        assert!(matches!(
            undo(&delete, Some(&terminating)),
            Undo::Conflict(_)
        ));
        assert_eq!(
            undo(&delete, Some(&obj("w"))),
            Undo::Conflict("recreated by someone else".into())
        );
        let no_uid = entry(
            Operation::Delete,
            t.clone(),
            Change::Delete { object: json!({}) },
        );
        assert!(matches!(undo(&no_uid, Some(&obj("w"))), Undo::Conflict(_)));
        assert_eq!(undo(&no_uid, None), Undo::Recreate(json!({})));

        let evict = entry(
            Operation::Evict,
            target("Pod", Some("shop"), "p"),
            Change::Irreversible {
                reason: "why".into(),
            },
        );
        assert_eq!(undo(&evict, None), Undo::Irreversible("why".into()));
    }

    #[test]
    fn round_trips() {
        let live = live_web();
        let body = json!({
            "metadata": {"annotations": {"a/b~c": "new", "keep": null}, "labels": {"new": {"x": "1"}}},
            "spec": {"replicas": 3, "strategy": {"type": "Recreate"},
                     "template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}}}
        });
        let mut stored = merge(&live, &body);
        stored["metadata"]["resourceVersion"] = json!("8");
        round_trip(deploy(), patch(PatchKind::Merge, &body), &live, &stored);
        // Without observe, from the body alone (a crash after the call).
        let change = plan(patch(PatchKind::Merge, &body), &deploy(), Some(&live));
        let Undo::Patch(ops) = undo(&entry(Operation::Patch, deploy(), change), Some(&stored))
        else {
            panic!()
        };
        let mut back = apply_json_patch(&stored, &ops).expect("applies");
        back["metadata"]["resourceVersion"] = json!("7");
        assert_eq!(back, live);

        let ops = json!([
            {"op": "replace", "path": "/spec/replicas", "value": 0},
            {"op": "remove", "path": "/metadata/labels/app"},
            {"op": "add", "path": "/spec/template/spec/containers/-", "value": {"name": "side"}},
            {"op": "add", "path": "/metadata/annotations/new", "value": "1"}
        ]);
        let mut stored = live.clone();
        stored["spec"]["replicas"] = json!(0);
        stored["metadata"]["labels"] = json!({});
        stored["spec"]["template"]["spec"]["containers"] =
            json!([{"name": "app", "image": "app:1"}, {"name": "side"}]);
        stored["metadata"]["annotations"]["new"] = json!("1");
        round_trip(deploy(), patch(PatchKind::Json, &ops), &live, &stored);

        let mut scaled = live.clone();
        scaled["spec"]["replicas"] = json!(9);
        round_trip(deploy(), Call::Scale { replicas: 9 }, &live, &scaled);

        let node = target("Node", None, "n");
        let free = json!({"metadata": {"uid": "n"}, "spec": {"podCIDR": "x"}});
        let cordoned =
            json!({"metadata": {"uid": "n"}, "spec": {"podCIDR": "x", "unschedulable": true}});
        round_trip(node.clone(), Call::Cordon, &free, &cordoned);
        round_trip(node, Call::Uncordon, &cordoned, &free);
    }

    #[test]
    fn serde_shape() {
        let e = Entry {
            manifest: None,
            seq: 3,
            operation: Operation::Patch,
            target: deploy(),
            change: Change::Fields {
                uid: Some("u1".into()),
                fields: vec![
                    f("/a", Some(json!(1)), Ours::Value(json!(2))),
                    f("/b", None, Ours::Absent),
                    f("/c", Some(Value::Null), Ours::Unknown),
                    f("/d", Some(json!(1)), Ours::Value(Value::Null)),
                ],
            },
        };
        let text = serde_json::to_value(&e).expect("serializes");
        assert_eq!(
            text,
            json!({
                "seq": 3,
                "operation": "patch",
                "target": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"},
                "change": {"type": "fields", "uid": "u1", "fields": [
                    {"pointer": "/a", "prior": 1, "ours": {"value": 2}},
                    {"pointer": "/b", "ours": "absent"},
                    {"pointer": "/c", "prior": null, "ours": "unknown"},
                    {"pointer": "/d", "prior": 1, "ours": {"value": null}},
                ]}
            })
        );
        let back: Entry = serde_json::from_value(text).expect("deserializes");
        assert_eq!(back, e);
        for change in [
            Change::Create { uid: None },
            Change::Create {
                uid: Some("u".into()),
            },
            Change::Delete {
                object: json!({"a": 1}),
            },
            Change::Irreversible { reason: "r".into() },
        ] {
            let e = entry(Operation::Evict, target("Pod", None, "p"), change);
            let text = serde_json::to_string(&e).expect("serializes");
            assert_eq!(
                serde_json::from_str::<Entry>(&text).expect("deserializes"),
                e,
                "{text}"
            );
        }
        assert_eq!(
            serde_json::to_value(Change::Irreversible { reason: "r".into() }).expect("ser"),
            json!({"type": "irreversible", "reason": "r"})
        );
    }

    #[test]
    fn describe_lines() {
        let fields = Change::Fields {
            uid: None,
            fields: vec![f("/a", None, Ours::Absent), f("/b", None, Ours::Absent)],
        };
        assert_eq!(
            describe(&entry(Operation::Patch, deploy(), fields)),
            "patch deployment shop/web: 2 fields"
        );
        let t = |name: &str| target("ConfigMap", Some("shop"), name);
        assert_eq!(
            describe(&entry(
                Operation::Apply,
                t("a"),
                Change::Create { uid: None }
            )),
            "create configmap shop/a"
        );
        assert_eq!(
            describe(&entry(
                Operation::Delete,
                t("b"),
                Change::Delete { object: json!({}) }
            )),
            "delete configmap shop/b"
        );
        let pod = target("Pod", Some("shop"), "p");
        assert_eq!(
            describe(&entry(
                Operation::Evict,
                pod,
                Change::Irreversible { reason: "r".into() }
            )),
            "evict pod shop/p (not reversible)"
        );
        let node = target("Node", None, "n1");
        let one = Change::Fields {
            uid: None,
            fields: vec![f("/spec/unschedulable", None, Ours::Absent)],
        };
        assert_eq!(
            describe(&entry(Operation::Cordon, node.clone(), one)),
            "cordon node n1: 1 field"
        );
        let none = Change::Fields {
            uid: None,
            fields: vec![],
        };
        assert_eq!(
            describe(&entry(Operation::Delete, node, none)),
            "delete node n1: nothing to undo"
        );
        // Policy-supplied names stay on one line, and short.
        let line = describe(&entry(
            Operation::Apply,
            t(&format!("x\ny\u{1b}{}", "z".repeat(500))),
            Change::Create { uid: None },
        ));
        assert!(!line.contains('\n') && !line.contains('\u{1b}'), "{line}");
        assert!(line.chars().count() < 200, "{line}");
    }

    #[test]
    fn hostile_inputs() {
        // Deeper than the bound, in the body and in the live object.
        let mut deep = json!(1);
        for _ in 0..200 {
            deep = json!({"k": deep});
        }
        let change = plan(patch(PatchKind::Merge, &deep), &deploy(), Some(&deep));
        let fields = fields_of(&change);
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].0, "/k".repeat(MAX_DEPTH));
        assert_eq!(fields[0].2, Ours::Unknown);
        for kind in [PatchKind::Strategic, PatchKind::Apply] {
            assert_eq!(
                fields_of(&plan(patch(kind, &deep), &deploy(), Some(&deep))).len(),
                1
            );
        }
        // A deep subtree our call creates: kept as the body (merge) or unknown (strategic).
        let live = json!({});
        let merged = fields_of(&plan(
            patch(PatchKind::Merge, &deep),
            &deploy(),
            Some(&live),
        ));
        assert_eq!(merged[0].0, "/k");
        let strategic = fields_of(&plan(
            patch(PatchKind::Strategic, &deep),
            &deploy(),
            Some(&live),
        ));
        assert_eq!(strategic[0].2, Ours::Unknown);
        // A JSON-patch pointer with a great many segments is cut at the live object.
        let long = format!("/k{}", "/x".repeat(100_000));
        let ops = json!([{"op": "add", "path": long, "value": 1}]);
        let change = plan(patch(PatchKind::Json, &ops), &deploy(), Some(&live));
        assert_eq!(fields_of(&change), vec![field("/k", None, Ours::Unknown)]);
        // Observe and undo against objects of the wrong shape.
        let mut change = plan(
            patch(PatchKind::Merge, &json!({"a": {"b": 1}})),
            &deploy(),
            Some(&json!({"a": {}})),
        );
        observe(&mut change, &json!("not an object"));
        assert_eq!(fields_of(&change), vec![field("/a/b", None, Ours::Absent)]);
        let e = entry(Operation::Patch, deploy(), change);
        for now in [
            json!(null),
            json!([1]),
            json!({"a": 5}),
            json!({"a": {"b": [1]}}),
        ] {
            let _ = undo(&e, Some(&now));
        }
        // A huge value in a conflict message is cut short.
        let big = json!({"a": {"b": "v".repeat(10_000)}});
        let Undo::Conflict(line) = undo(&e, Some(&big)) else {
            panic!()
        };
        assert!(line.chars().count() < 400, "{line}");
    }
}
