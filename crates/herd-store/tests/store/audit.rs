use crate::support::{TestDb, call, on_both_backends};
use futures_util::FutureExt as _;
use herd_store::{AuditConfig, AuditFilter, AuditPath, AuditRecord, ERROR_CAP, Outcome, StoreError, Timestamp};

on_both_backends!(
    concurrent_appends_share_commits,
    an_answered_append_survives_a_new_pool,
    filters_select_records,
    host_filter_matches_whole_names_only,
    cursor_follows_and_default_is_the_newest,
    prune_removes_old_records_and_ids_keep_growing,
    long_text_is_capped,
    a_dropped_append_that_was_queued_is_written,
    append_fails_instead_of_hanging_once_closed,
    batches_of_any_size_are_written_whole_and_in_order,
);

async fn concurrent_appends_share_commits(db: TestDb) {
    let store = db.open().await;
    let writer = store.audit_writer(&AuditConfig::default());
    const N: usize = 200;
    // The appends are queued together (this test runs on one thread), so
    // they cannot each get a transaction. How many batches they make depends
    // on where tokio's cooperative budget makes the sender yield, so the
    // bound is on records per commit, not on an exact count.
    let appends = (0..N).map(|i| writer.append(call(i as i64, "alice", "shell", &["gpu1"], Outcome::Ok)));
    for result in futures_util::future::join_all(appends).await {
        result.unwrap();
    }
    let stats = writer.stats();
    assert_eq!(stats.records, N as u64);
    assert!(stats.commits < stats.records, "{stats:?}");
    assert!(stats.commits * 10 <= stats.records, "{stats:?}");
    let stored = store.query_audit(&AuditFilter { limit: Some(1000), ..AuditFilter::default() }).await.unwrap();
    assert_eq!(stored.len(), N);
}

async fn batches_of_any_size_are_written_whole_and_in_order(db: TestDb) {
    let store = db.open().await;
    // Sizes around the statement sizes (powers of two up to 64) and past them.
    let mut next = 0_i64;
    for size in [1_usize, 3, 64, 65, 127, 200] {
        let batch: Vec<AuditRecord> =
            (next..next + size as i64).map(|i| call(i, "alice", "read_file", &["h"], Outcome::Ok)).collect();
        next += size as i64;
        store.append_audit(&batch.iter().collect::<Vec<_>>()).await.unwrap();
    }
    let stored = store.query_audit(&AuditFilter { limit: Some(1000), ..AuditFilter::default() }).await.unwrap();
    let times: Vec<i64> = stored.iter().map(|r| r.time.unix_millis()).collect();
    let ids: Vec<i64> = stored.iter().filter_map(|r| r.id).collect();
    assert_eq!(times, (0..next).collect::<Vec<_>>(), "every record once, in the order written");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids follow the order of writing");
}

fn full_record() -> AuditRecord {
    let mut rec = AuditRecord::new(Timestamp::from_unix_millis(1_779_280_496_789), "tools/call", Outcome::ToolError);
    rec.user = Some("alice".into());
    rec.token_id = Some("tok_abcdef123456".into());
    rec.oauth_subject = Some("sub-1".into());
    rec.client_name = Some("claude-code".into());
    rec.client_version = Some("2.1.0".into());
    rec.client_address = Some("127.0.0.1:51000".into());
    rec.session = Some("5f2c".into());
    rec.target = Some("remote_shell".into());
    rec.hosts = vec!["gpu1".into(), "gpu2".into()];
    rec.path = Some(AuditPath::Ssh);
    rec.duration_ms = 1234;
    rec.error = Some("exit 2".into());
    rec.set_args(br#"{"host":"gpu1","command":"false"}"#, true);
    rec.model = Some("qwen3".into());
    rec.provider = Some("ollama".into());
    rec.member = Some("ws1/qwen3-8b".into());
    rec.prompt_tokens = Some(12);
    rec.completion_tokens = Some(34);
    rec.ttft_ms = Some(56);
    rec
}

async fn an_answered_append_survives_a_new_pool(db: TestDb) {
    let store = db.open().await;
    let writer = store.audit_writer(&AuditConfig::default());
    let rec = full_record();
    writer.append(rec.clone()).await.unwrap();
    // Nothing is flushed or closed: the answer alone promises the commit.
    let fresh = db.open().await;
    let stored = fresh.query_audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].id.is_some());
    assert_eq!(AuditRecord { id: None, ..stored[0].clone() }, rec);
}

