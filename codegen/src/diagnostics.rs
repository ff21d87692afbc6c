//! Config errors: every problem found in one pass, each with a kind, a message, the YAML position
//! (`import_export.yml:LINE:COL`), an excerpt and the fix.

use crate::source::{SourceFile, SourceId, Span};
use annotate_snippets::renderer::DecorStyle;
use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use std::fmt;

/// What went wrong. The code (`kind.code()`) appears in rendered messages as `error[code]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Kind {
    /// The file is not valid YAML.
    YamlSyntax,
    /// Valid YAML that hoist does not read (tags, collection keys).
    UnsupportedYaml,
    /// The same key twice in one mapping.
    DuplicateKey,
    /// A value of the wrong shape: expected a list, map, name or integer.
    WrongType,
    /// A top-level key hoist does not know.
    UnknownTopLevelKey,
    /// An unknown key inside an entry (`associations.x.y.tabel`).
    UnknownOption,
    /// A required top-level key is missing (`format_version`, `tree`).
    MissingKey,
    /// `root` is missing or does not name the tree's root.
    RootMissing,
    /// A name that cannot be an archive key or Rust identifier.
    InvalidName,
    /// `format_version` is not a positive integer that fits in u32.
    BadFormatVersion,
    /// The schema snapshot cannot be read.
    SchemaSnapshot,
    /// A model or table name that matches no table.
    UnknownTable,
    /// A table that exists but is not part of the tenant tree where one is required.
    TableNotInTree,
    /// A column name that the table does not have.
    UnknownColumn,
    /// A relation in the tree that resolves to no association.
    UnknownAssociation,
    /// Several foreign keys could link a relation to its parent.
    AmbiguousForeignKey,
    /// The same relation twice under one parent.
    DuplicateRelation,
    /// A column both in `included_attributes` and `excluded_attributes`.
    IncludedAndExcluded,
    /// `export_reorders` names a column the table does not have.
    ReorderUnknownColumn,
    /// `direction` is not `asc` or `desc`.
    BadDirection,
    /// `nulls_position` is not `nulls_first` or `nulls_last`.
    BadNullsPosition,
    /// A polymorphic type value names a table that does not exist.
    PolymorphicUnknownTable,
    /// A declared polymorphic pair lacks its `_type` or `_id` column.
    PolymorphicMissingColumn,
    /// A dependency cycle between tables or top-level relations.
    Cycle,
    /// `methods` names a model that does not exist.
    MethodUnknownModel,
    /// `include_if_exportable` names a relation that is not in the tree under that model.
    UnknownConditionalRelation,
    /// `preloads` names an association that is not in the tree under that model.
    UnknownPreload,
    /// `tokens` names a column the table does not have.
    TokenColumnMissing,
    /// An exported column has a foreign key to a table outside the tenant (not the users table).
    ForeignReference,
    /// An exported `*_id` column without a foreign key or polymorphic declaration.
    UndeclaredReference,
    /// A tenant table without a single integer `id` primary key.
    MissingPrimaryKey,
    /// Two archive keys or generated names collide.
    NameCollision,
    /// A column that must travel in the archive is not exported.
    ColumnNotExported,
    /// A declaration hoist cannot honour yet (e.g. references other than `users`).
    Unsupported,
    /// Two declarations contradict each other.
    Conflict,
    /// A bug in hoist-codegen (generated code that does not parse); please report it.
    Internal,
}

