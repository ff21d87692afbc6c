//! Database backends: SQLite, PostgreSQL and MySQL/MariaDB, each on sqlx's concrete driver (never
//! sqlx's `Any` driver, which lacks JSON, timestamps and the right placeholders).
//!
//! The engines see one [`Database`] (an enum over the three pools), one read-only [`Snapshot`]
//! per export and one write [`ImportTx`] per import; the dispatch is a `match`, so the engines
//! are compiled once. Rows travel as [`Value`]s decoded and bound by [`LogicalType`].
//!
//! ```
//! # async fn run() -> Result<(), hoist::backend::BackendError> {
//! use hoist::backend::{Database, Filter, Select};
//! use hoist::value::{LogicalType, Value};
//!
//! let db = Database::connect("sqlite::memory:").await?;
//! db.execute_script("CREATE TABLE labels (id INTEGER PRIMARY KEY, title TEXT NOT NULL);").await?;
//! let cols = [("id", LogicalType::Integer), ("title", LogicalType::Text)];
//!
//! let mut tx = db.begin_import().await?;
//! let ids = tx.allocate_ids("labels", 2).await?;
//! let rows: Vec<Vec<Value>> =
//!     ids.iter().map(|id| vec![Value::Int(id), Value::Text("bug".into())]).collect();
//! tx.insert("labels", &cols, &rows).await?;
//! tx.commit().await?;
//!
//! let mut snap = db.snapshot().await?;
//! let page = snap
//!     .select(&Select { table: "labels", columns: &cols, filter: Filter::All, type_eq: None,
//!                       order: &[], after: None, limit: Some(100) })
//!     .await?;
//! assert_eq!(page, rows);
//! snap.finish().await?;
//! db.close().await;
//! # Ok(()) }
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
//! #     .block_on(run()).unwrap();
//! ```

mod copy;
mod error;
mod exec;
mod introspect;
mod mysql;
mod nodelay;
mod postgres;
mod ranges;
mod sql;
mod sqlite;
#[doc(hidden)]
pub mod testing;
pub(crate) mod timestamp;

use std::collections::HashMap;

use sqlx::{MySql, MySqlPool, PgPool, Postgres, Sqlite, SqlitePool, Transaction};

pub use self::error::BackendError;
use self::error::redact_url;
pub use self::ranges::{IdRanges, Ids, RangeError};
use crate::plan::OrderBy;
use crate::schema::Schema;
use crate::value::{LogicalType, Row, Value};

/// The SQL dialect of a [`Database`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    Sqlite,
    Postgres,
    MySql,
}

impl Dialect {
    /// Lowercase name for messages (`sqlite`, `postgres`, `mysql`).
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::MySql => "mysql",
        }
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A read: `SELECT columns FROM table WHERE filter [AND type_eq] [AND after cursor]
/// ORDER BY order, id [LIMIT limit]`.
#[derive(Debug, Clone, Copy)]
pub struct Select<'a> {
    pub table: &'a str,
    /// Read in this order, each decoded into a [`Value`] by its logical type.
    pub columns: &'a [(&'a str, LogicalType)],
    pub filter: Filter<'a>,
    /// `AND type_column = 'value'` (polymorphic links, e.g. `noteable_type = 'Issue'`), bound as a
    /// parameter.
    pub type_eq: Option<(&'a str, &'a str)>,
    /// Sort keys; an `id ASC` tie-breaker is always appended.
    pub order: &'a [OrderBy],
    /// Keyset cursor: the values of the order columns, then `id`, of the last row of the previous
    /// page; rows strictly after it are returned. Every order column must be in `columns`.
    pub after: Option<&'a [Value]>,
    pub limit: Option<usize>,
}

/// Which rows a [`Select`] reads.
#[derive(Debug, Clone, Copy)]
pub enum Filter<'a> {
    /// Every row of the table.
    All,
    /// `column = value` (the root row; top-level relations by `project_id`).
    Eq { column: &'a str, value: i64 },
    /// `column IN (values)`. PostgreSQL binds one array (`= ANY($1)`); SQLite and MySQL bind one
    /// parameter per value, or one JSON array beyond the bind-parameter limit. An empty list
    /// selects nothing.
    In { column: &'a str, values: &'a [i64] },
    /// `column IN (values)` over text (natural keys: user emails, label titles).
    InText {
        column: &'a str,
        values: &'a [String],
    },
}

