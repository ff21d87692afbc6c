//! Record checking off the reading thread. In the verify pass the reading thread inflates the
//! archive, hashes members and splits lines; a checker thread validates each record's JSON and, in
//! the same walk, tells a [`RecordWatch`] what it asks for. Lines travel between the two in blocks
//! of about [`BLOCK_BYTES`], at most [`BLOCKS_QUEUED`] waiting, and come back empty to be refilled.
//!
//! The verdict stays the one a single thread would give: the reading thread asks for it
//! ([`Checker::settle`]) before it reports a problem of its own in a member and before it compares
//! the member's size and checksum, and the checker reports the first invalid record it met.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::{Scope, ScopedJoinHandle};

use super::error::ArchiveError;
use super::json::{self, RecordError, RecordWatch};

/// A block is handed over once it holds this many bytes.
const BLOCK_BYTES: usize = 256 << 10;

/// Room a block is made with (and shrunk back to after an unusually long line): a full block's
/// lines fit without growing it by doubling, which would leave blocks of twice the size.
const BLOCK_CAPACITY: usize = BLOCK_BYTES + (BLOCK_BYTES >> 2);

/// Blocks waiting for the checker at most (the reading thread waits beyond that): with the one
/// being filled and the one being checked, four blocks are alive at most.
const BLOCKS_QUEUED: usize = 2;

/// Consecutive lines of one member.
#[derive(Default)]
struct Block {
    member: String,
    /// The top-level relation the lines are records of (`None`: users, whose records are not
    /// watched).
    relation: Option<String>,
    /// Line number of the first line.
    first_line: u64,
    bytes: Vec<u8>,
    /// Where each line ends in `bytes`.
    ends: Vec<usize>,
}

impl Block {
    /// An empty block with [`BLOCK_CAPACITY`].
    fn new() -> Block {
        Block {
            bytes: Vec::with_capacity(BLOCK_CAPACITY),
            ..Block::default()
        }
    }

    /// Validates every line; the first invalid one is the error.
    fn check(&self, mut watch: Option<&mut (dyn RecordWatch + '_)>) -> Result<(), ArchiveError> {
        let place = match (&mut watch, &self.relation) {
            (Some(watch), Some(relation)) => watch.relation(relation),
            _ => None,
        };
        let mut start = 0;
        for (line, &end) in (self.first_line..).zip(&self.ends) {
            let bytes = &self.bytes[start..end];
            start = end;
            let watched: Option<(&mut dyn RecordWatch, usize)> = match (&mut watch, place) {
                (Some(watch), Some(place)) => Some((&mut **watch, place)),
                _ => None,
            };
            json::validate_object(bytes, watched)
                .map_err(|e| record_error(&self.member, line, e))?;
        }
        Ok(())
    }

    /// Empties the block for reuse; a block that grew for one long line gives that memory back.
    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
        self.bytes.shrink_to(BLOCK_CAPACITY);
    }
}

/// What the reading thread asks of the checker.
enum Job {
    Check(Block),
    /// Reply with the verdict on every line sent so far.
    Settle,
}

/// The reading thread's side.
pub(crate) struct Checker {
    jobs: SyncSender<Job>,
    verdicts: Receiver<Result<(), ArchiveError>>,
    empty: Receiver<Block>,
    block: Block,
    /// Set by the checker at the first invalid record: reading on is wasted.
    failed: Arc<AtomicBool>,
    /// The archive, for the error should the checker thread be gone.
    path: std::path::PathBuf,
}

