//! The import side: verify an untrusted archive, then stream its records to the import engine.
//! Nothing is ever extracted to disk.
//!
//! The file is read as `File → gzip → byte meter → tar`, entry by entry through
//! [`tar::Archive::entries`] in *raw* mode: tar's own handling of PAX and GNU long-name records
//! is bypassed (it would buffer them in memory without bound, and it lets a record rename the
//! next entry), so such records are rejected like every other non-regular entry. hoist never
//! writes them: every member name fits a plain ustar header.
//!
//! What is rejected, each with a typed [`ArchiveError`] naming the entry: links, devices, FIFOs,
//! directories, PAX/GNU records; absolute names, `..` components, names that are not UTF-8 or
//! not on the expected list, duplicates, members out of order (`VERSION`, `manifest.json`,
//! `tree/<root>.json`, `tree/users.ndjson`, relation members, uploads); any of the [`Limits`]
//! exceeded (counted on bytes actually decompressed); trailing bytes after the tar end marker
//! or after the gzip stream; a missing end marker; a wrong format version; a manifest that is
//! invalid or disagrees with the content (size, sha256, line count, missing or unlisted members);
//! uploads whose name is not their content's sha256; records that are not JSON objects or that
//! repeat a key; NDJSON lines that are too long or not newline-terminated; a restart point for
//! the uploads (see `restart`) that does not hold.
//!
//! Two passes: [`ArchiveReader::verify`] checks all of the above without any side effect and
//! returns a [`VerifiedArchive`]; [`VerifiedArchive::stream`] reads the file again, re-checking
//! everything (the file may have changed in between) while it hands records to an
//! [`EventSink`]. In the verify pass the records' JSON is checked on a second thread while the
//! first inflates and hashes (see `check`), with the same verdict as one thread: a member's first
//! problem is the one reported; a third thread proves the restart point the archive claims.
//! [`VerifiedArchive::stream_concurrently`] reads an archive with a proven restart point in two
//! parts at once, the tree on the calling thread and the uploads on another, each part re-checked
//! and the gzip trailer checked against both.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashSet;
use std::convert::Infallible;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use flate2::Crc;
use flate2::bufread::{DeflateDecoder, GzDecoder};
use roaring::RoaringBitmap;
use serde_json::{Map, Value};

use super::check::{self, Checker};
use super::digest::{DigestReader, DigestResult};
use super::error::{ArchiveError, Location};
use super::json::{self, RecordWatch};
use super::limits::{LimitKind, Limits};
use super::manifest::{BLOCK, Manifest, MemberInfo, padded};
use super::members::Members;
use super::names::{self, MANIFEST_MEMBER, MemberKind, NameProblem, USERS_MEMBER, VERSION_MEMBER};
use super::restart::{self, RestartPoint, Tail, TailDigest};

const READ_BUFFER: usize = 64 * 1024;
/// `VERSION` holds at most this many bytes (ten digits and a newline, with room to spare).
const MAX_VERSION_BYTES: u64 = 16;

/// Receives the content of a verified archive, in archive order, during
/// [`VerifiedArchive::stream`].
///
/// The order is: [`root_record`](Self::root_record); [`user`](Self::user) for each line of
/// `tree/users.ndjson` then [`users_end`](Self::users_end) (only if the member exists); for each
/// relation member, [`relation_start`](Self::relation_start), [`record`](Self::record) per line,
/// [`relation_end`](Self::relation_end); [`upload`](Self::upload) per distinct file.
///
/// Records are handed over as they are read, before their member's checksum can be compared
/// (it covers the whole member). `relation_end`, `users_end` and the return of `upload` come
/// only after the member's checksum matched, and `stream` returns `Ok` only after the whole
/// archive re-verified. So an importer must treat an error from `stream` as fatal and roll back
/// everything it did with the events (which it does anyway: imports are all-or-nothing), and
/// commit only after `stream` returned `Ok`.
///
/// Any method returning `Err` stops the stream; the error comes back as [`StreamError::Sink`].
pub trait EventSink {
    /// The importer's error type.
    type Error;

    /// The root record (`tree/<root>.json`), checksum already verified.
    fn root_record(&mut self, record: Map<String, Value>) -> Result<(), Self::Error>;

    /// One line of `tree/users.ndjson` (`line` starts at 1).
    fn user(&mut self, line: u64, user: Map<String, Value>) -> Result<(), Self::Error>;

    /// All users were delivered and their member's checksum matched.
    fn users_end(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }

    /// A top-level relation member starts (`relation` is the bare name: `issues`).
    fn relation_start(&mut self, relation: &str) -> Result<(), Self::Error>;

    /// One top-level record of `relation`, sub-relations nested (`line` starts at 1; `size` is
    /// the line's length in bytes, a measure of the record's memory for a sink that queues
    /// records).
    fn record(
        &mut self,
        relation: &str,
        line: u64,
        size: usize,
        record: Map<String, Value>,
    ) -> Result<(), Self::Error>;

    /// The relation's member ended and its checksum matched.
    fn relation_end(&mut self, relation: &str) -> Result<(), Self::Error>;

    /// The tree is complete: every tree member was delivered and its checksum matched; only
    /// uploads follow. Called once, before the first upload (or at the end of an archive
    /// without uploads).
    fn tree_end(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }

    /// One upload: `bytes` bytes readable from `data` (copy them to a file; memory stays
    /// bounded). Unread bytes are read and hashed after the call returns; the content hash is
    /// compared with `sha256` then, and a mismatch fails the stream. By default an upload is
    /// left unread (it is still read and verified).
    fn upload(&mut self, sha256: &str, bytes: u64, data: &mut dyn Read) -> Result<(), Self::Error> {
        let _ = (sha256, bytes, data);
        Ok(())
    }
}

/// Receives the uploads of a verified archive in [`VerifiedArchive::stream_concurrently`], on a
/// thread of their own where the archive allows it.
pub trait UploadSink: Send {
    /// The importer's error type.
    type Error: Send;

    /// One upload, as [`EventSink::upload`] describes it.
    fn upload(&mut self, sha256: &str, bytes: u64, data: &mut dyn Read) -> Result<(), Self::Error>;
}

/// Tree events to one sink, uploads to another (an archive read in one stream).
struct Split<'a, S, U> {
    tree: &'a mut S,
    uploads: &'a mut U,
}

impl<S: EventSink, U: UploadSink<Error = S::Error>> EventSink for Split<'_, S, U> {
    type Error = S::Error;
    fn root_record(&mut self, record: Map<String, Value>) -> Result<(), Self::Error> {
        self.tree.root_record(record)
    }
    fn user(&mut self, line: u64, user: Map<String, Value>) -> Result<(), Self::Error> {
        self.tree.user(line, user)
    }
    fn users_end(&mut self) -> Result<(), Self::Error> {
        self.tree.users_end()
    }
    fn relation_start(&mut self, relation: &str) -> Result<(), Self::Error> {
        self.tree.relation_start(relation)
    }
    fn record(
        &mut self,
        relation: &str,
        line: u64,
        size: usize,
        record: Map<String, Value>,
    ) -> Result<(), Self::Error> {
        self.tree.record(relation, line, size, record)
    }
    fn relation_end(&mut self, relation: &str) -> Result<(), Self::Error> {
        self.tree.relation_end(relation)
    }
    fn tree_end(&mut self) -> Result<(), Self::Error> {
        self.tree.tree_end()
    }
    fn upload(&mut self, sha256: &str, bytes: u64, data: &mut dyn Read) -> Result<(), Self::Error> {
        self.uploads.upload(sha256, bytes, data)
    }
}

