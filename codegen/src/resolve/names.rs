//! `<model>` keys → tables: a table name (`issues`), its singular (`issue`, `project`), or a
//! relation name used in the tree (`priorities`, `label`, `links`).

use super::{Ctx, RNode};
use crate::config::Spanned;
use crate::diagnostics::{Diagnostic, Kind};
use crate::inflect;
use crate::source::Span;
use crate::suggest;
use std::collections::BTreeMap;

/// What model keys can name once the tree is known.
pub(crate) struct Models {
    /// Tenant tables in first-appearance order.
    pub tenant: Vec<(String, Span)>,
    /// Relation name → table (first occurrence wins).
    pub relations: BTreeMap<String, String>,
}

impl Models {
    pub fn new(root: &RNode, tenant: &[(String, Span)]) -> Models {
        let mut relations = BTreeMap::new();
        root.walk(&mut |n, _| {
            relations
                .entry(n.name.value.clone())
                .or_insert_with(|| n.table.clone());
        });
        Models {
            tenant: tenant.to_vec(),
            relations,
        }
    }

    pub fn is_tenant(&self, table: &str) -> bool {
        self.tenant.iter().any(|(t, _)| t == table)
    }

    pub fn span_of(&self, table: &str) -> Option<Span> {
        self.tenant
            .iter()
            .find(|(t, _)| t == table)
            .map(|(_, s)| *s)
    }
}

impl Ctx<'_> {
    /// A schema table named `name` or whose singular is `name`.
    pub fn table_by_name(&self, name: &str) -> Option<String> {
        if self.schema.table(name).is_some() {
            return Some(name.to_string());
        }
        let plural = inflect::pluralize(name);
        self.schema.table(&plural).map(|_| plural)
    }

    /// Resolve a `<model>` key of `section`. With `tenant_only`, the table must be in the tree.
    pub fn model(
        &mut self,
        model: &Spanned<String>,
        section: &str,
        kind: Kind,
        models: &Models,
        tenant_only: bool,
    ) -> Option<String> {
        let name = model.value.as_str();
        let table = self
            .table_by_name(name)
            .or_else(|| models.relations.get(name).cloned());
        match table {
            Some(table) if tenant_only && !models.is_tenant(&table) => {
                self.error(
                    Diagnostic::new(
                        Kind::TableNotInTree,
                        format!("`{section}.{name}` names table `{table}`, which is not part of the tenant tree"),
                    )
                    .at(model.span, "not in `tree`")
                    .help(format!("add `{table}` to `tree` or remove this entry")),
                );
                None
            }
            Some(table) => Some(table),
            None => {
                let mut candidates: Vec<String> = Vec::new();
                for (t, _) in &models.tenant {
                    candidates.push(t.clone());
                    candidates.push(inflect::singularize(t));
                }
                candidates.extend(models.relations.keys().cloned());
                if !tenant_only {
                    candidates.extend(self.schema.tables.iter().map(|t| t.name.clone()));
                }
                let help = suggest::help(name, candidates.iter().map(String::as_str))
                    .unwrap_or_else(|| {
                        format!(
                            "use a table name, its singular, or a relation name from `tree`{}",
                            if tenant_only { "" } else { " (or regenerate the snapshot with `forge schema dump` if the table is new)" }
                        )
                    });
                self.error(
                    Diagnostic::new(kind, format!("unknown model `{name}` in `{section}`"))
                        .at(model.span, "no table, singular or relation has this name")
                        .help(help),
                );
                None
            }
        }
    }

    /// Report an unknown column of `table`, suggesting the closest one.
    pub fn unknown_column(
        &mut self,
        kind: Kind,
        column: &Spanned<String>,
        table: &str,
        context: &str,
    ) {
        let names: Vec<&str> = self
            .schema
            .table(table)
            .map(|t| t.columns.iter().map(|c| c.name.as_str()).collect())
            .unwrap_or_default();
        let help = suggest::help(&column.value, names.iter().copied()).unwrap_or_else(|| {
            const SHOWN: usize = 12;
            let mut list = names.iter().take(SHOWN).copied().collect::<Vec<_>>().join(", ");
            if names.len() > SHOWN {
                list.push_str(&format!(", … ({} more)", names.len() - SHOWN));
            }
            format!("`{table}` has: {list}; or regenerate the snapshot with `forge schema dump` if the column is new")
        });
        self.error(
            Diagnostic::new(
                kind,
                format!(
                    "unknown column `{}` in {context} (table `{table}`)",
                    column.value
                ),
            )
            .at(column.span, format!("not a column of `{table}`"))
            .help(help),
        );
    }

    /// Does `table` have `column`?
    pub fn has_column(&self, table: &str, column: &str) -> bool {
        self.schema
            .table(table)
            .is_some_and(|t| t.column(column).is_some())
    }
}
