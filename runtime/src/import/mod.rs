//! The import engine: one archive into one transaction, with fresh ids everywhere.
//!
//! 1. **Verify** the archive (structure, limits, VERSION, manifest, checksums) — no database yet.
//! 2. **Scan** it, in the same walk that validates each record, for the ids of tables that are
//!    referenced from elsewhere ([`ids::IdMap`]) and the number of records of every table.
//! 3. In **one transaction**: reserve fresh ids for every table up front (one request for all
//!    tables, none while records stream), stream the records, clean them, rewrite every
//!    reference (parent links, references between sibling records, polymorphic ones, users), reuse
//!    existing objects, reset tokens, cap access levels, and insert in batches in the plan's table
//!    order. Records whose references point at rows not written yet wait until those rows are.
//! 4. Move uploads into place, **commit**. Any error or cancellation rolls back: no rows, no files.

mod clean;
mod ids;
mod uploads;
mod writer;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value as Json};

pub use clean::DropReason;
pub use uploads::UploadError;

use crate::archive::{
    ArchiveError, ArchiveReader, Limits, RecordWatch, StreamError, VerifiedArchive,
    names::{self, UploadDigest},
};
use crate::backend::{BackendError, Database, IdRanges, ImportTx};
use crate::events::{Event, stream};
use crate::export::UPLOAD_KEY;
use crate::idset::IdSet;
use crate::plan::{Cardinality, Link, Node, Plan, Role, Table};
use crate::progress::{CancellationToken, Phase, ProgressSink};
use crate::value::{LogicalType, Row, Value, from_json};
use ids::{IdMap, IdPool, Lookup};
use uploads::Staging;
use writer::{Batch, Columns, TableRows, Writer};

/// Who imports: decides how user references are mapped and how far access levels may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// The importing user's id in the target database.
    pub user_id: i64,
    /// Administrators keep user references whose natural key matches a target user; for everyone
    /// else every user reference becomes the importing user.
    pub admin: bool,
    /// Imported access levels are capped at this value (`None`: no cap).
    pub max_access_level: Option<i64>,
}

/// How to run an import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub actor: Actor,
    /// The app's upload storage directory; required when the archive carries uploads.
    pub uploads_dir: Option<PathBuf>,
    /// Rows buffered before they are written.
    pub batch_size: usize,
    pub limits: Limits,
    /// Column values of the new root row that replace the archive's (e.g. a new `path`).
    pub root_overrides: Vec<(String, Value)>,
    pub cancel: CancellationToken,
    pub progress: ProgressSink,
    /// Test hook: fail after this many rows have been written (to prove the rollback).
    #[doc(hidden)]
    pub fail_after_rows: Option<u64>,
}

impl ImportOptions {
    /// Defaults for `actor`.
    pub fn new(actor: Actor) -> ImportOptions {
        ImportOptions {
            actor,
            uploads_dir: None,
            batch_size: 5_000,
            limits: Limits::default(),
            root_overrides: Vec::new(),
            cancel: CancellationToken::new(),
            progress: ProgressSink::none(),
            fail_after_rows: None,
        }
    }
}

/// A key the importer dropped, with how often.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    /// Relation path (`project/issues/notes`).
    pub relation: String,
    /// The dropped key, or the column whose value was changed.
    pub key: String,
    pub reason: WarningReason,
    pub count: u64,
}

/// Why the importer changed or dropped something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningReason {
    Dropped(DropReason),
    /// A nullable reference to a row that is not in the archive was set to null.
    DanglingReference,
    /// An access level above the importer's was capped.
    AccessLevelCapped,
    /// A relation of the archive that this plan does not know was skipped.
    UnknownRelation,
    /// A row whose unique key (over a user reference) repeats once users are mapped — e.g. two
    /// members who both became the importer — was dropped; the first was kept.
    DuplicateAfterUserMapping,
    /// The archive was written against another schema snapshot.
    SchemaDigestDiffers,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = match self.reason {
            WarningReason::Dropped(r) => r.describe(),
            WarningReason::DanglingReference => {
                "reference to a row not in the archive, set to null"
            }
            WarningReason::AccessLevelCapped => "access level capped at the importer's",
            WarningReason::UnknownRelation => "relation unknown to this app, skipped",
            WarningReason::DuplicateAfterUserMapping => {
                "row repeats a unique key once users are mapped; the first was kept"
            }
            WarningReason::SchemaDigestDiffers => {
                "archive was exported from another schema version"
            }
        };
        write!(
            f,
            "{} `{}`: {} ({}×)",
            self.relation, self.key, why, self.count
        )
    }
}

/// What an import wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportSummary {
    /// The new root row's id.
    pub root_id: i64,
    /// Records per relation path.
    pub relations: BTreeMap<String, u64>,
    /// Rows inserted (reused existing objects not counted).
    pub rows: u64,
    /// Upload files placed.
    pub uploads: u64,
    pub warnings: Vec<Warning>,
}

/// Why an import failed. The database and the uploads directory are as they were.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error("{member} line {line}: {message}")]
    Record {
        member: String,
        line: u64,
        message: String,
    },
    #[error("import cancelled; nothing was written")]
    Cancelled,
    /// The failure a test asked for with `ImportOptions::fail_after_rows`.
    #[error("injected failure after {rows} rows (the archive read to its end: {archive_read})")]
    Injected { rows: u64, archive_read: bool },
    #[error("the archive reader stopped unexpectedly: {0}")]
    Reader(String),
    #[error("the database writer stopped unexpectedly: {0}")]
    Writer(String),
}

