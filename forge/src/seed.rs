//! Deterministic seed data for forge: realistic shapes and text sizes, scaled by the number of issues.
//!
//! [`seed`] creates the shared users (once: those missing are added), then one project per
//! [`SeedOptions::projects`], each in its own import transaction, with every table of the schema filled.
//! The first project is the tenant the tests and the bench export; the others are noise an export must
//! filter out.
//!
//! # Size
//!
//! With `N` = [`SeedOptions::issues`], one project holds about **20.5 × N rows** (measured: 20.5 at
//! N = 4 000 and N = 48 800, 22 at N = 50 where the ~60 fixed rows weigh in: project, features, 10
//! members, 20 labels and their priorities, 2 webhooks, 3 project uploads…) and about 18 KiB of text
//! per issue (diffs and CI traces dominate). Per issue, on average: 1 issue, 3 notes on it, 1 timelog,
//! 2 label links, ~0.75 award emoji, 1.3 events; per merge request (N/2): 2 notes, 1.5 diffs of 3
//! files each, 1.5 label links, 1.5 events; per CI pipeline (N/2): 3 builds; a quarter of the notes get
//! an award emoji and a third an event; plus milestones (N/20 + 1), snippets (N/20 + 1, 2 notes each),
//! releases (N/50 + 1, 2 links each), issue links (N/10), pushes (N/10 + 1), audit logs (N/10 + 1) and
//! uploads (~5% of issues and notes). So `issues = rows / 20.5 / projects` sizes a run (1 M rows:
//! `--projects 1 --issues 48800`); the test `row_counts_scale_with_issues_and_match_the_report` checks
//! the ratio. Users (default 50) and their personal access tokens are shared by all projects.
//!
//! # Determinism
//!
//! The same [`SeedOptions::seed`] gives the same rows, text and upload files, byte for byte, in a fresh
//! database, on every backend: every table of every project draws from its own RNG stream (`StdRng`
//! seeded from the seed, the project's position and the table's name), timestamps come from a fixed
//! calendar (2021 onwards, microsecond precision), and ids are allocated in insertion order. Users
//! depend only on their position (not on the seed), so seeding again with another seed reuses them.
//! (`StdRng`'s algorithm may change with a new `rand` release; the data is stable for a given
//! `Cargo.lock`.)
//!
//! # Memory and speed
//!
//! Rows are generated table by table, parents first, and handed in batches (at most 2 000 rows or
//! 4 MiB of values) to a writer task that owns
//! the transaction and calls `ImportTx::allocate_ids` + `ImportTx::insert` (COPY on PostgreSQL), so
//! generating the next batch overlaps with writing the last; at most two batches wait in between.
//! Between tables only `(id, created_at)` pairs of the rows children refer to are kept: 16 bytes per
//! row, never the text (1 M rows: ~50 MB resident). On PostgreSQL the server's COPY work (foreign key
//! checks, TOAST compression, indexes) bounds the speed: 1 M rows took 42 s on a 2-core machine busy
//! with other builds (load average 4.3).

mod clock;
mod columns;
mod project;
mod sink;
mod text;
mod uploads;
mod users;
mod writer;

use std::collections::BTreeMap;
use std::path::PathBuf;

use hoist::backend::Database;
use serde::Serialize;

use crate::ForgeError;

pub use columns::ALL as TABLES;

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Projects to create (default 2: the tenant, then one noise project so exports must filter).
    pub projects: usize,
    /// Issues per project; every other table scales with it (see the module docs).
    pub issues: usize,
    /// RNG seed: the same seed gives the same data.
    pub seed: u64,
    /// Shared users (created once if absent; the first is the instance admin). At least 1.
    pub users: usize,
    /// Directory the upload files are written under (`<uploads_dir>/<uploads.path>`); created if missing.
    pub uploads_dir: PathBuf,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            projects: 2,
            issues: 100,
            seed: 1,
            users: 50,
            uploads_dir: PathBuf::from("forge-uploads"),
        }
    }
}

/// What [`seed`] created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SeedReport {
    /// Ids of the created projects, in creation order (the first is the tenant).
    pub project_ids: Vec<i64>,
    /// Rows inserted by this call, per table (users: only those that were missing).
    pub rows: BTreeMap<String, u64>,
}

impl SeedReport {
    /// Total rows inserted.
    pub fn total_rows(&self) -> u64 {
        self.rows.values().sum()
    }
}

/// Fill `db` (migrated with [`crate::migrate()`]) with deterministic data; see the module docs.
///
/// Each project is one transaction: on error it is rolled back and its upload files are removed;
/// projects committed before the error stay.
pub async fn seed(db: &Database, opts: &SeedOptions) -> Result<SeedReport, ForgeError> {
    if opts.users == 0 {
        return Err(ForgeError::InvalidOption {
            option: "users",
            reason: "at least one user is needed (every project, issue and note has an author)"
                .into(),
        });
    }
    if opts.issues > MAX_ISSUES {
        return Err(ForgeError::InvalidOption {
            option: "issues",
            reason: format!(
                "at most {MAX_ISSUES} issues per project, got {}",
                opts.issues
            ),
        });
    }
    let schema = db.introspect(&[]).await?;
    let missing: Vec<&str> = TABLES
        .iter()
        .map(|(table, _)| *table)
        .filter(|table| schema.table(table).is_none())
        .collect();
    if !missing.is_empty() {
        let lacks = if missing.len() == TABLES.len() {
            "has none of forge's tables".to_owned()
        } else {
            format!("lacks forge's table(s) {}", missing.join(", "))
        };
        return Err(ForgeError::NotMigrated { lacks });
    }
    tokio::fs::create_dir_all(&opts.uploads_dir)
        .await
        .map_err(|source| ForgeError::Io {
            action: "creating the uploads directory",
            path: opts.uploads_dir.clone(),
            source,
        })?;

    let mut report = SeedReport::default();
    let users = users::ensure_users(db, opts.users, &mut report.rows).await?;
    for index in 0..opts.projects {
        let started = std::time::Instant::now();
        let (id, rows) = project::seed_project(db, opts, index, &users).await?;
        let total: u64 = rows.values().sum();
        tracing::info!(
            project_id = id,
            rows = total,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "seeded project {}/{}",
            index + 1,
            opts.projects
        );
        report.project_ids.push(id);
        for (table, n) in rows {
            *report.rows.entry(table).or_default() += n;
        }
    }
    Ok(report)
}

/// Upper bound of [`SeedOptions::issues`], keeping timestamps and positions well inside their ranges.
pub const MAX_ISSUES: usize = 10_000_000;

/// A stream id for a table of a project: mixes the seed, the project's position and the stream's name.
fn stream_seed(seed: u64, project: u64, stream: &str) -> u64 {
    // FNV-1a of the name, then splitmix64 over the combination.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in stream.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    splitmix64(splitmix64(seed ^ h).wrapping_add(project.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_by_seed_project_and_name() {
        let base = stream_seed(1, 0, "issues");
        assert_eq!(base, stream_seed(1, 0, "issues"));
        assert_ne!(base, stream_seed(2, 0, "issues"));
        assert_ne!(base, stream_seed(1, 1, "issues"));
        assert_ne!(base, stream_seed(1, 0, "notes"));
    }
}
