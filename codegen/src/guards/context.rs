//! What every guard needs: the config's per-table lists resolved to tables, which columns would
//! be exported given the live schema, and where in the input files a fix goes.

use super::names::Names;
use super::{DEFAULT_SENSITIVE_WORDS, GuardOptions};
use crate::Compiled;
use crate::config::{ModelList, Polymorphic};
use crate::plan::{RoleIr, TableIr};
use crate::schema::Schema;
use crate::source::{SourceFile, Span};
use std::collections::{BTreeMap, BTreeSet};

/// The config's lists that concern one table.
#[derive(Debug, Default)]
pub(crate) struct TableConfig<'a> {
    pub included: Vec<&'a ModelList>,
    pub excluded: Vec<&'a ModelList>,
    pub tokens: Vec<&'a ModelList>,
    pub safelist: Vec<&'a ModelList>,
    /// Polymorphic pairs declared on this table.
    pub polymorphic: Vec<&'a Polymorphic>,
}

/// A position in an input file: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: usize,
    pub col: usize,
}

impl From<Span> for Pos {
    fn from(s: Span) -> Pos {
        Pos {
            line: s.line,
            col: s.column,
        }
    }
}

/// Shared state of one guard run.
pub(crate) struct Ctx<'a> {
    pub compiled: &'a Compiled,
    pub live: &'a Schema,
    pub options: &'a GuardOptions,
    /// Config lists per table.
    pub config: BTreeMap<String, TableConfig<'a>>,
    /// `safe_model_attributes.yml` lists per table.
    pub safe: BTreeMap<String, Vec<&'a ModelList>>,
    /// `safe_model_attributes.yml` keys that name no table.
    pub safe_unknown: Vec<&'a ModelList>,
    /// (table, column) pairs that links of the tree always export.
    pub forced: BTreeSet<(String, String)>,
    /// Lowercase sensitive words.
    pub words: Vec<String>,
}

/// The config sections [`TableConfig`] gathers.
#[derive(Clone, Copy)]
enum Section {
    Included,
    Excluded,
    Tokens,
    Safelist,
}

fn is_listed(lists: &[&ModelList], column: &str) -> bool {
    lists
        .iter()
        .any(|l| l.items.iter().any(|i| i.value == column))
}

impl<'a> Ctx<'a> {
    pub fn new(compiled: &'a Compiled, live: &'a Schema, options: &'a GuardOptions) -> Ctx<'a> {
        let names = Names::new(compiled, live);
        let c = &compiled.config;
        let mut config: BTreeMap<String, TableConfig<'a>> = BTreeMap::new();
        let sections: [(&'a [ModelList], Section); 4] = [
            (&c.included_attributes, Section::Included),
            (&c.excluded_attributes, Section::Excluded),
            (&c.tokens, Section::Tokens),
            (&c.guards.sensitive_safelist, Section::Safelist),
        ];
        for (lists, section) in sections {
            for list in lists {
                if let Some(table) = names.table(&list.model.value) {
                    let t = config.entry(table).or_default();
                    match section {
                        Section::Included => t.included.push(list),
                        Section::Excluded => t.excluded.push(list),
                        Section::Tokens => t.tokens.push(list),
                        Section::Safelist => t.safelist.push(list),
                    }
                }
            }
        }
        for p in &c.polymorphic {
            if let Some(table) = names.table(&p.table.value) {
                config.entry(table).or_default().polymorphic.push(p);
            }
        }

        let mut safe: BTreeMap<String, Vec<&'a ModelList>> = BTreeMap::new();
        let mut safe_unknown = Vec::new();
        if let Some(attrs) = &compiled.attributes {
            for list in &attrs.tables {
                match names.table(&list.model.value) {
                    Some(table) => safe.entry(table).or_default().push(list),
                    None => safe_unknown.push(list),
                }
            }
        }

        let plan = &compiled.plan;
        let mut forced = BTreeSet::new();
        let mut walk = |node: &crate::plan::NodeIr, parent: Option<usize>| {
            let Some(table) = plan.tables.get(node.table) else {
                return;
            };
            for col in node.link_columns() {
                forced.insert((table.name.clone(), col.to_string()));
            }
            if let (crate::plan::LinkIr::ParentFk { column }, Some(p)) = (&node.link, parent)
                && let Some(pt) = plan.tables.get(p)
            {
                forced.insert((pt.name.clone(), column.clone()));
            }
        };
        fn visit(
            n: &crate::plan::NodeIr,
            parent: Option<usize>,
            f: &mut dyn FnMut(&crate::plan::NodeIr, Option<usize>),
        ) {
            f(n, parent);
            for c in &n.children {
                visit(c, Some(n.table), f);
            }
        }
        visit(&plan.root, None, &mut walk);

        let mut words: Vec<String> = c
            .guards
            .sensitive_words
            .iter()
            .map(|w| w.value.to_lowercase())
            .collect();
        if words.is_empty() {
            words = DEFAULT_SENSITIVE_WORDS
                .iter()
                .map(|w| w.to_string())
                .collect();
        }

        Ctx {
            compiled,
            live,
            options,
            config,
            safe,
            safe_unknown,
            forced,
            words,
        }
    }

    /// The config lists of `table` (empty when the config says nothing about it).
    pub fn table_config(&self, table: &str) -> Option<&TableConfig<'a>> {
        self.config.get(table)
    }

    /// The plan's table `name`, if it is part of the tree.
    pub fn plan_table(&self, name: &str) -> Option<&'a TableIr> {
        self.compiled.plan.table(name).map(|(_, t)| t)
    }

