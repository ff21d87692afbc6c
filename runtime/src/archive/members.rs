//! The manifest's member list, held compactly: an archive can list hundreds of thousands of
//! uploads, and each `uploads/<sha256>` entry is fully described by its digest and size, so it is
//! kept as 40 bytes instead of two 64-character strings in a map node (about 250 bytes). The JSON
//! form is one map from member name to [`MemberInfo`], in name order, where an upload entry leaves
//! out the `sha256` its name already states (`"uploads/<sha256>": {"bytes": 12}`): such an entry
//! takes 90 bytes of compact JSON instead of 166 (for a five-digit size). Entries that spell it out
//! are read as well.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::manifest::MemberInfo;
use super::names::{self, UploadDigest};

/// Every member of an archive except `VERSION` and `manifest.json`, by name, with its size and
/// checksum. Behaves like a map from name to [`MemberInfo`] ordered by name.
///
/// ```
/// use hoist::archive::{MemberInfo, Members};
///
/// let mut members = Members::default();
/// let sha = "0".repeat(64);
/// let info = MemberInfo { bytes: 3, sha256: sha.clone(), lines: None };
/// members.insert(format!("uploads/{sha}"), info.clone());
/// assert_eq!(members.get(&format!("uploads/{sha}")), Some(info));
/// assert_eq!(members.len(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members {
    /// Every entry that is not a canonical upload entry.
    named: BTreeMap<String, MemberInfo>,
    /// Canonical upload entries (`uploads/<sha256>` listing that same sha256 and no line count),
    /// sorted by digest — which is their names' order. Shared with the [`UploadIndex`]es handed
    /// out.
    uploads: UploadIndex,
}

/// The canonical upload entries of a [`Members`], numbered `0..len` in digest order: what the
/// archive reader and the importer key what they track per upload by (a bit, where a set of
/// digests took ~45 bytes per upload). Shares the list with the `Members` it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UploadIndex(Arc<Vec<(UploadDigest, u64)>>);

impl UploadIndex {
    /// The number of upload `digest`, if it is listed.
    pub(crate) fn position(&self, digest: &UploadDigest) -> Option<u32> {
        u32::try_from(self.find(digest)?).ok()
    }

    fn find(&self, digest: &UploadDigest) -> Option<usize> {
        self.0.binary_search_by(|(d, _)| d.cmp(digest)).ok()
    }

    /// The number of uploads.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The digest of upload number `position`.
    pub(crate) fn digest(&self, position: u32) -> Option<UploadDigest> {
        self.0.get(position as usize).map(|(digest, _)| *digest)
    }
}

/// The digest of a canonical upload entry: named `uploads/<sha256>`, listing that sha256 and no
/// line count; `None` for every other entry (kept as it is, for the manifest's checks to judge).
fn canonical_upload(name: &str, info: &MemberInfo) -> Option<UploadDigest> {
    let digest = UploadDigest::of_member(name)?;
    (info.lines.is_none() && name[names::UPLOADS_DIR.len()..] == info.sha256).then_some(digest)
}

/// The entry a canonical upload entry stands for.
fn upload_info(digest: UploadDigest, bytes: u64) -> MemberInfo {
    MemberInfo {
        bytes,
        sha256: digest.to_string(),
        lines: None,
    }
}

impl Members {
    /// Number of members.
    pub fn len(&self) -> usize {
        self.named.len() + self.uploads.len()
    }

