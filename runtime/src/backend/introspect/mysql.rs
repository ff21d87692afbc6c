//! MySQL/MariaDB introspection through `information_schema` (tables of `DATABASE()`).
//!
//! MariaDB spells `JSON` as `LONGTEXT` with a `json_valid(col)` check constraint: such columns are
//! json. MariaDB reports defaults as SQL (`'open'`, `current_timestamp()`, `NULL`); MySQL reports
//! literal defaults unquoted and marks expressions `DEFAULT_GENERATED`.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{MySqlPool, Row as _};

use super::{logical_type, normalize_default};
use crate::backend::Dialect;
use crate::backend::error::BackendError;
use crate::schema::{Column, ForeignKey, SNAPSHOT_FORMAT, Schema, Table, UniqueIndex};
use crate::value::LogicalType;

const TABLES: &str = "\
SELECT TABLE_NAME FROM information_schema.TABLES
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'
ORDER BY TABLE_NAME";

const COLUMNS: &str = "\
SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?
ORDER BY ORDINAL_POSITION";

const PRIMARY_KEY: &str = "\
SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY'
ORDER BY ORDINAL_POSITION";

/// A NULL column name is a functional index part; a SUB_PART a prefix: neither makes a column
/// unique.
const UNIQUE_INDEXES: &str = "\
SELECT INDEX_NAME, COLUMN_NAME, CAST(SUB_PART IS NOT NULL AS SIGNED)
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND NON_UNIQUE = 0 AND INDEX_NAME <> 'PRIMARY'
ORDER BY INDEX_NAME, SEQ_IN_INDEX";

const FOREIGN_KEYS: &str = "\
SELECT CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
FROM information_schema.KEY_COLUMN_USAGE
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND REFERENCED_TABLE_NAME IS NOT NULL
ORDER BY CONSTRAINT_NAME, ORDINAL_POSITION";

/// MariaDB only (MySQL has a real JSON type and no TABLE_NAME here).
const JSON_CHECKS: &str = "\
SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?";

pub(crate) async fn introspect(pool: &MySqlPool) -> Result<Schema, BackendError> {
    let mut conn = pool
        .acquire()
        .await
        .map_err(|e| BackendError::query("introspect", "information_schema", e))?;
    let version: String = sqlx::query_scalar("SELECT VERSION()")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| BackendError::query("introspect", "information_schema", e))?;
    let mariadb = version.to_ascii_lowercase().contains("mariadb");
    let names: Vec<String> = sqlx::query_scalar(TABLES)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| BackendError::query("introspect", "information_schema", e))?;
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        tables.push(table(&mut conn, &name, mariadb).await?);
    }
    Ok(Schema {
        format: SNAPSHOT_FORMAT,
        tables,
    })
}

/// Columns named by a `json_valid(`col`)` check clause.
fn json_checked_columns(clauses: &[String]) -> BTreeSet<String> {
    clauses
        .iter()
        .filter_map(|c| {
            let c = c.trim();
            let inner = c
                .get(..11)
                .filter(|p| p.eq_ignore_ascii_case("json_valid("))
                .and_then(|_| c[11..].strip_suffix(')'))?;
            let inner = inner.trim();
            Some(
                inner
                    .strip_prefix('`')
                    .and_then(|s| s.strip_suffix('`'))
                    .unwrap_or(inner)
                    .replace("``", "`"),
            )
        })
        .collect()
}

async fn table(
    conn: &mut sqlx::MySqlConnection,
    name: &str,
    mariadb: bool,
) -> Result<Table, BackendError> {
    let err = |e| BackendError::query("introspect", name, e);

    let primary_key: Vec<String> = sqlx::query_scalar(PRIMARY_KEY)
        .bind(name)
        .fetch_all(&mut *conn)
        .await
        .map_err(err)?;
    let json_columns = if mariadb {
        let clauses: Vec<String> = sqlx::query_scalar(JSON_CHECKS)
            .bind(name)
            .fetch_all(&mut *conn)
            .await
            .map_err(err)?;
        json_checked_columns(&clauses)
    } else {
        BTreeSet::new()
    };

    let rows = sqlx::query(COLUMNS)
        .bind(name)
        .fetch_all(&mut *conn)
        .await
        .map_err(err)?;
    let mut columns = Vec::with_capacity(rows.len());
    for row in &rows {
        let column: String = row.try_get(0).map_err(err)?;
        let sql_type: String = row.try_get(1).map_err(err)?;
        let nullable: String = row.try_get(2).map_err(err)?;
        let default: Option<String> = row.try_get(3).map_err(err)?;
        let extra: String = row.try_get(4).map_err(err)?;
        let extra = extra.to_ascii_lowercase();
        let mut ty = logical_type(Dialect::MySql, name, &column, &sql_type)?;
        if ty == LogicalType::Text && json_columns.contains(&column) {
            ty = LogicalType::Json;
        }
        let auto_increment = extra.contains("auto_increment");
        let quoted_literals = mariadb || extra.contains("default_generated");
        let in_pk = primary_key.contains(&column);
        columns.push(Column {
            name: column,
            ty,
            nullable: nullable.eq_ignore_ascii_case("yes") && !in_pk,
            default: if auto_increment {
                None
            } else {
                default.and_then(|d| normalize_default(&d, ty, quoted_literals))
            },
            auto_increment,
        });
    }

    let index_rows = sqlx::query(UNIQUE_INDEXES)
        .bind(name)
        .fetch_all(&mut *conn)
        .await
        .map_err(err)?;
    // index name → (columns, usable)
    let mut indexes: BTreeMap<String, (Vec<String>, bool)> = BTreeMap::new();
    for row in &index_rows {
        let index: String = row.try_get(0).map_err(err)?;
        let column: Option<String> = row.try_get(1).map_err(err)?;
        let prefixed: i64 = row.try_get(2).map_err(err)?;
        let entry = indexes.entry(index).or_insert_with(|| (Vec::new(), true));
        match column {
            Some(c) if prefixed == 0 => entry.0.push(c),
            _ => entry.1 = false,
        }
    }

    let fk_rows = sqlx::query(FOREIGN_KEYS)
        .bind(name)
        .fetch_all(&mut *conn)
        .await
        .map_err(err)?;
    let mut fks: BTreeMap<String, ForeignKey> = BTreeMap::new();
    for row in &fk_rows {
        let constraint: String = row.try_get(0).map_err(err)?;
        let column: String = row.try_get(1).map_err(err)?;
        let target: String = row.try_get(2).map_err(err)?;
        let target_column: String = row.try_get(3).map_err(err)?;
        let fk = fks.entry(constraint).or_insert_with(|| ForeignKey {
            columns: Vec::new(),
            references_table: target,
            references_columns: Vec::new(),
        });
        fk.columns.push(column);
        fk.references_columns.push(target_column);
    }

    Ok(Table {
        name: name.to_owned(),
        primary_key,
        columns,
        foreign_keys: fks.into_values().collect(),
        unique_indexes: indexes
            .into_values()
            .filter(|(_, usable)| *usable)
            .map(|(columns, _)| UniqueIndex { columns })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_json_valid_checks() {
        let clauses = vec![
            "json_valid(`payload`)".to_owned(),
            "JSON_VALID(meta)".to_owned(),
            "`x` > 0".to_owned(),
        ];
        let cols = json_checked_columns(&clauses);
        assert_eq!(
            cols.into_iter().collect::<Vec<_>>(),
            vec!["meta".to_owned(), "payload".to_owned()]
        );
    }
}
