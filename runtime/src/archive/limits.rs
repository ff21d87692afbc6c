//! Resource limits the archive reader enforces on untrusted archives.

use std::fmt;

/// Caps applied while reading an archive. Every cap is checked against bytes actually read
/// (decompressed), never only against sizes an entry header claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Total decompressed bytes of the tar stream, headers and padding included (default 8 GiB).
    pub max_total_bytes: u64,
    /// Number of tar entries (default 1 000 000). Also caps the manifest's member list.
    pub max_entries: u64,
    /// Size of one entry (default 2 GiB).
    pub max_entry_bytes: u64,
    /// Length of one NDJSON line, newline excluded; also caps the root record (default 64 MiB).
    pub max_line_bytes: u64,
    /// Size of `manifest.json` (default 16 MiB).
    pub max_manifest_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total_bytes: 8 << 30,
            max_entries: 1_000_000,
            max_entry_bytes: 2 << 30,
            max_line_bytes: 64 << 20,
            max_manifest_bytes: 16 << 20,
        }
    }
}

impl Limits {
    /// The value of one limit.
    pub fn get(&self, kind: LimitKind) -> u64 {
        match kind {
            LimitKind::TotalBytes => self.max_total_bytes,
            LimitKind::Entries => self.max_entries,
            LimitKind::EntryBytes => self.max_entry_bytes,
            LimitKind::LineBytes => self.max_line_bytes,
            LimitKind::ManifestBytes => self.max_manifest_bytes,
        }
    }
}

/// Names one of the [`Limits`] (displayed as its field name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// [`Limits::max_total_bytes`].
    TotalBytes,
    /// [`Limits::max_entries`].
    Entries,
    /// [`Limits::max_entry_bytes`].
    EntryBytes,
    /// [`Limits::max_line_bytes`].
    LineBytes,
    /// [`Limits::max_manifest_bytes`].
    ManifestBytes,
}

impl fmt::Display for LimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LimitKind::TotalBytes => "max_total_bytes",
            LimitKind::Entries => "max_entries",
            LimitKind::EntryBytes => "max_entry_bytes",
            LimitKind::LineBytes => "max_line_bytes",
            LimitKind::ManifestBytes => "max_manifest_bytes",
        })
    }
}
