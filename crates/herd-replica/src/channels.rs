//! Which replica holds each agent's channel.
//!
//! Each replica claims in the store the channels open to it (and lets go
//! of those that closed); every heartbeat, and whenever its own channels
//! change, it reads the claims and makes the hosts that live replicas hold
//! remote hosts of its `Channels`: their requests go to
//! [`CHANNEL_RELAY_PATH`] on the holder, which sends them on over the
//! channel and never anywhere else. A host whose replica died is inactive
//! until its agent reconnects, to any replica, which then claims it.

use crate::forward::ForwardError;
use crate::sessions::take_hop;
use crate::{CHANNEL_RELAY_PATH, Replica};
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse as _, Response};
use herd_auth::{Grant, Identity, Principal, Role, TokenId, UserId};
use herd_channel::{ChannelBody, Channels, Remote, RemoteHost};
use herd_proto::BoxFuture;
use herd_store::{ChannelClaim, Timestamp};
use herd_upstream::TunnelError;
use http::StatusCode;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The header the holder's answer carries when it has no channel of the
/// host (any more): the request never reached an agent.
const NO_CHANNEL_HEADER: &str = "herd-replica-no-channel";

pub(crate) async fn run(replica: Replica, channels: Channels, shutdown: CancellationToken) {
    let mut changes = channels.changes();
    let mut tick = tokio::time::interval(replica.inner.config.heartbeat);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Host to the (session, connection) this replica claimed it for.
    let mut claimed: BTreeMap<String, (String, u64)> = BTreeMap::new();
    loop {
        changes.borrow_and_update();
        if let Err(err) = sync(&replica, &channels, &mut claimed).await {
            tracing::warn!(%err, "cannot bring the channels' claims up to date");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = changes.changed() => if changed.is_err() { return },
            _ = tick.tick() => {}
        }
    }
}

pub(crate) async fn sync(
    replica: &Replica,
    channels: &Channels,
    claimed: &mut BTreeMap<String, (String, u64)>,
) -> Result<(), herd_store::StoreError> {
    let store = &replica.inner.store;
    let local: BTreeMap<String, (String, u64, Option<Principal>)> = channels
        .hosts()
        .into_iter()
        .filter(|h| h.active && h.via.is_none())
        .filter_map(|h| Some((h.name, (h.session?, h.connection?, h.owner))))
        .collect();
    for (host, (session, connection, owner)) in &local {
        if claimed.get(host).is_some_and(|(s, c)| s == session && c == connection) {
            continue;
        }
        let claim = ChannelClaim {
            host: host.clone(),
            replica_id: replica.id().to_owned(),
            session: session.clone(),
            owner_user_id: owner.as_ref().and_then(Principal::user_id).map(|id| id.0),
            owner_name: owner.as_ref().and_then(owner_name),
            updated_at: Timestamp::now(),
        };
        store.claim_channel(&claim).await?;
        claimed.insert(host.clone(), (session.clone(), *connection));
    }
    let gone: Vec<String> = claimed.keys().filter(|h| !local.contains_key(*h)).cloned().collect();
    for host in gone {
        store.release_channel(&host, replica.id()).await?;
        claimed.remove(&host);
    }
    let remote = store
        .channel_claims()
        .await?
        .into_iter()
        .filter(|c| c.replica_id != replica.id() && !local.contains_key(&c.host))
        .filter_map(|c| {
            let address = replica.address_of(&c.replica_id)?;
            let via = Arc::new(Via { replica: replica.clone(), address, id: c.replica_id.clone() });
            Some(RemoteHost { owner: owner_of(&c), name: c.host, replica: c.replica_id, session: c.session, via })
        })
        .collect();
    channels.set_remote(remote);
    Ok(())
}

fn owner_name(principal: &Principal) -> Option<String> {
    match principal.identity() {
        Identity::User { name, .. } => Some(name.clone()),
        Identity::OAuth { subject, .. } => Some(subject.clone()),
        Identity::Anonymous => None,
    }
}

