#![allow(clippy::unwrap_used)]

use crate::forward::{check_address, strip_hop_by_hop};
use crate::sessions::owner_of;

#[test]
fn a_session_id_names_its_replica() {
    assert_eq!(owner_of("0a1b2c3d.00ff"), Some("0a1b2c3d"));
    // Ids of a hub alone, and anything odd, name no replica: served here.
    for id in ["00ff00ff00ff", ".00ff", "0a1b.", "0a-1.00ff", ""] {
        assert_eq!(owner_of(id), None, "{id}");
    }
}

#[test]
fn the_advertised_address_is_a_bare_http_origin() {
    for good in ["http://10.0.0.2:7420", "http://hub-2.internal", "http://[::1]:7800"] {
        assert!(check_address(good).is_ok(), "{good}");
    }
    for bad in ["10.0.0.2:7420", "https://hub:7420", "http://hub:7420/mcp", "http://hub/", "http://", "ftp://x"] {
        let err = check_address(bad).unwrap_err().to_string();
        assert!(err.contains("http://host[:port]"), "{bad}: {err}");
    }
}

#[test]
fn headers_of_one_connection_are_not_passed_on() {
    let mut headers = http::HeaderMap::new();
    for (name, value) in [
        ("connection", "keep-alive, x-private"),
        ("keep-alive", "timeout=5"),
        ("x-private", "1"),
        ("transfer-encoding", "chunked"),
        ("authorization", "Bearer t"),
        ("mcp-session-id", "a.b"),
        ("last-event-id", "7"),
    ] {
        headers.insert(name, value.parse().unwrap());
    }
    strip_hop_by_hop(&mut headers);
    let mut left: Vec<&str> = headers.keys().map(|k| k.as_str()).collect();
    left.sort_unstable();
    assert_eq!(left, ["authorization", "last-event-id", "mcp-session-id"]);
}

mod forwarding {
    use crate::{CHANNEL_RELAY_PATH, HOP_HEADER, Replica, ReplicaConfig};
    use axum::body::Body;
    use axum::http::HeaderMap;
    use herd_store::Store;
    use parking_lot::Mutex;
    use std::sync::Arc;
    use tokio::net::TcpListener;
    use tokio::sync::oneshot;

    /// What a replica's own `/mcp` answers in these tests: who it is and
    /// what it was sent, then, once `gate` opens, a second event.
    #[derive(Clone)]
    struct Backend {
        name: &'static str,
        gate: Arc<Mutex<Option<oneshot::Receiver<()>>>>,
    }

    async fn answer(backend: Backend, headers: HeaderMap) -> Body {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
        let first = format!(
            "data: {} auth={} last={} hop={}\n\n",
            backend.name,
            header("authorization"),
            header("last-event-id"),
            header(HOP_HEADER)
        );
        let gate = backend.gate.lock().take();
        let events = futures_util::stream::unfold((Some(first), gate), |(first, gate)| async move {
            match (first, gate) {
                (Some(first), gate) => Some((Ok::<_, std::io::Error>(first), (None, gate))),
                (None, Some(gate)) => {
                    let _ = gate.await;
                    Some((Ok("data: second\n\n".to_owned()), (None, None)))
                }
                (None, None) => None,
            }
        });
        Body::from_stream(events)
    }

    /// A replica on `store` serving `backend` behind its layer; its task.
    async fn replica(store: &Store, backend: Backend) -> (Replica, String, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let replica = Replica::join(store.clone(), ReplicaConfig::new(&address)).await.unwrap();
        let app = axum::Router::new()
            .route("/mcp", axum::routing::any(move |headers: HeaderMap| answer(backend.clone(), headers)));
        let app =
            replica.layer(app, "/mcp").merge(replica.channel_relay(herd_channel::Channels::new(Default::default())));
        let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (replica, address, task)
    }

    fn backend(name: &'static str) -> (Backend, oneshot::Sender<()>) {
        let (open, gate) = oneshot::channel();
        (Backend { name, gate: Arc::new(Mutex::new(Some(gate))) }, open)
    }

