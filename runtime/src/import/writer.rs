//! The import's database side: batches of rows are written by a background task that holds the
//! transaction while it writes, so the importer builds the next batch while the database works on
//! this one — checked and encoded for the database too ([`ReadyRows`]): the statements of a batch
//! follow one another with nothing for the database to wait for but the bytes on the socket.
//!
//! The transaction lives on one connection, so at most one batch is in flight and batches are
//! written in the order they were sent (parents before children within a batch, batch after
//! batch). Anything else that needs the transaction — id allocation, lookups, commit, rollback —
//! first waits for the batch in flight ([`Writer::tx`]); a failed write surfaces there.
//!
//! Tables that other rows reference (parents, by foreign key) get fresh planner statistics as they
//! grow ([`ImportTx::refresh_statistics`]): the database checks every inserted child against its
//! parent with a plan made once per connection, and a plan made while the parent held a few rows
//! (or was recorded as empty) scans the whole parent for every child.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::ImportError;
use crate::backend::{BackendError, Dialect, ImportTx, ReadyRows};
use crate::value::{LogicalType, Row};

/// Insert columns of one table.
pub(crate) type Columns = Arc<[(&'static str, LogicalType)]>;

/// Rows of one table, and whether other rows reference that table.
pub(crate) struct TableRows {
    pub table: &'static str,
    pub columns: Columns,
    pub rows: Vec<Row>,
    pub parent: bool,
}

/// Rows for several tables, written in the order given.
pub(crate) type Batch = Vec<TableRows>;

/// [`TableRows`] made ready for the database while the batch before is written.
struct ReadyTable {
    table: &'static str,
    columns: Columns,
    rows: ReadyRows,
    parent: bool,
}

/// Check and encode a batch for `dialect` (see [`ReadyRows::prepare`]), table by table, each
/// table's rows dropped once encoded.
fn prepare(dialect: Dialect, batch: Batch) -> Result<Vec<ReadyTable>, BackendError> {
    batch
        .into_iter()
        .map(|part| {
            Ok(ReadyTable {
                rows: ReadyRows::prepare(dialect, part.table, &part.columns, part.rows)?,
                table: part.table,
                columns: part.columns,
                parent: part.parent,
            })
        })
        .collect()
}

/// A parent table's statistics are refreshed once it holds this many rows written by the import…
///
/// The check plan is made when the first child after a refresh is written, and kept until the next
/// refresh. While the parent holds a page or two, PostgreSQL rightly plans a scan of the whole
/// parent; the refresh must come early enough that such a plan does not outlive the parent's first
/// few batches. At 1,000, the plan made for the first `ci_builds` (54 pipelines written) served
/// until 1,367 were: those `ci_builds` statements took 70–122 µs a row, the later ones 49–67
/// (a 100k import's statements replayed in `psql`).
const FIRST_REFRESH: u64 = 100;
/// …and again each time it has grown this many times over since the last refresh.
const REFRESH_GROWTH: u64 = 4;

/// Whether a parent table that now holds `rows` rows written by the import, and held `refreshed`
/// at its last refresh (0 if none), gets fresh statistics now.
fn refresh_due(rows: u64, refreshed: u64) -> bool {
    rows >= FIRST_REFRESH && rows >= refreshed.saturating_mul(REFRESH_GROWTH)
}

/// The transaction and what the writer knows about the tables it wrote.
struct Conn {
    tx: ImportTx,
    tables: HashMap<&'static str, TableLog>,
    /// When the last batch was written (none yet: the writer has not started).
    done: Option<Instant>,
}

/// What the writer did to one table (logged at debug level when the import ends: where the
/// database's time went).
#[derive(Debug, Default)]
struct TableLog {
    rows: u64,
    /// Rows written at the last statistics refresh.
    refreshed: u64,
    inserts: u32,
    inserting: Duration,
    analyzing: Duration,
}

impl Conn {
    async fn write(&mut self, batch: &[ReadyTable]) -> Result<(), BackendError> {
        for part in batch {
            let started = Instant::now();
            self.tx
                .insert_ready(part.table, &part.columns, &part.rows)
                .await?;
            let table = self.tables.entry(part.table).or_default();
            table.inserting += started.elapsed();
            table.inserts += 1;
            table.rows += part.rows.len();
            if part.parent && refresh_due(table.rows, table.refreshed) {
                table.refreshed = table.rows;
                tracing::debug!(
                    table = part.table,
                    rows = table.rows,
                    "refreshing statistics"
                );
                let started = Instant::now();
                self.tx.refresh_statistics(part.table).await?;
                table.analyzing += started.elapsed();
            }
        }
        Ok(())
    }
}

type Written = (Conn, Result<(), BackendError>);

enum State {
    Idle(Conn),
    Busy(JoinHandle<Written>),
    /// Committed, rolled back, or lost with a writer task that panicked.
    Gone,
}

pub(crate) struct Writer {
    state: State,
    /// The transaction's: what batches are made ready for.
    dialect: Dialect,
    /// Time the importer waited for a batch in flight.
    waited: Duration,
    /// Time the database had no batch, between the first batch and the last.
    idle: Duration,
}

impl Writer {
    pub(crate) fn new(tx: ImportTx) -> Writer {
        Writer {
            dialect: tx.dialect(),
            state: State::Idle(Conn {
                tx,
                tables: HashMap::new(),
                done: None,
            }),
            waited: Duration::ZERO,
            idle: Duration::ZERO,
        }
    }

    /// The transaction, once the batch in flight (if any) is written.
    pub(crate) async fn tx(&mut self) -> Result<&mut ImportTx, ImportError> {
        if let State::Busy(_) = self.state {
            let State::Busy(handle) = std::mem::replace(&mut self.state, State::Gone) else {
                unreachable!("matched Busy above");
            };
            let started = Instant::now();
            let (conn, result) = handle.await.map_err(|e| {
                // The task panicked: the transaction was dropped with it and rolls back.
                ImportError::Writer(e.to_string())
            })?;
            self.waited += started.elapsed();
            self.state = State::Idle(conn);
            result?;
        }
        match &mut self.state {
            State::Idle(conn) => Ok(&mut conn.tx),
            _ => Err(ImportError::Writer(
                "the import transaction has already ended".into(),
            )),
        }
    }

    /// Whether the database has nothing to do: no batch in flight, or the one in flight is
    /// written. The importer then hands over what it has rather than leave the database idle.
    pub(crate) fn is_idle(&self) -> bool {
        match &self.state {
            State::Idle(_) => true,
            State::Busy(handle) => handle.is_finished(),
            State::Gone => false,
        }
    }

    /// Make a batch ready for the database while the previous one is written, then hand it to the
    /// background task once that one is. Returns without waiting for this one.
    pub(crate) async fn send(&mut self, batch: Batch) -> Result<(), ImportError> {
        let batch = prepare(self.dialect, batch)?;
        self.tx().await?;
        let State::Idle(mut conn) = std::mem::replace(&mut self.state, State::Gone) else {
            unreachable!("tx() leaves the writer idle or fails");
        };
        if let Some(done) = conn.done.take() {
            let gap = done.elapsed();
            self.idle += gap;
            if gap >= Duration::from_millis(10) {
                let written: u64 = conn.tables.values().map(|t| t.rows).sum();
                let next: Vec<_> = batch.iter().map(|t| (t.table, t.rows.len())).collect();
                tracing::debug!(
                    gap_ms = gap.as_millis() as u64,
                    written,
                    ?next,
                    "writer idle"
                );
            }
        }
        self.state = State::Busy(tokio::spawn(async move {
            let result = conn.write(&batch).await;
            conn.done = Some(Instant::now());
            (conn, result)
        }));
        Ok(())
    }

    /// Take the transaction for commit, once every batch is written.
    pub(crate) async fn finish(&mut self) -> Result<ImportTx, ImportError> {
        self.tx().await?;
        match std::mem::replace(&mut self.state, State::Gone) {
            State::Idle(conn) => {
                let writing: Duration = conn
                    .tables
                    .values()
                    .map(|w| w.inserting + w.analyzing)
                    .sum();
                // How long the database had nothing left to write before the commit: the rest of
                // the uploads' stream, and placing them.
                let after_ms = conn
                    .done
                    .map_or(0, |done| done.elapsed().as_millis() as u64);
                tracing::debug!(
                    writing_ms = writing.as_millis() as u64,
                    waited_ms = self.waited.as_millis() as u64,
                    idle_ms = self.idle.as_millis() as u64,
                    after_ms,
                    "all batches written"
                );
                for (table, w) in &conn.tables {
                    tracing::debug!(
                        table,
                        rows = w.rows,
                        inserts = w.inserts,
                        inserting_ms = w.inserting.as_millis() as u64,
                        analyzing_ms = w.analyzing.as_millis() as u64,
                        "table written"
                    );
                }
                Ok(conn.tx)
            }
            _ => unreachable!("tx() leaves the writer idle or fails"),
        }
    }

    /// Roll back: wait for the batch in flight (its error no longer matters), then end the
    /// transaction.
    pub(crate) async fn abort(&mut self) {
        let tx = match std::mem::replace(&mut self.state, State::Gone) {
            State::Idle(conn) => conn.tx,
            State::Busy(handle) => match handle.await {
                Ok((conn, _)) => conn.tx,
                // Panicked: the transaction went with the task and rolls back on its own.
                Err(_) => return,
            },
            State::Gone => return,
        };
        if let Err(e) = tx.rollback().await {
            // The connection is gone: the server rolls the transaction back itself.
            tracing::warn!(error = %e, "rolling back the import failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sizes, among a parent's sizes after each of its batches, at which its statistics are
    /// refreshed.
    fn refreshes(sizes: impl IntoIterator<Item = u64>) -> Vec<u64> {
        let mut refreshed = 0;
        let mut at = Vec::new();
        for rows in sizes {
            if refresh_due(rows, refreshed) {
                refreshed = rows;
                at.push(rows);
            }
        }
        at
    }

    #[test]
    fn a_small_parent_is_never_analyzed() {
        assert_eq!(refreshes((10..=90).step_by(10)), Vec::<u64>::new());
    }

    #[test]
    fn the_first_refresh_comes_within_a_batch_of_a_hundred_rows() {
        // The 100k import's `ci_pipelines`: 54 in the first batch, then ~440 per batch.
        assert_eq!(
            refreshes([54, 488, 920, 1367, 1810, 2240, 2437]),
            vec![488, 2240]
        );
    }

    #[test]
    fn later_refreshes_come_at_every_fourfold_growth() {
        assert_eq!(
            refreshes((100..=7_000).step_by(100)),
            vec![100, 400, 1_600, 6_400]
        );
    }
}
