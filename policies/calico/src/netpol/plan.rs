//! The migration's plan: each namespace's DefaultDeny annotation read strictly, the policies to delete, the policy to create, and the dry run's table.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use cutover_guest_sdk::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Params;

/// The namespace annotation that made a namespace isolated before v1 NetworkPolicy semantics.
pub const ANNOTATION: &str = "net.beta.kubernetes.io/network-policy";

/// The only value of the annotation that isolates a namespace, as the guide writes it.
const DEFAULT_DENY: &str = r#"{"ingress": {"isolation": "DefaultDeny"}}"#;

/// The annotation on each deny-all policy the migration creates.
pub const CREATED_BY: &str = "cutover.dev/networkpolicy-v1-migration";

/// How many malformed namespaces one refusal names before it says "and N more".
const MAX_NAMED: usize = 10;

/// The whole migration, decided before its first change and kept in the checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Every namespace the run covers, by name.
    pub namespaces: Vec<NamespacePlan>,
}

/// What the migration does in one namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct NamespacePlan {
    /// The namespace.
    pub namespace: String,
    /// Whether it carries the DefaultDeny annotation (it was isolated).
    pub default_deny: bool,
    /// Its policies, to delete (a namespace without DefaultDeny), by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete: Vec<PlannedPolicy>,
    /// The deny-all policy to create (a namespace with DefaultDeny that has none yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<String>,
    /// The deny-all policy of that name is there already, as the migration would create it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub present: bool,
}

/// A policy to delete: its uid when planned, and the whole object to create it again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedPolicy {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.uid` when the plan was made: only that object is deleted.
    pub uid: String,
    /// The object without its server-set metadata (managedFields, resourceVersion, uid,
    /// creationTimestamp, generation, selfLink) and status, ready to be created again.
    pub object: Value,
}

impl Plan {
    /// How many policies the plan deletes and creates.
    pub fn counts(&self) -> (usize, usize) {
        let deletes = self.namespaces.iter().map(|n| n.delete.len()).sum();
        let creates = self
            .namespaces
            .iter()
            .filter(|n| n.create.is_some())
            .count();
        (deletes, creates)
    }

    /// The planned policy `namespace/name` to delete, if the plan has it.
    pub fn deleted(&self, namespace: &str, name: &str) -> Option<&PlannedPolicy> {
        self.namespaces
            .iter()
            .find(|n| n.namespace == namespace)?
            .delete
            .iter()
            .find(|p| p.name == name)
    }

    /// The dry run's table: a header, then one line per namespace (NAMESPACE, ANNOTATION
    /// DefaultDeny or none, DELETE the names or `-`, CREATE the name or `-`).
    pub fn table(&self) -> Vec<String> {
        let rows: Vec<[String; 4]> = self
            .namespaces
            .iter()
            .map(|n| {
                let delete = if n.delete.is_empty() {
                    "-".to_string()
                } else {
                    let names: Vec<&str> = n.delete.iter().map(|p| p.name.as_str()).collect();
                    names.join(",")
                };
                let create = match (&n.create, n.present) {
                    (Some(name), _) => name.clone(),
                    (None, true) => "- (present)".to_string(),
                    (None, false) => "-".to_string(),
                };
                let annotation = if n.default_deny {
                    "DefaultDeny"
                } else {
                    "none"
                };
                [n.namespace.clone(), annotation.to_string(), delete, create]
            })
            .collect();
        let header = ["NAMESPACE", "ANNOTATION", "DELETE", "CREATE"].map(str::to_string);
        let mut widths = header.clone().map(|h| h.len());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.len());
            }
        }
        std::iter::once(&header)
            .chain(&rows)
            .map(|row| {
                let mut line = String::new();
                for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
                    if i + 1 == row.len() {
                        line.push_str(cell);
                    } else {
                        let _ = write!(line, "{cell:<w$}  ");
                    }
                }
                line
            })
            .collect()
    }
}

