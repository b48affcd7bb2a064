//! Channels closing and opening again: what a host's models become.

use super::fleet::{Agent, Hub, entry, ids, provider, state};
use super::{chat, listing};
use crate::hub::RelayConfig;
use crate::wire::{ProviderState, Visibility};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_channel_leaves_its_models_inactive_until_the_same_session_returns() {
    let hub = Hub::start(RelayConfig::default()).await;
    let models = || listing(vec![provider("m", None, Visibility::Public, 4)]);
    let ws1 = Agent::start(&hub, "alice-agent", "ws1", "session-ws1", models());
    hub.models_when("bob", |m| ids(m) == ["m"] && state(m, "m") == "active").await;
    ws1.stop().await;
    let gone = hub.models_when("bob", |m| state(m, "m") == "inactive").await;
    assert_eq!(entry(&gone, "m")["herd"]["hosts"], json!(["ws1"]), "kept, inactive");
    let refused = hub.post("bob", "chat/completions", chat("m", false)).await;
    assert_eq!(refused.status(), 503);
    let _back = Agent::start(&hub, "alice-agent", "ws1", "session-ws1", models());
    hub.models_when("bob", |m| state(m, "m") == "active").await;
    assert_eq!(hub.post("bob", "chat/completions", chat("m", false)).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_session_replaces_its_entries_and_another_session_drops_them() {
    let hub = Hub::start(RelayConfig::default()).await;
    let ws1 = Agent::start(
        &hub,
        "alice-agent",
        "ws1",
        "session-ws1",
        listing(vec![provider("old", None, Visibility::Public, 4)]),
    );
    hub.models_when("bob", |m| ids(m) == ["old"]).await;
    ws1.stop().await;
    hub.models_when("bob", |m| state(m, "old") == "inactive").await;
    let back = Agent::start(
        &hub,
        "alice-agent",
        "ws1",
        "session-ws1",
        listing(vec![provider("new", None, Visibility::Public, 4)]),
    );
    hub.models_when("bob", |m| ids(m) == ["new"]).await;
    back.stop().await;
    hub.models_when("bob", |m| state(m, "new") == "inactive").await;
    let other = listing(vec![provider("bobs", None, Visibility::Public, 4)]);
    let _taken = Agent::start(&hub, "bob-agent", "ws1", "session-other", other);
    let models = hub.models_when("root", |m| ids(m) == ["bobs"]).await;
    assert_eq!(entry(&models, "bobs")["herd"]["owner"], "bob", "the new session's owner owns its models");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_refresh_shows_the_state_an_agent_last_saw() {
    let hub = Hub::start(RelayConfig { refresh: Duration::from_millis(100), ..RelayConfig::default() }).await;
    let ws1 = Agent::start(
        &hub,
        "alice-agent",
        "ws1",
        "session-ws1",
        listing(vec![provider("m", None, Visibility::Public, 4)]),
    );
    hub.models_when("bob", |m| state(m, "m") == "active").await;
    ws1.seen.listing.lock().providers[0].state = ProviderState::Inactive;
    hub.models_when("bob", |m| state(m, "m") == "inactive").await;
    let refused = hub.post("bob", "chat/completions", chat("m", false)).await;
    assert_eq!(refused.status(), 503, "no member of m is active");
    ws1.seen.listing.lock().providers[0].state = ProviderState::Active;
    hub.models_when("bob", |m| state(m, "m") == "active").await;
    assert_eq!(hub.post("bob", "chat/completions", chat("m", false)).await.status(), 200);
}
