//! Compression for [`ArchiveWriter`](super::ArchiveWriter), pigz-style: while the archive's
//! content is being produced, not after.
//!
//! A gzip member (RFC 1952) wraps one raw deflate stream (RFC 1951). That stream may be the
//! concatenation of independently compressed *pieces* provided that every piece but the last
//! ends on a byte boundary after a non-final block (zlib's sync flush: an empty stored block),
//! that the last one ends with a final block, and that no piece refers back to bytes of another
//! (each piece starts from a fresh or reset compressor). The gzip trailer's CRC-32 is combined
//! from the pieces' CRCs ([`Crc::combine`]) and its ISIZE is the total length modulo 2^32. Any
//! gzip reader (flate2's single-member `GzDecoder`, `gzip -t`, `tar tzf`) sees one ordinary
//! member.
//!
//! - [`Deflater`] owns one background thread. A tree member's bytes reach it in chunks over a
//!   bounded channel while the member is written (so memory stays flat and the caller only
//!   waits when the thread is behind); it compresses each member into one piece in the member's
//!   spool file. An upload is compressed as soon as it is added: the thread reads the file
//!   again, checks its size and sha256 against what `add_upload` saw, and appends it, as one
//!   piece, to the uploads' spool file (if the file changed, it leaves the upload to `finish`,
//!   which reads it once more). A failure of the thread (it cannot write a spool file) is
//!   reported at the next call that hands it work, or at [`Deflater::finish`].
//! - [`GzipAssembler`] writes the archive at `finish`: the gzip header, the small pieces (tar
//!   headers, padding, `VERSION`, `manifest.json`, the end-of-archive blocks) compressed on
//!   the spot, the precompressed pieces copied as they are, a final block and the trailer.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

use super::digest::DigestReader;
use super::error::ArchiveError;
use super::restart::{self, RestartPoint};

/// Size of the chunks a member's bytes are handed to the compression thread in, and of the
/// compressed output buffers.
pub(crate) const CHUNK: usize = 128 * 1024;
/// Jobs (chunks, most of them) queued for the compression thread before the caller waits:
/// 8 MiB of chunks, slack for the thread to go on compressing while the caller waits on the
/// database. Measured on an export of 1M rows (2 cores): with 4 chunks queued the caller waited
/// ~5 s of ~26 s for the thread, with 4 MiB ~1.3 s, with 8 MiB ~0.03 s (export ~23 s), for
/// ~3–4 MiB more peak RSS than with 4 chunks.
const JOBS_IN_FLIGHT: usize = (8 << 20) / CHUNK;
/// Read buffer for uploads.
const READ_BUFFER: usize = 64 * 1024;
/// The spool file the compressed uploads go to, one after the other.
pub(crate) const UPLOADS_SPOOL: &str = "uploads";

/// One independently compressed piece of the archive's deflate stream, in a spool file (a tree
/// member's own, or the one all uploads share).
#[derive(Debug)]
pub(crate) struct Piece {
    /// Where its compressed bytes start in the spool file.
    pub(crate) offset: u64,
    /// Length of the compressed bytes.
    pub(crate) compressed: u64,
    /// Length of the uncompressed bytes.
    pub(crate) bytes: u64,
    /// CRC-32 of the uncompressed bytes.
    pub(crate) crc: Crc,
}

/// An upload for the compression thread to read again and compress. Uploads are compressed in
/// the order they are queued, and [`Deflater::finish`] returns one [`UploadOutcome`] per upload
/// in that order.
pub(crate) struct UploadJob {
    /// The file to read.
    pub(crate) source: PathBuf,
    /// sha256 (hex) `add_upload` found.
    pub(crate) sha256: String,
    /// Size `add_upload` found.
    pub(crate) bytes: u64,
}

/// What became of an [`UploadJob`].
#[derive(Debug)]
pub(crate) enum UploadOutcome {
    /// Compressed into the uploads' spool file ([`UPLOADS_SPOOL`]).
    Compressed(Piece),
    /// The file could not be read or no longer held what `add_upload` saw: left to `finish`.
    Left {
        /// The file.
        source: PathBuf,
    },
}

