//! Each guard bites: a migration or a config edit that should trip it does, with the exact
//! finding, both through what the generated guard tests run and through `forge check`.
//!
//! New migrations are played with `forge::guards::live_schema_with` (extra SQL after forge's own
//! migrations) and, for the binary, with the hidden `forge check --extra-migration FILE` option;
//! config edits are throwaway copies of the built-in config.

use std::path::Path;
use std::process::{Command, Output};

use forge::guards::{DUMP_COMMAND, embedded_inputs, live_schema, live_schema_with};
use hoist::__private::v1::guards::{self as harness, Failure, Spec};
use hoist::backend::testing::{TestDb, TestDbKind};
use hoist::guards::{Finding, Guard, GuardSuite, Inputs, render_all};

const SECRET_SAUCE: &str = "ALTER TABLE issues ADD COLUMN secret_sauce_token TEXT;";
const ISSUE_SECRETS: &str = "CREATE TABLE issue_secrets (\
    id INTEGER PRIMARY KEY AUTOINCREMENT, \
    issue_id INTEGER NOT NULL REFERENCES issues(id), \
    value TEXT NOT NULL);";

/// What `hoist::guard_tests!` in `tests/guards.rs` passes to the harness.
const SPEC: Spec = Spec {
    manifest_dir: env!("CARGO_MANIFEST_DIR"),
    config: "../import_export.yml",
    attributes: "../safe_model_attributes.yml",
    schema: "../schema.snapshot.json",
    dump_command: DUMP_COMMAND,
};

/// The 1-based line where `needle` starts in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not found"));
    text[..at].matches('\n').count() + 1
}

fn suite(inputs: &Inputs) -> GuardSuite {
    GuardSuite::new(inputs, DUMP_COMMAND).unwrap_or_else(|e| panic!("{e}"))
}

/// Inputs with `from` replaced by `to` in the config (and in the attributes, when given).
fn edited(config: (&str, &str), attributes: Option<(&str, &str)>) -> Inputs {
    let mut inputs = embedded_inputs();
    assert!(inputs.config.text.contains(config.0), "{:?}", config.0);
    inputs.config.text = inputs.config.text.replacen(config.0, config.1, 1);
    if let (Some((from, to)), Some(a)) = (attributes, inputs.attributes.as_mut()) {
        assert!(a.text.contains(from), "{from:?}");
        a.text = a.text.replacen(from, to, 1);
    }
    inputs
}

fn findings_of(result: Result<(), Failure>) -> Vec<Finding> {
    match result {
        Ok(()) => Vec::new(),
        Err(Failure::Findings(_, findings)) => findings,
        Err(Failure::Error(e)) => panic!("the guard could not run: {e}"),
    }
}

async fn live(extra: &[&str]) -> hoist::schema::Schema {
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    live_schema_with(&extra)
        .await
        .unwrap_or_else(|e| panic!("{}", e.one_line()))
}

#[tokio::test]
async fn the_clean_tree_passes_every_schema_guard() {
    let live = live_schema().await.expect("live schema");
    let findings = suite(&embedded_inputs()).check(&live);
    assert!(findings.is_empty(), "{}", render_all(&findings));
    // The embedded inputs are the files on disk.
    let on_disk = SPEC.suite().expect("inputs on disk");
    assert!(on_disk.check(&live).is_empty());
}

