//! Batched inserts of generated rows: rows are collected per table and handed to the [`Writer`] one
//! batch at a time; ids are allocated by the writer.

use std::collections::BTreeMap;

use hoist::value::{Row, Value};
use tokio::sync::oneshot;

use super::columns::Columns;
use super::writer::Writer;
use crate::ForgeError;

/// A batch is written once it holds this many rows…
pub const MAX_BATCH_ROWS: usize = 2_000;
/// …or about this many bytes of values.
pub const MAX_BATCH_BYTES: usize = 4 << 20;

/// A written row that later tables refer to: its id and its `created_at` (unix microseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ent {
    pub id: i64,
    pub at: i64,
}

/// Collects rows of one table (with a placeholder in the `id` column) and sends them to the writer in
/// batches. When tracking, remembers `(id, created_at)` of every row for later tables.
pub struct Sink {
    table: &'static str,
    columns: Columns,
    rows: Vec<Row>,
    ats: Vec<i64>,
    bytes: usize,
    track: bool,
    /// Tracked batches sent to the writer: their ids (once written) and `created_at`s.
    pending: Vec<(oneshot::Receiver<Vec<i64>>, Vec<i64>)>,
    count: u64,
}

impl Sink {
    /// A sink whose row ids nobody needs later.
    pub fn new(table: &'static str, columns: Columns) -> Sink {
        Sink {
            table,
            columns,
            rows: Vec::new(),
            ats: Vec::new(),
            bytes: 0,
            track: false,
            pending: Vec::new(),
            count: 0,
        }
    }

    /// A sink that remembers `(id, created_at)` of every row ([`Sink::finish`] returns them).
    pub fn tracked(table: &'static str, columns: Columns) -> Sink {
        Sink {
            track: true,
            ..Sink::new(table, columns)
        }
    }

    /// Queue one row (column 0, the id, is overwritten with the allocated id); `at` is its
    /// `created_at` in unix microseconds. Sends the batch when it is full.
    pub async fn push(&mut self, w: &mut Writer, row: Row, at: i64) -> Result<(), ForgeError> {
        if row.len() != self.columns.len() {
            return Err(ForgeError::Seed {
                table: self.table,
                reason: format!(
                    "generated a row of {} values for {} columns",
                    row.len(),
                    self.columns.len()
                ),
            });
        }
        self.bytes += row.iter().map(value_size).sum::<usize>();
        self.rows.push(row);
        if self.track {
            self.ats.push(at);
        }
        if self.rows.len() >= MAX_BATCH_ROWS || self.bytes >= MAX_BATCH_BYTES {
            self.flush(w).await?;
        }
        Ok(())
    }

    /// Send the queued rows to the writer.
    async fn flush(&mut self, w: &mut Writer) -> Result<(), ForgeError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.rows);
        self.count += rows.len() as u64;
        self.bytes = 0;
        let ids = w.insert(self.table, self.columns, rows, self.track).await?;
        if let Some(ids) = ids {
            self.pending.push((ids, std::mem::take(&mut self.ats)));
        }
        Ok(())
    }

    /// Send what is left, add the row count to `counts`, and return the tracked rows once written
    /// (empty when not tracking).
    pub async fn finish(
        mut self,
        w: &mut Writer,
        counts: &mut BTreeMap<String, u64>,
    ) -> Result<Vec<Ent>, ForgeError> {
        self.flush(w).await?;
        *counts.entry(self.table.to_owned()).or_default() += self.count;
        let mut ents = Vec::with_capacity(if self.track { self.count as usize } else { 0 });
        for (ids, ats) in self.pending {
            let ids = ids.await.map_err(|_| ForgeError::WriterStopped)?;
            ents.extend(ids.into_iter().zip(ats).map(|(id, at)| Ent { id, at }));
        }
        Ok(ents)
    }
}

fn value_size(v: &Value) -> usize {
    match v {
        Value::Text(s) => s.len(),
        Value::Bytes(b) => b.len(),
        _ => 8,
    }
}
