//! The export engine: one tenant, read in one snapshot transaction, streamed into one archive.
//!
//! Top-level relations are read with keyset pagination in `export_reorders` order; the children of a
//! page are loaded with one `IN (…)` query per child relation (no N+1); records are serialized straight
//! from typed values into spooled archive members. Memory is bounded by the page size times the
//! fan-out of one page, never by the size of the tenant.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::archive::{
    AppInfo, ArchiveError, ArchiveWriter, ManifestParts, MemberWriter, RelationStats, RootInfo,
    WriterOptions,
};
use crate::backend::{BackendError, Database, Filter, Scan, Select, Snapshot};
use crate::hooks::{HookError, Hooks};
use crate::idset::IdSet;
use crate::plan::{Cardinality, Link, Node, Plan, Role, Table};
use crate::progress::{CancellationToken, Phase, ProgressSink};
use crate::value::{LogicalType, Row, Value, format_timestamp};

/// Key under which an upload row carries the sha256 of its file (`uploads/<sha256>` in the archive).
pub const UPLOAD_KEY: &str = "upload_sha256";

/// How to run an export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Top-level records per page (children are loaded per page).
    pub batch_size: usize,
    /// The app's upload storage directory; required when the plan has upload tables.
    pub uploads_dir: Option<PathBuf>,
    /// gzip level, 0–9.
    pub compression_level: u32,
    /// The app's name, recorded in the manifest.
    pub app_name: String,
    /// Replace an existing archive at the output path.
    pub overwrite: bool,
    pub cancel: CancellationToken,
    pub progress: ProgressSink,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            batch_size: 500,
            uploads_dir: None,
            compression_level: 6,
            app_name: "app".into(),
            overwrite: false,
            cancel: CancellationToken::new(),
            progress: ProgressSink::none(),
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportSummary {
    pub archive: PathBuf,
    /// Size of the archive file.
    pub bytes: u64,
    /// Records per relation path (`project/issues/notes`).
    pub relations: BTreeMap<String, u64>,
    /// All records, the root included.
    pub rows: u64,
    /// Distinct upload files in the archive.
    pub uploads: u64,
    /// Records left out (per relation path) because they point at a record that is not in the
    /// archive: one the export policy hid (an event on a confidential issue, a link to it), or one
    /// outside the tenant. Without this, they would leak what they point at, or fail the import.
    pub withheld: BTreeMap<String, u64>,
    /// The smallest archive [`Limits`](crate::archive::Limits) that admit the archive;
    /// `needed.beyond(&Limits::default())` lists what an importer must raise, if anything.
    pub needed: crate::archive::Limits,
}

