//! The guard over real routers: host tools of one host plus a second
//! backend of the same host, seen by principals of every role.

use super::*;
use crate::testing::{Client, is_forbidden, principal};
use herd_auth::{Principal, Role};
use herd_proto::model::{CallToolResult, Tool as ToolDef, ToolAnnotations};
use herd_router::{Router, RouterConfig};
use herd_store::{AuditFilter, AuditRecord, Outcome, Store};
use herd_tools::Catalog;
use serde_json::json;
use std::time::Duration;

fn def(name: &str, read_only: Option<bool>) -> ToolDef {
    ToolDef {
        name: name.into(),
        title: None,
        description: name.into(),
        input_schema: json!({ "type": "object" }),
        output_schema: None,
        annotations: Some(ToolAnnotations { read_only_hint: read_only, ..ToolAnnotations::default() }),
    }
}

/// A second backend: a read-only tool, a destructive one, one without a
/// hint, one that fails and one that never ends.
fn extra() -> Arc<dyn Backend> {
    let mut b = Catalog::builder();
    b.tool(def("peek", Some(true)), |_, _| async { Ok(CallToolResult::text("peeked")) });
    b.tool(def("wipe", Some(false)), |_, _| async { Ok(CallToolResult::text("wiped")) });
    b.tool(def("vague", None), |_, _| async { Ok(CallToolResult::text("maybe")) });
    b.tool(def("fail", Some(true)), |_, _| async { Ok(CallToolResult::error("it broke")) });
    b.tool(def("hang", Some(true)), |_, _| async {
        std::future::pending::<()>().await;
        Ok(CallToolResult::text("never"))
    });
    Arc::new(b.build())
}

fn host_scope(name: &str) -> Scope {
    Scope::Host { name: name.into(), tags: vec!["web".into()] }
}

fn router(audit: Option<Audit>) -> Router {
    let host: Arc<dyn Backend> = Arc::new(herd_tools::host::catalog(herd_tools::host::HostConfig::default()));
    let backends: Vec<Arc<dyn Backend>> = vec![
        Arc::new(Guarded::new(host, host_scope("web1"), audit.clone())),
        Arc::new(Guarded::new(extra(), host_scope("web1"), audit)),
    ];
    Router::new(RouterConfig::default(), backends)
}

/// Every tool of the router, as herd's own background work sees them.
async fn all_tools(router: &Router) -> Vec<String> {
    let admin = Client::open(router, Principal::anonymous_admin()).await;
    admin.tools().await
}

/// Calls every tool (with arguments no tool accepts, so nothing runs
/// that could change the machine) and says which the policy refused.
async fn refused(client: &Client, tools: &[String]) -> Vec<String> {
    let mut refused = Vec::new();
    for tool in tools.iter().filter(|t| *t != "hang") {
        if is_forbidden(&client.call(tool, json!({ "not_an_argument": 1 })).await) {
            refused.push(tool.clone());
        }
    }
    refused
}

#[tokio::test]
async fn each_principal_lists_exactly_the_tools_it_may_call() {
    let router = router(None);
    let all = all_tools(&router).await;
    assert!(all.contains(&"shell".to_owned()) && all.contains(&"peek".to_owned()), "{all:?}");
    let table = [
        ("admin", principal(1, "root", Role::Admin, Some("db*"), None)),
        ("operator on @web", principal(2, "op", Role::Operator, Some("@web"), None)),
        ("operator on db*", principal(3, "dba", Role::Operator, Some("db*"), None)),
        ("viewer", principal(4, "eye", Role::Viewer, None, None)),
        ("operator, read_* tools", principal(5, "reader", Role::Operator, Some("web1"), Some("read_*,peek"))),
        ("agent", principal(6, "bot", Role::Agent, None, None)),
    ];
    for (who, principal) in table {
        let client = Client::open(&router, principal).await;
        let listed = client.tools().await;
        let refused = refused(&client, &all).await;
        for tool in all.iter().filter(|t| *t != "hang") {
            assert_ne!(
                listed.contains(tool),
                refused.contains(tool),
                "{who}: {tool} listed {listed:?} refused {refused:?}"
            );
        }
        match who {
            "admin" | "operator on @web" => assert!(refused.is_empty(), "{who}: {refused:?}"),
            "operator on db*" | "agent" => assert!(listed.is_empty(), "{who}: {listed:?}"),
            "viewer" => {
                for hidden in ["shell", "shell_bg", "write_file", "edit_file", "wipe", "vague"] {
                    assert!(refused.contains(&hidden.to_owned()), "viewer may call {hidden}");
                }
                for shown in ["read_file", "list_dir", "search_files", "peek"] {
                    assert!(listed.contains(&shown.to_owned()), "viewer cannot see {shown}");
                }
            }
            _ => assert_eq!(listed, ["read_file", "peek"], "{who}"),
        }
    }
}

