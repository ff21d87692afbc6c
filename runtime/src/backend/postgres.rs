//! PostgreSQL on sqlx's PostgreSQL driver.
//!
//! * Export snapshot: `BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY`, snapshot taken at once;
//!   concurrent writers keep going and are not seen.
//! * Import: one `BEGIN` … `COMMIT`; ids from the table's own sequence
//!   (`nextval(pg_get_serial_sequence(…))` over `generate_series`, serial and identity alike,
//!   folded into runs of consecutive ids on the server), so they never collide with concurrent
//!   writers; rows loaded with `COPY … FROM STDIN` (text format,
//!   see [`super::copy`]); deferred references set with one `UPDATE … FROM unnest(…)`.
//! * `IN` filters bind one array: `= ANY($1)`.
//! * Reading: int2/int4/int8 → integer; real/double/numeric → float (selected as `float8`);
//!   text/varchar/char/name/citext/enums → text; timestamptz and timestamp (taken as UTC; the
//!   session time zone is UTC) → timestamp; json/jsonb → json; bytea → binary.

use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::encode::IsNull;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{
    PgArgumentBuffer, PgArguments, PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow,
    PgTypeInfo, PgTypeKind,
};
use sqlx::types::Json;
use sqlx::{Arguments, AssertSqlSafe, Postgres, Row as _, Transaction, TypeInfo, ValueRef};

use super::error::{BackendError, DecodeFailure, redact_url};
use super::exec::{Driver, decode_rows, probe};
use super::sql::{self, Bind, Statement, quote_ident};
use super::{Dialect, IdRanges, Select};
use crate::value::{LogicalType, Row, Value};

/// Pairs per `UPDATE … FROM unnest(…)` statement.
const UPDATE_CHUNK: usize = 10_000;

