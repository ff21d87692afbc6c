//! The Plan: the contract between the config compiler (`hoist-codegen`) and this runtime.
//!
//! Generated code holds one `static PLAN: Plan`; the export and import engines are driven by it and
//! nothing else. Every table of the tenant appears once in [`Plan::tables`] (in import order: a table
//! comes after every table it references), and the relation tree in [`Plan::root`] refers to
//! tables by index into that list.
//!
//! ```
//! use hoist::plan::*;
//! static PLAN: Plan = Plan {
//!     format_version: 1,
//!     schema_digest: "test",
//!     tables: &[Table {
//!         name: "projects", columns: &[
//!             Column { name: "id", ty: LogicalType::Integer, nullable: false, role: Role::PrimaryKey },
//!             Column { name: "name", ty: LogicalType::Text, nullable: false, role: Role::Data },
//!         ],
//!         needs_id_map: false, existing_match: &[], tokens: &[], upload: None, access_level: None,
//!         policy_columns: &[], user_unique: &[],
//!     }],
//!     root: Node {
//!         name: "project", table: 0, cardinality: Cardinality::Root, link: Link::Root,
//!         order: &[], methods: &[], conditional: false, import_only: false, children: &[],
//!     },
//!     users: None,
//! };
//! assert_eq!(PLAN.table_of(&PLAN.root).name, "projects");
//! ```

pub use crate::value::LogicalType;

/// The compiled description of one tenant.
#[derive(Debug)]
pub struct Plan {
    /// Archive format version written to `VERSION`; an importer refuses other versions.
    pub format_version: u32,
    /// Digest of the schema snapshot the plan was compiled against (goes into the manifest).
    pub schema_digest: &'static str,
    /// Every table of the tenant, in import (insert) order.
    pub tables: &'static [Table],
    /// The root relation (`project`), whose children are the top-level relations.
    pub root: Node,
    /// How references to the shared users table are exported and matched.
    pub users: Option<Users>,
}

/// A table of the tenant and the columns that travel in the archive.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    /// Exported columns, in archive order. Always starts with the `id` primary key (role
    /// [`Role::PrimaryKey`]) and includes every column a [`Link`] of a node on this table names.
    pub columns: &'static [Column],
    /// The importer keeps an old→new id map for this table (it is referenced from outside its own
    /// subtree: by a [`Role::Reference`], a polymorphic reference, or a belongs_to node).
    pub needs_id_map: bool,
    /// Columns that identify an existing row to reuse on import instead of inserting a duplicate
    /// (labels: `["title"]`), scoped to the imported root. Empty: always insert.
    pub existing_match: &'static [&'static str],
    /// Columns never exported and regenerated (random, URL-safe) on import.
    pub tokens: &'static [&'static str],
    /// Set when rows of this table describe an uploaded file stored on disk.
    pub upload: Option<Upload>,
    /// Column holding an access level that the import caps at the importer's own level.
    pub access_level: Option<&'static str>,
    /// What the export policy of this table's conditional relations (`include_if_exportable`)
    /// reads: `id`, then the `policy_columns` of the config, all exported. [`Hooks::include`]
    /// receives rows of exactly these columns. Empty when no relation of the table is conditional.
    ///
    /// [`Hooks::include`]: crate::hooks::Hooks::include
    pub policy_columns: &'static [&'static str],
    /// Unique indexes (their columns) that cover a [`Role::UserReference`] — memberships. Mapping
    /// users can make two rows collide (two members who both become the importer); the importer
    /// keeps the first and drops the others with a warning.
    pub user_unique: &'static [&'static [&'static str]],
}

/// One exported column.
#[derive(Debug)]
pub struct Column {
    pub name: &'static str,
    pub ty: LogicalType,
    pub nullable: bool,
    pub role: Role,
}