/// Makes the plan from the cluster's Namespaces and NetworkPolicies (as listed). Refuses,
/// before anything changes, a malformed DefaultDeny annotation (naming every namespace that has
/// one), a namespace in `namespaces` that does not exist, and a policy already named
/// `deny-policy-name` in a DefaultDeny namespace that is not the deny-all policy the migration
/// would create.
pub fn make(namespaces: &[Value], policies: &[Value], params: &Params) -> Result<Plan, Error> {
    check_name(&params.deny_policy_name)?;
    let mut found: BTreeMap<&str, &Value> = BTreeMap::new();
    for ns in namespaces {
        let name = str_at(ns, "/metadata/name")
            .ok_or_else(|| Error::invalid("a listed Namespace has no metadata.name"))?;
        found.insert(name, ns);
    }
    let missing: Vec<&str> = params
        .namespaces
        .iter()
        .map(String::as_str)
        .filter(|n| !found.contains_key(n))
        .collect();
    if !missing.is_empty() {
        return Err(Error::invalid(format!(
            "parameter `namespaces` names {} that do{} not exist: {}",
            plural(missing.len(), "namespace"),
            if missing.len() == 1 { "es" } else { "" },
            missing.join(", ")
        )));
    }
    let covered = |n: &str| {
        (params.namespaces.is_empty() || params.namespaces.iter().any(|p| p == n))
            && !params.exclude_namespaces.iter().any(|p| p == n)
    };

    let mut by_namespace: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for policy in policies {
        let ns = str_at(policy, "/metadata/namespace")
            .ok_or_else(|| Error::invalid("a listed NetworkPolicy has no metadata.namespace"))?;
        by_namespace.entry(ns).or_default().push(policy);
    }

    let mut malformed = Vec::new();
    let mut conflicts = Vec::new();
    let mut plan = Plan::default();
    for (&name, ns) in found.iter().filter(|(n, _)| covered(n)) {
        let default_deny = match isolation(ns) {
            Ok(d) => d,
            Err(why) => {
                malformed.push(format!("namespace {name}: {why}"));
                continue;
            }
        };
        let mut entry = NamespacePlan {
            namespace: name.to_string(),
            default_deny,
            ..NamespacePlan::default()
        };
        let mut policies = by_namespace.remove(name).unwrap_or_default();
        policies.sort_by_key(|p| str_at(p, "/metadata/name"));
        if default_deny {
            let deny = &params.deny_policy_name;
            match policies
                .iter()
                .find(|p| str_at(p, "/metadata/name") == Some(deny))
            {
                Some(p) if is_deny_all(p) => entry.present = true,
                Some(_) => conflicts.push(format!("{name}/{deny}")),
                None => entry.create = Some(deny.clone()),
            }
        } else {
            for p in policies {
                entry.delete.push(planned(p, name)?);
            }
        }
        plan.namespaces.push(entry);
    }

    if !malformed.is_empty() {
        let n = malformed.len();
        let mut named = malformed
            .into_iter()
            .take(MAX_NAMED)
            .collect::<Vec<_>>()
            .join("; ");
        if n > MAX_NAMED {
            let _ = write!(named, "; and {} more", n - MAX_NAMED);
        }
        return Err(Error::aborted(format!(
            "refusing to migrate: {} a malformed {ANNOTATION} annotation (expected {DEFAULT_DENY}, \
             or no annotation): {named}; fix or remove the annotation{}, or leave the namespace \
             out with `exclude-namespaces`; nothing was changed",
            if n == 1 {
                "1 namespace has".to_string()
            } else {
                format!("{n} namespaces have")
            },
            if n == 1 { "" } else { "s" },
        )));
    }
    if !conflicts.is_empty() {
        return Err(Error::aborted(format!(
            "refusing to migrate: {} named {} already, which is not the deny-all policy the \
             migration creates (podSelector {{}}, policyTypes [Ingress], no rules): {}; choose \
             another name with `deny-policy-name`; nothing was changed",
            plural(conflicts.len(), "NetworkPolicy"),
            params.deny_policy_name,
            conflicts.join(", ")
        )));
    }
    Ok(plan)
}

/// The deny-all policy the migration creates in a DefaultDeny namespace: all pods selected,
/// ingress isolated, nothing allowed.
pub fn deny_all(namespace: &str, name: &str) -> Value {
    serde_json::json!({
        "apiVersion": super::API_VERSION,
        "kind": super::KIND,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": {
                CREATED_BY: format!("replaces this namespace's {ANNOTATION} DefaultDeny annotation"),
            },
        },
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    })
}