/// Everything the compression thread made.
#[derive(Default)]
pub(crate) struct Pieces {
    /// Tree members' pieces by id, each in its own spool file.
    pub(crate) members: HashMap<u64, Piece>,
    /// One outcome per upload, in the order they were queued.
    pub(crate) uploads: Vec<UploadOutcome>,
}

enum Job {
    /// Starts a member's piece.
    Open { id: u64, out: File, path: PathBuf },
    /// More bytes of the open member.
    Data(Vec<u8>),
    /// Ends the open member's piece (sync flush) and records it.
    Close,
    /// Drops the open member.
    Discard,
    /// Compresses an upload into a piece of its own.
    Upload(UploadJob),
}

#[derive(Default)]
struct Shared {
    pieces: Pieces,
    failure: Option<ArchiveError>,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The compression thread's handle; see the [module documentation](self).
pub(crate) struct Deflater {
    tx: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<()>>,
    shared: Arc<Mutex<Shared>>,
    abort: Arc<AtomicBool>,
    spare: Receiver<Vec<u8>>,
    /// The archive being written, for errors that concern no single file.
    output: PathBuf,
    /// A failure was already reported: every later call fails.
    broken: bool,
    /// Time the caller waited for the thread to catch up.
    waited: Duration,
}

impl Deflater {
    /// Starts the compression thread at gzip `level` (0..=9) for the archive `output`.
    /// Uploads are compressed one after the other into one file in `spool`
    /// ([`UPLOADS_SPOOL`]): creating a file per upload costs more than compressing a small one.
    pub(crate) fn start(level: u32, output: &Path, spool: &Path) -> Result<Self, ArchiveError> {
        let (tx, rx) = sync_channel(JOBS_IN_FLIGHT);
        let (spare_tx, spare) = sync_channel(2);
        let shared = Arc::new(Mutex::new(Shared::default()));
        let abort = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            level: Compression::new(level),
            member: None,
            upload: None,
            stream: None,
            uploads: None,
            uploads_path: spool.join(UPLOADS_SPOOL),
            out: Vec::with_capacity(CHUNK),
            read: vec![0; READ_BUFFER],
            shared: Arc::clone(&shared),
            abort: Arc::clone(&abort),
            spare: spare_tx,
        };
        let thread = thread::Builder::new()
            .name("hoist-archive-deflate".into())
            .spawn(move || worker.run(rx))
            .map_err(|e| ArchiveError::io("start the compression thread for", output, e))?;
        Ok(Deflater {
            tx: Some(tx),
            thread: Some(thread),
            shared,
            abort,
            spare,
            output: output.to_path_buf(),
            broken: false,
            waited: Duration::ZERO,
        })
    }

    /// An empty buffer for the next chunk (one the thread is done with, if any).
    pub(crate) fn buffer(&self, capacity: usize) -> Vec<u8> {
        match self.spare.try_recv() {
            Ok(buf) if buf.capacity() >= capacity => buf,
            _ => Vec::with_capacity(capacity),
        }
    }

    /// Starts member piece `id`, compressed into `out` (at `path`).
    pub(crate) fn open(&mut self, id: u64, out: File, path: PathBuf) -> Result<(), ArchiveError> {
        self.send(Job::Open { id, out, path })
    }

    /// Hands the next bytes of the open member to the thread; waits while it is behind.
    pub(crate) fn data(&mut self, chunk: Vec<u8>) -> Result<(), ArchiveError> {
        if chunk.is_empty() {
            return self.check();
        }
        self.send(Job::Data(chunk))
    }

    /// Ends the open member's piece.
    pub(crate) fn close(&mut self) -> Result<(), ArchiveError> {
        self.send(Job::Close)
    }