/// Import the archive at `archive` as a new tenant.
pub async fn import(
    db: &Database,
    plan: &'static Plan,
    archive: &Path,
    opts: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    let root_name = plan.root.name;
    let started = std::time::Instant::now();
    // 1. Verify, before any database access.
    opts.progress.emit(Phase::Verify, root_name, 0, None);
    // 2. In the same pass, scan for referenced ids and count the records of every table.
    let (verified, scan) = {
        let path = archive.to_path_buf();
        let limits = opts.limits;
        tokio::task::spawn_blocking(move || verify_and_scan(plan, &path, &limits))
            .await
            .map_err(|e| ImportError::Reader(e.to_string()))??
    };
    opts.progress.emit(Phase::Verify, root_name, 1, Some(1));
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        "archive verified and scanned"
    );
    if opts.cancel.is_cancelled() {
        return Err(ImportError::Cancelled);
    }

    // 3. One transaction.
    let staging = match &opts.uploads_dir {
        Some(dir) => Some(Staging::new(dir, verified.manifest().members.uploads())?),
        None if verified.manifest().uploads.files > 0 => {
            return Err(UploadError::NoDirectory.into());
        }
        None => None,
    };
    let tx = db.begin_import().await?;
    let mut run = Run::new(plan, opts, tx, staging, &verified);
    if verified.manifest().app.schema_digest != plan.schema_digest {
        run.warn(
            root_name,
            "manifest.json",
            WarningReason::SchemaDigestDiffers,
        );
    }
    match run.execute(verified, scan).await {
        Ok(()) => run.commit().await,
        Err(e) => {
            run.abort().await;
            Err(e)
        }
    }
}

/// What the scan learned, per table index.
#[derive(Debug)]
struct Scan {
    /// The old ids of tables with `needs_id_map`.
    ids: Vec<Option<IdSet>>,
    /// Record objects anywhere in the tree: each takes at most one fresh id.
    counts: Vec<u64>,
}

/// Verify the archive and, in the same pass, learn the ids of every table that needs an id map
/// and how many records every table has. Blocking. The verify pass tells a [`RecordWatch`] about
/// the records in the same walk that validates their JSON, on its checker thread, which overlaps
/// decompression and checksums.
fn verify_and_scan(
    plan: &'static Plan,
    path: &Path,
    limits: &Limits,
) -> Result<(VerifiedArchive, Scan), ImportError> {
    let mut watch = ScanWatch {
        relations: Relations::new(&plan.root),
        scan: Scan::new(plan),
    };
    let verified = ArchiveReader::verify_watching(
        path,
        limits,
        plan.format_version,
        plan.root.name,
        &mut watch,
    )?;
    Ok((verified, watch.scan))
}

impl Scan {
    fn new(plan: &Plan) -> Scan {
        Scan {
            ids: plan
                .tables
                .iter()
                .map(|t| t.needs_id_map.then(IdSet::new))
                .collect(),
            counts: vec![0; plan.tables.len()],
        }
    }
}

/// Learns the [`Scan`] from the verify pass: places are [`Rel`]s; a record's `id` and the keys of
/// its child relations are watched, nothing else.
struct ScanWatch {
    relations: Relations,
    scan: Scan,
}

impl ScanWatch {
    /// The relation of the child of `rel` named `name`.
    fn child_named(&self, rel: Rel, name: &str) -> Option<usize> {
        let i = self
            .relations
            .node(rel)
            .children
            .iter()
            .position(|c| c.name == name)?;
        Some(self.relations.child(rel, i).0)
    }
}

impl RecordWatch for ScanWatch {
    fn relation(&self, relation: &str) -> Option<usize> {
        if relation == self.relations.node(Rel::ROOT).name {
            return Some(Rel::ROOT.0);
        }
        self.child_named(Rel::ROOT, relation)
    }

    fn child(&self, place: usize, key: &str) -> Option<usize> {
        self.child_named(Rel(place), key)
    }

    fn object(&mut self, place: usize) {
        self.scan.counts[self.relations.node(Rel(place)).table] += 1;
    }

    fn id(&mut self, place: usize, id: i64) {
        let table = self.relations.node(Rel(place)).table;
        if let Some(set) = self.scan.ids[table].as_mut() {
            set.insert(id);
        }
    }
}

/// The parent a nested record hangs from.
#[derive(Debug, Clone, Copy)]
struct Parent {
    new_id: i64,
}

/// A record waiting for rows it references.
#[derive(Debug)]
struct Deferred {
    rel: Rel,
    /// The record as compact JSON: a fraction of the parsed form's memory, and records that
    /// reference later ones (links between issues) can be many.
    obj: Box<str>,
    parent: Option<Parent>,
    member: Arc<str>,
    line: u64,
    /// The id it got when first seen, kept so ids stay in archive order.
    new_id: i64,
}

enum Outcome {
    Written(i64),
    Reused(i64),
    Deferred,
}

/// Where an error points.
#[derive(Debug, Clone)]
struct At {
    member: Arc<str>,
    line: u64,
}

impl At {
    fn err(&self, message: impl Into<String>) -> ImportError {
        ImportError::Record {
            member: self.member.to_string(),
            line: self.line,
            message: message.into(),
        }
    }
}

struct Run<'a> {
    plan: &'static Plan,
    opts: &'a ImportOptions,
    writer: Writer,
    staging: Option<Staging>,
    root_table: usize,
    root_id: i64,
    maps: Vec<Option<IdMap>>,
    pools: Vec<IdPool>,
    /// Insert column lists per table: exported columns, then token columns.
    columns: Vec<Columns>,
    /// Tables other rows reference by foreign key (nested children, references).
    parents: Vec<bool>,
    buffers: Vec<Vec<Row>>,
    buffered: usize,
    /// About how many bytes the buffered rows hold.
    buffered_bytes: usize,
    users: HashMap<i64, i64>,
    user_lines: Vec<Map<String, Json>>,
    pending_root: Option<Map<String, Json>>,
    root_written: bool,
    existing: HashMap<(usize, String), i64>,
    /// (table, index of `user_unique`, key) → the id of the row kept.
    user_unique: HashMap<(usize, usize, String), i64>,
    deferred: Vec<Deferred>,
    warnings: BTreeMap<(String, String, WarningReason), u64>,
    relations: Relations,
    rows: u64,
    /// Rows sent to the database so far.
    written: u64,
    /// Uploads the archive reader has handed over so far (each one staged).
    /// The reader finished the archive (the event channel closed).
    archive_read: bool,
    totals: BTreeMap<String, u64>,
}