/// A connection pool to one database.
#[derive(Debug, Clone)]
pub struct Database {
    pool: Pool,
}

/// One table's rows made ready for a bulk insert before the write ([`ReadyRows::prepare`]), so
/// the CPU work of checking and encoding them is done while the database still writes the rows
/// before them, not while it waits.
#[derive(Debug)]
pub(crate) enum ReadyRows {
    /// SQLite and MySQL bind the rows themselves (checked when inserted).
    Rows(Vec<Row>),
    /// PostgreSQL: the rows checked and encoded as `COPY` text, in pieces.
    Copy { text: Vec<Vec<u8>>, rows: u64 },
}

impl ReadyRows {
    /// Make `rows` of `table` ready for `dialect`: on PostgreSQL, check every value against its
    /// column and encode the `COPY` text (the rows are dropped); elsewhere keep them as they are.
    pub(crate) fn prepare(
        dialect: Dialect,
        table: &str,
        columns: &[(&str, LogicalType)],
        rows: Vec<Row>,
    ) -> Result<ReadyRows, BackendError> {
        match dialect {
            Dialect::Postgres => {
                check_insert(table, columns, &rows)?;
                Ok(ReadyRows::Copy {
                    text: copy::encode_rows(&rows),
                    rows: rows.len() as u64,
                })
            }
            Dialect::Sqlite | Dialect::MySql => Ok(ReadyRows::Rows(rows)),
        }
    }

    /// How many rows.
    pub(crate) fn len(&self) -> u64 {
        match self {
            ReadyRows::Rows(rows) => rows.len() as u64,
            ReadyRows::Copy { rows, .. } => *rows,
        }
    }
}

