//! What exposed agents say on their own, passed on to the hub's clients.
//!
//! An agent tells its own clients when its tools, prompts or resources
//! change, and a hub is one of them: for each exposed host whose agent is
//! UP, the hub listens on the session the probes keep warm
//! ([`Upstream::listen`]). It does so once per session object: when the
//! prober replaces a host's session (after a failed probe, or a reload
//! that changed its address), the next sync listens on the new one; a host
//! that goes down or leaves loses its listener, which ends its stream.
//! Syncs run whenever the live set is checked (health flips, reloads,
//! probe rounds) and when a session stops delivering. A sync takes only
//! sessions the probes made for the host as configured now and never makes
//! one: a host read before a reload (old token) would otherwise put back a
//! session with the old token, and the probes' fresh one would be lost.
//!
//! From an agent, a `*/list_changed` for a kind the host exposes clears the
//! routes (its names may have moved) and goes to clients as is;
//! `notifications/resources/updated` goes to clients (the router hands it
//! to the sessions subscribed to the URI); `ping` is answered; other
//! requests are refused, since outside a call there is no client to ask.

use super::{Inner, routes};
use herd_fleet::Host;
use herd_proto::{ListKind, Message, Notification, Request, Response, RpcError, code, method};
use herd_upstream::{HttpUpstream, Upstream};
use serde_json::value::RawValue;
use std::collections::HashSet;
use std::sync::{Arc, Weak};
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};

/// The listener on one host's agent session.
pub(super) struct Listening {
    /// The session listened on (weak: a replaced session must be free to go).
    upstream: Weak<HttpUpstream>,
    /// Stops the forwarding task, which drops the sink and so ends the stream.
    _stop: DropGuard,
}

impl Inner {
    /// Listens on the session of each host in `live` not listened on yet
    /// (or whose session was replaced), and stops listening on the others.
    /// Does nothing before a router attached the backend: no one to tell.
    pub(super) fn listen_to(self: &Arc<Self>, live: &[Host]) {
        if self.notifier.get().is_none() {
            return;
        }
        let mut listeners = self.listeners.lock();
        if live.is_empty() && listeners.is_empty() {
            return;
        }
        let names: HashSet<&str> = live.iter().map(|h| h.name.as_str()).collect();
        listeners.retain(|name, _| names.contains(name.as_str()));
        for host in live {
            let Some(upstream) = self.fleet.prober().existing(host) else { continue };
            if listeners.get(&host.name).is_some_and(|l| Weak::as_ptr(&l.upstream) == Arc::as_ptr(&upstream)) {
                continue;
            }
            let (sink, messages) = mpsc::unbounded_channel();
            let stop = CancellationToken::new();
            let weak = Arc::downgrade(&upstream);
            tokio::spawn(forward(Arc::downgrade(self), host.name.clone(), weak.clone(), messages, stop.clone()));
            upstream.listen(sink);
            listeners.insert(host.name.clone(), Listening { upstream: weak, _stop: stop.drop_guard() });
        }
    }

    /// Passes a notification from `host`'s agent on to clients, if it is
    /// one they care about.
    fn relay_notification(&self, host: &str, notification: Notification) {
        let Some(notifier) = self.notifier.get() else { return };
        let kind = match notification.method.as_str() {
            method::TOOLS_LIST_CHANGED => ListKind::Tools,
            method::PROMPTS_LIST_CHANGED => ListKind::Prompts,
            method::RESOURCES_LIST_CHANGED | method::RESOURCES_UPDATED => ListKind::Resources,
            other => {
                tracing::trace!(host, method = other, "not passed on to clients");
                return;
            }
        };
        let Some(entry) = self.fleet.registry().get(host).cloned() else { return };
        if !routes::offers(&entry, kind) {
            return;
        }
        if notification.method != method::RESOURCES_UPDATED {
            self.routes.clear();
        }
        notifier.send(notification);
    }
}

/// Hands what `host`'s agent sends on its own to `inner` until `stop`, the
/// backend goes, or the session stops delivering (then the listeners are
/// synced, which picks up a session that replaced it).
async fn forward(
    inner: Weak<Inner>,
    host: String,
    upstream: Weak<HttpUpstream>,
    mut messages: mpsc::UnboundedReceiver<Message>,
    stop: CancellationToken,
) {
    loop {
        let message = tokio::select! {
            biased;
            () = stop.cancelled() => return,
            message = messages.recv() => message,
        };
        let Some(inner) = inner.upgrade() else { return };
        match message {
            Some(Message::Notification(notification)) => inner.relay_notification(&host, notification),
            Some(Message::Request(request)) => answer(&upstream, request),
            Some(Message::Response(_)) => {}
            None => {
                drop(messages);
                inner.listen_to(&inner.live());
                return;
            }
        }
    }
}

/// Answers a request an agent sent outside any call.
fn answer(upstream: &Weak<HttpUpstream>, request: Request) {
    let Some(upstream) = upstream.upgrade() else { return };
    let response = if request.method == method::PING {
        match RawValue::from_string("{}".to_owned()) {
            Ok(empty) => Response::result(request.id, empty),
            Err(_) => return,
        }
    } else {
        let why = format!("{}: the hub has no client to ask outside a call", request.method);
        Response::error(request.id, &RpcError::new(code::METHOD_NOT_FOUND, why))
    };
    tokio::spawn(async move {
        if let Err(err) = upstream.respond(response).await {
            tracing::debug!(upstream = upstream.describe(), %err, "could not answer the agent");
        }
    });
}
