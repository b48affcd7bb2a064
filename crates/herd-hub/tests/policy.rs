//! The one policy through a hub over a real agent (herd's host tools behind
//! herd's own HTTP front): what each principal's lists show is exactly what
//! it may call, for every hub tool, exposed tool and host; and every call
//! leaves one audit record.

#![allow(clippy::unwrap_used)]

use herd_auth::{Principal, Role};
use herd_fleet::Registry;
use herd_guard::Audit;
use herd_guard::testing::{Client, is_forbidden, principal};
use herd_hub::{CallConfig, Hub};
use herd_proto::{Backend, BoxFuture, Context, ListKind, Request, RpcError};
use herd_router::{Router, RouterConfig};
use herd_store::{AuditFilter, AuditPath, Outcome, Store};
use herd_transport::http::{HttpConfig, app, serve};
use serde_json::value::{RawValue, to_raw_value};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::{CancellationToken, DropGuard};

const HOSTS: [&str; 3] = ["web1", "web2", "db1"];

/// An agent tool `whoami` (read-only) whose result is the `_meta` of the
/// call it received, as text.
struct Whoami;

impl Backend for Whoami {
    fn capabilities(&self) -> serde_json::Map<String, Value> {
        json!({ "tools": {} }).as_object().cloned().unwrap()
    }

    fn list(&self, kind: ListKind, _cx: Context) -> BoxFuture<'static, Result<Vec<Box<RawValue>>, RpcError>> {
        let tool =
            json!({ "name": "whoami", "inputSchema": { "type": "object" }, "annotations": { "readOnlyHint": true } });
        let tools = if kind == ListKind::Tools { vec![to_raw_value(&tool).unwrap()] } else { Vec::new() };
        Box::pin(async move { Ok(tools) })
    }

    fn call(&self, req: Request, _cx: Context) -> BoxFuture<'static, Result<Box<RawValue>, RpcError>> {
        let params: Value = serde_json::from_str(req.params.as_deref().map_or("{}", RawValue::get)).unwrap();
        let text = params["_meta"].to_string();
        Box::pin(async move { Ok(to_raw_value(&json!({ "content": [{ "type": "text", "text": text }] })).unwrap()) })
    }
}

async fn agent() -> (String, DropGuard) {
    let tools: Arc<dyn Backend> = Arc::new(herd_tools::host::catalog(herd_tools::host::HostConfig::default()));
    let router = Router::new(RouterConfig::default(), vec![tools, Arc::new(Whoami)]);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    let config = HttpConfig::default();
    let (app, token) = (app(router, config.clone()), stop.clone());
    tokio::spawn(async move { serve(listener, app, &config, token).await });
    (url, stop.drop_guard())
}

/// A hub over three hosts of one agent: `web1` and `web2` tagged `web`,
/// `db1` tagged `db`; `web1` and `db1` expose their `shell`, `read_file`
/// and `whoami`.
async fn hub(audit: Option<Audit>) -> (Router, DropGuard) {
    let (url, stop) = agent().await;
    let expose = |prefix: &str| {
        format!("expose = {{ tools = [\"shell\", \"read_file\", \"whoami\"], prefix = \"{prefix}_\" }}\n")
    };
    let text = format!(
        "[[hosts]]\nname = \"web1\"\nurl = \"{url}\"\ntags = [\"web\"]\n{}\
         [[hosts]]\nname = \"web2\"\nurl = \"{url}\"\ntags = [\"web\"]\n\
         [[hosts]]\nname = \"db1\"\nurl = \"{url}\"\ntags = [\"db\"]\n{}",
        expose("web1"),
        expose("db1"),
    );
    let hub = Hub::new(Registry::parse(&text, "t").unwrap(), None, CallConfig::default());
    hub.probe_now().await;
    (Router::new(RouterConfig::default(), hub.audited_backends(audit)), stop)
}

fn structured(result: &Value) -> &Value {
    &result["structuredContent"]
}

fn principals() -> Vec<(&'static str, Principal)> {
    vec![
        ("admin", Principal::anonymous_admin()),
        ("operator @web", principal(2, "op", Role::Operator, Some("@web"), None)),
        ("viewer", principal(3, "eye", Role::Viewer, None, None)),
        ("viewer db1", principal(4, "dbeye", Role::Viewer, Some("db1"), None)),
        ("operator read_*", principal(5, "reader", Role::Operator, None, Some("read_*"))),
        ("agent", principal(6, "bot", Role::Agent, None, None)),
    ]
}

