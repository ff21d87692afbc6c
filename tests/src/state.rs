//! What an import may change: the row count of every table and the files under the uploads
//! directory. Captured before and after a failed import, the two must be equal.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hoist::backend::{Database, Filter, Select};

use crate::Instance;

/// Row counts of every forge table and every path (file or directory) under the uploads directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub counts: BTreeMap<&'static str, u64>,
    /// Paths relative to the uploads directory; directories end with `/`.
    pub files: BTreeSet<String>,
}

impl State {
    /// Capture the state of `instance`.
    pub async fn capture(instance: &Instance) -> State {
        State {
            counts: table_counts(&instance.db).await,
            files: files_under(instance.uploads_dir()),
        }
    }

    /// Total rows over all tables.
    pub fn total_rows(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Panic with a readable list if `after` differs from `self`, except for paths `allowed_new`
    /// accepts (which may appear, never disappear).
    pub fn assert_unchanged(&self, after: &State, allowed_new: impl Fn(&str) -> bool, what: &str) {
        let mut problems = Vec::new();
        for (table, before) in &self.counts {
            let now = after.counts.get(table).copied().unwrap_or_default();
            if now != *before {
                problems.push(format!("table {table}: {before} rows before, {now} after"));
            }
        }
        for path in after.files.difference(&self.files) {
            if !allowed_new(path) {
                problems.push(format!("new file in the uploads directory: {path}"));
            }
        }
        for path in self.files.difference(&after.files) {
            problems.push(format!("file gone from the uploads directory: {path}"));
        }
        assert!(
            problems.is_empty(),
            "{what} changed the target:\n  {}",
            problems.join("\n  ")
        );
    }
}

/// Row count of every table of forge's schema.
pub async fn table_counts(db: &Database) -> BTreeMap<&'static str, u64> {
    let mut snap = db
        .snapshot()
        .await
        .unwrap_or_else(|e| panic!("opening a snapshot: {e}"));
    let mut counts = BTreeMap::new();
    for (table, _) in forge::seed::TABLES {
        let n = snap
            .count(&Select {
                table,
                columns: &[],
                filter: Filter::All,
                type_eq: None,
                order: &[],
                after: None,
                limit: None,
            })
            .await
            .unwrap_or_else(|e| panic!("counting {table}: {e}"));
        counts.insert(*table, n);
    }
    snap.finish()
        .await
        .unwrap_or_else(|e| panic!("closing a snapshot: {e}"));
    counts
}

/// Every path under `dir` (hidden ones included), relative, directories with a trailing `/`.
pub fn files_under(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => panic!("listing {}: {e}", dir.display()),
        };
        for entry in entries {
            let entry = entry.unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
            let path: PathBuf = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            let is_dir = entry
                .file_type()
                .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
                .is_dir();
            if is_dir {
                out.insert(format!("{rel}/"));
                walk(root, &path, out);
            } else {
                out.insert(rel);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

/// `true` for paths inside an import's staging directory (`.hoist-import-*`), which only a killed
/// process can leave behind.
pub fn is_staging(path: &str) -> bool {
    path.starts_with(".hoist-import-")
}
