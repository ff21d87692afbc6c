//! MySQL and MariaDB on sqlx's MySQL driver.
//!
//! * Sessions run in `REPEATABLE READ`, strict SQL mode, `time_zone = '+00:00'` (DATETIME values
//!   are UTC).
//! * Export snapshot: `START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY`.
//! * Import: one transaction; rows inserted with explicit ids by prepared multi-row INSERTs.
//! * Ids: `SELECT MAX(id) … FOR UPDATE` once per table per transaction, then counted up in memory.
//!   The locking read holds the gap above `MAX(id)` until commit, so a concurrent hoist import
//!   into the same table waits for this one and then counts on from its ids, and application
//!   inserts into the table wait too. **Caveat:** MySQL cannot reserve AUTO_INCREMENT values
//!   inside a transaction: an application insert that drew its AUTO_INCREMENT value before the
//!   import wrote the same explicit id fails with a duplicate key once it proceeds (nothing is
//!   overwritten, and the import itself is unaffected). Imports into busy tables should run when
//!   the tenant's tables are quiet, or the application should retry such inserts.
//! * `ORDER BY … NULLS FIRST/LAST` is emulated with `(col IS NULL)` sort keys.
//! * Reading: any integer type (and `TINYINT(1)` booleans as 0/1) → integer; FLOAT/DOUBLE/DECIMAL
//!   → float; CHAR/VARCHAR/TEXT/ENUM → text; DATETIME/TIMESTAMP → timestamp; JSON or text → json;
//!   BLOB/BINARY/VARBINARY (or text) → binary.

use std::str::FromStr;

use chrono::NaiveDateTime;
use sqlx::mysql::{
    MySqlArguments, MySqlConnectOptions, MySqlConnection, MySqlPool, MySqlPoolOptions, MySqlRow,
};
use sqlx::{Arguments, AssertSqlSafe, Executor, MySql, Row as _, Transaction, TypeInfo, ValueRef};

use super::Dialect;
use super::error::{BackendError, DecodeFailure, redact_url};
use super::exec::{Driver, probe, unsupported_bind};
use super::sql::{Bind, Statement, quote_ident};
use crate::value::{LogicalType, Value};

/// Every hoist session: REPEATABLE READ transactions, and strict mode so that a value the column
/// cannot hold is an error, never a silent NULL, zero or truncation.
const SESSION_SETUP: [&str; 2] = [
    "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
    "SET SESSION sql_mode = IF(@@SESSION.sql_mode = '', 'STRICT_ALL_TABLES', \
     CONCAT(@@SESSION.sql_mode, ',STRICT_ALL_TABLES'))",
];

/// `mariadb://` is accepted as a synonym of `mysql://`.
fn normalize_url(url: &str) -> String {
    match url.strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => url.to_owned(),
    }
}

pub(crate) async fn connect(url: &str) -> Result<MySqlPool, BackendError> {
    let options = MySqlConnectOptions::from_str(&normalize_url(url)).map_err(|source| {
        BackendError::InvalidUrl {
            url: redact_url(url),
            source,
        }
    })?;
    let options = options.timezone(Some("+00:00".to_owned()));
    let target = format!(
        "MySQL {}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    );
    let connect = async {
        probe::<MySqlConnection>(&options).await?;
        let port = options.get_port();
        MySqlPoolOptions::new()
            .max_connections(8)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    super::nodelay::enable_for_port(port);
                    for statement in SESSION_SETUP {
                        conn.execute(statement).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
    };
    connect
        .await
        .map_err(|source| BackendError::Connect { target, source })
}

pub(crate) async fn begin_snapshot(
    pool: &MySqlPool,
) -> Result<Transaction<'static, MySql>, BackendError> {
    pool.begin_with("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        .await
        .map_err(|e| BackendError::query("begin snapshot", "transaction", e))
}

pub(crate) async fn begin_import(
    pool: &MySqlPool,
) -> Result<Transaction<'static, MySql>, BackendError> {
    pool.begin_with("START TRANSACTION")
        .await
        .map_err(|e| BackendError::query("begin import", "transaction", e))
}

/// The first id above `MAX(id)`, read with a lock (see the module docs).
pub(crate) async fn next_id(conn: &mut MySqlConnection, table: &str) -> Result<i64, BackendError> {
    let max: Option<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT CAST(MAX({id}) AS SIGNED) FROM {table} FOR UPDATE",
        id = quote_ident(Dialect::MySql, "id"),
        table = quote_ident(Dialect::MySql, table)
    )))
    .fetch_one(conn)
    .await
    .map_err(|e| BackendError::query("allocate ids", table, e))?;
    max.unwrap_or(0)
        .checked_add(1)
        .ok_or_else(|| BackendError::invalid(table, "ids are exhausted (MAX(id) is i64::MAX)"))
}

