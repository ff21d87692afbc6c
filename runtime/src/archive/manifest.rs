//! `manifest.json`: what an archive holds, with a checksum for every member.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::ArchiveError;
use super::limits::Limits;
use super::members::Members;
use super::names::{
    self, MANIFEST_MEMBER, MemberKind, VERSION_MEMBER, is_sha256_hex, is_valid_relation_name,
};

/// The archive's table of contents. Serialized pretty-printed, keys in a stable order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Same number as the `VERSION` member.
    pub format_version: u32,
    /// Version of hoist that wrote the archive.
    pub hoist_version: String,
    /// The application and schema the archive comes from.
    pub app: AppInfo,
    /// When the archive was written, RFC 3339 UTC.
    pub created_at: String,
    /// The exported root record.
    pub root: RootInfo,
    /// Rows per relation path (`project/issues`, `project/issues/notes`), at any depth.
    pub relations: BTreeMap<String, RelationStats>,
    /// Every member except `VERSION` and `manifest.json`.
    pub members: Members,
    /// Totals over the `uploads/` members.
    pub uploads: UploadStats,
}

/// The exporting application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInfo {
    /// Application name (`forge`).
    pub name: String,
    /// Digest of the schema snapshot the export was compiled against.
    pub schema_digest: String,
}

/// The exported root record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootInfo {
    /// The root relation's name (`project`): names `tree/<relation>.json`.
    pub relation: String,
    /// The root table (`projects`).
    pub table: String,
    /// The root row's id in the source database.
    pub source_id: i64,
}

/// Row count of one relation path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationStats {
    /// Rows of that relation at any depth.
    pub records: u64,
}

/// Size and checksum of one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    /// Uncompressed size.
    pub bytes: u64,
    /// Lowercase hex sha256 of the content.
    pub sha256: String,
    /// Newline count, for NDJSON members only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<u64>,
}

/// Totals over the upload members.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadStats {
    /// Distinct files.
    pub files: u64,
    /// Their total size.
    pub bytes: u64,
}

/// What the caller of [`ArchiveWriter::finish`](super::ArchiveWriter::finish) supplies; the
/// writer adds the hoist version, the member list and the upload totals.
#[derive(Debug, Clone)]
pub struct ManifestParts {
    /// Archive format version (the Plan's `format_version`), also written to `VERSION`.
    pub format_version: u32,
    /// The exporting application.
    pub app: AppInfo,
    /// The exported root record; `relation` must equal the writer's root relation.
    pub root: RootInfo,
    /// Rows per relation path. Entries for top-level relations that have a member may be left
    /// out: the writer fills them in from the member's line count.
    pub relations: BTreeMap<String, RelationStats>,
    /// Creation time; `None`: now.
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// tar's block size: every header is one block, and data is padded to whole blocks.
pub(super) const BLOCK: u64 = 512;

/// `size` bytes of entry data padded to whole tar blocks.
pub(super) fn padded(size: u64) -> u64 {
    size.div_ceil(BLOCK).saturating_mul(BLOCK)
}

fn invalid(reason: String) -> ArchiveError {
    ArchiveError::ManifestInvalid { reason }
}

impl Manifest {
    /// Size of the tar stream of an archive with this manifest, `manifest_bytes` long: every
    /// entry's header block and padded data (VERSION, the manifest, each listed member) and the
    /// two zero blocks that end it. Exact for the archives hoist writes.
    pub fn tar_bytes(&self, manifest_bytes: u64) -> u64 {
        let entry = |size: u64| BLOCK.saturating_add(padded(size));
        let version = format!("{}\n", self.format_version).len() as u64;
        self.members.iter().fold(
            entry(version) + entry(manifest_bytes) + 2 * BLOCK,
            |total, (_, info)| total.saturating_add(entry(info.bytes)),
        )
    }