#[tokio::test]
async fn a_denial_names_the_missing_permission() {
    let router = router(None);
    let viewer = Client::open(&router, principal(4, "eye", Role::Viewer, None, None)).await;
    let err = viewer.call("wipe", json!({})).await.unwrap_err();
    assert_eq!(err.code, herd_proto::code::FORBIDDEN);
    assert_eq!(err.data, Some(json!({ "missing": "role viewer may only call tools annotated readOnlyHint: true" })));
    let outsider = Client::open(&router, principal(3, "dba", Role::Operator, Some("db*"), None)).await;
    let err = outsider.call("peek", json!({})).await.unwrap_err();
    assert_eq!(err.message, "forbidden: no grant for host web1");
}

async fn audit_store() -> (Store, Audit, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("herd.db").to_str().unwrap()).await.unwrap();
    let audit = Audit::new(store.audit_writer(&Default::default()), false);
    (store, audit, dir)
}

async fn records(store: &Store) -> Vec<AuditRecord> {
    store.query_audit(&AuditFilter::default()).await.unwrap()
}

#[tokio::test]
async fn every_call_leaves_one_record_and_background_work_none() {
    let (store, audit, _dir) = audit_store().await;
    let router = router(Some(audit));
    let op = Client::open(&router, principal(2, "op", Role::Operator, Some("@web"), None)).await;
    let viewer = Client::open(&router, principal(4, "eye", Role::Viewer, None, None)).await;
    assert!(op.tools().await.len() > 5);
    assert!(records(&store).await.is_empty(), "lists are not audited");

    op.call("peek", json!({ "x": 1 })).await.unwrap();
    op.call("fail", json!({})).await.unwrap();
    assert!(is_forbidden(&viewer.call("wipe", json!({})).await));
    op.call("read_file", json!({})).await.unwrap();
    let got = records(&store).await;
    let summary: Vec<(&str, Option<&str>, Outcome)> =
        got.iter().map(|r| (r.user.as_deref().unwrap(), r.target.as_deref(), r.outcome)).collect();
    assert_eq!(
        summary,
        [
            ("op", Some("peek"), Outcome::Ok),
            ("op", Some("fail"), Outcome::ToolError),
            ("eye", Some("wipe"), Outcome::Denied),
            ("op", Some("read_file"), Outcome::ToolError),
        ]
    );
    let first = &got[0];
    assert_eq!(first.method, "tools/call");
    assert_eq!(first.token_id.as_deref(), Some("tok_20"));
    assert_eq!(first.session.as_deref(), Some(op.session.id()));
    assert_eq!(first.client_name.as_deref(), Some("policy-test"));
    assert_eq!(first.client_address.as_deref(), Some("127.0.0.1"));
    assert_eq!(first.hosts, ["web1"]);
    assert_eq!(first.path, Some(herd_store::AuditPath::Local));
    assert_eq!(first.args_size, Some(7));
    assert_eq!(first.args_sha256.as_deref().map(str::len), Some(64));
    assert_eq!(first.args, None, "payloads are off");
    assert_eq!(got[1].error.as_deref(), Some("it broke"));
    assert!(got[2].error.as_deref().unwrap().contains("readOnlyHint"), "{:?}", got[2].error);

    // herd's own work: no principal, no record.
    let backend = Guarded::new(extra(), host_scope("web1"), None);
    let call = Request {
        id: herd_proto::RequestId::number(9),
        method: method::TOOLS_CALL.into(),
        params: Some(serde_json::value::to_raw_value(&json!({ "name": "wipe" })).unwrap()),
        extra: Vec::new(),
    };
    backend.call(call, Context::detached()).await.unwrap();
    assert_eq!(records(&store).await.len(), 4);
}