/// The uploads of an archive read in two parts: the second part holds nothing else.
struct UploadsOnly<'a, U>(&'a mut U);

impl<U: UploadSink> EventSink for UploadsOnly<'_, U> {
    type Error = U::Error;
    fn root_record(&mut self, _: Map<String, Value>) -> Result<(), U::Error> {
        Ok(())
    }
    fn user(&mut self, _: u64, _: Map<String, Value>) -> Result<(), U::Error> {
        Ok(())
    }
    fn relation_start(&mut self, _: &str) -> Result<(), U::Error> {
        Ok(())
    }
    fn record(&mut self, _: &str, _: u64, _: usize, _: Map<String, Value>) -> Result<(), U::Error> {
        Ok(())
    }
    fn relation_end(&mut self, _: &str) -> Result<(), U::Error> {
        Ok(())
    }
    fn upload(&mut self, sha256: &str, bytes: u64, data: &mut dyn Read) -> Result<(), U::Error> {
        self.0.upload(sha256, bytes, data)
    }
}

/// An error of [`VerifiedArchive::stream`]: from the archive or from the sink.
#[derive(Debug)]
pub enum StreamError<E> {
    /// The archive failed a check.
    Archive(ArchiveError),
    /// The sink returned an error.
    Sink(E),
}

impl<E> From<ArchiveError> for StreamError<E> {
    fn from(e: ArchiveError) -> Self {
        StreamError::Archive(e)
    }
}

impl<E: fmt::Display> fmt::Display for StreamError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::Archive(e) => e.fmt(f),
            StreamError::Sink(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for StreamError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StreamError::Archive(e) => Some(e),
            StreamError::Sink(e) => Some(e),
        }
    }
}

/// Entry point of the import side.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveReader;

impl ArchiveReader {
    /// One full pass over the archive at `path`, without any side effect: structure, limits,
    /// format version (`expected_format`), root relation, every member against the manifest,
    /// every record's JSON. Returns the verified manifest.
    pub fn verify(
        path: &Path,
        limits: &Limits,
        expected_format: u32,
        root_relation: &str,
    ) -> Result<VerifiedArchive, ArchiveError> {
        Self::verify_with(path, limits, expected_format, root_relation, None)
    }

    /// [`verify`](Self::verify), telling `watch` about every record in the same walk that
    /// validates it (an importer's pre-scan of ids, without a second pass over the JSON). What
    /// `watch` learnt is only sound if this returns `Ok`.
    pub fn verify_watching(
        path: &Path,
        limits: &Limits,
        expected_format: u32,
        root_relation: &str,
        watch: &mut dyn RecordWatch,
    ) -> Result<VerifiedArchive, ArchiveError> {
        Self::verify_with(path, limits, expected_format, root_relation, Some(watch))
    }

    fn verify_with<'a>(
        path: &'a Path,
        limits: &'a Limits,
        expected_format: u32,
        root_relation: &'a str,
        watch: Option<&'a mut (dyn RecordWatch + 'a)>,
    ) -> Result<VerifiedArchive, ArchiveError> {
        let mut scanner = Scanner::new(
            path,
            limits,
            Expect {
                format: Some(expected_format),
                root: Some(root_relation),
                manifest: None,
            },
        );
        scanner.watch = watch;
        scanner.run(&mut NullSink).map_err(archive_only)?;
        let restart = scanner.restart;
        let (Some(manifest), Some(manifest_sha256)) = (
            scanner.manifest.map(Cow::into_owned),
            scanner.manifest_sha256,
        ) else {
            return Err(ArchiveError::MissingMember {
                member: MANIFEST_MEMBER.to_owned(),
            });
        };
        tracing::debug!(path = %path.display(), members = manifest.members.len(), "archive verified");
        Ok(VerifiedArchive {
            path: path.to_path_buf(),
            limits: *limits,
            format_version: expected_format,
            root_relation: root_relation.to_owned(),
            manifest,
            manifest_sha256,
            restart,
        })
    }
}

/// An archive that passed [`ArchiveReader::verify`].
#[derive(Debug, Clone)]
pub struct VerifiedArchive {
    path: PathBuf,
    limits: Limits,
    format_version: u32,
    root_relation: String,
    manifest: Manifest,
    manifest_sha256: String,
    /// Where the uploads can be read from on their own, proven by the verify pass.
    restart: Option<RestartPoint>,
}

impl VerifiedArchive {
    /// The verified manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The archive file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the uploads can be read from on their own (the verify pass proved it), so that
    /// [`stream_concurrently`](Self::stream_concurrently) reads them on a second thread; `None`
    /// for an archive without uploads or from a writer that does not record it.
    pub fn restart_point(&self) -> Option<RestartPoint> {
        self.restart
    }

    /// The second pass: reads the archive again, re-checking everything [`ArchiveReader::verify`]
    /// checked (and that `manifest.json` is byte-for-byte the verified one), and hands the
    /// content to `sink` in archive order. Blocking: run it on a dedicated thread. See
    /// [`EventSink`] for the order and for when data is known to be intact.
    pub fn stream<S: EventSink>(&self, sink: &mut S) -> Result<(), StreamError<S::Error>> {
        let mut scanner = Scanner::new(
            &self.path,
            &self.limits,
            Expect {
                format: Some(self.format_version),
                root: Some(&self.root_relation),
                manifest: Some((&self.manifest, &self.manifest_sha256)),
            },
        );
        scanner.materialize = true;
        scanner.run(sink)
    }

