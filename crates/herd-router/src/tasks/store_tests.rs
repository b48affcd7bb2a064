#![allow(clippy::unwrap_used)]

use super::*;
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr};

fn owner(last: u8) -> Owner {
    Owner::address(IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)))
}

fn store(max_tasks: usize, max_per_owner: usize) -> TaskStore {
    TaskStore::new(TaskLimits { max_tasks, max_per_owner, ..TaskLimits::default() }, String::new())
}

fn raw(text: &str) -> Box<RawValue> {
    RawValue::from_string(text.to_owned()).unwrap()
}

#[test]
fn a_task_is_found_by_its_owner_only() {
    let store = store(10, 10);
    let task = store.create(owner(1), CancellationToken::new()).unwrap();
    assert_eq!(task.id.len(), 22, "128 bits in URL-safe Base64");
    assert!(Arc::ptr_eq(&store.get(&owner(1), &task.id).unwrap(), &task));
    assert_eq!(store.get(&owner(2), &task.id).err(), Some(TaskError::NotFound(task.id.clone())));
    assert!(matches!(store.get(&owner(1), "no-such-task"), Err(TaskError::NotFound(_))));
    let other = store.create(owner(1), CancellationToken::new()).unwrap();
    assert_ne!(other.id, task.id);
    // A replica of several names itself in its tasks' ids.
    let replica = TaskStore::new(TaskLimits::default(), "0a1b2c3d.".into());
    let named = replica.create(owner(1), CancellationToken::new()).unwrap();
    assert!(named.id.starts_with("0a1b2c3d.") && named.id.len() == 31, "{}", named.id);
}

#[test]
fn the_owner_cap_makes_room_only_from_fetched_results() {
    let store = store(10, 2);
    let first = store.create(owner(1), CancellationToken::new()).unwrap();
    let second = store.create(owner(1), CancellationToken::new()).unwrap();
    let refused = store.create(owner(1), CancellationToken::new()).err().unwrap();
    assert_eq!(refused, TaskError::OwnerFull(2));
    assert!(RpcError::from(refused).message.contains("limit 2"));
    // Another owner is not held back by this one.
    store.create(owner(2), CancellationToken::new()).unwrap();

    first.finish(Ok(raw(r#"{"content":[]}"#)));
    assert!(store.create(owner(1), CancellationToken::new()).is_err(), "a result nobody fetched is kept");
    assert_eq!(first.snapshot().status, Status::Completed);
    let third = store.create(owner(1), CancellationToken::new()).unwrap();
    assert!(store.get(&owner(1), &first.id).is_err(), "the fetched result made room");
    assert!(store.get(&owner(1), &second.id).is_ok());

    second.cancel();
    store.create(owner(1), CancellationToken::new()).unwrap();
    assert!(store.get(&owner(1), &second.id).is_err(), "a cancelled task holds nothing to keep");
    assert!(store.get(&owner(1), &third.id).is_ok());
}

#[test]
fn a_discarded_task_frees_its_slot() {
    let store = store(10, 1);
    let work = CancellationToken::new();
    let task = store.create(owner(1), work.clone()).unwrap();
    store.discard(&task);
    assert!(!work.is_cancelled(), "the work goes on in place");
    assert!(store.get(&owner(1), &task.id).is_err());
    store.create(owner(1), CancellationToken::new()).unwrap();
}

#[test]
fn the_table_is_bounded() {
    let store = store(2, 10);
    store.create(owner(1), CancellationToken::new()).unwrap();
    store.create(owner(2), CancellationToken::new()).unwrap();
    assert_eq!(store.create(owner(3), CancellationToken::new()).err(), Some(TaskError::Full(2)));
}

#[test]
fn an_expired_task_is_gone_and_its_work_stopped() {
    let store = TaskStore::new(TaskLimits { ttl: Duration::ZERO, ..TaskLimits::default() }, String::new());
    let work = CancellationToken::new();
    let task = store.create(owner(1), work.clone()).unwrap();
    assert!(store.get(&owner(1), &task.id).is_err());
    assert!(work.is_cancelled());
    assert_eq!(store.len(), 0);
}

#[test]
fn cancel_ends_a_running_task_once() {
    let store = store(10, 10);
    let work = CancellationToken::new();
    let task = store.create(owner(1), work.clone()).unwrap();
    let mut changes = task.changes();
    task.cancel();
    assert!(work.is_cancelled());
    assert!(changes.has_changed().unwrap());
    assert_eq!(*changes.borrow_and_update(), Status::Cancelled);
    // The work ending afterwards does not overwrite the status.
    task.finish(Err(RpcError::internal("stopped")));
    task.cancel();
    let snapshot = task.snapshot();
    assert_eq!(snapshot.status, Status::Cancelled);
    assert!(snapshot.error.is_none());
}

#[tokio::test]
async fn questions_park_the_task_until_all_are_answered() {
    let store = store(10, 10);
    let task = store.create(owner(1), CancellationToken::new()).unwrap();
    let first = task.ask(Some("first"), "elicitation/create", raw("{}"));
    let second = task.ask(None, "elicitation/create", raw(r#"{"message":"?"}"#));
    let snapshot = task.snapshot();
    assert_eq!(snapshot.status, Status::InputRequired);
    let keys: Vec<_> = snapshot.questions.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(keys, ["elicitation-1", "first"]);

    let answers = json!({ "first": { "action": "accept" }, "unknown": {} });
    task.answer(answers.as_object().unwrap().clone());
    assert_eq!(first.await.unwrap(), json!({ "action": "accept" }));
    let snapshot = task.snapshot();
    assert_eq!(snapshot.status, Status::InputRequired);
    assert_eq!(snapshot.questions.len(), 1);

    task.answer(json!({ "elicitation-1": { "action": "decline" } }).as_object().unwrap().clone());
    assert_eq!(second.await.unwrap(), json!({ "action": "decline" }));
    assert_eq!(task.snapshot().status, Status::Working);
    task.finish(Ok(raw(r#"{"content":[]}"#)));
    assert_eq!(task.snapshot().status, Status::Completed);
}

#[tokio::test]
async fn a_cancelled_task_drops_its_questions() {
    let store = store(10, 10);
    let task = store.create(owner(1), CancellationToken::new()).unwrap();
    let question = task.ask(Some("k"), "roots/list", raw("{}"));
    task.cancel();
    assert!(question.await.is_err());
    assert!(task.snapshot().questions.is_empty());
}
