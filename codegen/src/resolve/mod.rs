//! Resolve: config × schema snapshot → [`PlanIr`].
//!
//! Steps, each adding to one shared list of problems (nothing stops at the first error):
//! 1. top-level checks (`format_version`, `root`, `tree`), polymorphic declarations;
//! 2. the relation tree: every relation resolved to a table and a link (module `links`);
//!    `import_only_tree` merged in;
//! 3. exported columns and their roles (module `columns`);
//! 4. per-node settings and the remaining keys (module `extras`);
//! 5. import order of top-level relations and tables, id maps, cycles (module `ordering`).

mod columns;
mod extras;
mod links;
mod names;
mod ordering;

use crate::config::{Config, Spanned};
use crate::diagnostics::{Diagnostic, Kind};
use crate::inflect;
use crate::plan::*;
use crate::schema::Schema;
use crate::source::Span;
use crate::suggest;
use sha2::Digest;
use std::collections::BTreeMap;

/// sha256 (lowercase hex) of the snapshot's canonical JSON: the `schema_digest` of the Plan.
pub fn schema_digest(schema: &Schema) -> String {
    hex::encode(sha2::Sha256::digest(schema.to_canonical_json().as_bytes()))
}

/// Resolve a parsed config against a schema snapshot.
///
/// Returns the plan when there were no errors, and every problem found.
pub fn resolve(config: &Config, schema: &Schema) -> (Option<PlanIr>, Vec<Diagnostic>) {
    let mut cx = Ctx {
        config,
        schema,
        errors: Vec::new(),
        poly: Vec::new(),
        poly_failed: Vec::new(),
        root_table: String::new(),
        users_table: None,
    };
    let plan = cx.run();
    let errors = cx.errors;
    if errors.is_empty() {
        (plan, errors)
    } else {
        (None, errors)
    }
}

/// A validated polymorphic declaration.
#[derive(Debug, Clone)]
pub(crate) struct PolyDecl {
    pub table: String,
    pub name: String,
    pub id_column: String,
    pub type_column: String,
    /// (type value, table, span of the entry)
    pub targets: Vec<(String, String, Span)>,
    pub span: Span,
}

/// A relation of the tree during resolution (tables by name).
#[derive(Debug, Clone)]
pub(crate) struct RNode {
    pub name: Spanned<String>,
    pub table: String,
    pub cardinality: Cardinality,
    pub link: LinkIr,
    pub import_only: bool,
    pub children: Vec<RNode>,
    pub order: Vec<OrderByIr>,
    /// Method names with the `methods:` entry that declared them.
    pub methods: Vec<Spanned<String>>,
    pub conditional: bool,
}

impl RNode {
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a RNode, Option<&'a RNode>)) {
        fn go<'a>(
            n: &'a RNode,
            parent: Option<&'a RNode>,
            f: &mut dyn FnMut(&'a RNode, Option<&'a RNode>),
        ) {
            f(n, parent);
            for c in &n.children {
                go(c, Some(n), f);
            }
        }
        go(self, None, f);
    }

    pub fn walk_mut(&mut self, f: &mut dyn FnMut(&mut RNode, Option<&str>)) {
        fn go(n: &mut RNode, parent: Option<&str>, f: &mut dyn FnMut(&mut RNode, Option<&str>)) {
            f(n, parent);
            let table = n.table.clone();
            for c in &mut n.children {
                go(c, Some(&table), f);
            }
        }
        go(self, None, f);
    }
}

/// A column's role with tables by name (converted to indices once the import order is known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RoleN {
    Data,
    PrimaryKey,
    Reference(String),
    PolymorphicId {
        type_column: String,
        targets: Vec<(String, String)>,
    },
    PolymorphicType,
    UserReference,
}

/// An exported column during resolution.
#[derive(Debug, Clone)]
pub(crate) struct ColumnN {
    pub name: String,
    pub ty: crate::schema::LogicalType,
    pub nullable: bool,
    pub role: RoleN,
}

