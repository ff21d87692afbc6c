//! The parsed config (`import_export.yml`), every name with its YAML position.
//!
//! This is the config as written: model keys are not yet resolved to tables and nothing is checked
//! against the schema (that is [`crate::resolve`]). See `docs/config.md` for every key.

use crate::source::Span;

/// A value and where it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Spanned<T> {
        Spanned { value, span }
    }
}

impl Spanned<String> {
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

/// The whole `import_export.yml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Start of the document, for problems about missing keys.
    pub document: Span,
    /// The top-level keys as written (also those whose value was rejected).
    pub keys: Vec<Spanned<String>>,
    pub format_version: Option<Spanned<u32>>,
    /// Tree key of the root model (`project`).
    pub root: Option<Spanned<String>>,
    pub polymorphic: Vec<Polymorphic>,
    pub associations: Vec<Association>,
    pub references: Vec<Reference>,
    pub existing_objects: Vec<ModelList>,
    pub tokens: Vec<ModelList>,
    pub uploads: Vec<UploadDecl>,
    pub access_levels: Vec<ModelColumn>,
    pub not_exported: Vec<NotExported>,
    pub guards: Guards,
    pub tree: Option<Tree>,
    pub import_only_tree: Option<Tree>,
    pub included_attributes: Vec<ModelList>,
    pub excluded_attributes: Vec<ModelList>,
    pub methods: Vec<ModelList>,
    pub preloads: Vec<ModelList>,
    pub export_reorders: Vec<Reorder>,
    pub include_if_exportable: Vec<ModelList>,
    /// Per table of a conditional relation: the columns its export policy reads.
    pub policy_columns: Vec<ModelList>,
}

/// `<model>: [:name, …]` (attributes, methods, preloads, tokens, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelList {
    pub model: Spanned<String>,
    pub items: Vec<Spanned<String>>,
}

/// `<model>: column`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelColumn {
    pub model: Spanned<String>,
    pub column: Spanned<String>,
}

/// `polymorphic: { <table>: { <name>: { <TypeValue>: <table> } } }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Polymorphic {
    /// The table holding the `<name>_type` / `<name>_id` columns.
    pub table: Spanned<String>,
    pub name: Spanned<String>,
    pub targets: Vec<PolymorphicTarget>,
}

/// One `<TypeValue>: <table>` of a polymorphic declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolymorphicTarget {
    pub type_value: Spanned<String>,
    pub table: Spanned<String>,
}

/// `associations: { <parent>: { <relation>: { table?, foreign_key?, as? } } }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Association {
    pub parent: Spanned<String>,
    pub relation: Spanned<String>,
    pub table: Option<Spanned<String>>,
    pub foreign_key: Option<Spanned<String>>,
    /// Name of a polymorphic pair on the child (`as: noteable`).
    pub as_: Option<Spanned<String>>,
}

/// `references: { <name>: { table, natural_keys, admin_column? } }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub name: Spanned<String>,
    pub table: Spanned<String>,
    pub natural_keys: Vec<Spanned<String>>,
    pub admin_column: Option<Spanned<String>>,
}

/// `uploads: { <table>: { path_column } }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadDecl {
    pub model: Spanned<String>,
    pub path_column: Spanned<String>,
}

/// `not_exported: { <table>: reason }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotExported {
    pub table: Spanned<String>,
    pub reason: Spanned<String>,
}

/// `guards:` settings (checked by the guards, validated here).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Guards {
    pub sensitive_words: Vec<Spanned<String>>,
    pub sensitive_safelist: Vec<ModelList>,
}

/// `tree:` or `import_only_tree:`: one root key and its relations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    pub root: Spanned<String>,
    pub children: Vec<TreeNode>,
}

/// A relation in the tree, with its sub-relations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeNode {
    pub name: Spanned<String>,
    pub children: Vec<TreeNode>,
}

/// One `export_reorders` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reorder {
    pub parent: Spanned<String>,
    pub relation: Spanned<String>,
    pub column: Spanned<String>,
    pub direction: Option<Spanned<Direction>>,
    pub nulls_position: Option<Spanned<NullsPosition>>,
}

/// `direction:` of an `export_reorders` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

/// `nulls_position:` of an `export_reorders` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullsPosition {
    NullsFirst,
    NullsLast,
}

/// `safe_model_attributes.yml`: `<table>: [col, …]`, the columns allowed to travel in an archive.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SafeAttributes {
    pub tables: Vec<ModelList>,
}