pub(crate) async fn connect(url: &str) -> Result<PgPool, BackendError> {
    let options = PgConnectOptions::from_str(url).map_err(|source| BackendError::InvalidUrl {
        url: redact_url(url),
        source,
    })?;
    let target = format!(
        "PostgreSQL {}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    );
    let connect = async {
        probe::<PgConnection>(&options).await?;
        let port = options.get_port();
        PgPoolOptions::new()
            .max_connections(8)
            .after_connect(move |_conn, _meta| {
                Box::pin(async move {
                    super::nodelay::enable_for_port(port);
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
    pool: &PgPool,
) -> Result<Transaction<'static, Postgres>, BackendError> {
    let err = |e| BackendError::query("begin snapshot", "transaction", e);
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await
        .map_err(err)?;
    // The snapshot is taken by the first statement, not by BEGIN: take it now.
    sqlx::query("SELECT 1")
        .execute(&mut *tx)
        .await
        .map_err(err)?;
    Ok(tx)
}

pub(crate) async fn begin_import(
    pool: &PgPool,
) -> Result<Transaction<'static, Postgres>, BackendError> {
    pool.begin()
        .await
        .map_err(|e| BackendError::query("begin import", "transaction", e))
}

/// Values of the sequences behind `table.id` for every `(table, n)` wanted, in one round trip:
/// each table's `n` values ascending, folded into runs of consecutive values by the server (the
/// `o`-th value drawn, less `o`, is constant along a run), so the answer holds a handful of rows
/// however many ids are drawn. Each sequence is looked up once (a materialized CTE), not per id:
/// that lookup cost 4× the `nextval`s.
pub(crate) async fn allocate_ids(
    conn: &mut PgConnection,
    wanted: &[(&str, usize)],
) -> Result<Vec<IdRanges>, BackendError> {
    // The non-empty requests, and where each stands in `wanted`.
    let mut tables = Vec::new();
    let mut counts = Vec::new();
    let mut positions = Vec::new();
    for (k, &(table, n)) in wanted.iter().enumerate().filter(|(_, (_, n))| *n > 0) {
        let count = i64::try_from(n).map_err(|_| {
            BackendError::invalid(table, format!("cannot allocate {n} ids at once"))
        })?;
        tables.push(quote_ident(Dialect::Postgres, table));
        counts.push(count);
        positions.push(k);
    }
    if tables.is_empty() {
        return Ok(wanted.iter().map(|_| IdRanges::new()).collect());
    }
    // `i` numbers the non-empty requests from 1. Without a sequence `nextval(NULL)` is NULL: one
    // run with a NULL start. The `o`-th value drawn for a request is grouped by `v - o`: values
    // drawn one after the other (as a sequence gives them unless a concurrent writer draws in
    // between) share a group. That is a hash aggregate over a stream of values, where numbering
    // them in order sorted them and a `generate_series` in `FROM` and a CTE of the drawn values
    // stored them (a million ids in `psql`: ~0.9 s → ~0.35 s; drawing them alone takes ~0.3 s).
    // Within a group `v = g + o`, so its values are distinct, and a run exactly when there are
    // `max − min + 1` of them — checked below: a cycling sequence can come back to a group after
    // a wrap and leave holes in it.
    let runs: Vec<Run> = sqlx::query_as(
        "WITH wanted AS MATERIALIZED (\
           SELECT w.i, pg_get_serial_sequence(w.t, 'id')::regclass AS seq, w.n \
           FROM unnest($1::text[], $2::int8[]) WITH ORDINALITY AS w(t, n, i)\
         ) \
         SELECT i, min(v), max(v), count(*) FROM (\
           SELECT i, nextval(seq) AS v, o FROM (\
             SELECT i, seq, generate_series(1::int8, n) AS o FROM wanted\
           ) numbered\
         ) drawn GROUP BY i, v - o ORDER BY 1, 2",
    )
    .bind(&tables)
    .bind(&counts)
    .fetch_all(conn)
    .await
    .map_err(|e| BackendError::query("allocate ids", &describe(wanted), e))?;
    fold_runs(wanted, &positions, runs)
}

/// One row of the id request's answer: the request's number (from 1, among the non-empty ones),
/// the first and last value of a group and how many values it holds.
type Run = (i64, Option<i64>, Option<i64>, i64);

/// The server's groups of drawn values, checked (each a run of consecutive values, runs of one
/// request ascending and not overlapping, as many ids as asked for), as the ids of each request
/// of `wanted`. `positions` maps the `i`-th non-empty request to its place in `wanted`.
fn fold_runs(
    wanted: &[(&str, usize)],
    positions: &[usize],
    runs: Vec<Run>,
) -> Result<Vec<IdRanges>, BackendError> {
    let mut allocated: Vec<IdRanges> = wanted.iter().map(|_| IdRanges::new()).collect();
    for (i, start, end, len) in runs {
        // Request `i` (from 1) of the non-empty ones, back to its position in `wanted`.
        let Some(&k) = usize::try_from(i - 1).ok().and_then(|i| positions.get(i)) else {
            return Err(BackendError::invalid(
                &describe(wanted),
                format!("the server answered for request {i}, which was not made"),
            ));
        };
        let table = wanted[k].0;
        let start = start.ok_or_else(|| BackendError::NoSequence {
            table: table.to_owned(),
        })?;
        let len = u64::try_from(len)
            .map_err(|_| BackendError::invalid(table, format!("negative run length {len}")))?;
        // `end − start + 1`, without overflow for any pair of i64s.
        let span = end.map(|end| i128::from(end) - i128::from(start) + 1);
        if span != Some(i128::from(len)) {
            return Err(BackendError::invalid(
                table,
                format!(
                    "the sequence gave {len} ids from {start} to {} that are not consecutive",
                    end.map_or_else(|| "NULL".to_owned(), |e| e.to_string())
                ),
            ));
        }
        allocated[k]
            .push(start, len)
            .map_err(|e| BackendError::invalid(table, format!("sequence values: {e}")))?;
    }
    for (&(table, n), ids) in wanted.iter().zip(&allocated) {
        if ids.len() != n {
            return Err(BackendError::invalid(
                table,
                format!("asked for {n} ids, the sequence gave {}", ids.len()),
            ));
        }
    }
    Ok(allocated)
}

/// The tables of an id request, for messages (`issues, notes`).
fn describe(wanted: &[(&str, usize)]) -> String {
    let names: Vec<&str> = wanted.iter().map(|(t, _)| *t).collect();
    names.join(", ")
}

/// `ANALYZE table ("id")` (inside the import transaction: it counts the transaction's own rows).
///
/// The foreign-key checks look parents up by `id` alone, and their plans need only the table's
/// size (which any `ANALYZE` refreshes) and the statistics of `id`. Computing those of every
/// column costs far more on tables with large text (20k notes written in the same transaction:
/// 127–196 ms against 19–32 ms in `psql`); the other columns keep the statistics they had (none,
/// on a table never analyzed) until autovacuum analyzes the table after the commit.
pub(crate) async fn analyze(conn: &mut PgConnection, table: &str) -> Result<(), BackendError> {
    sqlx::query(AssertSqlSafe(sql::analyze_id(table)))
        .execute(conn)
        .await
        .map_err(|e| BackendError::query("analyze", table, e))?;
    Ok(())
}

/// `COPY table (columns) FROM STDIN` of `text`: `rows` rows already checked against the columns
/// and encoded ([`super::copy::encode_rows`]), one message a piece.
pub(crate) async fn copy_text(
    conn: &mut PgConnection,
    table: &str,
    columns: &[(&str, LogicalType)],
    text: &[Vec<u8>],
    rows: u64,
) -> Result<(), BackendError> {
    let err = |e| BackendError::query("COPY", table, e);
    let statement = sql::copy_in(table, columns);
    let mut copy_in = conn.copy_in_raw(&statement).await.map_err(err)?;
    for piece in text {
        copy_in.send(piece.as_slice()).await.map_err(err)?;
    }
    let copied = copy_in.finish().await.map_err(err)?;
    if copied != rows {
        return Err(BackendError::invalid(
            table,
            format!("COPY loaded {copied} rows, expected {rows}"),
        ));
    }
    Ok(())
}

/// Set `column` for each `(id, value)` pair (values already checked against `ty`). A later pair
/// for the same id wins. Text goes row by row with untyped parameters (a `text[]` cannot be
/// assigned to enum or domain columns); other types in one `UPDATE … FROM unnest(…)` per
/// [`UPDATE_CHUNK`] pairs.
pub(crate) async fn update_column(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    ty: LogicalType,
    updates: &[(i64, Value)],
) -> Result<(), BackendError> {
    if ty == LogicalType::Text {
        return super::exec::update_each::<Postgres>(conn, table, column, ty, updates).await;
    }
    let mut last: std::collections::HashMap<i64, usize> = Default::default();
    for (i, (id, _)) in updates.iter().enumerate() {
        last.insert(*id, i);
    }
    let unique: Vec<&(i64, Value)> = updates
        .iter()
        .enumerate()
        .filter(|(i, (id, _))| last.get(id) == Some(i))
        .map(|(_, pair)| pair)
        .collect();
    for chunk in unique.chunks(UPDATE_CHUNK) {
        let ids: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
        let values: Vec<&Value> = chunk.iter().map(|(_, v)| v).collect();
        let st = sql::update_unnest(table, column, ty, &ids, values);
        <Postgres as Driver>::execute(conn, st)
            .await
            .map_err(|e| BackendError::query("update", table, e))?;
    }
    Ok(())
}

type BoxDynError = sqlx::error::BoxDynError;

/// Text bound with an unspecified type (OID 0): PostgreSQL infers it from context like a string
/// literal, so it compares with and assigns into text, varchar, char, citext, enum and domain
/// columns alike (a `text` parameter does not assign into an enum column).
struct UntypedText<'a>(&'a str);

impl sqlx::Type<Postgres> for UntypedText<'_> {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(Oid(0))
    }
}

impl sqlx::Encode<'_, Postgres> for UntypedText<'_> {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        // The binary input of every text-like type is the UTF-8 text itself.
        <&str as sqlx::Encode<'_, Postgres>>::encode_by_ref(&self.0, buf)
    }
}

