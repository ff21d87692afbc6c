//! Relations → tables and links, by convention with explicit overrides.
//!
//! For a relation `name` under a parent row of table `P`:
//! 1. an `associations.<P>.<name>` entry decides (`table`, `foreign_key`, `as`);
//! 2. if a table `name` exists: has_many through its single foreign key to `P`, else through a
//!    declared polymorphic pair whose targets include `P`;
//! 3. if the plural of `name` is a table `T`: belongs_to when `P.<name>_id` references `T`, else
//!    has_one through `T`'s single foreign key to `P` (or a polymorphic pair targeting `P`).

use super::{Ctx, PolyDecl, RNode};
use crate::config::{Association, Spanned, TreeNode};
use crate::diagnostics::{Diagnostic, Kind};
use crate::inflect;
use crate::plan::{Cardinality, LinkIr};
use crate::source::Span;
use crate::suggest;
use std::collections::BTreeMap;

type Resolved = (String, Cardinality, LinkIr);

impl Ctx<'_> {
    /// Validate `polymorphic:` declarations into [`PolyDecl`]s.
    pub fn polymorphic(&mut self) {
        let config = self.config;
        for p in &config.polymorphic {
            let Some(table) = self.table_by_name(&p.table.value) else {
                self.unknown_table(&p.table, "polymorphic", Kind::UnknownTable);
                continue;
            };
            let type_column = format!("{}_type", p.name.value);
            let id_column = format!("{}_id", p.name.value);
            let mut ok = true;
            for column in [&type_column, &id_column] {
                if !self.has_column(&table, column) {
                    ok = false;
                    self.error(
                        Diagnostic::new(
                            Kind::PolymorphicMissingColumn,
                            format!(
                                "polymorphic `{}` of `{table}` needs column `{column}`, which `{table}` does not have",
                                p.name.value
                            ),
                        )
                        .at(p.name.span, format!("expects `{type_column}` and `{id_column}`"))
                        .help(format!(
                            "name the pair by its prefix (`{table}` has columns: {}), or regenerate the snapshot with `forge schema dump`",
                            self.schema.table(&table).map(|t| t.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")).unwrap_or_default()
                        )),
                    );
                }
            }
            let mut targets = Vec::new();
            for t in &p.targets {
                match self.table_by_name(&t.table.value) {
                    Some(target) => {
                        targets.push((t.type_value.value.clone(), target, t.type_value.span))
                    }
                    None => {
                        // reported; the declaration stays usable for its other targets
                        self.unknown_table(
                            &t.table,
                            &format!(
                                "polymorphic.{}.{}.{}",
                                p.table.value, p.name.value, t.type_value.value
                            ),
                            Kind::PolymorphicUnknownTable,
                        );
                    }
                }
            }
            if !ok {
                self.poly_failed.push((table.clone(), id_column.clone()));
                self.poly_failed.push((table.clone(), type_column.clone()));
            } else {
                self.poly.push(PolyDecl {
                    table,
                    name: p.name.value.clone(),
                    id_column,
                    type_column,
                    targets,
                    span: p.name.span,
                });
            }
        }
    }

    pub fn unknown_table(&mut self, name: &Spanned<String>, section: &str, kind: Kind) {
        let names: Vec<&str> = self.schema.tables.iter().map(|t| t.name.as_str()).collect();
        let plural = inflect::pluralize(&name.value);
        let help = suggest::help(&name.value, names.iter().copied())
            .or_else(|| suggest::help(&plural, names.iter().copied()))
            .unwrap_or_else(|| {
                "check the name, or regenerate the snapshot with `forge schema dump` if the table is new".into()
            });
        self.error(
            Diagnostic::new(
                kind,
                format!("unknown table `{}` in `{section}`", name.value),
            )
            .at(name.span, "no such table in the schema snapshot")
            .help(help),
        );
    }

    /// Relations under a parent of table `parent`.
    pub fn relations(&mut self, parent: &str, nodes: &[TreeNode], import_only: bool) -> Vec<RNode> {
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        let mut out = Vec::new();
        for t in nodes {
            if let Some(first) = seen.get(t.name.value.as_str()) {
                self.duplicate(&t.name, *first);
                continue;
            }
            seen.insert(&t.name.value, t.name.span);
            if let Some(node) = self.relation(parent, t, import_only) {
                out.push(node);
            }
        }
        out
    }

    /// One relation and its sub-relations.
    pub fn relation(&mut self, parent: &str, t: &TreeNode, import_only: bool) -> Option<RNode> {
        let (table, cardinality, link) = self.link(parent, &t.name)?;
        let children = self.relations(&table, &t.children, import_only);
        Some(RNode {
            name: t.name.clone(),
            table,
            cardinality,
            link,
            import_only,
            children,
            order: Vec::new(),
            methods: Vec::new(),
            conditional: false,
        })
    }

    /// The `associations` entry for relation `name` under table `parent`, if any.
    fn association(&mut self, parent: &str, name: &str) -> Option<&'_ Association> {
        let config = self.config;
        config.associations.iter().find(|a| {
            a.relation.value == name
                && self.table_by_name(&a.parent.value).as_deref() == Some(parent)
        })
    }

    /// Report `associations` entries whose parent is unknown or that no tree relation uses.
    pub fn check_associations(&mut self, root: &RNode) {
        let config = self.config;
        let mut used: Vec<(String, String)> = Vec::new();
        root.walk(&mut |n, parent| {
            if let Some(p) = parent {
                used.push((p.table.clone(), n.name.value.clone()));
            }
        });
        for a in &config.associations {
            match self.table_by_name(&a.parent.value) {
                None => self.unknown_table(&a.parent, "associations", Kind::UnknownTable),
                Some(parent) => {
                    if !used
                        .iter()
                        .any(|(p, n)| *p == parent && *n == a.relation.value)
                    {
                        self.error(
                            Diagnostic::new(
                                Kind::UnknownAssociation,
                                format!(
                                    "`associations.{}.{}` is not used: the tree has no relation `{}` under `{parent}`",
                                    a.parent.value, a.relation.value, a.relation.value
                                ),
                            )
                            .at(a.relation.span, "unused association")
                            .help(format!("add `{}` under `{}` in `tree`, or remove this entry", a.relation.value, a.parent.value)),
                        );
                    }
                }
            }
        }
    }

    fn child_fks(&self, table: &str, parent: &str) -> Vec<String> {
        self.schema
            .table(table)
            .map(|t| {
                t.foreign_keys
                    .iter()
                    .filter(|fk| fk.columns.len() == 1 && fk.references_table == parent)
                    .map(|fk| fk.columns[0].clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn polys_on(&self, table: &str, parent: &str) -> Vec<(PolyDecl, String)> {
        self.poly
            .iter()
            .filter(|p| p.table == table)
            .filter_map(|p| {
                p.targets
                    .iter()
                    .find(|(_, t, _)| t == parent)
                    .map(|(v, _, _)| (p.clone(), v.clone()))
            })
            .collect()
    }

    fn ambiguous(
        &mut self,
        parent: &str,
        name: &Spanned<String>,
        table: &str,
        columns: &[String],
        key: &str,
    ) {
        self.error(
            Diagnostic::new(
                Kind::AmbiguousForeignKey,
                format!(
                    "relation `{}` under `{parent}` is ambiguous: `{table}` links to `{parent}` through {}",
                    name.value,
                    columns.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                ),
            )
            .at(name.span, "which one?")
            .help(format!(
                "ambiguous, set associations.{parent}.{}.{key} to one of them",
                name.value
            )),
        );
    }

    fn link(&mut self, parent: &str, name: &Spanned<String>) -> Option<Resolved> {
        if let Some(a) = self.association(parent, &name.value).cloned() {
            return self.explicit(parent, name, &a);
        }
        let n = name.value.as_str();
        if self.schema.table(n).is_some() {
            return self.through_child(parent, name, n, true).or_else(|| {
                self.no_link(parent, name, n);
                None
            });
        }
        let plural = inflect::pluralize(n);
        if self.schema.table(&plural).is_some() {
            if let Some(column) = self.belongs_to_column(parent, n, &plural) {
                return Some((plural, Cardinality::BelongsTo, LinkIr::ParentFk { column }));
            }
            return self
                .through_child(parent, name, &plural, false)
                .or_else(|| {
                    self.no_link(parent, name, &plural);
                    None
                });
        }
        self.unknown_relation(parent, name);
        None
    }

    /// `P.<name>_id` with a foreign key to `table`.
    fn belongs_to_column(&self, parent: &str, name: &str, table: &str) -> Option<String> {
        let column = format!("{name}_id");
        let p = self.schema.table(parent)?;
        let fk = p.foreign_key_on(&column)?;
        (fk.references_table == table).then_some(column)
    }

    /// Has-many / has-one through the child's single FK to the parent, else a polymorphic pair.
    /// `None` without reporting when neither exists; ambiguity is reported here.
    fn through_child(
        &mut self,
        parent: &str,
        name: &Spanned<String>,
        table: &str,
        many: bool,
    ) -> Option<Resolved> {
        let cardinality = if many {
            Cardinality::HasMany
        } else {
            Cardinality::HasOne
        };
        let fks = self.child_fks(table, parent);
        match fks.len() {
            1 => {
                return Some((
                    table.to_string(),
                    cardinality,
                    LinkIr::ChildFk {
                        column: fks[0].clone(),
                    },
                ));
            }
            0 => {}
            _ => {
                self.ambiguous(parent, name, table, &fks, "foreign_key");
                return None;
            }
        }
        let polys = self.polys_on(table, parent);
        match polys.len() {
            1 => {
                let (p, type_value) = &polys[0];
                Some((
                    table.to_string(),
                    cardinality,
                    LinkIr::Polymorphic {
                        id_column: p.id_column.clone(),
                        type_column: p.type_column.clone(),
                        type_value: type_value.clone(),
                    },
                ))
            }
            0 => None,
            _ => {
                let names: Vec<String> = polys.iter().map(|(p, _)| p.name.clone()).collect();
                self.ambiguous(parent, name, table, &names, "as");
                None
            }
        }
    }

    fn no_link(&mut self, parent: &str, name: &Spanned<String>, table: &str) {
        if self.poly_failed.iter().any(|(t, _)| t == table) {
            return; // its polymorphic declaration is broken and already reported
        }
        // `through_child` reports ambiguity itself; only report "nothing found" once.
        if self
            .errors
            .last()
            .is_some_and(|d| d.kind == Kind::AmbiguousForeignKey && d.span == Some(name.span))
        {
            return;
        }
        self.error(
            Diagnostic::new(
                Kind::UnknownAssociation,
                format!(
                    "relation `{}` under `{parent}`: table `{table}` has no foreign key to `{parent}` and no polymorphic pair whose targets include `{parent}`",
                    name.value
                ),
            )
            .at(name.span, "cannot link this relation to its parent")
            .help(format!(
                "add a foreign key to the schema, declare `polymorphic.{table}`, or set `associations.{parent}.{}.foreign_key`",
                name.value
            )),
        );
    }

    fn unknown_relation(&mut self, parent: &str, name: &Spanned<String>) {
        let mut candidates: Vec<String> = Vec::new();
        for t in &self.schema.tables {
            let links_here =
                t.foreign_keys
                    .iter()
                    .any(|fk| fk.references_table == parent)
                    || self.poly.iter().any(|p| {
                        p.table == t.name && p.targets.iter().any(|(_, x, _)| x == parent)
                    });
            if links_here {
                candidates.push(t.name.clone());
                candidates.push(inflect::singularize(&t.name));
            }
        }
        if let Some(p) = self.schema.table(parent) {
            for fk in &p.foreign_keys {
                if let [c] = fk.columns.as_slice()
                    && let Some(stem) = c.strip_suffix("_id")
                {
                    candidates.push(stem.to_string());
                }
            }
        }
        let help = suggest::help(&name.value, candidates.iter().map(String::as_str)).unwrap_or_else(|| {
            format!(
                "name a table linked to `{parent}` (or its singular for has_one/belongs_to), or declare it in `associations.{parent}.{}`",
                name.value
            )
        });
        self.error(
            Diagnostic::new(Kind::UnknownAssociation, {
                let plural = inflect::pluralize(&name.value);
                if plural == name.value {
                    format!(
                        "unknown relation `{}` under `{parent}`: no table `{plural}`",
                        name.value
                    )
                } else {
                    format!(
                        "unknown relation `{}` under `{parent}`: no table `{}` or `{plural}`",
                        name.value, name.value
                    )
                }
            })
            .at(name.span, "no table or association has this name")
            .help(help),
        );
    }

    fn explicit(
        &mut self,
        parent: &str,
        name: &Spanned<String>,
        a: &Association,
    ) -> Option<Resolved> {
        let n = name.value.as_str();
        let table = match &a.table {
            Some(t) => match self.table_by_name(&t.value) {
                Some(table) => table,
                None => {
                    self.unknown_table(
                        t,
                        &format!("associations.{}.{}.table", a.parent.value, n),
                        Kind::UnknownTable,
                    );
                    return None;
                }
            },
            None => match self.table_by_name(n) {
                Some(table) => table,
                None => {
                    self.error(
                        Diagnostic::new(
                            Kind::UnknownAssociation,
                            format!("`associations.{}.{n}` has no `table` and no table is named `{n}` or `{}`", a.parent.value, inflect::pluralize(n)),
                        )
                        .at(a.relation.span, "which table?")
                        .help(format!("add `table: <table>` to associations.{}.{n}", a.parent.value)),
                    );
                    return None;
                }
            },
        };
        let many = n == table || inflect::singularize(n) != n;
        let cardinality = if many {
            Cardinality::HasMany
        } else {
            Cardinality::HasOne
        };
        if let Some(as_) = &a.as_ {
            let Some(p) = self
                .poly
                .iter()
                .find(|p| p.table == table && p.name == as_.value)
                .cloned()
            else {
                self.error(
                    Diagnostic::new(
                        Kind::UnknownAssociation,
                        format!("`as: {}` names no polymorphic pair of `{table}`", as_.value),
                    )
                    .at(as_.span, "not declared")
                    .help(format!(
                        "declare it: `polymorphic: {{ {table}: {{ {}: {{ <TypeValue>: {parent} }} }} }}`",
                        as_.value
                    )),
                );
                return None;
            };
            let Some((type_value, _, _)) = p.targets.iter().find(|(_, t, _)| t == parent) else {
                self.error(
                    Diagnostic::new(
                        Kind::UnknownAssociation,
                        format!(
                            "polymorphic `{}` of `{table}` has no type value naming `{parent}`",
                            p.name
                        ),
                    )
                    .at(as_.span, "parent table is not a target")
                    .context(p.span, "declared here")
                    .help(format!(
                        "add `<TypeValue>: {parent}` to polymorphic.{table}.{}",
                        p.name
                    )),
                );
                return None;
            };
            return Some((
                table,
                cardinality,
                LinkIr::Polymorphic {
                    id_column: p.id_column.clone(),
                    type_column: p.type_column.clone(),
                    type_value: type_value.clone(),
                },
            ));
        }
        if let Some(fk) = &a.foreign_key {
            if self.has_column(&table, &fk.value) {
                if let Some(other) = self
                    .schema
                    .table(&table)
                    .and_then(|t| t.foreign_key_on(&fk.value))
                    .filter(|f| f.references_table != parent)
                {
                    self.error(
                        Diagnostic::new(
                            Kind::Conflict,
                            format!(
                                "`{table}.{}` references `{}`, not the parent `{parent}`",
                                fk.value, other.references_table
                            ),
                        )
                        .at(fk.span, "foreign key to another table")
                        .help(format!(
                            "choose a column of `{table}` that references `{parent}`"
                        )),
                    );
                    return None;
                }
                return Some((
                    table,
                    cardinality,
                    LinkIr::ChildFk {
                        column: fk.value.clone(),
                    },
                ));
            }
            if self.has_column(parent, &fk.value) {
                return Some((
                    table,
                    Cardinality::BelongsTo,
                    LinkIr::ParentFk {
                        column: fk.value.clone(),
                    },
                ));
            }
            self.unknown_column(
                Kind::UnknownColumn,
                fk,
                &table,
                &format!(
                    "associations.{}.{n}.foreign_key (nor of the parent `{parent}`)",
                    a.parent.value
                ),
            );
            return None;
        }
        if let Some(found) = self.through_child(parent, name, &table, many) {
            return Some(found);
        }
        if self
            .errors
            .last()
            .is_some_and(|d| d.kind == Kind::AmbiguousForeignKey && d.span == Some(name.span))
        {
            return None;
        }
        // belongs_to through a single FK of the parent to the table
        let pfks = self.child_fks(parent, &table);
        match pfks.len() {
            1 if !many => Some((
                table,
                Cardinality::BelongsTo,
                LinkIr::ParentFk {
                    column: pfks[0].clone(),
                },
            )),
            n if n > 1 && !many => {
                self.ambiguous(parent, name, parent, &pfks, "foreign_key");
                None
            }
            _ => {
                self.no_link(parent, name, &table);
                None
            }
        }
    }
}