    /// [`stream`](Self::stream), with the uploads going to `uploads`: where the archive has a
    /// [restart point](Self::restart_point), read from there on a second thread while the tree
    /// streams to `sink` on this one (each part re-checked as `stream` checks it, the gzip
    /// trailer against both); otherwise after the tree, on this thread. `sink` gets
    /// [`tree_end`](EventSink::tree_end) and no uploads. Blocking, like `stream`; the same
    /// rule holds: commit only after it returned `Ok`.
    pub fn stream_concurrently<S, U>(
        &self,
        sink: &mut S,
        uploads: &mut U,
    ) -> Result<(), StreamError<S::Error>>
    where
        S: EventSink,
        S::Error: Send,
        U: UploadSink<Error = S::Error>,
    {
        let Some(point) = self.restart else {
            return self.stream(&mut Split {
                tree: sink,
                uploads,
            });
        };
        let expect = || Expect {
            format: Some(self.format_version),
            root: Some(&self.root_relation),
            manifest: Some((&self.manifest, &self.manifest_sha256)),
        };
        let shared = Arc::new(Shared::default());
        std::thread::scope(|scope| {
            let uploads_part = std::thread::Builder::new()
                .name("hoist-archive-uploads".into())
                .spawn_scoped(scope, || {
                    let mut scanner = Scanner::new(&self.path, &self.limits, expect());
                    scanner.part = Part::Uploads(point);
                    scanner.meter = Meter::new(&self.limits, Arc::clone(&shared));
                    scanner.materialize = true;
                    scanner.root = Some(self.root_relation.clone());
                    scanner.manifest = Some(Cow::Borrowed(&self.manifest));
                    let read = scanner
                        .open()
                        .map_err(StreamError::from)
                        .and_then(|source| scanner.read_entries(source, &mut UploadsOnly(uploads)));
                    if read.is_err() {
                        shared.stop.store(true, Ordering::Relaxed);
                    }
                    read
                })
                .map_err(|e| ArchiveError::io("start a thread to read", &self.path, e))?;
            let mut scanner = Scanner::new(&self.path, &self.limits, expect());
            scanner.part = Part::Tree(point);
            scanner.meter = Meter::new(&self.limits, Arc::clone(&shared));
            scanner.materialize = true;
            let tree = scanner
                .open()
                .map_err(StreamError::from)
                .and_then(|source| scanner.read_entries(source, sink));
            if tree.is_err() {
                shared.stop.store(true, Ordering::Relaxed);
            }
            let tree_stopped = scanner.meter.stopped.get();
            let Ok(uploads) = uploads_part.join() else {
                return Err(ArchiveError::UploadThread {
                    path: self.path.clone(),
                }
                .into());
            };
            let (tree, uploads) = match (tree, uploads) {
                (Ok(tree), Ok(uploads)) => (tree, uploads),
                // The part that failed first made the other one stop: its error is the one.
                (Err(e), Err(_)) if !tree_stopped => return Err(e),
                (Err(e), Ok(_)) => return Err(e),
                (_, Err(e)) => return Err(e),
            };
            self.check_parts(tree, uploads, point)?;
            Ok(())
        })
    }

    /// Both parts of a two-part read are fine: the gzip trailer matches their data together,
    /// and every member the manifest lists came in one of them.
    fn check_parts(
        &self,
        tree: PartEnd,
        uploads: PartEnd,
        point: RestartPoint,
    ) -> Result<(), ArchiveError> {
        let corrupt = |what: &str| ArchiveError::Corrupt {
            path: self.path.clone(),
            location: Location::Stream,
            source: io::Error::new(io::ErrorKind::InvalidData, what.to_owned()),
        };
        let (Some(mut crc), Some(rest), Some((crc_sum, size))) =
            (tree.crc, uploads.crc, uploads.trailer)
        else {
            return Err(corrupt("the uploads part ended without a gzip trailer"));
        };
        crc.combine(&rest);
        if crc.sum() != crc_sum {
            return Err(corrupt("the gzip trailer's CRC-32 does not match the data"));
        }
        if point.offset.wrapping_add(uploads.bytes) as u32 != size {
            return Err(corrupt("the gzip trailer's size does not match the data"));
        }
        let seen = SeenMembers {
            uploads: uploads.seen.uploads,
            others: tree.seen.others,
        };
        if let Some(member) = seen.first_missing(&self.manifest.members) {
            return Err(ArchiveError::MissingMember { member });
        }
        Ok(())
    }
}

/// One member as read by [`inspect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectedMember {
    /// The member's name.
    pub name: String,
    /// Its size.
    pub bytes: u64,
    /// Its content's sha256.
    pub sha256: String,
    /// Its newline count, for NDJSON members.
    pub lines: Option<u64>,
}

/// What [`inspect`] found.
#[derive(Debug)]
pub struct Inspection {
    /// The archive file.
    pub path: PathBuf,
    /// The `VERSION` member's number.
    pub format_version: u32,
    /// The manifest.
    pub manifest: Manifest,
    /// The members read, in archive order (`VERSION` and `manifest.json` included); all of
    /// them if the archive verified, those before the problem otherwise.
    pub members: Vec<InspectedMember>,
    /// Why the archive does not verify; `None`: it verifies.
    pub problem: Option<ArchiveError>,
}

impl Inspection {
    /// `true` if the archive passed every check.
    pub fn is_verified(&self) -> bool {
        self.problem.is_none()
    }
}

/// Reads an archive for display (`forge inspect`): its manifest, its members, and whether it
/// verifies. Accepts any format version and root relation (taken from the archive itself).
/// `Err` only if not even `VERSION` and the manifest can be read.
pub fn inspect(path: &Path, limits: &Limits) -> Result<Inspection, ArchiveError> {
    let mut scanner = Scanner::new(
        path,
        limits,
        Expect {
            format: None,
            root: None,
            manifest: None,
        },
    );
    scanner.seen = Some(Vec::new());
    let result = scanner.run(&mut NullSink).map_err(archive_only);
    match (
        scanner.format_version,
        scanner.manifest.map(Cow::into_owned),
    ) {
        (Some(format_version), Some(manifest)) => Ok(Inspection {
            path: path.to_path_buf(),
            format_version,
            manifest,
            members: scanner.seen.unwrap_or_default(),
            problem: result.err(),
        }),
        _ => Err(result.err().unwrap_or_else(|| ArchiveError::MissingMember {
            member: MANIFEST_MEMBER.to_owned(),
        })),
    }
}

fn archive_only(e: StreamError<Infallible>) -> ArchiveError {
    match e {
        StreamError::Archive(e) => e,
        StreamError::Sink(never) => match never {},
    }
}

/// The sink of the verify pass: accepts everything.
struct NullSink;

impl EventSink for NullSink {
    type Error = Infallible;
    fn root_record(&mut self, _: Map<String, Value>) -> Result<(), Infallible> {
        Ok(())
    }
    fn user(&mut self, _: u64, _: Map<String, Value>) -> Result<(), Infallible> {
        Ok(())
    }
    fn relation_start(&mut self, _: &str) -> Result<(), Infallible> {
        Ok(())
    }
    fn record(
        &mut self,
        _: &str,
        _: u64,
        _: usize,
        _: Map<String, Value>,
    ) -> Result<(), Infallible> {
        Ok(())
    }
    fn relation_end(&mut self, _: &str) -> Result<(), Infallible> {
        Ok(())
    }
}

/// Shared between the readers of the chain, so an `io::Error` surfacing through tar can be
/// told apart: limit exceeded, file unreadable, stopped, or (otherwise) corrupt data.
struct Meter {
    /// Bytes this part decompressed.
    total: Cell<u64>,
    max: u64,
    exceeded: Cell<bool>,
    file_failed: Cell<bool>,
    /// The other part failed: this one stopped reading (its error is not the one to report).
    stopped: Cell<bool>,
    /// Shared by the parts of a read in two parts.
    shared: Arc<Shared>,
}

impl Meter {
    fn new(limits: &Limits, shared: Arc<Shared>) -> Rc<Meter> {
        Rc::new(Meter {
            total: Cell::new(0),
            max: limits.max_total_bytes,
            exceeded: Cell::new(false),
            file_failed: Cell::new(false),
            stopped: Cell::new(false),
            shared,
        })
    }
}

/// What the two parts of a read in two parts count together, and their stop signal.
#[derive(Default)]
struct Shared {
    /// Bytes decompressed (the limit is on the archive, not on a part).
    bytes: AtomicU64,
    /// Entries read.
    entries: AtomicU64,
    /// A part failed: the other stops at its next read.
    stop: AtomicBool,
}