/// Rows fit for an insert into `columns` of `table`: every value of the column's logical type,
/// and some columns to insert into, if there are rows.
fn check_insert(
    table: &str,
    columns: &[(&str, LogicalType)],
    rows: &[Row],
) -> Result<(), BackendError> {
    sql::check_rows(table, columns, rows)?;
    if !rows.is_empty() && columns.is_empty() {
        return Err(BackendError::invalid(table, "insert without columns"));
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
    MySql(MySqlPool),
}

/// One open transaction on one of the backends.
#[derive(Debug)]
enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
    MySql(Transaction<'static, MySql>),
}

impl Tx {
    fn dialect(&self) -> Dialect {
        match self {
            Tx::Sqlite(_) => Dialect::Sqlite,
            Tx::Postgres(_) => Dialect::Postgres,
            Tx::MySql(_) => Dialect::MySql,
        }
    }

    async fn select(&mut self, q: &Select<'_>) -> Result<Vec<Row>, BackendError> {
        match self {
            Tx::Sqlite(tx) => exec::select::<Sqlite>(tx, q).await,
            Tx::Postgres(tx) => exec::select::<Postgres>(tx, q).await,
            Tx::MySql(tx) => exec::select::<MySql>(tx, q).await,
        }
    }

    async fn count(&mut self, q: &Select<'_>) -> Result<u64, BackendError> {
        match self {
            Tx::Sqlite(tx) => exec::count::<Sqlite>(tx, q).await,
            Tx::Postgres(tx) => exec::count::<Postgres>(tx, q).await,
            Tx::MySql(tx) => exec::count::<MySql>(tx, q).await,
        }
    }

    async fn commit(self) -> Result<(), BackendError> {
        let err = |e| BackendError::query("commit", "transaction", e);
        match self {
            Tx::Sqlite(tx) => tx.commit().await.map_err(err),
            Tx::Postgres(tx) => tx.commit().await.map_err(err),
            Tx::MySql(tx) => tx.commit().await.map_err(err),
        }
    }

    async fn rollback(self) -> Result<(), BackendError> {
        let err = |e| BackendError::query("rollback", "transaction", e);
        match self {
            Tx::Sqlite(tx) => tx.rollback().await.map_err(err),
            Tx::Postgres(tx) => tx.rollback().await.map_err(err),
            Tx::MySql(tx) => tx.rollback().await.map_err(err),
        }
    }
}

impl Database {
    /// Connect to `url`:
    /// `sqlite://path`, `sqlite:path?mode=rwc`, `sqlite::memory:`; `postgres://…` or
    /// `postgresql://…`; `mysql://…` or `mariadb://…`.
    ///
    /// SQLite files are created when missing and opened with `foreign_keys = ON`, WAL journal and
    /// a busy timeout; an in-memory database uses one shared connection so every handle sees the
    /// same data (and transactions on it run one at a time).
    pub async fn connect(url: &str) -> Result<Database, BackendError> {
        let scheme = url.split(':').next().unwrap_or_default();
        let pool = match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Pool::Sqlite(sqlite::connect(url).await?),
            "postgres" | "postgresql" => Pool::Postgres(postgres::connect(url).await?),
            "mysql" | "mariadb" => Pool::MySql(mysql::connect(url).await?),
            _ => {
                return Err(BackendError::UnsupportedScheme {
                    scheme: if url.contains(':') {
                        scheme.to_owned()
                    } else {
                        // No scheme at all: show (redacted) what was given.
                        redact_url(url)
                    },
                });
            }
        };
        tracing::debug!(url = %redact_url(url), "connected");
        Ok(Database { pool })
    }

    /// The dialect of this database.
    pub fn dialect(&self) -> Dialect {
        match self.pool {
            Pool::Sqlite(_) => Dialect::Sqlite,
            Pool::Postgres(_) => Dialect::Postgres,
            Pool::MySql(_) => Dialect::MySql,
        }
    }

    /// The SQLite pool, for application code that needs raw access.
    pub fn as_sqlite(&self) -> Option<&SqlitePool> {
        match &self.pool {
            Pool::Sqlite(p) => Some(p),
            _ => None,
        }
    }

    /// The PostgreSQL pool, for application code that needs raw access.
    pub fn as_postgres(&self) -> Option<&PgPool> {
        match &self.pool {
            Pool::Postgres(p) => Some(p),
            _ => None,
        }
    }

    /// The MySQL/MariaDB pool, for application code that needs raw access.
    pub fn as_mysql(&self) -> Option<&MySqlPool> {
        match &self.pool {
            Pool::MySql(p) => Some(p),
            _ => None,
        }
    }

    /// Execute a multi-statement SQL script (migrations, tests, benchmarks) on one connection.
    pub async fn execute_script(&self, sql: &str) -> Result<(), BackendError> {
        let err = |e| BackendError::query("execute script", "script", e);
        let script = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.pool {
            Pool::Sqlite(p) => sqlx::raw_sql(script).execute(p).await.map(drop),
            Pool::Postgres(p) => sqlx::raw_sql(script).execute(p).await.map(drop),
            Pool::MySql(p) => sqlx::raw_sql(script).execute(p).await.map(drop),
        }
        .map_err(err)
    }

    /// Introspect the live schema into a canonical snapshot, skipping internal tables
    /// (`sqlite_*`, `_sqlx_migrations`) and every table named in `skip`.
    pub async fn introspect(&self, skip: &[&str]) -> Result<Schema, BackendError> {
        let mut schema = match &self.pool {
            Pool::Sqlite(p) => introspect::sqlite(p).await?,
            Pool::Postgres(p) => introspect::postgres(p).await?,
            Pool::MySql(p) => introspect::mysql(p).await?,
        };
        schema
            .tables
            .retain(|t| !introspect::is_internal(&t.name) && !skip.contains(&t.name.as_str()));
        schema.canonicalize();
        Ok(schema)
    }

    /// Begin one read-only snapshot transaction for an export. PostgreSQL: `REPEATABLE READ, READ
    /// ONLY`; SQLite: a deferred transaction whose snapshot is taken at once (WAL lets writers go
    /// on); MySQL: `START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY` (REPEATABLE READ).
    pub async fn snapshot(&self) -> Result<Snapshot, BackendError> {
        let tx = match &self.pool {
            Pool::Sqlite(p) => Tx::Sqlite(sqlite::begin_snapshot(p).await?),
            Pool::Postgres(p) => Tx::Postgres(postgres::begin_snapshot(p).await?),
            Pool::MySql(p) => Tx::MySql(mysql::begin_snapshot(p).await?),
        };
        Ok(Snapshot { tx, scans: 0 })
    }

    /// Begin one write transaction for an import (SQLite: `BEGIN IMMEDIATE`). Dropping the
    /// [`ImportTx`] without committing rolls it back.
    pub async fn begin_import(&self) -> Result<ImportTx, BackendError> {
        let tx = match &self.pool {
            Pool::Sqlite(p) => Tx::Sqlite(sqlite::begin_import(p).await?),
            Pool::Postgres(p) => Tx::Postgres(postgres::begin_import(p).await?),
            Pool::MySql(p) => Tx::MySql(mysql::begin_import(p).await?),
        };
        Ok(ImportTx {
            tx,
            next_ids: HashMap::new(),
        })
    }

    /// Close every connection of the pool. Waits until every open [`Snapshot`] and [`ImportTx`]
    /// of this database has ended (finish, commit, roll back or drop them first).
    pub async fn close(self) {
        match self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
            Pool::MySql(p) => p.close().await,
        }
    }
}