/// Why an export failed. Nothing is left at the output path.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{table} #{id} not found: nothing to export")]
    RootNotFound { table: &'static str, id: i64 },
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Hook(#[from] HookError),
    #[error("writing archive member {member}: {source}")]
    Write {
        member: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{table} #{id}: upload path {path:?} in column {column} escapes the uploads directory or is not relative"
    )]
    UnsafeUploadPath {
        table: &'static str,
        column: &'static str,
        id: i64,
        path: String,
    },
    #[error("{table} #{id}: the plan has upload tables but no uploads directory was given")]
    NoUploadsDir { table: &'static str, id: i64 },
    #[error("{table}.{column}: {problem}")]
    Plan {
        table: &'static str,
        column: &'static str,
        problem: &'static str,
    },
    #[error("export cancelled")]
    Cancelled,
}

/// Export the tenant whose root row has id `root_id` into a new archive at `output`.
///
/// The archive appears at `output` only when complete (it is written beside it and renamed).
pub async fn export(
    db: &Database,
    plan: &'static Plan,
    hooks: &dyn Hooks,
    root_id: i64,
    output: &Path,
    opts: &ExportOptions,
) -> Result<ExportSummary, ExportError> {
    let mut snapshot = db.snapshot().await?;
    let result = export_in(&mut snapshot, plan, hooks, root_id, output, opts).await;
    // A read-only transaction: finishing it can only fail if the connection died, which the
    // export result already reflects.
    if let Err(e) = snapshot.finish().await {
        tracing::warn!(error = %e, "closing the export snapshot failed");
    }
    result
}

async fn export_in(
    snap: &mut Snapshot,
    plan: &'static Plan,
    hooks: &dyn Hooks,
    root_id: i64,
    output: &Path,
    opts: &ExportOptions,
) -> Result<ExportSummary, ExportError> {
    let root_node = &plan.root;
    let root_table = plan.table_of(root_node);
    let mut writer = ArchiveWriter::create(
        output,
        WriterOptions {
            compression_level: opts.compression_level,
            root_relation: root_node.name.to_string(),
            overwrite: opts.overwrite,
        },
    )?;
    let mut ctx = Ctx {
        plan,
        hooks,
        opts,
        users: BTreeSet::new(),
        relations: BTreeMap::new(),
        root_id,
        exported: plan
            .tables
            .iter()
            .map(|t| t.needs_id_map.then(IdSet::new))
            .collect(),
        excluded: plan.tables.iter().map(|_| IdSet::new()).collect(),
        home: root_node
            .children
            .iter()
            .map(|n| {
                let mut tables = BTreeSet::new();
                subtree_tables(n, &mut tables);
                tables
            })
            .collect(),
        current: None,
        withheld: BTreeMap::new(),
    };

    // The root record.
    let columns = select_columns(root_table, root_node)?;
    let rows = snap
        .select(&Select {
            table: root_table.name,
            columns: &columns,
            filter: Filter::Eq {
                column: "id",
                value: root_id,
            },
            type_eq: None,
            order: &[],
            after: None,
            limit: Some(1),
        })
        .await?;
    let Some(root_row) = rows.into_iter().next() else {
        return Err(ExportError::RootNotFound {
            table: root_table.name,
            id: root_id,
        });
    };
    let root_path = root_node.name.to_string();
    {
        let mut w = writer.member(&format!("tree/{}.json", root_node.name))?;
        let mut root = ctx.records(root_node, root_node.name, vec![root_row], &mut w)?;
        let record = root.pop().ok_or(ExportError::RootNotFound {
            table: root_table.name,
            id: root_id,
        })?;
        w.write_record(&RecordJson {
            plan,
            node: root_node,
            record: &record,
        })?;
        w.finish()?;
    }
    ctx.progress(root_node.name, 1, Some(1));

    // What the export policy leaves out of conditional relations, before anything refers to it.
    for node in root_node
        .children
        .iter()
        .filter(|n| n.conditional && !n.import_only)
    {
        ctx.policy_pass(snap, node, root_id).await?;
    }

    // Top-level relations, one member each, in plan (import) order.
    for (position, node) in root_node.children.iter().enumerate() {
        if node.import_only {
            continue;
        }
        ctx.current = Some(position);
        let total = snap
            .count(&Select {
                table: plan.table_of(node).name,
                columns: &[],
                filter: link_filter_eq(node, root_id),
                type_eq: link_type(node),
                order: &[],
                after: None,
                limit: None,
            })
            .await?;
        ctx.export_relation(snap, &mut writer, node, &root_path, root_id, total)
            .await?;
    }

    // Referenced users, by natural key.
    ctx.write_users(snap, &mut writer).await?;

    let relations = std::mem::take(&mut ctx.relations);
    let withheld = std::mem::take(&mut ctx.withheld);
    let parts = ManifestParts {
        format_version: plan.format_version,
        app: AppInfo {
            name: opts.app_name.clone(),
            schema_digest: plan.schema_digest.to_string(),
        },
        root: RootInfo {
            relation: root_node.name.to_string(),
            table: root_table.name.to_string(),
            source_id: root_id,
        },
        relations: relations
            .iter()
            .map(|(k, v)| (k.clone(), RelationStats { records: *v }))
            .collect(),
        created_at: None,
    };
    if opts.cancel.is_cancelled() {
        return Err(ExportError::Cancelled);
    }
    let summary = writer.finish(parts)?;
    let rows = relations.values().sum();
    Ok(ExportSummary {
        archive: summary.path,
        bytes: summary.bytes,
        relations,
        rows,
        uploads: summary.manifest.uploads.files,
        withheld,
        needed: summary.needed,
    })
}

fn subtree_tables(node: &Node, out: &mut BTreeSet<usize>) {
    out.insert(node.table);
    for c in node.children {
        subtree_tables(c, out);
    }
}

/// `link column = root id` for a top-level relation.
fn link_filter_eq(node: &Node, root_id: i64) -> Filter<'static> {
    match node.link {
        Link::ChildFk { column } => Filter::Eq {
            column,
            value: root_id,
        },
        Link::Polymorphic { id_column, .. } => Filter::Eq {
            column: id_column,
            value: root_id,
        },
        // belongs_to under the root: the root row names the child by id.
        Link::ParentFk { .. } | Link::Root => Filter::Eq {
            column: "id",
            value: root_id,
        },
    }
}

