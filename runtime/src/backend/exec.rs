//! What the three backends share: running a built [`Statement`] on a connection and decoding rows
//! by logical type. Each backend implements [`Driver`] on its concrete sqlx types; the operations
//! below are written once over it.

use std::future::Future;

use super::error::{BackendError, DecodeFailure};
use super::sql::{self, Statement};
use super::{Dialect, Select};
use crate::value::{LogicalType, Row, Value};

/// One backend's concrete connection, row type, statement execution and value decoding.
pub(crate) trait Driver {
    type Conn: Send;
    type Row: Send;
    const DIALECT: Dialect;

    /// Bind the statement's values and fetch every row.
    fn fetch_all(
        conn: &mut Self::Conn,
        st: Statement<'_>,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send;

    /// Bind the statement's values and execute it; returns the number of affected rows.
    fn execute(
        conn: &mut Self::Conn,
        st: Statement<'_>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;

    /// Decode column `index` of `row` as logical type `ty` (SQL NULL is [`Value::Null`]).
    fn decode(row: &Self::Row, index: usize, ty: LogicalType) -> Result<Value, DecodeFailure>;
}

/// Decode every row into [`Value`]s in `columns` order.
pub(crate) fn decode_rows<D: Driver>(
    rows: &[D::Row],
    table: &str,
    columns: &[(&str, LogicalType)],
) -> Result<Vec<Row>, BackendError> {
    rows.iter()
        .map(|row| {
            columns
                .iter()
                .enumerate()
                .map(|(i, (name, ty))| {
                    D::decode(row, i, *ty).map_err(|f| f.into_error(table, name, *ty))
                })
                .collect()
        })
        .collect()
}

/// Run a [`Select`] (see [`sql::select`]).
pub(crate) async fn select<D: Driver>(
    conn: &mut D::Conn,
    q: &Select<'_>,
) -> Result<Vec<Row>, BackendError> {
    let Some(st) = sql::select(D::DIALECT, q)? else {
        return Ok(Vec::new());
    };
    let rows = D::fetch_all(conn, st)
        .await
        .map_err(|e| BackendError::query("select", q.table, e))?;
    decode_rows::<D>(&rows, q.table, q.columns)
}

/// Count the rows of a [`Select`] (see [`sql::count`]).
pub(crate) async fn count<D: Driver>(
    conn: &mut D::Conn,
    q: &Select<'_>,
) -> Result<u64, BackendError> {
    let Some(st) = sql::count(D::DIALECT, q)? else {
        return Ok(0);
    };
    let rows = D::fetch_all(conn, st)
        .await
        .map_err(|e| BackendError::query("count", q.table, e))?;
    match rows
        .first()
        .map(|row| D::decode(row, 0, LogicalType::Integer))
    {
        Some(Ok(Value::Int(n))) => Ok(u64::try_from(n).unwrap_or(0)),
        Some(Err(f)) => Err(f.into_error(q.table, "COUNT(*)", LogicalType::Integer)),
        _ => Err(BackendError::invalid(q.table, "COUNT(*) returned no row")),
    }
}

/// First `id` matching every `column = value` pair.
pub(crate) async fn find_id<D: Driver>(
    conn: &mut D::Conn,
    table: &str,
    filter: &[(&str, Value)],
) -> Result<Option<i64>, BackendError> {
    let st = sql::find_id(D::DIALECT, table, filter);
    let rows = D::fetch_all(conn, st)
        .await
        .map_err(|e| BackendError::query("find id", table, e))?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    match D::decode(row, 0, LogicalType::Integer) {
        Ok(Value::Int(id)) => Ok(Some(id)),
        Ok(_) => Err(BackendError::invalid(table, "`id` is NULL")),
        Err(f) => Err(f.into_error(table, "id", LogicalType::Integer)),
    }
}

/// Multi-row INSERTs in batches sized by the bind-parameter and byte limits.
pub(crate) async fn insert_rows<D: Driver>(
    conn: &mut D::Conn,
    table: &str,
    columns: &[(&str, LogicalType)],
    rows: &[Row],
) -> Result<(), BackendError> {
    let mut rest = rows;
    while !rest.is_empty() {
        let n = sql::insert_batch_len(D::DIALECT, columns.len(), rest);
        let (batch, tail) = rest.split_at(n);
        let st = sql::insert(D::DIALECT, table, columns, batch);
        D::execute(conn, st)
            .await
            .map_err(|e| BackendError::query("insert", table, e))?;
        rest = tail;
    }
    Ok(())
}

/// One prepared `UPDATE … WHERE id = ?` per pair.
pub(crate) async fn update_each<D: Driver>(
    conn: &mut D::Conn,
    table: &str,
    column: &str,
    ty: LogicalType,
    updates: &[(i64, Value)],
) -> Result<(), BackendError> {
    for (id, value) in updates {
        let st = sql::update_one(D::DIALECT, table, column, ty, *id, value);
        D::execute(conn, st)
            .await
            .map_err(|e| BackendError::query("update", table, e))?;
    }
    Ok(())
}

/// How long connecting to a server may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Open (and close) one connection, so that an unreachable or misconfigured database fails at once
/// with the driver's error, instead of a pool retrying until its acquire timeout.
pub(crate) async fn probe<C: sqlx::Connection>(options: &C::Options) -> Result<(), sqlx::Error> {
    match tokio::time::timeout(CONNECT_TIMEOUT, C::connect_with(options)).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(e),
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {CONNECT_TIMEOUT:?}"),
        ))),
    }
}

/// Turn a bind that the dialect cannot carry into an encode error (a bug in the builder, not
/// user input).
pub(crate) fn unsupported_bind(dialect: Dialect) -> sqlx::error::BoxDynError {
    format!("array binds are PostgreSQL-only, not {dialect:?}").into()
}