    /// Drops the open member (best effort: a thread that failed has dropped it already).
    pub(crate) fn discard(&mut self) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Job::Discard);
        }
    }

    /// Queues an upload for compression.
    pub(crate) fn upload(&mut self, job: UploadJob) -> Result<(), ArchiveError> {
        self.send(Job::Upload(job))
    }

    /// Waits for the thread to compress everything queued; returns what it made.
    pub(crate) fn finish(&mut self) -> Result<Pieces, ArchiveError> {
        self.check()?;
        drop(self.tx.take());
        let since = Instant::now();
        self.join()?;
        self.check()?;
        tracing::debug!(
            output = %self.output.display(),
            waited_while_writing_ms = self.waited.as_millis() as u64,
            waited_at_finish_ms = since.elapsed().as_millis() as u64,
            "compression thread done"
        );
        Ok(mem::take(&mut lock(&self.shared).pieces))
    }

    /// Reports a failure of the thread, once; then a generic error on every call.
    fn check(&mut self) -> Result<(), ArchiveError> {
        if self.broken {
            return Err(self.stopped());
        }
        if let Some(e) = lock(&self.shared).failure.take() {
            self.broken = true;
            return Err(e);
        }
        Ok(())
    }

    fn stopped(&self) -> ArchiveError {
        ArchiveError::io(
            "compress",
            &self.output,
            io::Error::other("the compression thread stopped after an earlier error"),
        )
    }

    fn send(&mut self, job: Job) -> Result<(), ArchiveError> {
        self.check()?;
        let Some(tx) = &self.tx else {
            return Err(self.stopped());
        };
        let sent = match tx.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(job)) => {
                // The thread is behind: wait (and say how long, at `finish`).
                let since = Instant::now();
                let sent = tx.send(job).map_err(drop);
                self.waited += since.elapsed();
                sent
            }
            Err(TrySendError::Disconnected(_)) => Err(()),
        };
        if sent.is_ok() {
            return Ok(());
        }
        // The thread is gone: it failed (and said why) or panicked.
        self.tx = None;
        self.join()?;
        self.check()?;
        self.broken = true;
        Err(self.stopped())
    }

    fn join(&mut self) -> Result<(), ArchiveError> {
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            self.broken = true;
            return Err(ArchiveError::CompressionThread {
                path: self.output.clone(),
            });
        }
        Ok(())
    }
}

