//! The model guard: every table of the live schema that points into the tree (a foreign key or a
//! declared polymorphic reference) is in the tree or listed in `not_exported`, so no linked table
//! is left behind by accident.

use super::context::{Ctx, Pos};
use super::{Finding, Guard};
use crate::plan::NodeIr;

impl Ctx<'_> {
    /// Relation names from the root to the first node on `table` (`project → issues`).
    fn tree_path(&self, table: &str) -> Option<Vec<String>> {
        fn go(
            n: &NodeIr,
            tables: &[crate::plan::TableIr],
            table: &str,
            path: &mut Vec<String>,
        ) -> bool {
            path.push(n.name.clone());
            if tables.get(n.table).is_some_and(|t| t.name == table) {
                return true;
            }
            for c in &n.children {
                if go(c, tables, table, path) {
                    return true;
                }
            }
            path.pop();
            false
        }
        let mut path = Vec::new();
        go(
            &self.compiled.plan.root,
            &self.compiled.plan.tables,
            table,
            &mut path,
        )
        .then_some(path)
    }

    fn model_finding(&self, table: &str, column: &str, target: &str, link: String) -> Finding {
        let config_file = self.options.config_file();
        let pos = self
            .config_key("not_exported")
            .or_else(|| self.config_key("tree"))
            .unwrap_or(Pos { line: 1, col: 1 });
        let under = match self.tree_path(target) {
            Some(path) => {
                let last = path.last().cloned().unwrap_or_default();
                format!("under `{last}` ({})", path.join(" → "))
            }
            None => format!("under the relation of `{target}`"),
        };
        Finding {
            guard: Guard::Models,
            table: table.to_string(),
            column: Some(column.to_string()),
            message: format!(
                "table `{table}` is linked to the tenant ({link}) but is neither in `tree` nor listed in `not_exported`: its rows would silently stay behind"
            ),
            file: config_file.to_string(),
            line: pos.line,
            col: pos.col,
            fix: format!(
                "{config_file}: add `:{table}` to `tree` {under}, or list it under `not_exported:` as `{table}: <why it stays behind>`"
            ),
        }
    }

    pub(crate) fn models(&self) -> Vec<Finding> {
        let config = &self.compiled.config;
        let users = self.users_table();
        let mut out = Vec::new();
        let mut tables: Vec<&crate::schema::Table> = self.live.tables.iter().collect();
        tables.sort_by(|a, b| a.name.cmp(&b.name));
        for t in tables {
            let name = t.name.as_str();
            if self.plan_table(name).is_some() || self.not_exported(name) || users == Some(name) {
                continue;
            }
            for fk in &t.foreign_keys {
                if self.plan_table(&fk.references_table).is_none() {
                    continue;
                }
                let columns = fk.columns.join(", ");
                let link = format!("foreign key `{name}.{columns}` → `{}`", fk.references_table);
                out.push(self.model_finding(name, &columns, &fk.references_table, link));
            }
            if let Some(cfg) = self.table_config(name) {
                for p in &cfg.polymorphic {
                    let Some(target) = p
                        .targets
                        .iter()
                        .find(|tg| self.plan_table(&tg.table.value).is_some())
                    else {
                        continue;
                    };
                    let column = format!("{}_id", p.name.value);
                    let link = format!(
                        "polymorphic `{name}.{}` declared in {} with target `{}`",
                        p.name.value,
                        self.options.config_file(),
                        target.table.value
                    );
                    out.push(self.model_finding(name, &column, &target.table.value, link));
                }
            }
        }
        for n in &config.not_exported {
            let table = n.table.value.as_str();
            if self.live.table(table).is_some() {
                continue;
            }
            let config_file = self.options.config_file();
            out.push(Finding {
                guard: Guard::Models,
                table: table.to_string(),
                column: None,
                message: format!(
                    "`not_exported` lists `{table}`, which the migrated database does not have"
                ),
                file: config_file.to_string(),
                line: n.table.span.line,
                col: n.table.span.column,
                fix: format!(
                    "{config_file}: remove `{table}` from `not_exported:` (then run `{}` so the snapshot agrees)",
                    self.options.dump_command
                ),
            });
        }
        out
    }
}
