//! Every guard on the reference inputs (`import_export.yml`, `safe_model_attributes.yml`,
//! `schema.snapshot.json` at the repository root): the clean tree passes, and each change a
//! migration or an edit can make trips the guard meant to catch it, with the exact message.

use super::*;
use crate::schema::{Column, ForeignKey, LogicalType, Table};
use crate::{SourceFile, compile};
use serde_json::json;

fn read(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The reference inputs, each passed through `edit`.
struct Reference {
    config: String,
    attributes: String,
    schema: Schema,
}

impl Reference {
    fn new() -> Reference {
        Reference {
            config: read("import_export.yml"),
            attributes: read("safe_model_attributes.yml"),
            schema: Schema::from_json(&read("schema.snapshot.json")).expect("snapshot"),
        }
    }

    fn inputs(&self) -> Inputs {
        Inputs {
            config: SourceFile::new("import_export.yml", self.config.clone()),
            attributes: Some(SourceFile::new(
                "safe_model_attributes.yml",
                self.attributes.clone(),
            )),
            schema: SourceFile::new("schema.snapshot.json", self.schema.to_canonical_json()),
        }
    }

    fn compile(&self) -> (Compiled, GuardOptions) {
        let inputs = self.inputs();
        let compiled = match compile(&inputs) {
            Ok(c) => c,
            Err(d) => panic!("reference inputs do not compile:\n{}", d.render()),
        };
        (compiled, GuardOptions::new(&inputs, "forge schema dump"))
    }

    /// Run one guard with the snapshot as the live schema after `migrate`.
    fn run(&self, guard: Guard, migrate: impl FnOnce(&mut Schema)) -> Vec<Finding> {
        let (compiled, options) = self.compile();
        let mut live = compiled.schema.clone();
        migrate(&mut live);
        live.canonicalize();
        check_guard(guard, &compiled, &live, &options)
    }

    fn edit_config(mut self, from: &str, to: &str) -> Reference {
        assert!(self.config.contains(from), "config has no {from:?}");
        self.config = self.config.replacen(from, to, 1);
        self
    }

    fn edit_attributes(mut self, from: &str, to: &str) -> Reference {
        assert!(
            self.attributes.contains(from),
            "attributes have no {from:?}"
        );
        self.attributes = self.attributes.replacen(from, to, 1);
        self
    }
}

fn column(name: &str, ty: LogicalType, nullable: bool) -> Column {
    Column {
        name: name.into(),
        ty,
        nullable,
        default: None,
        auto_increment: false,
    }
}

fn table_mut<'s>(schema: &'s mut Schema, name: &str) -> &'s mut Table {
    schema
        .tables
        .iter_mut()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no table {name}"))
}

/// `ALTER TABLE issues ADD COLUMN secret_sauce_token TEXT`.
fn add_secret_sauce(schema: &mut Schema) {
    table_mut(schema, "issues")
        .columns
        .push(column("secret_sauce_token", LogicalType::Text, true));
}

/// `CREATE TABLE issue_secrets (id, issue_id REFERENCES issues(id), value TEXT)`.
fn add_issue_secrets(schema: &mut Schema) {
    schema.tables.push(Table {
        name: "issue_secrets".into(),
        primary_key: vec!["id".into()],
        columns: vec![
            Column {
                auto_increment: true,
                ..column("id", LogicalType::Integer, false)
            },
            column("issue_id", LogicalType::Integer, false),
            column("value", LogicalType::Text, false),
        ],
        foreign_keys: vec![ForeignKey {
            columns: vec!["issue_id".into()],
            references_table: "issues".into(),
            references_columns: vec!["id".into()],
        }],
        unique_indexes: vec![],
    });
}

/// The line where `needle` (possibly several lines) starts.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("no line with {needle:?}"));
    text[..at].matches('\n').count() + 1
}

#[test]
fn clean_tree_passes_all_guards() {
    let reference = Reference::new();
    let (compiled, options) = reference.compile();
    let findings = check(&compiled, &compiled.schema, &options);
    assert!(findings.is_empty(), "{}", render_all(&findings));
}

