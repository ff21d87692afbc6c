//! The export side: [`ArchiveWriter`] builds one archive file.
//!
//! Tree members are spooled to a temporary directory next to the output while their sha256,
//! size and line count are computed (tar needs each size up front); uploads are hashed, kept
//! once per distinct content, and read again at [`ArchiveWriter::finish`]. `finish` streams the
//! tar into a gzip encoder that runs on its own thread, writes `<output>.partial-<random>`,
//! fsyncs it and renames it over `output` atomically. Nothing is left behind on error or when
//! the writer is dropped without `finish`.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

use flate2::{Compression, GzBuilder};
use serde::Serialize;
use tempfile::{NamedTempFile, TempDir};

use super::digest::{DigestReader, MemberDigest, sha256_hex};
use super::error::ArchiveError;
use super::json::{self, RecordError};
use super::limits::Limits;
use super::manifest::{Manifest, ManifestParts, MemberInfo, RelationStats, UploadStats};
use super::names::{
    self, MANIFEST_MEMBER, MemberKind, USERS_MEMBER, VERSION_MEMBER, is_valid_relation_name,
};

/// Size of the chunks handed to the compression thread.
const CHUNK: usize = 256 * 1024;
/// Chunks in flight between the tar writer and the compression thread.
const CHUNKS_IN_FLIGHT: usize = 4;

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
}

struct SpooledMember {
    name: String,
    kind: MemberKind,
    path: PathBuf,
    info: MemberInfo,
}

struct SpooledUpload {
    sha256: String,
    bytes: u64,
    source: PathBuf,
}

