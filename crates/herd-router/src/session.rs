//! One client session: what was negotiated, what is in flight, and the
//! server-to-client requests awaiting answers.

use crate::outbox::SharedOutbox;
use crate::{Caller, Expiry, Owner, Shared, dispatch};
use herd_proto::model::Implementation;
use herd_proto::{
    ClientFacts, LogLevel, Notification, Principal, ProtocolVersion, Request, RequestId, Response, RpcError, method,
};
use parking_lot::Mutex;
use serde_json::Value;
use serde_json::value::RawValue;
use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Instant;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

pub(crate) type PendingReply = oneshot::Sender<Result<Box<RawValue>, RpcError>>;

/// What the client told us at initialize.
#[derive(Debug)]
pub(crate) struct Negotiated {
    pub(crate) version: ProtocolVersion,
    pub(crate) client_capabilities: Value,
    pub(crate) client_info: Option<Implementation>,
}

/// A client session. Transports hold it in an `Arc`.
pub struct Session {
    id: Arc<str>,
    owner: Owner,
    expiry: Expiry,
    caller: Caller,
    client: OnceLock<Arc<ClientFacts>>,
    pub(crate) shared: Weak<Shared>,
    pub(crate) negotiated: OnceLock<Negotiated>,
    log_level: AtomicU8,
    inflight: Mutex<HashMap<RequestId, CancellationToken>>,
    pub(crate) pending: Mutex<HashMap<u64, PendingReply>>,
    pub(crate) next_outbound_id: AtomicU64,
    standalone: Mutex<Option<SharedOutbox>>,
    pub(crate) subscriptions: Mutex<HashSet<String>>,
    created: Instant,
    last_active_ms: AtomicU64,
    closed: CancellationToken,
    extension: OnceLock<Arc<dyn Any + Send + Sync>>,
}

impl Session {
    pub(crate) fn new(id: Arc<str>, shared: Weak<Shared>, owner: Owner, expiry: Expiry, caller: Caller) -> Self {
        Self {
            id,
            owner,
            expiry,
            caller,
            client: OnceLock::new(),
            shared,
            negotiated: OnceLock::new(),
            log_level: AtomicU8::new(0),
            inflight: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            next_outbound_id: AtomicU64::new(1),
            standalone: Mutex::new(None),
            subscriptions: Mutex::new(HashSet::new()),
            created: Instant::now(),
            last_active_ms: AtomicU64::new(0),
            closed: CancellationToken::new(),
            extension: OnceLock::new(),
        }
    }

    /// The session id (the `Mcp-Session-Id` of HTTP).
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn id_arc(&self) -> Arc<str> {
        self.id.clone()
    }

    /// Who opened the session.
    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    /// What ends the session besides [`Router::end_session`](crate::Router::end_session).
    pub fn expiry(&self) -> Expiry {
        self.expiry
    }

