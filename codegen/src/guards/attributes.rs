//! The attribute guard: every column of every tree table is classified — listed in
//! `safe_model_attributes.yml` or kept out of the archive by the config — and every listed table
//! and column exists.

use super::context::{Ctx, Pos};
use super::{Finding, Guard};
use crate::suggest;

impl Ctx<'_> {
    fn attribute_finding(
        &self,
        table: &str,
        column: Option<&str>,
        pos: Pos,
        message: String,
        fix: String,
    ) -> Finding {
        Finding {
            guard: Guard::Attributes,
            table: table.to_string(),
            column: column.map(str::to_string),
            message,
            file: self.options.attributes_file().to_string(),
            line: pos.line,
            col: pos.col,
            fix,
        }
    }

    pub(crate) fn attributes(&self) -> Vec<Finding> {
        let attrs_file = self.options.attributes_file();
        let config_file = self.options.config_file();
        let mut out = Vec::new();
        if self.compiled.attributes.is_none() {
            let root = self
                .compiled
                .plan
                .tables
                .get(self.compiled.plan.root.table)
                .map_or("", |t| t.name.as_str());
            out.push(self.attribute_finding(
                root,
                None,
                Pos { line: 1, col: 1 },
                format!(
                    "no {attrs_file} was given, so no exported column is classified"
                ),
                format!(
                    "create {attrs_file} listing every exported column per table (`issues: [id, title, …]`) and pass it as `attributes`"
                ),
            ));
            return out;
        }

        // Every exported column of every tree table must be listed.
        for t in self.tree_tables() {
            let table = t.name.as_str();
            let in_file = self.safe.contains_key(table);
            for column in self.exported_columns(table) {
                if self.safe_listed(table, &column) {
                    continue;
                }
                let forced = self.forced.contains(&(table.to_string(), column.clone()));
                let why = if forced {
                    format!(" (it links `{table}` into the tree, so it is always exported)")
                } else {
                    String::new()
                };
                let message = format!(
                    "`{table}.{column}` is not classified: it would be exported with `{table}`{why} but {attrs_file} does not list it"
                );
                let add = if in_file {
                    format!("{attrs_file}: add `{column}` under `{table}:`")
                } else {
                    format!("{attrs_file}: add a `{table}:` key listing `{column}`")
                };
                let alternative = if forced {
                    String::new()
                } else if self.included(table, &column) {
                    let key = self
                        .table_config(table)
                        .map_or_else(|| table.to_string(), |c| self.key_for(&c.included, table));
                    format!(" (or remove it from {config_file} included_attributes.{key})")
                } else {
                    format!(
                        " (or exclude it in {config_file} excluded_attributes.{})",
                        self.excluded_key(table)
                    )
                };
                out.push(self.attribute_finding(
                    table,
                    Some(&column),
                    self.attributes_pos(table),
                    message,
                    format!("{add}{alternative}"),
                ));
            }
        }

        // Natural keys of referenced users travel in the archive too.
        if let Some(users) = &self.compiled.plan.users {
            for key in &users.natural_keys {
                if self.safe_listed(&users.table, key) {
                    continue;
                }
                let table = users.table.as_str();
                out.push(self.attribute_finding(
                    table,
                    Some(key),
                    self.attributes_pos(table),
                    format!(
                        "`{table}.{key}` is not classified: it is exported for every referenced user (a natural key in {config_file} references) but {attrs_file} does not list it"
                    ),
                    if self.safe.contains_key(table) {
                        format!("{attrs_file}: add `{key}` under `{table}:`")
                    } else {
                        format!("{attrs_file}: add a `{table}:` key listing `{key}`")
                    },
                ));
            }
        }

        // Every listed table and column exists.
        for list in &self.safe_unknown {
            let name = &list.model.value;
            let tables = self.live.tables.iter().map(|t| t.name.as_str());
            let hint = suggest::help(name, tables)
                .map(|h| format!("; {h}"))
                .unwrap_or_default();
            out.push(self.attribute_finding(
                name,
                None,
                list.model.span.into(),
                format!(
                    "{attrs_file} lists `{name}`, which is not a table of the migrated database"
                ),
                format!("{attrs_file}: remove the `{name}:` key or correct it{hint}"),
            ));
        }
        for (table, lists) in &self.safe {
            let Some(live) = self.live.table(table) else {
                continue; // a table the snapshot knows but the database lost: the snapshot guard says so
            };
            for list in lists {
                for item in &list.items {
                    if live.column(&item.value).is_some() {
                        continue;
                    }
                    let column = &item.value;
                    let hint = suggest::help(column, live.columns.iter().map(|c| c.name.as_str()))
                        .map(|h| format!("; {h}"))
                        .unwrap_or_default();
                    out.push(self.attribute_finding(
                        table,
                        Some(column),
                        item.span.into(),
                        format!(
                            "{attrs_file} lists `{table}.{column}`, which is not a column of `{table}` in the migrated database"
                        ),
                        format!(
                            "{attrs_file}: remove `{column}` from `{}:` or correct it{hint}",
                            list.model.value
                        ),
                    ));
                }
            }
        }
        out
    }
}