/// A tenant table during resolution.
#[derive(Debug, Clone)]
pub(crate) struct TableN {
    pub name: String,
    pub span: Span,
    pub columns: Vec<ColumnN>,
    pub existing_match: Vec<String>,
    pub tokens: Vec<String>,
    pub upload: Option<UploadIr>,
    pub access_level: Option<String>,
    pub policy_columns: Vec<String>,
}

pub(crate) struct Ctx<'a> {
    pub config: &'a Config,
    pub schema: &'a Schema,
    pub errors: Vec<Diagnostic>,
    pub poly: Vec<PolyDecl>,
    /// Columns of polymorphic declarations that were rejected (already reported).
    pub poly_failed: Vec<(String, String)>,
    pub root_table: String,
    pub users_table: Option<String>,
}

impl Ctx<'_> {
    pub fn error(&mut self, d: Diagnostic) {
        self.errors.push(d);
    }

    /// Was this top-level key written (even with a rejected value)?
    pub fn has_key(&self, key: &str) -> bool {
        self.config.keys.iter().any(|k| k.value == key)
    }

    fn run(&mut self) -> Option<PlanIr> {
        let format_version = match self.config.format_version {
            Some(v) => Some(v.value),
            None if self.has_key("format_version") => None, // already reported
            None => {
                self.error(
                    Diagnostic::new(Kind::MissingKey, "`format_version` is not set")
                        .at(self.config.document, "the config starts here")
                        .help(
                            "add `format_version: 1` (the archive format version importers check)",
                        ),
                );
                None
            }
        };
        self.polymorphic();
        let users = self.references();
        let mut root = self.tree()?;
        self.merge_import_only(&mut root);
        let tenant = tenant_tables(&root);
        let mut tables = self.columns(&root, &tenant);
        self.extras(&mut root, &mut tables, &tenant);
        self.name_collisions(&root, &tables);
        let (root, order) = self.ordering(root, &tables)?;
        let format_version = format_version?;
        if !self.errors.is_empty() {
            return None;
        }
        Some(self.assemble(format_version, users, root, tables, order))
    }

    /// Resolve `root` and `tree` into the root node with its relations.
    fn tree(&mut self) -> Option<RNode> {
        let config = self.config;
        let Some(tree) = &config.tree else {
            if self.has_key("tree") {
                return None; // already reported
            }
            self.error(
                Diagnostic::new(Kind::MissingKey, "`tree` is not set")
                    .at(config.document, "the config starts here")
                    .help("add `tree: { <root>: [ :relation, … ] }` describing the tenant"),
            );
            return None;
        };
        let root_name = match &config.root {
            Some(root) => {
                if root.value != tree.root.value {
                    self.error(
                        Diagnostic::new(
                            Kind::RootMissing,
                            format!(
                                "`root: {}` does not name the tree's root `{}`",
                                root.value, tree.root.value
                            ),
                        )
                        .at(root.span, "root model")
                        .context(tree.root.span, "the tree's root")
                        .help(format!(
                            "write `root: {}` or rename the tree's root",
                            tree.root.value
                        )),
                    );
                    return None;
                }
                root.clone()
            }
            None if self.has_key("root") => return None, // already reported
            None => {
                self.error(
                    Diagnostic::new(Kind::RootMissing, "`root` is not set")
                        .at(config.document, "the config starts here")
                        .help(format!(
                            "add `root: {}` (the tree key whose rows are the tenant)",
                            tree.root.value
                        )),
                );
                return None;
            }
        };
        let table = self.root_table_of(&root_name)?;
        self.root_table = table.clone();
        let children = self.relations(&table, &tree.children, false);
        Some(RNode {
            name: tree.root.clone(),
            table,
            cardinality: Cardinality::Root,
            link: LinkIr::Root,
            import_only: false,
            children,
            order: Vec::new(),
            methods: Vec::new(),
            conditional: false,
        })
    }

    fn root_table_of(&mut self, root: &Spanned<String>) -> Option<String> {
        let plural = inflect::pluralize(&root.value);
        for candidate in [plural.as_str(), root.value.as_str()] {
            if self.schema.table(candidate).is_some() {
                return Some(candidate.to_string());
            }
        }
        let names: Vec<&str> = self.schema.tables.iter().map(|t| t.name.as_str()).collect();
        self.error(
            Diagnostic::new(
                Kind::UnknownTable,
                format!(
                    "the root `{}` names no table (looked for `{plural}`)",
                    root.value
                ),
            )
            .at(root.span, "no such table in the schema snapshot")
            .help(
                suggest::help(&plural, names.iter().copied()).unwrap_or_else(|| {
                    "check the name, or regenerate the snapshot with `forge schema dump`"
                        .to_string()
                }),
            ),
        );
        None
    }

    fn merge_import_only(&mut self, root: &mut RNode) {
        let config = self.config;
        let Some(extra) = &config.import_only_tree else {
            return;
        };
        if extra.root.value != root.name.value {
            self.error(
                Diagnostic::new(
                    Kind::RootMissing,
                    format!(
                        "`import_only_tree` has root `{}`, the tree's root is `{}`",
                        extra.root.value, root.name.value
                    ),
                )
                .at(extra.root.span, "different root")
                .context(root.name.span, "the tree's root")
                .help(format!(
                    "use `{}` as the root of import_only_tree",
                    root.name.value
                )),
            );
            return;
        }
        let table = root.table.clone();
        self.merge_children(&mut root.children, &table, &extra.children);
    }

    fn merge_children(
        &mut self,
        existing: &mut Vec<RNode>,
        parent_table: &str,
        extra: &[crate::config::TreeNode],
    ) {
        let mut seen: BTreeMap<String, Span> = BTreeMap::new();
        for t in extra {
            if let Some(first) = seen.get(&t.name.value) {
                self.duplicate(&t.name, *first);
                continue;
            }
            seen.insert(t.name.value.clone(), t.name.span);
            if let Some(e) = existing.iter_mut().find(|e| e.name.value == t.name.value) {
                let table = e.table.clone();
                self.merge_children(&mut e.children, &table, &t.children);
            } else if let Some(node) = self.relation(parent_table, t, true) {
                existing.push(node);
            }
        }
    }

    pub fn duplicate(&mut self, name: &Spanned<String>, first: Span) {
        self.error(
            Diagnostic::new(
                Kind::DuplicateRelation,
                format!(
                    "relation `{}` appears twice under the same parent",
                    name.value
                ),
            )
            .at(name.span, "second occurrence")
            .context(first, "first occurrence")
            .help("list each relation once per parent; merge their sub-relations"),
        );
    }

    fn name_collisions(&mut self, root: &RNode, tables: &BTreeMap<String, TableN>) {
        let mut found = Vec::new();
        root.walk(&mut |n, _| {
            let Some(t) = tables.get(&n.table) else {
                return;
            };
            let mut keys: BTreeMap<&str, &str> = t
                .columns
                .iter()
                .map(|c| (c.name.as_str(), "an exported column"))
                .collect();
            for m in &n.methods {
                if let Some(what) = keys.insert(&m.value, "a method") {
                    found.push((
                        m.span,
                        format!(
                            "method `{}` of `{}` has the same archive key as {what}",
                            m.value, n.table
                        ),
                    ));
                }
            }
            for c in &n.children {
                if let Some(what) = keys.insert(&c.name.value, "a relation") {
                    found.push((
                        c.name.span,
                        format!(
                            "relation `{}` under `{}` has the same archive key as {what}",
                            c.name.value, n.name.value
                        ),
                    ));
                }
            }
        });
        found.sort();
        found.dedup();
        for (span, message) in found {
            self.error(
                Diagnostic::new(Kind::NameCollision, message)
                    .at(span, "archive keys of one record must be distinct")
                    .help("rename the relation (with `associations`), the method, or exclude the column"),
            );
        }
    }

    fn assemble(
        &self,
        format_version: u32,
        users: Option<UsersIr>,
        root: RNode,
        tables: BTreeMap<String, TableN>,
        order: ordering::Order,
    ) -> PlanIr {
        let index: BTreeMap<&str, usize> = order
            .tables
            .iter()
            .enumerate()
            .map(|(i, t)| (t.as_str(), i))
            .collect();
        let idx = |name: &str| index.get(name).copied().unwrap_or(usize::MAX);
        let mut out_tables = Vec::new();
        for name in &order.tables {
            let Some(t) = tables.get(name) else { continue };
            // Unique indexes over a user reference (memberships): after users are mapped, two rows
            // may collide; the importer keeps the first. Only indexes whose columns all travel.
            let user_unique = self
                .schema
                .table(name)
                .map(|st| {
                    st.unique_indexes
                        .iter()
                        .filter(|ix| {
                            ix.columns.iter().any(|c| {
                                t.columns.iter().any(|tc| {
                                    &tc.name == c && matches!(tc.role, RoleN::UserReference)
                                })
                            }) && ix
                                .columns
                                .iter()
                                .all(|c| t.columns.iter().any(|tc| &tc.name == c))
                        })
                        .map(|ix| ix.columns.clone())
                        .collect()
                })
                .unwrap_or_default();
            out_tables.push(TableIr {
                name: t.name.clone(),
                columns: t
                    .columns
                    .iter()
                    .map(|c| ColumnIr {
                        name: c.name.clone(),
                        ty: c.ty,
                        nullable: c.nullable,
                        role: match &c.role {
                            RoleN::Data => RoleIr::Data,
                            RoleN::PrimaryKey => RoleIr::PrimaryKey,
                            RoleN::Reference(t) => RoleIr::Reference { table: idx(t) },
                            RoleN::PolymorphicId {
                                type_column,
                                targets,
                            } => RoleIr::PolymorphicId {
                                type_column: type_column.clone(),
                                targets: targets.iter().map(|(v, t)| (v.clone(), idx(t))).collect(),
                            },
                            RoleN::PolymorphicType => RoleIr::PolymorphicType,
                            RoleN::UserReference => RoleIr::UserReference,
                        },
                    })
                    .collect(),
                needs_id_map: order.id_maps.contains(name),
                existing_match: t.existing_match.clone(),
                tokens: t.tokens.clone(),
                upload: t.upload.clone(),
                access_level: t.access_level.clone(),
                policy_columns: t.policy_columns.clone(),
                user_unique,
                span: t.span,
            });
        }
        fn node(n: RNode, idx: &dyn Fn(&str) -> usize) -> NodeIr {
            NodeIr {
                table: idx(&n.table),
                name: n.name.value,
                cardinality: n.cardinality,
                link: n.link,
                order: n.order,
                methods: n.methods.into_iter().map(|m| m.value).collect(),
                conditional: n.conditional,
                import_only: n.import_only,
                children: n.children.into_iter().map(|c| node(c, idx)).collect(),
                span: n.name.span,
            }
        }
        PlanIr {
            format_version,
            schema_digest: schema_digest(self.schema),
            tables: out_tables,
            root: node(root, &idx),
            users,
        }
    }
}

/// Tenant tables in first-appearance order (root first, depth first).
fn tenant_tables(root: &RNode) -> Vec<(String, Span)> {
    let mut out: Vec<(String, Span)> = Vec::new();
    root.walk(&mut |n, _| {
        if !out.iter().any(|(t, _)| *t == n.table) {
            out.push((n.table.clone(), n.name.span));
        }
    });
    out
}

#[cfg(test)]
mod tests;