#[test]
fn new_column_trips_the_attribute_guard() {
    let reference = Reference::new();
    let findings = reference.run(Guard::Attributes, add_secret_sauce);
    let line = line_of(&reference.attributes, "issues:");
    assert_eq!(
        findings,
        vec![Finding {
            guard: Guard::Attributes,
            table: "issues".into(),
            column: Some("secret_sauce_token".into()),
            message: "`issues.secret_sauce_token` is not classified: it would be exported with `issues` but safe_model_attributes.yml does not list it".into(),
            file: "safe_model_attributes.yml".into(),
            line,
            col: 1,
            fix: "safe_model_attributes.yml: add `secret_sauce_token` under `issues:` (or exclude it in import_export.yml excluded_attributes.issues)".into(),
        }]
    );
    insta::assert_snapshot!("attribute_new_column", render_all(&findings));
}

#[test]
fn new_column_on_a_table_missing_from_the_attributes_points_at_the_end_of_the_file() {
    let reference = Reference::new().edit_attributes(
        "webhooks:\n  - id\n  - project_id\n  - url\n  - push_events\n  - issues_events\n  - created_at\n  - updated_at\n",
        "",
    );
    let findings = reference.run(Guard::Attributes, |_| {});
    assert_eq!(findings.len(), 7, "{}", render_all(&findings));
    let last = reference.attributes.lines().count();
    assert!(
        findings
            .iter()
            .all(|f| f.line == last && f.table == "webhooks")
    );
    insta::assert_snapshot!("attribute_table_missing", render_all(&findings[..2]));
}

#[test]
fn excluded_and_token_columns_and_unincluded_root_columns_are_classified() {
    let reference = Reference::new();
    // A new column on the root is not in its included_attributes: not exported, classified.
    let findings = reference.run(Guard::Attributes, |s| {
        table_mut(s, "projects")
            .columns
            .push(column("import_url", LogicalType::Text, true));
    });
    assert!(findings.is_empty(), "{}", render_all(&findings));
    // Excluded in import_export.yml before the migration lands: classified.
    let reference = Reference::new().edit_config(
        "  issues:\n    - :description_html\n",
        "  issues:\n    - :secret_sauce_token\n    - :description_html\n",
    );
    // The exclusion names a column the snapshot does not have yet: compile against a snapshot
    // that has it, and a live schema that has it too.
    let mut with_column = reference;
    add_secret_sauce(&mut with_column.schema);
    let findings = with_column.run(Guard::Attributes, |_| {});
    assert!(findings.is_empty(), "{}", render_all(&findings));
}

#[test]
fn a_listed_link_column_cannot_be_excluded_away() {
    // issue_links.source_id links `issue_links` under `issues`: always exported, so excluding
    // it is no fix.
    let reference = Reference::new().edit_attributes("  - source_id\n", "");
    let findings = reference.run(Guard::Attributes, |_| {});
    assert_eq!(findings.len(), 1, "{}", render_all(&findings));
    assert_eq!(findings[0].column.as_deref(), Some("source_id"));
    assert_eq!(
        findings[0].fix,
        "safe_model_attributes.yml: add `source_id` under `issue_links:`"
    );
    insta::assert_snapshot!("attribute_link_column", render_all(&findings));
}

#[test]
fn stale_attribute_entries_are_reported() {
    let reference = Reference::new()
        .edit_attributes("  - title\n", "  - titel\n")
        .edit_attributes("users:\n  - email\n", "userz:\n  - email\n");
    let findings = reference.run(Guard::Attributes, |_| {});
    let rendered = render_all(&findings);
    // issues.title is now unlisted, `titel` is not a column, users' natural keys are unlisted
    // and `userz` is no table.
    assert!(
        rendered.contains("`issues.title` is not classified"),
        "{rendered}"
    );
    assert!(
        rendered.contains("lists `issues.titel`, which is not a column of `issues`"),
        "{rendered}"
    );
    assert!(rendered.contains("did you mean `title`?"), "{rendered}");
    assert!(
        rendered.contains("`users.email` is not classified"),
        "{rendered}"
    );
    assert!(
        rendered.contains("`users.username` is not classified"),
        "{rendered}"
    );
    assert!(
        rendered.contains("lists `userz`, which is not a table"),
        "{rendered}"
    );
    insta::assert_snapshot!("attribute_stale_entries", rendered);
}