    /// Checks the manifest's internal consistency for root relation `root` (the member list
    /// against the expected names, upload totals, top-level relation counts against line
    /// counts). Called by the writer before writing and by the reader right after parsing.
    pub fn validate(&self, root: &str, limits: &Limits) -> Result<(), ArchiveError> {
        if !is_valid_relation_name(root) {
            return Err(invalid(format!(
                "root relation {:?} is not a valid relation name ([a-z0-9_]+)",
                names::display_name(root.as_bytes())
            )));
        }
        if self.root.relation != root {
            return Err(ArchiveError::RootMismatch {
                found: names::display_name(self.root.relation.as_bytes()),
                expected: root.to_owned(),
            });
        }
        if chrono::DateTime::parse_from_rfc3339(&self.created_at).is_err() {
            return Err(invalid(format!(
                "created_at {:?} is not an RFC 3339 timestamp",
                names::display_name(self.created_at.as_bytes())
            )));
        }
        if self.members.len() as u64 > limits.max_entries {
            return Err(ArchiveError::LimitExceeded {
                limit: super::LimitKind::Entries,
                max: limits.max_entries,
                location: super::Location::Entry(MANIFEST_MEMBER.to_owned()),
            });
        }
        let root_member = names::root_member(root);
        if !self.members.contains_key(&root_member) {
            return Err(invalid(format!(
                "the root record `{root_member}` is not listed"
            )));
        }
        let mut uploads = UploadStats::default();
        let mut relation_lines = BTreeMap::new();
        for (name, info) in self.members.iter() {
            let shown = names::display_name(name.as_bytes());
            let kind = match names::classify(&name, root) {
                Some(MemberKind::Version | MemberKind::Manifest) | None => {
                    return Err(invalid(format!(
                        "member `{shown}` cannot be listed (expected tree/... or uploads/<sha256> \
                         members other than {VERSION_MEMBER} and {MANIFEST_MEMBER})"
                    )));
                }
                Some(kind) => kind,
            };
            if !is_sha256_hex(&info.sha256) {
                return Err(invalid(format!(
                    "member `{shown}`: sha256 is not 64 lowercase hex digits"
                )));
            }
            if kind.is_ndjson() != info.lines.is_some() {
                return Err(invalid(format!(
                    "member `{shown}`: `lines` must be given for .ndjson members and only for them"
                )));
            }
            match kind {
                MemberKind::Upload(sha) => {
                    if sha != info.sha256 {
                        return Err(invalid(format!(
                            "member `{shown}`: sha256 differs from the upload's name"
                        )));
                    }
                    uploads.files += 1;
                    uploads.bytes = uploads.bytes.saturating_add(info.bytes);
                }
                MemberKind::Relation(relation) => {
                    relation_lines.insert(relation, info.lines.unwrap_or(0));
                }
                _ => {}
            }
        }
        if uploads != self.uploads {
            return Err(invalid(format!(
                "upload totals say {} files / {} bytes, the member list has {} / {}",
                self.uploads.files, self.uploads.bytes, uploads.files, uploads.bytes
            )));
        }
        check_relations(&self.relations, root, &relation_lines)
    }
}

/// Checks relation paths (`<root>` or `<root>/a/b`, segments `[a-z0-9_]+`) and that every
/// top-level relation's record count equals its member's line count (0 without a member).
pub(crate) fn check_relations(
    relations: &BTreeMap<String, RelationStats>,
    root: &str,
    relation_lines: &BTreeMap<String, u64>,
) -> Result<(), ArchiveError> {
    for (path, stats) in relations {
        let shown = names::display_name(path.as_bytes());
        let mut segments = path.split('/');
        if segments.next() != Some(root) {
            return Err(invalid(format!(
                "relation path `{shown}` does not start with the root relation `{root}`"
            )));
        }
        let rest: Vec<&str> = segments.collect();
        if rest.iter().any(|s| !is_valid_relation_name(s)) {
            return Err(invalid(format!(
                "relation path `{shown}` has a segment that is not [a-z0-9_]+"
            )));
        }
        if let [relation] = rest.as_slice() {
            let lines = relation_lines.get(*relation).copied().unwrap_or(0);
            if stats.records != lines {
                return Err(invalid(format!(
                    "relation `{shown}` counts {} records but `{}` has {lines} lines",
                    stats.records,
                    names::relation_member(root, relation)
                )));
            }
        }
    }
    for (relation, lines) in relation_lines {
        let path = format!("{root}/{relation}");
        if !relations.contains_key(&path) {
            return Err(invalid(format!(
                "relation `{path}` has a member with {lines} lines but no record count"
            )));
        }
    }
    Ok(())
}