    /// The negotiated revision, once initialized.
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.negotiated.get().map(|n| n.version)
    }

    /// The `clientInfo` the client sent at initialize.
    pub fn client_info(&self) -> Option<&Implementation> {
        self.negotiated.get().and_then(|n| n.client_info.as_ref())
    }

    /// Whether `initialize` has been answered.
    pub fn is_initialized(&self) -> bool {
        self.negotiated.get().is_some()
    }

    /// Resolves when the session ends.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn closed(&self) {
        self.closed.cancelled().await
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }

    /// Sets (or clears) where messages that concern no request go.
    pub fn set_standalone(&self, outbox: Option<SharedOutbox>) {
        *self.standalone.lock() = outbox;
    }

    /// Transport-specific state attached to the session, created on first use.
    ///
    /// Returns `None` when another type was attached first.
    pub fn extension<T: Send + Sync + 'static>(&self, init: impl FnOnce() -> T) -> Option<Arc<T>> {
        let ext = self.extension.get_or_init(|| Arc::new(init()));
        ext.clone().downcast().ok()
    }

    /// Answers one request. `outbox` carries what the handler sends while it
    /// works; `None` sends it to the standalone outbox instead.
    ///
    /// Returns the serialized response, or `None` when the client cancelled
    /// the request (no response is due then).
    ///
    /// # Cancel safety
    /// Dropping the future cancels the request's handler.
    pub async fn handle_request(self: &Arc<Self>, request: Request, outbox: Option<SharedOutbox>) -> Option<String> {
        self.touch();
        dispatch::request(self, request, outbox, self.caller.principal.clone()).await
    }

    /// [`Session::handle_request`] on behalf of `principal`: the transport
    /// authenticates every request again (so a revoked token stops at its
    /// next request) and hands over the principal it found, which must be
    /// the session's own (see [`Session::belongs_to`]).
    ///
    /// # Cancel safety
    /// As [`Session::handle_request`].
    pub async fn handle_request_as(
        self: &Arc<Self>,
        request: Request,
        outbox: Option<SharedOutbox>,
        principal: Principal,
    ) -> Option<String> {
        self.touch();
        dispatch::request(self, request, outbox, Some(principal)).await
    }

    /// The principal the session was opened for.
    pub fn principal(&self) -> Option<&Principal> {
        self.caller.principal.as_ref()
    }

    /// Whether `principal` may use this session: the same subject that
    /// opened it (a session opened without a principal is anyone's).
    pub fn belongs_to(&self, principal: &Principal) -> bool {
        self.caller.principal.as_ref().is_none_or(|own| own.same_subject(principal))
    }

    /// What the session knows of its client, for audit: `clientInfo` once
    /// initialized, and the address it connected from.
    pub(crate) fn client_facts(&self) -> Arc<ClientFacts> {
        let facts = || {
            let info = self.client_info();
            Arc::new(ClientFacts {
                name: info.map(|i| i.name.clone()),
                version: info.map(|i| i.version.clone()),
                address: self.caller.address,
            })
        };
        if self.is_initialized() { self.client.get_or_init(facts).clone() } else { facts() }
    }

    /// Takes a notification from the client.
    pub fn handle_notification(&self, notification: Notification) {
        self.touch();
        match notification.method.as_str() {
            method::CANCELLED => {
                #[derive(serde::Deserialize)]
                #[serde(rename_all = "camelCase")]
                struct Cancelled {
                    request_id: RequestId,
                }
                if let Ok(c) = notification.params_as::<Cancelled>()
                    && let Some(token) = self.inflight.lock().get(&c.request_id)
                {
                    token.cancel();
                }
            }
            method::INITIALIZED => {}
            _ => {
                if let Some(shared) = self.shared.upgrade() {
                    for backend in &shared.backends {
                        backend.notify(&notification);
                    }
                }
            }
        }
    }

    /// Takes the client's answer to a server-to-client request.
    pub fn handle_response(&self, response: Response) {
        self.touch();
        let Some(id) = response.id.as_u64() else { return };
        if let Some(reply) = self.pending.lock().remove(&id) {
            let _ = reply.send(response.into_result());
        }
    }

    pub(crate) fn log_level(&self) -> Option<LogLevel> {
        level_from_u8(self.log_level.load(Ordering::Relaxed))
    }

    pub(crate) fn set_log_level(&self, level: LogLevel) {
        self.log_level.store(level as u8 + 1, Ordering::Relaxed);
    }

    pub(crate) fn standalone(&self) -> Option<SharedOutbox> {
        self.standalone.lock().clone()
    }

    pub(crate) fn begin(&self, id: &RequestId) -> Option<CancellationToken> {
        let token = self.closed.child_token();
        let mut inflight = self.inflight.lock();
        if inflight.contains_key(id) {
            return None;
        }
        inflight.insert(id.clone(), token.clone());
        Some(token)
    }

    pub(crate) fn end(&self, id: &RequestId) {
        self.inflight.lock().remove(id);
    }

    pub(crate) fn idle_for(&self) -> std::time::Duration {
        let last = self.last_active_ms.load(Ordering::Relaxed);
        let busy = !self.inflight.lock().is_empty();
        if busy {
            return std::time::Duration::ZERO;
        }
        self.created.elapsed().saturating_sub(std::time::Duration::from_millis(last))
    }

    pub(crate) fn close(&self) {
        self.closed.cancel();
        self.pending.lock().clear();
        *self.standalone.lock() = None;
    }

    fn touch(&self) {
        let ms = u64::try_from(self.created.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_active_ms.store(ms, Ordering::Relaxed);
    }
}

fn level_from_u8(n: u8) -> Option<LogLevel> {
    use LogLevel::*;
    [Debug, Info, Notice, Warning, Error, Critical, Alert, Emergency].get(usize::from(n.checked_sub(1)?)).copied()
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("id", &self.id).finish_non_exhaustive()
    }
}
