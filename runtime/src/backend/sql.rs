//! The shared SQL builder: statements with dialect-specific quoting and placeholders, and the list
//! of values to bind. Values are never interpolated into SQL text.
//!
//! Keyset pagination lives here too. A page "strictly after" the cursor `(v1, …, vn, id)` over the
//! sort keys `(k1, …, kn, id ASC)` is the lexicographic condition
//!
//! ```text
//! after(k1) OR (eq(k1) AND after(k2)) OR … OR (eq(k1) AND … AND eq(kn) AND id > v_id)
//! ```
//!
//! where, for a key with cursor value `v`:
//! * `eq(k)` is `k = v`, or `k IS NULL` when `v` is NULL;
//! * `after(k)` for a non-NULL `v` is `k > v` (ascending) or `k < v` (descending), plus
//!   `OR k IS NULL` when NULLs sort last; for a NULL `v` it is `k IS NOT NULL` when NULLs sort first,
//!   and nothing at all (the disjunct is dropped) when NULLs sort last.
//!
//! ORDER BY spells NULL placement out (`NULLS FIRST/LAST` on PostgreSQL and SQLite ≥ 3.30; an
//! `(expr IS NULL)` sort key on MySQL/MariaDB, which lack the clause).
//!
//! SQLite stores timestamps as text, and apps write them in several ISO forms (`T` or space,
//! with or without fraction and `Z`), whose text order is not time order. SQLite timestamp sort
//! keys therefore sort and compare on `julianday(col)` (millisecond resolution; rows within the
//! same millisecond are ordered by the `id` tie-breaker), consistently in ORDER BY and in the
//! keyset condition.

use super::error::BackendError;
use super::{Dialect, Filter, Select};
use crate::value::{LogicalType, Row, Value};

/// Upper bound on the bytes of values bound to one multi-row INSERT (keeps MySQL packets under the
/// default `max_allowed_packet`).
const INSERT_BATCH_BYTES: usize = 8 * 1024 * 1024;

/// Binds kept free for the non-list parts of a SELECT (type filter, cursor, limit).
const RESERVED_BINDS: usize = 1024;

/// One value to bind to a placeholder.
#[derive(Debug, Clone)]
pub(crate) enum Bind<'a> {
    /// A column value, with the column's logical type (typed NULLs on PostgreSQL).
    Value(&'a Value, LogicalType),
    Int(i64),
    Text(&'a str),
    /// Owned text (JSON arrays for `json_each` / `JSON_TABLE`).
    OwnedText(String),
    /// PostgreSQL `bigint[]`.
    IntArray(&'a [i64]),
    /// PostgreSQL `text[]`.
    TextArray(&'a [String]),
    /// PostgreSQL array of one column's values (`UPDATE … FROM unnest(…)`).
    ValueArray(Vec<&'a Value>, LogicalType),
}

/// A statement ready to run: SQL text plus binds in placeholder order.
#[derive(Debug)]
pub(crate) struct Statement<'a> {
    pub sql: String,
    pub binds: Vec<Bind<'a>>,
}

impl Dialect {
    /// The most bind parameters one statement may carry.
    pub(crate) fn max_binds(self) -> usize {
        match self {
            // SQLITE_MAX_VARIABLE_NUMBER of the bundled SQLite (default since 3.32).
            Dialect::Sqlite => 32_766,
            // Both protocols count parameters in an unsigned 16-bit field.
            Dialect::Postgres | Dialect::MySql => 65_535,
        }
    }
}

/// Quote an identifier for `dialect` (`"x"` with `""` escapes; MySQL `` `x` `` with ``` `` ```).
pub(crate) fn quote_ident(dialect: Dialect, name: &str) -> String {
    let q = match dialect {
        Dialect::Sqlite | Dialect::Postgres => '"',
        Dialect::MySql => '`',
    };
    let mut out = String::with_capacity(name.len() + 2);
    out.push(q);
    for c in name.chars() {
        if c == q {
            out.push(q);
        }
        out.push(c);
    }
    out.push(q);
    out
}

/// The kind of a value, as named in messages.
pub(crate) fn value_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Int(_) => "integer",
        Value::Float(_) => "float",
        Value::Bool(_) => "boolean",
        Value::Text(_) => "text",
        Value::Timestamp(_) => "timestamp",
        Value::Json(_) => "json",
        Value::Bytes(_) => "binary",
    }
}

/// Whether `value` can be written to a column of logical type `ty` (NULL always can; an integer
/// can go to a float column).
pub(crate) fn fits(value: &Value, ty: LogicalType) -> bool {
    matches!(
        (value, ty),
        (Value::Null, _)
            | (Value::Int(_), LogicalType::Integer | LogicalType::Float)
            | (Value::Float(_), LogicalType::Float)
            | (Value::Bool(_), LogicalType::Boolean)
            | (Value::Text(_), LogicalType::Text)
            | (Value::Timestamp(_), LogicalType::Timestamp)
            | (Value::Json(_), LogicalType::Json)
            | (Value::Bytes(_), LogicalType::Binary)
    )
}

/// The logical type a non-NULL value naturally has.
pub(crate) fn natural_type(value: &Value) -> Option<LogicalType> {
    Some(match value {
        Value::Null => return None,
        Value::Int(_) => LogicalType::Integer,
        Value::Float(_) => LogicalType::Float,
        Value::Bool(_) => LogicalType::Boolean,
        Value::Text(_) => LogicalType::Text,
        Value::Timestamp(_) => LogicalType::Timestamp,
        Value::Json(_) => LogicalType::Json,
        Value::Bytes(_) => LogicalType::Binary,
    })
}

/// Rough number of bytes a value occupies on the wire.
pub(crate) fn approx_size(value: &Value) -> usize {
    fn json_size(v: &serde_json::Value) -> usize {
        match v {
            serde_json::Value::String(s) => s.len() + 2,
            serde_json::Value::Array(a) => 2 + a.iter().map(json_size).sum::<usize>(),
            serde_json::Value::Object(o) => {
                2 + o
                    .iter()
                    .map(|(k, v)| k.len() + 4 + json_size(v))
                    .sum::<usize>()
            }
            _ => 8,
        }
    }
    match value {
        Value::Text(s) => s.len() + 4,
        Value::Bytes(b) => b.len() + 4,
        Value::Json(j) => json_size(j),
        _ => 9,
    }
}

/// Accumulates SQL text and binds, numbering placeholders per dialect.
struct Builder<'a> {
    dialect: Dialect,
    sql: String,
    binds: Vec<Bind<'a>>,
}