fn link_type(node: &Node) -> Option<(&'static str, &'static str)> {
    match node.link {
        Link::Polymorphic {
            type_column,
            type_value,
            ..
        } => Some((type_column, type_value)),
        _ => None,
    }
}

/// The columns to read for a node: the exported ones (order columns must be among them).
fn select_columns(
    table: &'static Table,
    node: &Node,
) -> Result<Vec<(&'static str, LogicalType)>, ExportError> {
    for o in node.order {
        if table.column(o.column).is_none() {
            return Err(ExportError::Plan {
                table: table.name,
                column: o.column,
                problem: "export_reorders names a column that is not exported",
            });
        }
    }
    Ok(table.columns.iter().map(|c| (c.name, c.ty)).collect())
}

/// Positions of the table's policy columns (`id` first) among its exported columns.
fn policy_indexes(table: &'static Table) -> Result<Vec<usize>, ExportError> {
    if table.policy_columns.first() != Some(&"id") {
        return Err(ExportError::Plan {
            table: table.name,
            column: "id",
            problem: "the policy columns do not start with `id`",
        });
    }
    table
        .policy_columns
        .iter()
        .map(|&name| {
            table.column(name).map(|(i, _)| i).ok_or(ExportError::Plan {
                table: table.name,
                column: name,
                problem: "a policy column is not exported",
            })
        })
        .collect()
}

/// One exported record with its loaded relations.
#[derive(Debug, Clone)]
struct Record {
    row: Row,
    methods: Vec<(&'static str, serde_json::Value)>,
    upload: Option<String>,
    /// One entry per child node of the record's node, in node order.
    children: Vec<Children>,
}

#[derive(Debug, Clone)]
enum Children {
    Many(Vec<Record>),
    One(Option<Box<Record>>),
}

impl Record {
    fn id(&self) -> Option<i64> {
        self.row.first().and_then(Value::as_i64)
    }
}

struct Ctx<'a> {
    plan: &'static Plan,
    hooks: &'a dyn Hooks,
    opts: &'a ExportOptions,
    users: BTreeSet<i64>,
    relations: BTreeMap<String, u64>,
    /// The root row's id: a reference to the root table must point at it.
    root_id: i64,
    /// Ids written so far, for tables other records reference (`needs_id_map`).
    /// Compressed bitmaps: a few bits per id, so they stay small however large the tenant.
    exported: Vec<Option<IdSet>>,
    /// Ids left out: by the export policy, or because they point at something left out.
    excluded: Vec<IdSet>,
    /// Per top-level relation (by position in `root.children`), the tables of its subtree.
    home: Vec<BTreeSet<usize>>,
    /// The top-level relation being exported.
    current: Option<usize>,
    /// Records left out because they reference a record that is not in the archive.
    withheld: BTreeMap<String, u64>,
}

