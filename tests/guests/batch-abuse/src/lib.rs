//! Test guest `batch-abuse`: calls `delete-with`, `wait-all` and `evict-many` past their bounds, outside its grants, with hostile text and with gigantic timeouts.
//!
//! Its parameter `mode` picks what it does (the objects are named by the other parameters, all
//! in the run's namespace but `other-pod`, which is in namespace `other`):
//! - `cases`: every abuse once, each logged as
//!   `batch-abuse case op=<op> input=<label> kind=<error kind or ok> message=<debug>`, then the
//!   control calls (below); the summary is `cases=N controls=<kind>,<kind>,...`;
//! - `controls`: only the control calls, the good use of the three calls: `delete-with` of
//!   `gone` with the uid it has, `wait-all` until it is gone, `wait-all` over the query
//!   `app=keep` until one is Ready, `evict-many` of `evictable`;
//! - `crowd`: `wait-all` over the query `crowd=yes` (the scenario gives it 1,001 objects) and
//!   over `edge=in` (1,000 of them);
//! - `hang-wait-all`, `hang-evict-many`: one call with a timeout of `u64::MAX` ms that can never
//!   be met (`keep` never goes; `held` has a finalizer nobody removes), so that only the run's
//!   own deadline ends it;
//! - `late-evict-many`: `evict-many` of `held` within 30 s, where a budget refuses the eviction
//!   for the first 20 s or so and the finalizer then holds the pod: the call must still answer
//!   for the pod (a `timeout`) within its 30 s, not time out as a whole;
//! - `pod-detail`: waits for the Deployments `web-a` (the run's namespace, whose pods it may
//!   read) and `web-b` (namespace `other`, whose pods it may not) to be Ready, where `web-b`'s
//!   pods crash-loop: alone with `wait`, and with `wait-all` in both orders. No answer may name
//!   a pod of `web-b`.

use std::time::Duration;

use cutover_guest_sdk::{
    Condition, Context, DeleteOptions, Error, ListParams, ObjectRef, PodRef, SetCondition, WaitSet,
    export_policy,
};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Params {
    mode: String,
    other: String,
    pod: String,
    other_pod: String,
    keep: String,
    gone: String,
    evictable: String,
    held: String,
}

