//! `forge inspect`: what an archive holds, and whether it verifies — without a database.

use serde_json::json;

use super::Output;
use crate::ForgeError;
use crate::cli::InspectArgs;

/// Run `forge inspect`. JSON: `{"archive", "verified", "problem", "manifest", "members"}`. Exits 1
/// when the archive does not verify.
pub async fn run(args: &InspectArgs) -> Result<Output, ForgeError> {
    let path = args.archive.clone();
    let limits = args.limits.limits();
    let inspection = tokio::task::spawn_blocking(move || hoist::archive::inspect(&path, &limits))
        .await
        .map_err(|e| ForgeError::Internal(e.to_string()))?
        .map_err(hoist::import::ImportError::from)?;
    let members: Vec<_> = inspection
        .members
        .iter()
        .map(|m| json!({ "name": m.name, "bytes": m.bytes, "sha256": m.sha256, "lines": m.lines }))
        .collect();
    let mut human = format!(
        "{}: format {}, {}\n",
        args.archive.display(),
        inspection.format_version,
        match &inspection.problem {
            None => "verified".to_string(),
            Some(p) => format!("DOES NOT VERIFY: {p}"),
        }
    );
    {
        let m = &inspection.manifest;
        human.push_str(&format!(
            "app {} (schema {}), hoist {}, created {}\nroot {} #{} ({})\n",
            m.app.name,
            m.app
                .schema_digest
                .get(..12)
                .unwrap_or(&m.app.schema_digest),
            m.hoist_version,
            m.created_at,
            m.root.relation,
            m.root.source_id,
            m.root.table
        ));
        for (relation, stats) in &m.relations {
            human.push_str(&format!("  {relation:<48} {:>9}\n", stats.records));
        }
        human.push_str(&format!(
            "uploads: {} files, {} bytes",
            m.uploads.files, m.uploads.bytes
        ));
    }
    let output = Output {
        json: json!({
            "archive": args.archive,
            "verified": inspection.problem.is_none(),
            "problem": inspection.problem.as_ref().map(|p| p.to_string()),
            "manifest": inspection.manifest,
            "members": members,
        }),
        human,
    };
    match inspection.problem {
        None => Ok(output),
        Some(p) => Err(hoist::import::ImportError::from(p).into()),
    }
}