impl<'a> Builder<'a> {
    fn new(dialect: Dialect) -> Self {
        Builder {
            dialect,
            sql: String::with_capacity(256),
            binds: Vec::new(),
        }
    }

    fn push(&mut self, s: &str) -> &mut Self {
        self.sql.push_str(s);
        self
    }

    fn ident(&mut self, name: &str) -> &mut Self {
        let quoted = quote_ident(self.dialect, name);
        self.sql.push_str(&quoted);
        self
    }

    /// Append a placeholder and remember the value for it.
    fn bind(&mut self, bind: Bind<'a>) -> &mut Self {
        self.binds.push(bind);
        match self.dialect {
            Dialect::Postgres => {
                self.sql.push('$');
                self.sql.push_str(&self.binds.len().to_string());
            }
            Dialect::Sqlite | Dialect::MySql => self.sql.push('?'),
        }
        self
    }

    fn finish(self) -> Statement<'a> {
        Statement {
            sql: self.sql,
            binds: self.binds,
        }
    }
}

/// One ORDER BY key of a select.
#[derive(Debug, Clone, Copy)]
struct Key<'a> {
    column: &'a str,
    ty: Option<LogicalType>,
    descending: bool,
    nulls_first: bool,
    /// False for the `id` tie-breaker: no NULL handling needed.
    nullable: bool,
}

impl Key<'_> {
    /// SQLite sorts timestamps by `julianday(…)`, see the module docs.
    fn julian(&self, dialect: Dialect) -> bool {
        dialect == Dialect::Sqlite && self.ty == Some(LogicalType::Timestamp)
    }

    fn push_expr(&self, b: &mut Builder<'_>) {
        if self.julian(b.dialect) {
            b.push("julianday(").ident(self.column).push(")");
        } else {
            b.ident(self.column);
        }
    }

    fn push_value<'a>(&self, b: &mut Builder<'a>, value: &'a Value) {
        let ty = self.ty.unwrap_or(LogicalType::Integer);
        if self.julian(b.dialect) {
            b.push("julianday(").bind(Bind::Value(value, ty)).push(")");
        } else {
            b.bind(Bind::Value(value, ty));
        }
    }
}