/// Writes one archive.
///
/// Tree members ([`member`](Self::member)) are spooled to a temporary directory next to the
/// output while their sha256, size and line count are computed; uploads
/// ([`add_upload`](Self::add_upload)) are hashed and kept once per distinct content.
/// [`finish`](Self::finish) streams the tar through gzip on its own thread into
/// `<output>.partial-<random>`, fsyncs it and renames it to the output atomically. On any error,
/// or if the writer is dropped without `finish`, the partial file and the spool directory are
/// removed.
pub struct ArchiveWriter {
    output: PathBuf,
    dir: PathBuf,
    file_name: String,
    opts: WriterOptions,
    spool: TempDir,
    spool_counter: u64,
    members: Vec<SpooledMember>,
    uploads: Vec<SpooledUpload>,
    upload_index: HashMap<String, usize>,
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
        tracing::debug!(output = %output.display(), spool = %spool.path().display(), "archive writer created");
        Ok(ArchiveWriter {
            output: output.to_path_buf(),
            dir,
            file_name,
            opts,
            spool,
            spool_counter: 0,
            members: Vec::new(),
            uploads: Vec::new(),
            upload_index: HashMap::new(),
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

    fn spool_path(&mut self, what: &str) -> PathBuf {
        self.spool_counter += 1;
        self.spool
            .path()
            .join(format!("{what}-{:06}", self.spool_counter))
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
        let path = self.spool_path("member");
        let file =
            File::create_new(&path).map_err(|e| ArchiveError::io("create spool file", &path, e))?;
        Ok(MemberWriter {
            writer: self,
            name: name.to_owned(),
            kind,
            path,
            out: Some(BufWriter::with_capacity(CHUNK, file)),
            digest: MemberDigest::default(),
            scratch: Vec::new(),
            finished: false,
        })
    }

    /// Adds an upload file; returns its sha256. Content already added is kept once. The file is
    /// read again at [`finish`](Self::finish), which fails with
    /// [`ArchiveError::UploadChanged`] if its content changed meanwhile.
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
        Ok(self.record_upload(digest.sha256, digest.bytes, file.to_path_buf()))
    }

    /// Adds an upload from memory (spooled to disk); returns its sha256.
    pub fn add_upload_bytes(&mut self, bytes: &[u8]) -> Result<String, ArchiveError> {
        let sha256 = sha256_hex(bytes);
        if self.upload_index.contains_key(&sha256) {
            return Ok(sha256);
        }
        let path = self.spool_path("upload");
        fs::write(&path, bytes).map_err(|e| ArchiveError::io("write spool file", &path, e))?;
        Ok(self.record_upload(sha256, bytes.len() as u64, path))
    }

    fn record_upload(&mut self, sha256: String, bytes: u64, source: PathBuf) -> String {
        if !self.upload_index.contains_key(&sha256) {
            self.upload_index.insert(sha256.clone(), self.uploads.len());
            self.uploads.push(SpooledUpload {
                sha256: sha256.clone(),
                bytes,
                source,
            });
        }
        sha256
    }

    /// Writes the archive: `VERSION`, `manifest.json` (with the member list and upload totals
    /// filled in), the tree members, the uploads; then fsyncs and renames it to the output.
    pub fn finish(self, parts: ManifestParts) -> Result<ArchiveSummary, ArchiveError> {
        let manifest = self.build_manifest(parts)?;
        let mut manifest_json = serde_json::to_vec_pretty(&manifest).map_err(|source| {
            ArchiveError::RecordSerialize {
                member: MANIFEST_MEMBER.to_owned(),
                source,
            }
        })?;
        manifest_json.push(b'\n');
        let default_limit = Limits::default().max_manifest_bytes;
        if manifest_json.len() as u64 > default_limit {
            tracing::warn!(
                bytes = manifest_json.len(),
                default_limit,
                "manifest.json exceeds the default import limit max_manifest_bytes; \
                 importers must raise it"
            );
        }
        let mtime = chrono::DateTime::parse_from_rfc3339(&manifest.created_at)
            .map(|t| t.timestamp().max(0) as u64)
            .unwrap_or(0);

        let partial = tempfile::Builder::new()
            .prefix(&format!("{}.partial-", self.file_name))
            .rand_bytes(10)
            .tempfile_in(&self.dir)
            .map_err(|e| ArchiveError::io("create a partial file in", &self.dir, e))?;
        let partial_path = partial.path().to_path_buf();
        let level = Compression::new(self.opts.compression_level);
        let (tx, rx) = sync_channel::<Vec<u8>>(CHUNKS_IN_FLIGHT);
        let compressor = thread::Builder::new()
            .name("hoist-archive-gzip".into())
            .spawn(move || compress(rx, partial, level))
            .map_err(|e| ArchiveError::io("start the compression thread for", &partial_path, e))?;

        let written = self.write_tar(tx, &manifest, &manifest_json, mtime, &partial_path);
        let compressed = compressor.join();
        let partial = match (written, compressed) {
            (_, Err(_panic)) => {
                return Err(ArchiveError::CompressionThread { path: partial_path });
            }
            (_, Ok(Compressed::Failed(e))) => {
                return Err(ArchiveError::io("write", &partial_path, e));
            }
            (Err(e), Ok(_)) => return Err(e),
            (Ok(()), Ok(Compressed::Aborted)) => {
                return Err(ArchiveError::io(
                    "write",
                    &partial_path,
                    io::Error::new(io::ErrorKind::BrokenPipe, "compression stopped early"),
                ));
            }
            (Ok(()), Ok(Compressed::Done(file))) => file,
        };

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
        Ok(ArchiveSummary {
            path: self.output.clone(),
            bytes,
            manifest,
        })
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
        let mut members = BTreeMap::new();
        for member in &self.members {
            if let (MemberKind::Relation(relation), Some(lines)) = (&member.kind, member.info.lines)
            {
                relations
                    .entry(format!("{root}/{relation}"))
                    .or_insert(RelationStats { records: lines });
            }
            members.insert(member.name.clone(), member.info.clone());
        }
        let mut uploads = UploadStats::default();
        for upload in &self.uploads {
            uploads.files += 1;
            uploads.bytes += upload.bytes;
            members.insert(
                names::upload_member(&upload.sha256),
                MemberInfo {
                    bytes: upload.bytes,
                    sha256: upload.sha256.clone(),
                    lines: None,
                },
            );
        }
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

    fn write_tar(
        &self,
        tx: SyncSender<Vec<u8>>,
        manifest: &Manifest,
        manifest_json: &[u8],
        mtime: u64,
        partial: &Path,
    ) -> Result<(), ArchiveError> {
        let sink_error = |e: io::Error| ArchiveError::io("write", partial, e);
        let mut tar = tar::Builder::new(ChannelWriter::new(tx));
        let version = format!("{}\n", manifest.format_version);
        append(&mut tar, VERSION_MEMBER, version.as_bytes(), mtime).map_err(sink_error)?;
        append(&mut tar, MANIFEST_MEMBER, manifest_json, mtime).map_err(sink_error)?;
        for member in self.ordered_members() {
            let file = File::open(&member.path)
                .map_err(|e| ArchiveError::io("open spool file", &member.path, e))?;
            let mut source = TrackedRead::new(file.take(member.info.bytes));
            let header = header(&member.name, member.info.bytes, mtime)?;
            tar.append(&header, &mut source).map_err(|e| {
                if source.failed {
                    ArchiveError::io("read spool file", &member.path, e)
                } else {
                    sink_error(e)
                }
            })?;
            if source.count != member.info.bytes {
                return Err(ArchiveError::SizeMismatch {
                    member: member.name.clone(),
                    expected: member.info.bytes,
                    actual: source.count,
                });
            }
        }
        for upload in &self.uploads {
            self.append_upload(&mut tar, upload, mtime, partial)?;
        }
        let mut writer = tar.into_inner().map_err(sink_error)?;
        writer.finish().map_err(sink_error)
    }

    fn append_upload(
        &self,
        tar: &mut tar::Builder<ChannelWriter>,
        upload: &SpooledUpload,
        mtime: u64,
        partial: &Path,
    ) -> Result<(), ArchiveError> {
        let changed = |actual: String| ArchiveError::UploadChanged {
            path: upload.source.clone(),
            expected: upload.sha256.clone(),
            actual,
        };
        let file =
            File::open(&upload.source).map_err(|e| ArchiveError::io("open", &upload.source, e))?;
        let len = file
            .metadata()
            .map_err(|e| ArchiveError::io("read", &upload.source, e))?
            .len();
        if len != upload.bytes {
            return Err(changed(format!("a file of {len} bytes")));
        }
        let name = names::upload_member(&upload.sha256);
        let header = header(&name, upload.bytes, mtime)?;
        let mut source = TrackedRead::new(DigestReader::new(file.take(upload.bytes)));
        tar.append(&header, &mut source).map_err(|e| {
            if source.failed {
                ArchiveError::io("read", &upload.source, e)
            } else {
                ArchiveError::io("write", partial, e)
            }
        })?;
        let digest = source.inner.finish();
        if digest.bytes != upload.bytes {
            return Err(changed(format!("a file of {} bytes", digest.bytes)));
        }
        if digest.sha256 != upload.sha256 {
            return Err(changed(digest.sha256));
        }
        Ok(())
    }
}

/// A tree member being written. Implements [`Write`]; [`write_record`](Self::write_record)
/// writes one JSON record and its newline. Call [`finish`](Self::finish) to keep the member:
/// dropped without it, the member is discarded.
pub struct MemberWriter<'a> {
    writer: &'a mut ArchiveWriter,
    name: String,
    kind: MemberKind,
    path: PathBuf,
    out: Option<BufWriter<File>>,
    digest: MemberDigest,
    scratch: Vec<u8>,
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
                self.write_all(&scratch)
                    .map_err(|e| ArchiveError::io("write spool file", &self.path, e))
            }
            Err(source) => Err(ArchiveError::RecordSerialize {
                member: self.name.clone(),
                source,
            }),
        };
        self.scratch = scratch;
        result
    }

    /// Completes the member and records it for the archive; returns its size and checksum.
    /// NDJSON members must end with a newline; the root record must be one JSON object.
    pub fn finish(mut self) -> Result<MemberInfo, ArchiveError> {
        let out = self.out.take().ok_or_else(|| {
            ArchiveError::io(
                "write spool file",
                &self.path,
                io::Error::other("member already finished"),
            )
        })?;
        let file = out
            .into_inner()
            .map_err(|e| ArchiveError::io("write spool file", &self.path, e.into_error()))?;
        drop(file);
        let digest = mem::take(&mut self.digest).finish();
        let ndjson = self.kind.is_ndjson();
        if ndjson && !digest.ends_with_newline {
            return Err(ArchiveError::IncompleteRecord {
                member: self.name.clone(),
            });
        }
        if self.kind == MemberKind::RootRecord {
            let bytes = fs::read(&self.path)
                .map_err(|e| ArchiveError::io("read spool file", &self.path, e))?;
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
        let info = MemberInfo {
            bytes: digest.bytes,
            sha256: digest.sha256,
            lines: ndjson.then_some(digest.lines),
        };
        self.writer.members.push(SpooledMember {
            name: self.name.clone(),
            kind: self.kind.clone(),
            path: self.path.clone(),
            info: info.clone(),
        });
        self.finished = true;
        Ok(info)
    }
}

