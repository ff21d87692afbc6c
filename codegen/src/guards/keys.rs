//! Guards over the names of exported columns: the sensitive-word guard and the
//! prohibited-reference guard.

use super::context::{Ctx, list_names};
use super::{Finding, Guard};

/// Why a column name may not be exported unless it is a declared reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prohibited {
    Id,
    Ids,
    Html,
    MarkdownVersion,
    Attributes,
}

impl Prohibited {
    fn of(column: &str) -> Option<Prohibited> {
        if column.ends_with("_id") {
            Some(Prohibited::Id)
        } else if column.ends_with("_ids") {
            Some(Prohibited::Ids)
        } else if column.ends_with("_html") {
            Some(Prohibited::Html)
        } else if column == "cached_markdown_version" {
            Some(Prohibited::MarkdownVersion)
        } else if column.contains("attributes") {
            Some(Prohibited::Attributes)
        } else {
            None
        }
    }

    fn why(self) -> &'static str {
        match self {
            Prohibited::Id => {
                "looks like a reference (`*_id`) but is not a declared one: the importer drops undeclared `*_id` keys, since an id of the source instance would point at unrelated rows here"
            }
            Prohibited::Ids => {
                "is a list of ids (`*_ids`) that no declaration covers: the importer drops such keys, since ids of the source instance would point at unrelated rows here"
            }
            Prohibited::Html => {
                "is rendered HTML (`*_html`): the importer drops it, since markup rendered elsewhere was never sanitized here; it is re-rendered from its source"
            }
            Prohibited::MarkdownVersion => {
                "belongs to rendered HTML (`cached_markdown_version`): the importer drops it with the HTML it versions"
            }
            Prohibited::Attributes => {
                "contains `attributes`: the importer drops such keys, since they would mass-assign nested attributes"
            }
        }
    }
}