    /// Tables of the tree, by name.
    pub fn tree_tables(&self) -> Vec<&'a TableIr> {
        let mut v: Vec<&TableIr> = self.compiled.plan.tables.iter().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// The shared users table of `references`, if any.
    pub fn users_table(&self) -> Option<&'a str> {
        if let Some(u) = &self.compiled.plan.users {
            return Some(&u.table);
        }
        self.compiled
            .config
            .references
            .first()
            .map(|r| r.table.value.as_str())
    }

    /// Would `table.column` travel in an archive? The plan decides for columns it knows (the
    /// snapshot's); a column only the live schema has is judged by the config's rules, as the
    /// compiler will judge it once the snapshot is refreshed.
    pub fn exported(&self, table: &str, column: &str) -> bool {
        let Some(t) = self.plan_table(table) else {
            return false;
        };
        if t.column(column).is_some() {
            return true;
        }
        let in_snapshot = self
            .compiled
            .schema
            .table(table)
            .is_some_and(|t| t.column(column).is_some());
        if in_snapshot {
            return false;
        }
        if self
            .forced
            .contains(&(table.to_string(), column.to_string()))
        {
            return true;
        }
        let Some(cfg) = self.table_config(table) else {
            return true;
        };
        if is_listed(&cfg.tokens, column) || is_listed(&cfg.excluded, column) {
            return false;
        }
        if !cfg.included.is_empty() {
            return column == "id" || is_listed(&cfg.included, column);
        }
        true
    }

    /// Columns of a tree table that would be exported: live schema order, then exported columns
    /// the live schema no longer has (the snapshot guard reports those).
    pub fn exported_columns(&self, table: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if let Some(t) = self.live.table(table) {
            out.extend(
                t.columns
                    .iter()
                    .filter(|c| self.exported(table, &c.name))
                    .map(|c| c.name.clone()),
            );
        }
        if let Some(t) = self.plan_table(table) {
            for c in &t.columns {
                if !out.contains(&c.name) {
                    out.push(c.name.clone());
                }
            }
        }
        out
    }

    /// Is `column` in `included_attributes` of `table`?
    pub fn included(&self, table: &str, column: &str) -> bool {
        self.table_config(table)
            .is_some_and(|c| is_listed(&c.included, column))
    }

    /// Does `table` have `included_attributes`?
    pub fn has_included(&self, table: &str) -> bool {
        self.table_config(table)
            .is_some_and(|c| !c.included.is_empty())
    }

    /// Is `table.column` listed in `safe_model_attributes.yml`?
    pub fn safe_listed(&self, table: &str, column: &str) -> bool {
        self.safe
            .get(table)
            .is_some_and(|lists| is_listed(lists, column))
    }

    /// Is `table.column` in `guards.sensitive_safelist`?
    pub fn safelisted(&self, table: &str, column: &str) -> bool {
        self.table_config(table)
            .is_some_and(|c| is_listed(&c.safelist, column))
    }

    /// The sensitive words `name` contains (case-insensitive).
    pub fn sensitive_words_in(&self, name: &str) -> Vec<&str> {
        let lower = name.to_lowercase();
        self.words
            .iter()
            .filter(|w| !w.is_empty() && lower.contains(w.as_str()))
            .map(String::as_str)
            .collect()
    }

    /// Is `table.column` a declared reference: a foreign key to a tenant table or the users
    /// table, or the id half of a declared polymorphic pair?
    pub fn declared_reference(&self, table: &str, column: &str) -> bool {
        if let Some((_, c)) = self.plan_table(table).and_then(|t| t.column(column)) {
            return matches!(
                c.role,
                RoleIr::Reference { .. } | RoleIr::PolymorphicId { .. } | RoleIr::UserReference
            );
        }
        let fk_target = self
            .live
            .table(table)
            .and_then(|t| t.foreign_key_on(column))
            .map(|fk| fk.references_table.as_str());
        if let Some(target) = fk_target
            && (self.plan_table(target).is_some() || self.users_table() == Some(target))
        {
            return true;
        }
        self.table_config(table).is_some_and(|c| {
            c.polymorphic
                .iter()
                .any(|p| format!("{}_id", p.name.value) == column)
        })
    }

    /// Is `table` listed in `not_exported`?
    pub fn not_exported(&self, table: &str) -> bool {
        self.compiled
            .config
            .not_exported
            .iter()
            .any(|n| n.table.value == table)
    }

    /// The key spelling the config already uses for `table` in `lists`, else the table name.
    pub fn key_for(&self, lists: &[&ModelList], table: &str) -> String {
        lists
            .first()
            .map_or_else(|| table.to_string(), |l| l.model.value.clone())
    }

    /// The spelling of `excluded_attributes.<key>` for `table`.
    pub fn excluded_key(&self, table: &str) -> String {
        match self.table_config(table) {
            Some(c) => self.key_for(&c.excluded, table),
            None => table.to_string(),
        }
    }

    /// The spelling of `guards.sensitive_safelist.<key>` for `table`.
    pub fn safelist_key(&self, table: &str) -> String {
        match self.table_config(table) {
            Some(c) => self.key_for(&c.safelist, table),
            None => table.to_string(),
        }
    }

    /// A top-level key of `import_export.yml`, if written.
    pub fn config_key(&self, key: &str) -> Option<Pos> {
        self.compiled
            .config
            .keys
            .iter()
            .find(|k| k.value == key)
            .map(|k| k.span.into())
    }

    /// Where excluding a column of `table` goes: its `excluded_attributes` entry, else the
    /// `excluded_attributes:` key, else the tree entry that exports the table.
    pub fn exclusion_pos(&self, table: &str) -> Pos {
        if let Some(l) = self.table_config(table).and_then(|c| c.excluded.first()) {
            return l.model.span.into();
        }
        if let Some(p) = self.config_key("excluded_attributes") {
            return p;
        }
        self.tree_pos(table)
    }

    /// The tree entry that first names `table`, else the `tree:` key, else line 1.
    pub fn tree_pos(&self, table: &str) -> Pos {
        if let Some(t) = self.plan_table(table) {
            return t.span.into();
        }
        self.config_key("tree").unwrap_or(Pos { line: 1, col: 1 })
    }

    /// The key of `table` in `safe_model_attributes.yml`, else the end of that file.
    pub fn attributes_pos(&self, table: &str) -> Pos {
        if let Some(l) = self.safe.get(table).and_then(|l| l.first()) {
            return l.model.span.into();
        }
        end_of(self.options.inputs.attributes.as_ref())
    }
}

/// The last line of a file (line 1 when empty or absent).
pub(crate) fn end_of(file: Option<&SourceFile>) -> Pos {
    let line = file.map_or(1, |f| f.text.lines().count().max(1));
    Pos { line, col: 1 }
}

/// `a`, `a` and `b`, `a`, `b` and `c`: backquoted names in prose.
pub(crate) fn list_names<S: AsRef<str>>(names: &[S]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{}`", n.as_ref())).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
