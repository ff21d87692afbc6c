//! `forge demo`: the whole story on SQLite, in one command — seed a source database, export a
//! project, import it into a fresh target, export it again, and check that both archives are
//! equivalent (same records and files, up to fresh ids).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;

use super::{Output, progress};
use crate::ForgeError;
use crate::cli::DemoArgs;
use crate::seed::{SeedOptions, seed};
use crate::tenant::PLAN;
use crate::transfer::{ExportRequest, ImportRequest, export_project, import_archive};

/// Files and directories the demo creates in its directory (and removes from an earlier run).
const ARTIFACTS: &[&str] = &[
    "source.db",
    "source.db-wal",
    "source.db-shm",
    "target.db",
    "target.db-wal",
    "target.db-shm",
    "source-uploads",
    "target-uploads",
    "project.tar.gz",
    "roundtrip.tar.gz",
];

/// Run `forge demo`. Fails (exit 1) unless the round trip is equivalent.
pub async fn run(args: &DemoArgs, json_output: bool) -> Result<Output, ForgeError> {
    let dir = &args.dir;
    std::fs::create_dir_all(dir).map_err(io("creating the demo directory", dir))?;
    for name in ARTIFACTS {
        let path = dir.join(name);
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        if let Err(e) = removed
            && e.kind() != std::io::ErrorKind::NotFound
        {
            return Err(io("cleaning the demo directory", &path)(e));
        }
    }
    let sink = progress::sink(json_output);
    let cancel = progress::cancel_on_ctrl_c();
    let started = Instant::now();

    // 1. Source: migrate and seed.
    let source_uploads = dir.join("source-uploads");
    let source = super::connect(&sqlite_url(&dir.join("source.db"))).await?;
    crate::migrate(&source).await?;
    let seeded = seed(
        &source,
        &SeedOptions {
            projects: 2,
            issues: args.issues,
            seed: args.seed,
            users: 50,
            uploads_dir: source_uploads.clone(),
        },
    )
    .await?;
    let project = *seeded
        .project_ids
        .first()
        .ok_or_else(|| ForgeError::Internal("the seed created no project".into()))?;
    let seed_s = started.elapsed().as_secs_f64();

    // 2. Export it.
    let archive = dir.join("project.tar.gz");
    let t = Instant::now();
    let mut req = ExportRequest::new(project, &archive, &source_uploads);
    req.progress = sink.clone();
    req.cancel = cancel.clone();
    let exported = export_project(&source, &req).await?;
    let export_s = t.elapsed().as_secs_f64();
    source.close().await;

    // 3. Target: migrate, the same users (they are shared, not part of the tenant), import.
    let target_uploads = dir.join("target-uploads");
    let target = super::connect(&sqlite_url(&dir.join("target.db"))).await?;
    crate::migrate(&target).await?;
    seed(
        &target,
        &SeedOptions {
            projects: 0,
            issues: 0,
            seed: args.seed,
            users: 50,
            uploads_dir: target_uploads.clone(),
        },
    )
    .await?;
    let t = Instant::now();
    let mut req = ImportRequest::new(&archive, &target_uploads);
    req.progress = sink.clone();
    req.cancel = cancel.clone();
    let imported = import_archive(&target, &req).await?;
    let import_s = t.elapsed().as_secs_f64();

    // 4. Export the imported project again and compare.
    let roundtrip = dir.join("roundtrip.tar.gz");
    let mut req = ExportRequest::new(imported.root_id, &roundtrip, &target_uploads);
    req.progress = sink;
    req.cancel = cancel;
    export_project(&target, &req).await?;
    target.close().await;
    let (a, b) = (archive.clone(), roundtrip.clone());
    let differences =
        tokio::task::spawn_blocking(move || hoist::compare::compare(&PLAN, &a, &b, &[], 20))
            .await
            .map_err(|e| ForgeError::Internal(e.to_string()))?
            .map_err(hoist::import::ImportError::from)?;
    let total_s = started.elapsed().as_secs_f64();

    let mut human = String::new();
    human.push_str(&format!(
        "forge demo in {}\n  seeded source.db ({} rows, {:.1}s)\n  exported project {project} → {} ({} bytes, {} records, {} uploads, {export_s:.2}s)\n  imported into target.db as project {} ({} rows, {import_s:.2}s)\n  re-exported → {}\n\n",
        dir.display(),
        seeded.total_rows(),
        seed_s,
        archive.display(),
        exported.bytes,
        exported.rows,
        exported.uploads,
        imported.root_id,
        imported.rows,
        roundtrip.display(),
    ));
    human.push_str("  relation                                            records\n");
    for (relation, n) in &exported.relations {
        human.push_str(&format!("  {relation:<50} {n:>8}\n"));
    }
    for w in &imported.warnings {
        human.push_str(&format!("  warning: {w}\n"));
    }
    if !differences.is_empty() {
        for d in &differences {
            tracing::error!("{d}");
        }
        return Err(ForgeError::NotEquivalent {
            differences: differences.iter().map(ToString::to_string).collect(),
        });
    }
    human.push_str(&format!(
        "\nround trip equivalent: the re-exported archive has the same records and files ({total_s:.1}s in all)"
    ));
    Ok(Output {
        json: json!({
            "equivalent": true,
            "source_project_id": project,
            "project_id": imported.root_id,
            "archive": archive,
            "roundtrip_archive": roundtrip,
            "bytes": exported.bytes,
            "rows": exported.rows,
            "uploads": exported.uploads,
            "relations": exported.relations,
            "export_seconds": export_s,
            "import_seconds": import_s,
            "seconds": total_s,
        }),
        human,
    })
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ForgeError {
    let path: PathBuf = path.to_path_buf();
    move |source| ForgeError::Io {
        action,
        path,
        source,
    }
}
