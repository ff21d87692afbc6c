//! Resource limits the archive reader enforces on untrusted archives, and how an operator who
//! trusts an archive raises them (`max_total_bytes=40GiB`).

use std::fmt;
use std::str::FromStr;

use bytesize::ByteSize;

/// Caps applied while reading an archive. Every cap is checked against bytes actually read
/// (decompressed), never only against sizes an entry header claims.
///
/// The defaults accept what hoist's own export writes for large tenants — the reference app's
/// 10-million-row project, with about 96 000 uploads, is about 10 GiB of tar — and refuse
/// decompression bombs well before they fill a disk. An operator who trusts a larger archive
/// raises a limit with a [`LimitSetting`]; the export reports the settings its archive needs
/// ([`ArchiveSummary::needed`](super::ArchiveSummary::needed)).
///
/// ```
/// use hoist::archive::{LimitKind, LimitSetting, Limits};
///
/// let mut limits = Limits::default();
/// let setting: LimitSetting = "max_total_bytes=40GiB".parse()?;
/// limits.set(setting);
/// assert_eq!(limits.get(LimitKind::TotalBytes), 40 << 30);
/// # Ok::<(), hoist::archive::LimitSettingError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Limits {
    /// Total decompressed bytes of the tar stream, headers and padding included (default 32 GiB).
    /// Also caps the size any one entry may declare.
    pub max_total_bytes: u64,
    /// Number of tar entries (default 1 000 000). Also caps the manifest's member list.
    pub max_entries: u64,
    /// Length of one NDJSON line, newline excluded; also caps the root record (default 64 MiB).
    /// The reader holds one line in memory at a time.
    pub max_line_bytes: u64,
    /// Size of `manifest.json`, which the reader holds in memory while it parses it (default
    /// 128 MiB: enough for a manifest listing `max_entries` uploads).
    pub max_manifest_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total_bytes: 32 << 30,
            max_entries: 1_000_000,
            max_line_bytes: 64 << 20,
            max_manifest_bytes: 128 << 20,
        }
    }
}

impl Limits {
    /// The value of one limit.
    pub fn get(&self, kind: LimitKind) -> u64 {
        match kind {
            LimitKind::TotalBytes => self.max_total_bytes,
            LimitKind::Entries => self.max_entries,
            LimitKind::LineBytes => self.max_line_bytes,
            LimitKind::ManifestBytes => self.max_manifest_bytes,
        }
    }

    /// Taking `self` as what an archive needs (as in
    /// [`ArchiveSummary::needed`](super::ArchiveSummary::needed)): the settings it needs beyond
    /// `limits`, rounded up to round figures — what an operator passes to read it. Empty when
    /// `limits` admit it.
    ///
    /// ```
    /// use hoist::archive::Limits;
    ///
    /// let needed = Limits { max_total_bytes: 40_000_000_000, ..Limits::default() };
    /// let settings: Vec<String> =
    ///     needed.beyond(&Limits::default()).iter().map(ToString::to_string).collect();
    /// assert_eq!(settings, ["max_total_bytes=38GiB"]);
    /// ```
    pub fn beyond(&self, limits: &Limits) -> Vec<LimitSetting> {
        LimitKind::ALL
            .into_iter()
            .filter(|&kind| self.get(kind) > limits.get(kind))
            .map(|kind| LimitSetting::at_least(kind, self.get(kind)))
            .collect()
    }

    /// Sets one limit.
    pub fn set(&mut self, setting: LimitSetting) {
        let field = match setting.kind {
            LimitKind::TotalBytes => &mut self.max_total_bytes,
            LimitKind::Entries => &mut self.max_entries,
            LimitKind::LineBytes => &mut self.max_line_bytes,
            LimitKind::ManifestBytes => &mut self.max_manifest_bytes,
        };
        *field = setting.value;
    }
}

/// Names one of the [`Limits`] (displayed as its field name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitKind {
    /// [`Limits::max_total_bytes`].
    TotalBytes,
    /// [`Limits::max_entries`].
    Entries,
    /// [`Limits::max_line_bytes`].
    LineBytes,
    /// [`Limits::max_manifest_bytes`].
    ManifestBytes,
}

impl LimitKind {
    /// Every limit, in the order the docs list them.
    pub const ALL: [LimitKind; 4] = [
        LimitKind::TotalBytes,
        LimitKind::Entries,
        LimitKind::LineBytes,
        LimitKind::ManifestBytes,
    ];

    /// The limit's name: its field name in [`Limits`].
    pub fn name(self) -> &'static str {
        match self {
            LimitKind::TotalBytes => "max_total_bytes",
            LimitKind::Entries => "max_entries",
            LimitKind::LineBytes => "max_line_bytes",
            LimitKind::ManifestBytes => "max_manifest_bytes",
        }
    }

    /// Whether the limit counts bytes (all but [`LimitKind::Entries`]).
    pub fn is_bytes(self) -> bool {
        self != LimitKind::Entries
    }

    /// `value` as an operator reads it: `8 GiB (8589934592 bytes)` or `1000000`.
    pub fn show(self, value: u64) -> String {
        if self.is_bytes() && value >= 1 << 10 {
            format!("{} ({value} bytes)", ByteSize(value).display().iec())
        } else if self.is_bytes() {
            format!("{value} bytes")
        } else {
            value.to_string()
        }
    }
}

