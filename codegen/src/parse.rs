//! Reading the YAML documents into [`Config`] and [`SafeAttributes`]: shapes, names, known keys.
//! Problems are collected, not returned early, so one pass reports all of them.

use crate::config::*;
use crate::diagnostics::{Diagnostic, Kind};
use crate::source::SourceId;
use crate::suggest;
use crate::yaml::{self, Entry, Node, Value};

/// The top-level keys of `import_export.yml`.
pub const TOP_LEVEL_KEYS: &[&str] = &[
    "format_version",
    "root",
    "polymorphic",
    "associations",
    "references",
    "existing_objects",
    "tokens",
    "uploads",
    "access_levels",
    "not_exported",
    "guards",
    "tree",
    "import_only_tree",
    "included_attributes",
    "excluded_attributes",
    "methods",
    "preloads",
    "export_reorders",
    "include_if_exportable",
    "policy_columns",
];

/// Parse `import_export.yml`. Returns the config (possibly partial) and every problem found.
pub fn parse_config(text: &str) -> (Option<Config>, Vec<Diagnostic>) {
    let (node, mut errors) = yaml::parse(SourceId::Config, text);
    let Some(node) = node else {
        return (None, errors);
    };
    let mut r = Reader {
        errors: &mut errors,
    };
    let config = r.config(&node);
    (Some(config), errors)
}

/// Parse `safe_model_attributes.yml` (`<table>: [col, …]`).
pub fn parse_attributes(text: &str) -> (Option<SafeAttributes>, Vec<Diagnostic>) {
    let (node, mut errors) = yaml::parse(SourceId::Attributes, text);
    let Some(node) = node else {
        return (None, errors);
    };
    let mut r = Reader {
        errors: &mut errors,
    };
    let tables = r.model_lists(&node, "safe_model_attributes.yml");
    (Some(SafeAttributes { tables }), errors)
}

/// Is `name` usable as an archive key and a Rust identifier (`[a-z_][a-z0-9_]*`)?
pub fn is_plain_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

struct Reader<'e> {
    errors: &'e mut Vec<Diagnostic>,
}