    /// No members at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn upload_index(&self, name: &str) -> Option<usize> {
        self.uploads.find(&UploadDigest::of_member(name)?)
    }

    /// The number of member `name` among the canonical upload entries (see [`UploadIndex`]).
    pub(crate) fn upload_number(&self, name: &str) -> Option<u32> {
        self.uploads.position(&UploadDigest::of_member(name)?)
    }

    /// The canonical upload entries, numbered.
    pub(crate) fn uploads(&self) -> UploadIndex {
        self.uploads.clone()
    }

    /// The first member in name order that was not seen: `named_seen` is asked about the
    /// entries that are not canonical upload entries (by name), `upload_seen` about the upload
    /// entries (by number) — so no upload's name is spelled out unless it is the answer.
    pub(crate) fn first_unseen(
        &self,
        named_seen: impl Fn(&str) -> bool,
        upload_seen: impl Fn(u32) -> bool,
    ) -> Option<String> {
        let named = self.named.keys().find(|name| !named_seen(name));
        let upload = (0..self.uploads.len())
            .map_while(|at| u32::try_from(at).ok())
            .find(|&number| !upload_seen(number))
            .and_then(|number| self.uploads.digest(number))
            .map(|digest| names::upload_member(&digest.to_string()));
        match (named, upload) {
            (Some(named), Some(upload)) => Some(named.clone().min(upload)),
            (named, upload) => named.cloned().or(upload),
        }
    }

    /// The entry of member `name`.
    pub fn get(&self, name: &str) -> Option<MemberInfo> {
        if let Some(info) = self.named.get(name) {
            return Some(info.clone());
        }
        let (digest, bytes) = self.uploads.0[self.upload_index(name)?];
        Some(upload_info(digest, bytes))
    }

    /// Whether member `name` is listed.
    pub fn contains_key(&self, name: &str) -> bool {
        self.named.contains_key(name) || self.upload_index(name).is_some()
    }

    /// Lists member `name`; returns the entry it replaces.
    pub fn insert(&mut self, name: String, info: MemberInfo) -> Option<MemberInfo> {
        let old = self.remove(&name);
        match canonical_upload(&name, &info) {
            Some(digest) => {
                let at = self.uploads.0.partition_point(|(d, _)| *d < digest);
                Arc::make_mut(&mut self.uploads.0).insert(at, (digest, info.bytes));
            }
            None => {
                self.named.insert(name, info);
            }
        }
        old
    }

    /// Unlists member `name`; returns its entry.
    pub fn remove(&mut self, name: &str) -> Option<MemberInfo> {
        if let Some(info) = self.named.remove(name) {
            return Some(info);
        }
        let at = self.upload_index(name)?;
        let (digest, bytes) = Arc::make_mut(&mut self.uploads.0).remove(at);
        Some(upload_info(digest, bytes))
    }

    /// The list of `named` entries and of upload entries given by digest and size, as if
    /// collected in that order (of a name listed twice, the last entry stays), without spelling
    /// out each upload's name and sha256.
    pub(crate) fn build(
        named: impl IntoIterator<Item = (String, MemberInfo)>,
        uploads: impl IntoIterator<Item = (UploadDigest, u64)>,
    ) -> Members {
        let mut builder = Builder::default();
        for (name, info) in named {
            builder.add(Cow::Owned(name), info);
        }
        for (digest, bytes) in uploads {
            builder.add_upload(digest, bytes);
        }
        builder.finish()
    }

    /// Member names in order.
    pub fn names(&self) -> impl Iterator<Item = Cow<'_, str>> {
        self.iter().map(|(name, _)| name)
    }

    /// Members in name order.
    pub fn iter(&self) -> impl Iterator<Item = (Cow<'_, str>, MemberInfo)> {
        Merge {
            named: self.named.iter().peekable(),
            uploads: self.uploads.0.iter().peekable(),
        }
    }
}

/// The two lists merged in name order.
struct Merge<'a> {
    named: std::iter::Peekable<std::collections::btree_map::Iter<'a, String, MemberInfo>>,
    uploads: std::iter::Peekable<std::slice::Iter<'a, (UploadDigest, u64)>>,
}

impl<'a> Iterator for Merge<'a> {
    type Item = (Cow<'a, str>, MemberInfo);

    fn next(&mut self) -> Option<Self::Item> {
        let upload_name = self
            .uploads
            .peek()
            .map(|(digest, _)| names::upload_member(&digest.to_string()));
        let take_named = match (self.named.peek(), &upload_name) {
            (None, None) => return None,
            (Some((name, _)), Some(upload)) => name.as_str() < upload.as_str(),
            (named, _) => named.is_some(),
        };
        if take_named {
            let (name, info) = self.named.next()?;
            return Some((Cow::Borrowed(name.as_str()), info.clone()));
        }
        let (digest, bytes) = *self.uploads.next()?;
        Some((Cow::Owned(upload_name?), upload_info(digest, bytes)))
    }
}

impl<'a> FromIterator<(Cow<'a, str>, MemberInfo)> for Members {
    fn from_iter<I: IntoIterator<Item = (Cow<'a, str>, MemberInfo)>>(entries: I) -> Members {
        let mut builder = Builder::default();
        for (name, info) in entries {
            builder.add(name, info);
        }
        builder.finish()
    }
}

impl FromIterator<(String, MemberInfo)> for Members {
    fn from_iter<I: IntoIterator<Item = (String, MemberInfo)>>(entries: I) -> Members {
        entries
            .into_iter()
            .map(|(name, info)| (Cow::Owned(name), info))
            .collect()
    }
}

/// Collects entries in any order with a map's semantics (of a name listed twice, the last entry
/// stays) without sorting the upload entries until the end.
#[derive(Default)]
struct Builder {
    named: BTreeMap<String, MemberInfo>,
    /// Entries in `named` whose name is an upload's, with their position.
    shadows: BTreeMap<UploadDigest, usize>,
    /// Canonical upload entries with their position.
    uploads: Vec<(UploadDigest, u64, usize)>,
    next: usize,
}