/// What a column means to the import engine.
#[derive(Debug)]
pub enum Role {
    /// Plain data, copied as is.
    Data,
    /// The `id` primary key: replaced by a freshly allocated id on import.
    PrimaryKey,
    /// A foreign key to a table of the tenant (by index into [`Plan::tables`]); rewritten through
    /// that table's id map, or to the new root id when it references the root table. When a node's
    /// [`Link`] names the column, the link wins: the value comes from the nesting.
    Reference { table: usize },
    /// The `*_id` half of a polymorphic reference; `type_column` names its `*_type` partner and
    /// `targets` maps each type value to a table index.
    PolymorphicId {
        type_column: &'static str,
        targets: &'static [(&'static str, usize)],
    },
    /// The `*_type` half of a polymorphic reference or link: copied, validated against the targets.
    PolymorphicType,
    /// A foreign key to the shared users table: mapped by natural key or to the importing user.
    UserReference,
}

/// A file upload described by rows of a table.
#[derive(Debug)]
pub struct Upload {
    /// Column holding the file's path relative to the app's upload storage directory.
    pub path_column: &'static str,
}

/// How user references travel.
#[derive(Debug)]
pub struct Users {
    /// The shared users table.
    pub table: &'static str,
    /// Columns exported for every referenced user and used to match users on import, in
    /// priority order (`email`, then `username`).
    pub natural_keys: &'static [&'static str],
    /// Column that marks an administrator (allowed to keep user mappings on import).
    pub admin_column: Option<&'static str>,
}

/// A relation in the tree.
#[derive(Debug)]
pub struct Node {
    /// The relation's name: the archive key (`issues`, `project_feature`, `label`).
    pub name: &'static str,
    /// Index into [`Plan::tables`].
    pub table: usize,
    pub cardinality: Cardinality,
    pub link: Link,
    /// Export order (`export_reorders`); the `id` tie-breaker is implicit and always last.
    pub order: &'static [OrderBy],
    /// Names of `methods`: values computed by the app and exported under these keys.
    pub methods: &'static [&'static str],
    /// Listed in `include_if_exportable`: each record passes the app's export policy first.
    pub conditional: bool,
    /// Only in `import_only_tree`: accepted on import, never exported.
    pub import_only: bool,
    pub children: &'static [Node],
}

/// How many rows a relation has per parent row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cardinality {
    Root,
    HasMany,
    HasOne,
    BelongsTo,
}

/// How a node's rows are found from its parent's row.
#[derive(Debug)]
pub enum Link {
    Root,
    /// `child.column = parent.id` (has_many, has_one).
    ChildFk {
        column: &'static str,
    },
    /// `child.id_column = parent.id AND child.type_column = type_value`.
    Polymorphic {
        id_column: &'static str,
        type_column: &'static str,
        type_value: &'static str,
    },
    /// `parent.column = child.id` (belongs_to).
    ParentFk {
        column: &'static str,
    },
}

/// One `export_reorders` entry.
#[derive(Debug, Clone, Copy)]
pub struct OrderBy {
    pub column: &'static str,
    pub descending: bool,
    /// `nulls_first` (true) or `nulls_last` (false). Defaults follow PostgreSQL: nulls last when
    /// ascending, first when descending.
    pub nulls_first: bool,
}

impl Plan {
    /// The table a node reads and writes.
    pub fn table_of(&self, node: &Node) -> &'static Table {
        &self.tables[node.table]
    }

    /// Look up a table by name.
    pub fn table(&self, name: &str) -> Option<(usize, &'static Table)> {
        self.tables.iter().enumerate().find(|(_, t)| t.name == name)
    }

    /// Every node of the tree, depth first, root first.
    pub fn nodes(&self) -> Vec<&Node> {
        fn walk<'a>(n: &'a Node, out: &mut Vec<&'a Node>) {
            out.push(n);
            for c in n.children {
                walk(c, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out
    }
}

impl Table {
    /// Look up an exported column by name, with its position.
    pub fn column(&self, name: &str) -> Option<(usize, &'static Column)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name)
    }
}