/// The owner of a claimed channel as this replica's relay needs it: who
/// it is (the models it lends are that user's). Nothing is authorized as
/// this principal; its role and grant are never consulted.
fn owner_of(claim: &ChannelClaim) -> Principal {
    let identity = match (claim.owner_user_id, &claim.owner_name) {
        (Some(id), name) => Identity::User {
            user_id: UserId(id),
            name: name.clone().unwrap_or_default(),
            token_id: TokenId(Arc::from("")),
        },
        (None, Some(subject)) => Identity::OAuth { subject: subject.clone(), issuer: String::new() },
        (None, None) => Identity::Anonymous,
    };
    Principal::new(identity, Role::Agent, Grant::all())
}

/// The way to a host through the replica that holds its channel.
struct Via {
    replica: Replica,
    id: String,
    address: String,
}

impl Remote for Via {
    fn send(
        &self,
        host: &str,
        request: http::Request<ChannelBody>,
    ) -> BoxFuture<'static, Result<http::Response<Incoming>, TunnelError>> {
        let (replica, address, id, host) =
            (self.replica.clone(), self.address.clone(), self.id.clone(), host.to_owned());
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let relayed = format!("{CHANNEL_RELAY_PATH}/{host}{path}");
            parts.uri = relayed.parse().map_err(|_| TunnelError::NotConnected(format!("bad path for {host}")))?;
            metrics::counter!("herd_replica_forwarded_total", "kind" => "channel").increment(1);
            let response = replica.forward(&address, http::Request::from_parts(parts, body)).await;
            match response {
                Ok(r) if r.headers().contains_key(NO_CHANNEL_HEADER) => {
                    Err(TunnelError::NotConnected(format!("the agent of {host} has no channel open at replica {id}")))
                }
                Ok(r) => Ok(r),
                Err(ForwardError::Unreachable(_, why)) => {
                    Err(TunnelError::NotConnected(format!("the replica {id} holding the channel of {host}: {why}")))
                }
                Err(err @ ForwardError::NoAnswer(..)) => Err(TunnelError::Lost(format!("channel of {host}: {err}"))),
            }
        })
    }
}

#[derive(Clone)]
struct Relay {
    replica: Replica,
    channels: Channels,
}

pub(crate) fn relay_route(replica: Replica, channels: Channels) -> axum::Router {
    let handler = axum::routing::any(relay);
    axum::Router::new()
        .route(&format!("{CHANNEL_RELAY_PATH}/{{host}}/{{*path}}"), handler.clone())
        .with_state(Relay { replica, channels })
}

/// A request another replica sent for a channel of this one: sent on over
/// the channel, never to a third replica.
async fn relay(State(relay): State<Relay>, Path((host, path)): Path<(String, String)>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    if !take_hop(&relay.replica, &mut parts.headers) {
        return (StatusCode::FORBIDDEN, "only another hub replica may send here").into_response();
    }
    let query = parts.uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    let Ok(uri) = format!("http://{host}/{path}{query}").parse::<http::Uri>() else {
        return (StatusCode::BAD_REQUEST, "not a host and path").into_response();
    };
    parts.uri = uri;
    parts.headers.remove(http::header::HOST);
    let body: ChannelBody =
        Shared(parking_lot::Mutex::new(body)).map_err(|e| Box::new(e) as herd_channel::BodyError).boxed();
    match relay.channels.send_local(&host, http::Request::from_parts(parts, body)).await {
        Ok(response) => response.map(Body::new),
        Err(err) => {
            let status = match err {
                TunnelError::NotConnected(_) => StatusCode::SERVICE_UNAVAILABLE,
                TunnelError::Lost(_) => StatusCode::BAD_GATEWAY,
            };
            let mut response = (status, err.to_string()).into_response();
            if status == StatusCode::SERVICE_UNAVAILABLE {
                response.headers_mut().insert(NO_CHANNEL_HEADER, http::HeaderValue::from_static("1"));
            }
            response
        }
    }
}

/// A request body that may be shared between threads, as a channel's
/// requests must be: only ever polled through `&mut`, so the lock is
/// never contended.
struct Shared(parking_lot::Mutex<Body>);

impl http_body::Body for Shared {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let body = self.get_mut().0.get_mut();
        std::pin::Pin::new(body).poll_frame(cx)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.0.lock().size_hint()
    }
}