fn column_type(q: &Select<'_>, name: &str) -> Option<LogicalType> {
    q.columns.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Build the SELECT for `q`. `None`: the answer is known to be empty (empty `IN` list, or a cursor
/// already at the end of the order) and nothing needs to run.
pub(crate) fn select<'a>(
    dialect: Dialect,
    q: &Select<'a>,
) -> Result<Option<Statement<'a>>, BackendError> {
    build_select(dialect, q, false)
}

/// Build `SELECT COUNT(*)` over the rows `q` selects, ignoring its order (except for the cursor)
/// and limit. `None`: the count is known to be zero.
pub(crate) fn count<'a>(
    dialect: Dialect,
    q: &Select<'a>,
) -> Result<Option<Statement<'a>>, BackendError> {
    build_select(dialect, q, true)
}

fn build_select<'a>(
    dialect: Dialect,
    q: &Select<'a>,
    count: bool,
) -> Result<Option<Statement<'a>>, BackendError> {
    if q.columns.is_empty() && !count {
        return Err(BackendError::invalid(q.table, "select without columns"));
    }
    let mut keys: Vec<Key<'a>> = q
        .order
        .iter()
        .map(|o| Key {
            column: o.column,
            ty: column_type(q, o.column),
            descending: o.descending,
            nulls_first: o.nulls_first,
            nullable: true,
        })
        .collect();
    keys.push(Key {
        column: "id",
        ty: Some(LogicalType::Integer),
        descending: false,
        nulls_first: false,
        nullable: false,
    });

    let mut b = Builder::new(dialect);
    b.push("SELECT ");
    if count {
        b.push("COUNT(*)");
    }
    for (i, (name, ty)) in q.columns.iter().enumerate().filter(|_| !count) {
        if i > 0 {
            b.push(", ");
        }
        b.ident(name);
        if dialect == Dialect::Postgres && *ty == LogicalType::Float {
            // real, double precision and numeric all read as float8.
            b.push("::float8");
        }
    }
    b.push(" FROM ").ident(q.table);

    let mut first = true;
    let mut and = |b: &mut Builder<'a>| {
        b.push(if first { " WHERE " } else { " AND " });
        first = false;
    };

    match q.filter {
        Filter::All => {}
        Filter::Eq { column, value } => {
            and(&mut b);
            b.ident(column).push(" = ").bind(Bind::Int(value));
        }
        Filter::In { column, values } => {
            if values.is_empty() {
                return Ok(None);
            }
            and(&mut b);
            push_in(&mut b, column, InList::Int(values));
        }
        Filter::InText { column, values } => {
            if values.is_empty() {
                return Ok(None);
            }
            and(&mut b);
            push_in(&mut b, column, InList::Text(values));
        }
    }

    if let Some((column, value)) = q.type_eq {
        and(&mut b);
        b.ident(column).push(" = ").bind(Bind::Text(value));
    }

    if let Some(after) = q.after {
        if after.len() != keys.len() {
            return Err(BackendError::invalid(
                q.table,
                format!(
                    "keyset cursor has {} values, the order has {} keys (order columns, then id)",
                    after.len(),
                    keys.len()
                ),
            ));
        }
        for (key, value) in keys.iter().zip(after) {
            let Some(ty) = key.ty else {
                return Err(BackendError::invalid(
                    q.table,
                    format!(
                        "order column `{}` must be among the selected columns to page by it",
                        key.column
                    ),
                ));
            };
            if !fits(value, ty) {
                return Err(BackendError::invalid(
                    q.table,
                    format!(
                        "keyset cursor value for `{}` is {}, the column is {}",
                        key.column,
                        value_kind(value),
                        ty.as_str()
                    ),
                ));
            }
        }
        if after[keys.len() - 1].is_null() {
            return Err(BackendError::invalid(
                q.table,
                "keyset cursor has a NULL id",
            ));
        }
        and(&mut b);
        if !push_keyset(&mut b, &keys, after) {
            return Ok(None);
        }
    }

    if count {
        return Ok(Some(b.finish()));
    }
    b.push(" ORDER BY ");
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        push_order_key(&mut b, key);
    }

    if let Some(limit) = q.limit {
        b.push(" LIMIT ")
            .bind(Bind::Int(i64::try_from(limit).unwrap_or(i64::MAX)));
    }
    Ok(Some(b.finish()))
}

enum InList<'a> {
    Int(&'a [i64]),
    Text(&'a [String]),
}

impl InList<'_> {
    fn len(&self) -> usize {
        match self {
            InList::Int(v) => v.len(),
            InList::Text(v) => v.len(),
        }
    }
}

