//! `forge schema dump`: write the canonical schema snapshot that builds compile against.

use std::path::Path;

use serde_json::json;

use super::Output;
use crate::ForgeError;
use crate::cli::SchemaDumpArgs;

/// Tables that belong to the migration machinery, not to forge.
const SKIP: &[&str] = &["_sqlx_migrations"];

/// Run `forge schema dump`: introspect the database (default: a fresh in-memory SQLite migrated with
/// forge's migrations) and write `schema.snapshot.json`. JSON: `{"output", "tables", "changed"}`.
pub async fn run(args: &SchemaDumpArgs) -> Result<Output, ForgeError> {
    let url = args.database_url.as_deref().unwrap_or("sqlite::memory:");
    let db = super::connect(url).await?;
    let result = async {
        if args.database_url.is_none() {
            crate::migrate(&db).await?;
        }
        Ok::<_, ForgeError>(db.introspect(SKIP).await?)
    }
    .await;
    db.close().await;
    let schema = result?;
    let text = schema.to_canonical_json();
    let changed = write_if_changed(&args.output, &text)?;
    Ok(Output {
        json: json!({ "output": args.output, "tables": schema.tables.len(), "changed": changed }),
        human: format!(
            "{} {} ({} tables)",
            if changed { "wrote" } else { "unchanged:" },
            args.output.display(),
            schema.tables.len()
        ),
    })
}

fn write_if_changed(path: &Path, text: &str) -> Result<bool, ForgeError> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    let io = |source| ForgeError::Io {
        action: "writing the schema snapshot",
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    std::fs::write(tmp.path(), text).map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(true)
}
