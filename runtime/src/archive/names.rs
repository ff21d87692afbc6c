//! Archive member names: the closed list of names an archive may hold, and safe rendering of
//! names read from untrusted input.
//!
//! Names on the list are plain ASCII, so a name that is not on it is always rendered through
//! [`display_name`] before it reaches an error message or a log line (no terminal escapes, no
//! bidirectional overrides, bounded length).

use std::fmt;

/// The format version member, always the first entry.
pub const VERSION_MEMBER: &str = "VERSION";
/// The manifest member, always the second entry.
pub const MANIFEST_MEMBER: &str = "manifest.json";
/// The optional member holding the referenced users, one natural-key record per line.
pub const USERS_MEMBER: &str = "tree/users.ndjson";
/// Directory of the upload members (`uploads/<sha256>`).
pub const UPLOADS_DIR: &str = "uploads/";

/// Longest relation (or root relation) name accepted, in bytes. Keeps every member name short
/// enough for a plain ustar header, so no long-name extension records are ever needed.
pub const MAX_RELATION_NAME: usize = 64;

/// What an archive member is, decided from its name alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberKind {
    /// `VERSION`.
    Version,
    /// `manifest.json`.
    Manifest,
    /// `tree/<root>.json`.
    RootRecord,
    /// `tree/users.ndjson`.
    Users,
    /// `tree/<root>/<relation>.ndjson`, holding the relation name.
    Relation(String),
    /// `uploads/<sha256>`, holding the lowercase hex digest.
    Upload(String),
}

impl MemberKind {
    /// Members made of newline-delimited JSON records (their manifest entry carries `lines`).
    pub fn is_ndjson(&self) -> bool {
        matches!(self, MemberKind::Users | MemberKind::Relation(_))
    }
}

/// `true` for a relation name hoist accepts: `[a-z0-9_]+`, at most [`MAX_RELATION_NAME`] bytes.
pub fn is_valid_relation_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_RELATION_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `true` for 64 lowercase hexadecimal digits (a sha256 as written in archives).
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// An upload's sha256 as 32 bytes: how the reader and the importer key what they track per upload
/// (the 64 hex digits in a `String` take three times the memory, and an archive can hold hundreds
/// of thousands of uploads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct UploadDigest([u8; 32]);

impl UploadDigest {
    /// 64 lowercase hex digits ([`is_sha256_hex`]); `None` for anything else.
    pub(crate) fn parse(hex: &str) -> Option<UploadDigest> {
        let mut bytes = [0u8; 32];
        (is_sha256_hex(hex) && hex::decode_to_slice(hex, &mut bytes).is_ok())
            .then_some(UploadDigest(bytes))
    }

    /// The digest an upload member (`uploads/<sha256>`) is named for; `None` for any other name.
    pub(crate) fn of_member(name: &str) -> Option<UploadDigest> {
        UploadDigest::parse(name.strip_prefix(UPLOADS_DIR)?)
    }
}

impl From<[u8; 32]> for UploadDigest {
    fn from(raw: [u8; 32]) -> UploadDigest {
        UploadDigest(raw)
    }
}

impl fmt::Display for UploadDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// The root record member for a root relation: `tree/<root>.json`.
pub fn root_member(root: &str) -> String {
    format!("tree/{root}.json")
}

/// The member holding a top-level relation: `tree/<root>/<relation>.ndjson`.
pub fn relation_member(root: &str, relation: &str) -> String {
    format!("tree/{root}/{relation}.ndjson")
}

/// The member holding an upload: `uploads/<sha256>`.
pub fn upload_member(sha256: &str) -> String {
    format!("{UPLOADS_DIR}{sha256}")
}

/// Classifies a member name against the expected list for root relation `root`. `None`: the
/// name is not on the list.
pub fn classify(name: &str, root: &str) -> Option<MemberKind> {
    match name {
        VERSION_MEMBER => return Some(MemberKind::Version),
        MANIFEST_MEMBER => return Some(MemberKind::Manifest),
        USERS_MEMBER => return Some(MemberKind::Users),
        _ => {}
    }
    if let Some(sha) = name.strip_prefix(UPLOADS_DIR) {
        return is_sha256_hex(sha).then(|| MemberKind::Upload(sha.to_owned()));
    }
    let rest = name.strip_prefix("tree/")?.strip_prefix(root)?;
    if rest == ".json" {
        return Some(MemberKind::RootRecord);
    }
    let relation = rest.strip_prefix('/')?.strip_suffix(".ndjson")?;
    is_valid_relation_name(relation).then(|| MemberKind::Relation(relation.to_owned()))
}

/// Why a raw entry name is refused before the allowlist is even consulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameProblem {
    /// Not valid UTF-8.
    NotUtf8,
    /// Starts at a filesystem root (`/x`, `\x`, `C:...`).
    Absolute,
    /// Has a `..` component.
    ParentDirectory,
}