impl Checker {
    /// Starts the checker thread in `scope`; `watch` is told about the records it checks.
    pub(crate) fn start<'scope, 'env>(
        scope: &'scope Scope<'scope, 'env>,
        path: &Path,
        watch: Option<&'env mut (dyn RecordWatch + 'env)>,
    ) -> Result<(Checker, ScopedJoinHandle<'scope, ()>), ArchiveError> {
        let (jobs, job_queue) = sync_channel(BLOCKS_QUEUED);
        let (verdict, verdicts) = channel();
        let (recycle, empty) = channel();
        let failed = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&failed);
        let thread = std::thread::Builder::new()
            .name("hoist-check".into())
            .spawn_scoped(scope, move || {
                check(job_queue, verdict, recycle, watch, &flag)
            })
            .map_err(|e| ArchiveError::io("start a thread to check", path, e))?;
        let checker = Checker {
            jobs,
            verdicts,
            empty,
            block: Block::new(),
            failed,
            path: path.to_path_buf(),
        };
        Ok((checker, thread))
    }

    /// The lines that follow are records of `member` (of top-level relation `relation`, or users
    /// or the root record).
    pub(crate) fn begin(&mut self, member: &str, relation: Option<&str>) {
        self.block.member.clear();
        self.block.member.push_str(member);
        self.block.relation = relation.map(str::to_owned);
    }

    /// Queues line `line` (numbered from 1 in its member). `false`: a record was found invalid
    /// (or the checker is gone) — stop reading and [`settle`](Self::settle).
    pub(crate) fn push(&mut self, line: u64, bytes: &[u8]) -> bool {
        if self.block.ends.is_empty() {
            self.block.first_line = line;
        }
        self.block.bytes.extend_from_slice(bytes);
        self.block.ends.push(self.block.bytes.len());
        if self.block.bytes.len() >= BLOCK_BYTES && !self.send() {
            return false;
        }
        !self.failed.load(Ordering::Relaxed)
    }

    /// Hands the current block over and takes an empty one; `false` if the checker is gone.
    fn send(&mut self) -> bool {
        let mut next = self.empty.try_recv().unwrap_or_else(|_| Block::new());
        next.member.clone_from(&self.block.member);
        next.relation.clone_from(&self.block.relation);
        let full = std::mem::replace(&mut self.block, next);
        self.jobs.send(Job::Check(full)).is_ok()
    }

    /// Waits until every line queued so far is checked; the first invalid record, if any.
    pub(crate) fn settle(&mut self) -> Result<(), ArchiveError> {
        let sent = self.block.ends.is_empty() || self.send();
        if sent
            && self.jobs.send(Job::Settle).is_ok()
            && let Ok(verdict) = self.verdicts.recv()
        {
            return verdict;
        }
        Err(ArchiveError::CheckThread {
            path: self.path.clone(),
        })
    }

    /// `later`, a problem the reading thread met, unless a record before it was invalid.
    pub(crate) fn first_problem(&mut self, later: ArchiveError) -> ArchiveError {
        match self.settle() {
            Ok(()) => later,
            Err(earlier) => earlier,
        }
    }
}

/// The checker thread: checks blocks in order until the reading thread hangs up.
fn check(
    jobs: Receiver<Job>,
    verdicts: Sender<Result<(), ArchiveError>>,
    recycle: Sender<Block>,
    mut watch: Option<&mut (dyn RecordWatch + '_)>,
    failed: &AtomicBool,
) {
    let mut first_error = None;
    for job in jobs {
        match job {
            Job::Check(mut block) => {
                // After the first invalid record nothing more is checked: the reader stops.
                if !failed.load(Ordering::Relaxed)
                    && let Err(e) = block.check(watch.as_deref_mut())
                {
                    first_error = Some(e);
                    failed.store(true, Ordering::Relaxed);
                }
                block.clear();
                // The reading thread may be gone already; the block is then simply dropped.
                let _ = recycle.send(block);
            }
            Job::Settle => {
                let _ = verdicts.send(first_error.take().map_or(Ok(()), Err));
            }
        }
    }
}

/// A refused record as the archive error naming its member and line (both passes report these).
pub(crate) fn record_error(member: &str, line: u64, e: RecordError) -> ArchiveError {
    match e {
        RecordError::Json(source) => ArchiveError::Json {
            member: member.to_owned(),
            line,
            source,
        },
        RecordError::NotAnObject(found) => ArchiveError::NotAnObject {
            member: member.to_owned(),
            line,
            found,
        },
    }
}