/// A read-only transaction with a fixed snapshot, for one export.
#[derive(Debug)]
pub struct Snapshot {
    tx: Tx,
    /// Scans started so far (PostgreSQL names each one's cursor after it).
    scans: u64,
}

/// Where a paged read of one [`Select`] stands ([`Snapshot::next_page`]); start with
/// `Scan::default()`.
#[derive(Debug, Default)]
pub struct Scan {
    /// PostgreSQL: the open cursor.
    cursor: Option<String>,
    /// The keyset cursor after the last row read by a keyset query (order columns, then `id`):
    /// every page on SQLite and MySQL, the first page on PostgreSQL.
    after: Option<Vec<Value>>,
    done: bool,
}

impl Snapshot {
    /// The dialect of the underlying database.
    pub fn dialect(&self) -> Dialect {
        self.tx.dialect()
    }

    /// Read one page (or all rows) of `q`.
    pub async fn select(&mut self, q: &Select<'_>) -> Result<Vec<Row>, BackendError> {
        self.tx.select(q).await
    }

    /// Count the rows `q` would return without its limit (filter, `type_eq` and cursor apply;
    /// `columns` may be empty unless a cursor is given). For progress totals.
    pub async fn count(&mut self, q: &Select<'_>) -> Result<u64, BackendError> {
        self.tx.count(q).await
    }

    /// The next at most `n` rows of `scan` over `q` (whose own `after` and `limit` are ignored), in
    /// `q`'s order; fewer than `n` means the scan is done, and every later call returns no rows.
    /// Other reads of the snapshot may run between pages; call with the same `q` every time.
    ///
    /// The first page is a keyset query. On PostgreSQL, a scan that needs more pages then reads
    /// the rest through one cursor of the snapshot's transaction: an order no index serves
    /// (`relative_position`, say) is sorted once instead of once per page, which made keyset
    /// paging quadratic. SQLite and MySQL page by keyset throughout (`after` the last row read).
    pub async fn next_page(
        &mut self,
        scan: &mut Scan,
        q: &Select<'_>,
        n: usize,
    ) -> Result<Vec<Row>, BackendError> {
        if scan.done {
            return Ok(Vec::new());
        }
        let n = n.max(1);
        if let (Tx::Postgres(tx), None, Some(after)) = (&mut self.tx, &scan.cursor, &scan.after) {
            self.scans += 1;
            let name = format!("hoist_scan_{}", self.scans);
            let rest = Select {
                after: Some(after),
                ..*q
            };
            if !postgres::declare_cursor(tx, &name, &rest).await? {
                scan.done = true;
                return Ok(Vec::new());
            }
            scan.cursor = Some(name);
        }
        let page = match (&mut self.tx, &scan.cursor) {
            (Tx::Postgres(tx), Some(name)) => {
                let page = postgres::fetch_cursor(tx, name, q, n).await?;
                if page.len() < n {
                    postgres::close_cursor(tx, name, q.table).await?;
                }
                page
            }
            _ => {
                let page = self
                    .tx
                    .select(&Select {
                        after: scan.after.as_deref(),
                        limit: Some(n),
                        ..*q
                    })
                    .await?;
                if let Some(last) = page.last() {
                    scan.after = Some(keyset_of(q, last)?);
                }
                page
            }
        };
        scan.done = page.len() < n;
        Ok(page)
    }

