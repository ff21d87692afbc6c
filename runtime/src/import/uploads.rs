//! Upload files of an import: staged beside the storage directory, moved into place in one rename
//! just before the transaction commits, removed again if anything fails.
//!
//! Placing them stays off the import's critical path: the archive reader only writes blobs
//! (`<staging>/blobs/<sha256>`), and a few background threads do the rest while the database
//! works. They `fsync` every blob as it arrives (several `fsync`s at once share the file system's
//! journal commits: ~8× the throughput of one after another here), and as soon as an upload row's
//! path is wanted ([`Staging::want`]) and its blob is written — in either order — they create the
//! row's directory under `<staging>/tree/`, hard-link (or copy and sync) the blob into it and
//! `fsync` that directory. [`Staging::place`] waits for them, then moves
//! `tree/<root table>/<root id>` into the storage directory in one rename and syncs the renamed
//! directory and its parent.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use roaring::RoaringBitmap;
use smallvec::SmallVec;

use crate::archive::UploadIndex;
use crate::archive::names::UploadDigest;

/// Background threads that sync blobs and place upload files.
const THREADS: usize = 8;
/// Jobs waiting for a thread, at most. Blobs come last in the archive and arrive faster than they
/// can be synced: unbounded, the queue held every blob's jobs at once (~25 MB of paths for 95,613
/// uploads at 10M rows). Full, it holds the archive reader back until a thread takes a job.
const JOBS_QUEUED: usize = 4 * THREADS;

/// Files received from the archive and the places the imported rows expect them.
#[derive(Debug)]
pub(crate) struct Staging {
    /// `<uploads>/.hoist-import-XXXX`, removed on drop (after the background threads stopped).
    dir: tempfile::TempDir,
    uploads_dir: PathBuf,
    /// Shared with the archive reader's [`BlobSink`]s.
    state: Arc<Mutex<State>>,
    pool: Option<Pool>,
    /// Top directory (relative) this import owns, moved in one rename: `<root table>/<root id>`.
    owned_top: Option<PathBuf>,
    /// Upload files wanted so far.
    wanted: usize,
    /// Set after the move: the final directory to remove if the commit fails.
    placed: Option<PathBuf>,
}

/// What the importer (wants) and the archive reader (blobs) both update, under one lock, so a
/// file is placed exactly once whichever of the two comes first.
#[derive(Debug)]
struct State {
    /// Where background jobs go; `None` once the staging area is placed or dropped.
    jobs: Option<SyncSender<Job>>,
    /// A job could not be handed to the threads (they all stopped).
    lost: bool,
    /// Time spent handing jobs to the threads: all but nanoseconds of it waiting for room in the
    /// queue, when the threads were the slower side.
    queue_full: Duration,
    /// `<staging>/blobs`.
    blobs: PathBuf,
    /// `<staging>/tree/<root table>/<root id>`, from the first want on.
    top: Option<PathBuf>,
    /// The uploads the archive lists, numbered: what is tracked per upload is kept by number.
    uploads: UploadIndex,
    /// Blobs written to `blobs`, by number.
    received: RoaringBitmap,
    /// Wanted files whose blob has not arrived yet, by upload number (allocated at the first
    /// want): paths under `top` (`<row id>/<name>`).
    waiting: Vec<Waiting>,
    /// A wanted file whose upload the archive does not list (the first by path): it can never
    /// arrive.
    unlisted: Option<(UploadDigest, Box<str>)>,
}

/// The paths under `top` that wait for one blob: almost always one (a blob shared by several
/// upload records waits for each), kept inline.
type Waiting = SmallVec<[Box<str>; 1]>;

/// Work for the background threads.
#[derive(Debug)]
enum Job {
    /// `fsync` a staged blob.
    Sync(PathBuf),
    /// Give a blob one more name, `dest`, in a directory of its own (created here); then `fsync`
    /// that directory, so the name is durable once the directory is.
    Place { blob: Arc<Path>, dest: PathBuf },
}