impl Ctx<'_> {
    /// How to stop exported column `table.column` from tripping the sensitive-word guards.
    pub(crate) fn sensitive_fix(&self, table: &str, column: &str) -> String {
        let config_file = self.options.config_file();
        let safelist = format!(
            "if it is not sensitive, list it under guards.sensitive_safelist.{}",
            self.safelist_key(table)
        );
        let forced = self
            .forced
            .contains(&(table.to_string(), column.to_string()));
        if forced {
            format!(
                "{config_file}: it links `{table}` into the tree and cannot be excluded; rename the column, or {safelist}"
            )
        } else if self.has_included(table) {
            let key = self
                .table_config(table)
                .map_or_else(|| table.to_string(), |c| self.key_for(&c.included, table));
            format!("{config_file}: remove `:{column}` from included_attributes.{key}; {safelist}")
        } else {
            format!(
                "{config_file}: add `:{column}` under excluded_attributes.{} (or under tokens.{table} if it is a secret to regenerate on import); {safelist}",
                self.excluded_key(table)
            )
        }
    }

    pub(crate) fn sensitive_words(&self) -> Vec<Finding> {
        let config_file = self.options.config_file();
        let mut out = Vec::new();
        for t in self.tree_tables() {
            let table = t.name.as_str();
            for column in self.exported_columns(table) {
                let words = self.sensitive_words_in(&column);
                if words.is_empty() || self.safelisted(table, &column) {
                    continue;
                }
                let plural = if words.len() == 1 { "" } else { "s" };
                let fix = self.sensitive_fix(table, &column);
                let pos = self.exclusion_pos(table);
                out.push(Finding {
                    guard: Guard::SensitiveWords,
                    table: table.to_string(),
                    column: Some(column.clone()),
                    message: format!(
                        "exported column `{table}.{column}` contains the sensitive word{plural} {}: it would travel in every archive",
                        list_names(&words)
                    ),
                    file: config_file.to_string(),
                    line: pos.line,
                    col: pos.col,
                    fix,
                });
            }
        }
        if let Some(users) = &self.compiled.plan.users {
            let table = users.table.as_str();
            for key in &users.natural_keys {
                let words = self.sensitive_words_in(key);
                if words.is_empty() || self.safelisted(table, key) {
                    continue;
                }
                let pos = self
                    .config_key("references")
                    .unwrap_or(super::context::Pos { line: 1, col: 1 });
                out.push(Finding {
                    guard: Guard::SensitiveWords,
                    table: table.to_string(),
                    column: Some(key.clone()),
                    message: format!(
                        "natural key `{table}.{key}` contains the sensitive word{} {}: it is exported for every referenced user",
                        if words.len() == 1 { "" } else { "s" },
                        list_names(&words)
                    ),
                    file: config_file.to_string(),
                    line: pos.line,
                    col: pos.col,
                    fix: format!(
                        "{config_file}: choose other natural_keys in references; if it is not sensitive, list it under guards.sensitive_safelist.{}",
                        self.safelist_key(table)
                    ),
                });
            }
        }
        out
    }

    pub(crate) fn prohibited_references(&self) -> Vec<Finding> {
        let config_file = self.options.config_file();
        let mut out = Vec::new();
        for t in self.tree_tables() {
            let table = t.name.as_str();
            for column in self.exported_columns(table) {
                let Some(kind) = Prohibited::of(&column) else {
                    continue;
                };
                if self.declared_reference(table, &column) {
                    continue;
                }
                let exclude = if self.has_included(table) {
                    let key = self
                        .table_config(table)
                        .map_or_else(|| table.to_string(), |c| self.key_for(&c.included, table));
                    format!("remove `:{column}` from included_attributes.{key}")
                } else {
                    format!(
                        "add `:{column}` under excluded_attributes.{}",
                        self.excluded_key(table)
                    )
                };
                let outside = self
                    .live
                    .table(table)
                    .and_then(|t| t.foreign_key_on(&column))
                    .map(|fk| fk.references_table.clone());
                let (why, fix) = match (kind, outside) {
                    (Prohibited::Id | Prohibited::Ids, Some(target)) => (
                        format!(
                            "references `{target}`, which is not part of the tenant: the importer drops it, since an id of the source instance would point at unrelated rows here"
                        ),
                        if self.not_exported(&target) {
                            format!("{config_file}: {exclude} (`{target}` is in `not_exported`)")
                        } else {
                            format!("{config_file}: {exclude}; or add `{target}` to `tree`")
                        },
                    ),
                    (kind, _) => (kind.why().to_string(), self.prohibited_fix(kind, &exclude)),
                };
                let pos = self.exclusion_pos(table);
                out.push(Finding {
                    guard: Guard::ProhibitedReferences,
                    table: table.to_string(),
                    column: Some(column.clone()),
                    message: format!("exported column `{table}.{column}` {why}"),
                    file: config_file.to_string(),
                    line: pos.line,
                    col: pos.col,
                    fix,
                });
            }
        }
        out
    }

    /// How to stop exporting a prohibited column of `kind`; `exclude` is the exclusion edit.
    fn prohibited_fix(&self, kind: Prohibited, exclude: &str) -> String {
        let config_file = self.options.config_file();
        match kind {
            Prohibited::Id | Prohibited::Ids => format!(
                "{config_file}: {exclude}; or, if it is a reference, give it a foreign key (then run `{}`) or declare it under `polymorphic:`",
                self.options.dump_command
            ),
            _ => format!("{config_file}: {exclude}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Prohibited;

    #[test]
    fn prohibited_names() {
        assert_eq!(Prohibited::of("author_id"), Some(Prohibited::Id));
        assert_eq!(Prohibited::of("label_ids"), Some(Prohibited::Ids));
        assert_eq!(Prohibited::of("note_html"), Some(Prohibited::Html));
        assert_eq!(
            Prohibited::of("cached_markdown_version"),
            Some(Prohibited::MarkdownVersion)
        );
        assert_eq!(
            Prohibited::of("custom_attributes"),
            Some(Prohibited::Attributes)
        );
        assert_eq!(Prohibited::of("id"), None);
        assert_eq!(Prohibited::of("paid"), None);
        assert_eq!(Prohibited::of("html_url"), None);
    }
}