impl Reader<'_> {
    fn wrong_type(&mut self, node: &Node, what: &str, expected: &str, example: &str) {
        self.errors.push(
            Diagnostic::new(
                Kind::WrongType,
                format!("`{what}` must be {expected}, found {}", node.describe()),
            )
            .at(node.span, format!("expected {expected}"))
            .help(format!("write it like `{example}`")),
        );
    }

    /// A mapping's entries; null counts as empty.
    fn map<'n>(&mut self, node: &'n Node, what: &str, example: &str) -> &'n [Entry] {
        match &node.value {
            Value::Map(entries) => entries,
            _ if node.is_null() => &[],
            _ => {
                self.wrong_type(node, what, "a map", example);
                &[]
            }
        }
    }

    /// A sequence's items; null counts as empty.
    fn list<'n>(&mut self, node: &'n Node, what: &str, example: &str) -> &'n [Node] {
        match &node.value {
            Value::Seq(items) => items,
            _ if node.is_null() => &[],
            _ => {
                self.wrong_type(node, what, "a list", example);
                &[]
            }
        }
    }

    /// A name: a non-null scalar, with a leading `:` (Ruby symbol) removed.
    fn name(&mut self, node: &Node, what: &str) -> Option<Spanned<String>> {
        match node.as_str() {
            Some(text) => {
                let name = text.strip_prefix(':').unwrap_or(text).trim();
                if name.is_empty() {
                    self.errors.push(
                        Diagnostic::new(Kind::InvalidName, format!("empty name in `{what}`"))
                            .at(node.span, "empty name"),
                    );
                    return None;
                }
                Some(Spanned::new(name.to_string(), node.span))
            }
            None => {
                self.wrong_type(node, what, "a name", ":name");
                None
            }
        }
    }

    fn key(entry: &Entry) -> Spanned<String> {
        let text = entry.key.strip_prefix(':').unwrap_or(&entry.key);
        Spanned::new(text.to_string(), entry.key_span)
    }

    fn names(&mut self, node: &Node, what: &str) -> Vec<Spanned<String>> {
        let items = self.list(node, what, "[:name, :other]");
        items
            .iter()
            .filter_map(|item| self.name(item, what))
            .collect()
    }

    fn model_lists(&mut self, node: &Node, what: &str) -> Vec<ModelList> {
        let entries = self.map(node, what, "{ model: [:name] }");
        let mut out = Vec::new();
        for e in entries {
            let path = format!("{what}.{}", e.key);
            let list = self.names(&e.value, &path);
            out.push(ModelList {
                model: Self::key(e),
                items: list,
            });
        }
        out
    }

    fn unknown_option(&mut self, entry: &Entry, what: &str, known: &[&str]) {
        self.errors.push(
            Diagnostic::new(
                Kind::UnknownOption,
                format!("unknown key `{}` in `{what}`", entry.key),
            )
            .at(entry.key_span, "not a known key here")
            .help(
                suggest::help(&entry.key, known.iter().copied()).unwrap_or_else(|| {
                    format!(
                        "the keys allowed here are {}",
                        known
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }),
            ),
        );
    }

    fn config(&mut self, node: &Node) -> Config {
        let mut config = Config {
            document: node.span,
            keys: Vec::new(),
            format_version: None,
            root: None,
            polymorphic: Vec::new(),
            associations: Vec::new(),
            references: Vec::new(),
            existing_objects: Vec::new(),
            tokens: Vec::new(),
            uploads: Vec::new(),
            access_levels: Vec::new(),
            not_exported: Vec::new(),
            guards: Guards::default(),
            tree: None,
            import_only_tree: None,
            included_attributes: Vec::new(),
            excluded_attributes: Vec::new(),
            methods: Vec::new(),
            preloads: Vec::new(),
            export_reorders: Vec::new(),
            include_if_exportable: Vec::new(),
            policy_columns: Vec::new(),
        };
        let Value::Map(entries) = &node.value else {
            return config;
        };
        for e in entries {
            let v = &e.value;
            config.keys.push(Self::key(e));
            match e.key.as_str() {
                "format_version" => config.format_version = self.format_version(v),
                "root" => config.root = self.name(v, "root"),
                "polymorphic" => config.polymorphic = self.polymorphic(v),
                "associations" => config.associations = self.associations(v),
                "references" => config.references = self.references(v),
                "existing_objects" => {
                    config.existing_objects = self.model_lists(v, "existing_objects")
                }
                "tokens" => config.tokens = self.model_lists(v, "tokens"),
                "uploads" => config.uploads = self.uploads(v),
                "access_levels" => config.access_levels = self.model_columns(v, "access_levels"),
                "not_exported" => config.not_exported = self.not_exported(v),
                "guards" => config.guards = self.guards(v),
                "tree" => config.tree = self.tree(v, "tree"),
                "import_only_tree" => config.import_only_tree = self.tree(v, "import_only_tree"),
                "included_attributes" => {
                    config.included_attributes = self.model_lists(v, "included_attributes")
                }
                "excluded_attributes" => {
                    config.excluded_attributes = self.model_lists(v, "excluded_attributes")
                }
                "methods" => config.methods = self.model_lists(v, "methods"),
                "preloads" => config.preloads = self.model_lists(v, "preloads"),
                "export_reorders" => config.export_reorders = self.reorders(v),
                "include_if_exportable" => {
                    config.include_if_exportable = self.model_lists(v, "include_if_exportable")
                }
                "policy_columns" => config.policy_columns = self.model_lists(v, "policy_columns"),
                other => {
                    self.errors.push(
                        Diagnostic::new(
                            Kind::UnknownTopLevelKey,
                            format!("unknown top-level key `{other}`"),
                        )
                        .at(e.key_span, "hoist does not know this key")
                        .help(
                            suggest::help(other, TOP_LEVEL_KEYS.iter().copied()).unwrap_or_else(
                                || "see docs/config.md for the keys hoist reads".to_string(),
                            ),
                        ),
                    );
                }
            }
        }
        config
    }

    fn format_version(&mut self, node: &Node) -> Option<Spanned<u32>> {
        let plain = matches!(&node.value, Value::Scalar(s) if s.plain);
        match node.as_str().filter(|_| plain) {
            Some(text) => match text.parse::<u32>() {
                Ok(v) if v > 0 => Some(Spanned::new(v, node.span)),
                _ => {
                    self.errors.push(
                        Diagnostic::new(
                            Kind::BadFormatVersion,
                            format!("`format_version` must be a positive integer, found `{text}`"),
                        )
                        .at(node.span, "not a positive integer")
                        .help("write `format_version: 1`"),
                    );
                    None
                }
            },
            None => {
                self.wrong_type(node, "format_version", "an integer", "format_version: 1");
                None
            }
        }
    }

    fn polymorphic(&mut self, node: &Node) -> Vec<Polymorphic> {
        let example = "{ notes: { noteable: { Issue: issues } } }";
        let mut out = Vec::new();
        for t in self.map(node, "polymorphic", example) {
            let what = format!("polymorphic.{}", t.key);
            for p in self.map(&t.value, &what, "{ noteable: { Issue: issues } }") {
                let what = format!("polymorphic.{}.{}", t.key, p.key);
                let mut targets = Vec::new();
                for target in self.map(
                    &p.value,
                    &what,
                    "{ Issue: issues, MergeRequest: merge_requests }",
                ) {
                    if let Some(table) = self.name(&target.value, &what) {
                        targets.push(PolymorphicTarget {
                            type_value: Spanned::new(target.key.clone(), target.key_span),
                            table,
                        });
                    }
                }
                out.push(Polymorphic {
                    table: Self::key(t),
                    name: Self::key(p),
                    targets,
                });
            }
        }
        out
    }

    fn associations(&mut self, node: &Node) -> Vec<Association> {
        const KEYS: &[&str] = &["table", "foreign_key", "as"];
        let mut out = Vec::new();
        for parent in self.map(
            node,
            "associations",
            "{ issues: { links: { table: issue_links } } }",
        ) {
            let what = format!("associations.{}", parent.key);
            for rel in self.map(&parent.value, &what, "{ links: { table: issue_links } }") {
                let what = format!("associations.{}.{}", parent.key, rel.key);
                let mut assoc = Association {
                    parent: Self::key(parent),
                    relation: Self::key(rel),
                    table: None,
                    foreign_key: None,
                    as_: None,
                };
                for opt in self.map(
                    &rel.value,
                    &what,
                    "{ table: issue_links, foreign_key: source_id }",
                ) {
                    let opt_what = format!("{what}.{}", opt.key);
                    match opt.key.as_str() {
                        "table" => assoc.table = self.name(&opt.value, &opt_what),
                        "foreign_key" => assoc.foreign_key = self.name(&opt.value, &opt_what),
                        "as" => assoc.as_ = self.name(&opt.value, &opt_what),
                        _ => self.unknown_option(opt, &what, KEYS),
                    }
                }
                out.push(assoc);
            }
        }
        out
    }

    fn references(&mut self, node: &Node) -> Vec<Reference> {
        const KEYS: &[&str] = &["table", "natural_keys", "admin_column"];
        let mut out = Vec::new();
        for r in self.map(
            node,
            "references",
            "{ users: { table: users, natural_keys: [email] } }",
        ) {
            let what = format!("references.{}", r.key);
            let mut table = None;
            let mut natural_keys = Vec::new();
            let mut admin_column = None;
            for opt in self.map(&r.value, &what, "{ table: users, natural_keys: [email] }") {
                let opt_what = format!("{what}.{}", opt.key);
                match opt.key.as_str() {
                    "table" => table = self.name(&opt.value, &opt_what),
                    "natural_keys" => natural_keys = self.names(&opt.value, &opt_what),
                    "admin_column" => admin_column = self.name(&opt.value, &opt_what),
                    _ => self.unknown_option(opt, &what, KEYS),
                }
            }
            if natural_keys.is_empty() {
                self.errors.push(
                    Diagnostic::new(
                        Kind::MissingKey,
                        format!("`{what}` needs `natural_keys`: the columns that identify a row on another instance"),
                    )
                    .at(r.key_span, "no natural keys")
                    .help("add `natural_keys: [email, username]`"),
                );
            }
            out.push(Reference {
                name: Self::key(r),
                table: table.unwrap_or_else(|| Self::key(r)),
                natural_keys,
                admin_column,
            });
        }
        out
    }

    fn uploads(&mut self, node: &Node) -> Vec<UploadDecl> {
        const KEYS: &[&str] = &["path_column"];
        let mut out = Vec::new();
        for t in self.map(node, "uploads", "{ uploads: { path_column: path } }") {
            let what = format!("uploads.{}", t.key);
            let mut path_column = None;
            for opt in self.map(&t.value, &what, "{ path_column: path }") {
                match opt.key.as_str() {
                    "path_column" => {
                        path_column = self.name(&opt.value, &format!("{what}.path_column"))
                    }
                    _ => self.unknown_option(opt, &what, KEYS),
                }
            }
            match path_column {
                Some(path_column) => out.push(UploadDecl {
                    model: Self::key(t),
                    path_column,
                }),
                None => self.errors.push(
                    Diagnostic::new(Kind::MissingKey, format!("`{what}` needs `path_column`"))
                        .at(t.key_span, "no path column")
                        .help("add `path_column: <column holding the file's path>`"),
                ),
            }
        }
        out
    }

    fn model_columns(&mut self, node: &Node, what: &str) -> Vec<ModelColumn> {
        let mut out = Vec::new();
        for e in self.map(node, what, "{ project_members: access_level }") {
            if let Some(column) = self.name(&e.value, &format!("{what}.{}", e.key)) {
                out.push(ModelColumn {
                    model: Self::key(e),
                    column,
                });
            }
        }
        out
    }

    fn not_exported(&mut self, node: &Node) -> Vec<NotExported> {
        let mut out = Vec::new();
        for e in self.map(node, "not_exported", "{ audit_logs: why it stays behind }") {
            match e.value.as_str() {
                Some(reason) if !reason.trim().is_empty() => out.push(NotExported {
                    table: Self::key(e),
                    reason: Spanned::new(reason.to_string(), e.value.span),
                }),
                _ => self.errors.push(
                    Diagnostic::new(
                        Kind::WrongType,
                        format!(
                            "`not_exported.{}` must give the reason the table stays behind",
                            e.key
                        ),
                    )
                    .at(e.value.span, "expected a sentence")
                    .help(format!("write `{}: <why it is not exported>`", e.key)),
                ),
            }
        }
        out
    }

    fn guards(&mut self, node: &Node) -> Guards {
        const KEYS: &[&str] = &["sensitive_words", "sensitive_safelist"];
        let mut guards = Guards::default();
        for e in self.map(
            node,
            "guards",
            "{ sensitive_words: [token], sensitive_safelist: {} }",
        ) {
            match e.key.as_str() {
                "sensitive_words" => {
                    guards.sensitive_words = self.names(&e.value, "guards.sensitive_words")
                }
                "sensitive_safelist" => {
                    guards.sensitive_safelist =
                        self.model_lists(&e.value, "guards.sensitive_safelist")
                }
                _ => self.unknown_option(e, "guards", KEYS),
            }
        }
        guards
    }

    fn tree(&mut self, node: &Node, what: &str) -> Option<Tree> {
        let entries = self.map(node, what, "{ project: [:issues, :labels] }");
        let mut roots = entries.iter();
        let first = roots.next()?;
        for extra in roots {
            self.errors.push(
                Diagnostic::new(
                    Kind::Unsupported,
                    format!(
                        "`{what}` has more than one root (`{}` and `{}`)",
                        first.key, extra.key
                    ),
                )
                .at(extra.key_span, "second root")
                .context(first.key_span, "first root")
                .help("hoist exports one root per config; move these relations under the root"),
            );
        }
        let root = Self::key(first);
        self.check_relation_name(&root);
        let children = self.children(&first.value, &format!("{what}.{}", first.key));
        Some(Tree { root, children })
    }

    fn check_relation_name(&mut self, name: &Spanned<String>) {
        if !is_plain_name(&name.value) {
            self.errors.push(
                Diagnostic::new(
                    Kind::InvalidName,
                    format!(
                        "relation name `{}` is not a plain lowercase name",
                        name.value
                    ),
                )
                .at(name.span, "archive keys are [a-z_][a-z0-9_]*")
                .help("name relations like tables and associations: lowercase, digits and `_`"),
            );
        }
    }

    fn children(&mut self, node: &Node, what: &str) -> Vec<TreeNode> {
        let items = self.list(node, what, "- :relation  or  - relation: [:child]");
        let mut out = Vec::new();
        for item in items {
            match &item.value {
                Value::Map(entries) => {
                    for e in entries {
                        let name = Self::key(e);
                        self.check_relation_name(&name);
                        let children = self.children(&e.value, &format!("{what}.{}", e.key));
                        out.push(TreeNode { name, children });
                    }
                }
                _ => {
                    if let Some(name) = self.name(item, what) {
                        self.check_relation_name(&name);
                        out.push(TreeNode {
                            name,
                            children: Vec::new(),
                        });
                    }
                }
            }
        }
        out
    }

    fn reorders(&mut self, node: &Node) -> Vec<Reorder> {
        const KEYS: &[&str] = &["direction", "nulls_position"];
        let mut out = Vec::new();
        let example = "{ project: { issues: { relative_position: { direction: asc } } } }";
        for parent in self.map(node, "export_reorders", example) {
            let what = format!("export_reorders.{}", parent.key);
            for rel in self.map(
                &parent.value,
                &what,
                "{ issues: { relative_position: { direction: asc } } }",
            ) {
                let what = format!("{what}.{}", rel.key);
                for col in self.map(
                    &rel.value,
                    &what,
                    "{ relative_position: { direction: asc } }",
                ) {
                    let what = format!("{what}.{}", col.key);
                    let mut reorder = Reorder {
                        parent: Self::key(parent),
                        relation: Self::key(rel),
                        column: Self::key(col),
                        direction: None,
                        nulls_position: None,
                    };
                    for opt in self.map(
                        &col.value,
                        &what,
                        "{ direction: asc, nulls_position: nulls_last }",
                    ) {
                        match opt.key.as_str() {
                            "direction" => reorder.direction = self.direction(&opt.value),
                            "nulls_position" => reorder.nulls_position = self.nulls(&opt.value),
                            _ => self.unknown_option(opt, &what, KEYS),
                        }
                    }
                    out.push(reorder);
                }
            }
        }
        out
    }

    fn direction(&mut self, node: &Node) -> Option<Spanned<Direction>> {
        let value = self.name(node, "direction")?;
        match value.value.as_str() {
            "asc" | "ASC" => Some(Spanned::new(Direction::Asc, value.span)),
            "desc" | "DESC" => Some(Spanned::new(Direction::Desc, value.span)),
            other => {
                self.errors.push(
                    Diagnostic::new(
                        Kind::BadDirection,
                        format!("`direction` must be `asc` or `desc`, found `{other}`"),
                    )
                    .at(value.span, "unknown direction")
                    .help(
                        suggest::help(other, ["asc", "desc"]).unwrap_or_else(|| {
                            "write `direction: asc` or `direction: desc`".into()
                        }),
                    ),
                );
                None
            }
        }
    }

    fn nulls(&mut self, node: &Node) -> Option<Spanned<NullsPosition>> {
        let value = self.name(node, "nulls_position")?;
        match value.value.as_str() {
            "nulls_first" => Some(Spanned::new(NullsPosition::NullsFirst, value.span)),
            "nulls_last" => Some(Spanned::new(NullsPosition::NullsLast, value.span)),
            other => {
                self.errors.push(
                    Diagnostic::new(
                        Kind::BadNullsPosition,
                        format!(
                            "`nulls_position` must be `nulls_first` or `nulls_last`, found `{other}`"
                        ),
                    )
                    .at(value.span, "unknown nulls position")
                    .help(suggest::help(other, ["nulls_first", "nulls_last"]).unwrap_or_else(
                        || "write `nulls_position: nulls_first` or `nulls_position: nulls_last`".into(),
                    )),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Config {
        let (config, errors) = parse_config(text);
        assert!(errors.is_empty(), "{errors:#?}");
        config.expect("config")
    }

    #[test]
    fn reads_the_reference_config() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../import_export.yml"))
                .expect("reference config");
        let config = parse_ok(&text);
        assert_eq!(config.format_version.map(|v| v.value), Some(1));
        assert_eq!(config.root.as_ref().map(|r| r.as_str()), Some("project"));
        let tree = config.tree.expect("tree");
        assert_eq!(tree.root.as_str(), "project");
        let issues = tree
            .children
            .iter()
            .find(|n| n.name.as_str() == "issues")
            .expect("issues");
        let notes = issues
            .children
            .iter()
            .find(|n| n.name.as_str() == "notes")
            .expect("notes");
        let names: Vec<_> = notes.children.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(
            names,
            ["award_emoji", "uploads"],
            "the *notes alias expands"
        );
        assert_eq!(config.polymorphic.len(), 5);
        assert_eq!(config.export_reorders.len(), 2);
        assert_eq!(
            config.export_reorders[1].direction.map(|d| d.value),
            Some(Direction::Desc)
        );
        assert_eq!(config.not_exported.len(), 3);
        assert_eq!(config.guards.sensitive_words.len(), 10);
    }

    #[test]
    fn collects_every_shape_error() {
        let (config, errors) = parse_config(
            "format_version: one\nroot: [x]\ntreee: {}\nmethods: {issues: :reference}\n\
             export_reorders: {project: {issues: {id: {direction: up, nulls_position: last}}}}\n",
        );
        assert!(config.is_some());
        let kinds: Vec<_> = errors.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                Kind::BadFormatVersion,
                Kind::WrongType,
                Kind::UnknownTopLevelKey,
                Kind::WrongType,
                Kind::BadDirection,
                Kind::BadNullsPosition,
            ]
        );
        assert_eq!(errors[2].help.as_deref(), Some("did you mean `tree`?"));
    }

    #[test]
    fn symbols_and_plain_strings_are_names() {
        let config = parse_ok("tree:\n  project:\n    - :issues\n    - labels\n    - notes:\n");
        let tree = config.tree.expect("tree");
        let names: Vec<_> = tree.children.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["issues", "labels", "notes"]);
    }

    #[test]
    fn relation_names_must_be_plain() {
        let (_, errors) = parse_config("tree:\n  project:\n    - :Issues\n");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].kind, Kind::InvalidName);
    }

    #[test]
    fn attributes_file_is_read_with_spans() {
        let (attrs, errors) = parse_attributes("issues:\n  - id\n  - :title\nnotes: [note]\n");
        assert!(errors.is_empty());
        let attrs = attrs.expect("attributes");
        assert_eq!(attrs.tables.len(), 2);
        assert_eq!(attrs.tables[0].items[1].as_str(), "title");
        assert_eq!(attrs.tables[0].items[1].span.line, 3);
        let (_, errors) = parse_attributes("issues: id\n");
        assert_eq!(errors[0].kind, Kind::WrongType);
    }
}