/// Where the archive reader writes blobs; each written blob is synced, and placed wherever it is
/// wanted, in the background.
#[derive(Debug, Clone)]
pub(crate) struct BlobSink {
    dir: PathBuf,
    /// The state's [`State::uploads`], to number a blob without taking the lock.
    uploads: UploadIndex,
    state: Arc<Mutex<State>>,
}

/// The background threads, fed through the sender in [`State::jobs`].
#[derive(Debug)]
struct Pool {
    threads: Vec<JoinHandle<()>>,
    shared: Arc<PoolShared>,
}

#[derive(Debug, Default)]
struct PoolShared {
    /// Skip the remaining jobs: one failed (the import fails anyway) or the staging area is
    /// dropped.
    stop: AtomicBool,
    /// The first job's error.
    failed: Mutex<Option<UploadError>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn thread_panicked() -> UploadError {
    UploadError::Io {
        path: PathBuf::from("(upload thread)"),
        source: std::io::Error::other("the thread panicked"),
    }
}

fn threads_stopped(path: PathBuf) -> UploadError {
    UploadError::Io {
        path,
        source: std::io::Error::other("the upload threads stopped"),
    }
}

impl Pool {
    fn start() -> Result<(Pool, SyncSender<Job>), UploadError> {
        let (sender, receiver) = sync_channel::<Job>(JOBS_QUEUED);
        let receiver = Arc::new(Mutex::new(receiver));
        let shared = Arc::new(PoolShared::default());
        let mut pool = Pool {
            threads: Vec::with_capacity(THREADS),
            shared,
        };
        for i in 0..THREADS {
            let receiver = Arc::clone(&receiver);
            let shared = Arc::clone(&pool.shared);
            let spawned = std::thread::Builder::new()
                .name(format!("hoist-upload-{i}"))
                .spawn(move || work(&receiver, &shared));
            match spawned {
                Ok(thread) => pool.threads.push(thread),
                Err(e) => {
                    // The threads already started stop once the sender is gone.
                    drop(sender);
                    pool.abandon();
                    return Err(io(Path::new("(upload thread)"))(e));
                }
            }
        }
        Ok((pool, sender))
    }

    /// Wait for the threads to finish every job (the sender must be gone); the first error, if any.
    fn finish(self) -> Result<(), UploadError> {
        let mut panicked = false;
        for thread in self.threads {
            panicked |= thread.join().is_err();
        }
        if let Some(e) = lock(&self.shared.failed).take() {
            return Err(e);
        }
        if panicked {
            return Err(thread_panicked());
        }
        Ok(())
    }

    /// Skip the jobs not started yet and wait for the running ones (the sender must be gone).
    fn abandon(self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        let _ = self.finish();
    }
}

/// One background thread: until the sender is gone, take a job and do it (or skip it, once
/// stopped); keep the first error.
fn work(receiver: &Mutex<Receiver<Job>>, shared: &PoolShared) {
    loop {
        let next = match receiver.lock() {
            Ok(r) => r.recv(),
            Err(_) => return,
        };
        let Ok(job) = next else { return };
        if shared.stop.load(Ordering::Relaxed) {
            continue;
        }
        if let Err(e) = job.run() {
            shared.stop.store(true, Ordering::Relaxed);
            lock(&shared.failed).get_or_insert(e);
        }
    }
}

impl Job {
    fn run(self) -> Result<(), UploadError> {
        match self {
            Job::Sync(path) => sync_file(&path),
            Job::Place { blob, dest } => {
                let Some(dir) = dest.parent() else {
                    return Err(UploadError::Io {
                        source: std::io::Error::other("no parent directory"),
                        path: dest,
                    });
                };
                std::fs::create_dir_all(dir).map_err(io(dir))?;
                // A hard link shares the blob's inode, synced by the blob's own job. Where links
                // fail (unsupported, too many), a copy, synced here. Never over an existing file.
                if std::fs::hard_link(&blob, &dest).is_err() {
                    copy_new(&blob, &dest)?;
                }
                // After the link exists: the directory's entry for it is durable from here on.
                sync_dir(dir)
            }
        }
    }
}

fn sync_file(path: &Path) -> Result<(), UploadError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io(path))
}

