//! `forge export`: one project into one archive.

use std::time::Instant;

use serde_json::json;

use super::{Output, progress};
use crate::ForgeError;
use crate::cli::{ExportArgs, default_uploads_dir};
use crate::transfer::{ExportRequest, export_project};

/// Run `forge export`. JSON: `{"project_id", "archive", "bytes", "rows", "uploads", "relations",
/// "withheld", "import_limits", "seconds"}`; `import_limits` lists the `--limit` options an import
/// of this archive needs (empty when the defaults admit it).
pub async fn run(args: &ExportArgs, json_output: bool) -> Result<Output, ForgeError> {
    let uploads_dir = args
        .uploads_dir
        .clone()
        .unwrap_or_else(|| default_uploads_dir(&args.db.database_url));
    let mut req = ExportRequest::new(args.project, &args.output, &uploads_dir);
    req.as_user = args.as_user.clone();
    req.overwrite = args.force;
    req.batch_size = args.batch_size;
    req.progress = progress::sink(json_output);
    req.cancel = progress::cancel_on_ctrl_c();
    let db = super::connect(&args.db.database_url).await?;
    let started = Instant::now();
    let result = export_project(&db, &req).await;
    db.close().await;
    let summary = result?;
    let seconds = started.elapsed().as_secs_f64();
    let mut human = format!(
        "exported project {} ({} records, {} uploads) to {} ({} bytes) in {seconds:.2}s",
        args.project,
        summary.rows,
        summary.uploads,
        summary.archive.display(),
        summary.bytes
    );
    let import_limits: Vec<String> = summary
        .needed
        .beyond(&hoist::archive::Limits::default())
        .iter()
        .map(|setting| format!("--limit {setting}"))
        .collect();
    if !import_limits.is_empty() {
        human.push_str(&format!(
            "\nthis archive is larger than the import's default limits: import it with {}",
            import_limits.join(" ")
        ));
    }
    for (relation, n) in &summary.withheld {
        human.push_str(&format!(
            "\nwithheld {n} record(s) of {relation}: they point at records this export leaves out"
        ));
    }
    Ok(Output {
        json: json!({
            "project_id": args.project,
            "archive": summary.archive,
            "bytes": summary.bytes,
            "rows": summary.rows,
            "uploads": summary.uploads,
            "relations": summary.relations,
            "withheld": summary.withheld,
            "import_limits": import_limits,
            "seconds": seconds,
        }),
        human,
    })
}
