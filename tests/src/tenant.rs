//! A tenant's rows as the database holds them: every column of every table (tokens and columns
//! the archive leaves out included), found by walking forge's plan from the root row.

use std::collections::{BTreeMap, BTreeSet};

use forge::tenant::PLAN;
use hoist::backend::{Database, Filter};
use hoist::plan::{Link, Node};
use hoist::value::Value;

use crate::fixture::select_where;

/// One row: column name → value.
pub type RowMap = BTreeMap<&'static str, Value>;

/// Every row of one project, per table, by id.
#[derive(Debug, Clone, Default)]
pub struct TenantRows {
    pub root_id: i64,
    pub tables: BTreeMap<&'static str, BTreeMap<i64, RowMap>>,
}

impl TenantRows {
    /// Read project `root_id` (every node of the plan, the policy ignored: the database's truth).
    pub async fn load(db: &Database, root_id: i64) -> TenantRows {
        let mut out = TenantRows {
            root_id,
            tables: BTreeMap::new(),
        };
        let root = load_node(db, &PLAN.root, &[root_id], &mut out).await;
        assert_eq!(root.len(), 1, "project #{root_id} not found");
        out
    }

    /// The rows of `table` (empty if none).
    pub fn rows(&self, table: &str) -> impl Iterator<Item = &RowMap> {
        self.tables.get(table).into_iter().flat_map(|t| t.values())
    }

    /// Row `id` of `table`.
    pub fn get(&self, table: &str, id: i64) -> Option<&RowMap> {
        self.tables.get(table).and_then(|t| t.get(&id))
    }

    /// The root (project) row.
    pub fn root(&self) -> &RowMap {
        self.get("projects", self.root_id)
            .unwrap_or_else(|| panic!("project #{} not loaded", self.root_id))
    }

    /// Number of rows of `table`.
    pub fn count(&self, table: &str) -> usize {
        self.tables.get(table).map_or(0, BTreeMap::len)
    }
}

/// An integer column of a row (`None` for NULL); panics if the column is missing or not an integer.
pub fn int(row: &RowMap, column: &str) -> Option<i64> {
    match row.get(column) {
        Some(Value::Int(i)) => Some(*i),
        Some(Value::Null) => None,
        other => panic!("column {column}: expected an integer, found {other:?}"),
    }
}

/// A text column of a row (`None` for NULL); panics if the column is missing or not text.
pub fn text<'r>(row: &'r RowMap, column: &str) -> Option<&'r str> {
    match row.get(column) {
        Some(Value::Text(s)) => Some(s),
        Some(Value::Null) => None,
        other => panic!("column {column}: expected text, found {other:?}"),
    }
}

/// Columns of `table` in forge's schema.
fn all_columns(table: &str) -> &'static [(&'static str, hoist::value::LogicalType)] {
    forge::seed::TABLES
        .iter()
        .find(|(name, _)| *name == table)
        .map(|(_, columns)| *columns)
        .unwrap_or_else(|| panic!("table {table} is not in forge's schema"))
}

/// Load the rows of `node` whose parents are `parent_ids` (the root: its own id), then its
/// children; returns the ids loaded.
fn load_node<'a>(
    db: &'a Database,
    node: &'static Node,
    parent_ids: &'a [i64],
    out: &'a mut TenantRows,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Vec<i64>> + 'a>> {
    Box::pin(async move {
        let table = PLAN.table_of(node).name;
        let columns = all_columns(table);
        let rows = match node.link {
            Link::Root => select_where(db, table, columns, in_ids("id", parent_ids), None).await,
            Link::ChildFk { column } => {
                select_where(db, table, columns, in_ids(column, parent_ids), None).await
            }
            Link::Polymorphic {
                id_column,
                type_column,
                type_value,
            } => {
                select_where(
                    db,
                    table,
                    columns,
                    in_ids(id_column, parent_ids),
                    Some((type_column, type_value)),
                )
                .await
            }
            // Handled by the parent (it knows the referenced ids).
            Link::ParentFk { .. } => unreachable_link(table),
        };
        let mut ids = Vec::with_capacity(rows.len());
        let by_id = out.tables.entry(table).or_default();
        let mut loaded: Vec<RowMap> = Vec::with_capacity(rows.len());
        for row in rows {
            let map: RowMap = columns.iter().map(|(c, _)| *c).zip(row).collect();
            let id = int(&map, "id").unwrap_or_else(|| panic!("{table} row without id"));
            ids.push(id);
            by_id.insert(id, map.clone());
            loaded.push(map);
        }
        for child in node.children {
            match child.link {
                Link::ParentFk { column } => {
                    let wanted: BTreeSet<i64> =
                        loaded.iter().filter_map(|r| int(r, column)).collect();
                    let wanted: Vec<i64> = wanted.into_iter().collect();
                    let child_table = PLAN.table_of(child).name;
                    let child_columns = all_columns(child_table);
                    let rows =
                        select_where(db, child_table, child_columns, in_ids("id", &wanted), None)
                            .await;
                    let by_id = out.tables.entry(child_table).or_default();
                    for row in rows {
                        let map: RowMap = child_columns.iter().map(|(c, _)| *c).zip(row).collect();
                        if let Some(id) = int(&map, "id") {
                            by_id.insert(id, map);
                        }
                    }
                }
                _ => {
                    load_node(db, child, &ids, out).await;
                }
            }
        }
        ids
    })
}

fn in_ids<'a>(column: &'a str, ids: &'a [i64]) -> Filter<'a> {
    Filter::In {
        column,
        values: ids,
    }
}

fn unreachable_link(table: &str) -> ! {
    panic!("belongs_to node on {table} reached as a child walk; the parent loads it")
}