/// `fsync` a directory, so the names created or renamed in it survive a crash. Only where
/// directories can be opened and synced (Unix).
fn sync_dir(dir: &Path) -> Result<(), UploadError> {
    if cfg!(unix) { sync_file(dir) } else { Ok(()) }
}

/// Copy `src` to a new file `dest` (an error if `dest` exists) and sync it.
fn copy_new(src: &Path, dest: &Path) -> Result<(), UploadError> {
    let mut from = std::fs::File::open(src).map_err(io(src))?;
    let mut to = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dest)
        .map_err(io(dest))?;
    std::io::copy(&mut from, &mut to).map_err(io(dest))?;
    to.sync_all().map_err(io(dest))
}

impl State {
    /// Queue a job; waits while [`JOBS_QUEUED`] jobs are waiting (the threads never take the
    /// state's lock, so they drain the queue while the caller holds it). Meanwhile anyone else
    /// who wants the lock waits too — the importer's `want`, on its async task, for as long as
    /// the archive reader waits here for a thread (at most one job's `fsync`).
    fn send(&mut self, job: Job) -> bool {
        let waiting = Instant::now();
        let sent = self.jobs.as_ref().is_some_and(|j| j.send(job).is_ok());
        self.queue_full += waiting.elapsed();
        self.lost |= !sent;
        sent
    }

    /// Blob `sha256` (upload number `number`) is written: sync it, and place it wherever it is
    /// already wanted.
    fn receive(&mut self, sha256: &str, number: u32) -> Result<(), UploadError> {
        let blob: Arc<Path> = self.blobs.join(sha256).into();
        if !self.send(Job::Sync(blob.to_path_buf())) {
            return Err(threads_stopped(blob.to_path_buf()));
        }
        // (Only a want sets `top`, before it adds to `waiting`.)
        if let Some(top) = self.top.clone()
            && let Some(waiting) = self.waiting.get_mut(number as usize)
        {
            let waiting = std::mem::take(waiting);
            for entry in &waiting {
                let dest = top.join(&**entry);
                self.send(Job::Place {
                    blob: Arc::clone(&blob),
                    dest,
                });
            }
        }
        self.received.insert(number);
        if self.lost {
            return Err(threads_stopped(blob.to_path_buf()));
        }
        Ok(())
    }
}

impl BlobSink {
    /// Copy one blob from the archive stream into the staging area; it is synced, and placed where
    /// it is wanted, in the background.
    pub(crate) fn receive(&self, sha256: &str, data: &mut dyn Read) -> Result<(), UploadError> {
        let path = self.dir.join(sha256);
        // The archive reader names blobs by their checked digest, and passes only the uploads
        // the manifest lists; anything else is a bug there.
        let number = UploadDigest::parse(sha256)
            .and_then(|digest| self.uploads.position(&digest))
            .ok_or_else(|| UploadError::Io {
                path: path.clone(),
                source: std::io::Error::other("not an upload the manifest lists"),
            })?;
        let mut file = std::fs::File::create(&path).map_err(io(&path))?;
        std::io::copy(data, &mut file).map_err(io(&path))?;
        drop(file);
        lock(&self.state).receive(sha256, number)
    }
}

