//! Upload files of an import: staged beside the storage directory, moved into place in one rename
//! just before the transaction commits, removed again if anything fails.
//!
//! Blobs are made durable without slowing the archive reader down: the reader only writes them,
//! and a few background threads `fsync` them as they arrive (several `fsync`s at once share the
//! file system's journal commits: ~8× the throughput of one after another here). [`Staging::place`]
//! waits for them, and after the rename syncs the directories the new names live in.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Threads that `fsync` staged blobs.
const SYNC_THREADS: usize = 8;

/// Files received from the archive and the places the imported rows expect them.
#[derive(Debug)]
pub(crate) struct Staging {
    /// `<uploads>/.hoist-import-XXXX`, removed on drop.
    dir: tempfile::TempDir,
    uploads_dir: PathBuf,
    received: BTreeSet<String>,
    /// Relative path under the storage directory → sha256 of its content.
    wanted: BTreeMap<String, String>,
    /// Top directory (relative) this import owns, moved in one rename: `<root table>/<root id>`.
    owned_top: Option<PathBuf>,
    /// Set after the move: the final directory to remove if the commit fails.
    placed: Option<PathBuf>,
    syncer: Option<Syncer>,
}

/// Where the archive reader writes blobs; hands each written blob to the syncing threads.
#[derive(Debug, Clone)]
pub(crate) struct BlobSink {
    dir: PathBuf,
    synced: Sender<PathBuf>,
}

/// Background threads that `fsync` every blob they are sent.
#[derive(Debug)]
struct Syncer {
    sender: Sender<PathBuf>,
    threads: Vec<JoinHandle<Result<(), UploadError>>>,
}

impl Syncer {
    fn start() -> Result<Syncer, UploadError> {
        let (sender, receiver) = channel::<PathBuf>();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut threads = Vec::with_capacity(SYNC_THREADS);
        for i in 0..SYNC_THREADS {
            let receiver = Arc::clone(&receiver);
            let thread = std::thread::Builder::new()
                .name(format!("hoist-fsync-{i}"))
                .spawn(move || sync_files(&receiver))
                .map_err(io(Path::new("(fsync thread)")))?;
            threads.push(thread);
        }
        Ok(Syncer { sender, threads })
    }

    /// Wait until every blob sent so far (by senders that are gone) is durable.
    fn wait(self) -> Result<(), UploadError> {
        drop(self.sender);
        let mut first = Ok(());
        for thread in self.threads {
            let result = thread.join().unwrap_or_else(|_| {
                Err(UploadError::Io {
                    path: PathBuf::from("(fsync thread)"),
                    source: std::io::Error::other("the thread panicked"),
                })
            });
            if first.is_ok() {
                first = result;
            }
        }
        first
    }
}

/// One syncing thread: until every sender is gone, take a path and `fsync` it.
fn sync_files(receiver: &Mutex<Receiver<PathBuf>>) -> Result<(), UploadError> {
    loop {
        let next = match receiver.lock() {
            Ok(r) => r.recv(),
            Err(_) => return Ok(()),
        };
        let Ok(path) = next else { return Ok(()) };
        std::fs::File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(io(&path))?;
    }
}

impl BlobSink {
    /// Copy one blob from the archive stream into the staging area; it is synced in the
    /// background.
    pub(crate) fn receive(&self, sha256: &str, data: &mut dyn Read) -> Result<(), UploadError> {
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let path = self.dir.join(sha256);
        let mut file = std::fs::File::create(&path).map_err(io(&path))?;
        std::io::copy(data, &mut file).map_err(io(&path))?;
        drop(file);
        self.synced.send(path.clone()).map_err(|_| UploadError::Io {
            path,
            source: std::io::Error::other("the fsync threads stopped"),
        })
    }
}