#[test]
fn missing_attributes_file_is_one_finding() {
    let reference = Reference::new();
    let mut inputs = reference.inputs();
    inputs.attributes = None;
    let compiled = compile(&inputs).expect("compiles");
    let options = GuardOptions::new(&inputs, "forge schema dump");
    let findings = check_guard(Guard::Attributes, &compiled, &compiled.schema, &options);
    assert_eq!(findings.len(), 1);
    insta::assert_snapshot!("attribute_no_file", render_all(&findings));
}

#[test]
fn table_with_a_foreign_key_into_the_tree_trips_the_model_guard() {
    let reference = Reference::new();
    let findings = reference.run(Guard::Models, add_issue_secrets);
    let line = line_of(&reference.config, "not_exported:");
    assert_eq!(
        findings,
        vec![Finding {
            guard: Guard::Models,
            table: "issue_secrets".into(),
            column: Some("issue_id".into()),
            message: "table `issue_secrets` is linked to the tenant (foreign key `issue_secrets.issue_id` → `issues`) but is neither in `tree` nor listed in `not_exported`: its rows would silently stay behind".into(),
            file: "import_export.yml".into(),
            line,
            col: 1,
            fix: "import_export.yml: add `:issue_secrets` to `tree` under `issues` (project → issues), or list it under `not_exported:` as `issue_secrets: <why it stays behind>`".into(),
        }]
    );
    insta::assert_snapshot!("model_foreign_key", render_all(&findings));
}

#[test]
fn not_exported_tables_and_the_users_table_are_known() {
    let reference = Reference::new().edit_config(
        "not_exported:\n",
        "not_exported:\n  issue_secrets: encrypted per instance\n",
    );
    // not_exported names must exist in the snapshot: add the table there too.
    let mut reference = reference;
    add_issue_secrets(&mut reference.schema);
    assert!(reference.run(Guard::Models, |_| {}).is_empty());
    // audit_logs and personal_access_tokens (not_exported) and users (references) link to the
    // tree already: the clean run above covers them. Dropping audit_logs from not_exported trips.
    let reference = Reference::new().edit_config(
        "  audit_logs: security log of the source instance; never leaves it\n",
        "",
    );
    let findings = reference.run(Guard::Models, |_| {});
    assert_eq!(findings.len(), 1, "{}", render_all(&findings));
    assert_eq!(findings[0].table, "audit_logs");
    assert_eq!(findings[0].column.as_deref(), Some("project_id"));
    assert!(findings[0].fix.contains("under `project` (project)"));
}

#[test]
fn stale_not_exported_entry_is_reported() {
    let reference = Reference::new();
    let findings = reference.run(Guard::Models, |s| {
        s.tables.retain(|t| t.name != "personal_access_tokens");
    });
    assert_eq!(findings.len(), 1, "{}", render_all(&findings));
    assert_eq!(
        findings[0].line,
        line_of(&reference.config, "  personal_access_tokens:")
    );
    insta::assert_snapshot!("model_stale_not_exported", render_all(&findings));
}

#[test]
fn declared_polymorphic_reference_from_outside_the_tree_trips_the_model_guard() {
    let schema = r#"{"format": 1, "tables": [
      {"name": "projects", "primary_key": ["id"], "foreign_keys": [], "unique_indexes": [],
       "columns": [{"name": "id", "type": "integer", "nullable": false}]},
      {"name": "issues", "primary_key": ["id"], "unique_indexes": [],
       "columns": [{"name": "id", "type": "integer", "nullable": false},
                   {"name": "project_id", "type": "integer", "nullable": false}],
       "foreign_keys": [{"columns": ["project_id"], "references_table": "projects", "references_columns": ["id"]}]},
      {"name": "subscriptions", "primary_key": ["id"], "unique_indexes": [], "foreign_keys": [],
       "columns": [{"name": "id", "type": "integer", "nullable": false},
                   {"name": "subscribable_type", "type": "text", "nullable": false},
                   {"name": "subscribable_id", "type": "integer", "nullable": false}]}
    ]}"#;
    let config = "format_version: 1\nroot: project\npolymorphic:\n  subscriptions:\n    subscribable: { Issue: issues }\ntree:\n  project:\n    - :issues\n";
    let inputs = Inputs {
        config: SourceFile::new("import_export.yml", config),
        attributes: Some(SourceFile::new(
            "safe_model_attributes.yml",
            "projects: [id]\nissues: [id, project_id]\n",
        )),
        schema: SourceFile::new("schema.snapshot.json", schema),
    };
    let compiled = match compile(&inputs) {
        Ok(c) => c,
        Err(d) => panic!("{}", d.render()),
    };
    let options = GuardOptions::new(&inputs, "app schema dump");
    let findings = check(&compiled, &compiled.schema, &options);
    assert_eq!(findings.len(), 1, "{}", render_all(&findings));
    assert_eq!(findings[0].guard, Guard::Models);
    assert_eq!(findings[0].column.as_deref(), Some("subscribable_id"));
    // No not_exported key: the finding points at `tree:`.
    assert_eq!(findings[0].line, 6);
    insta::assert_snapshot!("model_polymorphic", render_all(&findings));
}

