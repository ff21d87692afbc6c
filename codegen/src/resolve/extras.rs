//! The keys that decorate nodes and tables: `methods`, `export_reorders`, `include_if_exportable`,
//! `policy_columns`, `preloads`, `existing_objects`, `uploads`, `access_levels`, `references`, `not_exported`,
//! `guards`.

use super::names::Models;
use super::{Ctx, RNode, TableN};
use crate::config::{Direction, NullsPosition, Spanned};
use crate::diagnostics::{Diagnostic, Kind};
use crate::parse::is_plain_name;
use crate::plan::{OrderByIr, UploadIr, UsersIr};
use crate::schema::LogicalType;
use crate::source::Span;
use crate::suggest;
use std::collections::BTreeMap;

impl Ctx<'_> {
    /// `references:` → how user references travel. Runs before the tree (roles need it).
    pub fn references(&mut self) -> Option<UsersIr> {
        let config = self.config;
        let mut users = None;
        for r in &config.references {
            if r.name.value != "users" {
                self.error(
                    Diagnostic::new(
                        Kind::Unsupported,
                        format!("`references.{}`: only `users` references are supported for now", r.name.value),
                    )
                    .at(r.name.span, "unsupported reference")
                    .help("declare shared tables other than users as tenant tables in `tree`, or exclude the columns that point at them"),
                );
                continue;
            }
            if self.schema.table(&r.table.value).is_none() {
                self.unknown_table(&r.table, "references.users.table", Kind::UnknownTable);
                continue;
            }
            let table = r.table.value.clone();
            let mut ok = true;
            for key in r.natural_keys.iter().chain(r.admin_column.iter()) {
                if !self.has_column(&table, &key.value) {
                    ok = false;
                    self.unknown_column(Kind::UnknownColumn, key, &table, "`references.users`");
                }
            }
            if ok {
                self.users_table = Some(table.clone());
                users = Some(UsersIr {
                    table,
                    natural_keys: r.natural_keys.iter().map(|k| k.value.clone()).collect(),
                    admin_column: r.admin_column.as_ref().map(|a| a.value.clone()),
                });
            }
        }
        users
    }

    /// Apply the per-node and per-table keys.
    pub fn extras(
        &mut self,
        root: &mut RNode,
        tables: &mut BTreeMap<String, TableN>,
        tenant: &[(String, Span)],
    ) {
        let models = Models::new(root, tenant);
        let config = self.config;

        if let Some(users) = self.users_table.clone()
            && let Some(span) = models.span_of(&users)
        {
            let decl = config
                .references
                .iter()
                .find(|r| r.name.value == "users")
                .map(|r| r.table.span);
            let mut d = Diagnostic::new(
                Kind::Conflict,
                format!("`{users}` is the shared users table (references.users) and also a relation of the tree"),
            )
            .at(span, "tenant relation")
            .help("users are shared across tenants: remove them from the tree; they travel by natural key");
            if let Some(decl) = decl {
                d = d.context(decl, "declared shared here");
            }
            self.error(d);
        }

        self.methods(root, &models);
        self.reorders(root, &models);
        let conditional = self.conditionals(root, &models);
        self.policy_columns(&conditional, tables, &models);
        self.preloads(root, &models);

        let existing = self.by_table(
            &config.existing_objects,
            "existing_objects",
            Kind::UnknownColumn,
            &models,
        );
        for (table, cols) in existing {
            let Some(t) = tables.get_mut(&table) else {
                continue;
            };
            for (c, _) in cols {
                if !t.columns.iter().any(|x| x.name == c.value) {
                    self.errors
                        .push(not_exported(&table, &c, "existing_objects match on it"));
                } else if !t.existing_match.contains(&c.value) {
                    t.existing_match.push(c.value.clone());
                }
            }
        }

        let mut upload_columns = BTreeMap::new();
        for u in &config.uploads {
            let Some(table) = self.model(&u.model, "uploads", Kind::UnknownTable, &models, true)
            else {
                continue;
            };
            if self.second_column(&mut upload_columns, "uploads", &table, &u.path_column) {
                continue;
            }
            if !self.has_column(&table, &u.path_column.value) {
                self.unknown_column(
                    Kind::UnknownColumn,
                    &u.path_column,
                    &table,
                    &format!("`uploads.{}.path_column`", u.model.value),
                );
                continue;
            }
            let Some(t) = tables.get_mut(&table) else {
                continue;
            };
            if t.columns.iter().any(|c| c.name == u.path_column.value) {
                t.upload = Some(UploadIr {
                    path_column: u.path_column.value.clone(),
                });
            } else {
                self.errors.push(not_exported(
                    &table,
                    &u.path_column,
                    "the importer copies the file it names",
                ));
            }
        }

        let mut level_columns = BTreeMap::new();
        for a in &config.access_levels {
            let Some(table) =
                self.model(&a.model, "access_levels", Kind::UnknownTable, &models, true)
            else {
                continue;
            };
            if self.second_column(&mut level_columns, "access_levels", &table, &a.column) {
                continue;
            }
            let Some(col) = self
                .schema
                .table(&table)
                .and_then(|t| t.column(&a.column.value))
            else {
                self.unknown_column(
                    Kind::UnknownColumn,
                    &a.column,
                    &table,
                    &format!("`access_levels.{}`", a.model.value),
                );
                continue;
            };
            if col.ty != LogicalType::Integer {
                self.error(
                    Diagnostic::new(
                        Kind::WrongType,
                        format!(
                            "access level column `{table}.{}` is {}, not integer",
                            a.column.value,
                            col.ty.as_str()
                        ),
                    )
                    .at(a.column.span, "must be an integer column")
                    .help("name the integer column that holds the member's access level"),
                );
                continue;
            }
            let Some(t) = tables.get_mut(&table) else {
                continue;
            };
            if t.columns.iter().any(|c| c.name == a.column.value) {
                t.access_level = Some(a.column.value.clone());
            } else {
                self.errors
                    .push(not_exported(&table, &a.column, "the importer caps it"));
            }
        }

        for n in &config.not_exported {
            if self.schema.table(&n.table.value).is_none() {
                self.unknown_table(&n.table, "not_exported", Kind::UnknownTable);
            } else if let Some(span) = models.span_of(&n.table.value) {
                self.error(
                    Diagnostic::new(
                        Kind::Conflict,
                        format!(
                            "`{}` is listed in not_exported but is part of the tree",
                            n.table.value
                        ),
                    )
                    .at(n.table.span, "declared not exported")
                    .context(span, "exported through this relation")
                    .help("remove it from the tree or from not_exported"),
                );
            }
        }

        for list in &config.guards.sensitive_safelist {
            let Some(table) = self.model(
                &list.model,
                "guards.sensitive_safelist",
                Kind::UnknownTable,
                &models,
                false,
            ) else {
                continue;
            };
            for c in &list.items {
                if !self.has_column(&table, &c.value) {
                    self.unknown_column(
                        Kind::UnknownColumn,
                        c,
                        &table,
                        &format!("`guards.sensitive_safelist.{}`", list.model.value),
                    );
                }
            }
        }
    }

    /// Whether `column` is a second, different column for `table` in `section` (whose entries name
    /// one column per table): reported, and the entry is skipped. `seen` holds the first column
    /// named per table.
    fn second_column(
        &mut self,
        seen: &mut BTreeMap<String, Spanned<String>>,
        section: &str,
        table: &str,
        column: &Spanned<String>,
    ) -> bool {
        match seen.get(table) {
            Some(first) if first.value != column.value => {
                self.error(
                    Diagnostic::new(
                        Kind::Conflict,
                        format!(
                            "`{section}` names two columns of `{table}`: `{}` and `{}`",
                            first.value, column.value
                        ),
                    )
                    .at(column.span, "second column")
                    .context(first.span, "first column")
                    .help(format!(
                        "a table has one column in `{section}`; keep the entry that names the right one"
                    )),
                );
                true
            }
            Some(_) => false,
            None => {
                seen.insert(table.to_string(), column.clone());
                false
            }
        }
    }

    fn methods(&mut self, root: &mut RNode, models: &Models) {
        let config = self.config;
        let mut by_table: BTreeMap<String, Vec<Spanned<String>>> = BTreeMap::new();
        for list in &config.methods {
            let Some(table) = self.model(
                &list.model,
                "methods",
                Kind::MethodUnknownModel,
                models,
                true,
            ) else {
                continue;
            };
            let entry = by_table.entry(table.clone()).or_default();
            for m in &list.items {
                if !is_plain_name(&m.value) {
                    self.errors.push(
                        Diagnostic::new(
                            Kind::InvalidName,
                            format!("method name `{}` is not a plain lowercase name", m.value),
                        )
                        .at(m.span, "methods become archive keys and Rust functions")
                        .help("use lowercase letters, digits and `_`"),
                    );
                    continue;
                }
                if let Some(first) = entry.iter().find(|x| x.value == m.value) {
                    self.errors.push(
                        Diagnostic::new(
                            Kind::NameCollision,
                            format!("method `{}` of `{table}` is declared twice", m.value),
                        )
                        .at(m.span, "second declaration")
                        .context(first.span, "first declaration")
                        .help("declare each method once"),
                    );
                    continue;
                }
                entry.push(m.clone());
            }
        }
        root.walk_mut(&mut |n, _| {
            if let Some(ms) = by_table.get(&n.table) {
                n.methods = ms.clone();
            }
        });
    }

    /// Children named `relation` under nodes of table `parent`; reports when there is none.
    fn children_named(
        &mut self,
        root: &mut RNode,
        parent: &str,
        q: Lookup<'_>,
        f: &mut dyn FnMut(&mut RNode),
    ) {
        let Lookup {
            parent_key,
            relation,
            kind,
            section,
        } = q;
        let mut found = 0;
        let mut siblings: Vec<String> = Vec::new();
        root.walk_mut(&mut |n, p| {
            if p == Some(parent) && n.name.value == relation.value {
                found += 1;
                f(n);
            }
            if n.table == parent {
                siblings.extend(n.children.iter().map(|c| c.name.value.clone()));
            }
        });
        if found == 0 {
            let help = suggest::help(&relation.value, siblings.iter().map(String::as_str))
                .unwrap_or_else(|| {
                    if siblings.is_empty() {
                        format!("`{}` has no relations in the tree", parent_key.value)
                    } else {
                        siblings.sort();
                        siblings.dedup();
                        format!(
                            "relations under `{}`: {}",
                            parent_key.value,
                            siblings.join(", ")
                        )
                    }
                });
            self.error(
                Diagnostic::new(
                    kind,
                    format!(
                        "`{section}.{}` names `{}`, which is not a relation under `{}` in the tree",
                        parent_key.value, relation.value, parent_key.value
                    ),
                )
                .at(relation.span, "no such relation here")
                .help(help),
            );
        }
    }

    fn reorders(&mut self, root: &mut RNode, models: &Models) {
        let config = self.config;
        for r in &config.export_reorders {
            let Some(parent) = self.model(
                &r.parent,
                "export_reorders",
                Kind::UnknownTable,
                models,
                true,
            ) else {
                continue;
            };
            let descending = r.direction.is_some_and(|d| d.value == Direction::Desc);
            let nulls_first = match r.nulls_position {
                Some(n) => n.value == NullsPosition::NullsFirst,
                None => descending,
            };
            let order = OrderByIr {
                column: r.column.value.clone(),
                descending,
                nulls_first,
            };
            let mut missing: Vec<String> = Vec::new();
            let q = Lookup {
                parent_key: &r.parent,
                relation: &r.relation,
                kind: Kind::UnknownAssociation,
                section: "export_reorders",
            };
            self.children_named(root, &parent, q, &mut |n| {
                if !n.order.iter().any(|o| o.column == order.column) {
                    n.order.push(order.clone());
                }
                missing.push(n.table.clone());
            });
            missing.sort();
            missing.dedup();
            for table in missing {
                if !self.has_column(&table, &r.column.value) {
                    self.unknown_column(
                        Kind::ReorderUnknownColumn,
                        &r.column,
                        &table,
                        &format!("`export_reorders.{}.{}`", r.parent.value, r.relation.value),
                    );
                }
            }
        }
    }

    /// Marks the nodes of `include_if_exportable`; returns each marked node's table with the
    /// entry that named it.
    fn conditionals(
        &mut self,
        root: &mut RNode,
        models: &Models,
    ) -> Vec<(String, Spanned<String>)> {
        let config = self.config;
        let mut marked = Vec::new();
        for list in &config.include_if_exportable {
            let Some(parent) = self.model(
                &list.model,
                "include_if_exportable",
                Kind::UnknownTable,
                models,
                true,
            ) else {
                continue;
            };
            for rel in &list.items {
                let q = Lookup {
                    parent_key: &list.model,
                    relation: rel,
                    kind: Kind::UnknownConditionalRelation,
                    section: "include_if_exportable",
                };
                self.children_named(root, &parent, q, &mut |n| {
                    n.conditional = true;
                    marked.push((n.table.clone(), rel.clone()));
                });
            }
        }
        marked
    }

    /// `policy_columns:` — what each conditional table's export policy reads: required for every
    /// table of an `include_if_exportable` relation, exported, and nothing else.
    fn policy_columns(
        &mut self,
        conditional: &[(String, Spanned<String>)],
        tables: &mut BTreeMap<String, TableN>,
        models: &Models,
    ) {
        let config = self.config;
        let mut listed: Vec<String> = Vec::new();
        for list in &config.policy_columns {
            let Some(table) = self.model(
                &list.model,
                "policy_columns",
                Kind::UnknownTable,
                models,
                true,
            ) else {
                continue;
            };
            listed.push(table.clone());
            if !conditional.iter().any(|(t, _)| *t == table) {
                self.error(
                    Diagnostic::new(
                        Kind::Conflict,
                        format!("`policy_columns.{}`: no relation of `{table}` is listed in include_if_exportable", list.model.value),
                    )
                    .at(list.model.span, "no export policy reads these")
                    .help("remove the entry, or list the relation under include_if_exportable"),
                );
                continue;
            }
            let Some(t) = tables.get_mut(&table) else {
                continue;
            };
            // Two entries that name the same table (`issue` and `issues`) add up.
            let mut names = std::mem::take(&mut t.policy_columns);
            if names.is_empty() {
                names.push("id".to_string());
            }
            for c in &list.items {
                if t.columns.iter().any(|x| x.name == c.value) {
                    if !names.contains(&c.value) {
                        names.push(c.value.clone());
                    }
                } else if self.has_column(&table, &c.value) {
                    self.errors
                        .push(not_exported(&table, c, "its export policy reads it"));
                } else {
                    self.unknown_column(
                        Kind::UnknownColumn,
                        c,
                        &table,
                        &format!("`policy_columns.{}`", list.model.value),
                    );
                }
            }
            t.policy_columns = names;
        }
        let mut reported: Vec<&str> = Vec::new();
        for (table, rel) in conditional {
            if listed.contains(table) || reported.contains(&table.as_str()) {
                continue;
            }
            reported.push(table);
            self.error(
                Diagnostic::new(
                    Kind::MissingKey,
                    format!(
                        "`include_if_exportable` lists `{}`, but `policy_columns` does not say which columns of `{table}` its policy reads",
                        rel.value
                    ),
                )
                .at(rel.span, "conditional relation")
                .help(format!(
                    "add `policy_columns: {{ {table}: [:column, …] }}` naming the columns the export policy of `{}` reads; the export's policy pass selects only these",
                    rel.value
                )),
            );
        }
    }

    fn preloads(&mut self, root: &mut RNode, models: &Models) {
        let config = self.config;
        for list in &config.preloads {
            let Some(parent) =
                self.model(&list.model, "preloads", Kind::UnknownTable, models, true)
            else {
                continue;
            };
            for rel in &list.items {
                let q = Lookup {
                    parent_key: &list.model,
                    relation: rel,
                    kind: Kind::UnknownPreload,
                    section: "preloads",
                };
                self.children_named(root, &parent, q, &mut |_| {});
            }
        }
    }
}

/// What [`Ctx::children_named`] looks for, and how to report its absence.
struct Lookup<'a> {
    parent_key: &'a Spanned<String>,
    relation: &'a Spanned<String>,
    kind: Kind,
    section: &'a str,
}

fn not_exported(table: &str, column: &Spanned<String>, why: &str) -> Diagnostic {
    Diagnostic::new(
        Kind::ColumnNotExported,
        format!("`{table}.{}` is not exported, but {why}", column.value),
    )
    .at(column.span, "not an exported column")
    .help(format!(
        "export `{}` (remove it from excluded_attributes/tokens, or add it to included_attributes)",
        column.value
    ))
}