impl fmt::Display for LimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One limit set to a value; written and parsed as `name=value`, where the value of a byte limit
/// may carry a unit (`40GiB`, `500 MB`, `1073741824`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSetting {
    /// Which limit.
    pub kind: LimitKind,
    /// Its new value.
    pub value: u64,
}

impl LimitSetting {
    /// The smallest setting of `kind` that admits `needed`, rounded up to a round figure
    /// (whole MiB or GiB for byte limits, a whole thousand for entries) so that it reads well in
    /// a message and leaves a little room.
    pub fn at_least(kind: LimitKind, needed: u64) -> LimitSetting {
        let unit: u64 = match kind {
            LimitKind::Entries => 1000,
            _ if needed >= 1 << 30 => 1 << 30,
            _ => 1 << 20,
        };
        LimitSetting {
            kind,
            value: needed.div_ceil(unit).saturating_mul(unit),
        }
    }
}

impl fmt::Display for LimitSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = self.value;
        if self.kind.is_bytes() && value >= 1 << 30 && value.is_multiple_of(1 << 30) {
            write!(f, "{}={}GiB", self.kind, value >> 30)
        } else if self.kind.is_bytes() && value >= 1 << 20 && value.is_multiple_of(1 << 20) {
            write!(f, "{}={}MiB", self.kind, value >> 20)
        } else {
            write!(f, "{}={value}", self.kind)
        }
    }
}

/// Why a `name=value` limit setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitSettingError {
    /// No `=` between name and value.
    #[error("`{0}` is not name=value (for example `max_total_bytes=40GiB`)")]
    NotNameValue(String),
    /// The name is not one of the limits.
    #[error(
        "unknown limit `{0}`; the limits are max_total_bytes, max_entries, max_line_bytes and \
         max_manifest_bytes"
    )]
    UnknownLimit(String),
    /// The value is not a count, or not a size.
    #[error("`{value}` is not a valid value for {kind}: {reason}")]
    InvalidValue {
        /// The limit.
        kind: LimitKind,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl FromStr for LimitSetting {
    type Err = LimitSettingError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (name, value) = text
            .split_once('=')
            .ok_or_else(|| LimitSettingError::NotNameValue(text.to_owned()))?;
        let (name, value) = (name.trim(), value.trim());
        let kind = LimitKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| LimitSettingError::UnknownLimit(name.to_owned()))?;
        let invalid = |reason: String| LimitSettingError::InvalidValue {
            kind,
            value: value.to_owned(),
            reason,
        };
        let value = if kind.is_bytes() {
            value.parse::<ByteSize>().map_err(invalid)?.0
        } else {
            value
                .parse::<u64>()
                .map_err(|e| invalid(format!("{e} (a count, no unit)")))?
        };
        if value == 0 {
            return Err(invalid("a limit of 0 admits nothing".to_owned()));
        }
        Ok(LimitSetting { kind, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_with_units_and_display_back() {
        let parsed: LimitSetting = "max_total_bytes=40GiB".parse().unwrap();
        assert_eq!(parsed.value, 40 << 30);
        assert_eq!(parsed.to_string(), "max_total_bytes=40GiB");
        let parsed: LimitSetting = " max_line_bytes = 500 MB ".parse().unwrap();
        assert_eq!(parsed.value, 500_000_000);
        let parsed: LimitSetting = "max_entries=2000000".parse().unwrap();
        assert_eq!((parsed.kind, parsed.value), (LimitKind::Entries, 2_000_000));
        for kind in LimitKind::ALL {
            for needed in [1, 1000, 1 << 20, (1 << 20) + 1, 10_737_418_241] {
                let setting = LimitSetting::at_least(kind, needed);
                assert!(setting.value >= needed);
                let back: LimitSetting = setting.to_string().parse().unwrap();
                assert_eq!(back, setting, "{setting}");
            }
        }
    }

    #[test]
    fn bad_settings_say_what_is_wrong() {
        let error = |text: &str| text.parse::<LimitSetting>().unwrap_err().to_string();
        assert!(error("max_total_bytes").contains("not name=value"));
        assert!(error("max_entry_bytes=1GiB").contains("unknown limit `max_entry_bytes`"));
        assert!(error("max_entries=1k").contains("a count, no unit"));
        assert!(error("max_total_bytes=lots").contains("not a valid value for max_total_bytes"));
        assert!(error("max_line_bytes=0").contains("admits nothing"));
    }

    #[test]
    fn set_changes_only_that_limit() {
        let mut limits = Limits::default();
        limits.set(LimitSetting {
            kind: LimitKind::ManifestBytes,
            value: 7,
        });
        assert_eq!(
            limits,
            Limits {
                max_manifest_bytes: 7,
                ..Limits::default()
            }
        );
    }

    #[test]
    fn values_show_with_units() {
        assert_eq!(
            LimitKind::TotalBytes.show(8 << 30),
            "8.0 GiB (8589934592 bytes)"
        );
        assert_eq!(LimitKind::LineBytes.show(200), "200 bytes");
        assert_eq!(LimitKind::Entries.show(6), "6");
    }
}
