//! Guards: checks that fail CI when the schema grows something the tenant config has not
//! classified — a column nobody listed, a table linked to the tenant that nobody considered, a
//! sensitive or prohibited key about to travel, a stale schema snapshot, or a sensitive key in a
//! real export.
//!
//! The checks are pure: [`check`] compares a [`Compiled`] config with the **live** schema (the
//! schema of a freshly migrated database, not the snapshot, so a new migration trips them before
//! anyone refreshes the snapshot) and returns [`Finding`]s. The export scan's record walker is
//! [`ExportScanner`]; reading an archive and migrating a database are the runtime's part
//! (`hoist::guards`), and the `hoist::guard_tests!` macro turns all of them into `#[test]`s.
//!
//! Every finding names the table and column, says why it failed, and names the exact file and
//! key to edit or the command to run; [`Finding::render`] prints it as `FILE:LINE: message` plus
//! the fix.
//!
//! | guard | fails when |
//! |---|---|
//! | [`Guard::Attributes`] | a column of a tree table would be exported but is not listed in `safe_model_attributes.yml` (or a listed table/column does not exist) |
//! | [`Guard::Models`] | a table with a foreign key (or a declared polymorphic reference) into the tree is neither in the tree nor in `not_exported` |
//! | [`Guard::SensitiveWords`] | an exported column's name contains a `guards.sensitive_words` word and is not in `guards.sensitive_safelist` |
//! | [`Guard::ProhibitedReferences`] | an exported `*_id`, `*_ids`, `*_html`, `cached_markdown_version` or `*attributes*` column is not a declared reference |
//! | [`Guard::Snapshot`] | the checked-in snapshot differs from the live schema |
//! | [`Guard::ExportScan`] | a key of an exported archive contains a sensitive word (see [`ExportScanner`]) |

mod attributes;
mod context;
mod keys;
mod models;
mod names;
mod scan;
mod snapshot;

#[cfg(test)]
mod tests;

pub use scan::ExportScanner;

use crate::schema::Schema;
use crate::{Compiled, Inputs};
use context::Ctx;
use std::fmt;

/// The sensitive words used when the config's `guards.sensitive_words` is empty or missing.
pub const DEFAULT_SENSITIVE_WORDS: &[&str] = &[
    "pass",
    "secret",
    "token",
    "key",
    "encrypted",
    "html",
    "salt",
    "otp",
    "credential",
    "private",
];

/// One guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Guard {
    /// Every column of every tree table is classified in `safe_model_attributes.yml` or excluded.
    Attributes,
    /// Every table linked to the tree is in the tree or listed in `not_exported`.
    Models,
    /// No exported column name contains a sensitive word unless safelisted.
    SensitiveWords,
    /// No exported `*_id`, `*_ids`, `*_html`, `cached_markdown_version`, `*attributes*` column
    /// unless it is a declared reference.
    ProhibitedReferences,
    /// The checked-in schema snapshot equals the live schema.
    Snapshot,
    /// No key of an exported archive contains a sensitive word unless safelisted.
    ExportScan,
}

impl Guard {
    /// Every guard, in the order they are reported.
    pub const ALL: [Guard; 6] = [
        Guard::Attributes,
        Guard::Models,
        Guard::SensitiveWords,
        Guard::ProhibitedReferences,
        Guard::Snapshot,
        Guard::ExportScan,
    ];

    /// The guards [`check`] runs: all but [`Guard::ExportScan`], which needs an archive.
    pub const SCHEMA: [Guard; 5] = [
        Guard::Attributes,
        Guard::Models,
        Guard::SensitiveWords,
        Guard::ProhibitedReferences,
        Guard::Snapshot,
    ];

    /// Short kebab-case name used in messages (`attribute`, `sensitive-word`).
    pub fn as_str(self) -> &'static str {
        match self {
            Guard::Attributes => "attribute",
            Guard::Models => "model",
            Guard::SensitiveWords => "sensitive-word",
            Guard::ProhibitedReferences => "prohibited-reference",
            Guard::Snapshot => "snapshot",
            Guard::ExportScan => "export-scan",
        }
    }

    /// The name of the generated test (`guard_attributes`).
    pub fn test_name(self) -> &'static str {
        match self {
            Guard::Attributes => "guard_attributes",
            Guard::Models => "guard_models",
            Guard::SensitiveWords => "guard_sensitive_words",
            Guard::ProhibitedReferences => "guard_prohibited_references",
            Guard::Snapshot => "guard_snapshot",
            Guard::ExportScan => "guard_export_scan",
        }
    }
}

impl fmt::Display for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One failed check: what, where, why, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Finding {
    pub guard: Guard,
    /// The table concerned.
    pub table: String,
    /// The column (or archive key) concerned, if the finding is about one.
    pub column: Option<String>,
    /// Why it failed (names the table and column).
    pub message: String,
    /// The file to edit (display name as given: `safe_model_attributes.yml`,
    /// `../import_export.yml`), or the archive member for the export scan.
    pub file: String,
    /// 1-based line in `file`.
    pub line: usize,
    /// 1-based column (in characters) in `file`.
    pub col: usize,
    /// The exact edit to make, or the command to run.
    pub fix: String,
}