fn arguments(binds: &[Bind<'_>]) -> Result<MySqlArguments, sqlx::Error> {
    let mut args = MySqlArguments::default();
    for bind in binds {
        let added = match bind {
            Bind::Value(value, ty) => match value {
                Value::Null => args.add(None::<i64>),
                Value::Int(i) if *ty == LogicalType::Float => args.add(*i as f64),
                Value::Int(i) => args.add(*i),
                Value::Float(f) => args.add(*f),
                Value::Bool(b) => args.add(*b),
                Value::Text(s) => args.add(s.as_str()),
                // As DATETIME: a TIMESTAMP-typed parameter is limited to 1970–2038 and
                // silently becomes NULL outside it.
                Value::Timestamp(ts) => args.add(ts.naive_utc()),
                Value::Json(j) => args.add(j.to_string()),
                Value::Bytes(b) => args.add(b.as_slice()),
            },
            Bind::Int(i) => args.add(*i),
            Bind::Text(s) => args.add(*s),
            Bind::OwnedText(s) => args.add(s.as_str()),
            Bind::IntArray(_) | Bind::TextArray(_) | Bind::ValueArray(..) => {
                Err(unsupported_bind(Dialect::MySql))
            }
        };
        added.map_err(sqlx::Error::Encode)?;
    }
    Ok(args)
}

fn is_integer(name: &str) -> bool {
    matches!(
        name,
        "BOOLEAN" | "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "YEAR"
    )
}

fn is_unsigned(name: &str) -> bool {
    matches!(
        name,
        "TINYINT UNSIGNED"
            | "SMALLINT UNSIGNED"
            | "MEDIUMINT UNSIGNED"
            | "INT UNSIGNED"
            | "BIGINT UNSIGNED"
    )
}

/// Character and byte string types (sqlx names text with a binary collation like a blob).
fn is_string(name: &str) -> bool {
    matches!(
        name,
        "CHAR"
            | "VARCHAR"
            | "TINYTEXT"
            | "TEXT"
            | "MEDIUMTEXT"
            | "LONGTEXT"
            | "ENUM"
            | "SET"
            | "JSON"
            | "BINARY"
            | "VARBINARY"
            | "TINYBLOB"
            | "BLOB"
            | "MEDIUMBLOB"
            | "LONGBLOB"
    )
}

fn decode_int(row: &MySqlRow, index: usize, found: &str) -> Result<i64, DecodeFailure> {
    let fail = |e: sqlx::Error| DecodeFailure::with_detail(found, e);
    if is_unsigned(found) {
        let u = row.try_get_unchecked::<u64, _>(index).map_err(fail)?;
        i64::try_from(u)
            .map_err(|_| DecodeFailure::with_detail(found, format!("{u} does not fit in i64")))
    } else {
        row.try_get_unchecked::<i64, _>(index).map_err(fail)
    }
}

impl Driver for MySql {
    type Conn = MySqlConnection;
    type Row = MySqlRow;
    const DIALECT: Dialect = Dialect::MySql;

    async fn fetch_all(
        conn: &mut MySqlConnection,
        st: Statement<'_>,
    ) -> Result<Vec<MySqlRow>, sqlx::Error> {
        let args = arguments(&st.binds)?;
        sqlx::query_with(AssertSqlSafe(st.sql), args)
            .fetch_all(conn)
            .await
    }

    async fn execute(conn: &mut MySqlConnection, st: Statement<'_>) -> Result<u64, sqlx::Error> {
        let args = arguments(&st.binds)?;
        Ok(sqlx::query_with(AssertSqlSafe(st.sql), args)
            .execute(conn)
            .await?
            .rows_affected())
    }

    fn decode(row: &MySqlRow, index: usize, ty: LogicalType) -> Result<Value, DecodeFailure> {
        let raw = row
            .try_get_raw(index)
            .map_err(|e| DecodeFailure::with_detail("unknown", e))?;
        if raw.is_null() {
            return Ok(Value::Null);
        }
        let found = raw.type_info().name().to_owned();
        let name = found.as_str();
        let fail = |e: sqlx::Error| DecodeFailure::with_detail(name, e);
        let utf8 = |bytes: Vec<u8>| {
            String::from_utf8(bytes).map_err(|e| DecodeFailure::with_detail(name, e))
        };
        match ty {
            LogicalType::Integer if is_integer(name) || is_unsigned(name) => {
                Ok(Value::Int(decode_int(row, index, name)?))
            }
            LogicalType::Float if matches!(name, "FLOAT" | "DOUBLE") => Ok(Value::Float(
                row.try_get_unchecked::<f64, _>(index).map_err(fail)?,
            )),
            LogicalType::Float if name == "DECIMAL" => {
                // DECIMAL travels as text in both protocols.
                let s = row.try_get_unchecked::<&str, _>(index).map_err(fail)?;
                s.parse::<f64>()
                    .map(Value::Float)
                    .map_err(|e| DecodeFailure::with_detail(name, e))
            }
            LogicalType::Float if is_integer(name) || is_unsigned(name) => {
                Ok(Value::Float(decode_int(row, index, name)? as f64))
            }
            LogicalType::Boolean if is_integer(name) || is_unsigned(name) => {
                match decode_int(row, index, name)? {
                    0 => Ok(Value::Bool(false)),
                    1 => Ok(Value::Bool(true)),
                    n => Err(DecodeFailure::with_detail(
                        name,
                        format!("integer {n} is not a boolean (0 or 1)"),
                    )),
                }
            }
            LogicalType::Text if is_string(name) => Ok(Value::Text(utf8(
                row.try_get_unchecked::<Vec<u8>, _>(index).map_err(fail)?,
            )?)),
            LogicalType::Timestamp if name == "DATETIME" => Ok(Value::Timestamp(
                row.try_get_unchecked::<NaiveDateTime, _>(index)
                    .map_err(fail)?
                    .and_utc(),
            )),
            LogicalType::Timestamp if name == "TIMESTAMP" => Ok(Value::Timestamp(
                row.try_get_unchecked::<chrono::DateTime<chrono::Utc>, _>(index)
                    .map_err(fail)?,
            )),
            LogicalType::Json if is_string(name) => {
                let bytes = row.try_get_unchecked::<Vec<u8>, _>(index).map_err(fail)?;
                serde_json::from_slice(&bytes)
                    .map(Value::Json)
                    .map_err(|e| DecodeFailure::with_detail(name, e))
            }
            LogicalType::Binary if is_string(name) => Ok(Value::Bytes(
                row.try_get_unchecked::<Vec<u8>, _>(index).map_err(fail)?,
            )),
            _ => Err(DecodeFailure::new(found.clone())),
        }
    }
}