impl Builder {
    fn add(&mut self, name: Cow<'_, str>, info: MemberInfo) {
        match canonical_upload(&name, &info) {
            Some(digest) => self.add_upload(digest, info.bytes),
            None => {
                if let Some(digest) = UploadDigest::of_member(&name) {
                    self.shadows.insert(digest, self.next);
                }
                self.next += 1;
                self.named.insert(name.into_owned(), info);
            }
        }
    }

    /// Adds the canonical entry of upload `digest`.
    fn add_upload(&mut self, digest: UploadDigest, bytes: u64) {
        self.uploads.push((digest, bytes, self.next));
        self.next += 1;
    }

    fn finish(mut self) -> Members {
        self.uploads
            .sort_unstable_by_key(|&(digest, _, at)| (digest, at));
        let mut uploads = Vec::with_capacity(self.uploads.len());
        for (i, &(digest, bytes, at)) in self.uploads.iter().enumerate() {
            if self.uploads.get(i + 1).is_some_and(|next| next.0 == digest) {
                continue; // listed again later
            }
            match self.shadows.get(&digest) {
                Some(&shadow) if shadow > at => continue, // replaced by a later, other entry
                Some(_) => {
                    self.named
                        .remove(&names::upload_member(&digest.to_string()));
                }
                None => {}
            }
            uploads.push((digest, bytes));
        }
        Members {
            named: self.named,
            uploads: UploadIndex(Arc::new(uploads)),
        }
    }
}

/// A member's entry as written: `sha256` is left out where the name states it.
#[derive(Serialize, Deserialize)]
struct WireInfo<'a> {
    bytes: u64,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    sha256: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lines: Option<u64>,
}