/// The done-when: a migration adding `issues.secret_sauce_token` fails the generated attribute
/// test with a message naming the column and `safe_model_attributes.yml`.
#[test]
fn a_new_column_fails_the_attribute_guard_test() {
    let result = harness::schema_guard(&SPEC, Guard::Attributes, async || {
        live_schema_with(&[SECRET_SAUCE.to_string()]).await
    });
    let failure = result.expect_err("the attribute guard must fail");
    let text = failure.to_string();
    assert!(text.contains("issues.secret_sauce_token"), "{text}");
    assert!(text.contains("safe_model_attributes.yml"), "{text}");
    let Failure::Findings(guard, findings) = failure else {
        panic!("not findings: {text}")
    };
    assert_eq!(guard, Guard::Attributes);
    let attributes = std::fs::read_to_string(Path::new(SPEC.manifest_dir).join(SPEC.attributes))
        .expect("attributes file");
    assert_eq!(
        findings,
        [Finding {
            guard: Guard::Attributes,
            table: "issues".into(),
            column: Some("secret_sauce_token".into()),
            message: "`issues.secret_sauce_token` is not classified: it would be exported with `issues` but ../safe_model_attributes.yml does not list it".into(),
            file: "../safe_model_attributes.yml".into(),
            line: line_of(&attributes, "\nissues:") + 1,
            col: 1,
            fix: "../safe_model_attributes.yml: add `secret_sauce_token` under `issues:` (or exclude it in ../import_export.yml excluded_attributes.issues)".into(),
        }]
    );
    // The same migration leaves the model and prohibited-reference guards passing…
    for guard in [Guard::Models, Guard::ProhibitedReferences] {
        let result = harness::schema_guard(&SPEC, guard, async || {
            live_schema_with(&[SECRET_SAUCE.to_string()]).await
        });
        assert!(
            result.is_ok(),
            "{guard}: {}",
            result.err().map(|f| f.to_string()).unwrap_or_default()
        );
    }
    // …and trips the sensitive-word and snapshot guards.
    for guard in [Guard::SensitiveWords, Guard::Snapshot] {
        let findings = findings_of(harness::schema_guard(&SPEC, guard, async || {
            live_schema_with(&[SECRET_SAUCE.to_string()]).await
        }));
        assert_eq!(findings.len(), 1, "{guard}: {}", render_all(&findings));
        assert_eq!(findings[0].column.as_deref(), Some("secret_sauce_token"));
    }
}

#[test]
fn a_table_with_a_foreign_key_to_issues_fails_the_model_guard_test() {
    let findings = findings_of(harness::schema_guard(&SPEC, Guard::Models, async || {
        live_schema_with(&[ISSUE_SECRETS.to_string()]).await
    }));
    let config = embedded_inputs().config.text;
    assert_eq!(
        findings,
        [Finding {
            guard: Guard::Models,
            table: "issue_secrets".into(),
            column: Some("issue_id".into()),
            message: "table `issue_secrets` is linked to the tenant (foreign key `issue_secrets.issue_id` → `issues`) but is neither in `tree` nor listed in `not_exported`: its rows would silently stay behind".into(),
            file: "../import_export.yml".into(),
            line: line_of(&config, "\nnot_exported:") + 1,
            col: 1,
            fix: "../import_export.yml: add `:issue_secrets` to `tree` under `issues` (project → issues), or list it under `not_exported:` as `issue_secrets: <why it stays behind>`".into(),
        }]
    );
}

#[tokio::test]
async fn an_exported_sensitive_column_fails_the_sensitive_word_guard() {
    // A copy of the config that stops treating webhooks.token as a token (and a copy of the
    // attributes that lists it): it would be exported.
    let inputs = edited(
        ("  webhooks: [token]\n", ""),
        Some((
            "  - url\n  - push_events\n",
            "  - url\n  - token\n  - push_events\n",
        )),
    );
    let findings = suite(&inputs).check_guard(Guard::SensitiveWords, &live(&[]).await);
    let line = line_of(&inputs.config.text, "\nexcluded_attributes:") + 1;
    assert_eq!(
        findings,
        [Finding {
            guard: Guard::SensitiveWords,
            table: "webhooks".into(),
            column: Some("token".into()),
            message: "exported column `webhooks.token` contains the sensitive word `token`: it would travel in every archive".into(),
            file: "import_export.yml".into(),
            line,
            col: 1,
            fix: "import_export.yml: add `:token` under excluded_attributes.webhooks (or under tokens.webhooks if it is a secret to regenerate on import); if it is not sensitive, list it under guards.sensitive_safelist.webhooks".into(),
        }]
    );
    // Safelisting it makes the guard pass.
    let mut safelisted = inputs.clone();
    safelisted.config.text = safelisted.config.text.replacen(
        "  sensitive_safelist: {}\n",
        "  sensitive_safelist:\n    webhooks: [token]\n",
        1,
    );
    assert!(
        suite(&safelisted)
            .check_guard(Guard::SensitiveWords, &live(&[]).await)
            .is_empty()
    );
}

#[tokio::test]
async fn an_exported_html_column_fails_the_prohibited_reference_guard() {
    let inputs = edited(
        ("  notes:\n    - :note_html\n", "  notes:\n"),
        Some(("  - note\n", "  - note\n  - note_html\n")),
    );
    let findings = suite(&inputs).check_guard(Guard::ProhibitedReferences, &live(&[]).await);
    let line = line_of(
        &inputs.config.text,
        "\n  notes:\n    - :cached_markdown_version",
    ) + 1;
    assert_eq!(
        findings,
        [Finding {
            guard: Guard::ProhibitedReferences,
            table: "notes".into(),
            column: Some("note_html".into()),
            message: "exported column `notes.note_html` is rendered HTML (`*_html`): the importer drops it, since markup rendered elsewhere was never sanitized here; it is re-rendered from its source".into(),
            file: "import_export.yml".into(),
            line,
            col: 3,
            fix: "import_export.yml: add `:note_html` under excluded_attributes.notes".into(),
        }]
    );
}