impl Drop for Deflater {
    fn drop(&mut self) {
        // Unfinished: skip what is still queued.
        self.abort.store(true, Ordering::Relaxed);
        drop(self.tx.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The member piece being compressed.
struct Stream {
    id: u64,
    out: File,
    path: PathBuf,
    crc: Crc,
    bytes: u64,
    compressed: u64,
}

struct Worker {
    level: Compression,
    /// Compressors for members and for uploads (an upload can be added while a member is
    /// open), created on first use.
    member: Option<Compress>,
    upload: Option<Compress>,
    stream: Option<Stream>,
    /// The uploads' spool file (created on first use) and its length.
    uploads: Option<(File, u64)>,
    uploads_path: PathBuf,
    /// Compressed output; empty between jobs.
    out: Vec<u8>,
    read: Vec<u8>,
    shared: Arc<Mutex<Shared>>,
    abort: Arc<AtomicBool>,
    spare: SyncSender<Vec<u8>>,
}

impl Worker {
    fn run(mut self, rx: Receiver<Job>) {
        while let Ok(job) = rx.recv() {
            if self.abort.load(Ordering::Relaxed) {
                return;
            }
            if let Err(e) = self.handle(job) {
                lock(&self.shared).failure.get_or_insert(e);
                // Dropping `rx` makes the caller's next send fail.
                return;
            }
        }
    }

    fn handle(&mut self, job: Job) -> Result<(), ArchiveError> {
        match job {
            Job::Open { id, out, path } => {
                fresh(&mut self.member, self.level);
                self.stream = Some(Stream {
                    id,
                    out,
                    path,
                    crc: Crc::new(),
                    bytes: 0,
                    compressed: 0,
                });
                Ok(())
            }
            Job::Data(mut chunk) => {
                let (Some(stream), Some(compress)) = (self.stream.as_mut(), self.member.as_mut())
                else {
                    return Err(self.no_member());
                };
                stream.crc.update(&chunk);
                stream.bytes += chunk.len() as u64;
                let written = deflate_to(
                    compress,
                    &chunk,
                    FlushCompress::None,
                    &mut self.out,
                    &mut stream.out,
                    &mut stream.compressed,
                );
                written.map_err(|e| ArchiveError::io("write spool file", &stream.path, e))?;
                chunk.clear();
                let _ = self.spare.try_send(chunk);
                Ok(())
            }
            Job::Close => {
                let (Some(mut stream), Some(compress)) = (self.stream.take(), self.member.as_mut())
                else {
                    return Err(self.no_member());
                };
                deflate_to(
                    compress,
                    &[],
                    FlushCompress::Sync,
                    &mut self.out,
                    &mut stream.out,
                    &mut stream.compressed,
                )
                .map_err(|e| ArchiveError::io("write spool file", &stream.path, e))?;
                lock(&self.shared).pieces.members.insert(
                    stream.id,
                    Piece {
                        offset: 0,
                        compressed: stream.compressed,
                        bytes: stream.bytes,
                        crc: stream.crc,
                    },
                );
                Ok(())
            }
            Job::Discard => {
                self.stream = None;
                Ok(())
            }
            Job::Upload(job) => self.upload(job),
        }
    }

    fn no_member(&self) -> ArchiveError {
        ArchiveError::io(
            "compress",
            "a tree member",
            io::Error::other("no member is open in the compression thread"),
        )
    }

    /// Compresses an upload into a piece. If the file cannot be read or no longer matches what
    /// `add_upload` saw, it makes no piece and reports nothing: `finish` reads that file again,
    /// reports its state then (or, should the file be back to what `add_upload` saw,
    /// compresses it on the spot). Only a failure to write the spool file is this thread's
    /// failure.
    fn upload(&mut self, job: UploadJob) -> Result<(), ArchiveError> {
        let UploadJob {
            source,
            sha256,
            bytes,
        } = job;
        let path = &self.uploads_path;
        let (out, offset) = match &mut self.uploads {
            Some((out, len)) => (out, len),
            None => {
                let out = File::create_new(path)
                    .map_err(|e| ArchiveError::io("create spool file", &**path, e))?;
                let (out, len) = self.uploads.insert((out, 0));
                (out, len)
            }
        };
        let compress = fresh(&mut self.upload, self.level);
        let buffer = &mut self.out;
        let mut crc = Crc::new();
        let mut compressed = 0;
        let mut write_failure = None;
        let read = read_upload(&source, &sha256, bytes, &mut self.read, |data| {
            crc.update(data);
            deflate_to(
                compress,
                data,
                FlushCompress::None,
                buffer,
                out,
                &mut compressed,
            )
            .map_err(|e| {
                write_failure = Some(ArchiveError::io("write spool file", &**path, e));
                // Stops the read; replaced by `write_failure` below.
                ArchiveError::io("write spool file", &**path, io::Error::other("failed"))
            })
        });
        if let Some(e) = write_failure {
            return Err(e);
        }
        if let Err(e) = read {
            // What was written stays in the file, unused.
            buffer.clear();
            *offset += compressed;
            tracing::debug!(upload = %source.display(), error = %e, "upload left to finish");
            lock(&self.shared)
                .pieces
                .uploads
                .push(UploadOutcome::Left { source });
            return Ok(());
        }
        deflate_to(
            compress,
            &[],
            FlushCompress::Sync,
            buffer,
            out,
            &mut compressed,
        )
        .map_err(|e| ArchiveError::io("write spool file", &**path, e))?;
        let start = *offset;
        *offset += compressed;
        lock(&self.shared)
            .pieces
            .uploads
            .push(UploadOutcome::Compressed(Piece {
                offset: start,
                compressed,
                bytes,
                crc,
            }));
        Ok(())
    }
}

/// `slot`'s compressor, reset (no piece may refer back to another), or a new one.
fn fresh(slot: &mut Option<Compress>, level: Compression) -> &mut Compress {
    match slot {
        Some(compress) => {
            compress.reset();
            compress
        }
        None => slot.insert(Compress::new(level, false)),
    }
}

/// Reads upload `source`, which must still be `bytes` long with sha256 `sha256`, handing its
/// content to `each` in pieces; [`ArchiveError::UploadChanged`] if it is not.
pub(crate) fn read_upload(
    source: &Path,
    sha256: &str,
    bytes: u64,
    buf: &mut [u8],
    mut each: impl FnMut(&[u8]) -> Result<(), ArchiveError>,
) -> Result<(), ArchiveError> {
    let changed = |actual: String| ArchiveError::UploadChanged {
        path: source.to_path_buf(),
        expected: sha256.to_owned(),
        actual,
    };
    let file = File::open(source).map_err(|e| ArchiveError::io("open", source, e))?;
    let len = file
        .metadata()
        .map_err(|e| ArchiveError::io("read", source, e))?
        .len();
    if len != bytes {
        return Err(changed(format!("a file of {len} bytes")));
    }
    let mut reader = DigestReader::new(file.take(bytes));
    loop {
        let n = match reader.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ArchiveError::io("read", source, e)),
        };
        each(&buf[..n])?;
    }
    let digest = reader.finish();
    if digest.bytes != bytes {
        return Err(changed(format!("a file of {} bytes", digest.bytes)));
    }
    if digest.sha256 != sha256 {
        return Err(changed(digest.sha256));
    }
    Ok(())
}

/// [`deflate`] into `out`, counting what is written in `count`; `buffer` is empty afterwards.
fn deflate_to(
    compress: &mut Compress,
    input: &[u8],
    flush: FlushCompress,
    buffer: &mut Vec<u8>,
    out: &mut impl Write,
    count: &mut u64,
) -> io::Result<()> {
    let mut sink = |bytes: &[u8]| {
        out.write_all(bytes)?;
        *count += bytes.len() as u64;
        Ok(())
    };
    deflate(compress, input, flush, buffer, &mut sink)?;
    if !buffer.is_empty() {
        sink(buffer)?;
        buffer.clear();
    }
    Ok(())
}

/// Compresses all of `input` with `flush` (`None`, `Sync` or `Finish`), handing `buffer` to
/// `sink` whenever it is full. What is left in `buffer` is the caller's to hand over.
fn deflate(
    compress: &mut Compress,
    mut input: &[u8],
    flush: FlushCompress,
    buffer: &mut Vec<u8>,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    if input.is_empty() && flush == FlushCompress::None {
        return Ok(());
    }
    if buffer.capacity() == 0 {
        buffer.reserve(CHUNK);
    }
    loop {
        if buffer.len() == buffer.capacity() {
            sink(buffer)?;
            buffer.clear();
        }
        let (before_in, before_out) = (compress.total_in(), buffer.len());
        let status = compress
            .compress_vec(input, buffer, flush)
            .map_err(io::Error::other)?;
        let consumed = (compress.total_in() - before_in) as usize;
        input = &input[consumed..];
        let full = buffer.len() == buffer.capacity();
        let done = match flush {
            FlushCompress::Finish => status == Status::StreamEnd,
            FlushCompress::None => input.is_empty(),
            // A flush is complete when all input is taken and the output did not fill up.
            _ => input.is_empty() && !full,
        };
        if done {
            return Ok(());
        }
        if consumed == 0 && buffer.len() == before_out && !full {
            return Err(io::Error::other("the deflate stream made no progress"));
        }
    }
}

/// Uncompressed bytes written to it go in with [`GzipAssembler::raw`].
impl<W: Write> Write for GzipAssembler<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.raw(buf)?;
        Ok(buf.len())
    }

    /// Leaves what the compressor holds there: flushing it would end a deflate block.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes one gzip member from small uncompressed pieces and precompressed [`Piece`]s.
