//! Archives in memory: read a (small) archive whole through hoist's verifying reader, walk its
//! records with the plan node each belongs to, change it, and write it again through
//! [`ArchiveWriter`] with a valid manifest — the way to build crafted archives for the hostile-input
//! tests. Also byte-level tampering of an archive's members ([`rewrite_member`]).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use forge::tenant::PLAN;
use hoist::archive::{
    ArchiveError, ArchiveReader, ArchiveSummary, ArchiveWriter, EventSink, Limits, Manifest,
    ManifestParts, RelationStats, WriterOptions,
};
use hoist::plan::{Cardinality, Node};
use serde_json::{Map, Value as Json};

/// One JSON record of an archive.
pub type Record = Map<String, Json>;

/// Everything an archive holds.
#[derive(Debug, Clone)]
pub struct Contents {
    pub manifest: Manifest,
    /// `tree/<root>.json`.
    pub root: Record,
    /// `tree/users.ndjson`, in order.
    pub users: Vec<Record>,
    /// Top-level relation members in archive order: relation name → records.
    pub relations: Vec<(String, Vec<Record>)>,
    /// `uploads/<sha256>` → content.
    pub uploads: BTreeMap<String, Vec<u8>>,
}

/// One record met by [`Contents::walk`].
#[derive(Debug, Clone)]
pub struct Visit<'a> {
    /// Relation path (`project/issues/notes`).
    pub path: String,
    pub node: &'static Node,
    pub record: &'a Record,
    /// The record it is nested in: `None` for the root; the root for top-level records.
    pub parent: Option<(&'static Node, &'a Record)>,
}

impl Contents {
    /// Verify and read the whole archive at `path` against forge's plan.
    pub fn read(path: &Path) -> Result<Contents, ArchiveError> {
        let verified = ArchiveReader::verify(
            path,
            &Limits::default(),
            PLAN.format_version,
            PLAN.root.name,
        )?;
        let mut sink = Collect::default();
        verified.stream(&mut sink).map_err(|e| match e {
            hoist::archive::StreamError::Archive(e) => e,
            hoist::archive::StreamError::Sink(never) => match never {},
        })?;
        Ok(Contents {
            manifest: verified.manifest().clone(),
            root: sink.root.ok_or_else(|| ArchiveError::RootRecordMissing {
                member: format!("tree/{}.json", PLAN.root.name),
            })?,
            users: sink.users,
            relations: sink.relations,
            uploads: sink.uploads,
        })
    }

    /// [`Contents::read`], panicking with the archive's name on failure.
    pub fn load(path: &Path) -> Contents {
        Contents::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    }

    /// The records of top-level relation `name` (empty if the archive has none).
    pub fn relation(&self, name: &str) -> &[Record] {
        self.relations
            .iter()
            .find(|(n, _)| n == name)
            .map_or(&[], |(_, records)| records.as_slice())
    }

    /// The records of top-level relation `name`, to change them; panics if there is none.
    pub fn relation_mut(&mut self, name: &str) -> &mut Vec<Record> {
        self.relations
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, records)| records)
            .unwrap_or_else(|| panic!("the archive has no relation {name}"))
    }

    /// Every record of a relation the plan knows, depth first in archive order, the root first.
    /// Records of relations the plan does not know are skipped.
    pub fn walk<'a>(&'a self, mut f: impl FnMut(&Visit<'a>)) {
        let root_path = PLAN.root.name.to_string();
        f(&Visit {
            path: root_path.clone(),
            node: &PLAN.root,
            record: &self.root,
            parent: None,
        });
        for (relation, records) in &self.relations {
            let Some(node) = PLAN.root.children.iter().find(|n| n.name == relation) else {
                continue;
            };
            let path = format!("{root_path}/{relation}");
            for record in records {
                walk_record(&path, node, record, Some((&PLAN.root, &self.root)), &mut f);
            }
        }
    }

    /// Records per relation path at any depth, the root included, as a manifest counts them
    /// (relations unknown to the plan: their top-level records).
    pub fn relation_counts(&self) -> BTreeMap<String, u64> {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        self.walk(|v| *counts.entry(v.path.clone()).or_default() += 1);
        for (relation, records) in &self.relations {
            counts
                .entry(format!("{}/{relation}", PLAN.root.name))
                .or_insert(records.len() as u64);
        }
        counts
    }

    /// Write these contents as a new archive at `output`, with a manifest that matches them
    /// (counts recomputed, checksums computed by the writer).
    pub fn write(&self, output: &Path) -> Result<ArchiveSummary, ArchiveError> {
        let mut writer = ArchiveWriter::create(output, WriterOptions::new(PLAN.root.name))?;
        let root_member = writer.root_member_name();
        {
            let mut w = writer.member(&root_member)?;
            w.write_record(&self.root)?;
            w.finish()?;
        }
        if !self.users.is_empty() {
            let mut w = writer.member("tree/users.ndjson")?;
            for user in &self.users {
                w.write_record(user)?;
            }
            w.finish()?;
        }
        for (relation, records) in &self.relations {
            let name = writer.relation_member_name(relation);
            let mut w = writer.member(&name)?;
            for record in records {
                w.write_record(record)?;
            }
            w.finish()?;
        }
        for content in self.uploads.values() {
            writer.add_upload_bytes(content)?;
        }
        let relations = self
            .relation_counts()
            .into_iter()
            .map(|(k, records)| (k, RelationStats { records }))
            .collect();
        writer.finish(ManifestParts {
            format_version: self.manifest.format_version,
            app: self.manifest.app.clone(),
            root: self.manifest.root.clone(),
            relations,
            created_at: None,
        })
    }

    /// [`Contents::write`], panicking on failure.
    pub fn save(&self, output: &Path) {
        if let Err(e) = self.write(output) {
            panic!("writing {}: {e}", output.display());
        }
    }
}

