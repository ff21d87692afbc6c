//! forge's schema migrations, embedded in the binary.
//!
//! The SQL lives in `forge/migrations/<dialect>/NNNN_<description>.sql` (`<dialect>` is
//! [`Dialect::as_str`]), one directory per dialect, kept
//! in step: the same numbered file exists in each, and `forge schema dump` on each gives the same
//! `schema.snapshot.json`. The files are compiled in with `include_str!` and applied with sqlx's
//! [`Migrator`] (which records them in `_sqlx_migrations`, checksums included, exactly as
//! `sqlx::migrate!` would), so the binary needs no migrations directory at run time.
//!
//! To add a migration: add `NNNN_<description>.sql` to all three directories and one entry to
//! [`MIGRATIONS`]; a test fails if a file is not registered.

use std::borrow::Cow;

use hoist::backend::{Database, Dialect};
use sqlx::SqlSafeStr;
use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};

use crate::ForgeError;

/// One migration: its version, description and SQL per dialect.
#[derive(Debug, Clone, Copy)]
pub struct MigrationFiles {
    pub version: i64,
    pub description: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
    pub mysql: &'static str,
}

/// Every migration, in version order.
pub const MIGRATIONS: &[MigrationFiles] = &[MigrationFiles {
    version: 1,
    description: "init",
    sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
    postgres: include_str!("../migrations/postgres/0001_init.sql"),
    mysql: include_str!("../migrations/mysql/0001_init.sql"),
}];

impl MigrationFiles {
    /// This migration's SQL for `dialect`.
    pub fn sql(&self, dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::Sqlite => self.sqlite,
            Dialect::Postgres => self.postgres,
            Dialect::MySql => self.mysql,
        }
    }
}

/// sqlx's migrator over the embedded migrations of `dialect`.
pub fn migrator(dialect: Dialect) -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|m| {
                Migration::new(
                    m.version,
                    Cow::Borrowed(m.description),
                    MigrationType::Simple,
                    m.sql(dialect).into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// Apply every pending forge migration to `db` (the dialect's set), recording them in
/// `_sqlx_migrations`. Idempotent: applied migrations are skipped, and a changed applied migration is an
/// error.
pub async fn migrate(db: &Database) -> Result<(), ForgeError> {
    let dialect = db.dialect();
    let migrator = migrator(dialect);
    let result = match (db.as_sqlite(), db.as_postgres(), db.as_mysql()) {
        (Some(pool), _, _) => migrator.run(pool).await,
        (_, Some(pool), _) => migrator.run(pool).await,
        (_, _, Some(pool)) => migrator.run(pool).await,
        (None, None, None) => Err(MigrateError::Source(
            "the database handle exposes no connection pool".into(),
        )),
    };
    result.map_err(|source| ForgeError::Migrate {
        dialect: dialect.as_str(),
        source,
    })?;
    tracing::info!(
        dialect = dialect.as_str(),
        migrations = MIGRATIONS.len(),
        "database migrated"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `.sql` file in every dialect directory is registered in [`MIGRATIONS`], and every
    /// registered version has its file in all three directories.
    #[test]
    fn every_migration_file_is_registered() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut expected: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{:04}_{}.sql", m.version, m.description))
            .collect();
        expected.sort();
        for dialect in ["sqlite", "postgres", "mysql"] {
            let mut found: Vec<String> = std::fs::read_dir(root.join(dialect))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".sql"))
                .collect();
            found.sort();
            assert_eq!(found, expected, "migrations/{dialect}");
        }
    }

    #[test]
    fn versions_are_increasing() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].version < w[1].version));
    }
}
