use crate::support::{TestDb, add, on_both_backends};
use herd_store::{Backend, Role, Store, StoreError, StoreOptions};
use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

on_both_backends!(
    migrations_are_idempotent,
    replicas_open_the_same_database_at_once,
    a_locked_table_fails_within_the_deadline,
    ping_answers_while_the_database_does
);

async fn ping_answers_while_the_database_does(db: TestDb) {
    let store = db.open().await;
    store.ping().await.unwrap();
    store.close().await;
    assert!(store.ping().await.is_err(), "a closed store does not answer");
}

async fn migrations_are_idempotent(db: TestDb) {
    let store = db.open().await;
    add(&store, "alice", Role::Admin).await;
    store.close().await;
    let again = db.open().await;
    assert_eq!(again.count_users().await.unwrap(), 1, "a second open keeps the data");
    let third = db.open().await;
    assert_eq!(third.list_users().await.unwrap().len(), 1);
}

async fn replicas_open_the_same_database_at_once(db: TestDb) {
    let (a, b, c) = tokio::join!(db.open(), db.open(), db.open());
    add(&a, "alice", Role::Admin).await;
    assert_eq!(b.count_users().await.unwrap(), 1);
    assert_eq!(c.user_by_name("alice").await.unwrap().unwrap().role, Role::Admin);
}

/// Another connection holds a write lock; a write through the store gives
/// up within its deadline instead of waiting for ever.
async fn a_locked_table_fails_within_the_deadline(db: TestDb) {
    use sqlx::Connection as _;
    let options = StoreOptions { timeout: Duration::from_secs(1), ..StoreOptions::default() };
    let store = Store::open_with(&db.target, &options).await.unwrap();
    let lock = match store.backend() {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE",
    };
    let url = match store.backend() {
        Backend::Sqlite => format!("sqlite://{}", db.target),
        Backend::Postgres => db.target.clone(),
    };
    let err = match store.backend() {
        Backend::Sqlite => {
            let mut holder = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(lock).execute(&mut holder).await.unwrap();
            store.add_user(&herd_store::NewUser::new("alice", Role::Admin)).await.unwrap_err()
        }
        Backend::Postgres => {
            let mut holder = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(lock).execute(&mut holder).await.unwrap();
            store.add_user(&herd_store::NewUser::new("alice", Role::Admin)).await.unwrap_err()
        }
    };
    assert!(matches!(err, StoreError::Database(_) | StoreError::Timeout(_)), "{err:?}");
}

#[tokio::test]
async fn sqlite_file_is_private_and_its_directory_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("home/nested/herd.db");
    let store = Store::open(path.to_str().unwrap()).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    add(&store, "alice", Role::Admin).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    let wal = path.with_extension("db-wal");
    assert!(wal.exists(), "WAL mode");
    assert_eq!(mode(&wal), 0o600);
}

#[tokio::test]
async fn sqlite_url_and_default_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = herd_store::default_path(dir.path());
    assert_eq!(path.file_name().unwrap(), herd_store::DEFAULT_FILE_NAME);
    let store = Store::open(&format!("sqlite://{}", path.display())).await.unwrap();
    add(&store, "alice", Role::Admin).await;
    let by_path = Store::open(path.to_str().unwrap()).await.unwrap();
    assert_eq!(by_path.count_users().await.unwrap(), 1, "the URL and the path name the same file");
}

#[tokio::test]
async fn unknown_schemes_are_refused() {
    let err = Store::open("mysql://localhost/herd").await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
}

/// A server that accepts and never answers (half-open): opening gives up at
/// the deadline.
#[tokio::test]
async fn open_gives_up_on_a_postgres_that_never_answers() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let _keep = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let options = StoreOptions { timeout: Duration::from_millis(500), ..StoreOptions::default() };
    let err = Store::open_with(&format!("postgres://herd@127.0.0.1:{port}/herd"), &options).await.unwrap_err();
    assert!(matches!(err, StoreError::Timeout(_) | StoreError::Database(_)), "{err:?}");
}

#[tokio::test]
async fn postgres_store_says_its_backend() {
    let db = TestDb::postgres().await;
    assert_eq!(db.open().await.backend(), Backend::Postgres);
}