#[test]
fn exported_sensitive_column_trips_the_sensitive_word_guard() {
    let reference = Reference::new();
    let findings = reference.run(Guard::SensitiveWords, add_secret_sauce);
    let line = line_of(&reference.config, "  issues:\n    - :description_html");
    assert_eq!(
        findings,
        vec![Finding {
            guard: Guard::SensitiveWords,
            table: "issues".into(),
            column: Some("secret_sauce_token".into()),
            message: "exported column `issues.secret_sauce_token` contains the sensitive words `secret` and `token`: it would travel in every archive".into(),
            file: "import_export.yml".into(),
            line,
            col: 3,
            fix: "import_export.yml: add `:secret_sauce_token` under excluded_attributes.issues (or under tokens.issues if it is a secret to regenerate on import); if it is not sensitive, list it under guards.sensitive_safelist.issues".into(),
        }]
    );
    insta::assert_snapshot!("sensitive_word_column", render_all(&findings));
}

#[test]
fn safelisted_and_configured_words() {
    // Safelisted: passes.
    let mut reference = Reference::new().edit_config(
        "  sensitive_safelist: {}\n",
        "  sensitive_safelist:\n    issues: [secret_sauce_token]\n",
    );
    add_secret_sauce(&mut reference.schema);
    assert!(reference.run(Guard::SensitiveWords, |_| {}).is_empty());

    // The config's own word list replaces the default one.
    let reference = Reference::new().edit_config(
        "  sensitive_words: [pass, secret, token, key, encrypted, html, salt, otp, credential, private]\n",
        "  sensitive_words: [Color]\n",
    );
    let findings = reference.run(Guard::SensitiveWords, add_secret_sauce);
    let columns: Vec<_> = findings
        .iter()
        .map(|f| format!("{}.{}", f.table, f.column.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(columns, ["labels.color"]);

    // No word list: the defaults apply.
    let reference = Reference::new().edit_config(
        "  sensitive_words: [pass, secret, token, key, encrypted, html, salt, otp, credential, private]\n",
        "",
    );
    let findings = reference.run(Guard::SensitiveWords, add_secret_sauce);
    assert_eq!(findings.len(), 1, "{}", render_all(&findings));
}

#[test]
fn sensitive_column_on_an_included_root_names_included_attributes() {
    // A sensitive column the root's included_attributes lets through: the fix is to remove it
    // from included_attributes (excluding it would contradict the include).
    let mut reference = Reference::new().edit_config(
        "    - :archived\n",
        "    - :archived\n    - :private_notes\n",
    );
    table_mut(&mut reference.schema, "projects")
        .columns
        .push(column("private_notes", LogicalType::Text, true));
    let reference =
        reference.edit_attributes("  - archived\n", "  - archived\n  - private_notes\n");
    let findings = reference.run(Guard::SensitiveWords, |_| {});
    assert_eq!(findings.len(), 1, "{}", render_all(&findings));
    assert_eq!(
        findings[0].fix,
        "import_export.yml: remove `:private_notes` from included_attributes.project; if it is not sensitive, list it under guards.sensitive_safelist.projects"
    );
    insta::assert_snapshot!("sensitive_word_included", render_all(&findings));
}

#[test]
fn exported_html_column_trips_the_prohibited_reference_guard() {
    let reference = Reference::new().edit_config(
        "  issues:\n    - :description_html\n    - :cached_markdown_version\n",
        "  issues:\n    - :cached_markdown_version\n",
    );
    let reference = reference.edit_attributes(
        "  - description\n  - state\n  - confidential\n",
        "  - description\n  - description_html\n  - state\n  - confidential\n",
    );
    let findings = reference.run(Guard::ProhibitedReferences, |_| {});
    let line = line_of(
        &reference.config,
        "  issues:\n    - :cached_markdown_version",
    );
    assert_eq!(
        findings,
        vec![Finding {
            guard: Guard::ProhibitedReferences,
            table: "issues".into(),
            column: Some("description_html".into()),
            message: "exported column `issues.description_html` is rendered HTML (`*_html`): the importer drops it, since markup rendered elsewhere was never sanitized here; it is re-rendered from its source".into(),
            file: "import_export.yml".into(),
            line,
            col: 3,
            fix: "import_export.yml: add `:description_html` under excluded_attributes.issues".into(),
        }]
    );
    insta::assert_snapshot!("prohibited_html", render_all(&findings));
    // The sensitive-word guard sees `html` as well.
    let sensitive = reference.run(Guard::SensitiveWords, |_| {});
    assert_eq!(sensitive.len(), 1);
    assert_eq!(sensitive[0].column.as_deref(), Some("description_html"));
}

#[test]
fn prohibited_names_from_a_migration() {
    let reference = Reference::new();
    let findings = reference.run(Guard::ProhibitedReferences, |s| {
        let issues = table_mut(s, "issues");
        issues
            .columns
            .push(column("external_id", LogicalType::Integer, true));
        issues
            .columns
            .push(column("label_ids", LogicalType::Json, true));
        issues.columns.push(column(
            "cached_markdown_version",
            LogicalType::Integer,
            true,
        ));
        issues
            .columns
            .push(column("custom_attributes", LogicalType::Json, true));
        // A new foreign key to a tree table is a declared reference: allowed.
        issues
            .columns
            .push(column("moved_to_id", LogicalType::Integer, true));
        issues.foreign_keys.push(ForeignKey {
            columns: vec!["moved_to_id".into()],
            references_table: "issues".into(),
            references_columns: vec!["id".into()],
        });
        // A foreign key to a table outside the tenant is not a declared reference.
        issues
            .columns
            .push(column("audit_log_id", LogicalType::Integer, true));
        issues.foreign_keys.push(ForeignKey {
            columns: vec!["audit_log_id".into()],
            references_table: "audit_logs".into(),
            references_columns: vec!["id".into()],
        });
        // …and so is one to the users table.
        issues
            .columns
            .push(column("closed_by_id", LogicalType::Integer, true));
        issues.foreign_keys.push(ForeignKey {
            columns: vec!["closed_by_id".into()],
            references_table: "users".into(),
            references_columns: vec!["id".into()],
        });
    });
    let columns: Vec<_> = findings
        .iter()
        .map(|f| f.column.clone().unwrap_or_default())
        .collect();
    // cached_markdown_version is excluded for issues already: not exported, not reported.
    assert_eq!(
        columns,
        [
            "external_id",
            "label_ids",
            "custom_attributes",
            "audit_log_id"
        ]
    );
    insta::assert_snapshot!("prohibited_names", render_all(&findings));
}

#[test]
fn stale_snapshot_lists_every_difference() {
    let reference = Reference::new();
    let findings = reference.run(Guard::Snapshot, |s| {
        add_secret_sauce(s);
        add_issue_secrets(s);
        s.tables.retain(|t| t.name != "personal_access_tokens");
        let labels = table_mut(s, "labels");
        labels.columns.retain(|c| c.name != "description_html");
        if let Some(c) = labels.columns.iter_mut().find(|c| c.name == "color") {
            c.nullable = true;
            c.default = Some("'#FFFFFF'".into());
        }
        labels.unique_indexes.clear();
        let notes = table_mut(s, "notes");
        notes.foreign_keys.clear();
        notes.columns.swap(1, 2);
    });
    let rendered = render_all(&findings);
    assert!(
        findings
            .iter()
            .all(|f| f.guard == Guard::Snapshot && f.file == "schema.snapshot.json"),
        "{rendered}"
    );
    assert!(
        rendered.contains("column `issues.secret_sauce_token` (text null) is in the migrated database but not in schema.snapshot.json"),
        "{rendered}"
    );
    assert!(rendered.contains("run `forge schema dump`"), "{rendered}");
    insta::assert_snapshot!("snapshot_differences", rendered);
}

#[test]
fn snapshot_lines_point_into_the_snapshot() {
    let reference = Reference::new();
    let text = reference.schema.to_canonical_json();
    let findings = reference.run(Guard::Snapshot, |s| {
        let labels = table_mut(s, "labels");
        labels.columns.retain(|c| c.name != "description_html");
    });
    assert_eq!(findings.len(), 1);
    // The line of `"name": "description_html"` inside the labels table.
    let labels = line_of(&text, "\"name\": \"labels\"");
    let column = text
        .lines()
        .enumerate()
        .skip(labels)
        .find(|(_, l)| l.contains("\"name\": \"description_html\""))
        .map(|(i, _)| i + 1)
        .expect("column line");
    assert_eq!(findings[0].line, column);
}

#[test]
fn done_when_new_column_fails_with_table_column_and_file() {
    // Every schema guard at once, as `forge check` runs them.
    let reference = Reference::new();
    let (compiled, options) = reference.compile();
    let mut live = compiled.schema.clone();
    add_secret_sauce(&mut live);
    let findings = check(&compiled, &live, &options);
    let guards: Vec<Guard> = findings.iter().map(|f| f.guard).collect();
    assert_eq!(
        guards,
        [Guard::Attributes, Guard::SensitiveWords, Guard::Snapshot],
        "{}",
        render_all(&findings)
    );
    let first = findings[0].render();
    assert!(first.contains("issues.secret_sauce_token"), "{first}");
    assert!(first.starts_with("safe_model_attributes.yml:"), "{first}");
}

fn scan(reference: &Reference, feed: impl FnOnce(&mut ExportScanner<'_>)) -> Vec<Finding> {
    let (compiled, options) = reference.compile();
    let mut scanner = ExportScanner::new(&compiled, &options);
    feed(&mut scanner);
    scanner.finish()
}

fn object(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match v {
        serde_json::Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

#[test]
fn export_scan_walks_nested_records_and_json() {
    let reference = Reference::new();
    let findings = scan(&reference, |s| {
        s.root_record(
            "tree/project.json",
            &object(json!({"id": 1, "name": "p", "description": "d"})),
        );
        s.user(
            "tree/users.ndjson",
            1,
            &object(json!({"email": "a@b", "username": "a", "otp_secret": "x"})),
        );
        for line in 1..=2 {
            s.record(
                "tree/project/issues.ndjson",
                "issues",
                line,
                &object(json!({
                    "id": line, "title": "t", "reference": "#1",
                    "notes": [
                        {"id": 10, "note": "n", "note_html": "<p>n</p>",
                         "award_emoji": [{"id": 5, "name": "+1", "private_flag": true}]}
                    ],
                    "label_links": [{"id": 3, "label": {"id": 4, "title": "bug", "api_key": "k"}}],
                    "timelogs": []
                })),
            );
        }
        s.record(
            "tree/project/webhooks.ndjson",
            "webhooks",
            1,
            &object(json!({"id": 1, "url": "u", "settings": {"nested": [{"password": "p"}]}})),
        );
    });
    let keys: Vec<_> = findings
        .iter()
        .map(|f| {
            format!(
                "{}:{} {} {}",
                f.file,
                f.line,
                f.table,
                f.column.as_deref().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            "tree/users.ndjson:1 users otp_secret",
            "tree/project/issues.ndjson:1 notes notes[].note_html",
            "tree/project/issues.ndjson:1 award_emoji notes[].award_emoji[].private_flag",
            "tree/project/issues.ndjson:1 labels label_links[].label.api_key",
            "tree/project/webhooks.ndjson:1 webhooks settings.nested[].password",
        ]
    );
    assert!(
        findings[1].message.contains("seen 2 times"),
        "{}",
        findings[0].message
    );
    insta::assert_snapshot!("export_scan", render_all(&findings));
}

#[test]
fn export_scan_honours_the_safelist_and_names_methods() {
    let mut reference = Reference::new().edit_config(
        "  sensitive_safelist: {}\n",
        "  sensitive_safelist:\n    issues: [secret_sauce_token]\n",
    );
    add_secret_sauce(&mut reference.schema);
    let reference = reference.edit_config(
        "    - :reference\n  merge_requests",
        "    - :reference\n    - :private_url\n  merge_requests",
    );
    let findings = scan(&reference, |s| {
        s.record(
            "tree/project/issues.ndjson",
            "issues",
            1,
            &object(json!({"id": 1, "secret_sauce_token": {"token": "x"}, "private_url": "u", "upload_sha256": "ab"})),
        );
    });
    assert_eq!(findings.len(), 1, "{}", render_all(&findings));
    assert_eq!(findings[0].column.as_deref(), Some("private_url"));
    assert!(findings[0].fix.contains("rename method `private_url`"));
    insta::assert_snapshot!("export_scan_method", render_all(&findings));
}

#[test]
fn render_is_file_line_message_then_fix() {
    let f = Finding {
        guard: Guard::Snapshot,
        table: "t".into(),
        column: None,
        message: "m".into(),
        file: "schema.snapshot.json".into(),
        line: 7,
        col: 1,
        fix: "run `x`".into(),
    };
    assert_eq!(
        f.render(),
        "schema.snapshot.json:7: [snapshot guard] m\n    fix: run `x`"
    );
    assert_eq!(render_all(&[]), "");
    assert_eq!(
        render_all(std::slice::from_ref(&f)),
        format!("{}\n1 guard finding\n", f.render())
    );
    let names: Vec<_> = Guard::ALL.iter().map(|g| g.test_name()).collect();
    assert_eq!(
        names,
        [
            "guard_attributes",
            "guard_models",
            "guard_sensitive_words",
            "guard_prohibited_references",
            "guard_snapshot",
            "guard_export_scan"
        ]
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever columns a migration adds to `issues`, the attribute guard reports exactly
        /// them, the sensitive-word guard exactly those containing a default word, and the
        /// snapshot guard each of them once.
        #[test]
        fn every_new_column_is_reported_exactly_once(
            names in proptest::collection::btree_set("[a-z][a-z_]{0,14}", 1..6)
        ) {
            let reference = Reference::new();
            let (compiled, options) = reference.compile();
            let existing: BTreeSet<String> = compiled
                .schema
                .table("issues")
                .map(|t| t.columns.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default();
            let new: BTreeSet<String> = names.difference(&existing).cloned().collect();
            let mut live = compiled.schema.clone();
            for name in &new {
                table_mut(&mut live, "issues")
                    .columns
                    .push(column(name, LogicalType::Text, true));
            }
            let columns = |guard: Guard| -> BTreeSet<String> {
                check_guard(guard, &compiled, &live, &options)
                    .into_iter()
                    .filter_map(|f| f.column)
                    .collect()
            };
            prop_assert_eq!(columns(Guard::Attributes), new.clone());
            let sensitive: BTreeSet<String> = new
                .iter()
                .filter(|n| DEFAULT_SENSITIVE_WORDS.iter().any(|w| n.contains(w)))
                .cloned()
                .collect();
            prop_assert_eq!(columns(Guard::SensitiveWords), sensitive);
            prop_assert_eq!(
                check_guard(Guard::Snapshot, &compiled, &live, &options).len(),
                new.len()
            );
        }
    }
}

#[test]
fn remaining_message_kinds() {
    // A sensitive natural key of the users reference.
    let reference = Reference::new().edit_config(
        "natural_keys: [email, username]",
        "natural_keys: [email, encrypted_password]",
    );
    let findings = reference.run(Guard::SensitiveWords, |_| {});
    assert_eq!(findings.len(), 1, "{}", render_all(&findings));
    insta::assert_snapshot!("sensitive_word_natural_key", render_all(&findings));

    // cached_markdown_version where it is not excluded; a primary key, a new foreign key and a
    // new unique index in the snapshot guard.
    let reference = Reference::new();
    let grow = |s: &mut Schema| {
        let milestones = table_mut(s, "milestones");
        milestones.columns.push(column(
            "cached_markdown_version",
            LogicalType::Integer,
            true,
        ));
        milestones.unique_indexes.push(crate::schema::UniqueIndex {
            columns: vec!["title".into()],
        });
        milestones.foreign_keys.push(ForeignKey {
            columns: vec!["iid".into()],
            references_table: "issues".into(),
            references_columns: vec!["id".into()],
        });
        table_mut(s, "timelogs").primary_key = vec!["id".into(), "issue_id".into()];
    };
    let prohibited = reference.run(Guard::ProhibitedReferences, grow);
    assert_eq!(prohibited.len(), 1, "{}", render_all(&prohibited));
    insta::assert_snapshot!("prohibited_markdown_version", render_all(&prohibited));
    let snapshot = reference.run(Guard::Snapshot, grow);
    assert_eq!(snapshot.len(), 4, "{}", render_all(&snapshot));
    insta::assert_snapshot!("snapshot_additions", render_all(&snapshot));

    // A link column with a sensitive word (it cannot be excluded), and a relation and a column
    // with sensitive names in an archive.
    let schema = r#"{"format": 1, "tables": [
      {"name": "projects", "primary_key": ["id"], "foreign_keys": [], "unique_indexes": [],
       "columns": [{"name": "id", "type": "integer", "nullable": false}]},
      {"name": "issues", "primary_key": ["id"], "unique_indexes": [],
       "columns": [{"name": "id", "type": "integer", "nullable": false},
                   {"name": "project_id", "type": "integer", "nullable": false},
                   {"name": "secret_flag", "type": "boolean", "nullable": false}],
       "foreign_keys": [{"columns": ["project_id"], "references_table": "projects", "references_columns": ["id"]}]},
      {"name": "notes", "primary_key": ["id"], "unique_indexes": [],
       "columns": [{"name": "id", "type": "integer", "nullable": false},
                   {"name": "issue_key", "type": "integer", "nullable": false}],
       "foreign_keys": [{"columns": ["issue_key"], "references_table": "issues", "references_columns": ["id"]}]}
    ]}"#;
    let config = "format_version: 1\nroot: project\nassociations:\n  issues:\n    private_notes: { table: notes }\ntree:\n  project:\n    - issues:\n      - :private_notes\nguards:\n  sensitive_safelist:\n    issues: [secret_flag]\n";
    let inputs = Inputs {
        config: SourceFile::new("import_export.yml", config),
        attributes: Some(SourceFile::new(
            "safe_model_attributes.yml",
            "projects: [id]\nissues: [id, project_id, secret_flag]\nnotes: [id, issue_key]\n",
        )),
        schema: SourceFile::new("schema.snapshot.json", schema),
    };
    let compiled = match compile(&inputs) {
        Ok(c) => c,
        Err(d) => panic!("{}", d.render()),
    };
    let options = GuardOptions::new(&inputs, "app schema dump");
    let findings = check(&compiled, &compiled.schema, &options);
    assert_eq!(findings.len(), 1, "{}", render_all(&findings));
    assert_eq!(findings[0].column.as_deref(), Some("issue_key"));
    insta::assert_snapshot!("sensitive_word_link_column", render_all(&findings));

    // Without the safelist, the archive's sensitive keys are reported by origin.
    let mut unsafe_compiled = compiled.clone();
    unsafe_compiled.config.guards.sensitive_safelist.clear();
    let mut scanner = ExportScanner::new(&unsafe_compiled, &options);
    scanner.record(
        "tree/project/issues.ndjson",
        "issues",
        1,
        &object(json!({"id": 1, "project_id": 1, "secret_flag": true,
                       "private_notes": [{"id": 2, "issue_key": 1}]})),
    );
    let findings = scanner.finish();
    let columns: Vec<_> = findings
        .iter()
        .map(|f| f.column.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        columns,
        ["secret_flag", "private_notes", "private_notes[].issue_key"]
    );
    insta::assert_snapshot!("export_scan_origins", render_all(&findings));
}
