//! The export side: [`ArchiveWriter`] builds one archive file.
//!
//! The archive is one gzip member wrapping a tar, but it is compressed while it is produced, not
//! after (see [`deflate`](super::deflate)): a tree member's bytes go, in chunks, to a background
//! compression thread that deflates each member into its own spool file (next to the output)
//! while its sha256, size and line count are computed here (tar needs each size up front; the
//! checksums are of the uncompressed bytes). Uploads are hashed, kept once per distinct content,
//! and compressed in the background as soon as they are added (the thread reads the file again
//! and checks it still holds what was hashed). [`ArchiveWriter::finish`] then only assembles:
//! gzip header, tar headers, padding and `manifest.json` compressed on the spot, the
//! precompressed members and uploads copied as they are, end-of-archive blocks, gzip trailer
//! (CRC-32 combined from the pieces'); it writes `<output>.partial-<random>`, fsyncs it and
//! renames it over `output` atomically. Nothing is left behind on error or when the writer is
//! dropped without `finish`.
//!
//! What the writer keeps per upload until `finish` is its digest and size (in an
//! [`IndexMap`], for the order they were added in) and, from the compression thread, its
//! piece's place in the shared spool file: about 120 bytes (estimated from the types' sizes),
//! where an archive can hold hundreds of thousands of uploads.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::mem;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Serialize;
use tempfile::TempDir;

use super::deflate::{
    CHUNK, Counting, Deflater, GzipAssembler, Piece, Pieces, UPLOADS_SPOOL, UploadJob,
    UploadOutcome, read_upload,
};
use super::digest::{DigestReader, MemberDigest, sha256};
use super::error::ArchiveError;
use super::json::{self, RecordError};
use super::limits::Limits;
use super::manifest::{BLOCK, Manifest, ManifestParts, MemberInfo, RelationStats, UploadStats};
use super::members::Members;
use super::names::{
    self, MANIFEST_MEMBER, MemberKind, USERS_MEMBER, UploadDigest, VERSION_MEMBER,
    is_valid_relation_name,
};
use super::restart;

/// Options of [`ArchiveWriter::create`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterOptions {
    /// The root relation's name (the Plan's root node name, `project`): names
    /// `tree/<root>.json` and `tree/<root>/<relation>.ndjson`.
    pub root_relation: String,
    /// gzip level, 0 (store) to 9 (best). Default 6.
    pub compression_level: u32,
    /// Replace an existing output file. Default `false`: refuse.
    pub overwrite: bool,
}

impl WriterOptions {
    /// Default options for a root relation.
    pub fn new(root_relation: impl Into<String>) -> Self {
        WriterOptions {
            root_relation: root_relation.into(),
            compression_level: 6,
            overwrite: false,
        }
    }
}

/// What [`ArchiveWriter::finish`] produced.
#[derive(Debug, Clone)]
pub struct ArchiveSummary {
    /// The archive file.
    pub path: PathBuf,
    /// Its (compressed) size.
    pub bytes: u64,
    /// The manifest written into it.
    pub manifest: Manifest,
    /// The smallest [`Limits`] a reader needs to accept this archive: its tar size, its entry
    /// count, its longest line (or root record) and its manifest's size.
    pub needed: Limits,
}

struct SpooledMember {
    name: String,
    kind: MemberKind,
    /// Its compressed piece's id (and spool file).
    piece: u64,
    path: PathBuf,
    info: MemberInfo,
    /// Its longest line, newline excluded.
    longest_line: u64,
}

/// Writes one archive.
///
/// Tree members ([`member`](Self::member)) are compressed by a background thread while they are
/// written, into a temporary directory next to the output, and their sha256, size and line
/// count are computed; uploads ([`add_upload`](Self::add_upload)) are hashed, kept once per
/// distinct content and compressed in the background too. [`finish`](Self::finish) assembles
/// the compressed pieces into one gzip member in `<output>.partial-<random>`, fsyncs it and
/// renames it to the output atomically. On any error, or if the writer is dropped without
/// `finish`, the partial file and the spool directory are removed.
pub struct ArchiveWriter {
    output: PathBuf,
    dir: PathBuf,
    file_name: String,
    opts: WriterOptions,
    /// Declared before `spool`: its thread is stopped before the spool directory is removed.
    deflater: Deflater,
    spool: TempDir,
    spool_counter: u64,
    /// Size of the chunks handed to the compression thread ([`CHUNK`]; smaller in tests).
    chunk: usize,
    members: Vec<SpooledMember>,
    /// Each distinct upload's size, in the order they were added (which is the order the
    /// compression thread reports them in).
    uploads: IndexMap<UploadDigest, u64>,
    /// Tests: members are compressed into `/dev/full`.
    #[cfg(test)]
    fail_spool: bool,
}

impl std::fmt::Debug for ArchiveWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveWriter")
            .field("output", &self.output)
            .field("root_relation", &self.opts.root_relation)
            .field("members", &self.members.len())
            .field("uploads", &self.uploads.len())
            .finish()
    }
}

