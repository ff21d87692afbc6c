//! The archive: one `tar.gz` file holding a tenant's records and uploads.
//!
//! ```text
//! VERSION                          format version, one line ("1\n")
//! manifest.json                    [`Manifest`]: versions, root, counts, sha256 of every member
//! tree/<root>.json                 the root record (one JSON object)
//! tree/users.ndjson                referenced users (natural keys), one per line (optional)
//! tree/<root>/<relation>.ndjson    one top-level record per line, sub-relations nested
//! uploads/<sha256>                 each distinct file once, named by its content's sha256
//! ```
//!
//! Members appear in exactly that order (relations in the order they were written). The export
//! side is [`ArchiveWriter`]; the import side is [`ArchiveReader::verify`] then
//! [`VerifiedArchive::stream`] into an [`EventSink`]; [`inspect`] describes an archive for
//! display. The reader treats every archive as hostile: see [`reader`] for what it rejects.

mod check;
mod deflate;
mod digest;
mod error;
mod json;
mod limits;
mod manifest;
mod members;
pub mod names;
pub mod reader;
mod restart;
mod writer;

pub use error::{ArchiveError, Location};
pub use json::RecordWatch;
pub use limits::{LimitKind, LimitSetting, LimitSettingError, Limits};
pub use manifest::{
    AppInfo, Manifest, ManifestParts, MemberInfo, RelationStats, RootInfo, UploadStats,
};
pub use members::Members;
pub(crate) use members::UploadIndex;
pub use reader::{
    ArchiveReader, EventSink, InspectedMember, Inspection, StreamError, UploadSink,
    VerifiedArchive, inspect,
};
pub use restart::RestartPoint;
pub use writer::{ArchiveSummary, ArchiveWriter, MemberWriter, WriterOptions};
