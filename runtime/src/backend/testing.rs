//! Throwaway databases for tests (also used by other crates' integration tests).
//!
//! [`TestDb::postgres`] and [`TestDb::mysql`] create a uniquely named database
//! (`hoist_t_<pid>_<counter>_<random>`) on the server named by `HOIST_TEST_POSTGRES_URL` /
//! `HOIST_TEST_MYSQL_URL` (defaults: `postgres://postgres@127.0.0.1:5432/postgres`,
//! `mysql://root@127.0.0.1:3306/test`) and drop it again in [`TestDb::drop_db`] (or, as a
//! fallback, when the value is dropped). When the server does not answer they print a loud
//! message to stderr and return `None` so the test can skip, unless the `CI` environment variable
//! is set: then they panic and the test fails.
//!
//! ```no_run
//! # async fn t() {
//! use hoist::backend::testing::TestDb;
//! let Some(db) = TestDb::postgres().await else { return };
//! let database = db.connect().await;
//! // … use it …
//! database.close().await;
//! db.drop_db().await;
//! # }
//! ```

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection, MySqlConnection, PgConnection};

use super::Database;
use super::error::redact_url;

/// Environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_URL_ENV: &str = "HOIST_TEST_POSTGRES_URL";
/// Environment variable naming the MySQL/MariaDB server for tests.
pub const MYSQL_URL_ENV: &str = "HOIST_TEST_MYSQL_URL";
/// Default PostgreSQL server when [`POSTGRES_URL_ENV`] is unset.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Default MySQL/MariaDB server when [`MYSQL_URL_ENV`] is unset.
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Which backend a [`TestDb`] lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TestDbKind {
    Sqlite,
    Postgres,
    MySql,
}

impl TestDbKind {
    /// Every kind, SQLite first.
    pub const ALL: [TestDbKind; 3] = [TestDbKind::Sqlite, TestDbKind::Postgres, TestDbKind::MySql];
}

/// A throwaway database; see the module docs.
#[derive(Debug)]
pub struct TestDb {
    kind: TestDbKind,
    url: String,
    server: Option<Server>,
    _dir: Option<tempfile::TempDir>,
}

/// Where a server database lives, to drop it.
#[derive(Debug)]
struct Server {
    admin_url: String,
    name: String,
}