impl ArchiveWriter {
    /// Starts an archive that [`finish`](Self::finish) will write to `output`. Creates the spool
    /// directory next to `output` (so the output directory must exist and be writable) and
    /// refuses an existing `output` unless `opts.overwrite`.
    pub fn create(output: &Path, opts: WriterOptions) -> Result<Self, ArchiveError> {
        if !is_valid_relation_name(&opts.root_relation) {
            return Err(ArchiveError::InvalidOption {
                reason: format!(
                    "root relation {:?} is not [a-z0-9_]+ (at most {} bytes)",
                    opts.root_relation,
                    names::MAX_RELATION_NAME
                ),
            });
        }
        if opts.compression_level > 9 {
            return Err(ArchiveError::InvalidOption {
                reason: format!(
                    "compression level {} is out of range 0..=9",
                    opts.compression_level
                ),
            });
        }
        let file_name = output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| ArchiveError::InvalidOption {
                reason: format!("output `{}` has no file name", output.display()),
            })?;
        let dir = match output.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !opts.overwrite && fs::symlink_metadata(output).is_ok() {
            return Err(ArchiveError::OutputExists {
                path: output.to_path_buf(),
            });
        }
        let spool = tempfile::Builder::new()
            .prefix(&format!(".{file_name}.spool-"))
            .tempdir_in(&dir)
            .map_err(|e| ArchiveError::io("create a spool directory in", &dir, e))?;
        let deflater = Deflater::start(opts.compression_level, output, spool.path())?;
        tracing::debug!(output = %output.display(), spool = %spool.path().display(), "archive writer created");
        Ok(ArchiveWriter {
            output: output.to_path_buf(),
            dir,
            file_name,
            opts,
            deflater,
            spool,
            spool_counter: 0,
            chunk: CHUNK,
            members: Vec::new(),
            uploads: IndexMap::new(),
            #[cfg(test)]
            fail_spool: false,
        })
    }

    /// The root relation this writer was created for.
    pub fn root_relation(&self) -> &str {
        &self.opts.root_relation
    }

    /// The root record member's name, `tree/<root>.json`.
    pub fn root_member_name(&self) -> String {
        names::root_member(&self.opts.root_relation)
    }

    /// The member name of a top-level relation, `tree/<root>/<relation>.ndjson`.
    pub fn relation_member_name(&self, relation: &str) -> String {
        names::relation_member(&self.opts.root_relation, relation)
    }

    /// A new id for a piece or spool file.
    fn next_id(&mut self) -> u64 {
        self.spool_counter += 1;
        self.spool_counter
    }

    /// A new spool file's id and path.
    fn spool_path(&mut self, what: &str) -> (u64, PathBuf) {
        let id = self.next_id();
        (id, self.spool.path().join(format!("{what}-{id:06}")))
    }

    /// Creates a new spool file.
    fn spool_file(&mut self, what: &str) -> Result<(u64, PathBuf, File), ArchiveError> {
        let (id, path) = self.spool_path(what);
        let file =
            File::create_new(&path).map_err(|e| ArchiveError::io("create spool file", &path, e))?;
        Ok((id, path, file))
    }

    /// Opens a tree member for writing: `tree/<root>.json` (the root record, one JSON object),
    /// `tree/users.ndjson` or `tree/<root>/<relation>.ndjson` (one JSON object per line, each
    /// followed by `\n`). Each name can be written once. In the archive, the root record comes
    /// first, then users, then relation members in the order they were finished.
    pub fn member(&mut self, name: &str) -> Result<MemberWriter<'_>, ArchiveError> {
        let root = &self.opts.root_relation;
        let kind = match names::classify(name, root) {
            Some(kind @ (MemberKind::RootRecord | MemberKind::Users | MemberKind::Relation(_))) => {
                kind
            }
            _ => {
                return Err(ArchiveError::InvalidMemberName {
                    name: names::display_name(name.as_bytes()),
                    reason: format!(
                        "expected tree/{root}.json, {USERS_MEMBER} or tree/{root}/<relation>.ndjson \
                         with <relation> = [a-z0-9_]+"
                    ),
                });
            }
        };
        if self.members.iter().any(|m| m.name == name) {
            return Err(ArchiveError::MemberAlreadyWritten {
                name: name.to_owned(),
            });
        }
        let (piece, path, file) = self.spool_file("member")?;
        #[cfg(test)]
        let file = if self.fail_spool {
            File::options()
                .write(true)
                .open("/dev/full")
                .map_err(|e| ArchiveError::io("open", "/dev/full", e))?
        } else {
            file
        };
        if let Err(e) = self.deflater.open(piece, file, path.clone()) {
            let _ = fs::remove_file(&path);
            return Err(e);
        }
        let buf = self.deflater.buffer(self.chunk);
        Ok(MemberWriter {
            writer: self,
            name: name.to_owned(),
            root: (kind == MemberKind::RootRecord).then(Vec::new),
            kind,
            piece,
            path,
            buf,
            digest: MemberDigest::default(),
            scratch: Vec::new(),
            closed: false,
            finished: false,
        })
    }

    /// Adds an upload file; returns its sha256. Content already added is kept once. New content
    /// is compressed in the background: the file is read again for that, and the archive gets
    /// what was hashed here. Should the file no longer hold it then, [`finish`](Self::finish)
    /// reads it once more and fails with [`ArchiveError::UploadChanged`] if it still differs.
    /// A failure of the background compression is reported by the next call that hands work to
    /// it, or by `finish`.
    pub fn add_upload(&mut self, file: &Path) -> Result<String, ArchiveError> {
        let meta = fs::metadata(file).map_err(|e| ArchiveError::io("read", file, e))?;
        if !meta.is_file() {
            return Err(ArchiveError::NotAFile {
                path: file.to_path_buf(),
            });
        }
        let handle = File::open(file).map_err(|e| ArchiveError::io("open", file, e))?;
        let mut reader = DigestReader::new(handle);
        reader
            .drain()
            .map_err(|e| ArchiveError::io("read", file, e))?;
        let digest = reader.finish();
        let listed = UploadDigest::from(digest.raw);
        if !self.uploads.contains_key(&listed) {
            self.record_upload(listed, digest.bytes, file.to_path_buf())?;
        }
        Ok(digest.sha256)
    }

    /// Adds an upload from memory (spooled to disk); returns its sha256.
    pub fn add_upload_bytes(&mut self, bytes: &[u8]) -> Result<String, ArchiveError> {
        let digest = UploadDigest::from(sha256(bytes));
        if !self.uploads.contains_key(&digest) {
            let (_, path) = self.spool_path("upload");
            fs::write(&path, bytes).map_err(|e| ArchiveError::io("write spool file", &path, e))?;
            self.record_upload(digest, bytes.len() as u64, path)?;
        }
        Ok(digest.to_string())
    }

    /// Queues new upload `digest` (`bytes` bytes, read from `source`) for compression and
    /// lists it.
    fn record_upload(
        &mut self,
        digest: UploadDigest,
        bytes: u64,
        source: PathBuf,
    ) -> Result<(), ArchiveError> {
        self.deflater.upload(UploadJob {
            source,
            sha256: digest.to_string(),
            bytes,
        })?;
        self.uploads.insert(digest, bytes);
        Ok(())
    }

    /// Writes the archive: `VERSION`, `manifest.json` (with the member list and upload totals
    /// filled in), the tree members, the uploads; then fsyncs and renames it to the output.
    /// Waits for the background compression to finish first.
    pub fn finish(mut self, parts: ManifestParts) -> Result<ArchiveSummary, ArchiveError> {
        let manifest = self.build_manifest(parts)?;
        // Measured here, written at its place in the archive: at 10M rows it is ~10 MB of JSON.
        let mut counter = Counting::new(io::sink());
        write_manifest(&manifest, &mut counter).map_err(|source| {
            ArchiveError::RecordSerialize {
                member: MANIFEST_MEMBER.to_owned(),
                source,
            }
        })?;
        let manifest_bytes = counter.bytes;
        let needed = self.needed(&manifest, manifest_bytes);
        let mtime = chrono::DateTime::parse_from_rfc3339(&manifest.created_at)
            .map(|t| t.timestamp().max(0) as u64)
            .unwrap_or(0);

        let mut pieces = self.deflater.finish()?;

        let partial = tempfile::Builder::new()
            .prefix(&format!("{}.partial-", self.file_name))
            .rand_bytes(10)
            .tempfile_in(&self.dir)
            .map_err(|e| ArchiveError::io("create a partial file in", &self.dir, e))?;
        let partial_path = partial.path().to_path_buf();
        self.write_archive(
            partial.as_file(),
            &mut pieces,
            &manifest,
            manifest_bytes,
            mtime,
            &partial_path,
        )?;
        partial
            .as_file()
            .sync_all()
            .map_err(|e| ArchiveError::io("sync", &partial_path, e))?;

        let persisted = if self.opts.overwrite {
            partial.persist(&self.output)
        } else {
            partial.persist_noclobber(&self.output)
        };
        if let Err(e) = persisted {
            // Dropping `e.file` removes the partial file.
            return Err(if e.error.kind() == io::ErrorKind::AlreadyExists {
                ArchiveError::OutputExists {
                    path: self.output.clone(),
                }
            } else {
                ArchiveError::io("rename the partial archive to", &self.output, e.error)
            });
        }
        sync_dir(&self.dir)?;
        let bytes = fs::metadata(&self.output)
            .map_err(|e| ArchiveError::io("read", &self.output, e))?
            .len();
        tracing::info!(
            output = %self.output.display(),
            bytes,
            members = manifest.members.len(),
            uploads = manifest.uploads.files,
            "archive written"
        );
        let summary = ArchiveSummary {
            path: self.output.clone(),
            bytes,
            manifest,
            needed,
        };
        let beyond = summary.needed.beyond(&Limits::default());
        if !beyond.is_empty() {
            let settings: Vec<String> = beyond.iter().map(ToString::to_string).collect();
            tracing::warn!(
                output = %self.output.display(),
                "reading this archive needs limits above the defaults: {}",
                settings.join(" ")
            );
        }
        Ok(summary)
    }

    /// What a reader must admit to read the archive [`write_archive`](Self::write_archive)
    /// writes with this manifest.
    fn needed(&self, manifest: &Manifest, manifest_bytes: u64) -> Limits {
        let longest_line = self.members.iter().fold(0, |longest, member| {
            longest.max(match member.kind {
                MemberKind::RootRecord => member.info.bytes,
                _ => member.longest_line,
            })
        });
        Limits {
            max_total_bytes: manifest.tar_bytes(manifest_bytes),
            max_entries: manifest.members.len() as u64 + 2,
            max_line_bytes: longest_line,
            max_manifest_bytes: manifest_bytes,
        }
    }

    fn build_manifest(&self, parts: ManifestParts) -> Result<Manifest, ArchiveError> {
        let root = &self.opts.root_relation;
        if parts.root.relation != *root {
            return Err(ArchiveError::ManifestInvalid {
                reason: format!(
                    "root.relation is `{}` but the writer was created for `{root}`",
                    parts.root.relation
                ),
            });
        }
        let root_member = names::root_member(root);
        if !self.members.iter().any(|m| m.name == root_member) {
            return Err(ArchiveError::RootRecordMissing {
                member: root_member,
            });
        }
        let mut relations = parts.relations;
        for member in &self.members {
            if let (MemberKind::Relation(relation), Some(lines)) = (&member.kind, member.info.lines)
            {
                relations
                    .entry(format!("{root}/{relation}"))
                    .or_insert(RelationStats { records: lines });
            }
        }
        let uploads = UploadStats {
            files: self.uploads.len() as u64,
            bytes: self.uploads.values().sum(),
        };
        let members = Members::build(
            self.members
                .iter()
                .map(|member| (member.name.clone(), member.info.clone())),
            self.uploads.iter().map(|(digest, bytes)| (*digest, *bytes)),
        );
        let created_at = parts
            .created_at
            .unwrap_or_else(chrono::Utc::now)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let manifest = Manifest {
            format_version: parts.format_version,
            hoist_version: env!("CARGO_PKG_VERSION").to_owned(),
            app: parts.app,
            created_at,
            root: parts.root,
            relations,
            members,
            uploads,
        };
        let unbounded = Limits {
            max_entries: u64::MAX,
            ..Limits::default()
        };
        manifest.validate(root, &unbounded)?;
        Ok(manifest)
    }

    /// Writes the gzip member wrapping the tar to `file`.
    fn write_archive(
        &self,
        file: &File,
        pieces: &mut Pieces,
        manifest: &Manifest,
        manifest_bytes: u64,
        mtime: u64,
        partial: &Path,
    ) -> Result<(), ArchiveError> {
        let sink_error = |e: io::Error| ArchiveError::io("write", partial, e);
        let out = BufWriter::with_capacity(CHUNK, file);
        let mut gz = GzipAssembler::new(out, self.opts.compression_level).map_err(sink_error)?;
        let version = format!("{}\n", manifest.format_version);
        gz.raw(header(VERSION_MEMBER, version.len() as u64, mtime)?.as_bytes())
            .and_then(|()| gz.raw(version.as_bytes()))
            .and_then(|()| gz.raw(padding(version.len() as u64)))
            .map_err(sink_error)?;
        gz.raw(header(MANIFEST_MEMBER, manifest_bytes, mtime)?.as_bytes())
            .map_err(sink_error)?;
        let mut counted = Counting::new(&mut gz);
        write_manifest(manifest, &mut counted).map_err(|e| sink_error(io::Error::from(e)))?;
        if counted.bytes != manifest_bytes {
            return Err(ArchiveError::SizeMismatch {
                member: MANIFEST_MEMBER.to_owned(),
                expected: manifest_bytes,
                actual: counted.bytes,
            });
        }
        gz.raw(padding(manifest_bytes)).map_err(sink_error)?;
        for member in self.ordered_members() {
            let piece = take_piece(&mut pieces.members, member.piece, &member.path)?;
            if piece.bytes != member.info.bytes {
                return Err(ArchiveError::SizeMismatch {
                    member: member.name.clone(),
                    expected: member.info.bytes,
                    actual: piece.bytes,
                });
            }
            let header = header(&member.name, member.info.bytes, mtime)?;
            let mut spool = open_spool(&member.path)?;
            append_piece(&mut gz, &header, &piece, &mut spool, &member.path, partial)?;
        }
        if pieces.uploads.len() != self.uploads.len() {
            return Err(ArchiveError::io(
                "compress",
                &self.output,
                io::Error::other(format!(
                    "the compression thread handled {} of the {} uploads",
                    pieces.uploads.len(),
                    self.uploads.len()
                )),
            ));
        }
        // Where a second reader can start on the uploads (see `restart`).
        let restart = if self.uploads.is_empty() {
            None
        } else {
            Some(gz.restart_point().map_err(sink_error)?)
        };
        let spool_path = self.spool.path().join(UPLOADS_SPOOL);
        let mut spool = None;
        let mut buf = Vec::new();
        for ((digest, &bytes), outcome) in self.uploads.iter().zip(pieces.uploads.drain(..)) {
            let sha256 = digest.to_string();
            let header = header(&names::upload_member(&sha256), bytes, mtime)?;
            match outcome {
                UploadOutcome::Compressed(piece) => {
                    if piece.bytes != bytes {
                        return Err(ArchiveError::SizeMismatch {
                            member: names::upload_member(&sha256),
                            expected: bytes,
                            actual: piece.bytes,
                        });
                    }
                    let spool = match &mut spool {
                        Some(spool) => spool,
                        None => spool.insert(open_spool(&spool_path)?),
                    };
                    append_piece(&mut gz, &header, &piece, spool, &spool_path, partial)?;
                }
                UploadOutcome::Left { source } => {
                    // The compression thread found the file changed (or unreadable): read it
                    // now, compressing on the spot; fails if it is still not what it was.
                    buf.resize(64 * 1024, 0);
                    gz.raw(header.as_bytes()).map_err(sink_error)?;
                    read_upload(&source, &sha256, bytes, &mut buf, |data| {
                        gz.raw(data).map_err(sink_error)
                    })?;
                    gz.raw(padding(bytes)).map_err(sink_error)?;
                }
            }
        }
        gz.raw(&[0; 2 * BLOCK as usize]).map_err(sink_error)?;
        let out = gz.finish().map_err(sink_error)?;
        let mut file = out.into_inner().map_err(|e| sink_error(e.into_error()))?;
        if let Some(point) = restart {
            file.seek(SeekFrom::Start(restart::FIELD_AT))
                .and_then(|_| file.write_all(&restart::field(point)))
                .map_err(sink_error)?;
        }
        Ok(())
    }

    /// Tar order: VERSION, manifest.json, root record, users, relations, uploads.
    fn ordered_members(&self) -> Vec<&SpooledMember> {
        let rank = |m: &SpooledMember| match m.kind {
            MemberKind::RootRecord => 0,
            MemberKind::Users => 1,
            _ => 2,
        };
        let mut ordered: Vec<&SpooledMember> = self.members.iter().collect();
        ordered.sort_by_key(|m| rank(m)); // stable: relations keep their finish order
        ordered
    }
}

