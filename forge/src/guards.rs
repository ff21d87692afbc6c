//! forge's side of hoist's guards: the live schema (forge's migrations applied to a fresh
//! in-memory SQLite database) and a sample export (a small seeded project), used by the generated
//! guard tests (`forge/tests/guards.rs`, `hoist::guard_tests!`) and by `forge check`.
//!
//! The config files are compiled into the binary ([`embedded_inputs`]), the same files
//! `hoist::tenant!` compiles into [`crate::tenant`], so `forge check` checks the config the binary
//! exports with; `forge check --config-dir DIR` reads them from disk instead.

use std::path::{Path, PathBuf};

use hoist::backend::Database;
use hoist::guards::{Inputs, SourceFile};
use hoist::schema::Schema;

use crate::ForgeError;
use crate::seed::{SeedOptions, seed};
use crate::transfer::{ExportRequest, export_project};

/// The command that rewrites `schema.snapshot.json` (named by the snapshot guard).
pub const DUMP_COMMAND: &str = "forge schema dump";

/// File names of the inputs, as findings name them (relative to the repository root).
pub const CONFIG_FILE: &str = "import_export.yml";
/// See [`CONFIG_FILE`].
pub const ATTRIBUTES_FILE: &str = "safe_model_attributes.yml";
/// See [`CONFIG_FILE`].
pub const SCHEMA_FILE: &str = "schema.snapshot.json";

const CONFIG: &str = include_str!("../../import_export.yml");
const ATTRIBUTES: &str = include_str!("../../safe_model_attributes.yml");
const SCHEMA: &str = include_str!("../../schema.snapshot.json");

/// The config files this binary was built with.
pub fn embedded_inputs() -> Inputs {
    Inputs {
        config: SourceFile::new(CONFIG_FILE, CONFIG),
        attributes: Some(SourceFile::new(ATTRIBUTES_FILE, ATTRIBUTES)),
        schema: SourceFile::new(SCHEMA_FILE, SCHEMA),
    }
}

/// The schema of a fresh in-memory SQLite database with forge's migrations applied.
pub async fn live_schema() -> Result<Schema, ForgeError> {
    live_schema_with(&[]).await
}

/// [`live_schema`] with extra SQL scripts applied after forge's migrations, in order (the guards'
/// own tests use this to play a new migration).
pub async fn live_schema_with(extra: &[String]) -> Result<Schema, ForgeError> {
    let db = Database::connect("sqlite::memory:").await?;
    let result = async {
        crate::migrate(&db).await?;
        for sql in extra {
            db.execute_script(sql).await?;
        }
        Ok::<_, ForgeError>(hoist::guards::live_schema(&db).await?)
    }
    .await;
    db.close().await;
    result
}

/// Seed a small project into a new SQLite database under `dir` and export it as an
/// administrator (everything exportable travels); returns the archive's path, in `dir`.
pub async fn export_sample(dir: &Path) -> Result<PathBuf, ForgeError> {
    let url = format!("sqlite://{}?mode=rwc", dir.join("sample.db").display());
    let uploads_dir = dir.join("uploads");
    let db = Database::connect(&url).await?;
    let result = async {
        crate::migrate(&db).await?;
        let report = seed(
            &db,
            &SeedOptions {
                projects: 2,
                issues: 20,
                seed: 1,
                users: 8,
                uploads_dir: uploads_dir.clone(),
            },
        )
        .await?;
        let project_id = *report
            .project_ids
            .first()
            .ok_or_else(|| ForgeError::Internal("the seed created no project".into()))?;
        let archive = dir.join("sample.tar.gz");
        export_project(&db, &ExportRequest::new(project_id, &archive, &uploads_dir)).await?;
        Ok(archive)
    }
    .await;
    db.close().await;
    result
}