async fn filters_select_records(db: TestDb) {
    let store = db.open().await;
    let writer = store.audit_writer(&AuditConfig::default());
    let records = [
        call(1000, "alice", "shell", &["gpu1"], Outcome::Ok),
        call(2000, "bob", "shell", &["gpu1", "gpu2"], Outcome::Denied),
        call(3000, "alice", "read_file", &["gpu2"], Outcome::ToolError),
        call(4000, "bob", "read_file", &[], Outcome::Ok),
    ];
    for rec in &records {
        writer.append(rec.clone()).await.unwrap();
    }
    let times = |filter: AuditFilter| {
        let store = store.clone();
        async move { store.query_audit(&filter).await.unwrap().iter().map(|r| r.time.unix_millis()).collect::<Vec<_>>() }
    };
    let f = AuditFilter::default;
    assert_eq!(times(f()).await, [1000, 2000, 3000, 4000]);
    assert_eq!(times(AuditFilter { user: Some("alice".into()), ..f() }).await, [1000, 3000]);
    assert_eq!(times(AuditFilter { host: Some("gpu2".into()), ..f() }).await, [2000, 3000]);
    assert_eq!(times(AuditFilter { tool: Some("read_file".into()), ..f() }).await, [3000, 4000]);
    assert_eq!(times(AuditFilter { outcome: Some(Outcome::Denied), ..f() }).await, [2000]);
    let since = Some(Timestamp::from_unix_millis(2000));
    let until = Some(Timestamp::from_unix_millis(4000));
    assert_eq!(times(AuditFilter { since, until, ..f() }).await, [2000, 3000], "since inclusive, until exclusive");
    assert_eq!(times(AuditFilter { user: Some("bob".into()), host: Some("gpu1".into()), ..f() }).await, [2000]);
    assert_eq!(times(AuditFilter { user: Some("carol".into()), ..f() }).await, Vec::<i64>::new());
}

async fn host_filter_matches_whole_names_only(db: TestDb) {
    let store = db.open().await;
    let writer = store.audit_writer(&AuditConfig::default());
    for (ms, host) in [(1, "gpu_1"), (2, "gpuX1"), (3, "gpu_10"), (4, "my%host")] {
        writer.append(call(ms, "alice", "shell", &[host], Outcome::Ok)).await.unwrap();
    }
    let hosts = |host: &str| {
        let filter = AuditFilter { host: Some(host.into()), ..AuditFilter::default() };
        let store = store.clone();
        async move { store.query_audit(&filter).await.unwrap().iter().map(|r| r.time.unix_millis()).collect::<Vec<_>>() }
    };
    assert_eq!(hosts("gpu_1").await, [1], "`_` is not a wildcard and gpu_10 is another host");
    assert_eq!(hosts("gpu%").await, Vec::<i64>::new());
    assert_eq!(hosts("my%host").await, [4]);
    assert_eq!(hosts("gpu").await, Vec::<i64>::new());
}