/// The piece `id` the compression thread made (for `what`).
fn take_piece(
    pieces: &mut HashMap<u64, Piece>,
    id: u64,
    what: &Path,
) -> Result<Piece, ArchiveError> {
    pieces.remove(&id).ok_or_else(|| {
        ArchiveError::io(
            "compress",
            what,
            io::Error::other("the compression thread made no output for it"),
        )
    })
}

/// `manifest.json` as written: pretty JSON and a newline.
fn write_manifest(manifest: &Manifest, mut out: impl Write) -> Result<(), serde_json::Error> {
    serde_json::to_writer_pretty(&mut out, manifest)?;
    out.write_all(b"\n").map_err(serde_json::Error::io)
}

/// Zeros that pad `len` bytes to a whole tar block.
fn padding(len: u64) -> &'static [u8] {
    const ZEROS: [u8; BLOCK as usize] = [0; BLOCK as usize];
    &ZEROS[..((BLOCK - len % BLOCK) % BLOCK) as usize]
}

/// Opens a spool file to copy pieces from.
fn open_spool(path: &Path) -> Result<File, ArchiveError> {
    File::open(path).map_err(|e| ArchiveError::io("open spool file", path, e))
}

/// One tar entry: `header`, the precompressed content (from `spool`, at `path`), padding.
fn append_piece<W: Write>(
    gz: &mut GzipAssembler<W>,
    header: &tar::Header,
    piece: &Piece,
    spool: &mut File,
    path: &Path,
    partial: &Path,
) -> Result<(), ArchiveError> {
    let sink_error = |e: io::Error| ArchiveError::io("write", partial, e);
    gz.raw(header.as_bytes()).map_err(sink_error)?;
    spool
        .seek(SeekFrom::Start(piece.offset))
        .map_err(|e| ArchiveError::io("read spool file", path, e))?;
    let mut source = TrackedRead::new(spool);
    let copied = gz.piece(piece, &mut source).map_err(|e| {
        if source.failed {
            ArchiveError::io("read spool file", path, e)
        } else {
            sink_error(e)
        }
    })?;
    if copied != piece.compressed {
        return Err(ArchiveError::io(
            "read spool file",
            path,
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "holds {copied} of its {} compressed bytes",
                    piece.compressed
                ),
            ),
        ));
    }
    gz.raw(padding(piece.bytes)).map_err(sink_error)
}