impl Write for MemberWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let out = self
            .out
            .as_mut()
            .ok_or_else(|| io::Error::other("member already finished"))?;
        let n = out.write(buf)?;
        self.digest.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.out.as_mut() {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for MemberWriter<'_> {
    fn drop(&mut self) {
        if !self.finished {
            drop(self.out.take());
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

fn append(
    tar: &mut tar::Builder<ChannelWriter>,
    name: &str,
    data: &[u8],
    mtime: u64,
) -> io::Result<()> {
    let header = header(name, data.len() as u64, mtime).map_err(io::Error::other)?;
    tar.append(&header, data)
}

/// A reader that remembers whether an error came from it (and not from the tar's writer), and
/// counts the bytes it returned.
struct TrackedRead<R> {
    inner: R,
    failed: bool,
    count: u64,
}

impl<R> TrackedRead<R> {
    fn new(inner: R) -> Self {
        TrackedRead {
            inner,
            failed: false,
            count: 0,
        }
    }
}

impl<R: Read> Read for TrackedRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.count += n as u64;
                Ok(n)
            }
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }
}

/// Hands the tar stream to the compression thread in chunks. An empty chunk marks the end;
/// dropped without [`finish`](Self::finish), the thread discards its output.
struct ChannelWriter {
    tx: SyncSender<Vec<u8>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn new(tx: SyncSender<Vec<u8>>) -> Self {
        ChannelWriter {
            tx,
            buf: Vec::with_capacity(CHUNK),
        }
    }