/// Which part of the archive a pass reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// All of it, in one stream.
    Whole,
    /// The gzip stream up to the restart point: VERSION, the manifest, the tree.
    Tree(RestartPoint),
    /// The raw deflate stream from the restart point: the uploads, the end of the tar, then the
    /// gzip trailer.
    Uploads(RestartPoint),
}

/// How a pass ended, for the checks that span both parts of a read in two parts.
struct PartEnd {
    seen: SeenMembers,
    /// CRC-32 of the part's data (parts only).
    crc: Option<Crc>,
    /// The gzip trailer's CRC-32 and size (the uploads part).
    trailer: Option<(u32, u32)>,
    /// Bytes the part decompressed.
    bytes: u64,
    /// What the whole archive holds from the restart point it claims on (verify, inspect).
    tail: Option<Tail>,
}

/// The archive file, flagging its own errors in the [`Meter`].
struct FileSource {
    file: File,
    meter: Rc<Meter>,
}

impl Read for FileSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file
            .read(buf)
            .inspect_err(|_| self.meter.file_failed.set(true))
    }
}

/// The archive's decompressor: the gzip stream from the start, or the raw deflate stream from a
/// restart point.
enum Decoder {
    Gzip(GzDecoder<BufReader<FileSource>>),
    Raw(DeflateDecoder<BufReader<FileSource>>),
}

impl Read for Decoder {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Raw(d) => d.read(buf),
        }
    }
}

impl Source {
    /// The uploads' restart point the gzip header claims, if any ([`restart::from_extra`]).
    fn restart_claim(&self) -> Result<Option<RestartPoint>, String> {
        match &self.inner {
            Decoder::Gzip(d) => restart::from_extra(d.header().and_then(|h| h.extra())),
            Decoder::Raw(_) => Ok(None),
        }
    }
}

impl Decoder {
    /// The file after what the decompressor consumed.
    fn into_file(self) -> BufReader<FileSource> {
        match self {
            Decoder::Gzip(d) => d.into_inner(),
            Decoder::Raw(d) => d.into_inner(),
        }
    }
}

/// Counts decompressed bytes and fails once they exceed `max_total_bytes`; ends at `end` (the
/// tree part of a read in two parts); keeps a CRC-32 of the bytes (parts) and a digest of those
/// from the restart point on (the verify pass of an archive that records one).
struct Source {
    inner: Decoder,
    meter: Rc<Meter>,
    end: u64,
    crc: Option<Crc>,
    tail: Option<TailDigest>,
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.meter.shared.stop.load(Ordering::Relaxed) {
            self.meter.stopped.set(true);
            return Err(io::Error::other(
                "stopped: the other part of the archive failed",
            ));
        }
        if self.meter.exceeded.get() {
            return Err(io::Error::other("decompressed size limit exceeded"));
        }
        let at = self.meter.total.get();
        let room = usize::try_from(self.end.saturating_sub(at)).unwrap_or(usize::MAX);
        let len = buf.len().min(room);
        if len == 0 {
            return Ok(0);
        }
        let n = self.inner.read(&mut buf[..len])?;
        let data = &buf[..n];
        if let Some(crc) = &mut self.crc {
            crc.update(data);
        }
        if let Some(tail) = &mut self.tail {
            tail.update(at, data);
        }
        self.meter.total.set(at.saturating_add(n as u64));
        let all = self
            .meter
            .shared
            .bytes
            .fetch_add(n as u64, Ordering::Relaxed)
            .saturating_add(n as u64);
        if all > self.meter.max {
            self.meter.exceeded.set(true);
            return Err(io::Error::other("decompressed size limit exceeded"));
        }
        Ok(n)
    }
}

/// The names of the members read so far (no entry may come twice; every listed member must
/// come). Uploads the manifest lists, which can be hundreds of thousands, are kept as one bit
/// each, by their number in the manifest ([`Members::upload_number`]); other names as they are.
#[derive(Default)]
struct SeenMembers {
    uploads: RoaringBitmap,
    others: HashSet<String>,
}

impl SeenMembers {
    /// `false` if `name` was seen before. `members`: the manifest's, once it is known.
    fn insert(&mut self, name: &str, members: Option<&Members>) -> bool {
        match members.and_then(|m| m.upload_number(name)) {
            Some(number) => self.uploads.insert(number),
            None => self.others.insert(name.to_owned()),
        }
    }

    /// The first member `members` lists that was not seen, in name order.
    fn first_missing(&self, members: &Members) -> Option<String> {
        members.first_unseen(
            |name| self.others.contains(name),
            |number| self.uploads.contains(number),
        )
    }
}

/// What a pass expects; `None`: take it from the archive (inspect).
struct Expect<'a> {
    format: Option<u32>,
    root: Option<&'a str>,
    /// The verified manifest and its sha256 (stream): `manifest.json` must be byte-for-byte that
    /// one, and is not parsed again.
    manifest: Option<(&'a Manifest, &'a str)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    Version,
    Manifest,
    Root,
    Users,
    Relations,
    Uploads,
}

/// One pass over an archive (shared by verify, stream and inspect).
struct Scanner<'a> {
    path: &'a Path,
    limits: &'a Limits,
    expect: Expect<'a>,
    meter: Rc<Meter>,
    part: Part,
    /// The uploads' restart point: the one the archive claims (verify, inspect: proven by the
    /// pass), or the one verify proved (stream).
    restart: Option<RestartPoint>,
    format_version: Option<u32>,
    manifest: Option<Cow<'a, Manifest>>,
    manifest_sha256: Option<String>,
    root: Option<String>,
    /// Members read so far, kept for [`inspect`] only (verify and stream do not need them).
    seen: Option<Vec<InspectedMember>>,
    /// Build records and hand them to the sink (stream); otherwise only validate them, which
    /// accepts and rejects exactly the same records, without allocating them.
    materialize: bool,
    /// Told about the records the verify pass checks (see [`RecordWatch`]).
    watch: Option<&'a mut (dyn RecordWatch + 'a)>,
    /// The verify pass's checker thread (set while [`run`](Self::run) reads, unless
    /// `materialize`).
    checker: Option<Checker>,
}

impl<'a> Scanner<'a> {
    fn new(path: &'a Path, limits: &'a Limits, expect: Expect<'a>) -> Self {
        Scanner {
            path,
            limits,
            expect,
            meter: Meter::new(limits, Arc::default()),
            part: Part::Whole,
            restart: None,
            format_version: None,
            manifest: None,
            manifest_sha256: None,
            root: None,
            seen: None,
            materialize: false,
            watch: None,
            checker: None,
        }
    }

    /// Turns an I/O error from the reader chain into the right [`ArchiveError`].
    fn read_error(&self, source: io::Error, location: Location) -> ArchiveError {
        if self.meter.exceeded.get() {
            ArchiveError::LimitExceeded {
                limit: LimitKind::TotalBytes,
                max: self.limits.max_total_bytes,
                location,
            }
        } else if self.meter.file_failed.get() {
            ArchiveError::io("read", self.path, source)
        } else {
            ArchiveError::Corrupt {
                path: self.path.to_path_buf(),
                location,
                source,
            }
        }
    }

