//! Test guest `url-escape`: attacks request URLs with names and namespaces holding URL metacharacters, in every cluster operation.
//!
//! Granted only `cluster/*:v1/ConfigMap@{namespace}`, it tries to reach the ConfigMap `target`
//! in namespace `victim` (and the Namespace `victim` itself) through names such as
//! `../../victim/configmaps/target`, `x?dryRun=All` or namespaces such as `victim?`. Each call's
//! outcome is one log line, `url-escape case op=<op> input=<label> kind=<error kind or ok> value=<debug>`,
//! and the summary counts them: `cases=N invalid=K control-get=<kind> control-patch=<kind>`.
//! The two control calls (a get and a merge patch of the run's ConfigMap `probe`) show that the
//! guest's calls do reach the cluster when the names are good.

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

/// One hostile input: a namespace (None: the run's) and a name, with a label for the report.
struct Input {
    label: &'static str,
    namespace: Option<String>,
    name: String,
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

fn inputs(p: &Params, run: &str) -> Vec<Input> {
    let names = hostile_names(p).into_iter().map(|(label, name)| Input {
        label,
        namespace: None,
        name,
    });
    let namespaces = hostile_namespaces(p, run)
        .into_iter()
        .map(|(label, namespace)| Input {
            label,
            namespace: Some(namespace),
            name: p.target.clone(),
        });
    names.chain(namespaces).collect()
}

fn configmap(input: &Input) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: input.namespace.clone(),
        name: input.name.clone(),
    }
}

fn kind_of<T>(result: Result<T, WitError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => Error::from(e).kind(),
    }
}

/// Every cluster operation applicable to `input`: (operation, error kind or `ok`).
fn attack(input: &Input, run: &str) -> Vec<(&'static str, &'static str)> {
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
    outcomes
}

fn url_escape(ctx: &Context) -> Result<String, Error> {
    let p: Params = ctx.params()?;
    let run = ctx.namespace().to_string();
    let (mut cases, mut invalid) = (0, 0);
    for input in inputs(&p, &run) {
        for (op, kind) in attack(&input, &run) {
            cases += 1;
            if kind == "invalid" {
                invalid += 1;
            }
            let value = match &input.namespace {
                Some(ns) => format!("namespace={ns:?}"),
                None => format!("name={:?}", input.name),
            };
            ctx.info(&format!(
                "url-escape case op={op} input={} kind={kind} value={value}",
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
    let control_get = kind_of(wit::get(&probe));
    let annotate = json!({"metadata": {"annotations": {"cutover.test/url-escape": "probed"}}});
    let control_patch = kind_of(wit::patch(
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
    description: "Tries URL metacharacters in names and namespaces of every cluster call (test guest).",
    params: [
        { name: "victim", type: "string", required: true, description: "A namespace the policy must not reach." },
        { name: "target", type: "string", default: "target", description: "A ConfigMap in the victim namespace." },
        { name: "probe", type: "string", default: "probe", description: "A ConfigMap in the run's namespace (the control calls)." },
    ],
    capabilities: ["cluster/*:v1/ConfigMap@{namespace}"],
    run: url_escape,
}