#[tokio::test]
async fn a_dropped_call_is_recorded_cancelled() {
    let (store, audit, _dir) = audit_store().await;
    let backend = Guarded::new(extra(), host_scope("web1"), Some(audit));
    let meta = herd_proto::RequestMeta {
        principal: Some(principal(2, "op", Role::Operator, None, None)),
        ..herd_proto::RequestMeta::default()
    };
    let cx = Context::detached().with_meta(meta);
    let call = Request {
        id: herd_proto::RequestId::number(1),
        method: method::TOOLS_CALL.into(),
        params: Some(serde_json::value::to_raw_value(&json!({ "name": "hang", "arguments": {} })).unwrap()),
        extra: Vec::new(),
    };
    let call = backend.call(call, cx);
    assert!(tokio::time::timeout(Duration::from_millis(50), call).await.is_err(), "hang never ends");
    // The record is written by a task of its own; wait for it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = records(&store).await;
        if let Some(record) = got.first() {
            assert_eq!((record.outcome, record.target.as_deref()), (Outcome::Cancelled, Some("hang")));
            assert_eq!(got.len(), 1);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no record of the cancelled call");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A call to `peek` as `caller`, its `_meta` naming user `alice`.
async fn call_claiming_alice(backend: &Guarded, caller: Principal) {
    let meta = herd_proto::RequestMeta { principal: Some(caller), ..herd_proto::RequestMeta::default() };
    let claim = json!({ "user": "alice", "token_id": "7", "role": "viewer" });
    let params = json!({ "name": "peek", "arguments": {}, "_meta": { herd_proto::PRINCIPAL_META: claim } });
    let call = Request {
        id: herd_proto::RequestId::number(1),
        method: method::TOOLS_CALL.into(),
        params: Some(serde_json::value::to_raw_value(&params).unwrap()),
        extra: Vec::new(),
    };
    backend.call(call, Context::detached().with_meta(meta)).await.unwrap();
}

#[tokio::test]
async fn a_call_forwarded_by_a_hub_is_attributed_to_the_principal_it_names() {
    let (store, audit, _dir) = audit_store().await;
    let backend = Guarded::new(extra(), host_scope("web1"), Some(audit));
    // The hub holds the agent's own credential: the claim is believed.
    call_claiming_alice(&backend, Principal::anonymous_admin()).await;
    // A user, even an admin, speaks only for themself.
    call_claiming_alice(&backend, principal(9, "mallory", Role::Admin, None, None)).await;
    // The forwarded call's record was only queued (the hub holds the
    // durable one); the writer commits in queue order, so it is in by the
    // time mallory's, awaited, is.
    let got: Vec<(Option<String>, Option<String>)> =
        records(&store).await.into_iter().map(|r| (r.user, r.token_id)).collect();
    assert_eq!(got, [(Some("alice".into()), Some("7".into())), (Some("mallory".into()), Some("tok_90".into()))]);
}

#[tokio::test]
async fn resources_prompts_and_completions_follow_the_host_grant() {
    let (store, audit, _dir) = audit_store().await;
    let fixtures: Arc<dyn Backend> = Arc::new(herd_tools::conformance::catalog());
    let guarded: Vec<Arc<dyn Backend>> = vec![Arc::new(Guarded::new(fixtures, host_scope("web1"), Some(audit)))];
    let router = Router::new(RouterConfig::default(), guarded);
    let read = json!({ "uri": "test://static-text" });
    let prompt = json!({ "name": "test_simple_prompt" });
    let complete = json!({
        "ref": { "type": "ref/prompt", "name": "test_prompt_with_arguments" },
        "argument": { "name": "arg1", "value": "a" },
    });
    for (principal, granted) in [
        (principal(2, "op", Role::Operator, Some("@web"), None), true),
        (principal(4, "eye", Role::Viewer, Some("web1"), None), true),
        (principal(3, "dba", Role::Operator, Some("db*"), None), false),
    ] {
        let client = Client::open(&router, principal).await;
        let resources = client.names("resources/list", "resources", "uri").await;
        let templates = client.names("resources/templates/list", "resourceTemplates", "uriTemplate").await;
        let prompts = client.names("prompts/list", "prompts", "name").await;
        for (what, list) in [("resources", &resources), ("templates", &templates), ("prompts", &prompts)] {
            assert_eq!(list.is_empty(), !granted, "{what}: {list:?}");
        }
        for (method, params) in
            [("resources/read", &read), ("prompts/get", &prompt), ("completion/complete", &complete)]
        {
            let answer = client.request(method, params.clone()).await;
            assert_eq!(is_forbidden(&answer), !granted, "{method}: {answer:?}");
        }
    }
    let outcomes: Vec<(String, Outcome)> =
        records(&store).await.into_iter().map(|r| (r.user.unwrap(), r.outcome)).collect();
    let expected: Vec<(String, Outcome)> = [("op", Outcome::Ok), ("eye", Outcome::Ok), ("dba", Outcome::Denied)]
        .into_iter()
        .flat_map(|(user, outcome)| std::iter::repeat_n((user.to_owned(), outcome), 3))
        .collect();
    assert_eq!(outcomes, expected);
}