/// `fsync` directories (several at once), so the names created or renamed in them survive a
/// crash. Only where directories can be opened and synced (Unix).
fn sync_dirs(dirs: &[PathBuf]) -> Result<(), UploadError> {
    if !cfg!(unix) || dirs.is_empty() {
        return Ok(());
    }
    let per_thread = dirs.len().div_ceil(SYNC_THREADS);
    std::thread::scope(|scope| {
        let workers: Vec<_> = dirs
            .chunks(per_thread)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk.iter().try_for_each(|dir| {
                        std::fs::File::open(dir)
                            .and_then(|f| f.sync_all())
                            .map_err(io(dir))
                    })
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join().unwrap_or_else(|_| {
                Err(UploadError::Io {
                    path: PathBuf::from("(fsync thread)"),
                    source: std::io::Error::other("the thread panicked"),
                })
            })
        })
    })
}

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("uploads directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the archive lacks uploads/{sha256}, needed for {path}")]
    Missing { sha256: String, path: String },
    #[error(
        "{path} already exists in the uploads directory (left by an interrupted import?); move it away and retry"
    )]
    Exists { path: PathBuf },
    #[error("the archive has upload records but no uploads directory was given")]
    NoDirectory,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> UploadError + '_ {
    move |source| UploadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Staging {
    pub(crate) fn new(uploads_dir: &Path) -> Result<Staging, UploadError> {
        std::fs::create_dir_all(uploads_dir).map_err(io(uploads_dir))?;
        let dir = tempfile::Builder::new()
            .prefix(".hoist-import-")
            .tempdir_in(uploads_dir)
            .map_err(io(uploads_dir))?;
        Ok(Staging {
            dir,
            uploads_dir: uploads_dir.to_path_buf(),
            received: BTreeSet::new(),
            wanted: BTreeMap::new(),
            owned_top: None,
            placed: None,
            syncer: Some(Syncer::start()?),
        })
    }

    /// Where the blocking archive reader writes blobs (`<staging>/blobs/<sha256>`).
    fn blob_dir(&self) -> PathBuf {
        self.dir.path().join("blobs")
    }

    /// The reader's side of the staging area.
    pub(crate) fn blob_sink(&self) -> Result<BlobSink, UploadError> {
        let syncer = self.syncer.as_ref().ok_or_else(|| UploadError::Io {
            path: self.blob_dir(),
            source: std::io::Error::other("the staging area was already placed"),
        })?;
        Ok(BlobSink {
            dir: self.blob_dir(),
            synced: syncer.sender.clone(),
        })
    }

    pub(crate) fn mark_received(&mut self, sha256: String) {
        self.received.insert(sha256);
    }

    /// The new relative path for an uploaded file: `<root table>/<root id>/<row id>/<file name>` —
    /// one file per upload row, even when rows share content (hard-linked where possible), so the
    /// app deleting one row's file never takes another's. Only a sanitized base name of the old
    /// path survives, so an archive cannot aim anywhere else.
    pub(crate) fn want(
        &mut self,
        root_table: &str,
        root_id: i64,
        row_id: i64,
        sha256: &str,
        old_path: &str,
    ) -> String {
        let base = old_path.rsplit(['/', '\\']).next().unwrap_or_default();
        let clean: String = base
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let clean = clean.trim_start_matches('.');
        let name = if clean.is_empty() { "file" } else { clean };
        let top = PathBuf::from(root_table).join(root_id.to_string());
        self.owned_top = Some(top);
        let rel = format!("{root_table}/{root_id}/{row_id}/{name}");
        self.wanted.insert(rel.clone(), sha256.to_string());
        rel
    }

    /// Build the final tree in staging and move it into the storage directory in one rename.
    pub(crate) fn place(&mut self) -> Result<usize, UploadError> {
        // Every blob durable before any name points at it (and before the commit).
        if let Some(syncer) = self.syncer.take() {
            syncer.wait()?;
        }
        let Some(top) = self.owned_top.clone() else {
            return Ok(0);
        };
        for (rel, sha) in &self.wanted {
            if !self.received.contains(sha) {
                return Err(UploadError::Missing {
                    sha256: sha.clone(),
                    path: rel.clone(),
                });
            }
        }
        let tree = self.dir.path().join("tree");
        let blobs = self.blob_dir();
        for (rel, sha) in &self.wanted {
            let dest = tree.join(rel);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            let src = blobs.join(sha);
            if std::fs::hard_link(&src, &dest).is_err() {
                std::fs::copy(&src, &dest).map_err(io(&dest))?;
            }
        }
        let final_dir = self.uploads_dir.join(&top);
        if final_dir.exists() {
            return Err(UploadError::Exists { path: final_dir });
        }
        if let Some(parent) = final_dir.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let staged = tree.join(&top);
        std::fs::rename(&staged, &final_dir).map_err(io(&final_dir))?;
        self.placed = Some(final_dir.clone());
        // The new names: every row's directory, the renamed directory and its parent.
        let mut dirs = Vec::new();
        for entry in std::fs::read_dir(&final_dir).map_err(io(&final_dir))? {
            dirs.push(entry.map_err(io(&final_dir))?.path());
        }
        dirs.extend(final_dir.ancestors().take(2).map(Path::to_path_buf));
        sync_dirs(&dirs)?;
        Ok(self.wanted.len())
    }

    /// Undo [`Staging::place`] (the transaction did not commit).
    pub(crate) fn unplace(&mut self) {
        if let Some(dir) = self.placed.take()
            && let Err(e) = std::fs::remove_dir_all(&dir)
        {
            tracing::error!(path = %dir.display(), error = %e, "could not remove uploads of a failed import");
        }
    }

    /// The import committed: keep what was placed.
    pub(crate) fn keep(&mut self) {
        self.placed = None;
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        self.unplace();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitized_and_placement_is_undone() {
        let root = tempfile::tempdir().unwrap();
        let mut s = Staging::new(root.path()).unwrap();
        let sha = "ab".repeat(32);
        let sink = s.blob_sink().unwrap();
        sink.receive(&sha, &mut &b"hello"[..]).unwrap();
        drop(sink);
        s.mark_received(sha.clone());
        let rel = s.want("projects", 7, 1, &sha, "../../etc/pa ss\\..wd");
        assert_eq!(rel, "projects/7/1/wd");
        let spaced = s.want("projects", 7, 2, &sha, "dir/my file (1).txt");
        assert_eq!(spaced, "projects/7/2/my_file__1_.txt");
        let rel2 = s.want("projects", 7, 3, &sha, "..");
        assert_eq!(rel2, "projects/7/3/file");
        assert_eq!(s.place().unwrap(), 3);
        assert_eq!(std::fs::read(root.path().join(&rel)).unwrap(), b"hello");
        s.unplace();
        assert!(!root.path().join("projects/7").exists());
        drop(s);
        // nothing left but the (empty) parent created for placement
        let left: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("projects")]);
    }

    #[test]
    fn missing_blob_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        let mut s = Staging::new(root.path()).unwrap();
        s.want("projects", 1, 1, &"cd".repeat(32), "a.txt");
        assert!(matches!(s.place(), Err(UploadError::Missing { .. })));
    }
}
