//! OpenTelemetry traces from a real `herd hub` and `herd agent`, exported
//! over OTLP/HTTP (protobuf) to a receiver on loopback: one call through
//! the hub is one trace (hub SERVER span, hub CLIENT span, agent SERVER
//! span, each the parent of the next), a supervised stdio server gets the
//! trace context in `params._meta`, spans still queued at SIGTERM are
//! sent, and without `OTEL_EXPORTER_OTLP_ENDPOINT` nothing is exported.
//! `OTEL_EXPORTER_OTLP_PROTOCOL=grpc` speaks HTTP/2 to the collector, one
//! that never answers holds the exit only for the flush deadline, and an
//! unknown protocol is reported while the agent serves on.

#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/client.rs"]
mod client;
#[path = "support/otlp.rs"]
mod otlp;

use client::{Client, text};
use otlp::{Receiver, Span};
use serde_json::json;
use std::time::Duration;
use support::{Deps, Herd, repo_root};

const HUB_TOKEN: &str = "hub-trace-token";
const AGENT_TOKEN: &str = "agent-trace-token";
const SERVER: i32 = 2;
const CLIENT: i32 = 3;
const ERROR: i32 = 2;
/// Bound on waiting for an export.
const ARRIVAL: Duration = Duration::from_secs(30);

fn find<'a>(spans: &'a [Span], service: &str, kind: i32, name: &str) -> Option<&'a Span> {
    spans.iter().find(|s| s.service == service && s.kind == kind && s.name == name)
}

