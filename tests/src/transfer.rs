//! The usual setting of an import test: a source with an exported project, and a target that already
//! holds the shared users and a project of its own (so "nothing changed" is checked against a
//! database and an uploads directory that are not empty).

use std::path::PathBuf;

use forge::SeedOptions;
use hoist::plan::Cardinality;

use crate::archive::Contents;
use crate::fixture::{Instance, Kind, USERS};

/// A source instance, its exported project, and a populated target instance.
#[derive(Debug)]
pub struct Transfer {
    pub source: Instance,
    pub target: Instance,
    /// The exported project's id in the source.
    pub project: i64,
    /// The archive of that project.
    pub archive: PathBuf,
    pub contents: Contents,
    /// Holds the archive.
    pub dir: tempfile::TempDir,
}

impl Transfer {
    /// Seed a source (2 projects of `issues` issues), export the first, and prepare a target with
    /// the same users and one small project of other data. `None` when the backend is skipped.
    pub async fn new(kind: Kind, issues: usize) -> Option<Transfer> {
        let source = Instance::new(kind).await?;
        let target = Instance::new(kind).await?;
        let seeded = source.seed(2, issues).await;
        let project = seeded.project_ids[0];
        let dir = crate::scratch_dir();
        let archive = dir.path().join("project.tar.gz");
        source.export(project, &archive).await;
        let contents = Contents::load(&archive);
        target
            .seed_with(SeedOptions {
                projects: 1,
                issues: 10,
                seed: 7,
                users: USERS,
                ..SeedOptions::default()
            })
            .await;
        Some(Transfer {
            source,
            target,
            project,
            archive,
            contents,
            dir,
        })
    }

    /// Rows a successful import of the archive inserts: every record except belongs_to records,
    /// which reuse rows of their own relation.
    pub fn rows_to_write(&self) -> u64 {
        let mut n = 0;
        self.contents.walk(|v| {
            if v.node.cardinality != Cardinality::BelongsTo {
                n += 1;
            }
        });
        n
    }

    /// An import request for the archive into the target, under a path of its own.
    pub fn import_request(&self) -> forge::transfer::ImportRequest {
        let mut req = self.target.import_request(&self.archive);
        req.path = Some("imported-project".into());
        req
    }

    /// Drop both databases.
    pub async fn finish(self) {
        self.source.finish().await;
        self.target.finish().await;
    }
}
