//! `subscriptions/listen`: the stateless revision's stream of notifications
//! that concern no request (list changes, resource updates).
//!
//! The request stays open for as long as the client listens. Its first
//! message acknowledges the notification types the server agreed to send
//! (those asked for that the server's capabilities cover); every later one
//! carries the subscription's id (the request's id) in
//! `params._meta["io.modelcontextprotocol/subscriptionId"]`. Nothing else
//! is sent: the filter is opt-in. The subscription ends when the client
//! goes (the transport drops the request) or its stream refuses a message.
//!
//! With the tasks extension declared, the filter's `taskIds` asks for
//! `notifications/tasks` about those tasks; only tasks of the listener's
//! own owner are ever announced to it, so naming another's id yields
//! nothing.

use super::StatelessAnswer;
use crate::outbox::SharedOutbox;
use crate::{Owner, Shared};
use herd_proto::{Message, Notification, Request, RpcError, method};
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// `_meta` key of notifications on a listen stream.
const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// The open listen streams of a router.
#[derive(Default)]
pub(crate) struct Listeners {
    open: Mutex<HashMap<u64, Listener>>,
    next: AtomicU64,
}

impl Listeners {
    /// Whether no listen stream is open.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.open.lock().is_empty()
    }
}

struct Listener {
    subscription: Value,
    filter: Filter,
    outbox: SharedOutbox,
    owner: Owner,
}

/// What a client opts in to (`SubscriptionFilter`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    #[serde(default)]
    tools_list_changed: bool,
    #[serde(default)]
    prompts_list_changed: bool,
    #[serde(default)]
    resources_list_changed: bool,
    #[serde(default)]
    resource_subscriptions: HashSet<String>,
    #[serde(default)]
    task_ids: HashSet<String>,
}

impl Filter {
    /// The part of `self` the server's `capabilities` can honour (task ids
    /// only for a client that declared the tasks extension).
    fn agreed(&self, capabilities: &Value, tasks: bool) -> Self {
        let flag = |kind: &str, key: &str| capabilities[kind][key].as_bool().unwrap_or(false);
        Self {
            tools_list_changed: self.tools_list_changed && flag("tools", "listChanged"),
            prompts_list_changed: self.prompts_list_changed && flag("prompts", "listChanged"),
            resources_list_changed: self.resources_list_changed && flag("resources", "listChanged"),
            resource_subscriptions: if flag("resources", "subscribe") {
                self.resource_subscriptions.clone()
            } else {
                HashSet::new()
            },
            task_ids: if tasks { self.task_ids.clone() } else { HashSet::new() },
        }
    }

    fn to_json(&self) -> Value {
        let mut out = Map::new();
        for (key, on) in [
            ("toolsListChanged", self.tools_list_changed),
            ("promptsListChanged", self.prompts_list_changed),
            ("resourcesListChanged", self.resources_list_changed),
        ] {
            if on {
                out.insert(key.into(), Value::Bool(true));
            }
        }
        if !self.resource_subscriptions.is_empty() {
            out.insert("resourceSubscriptions".into(), json!(self.resource_subscriptions));
        }
        if !self.task_ids.is_empty() {
            out.insert("taskIds".into(), json!(self.task_ids));
        }
        Value::Object(out)
    }

    fn wants(&self, notification: &Notification) -> bool {
        match notification.method.as_str() {
            method::TOOLS_LIST_CHANGED => self.tools_list_changed,
            method::PROMPTS_LIST_CHANGED => self.prompts_list_changed,
            method::RESOURCES_LIST_CHANGED => self.resources_list_changed,
            method::RESOURCES_UPDATED => {
                #[derive(Deserialize)]
                struct Uri {
                    uri: String,
                }
                notification.params_as::<Uri>().is_ok_and(|u| self.resource_subscriptions.contains(&u.uri))
            }
            _ => false,
        }
    }
}

/// Serves one `subscriptions/listen` request until it is dropped.
pub(super) async fn run(
    shared: &Arc<Shared>,
    req: Request,
    outbox: Option<SharedOutbox>,
    owner: Owner,
    tasks: bool,
) -> Option<StatelessAnswer> {
    #[derive(Deserialize)]
    struct Params {
        notifications: Filter,
    }
    let Some(outbox) = outbox else {
        let err = RpcError::invalid_request("subscriptions/listen needs a stream: accept text/event-stream");
        return Some(StatelessAnswer::error(&req.id, &err));
    };
    let filter = match req.params_as::<Params>() {
        Ok(p) => p.notifications.agreed(&shared.capabilities, tasks),
        Err(err) => return Some(StatelessAnswer::error(&req.id, &err)),
    };
    let subscription = serde_json::from_str::<Value>(&req.id.to_string()).unwrap_or(Value::Null);
    let ack = json!({ "notifications": filter.to_json(), "_meta": { SUBSCRIPTION_ID: subscription } });
    let ack = Notification::new(method::SUBSCRIPTIONS_ACKNOWLEDGED, serde_json::value::to_raw_value(&ack).ok());
    if outbox.send(Message::Notification(ack).to_json()).is_err() {
        return None;
    }
    let number = shared.listeners.next.fetch_add(1, Ordering::Relaxed);
    shared.listeners.open.lock().insert(number, Listener { subscription, filter, outbox, owner });
    let _registered = Registered { shared, number };
    // Open until the client goes, which drops this future.
    std::future::pending::<()>().await;
    None
}

/// Removes a listener when its request ends.
struct Registered<'a> {
    shared: &'a Shared,
    number: u64,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.shared.listeners.open.lock().remove(&self.number);
    }
}

/// Hands `notification` to every listen stream that opted in to it, tagged
/// with the stream's subscription id. Streams that refuse it are dropped.
pub(crate) fn deliver(shared: &Shared, notification: &Notification) {
    let params: Map<String, Value> = notification.params_as().unwrap_or_default();
    send_where(shared, &notification.method, &params, |listener| listener.filter.wants(notification));
}

/// Hands the state of task `id` of `owner` (`notifications/tasks`) to the
/// owner's listen streams that asked for that task.
pub(crate) fn deliver_task(shared: &Shared, owner: &Owner, id: &str, task: Map<String, Value>) {
    send_where(shared, method::TASKS_STATUS, &task, |listener| {
        listener.owner == *owner && listener.filter.task_ids.contains(id)
    });
}

fn send_where(shared: &Shared, method: &str, params: &Map<String, Value>, wanted: impl Fn(&Listener) -> bool) {
    let mut open = shared.listeners.open.lock();
    open.retain(|_, listener| {
        if !wanted(listener) {
            return true;
        }
        let mut params = params.clone();
        let meta = params.entry("_meta").or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(meta) = meta {
            meta.insert(SUBSCRIPTION_ID.into(), listener.subscription.clone());
        }
        let tagged = Notification::new(method, serde_json::value::to_raw_value(&params).ok());
        listener.outbox.send_notification(Message::Notification(tagged).to_json()).is_ok()
    });
}