impl Serialize for Members {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter().map(|(name, info)| {
            let spelled_out = canonical_upload(&name, &info).is_none();
            let wire = WireInfo {
                bytes: info.bytes,
                sha256: spelled_out.then_some(Cow::Owned(info.sha256)),
                lines: info.lines,
            };
            (name, wire)
        }))
    }
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Members, D::Error> {
        deserializer.deserialize_map(MembersVisitor)
    }
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map from member name to its size and sha256")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
        let mut builder = Builder::default();
        while let Some((name, wire)) = map.next_entry::<Cow<'de, str>, WireInfo<'de>>()? {
            let sha256 = match (wire.sha256, UploadDigest::of_member(&name)) {
                (Some(sha256), _) => sha256.into_owned(),
                (None, Some(digest)) if wire.lines.is_none() => digest.to_string(),
                (None, _) => {
                    return Err(serde::de::Error::custom(format_args!(
                        "member `{}`: missing field `sha256`",
                        names::display_name(name.as_bytes())
                    )));
                }
            };
            let info = MemberInfo {
                bytes: wire.bytes,
                sha256,
                lines: wire.lines,
            };
            builder.add(name, info);
        }
        Ok(builder.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn info(bytes: u64, sha256: &str, lines: Option<u64>) -> MemberInfo {
        MemberInfo {
            bytes,
            sha256: sha256.to_owned(),
            lines,
        }
    }

    /// What `Members` replaces: the same operations on a plain map must give the same answers
    /// and the same JSON.
    fn same_as_map(entries: &[(String, MemberInfo)]) {
        let map: BTreeMap<String, MemberInfo> = entries.iter().cloned().collect();
        let collected: Members = entries.iter().cloned().collect();
        let mut inserted = Members::default();
        for (name, info) in entries {
            inserted.insert(name.clone(), info.clone());
        }
        // Written without the sha256 an upload's name states; read with or without it.
        let spelled_out = serde_json::to_string(&map).unwrap();
        let written: serde_json::Map<String, serde_json::Value> = map
            .iter()
            .map(|(name, info)| {
                let mut value = serde_json::to_value(info).unwrap();
                if canonical_upload(name, info).is_some() {
                    value.as_object_mut().unwrap().remove("sha256");
                }
                (name.clone(), value)
            })
            .collect();
        let json = serde_json::to_string(&written).unwrap();
        let parsed: Members = serde_json::from_str(&spelled_out).unwrap();
        let reparsed: Members = serde_json::from_str(&json).unwrap();
        for members in [&collected, &inserted, &parsed, &reparsed] {
            assert_eq!(members.len(), map.len());
            assert_eq!(serde_json::to_string(members).unwrap(), json);
            let listed: Vec<(String, MemberInfo)> =
                members.iter().map(|(n, i)| (n.into_owned(), i)).collect();
            let expected: Vec<(String, MemberInfo)> = map.clone().into_iter().collect();
            assert_eq!(listed, expected);
            for (name, info) in &map {
                assert_eq!(members.get(name).as_ref(), Some(info), "{name}");
                assert!(members.contains_key(name));
            }
            assert_eq!(members.get("uploads/nope"), None);
        }
        assert_eq!(collected, inserted);
        assert_eq!(collected, parsed);
        assert_eq!(collected, reparsed);
        let mut removed = collected.clone();
        for (name, info) in &map {
            assert_eq!(removed.remove(name).as_ref(), Some(info));
            assert!(!removed.contains_key(name));
        }
        assert!(removed.is_empty());
    }

    fn hex(byte: u8) -> String {
        format!("{byte:02x}").repeat(32)
    }

    /// The first unseen member in name order, whichever kind it is, as `names()` would find it.
    #[test]
    fn first_unseen_is_in_name_order_across_both_kinds() {
        let (a, b) = (hex(0x11), hex(0xee));
        let members: Members = [
            ("tree/project.ndjson".to_owned(), info(3, &a, Some(1))),
            (format!("uploads/{a}"), info(5, &a, None)),
            (format!("uploads/{b}"), info(6, &b, None)),
            ("users.ndjson".to_owned(), info(4, &b, Some(1))),
        ]
        .into_iter()
        .collect();
        let named = |seen: &'static [&'static str]| move |name: &str| seen.contains(&name);
        let upload = |seen: &'static [u32]| move |number: u32| seen.contains(&number);
        // Nothing seen: `tree/…` sorts before `uploads/…`.
        assert_eq!(
            members.first_unseen(named(&[]), upload(&[])).as_deref(),
            Some("tree/project.ndjson")
        );
        // The tree seen: the first upload by number (= by name), not the later named entry.
        assert_eq!(
            members.first_unseen(named(&["tree/project.ndjson"]), upload(&[])),
            Some(format!("uploads/{a}"))
        );
        assert_eq!(
            members.first_unseen(named(&["tree/project.ndjson"]), upload(&[0])),
            Some(format!("uploads/{b}"))
        );
        // Every upload seen: the named entry after them.
        assert_eq!(
            members
                .first_unseen(named(&["tree/project.ndjson"]), upload(&[0, 1]))
                .as_deref(),
            Some("users.ndjson")
        );
        let all = named(&["tree/project.ndjson", "users.ndjson"]);
        assert_eq!(members.first_unseen(all, upload(&[0, 1])), None);
    }

    #[test]
    fn uploads_are_compact_and_everything_else_stays_as_listed() {
        let a = hex(0xaa);
        let b = hex(0x0b);
        let entries = vec![
            ("tree/project.json".to_owned(), info(10, &a, None)),
            (
                "tree/project/issues.ndjson".to_owned(),
                info(20, &b, Some(2)),
            ),
            (format!("uploads/{a}"), info(5, &a, None)),
            (format!("uploads/{b}"), info(6, &b, None)),
            // Not canonical: kept verbatim for the manifest's checks to reject.
            (format!("uploads/{}", hex(0x11)), info(7, &a, None)),
            (
                format!("uploads/{}", hex(0x22)),
                info(8, &hex(0x22), Some(1)),
            ),
            ("uploads/XYZ".to_owned(), info(9, &a, None)),
            ("zzz".to_owned(), info(1, &a, None)),
        ];
        same_as_map(&entries);
        let members: Members = entries.into_iter().collect();
        assert_eq!(members.uploads.len(), 2);
        assert_eq!(members.named.len(), 6);
    }

    #[test]
    fn only_an_upload_entry_may_leave_out_its_sha256() {
        let sha = hex(0xaa);
        let json = format!(r#"{{"uploads/{sha}": {{"bytes": 5}}}}"#);
        let members: Members = serde_json::from_str(&json).unwrap();
        assert_eq!(
            members.get(&format!("uploads/{sha}")),
            Some(info(5, &sha, None))
        );
        for json in [
            r#"{"tree/project.json": {"bytes": 5}}"#.to_owned(),
            format!(r#"{{"uploads/{sha}": {{"bytes": 5, "lines": 1}}}}"#),
            r#"{"uploads/xyz": {"bytes": 5}}"#.to_owned(),
        ] {
            let error = serde_json::from_str::<Members>(&json).unwrap_err();
            assert!(
                error.to_string().contains("missing field `sha256`"),
                "{json}: {error}"
            );
        }
    }

    proptest! {
        #[test]
        fn behaves_like_a_map(picks in proptest::collection::vec((0u8..6, 0u8..4, 0u64..3), 0..24)) {
            let entries: Vec<(String, MemberInfo)> = picks
                .into_iter()
                .map(|(name, sha, bytes)| {
                    let name = match name {
                        0 => "tree/project.json".to_owned(),
                        1 => "tree/users.ndjson".to_owned(),
                        n => format!("uploads/{}", hex(n * 0x11)),
                    };
                    (name, info(bytes, &hex(sha * 0x11 + 0x22), None))
                })
                .collect();
            same_as_map(&entries);
        }
    }
}
