//! The owned Plan IR: what [`crate::resolve`] produces and [`crate::emit`] turns into a
//! `static PLAN: ::hoist::__private::v1::Plan` literal. It mirrors `hoist::plan` (the runtime's
//! contract) field for field, with owned strings and the YAML spans of the config entries that
//! produced each part (for messages and the guards).

use crate::schema::LogicalType;
use crate::source::Span;

/// The compiled description of one tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanIr {
    pub format_version: u32,
    /// sha256 (lowercase hex) of the schema snapshot's canonical JSON.
    pub schema_digest: String,
    /// Every table of the tenant, in import (insert) order.
    pub tables: Vec<TableIr>,
    /// The root relation; its children are the top-level relations, in import order.
    pub root: NodeIr,
    pub users: Option<UsersIr>,
}

/// A table of the tenant and its exported columns.
#[derive(Debug, Clone, PartialEq)]
pub struct TableIr {
    pub name: String,
    /// `id` first, then the other exported columns in schema order.
    pub columns: Vec<ColumnIr>,
    pub needs_id_map: bool,
    pub existing_match: Vec<String>,
    pub tokens: Vec<String>,
    pub upload: Option<UploadIr>,
    pub access_level: Option<String>,
    /// `policy_columns`: `id`, then the columns the export policy of this table's conditional
    /// relations reads (all exported). Empty when no relation of the table is conditional.
    pub policy_columns: Vec<String>,
    /// Unique indexes (column lists) that cover a user reference; see `hoist::plan::Table::user_unique`.
    pub user_unique: Vec<Vec<String>>,
    /// The tree entry that first names this table.
    pub span: Span,
}

/// One exported column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnIr {
    pub name: String,
    pub ty: LogicalType,
    pub nullable: bool,
    pub role: RoleIr,
}

/// What a column means to the importer (see `hoist::plan::Role`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleIr {
    Data,
    PrimaryKey,
    /// Foreign key to a tenant table (index into [`PlanIr::tables`]).
    Reference {
        table: usize,
    },
    /// `*_id` half of a polymorphic pair: type value → table index.
    PolymorphicId {
        type_column: String,
        targets: Vec<(String, usize)>,
    },
    PolymorphicType,
    UserReference,
}

/// An upload table's path column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadIr {
    pub path_column: String,
}

/// How user references travel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsersIr {
    pub table: String,
    pub natural_keys: Vec<String>,
    pub admin_column: Option<String>,
}

/// How many rows a relation has per parent row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cardinality {
    Root,
    HasMany,
    HasOne,
    BelongsTo,
}

/// How a node's rows are found from its parent's row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LinkIr {
    Root,
    /// `child.column = parent.id`.
    ChildFk {
        column: String,
    },
    /// `child.id_column = parent.id AND child.type_column = type_value`.
    Polymorphic {
        id_column: String,
        type_column: String,
        type_value: String,
    },
    /// `parent.column = child.id`.
    ParentFk {
        column: String,
    },
}

/// One `export_reorders` entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderByIr {
    pub column: String,
    pub descending: bool,
    pub nulls_first: bool,
}

/// A relation in the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeIr {
    /// The archive key (`issues`, `label`).
    pub name: String,
    /// Index into [`PlanIr::tables`].
    pub table: usize,
    pub cardinality: Cardinality,
    pub link: LinkIr,
    pub order: Vec<OrderByIr>,
    pub methods: Vec<String>,
    pub conditional: bool,
    pub import_only: bool,
    pub children: Vec<NodeIr>,
    /// The tree entry naming this relation.
    pub span: Span,
}

impl PlanIr {
    /// Look up a table by name.
    pub fn table(&self, name: &str) -> Option<(usize, &TableIr)> {
        self.tables.iter().enumerate().find(|(_, t)| t.name == name)
    }

    /// Every node, depth first, root first.
    pub fn nodes(&self) -> Vec<&NodeIr> {
        let mut out = Vec::new();
        self.root.walk(&mut |n| out.push(n));
        out
    }
}

impl NodeIr {
    /// Visit this node and its descendants, depth first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a NodeIr)) {
        f(self);
        for c in &self.children {
            c.walk(f);
        }
    }

    /// The column of this node's table that its link fills from the nesting, if any.
    pub fn link_columns(&self) -> Vec<&str> {
        match &self.link {
            LinkIr::ChildFk { column } => vec![column],
            LinkIr::Polymorphic {
                id_column,
                type_column,
                ..
            } => vec![id_column, type_column],
            LinkIr::Root | LinkIr::ParentFk { .. } => Vec::new(),
        }
    }
}

impl TableIr {
    /// Look up an exported column.
    pub fn column(&self, name: &str) -> Option<(usize, &ColumnIr)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name)
    }
}