#[tokio::test]
async fn a_migration_without_a_new_dump_fails_the_snapshot_guard() {
    let live =
        live(&["ALTER TABLE milestones ADD COLUMN weight INTEGER NOT NULL DEFAULT 0;"]).await;
    let findings = suite(&embedded_inputs()).check_guard(Guard::Snapshot, &live);
    let snapshot = embedded_inputs().schema.text;
    assert_eq!(
        findings,
        [Finding {
            guard: Guard::Snapshot,
            table: "milestones".into(),
            column: Some("weight".into()),
            message: "column `milestones.weight` (integer not null default 0) is in the migrated database but not in schema.snapshot.json".into(),
            file: "schema.snapshot.json".into(),
            line: line_of(&snapshot, "\"name\": \"milestones\""),
            col: 1,
            fix: "run `forge schema dump` to rewrite schema.snapshot.json from the migrations (never edit it by hand), then rebuild".into(),
        }]
    );
}

fn forge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_forge"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("the forge binary runs")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[test]
fn forge_check_passes_on_the_clean_tree() {
    let out = forge(&["check"]);
    assert!(
        out.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("all 6 guards passed"), "{stdout}");
}

/// The done-when, end to end: `forge check` with the migration exits 1 with the same finding.
#[test]
fn forge_check_fails_on_a_new_column_with_the_finding() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sql = dir.path().join("0002_secret_sauce.sql");
    std::fs::write(&sql, SECRET_SAUCE).expect("write migration");
    let sql = sql.display().to_string();
    let out = forge(&["check", "--no-export-scan", "--extra-migration", &sql]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let attributes = embedded_inputs().attributes.expect("attributes").text;
    let line = line_of(&attributes, "\nissues:") + 1;
    let expected = format!(
        "safe_model_attributes.yml:{line}: [attribute guard] `issues.secret_sauce_token` is not classified: it would be exported with `issues` but safe_model_attributes.yml does not list it\n    fix: safe_model_attributes.yml: add `secret_sauce_token` under `issues:` (or exclude it in import_export.yml excluded_attributes.issues)\n"
    );
    assert!(stdout.starts_with(&expected), "{stdout}");
    // The sensitive-word and snapshot guards fail as well; every finding line is FILE:LINE: …
    assert!(stdout.contains("[sensitive-word guard]"), "{stdout}");
    assert!(stdout.contains("[snapshot guard]"), "{stdout}");
    assert!(stdout.ends_with("3 guard findings\n"), "{stdout}");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error: 3 guard finding(s)"), "{stderr}");

    // With --json: one JSON object on stdout.
    let out = forge(&[
        "check",
        "--json",
        "--no-export-scan",
        "--extra-migration",
        &sql,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(json["passed"], false);
    assert_eq!(json["findings"][0]["guard"], "attribute");
    assert_eq!(json["findings"][0]["table"], "issues");
    assert_eq!(json["findings"][0]["column"], "secret_sauce_token");
    assert_eq!(json["findings"][0]["file"], "safe_model_attributes.yml");
    assert_eq!(json["findings"][0]["line"], line);
}

#[test]
fn forge_check_fails_on_a_table_linked_to_issues() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sql = dir.path().join("0002_issue_secrets.sql");
    std::fs::write(&sql, ISSUE_SECRETS).expect("write migration");
    let out = forge(&[
        "check",
        "--no-export-scan",
        "--extra-migration",
        &sql.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("[model guard] table `issue_secrets` is linked to the tenant (foreign key `issue_secrets.issue_id` → `issues`)"),
        "{stdout}"
    );
}

#[test]
fn forge_check_reads_config_files_from_a_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let inputs = embedded_inputs();
    let attributes = inputs.attributes.as_ref().expect("attributes").text.clone();
    // Drop `issues.title` from the classification (issues is the first table listing `title`).
    let issues = attributes.find("\nissues:").expect("issues key");
    let title = issues
        + attributes[issues..]
            .find("  - title\n")
            .expect("issues.title");
    let edited = format!(
        "{}{}",
        &attributes[..title],
        &attributes[title + "  - title\n".len()..]
    );
    std::fs::write(dir.path().join("import_export.yml"), &inputs.config.text).expect("write");
    std::fs::write(dir.path().join("safe_model_attributes.yml"), &edited).expect("write");
    std::fs::write(dir.path().join("schema.snapshot.json"), &inputs.schema.text).expect("write");
    let config_dir = dir.path().display().to_string();
    let out = forge(&["check", "--no-export-scan", "--config-dir", &config_dir]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let file = dir
        .path()
        .join("safe_model_attributes.yml")
        .display()
        .to_string();
    let line = line_of(&edited, "\nissues:") + 1;
    assert!(
        stdout.starts_with(&format!(
            "{file}:{line}: [attribute guard] `issues.title` is not classified"
        )),
        "{stdout}"
    );
    assert!(stdout.ends_with("1 guard finding\n"), "{stdout}");

    // A missing file is an error naming it and what writes it.
    std::fs::remove_file(dir.path().join("schema.snapshot.json")).expect("remove");
    let out = forge(&["check", "--no-export-scan", "--config-dir", &config_dir]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("schema.snapshot.json"), "{stderr}");
    assert!(stderr.contains("forge schema dump"), "{stderr}");
}

/// `--database-url` checks that database as it is: forge's migrations on every backend give the
/// snapshot's schema, so every schema guard passes.
#[tokio::test]
async fn forge_check_introspects_a_given_database_on_every_backend() {
    for kind in TestDbKind::ALL {
        let Some(t) = TestDb::create(kind).await else {
            continue;
        };
        let db = t.connect().await;
        forge::migrate(&db).await.expect("migrate");
        db.close().await;
        let out = forge(&["check", "--no-export-scan", "--database-url", t.url()]);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        t.drop_db().await;
        assert!(
            out.status.success(),
            "{kind:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        assert!(stdout.contains("all 5 guards passed"), "{kind:?}: {stdout}");
    }
}

#[test]
fn forge_check_refuses_extra_migrations_on_a_given_database() {
    let t = TestDb::sqlite();
    let out = forge(&[
        "check",
        "--database-url",
        t.url(),
        "--extra-migration",
        "x.sql",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("--extra-migration"), "{stderr}");
    assert!(stderr.contains("never writes"), "{stderr}");
}

/// The export scan reads every member of a real export, nested records included: with a word
/// list that matches ordinary keys, it reports them where they occur.
#[tokio::test]
async fn the_export_scan_reads_every_key_of_a_real_export() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = forge::guards::export_sample(dir.path())
        .await
        .unwrap_or_else(|e| panic!("{}", e.one_line()));
    let inputs = edited(
        (
            "  sensitive_words: [pass, secret, token, key, encrypted, html, salt, otp, credential, private]\n",
            "  sensitive_words: [title, email, color]\n",
        ),
        None,
    );
    let findings = suite(&inputs).scan_archive(&archive).expect("scan");
    let found: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f.file.as_str(), f.column.as_deref().unwrap_or("")))
        .collect();
    for expected in [
        ("tree/users.ndjson", "email"),
        ("tree/project/labels.ndjson", "title"),
        ("tree/project/labels.ndjson", "color"),
        ("tree/project/labels.ndjson", "text_color"),
        ("tree/project/issues.ndjson", "title"),
        ("tree/project/issues.ndjson", "label_links[].label.title"),
        (
            "tree/project/issues.ndjson",
            "label_links[].label.text_color",
        ),
        ("tree/project/merge_requests.ndjson", "title"),
    ] {
        assert!(found.contains(&expected), "{expected:?} not in {found:?}");
    }
    let method = findings
        .iter()
        .find(|f| f.column.as_deref() == Some("text_color"))
        .expect("text_color");
    assert!(
        method.fix.contains("rename method `text_color`"),
        "{}",
        method.fix
    );
    // One finding per (table, key path): the labels nested under merge requests repeat the path
    // first seen under issues and are counted there.
    assert!(!found.contains(&(
        "tree/project/merge_requests.ndjson",
        "label_links[].label.color"
    )));
    // The default word list finds nothing in the same archive: the clean export passes.
    let clean = suite(&embedded_inputs())
        .scan_archive(&archive)
        .expect("scan");
    assert!(clean.is_empty(), "{}", render_all(&clean));
}