/// Checks a raw entry name for the dangerous shapes that get their own error (absolute names,
/// `..` components, non-UTF-8), so the error says what was wrong and not just "unexpected".
pub fn check_raw_name(raw: &[u8]) -> Result<&str, NameProblem> {
    let name = std::str::from_utf8(raw).map_err(|_| NameProblem::NotUtf8)?;
    let bytes = name.as_bytes();
    let drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    if name.starts_with('/') || name.starts_with('\\') || drive {
        return Err(NameProblem::Absolute);
    }
    if name.split(['/', '\\']).any(|component| component == "..") {
        return Err(NameProblem::ParentDirectory);
    }
    Ok(name)
}

/// Longest rendering of an untrusted name, in characters, before it is cut.
const MAX_DISPLAY_CHARS: usize = 200;

/// Renders an untrusted entry name for messages: printable ASCII as is, everything else escaped
/// (`\u{1b}`, `\u{202e}`, invalid UTF-8 as `\u{fffd}`), cut after 200 characters.
pub fn display_name(raw: &[u8]) -> String {
    let lossy = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(lossy.len().min(MAX_DISPLAY_CHARS + 8));
    for (count, c) in lossy.chars().enumerate() {
        if count == MAX_DISPLAY_CHARS {
            out.push('…');
            break;
        }
        if c.is_ascii_graphic() || c == ' ' {
            out.push(c);
        } else {
            out.extend(c.escape_default());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_digests_are_lowercase_hex_only() {
        let hex = "0123456789abcdef".repeat(4);
        let digest = UploadDigest::parse(&hex).expect("valid");
        assert_eq!(digest.to_string(), hex);
        assert_eq!(
            UploadDigest::of_member(&format!("uploads/{hex}")),
            Some(digest)
        );
        assert_eq!(UploadDigest::of_member(&format!("tree/{hex}")), None);
        assert_eq!(UploadDigest::parse(&hex.to_uppercase()), None);
        assert_eq!(UploadDigest::parse(&hex[..62]), None);
        assert_eq!(UploadDigest::parse(&format!("{hex}00")), None);
        assert_eq!(UploadDigest::parse(&format!("{}g", &hex[..63])), None);
    }

    #[test]
    fn classifies_the_expected_list() {
        let sha = "a".repeat(64);
        assert_eq!(classify("VERSION", "project"), Some(MemberKind::Version));
        assert_eq!(
            classify("manifest.json", "project"),
            Some(MemberKind::Manifest)
        );
        assert_eq!(
            classify("tree/project.json", "project"),
            Some(MemberKind::RootRecord)
        );
        assert_eq!(
            classify("tree/users.ndjson", "project"),
            Some(MemberKind::Users)
        );
        assert_eq!(
            classify("tree/project/issues.ndjson", "project"),
            Some(MemberKind::Relation("issues".into()))
        );
        assert_eq!(
            classify(&format!("uploads/{sha}"), "project"),
            Some(MemberKind::Upload(sha.clone()))
        );
        for bad in [
            "tree/group.json",
            "tree/project/Issues.ndjson",
            "tree/project/issues.json",
            "tree/project/a/b.ndjson",
            "tree/project/.ndjson",
            "tree/project.ndjson",
            "tree/projectx.json",
            "uploads/ABC",
            &format!("uploads/{}", "A".repeat(64)),
            &format!("uploads/{sha}/x"),
            "./VERSION",
            "VERSION/",
            "",
        ] {
            assert_eq!(classify(bad, "project"), None, "{bad}");
        }
        let long = "x".repeat(MAX_RELATION_NAME + 1);
        assert_eq!(
            classify(&format!("tree/project/{long}.ndjson"), "project"),
            None
        );
    }

    #[test]
    fn raw_name_checks() {
        assert_eq!(check_raw_name(b"/etc/passwd"), Err(NameProblem::Absolute));
        assert_eq!(check_raw_name(b"\\x"), Err(NameProblem::Absolute));
        assert_eq!(check_raw_name(b"C:x"), Err(NameProblem::Absolute));
        assert_eq!(check_raw_name(b"../x"), Err(NameProblem::ParentDirectory));
        assert_eq!(
            check_raw_name(b"tree/../../x"),
            Err(NameProblem::ParentDirectory)
        );
        assert_eq!(
            check_raw_name(b"tree\\..\\x"),
            Err(NameProblem::ParentDirectory)
        );
        assert_eq!(check_raw_name(b"\xff"), Err(NameProblem::NotUtf8));
        assert_eq!(check_raw_name(b"tree/..x"), Ok("tree/..x"));
    }

    #[test]
    fn display_escapes_control_and_bidi() {
        assert_eq!(display_name(b"a\x1b[31mb"), "a\\u{1b}[31mb");
        assert_eq!(display_name("x\u{202e}y".as_bytes()), "x\\u{202e}y");
        assert_eq!(display_name(b"\xff"), "\\u{fffd}");
        let long = display_name(&[b'a'; 500]);
        assert_eq!(long.chars().count(), MAX_DISPLAY_CHARS + 1);
    }
}