fn push_value(args: &mut PgArguments, value: &Value, ty: LogicalType) -> Result<(), BoxDynError> {
    match value {
        Value::Null => match ty {
            LogicalType::Integer => args.add(None::<i64>),
            LogicalType::Float => args.add(None::<f64>),
            LogicalType::Boolean => args.add(None::<bool>),
            LogicalType::Text => args.add(None::<UntypedText<'_>>),
            LogicalType::Timestamp => args.add(None::<DateTime<Utc>>),
            LogicalType::Json => args.add(None::<Json<&serde_json::Value>>),
            LogicalType::Binary => args.add(None::<&[u8]>),
        },
        Value::Int(i) if ty == LogicalType::Float => args.add(*i as f64),
        Value::Int(i) => args.add(*i),
        Value::Float(f) => args.add(*f),
        Value::Bool(b) => args.add(*b),
        Value::Text(s) => args.add(UntypedText(s)),
        Value::Timestamp(ts) => args.add(*ts),
        Value::Json(j) => args.add(Json(j)),
        Value::Bytes(b) => args.add(b.as_slice()),
    }
}

/// Bind one column's values as a typed PostgreSQL array (`bigint[]`, `text[]`, …).
fn push_array(
    args: &mut PgArguments,
    values: &[&Value],
    ty: LogicalType,
) -> Result<(), BoxDynError> {
    fn collect<'v, T>(
        values: &[&'v Value],
        ty: LogicalType,
        get: impl Fn(&'v Value) -> Option<T>,
    ) -> Result<Vec<Option<T>>, BoxDynError> {
        values
            .iter()
            .map(|v| match v {
                Value::Null => Ok(None),
                v => get(v).map(Some).ok_or_else(|| {
                    format!("a {} value in a {} array", sql::value_kind(v), ty.as_str()).into()
                }),
            })
            .collect()
    }
    match ty {
        LogicalType::Integer => args.add(collect(values, ty, Value::as_i64)?),
        LogicalType::Float => args.add(collect(values, ty, |v| match v {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        })?),
        LogicalType::Boolean => args.add(collect(values, ty, |v| match v {
            Value::Bool(b) => Some(*b),
            _ => None,
        })?),
        LogicalType::Text => args.add(collect(values, ty, Value::as_str)?),
        LogicalType::Timestamp => args.add(collect(values, ty, |v| match v {
            Value::Timestamp(ts) => Some(*ts),
            _ => None,
        })?),
        LogicalType::Json => args.add(collect(values, ty, |v| match v {
            Value::Json(j) => Some(Json(j)),
            _ => None,
        })?),
        LogicalType::Binary => args.add(collect(values, ty, |v| match v {
            Value::Bytes(b) => Some(b.as_slice()),
            _ => None,
        })?),
    }
}

fn arguments(binds: &[Bind<'_>]) -> Result<PgArguments, sqlx::Error> {
    let mut args = PgArguments::default();
    for bind in binds {
        let added = match bind {
            Bind::Value(value, ty) => push_value(&mut args, value, *ty),
            Bind::Int(i) => args.add(*i),
            Bind::Text(s) => args.add(UntypedText(s)),
            Bind::OwnedText(s) => args.add(s.as_str()),
            Bind::IntArray(v) => args.add(*v),
            Bind::TextArray(v) => args.add(*v),
            Bind::ValueArray(values, ty) => push_array(&mut args, values, *ty),
        };
        added.map_err(sqlx::Error::Encode)?;
    }
    Ok(args)
}

/// The type's name, looking through domains to their base type.
fn base_type(info: &PgTypeInfo) -> (String, bool) {
    match info.kind() {
        PgTypeKind::Domain(inner) => base_type(inner),
        PgTypeKind::Enum(_) => (info.name().to_owned(), true),
        _ => (info.name().to_ascii_uppercase(), false),
    }
}

/// `DECLARE name NO SCROLL CURSOR FOR <q>`: `q` (its keyset cursor kept, its limit dropped), run
/// once and read later with [`fetch_cursor`]; an order no index serves is sorted once, not once per
/// page. `false`: the answer is known to be empty and no cursor was opened.
pub(crate) async fn declare_cursor(
    conn: &mut PgConnection,
    name: &str,
    q: &Select<'_>,
) -> Result<bool, BackendError> {
    let whole = Select { limit: None, ..*q };
    let Some(st) = sql::select(Dialect::Postgres, &whole)? else {
        return Ok(false);
    };
    let err = |e| BackendError::query("declare a cursor over", q.table, e);
    let args = arguments(&st.binds).map_err(err)?;
    let text = format!(
        "DECLARE {} NO SCROLL CURSOR FOR {}",
        quote_ident(Dialect::Postgres, name),
        st.sql
    );
    // Unnamed statements: every cursor has a name of its own, nothing to cache.
    sqlx::query_with(AssertSqlSafe(text), args)
        .persistent(false)
        .execute(conn)
        .await
        .map_err(err)?;
    Ok(true)
}

/// The next `n` rows of cursor `name`, declared over `q` by [`declare_cursor`].
pub(crate) async fn fetch_cursor(
    conn: &mut PgConnection,
    name: &str,
    q: &Select<'_>,
    n: usize,
) -> Result<Vec<Row>, BackendError> {
    let text = format!(
        "FETCH FORWARD {n} FROM {}",
        quote_ident(Dialect::Postgres, name)
    );
    let rows = sqlx::query(AssertSqlSafe(text))
        .persistent(false)
        .fetch_all(conn)
        .await
        .map_err(|e| BackendError::query("fetch from a cursor over", q.table, e))?;
    decode_rows::<Postgres>(&rows, q.table, q.columns)
}

/// `CLOSE name`.
pub(crate) async fn close_cursor(
    conn: &mut PgConnection,
    name: &str,
    table: &str,
) -> Result<(), BackendError> {
    let text = format!("CLOSE {}", quote_ident(Dialect::Postgres, name));
    sqlx::query(AssertSqlSafe(text))
        .persistent(false)
        .execute(conn)
        .await
        .map_err(|e| BackendError::query("close a cursor over", table, e))?;
    Ok(())
}

impl Driver for Postgres {
    type Conn = PgConnection;
    type Row = PgRow;
    const DIALECT: Dialect = Dialect::Postgres;

    async fn fetch_all(
        conn: &mut PgConnection,
        st: Statement<'_>,
    ) -> Result<Vec<PgRow>, sqlx::Error> {
        let args = arguments(&st.binds)?;
        sqlx::query_with(AssertSqlSafe(st.sql), args)
            .fetch_all(conn)
            .await
    }

    async fn execute(conn: &mut PgConnection, st: Statement<'_>) -> Result<u64, sqlx::Error> {
        let args = arguments(&st.binds)?;
        Ok(sqlx::query_with(AssertSqlSafe(st.sql), args)
            .execute(conn)
            .await?
            .rows_affected())
    }

    fn decode(row: &PgRow, index: usize, ty: LogicalType) -> Result<Value, DecodeFailure> {
        let raw = row
            .try_get_raw(index)
            .map_err(|e| DecodeFailure::with_detail("unknown", e))?;
        if raw.is_null() {
            return Ok(Value::Null);
        }
        let info = raw.type_info().into_owned();
        let (found, is_enum) = base_type(&info);
        let fail = |e: sqlx::Error| DecodeFailure::with_detail(found.clone(), e);
        match (ty, found.as_str()) {
            (LogicalType::Integer, "INT2") => Ok(Value::Int(
                row.try_get_unchecked::<i16, _>(index).map_err(fail)?.into(),
            )),
            (LogicalType::Integer, "INT4") => Ok(Value::Int(
                row.try_get_unchecked::<i32, _>(index).map_err(fail)?.into(),
            )),
            (LogicalType::Integer, "INT8") => Ok(Value::Int(
                row.try_get_unchecked::<i64, _>(index).map_err(fail)?,
            )),
            (LogicalType::Float, "FLOAT8") => Ok(Value::Float(
                row.try_get_unchecked::<f64, _>(index).map_err(fail)?,
            )),
            (LogicalType::Float, "FLOAT4") => Ok(Value::Float(
                row.try_get_unchecked::<f32, _>(index).map_err(fail)?.into(),
            )),
            (LogicalType::Boolean, "BOOL") => Ok(Value::Bool(
                row.try_get_unchecked::<bool, _>(index).map_err(fail)?,
            )),
            (
                LogicalType::Text,
                "TEXT" | "VARCHAR" | "CHAR" | "BPCHAR" | "NAME" | "CITEXT" | "UNKNOWN",
            ) => Ok(Value::Text(
                row.try_get_unchecked::<String, _>(index).map_err(fail)?,
            )),
            (LogicalType::Text, _) if is_enum => Ok(Value::Text(
                row.try_get_unchecked::<String, _>(index).map_err(fail)?,
            )),
            (LogicalType::Timestamp, "TIMESTAMPTZ") => Ok(Value::Timestamp(
                row.try_get_unchecked::<DateTime<Utc>, _>(index)
                    .map_err(fail)?,
            )),
            (LogicalType::Timestamp, "TIMESTAMP") => Ok(Value::Timestamp(
                row.try_get_unchecked::<NaiveDateTime, _>(index)
                    .map_err(fail)?
                    .and_utc(),
            )),
            (LogicalType::Json, "JSON" | "JSONB") => Ok(Value::Json(
                row.try_get_unchecked::<Json<serde_json::Value>, _>(index)
                    .map_err(fail)?
                    .0,
            )),
            (LogicalType::Binary, "BYTEA") => Ok(Value::Bytes(
                row.try_get_unchecked::<Vec<u8>, _>(index).map_err(fail)?,
            )),
            _ => Err(DecodeFailure::new(found)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WANTED: &[(&str, usize)] = &[("issues", 5), ("labels", 0), ("notes", 2)];
    /// The non-empty requests: issues (1) and notes (2).
    const POSITIONS: &[usize] = &[0, 2];

    fn fold(runs: Vec<Run>) -> Result<Vec<IdRanges>, String> {
        fold_runs(WANTED, POSITIONS, runs).map_err(|e| e.to_string())
    }

    #[test]
    fn runs_fold_into_each_requests_ids() {
        // issues: 10..=12 and 20..=21 (another writer drew in between); notes: 7..=8.
        let ids = fold(vec![
            (1, Some(10), Some(12), 3),
            (1, Some(20), Some(21), 2),
            (2, Some(7), Some(8), 2),
        ])
        .expect("valid runs");
        assert_eq!(ids[0].runs(), &[(10, 3), (20, 2)]);
        assert!(ids[1].is_empty());
        assert_eq!(ids[2].runs(), &[(7, 2)]);
    }

    #[test]
    fn a_group_with_holes_is_refused() {
        // Five values from 10 to 15 share a group: a cycling sequence came back to it.
        let err = fold(vec![(1, Some(10), Some(15), 5), (2, Some(7), Some(8), 2)])
            .expect_err("not a run");
        assert_eq!(
            err,
            "invalid request on `issues`: the sequence gave 5 ids from 10 to 15 that are not \
             consecutive"
        );
    }

    #[test]
    fn overlapping_runs_are_refused() {
        // A cycling sequence that wrapped gives 1..=3 and then 2..=3 again.
        let err = fold(vec![
            (1, Some(1), Some(3), 3),
            (1, Some(2), Some(3), 2),
            (2, Some(7), Some(8), 2),
        ])
        .expect_err("overlap");
        assert!(
            err.starts_with("invalid request on `issues`: sequence values:"),
            "{err}"
        );
    }

    #[test]
    fn missing_sequence_unknown_request_and_short_answers_are_refused() {
        let err = fold(vec![(2, None, None, 2)]).expect_err("no sequence");
        assert!(err.starts_with("cannot allocate ids for `notes`"), "{err}");
        let err = fold(vec![(3, Some(1), Some(1), 1)]).expect_err("request 3");
        assert_eq!(
            err,
            "invalid request on `issues, labels, notes`: the server answered for request 3, \
             which was not made"
        );
        let err = fold(vec![(1, Some(10), Some(13), 4), (2, Some(7), Some(8), 2)])
            .expect_err("one short");
        assert_eq!(
            err,
            "invalid request on `issues`: asked for 5 ids, the sequence gave 4"
        );
    }
}