    fn open(&self) -> Result<Source, ArchiveError> {
        let meta =
            std::fs::metadata(self.path).map_err(|e| ArchiveError::io("read", self.path, e))?;
        if !meta.is_file() {
            return Err(ArchiveError::NotAFile {
                path: self.path.to_path_buf(),
            });
        }
        let mut file = File::open(self.path).map_err(|e| ArchiveError::io("open", self.path, e))?;
        if let Part::Uploads(point) = self.part {
            file.seek(SeekFrom::Start(point.compressed))
                .map_err(|e| ArchiveError::io("read", self.path, e))?;
        }
        let source = BufReader::with_capacity(
            READ_BUFFER,
            FileSource {
                file,
                meter: Rc::clone(&self.meter),
            },
        );
        let (inner, end) = match self.part {
            Part::Whole => (Decoder::Gzip(GzDecoder::new(source)), u64::MAX),
            Part::Tree(point) => (Decoder::Gzip(GzDecoder::new(source)), point.offset),
            Part::Uploads(_) => (Decoder::Raw(DeflateDecoder::new(source)), u64::MAX),
        };
        Ok(Source {
            inner,
            meter: Rc::clone(&self.meter),
            end,
            crc: (self.part != Part::Whole).then(Crc::new),
            tail: None,
        })
    }

    /// Reads the whole archive; unless `materialize`, with a checker thread validating the
    /// records and, if the archive claims a restart point for its uploads, a thread inflating
    /// from there to prove it ([`restart`]).
    fn run<S: EventSink>(&mut self, sink: &mut S) -> Result<(), StreamError<S::Error>> {
        let mut source = self.open()?;
        if self.materialize {
            return self.read_entries(source, sink).map(drop);
        }
        let watch = self.watch.take();
        let path = self.path;
        let max_bytes = self.limits.max_total_bytes;
        // The claim comes from the header of the very stream this pass reads.
        self.restart = source
            .restart_claim()
            .map_err(|reason| self.bad_restart(reason))?;
        let claim = self.restart;
        source.tail = claim.map(|point| TailDigest::new(point.offset));
        let give_up = Arc::new(AtomicBool::new(false));
        std::thread::scope(|scope| {
            let (checker, thread) = Checker::start(scope, path, watch)?;
            self.checker = Some(checker);
            let prover_gives_up = Arc::clone(&give_up);
            let prover = claim
                .map(|point| {
                    std::thread::Builder::new()
                        .name("hoist-archive-restart".into())
                        .spawn_scoped(scope, move || {
                            restart::inflate_from(path, point, max_bytes, &prover_gives_up)
                        })
                })
                .transpose()
                .map_err(|e| ArchiveError::io("start a thread to read", path, e))?;
            let read = self.read_entries(source, sink);
            if read.is_err() {
                // The archive fails anyway: no need for the proof.
                give_up.store(true, Ordering::Relaxed);
            }
            // Hanging up ends the checker thread.
            self.checker = None;
            let joined = thread.join();
            let end = match (read, joined) {
                (Ok(_), Err(_)) => {
                    return Err(ArchiveError::CheckThread {
                        path: path.to_path_buf(),
                    }
                    .into());
                }
                (read, _) => read?,
            };
            let Some(prover) = prover else {
                return Ok(());
            };
            let proof = prover.join().map_err(|_| ArchiveError::UploadThread {
                path: path.to_path_buf(),
            })?;
            if Some(proof.map_err(|reason| self.bad_restart(reason))?) != end.tail {
                return Err(self
                    .bad_restart(
                        "inflated from there on its own, the data differs from the archive's"
                            .into(),
                    )
                    .into());
            }
            Ok(())
        })
    }

    /// Reads the entries of `source` (from [`open`](Self::open)) to the end of this pass's part.
    fn read_entries<S: EventSink>(
        &mut self,
        source: Source,
        sink: &mut S,
    ) -> Result<PartEnd, StreamError<S::Error>> {
        let mut archive = tar::Archive::new(source);
        let mut entries = archive
            .entries()
            .map_err(|e| self.read_error(e, Location::Stream))?
            .raw(true);
        let mut phase = match self.part {
            Part::Uploads(_) => Phase::Uploads,
            Part::Whole | Part::Tree(_) => Phase::Start,
        };
        let mut names_seen = SeenMembers::default();
        let mut data_end: u64 = 0;
        let mut last: Option<String> = None;
        loop {
            let entry = match entries.next() {
                None => break,
                Some(Ok(entry)) => entry,
                Some(Err(e)) => {
                    let location = last.clone().map_or(Location::Stream, Location::After);
                    return Err(self.read_error(e, location).into());
                }
            };
            let count = self.meter.shared.entries.fetch_add(1, Ordering::Relaxed) + 1;
            let raw_name = entry.path_bytes().into_owned();
            let shown = names::display_name(&raw_name);
            if count > self.limits.max_entries {
                return Err(ArchiveError::LimitExceeded {
                    limit: LimitKind::Entries,
                    max: self.limits.max_entries,
                    location: Location::Entry(shown),
                }
                .into());
            }
            if let Some(kind) = forbidden_type(entry.header().entry_type()) {
                return Err(ArchiveError::ForbiddenEntryType { entry: shown, kind }.into());
            }
            let name = names::check_raw_name(&raw_name).map_err(|problem| match problem {
                NameProblem::NotUtf8 => ArchiveError::NonUtf8Name {
                    entry: shown.clone(),
                },
                NameProblem::Absolute => ArchiveError::AbsoluteName {
                    entry: shown.clone(),
                },
                NameProblem::ParentDirectory => ArchiveError::ParentDirectoryName {
                    entry: shown.clone(),
                },
            })?;
            let kind = self.classify(name, phase)?;
            if !names_seen.insert(name, self.manifest.as_deref().map(|m| &m.members)) {
                return Err(ArchiveError::DuplicateEntry { entry: shown }.into());
            }
            let first_upload = matches!(kind, MemberKind::Upload(_)) && phase != Phase::Uploads;
            phase = self.advance(phase, &kind, name)?;
            if first_upload {
                self.first_upload(entry.raw_header_position(), sink)?;
            }
            let declared = entry.size();
            self.check_declared_size(name, &kind, declared)?;
            data_end = entry.raw_file_position().saturating_add(padded(declared));
            let listed = self.listed(name, &kind)?;
            let mut entry = entry;
            match kind {
                MemberKind::Version => self.read_version(&mut entry, declared)?,
                MemberKind::Manifest => self.read_manifest(&mut entry, declared)?,
                MemberKind::RootRecord => {
                    if let Some(record) = self.read_root(&mut entry, name, declared, listed)? {
                        sink.root_record(record).map_err(StreamError::Sink)?;
                    }
                }
                MemberKind::Users | MemberKind::Relation(_) => {
                    self.read_ndjson(&mut entry, name, &kind, declared, listed, sink)?;
                }
                MemberKind::Upload(sha256) => {
                    self.read_upload(&mut entry, name, &sha256, declared, listed, sink)?;
                }
            }
            last = Some(name.to_owned());
        }
        let end = self.finish_stream(archive.into_inner(), data_end, phase, names_seen)?;
        match self.part {
            Part::Whole if phase != Phase::Uploads => {
                if self.restart.is_some() {
                    return Err(self.bad_restart("the archive has no uploads".into()).into());
                }
                sink.tree_end().map_err(StreamError::Sink)?;
            }
            Part::Tree(_) => sink.tree_end().map_err(StreamError::Sink)?,
            Part::Whole | Part::Uploads(_) => {}
        }
        Ok(end)
    }