/// A call's outcome: its error kind (or `ok`) and message (empty for `ok`).
type Outcome = (&'static str, String);

fn outcome<T>(result: &Result<T, Error>) -> Outcome {
    match result {
        Ok(_) => ("ok", String::new()),
        Err(e) => (e.kind(), e.reason().to_string()),
    }
}

fn log_case(ctx: &Context, op: &str, input: &str, (kind, message): &Outcome) {
    let message: String = message.chars().take(600).collect();
    ctx.info(&format!(
        "batch-abuse case op={op} input={input} kind={kind} message={message:?}"
    ));
}

fn pod(namespace: &str, name: &str, uid: Option<String>) -> PodRef {
    PodRef {
        namespace: namespace.to_string(),
        name: name.to_string(),
        uid,
    }
}

fn configmap(name: &str) -> ObjectRef {
    ObjectRef::new("v1", "ConfigMap", name)
}

const SECONDS_10: Duration = Duration::from_secs(10);

/// Every abuse: (operation, input label, outcome).
fn abuses(ctx: &Context, p: &Params) -> Vec<(&'static str, &'static str, Outcome)> {
    let run = ctx.namespace().to_string();
    let mine = || pod(&run, &p.pod, None);
    let mut cases = Vec::new();
    let mut evict = |input, pods: &[PodRef], concurrency| {
        let result = ctx.evict_many(pods, concurrency, SECONDS_10);
        cases.push(("evict-many", input, outcome(&result)));
    };
    // The granted pod first: a host that evicted while it went through the list would have
    // evicted it before finding the rest wrong.
    let mut many = vec![mine()];
    many.extend((0..1_000).map(|i| pod(&run, &format!("{}-{i}", p.pod), None)));
    evict("1001-pods", &many, 4);
    evict("concurrency-0", &[mine()], 0);
    evict("concurrency-65", &[mine()], 65);
    evict("empty-uid", &[pod(&run, &p.pod, Some(String::new()))], 1);
    evict(
        "long-uid",
        &[pod(&run, &p.pod, Some("u".repeat(2 << 10)))],
        1,
    );
    let outside = pod(&p.other, &p.other_pod, None);
    evict("outside-grants", &[mine(), outside.clone()], 2);
    evict("outside-grants-first", &[outside, mine()], 1);

    let keep = configmap(&p.keep);
    let mut delete = |input, options: DeleteOptions| {
        let result = ctx.delete_with(&keep, &options);
        cases.push(("delete-with", input, outcome(&result)));
    };
    delete(
        "grace-86401",
        DeleteOptions::default().grace_period_seconds(86_401),
    );
    delete("empty-uid", DeleteOptions::default().uid(""));
    delete(
        "long-uid",
        DeleteOptions::default().uid("u".repeat(2 << 10)),
    );
    delete(
        "other-uid",
        DeleteOptions::default().uid("00000000-0000-4000-8000-000000000000"),
    );
    // A uid is sent in the body: the server's refusal may quote it back.
    delete(
        "escape-uid",
        DeleteOptions::default().uid("\u{1b}[2J\u{1b}]0;owned\u{7}\u{202e}"),
    );

    let mut wait = |input, set: WaitSet, until| {
        let result = ctx.wait_all(&set, until, SECONDS_10);
        cases.push(("wait-all", input, outcome(&result)));
    };
    wait(
        "1001-objects",
        WaitSet::Objects(vec![configmap(&p.keep); 1_001]),
        SetCondition::AllGone,
    );
    wait(
        "ready-more-than-named",
        WaitSet::Objects(vec![configmap(&p.keep)]),
        SetCondition::AllReady(2),
    );
    // `wait` on pods is granted, `list` is not: a query answers with what it matches.
    wait(
        "query-without-list",
        WaitSet::Query {
            api_version: "v1".into(),
            kind: "Pod".into(),
            params: ListParams::default(),
        },
        SetCondition::AllGone,
    );
    // The same for a kind no server serves: refused before discovery would say so.
    wait(
        "query-without-list-unserved",
        WaitSet::Query {
            api_version: "example.com/v1".into(),
            kind: "Widget".into(),
            params: ListParams::default(),
        },
        SetCondition::AllGone,
    );
    let configmaps = |params| WaitSet::Query {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        params,
    };
    wait(
        "query-all-namespaces",
        configmaps(ListParams::default().all_namespaces()),
        SetCondition::AllGone,
    );
    wait(
        "query-other-namespace",
        configmaps(ListParams::default().in_namespace(p.other.as_str())),
        SetCondition::AllGone,
    );
    wait(
        "escape-labels",
        configmaps(ListParams::default().labels("app=\u{1b}[2J\u{1b}[31mred")),
        SetCondition::AllGone,
    );
    wait(
        "escape-fields",
        configmaps(ListParams::default().fields("metadata.name=\u{1b}]0;owned\u{7}")),
        SetCondition::AllGone,
    );
    cases
}

/// The good use of the three calls; each outcome is logged, and listed in the summary.
fn controls(ctx: &Context, p: &Params) -> Result<Vec<&'static str>, Error> {
    let gone = configmap(&p.gone);
    let uid = ctx.get_dynamic(&gone)?["metadata"]["uid"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| Error::invalid(format!("ConfigMap {} has no uid", p.gone)))?;
    let mut kinds = Vec::new();
    let mut log = |input, result: Outcome| {
        log_case(ctx, "control", input, &result);
        kinds.push(result.0);
    };
    let options = DeleteOptions::default().uid(uid).grace_period_seconds(0);
    log("delete-with", outcome(&ctx.delete_with(&gone, &options)));
    let left = ctx.wait_all(
        &WaitSet::Objects(vec![gone]),
        SetCondition::AllGone,
        SECONDS_10,
    );
    log("wait-all-gone", outcome(&left));
    let ready = ctx.wait_all(
        &WaitSet::Query {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            params: ListParams::default().labels("app=keep"),
        },
        SetCondition::AllReady(1),
        SECONDS_10,
    );
    let names: Vec<String> = ready
        .iter()
        .flatten()
        .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    ctx.info(&format!("batch-abuse ready names={names:?}"));
    log("wait-all-ready", outcome(&ready));
    let evicted = ctx.evict_many(
        &[pod(ctx.namespace(), &p.evictable, None)],
        1,
        Duration::from_secs(60),
    );
    let each: Vec<&str> = evicted.iter().flatten().map(|o| outcome(o).0).collect();
    ctx.info(&format!("batch-abuse evicted outcomes={each:?}"));
    log("evict-many", outcome(&evicted));
    Ok(kinds)
}

fn crowd(ctx: &Context) -> Vec<Outcome> {
    ["crowd=yes", "edge=in"]
        .into_iter()
        .map(|labels| {
            let result = ctx.wait_all(
                &WaitSet::Query {
                    api_version: "v1".into(),
                    kind: "ConfigMap".into(),
                    params: ListParams::default().labels(labels),
                },
                SetCondition::AllReady(1),
                Duration::from_secs(60),
            );
            let found = result.as_ref().map(Vec::len).unwrap_or_default();
            let outcome = outcome(&result);
            log_case(ctx, "wait-all", labels, &outcome);
            ctx.info(&format!(
                "batch-abuse crowd labels={labels} objects={found}"
            ));
            outcome
        })
        .collect()
}

