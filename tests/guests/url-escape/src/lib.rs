//! Test guest `url-escape`: attacks request URLs with names, namespaces and selectors holding URL metacharacters, in every cluster operation.
//!
//! Granted only `cluster/*:v1/ConfigMap@{namespace}`, it tries to reach the ConfigMap `target`
//! in namespace `victim` (and the Namespace `victim` itself) through names such as
//! `../../victim/configmaps/target`, `x?dryRun=All`, namespaces such as `victim?`, and label
//! and field selectors such as `app=web&watch=true` or one holding an ANSI escape. Each call's
//! outcome is one log line, `url-escape case op=<op> input=<label> kind=<error kind or ok> value=<debug> message=<debug>`,
//! and the summary counts them: `cases=N invalid=K control-get=<kind> control-patch=<kind>`.
//! The two control calls (a get and a merge patch of the run's ConfigMap `probe`) show that the
//! guest's calls do reach the cluster when the names are good.
//!
//! The batched calls are attacked twice: with the hostile input alone (`delete-with`,
//! `wait-all-objects`, `wait-all-query`, `evict-many`), and with it last in a batch whose first
//! members are good names the run may or may not touch (`wait-all-mixed`: the run's `probe`, then
//! the victim's `target`, which is not granted; `evict-many-mixed`: a pod of the run's namespace,
//! which is not granted either). Every name of a batch is checked before any member is: so
//! those are `invalid` too, with no denial recorded.

use cutover_guest_sdk::bindings::cutover::policy::cluster as wit;
use cutover_guest_sdk::bindings::cutover::policy::types::{Error as WitError, ObjectRef};
use cutover_guest_sdk::{Context, Error, export_policy};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct Params {
    victim: String,
    target: String,
    probe: String,
}

/// One hostile input: a namespace (None: the run's) and a name, or a selector, with a label
/// for the report.
struct Input {
    label: &'static str,
    namespace: Option<String>,
    name: String,
    selector: Option<Selector>,
}

/// A hostile selector, for the list queries.
enum Selector {
    Label(String),
    Field(String),
}

/// Names meant to leave the run's namespace or to add query parameters.
fn hostile_names(p: &Params) -> Vec<(&'static str, String)> {
    let (victim, target) = (&p.victim, &p.target);
    vec![
        ("query", "x?dryRun=All".into()),
        ("query-target", format!("{target}?")),
        ("dotdot", "..".into()),
        ("dot", ".".into()),
        ("dotdot-inside", "a..b".into()),
        ("traversal", format!("../../{victim}/configmaps/{target}")),
        (
            "traversal-namespace",
            format!("../../../../api/v1/namespaces/{victim}"),
        ),
        ("slash", "a/b".into()),
        ("percent-dotdot", "%2e%2e".into()),
        (
            "percent-traversal",
            format!("..%2f..%2f{victim}%2fconfigmaps%2f{target}"),
        ),
        ("fragment", "x#".into()),
        ("uppercase", p.probe.to_uppercase()),
        ("space", "x y".into()),
        ("escape", "x\u{1b}[2J".into()),
        ("newline", "x\ny".into()),
        ("long", "a".repeat(300)),
        ("empty", String::new()),
    ]
}

/// Namespaces meant to reach `victim` from the run's namespace, or to break the path.
fn hostile_namespaces(p: &Params, run: &str) -> Vec<(&'static str, String)> {
    let (victim, target) = (&p.victim, &p.target);
    vec![
        ("ns-query", format!("{victim}?")),
        ("ns-fragment", format!("{victim}#")),
        ("ns-traversal", format!("{run}/../{victim}")),
        ("ns-path", format!("{victim}/configmaps/{target}?x=")),
        ("ns-dotdot", "..".into()),
        ("ns-percent", "%2e%2e".into()),
        ("ns-percent-slash", format!("{victim}%2f")),
        ("ns-uppercase", victim.to_uppercase()),
        ("ns-space", format!("{victim} ")),
        ("ns-control", format!("{victim}\r")),
        ("ns-long", "n".repeat(300)),
    ]
}

