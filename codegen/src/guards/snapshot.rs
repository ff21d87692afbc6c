//! The snapshot guard: the checked-in schema snapshot equals the live schema of a freshly
//! migrated database; every difference is listed with the command that rewrites the snapshot.

use super::context::{Ctx, Pos};
use super::{Finding, Guard};
use crate::schema::{Column, ForeignKey, Schema, Table};

impl Ctx<'_> {
    pub(crate) fn snapshot(&self) -> Vec<Finding> {
        let mut snapshot = self.compiled.schema.clone();
        snapshot.canonicalize();
        let mut live = self.live.clone();
        live.canonicalize();
        let locate = Locator::new(&self.options.inputs.schema.text);
        let file = self.options.schema_file();
        let fix = format!(
            "run `{}` to rewrite {file} from the migrations (never edit it by hand), then rebuild",
            self.options.dump_command
        );
        let finding = |table: &str, column: Option<&str>, pos: Pos, message: String| Finding {
            guard: Guard::Snapshot,
            table: table.to_string(),
            column: column.map(str::to_string),
            message,
            file: file.to_string(),
            line: pos.line,
            col: pos.col,
            fix: fix.clone(),
        };
        let mut out = Vec::new();
        for change in diff(&snapshot, &live) {
            let (table, column, pos) = match &change {
                Change::TableAdded(t) => (t.name.as_str(), None, locate.table_or_next(&t.name)),
                Change::TableRemoved(t) => (t.name.as_str(), None, locate.table_or_next(&t.name)),
                Change::ColumnAdded { table, column } => (
                    table.as_str(),
                    Some(column.name.as_str()),
                    locate.table_or_next(table),
                ),
                Change::ColumnRemoved { table, column }
                | Change::ColumnChanged {
                    table,
                    before: column,
                    ..
                } => (
                    table.as_str(),
                    Some(column.name.as_str()),
                    locate.column(table, &column.name),
                ),
                Change::ColumnOrder { table, .. }
                | Change::PrimaryKey { table, .. }
                | Change::ForeignKeyAdded { table, .. }
                | Change::ForeignKeyRemoved { table, .. }
                | Change::UniqueAdded { table, .. }
                | Change::UniqueRemoved { table, .. } => {
                    (table.as_str(), None, locate.table_or_next(table))
                }
            };
            out.push(finding(table, column, pos, change.message(file)));
        }
        out
    }
}

/// One difference between the snapshot and the live schema.
#[derive(Debug, Clone, PartialEq)]
enum Change {
    TableAdded(Table),
    TableRemoved(Table),
    ColumnAdded {
        table: String,
        column: Column,
    },
    ColumnRemoved {
        table: String,
        column: Column,
    },
    ColumnChanged {
        table: String,
        before: Column,
        after: Column,
    },
    ColumnOrder {
        table: String,
        before: Vec<String>,
        after: Vec<String>,
    },
    PrimaryKey {
        table: String,
        before: Vec<String>,
        after: Vec<String>,
    },
    ForeignKeyAdded {
        table: String,
        fk: ForeignKey,
    },
    ForeignKeyRemoved {
        table: String,
        fk: ForeignKey,
    },
    UniqueAdded {
        table: String,
        columns: Vec<String>,
    },
    UniqueRemoved {
        table: String,
        columns: Vec<String>,
    },
}

fn describe(c: &Column) -> String {
    let mut s = format!(
        "{} {}",
        c.ty.as_str(),
        if c.nullable { "null" } else { "not null" }
    );
    if let Some(d) = &c.default {
        s.push_str(&format!(" default {d}"));
    }
    if c.auto_increment {
        s.push_str(" auto_increment");
    }
    s
}

fn fk_text(table: &str, fk: &ForeignKey) -> String {
    format!(
        "`{table}({})` → `{}({})`",
        fk.columns.join(", "),
        fk.references_table,
        fk.references_columns.join(", ")
    )
}

impl Change {
    fn message(&self, file: &str) -> String {
        let db = "the migrated database";
        match self {
            Change::TableAdded(t) => format!(
                "table `{}` ({} columns) is in {db} but not in {file}",
                t.name,
                t.columns.len()
            ),
            Change::TableRemoved(t) => {
                format!("table `{}` is in {file} but not in {db}", t.name)
            }
            Change::ColumnAdded { table, column } => format!(
                "column `{table}.{}` ({}) is in {db} but not in {file}",
                column.name,
                describe(column)
            ),
            Change::ColumnRemoved { table, column } => format!(
                "column `{table}.{}` is in {file} but not in {db}",
                column.name
            ),
            Change::ColumnChanged {
                table,
                before,
                after,
            } => format!(
                "column `{table}.{}` differs: {file} has `{}`, {db} has `{}`",
                before.name,
                describe(before),
                describe(after)
            ),
            Change::ColumnOrder {
                table,
                before,
                after,
            } => format!(
                "columns of `{table}` are in another order: {file} has {}, {db} has {}",
                before.join(", "),
                after.join(", ")
            ),
            Change::PrimaryKey {
                table,
                before,
                after,
            } => format!(
                "primary key of `{table}` differs: {file} has ({}), {db} has ({})",
                before.join(", "),
                after.join(", ")
            ),
            Change::ForeignKeyAdded { table, fk } => format!(
                "foreign key {} is in {db} but not in {file}",
                fk_text(table, fk)
            ),
            Change::ForeignKeyRemoved { table, fk } => format!(
                "foreign key {} is in {file} but not in {db}",
                fk_text(table, fk)
            ),
            Change::UniqueAdded { table, columns } => format!(
                "unique index on `{table}({})` is in {db} but not in {file}",
                columns.join(", ")
            ),
            Change::UniqueRemoved { table, columns } => format!(
                "unique index on `{table}({})` is in {file} but not in {db}",
                columns.join(", ")
            ),
        }
    }
}