/// `fsync` directories (several at once), so the names created or renamed in them survive a
/// crash. Only where directories can be opened and synced (Unix).
fn sync_dirs(dirs: &[PathBuf]) -> Result<(), UploadError> {
    if !cfg!(unix) || dirs.is_empty() {
        return Ok(());
    }
    std::thread::scope(|scope| {
        let workers: Vec<_> = dirs
            .iter()
            .map(|dir| scope.spawn(move || sync_dir(dir)))
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().unwrap_or_else(|_| Err(thread_panicked())))
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

/// The new relative path for an uploaded file: `<root table>/<root id>/<row id>/<file name>` — one
/// file per upload row, even when rows share content (hard-linked where possible), so the app
/// deleting one row's file never takes another's. Only a sanitized base name of the old path
/// survives, so an archive cannot aim anywhere else. Returns the path and where its `<row id>/…`
/// part starts.
pub(crate) fn upload_path(
    root_table: &str,
    root_id: i64,
    row_id: i64,
    old_path: &str,
) -> (String, usize) {
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
    let top = format!("{root_table}/{root_id}/");
    (format!("{top}{row_id}/{name}"), top.len())
}

impl Staging {
    /// A staging area in `uploads_dir` for an archive that lists `uploads`.
    pub(crate) fn new(uploads_dir: &Path, uploads: UploadIndex) -> Result<Staging, UploadError> {
        std::fs::create_dir_all(uploads_dir).map_err(io(uploads_dir))?;
        let dir = tempfile::Builder::new()
            .prefix(".hoist-import-")
            .tempdir_in(uploads_dir)
            .map_err(io(uploads_dir))?;
        let blobs = dir.path().join("blobs");
        std::fs::create_dir(&blobs).map_err(io(&blobs))?;
        let (pool, jobs) = Pool::start()?;
        Ok(Staging {
            dir,
            uploads_dir: uploads_dir.to_path_buf(),
            state: Arc::new(Mutex::new(State {
                jobs: Some(jobs),
                lost: false,
                queue_full: Duration::ZERO,
                blobs,
                top: None,
                uploads,
                received: RoaringBitmap::new(),
                waiting: Vec::new(),
                unlisted: None,
            })),
            pool: Some(pool),
            owned_top: None,
            wanted: 0,
            placed: None,
        })
    }

    /// Where the blocking archive reader writes blobs (`<staging>/blobs/<sha256>`).
    fn blob_dir(&self) -> PathBuf {
        self.dir.path().join("blobs")
    }

    /// The reader's side of the staging area. Its blobs count as received once written; use it
    /// only until [`Staging::place`].
    pub(crate) fn blob_sink(&self) -> Result<BlobSink, UploadError> {
        if self.pool.is_none() {
            return Err(UploadError::Io {
                path: self.blob_dir(),
                source: std::io::Error::other("the staging area was already placed"),
            });
        }
        Ok(BlobSink {
            dir: self.blob_dir(),
            uploads: lock(&self.state).uploads.clone(),
            state: Arc::clone(&self.state),
        })
    }

    /// The new relative path for an upload row's file (see [`upload_path`]), staged in the
    /// background once its blob is there (now, if it is). Call it once per upload row. Never
    /// blocks on I/O.
    pub(crate) fn want(
        &mut self,
        root_table: &str,
        root_id: i64,
        row_id: i64,
        sha256: UploadDigest,
        old_path: &str,
    ) -> String {
        let (rel, entry_at) = upload_path(root_table, root_id, row_id, old_path);
        let top = Path::new(rel[..entry_at].trim_end_matches('/'));
        let mut state = lock(&self.state);
        if self.owned_top.is_none() {
            self.owned_top = Some(top.to_path_buf());
            state.top = Some(self.dir.path().join("tree").join(top));
        }
        debug_assert_eq!(self.owned_top.as_deref(), Some(top), "one root per import");
        self.wanted += 1;
        let entry = &rel[entry_at..];
        let Some(number) = state.uploads.position(&sha256) else {
            if state
                .unlisted
                .as_ref()
                .is_none_or(|(_, first)| entry < &**first)
            {
                state.unlisted = Some((sha256, entry.into()));
            }
            return rel;
        };
        if state.received.contains(number) {
            if let Some(top) = state.top.clone() {
                let blob = state.blobs.join(sha256.to_string()).into();
                let dest = top.join(entry);
                state.send(Job::Place { blob, dest });
            }
        } else {
            let listed = state.uploads.len();
            let state = &mut *state;
            if state.waiting.is_empty() {
                state.waiting.resize_with(listed, Waiting::default);
            }
            if let Some(waiting) = state.waiting.get_mut(number as usize) {
                waiting.push(entry.into());
            }
        }
        rel
    }

    /// Stop taking jobs; the threads finish the ones queued.
    fn close(&self) {
        lock(&self.state).jobs = None;
    }

    /// Wait for the staged tree, then move it into the storage directory in one rename.
    pub(crate) fn place(&mut self) -> Result<usize, UploadError> {
        // Every blob durable and every wanted file staged (its directory synced) before the
        // rename, and so before the commit.
        self.close();
        let waiting = Instant::now();
        if let Some(pool) = self.pool.take() {
            pool.finish()?;
        }
        let mut state = lock(&self.state);
        // Whether the upload threads were the slower side: how long the reader (and the wants)
        // waited for room in their queue, and how long placing waited for their last jobs.
        tracing::debug!(
            queue_full_ms = state.queue_full.as_millis() as u64,
            threads_ms = waiting.elapsed().as_millis() as u64,
            "uploads staged"
        );
        if state.lost {
            return Err(threads_stopped(self.dir.path().to_path_buf()));
        }
        let Some(top) = self.owned_top.clone() else {
            return Ok(0);
        };
        let waiting = state
            .waiting
            .iter()
            .enumerate()
            .flat_map(|(number, waiting)| {
                let digest = u32::try_from(number)
                    .ok()
                    .and_then(|n| state.uploads.digest(n));
                waiting
                    .iter()
                    .filter_map(move |entry| Some((digest?, &**entry)))
            });
        let unlisted = (state.unlisted.as_ref()).map(|(digest, entry)| (*digest, &**entry));
        if let Some((digest, entry)) = waiting.chain(unlisted).min_by_key(|(_, entry)| *entry) {
            return Err(UploadError::Missing {
                sha256: digest.to_string(),
                path: format!("{}/{entry}", top.display()),
            });
        }
        state.received = RoaringBitmap::new();
        state.waiting = Vec::new();
        drop(state);
        let final_dir = self.uploads_dir.join(&top);
        if final_dir.exists() {
            return Err(UploadError::Exists { path: final_dir });
        }
        let mut dirs = vec![final_dir.clone()];
        if let Some(parent) = final_dir.parent() {
            if !parent.is_dir() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
                // A new `<root table>` directory: its name in the storage directory too.
                dirs.extend(parent.parent().map(Path::to_path_buf));
            }
            dirs.push(parent.to_path_buf());
        }
        let staged = self.dir.path().join("tree").join(&top);
        std::fs::rename(&staged, &final_dir).map_err(io(&final_dir))?;
        self.placed = Some(final_dir);
        // The new names: the renamed directory's (in its parent) and the row directories' (in
        // it). The row directories themselves were synced by the background jobs after their
        // files were linked, and a rename leaves their inodes as they were: no need to sync them
        // again.
        sync_dirs(&dirs)?;
        Ok(self.wanted)
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
        // No thread may still write into the staging directory when it is removed (after this).
        self.close();
        if let Some(pool) = self.pool.take() {
            pool.abandon();
        }
        self.unplace();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(hex: &str) -> UploadDigest {
        UploadDigest::parse(hex).expect("a test digest")
    }

    /// A staging area for an archive that lists the uploads `shas`.
    fn staging(root: &Path, shas: &[&str]) -> Staging {
        let listed = crate::archive::Members::build(
            std::iter::empty(),
            shas.iter().map(|sha| (digest(sha), 1)),
        );
        Staging::new(root, listed.uploads()).unwrap()
    }

    /// The archive reader's side: one blob written to the staging area.
    fn receive(s: &Staging, sha: &str, data: &[u8]) {
        s.blob_sink().unwrap().receive(sha, &mut &data[..]).unwrap();
    }

    fn names(dir: &Path) -> Vec<std::ffi::OsString> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn names_are_sanitized_and_placement_is_undone() {
        let root = tempfile::tempdir().unwrap();
        let sha = "ab".repeat(32);
        let mut s = staging(root.path(), &[&sha]);
        receive(&s, &sha, b"hello");
        let rel = s.want("projects", 7, 1, digest(&sha), "../../etc/pa ss\\..wd");
        assert_eq!(rel, "projects/7/1/wd");
        let spaced = s.want("projects", 7, 2, digest(&sha), "dir/my file (1).txt");
        assert_eq!(spaced, "projects/7/2/my_file__1_.txt");
        let rel2 = s.want("projects", 7, 3, digest(&sha), "..");
        assert_eq!(rel2, "projects/7/3/file");
        assert_eq!(s.place().unwrap(), 3);
        assert_eq!(std::fs::read(root.path().join(&rel)).unwrap(), b"hello");
        s.unplace();
        assert!(!root.path().join("projects/7").exists());
        drop(s);
        // nothing left but the (empty) parent created for placement
        assert_eq!(
            names(root.path()),
            vec![std::ffi::OsString::from("projects")]
        );
    }

    #[test]
    fn missing_blob_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        // Listed by the manifest but never sent, or not listed at all: the first by path.
        let listed = "ab".repeat(32);
        let mut s = staging(root.path(), &[&listed]);
        s.want("projects", 1, 2, digest(&listed), "b.txt");
        s.want("projects", 1, 3, digest(&"ce".repeat(32)), "c.txt");
        s.want("projects", 1, 1, digest(&"cd".repeat(32)), "a.txt");
        match s.place() {
            Err(UploadError::Missing { sha256, path }) => {
                assert_eq!(sha256, "cd".repeat(32));
                assert_eq!(path, "projects/1/1/a.txt");
            }
            other => panic!("expected Missing, got {other:?}"),
        }
    }

    #[test]
    fn wanted_before_received() {
        let root = tempfile::tempdir().unwrap();
        let sha = "01".repeat(32);
        let mut s = staging(root.path(), &[&sha]);
        let rel = s.want("projects", 3, 10, digest(&sha), "a.txt");
        receive(&s, &sha, b"first want");
        assert_eq!(s.place().unwrap(), 1);
        assert_eq!(
            std::fs::read(root.path().join(&rel)).unwrap(),
            b"first want"
        );
        s.keep();
        drop(s);
        assert_eq!(
            names(root.path()),
            vec![std::ffi::OsString::from("projects")]
        );
        assert_eq!(names(&root.path().join("projects/3/10")), vec!["a.txt"]);
    }

    #[test]
    fn received_before_wanted() {
        let root = tempfile::tempdir().unwrap();
        let sha = "02".repeat(32);
        let mut s = staging(root.path(), &[&sha]);
        receive(&s, &sha, b"first blob");
        let rel = s.want("projects", 3, 11, digest(&sha), "b.txt");
        assert_eq!(s.place().unwrap(), 1);
        assert_eq!(
            std::fs::read(root.path().join(&rel)).unwrap(),
            b"first blob"
        );
        s.keep();
    }

    #[test]
    fn one_blob_wanted_by_two_rows() {
        let root = tempfile::tempdir().unwrap();
        let sha = "03".repeat(32);
        let mut s = staging(root.path(), &[&sha]);
        let a = s.want("projects", 4, 1, digest(&sha), "same.txt");
        receive(&s, &sha, b"shared");
        // One wanted before the blob came, one after.
        let b = s.want("projects", 4, 2, digest(&sha), "same.txt");
        assert_ne!(a, b);
        assert_eq!(s.place().unwrap(), 2);
        assert_eq!(std::fs::read(root.path().join(&a)).unwrap(), b"shared");
        assert_eq!(std::fs::read(root.path().join(&b)).unwrap(), b"shared");
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let ino = |rel: &str| std::fs::metadata(root.path().join(rel)).unwrap().ino();
            assert_eq!(ino(&a), ino(&b), "hard-linked");
        }
        s.keep();
    }

    #[test]
    fn received_but_unwanted_is_not_placed() {
        let root = tempfile::tempdir().unwrap();
        let (wanted, unwanted) = ("04".repeat(32), "05".repeat(32));
        let mut s = staging(root.path(), &[&wanted, &unwanted]);
        let sink = s.blob_sink().unwrap();
        sink.receive(&unwanted, &mut &b"nobody"[..]).unwrap();
        let rel = s.want("projects", 5, 1, digest(&wanted), "c.txt");
        sink.receive(&wanted, &mut &b"somebody"[..]).unwrap();
        drop(sink);
        assert_eq!(s.place().unwrap(), 1);
        s.keep();
        drop(s);
        assert_eq!(
            names(root.path()),
            vec![std::ffi::OsString::from("projects")]
        );
        assert_eq!(names(&root.path().join("projects/5")), vec!["1"]);
        assert_eq!(std::fs::read(root.path().join(&rel)).unwrap(), b"somebody");

        // Only unwanted blobs: nothing placed, nothing left.
        let root = tempfile::tempdir().unwrap();
        let mut s = staging(root.path(), &[&wanted, &unwanted]);
        receive(&s, &unwanted, b"nobody");
        assert_eq!(s.place().unwrap(), 0);
        drop(s);
        assert!(names(root.path()).is_empty());
    }

    #[test]
    fn wanted_but_never_received_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let (here, gone) = ("06".repeat(32), "07".repeat(32));
        let mut s = staging(root.path(), &[&here, &gone]);
        s.want("projects", 6, 1, digest(&here), "here.txt");
        receive(&s, &here, b"here");
        s.want("projects", 6, 2, digest(&gone), "gone.txt");
        match s.place() {
            Err(UploadError::Missing { sha256, path }) => {
                assert_eq!(sha256, gone);
                assert_eq!(path, "projects/6/2/gone.txt");
            }
            other => panic!("expected Missing, got {other:?}"),
        }
        s.unplace();
        drop(s);
        assert!(names(root.path()).is_empty());
    }

    #[test]
    fn a_failed_background_job_surfaces_from_place() {
        let root = tempfile::tempdir().unwrap();
        let sha = "08".repeat(32);
        let mut s = staging(root.path(), &[&sha]);
        // A file where the staged tree's directory must go.
        let tree = s.dir.path().join("tree");
        std::fs::write(&tree, b"in the way").unwrap();
        s.want("projects", 8, 1, digest(&sha), "d.txt");
        receive(&s, &sha, b"data");
        match s.place() {
            Err(UploadError::Io { path, .. }) => {
                assert!(path.starts_with(&tree), "{}", path.display());
            }
            other => panic!("expected an I/O error, got {other:?}"),
        }
        s.unplace();
        drop(s);
        assert!(names(root.path()).is_empty());
    }

    #[test]
    fn wants_and_blobs_from_two_threads() {
        let root = tempfile::tempdir().unwrap();
        let shas: Vec<String> = (0..40u8).map(|i| format!("{i:02x}").repeat(32)).collect();
        let listed: Vec<&str> = shas.iter().map(String::as_str).collect();
        let mut s = staging(root.path(), &listed);
        let sink = s.blob_sink().unwrap();
        let reader = {
            let shas = shas.clone();
            std::thread::spawn(move || {
                for sha in &shas {
                    sink.receive(sha, &mut sha.as_bytes()).unwrap();
                }
            })
        };
        // Three rows per blob, wanted while the blobs arrive.
        let mut rels = Vec::new();
        for (i, sha) in shas.iter().enumerate().rev() {
            for k in 0..3 {
                let row = i64::try_from(i * 3 + k).unwrap();
                rels.push((s.want("projects", 9, row, digest(sha), "f.bin"), sha));
            }
        }
        reader.join().unwrap();
        assert_eq!(s.place().unwrap(), rels.len());
        for (rel, sha) in &rels {
            assert_eq!(
                std::fs::read(root.path().join(rel)).unwrap(),
                sha.as_bytes()
            );
        }
        s.keep();
    }
}