impl Kind {
    /// Every kind, for documentation and tests.
    pub const ALL: &'static [Kind] = &[
        Kind::YamlSyntax,
        Kind::UnsupportedYaml,
        Kind::DuplicateKey,
        Kind::WrongType,
        Kind::UnknownTopLevelKey,
        Kind::UnknownOption,
        Kind::MissingKey,
        Kind::RootMissing,
        Kind::InvalidName,
        Kind::BadFormatVersion,
        Kind::SchemaSnapshot,
        Kind::UnknownTable,
        Kind::TableNotInTree,
        Kind::UnknownColumn,
        Kind::UnknownAssociation,
        Kind::AmbiguousForeignKey,
        Kind::DuplicateRelation,
        Kind::IncludedAndExcluded,
        Kind::ReorderUnknownColumn,
        Kind::BadDirection,
        Kind::BadNullsPosition,
        Kind::PolymorphicUnknownTable,
        Kind::PolymorphicMissingColumn,
        Kind::Cycle,
        Kind::MethodUnknownModel,
        Kind::UnknownConditionalRelation,
        Kind::UnknownPreload,
        Kind::TokenColumnMissing,
        Kind::ForeignReference,
        Kind::UndeclaredReference,
        Kind::MissingPrimaryKey,
        Kind::NameCollision,
        Kind::ColumnNotExported,
        Kind::Unsupported,
        Kind::Conflict,
        Kind::Internal,
    ];

    /// Stable short name shown as `error[code]`.
    pub fn code(self) -> &'static str {
        match self {
            Kind::YamlSyntax => "yaml-syntax",
            Kind::UnsupportedYaml => "unsupported-yaml",
            Kind::DuplicateKey => "duplicate-key",
            Kind::WrongType => "wrong-type",
            Kind::UnknownTopLevelKey => "unknown-top-level-key",
            Kind::UnknownOption => "unknown-option",
            Kind::MissingKey => "missing-key",
            Kind::RootMissing => "root-missing",
            Kind::InvalidName => "invalid-name",
            Kind::BadFormatVersion => "bad-format-version",
            Kind::SchemaSnapshot => "schema-snapshot",
            Kind::UnknownTable => "unknown-table",
            Kind::TableNotInTree => "table-not-in-tree",
            Kind::UnknownColumn => "unknown-column",
            Kind::UnknownAssociation => "unknown-association",
            Kind::AmbiguousForeignKey => "ambiguous-foreign-key",
            Kind::DuplicateRelation => "duplicate-relation",
            Kind::IncludedAndExcluded => "included-and-excluded",
            Kind::ReorderUnknownColumn => "reorder-unknown-column",
            Kind::BadDirection => "bad-direction",
            Kind::BadNullsPosition => "bad-nulls-position",
            Kind::PolymorphicUnknownTable => "polymorphic-unknown-table",
            Kind::PolymorphicMissingColumn => "polymorphic-missing-column",
            Kind::Cycle => "cycle",
            Kind::MethodUnknownModel => "method-unknown-model",
            Kind::UnknownConditionalRelation => "unknown-conditional-relation",
            Kind::UnknownPreload => "unknown-preload",
            Kind::TokenColumnMissing => "token-column-missing",
            Kind::ForeignReference => "foreign-reference",
            Kind::UndeclaredReference => "undeclared-reference",
            Kind::MissingPrimaryKey => "missing-primary-key",
            Kind::NameCollision => "name-collision",
            Kind::ColumnNotExported => "column-not-exported",
            Kind::Unsupported => "unsupported",
            Kind::Conflict => "conflict",
            Kind::Internal => "internal",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub kind: Kind,
    pub message: String,
    /// Where: the offending YAML node (or snapshot position).
    pub span: Option<Span>,
    /// Short text under the excerpt's marker.
    pub label: String,
    /// Other places worth showing (the first definition of a duplicate, …).
    pub context: Vec<(Span, String)>,
    /// The fix.
    pub help: Option<String>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn new(kind: Kind, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            kind,
            message: message.into(),
            span: None,
            label: String::new(),
            context: Vec::new(),
            help: None,
            notes: Vec::new(),
        }
    }

    /// Set the primary position and its label.
    pub fn at(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.span = Some(span);
        self.label = label.into();
        self
    }

    /// Add a secondary position.
    pub fn context(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.context.push((span, label.into()));
        self
    }

    /// Set the help line (the fix).
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Set the help line if there is one.
    pub fn help_opt(mut self, help: Option<String>) -> Diagnostic {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }
}