    #[tokio::test]
    async fn a_session_of_another_replica_is_answered_there_event_by_event_and_a_gone_one_is_404() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("herd.db").to_str().unwrap()).await.unwrap();
        let (a_backend, _) = backend("a");
        let (a, a_url, _a_task) = replica(&store, a_backend).await;
        // b joins after a: a finds it in the store when asked for its session.
        let (b_backend, open_b) = backend("b");
        let (b, _, b_task) = replica(&store, b_backend).await;
        let http = reqwest::Client::new();
        let send = |session: String, hop: Option<String>| {
            let mut request = http
                .post(format!("{a_url}/mcp"))
                .header("mcp-session-id", session)
                .header("authorization", "Bearer client-token")
                .header("last-event-id", "7");
            if let Some(hop) = hop {
                request = request.header(HOP_HEADER, hop);
            }
            request.send()
        };

        let mut streamed = send(format!("{}.00ff", b.id()), Some("made-up".into())).await.unwrap();
        assert_eq!(streamed.status(), 200);
        let first = String::from_utf8(streamed.chunk().await.unwrap().unwrap().to_vec()).unwrap();
        // b authenticates the client's own credential, resumes from its
        // event id, and never sees the marker (a made-up one was dropped).
        assert_eq!(first, "data: b auth=Bearer client-token last=7 hop=-\n\n");
        open_b.send(()).unwrap();
        let second = String::from_utf8(streamed.chunk().await.unwrap().unwrap().to_vec()).unwrap();
        assert_eq!(second, "data: second\n\n", "the second event came after the first was read");

        // a's own session, and a request a replica forwarded (it carries
        // the secret), are answered by a: never forwarded again.
        let own = send(format!("{}.00ff", a.id()), None).await.unwrap().text().await.unwrap();
        assert!(own.starts_with("data: a "), "{own}");
        let secret = a.inner.secret.clone();
        let hopped = send(format!("{}.00ff", b.id()), Some(secret)).await.unwrap().text().await.unwrap();
        assert!(hopped.starts_with("data: a "), "{hopped}");

        // A replica nobody knows, and one that stopped answering: 404, so
        // the client opens a new session.
        let unknown = send("0000beef.00ff".to_owned(), None).await.unwrap();
        assert_eq!(unknown.status(), 404);
        assert!(unknown.text().await.unwrap().contains("session not found"));
        b_task.abort();
        let _ = b_task.await;
        let gone = send(format!("{}.00ff", b.id()), None).await.unwrap();
        assert_eq!(gone.status(), 404, "a replica that does not answer is gone, not a 502");
    }

    #[tokio::test]
    async fn only_a_replica_may_use_the_channel_relay_and_a_host_without_a_channel_is_not_connected() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("herd.db").to_str().unwrap()).await.unwrap();
        let (a, _, _a_task) = replica(&store, backend("a").0).await;
        let (b, b_url, _b_task) = replica(&store, backend("b").0).await;
        let url = format!("{b_url}{CHANNEL_RELAY_PATH}/ws1/mcp");
        let refused = reqwest::Client::new().post(&url).header(HOP_HEADER, "made-up").send().await.unwrap();
        assert_eq!(refused.status(), 403);

        // b claims ws1 (as if its agent had connected there and left since):
        // a reaches it through b, which has no channel of it to send on.
        let claim = herd_store::ChannelClaim {
            host: "ws1".into(),
            replica_id: b.id().into(),
            session: "s".into(),
            owner_user_id: Some(3),
            owner_name: Some("alice".into()),
            updated_at: herd_store::Timestamp::now(),
        };
        store.claim_channel(&claim).await.unwrap();
        a.beat().await.unwrap();
        let channels = herd_channel::Channels::new(Default::default());
        crate::channels::sync(&a, &channels, &mut Default::default()).await.unwrap();
        let ws1 = channels.hosts().into_iter().find(|h| h.name == "ws1").unwrap();
        assert_eq!((ws1.active, ws1.via.as_deref()), (true, Some(b.id())));
        assert_eq!(ws1.owner.unwrap().user_id(), Some(herd_auth::UserId(3)));
        let request = http::Request::get("http://ws1/mcp")
            .body(http_body_util::BodyExt::boxed(http_body_util::BodyExt::map_err(
                http_body_util::Empty::new(),
                |never| match never {},
            )))
            .unwrap();
        let err = channels.send("ws1", request).await.unwrap_err();
        assert!(err.to_string().contains(&format!("no channel open at replica {}", b.id())), "{err}");
    }
}