/// Every difference from `snapshot` to `live` (both canonical), table by table.
fn diff(snapshot: &Schema, live: &Schema) -> Vec<Change> {
    let mut names: Vec<&str> = snapshot
        .tables
        .iter()
        .chain(&live.tables)
        .map(|t| t.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        match (snapshot.table(name), live.table(name)) {
            (Some(s), Some(l)) => diff_table(s, l, &mut out),
            (None, Some(l)) => out.push(Change::TableAdded(l.clone())),
            (Some(s), None) => out.push(Change::TableRemoved(s.clone())),
            (None, None) => {}
        }
    }
    out
}

fn diff_table(s: &Table, l: &Table, out: &mut Vec<Change>) {
    let table = s.name.clone();
    for c in &l.columns {
        match s.column(&c.name) {
            None => out.push(Change::ColumnAdded {
                table: table.clone(),
                column: c.clone(),
            }),
            Some(before) if before != c => out.push(Change::ColumnChanged {
                table: table.clone(),
                before: before.clone(),
                after: c.clone(),
            }),
            Some(_) => {}
        }
    }
    for c in &s.columns {
        if l.column(&c.name).is_none() {
            out.push(Change::ColumnRemoved {
                table: table.clone(),
                column: c.clone(),
            });
        }
    }
    let common = |t: &Table, other: &Table| -> Vec<String> {
        t.columns
            .iter()
            .filter(|c| other.column(&c.name).is_some())
            .map(|c| c.name.clone())
            .collect()
    };
    let (before, after) = (common(s, l), common(l, s));
    if before != after {
        out.push(Change::ColumnOrder {
            table: table.clone(),
            before,
            after,
        });
    }
    if s.primary_key != l.primary_key {
        out.push(Change::PrimaryKey {
            table: table.clone(),
            before: s.primary_key.clone(),
            after: l.primary_key.clone(),
        });
    }
    for fk in &l.foreign_keys {
        if !s.foreign_keys.contains(fk) {
            out.push(Change::ForeignKeyAdded {
                table: table.clone(),
                fk: fk.clone(),
            });
        }
    }
    for fk in &s.foreign_keys {
        if !l.foreign_keys.contains(fk) {
            out.push(Change::ForeignKeyRemoved {
                table: table.clone(),
                fk: fk.clone(),
            });
        }
    }
    for u in &l.unique_indexes {
        if !s.unique_indexes.contains(u) {
            out.push(Change::UniqueAdded {
                table: table.clone(),
                columns: u.columns.clone(),
            });
        }
    }
    for u in &s.unique_indexes {
        if !l.unique_indexes.contains(u) {
            out.push(Change::UniqueRemoved {
                table: table.clone(),
                columns: u.columns.clone(),
            });
        }
    }
}

/// Finds lines of tables and columns in the snapshot's text (pretty JSON as `schema dump` writes
/// it: one `"name": "…"` per line; tables are the least indented ones).
struct Locator<'t> {
    /// (line, indentation, name) of every `"name": "…"` line.
    names: Vec<(usize, usize, &'t str)>,
    table_indent: usize,
    last_line: usize,
}

impl<'t> Locator<'t> {
    fn new(text: &'t str) -> Locator<'t> {
        let mut names = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            if let Some(rest) = trimmed.strip_prefix("\"name\": \"")
                && let Some(end) = rest.find('"')
            {
                names.push((i + 1, indent, &rest[..end]));
            }
        }
        let table_indent = names.iter().map(|n| n.1).min().unwrap_or(0);
        Locator {
            names,
            table_indent,
            last_line: text.lines().count().max(1),
        }
    }

    fn tables(&self) -> impl Iterator<Item = &(usize, usize, &'t str)> {
        self.names.iter().filter(|n| n.1 == self.table_indent)
    }

    /// The line of table `name`, else of the table that would follow it (tables are sorted),
    /// else the end of the file.
    fn table_or_next(&self, name: &str) -> Pos {
        let line = self
            .tables()
            .find(|t| t.2 >= name)
            .map_or(self.last_line, |t| t.0);
        Pos { line, col: 1 }
    }

    /// The line of column `column` of table `table`, else the table's.
    fn column(&self, table: &str, column: &str) -> Pos {
        let Some(start) = self.tables().find(|t| t.2 == table).map(|t| t.0) else {
            return self.table_or_next(table);
        };
        let end = self
            .tables()
            .find(|t| t.0 > start)
            .map_or(usize::MAX, |t| t.0);
        let line = self
            .names
            .iter()
            .find(|n| n.0 > start && n.0 < end && n.1 > self.table_indent && n.2 == column)
            .map_or(start, |n| n.0);
        Pos { line, col: 1 }
    }
}