/// `column IN (…)`: PostgreSQL binds one array (`= ANY($1)`). SQLite and MySQL bind one parameter
/// per value, padded (by repeating the last value) to the next power of two so statements are
/// reused from the prepared-statement cache; lists longer than the bind-parameter limit are bound
/// as one JSON array (`json_each` / `JSON_TABLE`) so a single statement keeps one global ORDER BY
/// and LIMIT, which chunking could not.
fn push_in<'a>(b: &mut Builder<'a>, column: &str, list: InList<'a>) {
    if b.dialect == Dialect::Postgres {
        b.ident(column).push(" = ANY(");
        match list {
            InList::Int(v) => b.bind(Bind::IntArray(v)),
            InList::Text(v) => b.bind(Bind::TextArray(v)),
        };
        b.push(")");
        return;
    }
    let n = list.len();
    if n > b.dialect.max_binds() - RESERVED_BINDS {
        let json = match &list {
            InList::Int(v) => serde_json::Value::from(v.to_vec()),
            InList::Text(v) => serde_json::Value::from(v.to_vec()),
        }
        .to_string();
        b.ident(column);
        match (b.dialect, &list) {
            (Dialect::MySql, InList::Int(_)) => {
                b.push(" IN (SELECT hoist_jt.v FROM JSON_TABLE(")
                    .bind(Bind::OwnedText(json))
                    .push(", '$[*]' COLUMNS (v BIGINT PATH '$')) AS hoist_jt)");
            }
            (Dialect::MySql, InList::Text(_)) => {
                // Converted to the connection character set (utf8mb4) so the comparison uses the
                // column's collation, like a bound string would.
                b.push(" IN (SELECT CONVERT(hoist_jt.v USING utf8mb4) FROM JSON_TABLE(")
                    .bind(Bind::OwnedText(json))
                    .push(", '$[*]' COLUMNS (v LONGTEXT PATH '$')) AS hoist_jt)");
            }
            _ => {
                b.push(" IN (SELECT value FROM json_each(")
                    .bind(Bind::OwnedText(json))
                    .push("))");
            }
        }
        return;
    }
    let padded = match n.next_power_of_two() {
        p if p <= b.dialect.max_binds() - RESERVED_BINDS => p,
        _ => n,
    };
    b.ident(column).push(" IN (");
    for i in 0..padded {
        if i > 0 {
            b.push(", ");
        }
        let at = i.min(n - 1);
        match &list {
            InList::Int(v) => b.bind(Bind::Int(v[at])),
            InList::Text(v) => b.bind(Bind::Text(&v[at])),
        };
    }
    b.push(")");
}

/// Whether `after(key)` exists for cursor value `v` (see the module docs).
fn has_after(key: &Key<'_>, v: &Value) -> bool {
    !(key.nullable && v.is_null() && !key.nulls_first)
}

/// Append the "strictly after the cursor" condition. Returns false when no row can follow the
/// cursor (every disjunct dropped).
fn push_keyset<'a>(b: &mut Builder<'a>, keys: &[Key<'a>], after: &'a [Value]) -> bool {
    let live: Vec<usize> = (0..keys.len())
        .filter(|&k| has_after(&keys[k], &after[k]))
        .collect();
    if live.is_empty() {
        return false;
    }
    b.push("(");
    for (n, &k) in live.iter().enumerate() {
        if n > 0 {
            b.push(" OR ");
        }
        b.push("(");
        for i in 0..k {
            let key = &keys[i];
            if after[i].is_null() {
                key.push_expr(b);
                b.push(" IS NULL");
            } else {
                key.push_expr(b);
                b.push(" = ");
                key.push_value(b, &after[i]);
            }
            b.push(" AND ");
        }
        let key = &keys[k];
        let v = &after[k];
        if v.is_null() {
            // Only reachable with NULLs first: every non-NULL value comes after.
            key.push_expr(b);
            b.push(" IS NOT NULL");
        } else {
            let op = if key.descending { " < " } else { " > " };
            let or_null = key.nullable && !key.nulls_first;
            if or_null {
                b.push("(");
            }
            key.push_expr(b);
            b.push(op);
            key.push_value(b, v);
            if or_null {
                b.push(" OR ");
                key.push_expr(b);
                b.push(" IS NULL)");
            }
        }
        b.push(")");
    }
    b.push(")");
    true
}