impl Ctx<'_> {
    fn progress(&self, relation: &str, done: u64, total: Option<u64>) {
        self.opts
            .progress
            .emit(Phase::Export, relation, done, total);
    }

    async fn export_relation(
        &mut self,
        snap: &mut Snapshot,
        writer: &mut ArchiveWriter,
        node: &'static Node,
        parent_path: &str,
        root_id: i64,
        total: u64,
    ) -> Result<(), ExportError> {
        let plan = self.plan;
        let table = plan.table_of(node);
        let path = format!("{parent_path}/{}", node.name);
        let columns = select_columns(table, node)?;
        let member = format!("tree/{path}.ndjson");
        let mut out = writer.member(&member)?;
        let mut done = 0u64;
        self.progress(node.name, 0, Some(total));
        let page_size = self.opts.batch_size.max(1);
        let query = Select {
            table: table.name,
            columns: &columns,
            filter: link_filter_eq(node, root_id),
            type_eq: link_type(node),
            order: node.order,
            after: None,
            limit: None,
        };
        let mut scan = Scan::default();
        loop {
            if self.opts.cancel.is_cancelled() {
                return Err(ExportError::Cancelled);
            }
            let page = snap.next_page(&mut scan, &query, page_size).await?;
            let full = page.len() >= page_size;
            let read = page.len() as u64;
            let mut records = self.records(node, &path, page, &mut out)?;
            self.load_children(snap, node, &path, &mut records, &mut out)
                .await?;
            for record in &records {
                out.write_record(&RecordJson { plan, node, record })?;
            }
            done += read;
            self.progress(node.name, done, Some(total.max(done)));
            if !full {
                break;
            }
        }
        out.finish()?;
        Ok(())
    }

    /// Turn rows of `node` into records: policy, methods, uploads, user references. Children are
    /// loaded separately.
    fn records(
        &mut self,
        node: &'static Node,
        path: &str,
        rows: Vec<Row>,
        out: &mut MemberWriter<'_>,
    ) -> Result<Vec<Record>, ExportError> {
        let plan = self.plan;
        let table = plan.table_of(node);
        let mut records = Vec::with_capacity(rows.len());
        let policy = if node.conditional {
            policy_indexes(table)?
        } else {
            Vec::new()
        };
        for row in rows {
            let id = row.first().and_then(Value::as_i64);
            if node.conditional && !self.include(node, &policy, &row)? {
                if let Some(id) = id {
                    self.excluded[node.table].insert(id);
                }
                continue;
            }
            if !self.references_are_present(node, table, &row) {
                if let Some(id) = id {
                    self.excluded[node.table].insert(id);
                }
                *self.withheld.entry(path.to_string()).or_default() += 1;
                continue;
            }
            if let (Some(id), Some(set)) = (id, self.exported[node.table].as_mut()) {
                set.insert(id);
            }
            let mut methods = Vec::with_capacity(node.methods.len());
            for &m in node.methods {
                methods.push((m, self.hooks.method(node.table, m, &row)?));
            }
            for (i, c) in table.columns.iter().enumerate() {
                if matches!(c.role, Role::UserReference)
                    && let Some(id) = row.get(i).and_then(Value::as_i64)
                {
                    self.users.insert(id);
                }
            }
            let upload = match &table.upload {
                Some(u) => Some(self.add_upload(table, u.path_column, &row, out)?),
                None => None,
            };
            records.push(Record {
                row,
                methods,
                upload,
                children: Vec::new(),
            });
        }
        *self.relations.entry(path.to_string()).or_default() += records.len() as u64;
        Ok(records)
    }

    /// Whether every reference of `row` (but its link to the parent, present by nesting) points at
    /// a record that is, or will be, in the archive.
    fn references_are_present(&self, node: &Node, table: &Table, row: &Row) -> bool {
        let link = match node.link {
            Link::ChildFk { column } => Some(column),
            Link::Polymorphic { id_column, .. } => Some(id_column),
            Link::ParentFk { .. } | Link::Root => None,
        };
        for (i, c) in table.columns.iter().enumerate() {
            if Some(c.name) == link {
                continue;
            }
            let Some(value) = row.get(i).and_then(Value::as_i64) else {
                continue;
            };
            let target = match &c.role {
                Role::Reference { table } => Some(*table),
                Role::PolymorphicId {
                    type_column,
                    targets,
                } => {
                    let ty = table
                        .column(type_column)
                        .and_then(|(k, _)| row.get(k))
                        .and_then(Value::as_str);
                    targets
                        .iter()
                        .find(|(name, _)| Some(*name) == ty)
                        .map(|(_, t)| *t)
                }
                _ => None,
            };
            let Some(target) = target else { continue };
            if target == self.plan.root.table {
                if value != self.root_id {
                    return false;
                }
                continue;
            }
            if self.excluded[target].contains(value) {
                return false;
            }
            // Tables of relations already written are complete: what is not there never will be.
            let pending = self
                .current
                .and_then(|p| self.home.get(p))
                .is_some_and(|tables| tables.contains(&target));
            if let Some(set) = &self.exported[target]
                && !pending
                && !set.contains(value)
            {
                return false;
            }
        }
        true
    }

    /// Whether the export policy lets `row` (a full row of a conditional node) out: the policy
    /// sees the table's policy columns only (`policy`: their [`policy_indexes`]).
    fn include(&self, node: &Node, policy: &[usize], row: &Row) -> Result<bool, ExportError> {
        let narrow: Row = policy
            .iter()
            .map(|&i| row.get(i).cloned().unwrap_or(Value::Null))
            .collect();
        Ok(self.hooks.include(node.name, node.table, &narrow)?)
    }

    /// Read a conditional top-level relation's policy columns once, asking the policy about every
    /// row, so that records exported before the hidden ones (or in other relations) know to leave
    /// them out.
    async fn policy_pass(
        &mut self,
        snap: &mut Snapshot,
        node: &'static Node,
        root_id: i64,
    ) -> Result<(), ExportError> {
        let table = self.plan.table_of(node);
        let columns: Vec<(&'static str, LogicalType)> = policy_indexes(table)?
            .into_iter()
            .map(|i| (table.columns[i].name, table.columns[i].ty))
            .collect();
        let page_size = self.opts.batch_size.max(1);
        let query = Select {
            table: table.name,
            columns: &columns,
            filter: link_filter_eq(node, root_id),
            type_eq: link_type(node),
            order: &[],
            after: None,
            limit: None,
        };
        let mut scan = Scan::default();
        loop {
            if self.opts.cancel.is_cancelled() {
                return Err(ExportError::Cancelled);
            }
            let page = snap.next_page(&mut scan, &query, page_size).await?;
            let full = page.len() >= page_size;
            for row in &page {
                if !self.hooks.include(node.name, node.table, row)?
                    && let Some(id) = row.first().and_then(Value::as_i64)
                {
                    self.excluded[node.table].insert(id);
                }
            }
            if !full {
                return Ok(());
            }
        }
    }

    fn add_upload(
        &mut self,
        table: &'static Table,
        column: &'static str,
        row: &Row,
        out: &mut MemberWriter<'_>,
    ) -> Result<String, ExportError> {
        let id = row.first().and_then(Value::as_i64).unwrap_or_default();
        let Some(dir) = &self.opts.uploads_dir else {
            return Err(ExportError::NoUploadsDir {
                table: table.name,
                id,
            });
        };
        let rel = table
            .column(column)
            .and_then(|(i, _)| row.get(i))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let unsafe_path = || ExportError::UnsafeUploadPath {
            table: table.name,
            column,
            id,
            path: rel.to_string(),
        };
        let rel_path = Path::new(rel);
        if rel.is_empty()
            || !rel_path
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
        {
            return Err(unsafe_path());
        }
        Ok(out.add_upload(&dir.join(rel_path))?)
    }

    /// Load every child relation of `records` (all of node `node`), recursively.
    fn load_children<'s, 'w: 's>(
        &'s mut self,
        snap: &'s mut Snapshot,
        node: &'static Node,
        path: &'s str,
        records: &'s mut [Record],
        out: &'s mut MemberWriter<'w>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ExportError>> + Send + 's>>
    {
        Box::pin(async move {
            if records.is_empty() {
                return Ok(());
            }
            let plan = self.plan;
            let parent_table = plan.table_of(node);
            for child in node.children {
                let child_path = format!("{path}/{}", child.name);
                if child.import_only {
                    for r in records.iter_mut() {
                        r.children.push(match child.cardinality {
                            Cardinality::HasMany => Children::Many(Vec::new()),
                            _ => Children::One(None),
                        });
                    }
                    continue;
                }
                let table = plan.table_of(child);
                let columns = select_columns(table, child)?;
                match child.link {
                    Link::ChildFk { column }
                    | Link::Polymorphic {
                        id_column: column, ..
                    } => {
                        let link_idx =
                            table
                                .column(column)
                                .map(|(i, _)| i)
                                .ok_or(ExportError::Plan {
                                    table: table.name,
                                    column,
                                    problem: "the link column is not exported",
                                })?;
                        let ids: Vec<i64> = records.iter().filter_map(Record::id).collect();
                        let rows = snap
                            .select(&Select {
                                table: table.name,
                                columns: &columns,
                                filter: Filter::In {
                                    column,
                                    values: &ids,
                                },
                                type_eq: link_type(child),
                                order: child.order,
                                after: None,
                                limit: None,
                            })
                            .await?;
                        let mut kids = self.records(child, &child_path, rows, out)?;
                        self.load_children(snap, child, &child_path, &mut kids, out)
                            .await?;
                        let mut by_parent: HashMap<i64, Vec<Record>> = HashMap::new();
                        for k in kids {
                            if let Some(p) = k.row.get(link_idx).and_then(Value::as_i64) {
                                by_parent.entry(p).or_default().push(k);
                            }
                        }
                        for r in records.iter_mut() {
                            let mine = r
                                .id()
                                .and_then(|id| by_parent.remove(&id))
                                .unwrap_or_default();
                            r.children.push(match child.cardinality {
                                Cardinality::HasMany => Children::Many(mine),
                                _ => Children::One(mine.into_iter().next().map(Box::new)),
                            });
                        }
                    }
                    Link::ParentFk { column } => {
                        let fk_idx = parent_table.column(column).map(|(i, _)| i).ok_or(
                            ExportError::Plan {
                                table: parent_table.name,
                                column,
                                problem: "the belongs_to column is not exported",
                            },
                        )?;
                        let ids: Vec<i64> = records
                            .iter()
                            .filter_map(|r| r.row.get(fk_idx).and_then(Value::as_i64))
                            .collect::<BTreeSet<_>>()
                            .into_iter()
                            .collect();
                        let rows = snap
                            .select(&Select {
                                table: table.name,
                                columns: &columns,
                                filter: Filter::In {
                                    column: "id",
                                    values: &ids,
                                },
                                type_eq: None,
                                order: &[],
                                after: None,
                                limit: None,
                            })
                            .await?;
                        let mut kids = self.records(child, &child_path, rows, out)?;
                        self.load_children(snap, child, &child_path, &mut kids, out)
                            .await?;
                        let by_id: HashMap<i64, Record> = kids
                            .into_iter()
                            .filter_map(|k| k.id().map(|id| (id, k)))
                            .collect();
                        // A belongs_to target shared by several parents is counted once per parent.
                        let mut extra = 0u64;
                        for r in records.iter_mut() {
                            let target = r
                                .row
                                .get(fk_idx)
                                .and_then(Value::as_i64)
                                .and_then(|id| by_id.get(&id))
                                .cloned()
                                .map(Box::new);
                            extra += u64::from(target.is_some());
                            r.children.push(Children::One(target));
                        }
                        let distinct = by_id.len() as u64;
                        *self.relations.entry(child_path).or_default() += extra - distinct;
                    }
                    Link::Root => {
                        return Err(ExportError::Plan {
                            table: table.name,
                            column: "id",
                            problem: "a nested relation cannot be a root",
                        });
                    }
                }
            }
            Ok(())
        })
    }

    async fn write_users(
        &mut self,
        snap: &mut Snapshot,
        writer: &mut ArchiveWriter,
    ) -> Result<(), ExportError> {
        let Some(users) = &self.plan.users else {
            return Ok(());
        };
        let member = "tree/users.ndjson".to_string();
        let mut columns: Vec<(&str, LogicalType)> = vec![("id", LogicalType::Integer)];
        columns.extend(users.natural_keys.iter().map(|k| (*k, LogicalType::Text)));
        let ids: Vec<i64> = self.users.iter().copied().collect();
        let mut out = writer.member(&member)?;
        for chunk in ids.chunks(self.opts.batch_size.max(1)) {
            let rows = snap
                .select(&Select {
                    table: users.table,
                    columns: &columns,
                    filter: Filter::In {
                        column: "id",
                        values: chunk,
                    },
                    type_eq: None,
                    order: &[],
                    after: None,
                    limit: None,
                })
                .await?;
            for row in rows {
                let mut obj = serde_json::Map::new();
                for ((name, _), v) in columns.iter().zip(&row) {
                    obj.insert((*name).to_string(), crate::value::to_json(v));
                }
                out.write_record(&obj)?;
            }
        }
        out.finish()?;
        Ok(())
    }
}

