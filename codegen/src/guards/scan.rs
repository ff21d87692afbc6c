//! The export scan's pure part: walk the records of an exported archive and report every key
//! that contains a sensitive word. The runtime (`hoist::guards::scan_archive`) reads the archive
//! and feeds its records here.
//!
//! Every key is scanned, recursively: columns, methods, sub-relation keys, nested records
//! (arrays for has_many, objects for has_one/belongs_to), and keys inside JSON values. A key is
//! attributed to the table of the record it sits in; `guards.sensitive_safelist.<table>` lists
//! the top-level keys (columns) allowed to contain a sensitive word, and a safelisted column's
//! JSON content is not scanned. One finding per distinct (table, key path), at its first
//! occurrence, with the number of records it appeared in.

use super::context::{Ctx, list_names};
use super::{Finding, Guard, GuardOptions};
use crate::Compiled;
use crate::plan::NodeIr;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A sensitive key seen in the archive.
#[derive(Debug)]
struct Hit {
    member: String,
    line: u64,
    /// The record-level key this key is, or sits inside of.
    top: String,
    words: Vec<String>,
    /// Order of first occurrence.
    seq: usize,
    /// Where the key came from, for the fix.
    origin: Origin,
    records: u64,
}

/// What a record-level key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Column,
    Method,
    Relation,
    /// A key inside a JSON value of a column.
    Nested,
    /// Not a column, method or relation of the table.
    Unknown,
    /// A natural key of a referenced user (`tree/users.ndjson`).
    UserKey,
}

/// Collects sensitive keys from an archive's records; see the module docs.
///
/// ```
/// use hoist_codegen::guards::{ExportScanner, GuardOptions, Guard};
/// use hoist_codegen::{compile, Inputs, SourceFile};
/// let schema = r#"{"format": 1, "tables": [
///   {"name": "projects", "primary_key": ["id"], "foreign_keys": [], "unique_indexes": [],
///    "columns": [{"name": "id", "type": "integer", "nullable": false},
///                {"name": "name", "type": "text", "nullable": false}]}]}"#;
/// let inputs = Inputs {
///     config: SourceFile::new("import_export.yml", "format_version: 1\nroot: project\ntree:\n  project: []\n"),
///     attributes: None,
///     schema: SourceFile::new("schema.snapshot.json", schema),
/// };
/// let compiled = compile(&inputs).unwrap();
/// let options = GuardOptions::new(&inputs, "app schema dump");
/// let mut scanner = ExportScanner::new(&compiled, &options);
/// let record = serde_json::json!({"id": 1, "name": "x", "secret_key": "…"});
/// scanner.root_record("tree/project.json", record.as_object().unwrap());
/// let findings = scanner.finish();
/// assert_eq!(findings.len(), 1);
/// assert_eq!(findings[0].guard, Guard::ExportScan);
/// assert!(findings[0].render().starts_with("tree/project.json:1: "));
/// ```
pub struct ExportScanner<'a> {
    cx: Ctx<'a>,
    compiled: &'a Compiled,
    /// (table, key path) → first occurrence and count.
    hits: BTreeMap<(String, String), Hit>,
}

