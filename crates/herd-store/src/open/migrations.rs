//! The schema of each backend, embedded in the binary.
//!
//! The files under `migrations/<backend>/` are listed here by hand and fed to
//! sqlx's migrator, which records them in `_sqlx_migrations` (checksummed, in
//! order, under an advisory lock on PostgreSQL so replicas starting together
//! migrate once). This is what `sqlx::migrate!` generates; writing it out
//! keeps sqlx's proc-macro stack (which would compile SQLite and both drivers
//! a second time, for the host) out of the build. A test checks that every
//! file in those directories is listed.

use sqlx::SqlSafeStr as _;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// (version, description, SQL) of each SQLite migration, in order.
pub(super) const SQLITE: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, "replicas", include_str!("../../migrations/sqlite/0002_replicas.sql")),
    (3, "probe_leases", include_str!("../../migrations/sqlite/0003_probe_leases.sql")),
];

/// (version, description, SQL) of each PostgreSQL migration, in order.
pub(super) const POSTGRES: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/postgres/0001_init.sql")),
    (2, "replicas", include_str!("../../migrations/postgres/0002_replicas.sql")),
    (3, "probe_leases", include_str!("../../migrations/postgres/0003_probe_leases.sql")),
];

pub(super) fn sqlite() -> Migrator {
    migrator(SQLITE)
}

pub(super) fn postgres() -> Migrator {
    migrator(POSTGRES)
}

fn migrator(list: &[(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        list.iter()
            .map(|&(version, description, sql)| {
                Migration::new(version, description.into(), MigrationType::Simple, sql.into_sql_str(), false)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A migration file added to a directory but not to the list above
    /// would silently never run.
    #[test]
    fn every_migration_file_is_listed() {
        for (dir, list) in [("sqlite", SQLITE), ("postgres", POSTGRES)] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dir);
            let mut files: Vec<String> = std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n.ends_with(".sql"))
                .collect();
            files.sort();
            let listed: Vec<String> = list.iter().map(|(v, d, _)| format!("{v:04}_{d}.sql")).collect();
            assert_eq!(files, listed, "migrations/{dir}");
        }
    }

    #[test]
    fn both_backends_have_the_same_versions() {
        let versions = |l: &[(i64, &str, &str)]| l.iter().map(|(v, d, _)| (*v, d.to_string())).collect::<Vec<_>>();
        assert_eq!(versions(SQLITE), versions(POSTGRES));
    }
}
