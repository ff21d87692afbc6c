//! PostgreSQL introspection through `pg_catalog` (tables of `current_schema()`).

use sqlx::{PgPool, Row as _};

use super::{logical_type, normalize_default};
use crate::backend::Dialect;
use crate::backend::error::BackendError;
use crate::schema::{Column, ForeignKey, SNAPSHOT_FORMAT, Schema, Table, UniqueIndex};

const TABLES: &str = "\
SELECT c.oid::int8, c.relname::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname";

/// Domains are described by their base type; enums by `typtype = 'e'`.
const COLUMNS: &str = "\
SELECT a.attname::text,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod)
            ELSE format_type(a.atttypid, a.atttypmod) END,
       t.typtype::text,
       a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid),
       a.attidentity::text
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum";

const PRIMARY_KEY: &str = "\
SELECT a.attname::text
FROM pg_index i
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = $1::oid AND i.indisprimary
ORDER BY k.ord";

/// Unique indexes (unique constraints own one too), without partial and expression indexes; only
/// key columns (not `INCLUDE` ones), in index order.
const UNIQUE_INDEXES: &str = "\
SELECT array(
    SELECT a.attname::text
    FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
    WHERE k.ord <= i.indnkeyatts
    ORDER BY k.ord)
FROM pg_index i
WHERE i.indrelid = $1::oid AND i.indisunique AND NOT i.indisprimary
  AND i.indpred IS NULL AND i.indexprs IS NULL";

const FOREIGN_KEYS: &str = "\
SELECT rt.relname::text,
       array(SELECT a.attname::text
             FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
             ORDER BY k.ord),
       array(SELECT a.attname::text
             FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum
             ORDER BY k.ord)
FROM pg_constraint c JOIN pg_class rt ON rt.oid = c.confrelid
WHERE c.conrelid = $1::oid AND c.contype = 'f'
ORDER BY c.conname";

pub(crate) async fn introspect(pool: &PgPool) -> Result<Schema, BackendError> {
    let mut conn = pool
        .acquire()
        .await
        .map_err(|e| BackendError::query("introspect", "pg_catalog", e))?;
    let tables: Vec<(i64, String)> = sqlx::query_as(TABLES)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| BackendError::query("introspect", "pg_catalog", e))?;
    let mut out = Vec::with_capacity(tables.len());
    for (oid, name) in tables {
        out.push(table(&mut conn, oid, &name).await?);
    }
    Ok(Schema {
        format: SNAPSHOT_FORMAT,
        tables: out,
    })
}

async fn table(conn: &mut sqlx::PgConnection, oid: i64, name: &str) -> Result<Table, BackendError> {
    let err = |e| BackendError::query("introspect", name, e);

    let primary_key: Vec<String> = sqlx::query_scalar(PRIMARY_KEY)
        .bind(oid)
        .fetch_all(&mut *conn)
        .await
        .map_err(err)?;

    let rows = sqlx::query(COLUMNS)
        .bind(oid)
        .fetch_all(&mut *conn)
        .await
        .map_err(err)?;
    let mut columns = Vec::with_capacity(rows.len());
    for row in &rows {
        let column: String = row.try_get(0).map_err(err)?;
        let sql_type: String = row.try_get(1).map_err(err)?;
        let typtype: String = row.try_get(2).map_err(err)?;
        let not_null: bool = row.try_get(3).map_err(err)?;
        let default: Option<String> = row.try_get(4).map_err(err)?;
        let identity: String = row.try_get(5).map_err(err)?;
        let ty = if typtype == "e" {
            crate::value::LogicalType::Text
        } else {
            logical_type(Dialect::Postgres, name, &column, &sql_type)?
        };
        let auto_increment = !identity.is_empty()
            || default
                .as_deref()
                .is_some_and(|d| d.trim_start().starts_with("nextval("));
        let in_pk = primary_key.contains(&column);
        columns.push(Column {
            name: column,
            ty,
            nullable: !(not_null || in_pk),
            default: if auto_increment {
                None
            } else {
                default.and_then(|d| normalize_default(&d, ty, true))
            },
            auto_increment,
        });
    }

    let unique: Vec<Vec<String>> = sqlx::query_scalar(UNIQUE_INDEXES)
        .bind(oid)
        .fetch_all(&mut *conn)
        .await
        .map_err(err)?;
    let fk_rows: Vec<(String, Vec<String>, Vec<String>)> = sqlx::query_as(FOREIGN_KEYS)
        .bind(oid)
        .fetch_all(&mut *conn)
        .await
        .map_err(err)?;

    Ok(Table {
        name: name.to_owned(),
        primary_key,
        columns,
        foreign_keys: fk_rows
            .into_iter()
            .map(
                |(references_table, columns, references_columns)| ForeignKey {
                    columns,
                    references_table,
                    references_columns,
                },
            )
            .collect(),
        unique_indexes: unique
            .into_iter()
            .map(|columns| UniqueIndex { columns })
            .collect(),
    })
}