impl TestDb {
    /// A fresh SQLite database in a temporary file (removed when the value is dropped).
    ///
    /// # Panics
    /// When no temporary directory can be created.
    pub fn sqlite() -> TestDb {
        let dir = match tempfile::Builder::new().prefix("hoist_t_").tempdir() {
            Ok(dir) => dir,
            Err(e) => panic!("cannot create a temporary directory for a SQLite test database: {e}"),
        };
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("test.sqlite").display()
        );
        TestDb {
            kind: TestDbKind::Sqlite,
            url,
            server: None,
            _dir: Some(dir),
        }
    }

    /// A fresh PostgreSQL database, or `None` (test skipped) when the server does not answer
    /// and `CI` is unset.
    pub async fn postgres() -> Option<TestDb> {
        Self::server(TestDbKind::Postgres).await
    }

    /// A fresh MySQL/MariaDB database, or `None` (test skipped) when the server does not answer
    /// and `CI` is unset.
    pub async fn mysql() -> Option<TestDb> {
        Self::server(TestDbKind::MySql).await
    }

    /// A fresh database of `kind` (`None` only for an unreachable server outside CI).
    pub async fn create(kind: TestDbKind) -> Option<TestDb> {
        match kind {
            TestDbKind::Sqlite => Some(Self::sqlite()),
            _ => Self::server(kind).await,
        }
    }

    /// The database's URL, for [`Database::connect`] or the app under test.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn kind(&self) -> TestDbKind {
        self.kind
    }

    /// Connect to this database.
    ///
    /// # Panics
    /// When the connection fails (the server answered a moment ago).
    pub async fn connect(&self) -> Database {
        match Database::connect(&self.url).await {
            Ok(db) => db,
            Err(e) => panic!(
                "cannot connect to test database {}: {e}",
                redact_url(&self.url)
            ),
        }
    }

    /// Drop the database (server kinds) or remove its file (SQLite). Close pools first.
    pub async fn drop_db(mut self) {
        if let Some(server) = self.server.take()
            && let Err(e) = drop_server_db(self.kind, &server).await
        {
            eprintln!("warning: could not drop test database {}: {e}", server.name);
        }
    }

    async fn server(kind: TestDbKind) -> Option<TestDb> {
        let (env, default) = match kind {
            TestDbKind::Postgres => (POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL),
            TestDbKind::MySql => (MYSQL_URL_ENV, DEFAULT_MYSQL_URL),
            TestDbKind::Sqlite => return Some(Self::sqlite()),
        };
        let admin_url = std::env::var(env)
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| default.to_owned());
        let name = format!(
            "hoist_t_{}_{}_{:08x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        let created = match kind {
            TestDbKind::Postgres => {
                admin_execute::<PgConnection>(&admin_url, &format!("CREATE DATABASE \"{name}\""))
                    .await
            }
            _ => {
                admin_execute::<MySqlConnection>(
                    &admin_url,
                    &format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"),
                )
                .await
            }
        };
        if let Err(e) = created {
            let message = format!(
                "{kind:?} test server at {} is not usable ({e}); set {env} to a server URL",
                redact_url(&admin_url)
            );
            if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
                panic!("{message} (CI is set, so this test fails instead of skipping)");
            }
            eprintln!("\n!!!!!!!! SKIPPING TEST: {message} !!!!!!!!\n");
            return None;
        }
        let url = with_database(&admin_url, &name);
        Some(TestDb {
            kind,
            url,
            server: Some(Server { admin_url, name }),
            _dir: None,
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(server) = self.server.take() else {
            return;
        };
        let kind = self.kind;
        // Not dropped by `drop_db` (a panic, or the test forgot): drop it from a helper thread
        // with its own runtime, since `Drop` cannot await.
        let joined = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            match runtime {
                Ok(rt) => rt.block_on(drop_server_db(kind, &server)),
                Err(e) => Err(e.to_string()),
            }
            .map_err(|e| format!("{}: {e}", server.name))
        })
        .join();
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: could not drop test database {e}"),
            Err(_) => eprintln!("warning: dropping a test database panicked"),
        }
    }
}

async fn drop_server_db(kind: TestDbKind, server: &Server) -> Result<(), String> {
    match kind {
        TestDbKind::Postgres => {
            admin_execute::<PgConnection>(
                &server.admin_url,
                &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", server.name),
            )
            .await
        }
        TestDbKind::MySql => {
            admin_execute::<MySqlConnection>(
                &server.admin_url,
                &format!("DROP DATABASE IF EXISTS `{}`", server.name),
            )
            .await
        }
        TestDbKind::Sqlite => Ok(()),
    }
}

/// Run one statement on a fresh connection to the admin URL (with a connect timeout).
async fn admin_execute<C>(admin_url: &str, sql: &str) -> Result<(), String>
where
    C: Connection,
    for<'c> &'c mut C: sqlx::Executor<'c, Database = C::Database>,
{
    let url = admin_url.replacen("mariadb://", "mysql://", 1);
    let mut conn = match tokio::time::timeout(CONNECT_TIMEOUT, C::connect(&url)).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => return Err(format!("no answer within {CONNECT_TIMEOUT:?}")),
    };
    let result = sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .map(drop)
        .map_err(|e| e.to_string());
    let _ = conn.close().await;
    result
}

/// `scheme://auth/olddb?query` → `scheme://auth/<name>?query`.
fn with_database(url: &str, name: &str) -> String {
    let (head, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (auth, tail) = rest.split_at(auth_end);
    let query = tail.find('?').map(|q| &tail[q..]).unwrap_or("");
    format!("{head}{auth}/{name}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("mysql://root@127.0.0.1:3306/test?ssl-mode=disabled", "x"),
            "mysql://root@127.0.0.1:3306/x?ssl-mode=disabled"
        );
        assert_eq!(
            with_database("mysql://root@localhost", "x"),
            "mysql://root@localhost/x"
        );
    }
}