/// Serializes a record as the archive's JSON object: columns, methods, upload hash, relations.
struct RecordJson<'a> {
    plan: &'static Plan,
    node: &'static Node,
    record: &'a Record,
}

impl Serialize for RecordJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let table = self.plan.table_of(self.node);
        let mut map = s.serialize_map(None)?;
        for (c, v) in table.columns.iter().zip(&self.record.row) {
            map.serialize_entry(c.name, &ValueJson(v))?;
        }
        for (name, v) in &self.record.methods {
            map.serialize_entry(name, v)?;
        }
        if let Some(sha) = &self.record.upload {
            map.serialize_entry(UPLOAD_KEY, sha)?;
        }
        for (child, kids) in self.node.children.iter().zip(&self.record.children) {
            if child.import_only {
                continue;
            }
            match kids {
                Children::Many(list) => map.serialize_entry(
                    child.name,
                    &ManyJson {
                        plan: self.plan,
                        node: child,
                        records: list,
                    },
                )?,
                Children::One(one) => map.serialize_entry(
                    child.name,
                    &one.as_deref().map(|record| RecordJson {
                        plan: self.plan,
                        node: child,
                        record,
                    }),
                )?,
            }
        }
        map.end()
    }
}

struct ManyJson<'a> {
    plan: &'static Plan,
    node: &'static Node,
    records: &'a [Record],
}