/// A tree member being written. Implements [`Write`]; [`write_record`](Self::write_record)
/// writes one JSON record and its newline. Call [`finish`](Self::finish) to keep the member:
/// dropped without it, the member is discarded.
pub struct MemberWriter<'a> {
    writer: &'a mut ArchiveWriter,
    name: String,
    kind: MemberKind,
    piece: u64,
    path: PathBuf,
    /// Bytes not yet handed to the compression thread (less than a chunk).
    buf: Vec<u8>,
    /// The root record's bytes, kept to check it is one JSON object.
    root: Option<Vec<u8>>,
    digest: MemberDigest,
    scratch: Vec<u8>,
    /// No more writes (finishing, or a write failed).
    closed: bool,
    finished: bool,
}

impl std::fmt::Debug for MemberWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberWriter")
            .field("name", &self.name)
            .field("bytes", &self.digest.bytes())
            .finish()
    }
}

impl MemberWriter<'_> {
    /// [`ArchiveWriter::add_upload`] while this member is open (records name their upload's hash).
    pub fn add_upload(&mut self, file: &Path) -> Result<String, ArchiveError> {
        self.writer.add_upload(file)
    }

    /// The member's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Serializes `record` as compact JSON followed by `\n`. Either the whole record is written
    /// or nothing is.
    pub fn write_record<T: Serialize + ?Sized>(&mut self, record: &T) -> Result<(), ArchiveError> {
        let mut scratch = mem::take(&mut self.scratch);
        scratch.clear();
        let serialized = serde_json::to_writer(&mut scratch, record);
        let result = match serialized {
            Ok(()) => {
                scratch.push(b'\n');
                self.write_bytes(&scratch)
            }
            Err(source) => Err(ArchiveError::RecordSerialize {
                member: self.name.clone(),
                source,
            }),
        };
        self.scratch = scratch;
        result
    }

    /// Counts and hashes `data` and hands it to the compression thread, a chunk at a time.
    fn write_bytes(&mut self, mut data: &[u8]) -> Result<(), ArchiveError> {
        if self.closed {
            return Err(ArchiveError::io(
                "write spool file",
                &self.path,
                io::Error::other("member already finished or failed"),
            ));
        }
        self.digest.update(data);
        if let Some(root) = &mut self.root {
            root.extend_from_slice(data);
        }
        let chunk = self.writer.chunk;
        while !data.is_empty() {
            let take = (chunk - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buf.len() >= chunk {
                let next = self.writer.deflater.buffer(chunk);
                let full = mem::replace(&mut self.buf, next);
                if let Err(e) = self.writer.deflater.data(full) {
                    self.closed = true;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Completes the member and records it for the archive; returns its size and checksum.
    /// NDJSON members must end with a newline; the root record must be one JSON object.
    pub fn finish(mut self) -> Result<MemberInfo, ArchiveError> {
        if self.closed {
            return Err(ArchiveError::io(
                "write spool file",
                &self.path,
                io::Error::other("member already finished or failed"),
            ));
        }
        self.closed = true;
        let digest = mem::take(&mut self.digest).finish();
        let ndjson = self.kind.is_ndjson();
        if ndjson && !digest.ends_with_newline {
            return Err(ArchiveError::IncompleteRecord {
                member: self.name.clone(),
            });
        }
        if let Some(bytes) = self.root.take() {
            match json::parse_object(&bytes) {
                Ok(_) => {}
                Err(RecordError::Json(source)) => {
                    return Err(ArchiveError::Json {
                        member: self.name.clone(),
                        line: 1,
                        source,
                    });
                }
                Err(RecordError::NotAnObject(found)) => {
                    return Err(ArchiveError::NotAnObject {
                        member: self.name.clone(),
                        line: 1,
                        found,
                    });
                }
            }
        }
        let last = mem::take(&mut self.buf);
        self.writer.deflater.data(last)?;
        self.writer.deflater.close()?;
        let info = MemberInfo {
            bytes: digest.bytes,
            sha256: digest.sha256,
            lines: ndjson.then_some(digest.lines),
        };
        self.writer.members.push(SpooledMember {
            name: self.name.clone(),
            kind: self.kind.clone(),
            piece: self.piece,
            path: self.path.clone(),
            info: info.clone(),
            longest_line: digest.longest_line,
        });
        self.finished = true;
        Ok(info)
    }
}

impl Write for MemberWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_bytes(buf).map_err(io::Error::other)?;
        Ok(buf.len())
    }

    /// Bytes are handed to the compression thread a chunk at a time; there is nothing to flush
    /// before [`finish`](MemberWriter::finish).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for MemberWriter<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.writer.deflater.discard();
            if let Err(e) = fs::remove_file(&self.path) {
                tracing::debug!(path = %self.path.display(), error = %e, "cannot remove spool file");
            }
        }
    }
}

