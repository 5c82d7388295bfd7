//! The NetworkPolicy migration through FakeCluster: mixed namespaces, a dry run, a resume after a failure, the undo, refusals before any change.

use cutover_guest_sdk::testing::FakeCluster;
use cutover_guest_sdk::{Context, Error, Request, policy_manifest};
use serde_json::{Value, json};

use super::plan::isolation;
use super::*;

const MANIFEST: cutover_guest_sdk::manifest::Manifest = policy_manifest! {
    name: "networkpolicy-v1-migration", version: "0.1.0", description: "test",
    params: [
        { name: "namespaces", type: "string-list", default: [] },
        { name: "exclude-namespaces", type: "string-list", default: [] },
        { name: "deny-policy-name", type: "string", default: "default-deny" },
    ],
    capabilities: [],
};

const DENY: &str = r#"{"ingress": {"isolation": "DefaultDeny"}}"#;

fn namespace(name: &str, annotation: Option<&str>) -> Value {
    let mut ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    if let Some(a) = annotation {
        ns["metadata"]["annotations"] = json!({ ANNOTATION: a });
    }
    ns
}

fn policy(namespace: &str, name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": API_VERSION, "kind": KIND,
        "metadata": {
            "name": name, "namespace": namespace, "labels": {"team": "web"},
            "resourceVersion": "7", "generation": 1, "creationTimestamp": "2017-01-01T00:00:00Z",
            "managedFields": [{"manager": "kubectl"}],
        },
        "spec": spec,
    })
}

