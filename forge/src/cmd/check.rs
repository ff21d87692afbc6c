//! `forge check`: hoist's guards without cargo — the same checks as the generated guard tests
//! (`forge/tests/guards.rs`), printed as `FILE:LINE: message` lines.
//!
//! The schema guards (attribute, model, sensitive-word, prohibited-reference, snapshot) compare
//! the config with a live schema: by default a fresh in-memory SQLite database migrated with
//! forge's migrations; with `--database-url`, that database as it is (nothing is written to it).
//! The export scan seeds a small project into a temporary SQLite database, exports it and scans
//! every key of the archive. Exit code 0 when every guard passes, 1 on any finding (or when the
//! guards cannot run).
//!
//! For tests, the hidden option `--extra-migration FILE` (repeatable) applies the SQL in FILE to
//! the in-memory database after forge's migrations: it plays a new migration without changing
//! forge.

use std::path::{Path, PathBuf};

use clap::Args;
use hoist::guards::{Finding, Guard, GuardSuite, InputPaths, render_all};
use hoist::schema::Schema;
use serde_json::json;

use super::Output;
use crate::ForgeError;
use crate::guards::{
    ATTRIBUTES_FILE, CONFIG_FILE, DUMP_COMMAND, SCHEMA_FILE, embedded_inputs, export_sample,
    live_schema_with,
};

/// `forge check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Check this database's schema instead of a fresh in-memory SQLite database migrated with
    /// forge's migrations (only read; not taken from DATABASE_URL).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Read import_export.yml, safe_model_attributes.yml and schema.snapshot.json from DIR
    /// instead of the copies built into forge.
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// Skip the export scan (seeding and exporting a sample project).
    #[arg(long)]
    pub no_export_scan: bool,
    /// Testing aid: apply the SQL in FILE after forge's migrations to the in-memory database
    /// (repeatable, in order).
    #[arg(long, value_name = "FILE", hide = true)]
    pub extra_migration: Vec<PathBuf>,
}

/// Run `forge check`. On success, JSON `{"passed": true, "guards": [...], "findings": []}`. On
/// findings, the rendered findings (or that JSON object with `"passed": false`) go to stdout and
/// the command fails with [`ForgeError::GuardsFailed`].
pub async fn run(args: &CheckArgs, json_output: bool) -> Result<Output, ForgeError> {
    let suite = load_suite(args.config_dir.as_deref())?;
    let live = live(args).await?;
    let mut findings = suite.check(&live);
    let mut guards: Vec<Guard> = Guard::SCHEMA.to_vec();
    if !args.no_export_scan {
        findings.extend(export_scan(&suite).await?);
        guards.push(Guard::ExportScan);
    }
    let names: Vec<&str> = guards.iter().map(|g| g.as_str()).collect();
    let json = json!({
        "passed": findings.is_empty(),
        "guards": names,
        "findings": findings.iter().map(finding_json).collect::<Vec<_>>(),
    });
    if findings.is_empty() {
        let source = match &args.database_url {
            Some(_) => "the given database",
            None => "forge's migrations",
        };
        return Ok(Output {
            json,
            human: format!(
                "all {} guards passed ({}) against {source}",
                guards.len(),
                names.join(", ")
            ),
        });
    }
    if json_output {
        println!("{json}");
    } else {
        print!("{}", render_all(&findings));
    }
    Err(ForgeError::GuardsFailed {
        count: findings.len(),
    })
}

/// The guards' inputs: from `dir`, or the copies built into forge.
fn load_suite(dir: Option<&Path>) -> Result<GuardSuite, ForgeError> {
    let suite = match dir {
        None => GuardSuite::new(&embedded_inputs(), DUMP_COMMAND)?,
        Some(dir) => {
            // Messages name the files as the user would open them.
            let path = |name: &str| {
                if dir == Path::new(".") {
                    PathBuf::from(name)
                } else {
                    dir.join(name)
                }
            };
            GuardSuite::load(
                Path::new("."),
                &InputPaths {
                    config: path(CONFIG_FILE),
                    attributes: Some(path(ATTRIBUTES_FILE)),
                    schema: path(SCHEMA_FILE),
                },
                DUMP_COMMAND,
            )?
        }
    };
    Ok(suite)
}

/// The live schema: the given database's, or forge's migrations (plus the extra ones) applied to
/// a fresh in-memory database.
async fn live(args: &CheckArgs) -> Result<Schema, ForgeError> {
    if let Some(url) = &args.database_url {
        if !args.extra_migration.is_empty() {
            return Err(ForgeError::InvalidOption {
                option: "--extra-migration",
                reason: "applies only to the default in-memory database; forge check never writes to --database-url".into(),
            });
        }
        let db = super::connect(url).await?;
        let schema = hoist::guards::live_schema(&db).await;
        db.close().await;
        return Ok(schema?);
    }
    let mut extra = Vec::with_capacity(args.extra_migration.len());
    for path in &args.extra_migration {
        let sql = tokio::fs::read_to_string(path)
            .await
            .map_err(|source| ForgeError::Io {
                action: "reading extra migration",
                path: path.clone(),
                source,
            })?;
        extra.push(sql);
    }
    live_schema_with(&extra).await
}

/// Export a sample project into a temporary directory and scan the archive.
async fn export_scan(suite: &GuardSuite) -> Result<Vec<Finding>, ForgeError> {
    let dir = tempfile::tempdir().map_err(|source| ForgeError::Io {
        action: "creating a temporary directory for the sample export",
        path: std::env::temp_dir(),
        source,
    })?;
    let archive = export_sample(dir.path()).await?;
    let suite = suite.clone();
    let findings = tokio::task::spawn_blocking(move || suite.scan_archive(&archive))
        .await
        .map_err(|e| ForgeError::Internal(format!("the export scan task failed: {e}")))??;
    Ok(findings)
}

fn finding_json(f: &Finding) -> serde_json::Value {
    json!({
        "guard": f.guard.as_str(),
        "table": f.table,
        "column": f.column,
        "message": f.message,
        "file": f.file,
        "line": f.line,
        "col": f.col,
        "fix": f.fix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cargo runs unit tests in the package directory: `..` is the repository root.
    #[test]
    fn config_dir_files_are_named_as_given_and_equal_the_built_in_ones() {
        let on_disk = load_suite(Some(Path::new(".."))).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(on_disk.options().config_file(), "../import_export.yml");
        assert_eq!(
            on_disk.options().attributes_file(),
            "../safe_model_attributes.yml"
        );
        let built_in = load_suite(None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(built_in.options().schema_file(), "schema.snapshot.json");
        assert_eq!(on_disk.compiled().plan, built_in.compiled().plan);
    }

    #[test]
    fn findings_serialize_every_field() {
        let f = Finding {
            guard: Guard::Models,
            table: "t".into(),
            column: Some("c".into()),
            message: "m".into(),
            file: "import_export.yml".into(),
            line: 3,
            col: 5,
            fix: "x".into(),
        };
        assert_eq!(
            finding_json(&f),
            json!({"guard": "model", "table": "t", "column": "c", "message": "m",
                   "file": "import_export.yml", "line": 3, "col": 5, "fix": "x"})
        );
    }
}