pub(crate) struct GzipAssembler<W: Write> {
    out: Counting<W>,
    compress: Compress,
    buffer: Vec<u8>,
    crc: Crc,
    total: u64,
    /// The compressor holds data since the last piece boundary.
    dirty: bool,
}

impl<W: Write> GzipAssembler<W> {
    /// Writes the gzip header: no name, mtime 0, OS 255 (as flate2's `GzBuilder::new()`), and
    /// room for the uploads' restart point ([`restart`]).
    pub(crate) fn new(out: W, level: u32) -> io::Result<Self> {
        let xfl = match level {
            9 => 2,
            0 | 1 => 4,
            _ => 0,
        };
        let mut out = Counting::new(out);
        out.write_all(&restart::gzip_header(xfl))?;
        Ok(GzipAssembler {
            out,
            compress: Compress::new(Compression::new(level), false),
            buffer: Vec::with_capacity(64 * 1024),
            crc: Crc::new(),
            total: 0,
            dirty: false,
        })
    }

    /// Appends `data`, compressed here.
    pub(crate) fn raw(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        self.crc.update(data);
        self.total += data.len() as u64;
        self.dirty = true;
        let out = &mut self.out;
        deflate(
            &mut self.compress,
            data,
            FlushCompress::None,
            &mut self.buffer,
            &mut |b| out.write_all(b),
        )
    }

