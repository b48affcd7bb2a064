use crate::support::{TestDb, on_both_backends};
use herd_store::{SPEC_CAP, StoreError};
use serde_json::json;

on_both_backends!(save_list_remove, bad_servers_are_refused);

async fn save_list_remove(db: TestDb) {
    let store = db.open().await;
    store.save_server("time", &json!({"uvx": "mcp-server-time"})).await.unwrap();
    store.save_server("everything", &json!({"npx": "@modelcontextprotocol/server-everything"})).await.unwrap();
    store.save_server("time", &json!({"uvx": "mcp-server-time", "args": ["--local-timezone", "UTC"]})).await.unwrap();
    // Another process (an agent after a restart) sees them.
    let listed = db.open().await.list_servers().await.unwrap();
    let names: Vec<&str> = listed.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["everything", "time"]);
    assert_eq!(listed[1].spec["args"][1], "UTC");
    store.remove_server("time").await.unwrap();
    assert_eq!(store.list_servers().await.unwrap().len(), 1);
    assert!(matches!(store.remove_server("time").await, Err(StoreError::NotFound(_))));
}

async fn bad_servers_are_refused(db: TestDb) {
    let store = db.open().await;
    let err = store.save_server("no spaces", &json!({})).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
    let err = store.save_server("big", &json!({"blob": "x".repeat(SPEC_CAP)})).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
    assert!(store.list_servers().await.unwrap().is_empty());
}