    /// The first upload comes, its header at tar byte `at`: the tree is complete.
    fn first_upload<S: EventSink>(
        &self,
        at: u64,
        sink: &mut S,
    ) -> Result<(), StreamError<S::Error>> {
        match (self.part, self.restart) {
            (Part::Tree(point), _) => Err(ArchiveError::ArchiveChanged {
                path: self.path.to_path_buf(),
                what: format!(
                    "an upload at tar byte {at}, before the uploads' restart point (tar byte {})",
                    point.offset
                ),
            }
            .into()),
            (Part::Whole, Some(point)) if point.offset != at => Err(self
                .bad_restart(format!("the first upload's header is at tar byte {at}"))
                .into()),
            (Part::Whole, _) => sink.tree_end().map_err(StreamError::Sink),
            (Part::Uploads(_), _) => Ok(()),
        }
    }

    fn bad_restart(&self, reason: String) -> ArchiveError {
        let point = self.restart.map_or_else(String::new, |p| {
            format!("compressed byte {}, tar byte {}: ", p.compressed, p.offset)
        });
        ArchiveError::BadRestartPoint {
            path: self.path.to_path_buf(),
            reason: format!("{point}{reason}"),
        }
    }

    /// After the last entry: the end-of-archive marker, only zeros after it, nothing after the
    /// gzip stream, and no member of the manifest missing.
    fn finish_stream(
        &self,
        mut rest: Source,
        data_end: u64,
        phase: Phase,
        names_seen: SeenMembers,
    ) -> Result<PartEnd, ArchiveError> {
        let missing_head = match phase {
            Phase::Start => Some(VERSION_MEMBER.to_owned()),
            Phase::Version => Some(MANIFEST_MEMBER.to_owned()),
            _ => None,
        };
        if let Part::Tree(point) = self.part {
            // The tree ends right at the restart point (the uploads part reads the rest).
            let at = self.meter.total.get();
            if at != point.offset || data_end != point.offset {
                return Err(ArchiveError::ArchiveChanged {
                    path: self.path.to_path_buf(),
                    what: format!(
                        "its tree ends at tar byte {}, not at the uploads' restart point (tar \
                         byte {})",
                        data_end.min(at),
                        point.offset
                    ),
                });
            }
            if let Some(member) = missing_head {
                return Err(ArchiveError::MissingMember { member });
            }
            return Ok(PartEnd {
                seen: names_seen,
                crc: rest.crc,
                trailer: None,
                bytes: at,
                tail: None,
            });
        }
        if self.meter.total.get() < data_end.saturating_add(BLOCK) {
            return Err(ArchiveError::MissingEndOfArchive {
                path: self.path.to_path_buf(),
            });
        }
        let mut buf = vec![0u8; READ_BUFFER];
        loop {
            let n = rest
                .read(&mut buf)
                .map_err(|e| self.read_error(e, Location::Stream))?;
            if n == 0 {
                break;
            }
            if buf[..n].iter().any(|&b| b != 0) {
                return Err(ArchiveError::TrailingData {
                    path: self.path.to_path_buf(),
                    after: "after the tar end-of-archive marker",
                });
            }
        }
        let Source {
            inner, crc, tail, ..
        } = rest;
        let mut file = inner.into_file();
        let trailing = || ArchiveError::TrailingData {
            path: self.path.to_path_buf(),
            after: "after the gzip stream",
        };
        let end = PartEnd {
            crc,
            trailer: None,
            bytes: self.meter.total.get(),
            tail: tail.map(TailDigest::finish),
            seen: SeenMembers::default(),
        };
        if let Part::Uploads(_) = self.part {
            // The raw deflate stream ended: the gzip trailer follows, checked against both parts.
            let trailer = restart::read_trailer(&mut file)
                .map_err(|e| self.read_error(e, Location::Stream))?
                .ok_or_else(trailing)?;
            return Ok(PartEnd {
                trailer: Some(trailer),
                seen: names_seen,
                ..end
            });
        }
        let leftover = file
            .fill_buf()
            .map_err(|e| ArchiveError::io("read", self.path, e))?;
        if !leftover.is_empty() {
            return Err(trailing());
        }
        if let Some(member) = missing_head {
            return Err(ArchiveError::MissingMember { member });
        }
        if let Some(manifest) = &self.manifest
            && let Some(member) = names_seen.first_missing(&manifest.members)
        {
            return Err(ArchiveError::MissingMember { member });
        }
        Ok(PartEnd {
            seen: names_seen,
            ..end
        })
    }

    fn root(&self) -> Option<&str> {
        self.expect.root.or(self.root.as_deref())
    }

    fn classify(&self, name: &str, phase: Phase) -> Result<MemberKind, ArchiveError> {
        match self.root() {
            Some(root) => {
                names::classify(name, root).ok_or_else(|| ArchiveError::UnexpectedEntry {
                    entry: names::display_name(name.as_bytes()),
                    root: root.to_owned(),
                })
            }
            None => match name {
                VERSION_MEMBER => Ok(MemberKind::Version),
                MANIFEST_MEMBER => Ok(MemberKind::Manifest),
                _ => Err(self.out_of_order(name, phase)),
            },
        }
    }

    fn out_of_order(&self, name: &str, phase: Phase) -> ArchiveError {
        let root = self.root().unwrap_or("<root>");
        let expected = match phase {
            Phase::Start => "`VERSION` as the first entry".to_owned(),
            Phase::Version => "`manifest.json` as the second entry".to_owned(),
            Phase::Manifest => format!("the root record `tree/{root}.json` as the third entry"),
            Phase::Root => format!("`{USERS_MEMBER}`, a relation member or an upload"),
            Phase::Users | Phase::Relations => {
                "a relation member or an upload (users come right after the root record)".to_owned()
            }
            Phase::Uploads => "only uploads after the first upload".to_owned(),
        };
        ArchiveError::OutOfOrder {
            entry: names::display_name(name.as_bytes()),
            expected,
        }
    }

    fn advance(&self, phase: Phase, kind: &MemberKind, name: &str) -> Result<Phase, ArchiveError> {
        let next = match (kind, phase) {
            (MemberKind::Version, Phase::Start) => Phase::Version,
            (MemberKind::Manifest, Phase::Version) => Phase::Manifest,
            (MemberKind::RootRecord, Phase::Manifest) => Phase::Root,
            (MemberKind::Users, Phase::Root) => Phase::Users,
            (MemberKind::Relation(_), Phase::Root | Phase::Users | Phase::Relations) => {
                Phase::Relations
            }
            (
                MemberKind::Upload(_),
                Phase::Root | Phase::Users | Phase::Relations | Phase::Uploads,
            ) => Phase::Uploads,
            _ => return Err(self.out_of_order(name, phase)),
        };
        Ok(next)
    }

