//! Test fixtures: schema snapshots from a compact text form.
//!
//! One table per line: `table: col col …`. A column is `name[:type][?][>table]`: type `int`, `text`,
//! `bool`, `ts`, `float`, `json` or `bin` (default: `int` for `id`, `*_id` and references, else
//! `text`); `?` makes it nullable; `>table` adds a foreign key to `table.id`. A table with an `id`
//! column gets it as primary key. A table listed again replaces the earlier definition.
#![allow(dead_code)]

use hoist_codegen::schema::{Column, ForeignKey, LogicalType, Schema, Table};
use hoist_codegen::{Inputs, SourceFile};

pub fn schema(spec: &str) -> Schema {
    let mut tables = Vec::new();
    for line in spec.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (name, cols) = line.split_once(':').expect("`table: cols`");
        let mut table = Table {
            name: name.trim().to_string(),
            primary_key: Vec::new(),
            columns: Vec::new(),
            foreign_keys: Vec::new(),
            unique_indexes: Vec::new(),
        };
        for col in cols.split_whitespace() {
            let (col, target) = match col.split_once('>') {
                Some((c, t)) => (c, Some(t)),
                None => (col, None),
            };
            let (col, nullable) = match col.strip_suffix('?') {
                Some(c) => (c, true),
                None => (col, false),
            };
            let (col, ty) = match col.split_once(':') {
                Some((c, t)) => (
                    c,
                    match t {
                        "int" => LogicalType::Integer,
                        "text" => LogicalType::Text,
                        "bool" => LogicalType::Boolean,
                        "ts" => LogicalType::Timestamp,
                        "float" => LogicalType::Float,
                        "json" => LogicalType::Json,
                        "bin" => LogicalType::Binary,
                        other => panic!("unknown type {other}"),
                    },
                ),
                None if col == "id" || col.ends_with("_id") || target.is_some() => {
                    (col, LogicalType::Integer)
                }
                None => (col, LogicalType::Text),
            };
            if col == "id" {
                table.primary_key = vec!["id".into()];
            }
            table.columns.push(Column {
                name: col.to_string(),
                ty,
                nullable,
                default: None,
                auto_increment: col == "id",
            });
            if let Some(t) = target {
                table.foreign_keys.push(ForeignKey {
                    columns: vec![col.to_string()],
                    references_table: t.to_string(),
                    references_columns: vec!["id".into()],
                });
            }
        }
        // A later line for the same table replaces the earlier one.
        tables.retain(|t: &Table| t.name != table.name);
        tables.push(table);
    }
    let mut schema = Schema {
        format: hoist_codegen::schema::SNAPSHOT_FORMAT,
        tables,
    };
    schema.canonicalize();
    schema
}

/// Inputs named like the real files.
pub fn inputs(config: &str, spec: &str) -> Inputs {
    Inputs {
        config: SourceFile::new("import_export.yml", config),
        attributes: None,
        schema: SourceFile::new("schema.snapshot.json", schema(spec).to_canonical_json()),
    }
}

/// The reference inputs of the repository (import_export.yml, safe_model_attributes.yml,
/// schema.snapshot.json), named as a crate one level below would name them.
pub fn reference_inputs() -> Inputs {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let read = |name: &str| {
        std::fs::read_to_string(format!("{root}/{name}"))
            .unwrap_or_else(|e| panic!("reading {name}: {e}"))
    };
    Inputs {
        config: SourceFile::new("import_export.yml", read("import_export.yml")),
        attributes: Some(SourceFile::new(
            "safe_model_attributes.yml",
            read("safe_model_attributes.yml"),
        )),
        schema: SourceFile::new("schema.snapshot.json", read("schema.snapshot.json")),
    }
}