/// Whether `policy` is the deny-all policy [`deny_all`] makes (whatever its metadata): an
/// empty pod selector, ingress isolation only, no ingress or egress rules.
pub fn is_deny_all(policy: &Value) -> bool {
    let spec = &policy["spec"];
    let selects_all = match &spec["podSelector"] {
        Value::Null => true,
        Value::Object(sel) => sel.values().all(|v| match v {
            Value::Object(m) => m.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Null => true,
            _ => false,
        }),
        _ => false,
    };
    let no_rules = |key: &str| match &spec[key] {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        _ => false,
    };
    let ingress_only = match &spec["policyTypes"] {
        // The API server defaults policyTypes to [Ingress] for a policy without egress rules.
        Value::Null => true,
        Value::Array(types) => types.len() == 1 && types[0] == "Ingress",
        _ => false,
    };
    selects_all && no_rules("ingress") && no_rules("egress") && ingress_only
}

/// Whether the namespace carries the DefaultDeny annotation: `Ok(false)` without the
/// annotation (or with an empty `{}` / `{"ingress": {}}`), `Ok(true)` with isolation
/// DefaultDeny, and what is wrong with anything else: text that is not JSON, other keys, other
/// types, another isolation value.
pub fn isolation(namespace: &Value) -> Result<bool, String> {
    let Some(raw) = namespace
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(ANNOTATION))
    else {
        return Ok(false);
    };
    let text = raw
        .as_str()
        .ok_or_else(|| "the annotation is not a string".to_string())?;
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("{} is not JSON ({e})", quoted(text)))?;
    let top = value
        .as_object()
        .ok_or_else(|| format!("{} is not a JSON object", quoted(text)))?;
    if let Some(key) = top.keys().find(|k| *k != "ingress") {
        return Err(format!("{} has an unknown key {key:?}", quoted(text)));
    }
    let Some(ingress) = top.get("ingress") else {
        return Ok(false);
    };
    let ingress = ingress
        .as_object()
        .ok_or_else(|| format!("{}: `ingress` is not an object", quoted(text)))?;
    if let Some(key) = ingress.keys().find(|k| *k != "isolation") {
        return Err(format!(
            "{}: `ingress` has an unknown key {key:?}",
            quoted(text)
        ));
    }
    match ingress.get("isolation") {
        None => Ok(false),
        Some(Value::String(s)) if s == "DefaultDeny" => Ok(true),
        Some(other) => Err(format!(
            "{}: isolation {other} is not \"DefaultDeny\"",
            quoted(text)
        )),
    }
}

/// A listed policy as the plan keeps it.
fn planned(policy: &Value, namespace: &str) -> Result<PlannedPolicy, Error> {
    let name = str_at(policy, "/metadata/name").ok_or_else(|| {
        Error::invalid(format!(
            "a NetworkPolicy listed in namespace {namespace} has no metadata.name"
        ))
    })?;
    let uid = str_at(policy, "/metadata/uid")
        .unwrap_or_default()
        .to_string();
    Ok(PlannedPolicy {
        name: name.to_string(),
        uid,
        object: strip(policy),
    })
}

/// The object without what the server sets, so that it can be created again as it was.
pub fn strip(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
        map.entry("apiVersion")
            .or_insert_with(|| Value::from(super::API_VERSION));
        map.entry("kind")
            .or_insert_with(|| Value::from(super::KIND));
    }
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in [
            "managedFields",
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
            "selfLink",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            meta.remove(key);
        }
    }
    object
}

/// A DNS-1123 subdomain, as a NetworkPolicy's name must be.
fn check_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "parameter `deny-policy-name`: {name:?} is not a valid NetworkPolicy name (lowercase \
             letters, digits, '-' and '.', at most 253)"
        )))
    }
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// The annotation's text for a message, cut at 80 characters.
fn quoted(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((i, _)) => format!("{:?}...", &text[..i]),
        None => format!("{text:?}"),
    }
}

pub(super) fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else if noun.ends_with('y') && !noun.ends_with("ey") {
        format!("{n} {}ies", &noun[..noun.len() - 1])
    } else {
        format!("{n} {noun}s")
    }
}