    /// Appends `piece`, whose compressed bytes `compressed` yields (from its offset on); returns
    /// how many it copied
    /// (fewer than `piece.compressed` if `compressed` ended early: the stream is then broken).
    /// A read error of `compressed` comes back as is.
    pub(crate) fn piece(&mut self, piece: &Piece, compressed: &mut dyn Read) -> io::Result<u64> {
        self.boundary()?;
        let copied = io::copy(&mut compressed.take(piece.compressed), &mut self.out)?;
        if copied == piece.compressed {
            self.crc.combine(&piece.crc);
            self.total += piece.bytes;
        }
        Ok(copied)
    }

    /// Ends what the compressor holds on a byte boundary (sync flush), and resets it so that
    /// what follows the next piece does not refer back across it.
    fn boundary(&mut self) -> io::Result<()> {
        if self.dirty {
            let out = &mut self.out;
            deflate(
                &mut self.compress,
                &[],
                FlushCompress::Sync,
                &mut self.buffer,
                &mut |b| out.write_all(b),
            )?;
            self.out.write_all(&self.buffer)?;
            self.buffer.clear();
            self.compress.reset();
            self.dirty = false;
        }
        Ok(())
    }

    /// Ends what was appended so far on a byte boundary with a reset compressor, and returns
    /// where that is: in the file (counting what was written to the writer `new` took) and in
    /// the uncompressed data. Inflating from there with a fresh decoder yields everything
    /// appended afterwards, as no later piece refers back across the point.
    pub(crate) fn restart_point(&mut self) -> io::Result<RestartPoint> {
        self.boundary()?;
        Ok(RestartPoint {
            compressed: self.out.bytes,
            offset: self.total,
        })
    }

    /// Ends the deflate stream with a final block, writes the trailer; returns the writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        let out = &mut self.out;
        deflate(
            &mut self.compress,
            &[],
            FlushCompress::Finish,
            &mut self.buffer,
            &mut |b| out.write_all(b),
        )?;
        self.out.write_all(&self.buffer)?;
        self.out.write_all(&self.crc.sum().to_le_bytes())?;
        // ISIZE: the length modulo 2^32.
        self.out.write_all(&(self.total as u32).to_le_bytes())?;
        Ok(self.out.inner)
    }
}