/// Selectors meant to add query parameters to a list or watch URL, to break out of it, or to
/// reach a terminal raw; and ones past the 8 KiB a selector may be.
fn hostile_selectors(p: &Params) -> Vec<(&'static str, Selector)> {
    let (victim, target) = (&p.victim, &p.target);
    let label = |s: String| Selector::Label(s);
    let field = |s: String| Selector::Field(s);
    vec![
        ("sel-query", label("app=web?dryRun=All".into())),
        ("sel-amp", label("app=web&watch=true".into())),
        ("sel-fragment", label("app=web#".into())),
        (
            "sel-traversal",
            label(format!("app=../../{victim}/configmaps/{target}")),
        ),
        ("sel-percent", label("app=%2e%2e".into())),
        ("sel-escape", label("app=x\u{1b}[2J".into())),
        ("sel-escape-key", label("\u{1b}[31mapp=x".into())),
        ("sel-newline", label("app=x\ny".into())),
        ("sel-unbalanced", label("app in (web".into())),
        // Each term is good: only the size is wrong.
        ("sel-long", label(vec!["a=b"; 2_100].join(","))),
        ("fsel-no-operator", field("metadata.name".into())),
        ("fsel-escape", field("metadata.name=x\u{1b}[2J".into())),
        (
            "fsel-escape-field",
            field("\u{1b}[31mmetadata.name=x".into()),
        ),
        ("fsel-newline", field("metadata.name=x\ny".into())),
        ("fsel-nul", field("metadata.name=x\0".into())),
        (
            "fsel-long",
            field(format!("metadata.name={}", "a".repeat(9_000))),
        ),
    ]
}

fn inputs(p: &Params, run: &str) -> Vec<Input> {
    let names = hostile_names(p).into_iter().map(|(label, name)| Input {
        label,
        namespace: None,
        name,
        selector: None,
    });
    let namespaces = hostile_namespaces(p, run)
        .into_iter()
        .map(|(label, namespace)| Input {
            label,
            namespace: Some(namespace),
            name: p.target.clone(),
            selector: None,
        });
    let selectors = hostile_selectors(p)
        .into_iter()
        .map(|(label, selector)| Input {
            label,
            namespace: None,
            name: p.probe.clone(),
            selector: Some(selector),
        });
    names.chain(namespaces).chain(selectors).collect()
}

fn configmap(input: &Input) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: input.namespace.clone(),
        name: input.name.clone(),
    }
}

/// A call's outcome: its error kind (or `ok`) and message (empty for `ok`).
type Outcome = (&'static str, String);

fn kind_of<T>(result: Result<T, WitError>) -> Outcome {
    match result {
        Ok(_) => ("ok", String::new()),
        Err(e) => {
            let e = Error::from(e);
            (e.kind(), e.reason().to_string())
        }
    }
}

/// The list query of `input`: ConfigMaps in its namespace, with its selector.
fn query(input: &Input) -> wit::ListQuery {
    let (labels, fields) = match &input.selector {
        Some(Selector::Label(s)) => (Some(s.clone()), None),
        Some(Selector::Field(s)) => (None, Some(s.clone())),
        None => (None, None),
    };
    wit::ListQuery {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: input.namespace.clone(),
        label_selector: labels,
        field_selector: fields,
    }
}

/// A selector attack: `list` and `wait-all` over the query (a good query would be answered:
/// the run may list and wait on ConfigMaps in its namespace).
fn attack_query(input: &Input) -> Vec<(&'static str, Outcome)> {
    let second = 1_000;
    let query = query(input);
    vec![
        ("list", kind_of(wit::list(&query))),
        (
            "wait-all-query",
            kind_of(wit::wait_all(
                &wit::WaitSet::Query(query),
                wit::SetCondition::AllGone,
                second,
            )),
        ),
    ]
}

/// The batched calls on `input`: alone, and last after good names (see the header).
fn attack_batches(input: &Input, p: &Params, run: &str) -> Vec<(&'static str, Outcome)> {
    let second = 1_000;
    let target = configmap(input);
    let good = |namespace: Option<&str>, name: &str| ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: namespace.map(str::to_string),
        name: name.to_string(),
    };
    let pod = |namespace: &str, name: &str| wit::PodRef {
        namespace: namespace.to_string(),
        name: name.to_string(),
        uid: None,
    };
    let hostile_pod = pod(input.namespace.as_deref().unwrap_or(run), &input.name);
    let options = wit::DeleteOptions {
        uid: Some("3f1c2a4e-0000-4000-8000-000000000000".into()),
        grace_period_seconds: Some(0),
    };
    let mixed = vec![
        good(None, &p.probe),
        good(Some(&p.victim), &p.target),
        target.clone(),
    ];
    let mut outcomes = vec![
        ("delete-with", kind_of(wit::delete_with(&target, &options))),
        (
            "wait-all-objects",
            kind_of(wit::wait_all(
                &wit::WaitSet::Objects(vec![target.clone()]),
                wit::SetCondition::AllGone,
                second,
            )),
        ),
        (
            "wait-all-mixed",
            kind_of(wit::wait_all(
                &wit::WaitSet::Objects(mixed),
                wit::SetCondition::AllGone,
                second,
            )),
        ),
        (
            "evict-many",
            kind_of(wit::evict_many(
                std::slice::from_ref(&hostile_pod),
                1,
                second,
            )),
        ),
        (
            "evict-many-mixed",
            kind_of(wit::evict_many(
                &[pod(run, &p.probe), hostile_pod],
                2,
                second,
            )),
        ),
    ];
    // A namespace attack: wait on what a query there matches, too.
    if input.namespace.is_some() {
        outcomes.extend(
            attack_query(input)
                .into_iter()
                .filter(|(op, _)| *op != "list"),
        );
    }
    outcomes
}

