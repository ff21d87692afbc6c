//! SQLite introspection through the `pragma_*` table-valued functions.

use std::collections::BTreeMap;

use sqlx::{Row as _, SqlitePool};

use super::{is_internal, logical_type, normalize_default};
use crate::backend::Dialect;
use crate::backend::error::BackendError;
use crate::schema::{Column, ForeignKey, SNAPSHOT_FORMAT, Schema, Table, UniqueIndex};

pub(crate) async fn introspect(pool: &SqlitePool) -> Result<Schema, BackendError> {
    let mut conn = pool
        .acquire()
        .await
        .map_err(|e| BackendError::query("introspect", "sqlite_master", e))?;
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| BackendError::query("introspect", "sqlite_master", e))?;

    let mut tables = Vec::new();
    for name in names.into_iter().filter(|n| !is_internal(n)) {
        tables.push(table(&mut conn, &name).await?);
    }
    // FKs may omit the referenced columns (`REFERENCES users`): they mean the primary key.
    let primary_keys: BTreeMap<String, Vec<String>> = tables
        .iter()
        .map(|t: &Table| (t.name.clone(), t.primary_key.clone()))
        .collect();
    for t in &mut tables {
        for fk in &mut t.foreign_keys {
            if fk.references_columns.iter().any(String::is_empty)
                && let Some(pk) = primary_keys.get(&fk.references_table)
            {
                fk.references_columns = pk.clone();
            }
        }
    }
    Ok(Schema {
        format: SNAPSHOT_FORMAT,
        tables,
    })
}

async fn table(conn: &mut sqlx::SqliteConnection, name: &str) -> Result<Table, BackendError> {
    let err = |e| BackendError::query("introspect", name, e);

    // cid, name, type, notnull, dflt_value, pk
    let rows = sqlx::query(
        "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?) ORDER BY cid",
    )
    .bind(name)
    .fetch_all(&mut *conn)
    .await
    .map_err(err)?;
    let mut pk: Vec<(i64, String)> = Vec::new();
    let mut raw = Vec::new();
    for row in &rows {
        let column: String = row.try_get(0).map_err(err)?;
        let sql_type: String = row.try_get(1).map_err(err)?;
        let not_null: i64 = row.try_get(2).map_err(err)?;
        let default: Option<String> = row.try_get(3).map_err(err)?;
        let pk_pos: i64 = row.try_get(4).map_err(err)?;
        if pk_pos > 0 {
            pk.push((pk_pos, column.clone()));
        }
        raw.push((column, sql_type, not_null != 0, default, pk_pos > 0));
    }
    pk.sort();
    let primary_key: Vec<String> = pk.into_iter().map(|(_, c)| c).collect();

    let mut columns = Vec::with_capacity(raw.len());
    for (column, sql_type, not_null, default, in_pk) in raw {
        let ty = logical_type(Dialect::Sqlite, name, &column, &sql_type)?;
        // `INTEGER PRIMARY KEY` aliases the rowid: filled by SQLite (AUTOINCREMENT or not).
        let auto_increment =
            in_pk && primary_key.len() == 1 && sql_type.trim().eq_ignore_ascii_case("integer");
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

    // id, seq, table, from, to (to is NULL when the primary key is meant)
    let fk_rows = sqlx::query(
        "SELECT id, seq, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?) \
         ORDER BY id, seq",
    )
    .bind(name)
    .fetch_all(&mut *conn)
    .await
    .map_err(err)?;
    let mut fks: BTreeMap<i64, ForeignKey> = BTreeMap::new();
    for row in &fk_rows {
        let id: i64 = row.try_get(0).map_err(err)?;
        let target: String = row.try_get(2).map_err(err)?;
        let from: String = row.try_get(3).map_err(err)?;
        let to: Option<String> = row.try_get(4).map_err(err)?;
        let fk = fks.entry(id).or_insert_with(|| ForeignKey {
            columns: Vec::new(),
            references_table: target,
            references_columns: Vec::new(),
        });
        fk.columns.push(from);
        fk.references_columns.push(to.unwrap_or_default());
    }

    // seq, name, unique, origin (c: CREATE INDEX, u: UNIQUE, pk), partial
    let index_rows = sqlx::query(
        "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?) ORDER BY name",
    )
    .bind(name)
    .fetch_all(&mut *conn)
    .await
    .map_err(err)?;
    let mut unique_indexes = Vec::new();
    for row in &index_rows {
        let index: String = row.try_get(0).map_err(err)?;
        let unique: i64 = row.try_get(1).map_err(err)?;
        let origin: String = row.try_get(2).map_err(err)?;
        let partial: i64 = row.try_get(3).map_err(err)?;
        if unique == 0 || origin == "pk" || partial != 0 {
            continue;
        }
        let cols: Vec<Option<String>> =
            sqlx::query_scalar("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
                .bind(&index)
                .fetch_all(&mut *conn)
                .await
                .map_err(err)?;
        // A NULL name is an expression: not a column uniqueness.
        if let Some(columns) = cols.into_iter().collect::<Option<Vec<String>>>()
            && columns != primary_key
        {
            unique_indexes.push(UniqueIndex { columns });
        }
    }

    Ok(Table {
        name: name.to_owned(),
        primary_key,
        columns,
        foreign_keys: fks.into_values().collect(),
        unique_indexes,
    })
}
