//! Progress reporting and cancellation shared by the export and import engines.

use std::sync::Arc;

pub use tokio_util::sync::CancellationToken;

/// Which part of a run an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Export: rows read and written to the archive.
    Export,
    /// Import: archive checked (structure, limits, checksums), no database touched yet.
    Verify,
    /// Import: rows written inside the import transaction.
    Import,
    /// Import: transaction committed, uploads in place.
    Commit,
}

/// One progress event: `done` of `total` records of a top-level relation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    pub phase: Phase,
    /// Top-level relation name (`issues`), or the root relation name for the root record.
    pub relation: String,
    /// Records of this relation finished so far (top-level records; nested ones are not counted).
    pub done: u64,
    /// Expected records, when known (the import knows it from the manifest; the export counts first).
    pub total: Option<u64>,
}

type Callback = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Where progress events go. Cheap to clone; called from the engine's task, so keep it fast.
#[derive(Clone, Default)]
pub struct ProgressSink(Option<Callback>);

impl ProgressSink {
    /// Send events to `f`.
    pub fn new(f: impl Fn(&Progress) + Send + Sync + 'static) -> ProgressSink {
        ProgressSink(Some(Arc::new(f)))
    }

    /// Drop every event.
    pub fn none() -> ProgressSink {
        ProgressSink(None)
    }

    pub(crate) fn emit(&self, phase: Phase, relation: &str, done: u64, total: Option<u64>) {
        if let Some(f) = &self.0 {
            f(&Progress {
                phase,
                relation: relation.to_string(),
                done,
                total,
            });
        }
    }
}

impl std::fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "ProgressSink(..)"
        } else {
            "ProgressSink(none)"
        })
    }
}