/// Every cluster operation applicable to `input`: (operation, error kind or `ok`).
fn attack(input: &Input, p: &Params, run: &str) -> Vec<(&'static str, Outcome)> {
    if input.selector.is_some() {
        return attack_query(input);
    }
    let target = configmap(input);
    let mut manifest = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": input.name},
        "data": {"owned": "yes"},
    });
    if let Some(ns) = &input.namespace {
        manifest["metadata"]["namespace"] = json!(ns);
    }
    let merge = json!({"data": {"owned": "yes"}}).to_string();
    let ops = json!([{"op": "add", "path": "/data/owned", "value": "yes"}]).to_string();
    // Waits and evictions that got through would still end within a second each.
    let second = 1_000;
    let mut outcomes = vec![
        ("get", kind_of(wit::get(&target))),
        ("apply", kind_of(wit::apply(&manifest.to_string()))),
        (
            "patch-merge",
            kind_of(wit::patch(&target, wit::PatchType::Merge, &merge)),
        ),
        (
            "patch-json",
            kind_of(wit::patch(&target, wit::PatchType::Json, &ops)),
        ),
        (
            "patch-strategic",
            kind_of(wit::patch(&target, wit::PatchType::Strategic, &merge)),
        ),
        (
            "patch-apply",
            kind_of(wit::patch(
                &target,
                wit::PatchType::Apply,
                &manifest.to_string(),
            )),
        ),
        ("delete", kind_of(wit::delete(&target))),
        ("scale", kind_of(wit::scale(&target, 0))),
        (
            "evict",
            kind_of(wit::evict(
                input.namespace.as_deref().unwrap_or(run),
                &input.name,
                second,
            )),
        ),
        (
            "wait",
            kind_of(wit::wait(&target, &wit::Condition::Deleted, second)),
        ),
    ];
    match &input.namespace {
        // A namespace attack: list there too.
        Some(ns) => outcomes.push((
            "list",
            kind_of(wit::list(&wit::ListQuery {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: Some(ns.clone()),
                label_selector: None,
                field_selector: None,
            })),
        )),
        // A name attack: nodes have names too.
        None => {
            outcomes.push(("cordon", kind_of(wit::cordon(&input.name))));
            outcomes.push(("uncordon", kind_of(wit::uncordon(&input.name))));
        }
    }
    outcomes.extend(attack_batches(input, p, run));
    outcomes
}

fn url_escape(ctx: &Context) -> Result<String, Error> {
    let p: Params = ctx.params()?;
    let run = ctx.namespace().to_string();
    let (mut cases, mut invalid) = (0, 0);
    for input in inputs(&p, &run) {
        for (op, (kind, message)) in attack(&input, &p, &run) {
            cases += 1;
            if kind == "invalid" {
                invalid += 1;
            }
            let value = match (&input.selector, &input.namespace) {
                (Some(Selector::Label(s)), _) => format!("labels={s:?}"),
                (Some(Selector::Field(s)), _) => format!("fields={s:?}"),
                (None, Some(ns)) => format!("namespace={ns:?}"),
                (None, None) => format!("name={:?}", input.name),
            };
            // Both cut, so that the line stays within the 4 KiB the host prints of one.
            let value: String = value.chars().take(400).collect();
            let message: String = message.chars().take(1_000).collect();
            ctx.info(&format!(
                "url-escape case op={op} input={} kind={kind} value={value} message={message:?}",
                input.label
            ));
        }
    }
    let probe = ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: None,
        name: p.probe.clone(),
    };
    let (control_get, _) = kind_of(wit::get(&probe));
    let annotate = json!({"metadata": {"annotations": {"cutover.test/url-escape": "probed"}}});
    let (control_patch, _) = kind_of(wit::patch(
        &probe,
        wit::PatchType::Merge,
        &annotate.to_string(),
    ));
    Ok(format!(
        "cases={cases} invalid={invalid} control-get={control_get} control-patch={control_patch}"
    ))
}

export_policy! {
    name: "url-escape",
    version: env!("CARGO_PKG_VERSION"),
    description: "Tries URL metacharacters in names, namespaces and selectors of every cluster call (test guest).",
    params: [
        { name: "victim", type: "string", required: true, description: "A namespace the policy must not reach." },
        { name: "target", type: "string", default: "target", description: "A ConfigMap in the victim namespace." },
        { name: "probe", type: "string", default: "probe", description: "A ConfigMap in the run's namespace (the control calls)." },
    ],
    capabilities: ["cluster/*:v1/ConfigMap@{namespace}"],
    run: url_escape,
}
