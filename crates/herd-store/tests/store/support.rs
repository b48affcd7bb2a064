//! One database per test, of either backend, and the macro that runs a test
//! function against both.

use herd_store::{AuditRecord, NewUser, Outcome, Role, Store, Timestamp, User};
use tempfile::TempDir;

/// Where a test's database lives. Open it as often as needed: each
/// [`TestDb::open`] is a new pool, as a restarted process would have.
pub struct TestDb {
    pub target: String,
    _dir: Option<TempDir>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = dir.path().join("herd.db").to_str().expect("utf-8 temp path").to_owned();
        TestDb { target, _dir: Some(dir) }
    }

    pub async fn postgres() -> TestDb {
        let server = tokio::task::spawn_blocking(crate::pg::server).await.expect("start postgres");
        TestDb { target: server.create_database().await, _dir: None }
    }

    pub async fn open(&self) -> Store {
        Store::open(&self.target).await.expect("open store")
    }
}

/// Runs each named `async fn(TestDb)` once per backend, as
/// `<module>::sqlite::<name>` and `<module>::postgres::<name>`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::support::TestDb::sqlite()).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::support::TestDb::postgres().await).await
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;

pub async fn add(store: &Store, name: &str, role: Role) -> User {
    store.add_user(&NewUser::new(name, role)).await.expect("add user")
}

/// A `tools/call` record at `ms` by `user` to `hosts`.
pub fn call(ms: i64, user: &str, tool: &str, hosts: &[&str], outcome: Outcome) -> AuditRecord {
    let mut rec = AuditRecord::new(Timestamp::from_unix_millis(ms), "tools/call", outcome);
    rec.user = Some(user.to_owned());
    rec.target = Some(tool.to_owned());
    rec.hosts = hosts.iter().map(|h| h.to_string()).collect();
    rec.duration_ms = 5;
    rec
}
