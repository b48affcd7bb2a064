use crate::support::{TestDb, on_both_backends};
use herd_store::{ChannelClaim, Timestamp};
use std::time::Duration;

on_both_backends!(replicas_heartbeat_and_leave, secrets_are_made_once, channel_claims_move_between_replicas);

async fn replicas_heartbeat_and_leave(db: TestDb) {
    let store = db.open().await;
    let before = Timestamp::now().saturating_sub(Duration::from_secs(1));
    store.heartbeat_replica("r1", "http://10.0.0.1:7800").await.unwrap();
    store.heartbeat_replica("r2", "http://10.0.0.2:7800").await.unwrap();
    store.heartbeat_replica("r2", "http://10.0.0.3:7800").await.unwrap();
    let live = db.open().await.live_replicas(before).await.unwrap();
    let seen: Vec<(&str, &str)> = live.iter().map(|r| (r.id.as_str(), r.address.as_str())).collect();
    assert_eq!(seen, [("r1", "http://10.0.0.1:7800"), ("r2", "http://10.0.0.3:7800")]);
    assert!(live[1].heartbeat_at >= live[1].started_at);
    // Nobody heartbeat after a time in the future.
    let later = Timestamp::now().saturating_add(Duration::from_secs(60));
    assert!(store.live_replicas(later).await.unwrap().is_empty());
    store.remove_replica("r1", before).await.unwrap();
    let left: Vec<String> = store.live_replicas(before).await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(left, ["r2"]);
    assert!(store.heartbeat_replica("", "http://x").await.is_err());
    assert!(store.heartbeat_replica("r3", "http://x\n").await.is_err());
}

async fn secrets_are_made_once(db: TestDb) {
    let (one, two) = (db.open().await, db.open().await);
    let first = one.cluster_secret("replica").await.unwrap();
    assert_eq!(first.len(), 64);
    assert_eq!(two.cluster_secret("replica").await.unwrap(), first);
    assert_ne!(two.cluster_secret("state-key").await.unwrap(), first);
    assert!(one.cluster_secret("no spaces").await.is_err());
}

async fn channel_claims_move_between_replicas(db: TestDb) {
    let store = db.open().await;
    let claim = |host: &str, replica: &str| ChannelClaim {
        host: host.into(),
        replica_id: replica.into(),
        session: "s1".into(),
        owner_user_id: Some(7),
        owner_name: Some("alice".into()),
        updated_at: Timestamp::now(),
    };
    store.claim_channel(&claim("ws1", "r1")).await.unwrap();
    store.claim_channel(&claim("ws2", "r1")).await.unwrap();
    // The agent of ws1 reconnected to r2: the claim moves, and r1 letting
    // go of it later does not undo that.
    store.claim_channel(&claim("ws1", "r2")).await.unwrap();
    store.release_channel("ws1", "r1").await.unwrap();
    let claims = store.channel_claims().await.unwrap();
    let held: Vec<(&str, &str)> = claims.iter().map(|c| (c.host.as_str(), c.replica_id.as_str())).collect();
    assert_eq!(held, [("ws1", "r2"), ("ws2", "r1")]);
    assert_eq!((claims[0].owner_user_id, claims[0].owner_name.as_deref()), (Some(7), Some("alice")));
    // A replica that stops takes its claims with it.
    store.remove_replica("r1", Timestamp::from_unix_millis(0)).await.unwrap();
    let hosts: Vec<String> = store.channel_claims().await.unwrap().into_iter().map(|c| c.host).collect();
    assert_eq!(hosts, ["ws1"]);
}
