//! `forge seed`: fill the database with deterministic data.

use super::Output;
use crate::ForgeError;
use crate::cli::{SeedArgs, default_uploads_dir};
use crate::seed::{SeedOptions, seed};

/// Run `forge seed`. JSON: `{"project_ids": [...], "rows": {"table": count, ...}}`.
pub async fn run(args: &SeedArgs) -> Result<Output, ForgeError> {
    let opts = SeedOptions {
        projects: args.projects,
        issues: args.issues,
        seed: args.seed,
        users: args.users,
        uploads_dir: args
            .uploads_dir
            .clone()
            .unwrap_or_else(|| default_uploads_dir(&args.db.database_url)),
    };
    let db = super::connect(&args.db.database_url).await?;
    let started = std::time::Instant::now();
    let result = seed(&db, &opts).await;
    db.close().await;
    let report = result?;
    let human = format!(
        "seeded {} project(s) {:?} with {} rows in {:.1}s (uploads in {})",
        report.project_ids.len(),
        report.project_ids,
        report.total_rows(),
        started.elapsed().as_secs_f64(),
        opts.uploads_dir.display()
    );
    Ok(Output {
        json: serde_json::to_value(&report)?,
        human,
    })
}
