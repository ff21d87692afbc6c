//! SQLite on sqlx's SQLite driver.
//!
//! * Connections: `foreign_keys = ON`, WAL journal (file databases), a busy timeout. An in-memory
//!   database lives in one connection that the pool never closes, so every handle sees it (and a
//!   second transaction waits for the first to end).
//! * Export snapshot: a deferred transaction that reads at once, so its snapshot is fixed; with
//!   WAL, writers continue meanwhile.
//! * Import: `BEGIN IMMEDIATE` (the write lock is ours until commit), ids counted up from
//!   `MAX(id)` and `sqlite_sequence` (AUTOINCREMENT tables never reuse ids).
//! * Values: integers and booleans (0/1) as INTEGER, timestamps as canonical text
//!   (`YYYY-MM-DD HH:MM:SS.ffffff`, see [`super::timestamp`]), JSON as text, binary as BLOB.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool,
    SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Arguments, AssertSqlSafe, Row as _, Sqlite, Transaction, TypeInfo, ValueRef};

use super::error::{BackendError, DecodeFailure, redact_url};
use super::exec::{Driver, probe, unsupported_bind};
use super::sql::{Bind, Statement, quote_ident};
use super::{Dialect, timestamp};
use crate::value::{LogicalType, Value};

/// How long a statement waits for another connection's lock before failing with SQLITE_BUSY.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

pub(crate) async fn connect(url: &str) -> Result<SqlitePool, BackendError> {
    let options =
        SqliteConnectOptions::from_str(url).map_err(|source| BackendError::InvalidUrl {
            url: redact_url(url),
            source,
        })?;
    let target = if is_memory(url) {
        "in-memory SQLite database".to_owned()
    } else {
        format!("SQLite database {}", options.get_filename().display())
    };
    let options = options.foreign_keys(true).busy_timeout(BUSY_TIMEOUT);
    let pool = if is_memory(url) {
        // One connection, never closed: the database lives as long as it does.
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
    } else {
        let options = if url.contains("mode=ro") {
            options
        } else {
            options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
        };
        match probe::<SqliteConnection>(&options).await {
            Ok(()) => {
                SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(options)
                    .await
            }
            Err(e) => Err(e),
        }
    };
    pool.map_err(|source| BackendError::Connect { target, source })
}

pub(crate) async fn begin_snapshot(
    pool: &SqlitePool,
) -> Result<Transaction<'static, Sqlite>, BackendError> {
    let err = |e| BackendError::query("begin snapshot", "transaction", e);
    let mut tx = pool.begin_with("BEGIN DEFERRED").await.map_err(err)?;
    // A deferred transaction takes its read snapshot at the first read: take it now.
    sqlx::query("SELECT 1 FROM sqlite_master LIMIT 1")
        .fetch_optional(&mut *tx)
        .await
        .map_err(err)?;
    Ok(tx)
}

pub(crate) async fn begin_import(
    pool: &SqlitePool,
) -> Result<Transaction<'static, Sqlite>, BackendError> {
    pool.begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(|e| BackendError::query("begin import", "transaction", e))
}

/// The first free id of `table`: above both `MAX(id)` and, for AUTOINCREMENT tables, the highest
/// id ever handed out (`sqlite_sequence`). Called with the write lock held.
pub(crate) async fn next_id(conn: &mut SqliteConnection, table: &str) -> Result<i64, BackendError> {
    let err = |e| BackendError::query("allocate ids", table, e);
    let max: Option<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT MAX({}) FROM {}",
        quote_ident(Dialect::Sqlite, "id"),
        quote_ident(Dialect::Sqlite, table)
    )))
    .fetch_one(&mut *conn)
    .await
    .map_err(err)?;
    let has_sequence: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'",
    )
    .fetch_optional(&mut *conn)
    .await
    .map_err(err)?;
    let seq: Option<i64> = if has_sequence.is_some() {
        sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = ?")
            .bind(table)
            .fetch_optional(&mut *conn)
            .await
            .map_err(err)?
    } else {
        None
    };
    let top = max.unwrap_or(0).max(seq.unwrap_or(0));
    top.checked_add(1)
        .ok_or_else(|| BackendError::invalid(table, "ids are exhausted (MAX(id) is i64::MAX)"))
}