/// Arguments no agent tool accepts: a call that reaches the tool fails
/// there, so nothing runs, while a refused one is refused before.
fn bogus(host: &str) -> Value {
    json!({ "host": host, "not_an_argument": 1 })
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_equal_calls_for_every_tool_and_host() {
    let (router, _agent) = hub(None).await;
    let admin = Client::open(&router, Principal::anonymous_admin()).await;
    let every_tool = admin.tools().await;
    let agent_tools: Vec<String> =
        structured(&admin.call("remote_list_tools", json!({ "host": "web1" })).await.unwrap())["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect();
    assert!(agent_tools.contains(&"shell".to_owned()), "{agent_tools:?}");
    for (who, principal) in principals() {
        let client = Client::open(&router, principal).await;
        let listed = client.tools().await;
        // The router's list: hub tools and exposed tools.
        for tool in &every_tool {
            let args = if tool.starts_with("remote_") { bogus("web1") } else { json!({ "not_an_argument": 1 }) };
            let args = if tool == "remote_shell_many" { json!({ "hosts": ["nowhere"] }) } else { args };
            let refused = is_forbidden(&client.call(tool, args).await);
            // A hub tool listed may still be refused on a host outside the
            // grant; what is not listed is refused everywhere.
            if !listed.contains(tool) {
                assert!(refused, "{who}: {tool} not listed, yet callable");
            } else if !tool.starts_with("remote_") {
                assert!(!refused, "{who}: {tool} listed, yet refused");
            }
        }
        // Hosts: listed by remote_list_hosts exactly when their tools can
        // be listed; each host's tools listed exactly when callable, by
        // their remote_<tool> and by remote_call.
        let hosts = client.call("remote_list_hosts", json!({})).await;
        let seen: Vec<String> = match &hosts {
            Ok(result) => structured(result)["hosts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["name"].as_str().unwrap().to_owned())
                .collect(),
            Err(_) => Vec::new(),
        };
        for host in HOSTS {
            let tools = client.call("remote_list_tools", json!({ "host": host })).await;
            assert_eq!(is_forbidden(&tools), !seen.contains(&host.to_owned()), "{who}: {host}");
            let shown: Vec<String> = match &tools {
                Ok(result) => structured(result)["tools"]
                    .as_array()
                    .map(|a| a.iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect())
                    .unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            for tool in &agent_tools {
                let by_call = client
                    .call("remote_call", json!({ "host": host, "tool": tool, "arguments": { "not_an_argument": 1 } }));
                let by_call = is_forbidden(&by_call.await);
                assert_eq!(shown.contains(tool), !by_call, "{who}: remote_call {tool} on {host}");
                let forwarding = format!("remote_{tool}");
                if every_tool.contains(&forwarding) {
                    let refused = is_forbidden(&client.call(&forwarding, bogus(host)).await);
                    assert_eq!(shown.contains(tool), !refused, "{who}: {forwarding} on {host}");
                }
            }
        }
        match who {
            "operator @web" => assert_eq!(seen, ["web1", "web2"]),
            "viewer db1" => assert_eq!(seen, ["db1"]),
            "agent" => assert!(listed.is_empty() && seen.is_empty(), "{listed:?} {seen:?}"),
            _ => assert_eq!(seen, HOSTS),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_viewer_sees_and_calls_only_read_only_tools() {
    let (router, _agent) = hub(None).await;
    let viewer = Client::open(&router, principal(3, "eye", Role::Viewer, None, None)).await;
    let listed = viewer.tools().await;
    for hidden in
        ["remote_shell", "remote_shell_bg", "remote_write_file", "remote_edit_file", "remote_shell_many", "web1_shell"]
    {
        assert!(!listed.contains(&hidden.to_owned()), "viewer sees {hidden}: {listed:?}");
    }
    for shown in ["remote_read_file", "remote_list_hosts", "remote_call", "web1_read_file", "db1_read_file"] {
        assert!(listed.contains(&shown.to_owned()), "viewer misses {shown}: {listed:?}");
    }
    let err =
        viewer.call("remote_call", json!({ "host": "web1", "tool": "shell", "arguments": { "command": "true" } }));
    let err = err.await.unwrap_err();
    assert_eq!(err.code, herd_proto::code::FORBIDDEN);
    assert_eq!(err.data, Some(json!({ "missing": "role viewer may only call tools annotated readOnlyHint: true" })));
    let read = viewer.call("remote_read_file", json!({ "host": "web1", "path": "/proc/self/status" })).await.unwrap();
    assert_eq!(structured(&read)["via"], "agent", "{read}");
}

#[tokio::test(flavor = "multi_thread")]
async fn shell_many_skips_and_names_hosts_outside_the_grant() {
    let (router, _agent) = hub(None).await;
    let op = Client::open(&router, principal(2, "op", Role::Operator, Some("@web"), None)).await;
    let result = op.call("remote_shell_many", json!({ "hosts": ["web1", "db1"], "command": "echo hi" })).await.unwrap();
    let s = structured(&result);
    assert_eq!(s["results"].as_array().unwrap().len(), 1, "{result}");
    assert_eq!(s["results"][0]["host"], "web1");
    assert_eq!(s["results"][0]["exit_code"], 0);
    assert_eq!(s["skipped"], json!([{ "host": "db1", "missing": "no grant for host db1" }]));
    assert!(result["content"][0]["text"].as_str().unwrap().contains("db1: skipped: no grant for host db1"), "{result}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_hub_call_path_leaves_one_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("herd.db").to_str().unwrap()).await.unwrap();
    let (router, _agent) = hub(Some(Audit::new(store.audit_writer(&Default::default()), true))).await;
    let op = Client::open(&router, principal(2, "op", Role::Operator, Some("@web"), None)).await;
    assert!(op.tools().await.contains(&"web1_read_file".to_owned()));
    op.call("remote_read_file", json!({ "host": "web1", "path": "/proc/self/status" })).await.unwrap();
    op.call("web1_read_file", json!({ "path": "/proc/self/status" })).await.unwrap();
    assert!(is_forbidden(&op.call("remote_read_file", json!({ "host": "db1", "path": "/etc/hostname" })).await));
    op.call("remote_shell_many", json!({ "tags": ["web"], "command": "true" })).await.unwrap();
    op.call("remote_list_hosts", json!({})).await.unwrap();

    let records = store.query_audit(&AuditFilter::default()).await.unwrap();
    let got: Vec<(&str, Vec<String>, Option<AuditPath>, Outcome)> =
        records.iter().map(|r| (r.target.as_deref().unwrap(), r.hosts.clone(), r.path, r.outcome)).collect();
    let hosts = |h: &[&str]| h.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        got,
        [
            ("remote_read_file", hosts(&["web1"]), Some(AuditPath::Agent), Outcome::Ok),
            ("web1_read_file", hosts(&["web1"]), Some(AuditPath::Agent), Outcome::Ok),
            ("remote_read_file", hosts(&["db1"]), None, Outcome::Denied),
            ("remote_shell_many", hosts(&["web1", "web2"]), Some(AuditPath::Agent), Outcome::Ok),
            ("remote_list_hosts", hosts(&[]), None, Outcome::Ok),
        ]
    );
    assert!(records.iter().all(|r| r.user.as_deref() == Some("op") && r.method == "tools/call"));
    assert_eq!(records[0].args.as_deref(), Some(r#"{"host":"web1","path":"/proc/self/status"}"#), "payloads on");
    assert_eq!(records[2].error.as_deref(), Some("forbidden: no grant for host db1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_agent_learns_who_the_hub_calls_for() {
    let (router, _agent) = hub(None).await;
    let op = Client::open(&router, principal(2, "op", Role::Operator, Some("@web"), None)).await;
    let meta =
        |result: Value| -> Value { serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap() };
    let forged = json!({ "herd/principal": { "user": "root" } });
    let by_call = op.call("remote_call", json!({ "host": "web1", "tool": "whoami", "arguments": {} })).await.unwrap();
    let claim = json!({ "user": "op", "token_id": "tok_20", "role": "operator" });
    assert_eq!(meta(by_call)[herd_proto::PRINCIPAL_META], claim);
    // An exposed tool's params go through as the client sent them, but a
    // claim the client makes itself is replaced by the hub's.
    let exposed = op.request("tools/call", json!({ "name": "web1_whoami", "arguments": {}, "_meta": forged }));
    assert_eq!(meta(exposed.await.unwrap())[herd_proto::PRINCIPAL_META], claim);
}
