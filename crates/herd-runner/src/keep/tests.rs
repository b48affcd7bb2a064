#![allow(clippy::unwrap_used)]

use super::*;
use crate::RunnerConfig;
use herd_store::Store;
use serde_json::json;
use std::path::Path;

/// A server that is never started, so no process is involved.
fn idle(name: &str, arg: &str) -> ServerSpec {
    let value = json!({ "name": name, "command": "true", "args": [arg], "autostart": false });
    serde_json::from_value(value).unwrap()
}

async fn runner(dir: &Path) -> (Runner, Store) {
    let store = Store::open(dir.join("herd.db").to_str().unwrap()).await.unwrap();
    let config = RunnerConfig { store: Some(store.clone()), ..RunnerConfig::new(dir.join("servers")) };
    (Runner::new(config), store)
}

async fn saved(store: &Store) -> Vec<String> {
    store.list_servers().await.unwrap().into_iter().map(|r| r.name).collect()
}

fn args_of(runner: &Runner, name: &str) -> Vec<String> {
    runner.server(name).unwrap().spec.args.clone()
}

#[tokio::test]
async fn only_kept_loads_are_saved_and_a_new_runner_restores_them_after_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let (first, store) = runner(dir.path()).await;
    first.load_server(idle("kept", "loaded"), Keep::Yes).await.unwrap();
    first.load_server(idle("shadowed", "loaded"), Keep::Yes).await.unwrap();
    first.load(idle("configured", "config")).await.unwrap();
    assert_eq!(saved(&store).await, ["kept", "shadowed"], "a server of the config is never saved");
    // A spec an older agent saved that this one cannot read is skipped.
    store.save_server("unreadable", &json!({ "name": "unreadable", "no_such_field": 1 })).await.unwrap();
    store.save_server("misnamed", &serde_json::to_value(idle("other", "x")).unwrap()).await.unwrap();
    first.shutdown().await;

    let (second, _) = runner(dir.path()).await;
    second.load(idle("shadowed", "config")).await.unwrap();
    assert_eq!(second.restore().await.unwrap(), 1, "only `kept` is restored");
    let mut names: Vec<String> = second.list().into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(names, ["kept", "shadowed"]);
    assert_eq!(args_of(&second, "kept"), ["loaded"], "restored as it was loaded");
    assert_eq!(args_of(&second, "shadowed"), ["config"], "the config wins a name both use");
    second.shutdown().await;
}

#[tokio::test]
async fn a_kept_unload_forgets_the_server_even_when_it_does_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, store) = runner(dir.path()).await;
    runner.load_server(idle("a", "1"), Keep::Yes).await.unwrap();
    runner.load_server(idle("b", "1"), Keep::Yes).await.unwrap();

    assert!(runner.unload_server("a", Keep::Yes).await.unwrap());
    assert_eq!(saved(&store).await, ["b"]);
    // Stopped without the store (as at shutdown): still saved.
    assert!(runner.unload("b").await);
    assert_eq!(saved(&store).await, ["b"]);
    assert!(runner.unload_server("b", Keep::Yes).await.unwrap(), "a saved server is there to unload");
    assert!(saved(&store).await.is_empty());
    assert!(!runner.unload_server("b", Keep::Yes).await.unwrap(), "nothing left of it");
}

#[tokio::test]
async fn a_spec_too_large_to_save_is_refused_and_not_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, store) = runner(dir.path()).await;
    let mut big = idle("big", "x");
    big.args = vec!["y".repeat(herd_store::SPEC_CAP)];
    let Err(error) = runner.load_server(big, Keep::Yes).await else { panic!("loaded a spec it could not save") };
    assert!(matches!(error, LoadError::Spec(_)), "the caller's to fix: {error}");
    assert!(error.to_string().contains("at most 65536"), "{error}");
    assert!(runner.list().is_empty() && saved(&store).await.is_empty());
}
