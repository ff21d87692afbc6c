//! Exported columns of each tenant table and their roles.
//!
//! Exported = (`included_attributes` if given, else every column) − `excluded_attributes` −
//! `tokens`, plus every column a link of the tree needs; `id` first, then schema order.

use super::names::Models;
use super::{ColumnN, Ctx, RNode, RoleN, TableN};
use crate::config::{ModelList, Spanned};
use crate::diagnostics::{Diagnostic, Kind};
use crate::plan::LinkIr;
use crate::schema::LogicalType;
use crate::source::Span;
use std::collections::{BTreeMap, BTreeSet};

/// Per-table column lists of one `<model>: [cols]` section, resolved to tables.
pub(crate) type ByTable = BTreeMap<String, Vec<(Spanned<String>, Span)>>;

impl Ctx<'_> {
    /// Resolve the model keys of a `<model>: [cols]` section; checks that each column exists.
    pub fn by_table(
        &mut self,
        lists: &[ModelList],
        section: &str,
        kind: Kind,
        models: &Models,
    ) -> ByTable {
        let mut out: ByTable = BTreeMap::new();
        for list in lists {
            let Some(table) = self.model(&list.model, section, Kind::UnknownTable, models, true)
            else {
                continue;
            };
            for item in &list.items {
                if self.has_column(&table, &item.value) {
                    out.entry(table.clone())
                        .or_default()
                        .push((item.clone(), list.model.span));
                } else {
                    self.unknown_column(
                        kind,
                        item,
                        &table,
                        &format!("`{section}.{}`", list.model.value),
                    );
                }
            }
            out.entry(table).or_default();
        }
        out
    }

    /// Build the exported columns of every tenant table.
    pub fn columns(&mut self, root: &RNode, tenant: &[(String, Span)]) -> BTreeMap<String, TableN> {
        self.check_associations(root);
        let models = Models::new(root, tenant);
        let config = self.config;
        let included = self.by_table(
            &config.included_attributes,
            "included_attributes",
            Kind::UnknownColumn,
            &models,
        );
        let excluded = self.by_table(
            &config.excluded_attributes,
            "excluded_attributes",
            Kind::UnknownColumn,
            &models,
        );
        let tokens = self.by_table(&config.tokens, "tokens", Kind::TokenColumnMissing, &models);

        // Columns the links need, and the roles links give them.
        let mut forced: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut link_roles: BTreeMap<(String, String), (String, Span)> = BTreeMap::new();
        root.walk(&mut |n, parent| match &n.link {
            LinkIr::ChildFk { column } => {
                forced
                    .entry(n.table.clone())
                    .or_default()
                    .insert(column.clone());
                if let Some(p) = parent {
                    link_roles.insert(
                        (n.table.clone(), column.clone()),
                        (p.table.clone(), n.name.span),
                    );
                }
            }
            LinkIr::Polymorphic {
                id_column,
                type_column,
                ..
            } => {
                let f = forced.entry(n.table.clone()).or_default();
                f.insert(id_column.clone());
                f.insert(type_column.clone());
            }
            LinkIr::ParentFk { column } => {
                if let Some(p) = parent {
                    forced
                        .entry(p.table.clone())
                        .or_default()
                        .insert(column.clone());
                    link_roles.insert(
                        (p.table.clone(), column.clone()),
                        (n.table.clone(), n.name.span),
                    );
                }
            }
            LinkIr::Root => {}
        });

        let mut out = BTreeMap::new();
        for (name, span) in tenant {
            let Some(st) = self.schema.table(name) else {
                continue;
            };
            let has_id = st.primary_key == ["id"]
                && st
                    .column("id")
                    .is_some_and(|c| c.ty == LogicalType::Integer);
            if !has_id {
                self.error(
                    Diagnostic::new(
                        Kind::MissingPrimaryKey,
                        if st.primary_key.is_empty() {
                            format!("table `{name}` has no primary key; hoist needs a single integer `id`")
                        } else {
                            format!(
                                "table `{name}` has primary key ({}); hoist needs a single integer `id`",
                                st.primary_key.join(", ")
                            )
                        },
                    )
                    .at(*span, "this relation's table")
                    .help("give the table an integer `id` primary key, or leave it out of the tree"),
                );
                continue;
            }
            let inc = included.get(name);
            let exc = excluded.get(name).cloned().unwrap_or_default();
            let tok = tokens.get(name).cloned().unwrap_or_default();
            for (e, _) in &exc {
                if let Some((i, _)) =
                    inc.and_then(|inc| inc.iter().find(|(i, _)| i.value == e.value))
                {
                    self.error(
                        Diagnostic::new(
                            Kind::IncludedAndExcluded,
                            format!("column `{name}.{}` is both included and excluded", e.value),
                        )
                        .at(e.span, "excluded here")
                        .context(i.span, "included here")
                        .help("keep it in one of included_attributes / excluded_attributes"),
                    );
                }
                if e.value == "id" {
                    self.error(
                        Diagnostic::new(Kind::Conflict, format!("`{name}.id` cannot be excluded"))
                            .at(e.span, "always exported")
                            .help("remove it: the importer needs ids to rebuild references"),
                    );
                }
            }
            let force = forced.get(name).cloned().unwrap_or_default();
            let mut columns = Vec::new();
            for c in &st.columns {
                let wanted = c.name == "id"
                    || force.contains(&c.name)
                    || (inc.is_none_or(|inc| inc.iter().any(|(i, _)| i.value == c.name))
                        && !exc.iter().any(|(e, _)| e.value == c.name)
                        && !tok.iter().any(|(t, _)| t.value == c.name));
                if wanted {
                    columns.push(ColumnN {
                        name: c.name.clone(),
                        ty: c.ty,
                        nullable: c.nullable,
                        role: RoleN::Data,
                    });
                }
            }
            if let Some(pos) = columns.iter().position(|c| c.name == "id") {
                let id = columns.remove(pos);
                columns.insert(0, id);
            }
            // Where to point for problems with a column nobody named explicitly.
            let mention = |column: &str| -> Span {
                inc.and_then(|inc| {
                    inc.iter()
                        .find(|(i, _)| i.value == column)
                        .map(|(i, _)| i.span)
                })
                .or_else(|| inc.and_then(|inc| inc.first().map(|(_, m)| *m)))
                .unwrap_or(*span)
            };
            let mut table = TableN {
                name: name.clone(),
                span: *span,
                columns,
                existing_match: Vec::new(),
                tokens: tok.iter().map(|(t, _)| t.value.clone()).collect(),
                upload: None,
                access_level: None,
                policy_columns: Vec::new(),
            };
            self.roles(&mut table, &models, &link_roles, &exc, &mention);
            out.insert(name.clone(), table);
        }
        out
    }

    fn roles(
        &mut self,
        table: &mut TableN,
        models: &Models,
        link_roles: &BTreeMap<(String, String), (String, Span)>,
        excluded: &[(Spanned<String>, Span)],
        mention: &dyn Fn(&str) -> Span,
    ) {
        let name = table.name.clone();
        let Some(st) = self.schema.table(&name) else {
            return;
        };
        let polys: Vec<_> = self
            .poly
            .iter()
            .filter(|p| p.table == name)
            .cloned()
            .collect();
        let exported: BTreeSet<String> = table.columns.iter().map(|c| c.name.clone()).collect();
        // Both halves of a polymorphic pair travel together.
        for p in &polys {
            let (has_id, has_type) = (
                exported.contains(&p.id_column),
                exported.contains(&p.type_column),
            );
            if has_id != has_type {
                let missing = if has_id { &p.type_column } else { &p.id_column };
                let span = excluded
                    .iter()
                    .find(|(e, _)| e.value == *missing)
                    .map(|(e, _)| e.span)
                    .unwrap_or_else(|| mention(missing));
                self.error(
                    Diagnostic::new(
                        Kind::ColumnNotExported,
                        format!(
                            "polymorphic `{}` of `{name}` exports only one half: `{missing}` is not exported",
                            p.name
                        ),
                    )
                    .at(span, "the pair is split here")
                    .context(p.span, "declared polymorphic here")
                    .help(format!("export both `{}` and `{}`, or neither", p.type_column, p.id_column)),
                );
            }
        }
        let users = self.users_table.clone();
        for column in &mut table.columns {
            let c = column.name.clone();
            if c == "id" {
                column.role = RoleN::PrimaryKey;
                continue;
            }
            if polys.iter().any(|p| p.type_column == c) {
                column.role = RoleN::PolymorphicType;
                continue;
            }
            if let Some(p) = polys.iter().find(|p| p.id_column == c) {
                let mut targets = Vec::new();
                for (value, target, span) in &p.targets {
                    if models.is_tenant(target) {
                        targets.push((value.clone(), target.clone()));
                    } else {
                        self.error(
                            Diagnostic::new(
                                Kind::TableNotInTree,
                                format!(
                                    "polymorphic `{}` of `{name}` targets `{target}` (type `{value}`), which is not part of the tenant tree",
                                    p.name
                                ),
                            )
                            .at(*span, "rows pointing here could not be remapped on import")
                            .help(format!("add `{target}` to `tree`, or remove `{value}` from the declaration")),
                        );
                    }
                }
                column.role = RoleN::PolymorphicId {
                    type_column: p.type_column.clone(),
                    targets,
                };
                continue;
            }
            if self.poly_failed.iter().any(|(t, x)| *t == name && *x == c) {
                continue; // its declaration is already reported
            }
            let link = link_roles.get(&(name.clone(), c.clone()));
            let fk = st.foreign_key_on(&c);
            match (link, fk) {
                (Some((target, span)), Some(fk)) if fk.references_table != *target => {
                    self.error(
                        Diagnostic::new(
                            Kind::Conflict,
                            format!(
                                "`{name}.{c}` links this relation to `{target}` but its foreign key references `{}`",
                                fk.references_table
                            ),
                        )
                        .at(*span, "linked through this relation")
                        .help("fix `associations` so the link uses a column referencing the parent"),
                    );
                }
                (Some((target, _)), _) => column.role = RoleN::Reference(target.clone()),
                (None, Some(fk)) => {
                    let target = &fk.references_table;
                    if models.is_tenant(target) {
                        column.role = RoleN::Reference(target.clone());
                    } else if users.as_deref() == Some(target.as_str()) {
                        column.role = RoleN::UserReference;
                    } else {
                        let users_hint = if users.is_none() && target == "users" {
                            " or declare `references: { users: { table: users, natural_keys: [email] } }`"
                        } else {
                            ""
                        };
                        self.error(
                            Diagnostic::new(
                                Kind::ForeignReference,
                                format!(
                                    "exported column `{name}.{c}` references table `{target}`, which is not part of the tenant"
                                ),
                            )
                            .at(mention(&c), format!("`{name}` exports `{c}`"))
                            .help(format!(
                                "add it to excluded_attributes (`{name}: [:{c}]`){}add `{target}` to the tree{users_hint}",
                                if users_hint.is_empty() { " or " } else { ", " }
                            )),
                        );
                    }
                }
                (None, None) if c.ends_with("_id") => {
                    self.error(
                        Diagnostic::new(
                            Kind::UndeclaredReference,
                            format!(
                                "exported column `{name}.{c}` looks like a reference but has no foreign key or polymorphic declaration"
                            ),
                        )
                        .at(mention(&c), format!("`{name}` exports `{c}`"))
                        .help(
                            "add a foreign key (then regenerate the snapshot with `forge schema dump`), declare it under `polymorphic`, or add it to excluded_attributes (the importer drops undeclared `*_id` columns)",
                        ),
                    );
                }
                (None, None) => {}
            }
        }
    }
}