/// Passes writes on to `inner`, counting the bytes it took.
pub(crate) struct Counting<W: Write> {
    inner: W,
    /// Bytes written so far.
    pub(crate) bytes: u64,
}

impl<W: Write> Counting<W> {
    pub(crate) fn new(inner: W) -> Self {
        Counting { inner, bytes: 0 }
    }
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;

    fn piece_of(dir: &Path, name: &str, data: &[u8], level: u32) -> (PathBuf, Piece) {
        let path = dir.join(name);
        let mut compress = Compress::new(Compression::new(level), false);
        let mut out = File::create(&path).expect("create");
        let mut buffer = Vec::with_capacity(1000);
        let mut compressed = 0;
        deflate_to(
            &mut compress,
            data,
            FlushCompress::None,
            &mut buffer,
            &mut out,
            &mut compressed,
        )
        .expect("deflate");
        deflate_to(
            &mut compress,
            &[],
            FlushCompress::Sync,
            &mut buffer,
            &mut out,
            &mut compressed,
        )
        .expect("flush");
        let mut crc = Crc::new();
        crc.update(data);
        let piece = Piece {
            offset: 0,
            compressed,
            bytes: data.len() as u64,
            crc,
        };
        (path, piece)
    }

    enum Part<'a> {
        Raw(&'a [u8]),
        Piece(&'a (PathBuf, Piece), &'a [u8]),
    }

    /// Raw parts and pieces in every order, every level: one gzip member of their concatenation.
    #[test]
    fn pieces_and_raw_parts_make_one_member() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("{{\"id\":{i}}}\n").into_bytes())
            .collect();
        let noise: Vec<u8> = (0..70_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for level in 0..=9 {
            let a = piece_of(dir.path(), "a", &text, level);
            let b = piece_of(dir.path(), "b", &noise, level);
            let empty = piece_of(dir.path(), "e", b"", level);
            let zeros = [0u8; 700];
            let layouts: [&[Part]; 4] = [
                &[],
                &[
                    Part::Raw(b"header"),
                    Part::Piece(&a, &text),
                    Part::Raw(&zeros),
                    Part::Piece(&empty, b""),
                    Part::Piece(&b, &noise),
                    Part::Raw(&text[..5000]),
                ],
                &[Part::Piece(&b, &noise), Part::Piece(&a, &text)],
                &[Part::Raw(&noise), Part::Piece(&a, &text)],
            ];
            for (layout, parts) in layouts.iter().enumerate() {
                let mut gz = GzipAssembler::new(Vec::new(), level).expect("header");
                let mut want = Vec::new();
                for part in *parts {
                    match part {
                        Part::Raw(data) => {
                            gz.raw(data).expect("raw");
                            want.extend_from_slice(data);
                        }
                        Part::Piece((path, piece), data) => {
                            let mut file = File::open(path).expect("open");
                            let copied = gz.piece(piece, &mut file).expect("copy");
                            assert_eq!(copied, piece.compressed);
                            want.extend_from_slice(data);
                        }
                    }
                }
                let bytes = gz.finish().expect("finish");
                let mut decoder = GzDecoder::new(&bytes[..]);
                let mut got = Vec::new();
                decoder
                    .read_to_end(&mut got)
                    .unwrap_or_else(|e| panic!("level {level} layout {layout}: {e}"));
                assert!(
                    got == want,
                    "level {level} layout {layout}: content differs"
                );
                assert!(
                    decoder.into_inner().is_empty(),
                    "level {level} layout {layout}: data after the member"
                );
            }
        }
    }

    #[test]
    fn a_damaged_crc_is_detected() {
        let mut gz = GzipAssembler::new(Vec::new(), 6).expect("header");
        gz.raw(b"hello\n").expect("raw");
        let mut bytes = gz.finish().expect("finish");
        let at = bytes.len() - 8;
        bytes[at] ^= 1;
        let mut got = Vec::new();
        assert!(GzDecoder::new(&bytes[..]).read_to_end(&mut got).is_err());
    }
}
