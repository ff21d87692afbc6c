//! `forge import`: one archive as a new project.

use std::time::Instant;

use serde_json::json;

use super::{Output, progress};
use crate::ForgeError;
use crate::cli::{ImportArgs, default_uploads_dir};
use crate::transfer::{ImportRequest, import_archive};

/// Run `forge import`. JSON: `{"project_id", "rows", "uploads", "relations", "warnings", "seconds"}`.
pub async fn run(args: &ImportArgs, json_output: bool) -> Result<Output, ForgeError> {
    let uploads_dir = args
        .uploads_dir
        .clone()
        .unwrap_or_else(|| default_uploads_dir(&args.db.database_url));
    let mut req = ImportRequest::new(&args.archive, &uploads_dir);
    req.user = args.user.clone();
    req.path = args.path.clone();
    req.name = args.name.clone();
    req.batch_size = args.batch_size;
    req.limits = args.limits.limits();
    req.progress = progress::sink(json_output);
    req.cancel = progress::cancel_on_ctrl_c();
    let db = super::connect(&args.db.database_url).await?;
    let started = Instant::now();
    let result = import_archive(&db, &req).await;
    db.close().await;
    let summary = result?;
    let seconds = started.elapsed().as_secs_f64();
    let mut human = format!(
        "imported {} as project {} ({} rows, {} uploads) in {seconds:.2}s",
        args.archive.display(),
        summary.root_id,
        summary.rows,
        summary.uploads
    );
    for w in &summary.warnings {
        human.push_str(&format!("\nwarning: {w}"));
    }
    Ok(Output {
        json: json!({
            "project_id": summary.root_id,
            "rows": summary.rows,
            "uploads": summary.uploads,
            "relations": summary.relations,
            "warnings": summary.warnings,
            "seconds": seconds,
        }),
        human,
    })
}