impl Serialize for ManyJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.records.len()))?;
        for record in self.records {
            seq.serialize_element(&RecordJson {
                plan: self.plan,
                node: self.node,
                record,
            })?;
        }
        seq.end()
    }
}

/// A value written straight into the JSON stream, in the archive encoding of
/// [`crate::value::to_json`], without building a `serde_json::Value`.
struct ValueJson<'a>(&'a Value);

impl Serialize for ValueJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_none(),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) if f.is_finite() => s.serialize_f64(*f),
            Value::Float(f) if f.is_nan() => s.serialize_str("NaN"),
            Value::Float(f) if *f > 0.0 => s.serialize_str("Infinity"),
            Value::Float(_) => s.serialize_str("-Infinity"),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Text(t) => s.serialize_str(t),
            Value::Timestamp(t) => s.collect_str(&format_timestamp(t)),
            Value::Json(j) => j.serialize(s),
            Value::Bytes(b) => s.serialize_str(&hex::encode(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Streaming serialization and `to_json` agree on every value.
        #[test]
        fn value_json_matches_to_json(v in prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(Value::Int),
            any::<f64>().prop_map(Value::Float),
            any::<bool>().prop_map(Value::Bool),
            any::<String>().prop_map(Value::Text),
            (0i64..4_102_444_800_000_000).prop_map(|us| Value::Timestamp(
                chrono::DateTime::from_timestamp_micros(us).unwrap_or_default())),
            any::<Vec<u8>>().prop_map(Value::Bytes),
        ]) {
            let streamed = serde_json::to_value(ValueJson(&v)).unwrap();
            prop_assert_eq!(streamed, crate::value::to_json(&v));
        }
    }
}