    fn send(&mut self, chunk: Vec<u8>) -> io::Result<()> {
        self.tx.send(chunk).map_err(|_| {
            io::Error::new(io::ErrorKind::BrokenPipe, "the compression thread stopped")
        })
    }

    fn finish(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            let chunk = mem::take(&mut self.buf);
            self.send(chunk)?;
        }
        self.send(Vec::new())
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            let chunk = mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
            self.send(chunk)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Compressed {
    Done(NamedTempFile),
    Failed(io::Error),
    Aborted,
}

/// The compression thread: gzip every chunk into `file` until the end marker, then finish the
/// gzip stream and fsync. Without an end marker (the sender was dropped) the file is discarded.
fn compress(rx: Receiver<Vec<u8>>, file: NamedTempFile, level: Compression) -> Compressed {
    let mut encoder = GzBuilder::new().write(BufWriter::with_capacity(CHUNK, file), level);
    loop {
        match rx.recv() {
            Ok(chunk) if chunk.is_empty() => break,
            Ok(chunk) => {
                if let Err(e) = encoder.write_all(&chunk) {
                    return Compressed::Failed(e);
                }
            }
            Err(_) => return Compressed::Aborted,
        }
    }
    let finished = encoder
        .finish()
        .and_then(|buffered| buffered.into_inner().map_err(|e| e.into_error()))
        .and_then(|file| file.as_file().sync_all().map(|()| file));
    match finished {
        Ok(file) => Compressed::Done(file),
        Err(e) => Compressed::Failed(e),
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