impl<'a> Run<'a> {
    fn new(
        plan: &'static Plan,
        opts: &'a ImportOptions,
        tx: ImportTx,
        staging: Option<Staging>,
        verified: &VerifiedArchive,
    ) -> Run<'a> {
        let columns = plan
            .tables
            .iter()
            .map(|t| {
                t.columns
                    .iter()
                    .map(|c| (c.name, c.ty))
                    .chain(t.tokens.iter().map(|tok| (*tok, LogicalType::Text)))
                    .collect::<Vec<_>>()
                    .into()
            })
            .collect();
        let totals = verified
            .manifest()
            .relations
            .iter()
            .map(|(k, v)| (k.clone(), v.records))
            .collect();
        Run {
            plan,
            opts,
            writer: Writer::new(tx),
            staging,
            root_table: plan.root.table,
            root_id: 0,
            maps: plan.tables.iter().map(|_| None).collect(),
            pools: plan.tables.iter().map(|_| IdPool::default()).collect(),
            columns,
            parents: parent_tables(plan),
            buffers: plan.tables.iter().map(|_| Vec::new()).collect(),
            buffered: 0,
            buffered_bytes: 0,
            users: HashMap::new(),
            user_lines: Vec::new(),
            pending_root: None,
            root_written: false,
            existing: HashMap::new(),
            user_unique: HashMap::new(),
            deferred: Vec::new(),
            warnings: BTreeMap::new(),
            relations: Relations::new(&plan.root),
            rows: 0,
            written: 0,
            archive_read: false,
            totals,
        }
    }

    /// The transaction, once the batch being written is written.
    async fn tx(&mut self) -> Result<&mut ImportTx, ImportError> {
        self.writer.tx().await
    }

    fn warn(&mut self, relation: &str, key: &str, reason: WarningReason) {
        *self
            .warnings
            .entry((relation.to_string(), key.to_string(), reason))
            .or_default() += 1;
    }

    async fn execute(&mut self, verified: VerifiedArchive, scan: Scan) -> Result<(), ImportError> {
        // Fresh ids, all before the first record, in one request (one round trip on PostgreSQL):
        // the root's id, then per table as many ids as its id map holds old ids (assigned in the
        // order of the old ids), or as many as the scan counted records (ids left over when
        // records are reused are gaps in the sequence, nothing more).
        let maps: Vec<Option<IdMap>> = scan.ids.into_iter().map(|s| s.map(IdMap::new)).collect();
        let mut wanted = vec![(self.plan.tables[self.root_table].name, 1)];
        for (i, (map, &count)) in maps.iter().zip(&scan.counts).enumerate() {
            let n = match map {
                Some(map) => map.len(),
                None => {
                    // The root record has its id already.
                    let count = if i == self.root_table {
                        count.saturating_sub(1)
                    } else {
                        count
                    };
                    usize::try_from(count).map_err(|_| {
                        BackendError::invalid(
                            self.plan.tables[i].name,
                            format!("cannot allocate {count} ids"),
                        )
                    })?
                }
            };
            wanted.push((self.plan.tables[i].name, n));
        }
        let mut fresh = self
            .tx()
            .await?
            .allocate_ids_for(&wanted)
            .await?
            .into_iter();
        let root_table = self.plan.tables[self.root_table].name;
        self.root_id = first(fresh.next().unwrap_or_default(), root_table)?;
        for (i, (map, ids)) in maps.into_iter().zip(fresh).enumerate() {
            match map {
                Some(mut map) => {
                    map.assign(ids).map_err(|n| {
                        BackendError::invalid(
                            self.plan.tables[i].name,
                            format!("the database allocated the wrong number of ids (needed {n})"),
                        )
                    })?;
                    self.maps[i] = Some(map);
                }
                None => self.pools[i] = IdPool::new(ids),
            }
        }
        tracing::debug!("fresh ids reserved");

        // Stream the archive on a blocking thread. Records come through a channel bounded twice:
        // by count, and by their size in the archive (a record holds its size's budget until the
        // importer is done with it), so large records (merge requests with their diffs) cannot
        // pile up.
        let (sender, mut receiver) =
            tokio::sync::mpsc::channel::<Result<Delivery, ImportError>>(EVENTS_IN_FLIGHT);
        let budget = Arc::new(tokio::sync::Semaphore::new(RECORD_KIB_IN_FLIGHT as usize));
        let runtime = tokio::runtime::Handle::current();
        let blobs = self.staging.as_ref().map(Staging::blob_sink).transpose()?;
        let cancel = self.opts.cancel.clone();
        let reader = tokio::task::spawn_blocking(move || {
            let events = sender.clone();
            let on_event = |event: Event| -> Result<(), Stop> {
                let held = match &event {
                    Event::Record { size, .. } => {
                        let kib = (size / 1024).clamp(1, RECORD_KIB_IN_FLIGHT as usize) as u32;
                        let permits = runtime.block_on(Arc::clone(&budget).acquire_many_owned(kib));
                        // The semaphore is never closed; should it be, stop like a closed channel.
                        Some(permits.map_err(|_| Stop::Closed)?)
                    }
                    _ => None,
                };
                events
                    .blocking_send(Ok(Delivery { event, _held: held }))
                    .map_err(|_| Stop::Closed)
            };
            // Called on the reader's second thread where the archive allows it: the importer's
            // loop may be waiting for the end of the stream, so cancellation is checked here.
            let on_upload = |sha: &str, data: &mut dyn std::io::Read| -> Result<(), Stop> {
                if cancel.is_cancelled() {
                    return Err(Stop::Cancelled);
                }
                let sink = blobs
                    .as_ref()
                    .ok_or(Stop::Upload(UploadError::NoDirectory))?;
                sink.receive(sha, data).map_err(Stop::Upload)
            };
            let failure = match stream(&verified, on_event, on_upload) {
                Ok(()) | Err(StreamError::Sink(Stop::Closed)) => None,
                Err(StreamError::Sink(Stop::Cancelled)) => Some(ImportError::Cancelled),
                Err(StreamError::Sink(Stop::Upload(e))) => Some(ImportError::Upload(e)),
                Err(StreamError::Archive(e)) => Some(ImportError::Archive(e)),
            };
            if let Some(e) = failure {
                let _ = sender.blocking_send(Err(e));
            }
        });

        let result = self.consume(&mut receiver).await;
        tracing::debug!("records streamed");
        // Stop the reader (if we bailed out early) and wait for it, so no file is written after us.
        drop(receiver);
        let _ = reader.await;
        result
    }

    async fn consume(
        &mut self,
        receiver: &mut tokio::sync::mpsc::Receiver<Result<Delivery, ImportError>>,
    ) -> Result<(), ImportError> {
        let root_name = self.plan.root.name;
        let mut current: Option<Rel> = None;
        let mut member: Arc<str> = Arc::from("");
        let mut done = 0u64;
        while let Some(delivery) = receiver.recv().await {
            if self.opts.cancel.is_cancelled() {
                return Err(ImportError::Cancelled);
            }
            // `_held` (a record's share of the reader's budget) is released at the end of the
            // iteration, once the record is buffered for writing.
            let Delivery { event, _held } = delivery?;
            match event {
                Event::Root(obj) => self.pending_root = Some(obj),
                Event::User { value } => self.user_lines.push(value),
                Event::RelationStart { relation } => {
                    self.write_root().await?;
                    member = Arc::from(names::relation_member(root_name, &relation));
                    current = self
                        .plan
                        .root
                        .children
                        .iter()
                        .position(|n| n.name == relation)
                        .map(|i| self.relations.child(Rel::ROOT, i));
                    if current.is_none() {
                        self.warn(
                            &format!("{root_name}/{relation}"),
                            &relation,
                            WarningReason::UnknownRelation,
                        );
                    }
                    done = 0;
                }
                Event::Record { line, value, .. } => {
                    let Some(rel) = current else { continue };
                    let at = At {
                        member: Arc::clone(&member),
                        line,
                    };
                    let parent = Parent {
                        new_id: self.root_id,
                    };
                    self.record(rel, value, Some(parent), &at, None).await?;
                    done += 1;
                    if done.is_multiple_of(100) {
                        self.progress(rel, done);
                    }
                    if self.batch_ready() {
                        self.flush().await?;
                    }
                }
                Event::RelationEnd => {
                    if let Some(rel) = current.take() {
                        self.resolve_deferred(false).await?;
                        self.progress(rel, done);
                    }
                }
                // The uploads go to the blob sink, on the reader's second thread while the tree
                // streams where the archive allows it (otherwise after this event).
                Event::TreeEnd => {
                    tracing::debug!(rows = self.rows, "tree read");
                    self.finish_tree().await?;
                }
            }
        }
        self.archive_read = true;
        self.finish_tree().await
    }

    /// Once the tree is complete ([`Event::TreeEnd`]): write the root (if no relation did), the
    /// rows that waited for others, and every buffered row. The database then writes the last
    /// rows while the uploads are still read, instead of idling until they are (see
    /// BENCHMARKS.md, "The tree's last rows at the first upload"). Does nothing the second time.
    async fn finish_tree(&mut self) -> Result<(), ImportError> {
        self.write_root().await?;
        self.resolve_deferred(true).await?;
        self.flush().await
    }

    /// Whether the buffered rows should go to the writer now: a full batch (by rows or bytes), or
    /// enough rows for a worthwhile statement while the database has nothing to do — at the start
    /// of the import, and whenever the importer is the slower side, the database gets work as
    /// soon as there is some instead of waiting for a full batch.
    fn batch_ready(&self) -> bool {
        let full = self.opts.batch_size.max(1);
        self.buffered >= full
            || self.buffered_bytes >= BATCH_BYTES
            || (self.buffered >= full.min(IDLE_BATCH_ROWS) && self.writer.is_idle())
    }

    /// Report `done` records of top-level relation `rel`, out of the manifest's count.
    fn progress(&self, rel: Rel, done: u64) {
        let total = self.totals.get(self.relations.path(rel)).copied();
        let name = self.relations.node(rel).name;
        self.opts.progress.emit(Phase::Import, name, done, total);
    }

    /// Map users (once their lines are read), then write the root record.
    async fn write_root(&mut self) -> Result<(), ImportError> {
        if self.root_written {
            return Ok(());
        }
        self.map_users().await?;
        let root_name = self.plan.root.name;
        let at = At {
            member: Arc::from(names::root_member(root_name)),
            line: 1,
        };
        let Some(mut obj) = self.pending_root.take() else {
            return Err(at.err("the archive has no root record"));
        };
        for (k, v) in &self.opts.root_overrides {
            obj.insert(k.clone(), crate::value::to_json(v));
        }
        let root_id = self.root_id;
        self.record(Rel::ROOT, obj, None, &at, Some(root_id))
            .await?;
        self.root_written = true;
        self.opts
            .progress
            .emit(Phase::Import, root_name, 1, Some(1));
        Ok(())
    }

    async fn map_users(&mut self) -> Result<(), ImportError> {
        let Some(users) = &self.plan.users else {
            return Ok(());
        };
        let lines = std::mem::take(&mut self.user_lines);
        let actor = self.opts.actor;
        for obj in lines {
            let Some(old) = obj.get("id").and_then(Json::as_i64) else {
                continue;
            };
            let mut target = actor.user_id;
            if actor.admin {
                for key in users.natural_keys {
                    let Some(Json::String(v)) = obj.get(*key) else {
                        continue;
                    };
                    if let Some(found) = self
                        .tx()
                        .await?
                        .find_id(users.table, &[(*key, Value::Text(v.clone()))])
                        .await?
                    {
                        target = found;
                        break;
                    }
                }
            }
            self.users.insert(old, target);
        }
        Ok(())
    }

    /// Import one record (and its subtree). `fixed_id` forces the new id (root, replayed records).
    fn record<'s>(
        &'s mut self,
        rel: Rel,
        mut obj: Map<String, Json>,
        parent: Option<Parent>,
        at: &'s At,
        fixed_id: Option<i64>,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Outcome, ImportError>> + Send + 's>,
    > {
        Box::pin(async move {
            let plan = self.plan;
            let node = self.relations.node(rel);
            let table = plan.table_of(node);
            let path = self.relations.shared_path(rel);
            let path = path.as_ref();
            let old_id = obj.get("id").and_then(Json::as_i64);

            // belongs_to targets first: the row needs their ids.
            let mut belongs: Vec<(&'static str, i64)> = Vec::new();
            for (i, child) in node.children.iter().enumerate() {
                let Link::ParentFk { column } = child.link else {
                    continue;
                };
                let Some(Json::Object(sub)) = obj.remove(child.name) else {
                    continue;
                };
                let child_rel = self.relations.child(rel, i);
                match self.record(child_rel, sub, None, at, None).await? {
                    Outcome::Written(id) | Outcome::Reused(id) => belongs.push((column, id)),
                    Outcome::Deferred => {
                        return Err(at.err(format!(
                            "{}: a belongs_to record cannot wait for other records",
                            self.relations.path(child_rel)
                        )));
                    }
                }
            }

            // Reuse a row of this table that is already written (belongs_to targets) or that
            // exists in the database (existing_objects).
            if let (Some(old), Some(map)) = (old_id, self.maps[node.table].as_ref()) {
                if node.cardinality == Cardinality::BelongsTo {
                    if let Lookup::Ready(id) = map.lookup(old) {
                        self.relations.count(rel);
                        return Ok(Outcome::Reused(id));
                    }
                } else if matches!(map.lookup(old), Lookup::Ready(_)) && fixed_id.is_none() {
                    return Err(at.err(format!("{path}: duplicate record id {old}")));
                }
            }
            let existing_key = if table.existing_match.is_empty() {
                None
            } else {
                let key = self.existing_key(table, &obj);
                let found = match self.existing.get(&(node.table, key.clone())) {
                    Some(id) => Some(*id),
                    None => self.find_existing(table, &obj, at).await?,
                };
                if let Some(id) = found {
                    if let (Some(old), Some(map)) = (old_id, self.maps[node.table].as_mut()) {
                        map.reuse(old, id);
                    }
                    self.relations.count(rel);
                    return Ok(Outcome::Reused(id));
                }
                Some(key)
            };

            // The new id.
            let new_id = match fixed_id {
                Some(id) => id,
                None => self.new_id(node.table, old_id, at, path)?,
            };

            // The row.
            let mut row: Row = Vec::with_capacity(self.columns[node.table].len());
            let mut waiting = false;
            for column in table.columns {
                let raw = obj.get(column.name);
                let value = self
                    .column_value(
                        node, table, column, raw, &obj, parent, &belongs, new_id, path, at,
                    )
                    .await?;
                match value {
                    Resolved::Value(v) => row.push(v),
                    Resolved::Wait(v) => {
                        waiting = true;
                        row.push(v);
                    }
                }
            }
            self.report_dropped(node, table, &obj, path);
            if waiting {
                let obj = serde_json::to_string(&obj)
                    .map_err(|e| at.err(format!("{path}: keeping the record for later: {e}")))?;
                self.deferred.push(Deferred {
                    rel,
                    obj: obj.into_boxed_str(),
                    parent,
                    member: Arc::clone(&at.member),
                    line: at.line,
                    new_id,
                });
                return Ok(Outcome::Deferred);
            }
            // Memberships: after users are mapped, keep the first row per unique key.
            for (i, columns) in table.user_unique.iter().enumerate() {
                let key: Vec<Json> = columns
                    .iter()
                    .map(|c| {
                        table
                            .column(c)
                            .and_then(|(k, _)| row.get(k))
                            .map_or(Json::Null, crate::value::to_json)
                    })
                    .collect();
                let key = (
                    node.table,
                    i,
                    serde_json::to_string(&key).unwrap_or_default(),
                );
                if let Some(&kept) = self.user_unique.get(&key) {
                    self.warn(
                        path,
                        columns.join("+").as_str(),
                        WarningReason::DuplicateAfterUserMapping,
                    );
                    if let (Some(old), Some(map)) = (old_id, self.maps[node.table].as_mut()) {
                        map.reuse(old, kept);
                    }
                    return Ok(Outcome::Reused(kept));
                }
                self.user_unique.insert(key, new_id);
            }
            for _ in table.tokens {
                row.push(Value::Text(new_token()));
            }
            self.buffered_bytes += row_bytes(&row);
            self.buffers[node.table].push(row);
            self.buffered += 1;
            // Only a row that is written wants its file (not one that waits, nor one dropped
            // as a duplicate); its path was checked and named by `upload_path`.
            if let Some(upload) = &table.upload
                && let (Some(sha), Some(staging)) = (upload_sha(&obj), self.staging.as_mut())
            {
                let old = obj
                    .get(upload.path_column)
                    .and_then(Json::as_str)
                    .unwrap_or_default();
                let root_table = self.plan.tables[self.root_table].name;
                staging.want(root_table, self.root_id, new_id, sha, old);
            }
            if let (Some(old), Some(map)) = (old_id, self.maps[node.table].as_mut()) {
                map.mark_seen(old);
            }
            if let Some(key) = existing_key {
                self.existing.insert((node.table, key), new_id);
            }
            self.relations.count(rel);
            self.rows += 1;

            // Children.
            for (i, child) in node.children.iter().enumerate() {
                if matches!(child.link, Link::ParentFk { .. }) {
                    continue;
                }
                let child_rel = self.relations.child(rel, i);
                let Some(value) = obj.remove(child.name) else {
                    continue;
                };
                let me = Some(Parent { new_id });
                match value {
                    Json::Array(items) if child.cardinality == Cardinality::HasMany => {
                        for item in items {
                            let Json::Object(sub) = item else {
                                return Err(at.err(format!(
                                    "{}: items must be objects",
                                    self.relations.path(child_rel)
                                )));
                            };
                            self.record(child_rel, sub, me, at, None).await?;
                        }
                    }
                    Json::Object(sub) if child.cardinality != Cardinality::HasMany => {
                        self.record(child_rel, sub, me, at, None).await?;
                    }
                    Json::Null => {}
                    _ => {
                        return Err(at.err(format!(
                            "{}: expected {}",
                            self.relations.path(child_rel),
                            if child.cardinality == Cardinality::HasMany {
                                "an array of objects"
                            } else {
                                "an object or null"
                            }
                        )));
                    }
                }
            }
            Ok(Outcome::Written(new_id))
        })
    }

    fn new_id(
        &mut self,
        table: usize,
        old_id: Option<i64>,
        at: &At,
        path: &str,
    ) -> Result<i64, ImportError> {
        if let Some(map) = &self.maps[table] {
            let Some(old) = old_id else {
                return Err(at.err(format!("{path}: record without an integer `id`")));
            };
            return match map.lookup(old) {
                Lookup::Pending(id) | Lookup::Ready(id) => Ok(id),
                Lookup::Missing => Err(at.err(format!("{path}: id {old} changed between reads"))),
            };
        }
        // Reserved up front: one per record the scan counted.
        self.pools[table].pop().ok_or_else(|| {
            at.err(format!(
                "{path}: more records than the scan counted (the archive changed between reads)"
            ))
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn column_value(
        &mut self,
        node: &'static Node,
        table: &'static Table,
        column: &'static crate::plan::Column,
        raw: Option<&Json>,
        obj: &Map<String, Json>,
        parent: Option<Parent>,
        belongs: &[(&'static str, i64)],
        new_id: i64,
        path: &str,
        at: &At,
    ) -> Result<Resolved, ImportError> {
        let name = column.name;
        // Set by the nesting.
        if let Some(p) = parent {
            match node.link {
                Link::ChildFk { column: c } if c == name => {
                    return Ok(Resolved::Value(Value::Int(p.new_id)));
                }
                Link::Polymorphic { id_column, .. } if id_column == name => {
                    return Ok(Resolved::Value(Value::Int(p.new_id)));
                }
                Link::Polymorphic {
                    type_column,
                    type_value,
                    ..
                } if type_column == name => {
                    return Ok(Resolved::Value(Value::Text(type_value.to_string())));
                }
                _ => {}
            }
        }
        if let Some((_, id)) = belongs.iter().find(|(c, _)| *c == name) {
            return Ok(Resolved::Value(Value::Int(*id)));
        }
        let decode = |raw: Option<&Json>| -> Result<Value, ImportError> {
            let v = from_json(raw.unwrap_or(&Json::Null), column.ty)
                .map_err(|e| at.err(format!("{path}.{name}: {e}")))?;
            if v.is_null() && !column.nullable {
                return Err(at.err(format!(
                    "{path}.{name}: missing value for a NOT NULL column"
                )));
            }
            Ok(v)
        };
        let reference =
            |this: &mut Self, target: usize, old: i64| -> Result<Resolved, ImportError> {
                if target == this.root_table {
                    return Ok(Resolved::Value(Value::Int(this.root_id)));
                }
                let Some(map) = this.maps[target].as_ref() else {
                    return Err(at.err(format!(
                        "{path}.{name}: the plan keeps no id map for {}",
                        this.plan.tables[target].name
                    )));
                };
                match map.lookup(old) {
                    Lookup::Ready(id) => Ok(Resolved::Value(Value::Int(id))),
                    Lookup::Pending(id) => Ok(Resolved::Wait(Value::Int(id))),
                    Lookup::Missing if column.nullable => {
                        this.warn(path, name, WarningReason::DanglingReference);
                        Ok(Resolved::Value(Value::Null))
                    }
                    Lookup::Missing => Err(at.err(format!(
                        "{path}.{name}: references {} #{old}, which is not in the archive",
                        this.plan.tables[target].name
                    ))),
                }
            };
        match &column.role {
            Role::PrimaryKey => Ok(Resolved::Value(Value::Int(new_id))),
            Role::Reference { table: target } => match decode(raw)? {
                Value::Int(old) => reference(self, *target, old),
                other => Ok(Resolved::Value(other)),
            },
            Role::PolymorphicId {
                type_column,
                targets,
            } => {
                let old = match decode(raw)? {
                    Value::Int(old) => old,
                    other => return Ok(Resolved::Value(other)),
                };
                let ty = obj.get(*type_column).and_then(Json::as_str).unwrap_or("");
                let Some((_, target)) = targets.iter().find(|(t, _)| *t == ty) else {
                    return Err(at.err(format!(
                        "{path}.{type_column}: {ty:?} is not one of the declared types ({})",
                        targets
                            .iter()
                            .map(|(t, _)| *t)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                };
                reference(self, *target, old)
            }
            Role::UserReference => match decode(raw)? {
                Value::Int(old) => Ok(Resolved::Value(Value::Int(
                    self.users
                        .get(&old)
                        .copied()
                        .unwrap_or(self.opts.actor.user_id),
                ))),
                other => Ok(Resolved::Value(other)),
            },
            Role::PolymorphicType | Role::Data => {
                if let Some(upload) = &table.upload
                    && upload.path_column == name
                {
                    return self
                        .upload_path(raw, obj, new_id, path, at)
                        .map(Resolved::Value);
                }
                let mut v = decode(raw)?;
                if table.access_level == Some(name)
                    && let (Value::Int(level), Some(cap)) = (&v, self.opts.actor.max_access_level)
                    && *level > cap
                {
                    self.warn(path, name, WarningReason::AccessLevelCapped);
                    v = Value::Int(cap);
                }
                Ok(Resolved::Value(v))
            }
        }
    }

    /// The new path of an upload row's file (the row wants it once it is written).
    fn upload_path(
        &self,
        raw: Option<&Json>,
        obj: &Map<String, Json>,
        row_id: i64,
        path: &str,
        at: &At,
    ) -> Result<Value, ImportError> {
        if upload_sha(obj).is_none() {
            return Err(at.err(format!("{path}.{UPLOAD_KEY}: missing or not a sha256")));
        }
        if self.staging.is_none() {
            return Err(UploadError::NoDirectory.into());
        }
        let old = raw.and_then(Json::as_str).unwrap_or_default();
        let root_table = self.plan.tables[self.root_table].name;
        Ok(Value::Text(
            uploads::upload_path(root_table, self.root_id, row_id, old).0,
        ))
    }

    fn existing_key(&self, table: &Table, obj: &Map<String, Json>) -> String {
        let values: Vec<&Json> = table
            .existing_match
            .iter()
            .map(|c| obj.get(*c).unwrap_or(&Json::Null))
            .collect();
        serde_json::to_string(&values).unwrap_or_default()
    }

    /// Look for an existing row in the new root with the same match columns.
    async fn find_existing(
        &mut self,
        table: &'static Table,
        obj: &Map<String, Json>,
        at: &At,
    ) -> Result<Option<i64>, ImportError> {
        let mut filter: Vec<(&str, Value)> = Vec::new();
        for c in table.columns {
            if matches!(c.role, Role::Reference { table } if table == self.root_table) {
                filter.push((c.name, Value::Int(self.root_id)));
            }
        }
        for m in table.existing_match {
            let ty = table.column(m).map_or(LogicalType::Text, |(_, c)| c.ty);
            let v = from_json(obj.get(*m).unwrap_or(&Json::Null), ty)
                .map_err(|e| at.err(format!("{}.{m}: {e}", table.name)))?;
            filter.push((m, v));
        }
        // Rows still buffered are not in the database yet; the cache covers them.
        Ok(self.tx().await?.find_id(table.name, &filter).await?)
    }

    fn report_dropped(&mut self, node: &Node, table: &Table, obj: &Map<String, Json>, path: &str) {
        for key in obj.keys() {
            if key == "id" || key == UPLOAD_KEY || node.methods.contains(&key.as_str()) {
                continue;
            }
            if node.children.iter().any(|c| c.name == key) {
                continue;
            }
            let column = table.column(key).map(|(_, c)| c);
            if let Some(reason) = clean::prohibited(key, column) {
                self.warn(path, key, WarningReason::Dropped(reason));
            }
        }
    }

    /// Retry records that waited for others. At the end of the archive (`last`), anything still
    /// waiting is a cycle the archive cannot satisfy.
    async fn resolve_deferred(&mut self, last: bool) -> Result<(), ImportError> {
        loop {
            let waiting = std::mem::take(&mut self.deferred);
            if waiting.is_empty() {
                return Ok(());
            }
            let before = waiting.len();
            tracing::debug!(rows = before, last, "retrying rows that waited for others");
            // Rows the waiting records reference may still be buffered: write them first.
            self.flush().await?;
            for d in waiting {
                let at = At {
                    member: d.member,
                    line: d.line,
                };
                let obj = serde_json::from_str(&d.obj)
                    .map_err(|e| at.err(format!("reading a record kept for later: {e}")))?;
                // The first attempt was not counted: deferral returns before counting.
                self.record(d.rel, obj, d.parent, &at, Some(d.new_id))
                    .await?;
            }
            if self.deferred.len() >= before {
                if !last {
                    return Ok(());
                }
                let d = &self.deferred[0];
                return Err(ImportError::Record {
                    member: d.member.to_string(),
                    line: d.line,
                    message: format!(
                        "{}: references records that wait for each other (a cycle the archive cannot satisfy)",
                        self.relations.path(d.rel)
                    ),
                });
            }
        }
    }

    /// Hand every buffered row to the writer, tables in plan order (parents before children).
    /// Returns once the previous batch is written; this one is written while the import goes on.
    async fn flush(&mut self) -> Result<(), ImportError> {
        if self.buffered == 0 {
            return Ok(());
        }
        let mut batch: Batch = Vec::new();
        for (i, buffer) in self.buffers.iter_mut().enumerate() {
            if buffer.is_empty() {
                continue;
            }
            let rows = std::mem::take(buffer);
            self.written += rows.len() as u64;
            batch.push(TableRows {
                table: self.plan.tables[i].name,
                columns: self.columns[i].clone(),
                rows,
                parent: self.parents[i],
            });
        }
        self.buffered = 0;
        self.buffered_bytes = 0;
        self.writer.send(batch).await?;
        if let Some(limit) = self.opts.fail_after_rows
            && self.written >= limit
        {
            // Let the rows reach the database first, so the rollback has something to undo.
            self.tx().await?;
            return Err(ImportError::Injected {
                rows: self.written,
                archive_read: self.archive_read,
            });
        }
        Ok(())
    }

    async fn commit(mut self) -> Result<ImportSummary, ImportError> {
        let placed = match self.staging.as_mut() {
            Some(s) => s.place(),
            None => Ok(0),
        };
        tracing::debug!("uploads placed");
        let placed = match placed {
            Ok(n) => n,
            Err(e) => {
                self.abort().await;
                return Err(e.into());
            }
        };
        if self.opts.cancel.is_cancelled() {
            self.abort().await;
            return Err(ImportError::Cancelled);
        }
        let tx = match self.writer.finish().await {
            Ok(tx) => tx,
            Err(e) => {
                self.abort().await;
                return Err(e);
            }
        };
        if let Err(e) = tx.commit().await {
            if let Some(s) = self.staging.as_mut() {
                s.unplace();
            }
            return Err(e.into());
        }
        if let Some(s) = self.staging.as_mut() {
            s.keep();
        }
        self.opts
            .progress
            .emit(Phase::Commit, self.plan.root.name, 1, Some(1));
        let warnings = std::mem::take(&mut self.warnings)
            .into_iter()
            .map(|((relation, key, reason), count)| Warning {
                relation,
                key,
                reason,
                count,
            })
            .collect();
        Ok(ImportSummary {
            root_id: self.root_id,
            relations: self.relations.summary(),
            rows: self.rows,
            uploads: placed as u64,
            warnings,
        })
    }

    async fn abort(&mut self) {
        self.writer.abort().await;
        if let Some(s) = self.staging.as_mut() {
            s.unplace();
        }
    }
}

/// Every relation of the plan (a position in the tree: the same node definition can sit at several
/// positions), its path (`project/issues/notes`), made once, and how many records of each the
/// import took (written or reused).
struct Relations {
    nodes: Vec<&'static Node>,
    paths: Vec<Arc<str>>,
    /// Each relation's children, in the order of its node's `children`.
    children: Vec<Vec<Rel>>,
    counts: Vec<u64>,
}

/// A relation: an index into [`Relations`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rel(usize);

impl Rel {
    const ROOT: Rel = Rel(0);
}

impl Relations {
    fn new(root: &'static Node) -> Relations {
        fn walk(node: &'static Node, path: String, r: &mut Relations) -> Rel {
            let rel = Rel(r.nodes.len());
            r.nodes.push(node);
            r.paths.push(Arc::from(path.as_str()));
            r.children.push(Vec::new());
            r.counts.push(0);
            for child in node.children {
                let c = walk(child, format!("{path}/{}", child.name), r);
                r.children[rel.0].push(c);
            }
            rel
        }
        let mut r = Relations {
            nodes: Vec::new(),
            paths: Vec::new(),
            children: Vec::new(),
            counts: Vec::new(),
        };
        walk(root, root.name.to_string(), &mut r);
        r
    }

    fn node(&self, rel: Rel) -> &'static Node {
        self.nodes[rel.0]
    }

    /// The relation of `rel`'s node's `i`th child.
    fn child(&self, rel: Rel, i: usize) -> Rel {
        self.children[rel.0][i]
    }

    fn path(&self, rel: Rel) -> &str {
        &self.paths[rel.0]
    }

    fn shared_path(&self, rel: Rel) -> Arc<str> {
        Arc::clone(&self.paths[rel.0])
    }

    fn count(&mut self, rel: Rel) {
        self.counts[rel.0] += 1;
    }

    /// Records per relation path, for relations that had any.
    fn summary(&self) -> BTreeMap<String, u64> {
        self.paths
            .iter()
            .zip(&self.counts)
            .filter(|(_, n)| **n > 0)
            .map(|(p, n)| (p.to_string(), *n))
            .collect()
    }
}

/// The sha256 an upload record names for its file, if it is one (64 lowercase hex digits).
fn upload_sha(obj: &Map<String, Json>) -> Option<UploadDigest> {
    obj.get(UPLOAD_KEY)
        .and_then(Json::as_str)
        .and_then(UploadDigest::parse)
}

/// Which tables other rows reference: parents of nested children linked by a foreign key on the
/// child, and targets of reference columns.
fn parent_tables(plan: &Plan) -> Vec<bool> {
    fn walk(node: &Node, parents: &mut [bool]) {
        for child in node.children {
            if matches!(child.link, Link::ChildFk { .. } | Link::Polymorphic { .. }) {
                parents[node.table] = true;
            }
            if let Link::ParentFk { .. } = child.link {
                parents[child.table] = true;
            }
            walk(child, parents);
        }
    }
    let mut parents = vec![false; plan.tables.len()];
    walk(&plan.root, &mut parents);
    for table in plan.tables {
        for column in table.columns {
            if let Role::Reference { table: target } = column.role {
                parents[target] = true;
            }
        }
    }
    parents
}

/// Buffered rows are handed to the writer at this size (or at `batch_size` rows).
const BATCH_BYTES: usize = 4 << 20;
/// While the writer is idle, buffered rows are handed to it once there are this many (or
/// `batch_size`, if smaller): enough that a statement's round trip is a small part of its cost.
const IDLE_BATCH_ROWS: usize = 500;

/// About how much memory a row holds (for batching, not accounting).
fn row_bytes(row: &Row) -> usize {
    row.iter()
        .map(|v| {
            std::mem::size_of::<Value>()
                + match v {
                    Value::Text(s) => s.len(),
                    Value::Bytes(b) => b.len(),
                    Value::Json(_) => 64,
                    _ => 0,
                }
        })
        .sum()
}

/// Events the archive reader may be ahead of the importer by.
const EVENTS_IN_FLIGHT: usize = 256;
/// Archive bytes of records the reader may be ahead of the importer by, in KiB (a record's parsed
/// form takes a few times its size in the archive). A record larger than this waits until the
/// importer has taken every record before it.
const RECORD_KIB_IN_FLIGHT: u32 = 256;

/// An event on its way from the archive reader to the importer, with the share of the reader's
/// budget it holds.
struct Delivery {
    event: Event,
    _held: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// Why the archive reader thread stopped early.
enum Stop {
    /// The importer stopped listening (it failed or was cancelled).
    Closed,
    /// The import was cancelled while the uploads were read.
    Cancelled,
    Upload(UploadError),
}

enum Resolved {
    Value(Value),
    /// The value is right but the row it points at is not written yet.
    Wait(Value),
}

fn first(ids: IdRanges, table: &str) -> Result<i64, ImportError> {
    ids.first()
        .ok_or_else(|| ImportError::Reader(format!("the database allocated no id for {table}")))
}

/// A fresh random token (URL-safe, 160 bits).
fn new_token() -> String {
    use rand::RngExt;
    let bytes: [u8; 20] = rand::rng().random();
    hex::encode(bytes)
}
