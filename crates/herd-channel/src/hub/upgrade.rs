//! `GET /api/v1/channel` with `Upgrade: herd-channel`: checks who asks and
//! for which name, answers 101, and turns the upgraded connection into the
//! HTTP/2 client end of the channel.
//!
//! Every refusal is a plain-text HTTP error saying why: 400 for a request
//! that is not a channel upgrade or names no valid host or session, 403
//! when the caller may not join as that host (the `agent` role, or admin),
//! 409 when another agent holds the name, 429 and 503 at the caps.

use super::{Channels, Refusal};
use crate::{HOST_HEADER, PROTOCOL, SESSION_HEADER};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use herd_auth::{Action, Principal, allows};
use http::{HeaderMap, StatusCode, header};
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// Streams the hub remembers having reset, for a second each, so the frames
/// their agent had already sent are dropped quietly. The h2 default, 50,
/// is passed at once when many streams end together (each stream the hub
/// stops reading after its `[DONE]` is reset); the frames of a forgotten
/// stream are answered with a reset of its own, and after 1024 of those
/// in the life of a connection h2 closes it, taking every stream on the
/// channel with it. As many as the streams an agent allows at once.
const REMEMBERED_RESETS: usize = 16_384;

pub(super) fn route(channels: Channels) -> axum::Router {
    axum::Router::new().route(crate::CHANNEL_PATH, axum::routing::get(upgrade)).with_state(channels)
}

fn refuse(status: StatusCode, why: impl Into<String>) -> Response {
    let why = why.into();
    tracing::info!(%status, %why, "channel refused");
    (status, format!("{why}\n")).into_response()
}

/// The value of header `name`, if it is there and readable.
fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn upgrade(State(channels): State<Channels>, mut request: Request) -> Response {
    let Some(principal) = request.extensions().get::<Principal>().cloned() else {
        return refuse(StatusCode::UNAUTHORIZED, "no credentials");
    };
    let headers = request.headers();
    let upgrade = text(headers, header::UPGRADE.as_str()).unwrap_or("");
    if !upgrade.eq_ignore_ascii_case(PROTOCOL) {
        return refuse(StatusCode::BAD_REQUEST, format!("expected `Upgrade: {PROTOCOL}`"));
    }
    let Some(host) = text(headers, HOST_HEADER).filter(|h| valid_host(h)).map(str::to_owned) else {
        return refuse(StatusCode::BAD_REQUEST, format!("`{HOST_HEADER}` must be 1 to 64 of a-z A-Z 0-9 _ . -"));
    };
    let Some(session) = text(headers, SESSION_HEADER).filter(|s| crate::session::valid(s)).map(str::to_owned) else {
        return refuse(StatusCode::BAD_REQUEST, format!("`{SESSION_HEADER}` must be 8 to 64 of a-z A-Z 0-9 -"));
    };
    let action = Action::ConnectChannel { host: herd_auth::Host { name: &host, tags: &[] } };
    if let Err(missing) = allows(&principal, &action).into_result() {
        return refuse(StatusCode::FORBIDDEN, missing.to_string());
    }
    let (generation, close) = match channels.admit(&host, &session, &principal) {
        Ok(admitted) => admitted,
        Err(refusal) => {
            let status = match refusal {
                Refusal::NameTaken(_) => StatusCode::CONFLICT,
                Refusal::PerPrincipal(..) => StatusCode::TOO_MANY_REQUESTS,
                Refusal::Total(_) => StatusCode::SERVICE_UNAVAILABLE,
            };
            return refuse(status, refusal.to_string());
        }
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    let inner = channels.inner.clone();
    tokio::spawn(async move {
        let config = &inner.config;
        let connect = async {
            let io = on_upgrade.await.map_err(|e| e.to_string())?;
            hyper::client::conn::http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .keep_alive_interval(config.heartbeat)
                .keep_alive_timeout(config.timeout)
                .keep_alive_while_idle(true)
                .max_concurrent_reset_streams(REMEMBERED_RESETS)
                .handshake(io)
                .await
                .map_err(|e| e.to_string())
        };
        let (sender, connection) = match tokio::time::timeout(config.handshake_timeout, connect).await {
            Ok(Ok(pair)) => pair,
            Ok(Err(err)) => {
                tracing::info!(%host, %err, "channel handshake failed");
                return inner.closed(&host, generation);
            }
            Err(_) => {
                tracing::info!(%host, "channel handshake not finished in time");
                return inner.closed(&host, generation);
            }
        };
        if !inner.opened(&host, generation, sender) {
            return;
        }
        tracing::info!(%host, %session, %principal, "channel open");
        tokio::select! {
            ended = connection => if let Err(err) = ended {
                tracing::info!(%host, %err, "channel connection ended");
            },
            () = close.cancelled() => {}
        }
        inner.closed(&host, generation);
    });
    (StatusCode::SWITCHING_PROTOCOLS, [(header::CONNECTION, "upgrade"), (header::UPGRADE, PROTOCOL)]).into_response()
}

/// Whether `name` is a valid host name: 1 to 64 of `a-z A-Z 0-9 _ . -`.
fn valid_host(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}