fn header(name: &str, size: u64, mtime: u64) -> Result<tar::Header, ArchiveError> {
    let mut header = tar::Header::new_ustar();
    header
        .set_path(name)
        .map_err(|e| ArchiveError::InvalidMemberName {
            name: name.to_owned(),
            reason: e.to_string(),
        })?;
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(mtime);
    header.set_cksum();
    Ok(header)
}

/// A reader that remembers whether an error came from it (and not from the archive's writer).
struct TrackedRead<R> {
    inner: R,
    failed: bool,
}

impl<R> TrackedRead<R> {
    fn new(inner: R) -> Self {
        TrackedRead {
            inner,
            failed: false,
        }
    }
}

impl<R: Read> Read for TrackedRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|_| self.failed = true)
    }
}

fn sync_dir(dir: &Path) -> Result<(), ArchiveError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| ArchiveError::io("sync directory", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::digest::sha256_hex;
    use crate::archive::{AppInfo, RootInfo};
    use flate2::read::GzDecoder;
    use proptest::prelude::*;

    /// The chunk size of the property test: small, so that members span many chunks cheaply.
    const SMALL_CHUNK: usize = 4096;

    fn parts() -> ManifestParts {
        ManifestParts {
            format_version: 1,
            app: AppInfo {
                name: "forge".into(),
                schema_digest: "d".into(),
            },
            root: RootInfo {
                relation: "project".into(),
                table: "projects".into(),
                source_id: 1,
            },
            relations: std::collections::BTreeMap::new(),
            created_at: Some("2024-01-01T00:00:00Z".parse().expect("time")),
        }
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// What to put in an archive.
    #[derive(Debug, Clone)]
    struct Input {
        level: u32,
        users: Option<Vec<u8>>,
        relations: Vec<Vec<u8>>,
        uploads: Vec<Vec<u8>>,
        /// Sizes of the successive `write` calls (cycled).
        writes: Vec<usize>,
    }

    const ROOT_RECORD: &[u8] = b"{\"id\":1,\"name\":\"p\"}\n";

    /// Writes `input` with chunk size `chunk` to `out`; returns the summary.
    fn build(out: &Path, input: &Input, chunk: usize) -> ArchiveSummary {
        let opts = WriterOptions {
            compression_level: input.level,
            ..WriterOptions::new("project")
        };
        let mut w = ArchiveWriter::create(out, opts).expect("create");
        w.chunk = chunk;
        let mut members = vec![(w.root_member_name(), ROOT_RECORD.to_vec())];
        if let Some(users) = &input.users {
            members.push((USERS_MEMBER.to_owned(), users.clone()));
        }
        for (i, content) in input.relations.iter().enumerate() {
            members.push((w.relation_member_name(&format!("r{i}")), content.clone()));
        }
        for (name, content) in &members {
            let mut m = w.member(name).expect("member");
            let mut rest = &content[..];
            for size in input.writes.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (now, later) = rest.split_at((*size).min(rest.len()));
                m.write_all(now).expect("write");
                rest = later;
            }
            let info = m.finish().expect("finish member");
            assert_eq!(info.bytes, content.len() as u64);
            assert_eq!(info.sha256, sha256_hex(content));
        }
        for upload in &input.uploads {
            assert_eq!(
                w.add_upload_bytes(upload).expect("upload"),
                sha256_hex(upload)
            );
        }
        w.finish(parts()).expect("finish")
    }

    /// Reads `archive` back with a single-member gzip decoder to its end (which checks the CRC
    /// and length), checks the tar is exactly what `tar::Builder` makes of its entries, and
    /// that the entries are `input`'s; returns the tar.
    fn check(archive: &Path, input: &Input, summary: &ArchiveSummary) -> Vec<u8> {
        let bytes = fs::read(archive).expect("read archive");
        assert_eq!(summary.bytes, bytes.len() as u64);
        let mut decoder = GzDecoder::new(&bytes[..]);
        let mut tar = Vec::new();
        decoder.read_to_end(&mut tar).expect("gunzip to the end");
        assert!(
            decoder.into_inner().is_empty(),
            "bytes after the gzip member"
        );

        let mut entries = Vec::new();
        let mut parsed = tar::Archive::new(&tar[..]);
        for entry in parsed.entries().expect("entries") {
            let mut entry = entry.expect("entry");
            let name = String::from_utf8(entry.path_bytes().into_owned()).expect("utf-8 name");
            let header = entry.header().clone();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).expect("entry data");
            entries.push((name, header, data));
        }
        let mut rebuilt = tar::Builder::new(Vec::new());
        for (_, header, data) in &entries {
            rebuilt.append(header, &data[..]).expect("append");
        }
        assert!(
            rebuilt.into_inner().expect("tar") == tar,
            "the tar differs from tar::Builder's"
        );

        let mut expected: Vec<(String, Vec<u8>)> = vec![
            (VERSION_MEMBER.to_owned(), b"1\n".to_vec()),
            ("tree/project.json".to_owned(), ROOT_RECORD.to_vec()),
        ];
        if let Some(users) = &input.users {
            expected.push((USERS_MEMBER.to_owned(), users.clone()));
        }
        for (i, content) in input.relations.iter().enumerate() {
            expected.push((format!("tree/project/r{i}.ndjson"), content.clone()));
        }
        let mut seen = std::collections::HashSet::new();
        for upload in &input.uploads {
            if seen.insert(sha256_hex(upload)) {
                expected.push((names::upload_member(&sha256_hex(upload)), upload.clone()));
            }
        }
        let mut got: Vec<(String, Vec<u8>)> = entries
            .into_iter()
            .map(|(name, _, data)| (name, data))
            .collect();
        assert_eq!(got.get(1).map(|e| e.0.as_str()), Some(MANIFEST_MEMBER));
        let manifest = got.remove(1).1;
        let manifest: Manifest = serde_json::from_slice(&manifest).expect("manifest");
        assert_eq!(
            got.iter().map(|e| &e.0).collect::<Vec<_>>(),
            expected.iter().map(|e| &e.0).collect::<Vec<_>>()
        );
        for ((name, data), (_, want)) in got.iter().zip(&expected) {
            assert!(data == want, "content of {name} differs");
            if name != VERSION_MEMBER {
                let info = manifest.members.get(name).expect("listed");
                assert_eq!(info.bytes, want.len() as u64, "{name}");
                assert_eq!(info.sha256, sha256_hex(want), "{name}");
            }
        }
        tar
    }

    fn content(size: usize, seed: Vec<u8>, text: bool, ndjson: bool) -> Vec<u8> {
        let mut content: Vec<u8> = seed.into_iter().take(size).collect();
        if text {
            // Compressible: a small alphabet.
            for b in &mut content {
                *b = b"ab{}:,\"\n"[usize::from(*b % 8)];
            }
        }
        if ndjson && let Some(last) = content.last_mut() {
            *last = b'\n';
        }
        content
    }

    fn size() -> impl Strategy<Value = usize> {
        prop_oneof![
            Just(0),
            Just(1),
            Just(511),
            Just(512),
            Just(513),
            Just(SMALL_CHUNK - 1),
            Just(SMALL_CHUNK),
            Just(SMALL_CHUNK + 1),
            0..3 * SMALL_CHUNK + 100,
        ]
    }

    fn member(ndjson: bool) -> impl Strategy<Value = Vec<u8>> {
        (size(), any::<bool>()).prop_flat_map(move |(size, text)| {
            proptest::collection::vec(any::<u8>(), size)
                .prop_map(move |seed| content(size, seed, text, ndjson))
        })
    }

    fn input() -> impl Strategy<Value = Input> {
        (
            0..=9u32,
            proptest::option::of(member(true)),
            proptest::collection::vec(member(true), 0..4),
            proptest::collection::vec(member(false), 0..3),
            proptest::collection::vec(1..2 * SMALL_CHUNK, 1..4),
        )
            .prop_map(|(level, users, relations, uploads, writes)| Input {
                level,
                users,
                relations,
                uploads,
                writes,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Whatever the members, sizes and level: one gzip member whose CRC and length check,
        /// wrapping exactly the tar `tar::Builder` makes of the same entries.
        #[test]
        fn archive_is_one_gzip_member_of_the_exact_tar(input in input()) {
            let dir = tempfile::tempdir().expect("tempdir");
            let out = dir.path().join("x.tar.gz");
            let summary = build(&out, &input, SMALL_CHUNK);
            check(&out, &input, &summary);
            prop_assert_eq!(listing(dir.path()), ["x.tar.gz"]);
        }
    }

    /// Members and uploads larger than the real chunk size; checked by `gzip -t` and `tar tzf`
    /// too when they are installed.
    #[test]
    fn large_members_span_real_chunks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text: Vec<u8> = (0..(3 * CHUNK / 20))
            .flat_map(|i| format!("{{\"id\":{i},\"t\":\"x\"}}\n").into_bytes())
            .collect();
        let noise: Vec<u8> = (0..CHUNK as u32 + 1)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        // Exactly one chunk, ending in a newline.
        let mut exactly_a_chunk = text[..CHUNK - 1].to_vec();
        exactly_a_chunk.push(b'\n');
        for level in [0, 1, 6, 9] {
            let input = Input {
                level,
                users: Some(b"{}\n".to_vec()),
                relations: vec![text.clone(), Vec::new(), exactly_a_chunk.clone()],
                uploads: vec![noise.clone(), text.clone(), noise.clone()],
                writes: vec![100_000, 7, CHUNK + 3],
            };
            let out = dir.path().join(format!("level{level}.tar.gz"));
            let summary = build(&out, &input, CHUNK);
            let tar = check(&out, &input, &summary);
            if level == 0 {
                assert!(summary.bytes > tar.len() as u64, "level 0 stores");
            } else {
                assert!(
                    summary.bytes < tar.len() as u64 / 2,
                    "level {level} compresses"
                );
            }
            for (program, args) in [("gzip", &["-t"][..]), ("tar", &["-tzf"][..])] {
                match std::process::Command::new(program)
                    .args(args)
                    .arg(&out)
                    .output()
                {
                    Ok(run) => assert!(
                        run.status.success(),
                        "{program} {args:?}: {}",
                        String::from_utf8_lossy(&run.stderr)
                    ),
                    Err(e) => eprintln!("{program} not run: {e}"),
                }
            }
        }
    }

    /// The compression thread cannot write a member: the error names the member's spool file
    /// and comes back from a later write, and nothing is left behind.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_compression_failure_surfaces_at_a_later_write() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("x.tar.gz");
        {
            let mut w = ArchiveWriter::create(&out, WriterOptions::new("project")).expect("create");
            w.chunk = 1024;
            w.fail_spool = true;
            let name = w.relation_member_name("issues");
            let mut m = w.member(&name).expect("member");
            let spool = m.path.clone();
            let error = (0..100_000)
                .find_map(|i| {
                    m.write_record(&serde_json::json!({"id": i, "pad": "x".repeat(100)}))
                        .err()
                })
                .expect("a write fails");
            match &error {
                ArchiveError::Io {
                    action,
                    path,
                    source,
                } => {
                    assert_eq!(*action, "write spool file");
                    assert_eq!(*path, spool);
                    assert_eq!(source.raw_os_error(), Some(28), "ENOSPC: {source}");
                }
                other => panic!("{other:?}"),
            }
            assert!(m.write_record(&serde_json::json!({})).is_err());
            assert!(m.finish().is_err());
            assert!(w.finish(parts()).is_err());
        }
        assert_eq!(listing(dir.path()), Vec::<String>::new());
    }

    /// The failure happens once the caller has nothing left to send: `finish` reports it.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_compression_failure_surfaces_at_finish() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("x.tar.gz");
        let mut w = ArchiveWriter::create(&out, WriterOptions::new("project")).expect("create");
        w.fail_spool = true;
        let name = w.root_member_name();
        let mut m = w.member(&name).expect("member");
        m.write_record(&serde_json::json!({"id": 1}))
            .expect("buffered");
        let error = match m.finish() {
            Err(e) => e,
            Ok(_) => w.finish(parts()).expect_err("finish fails"),
        };
        assert!(
            matches!(
                &error,
                ArchiveError::Io {
                    action: "write spool file",
                    ..
                }
            ),
            "{error:?}"
        );
        assert_eq!(listing(dir.path()), Vec::<String>::new());
    }

    /// Queues an upload for the thread as if `source` had held `claimed` when `add_upload`
    /// hashed it (between "first" and "last").
    fn writer_with_a_changed_upload(out: &Path, source: &Path, claimed: &[u8]) -> ArchiveWriter {
        let mut w = ArchiveWriter::create(out, WriterOptions::new("project")).expect("create");
        let name = w.root_member_name();
        let mut m = w.member(&name).expect("member");
        m.write_all(ROOT_RECORD).expect("write");
        m.finish().expect("root");
        // A good upload first, so that the spool file holds something.
        w.add_upload_bytes(b"first").expect("upload");
        w.deflater
            .upload(UploadJob {
                source: source.to_path_buf(),
                sha256: hex::encode(sha256(claimed)),
                bytes: claimed.len() as u64,
            })
            .expect("queued");
        w.uploads
            .insert(UploadDigest::from(sha256(claimed)), claimed.len() as u64);
        // And one after it.
        w.add_upload_bytes(b"last").expect("upload");
        w
    }

    /// The thread reads each upload again and compresses it only if it is what `add_upload`
    /// saw; otherwise `finish` reads it again and compresses it on the spot.
    #[test]
    fn an_upload_the_thread_found_changed_is_compressed_at_finish() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("x.tar.gz");
        let source = dir.path().join("upload.bin");
        let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        // The thread finds something else; by `finish` the file holds what was hashed again.
        fs::write(&source, b"something else").expect("write");
        let w = writer_with_a_changed_upload(&out, &source, &content);
        fs::write(&source, &content).expect("write");
        let summary = w.finish(parts()).expect("finish");
        let input = Input {
            level: 6,
            users: None,
            relations: Vec::new(),
            uploads: vec![b"first".to_vec(), content, b"last".to_vec()],
            writes: vec![1],
        };
        check(&out, &input, &summary);
        assert_eq!(listing(dir.path()), ["upload.bin", "x.tar.gz"]);
    }

    /// An upload that still differs from what `add_upload` hashed fails `finish`, naming the
    /// file and both digests; nothing is left behind.
    #[test]
    fn an_upload_still_changed_at_finish_fails_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("x.tar.gz");
        let source = dir.path().join("upload.bin");
        fs::write(&source, b"something else").expect("write");
        let w = writer_with_a_changed_upload(&out, &source, b"what was hashed");
        let error = w.finish(parts()).expect_err("changed");
        assert_eq!(
            error.to_string(),
            format!(
                "upload `{}` changed while the archive was written (sha256 {} became a file of 14 \
                 bytes)",
                source.display(),
                sha256_hex(b"what was hashed")
            )
        );
        match &error {
            ArchiveError::UploadChanged {
                path,
                expected,
                actual,
            } => {
                assert_eq!(path, &source);
                assert_eq!(expected, &sha256_hex(b"what was hashed"));
                assert_eq!(actual, "a file of 14 bytes");
            }
            other => panic!("expected UploadChanged, got {other:?}"),
        }
        assert_eq!(listing(dir.path()), ["upload.bin"]);
    }
}