fn run(ctx: &Context) -> Result<String, Error> {
    let p: Params = ctx.params()?;
    ctx.info(&format!("batch-abuse starts mode={}", p.mode));
    match p.mode.as_str() {
        "cases" => {
            let cases = abuses(ctx, &p);
            for (op, input, outcome) in &cases {
                log_case(ctx, op, input, outcome);
            }
            let controls = controls(ctx, &p)?;
            Ok(format!(
                "cases={} controls={}",
                cases.len(),
                controls.join(",")
            ))
        }
        "controls" => Ok(format!("controls={}", controls(ctx, &p)?.join(","))),
        "crowd" => {
            let kinds: Vec<&str> = crowd(ctx).into_iter().map(|(k, _)| k).collect();
            Ok(format!("crowd={}", kinds.join(",")))
        }
        "hang-wait-all" => {
            let result = ctx.wait_all(
                &WaitSet::Objects(vec![configmap(&p.keep)]),
                SetCondition::AllGone,
                Duration::MAX,
            );
            log_case(ctx, "hang", "wait-all", &outcome(&result));
            result.map(|_| "wait-all returned".into())
        }
        "hang-evict-many" => {
            let result = ctx.evict_many(&[pod(ctx.namespace(), &p.held, None)], 1, Duration::MAX);
            log_case(ctx, "hang", "evict-many", &outcome(&result));
            let each = result?.into_iter().next().unwrap_or(Ok(()));
            log_case(ctx, "hang", "evict-many-pod", &outcome(&each));
            each.map(|()| "evict-many returned".into())
        }
        "late-evict-many" => {
            let result = ctx.evict_many(
                &[pod(ctx.namespace(), &p.held, None)],
                1,
                Duration::from_secs(30),
            );
            log_case(ctx, "late", "evict-many", &outcome(&result));
            let each = match &result {
                Ok(outcomes) => outcomes.iter().map(|o| outcome(o).0).collect(),
                Err(_) => Vec::new(),
            };
            for (i, o) in result.iter().flatten().enumerate() {
                log_case(ctx, "late", &format!("pod-{i}"), &outcome(o));
            }
            Ok(format!(
                "evict-many={} pods={}",
                outcome(&result).0,
                each.join(",")
            ))
        }
        "pod-detail" => {
            let deployment = |ns: &str, name: &str| {
                ObjectRef::new("apps/v1", "Deployment", name).in_namespace(ns)
            };
            let (mine, theirs) = (
                deployment(ctx.namespace(), "web-a"),
                deployment(&p.other, "web-b"),
            );
            let alone = ctx.wait_dynamic(&theirs, &Condition::Ready, Duration::from_secs(60));
            log_case(ctx, "detail", "wait", &outcome(&alone));
            for (input, set) in [
                ("wait-all-mine-first", vec![mine.clone(), theirs.clone()]),
                ("wait-all-theirs-first", vec![theirs, mine]),
            ] {
                let result = ctx.wait_all(
                    &WaitSet::Objects(set),
                    SetCondition::AllReady(2),
                    Duration::from_secs(60),
                );
                log_case(ctx, "detail", input, &outcome(&result));
            }
            Ok("pod-detail".into())
        }
        other => Err(Error::invalid(format!("no mode {other:?}"))),
    }
}

export_policy! {
    name: "batch-abuse",
    version: env!("CARGO_PKG_VERSION"),
    description: "Calls delete-with, wait-all and evict-many past their bounds and outside its grants (test guest).",
    params: [
        { name: "mode", type: "string", required: true, enum: ["cases", "controls", "crowd", "hang-wait-all", "hang-evict-many", "late-evict-many", "pod-detail"], description: "What to do (see the crate's documentation)." },
        { name: "other", type: "string", default: "other", description: "A namespace the run may not evict in." },
        { name: "pod", type: "string", default: "pod-a", description: "A pod of the run's namespace that must survive." },
        { name: "other-pod", type: "string", default: "pod-b", description: "A pod of namespace `other` that must survive." },
        { name: "keep", type: "string", default: "keep", description: "A ConfigMap (label app=keep) that must survive." },
        { name: "gone", type: "string", default: "gone", description: "A ConfigMap the control delete-with removes." },
        { name: "evictable", type: "string", default: "evictable", description: "A pod the control evict-many evicts." },
        { name: "held", type: "string", default: "held", description: "A pod held by a finalizer (hang-evict-many)." },
    ],
    capabilities: [
        "cluster/evict:v1/Pod@{namespace}",
        "cluster/wait:v1/Pod@{namespace}",
        "cluster/wait:example.com/v1/Widget@{namespace}",
        "cluster/get:v1/ConfigMap@{namespace}",
        "cluster/list:v1/ConfigMap@{namespace}",
        "cluster/wait:v1/ConfigMap@{namespace}",
        "cluster/delete:v1/ConfigMap@{namespace}",
        "cluster/get:v1/Pod@{namespace}",
        "cluster/wait:apps/v1/Deployment",
    ],
    run: run,
}