async fn cursor_follows_and_default_is_the_newest(db: TestDb) {
    let store = db.open().await;
    let writer = store.audit_writer(&AuditConfig::default());
    for ms in 1..=5 {
        writer.append(call(ms, "alice", "shell", &["gpu1"], Outcome::Ok)).await.unwrap();
    }
    let newest = store.query_audit(&AuditFilter { limit: Some(2), ..AuditFilter::default() }).await.unwrap();
    let times: Vec<i64> = newest.iter().map(|r| r.time.unix_millis()).collect();
    assert_eq!(times, [4, 5], "the newest records, oldest first");

    let first =
        store.query_audit(&AuditFilter { after_id: Some(0), limit: Some(3), ..AuditFilter::default() }).await.unwrap();
    let times: Vec<i64> = first.iter().map(|r| r.time.unix_millis()).collect();
    assert_eq!(times, [1, 2, 3], "after a cursor: the oldest first");
    let cursor = first.last().unwrap().id;
    writer.append(call(6, "alice", "shell", &["gpu1"], Outcome::Ok)).await.unwrap();
    let next = store.query_audit(&AuditFilter { after_id: cursor, ..AuditFilter::default() }).await.unwrap();
    let times: Vec<i64> = next.iter().map(|r| r.time.unix_millis()).collect();
    assert_eq!(times, [4, 5, 6]);
    let end = next.last().unwrap().id;
    assert!(store.query_audit(&AuditFilter { after_id: end, ..AuditFilter::default() }).await.unwrap().is_empty());
}

async fn prune_removes_old_records_and_ids_keep_growing(db: TestDb) {
    let store = db.open().await;
    let writer = store.audit_writer(&AuditConfig::default());
    for ms in [100, 200, 300] {
        writer.append(call(ms, "alice", "shell", &[], Outcome::Ok)).await.unwrap();
    }
    assert_eq!(store.prune_audit(Timestamp::from_unix_millis(250)).await.unwrap(), 2);
    let left = store.query_audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(left.iter().map(|r| r.time.unix_millis()).collect::<Vec<_>>(), [300]);
    let last_id = left[0].id.unwrap();
    assert_eq!(store.prune_audit(Timestamp::from_unix_millis(1000)).await.unwrap(), 1);
    assert_eq!(store.prune_audit(Timestamp::from_unix_millis(1000)).await.unwrap(), 0);
    writer.append(call(400, "alice", "shell", &[], Outcome::Ok)).await.unwrap();
    let after = store.query_audit(&AuditFilter { after_id: Some(last_id), ..AuditFilter::default() }).await.unwrap();
    assert_eq!(after.len(), 1, "a cursor taken before pruning everything still sees new records");
    assert!(after[0].id.unwrap() > last_id);
}

async fn long_text_is_capped(db: TestDb) {
    let store = db.open().await;
    let writer = store.audit_writer(&AuditConfig::default());
    let mut rec = call(1, "alice", "shell", &["gpu1"], Outcome::RpcError);
    rec.error = Some("é".repeat(5000));
    rec.client_name = Some("c".repeat(10_000));
    writer.append(rec).await.unwrap();
    let stored = store.query_audit(&AuditFilter::default()).await.unwrap().remove(0);
    let error = stored.error.unwrap();
    assert!(error.len() <= ERROR_CAP && error.ends_with('…'), "{}", error.len());
    assert!(stored.client_name.unwrap().len() <= 256);
}

async fn a_dropped_append_that_was_queued_is_written(db: TestDb) {
    let store = db.open().await;
    let writer = store.audit_writer(&AuditConfig::default());
    // Polled once (which queues it) and dropped before its commit.
    assert!(writer.append(call(1, "alice", "shell", &[], Outcome::Cancelled)).now_or_never().is_none());
    // Records are committed in order: once a later one is, so is the first.
    writer.append(call(2, "alice", "shell", &[], Outcome::Ok)).await.unwrap();
    let stored = store.query_audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(stored.iter().map(|r| r.time.unix_millis()).collect::<Vec<_>>(), [1, 2]);
}

async fn append_fails_instead_of_hanging_once_closed(db: TestDb) {
    let store = db.open().await;
    let writer = store.audit_writer(&AuditConfig::default());
    store.close().await;
    let err = writer.append(call(1, "alice", "shell", &[], Outcome::Ok)).await.unwrap_err();
    // The pool's error on PostgreSQL; the SQLite writer's own connection
    // closes with the store.
    assert!(matches!(err, StoreError::Database(_) | StoreError::Closed), "{err:?}");
    assert_eq!(writer.stats().failed, 1);
}
