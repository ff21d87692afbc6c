//! Scratch databases: uniquely named PostgreSQL databases the bench creates, and drops at the end.
//!
//! Names are `hoist_bench_<pid>_<stamp>_<role>` (`<stamp>`: the start time's nanoseconds, hex), so
//! concurrent benches and test runs never share a database. [`Scratch::drop_all`] drops every
//! database created through it (`DROP DATABASE … WITH (FORCE)`, which also ends sessions a killed
//! child left behind); the caller runs it whatever the outcome of the bench.

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use url::Url;

use crate::BenchError;

/// The server and the databases created on it.
#[derive(Debug)]
pub struct Scratch {
    admin: Url,
    prefix: String,
    created: Vec<String>,
}

impl Scratch {
    /// Scratch databases on the server of `admin_url` (a `postgres://` URL of an existing
    /// database the bench connects to for `CREATE`/`DROP DATABASE`).
    pub fn new(admin_url: &str) -> Result<Scratch, BenchError> {
        let admin = parse_postgres_url(admin_url)?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32).rotate_left(16))
            .unwrap_or_default();
        Ok(Scratch {
            admin,
            prefix: format!("hoist_bench_{}_{stamp:08x}", std::process::id()),
            created: Vec::new(),
        })
    }

    /// The admin database's URL.
    pub fn admin_url(&self) -> &str {
        self.admin.as_str()
    }

    /// Create the database for `role` (`src`, `hoist1`, …) and return its URL.
    pub async fn create(&mut self, role: &str) -> Result<ScratchDb, BenchError> {
        let name = format!("{}_{role}", self.prefix);
        let mut conn = self.connect_admin().await?;
        let sql = format!("CREATE DATABASE {}", quote_ident(&name));
        let created = sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .map_err(BenchError::db("CREATE DATABASE", &name));
        let _ = conn.close().await;
        created?;
        self.created.push(name.clone());
        Ok(ScratchDb {
            url: url_for_database(&self.admin, &name),
            name,
        })
    }

    /// Drop one database created here (before the end, to free disk space).
    pub async fn drop_db(&mut self, db: &ScratchDb) -> Result<(), BenchError> {
        let mut conn = self.connect_admin().await?;
        let result = drop_database(&mut conn, &db.name).await;
        let _ = conn.close().await;
        result?;
        self.created.retain(|n| n != &db.name);
        Ok(())
    }

    /// Drop every database created here; failures are logged and returned.
    pub async fn drop_all(&mut self) -> Vec<BenchError> {
        if self.created.is_empty() {
            return Vec::new();
        }
        let mut errors = Vec::new();
        let mut conn = match self.connect_admin().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(databases = ?self.created, "cannot drop the bench's databases: {}", e.one_line());
                errors.push(e);
                return errors;
            }
        };
        for name in std::mem::take(&mut self.created) {
            match drop_database(&mut conn, &name).await {
                Ok(()) => tracing::debug!(database = %name, "dropped"),
                Err(e) => {
                    tracing::error!("{}", e.one_line());
                    errors.push(e);
                }
            }
        }
        let _ = conn.close().await;
        errors
    }

    async fn connect_admin(&self) -> Result<PgConnection, BenchError> {
        let database = self.admin.path().trim_start_matches('/').to_owned();
        PgConnection::connect(self.admin.as_str())
            .await
            .map_err(BenchError::db("connecting", &database))
    }
}

/// A database created by [`Scratch::create`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScratchDb {
    pub name: String,
    pub url: String,
}

async fn drop_database(conn: &mut PgConnection, name: &str) -> Result<(), BenchError> {
    let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(name));
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(BenchError::db("DROP DATABASE", name))
}

/// Parse a `postgres://` / `postgresql://` URL.
pub fn parse_postgres_url(url: &str) -> Result<Url, BenchError> {
    let invalid = |reason: String| BenchError::InvalidUrl {
        url: redact(url),
        reason,
    };
    let parsed = Url::parse(url).map_err(|e| invalid(e.to_string()))?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return Err(invalid(format!(
            "the bench needs PostgreSQL (`postgres://…`), not `{}:`",
            parsed.scheme()
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host".into()));
    }
    Ok(parsed)
}

/// The URL of database `name` on the server of `admin` (user, password, host, port and query
/// parameters kept).
pub fn url_for_database(admin: &Url, name: &str) -> String {
    let mut url = admin.clone();
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// `url` without its password (for messages).
pub fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<unparsable URL>".into(),
    }
}

/// A PostgreSQL identifier, double-quoted.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_keep_everything_but_the_path() {
        let admin =
            parse_postgres_url("postgres://u:p%40ss@db.example:6543/postgres?sslmode=disable")
                .unwrap();
        assert_eq!(
            url_for_database(&admin, "hoist_bench_1_src"),
            "postgres://u:p%40ss@db.example:6543/hoist_bench_1_src?sslmode=disable"
        );
        let bare = parse_postgres_url("postgresql://postgres@127.0.0.1").unwrap();
        assert_eq!(
            url_for_database(&bare, "x"),
            "postgresql://postgres@127.0.0.1/x"
        );
    }

    #[test]
    fn other_schemes_are_refused() {
        let e = parse_postgres_url("mysql://root@127.0.0.1/test").unwrap_err();
        assert!(e.to_string().contains("needs PostgreSQL"), "{e}");
        assert!(parse_postgres_url("not a url").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        let e = parse_postgres_url("mysql://u:secret@h/db").unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("notes"), "\"notes\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn names_are_unique_per_scratch() {
        let a = Scratch::new("postgres://postgres@127.0.0.1/postgres").unwrap();
        assert!(
            a.prefix
                .starts_with(&format!("hoist_bench_{}_", std::process::id()))
        );
        // PostgreSQL truncates identifiers at 63 bytes; the longest role we use is short.
        assert!(a.prefix.len() + "_django".len() < 63);
    }
}
