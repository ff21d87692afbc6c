//! The archive's error type: every rejection of a hostile or damaged archive, and every failure
//! of the writer, as a typed variant that names the entry (or member, or line) concerned.
//!
//! Entry names that come from an archive are rendered with
//! [`display_name`](super::names::display_name) before they are stored in an error, so messages
//! are safe to print.

use std::fmt;
use std::io;
use std::path::PathBuf;

use super::limits::LimitKind;

/// Where in an archive something went wrong (rendered after the archive path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Outside any entry (gzip framing, before the first header, after the tar end marker).
    Stream,
    /// Inside the named entry.
    Entry(String),
    /// Between the named entry and the next header (skipping padding, reading a header).
    After(String),
    /// On a line of an NDJSON member (1-based).
    Line {
        /// The member.
        member: String,
        /// The line number, starting at 1.
        line: u64,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Stream => f.write_str("the archive stream"),
            Location::Entry(entry) => write!(f, "entry `{entry}`"),
            Location::After(entry) => write!(f, "the header after entry `{entry}`"),
            Location::Line { member, line } => write!(f, "`{member}` line {line}"),
        }
    }
}

/// Everything that can go wrong writing, verifying, streaming or inspecting an archive.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// A filesystem operation failed.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        /// What was being done (`read`, `create`, `rename to`...).
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The gzip or tar framing is damaged (truncated gzip, bad CRC, bad tar header checksum...).
    #[error("archive `{}` is corrupt in {location}: {source}", path.display())]
    Corrupt {
        /// The archive file.
        path: PathBuf,
        /// Where the damage was found.
        location: Location,
        /// The decoder's error.
        source: io::Error,
    },
    /// An entry is not a regular file (symlink, hard link, device, FIFO, directory, or a
    /// PAX/GNU extension record, which hoist never writes).
    #[error("archive entry `{entry}` is a {kind}; only regular files are allowed")]
    ForbiddenEntryType {
        /// The entry's name.
        entry: String,
        /// What it is instead.
        kind: &'static str,
    },
    /// An entry name starts at a filesystem root.
    #[error("archive entry `{entry}` has an absolute name")]
    AbsoluteName {
        /// The entry's name.
        entry: String,
    },
    /// An entry name has a `..` component.
    #[error("archive entry `{entry}` has a `..` component")]
    ParentDirectoryName {
        /// The entry's name.
        entry: String,
    },
    /// An entry name is not valid UTF-8.
    #[error("archive entry `{entry}` has a name that is not valid UTF-8")]
    NonUtf8Name {
        /// The entry's name, lossily decoded.
        entry: String,
    },
    /// An entry name is not on the list of names an archive may hold.
    #[error(
        "unexpected archive entry `{entry}`: expected VERSION, manifest.json, tree/{root}.json, \
         tree/users.ndjson, tree/{root}/<relation>.ndjson or uploads/<sha256>"
    )]
    UnexpectedEntry {
        /// The entry's name.
        entry: String,
        /// The root relation the list was built for.
        root: String,
    },
    /// The same name appears twice.
    #[error("archive entry `{entry}` appears more than once")]
    DuplicateEntry {
        /// The entry's name.
        entry: String,
    },
    /// An entry is not where the format puts it.
    #[error("archive entry `{entry}` is out of order: expected {expected}")]
    OutOfOrder {
        /// The entry's name.
        entry: String,
        /// What the format expects at that position.
        expected: String,
    },
    /// A limit of [`Limits`](super::Limits) was exceeded.
    #[error(
        "archive limit {limit} = {} exceeded in {location}; raise it only for an archive you trust",
        limit.show(*max)
    )]
    LimitExceeded {
        /// Which limit.
        limit: LimitKind,
        /// Its configured value.
        max: u64,
        /// Where it was exceeded.
        location: Location,
    },
    /// The manifest lists members that together exceed a limit of [`Limits`](super::Limits):
    /// refused as soon as the manifest is read, before any member is decompressed.
    #[error(
        "archive's manifest lists members that need {limit} of at least {}, above the limit of \
         {}; raise it only for an archive you trust",
        limit.show(*needed),
        limit.show(*max)
    )]
    ManifestExceedsLimit {
        /// Which limit.
        limit: LimitKind,
        /// Its configured value.
        max: u64,
        /// What the manifest's member list needs.
        needed: u64,
    },
    /// Bytes follow the gzip stream, or non-zero bytes follow the tar end-of-archive marker.
    #[error("archive `{}` has trailing data {after}", path.display())]
    TrailingData {
        /// The archive file.
        path: PathBuf,
        /// `after the tar end-of-archive marker` or `after the gzip stream`.
        after: &'static str,
    },
    /// The tar stream ends without its end-of-archive marker (truncated).
    #[error("archive `{}` is truncated: the tar end-of-archive marker is missing", path.display())]
    MissingEndOfArchive {
        /// The archive file.
        path: PathBuf,
    },
    /// `VERSION` does not hold one decimal number followed by a newline.
    #[error(
        "archive entry `VERSION` is invalid: expected one line holding a number, found `{found}`"
    )]
    InvalidVersion {
        /// What it holds (escaped, cut).
        found: String,
    },
    /// The archive's format version is not the one this importer reads.
    #[error(
        "archive format version {found} is not supported: this importer reads version {expected}"
    )]
    VersionMismatch {
        /// The archive's version.
        found: u32,
        /// The version expected.
        expected: u32,
    },
    /// `manifest.json` is not valid JSON or does not have the manifest's shape.
    #[error("archive entry `manifest.json` is invalid: {source}")]
    ManifestJson {
        /// The parser's error.
        source: serde_json::Error,
    },
    /// The manifest is well-formed but inconsistent (with itself, the VERSION, or the writer's
    /// options).
    #[error("manifest is invalid: {reason}")]
    ManifestInvalid {
        /// What is wrong, naming the member or relation.
        reason: String,
    },
    /// The archive holds another root relation than the one expected.
    #[error("archive root relation is `{found}`, expected `{expected}`")]
    RootMismatch {
        /// The manifest's root relation.
        found: String,
        /// The expected one.
        expected: String,
    },
    /// A record (NDJSON line or root record) is not valid JSON (including duplicate keys).
    #[error("`{member}` line {line}: invalid JSON: {source}")]
    Json {
        /// The member.
        member: String,
        /// The line (1 for the root record).
        line: u64,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// A record is valid JSON but not an object.
    #[error("`{member}` line {line}: expected a JSON object, found {found}")]
    NotAnObject {
        /// The member.
        member: String,
        /// The line (1 for the root record).
        line: u64,
        /// The JSON type found.
        found: &'static str,
    },
    /// An NDJSON member does not end with a newline.
    #[error("`{member}` line {line}: the last line is not terminated by a newline")]
    UnterminatedLine {
        /// The member.
        member: String,
        /// The unterminated line's number.
        line: u64,
    },
    /// A member's content hash differs from the manifest.
    #[error(
        "archive member `{member}`: sha256 mismatch: manifest says {expected}, content is {actual}"
    )]
    ChecksumMismatch {
        /// The member.
        member: String,
        /// The manifest's digest.
        expected: String,
        /// The content's digest.
        actual: String,
    },
    /// A member's size differs from the manifest or from its own tar header.
    #[error("archive member `{member}`: size mismatch: expected {expected} bytes, found {actual}")]
    SizeMismatch {
        /// The member.
        member: String,
        /// The size expected.
        expected: u64,
        /// The size found.
        actual: u64,
    },
    /// An NDJSON member's line count differs from the manifest.
    #[error(
        "archive member `{member}`: line count mismatch: manifest says {}, found {}",
        show_lines(expected),
        show_lines(actual)
    )]
    LineCountMismatch {
        /// The member.
        member: String,
        /// The manifest's count.
        expected: Option<u64>,
        /// The count found.
        actual: Option<u64>,
    },
    /// An upload's name is not the sha256 of its content.
    #[error("archive entry `uploads/{name}`: content hashes to {actual}, not to its name")]
    UploadHashMismatch {
        /// The hash in the name.
        name: String,
        /// The content's hash.
        actual: String,
    },
    /// A member listed in the manifest is absent from the archive.
    #[error("archive member `{member}` is listed in the manifest but missing from the archive")]
    MissingMember {
        /// The member.
        member: String,
    },
    /// An entry is present in the archive but not listed in the manifest.
    #[error("archive entry `{entry}` is not listed in the manifest")]
    UnlistedMember {
        /// The entry.
        entry: String,
    },
    /// The archive changed between [`ArchiveReader::verify`](super::ArchiveReader::verify) and a
    /// later pass.
    #[error("archive `{}` changed since it was verified ({what})", path.display())]
    ArchiveChanged {
        /// The archive file.
        path: PathBuf,
        /// What differs.
        what: String,
    },
    /// The uploads' restart point recorded in the archive's gzip header (see
    /// [`RestartPoint`](super::RestartPoint)) does not hold.
    #[error(
        "archive `{}`: the uploads' restart point recorded in its gzip header is wrong: {reason}",
        path.display()
    )]
    BadRestartPoint {
        /// The archive file.
        path: PathBuf,
        /// What does not hold.
        reason: String,
    },
    /// The path to read is not a regular file.
    #[error("`{}` is not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },

    // --- writer ---
    /// The output file exists and [`WriterOptions::overwrite`](super::WriterOptions) is off.
    #[error("`{}` already exists (set overwrite to replace it)", path.display())]
    OutputExists {
        /// The output path.
        path: PathBuf,
    },
    /// A writer option is out of range.
    #[error("invalid archive writer option: {reason}")]
    InvalidOption {
        /// What is wrong.
        reason: String,
    },
    /// [`ArchiveWriter::member`](super::ArchiveWriter::member) was given a name that is not a
    /// tree member.
    #[error("`{name}` is not a valid tree member name: {reason}")]
    InvalidMemberName {
        /// The name.
        name: String,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// A tree member was written twice.
    #[error("archive member `{name}` was already written")]
    MemberAlreadyWritten {
        /// The name.
        name: String,
    },
    /// An NDJSON member's last record is not followed by a newline.
    #[error("archive member `{member}`: the last record is not terminated by a newline")]
    IncompleteRecord {
        /// The member.
        member: String,
    },
    /// A record could not be serialized to JSON.
    #[error("archive member `{member}`: cannot serialize a record: {source}")]
    RecordSerialize {
        /// The member.
        member: String,
        /// The serializer's error.
        source: serde_json::Error,
    },
    /// The root record member was never written.
    #[error("the root record `{member}` was not written")]
    RootRecordMissing {
        /// The member.
        member: String,
    },
    /// An upload file no longer held what `add_upload` hashed when it was read for the archive
    /// (by the compression thread, then once more by `finish`).
    #[error("upload `{}` changed while the archive was written (sha256 {expected} became {actual})", path.display())]
    UploadChanged {
        /// The file.
        path: PathBuf,
        /// The digest taken by `add_upload`.
        expected: String,
        /// The digest (or `a file of N bytes`) found at `finish`.
        actual: String,
    },
    /// The compression thread died.
    #[error("the compression thread for `{}` panicked", path.display())]
    CompressionThread {
        /// The partial output file.
        path: PathBuf,
    },
    /// A thread reading part of the archive (the uploads, or the proof of their restart point)
    /// died.
    #[error("the thread reading the uploads of `{}` stopped unexpectedly", path.display())]
    UploadThread {
        /// The archive being read.
        path: PathBuf,
    },
    /// The thread that checks records while the archive is read died.
    #[error("the thread checking the records of `{}` stopped unexpectedly", path.display())]
    CheckThread {
        /// The archive being read.
        path: PathBuf,
    },
}

fn show_lines(lines: &Option<u64>) -> String {
    match lines {
        Some(1) => "1 line".to_owned(),
        Some(n) => format!("{n} lines"),
        None => "no line count".to_owned(),
    }
}

impl ArchiveError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        ArchiveError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