fn arguments(binds: &[Bind<'_>]) -> Result<SqliteArguments, sqlx::Error> {
    let mut args = SqliteArguments::default();
    for bind in binds {
        let added = match bind {
            Bind::Value(value, ty) => match value {
                Value::Null => args.add(None::<i64>),
                Value::Int(i) if *ty == LogicalType::Float => args.add(*i as f64),
                Value::Int(i) => args.add(*i),
                Value::Float(f) => args.add(*f),
                Value::Bool(b) => args.add(i64::from(*b)),
                Value::Text(s) => args.add(s.as_str()),
                Value::Timestamp(ts) => args.add(timestamp::format_sqlite(ts)),
                Value::Json(j) => args.add(j.to_string()),
                Value::Bytes(b) => args.add(b.as_slice()),
            },
            Bind::Int(i) => args.add(*i),
            Bind::Text(s) => args.add(*s),
            Bind::OwnedText(s) => args.add(s.as_str()),
            Bind::IntArray(_) | Bind::TextArray(_) | Bind::ValueArray(..) => {
                Err(unsupported_bind(Dialect::Sqlite))
            }
        };
        added.map_err(sqlx::Error::Encode)?;
    }
    Ok(args)
}

impl Driver for Sqlite {
    type Conn = SqliteConnection;
    type Row = SqliteRow;
    const DIALECT: Dialect = Dialect::Sqlite;

    async fn fetch_all(
        conn: &mut SqliteConnection,
        st: Statement<'_>,
    ) -> Result<Vec<SqliteRow>, sqlx::Error> {
        let args = arguments(&st.binds)?;
        sqlx::query_with(AssertSqlSafe(st.sql), args)
            .fetch_all(conn)
            .await
    }

    async fn execute(conn: &mut SqliteConnection, st: Statement<'_>) -> Result<u64, sqlx::Error> {
        let args = arguments(&st.binds)?;
        Ok(sqlx::query_with(AssertSqlSafe(st.sql), args)
            .execute(conn)
            .await?
            .rows_affected())
    }

    fn decode(row: &SqliteRow, index: usize, ty: LogicalType) -> Result<Value, DecodeFailure> {
        let raw = row
            .try_get_raw(index)
            .map_err(|e| DecodeFailure::with_detail("unknown", e))?;
        if raw.is_null() {
            return Ok(Value::Null);
        }
        // The value's storage class: INTEGER, REAL, TEXT or BLOB.
        let found = raw.type_info().name().to_owned();
        let fail = |e: sqlx::Error| DecodeFailure::with_detail(found.clone(), e);
        match (ty, found.as_str()) {
            (LogicalType::Integer, "INTEGER") => Ok(Value::Int(
                row.try_get_unchecked::<i64, _>(index).map_err(fail)?,
            )),
            (LogicalType::Float, "REAL" | "INTEGER") => Ok(Value::Float(
                row.try_get_unchecked::<f64, _>(index).map_err(fail)?,
            )),
            (LogicalType::Boolean, "INTEGER") => {
                match row.try_get_unchecked::<i64, _>(index).map_err(fail)? {
                    0 => Ok(Value::Bool(false)),
                    1 => Ok(Value::Bool(true)),
                    n => Err(DecodeFailure::with_detail(
                        found,
                        format!("integer {n} is not a boolean (0 or 1)"),
                    )),
                }
            }
            (LogicalType::Boolean, "TEXT") => {
                let s = row.try_get_unchecked::<&str, _>(index).map_err(fail)?;
                match s.to_ascii_lowercase().as_str() {
                    "0" | "f" | "false" => Ok(Value::Bool(false)),
                    "1" | "t" | "true" => Ok(Value::Bool(true)),
                    _ => Err(DecodeFailure::with_detail(
                        found,
                        format!("`{s}` is not a boolean"),
                    )),
                }
            }
            (LogicalType::Text, "TEXT") => Ok(Value::Text(
                row.try_get_unchecked::<String, _>(index).map_err(fail)?,
            )),
            (LogicalType::Timestamp, "TEXT") => {
                let s = row.try_get_unchecked::<&str, _>(index).map_err(fail)?;
                timestamp::parse_text(s)
                    .map(Value::Timestamp)
                    .map_err(|e| DecodeFailure::with_detail(found, e))
            }
            (LogicalType::Json, "TEXT") => {
                let s = row.try_get_unchecked::<&str, _>(index).map_err(fail)?;
                serde_json::from_str(s)
                    .map(Value::Json)
                    .map_err(|e| DecodeFailure::with_detail(found, e))
            }
            (LogicalType::Binary, "BLOB" | "TEXT") => Ok(Value::Bytes(
                row.try_get_unchecked::<Vec<u8>, _>(index).map_err(fail)?,
            )),
            _ => Err(DecodeFailure::new(found)),
        }
    }
}
