//! `forge migrate`: apply the embedded migrations.

use serde_json::json;

use super::Output;
use crate::ForgeError;
use crate::cli::MigrateArgs;
use crate::migrate::{MIGRATIONS, migrate};

/// Run `forge migrate`. JSON: `{"dialect": "sqlite", "version": 1}` (the schema version now applied).
pub async fn run(args: &MigrateArgs) -> Result<Output, ForgeError> {
    let db = super::connect(&args.db.database_url).await?;
    let dialect = db.dialect().as_str();
    let result = migrate(&db).await;
    db.close().await;
    result?;
    let version = MIGRATIONS.last().map_or(0, |m| m.version);
    Ok(Output {
        json: json!({ "dialect": dialect, "version": version }),
        human: format!("{dialect} database migrated to version {version}"),
    })
}