    /// Rejects an entry whose header announces more than its limit, before reading it.
    fn check_declared_size(
        &self,
        name: &str,
        kind: &MemberKind,
        declared: u64,
    ) -> Result<(), ArchiveError> {
        let entry = || Location::Entry(name.to_owned());
        let (limit, max, location) = match kind {
            MemberKind::Version => {
                if declared > MAX_VERSION_BYTES {
                    return Err(ArchiveError::InvalidVersion {
                        found: format!("{declared} bytes"),
                    });
                }
                return Ok(());
            }
            MemberKind::Manifest => (
                LimitKind::ManifestBytes,
                self.limits.max_manifest_bytes,
                entry(),
            ),
            MemberKind::RootRecord => (
                LimitKind::LineBytes,
                self.limits.max_line_bytes,
                Location::Line {
                    member: name.to_owned(),
                    line: 1,
                },
            ),
            // The total cap covers the entry's data; checking the header's claim first refuses
            // an entry that could never fit before any of it is decompressed.
            _ => (LimitKind::TotalBytes, self.limits.max_total_bytes, entry()),
        };
        if declared > max {
            return Err(ArchiveError::LimitExceeded {
                limit,
                max,
                location,
            });
        }
        Ok(())
    }

    /// The manifest's entry for a tree or upload member (none for VERSION and the manifest).
    fn listed(&self, name: &str, kind: &MemberKind) -> Result<Option<MemberInfo>, ArchiveError> {
        if matches!(kind, MemberKind::Version | MemberKind::Manifest) {
            return Ok(None);
        }
        self.manifest
            .as_ref()
            .and_then(|m| m.members.get(name))
            .map(Some)
            .ok_or_else(|| ArchiveError::UnlistedMember {
                entry: name.to_owned(),
            })
    }

    /// `later`, a problem met while reading a member, unless the checker found an invalid record
    /// before it (the verdict a single thread would give).
    fn first_problem(&mut self, later: ArchiveError) -> ArchiveError {
        match self.checker.as_mut() {
            Some(checker) => checker.first_problem(later),
            None => later,
        }
    }

