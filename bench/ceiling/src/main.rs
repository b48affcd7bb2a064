//! The benchmark ceiling: one axum handler that parses a JSON-RPC request and
//! answers a minimal `tools/call`-shaped result echoing the id. Nothing an
//! MCP server does (sessions, routing, backends) happens here, so its numbers
//! bound what any HTTP MCP server can reach on the same machine and stack.
//!
//! It uses the same allocator as `herd`, so the two compare like for like.
//!
//! Usage: `bench-ceiling [--listen] [ADDR]` (default `127.0.0.1:0`). Prints
//! `listening on ADDR` on stdout once bound.

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::serve::ListenerExt;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::io::Write;

/// The members the ceiling looks at; the rest of the body (params) is still
/// parsed and validated by serde_json, then skipped.
#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    method: &'a str,
}

async fn mcp(body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<Request<'_>>(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid JSON-RPC").into_response();
    };
    let Some(id) = req.id else {
        return StatusCode::ACCEPTED.into_response();
    };
    let text = if req.method.is_empty() {
        format!(r#"{{"jsonrpc":"2.0","id":{},"error":{{"code":-32600,"message":"no method"}}}}"#, id.get())
    } else {
        format!(
            r#"{{"jsonrpc":"2.0","id":{},"result":{{"content":[{{"type":"text","text":"This is a simple text response for testing."}}]}}}}"#,
            id.get()
        )
    };
    let mut response = Response::new(axum::body::Body::from(text));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().skip(1).find(|a| a != "--listen").unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {local}")?;
        out.flush()?;
    }
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let app = Router::new().route("/mcp", post(mcp));
    axum::serve(listener, app).await
}