fn walk_record<'a>(
    path: &str,
    node: &'static Node,
    record: &'a Record,
    parent: Option<(&'static Node, &'a Record)>,
    f: &mut impl FnMut(&Visit<'a>),
) {
    f(&Visit {
        path: path.to_string(),
        node,
        record,
        parent,
    });
    for child in node.children {
        let child_path = format!("{path}/{}", child.name);
        match (record.get(child.name), child.cardinality) {
            (Some(Json::Array(items)), Cardinality::HasMany) => {
                for item in items {
                    if let Json::Object(sub) = item {
                        walk_record(&child_path, child, sub, Some((node, record)), f);
                    }
                }
            }
            (Some(Json::Object(sub)), _) => {
                walk_record(&child_path, child, sub, Some((node, record)), f);
            }
            _ => {}
        }
    }
}

/// Collects a streamed archive.
#[derive(Default)]
struct Collect {
    root: Option<Record>,
    users: Vec<Record>,
    relations: Vec<(String, Vec<Record>)>,
    uploads: BTreeMap<String, Vec<u8>>,
}

impl EventSink for Collect {
    type Error = std::convert::Infallible;

    fn root_record(&mut self, record: Record) -> Result<(), Self::Error> {
        self.root = Some(record);
        Ok(())
    }

    fn user(&mut self, _line: u64, user: Record) -> Result<(), Self::Error> {
        self.users.push(user);
        Ok(())
    }

    fn relation_start(&mut self, relation: &str) -> Result<(), Self::Error> {
        self.relations.push((relation.to_string(), Vec::new()));
        Ok(())
    }

    fn record(
        &mut self,
        _relation: &str,
        _line: u64,
        _size: usize,
        record: Record,
    ) -> Result<(), Self::Error> {
        if let Some((_, records)) = self.relations.last_mut() {
            records.push(record);
        }
        Ok(())
    }

    fn relation_end(&mut self, _relation: &str) -> Result<(), Self::Error> {
        Ok(())
    }

    fn upload(
        &mut self,
        sha256: &str,
        _bytes: u64,
        data: &mut dyn Read,
    ) -> Result<(), Self::Error> {
        let mut content = Vec::new();
        // A read error surfaces as the stream's own error (the reader re-checks every byte).
        if data.read_to_end(&mut content).is_ok() {
            self.uploads.insert(sha256.to_string(), content);
        }
        Ok(())
    }
}

/// Rewrite the archive at `input` into `output`, passing the content of each member through
/// `edit(name, content)` (tar headers are rebuilt with the new sizes; the manifest is left as it
/// is, so a changed member no longer matches its checksum). Panics on I/O errors.
pub fn rewrite_member(input: &Path, output: &Path, mut edit: impl FnMut(&str, &mut Vec<u8>)) {
    let file =
        std::fs::File::open(input).unwrap_or_else(|e| panic!("opening {}: {e}", input.display()));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let out = std::fs::File::create(output)
        .unwrap_or_else(|e| panic!("creating {}: {e}", output.display()));
    let gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
    let mut builder = tar::Builder::new(gz);
    let entries = archive
        .entries()
        .unwrap_or_else(|e| panic!("reading {}: {e}", input.display()));
    for entry in entries {
        let mut entry = entry.unwrap_or_else(|e| panic!("reading {}: {e}", input.display()));
        let name = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|e| panic!("member name in {}: {e}", input.display()));
        let mut content = Vec::new();
        entry
            .read_to_end(&mut content)
            .unwrap_or_else(|e| panic!("reading {name}: {e}"));
        edit(&name, &mut content);
        let mut header = entry.header().clone();
        header.set_size(content.len() as u64);
        header.set_cksum();
        builder
            .append(&header, content.as_slice())
            .unwrap_or_else(|e| panic!("writing {name}: {e}"));
    }
    let gz = builder
        .into_inner()
        .unwrap_or_else(|e| panic!("finishing {}: {e}", output.display()));
    let mut out = gz
        .finish()
        .unwrap_or_else(|e| panic!("finishing {}: {e}", output.display()));
    out.flush()
        .unwrap_or_else(|e| panic!("flushing {}: {e}", output.display()));
}
