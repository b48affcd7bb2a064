#![allow(clippy::unwrap_used)]

use super::*;
use herd_auth::{Grant, Identity, Role};

fn user(id: i64) -> Principal {
    let identity = Identity::User {
        user_id: herd_auth::UserId(id),
        name: format!("u{id}"),
        token_id: herd_auth::TokenId(format!("t{id}").into()),
    };
    Principal::new(identity, Role::Agent, Grant::all())
}

#[tokio::test]
async fn a_name_belongs_to_one_session_and_caps_count_open_channels() {
    let channels = Channels::new(ChannelsConfig { max_per_principal: 2, max_total: 3, ..ChannelsConfig::default() });
    let (first, close_first) = channels.admit("ws1", "session-a", &user(1)).unwrap();
    assert_eq!(channels.admit("ws1", "session-b", &user(2)).unwrap_err(), Refusal::NameTaken("ws1".into()));
    let (second, _) = channels.admit("ws1", "session-a", &user(1)).unwrap();
    assert!(second > first);
    assert!(close_first.is_cancelled(), "the older connection of the same session is closed");
    channels.admit("ws2", "session-c", &user(1)).unwrap();
    assert!(matches!(channels.admit("ws3", "session-d", &user(1)), Err(Refusal::PerPrincipal(_, 2))));
    channels.admit("ws3", "session-d", &user(2)).unwrap();
    assert!(matches!(channels.admit("ws4", "session-e", &user(3)), Err(Refusal::Total(3))));
    // The replaced connection ending changes nothing; the one in force does.
    channels.inner.closed("ws1", first);
    assert!(matches!(channels.admit("ws1", "session-b", &user(2)), Err(Refusal::NameTaken(_))));
    channels.inner.closed("ws1", second);
    channels.admit("ws1", "session-b", &user(2)).unwrap();
    assert_eq!(channels.hosts().len(), 3);
    assert!(channels.hosts().iter().all(|h| !h.active), "no handshake finished");
    let ws1 = channels.hosts().into_iter().find(|h| h.name == "ws1").unwrap();
    assert_eq!(ws1.session.as_deref(), Some("session-b"));
    assert!(ws1.owner.is_some_and(|o| o.same_subject(&user(2))), "the owner is who opened the connection");
}

#[tokio::test]
async fn a_host_without_a_channel_is_not_connected() {
    let channels = Channels::new(ChannelsConfig::default());
    channels.admit("ws1", "session-a", &user(1)).unwrap();
    let link = channels.hosts()[0].link.clone();
    let request = http::Request::builder().uri("http://ws1/mcp").body(Full::new(Bytes::new())).unwrap();
    let err = link.tunnel().send(request).await.unwrap_err();
    assert!(matches!(err, TunnelError::NotConnected(_)), "{err}");
    assert_eq!(err.to_string(), "the agent of ws1 has no channel open");
}

/// A replica that fails every request, naming itself.
struct Answering(&'static str);

impl Remote for Answering {
    fn send(
        &self,
        host: &str,
        _request: http::Request<ChannelBody>,
    ) -> BoxFuture<'static, Result<http::Response<Incoming>, TunnelError>> {
        let reason = format!("{} would send for {host}", self.0);
        Box::pin(async move { Err(TunnelError::Lost(reason)) })
    }
}

fn remote(name: &str, replica: &'static str, owner: i64) -> RemoteHost {
    RemoteHost {
        name: name.into(),
        replica: replica.into(),
        session: "session-r".into(),
        owner: user(owner),
        via: Arc::new(Answering(replica)),
    }
}

#[tokio::test]
async fn a_host_held_by_another_replica_is_reached_through_it_until_it_connects_here() {
    let channels = Channels::new(ChannelsConfig::default());
    let mut changes = channels.changes();
    channels.set_remote(vec![remote("ws1", "r2", 1)]);
    assert!(changes.has_changed().unwrap());
    changes.borrow_and_update();
    let ws1 = channels.hosts().into_iter().find(|h| h.name == "ws1").unwrap();
    assert!(ws1.active && ws1.via.as_deref() == Some("r2"), "{ws1:?}");
    let first = ws1.connection;
    let request = || http::Request::builder().uri("http://ws1/mcp").body(Full::new(Bytes::new())).unwrap();
    let err = ws1.link.tunnel().send(request()).await.unwrap_err();
    assert!(err.to_string().contains("r2 would send for ws1"), "{err}");
    // The same list again is no change; another replica is.
    channels.set_remote(vec![remote("ws1", "r2", 1)]);
    assert!(!changes.has_changed().unwrap());
    channels.set_remote(vec![remote("ws1", "r3", 1)]);
    let moved = channels.hosts().into_iter().find(|h| h.name == "ws1").unwrap();
    assert!(moved.connection > first && moved.via.as_deref() == Some("r3"));
    // Another agent may not take the name; the same agent reconnecting
    // here (its replica died) does, and wins over the remote entry; a
    // local send never goes through another replica.
    assert_eq!(channels.admit("ws1", "session-a", &user(1)).unwrap_err(), Refusal::NameTaken("ws1".into()));
    channels.admit("ws1", "session-r", &user(1)).unwrap();
    let here = channels.hosts().into_iter().find(|h| h.name == "ws1").unwrap();
    assert_eq!((here.via, here.active), (None, false));
    let err = channels.send_local("ws2", request().map(|b| b.map_err(|never| match never {}).boxed())).await;
    assert!(matches!(err, Err(TunnelError::NotConnected(_))));
    // Gone from the list: gone.
    channels.set_remote(Vec::new());
    channels.inner.closed("ws1", here.connection.unwrap());
    assert!(channels.hosts().iter().all(|h| !h.active));
}
