use crate::support::{TestDb, add, on_both_backends};
use herd_store::{NewUser, Role, StoreError, UserChange};

on_both_backends!(
    add_find_list_count,
    duplicate_name_is_a_conflict,
    set_user_changes_only_what_it_names,
    disable_user,
    bad_input_is_refused
);

async fn add_find_list_count(db: TestDb) {
    let store = db.open().await;
    assert_eq!(store.count_users().await.unwrap(), 0);
    let new = NewUser {
        hosts: vec!["gpu*".into(), "@lab".into()],
        tools: vec!["read_*".into()],
        ..NewUser::new("bob", Role::Operator)
    };
    let bob = store.add_user(&new).await.unwrap();
    let alice = add(&store, "alice", Role::Admin).await;
    assert_ne!(bob.id, alice.id);
    assert_eq!(
        (bob.role, bob.hosts.clone(), bob.tools.clone(), bob.disabled),
        (Role::Operator, new.hosts.clone(), new.tools.clone(), false)
    );
    assert_eq!(store.user_by_name("bob").await.unwrap(), Some(bob.clone()));
    assert_eq!(store.user_by_name("carol").await.unwrap(), None);
    assert_eq!(store.list_users().await.unwrap(), vec![alice, bob]);
    assert_eq!(store.count_users().await.unwrap(), 2);
}

async fn duplicate_name_is_a_conflict(db: TestDb) {
    let store = db.open().await;
    add(&store, "alice", Role::Admin).await;
    let err = store.add_user(&NewUser::new("alice", Role::Viewer)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.user_by_name("alice").await.unwrap().unwrap().role, Role::Admin);
}

async fn set_user_changes_only_what_it_names(db: TestDb) {
    let store = db.open().await;
    let new = NewUser { hosts: vec!["gpu1".into()], ..NewUser::new("bob", Role::Viewer) };
    let before = store.add_user(&new).await.unwrap();
    let after =
        store.set_user("bob", &UserChange { role: Some(Role::Operator), ..UserChange::default() }).await.unwrap();
    assert_eq!((after.role, &after.hosts, &after.tools), (Role::Operator, &before.hosts, &before.tools));
    let after = store
        .set_user(
            "bob",
            &UserChange { hosts: Some(vec![]), tools: Some(vec!["list_dir".into()]), ..UserChange::default() },
        )
        .await
        .unwrap();
    assert_eq!((after.role, after.hosts.len(), after.tools.clone()), (Role::Operator, 0, vec!["list_dir".to_string()]));
    assert_eq!(store.user_by_name("bob").await.unwrap(), Some(after));
    let err = store.set_user("nobody", &UserChange::default()).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

async fn disable_user(db: TestDb) {
    let store = db.open().await;
    add(&store, "bob", Role::Operator).await;
    assert!(store.disable_user("bob").await.unwrap().disabled);
    assert!(store.user_by_name("bob").await.unwrap().unwrap().disabled);
    let enabled = store.set_user("bob", &UserChange { disabled: Some(false), ..UserChange::default() }).await.unwrap();
    assert!(!enabled.disabled);
    assert!(matches!(store.disable_user("nobody").await, Err(StoreError::NotFound(_))));
}

async fn bad_input_is_refused(db: TestDb) {
    let store = db.open().await;
    for new in [
        NewUser::new("", Role::Admin),
        NewUser::new("a b", Role::Admin),
        NewUser { hosts: vec!["gpu 1".into()], ..NewUser::new("ok", Role::Admin) },
        NewUser { tools: vec!["x".into(); 65], ..NewUser::new("ok", Role::Admin) },
    ] {
        let err = store.add_user(&new).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid { .. }), "{new:?}: {err:?}");
    }
    assert_eq!(store.count_users().await.unwrap(), 0);
}