    fn read_small(
        &self,
        entry: &mut impl Read,
        name: &str,
        declared: u64,
    ) -> Result<(Vec<u8>, DigestResult), ArchiveError> {
        let mut reader = DigestReader::new(entry);
        let mut bytes = Vec::with_capacity(declared.min(1 << 20) as usize);
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| self.read_error(e, Location::Entry(name.to_owned())))?;
        let digest = reader.finish();
        self.check_complete(name, declared, digest.bytes)?;
        Ok((bytes, digest))
    }

    /// The entry delivered as many bytes as its header announced.
    fn check_complete(&self, name: &str, declared: u64, read: u64) -> Result<(), ArchiveError> {
        if read == declared {
            return Ok(());
        }
        Err(ArchiveError::Corrupt {
            path: self.path.to_path_buf(),
            location: Location::Entry(name.to_owned()),
            source: io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("entry data ends after {read} of {declared} bytes"),
            ),
        })
    }

    fn record_seen(&mut self, name: &str, digest: &DigestResult, ndjson: bool) {
        let Some(seen) = self.seen.as_mut() else {
            return;
        };
        seen.push(InspectedMember {
            name: name.to_owned(),
            bytes: digest.bytes,
            sha256: digest.sha256.clone(),
            lines: ndjson.then_some(digest.lines),
        });
    }

    fn read_version(&mut self, entry: &mut impl Read, declared: u64) -> Result<(), ArchiveError> {
        let (bytes, digest) = self.read_small(entry, VERSION_MEMBER, declared)?;
        let invalid = || ArchiveError::InvalidVersion {
            found: names::display_name(&bytes),
        };
        let digits = bytes.strip_suffix(b"\n").ok_or_else(invalid)?;
        if digits.is_empty()
            || !digits.iter().all(u8::is_ascii_digit)
            || (digits.len() > 1 && digits[0] == b'0')
        {
            return Err(invalid());
        }
        let found: u32 = std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(invalid)?;
        if let Some(expected) = self.expect.format
            && found != expected
        {
            return Err(ArchiveError::VersionMismatch { found, expected });
        }
        self.format_version = Some(found);
        self.record_seen(VERSION_MEMBER, &digest, false);
        Ok(())
    }

    fn read_manifest(&mut self, entry: &mut impl Read, declared: u64) -> Result<(), ArchiveError> {
        let (bytes, digest) = self.read_small(entry, MANIFEST_MEMBER, declared)?;
        let manifest = match self.expect.manifest {
            // The very bytes the verify pass parsed and checked: one copy of a large manifest
            // (one entry per upload) is enough.
            Some((verified, sha256)) if sha256 == digest.sha256 => Cow::Borrowed(verified),
            Some(_) => {
                return Err(ArchiveError::ArchiveChanged {
                    path: self.path.to_path_buf(),
                    what: "manifest.json differs".to_owned(),
                });
            }
            None => Cow::Owned(self.parse_manifest(&bytes)?),
        };
        let root = match self.expect.root {
            Some(root) => root.to_owned(),
            None => manifest.root.relation.clone(),
        };
        if let Cow::Owned(parsed) = &manifest {
            parsed.validate(&root, self.limits)?;
            let needed = parsed.tar_bytes(digest.bytes);
            if needed > self.limits.max_total_bytes {
                return Err(ArchiveError::ManifestExceedsLimit {
                    limit: LimitKind::TotalBytes,
                    max: self.limits.max_total_bytes,
                    needed,
                });
            }
        }
        self.record_seen(MANIFEST_MEMBER, &digest, false);
        self.root = Some(root);
        self.manifest = Some(manifest);
        self.manifest_sha256 = Some(digest.sha256);
        Ok(())
    }

    /// `manifest.json`'s bytes as a manifest, its format version checked against `VERSION`'s.
    fn parse_manifest(&self, bytes: &[u8]) -> Result<Manifest, ArchiveError> {
        // Checked strictly first, then read straight into the manifest: no JSON tree of it in
        // between (a large archive's manifest lists thousands of uploads; the tree took twice
        // the manifest's memory for a moment, and that moment stayed in the heap's footprint).
        json::check_value(bytes).map_err(|source| ArchiveError::ManifestJson { source })?;
        let manifest: Manifest = serde_json::from_slice(bytes)
            .map_err(|source| ArchiveError::ManifestJson { source })?;
        let version = self.format_version.unwrap_or_default();
        if manifest.format_version != version {
            return Err(ArchiveError::ManifestInvalid {
                reason: format!(
                    "format_version is {} but VERSION says {version}",
                    manifest.format_version
                ),
            });
        }
        Ok(manifest)
    }

    fn check_listed(
        &self,
        name: &str,
        listed: Option<&MemberInfo>,
        digest: &DigestResult,
        ndjson: bool,
    ) -> Result<(), ArchiveError> {
        let Some(expected) = listed else {
            return Err(ArchiveError::UnlistedMember {
                entry: name.to_owned(),
            });
        };
        if expected.bytes != digest.bytes {
            return Err(ArchiveError::SizeMismatch {
                member: name.to_owned(),
                expected: expected.bytes,
                actual: digest.bytes,
            });
        }
        if expected.sha256 != digest.sha256 {
            return Err(ArchiveError::ChecksumMismatch {
                member: name.to_owned(),
                expected: expected.sha256.clone(),
                actual: digest.sha256.clone(),
            });
        }
        let lines = ndjson.then_some(digest.lines);
        if expected.lines != lines {
            return Err(ArchiveError::LineCountMismatch {
                member: name.to_owned(),
                expected: expected.lines,
                actual: lines,
            });
        }
        Ok(())
    }

    fn read_root(
        &mut self,
        entry: &mut impl Read,
        name: &str,
        declared: u64,
        listed: Option<MemberInfo>,
    ) -> Result<Option<Map<String, Value>>, ArchiveError> {
        let (bytes, digest) = self.read_small(entry, name, declared)?;
        self.check_listed(name, listed.as_ref(), &digest, false)?;
        let root = self.root().map(str::to_owned);
        let record = match self.checker.as_mut() {
            None => Some(parse_record(name, 1, &bytes)?),
            Some(checker) => {
                checker.begin(name, root.as_deref());
                checker.push(1, &bytes);
                checker.settle()?;
                None
            }
        };
        self.record_seen(name, &digest, false);
        Ok(record)
    }

    fn read_ndjson<S: EventSink>(
        &mut self,
        entry: &mut impl Read,
        name: &str,
        kind: &MemberKind,
        declared: u64,
        listed: Option<MemberInfo>,
        sink: &mut S,
    ) -> Result<(), StreamError<S::Error>> {
        let relation = match kind {
            MemberKind::Relation(relation) => Some(relation.as_str()),
            _ => None,
        };
        if let Some(relation) = relation {
            sink.relation_start(relation).map_err(StreamError::Sink)?;
        }
        let max_line = self.limits.max_line_bytes;
        let line_too_long = |line_no: u64| ArchiveError::LimitExceeded {
            limit: LimitKind::LineBytes,
            max: max_line,
            location: Location::Line {
                member: name.to_owned(),
                line: line_no + 1,
            },
        };
        if let Some(checker) = self.checker.as_mut() {
            checker.begin(name, relation);
        }
        let mut reader = BufReader::with_capacity(READ_BUFFER, DigestReader::new(entry));
        // The start of a line the buffer ended in the middle of. Lines that lie whole in the
        // buffer (nearly all of them) are handed over from the buffer, without a copy.
        let mut carry: Vec<u8> = Vec::new();
        let mut line_no: u64 = 0;
        loop {
            let buf = match reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) => {
                    let e = self.read_error(e, Location::Entry(name.to_owned()));
                    return Err(self.first_problem(e).into());
                }
            };
            if buf.is_empty() {
                break;
            }
            let mut start = 0;
            for end in memchr::memchr_iter(b'\n', buf) {
                let piece = &buf[start..end];
                start = end + 1;
                if (carry.len() + piece.len()) as u64 > max_line {
                    return Err(self.first_problem(line_too_long(line_no)).into());
                }
                let line = if carry.is_empty() {
                    piece
                } else {
                    carry.extend_from_slice(piece);
                    &carry[..]
                };
                line_no += 1;
                match self.checker.as_mut() {
                    Some(checker) => {
                        if !checker.push(line_no, line) {
                            checker.settle()?;
                        }
                    }
                    None => {
                        let record = parse_record(name, line_no, line)?;
                        match relation {
                            Some(relation) => sink.record(relation, line_no, line.len(), record),
                            None => sink.user(line_no, record),
                        }
                        .map_err(StreamError::Sink)?;
                    }
                }
                carry.clear();
            }
            let rest = &buf[start..];
            if (carry.len() + rest.len()) as u64 > max_line {
                return Err(self.first_problem(line_too_long(line_no)).into());
            }
            carry.extend_from_slice(rest);
            let used = buf.len();
            reader.consume(used);
        }
        if !carry.is_empty() {
            let e = ArchiveError::UnterminatedLine {
                member: name.to_owned(),
                line: line_no + 1,
            };
            return Err(self.first_problem(e).into());
        }
        if let Some(checker) = self.checker.as_mut() {
            checker.settle()?;
        }
        let digest = reader.into_inner().finish();
        self.check_complete(name, declared, digest.bytes)?;
        self.check_listed(name, listed.as_ref(), &digest, true)?;
        self.record_seen(name, &digest, true);
        match relation {
            Some(relation) => sink.relation_end(relation),
            None => sink.users_end(),
        }
        .map_err(StreamError::Sink)
    }

    fn read_upload<S: EventSink>(
        &mut self,
        entry: &mut impl Read,
        name: &str,
        sha256: &str,
        declared: u64,
        listed: Option<MemberInfo>,
        sink: &mut S,
    ) -> Result<(), StreamError<S::Error>> {
        let mut data = UploadData {
            inner: DigestReader::new(entry),
            failure: None,
        };
        let delivered = sink.upload(sha256, declared, &mut data);
        if let Some(e) = data.failure.take() {
            return Err(self.read_error(e, Location::Entry(name.to_owned())).into());
        }
        delivered.map_err(StreamError::Sink)?;
        data.inner
            .drain()
            .map_err(|e| self.read_error(e, Location::Entry(name.to_owned())))?;
        let digest = data.inner.finish();
        self.check_complete(name, declared, digest.bytes)?;
        if digest.sha256 != sha256 {
            return Err(ArchiveError::UploadHashMismatch {
                name: sha256.to_owned(),
                actual: digest.sha256,
            }
            .into());
        }
        self.check_listed(name, listed.as_ref(), &digest, false)?;
        self.record_seen(name, &digest, false);
        Ok(())
    }
}

/// The upload bytes handed to a sink. Keeps the first read error, so an archive problem is
/// reported as such even if the sink wraps or swallows it.
struct UploadData<R> {
    inner: DigestReader<R>,
    failure: Option<io::Error>,
}

impl<R: Read> Read for UploadData<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.failure.is_some() {
            return Err(io::Error::other("the archive could not be read"));
        }
        self.inner.read(buf).map_err(|e| {
            let shown = io::Error::new(e.kind(), e.to_string());
            self.failure = Some(e);
            shown
        })
    }
}

fn parse_record(member: &str, line: u64, bytes: &[u8]) -> Result<Map<String, Value>, ArchiveError> {
    json::parse_object(bytes).map_err(|e| check::record_error(member, line, e))
}

/// What a non-regular entry is, for the error message; `None` for regular files.
fn forbidden_type(entry_type: tar::EntryType) -> Option<&'static str> {
    use tar::EntryType as T;
    Some(match entry_type {
        T::Regular => return None,
        T::Link => "hard link",
        T::Symlink => "symbolic link",
        T::Char => "character device",
        T::Block => "block device",
        T::Directory => "directory",
        T::Fifo => "FIFO",
        T::Continuous => "contiguous file",
        T::GNULongName => "GNU long-name record",
        T::GNULongLink => "GNU long-link record",
        T::GNUSparse => "GNU sparse file",
        T::XGlobalHeader => "PAX global header",
        T::XHeader => "PAX extended header",
        _ => "entry of an unknown type",
    })
}
