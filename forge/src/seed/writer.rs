//! The database side of seeding, on its own task: it owns the transaction, allocates ids and inserts
//! batches while the generator makes the next ones, so generating and writing overlap (on PostgreSQL
//! the server's COPY work, not the generator, then bounds the speed).
//!
//! Batches are handled strictly in the order they are sent, so ids come out exactly as if each batch
//! were written in place: the data stays deterministic.

use hoist::backend::ImportTx;
use hoist::value::{Row, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::columns::Columns;
use crate::ForgeError;

/// Batches queued ahead of the writer (each at most a sink's batch size), bounding memory.
const QUEUE: usize = 2;

enum Job {
    /// Insert `rows`; when `allocate`, first give them fresh ids (column 0). Reply with the ids.
    Insert {
        table: &'static str,
        columns: Columns,
        rows: Vec<Row>,
        allocate: bool,
        reply: Option<oneshot::Sender<Vec<i64>>>,
    },
    /// Allocate `n` ids.
    Allocate {
        table: &'static str,
        n: usize,
        reply: oneshot::Sender<Vec<i64>>,
    },
}

/// Handle to the writer task. Dropping it without [`Writer::finish`] lets the task end and drops
/// (rolls back) the transaction.
pub struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
    task: JoinHandle<(ImportTx, Result<(), ForgeError>)>,
}

impl Writer {
    /// Start a writer owning `tx`.
    pub fn start(tx: ImportTx) -> Writer {
        let (jobs, receiver) = mpsc::channel(QUEUE);
        let task = tokio::spawn(run(tx, receiver));
        Writer {
            jobs: Some(jobs),
            task,
        }
    }

    async fn send(&mut self, job: Job) -> Result<(), ForgeError> {
        match &self.jobs {
            Some(jobs) if jobs.send(job).await.is_ok() => Ok(()),
            _ => Err(ForgeError::WriterStopped),
        }
    }

    /// Queue `rows` of `table` (column 0 is overwritten with fresh ids). With `want_ids`, returns a
    /// receiver for the ids, in row order.
    pub async fn insert(
        &mut self,
        table: &'static str,
        columns: Columns,
        rows: Vec<Row>,
        want_ids: bool,
    ) -> Result<Option<oneshot::Receiver<Vec<i64>>>, ForgeError> {
        let (reply, receiver) = if want_ids {
            let (s, r) = oneshot::channel();
            (Some(s), Some(r))
        } else {
            (None, None)
        };
        self.send(Job::Insert {
            table,
            columns,
            rows,
            allocate: true,
            reply,
        })
        .await?;
        Ok(receiver)
    }

    /// Queue `rows` whose ids were already allocated with [`Writer::allocate`].
    pub async fn insert_with_ids(
        &mut self,
        table: &'static str,
        columns: Columns,
        rows: Vec<Row>,
    ) -> Result<(), ForgeError> {
        self.send(Job::Insert {
            table,
            columns,
            rows,
            allocate: false,
            reply: None,
        })
        .await
    }

    /// Allocate `n` ids of `table` now (waits for the queue to drain).
    pub async fn allocate(
        &mut self,
        table: &'static str,
        n: usize,
    ) -> Result<Vec<i64>, ForgeError> {
        let (reply, receiver) = oneshot::channel();
        self.send(Job::Allocate { table, n, reply }).await?;
        receiver.await.map_err(|_| ForgeError::WriterStopped)
    }

    /// Wait for every queued batch, and give the transaction back with the writer's outcome (the
    /// first database error, if any).
    pub async fn finish(mut self) -> Result<(ImportTx, Result<(), ForgeError>), ForgeError> {
        self.jobs = None;
        self.task
            .await
            .map_err(|e| ForgeError::Internal(format!("the seed writer task failed: {e}")))
    }
}

/// The writer loop: stops at the first error (later jobs are dropped, so senders see it).
async fn run(
    mut tx: ImportTx,
    mut jobs: mpsc::Receiver<Job>,
) -> (ImportTx, Result<(), ForgeError>) {
    while let Some(job) = jobs.recv().await {
        if let Err(e) = handle(&mut tx, job).await {
            return (tx, Err(e));
        }
    }
    (tx, Ok(()))
}

async fn handle(tx: &mut ImportTx, job: Job) -> Result<(), ForgeError> {
    match job {
        Job::Allocate { table, n, reply } => {
            let ids = allocate(tx, table, n).await?;
            let _ = reply.send(ids);
        }
        Job::Insert {
            table,
            columns,
            mut rows,
            allocate: fresh,
            reply,
        } => {
            let ids = if fresh {
                let ids = allocate(tx, table, rows.len()).await?;
                for (row, id) in rows.iter_mut().zip(&ids) {
                    row[0] = Value::Int(*id);
                }
                ids
            } else {
                Vec::new()
            };
            tx.insert(table, columns, &rows).await?;
            if let Some(reply) = reply {
                let _ = reply.send(ids);
            }
        }
    }
    Ok(())
}

async fn allocate(
    tx: &mut ImportTx,
    table: &'static str,
    n: usize,
) -> Result<Vec<i64>, ForgeError> {
    let ids = tx.allocate_ids(table, n).await?;
    if ids.len() != n {
        return Err(ForgeError::Seed {
            table,
            reason: format!("asked for {n} ids, the database gave {}", ids.len()),
        });
    }
    Ok(ids.to_vec())
}