fn push_order_key(b: &mut Builder<'_>, key: &Key<'_>) {
    let dir = if key.descending { " DESC" } else { " ASC" };
    match b.dialect {
        Dialect::MySql => {
            // MySQL sorts NULLs as the smallest value: first ascending, last descending.
            let natural_nulls_first = !key.descending;
            if key.nullable && key.nulls_first != natural_nulls_first {
                b.push("(");
                key.push_expr(b);
                b.push(if key.nulls_first {
                    " IS NULL) DESC, "
                } else {
                    " IS NULL) ASC, "
                });
            }
            key.push_expr(b);
            b.push(dir);
        }
        Dialect::Sqlite | Dialect::Postgres => {
            key.push_expr(b);
            b.push(dir);
            if key.nullable {
                b.push(if key.nulls_first {
                    " NULLS FIRST"
                } else {
                    " NULLS LAST"
                });
            }
        }
    }
}

/// Check that every row has one value per column and that each value fits its column.
pub(crate) fn check_rows(
    table: &str,
    columns: &[(&str, LogicalType)],
    rows: &[Row],
) -> Result<(), BackendError> {
    for (n, row) in rows.iter().enumerate() {
        if row.len() != columns.len() {
            return Err(BackendError::invalid(
                table,
                format!(
                    "row {n} has {} values for {} columns",
                    row.len(),
                    columns.len()
                ),
            ));
        }
        for (value, (column, ty)) in row.iter().zip(columns) {
            if !fits(value, *ty) {
                return Err(BackendError::encode(table, column, *ty, value_kind(value)));
            }
        }
    }
    Ok(())
}

/// How many rows starting at `rows[0]` go into one multi-row INSERT: bounded by the dialect's
/// bind-parameter limit and by [`INSERT_BATCH_BYTES`]. Always at least one.
pub(crate) fn insert_batch_len(dialect: Dialect, columns: usize, rows: &[Row]) -> usize {
    let by_binds = (dialect.max_binds() / columns.max(1)).max(1);
    let mut bytes = 0;
    let mut n = 0;
    for row in rows.iter().take(by_binds) {
        bytes += row.iter().map(approx_size).sum::<usize>();
        if n > 0 && bytes > INSERT_BATCH_BYTES {
            break;
        }
        n += 1;
    }
    n.max(1).min(rows.len())
}

/// `INSERT INTO t (c…) VALUES (…), (…)` for all of `rows` (callers batch with
/// [`insert_batch_len`]).
pub(crate) fn insert<'a>(
    dialect: Dialect,
    table: &str,
    columns: &[(&str, LogicalType)],
    rows: &'a [Row],
) -> Statement<'a> {
    let mut b = Builder::new(dialect);
    b.push("INSERT INTO ").ident(table).push(" (");
    push_column_list(&mut b, columns);
    b.push(") VALUES ");
    for (r, row) in rows.iter().enumerate() {
        b.push(if r == 0 { "(" } else { ", (" });
        for (i, (value, (_, ty))) in row.iter().zip(columns).enumerate() {
            if i > 0 {
                b.push(", ");
            }
            b.bind(Bind::Value(value, *ty));
        }
        b.push(")");
    }
    b.finish()
}

fn push_column_list(b: &mut Builder<'_>, columns: &[(&str, LogicalType)]) {
    for (i, (name, _)) in columns.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.ident(name);
    }
}

/// PostgreSQL `COPY t (c…) FROM STDIN` (text format).
pub(crate) fn copy_in(table: &str, columns: &[(&str, LogicalType)]) -> String {
    let mut b = Builder::new(Dialect::Postgres);
    b.push("COPY ").ident(table).push(" (");
    push_column_list(&mut b, columns);
    b.push(") FROM STDIN");
    b.finish().sql
}

/// PostgreSQL `ANALYZE t ("id")`: the table's size and the statistics of its `id` alone.
pub(crate) fn analyze_id(table: &str) -> String {
    let mut b = Builder::new(Dialect::Postgres);
    b.push("ANALYZE ")
        .ident(table)
        .push(" (")
        .ident("id")
        .push(")");
    b.finish().sql
}