impl<'a> ExportScanner<'a> {
    /// A scanner with the word list, safelist and relation tree of `compiled`.
    pub fn new(compiled: &'a Compiled, options: &'a GuardOptions) -> ExportScanner<'a> {
        ExportScanner {
            cx: Ctx::new(compiled, &compiled.schema, options),
            compiled,
            hits: BTreeMap::new(),
        }
    }

    fn table_name(&self, node: &NodeIr) -> String {
        self.compiled
            .plan
            .tables
            .get(node.table)
            .map_or_else(|| node.name.clone(), |t| t.name.clone())
    }

    /// The root record (`tree/<root>.json`).
    pub fn root_record(&mut self, member: &str, record: &Map<String, Value>) {
        let compiled = self.compiled;
        let root = &compiled.plan.root;
        let table = self.table_name(root);
        self.walk_record(member, 1, Some(root), &table, "", record);
    }

    /// One line of `tree/users.ndjson` (`line` from 1).
    pub fn user(&mut self, member: &str, line: u64, record: &Map<String, Value>) {
        let table = self.cx.users_table().unwrap_or("users").to_string();
        for (key, value) in record {
            self.key(member, line, &table, key, key, key, Origin::UserKey);
            self.walk_json(member, line, &table, key, key, value);
        }
    }

    /// One record of top-level relation `relation` (from `tree/<root>/<relation>.ndjson`).
    pub fn record(&mut self, member: &str, relation: &str, line: u64, record: &Map<String, Value>) {
        let compiled = self.compiled;
        let node = compiled
            .plan
            .root
            .children
            .iter()
            .find(|n| n.name == relation);
        let table = node.map_or_else(|| relation.to_string(), |n| self.table_name(n));
        self.walk_record(member, line, node, &table, "", record);
    }

    /// Every sensitive key seen, one finding per (table, key path), in order of first occurrence.
    pub fn finish(self) -> Vec<Finding> {
        let mut hits: Vec<(&(String, String), &Hit)> = self.hits.iter().collect();
        hits.sort_by_key(|(_, hit)| hit.seq);
        hits.into_iter()
            .map(|((table, path), hit)| self.finding(table, path, hit))
            .collect()
    }

    fn finding(&self, table: &str, path: &str, hit: &Hit) -> Finding {
        let config_file = self.cx.options.config_file();
        let plural = if hit.words.len() == 1 { "" } else { "s" };
        let seen = if hit.records == 1 {
            "seen once".to_string()
        } else {
            format!("seen {} times", hit.records)
        };
        let top = hit.top.as_str();
        let safelist = format!(
            "if it is not sensitive, list `{top}` under guards.sensitive_safelist.{}",
            self.cx.safelist_key(table)
        );
        let fix = match hit.origin {
            Origin::Column | Origin::Nested => self.cx.sensitive_fix(table, top),
            Origin::Method => format!(
                "{config_file}: rename method `{top}` of `{table}` under `methods:` (and in the app's Methods impl); methods cannot be safelisted"
            ),
            Origin::Relation => format!(
                "{config_file}: rename relation `{top}` of `{table}` in `tree` (with an `associations` entry naming its table)"
            ),
            Origin::UserKey => {
                format!("{config_file}: choose other natural_keys in references; {safelist}")
            }
            Origin::Unknown => format!(
                "`{top}` is not an exported column, method or relation of `{table}`: find what writes it into the archive; {safelist}"
            ),
        };
        let what = match hit.origin {
            Origin::Nested => format!(" (inside column `{top}`)"),
            Origin::Method => " (a method)".to_string(),
            Origin::Relation => " (a relation)".to_string(),
            _ => String::new(),
        };
        Finding {
            guard: Guard::ExportScan,
            table: table.to_string(),
            column: Some(path.to_string()),
            message: format!(
                "archive key `{path}`{what} of a record of `{table}` contains the sensitive word{plural} {} ({seen} in the export)",
                list_names(&hit.words)
            ),
            file: hit.member.clone(),
            line: usize::try_from(hit.line).unwrap_or(usize::MAX),
            col: 1,
            fix,
        }
    }

    /// Record a key if it contains a sensitive word and is not safelisted.
    #[allow(clippy::too_many_arguments)]
    fn key(
        &mut self,
        member: &str,
        line: u64,
        table: &str,
        top: &str,
        name: &str,
        path: &str,
        origin: Origin,
    ) {
        let words: Vec<String> = self
            .cx
            .sensitive_words_in(name)
            .into_iter()
            .map(str::to_string)
            .collect();
        if words.is_empty() || self.cx.safelisted(table, top) {
            return;
        }
        let seq = self.hits.len();
        self.hits
            .entry((table.to_string(), path.to_string()))
            .and_modify(|h| h.records += 1)
            .or_insert_with(|| Hit {
                member: member.to_string(),
                line,
                top: top.to_string(),
                words,
                seq,
                origin,
                records: 1,
            });
    }

    /// Keys of one record of `table` (reached through `node`, if known), at `prefix`.
    fn walk_record(
        &mut self,
        member: &str,
        line: u64,
        node: Option<&'a NodeIr>,
        table: &str,
        prefix: &str,
        record: &Map<String, Value>,
    ) {
        let plan_table = self.compiled.plan.table(table).map(|(_, t)| t);
        for (key, value) in record {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            let child = node.and_then(|n| n.children.iter().find(|c| &c.name == key));
            let origin = if child.is_some() {
                Origin::Relation
            } else if plan_table.is_some_and(|t| t.column(key).is_some()) {
                Origin::Column
            } else if node.is_some_and(|n| n.methods.iter().any(|m| m == key)) {
                Origin::Method
            } else {
                Origin::Unknown
            };
            self.key(member, line, table, key, key, &path, origin);
            match child {
                Some(child) => {
                    let child_table = self.table_name(child);
                    match value {
                        Value::Array(items) => {
                            let path = format!("{path}[]");
                            for item in items {
                                if let Value::Object(r) = item {
                                    self.walk_record(
                                        member,
                                        line,
                                        Some(child),
                                        &child_table,
                                        &path,
                                        r,
                                    );
                                }
                            }
                        }
                        Value::Object(r) => {
                            self.walk_record(member, line, Some(child), &child_table, &path, r)
                        }
                        _ => {}
                    }
                }
                None if !self.cx.safelisted(table, key) => {
                    self.walk_json(member, line, table, key, &path, value)
                }
                None => {}
            }
        }
    }

    /// Keys inside a JSON value of column `top`.
    fn walk_json(
        &mut self,
        member: &str,
        line: u64,
        table: &str,
        top: &str,
        path: &str,
        value: &Value,
    ) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    let path = format!("{path}.{key}");
                    self.key(member, line, table, top, key, &path, Origin::Nested);
                    self.walk_json(member, line, table, top, &path, v);
                }
            }
            Value::Array(items) => {
                let path = format!("{path}[]");
                for v in items {
                    self.walk_json(member, line, table, top, &path, v);
                }
            }
            _ => {}
        }
    }
}
