//! Hand-made archives for the archive tests: every entry, header field and manifest byte is
//! under the test's control, so hostile archives can be crafted exactly.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use hoist::archive::{AppInfo, Manifest, MemberInfo, RelationStats, RootInfo, UploadStats, names};
use sha2::{Digest, Sha256};

pub const ROOT: &str = "project";

/// One tar entry, written byte for byte.
#[derive(Debug, Clone)]
pub struct Raw {
    pub name: Vec<u8>,
    pub data: Vec<u8>,
    pub entry_type: u8,
    pub link: Vec<u8>,
}

pub fn file(name: &str, data: impl Into<Vec<u8>>) -> Raw {
    Raw {
        name: name.as_bytes().to_vec(),
        data: data.into(),
        entry_type: b'0',
        link: Vec::new(),
    }
}

pub fn special(name: &str, entry_type: u8, link: &str) -> Raw {
    Raw {
        name: name.as_bytes().to_vec(),
        data: Vec::new(),
        entry_type,
        link: link.as_bytes().to_vec(),
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn upload(data: &[u8]) -> Raw {
    file(&format!("uploads/{}", sha256_hex(data)), data)
}

pub const ISSUES: &str = "{\"id\":1,\"title\":\"first\",\"notes\":[{\"id\":10,\"note\":\"hi\"}]}\n{\"id\":2,\"title\":\"second\",\"notes\":[]}\n";
pub const LABELS: &str = "{\"id\":5,\"title\":\"bug\"}\n";
pub const USERS: &str = "{\"email\":\"a@example.com\"}\n";
pub const ROOT_RECORD: &str = "{\"id\":7,\"name\":\"demo\"}";

/// The tree and upload members of a small valid archive.
pub fn tree_members() -> Vec<Raw> {
    vec![
        file("tree/project.json", ROOT_RECORD),
        file("tree/users.ndjson", USERS),
        file("tree/project/issues.ndjson", ISSUES),
        file("tree/project/labels.ndjson", LABELS),
        upload(b"hello upload"),
    ]
}

/// The manifest a correct writer would produce for `members`.
pub fn manifest_for(members: &[Raw]) -> Manifest {
    let mut listed = BTreeMap::new();
    let mut relations = BTreeMap::new();
    let mut uploads = UploadStats::default();
    for m in members {
        let name = String::from_utf8_lossy(&m.name).into_owned();
        let ndjson = name.ends_with(".ndjson");
        let lines = m.data.iter().filter(|&&b| b == b'\n').count() as u64;
        if let Some(rel) = name
            .strip_prefix("tree/project/")
            .and_then(|r| r.strip_suffix(".ndjson"))
        {
            relations.insert(format!("project/{rel}"), RelationStats { records: lines });
        }
        if name.starts_with("uploads/") {
            uploads.files += 1;
            uploads.bytes += m.data.len() as u64;
        }
        listed.insert(
            name,
            MemberInfo {
                bytes: m.data.len() as u64,
                sha256: sha256_hex(&m.data),
                lines: ndjson.then_some(lines),
            },
        );
    }
    relations.insert("project/issues/notes".into(), RelationStats { records: 1 });
    Manifest {
        format_version: 1,
        hoist_version: "test".into(),
        app: AppInfo {
            name: "forge".into(),
            schema_digest: "digest".into(),
        },
        created_at: "2024-01-02T03:04:05Z".into(),
        root: RootInfo {
            relation: ROOT.into(),
            table: "projects".into(),
            source_id: 7,
        },
        relations,
        members: listed.into_iter().collect(),
        uploads,
    }
}

pub fn manifest_entry(manifest: &Manifest) -> Raw {
    let mut json = serde_json::to_vec_pretty(manifest).unwrap();
    json.push(b'\n');
    file(names::MANIFEST_MEMBER, json)
}

/// VERSION + manifest (computed from `members`) + `members`.
pub fn complete(members: Vec<Raw>) -> Vec<Raw> {
    let manifest = manifest_for(&members);
    with_manifest(&manifest, members)
}

pub fn with_manifest(manifest: &Manifest, members: Vec<Raw>) -> Vec<Raw> {
    let mut all = vec![file("VERSION", "1\n"), manifest_entry(manifest)];
    all.extend(members);
    all
}

pub fn header_for(raw: &Raw, size: u64) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    {
        let old = header.as_old_mut();
        assert!(raw.name.len() <= 100, "test names fit the name field");
        old.name[..raw.name.len()].copy_from_slice(&raw.name);
        old.linkname[..raw.link.len()].copy_from_slice(&raw.link);
    }
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::new(raw.entry_type));
    header.set_cksum();
    header
}

/// Tar bytes of `entries`, without the end-of-archive marker.
pub fn tar_body(entries: &[Raw]) -> Vec<u8> {
    let mut out = Vec::new();
    for raw in entries {
        out.extend_from_slice(header_for(raw, raw.data.len() as u64).as_bytes());
        out.extend_from_slice(&raw.data);
        let pad = (512 - raw.data.len() % 512) % 512;
        out.extend(std::iter::repeat_n(0u8, pad));
    }
    out
}

/// Tar bytes of `entries` with the end-of-archive marker.
pub fn tar_bytes(entries: &[Raw]) -> Vec<u8> {
    let mut out = tar_body(entries);
    out.extend(std::iter::repeat_n(0u8, 1024));
    out
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Writes `entries` as a gzip-compressed tar archive.
pub fn write_archive(dir: &Path, entries: &[Raw]) -> PathBuf {
    write_file(dir, "crafted.tar.gz", &gzip(&tar_bytes(entries)))
}

/// Error message with the archive path replaced, for snapshots.
pub fn redact(message: String, path: &Path) -> String {
    message.replace(&path.display().to_string(), "[ARCHIVE]")
}