/// `SELECT id FROM t WHERE c1 = v1 AND c2 IS NULL … LIMIT 1`.
pub(crate) fn find_id<'a>(
    dialect: Dialect,
    table: &str,
    filter: &'a [(&str, Value)],
) -> Statement<'a> {
    let mut b = Builder::new(dialect);
    b.push("SELECT ").ident("id").push(" FROM ").ident(table);
    for (i, (column, value)) in filter.iter().enumerate() {
        b.push(if i == 0 { " WHERE " } else { " AND " });
        b.ident(column);
        match natural_type(value) {
            None => {
                b.push(" IS NULL");
            }
            Some(ty) => {
                b.push(" = ").bind(Bind::Value(value, ty));
            }
        }
    }
    b.push(" ORDER BY ").ident("id").push(" LIMIT 1");
    b.finish()
}

/// `UPDATE t SET column = ? WHERE id = ?` (SQLite, MySQL: one statement per row, prepared once).
pub(crate) fn update_one<'a>(
    dialect: Dialect,
    table: &str,
    column: &str,
    ty: LogicalType,
    id: i64,
    value: &'a Value,
) -> Statement<'a> {
    let mut b = Builder::new(dialect);
    b.push("UPDATE ")
        .ident(table)
        .push(" SET ")
        .ident(column)
        .push(" = ")
        .bind(Bind::Value(value, ty))
        .push(" WHERE ")
        .ident("id")
        .push(" = ")
        .bind(Bind::Int(id));
    b.finish()
}