fn allow_web(namespace: &str, name: &str) -> Value {
    policy(
        namespace,
        name,
        json!({"podSelector": {"matchLabels": {"app": "web"}},
               "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "lb"}}}]}]}),
    )
}

/// `open` (no annotation, two policies), `secure` (DefaultDeny, one policy allowing web),
/// `empty` (no annotation, nothing), `done` (DefaultDeny and a deny-all `default-deny` already).
fn mixed() -> FakeCluster {
    FakeCluster::new()
        .with(namespace("open", None))
        .with(namespace("secure", Some(DENY)))
        .with(namespace("empty", None))
        .with(namespace("done", Some(DENY)))
        .with(allow_web("open", "allow-web"))
        .with(allow_web("open", "allow-db"))
        .with(allow_web("secure", "allow-web"))
        .with(policy(
            "done",
            "default-deny",
            json!({"podSelector": {}, "policyTypes": ["Ingress"]}),
        ))
}

fn run(fake: &FakeCluster, params: Value) -> Result<String, Error> {
    let ctx = fake.context(&MANIFEST, params)?;
    run_ctx(&ctx)
}

fn run_ctx(ctx: &Context) -> Result<String, Error> {
    let params: Params = ctx.params()?;
    crate::drive(ctx, |ctx, s, save| forward(ctx, &params, s, save), undo)
}

fn checkpoint(fake: &FakeCluster) -> State {
    let text = fake.checkpoint().expect("a checkpoint");
    serde_json::from_str(&text).expect("the checkpoint is a State")
}

fn policies_in(fake: &FakeCluster, namespace: &str) -> Vec<String> {
    fake.objects()
        .iter()
        .filter(|o| o["kind"] == KIND && o["metadata"]["namespace"] == namespace)
        .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
        .collect()
}

fn changes(fake: &FakeCluster) -> Vec<String> {
    fake.call_lines()
        .into_iter()
        .filter(|c| c.starts_with("apply") || c.starts_with("delete"))
        .collect()
}

#[test]
fn mixed_namespaces_are_migrated_creates_first() {
    let fake = mixed();
    let summary = run(&fake, json!({})).unwrap();
    assert_eq!(
        summary,
        "migrated 4 namespaces to v1 NetworkPolicy semantics: 2 NetworkPolicies deleted, \
         1 deny-all NetworkPolicy created"
    );
    // The plan is checkpointed after the lists and before the first change; then one
    // checkpoint after each change.
    assert_eq!(
        fake.call_lines(),
        [
            "list Namespace",
            "list NetworkPolicy in all namespaces",
            "checkpoint the run's revision",
            "apply NetworkPolicy secure/default-deny",
            "checkpoint the run's revision",
            "delete NetworkPolicy open/allow-db",
            "checkpoint the run's revision",
            "delete NetworkPolicy open/allow-web",
            "checkpoint the run's revision",
        ]
    );
    // Each delete names the uid planned.
    let uids: Vec<Value> = fake
        .calls()
        .iter()
        .filter(|c| c.operation == "delete")
        .map(|c| c.body.clone().unwrap_or_default())
        .collect();
    assert_eq!(uids.len(), 2);
    assert!(
        uids.iter().all(|b| b.to_string().contains("uid")),
        "{uids:?}"
    );
    assert!(policies_in(&fake, "open").is_empty());
    assert_eq!(policies_in(&fake, "secure"), ["allow-web", "default-deny"]);
    assert_eq!(policies_in(&fake, "done"), ["default-deny"]);
    let created = fake
        .object(API_VERSION, KIND, Some("secure"), "default-deny")
        .unwrap();
    assert!(is_deny_all(&created), "{created}");
    assert!(
        created["metadata"]["annotations"]["cutover.dev/networkpolicy-v1-migration"].is_string(),
        "{created}"
    );
    assert_eq!(created["spec"]["podSelector"], json!({}));

    // The checkpoint holds the plan, each deleted policy whole (server fields stripped), and
    // the created policy's uid.
    let state = checkpoint(&fake);
    let plan = state.plan.as_ref().unwrap();
    let kept = &plan.deleted("open", "allow-web").unwrap().object;
    assert_eq!(kept["metadata"]["labels"]["team"], "web");
    assert_eq!(kept["spec"]["podSelector"]["matchLabels"]["app"], "web");
    for server_set in [
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
        "uid",
    ] {
        assert!(
            kept["metadata"].get(server_set).is_none(),
            "{server_set} kept: {kept}"
        );
    }
    assert_eq!(state.created.len(), 1);
    assert_eq!(state.created[0].uid, created["metadata"]["uid"]);
    assert_eq!(state.deleted.len(), 2);
    let progress = fake.progress();
    assert_eq!(progress.len(), 3);
    assert_eq!(progress[2].0, 3);
    assert_eq!(progress[2].1, 3);

    // A second run plans again and finds nothing to do.
    let again = FakeCluster::new();
    for object in fake.objects() {
        again.insert(object).unwrap();
    }
    let summary = run(&again, json!({})).unwrap();
    assert!(
        summary.contains("0 NetworkPolicies deleted, 0 deny-all NetworkPolicies created"),
        "{summary}"
    );
    assert!(changes(&again).is_empty(), "{:?}", again.call_lines());
}

#[test]
fn the_plan_is_checkpointed_before_the_first_change() {
    let fake = mixed();
    fake.respond(
        "apply",
        "NetworkPolicy secure/default-deny",
        Err(Error::unavailable("the API server is down")),
    );
    let e = run(&fake, json!({})).unwrap_err();
    assert!(e.is_unavailable(), "{e}");
    assert!(
        e.reason()
            .contains("creating the deny-all NetworkPolicy secure/default-deny"),
        "{e}"
    );
    let state = checkpoint(&fake);
    assert_eq!(state.plan.as_ref().unwrap().counts(), (2, 1));
    assert!(state.created.is_empty() && state.deleted.is_empty());
}

#[test]
fn a_dry_run_prints_the_table_and_changes_nothing() {
    let fake = mixed().dry_run(true);
    let before = fake.objects();
    let summary = run(&fake, json!({})).unwrap();
    assert_eq!(
        summary,
        "dry run: would delete 2 NetworkPolicies and create 1 deny-all NetworkPolicy in 4 \
         namespaces; nothing changed"
    );
    assert!(changes(&fake).is_empty(), "{:?}", fake.call_lines());
    assert!(fake.call_lines().iter().all(|c| c.starts_with("list")));
    assert_eq!(fake.objects(), before);
    assert_eq!(fake.checkpoint(), None);
    let lines: Vec<String> = fake.logs().into_iter().map(|(_, l)| l).collect();
    assert_eq!(
        lines,
        [
            "NAMESPACE  ANNOTATION   DELETE              CREATE",
            "done       DefaultDeny  -                   - (present)",
            "empty      none         -                   -",
            "open       none         allow-db,allow-web  -",
            "secure     DefaultDeny  -                   default-deny",
        ]
    );
}

#[test]
fn a_resume_after_a_failed_delete_continues_without_redoing() {
    let fake = mixed();
    fake.respond(
        "delete",
        "NetworkPolicy open/allow-web",
        Err(Error::unavailable("etcd timed out")),
    );
    let e = run(&fake, json!({})).unwrap_err();
    assert!(
        e.reason().contains("deleting NetworkPolicy open/allow-web"),
        "{e}"
    );
    let state = checkpoint(&fake);
    assert_eq!(state.created.len(), 1);
    assert_eq!(
        state.deleted,
        [PolicyKey {
            namespace: "open".into(),
            name: "allow-db".into()
        }]
    );
    assert_eq!(policies_in(&fake, "open"), ["allow-web"]);

    let calls_before = fake.calls().len();
    let ctx = fake
        .context(&MANIFEST, json!({}))
        .unwrap()
        .with_revision(1, 2);
    let summary = run_ctx(&ctx).unwrap();
    assert!(
        summary.contains("2 NetworkPolicies deleted, 1 deny-all NetworkPolicy created"),
        "{summary}"
    );
    let resumed: Vec<String> = fake.call_lines()[calls_before..].to_vec();
    assert_eq!(
        resumed,
        [
            "delete NetworkPolicy open/allow-web",
            "checkpoint the run's revision"
        ]
    );
    assert!(policies_in(&fake, "open").is_empty());
    assert_eq!(policies_in(&fake, "secure"), ["allow-web", "default-deny"]);
    assert!(
        fake.logs()
            .iter()
            .any(|(_, l)| l == "resuming the checkpointed plan: 2 of 3 changes done")
    );
}

#[test]
fn a_resume_finds_a_policy_gone_or_replaced_and_does_not_fail() {
    let fake = mixed();
    fake.respond(
        "delete",
        "NetworkPolicy open/allow-db",
        Err(Error::unavailable("lost")),
    );
    run(&fake, json!({})).unwrap_err();
    // Meanwhile allow-db went (the lost delete was done after all) and allow-web was replaced.
    let state = checkpoint(&fake);
    let dropped = FakeCluster::new();
    for object in fake.objects() {
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let ns = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if ns == "open" && name == "allow-db" {
            continue;
        }
        if ns == "open" && name == "allow-web" {
            let mut other = object.clone();
            other["metadata"]["uid"] = json!("someone-elses");
            dropped.insert(other).unwrap();
            continue;
        }
        dropped.insert(object).unwrap();
    }
    dropped.set_checkpoint(&serde_json::to_value(&state).unwrap());
    let ctx = dropped
        .context(&MANIFEST, json!({}))
        .unwrap()
        .with_revision(1, 2);
    let summary = run_ctx(&ctx).unwrap();
    assert!(
        summary.contains("1 left as they are (replaced since the plan)"),
        "{summary}"
    );
    // allow-db is gone (a delete of it answers as done); allow-web is another object now: its
    // delete is refused by the uid precondition, and the read shows whose it is.
    assert_eq!(
        dropped.call_lines(),
        [
            "delete NetworkPolicy open/allow-db",
            "checkpoint the run's revision",
            "delete NetworkPolicy open/allow-web",
            "get NetworkPolicy open/allow-web",
            "checkpoint the run's revision",
        ]
    );
    assert_eq!(policies_in(&dropped, "open"), ["allow-web"]);
    assert_eq!(
        checkpoint(&dropped).deleted,
        [PolicyKey {
            namespace: "open".into(),
            name: "allow-db".into()
        }]
    );
}

#[test]
fn undo_restores_the_deleted_and_removes_the_created() {
    let fake = mixed();
    run(&fake, json!({})).unwrap();
    let before_undo = fake.calls().len();
    fake.request(Request::Abort);
    let summary = run(&fake, json!({})).unwrap();
    assert_eq!(
        summary,
        "NetworkPolicy migration undone: 2 NetworkPolicies restored, 1 created NetworkPolicy deleted"
    );
    assert_eq!(
        fake.call_lines()[before_undo..],
        [
            "checkpoint the run's revision",
            "get NetworkPolicy open/allow-web",
            "apply NetworkPolicy open/allow-web",
            "checkpoint the run's revision",
            "get NetworkPolicy open/allow-db",
            "apply NetworkPolicy open/allow-db",
            "checkpoint the run's revision",
            "delete NetworkPolicy secure/default-deny",
            "checkpoint the run's revision",
            "checkpoint the run's revision",
        ]
    );
    assert_eq!(policies_in(&fake, "open"), ["allow-db", "allow-web"]);
    assert_eq!(policies_in(&fake, "secure"), ["allow-web"]);
    let restored = fake
        .object(API_VERSION, KIND, Some("open"), "allow-web")
        .unwrap();
    assert_eq!(restored["spec"], allow_web("open", "allow-web")["spec"]);
    assert_eq!(restored["metadata"]["labels"]["team"], "web");
    // The undo's state is saved as it goes, and cleared at the end: a second abort is a no-op.
    assert_eq!(checkpoint(&fake), State::default());
    let calls = fake.calls().len();
    assert_eq!(
        run(&fake, json!({})).unwrap(),
        "NetworkPolicy migration: nothing to undo"
    );
    assert_eq!(fake.calls().len(), calls);
}

/// The cluster of `mixed()` after a whole run, the run's final state, and a fake holding
/// `mixed()`'s objects changed by `edit` with the checkpoint `state` made of the final one.
fn interrupted(
    edit: impl Fn(&FakeCluster, &FakeCluster),
    state: impl Fn(State) -> State,
) -> FakeCluster {
    let done = mixed();
    run(&done, json!({})).unwrap();
    let fake = mixed();
    edit(&done, &fake);
    fake.set_checkpoint(&serde_json::to_value(state(checkpoint(&done))).unwrap());
    fake.request(Request::Abort);
    fake
}

#[test]
fn undo_of_a_run_stopped_before_a_create_was_recorded_deletes_it() {
    // The deny-all policy was created, then the run died before its checkpoint.
    let fake = interrupted(
        |done, fake| {
            let created = done
                .object(API_VERSION, KIND, Some("secure"), "default-deny")
                .unwrap();
            fake.insert(created).unwrap();
        },
        |s| State {
            plan: s.plan,
            ..State::default()
        },
    );
    let summary = run(&fake, json!({})).unwrap();
    assert_eq!(
        summary,
        "NetworkPolicy migration undone: 0 NetworkPolicies restored, 1 created NetworkPolicy deleted"
    );
    assert_eq!(policies_in(&fake, "secure"), ["allow-web"]);
    assert_eq!(policies_in(&fake, "open"), ["allow-db", "allow-web"]);
    // Without the migration's annotation, a policy of that name is someone else's: left.
    let fake = interrupted(
        |_, fake| {
            fake.insert(policy("secure", "default-deny", json!({"podSelector": {}})))
                .unwrap();
        },
        |s| State {
            plan: s.plan,
            ..State::default()
        },
    );
    assert_eq!(
        run(&fake, json!({})).unwrap(),
        "NetworkPolicy migration: nothing to undo"
    );
    assert!(changes(&fake).is_empty(), "{:?}", fake.call_lines());
    assert_eq!(policies_in(&fake, "secure"), ["allow-web", "default-deny"]);
}

#[test]
fn undo_of_a_run_stopped_before_a_delete_was_recorded_restores_it() {
    // The deny-all policy created and recorded; allow-db deleted, the run dead before its
    // checkpoint.
    let fake = interrupted(
        |done, fake| {
            let created = done
                .object(API_VERSION, KIND, Some("secure"), "default-deny")
                .unwrap();
            fake.insert(created).unwrap();
            fake.insert(allow_web("open", "allow-db")).unwrap();
        },
        |s| State {
            plan: s.plan,
            created: s.created,
            ..State::default()
        },
    );
    // allow-db is gone from this cluster: rebuild it without it.
    let without = FakeCluster::new();
    for o in fake.objects() {
        if !(o["metadata"]["namespace"] == "open" && o["metadata"]["name"] == "allow-db") {
            without.insert(o).unwrap();
        }
    }
    without.set_checkpoint(&serde_json::from_str::<Value>(&fake.checkpoint().unwrap()).unwrap());
    without.request(Request::Abort);
    let summary = run(&without, json!({})).unwrap();
    assert_eq!(
        summary,
        "NetworkPolicy migration undone: 1 NetworkPolicy restored, 1 created NetworkPolicy deleted"
    );
    assert_eq!(policies_in(&without, "open"), ["allow-db", "allow-web"]);
    assert_eq!(policies_in(&without, "secure"), ["allow-web"]);
}

#[test]
fn undo_leaves_what_changed_since() {
    let fake = mixed();
    run(&fake, json!({})).unwrap();
    // Someone re-created allow-db, and replaced the created default-deny by one of their own.
    fake.insert(allow_web("open", "allow-db")).unwrap();
    let mut theirs = fake
        .object(API_VERSION, KIND, Some("secure"), "default-deny")
        .unwrap();
    theirs["metadata"]["uid"] = json!("theirs");
    fake.insert(theirs).unwrap();
    fake.request(Request::Abort);
    let summary = run(&fake, json!({})).unwrap();
    assert_eq!(
        summary,
        "NetworkPolicy migration undone: 1 NetworkPolicy restored, 0 created NetworkPolicies \
         deleted, 2 left as they are (changed since)"
    );
    let undone = changes(&fake);
    assert!(
        undone.contains(&"apply NetworkPolicy open/allow-web".to_string()),
        "{undone:?}"
    );
    assert!(
        !undone.contains(&"apply NetworkPolicy open/allow-db".to_string()),
        "{undone:?}"
    );
    assert_eq!(
        fake.object(API_VERSION, KIND, Some("secure"), "default-deny")
            .unwrap()["metadata"]["uid"],
        "theirs"
    );
}

#[test]
fn undo_of_a_partial_run_undoes_only_what_was_done() {
    let fake = mixed();
    fake.respond(
        "delete",
        "NetworkPolicy open/allow-db",
        Err(Error::unavailable("down")),
    );
    run(&fake, json!({})).unwrap_err();
    fake.request(Request::Abort);
    let summary = run(&fake, json!({})).unwrap();
    assert_eq!(
        summary,
        "NetworkPolicy migration undone: 0 NetworkPolicies restored, 1 created NetworkPolicy deleted"
    );
    assert_eq!(policies_in(&fake, "open"), ["allow-db", "allow-web"]);
    assert_eq!(policies_in(&fake, "secure"), ["allow-web"]);
}

#[test]
fn a_malformed_annotation_refuses_the_run_before_any_change() {
    let fake = mixed()
        .with(namespace(
            "typo",
            Some(r#"{"ingress": {"isolation": "DefaultDeny"}"#),
        ))
        .with(namespace(
            "lower",
            Some(r#"{"ingress": {"isolation": "defaultdeny"}}"#),
        ));
    let before = fake.objects();
    let e = run(&fake, json!({})).unwrap_err();
    assert!(e.is_aborted(), "{e}");
    let reason = e.reason();
    assert!(
        reason.starts_with("refusing to migrate: 2 namespaces have a malformed"),
        "{reason}"
    );
    assert!(reason.contains("namespace typo: "), "{reason}");
    assert!(reason.contains("is not JSON"), "{reason}");
    assert!(reason.contains(r#"namespace lower: "{\"ingress\": {\"isolation\": \"defaultdeny\"}}": isolation "defaultdeny" is not "DefaultDeny""#), "{reason}");
    assert!(reason.ends_with("nothing was changed"), "{reason}");
    assert!(
        fake.call_lines().iter().all(|c| c.starts_with("list")),
        "{:?}",
        fake.call_lines()
    );
    assert_eq!(fake.objects(), before);
    assert_eq!(fake.checkpoint(), None);

    // Left out, the others migrate.
    let summary = run(&fake, json!({"exclude-namespaces": ["typo", "lower"]})).unwrap();
    assert!(summary.starts_with("migrated 4 namespaces"), "{summary}");
}

#[test]
fn a_conflicting_deny_policy_is_refused_and_another_name_works() {
    let fake = mixed().with(policy(
        "secure",
        "default-deny",
        json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
    ));
    let e = run(&fake, json!({})).unwrap_err();
    assert!(e.is_aborted(), "{e}");
    assert!(e.reason().contains("secure/default-deny"), "{e}");
    assert!(changes(&fake).is_empty());

    let summary = run(&fake, json!({"deny-policy-name": "v1-isolation"})).unwrap();
    assert!(
        summary.contains("2 deny-all NetworkPolicies created"),
        "{summary}"
    );
    assert!(policies_in(&fake, "secure").contains(&"v1-isolation".to_string()));
    assert!(policies_in(&fake, "done").contains(&"v1-isolation".to_string()));
}

#[test]
fn namespaces_and_exclusions_narrow_the_plan() {
    let fake = mixed();
    let summary = run(
        &fake,
        json!({"namespaces": ["open", "secure"], "exclude-namespaces": ["secure"]}),
    )
    .unwrap();
    assert!(summary.starts_with("migrated 1 namespace to"), "{summary}");
    assert_eq!(policies_in(&fake, "secure"), ["allow-web"]);
    assert!(policies_in(&fake, "open").is_empty());

    let e = run(&mixed(), json!({"namespaces": ["nowhere"]})).unwrap_err();
    assert_eq!(
        e.reason(),
        "parameter `namespaces` names 1 namespace that does not exist: nowhere"
    );
    let e = run(&mixed(), json!({"deny-policy-name": "Deny_All"})).unwrap_err();
    assert!(
        e.is_invalid() && e.reason().contains("deny-policy-name"),
        "{e}"
    );
}

#[test]
fn a_plan_too_large_for_the_checkpoint_is_refused() {
    let fake = FakeCluster::new().with(namespace("big", None));
    let blob = "x".repeat(60_000);
    for i in 0..20 {
        let mut p = allow_web("big", &format!("p{i:02}"));
        p["metadata"]["annotations"] = json!({"note": blob});
        fake.insert(p).unwrap();
    }
    let e = run(&fake, json!({})).unwrap_err();
    assert!(e.is_aborted(), "{e}");
    assert!(
        e.reason()
            .contains("more than the 1048576 a checkpoint holds"),
        "{e}"
    );
    assert!(
        e.reason().contains("migrate in parts with `namespaces`"),
        "{e}"
    );
    assert!(changes(&fake).is_empty());
    assert_eq!(fake.checkpoint(), None);
}

#[test]
fn the_annotation_is_read_strictly() {
    let ns = |a: &str| namespace("n", Some(a));
    assert_eq!(isolation(&namespace("n", None)), Ok(false));
    assert_eq!(isolation(&ns(DENY)), Ok(true));
    assert_eq!(
        isolation(&ns(r#"{"ingress":{"isolation":"DefaultDeny"}}"#)),
        Ok(true)
    );
    assert_eq!(isolation(&ns("{}")), Ok(false));
    assert_eq!(isolation(&ns(r#"{"ingress": {}}"#)), Ok(false));
    for bad in [
        "",
        "DefaultDeny",
        "[]",
        r#"{"ingress": "DefaultDeny"}"#,
        r#"{"ingress": {"isolation": true}}"#,
        r#"{"ingress": {"isolation": "DefaultDeny", "x": 1}}"#,
        r#"{"egress": {}}"#,
    ] {
        assert!(isolation(&ns(bad)).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn deny_all_is_recognised_as_the_api_server_may_store_it() {
    assert!(is_deny_all(&deny_all("a", "default-deny")));
    assert!(is_deny_all(
        &json!({"spec": {"podSelector": {"matchLabels": {}}}})
    ));
    assert!(is_deny_all(
        &json!({"spec": {"podSelector": {}, "ingress": []}})
    ));
    assert!(!is_deny_all(
        &json!({"spec": {"podSelector": {"matchLabels": {"a": "b"}}}})
    ));
    assert!(!is_deny_all(
        &json!({"spec": {"podSelector": {}, "ingress": [{}]}})
    ));
    assert!(!is_deny_all(
        &json!({"spec": {"podSelector": {}, "policyTypes": ["Egress"]}})
    ));
}
