//! The import's database side: batches of rows are written by a background task that holds the
//! transaction while it writes, so the importer builds the next batch while the database works on
//! this one.
//!
//! The transaction lives on one connection, so at most one batch is in flight and batches are
//! written in the order they were sent (parents before children within a batch, batch after
//! batch). Anything else that needs the transaction — id allocation, lookups, commit, rollback —
//! first waits for the batch in flight ([`Writer::tx`]); a failed write surfaces there.

use std::sync::Arc;

use tokio::task::JoinHandle;

use super::ImportError;
use crate::backend::{BackendError, ImportTx};
use crate::value::{LogicalType, Row};

/// Insert columns of one table.
pub(crate) type Columns = Arc<[(&'static str, LogicalType)]>;

/// Rows for several tables, written in the order given.
pub(crate) type Batch = Vec<(&'static str, Columns, Vec<Row>)>;

type Written = (ImportTx, Result<(), BackendError>);

enum State {
    Idle(ImportTx),
    Busy(JoinHandle<Written>),
    /// Committed, rolled back, or lost with a writer task that panicked.
    Gone,
}

pub(crate) struct Writer {
    state: State,
}

impl Writer {
    pub(crate) fn new(tx: ImportTx) -> Writer {
        Writer {
            state: State::Idle(tx),
        }
    }

    /// The transaction, once the batch in flight (if any) is written.
    pub(crate) async fn tx(&mut self) -> Result<&mut ImportTx, ImportError> {
        if let State::Busy(_) = self.state {
            let State::Busy(handle) = std::mem::replace(&mut self.state, State::Gone) else {
                unreachable!("matched Busy above");
            };
            let (tx, result) = handle.await.map_err(|e| {
                // The task panicked: the transaction was dropped with it and rolls back.
                ImportError::Writer(e.to_string())
            })?;
            self.state = State::Idle(tx);
            result?;
        }
        match &mut self.state {
            State::Idle(tx) => Ok(tx),
            _ => Err(ImportError::Writer(
                "the import transaction has already ended".into(),
            )),
        }
    }

    /// Hand a batch to the background task, after the previous one is written. Returns at once.
    pub(crate) async fn send(&mut self, batch: Batch) -> Result<(), ImportError> {
        self.tx().await?;
        let State::Idle(mut tx) = std::mem::replace(&mut self.state, State::Gone) else {
            unreachable!("tx() leaves the writer idle or fails");
        };
        self.state = State::Busy(tokio::spawn(async move {
            for (table, columns, rows) in &batch {
                if let Err(e) = tx.insert(table, columns, rows).await {
                    return (tx, Err(e));
                }
            }
            (tx, Ok(()))
        }));
        Ok(())
    }

    /// Take the transaction for commit, once every batch is written.
    pub(crate) async fn finish(&mut self) -> Result<ImportTx, ImportError> {
        self.tx().await?;
        match std::mem::replace(&mut self.state, State::Gone) {
            State::Idle(tx) => Ok(tx),
            _ => unreachable!("tx() leaves the writer idle or fails"),
        }
    }

    /// Roll back: wait for the batch in flight (its error no longer matters), then end the
    /// transaction.
    pub(crate) async fn abort(&mut self) {
        let tx = match std::mem::replace(&mut self.state, State::Gone) {
            State::Idle(tx) => tx,
            State::Busy(handle) => match handle.await {
                Ok((tx, _)) => tx,
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