/// PostgreSQL: one `UPDATE … FROM unnest(ids, values)` for all pairs.
pub(crate) fn update_unnest<'a>(
    table: &str,
    column: &str,
    ty: LogicalType,
    ids: &'a [i64],
    values: Vec<&'a Value>,
) -> Statement<'a> {
    let mut b = Builder::new(Dialect::Postgres);
    b.push("UPDATE ")
        .ident(table)
        .push(" SET ")
        .ident(column)
        .push(" = hoist_v.val FROM (SELECT unnest(")
        .bind(Bind::IntArray(ids))
        .push(") AS id, unnest(")
        .bind(Bind::ValueArray(values, ty))
        .push(") AS val) AS hoist_v WHERE ")
        .ident(table)
        .push(".")
        .ident("id")
        .push(" = hoist_v.id");
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::OrderBy;

    const COLS: &[(&str, LogicalType)] = &[
        ("id", LogicalType::Integer),
        ("title", LogicalType::Text),
        ("due", LogicalType::Timestamp),
        ("weight", LogicalType::Float),
    ];

    const ORDER: &[OrderBy] = &[
        OrderBy {
            column: "due",
            descending: true,
            nulls_first: false,
        },
        OrderBy {
            column: "title",
            descending: false,
            nulls_first: true,
        },
    ];

    fn sql(dialect: Dialect, q: &Select<'_>) -> String {
        select(dialect, q)
            .expect("valid request")
            .map(|s| s.sql)
            .unwrap_or_else(|| "<empty>".into())
    }

    #[test]
    fn quotes_identifiers_per_dialect() {
        assert_eq!(quote_ident(Dialect::Postgres, "a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident(Dialect::Sqlite, "issues"), "\"issues\"");
        assert_eq!(quote_ident(Dialect::MySql, "a`b"), "`a``b`");
    }

    #[test]
    fn keyset_select_in_every_dialect() {
        let after = [Value::Null, Value::Text("x".into()), Value::Int(7)];
        let q = Select {
            table: "issues",
            columns: COLS,
            filter: Filter::Eq {
                column: "project_id",
                value: 3,
            },
            type_eq: None,
            order: ORDER,
            after: Some(&after),
            limit: Some(100),
        };
        insta::assert_snapshot!(
            [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql]
                .map(|d| format!("{d:?}: {}", sql(d, &q)))
                .join("\n"),
            @r#"
        Sqlite: SELECT "id", "title", "due", "weight" FROM "issues" WHERE "project_id" = ? AND ((julianday("due") IS NULL AND "title" > ?) OR (julianday("due") IS NULL AND "title" = ? AND "id" > ?)) ORDER BY julianday("due") DESC NULLS LAST, "title" ASC NULLS FIRST, "id" ASC LIMIT ?
        Postgres: SELECT "id", "title", "due", "weight"::float8 FROM "issues" WHERE "project_id" = $1 AND (("due" IS NULL AND "title" > $2) OR ("due" IS NULL AND "title" = $3 AND "id" > $4)) ORDER BY "due" DESC NULLS LAST, "title" ASC NULLS FIRST, "id" ASC LIMIT $5
        MySql: SELECT `id`, `title`, `due`, `weight` FROM `issues` WHERE `project_id` = ? AND ((`due` IS NULL AND `title` > ?) OR (`due` IS NULL AND `title` = ? AND `id` > ?)) ORDER BY `due` DESC, `title` ASC, `id` ASC LIMIT ?
        "#
        );
    }

    #[test]
    fn keyset_with_non_null_cursor() {
        let ts = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("valid");
        let after = [Value::Timestamp(ts), Value::Null, Value::Int(7)];
        let q = Select {
            table: "issues",
            columns: COLS,
            filter: Filter::In {
                column: "project_id",
                values: &[1, 2, 3],
            },
            type_eq: Some(("noteable_type", "Issue")),
            order: ORDER,
            after: Some(&after),
            limit: None,
        };
        insta::assert_snapshot!(sql(Dialect::Postgres, &q), @r#"SELECT "id", "title", "due", "weight"::float8 FROM "issues" WHERE "project_id" = ANY($1) AND "noteable_type" = $2 AND ((("due" < $3 OR "due" IS NULL)) OR ("due" = $4 AND "title" IS NOT NULL) OR ("due" = $5 AND "title" IS NULL AND "id" > $6)) ORDER BY "due" DESC NULLS LAST, "title" ASC NULLS FIRST, "id" ASC"#);
        insta::assert_snapshot!(sql(Dialect::Sqlite, &q), @r#"SELECT "id", "title", "due", "weight" FROM "issues" WHERE "project_id" IN (?, ?, ?, ?) AND "noteable_type" = ? AND (((julianday("due") < julianday(?) OR julianday("due") IS NULL)) OR (julianday("due") = julianday(?) AND "title" IS NOT NULL) OR (julianday("due") = julianday(?) AND "title" IS NULL AND "id" > ?)) ORDER BY julianday("due") DESC NULLS LAST, "title" ASC NULLS FIRST, "id" ASC"#);
    }

    #[test]
    fn cursor_at_the_very_end_selects_nothing() {
        // Order: one nullable key, NULLs last; cursor NULL → only rows with the same NULL and a
        // larger id can follow.
        const ORD: &[OrderBy] = &[OrderBy {
            column: "title",
            descending: false,
            nulls_first: false,
        }];
        let after = [Value::Null, Value::Int(9)];
        let q = Select {
            table: "t",
            columns: COLS,
            filter: Filter::All,
            type_eq: None,
            order: ORD,
            after: Some(&after),
            limit: Some(5),
        };
        assert_eq!(
            sql(Dialect::Sqlite, &q),
            r#"SELECT "id", "title", "due", "weight" FROM "t" WHERE (("title" IS NULL AND "id" > ?)) ORDER BY "title" ASC NULLS LAST, "id" ASC LIMIT ?"#
        );
    }

    #[test]
    fn count_ignores_columns_order_and_limit() {
        let q = Select {
            table: "notes",
            columns: &[],
            filter: Filter::Eq {
                column: "project_id",
                value: 1,
            },
            type_eq: Some(("noteable_type", "Issue")),
            order: ORDER,
            after: None,
            limit: Some(10),
        };
        let s = count(Dialect::MySql, &q)
            .expect("valid")
            .expect("a statement");
        assert_eq!(
            s.sql,
            "SELECT COUNT(*) FROM `notes` WHERE `project_id` = ? AND `noteable_type` = ?"
        );
        assert!(select(Dialect::MySql, &q).is_err(), "rows need columns");
    }

    #[test]
    fn empty_in_list_needs_no_query() {
        let q = Select {
            table: "t",
            columns: COLS,
            filter: Filter::In {
                column: "project_id",
                values: &[],
            },
            type_eq: None,
            order: &[],
            after: None,
            limit: None,
        };
        assert!(select(Dialect::MySql, &q).expect("valid").is_none());
    }

    #[test]
    fn long_in_lists_become_one_json_bind() {
        let values: Vec<i64> = (0..70_000).collect();
        let q = Select {
            table: "t",
            columns: COLS,
            filter: Filter::In {
                column: "project_id",
                values: &values,
            },
            type_eq: None,
            order: &[],
            after: None,
            limit: None,
        };
        let s = select(Dialect::Sqlite, &q)
            .expect("valid")
            .expect("a statement");
        assert_eq!(s.binds.len(), 1);
        assert!(s.sql.contains("json_each(?)"), "{}", s.sql);
        let s = select(Dialect::MySql, &q)
            .expect("valid")
            .expect("a statement");
        assert_eq!(s.binds.len(), 1);
        assert!(s.sql.contains("JSON_TABLE(?"), "{}", s.sql);
        // Under the limit: one bind per value, padded to a power of two.
        let q = Select {
            filter: Filter::In {
                column: "project_id",
                values: &values[..5],
            },
            ..q
        };
        let s = select(Dialect::MySql, &q)
            .expect("valid")
            .expect("a statement");
        assert_eq!(s.binds.len(), 8);
    }

    #[test]
    fn rejects_inconsistent_cursors() {
        let after = [Value::Int(1)];
        let q = Select {
            table: "t",
            columns: COLS,
            filter: Filter::All,
            type_eq: None,
            order: ORDER,
            after: Some(&after),
            limit: None,
        };
        let err = select(Dialect::Sqlite, &q).expect_err("cursor too short");
        assert!(err.to_string().contains("3 keys"), "{err}");

        const ORD: &[OrderBy] = &[OrderBy {
            column: "missing",
            descending: false,
            nulls_first: false,
        }];
        let after = [Value::Int(1), Value::Int(2)];
        let q = Select {
            order: ORD,
            after: Some(&after),
            ..q
        };
        let err = select(Dialect::Sqlite, &q).expect_err("unknown column");
        assert!(err.to_string().contains("`missing`"), "{err}");

        let after = [Value::Text("x".into()), Value::Int(2)];
        let q = Select {
            order: &ORDER[..1],
            after: Some(&after),
            ..q
        };
        let err = select(Dialect::Postgres, &q).expect_err("text cursor for a timestamp");
        assert_eq!(
            err.to_string(),
            "invalid request on `t`: keyset cursor value for `due` is text, the column is timestamp"
        );
    }

    #[test]
    fn insert_batches_respect_bind_and_byte_limits() {
        let rows: Vec<Row> = (0..100_000)
            .map(|i| vec![Value::Int(i), Value::Text("x".into())])
            .collect();
        assert_eq!(insert_batch_len(Dialect::Sqlite, 2, &rows), 16_383);
        assert_eq!(insert_batch_len(Dialect::MySql, 2, &rows), 32_767);
        let big: Vec<Row> = (0..20)
            .map(|i| vec![Value::Int(i), Value::Text("y".repeat(1 << 20))])
            .collect();
        assert_eq!(insert_batch_len(Dialect::MySql, 2, &big), 7);
        assert_eq!(insert_batch_len(Dialect::MySql, 2, &big[..1]), 1);
        let s = insert(
            Dialect::Postgres,
            "t",
            &[("id", LogicalType::Integer), ("v", LogicalType::Text)],
            &rows[..2],
        );
        assert_eq!(
            s.sql,
            r#"INSERT INTO "t" ("id", "v") VALUES ($1, $2), ($3, $4)"#
        );
        assert_eq!(s.binds.len(), 4);
    }

    #[test]
    fn check_rows_names_the_column() {
        let err = check_rows(
            "labels",
            &[("id", LogicalType::Integer), ("title", LogicalType::Text)],
            &[vec![Value::Int(1), Value::Int(2)]],
        )
        .expect_err("integer in a text column");
        assert_eq!(
            err.to_string(),
            "cannot write labels.title: the column is text, the value is integer"
        );
    }

    #[test]
    fn small_statements() {
        let filter = [
            ("project_id".to_string(), Value::Int(1)),
            ("title".to_string(), Value::Null),
        ];
        let filter: Vec<(&str, Value)> = filter
            .iter()
            .map(|(c, v)| (c.as_str(), v.clone()))
            .collect();
        assert_eq!(
            find_id(Dialect::MySql, "labels", &filter).sql,
            "SELECT `id` FROM `labels` WHERE `project_id` = ? AND `title` IS NULL ORDER BY `id` LIMIT 1"
        );
        assert_eq!(
            copy_in(
                "t",
                &[("id", LogicalType::Integer), ("a b", LogicalType::Text)]
            ),
            r#"COPY "t" ("id", "a b") FROM STDIN"#
        );
        assert_eq!(analyze_id("a\"b"), r#"ANALYZE "a""b" ("id")"#);
        let v = Value::Int(5);
        assert_eq!(
            update_unnest("t", "c", LogicalType::Integer, &[1], vec![&v]).sql,
            r#"UPDATE "t" SET "c" = hoist_v.val FROM (SELECT unnest($1) AS id, unnest($2) AS val) AS hoist_v WHERE "t"."id" = hoist_v.id"#
        );
    }
}