#[tokio::test(flavor = "multi_thread")]
async fn one_call_through_the_hub_is_one_trace_from_hub_to_agent_to_stdio_server() {
    let receiver = Receiver::start().await;
    let endpoint = receiver.endpoint.as_str();
    // The hub exports every 100 ms; the agent only every minute, so its
    // spans arrive because SIGTERM flushes them.
    let mut agent = Herd::start_with_env(
        &["agent", "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint), ("OTEL_BSP_SCHEDULE_DELAY", "60000")],
    )
    .await;
    let direct = Client::connect(&agent.url, Some(AGENT_TOKEN)).await;
    let script = repo_root().join("crates/herd/tests/fixtures/stdio_server.py");
    let spec = json!({ "name": "fx", "command": Deps::load().python(), "args": [script], "wait": 60 });
    let loaded = direct.call("servers_load", spec).await;
    assert_ne!(loaded["isError"], true, "{loaded}");

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hosts.toml");
    let registry = format!("[[hosts]]\nname = \"alpha\"\nurl = \"{}\"\ntoken = \"{AGENT_TOKEN}\"\n", agent.url);
    std::fs::write(&config, registry).unwrap();
    let config = config.to_str().unwrap();
    let hub = Herd::start_with_env(
        &["hub", "--config", config, "--listen", "127.0.0.1:0", "--token", HUB_TOKEN],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint), ("OTEL_BSP_SCHEDULE_DELAY", "100")],
    )
    .await;
    let client = Client::connect(&hub.url, Some(HUB_TOKEN)).await;

    // A secret-looking argument that must appear in no attribute.
    let secret = dir.path().join("s3cr3t-argument-value");
    let call = json!({ "host": "alpha", "tool": "read_file", "arguments": { "path": secret } });
    let missing = client.call("remote_call", call).await;
    assert_eq!(missing["isError"], true, "reading a missing file is a tool error: {missing}");
    let seen = client.call("remote_call", json!({ "host": "alpha", "tool": "fx__traceparent", "arguments": {} })).await;
    let child_traceparent = text(&seen).lines().next().unwrap_or_default().to_owned();

    let hub_spans = receiver
        .wait_for(ARRIVAL, |spans| {
            find(spans, "herd-hub", CLIENT, "tools/call fx__traceparent").is_some()
                && find(spans, "herd-hub", CLIENT, "tools/call read_file").is_some()
        })
        .await;
    assert!(!hub_spans.iter().any(|s| s.service == "herd-agent"), "the agent exports only at exit: {hub_spans:#?}");
    let status = agent.terminate(Duration::from_secs(20)).await;
    assert!(status.success(), "{status:?}");
    let spans = receiver
        .wait_for(ARRIVAL, |spans| {
            find(spans, "herd-agent", SERVER, "tools/call fx__traceparent").is_some()
                && find(spans, "herd-agent", SERVER, "tools/call read_file").is_some()
        })
        .await;

    // read_file: hub SERVER -> hub CLIENT -> agent SERVER, one trace.
    let hub_client = find(&spans, "herd-hub", CLIENT, "tools/call read_file").unwrap();
    let agent_server = find(&spans, "herd-agent", SERVER, "tools/call read_file").unwrap();
    let hub_server = spans.iter().find(|s| s.span_id == hub_client.parent_span_id).expect("the client span's parent");
    assert_eq!((hub_server.service.as_str(), hub_server.kind), ("herd-hub", SERVER), "{hub_server:#?}");
    assert_eq!(hub_server.name, "tools/call remote_call");
    assert_eq!(hub_client.trace_id, hub_server.trace_id, "{spans:#?}");
    assert_eq!(agent_server.trace_id, hub_server.trace_id, "{spans:#?}");
    assert_eq!(agent_server.parent_span_id, hub_client.span_id);
    assert_eq!(hub_server.parent_span_id, "", "the client sent no trace context, so the hub's span is a root");

    for server in [hub_server, agent_server] {
        assert_eq!(server.attr("mcp.method.name"), Some("tools/call"));
        assert_eq!(server.attr("network.transport"), Some("tcp"));
        assert_eq!(server.attr("network.protocol.name"), Some("http"));
        assert!(server.attr("mcp.session.id").is_some_and(|s| !s.is_empty()), "{server:#?}");
        assert!(server.attr("jsonrpc.request.id").is_some(), "{server:#?}");
        assert!(server.attr("mcp.protocol.version").is_some_and(|v| v.starts_with("20")), "{server:#?}");
        assert_eq!(server.attr("gen_ai.operation.name"), Some("execute_tool"));
    }
    assert_eq!(hub_server.attr("gen_ai.tool.name"), Some("remote_call"));
    assert_eq!(agent_server.attr("gen_ai.tool.name"), Some("read_file"));
    assert_eq!(hub_client.attr("gen_ai.tool.name"), Some("read_file"));
    assert_eq!(hub_client.attr("herd.host"), Some("alpha"));
    assert_eq!(hub_client.attr("herd.path"), Some("http"));
    assert_eq!(hub_client.attr("network.transport"), Some("tcp"));
    // The tool failed: each span of the call says so.
    for span in [hub_server, hub_client, agent_server] {
        assert_eq!((span.attr("error.type"), span.status), (Some("tool_error"), ERROR), "{span:#?}");
    }

    // The supervised stdio server got the agent's span as its parent, in
    // params._meta.
    let agent_fx = find(&spans, "herd-agent", SERVER, "tools/call fx__traceparent").unwrap();
    let hub_fx = spans.iter().find(|s| s.service == "herd-hub" && s.kind == SERVER && s.trace_id == agent_fx.trace_id);
    let hub_fx = hub_fx.expect("the hub's span in the same trace");
    assert_eq!(hub_fx.attr("gen_ai.tool.name"), Some("remote_call"));
    assert_eq!(agent_fx.attr("error.type"), None, "{agent_fx:#?}");
    assert_eq!(child_traceparent, format!("00-{}-{}-01", agent_fx.trace_id, agent_fx.span_id), "{seen}");

    // Only the conventions' attributes and herd's own; nothing of the
    // arguments, the tokens or the file's path.
    let known = [
        "mcp.method.name",
        "mcp.session.id",
        "mcp.protocol.version",
        "jsonrpc.request.id",
        "gen_ai.operation.name",
        "gen_ai.tool.name",
        "network.transport",
        "network.protocol.name",
        "error.type",
        "herd.host",
        "herd.path",
    ];
    for span in &spans {
        for (key, value) in &span.attributes {
            assert!(known.contains(&key.as_str()), "unexpected attribute {key}={value} in {span:#?}");
            for secret in ["s3cr3t", HUB_TOKEN, AGENT_TOKEN] {
                assert!(!value.contains(secret), "{key}={value} in {span:#?}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_endpoint_nothing_is_exported_and_calls_work() {
    let receiver = Receiver::start().await;
    // Everything but the endpoint, which the harness never passes on.
    let mut agent = Herd::start_with_env(
        &["agent", "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN],
        &[("OTEL_BSP_SCHEDULE_DELAY", "10"), ("OTEL_SERVICE_NAME", "unused")],
    )
    .await;
    let client = Client::connect(&agent.url, Some(AGENT_TOKEN)).await;
    let listed = client.call("list_dir", json!({ "path": repo_root() })).await;
    assert!(text(&listed).contains("Cargo.toml"), "{listed}");
    // Spans, had there been any, would be sent by now: the process has
    // exited after its flush.
    let status = agent.terminate(Duration::from_secs(20)).await;
    assert!(status.success(), "{status:?}");
    assert_eq!(receiver.exports(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_is_spoken_when_asked_and_a_silent_collector_delays_exit_by_the_flush_deadline_only() {
    // A collector that accepts connections and never answers.
    let collector = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", collector.local_addr().unwrap());
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
    ];
    let mut agent = Herd::start_with_env(&["agent", "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN], &env).await;
    let client = Client::connect(&agent.url, Some(AGENT_TOKEN)).await;
    let listed = client.call("list_dir", json!({ "path": repo_root() })).await;
    assert!(text(&listed).contains("Cargo.toml"), "{listed}");

    let (mut socket, _) = tokio::time::timeout(ARRIVAL, collector.accept()).await.expect("an export").unwrap();
    let mut preface = [0u8; 24];
    tokio::time::timeout(ARRIVAL, tokio::io::AsyncReadExt::read_exact(&mut socket, &mut preface))
        .await
        .expect("the first bytes")
        .unwrap();
    assert_eq!(&preface, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "gRPC runs over HTTP/2");

    // The export hangs; the exit waits for it no longer than its deadline.
    let started = tokio::time::Instant::now();
    let status = agent.terminate(Duration::from_secs(30)).await;
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(20), "exit took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_protocol_is_reported_and_the_agent_serves_untraced() {
    let receiver = Receiver::start().await;
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"),
    ];
    let mut agent = Herd::start_with_env(&["agent", "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN], &env).await;
    let client = Client::connect(&agent.url, Some(AGENT_TOKEN)).await;
    let listed = client.call("list_dir", json!({ "path": repo_root() })).await;
    assert!(text(&listed).contains("Cargo.toml"), "{listed}");
    let status = agent.terminate(Duration::from_secs(20)).await;
    assert!(status.success(), "{status:?}");
    let stderr = agent.stderr_text();
    assert!(stderr.contains("traces are not exported: unknown OTLP protocol \"carrier-pigeon\""), "{stderr}");
    assert_eq!(receiver.exports(), 0);
}