    /// End the read transaction.
    pub async fn finish(self) -> Result<(), BackendError> {
        self.tx.commit().await
    }
}

/// The keyset cursor of `row` (read by `q`): its order columns' values, then its `id`.
fn keyset_of(q: &Select<'_>, row: &Row) -> Result<Vec<Value>, BackendError> {
    q.order
        .iter()
        .map(|o| o.column)
        .chain(std::iter::once("id"))
        .map(|name| {
            q.columns
                .iter()
                .position(|(c, _)| *c == name)
                .and_then(|i| row.get(i))
                .cloned()
                .ok_or_else(|| {
                    BackendError::invalid(
                        q.table,
                        format!("a paged read must select its order column `{name}`"),
                    )
                })
        })
        .collect()
}

/// The one write transaction of an import. Dropped without [`ImportTx::commit`], it rolls back.
#[derive(Debug)]
pub struct ImportTx {
    tx: Tx,
    /// SQLite and MySQL: the next free id per table, counted up in memory.
    next_ids: HashMap<String, i64>,
}

impl ImportTx {
    /// The dialect of the underlying database.
    pub fn dialect(&self) -> Dialect {
        self.tx.dialect()
    }

    /// `n` fresh primary keys for `table`, ascending and unique against concurrent writers, as runs
    /// of consecutive ids.
    ///
    /// PostgreSQL draws them from the id column's sequence (serial or identity) and folds them into
    /// runs on the server (one round trip, one row per run: a single run unless concurrent writers
    /// drew from the sequence at the same time). SQLite holds the write lock and counts up from
    /// `MAX(id)` / `sqlite_sequence`, read once per table per transaction. MySQL counts up from
    /// `MAX(id)` read with `FOR UPDATE` (see the caveat in the MySQL backend docs: application
    /// inserts racing an import can hit a duplicate key). Both give one run.
    pub async fn allocate_ids(&mut self, table: &str, n: usize) -> Result<IdRanges, BackendError> {
        let mut ids = self.allocate_ids_for(&[(table, n)]).await?;
        Ok(ids.pop().unwrap_or_default())
    }

    /// Fresh ids for several tables at once, as [`ImportTx::allocate_ids`] gives them for each
    /// `(table, n)`, in the order asked; a table may be asked for more than once. PostgreSQL
    /// draws them all in one round trip.
    pub async fn allocate_ids_for(
        &mut self,
        wanted: &[(&str, usize)],
    ) -> Result<Vec<IdRanges>, BackendError> {
        if let Tx::Postgres(tx) = &mut self.tx {
            return postgres::allocate_ids(tx, wanted).await;
        }
        let mut allocated = Vec::with_capacity(wanted.len());
        for &(table, n) in wanted {
            allocated.push(self.count_up_ids(table, n).await?);
        }
        Ok(allocated)
    }

    /// SQLite and MySQL: `n` ids counted up from the table's next free id.
    async fn count_up_ids(&mut self, table: &str, n: usize) -> Result<IdRanges, BackendError> {
        if n == 0 {
            return Ok(IdRanges::new());
        }
        let next = match (&mut self.tx, self.next_ids.get(table)) {
            (_, Some(next)) => *next,
            (Tx::Sqlite(tx), None) => sqlite::next_id(tx, table).await?,
            (Tx::MySql(tx), None) => mysql::next_id(tx, table).await?,
            (Tx::Postgres(_), None) => {
                return Err(BackendError::invalid(
                    table,
                    "PostgreSQL draws ids from sequences, not by counting",
                ));
            }
        };
        let end = i64::try_from(n)
            .ok()
            .and_then(|n| next.checked_add(n))
            .ok_or_else(|| BackendError::invalid(table, format!("cannot allocate {n} more ids")))?;
        let ranges = IdRanges::run(next, n as u64)
            .map_err(|e| BackendError::invalid(table, format!("cannot allocate ids: {e}")))?;
        self.next_ids.insert(table.to_owned(), end);
        Ok(ranges)
    }

