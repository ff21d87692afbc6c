//! The schema snapshot: a canonical, checked-in description of the app's database.
//!
//! Builds read only this file (offline and reproducible, like sqlx's `.sqlx` directory). The runtime's
//! `schema dump` writes it by introspecting a migrated database; logical types are normalized so the
//! same migrations on SQLite, PostgreSQL and MariaDB give the same snapshot.
//!
//! ```
//! use hoist_codegen::schema::{Schema, LogicalType};
//! let json = r#"{"format": 1, "tables": [{"name": "projects", "primary_key": ["id"],
//!   "columns": [{"name": "id", "type": "integer", "nullable": false, "auto_increment": true}],
//!   "foreign_keys": [], "unique_indexes": []}]}"#;
//! let schema = Schema::from_json(json).unwrap();
//! assert_eq!(schema.table("projects").unwrap().column("id").unwrap().ty, LogicalType::Integer);
//! ```

use serde::{Deserialize, Serialize};

/// Version of the snapshot file format (not of the app's schema).
pub const SNAPSHOT_FORMAT: u32 = 1;

/// The whole snapshot. Tables are sorted by name; columns keep their declaration order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// Snapshot file format, [`SNAPSHOT_FORMAT`].
    pub format: u32,
    pub tables: Vec<Table>,
}

/// One table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    /// Primary key columns, in key order (hoist requires a single integer `id` for tenant tables).
    pub primary_key: Vec<String>,
    pub columns: Vec<Column>,
    /// Sorted by (columns, referenced table).
    pub foreign_keys: Vec<ForeignKey>,
    /// Unique indexes and unique constraints (the primary key excluded), sorted by columns.
    pub unique_indexes: Vec<UniqueIndex>,
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: LogicalType,
    pub nullable: bool,
    /// Normalized default: `null` when none; SQL literal otherwise (`'open'`, `0`, `false`,
    /// `current_timestamp`). Identity/serial defaults are not defaults: see `auto_increment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Filled by the database (serial, identity, AUTOINCREMENT, AUTO_INCREMENT, INTEGER PRIMARY KEY).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_increment: bool,
}

/// A foreign key from `columns` of this table to `references_columns` of `references_table`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ForeignKey {
    pub columns: Vec<String>,
    pub references_table: String,
    pub references_columns: Vec<String>,
}

/// A unique index (or unique constraint) over `columns`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UniqueIndex {
    pub columns: Vec<String>,
}

/// Backend-neutral column type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogicalType {
    /// Any integer type (SQLite INTEGER, PostgreSQL smallint/int/bigint, MySQL INT/BIGINT…); Rust `i64`.
    Integer,
    /// REAL, double precision, float; Rust `f64`.
    Float,
    /// boolean, MySQL `TINYINT(1)`; Rust `bool`.
    Boolean,
    /// text, varchar, char; Rust `String`.
    Text,
    /// timestamp / timestamptz / DATETIME, always UTC; Rust `chrono::DateTime<Utc>`.
    Timestamp,
    /// json / jsonb; Rust `serde_json::Value`.
    Json,
    /// bytea / BLOB; Rust `Vec<u8>`.
    Binary,
}

impl LogicalType {
    /// The name used in the snapshot file and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            LogicalType::Integer => "integer",
            LogicalType::Float => "float",
            LogicalType::Boolean => "boolean",
            LogicalType::Text => "text",
            LogicalType::Timestamp => "timestamp",
            LogicalType::Json => "json",
            LogicalType::Binary => "binary",
        }
    }
}

/// Error reading a snapshot file.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "schema snapshot is not valid JSON for hoist snapshot format {SNAPSHOT_FORMAT}: {0} \
         (regenerate it with `forge schema dump`)"
    )]
    Json(#[from] serde_json::Error),
    #[error(
        "schema snapshot has format {found}, this hoist reads format {SNAPSHOT_FORMAT} \
         (regenerate it with `forge schema dump`)"
    )]
    Format { found: u32 },
}

impl Schema {
    /// Parse a snapshot and check its format.
    pub fn from_json(text: &str) -> Result<Schema, SchemaError> {
        let schema: Schema = serde_json::from_str(text)?;
        if schema.format != SNAPSHOT_FORMAT {
            return Err(SchemaError::Format {
                found: schema.format,
            });
        }
        Ok(schema)
    }

    /// Canonical pretty JSON (sorted, newline-terminated): what `schema dump` writes.
    pub fn to_canonical_json(&self) -> String {
        let mut me = self.clone();
        me.canonicalize();
        let mut s = serde_json::to_string_pretty(&me).expect("schema serializes");
        s.push('\n');
        s
    }

    /// Sort tables, foreign keys and unique indexes into canonical order.
    pub fn canonicalize(&mut self) {
        self.tables.sort_by(|a, b| a.name.cmp(&b.name));
        for t in &mut self.tables {
            t.foreign_keys.sort();
            t.foreign_keys.dedup();
            t.unique_indexes.sort();
            t.unique_indexes.dedup();
        }
    }

    /// Look up a table by name.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}

impl Table {
    /// Look up a column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The single-column foreign key on `column`, if any.
    pub fn foreign_key_on(&self, column: &str) -> Option<&ForeignKey> {
        self.foreign_keys
            .iter()
            .find(|fk| fk.columns.len() == 1 && fk.columns[0] == column)
    }
}
