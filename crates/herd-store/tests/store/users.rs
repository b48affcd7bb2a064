use crate::support::{TestDb, add, on_both_backends};
use herd_store::{NewUser, Role, StoreError, UserChange};

on_both_backends!(
    add_find_list_count,
    duplicate_name_is_a_conflict,
    set_user_changes_only_what_it_names,
    disable_user,
    last_enabled_admin_is_kept,
    concurrent_demotions_leave_an_admin,
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

fn is_last_admin<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::LastAdmin))
}

async fn last_enabled_admin_is_kept(db: TestDb) {
    let store = db.open().await;
    let alice = add(&store, "alice", Role::Admin).await;
    add(&store, "bob", Role::Operator).await;
    let demote = UserChange { role: Some(Role::Operator), ..UserChange::default() };
    let disable = UserChange { disabled: Some(true), ..UserChange::default() };
    assert!(is_last_admin(store.disable_user("alice").await));
    assert!(is_last_admin(store.set_user("alice", &demote).await));
    assert!(is_last_admin(store.set_user("alice", &disable).await));
    assert_eq!(store.user_by_name("alice").await.unwrap(), Some(alice));
    let narrowed = UserChange { hosts: Some(vec!["gpu*".into()]), ..UserChange::default() };
    assert_eq!(store.set_user("alice", &narrowed).await.unwrap().hosts, vec!["gpu*".to_string()]);
    assert!(store.disable_user("bob").await.unwrap().disabled);

    add(&store, "carol", Role::Admin).await;
    assert!(store.disable_user("alice").await.unwrap().disabled);
    assert!(is_last_admin(store.set_user("carol", &demote).await));
    assert_eq!(store.set_user("alice", &demote).await.unwrap().role, Role::Operator, "alice was not enabled");
    let promote = UserChange { role: Some(Role::Admin), disabled: Some(false), ..UserChange::default() };
    store.set_user("bob", &promote).await.unwrap();
    assert_eq!(store.set_user("carol", &demote).await.unwrap().role, Role::Operator);
    let err = store.set_user("nobody", &disable).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

/// Two admins, each demoted by a different connection at once: exactly one
/// change wins, whatever the interleaving.
async fn concurrent_demotions_leave_an_admin(db: TestDb) {
    let (one, two) = (db.open().await, db.open().await);
    add(&one, "alice", Role::Admin).await;
    add(&one, "bob", Role::Admin).await;
    let demote = UserChange { role: Some(Role::Operator), ..UserChange::default() };
    let restore = UserChange { role: Some(Role::Admin), disabled: Some(false), ..UserChange::default() };
    for round in 0..20 {
        let (a, b) = tokio::join!(one.set_user("alice", &demote), two.disable_user("bob"));
        let refused = [is_last_admin(a.clone()), is_last_admin(b.clone())];
        assert_eq!(refused.iter().filter(|r| **r).count(), 1, "round {round}: {a:?} {b:?}");
        assert!(a.is_ok() || b.is_ok(), "round {round}: {a:?} {b:?}");
        let admins = one.list_users().await.unwrap().into_iter().filter(|u| u.role == Role::Admin && !u.disabled);
        assert_eq!(admins.count(), 1, "round {round}");
        for name in ["alice", "bob"] {
            one.set_user(name, &restore).await.unwrap();
        }
    }
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