    /// Bulk insert `rows` (explicit ids included) into `columns` of `table`. PostgreSQL uses
    /// `COPY … FROM STDIN`; SQLite and MySQL prepared multi-row INSERTs batched by the
    /// bind-parameter limit. Every value is checked against its column's logical type first.
    pub async fn insert(
        &mut self,
        table: &str,
        columns: &[(&str, LogicalType)],
        rows: &[Row],
    ) -> Result<(), BackendError> {
        check_insert(table, columns, rows)?;
        if rows.is_empty() {
            return Ok(());
        }
        match &mut self.tx {
            Tx::Postgres(tx) => {
                let text = copy::encode_rows(rows);
                postgres::copy_text(tx, table, columns, &text, rows.len() as u64).await
            }
            Tx::Sqlite(tx) => exec::insert_rows::<Sqlite>(tx, table, columns, rows).await,
            Tx::MySql(tx) => exec::insert_rows::<MySql>(tx, table, columns, rows).await,
        }
    }

    /// [`ImportTx::insert`] of rows made ready for this backend beforehand ([`ReadyRows::prepare`]).
    pub(crate) async fn insert_ready(
        &mut self,
        table: &str,
        columns: &[(&str, LogicalType)],
        ready: &ReadyRows,
    ) -> Result<(), BackendError> {
        match (ready, &mut self.tx) {
            (ReadyRows::Rows(rows), _) => self.insert(table, columns, rows).await,
            (ReadyRows::Copy { rows: 0, .. }, Tx::Postgres(_)) => Ok(()),
            (ReadyRows::Copy { text, rows }, Tx::Postgres(tx)) => {
                postgres::copy_text(tx, table, columns, text, *rows).await
            }
            (ReadyRows::Copy { .. }, _) => Err(BackendError::invalid(
                table,
                "rows encoded for PostgreSQL's COPY, sent to another database",
            )),
        }
    }

    /// The `id` of the first row (lowest id) with `c1 = v1 AND …` (a NULL value matches NULL).
    pub async fn find_id(
        &mut self,
        table: &str,
        filter: &[(&str, Value)],
    ) -> Result<Option<i64>, BackendError> {
        match &mut self.tx {
            Tx::Sqlite(tx) => exec::find_id::<Sqlite>(tx, table, filter).await,
            Tx::Postgres(tx) => exec::find_id::<Postgres>(tx, table, filter).await,
            Tx::MySql(tx) => exec::find_id::<MySql>(tx, table, filter).await,
        }
    }

    /// Read rows inside the import transaction (users by natural key, existing labels).
    pub async fn select(&mut self, q: &Select<'_>) -> Result<Vec<Row>, BackendError> {
        self.tx.select(q).await
    }

    /// Count rows inside the import transaction (see [`Snapshot::count`]).
    pub async fn count(&mut self, q: &Select<'_>) -> Result<u64, BackendError> {
        self.tx.count(q).await
    }

    /// Refresh the planner's statistics of `table` inside the transaction (PostgreSQL: `ANALYZE`
    /// of its size and its `id` column, which sees the transaction's own rows; elsewhere
    /// nothing). PostgreSQL plans the foreign-key check it runs for every inserted row once per
    /// connection and keeps the plan; planned while a parent table was (or was recorded as)
    /// nearly empty, it is a sequential scan, which turns a large import quadratic. New
    /// statistics invalidate the kept plans.
    pub async fn refresh_statistics(&mut self, table: &str) -> Result<(), BackendError> {
        match &mut self.tx {
            Tx::Postgres(tx) => postgres::analyze(tx, table).await,
            Tx::Sqlite(_) | Tx::MySql(_) => Ok(()),
        }
    }