impl Finding {
    /// `FILE:LINE: [guard] message` and, on the next line, `    fix: …`.
    pub fn render(&self) -> String {
        format!(
            "{}:{}: [{} guard] {}\n    fix: {}",
            self.file, self.line, self.guard, self.message, self.fix
        )
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// Render findings one after the other, with a summary line; empty for no findings.
pub fn render_all(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for f in findings {
        out.push_str(&f.render());
        out.push('\n');
    }
    out.push_str(&format!(
        "{} guard finding{}\n",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" }
    ));
    out
}

/// What the guards need besides the compiled config and the live schema.
#[derive(Debug, Clone)]
pub struct GuardOptions {
    /// The inputs the config was compiled from: their names go into `FILE:LINE`, their texts
    /// locate lines the parsed config has no span for (the end of a file, a table of the snapshot).
    pub inputs: Inputs,
    /// The app's command that rewrites the schema snapshot from a migrated database
    /// (`forge schema dump`), named by the snapshot guard.
    pub dump_command: String,
}

impl GuardOptions {
    /// Options for `inputs`, naming `dump_command` as the snapshot's writer.
    pub fn new(inputs: &Inputs, dump_command: impl Into<String>) -> GuardOptions {
        GuardOptions {
            inputs: inputs.clone(),
            dump_command: dump_command.into(),
        }
    }

    /// Display name of `import_export.yml`.
    pub fn config_file(&self) -> &str {
        &self.inputs.config.name
    }

    /// Display name of `safe_model_attributes.yml` (its conventional name when none was given).
    pub fn attributes_file(&self) -> &str {
        self.inputs
            .attributes
            .as_ref()
            .map_or("safe_model_attributes.yml", |a| a.name.as_str())
    }

    /// Display name of the schema snapshot.
    pub fn schema_file(&self) -> &str {
        &self.inputs.schema.name
    }
}

/// Run every schema guard ([`Guard::SCHEMA`]: all but the export scan) of `compiled` against
/// `live`, the schema of a freshly migrated database. Findings are grouped by guard, in a stable
/// order.
///
/// ```
/// use hoist_codegen::guards::{check, Guard, GuardOptions};
/// use hoist_codegen::{compile, Inputs, SourceFile};
/// let schema = r#"{"format": 1, "tables": [
///   {"name": "projects", "primary_key": ["id"], "foreign_keys": [], "unique_indexes": [],
///    "columns": [{"name": "id", "type": "integer", "nullable": false},
///                {"name": "name", "type": "text", "nullable": false}]}]}"#;
/// let inputs = Inputs {
///     config: SourceFile::new("import_export.yml", "format_version: 1\nroot: project\ntree:\n  project: []\n"),
///     attributes: Some(SourceFile::new("safe_model_attributes.yml", "projects: [id, name]\n")),
///     schema: SourceFile::new("schema.snapshot.json", schema),
/// };
/// let compiled = compile(&inputs).expect("valid config");
/// let options = GuardOptions::new(&inputs, "app schema dump");
/// assert!(check(&compiled, &compiled.schema, &options).is_empty());
///
/// // A migration adds a column: the attribute guard names it and the file to edit.
/// let mut live = compiled.schema.clone();
/// let mut column = live.tables[0].columns[1].clone();
/// column.name = "secret_sauce_token".into();
/// live.tables[0].columns.push(column);
/// let findings = check(&compiled, &live, &options);
/// let attribute = findings.iter().find(|f| f.guard == Guard::Attributes).unwrap();
/// assert_eq!(attribute.column.as_deref(), Some("secret_sauce_token"));
/// assert!(attribute.render().starts_with("safe_model_attributes.yml:1: "));
/// ```
pub fn check(compiled: &Compiled, live: &Schema, options: &GuardOptions) -> Vec<Finding> {
    let cx = Ctx::new(compiled, live, options);
    Guard::SCHEMA.iter().flat_map(|g| cx.run(*g)).collect()
}

/// Run one guard. [`Guard::ExportScan`] needs an archive and returns nothing here: use
/// [`ExportScanner`].
pub fn check_guard(
    guard: Guard,
    compiled: &Compiled,
    live: &Schema,
    options: &GuardOptions,
) -> Vec<Finding> {
    Ctx::new(compiled, live, options).run(guard)
}

impl Ctx<'_> {
    fn run(&self, guard: Guard) -> Vec<Finding> {
        let mut out = match guard {
            Guard::Attributes => self.attributes(),
            Guard::Models => self.models(),
            Guard::SensitiveWords => self.sensitive_words(),
            Guard::ProhibitedReferences => self.prohibited_references(),
            Guard::Snapshot => self.snapshot(),
            Guard::ExportScan => Vec::new(),
        };
        out.dedup();
        out
    }
}