/// Every problem found in one pass over the inputs, with the inputs needed to render excerpts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics {
    sources: Vec<(SourceId, SourceFile)>,
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Diagnostics over these input files.
    pub fn new(sources: Vec<(SourceId, SourceFile)>, items: Vec<Diagnostic>) -> Diagnostics {
        let mut items = items;
        // Aliased YAML is checked once per use; report each distinct problem once.
        let mut seen = std::collections::HashSet::new();
        items.retain(|d| seen.insert((d.kind, d.span, d.message.clone())));
        Diagnostics { sources, items }
    }

    /// The problems, in the order found.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The input a span points into.
    pub fn source(&self, id: SourceId) -> Option<&SourceFile> {
        self.sources.iter().find(|(i, _)| *i == id).map(|(_, s)| s)
    }

    /// `file:line:col` of a diagnostic, when it has a position.
    pub fn location(&self, d: &Diagnostic) -> Option<String> {
        let span = d.span?;
        let file = self.source(span.source)?;
        Some(format!("{}:{}:{}", file.name, span.line, span.column))
    }

    /// Every diagnostic rendered (plain text, no color), then a summary line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for d in &self.items {
            out.push_str(&self.render_one(d));
            out.push_str("\n\n");
        }
        let n = self.items.len();
        out.push_str(&format!(
            "error: hoist config has {n} error{}",
            if n == 1 { "" } else { "s" }
        ));
        out
    }

    /// Each diagnostic rendered on its own (for one `compile_error!` per problem).
    pub fn render_each(&self) -> Vec<String> {
        self.items.iter().map(|d| self.render_one(d)).collect()
    }

    /// One diagnostic: `error[code]: message`, ` --> file:line:col`, the excerpt, help and notes.
    pub fn render_one(&self, d: &Diagnostic) -> String {
        let renderer = Renderer::plain().decor_style(DecorStyle::Ascii);
        let title = Level::ERROR
            .primary_title(d.message.as_str())
            .id(d.kind.code());
        let mut group: Group<'_> = match d.span.and_then(|s| self.source(s.source).map(|f| (s, f)))
        {
            Some((span, file)) => {
                let mut snippet = Snippet::source(file.text.as_str())
                    .path(file.name.as_str())
                    .fold(true)
                    .annotation(
                        AnnotationKind::Primary
                            .span(span.start..span.end)
                            .label(d.label.as_str()),
                    );
                for (cspan, label) in d.context.iter().filter(|(c, _)| c.source == span.source) {
                    snippet = snippet.annotation(
                        AnnotationKind::Context
                            .span(cspan.start..cspan.end)
                            .label(label.as_str()),
                    );
                }
                let mut group = title.element(snippet);
                for (cspan, label) in d.context.iter().filter(|(c, _)| c.source != span.source) {
                    if let Some(other) = self.source(cspan.source) {
                        group = group.element(
                            Snippet::source(other.text.as_str())
                                .path(other.name.as_str())
                                .fold(true)
                                .annotation(
                                    AnnotationKind::Context
                                        .span(cspan.start..cspan.end)
                                        .label(label.as_str()),
                                ),
                        );
                    }
                }
                group
            }
            None => Group::with_title(title),
        };
        for note in &d.notes {
            group = group.element(Level::NOTE.message(note.as_str()));
        }
        if let Some(help) = &d.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        renderer.render(&[group])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::LineIndex;

    #[test]
    fn renders_location_excerpt_and_help() {
        let text = "tree:\n  project:\n    - :isues\n";
        let idx = LineIndex::new(text);
        let start = text.find(":isues").unwrap_or(0);
        let span = idx.span(SourceId::Config, start, start + 6);
        let d = Diagnostic::new(Kind::UnknownAssociation, "unknown relation `isues`")
            .at(span, "no table or association named `isues`")
            .help("did you mean `issues`?");
        let all = Diagnostics::new(
            vec![(SourceId::Config, SourceFile::new("import_export.yml", text))],
            vec![d.clone(), d],
        );
        assert_eq!(all.len(), 1, "duplicates are dropped");
        let out = all.render();
        assert!(
            out.contains("error[unknown-association]: unknown relation `isues`"),
            "{out}"
        );
        assert!(out.contains("import_export.yml:3:7"), "{out}");
        assert!(out.contains("help: did you mean `issues`?"), "{out}");
        assert!(out.ends_with("error: hoist config has 1 error"), "{out}");
        assert_eq!(
            all.location(all.iter().next().unwrap_or_else(|| unreachable!()))
                .as_deref(),
            Some("import_export.yml:3:7")
        );
    }

    #[test]
    fn codes_are_distinct() {
        let codes: std::collections::HashSet<_> = Kind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(codes.len(), Kind::ALL.len());
        assert!(Kind::ALL.len() >= 15);
    }
}