    /// `UPDATE table SET column = value WHERE id = id` for each pair (deferred references).
    pub async fn update_column(
        &mut self,
        table: &str,
        column: &str,
        ty: LogicalType,
        updates: &[(i64, Value)],
    ) -> Result<(), BackendError> {
        for (_, value) in updates {
            if !sql::fits(value, ty) {
                return Err(BackendError::encode(
                    table,
                    column,
                    ty,
                    sql::value_kind(value),
                ));
            }
        }
        if updates.is_empty() {
            return Ok(());
        }
        match &mut self.tx {
            Tx::Postgres(tx) => postgres::update_column(tx, table, column, ty, updates).await,
            Tx::Sqlite(tx) => exec::update_each::<Sqlite>(tx, table, column, ty, updates).await,
            Tx::MySql(tx) => exec::update_each::<MySql>(tx, table, column, ty, updates).await,
        }
    }

    /// Commit the import.
    pub async fn commit(self) -> Result<(), BackendError> {
        self.tx.commit().await
    }

    /// Roll the import back: no row of it remains.
    pub async fn rollback(self) -> Result<(), BackendError> {
        self.tx.rollback().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: [(&str, LogicalType); 2] =
        [("id", LogicalType::Integer), ("title", LogicalType::Text)];

    fn rows() -> Vec<Row> {
        vec![
            vec![Value::Int(1), Value::Text("a\tb".into())],
            vec![Value::Int(2), Value::Null],
        ]
    }

    #[test]
    fn rows_for_postgres_are_checked_and_encoded_as_copy_text() {
        let ready = ReadyRows::prepare(Dialect::Postgres, "labels", &COLUMNS, rows()).unwrap();
        assert_eq!(ready.len(), 2);
        match ready {
            ReadyRows::Copy { text, rows } => {
                assert_eq!(rows, 2);
                assert_eq!(
                    String::from_utf8(text.concat()).unwrap(),
                    "1\ta\\tb\n2\t\\N\n"
                );
            }
            other => panic!("expected COPY text, got {other:?}"),
        }
    }

    #[test]
    fn a_value_of_the_wrong_type_is_refused_before_the_write() {
        let mut bad = rows();
        bad[1][1] = Value::Int(5);
        let e = ReadyRows::prepare(Dialect::Postgres, "labels", &COLUMNS, bad).unwrap_err();
        let message = e.to_string();
        assert!(
            message.contains("labels") && message.contains("title"),
            "{message}"
        );
        let e = ReadyRows::prepare(Dialect::Postgres, "labels", &[], rows()).unwrap_err();
        assert!(e.to_string().contains("2 values for 0 columns"), "{e}");
        let e = ReadyRows::prepare(Dialect::Postgres, "labels", &[], vec![vec![]]).unwrap_err();
        assert!(e.to_string().contains("without columns"), "{e}");
    }

    #[test]
    fn rows_for_sqlite_and_mysql_stay_rows() {
        for dialect in [Dialect::Sqlite, Dialect::MySql] {
            match ReadyRows::prepare(dialect, "labels", &COLUMNS, rows()).unwrap() {
                ReadyRows::Rows(kept) => assert_eq!(kept, rows()),
                other => panic!("expected rows for {dialect:?}, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn copy_text_is_refused_by_another_database() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        db.execute_script("CREATE TABLE labels (id INTEGER PRIMARY KEY, title TEXT);")
            .await
            .unwrap();
        let mut tx = db.begin_import().await.unwrap();
        let ready = ReadyRows::prepare(Dialect::Postgres, "labels", &COLUMNS, rows()).unwrap();
        let e = tx
            .insert_ready("labels", &COLUMNS, &ready)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("another database"), "{e}");
        let ready = ReadyRows::prepare(Dialect::Sqlite, "labels", &COLUMNS, rows()).unwrap();
        tx.insert_ready("labels", &COLUMNS, &ready).await.unwrap();
        tx.rollback().await.unwrap();
    }
}
