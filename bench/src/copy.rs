//! The PostgreSQL `COPY` baselines: the fastest way PostgreSQL itself moves the same rows.
//!
//! - **COPY out**: in one `REPEATABLE READ, READ ONLY` transaction (like hoist's export snapshot),
//!   `COPY (SELECT <exported columns> FROM t WHERE "id" IN (<tenant ids>)) TO STDOUT` for every
//!   table of the Plan (see [`crate::tenant_sql`]), text format, each table's stream gzipped
//!   (flate2 with zlib-rs, level 6 — hoist's default) into its own file by a compressor thread, so
//!   reading and compressing overlap as they do in hoist.
//! - **COPY in**: in one transaction, for every table in Plan order (parents first),
//!   `COPY t (<exported columns>) FROM STDIN` fed from that file by a decompressor thread, then
//!   every table's identity sequence set past the copied ids (`setval`), then `COMMIT`. Ids are
//!   kept as they are (no remapping: the target is empty and its users have the source's ids).
//!
//! The timer covers everything from `BEGIN` to the last file closed / `COMMIT`. The connection
//! has `TCP_NODELAY` set, as libpq sets it (hoist sets it on every connection it opens).

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use futures_util::TryStreamExt;
use hoist::plan::Plan;
use sqlx::postgres::PgPool;
use sqlx::{AssertSqlSafe, Executor};

use crate::BenchError;
use crate::scratch::quote_ident;
use crate::tenant_sql::{copy_in_statement, copy_out_statement, tenant_id_queries};

/// Bytes per chunk the decompressor hands to the database task.
const CHUNK: usize = 256 * 1024;
/// Chunks in flight between the database task and a (de)compressor thread.
const CHANNEL_DEPTH: usize = 64;

/// gzip level of both the baseline and hoist's default (`ExportOptions::compression_level`).
pub const GZIP_LEVEL: u32 = 6;

/// What COPY out wrote.
#[derive(Debug, Clone)]
pub struct CopyOut {
    pub elapsed: Duration,
    /// Bytes PostgreSQL sent (COPY text format).
    pub raw_bytes: u64,
    /// Bytes of the gzip files.
    pub compressed_bytes: u64,
    /// One file per table, in Plan order: `(table index, path)`.
    pub files: Vec<(usize, PathBuf)>,
}

/// What COPY in loaded.
#[derive(Debug, Clone)]
pub struct CopyIn {
    pub elapsed: Duration,
    /// Rows PostgreSQL reported per table (Plan order).
    pub rows: Vec<(&'static str, u64)>,
}

impl CopyIn {
    /// All rows copied.
    pub fn total_rows(&self) -> u64 {
        self.rows.iter().map(|(_, n)| n).sum()
    }
}

/// COPY every table's tenant rows out of `pool` into gzip files under `dir`.
pub async fn copy_out(
    pool: &PgPool,
    database: &str,
    plan: &'static Plan,
    root_id: i64,
    dir: &Path,
) -> Result<CopyOut, BenchError> {
    std::fs::create_dir_all(dir).map_err(BenchError::io("creating the COPY directory", dir))?;
    let queries = tenant_id_queries(plan, root_id);
    let started = Instant::now();
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await
        .map_err(BenchError::db("BEGIN (COPY out)", database))?;
    let mut raw_bytes = 0u64;
    let mut compressed_bytes = 0u64;
    let mut files = Vec::new();
    for (index, table) in plan.tables.iter().enumerate() {
        let Some(sql) = copy_out_statement(plan, &queries, index) else {
            continue;
        };
        let table_started = Instant::now();
        let path = dir.join(format!("{index:02}_{}.copy.gz", table.name));
        let (sender, receiver) = std::sync::mpsc::sync_channel(CHANNEL_DEPTH);
        let compressor = spawn_compressor(path.clone(), receiver);
        let action = format!("COPY {} TO STDOUT", table.name);
        let streamed: Result<(), BenchError> = async {
            let mut stream = tx
                .copy_out_raw(&sql)
                .await
                .map_err(BenchError::db(action.clone(), database))?;
            while let Some(chunk) = stream
                .try_next()
                .await
                .map_err(BenchError::db(action.clone(), database))?
            {
                raw_bytes += chunk.len() as u64;
                if sender.send(chunk).is_err() {
                    // The compressor stopped: its own error says why (below).
                    break;
                }
            }
            Ok(())
        }
        .await;
        drop(sender);
        let written = compressor
            .join()
            .map_err(|_| BenchError::Internal("a COPY compressor thread panicked".into()))?;
        streamed?;
        compressed_bytes += written?;
        tracing::debug!(
            table = table.name,
            ms = table_started.elapsed().as_millis() as u64,
            "COPY out"
        );
        files.push((index, path));
    }
    tx.commit()
        .await
        .map_err(BenchError::db("COMMIT (COPY out)", database))?;
    Ok(CopyOut {
        elapsed: started.elapsed(),
        raw_bytes,
        compressed_bytes,
        files,
    })
}

/// gzip everything received into `path`; the file's size.
fn spawn_compressor<B: AsRef<[u8]> + Send + 'static>(
    path: PathBuf,
    receiver: std::sync::mpsc::Receiver<B>,
) -> std::thread::JoinHandle<Result<u64, BenchError>> {
    std::thread::spawn(move || {
        let io = |e| BenchError::Io {
            action: "writing a COPY file",
            path: path.clone(),
            source: e,
        };
        let file = File::create(&path).map_err(io)?;
        let mut gz = GzEncoder::new(BufWriter::new(file), Compression::new(GZIP_LEVEL));
        for chunk in receiver {
            gz.write_all(chunk.as_ref()).map_err(io)?;
        }
        let mut out = gz.finish().map_err(io)?;
        out.flush().map_err(io)?;
        let file = out.into_inner().map_err(|e| io(e.into_error()))?;
        Ok(file.metadata().map_err(io)?.len())
    })
}

/// COPY the files of `out` into `pool` (an empty migrated database with the source's users), in
/// one transaction, then move every identity sequence past the copied ids.
pub async fn copy_in(
    pool: &PgPool,
    database: &str,
    plan: &'static Plan,
    out: &CopyOut,
) -> Result<CopyIn, BenchError> {
    let started = Instant::now();
    let mut tx = pool
        .begin()
        .await
        .map_err(BenchError::db("BEGIN (COPY in)", database))?;
    let mut rows = Vec::new();
    for (index, path) in &out.files {
        let table_started = Instant::now();
        let table = &plan.tables[*index];
        let action = format!("COPY {} FROM STDIN", table.name);
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<u8>>(CHANNEL_DEPTH);
        let decompressor = spawn_decompressor(path.clone(), sender);
        let mut copy = tx
            .copy_in_raw(&copy_in_statement(plan, *index))
            .await
            .map_err(BenchError::db(action.clone(), database))?;
        let mut sent: Result<(), sqlx::Error> = Ok(());
        while let Some(chunk) = receiver.recv().await {
            if let Err(e) = copy.send(chunk).await {
                sent = Err(e);
                break;
            }
        }
        drop(receiver);
        let read = decompressor
            .await
            .map_err(|e| BenchError::Internal(format!("a COPY decompressor task failed: {e}")))?;
        if let Err(e) = read {
            let _ = copy.abort("the bench could not read its COPY file").await;
            return Err(e);
        }
        if let Err(e) = sent {
            let _ = copy.abort("sending failed").await;
            return Err(BenchError::db(action, database)(e));
        }
        let n = copy
            .finish()
            .await
            .map_err(BenchError::db(action.clone(), database))?;
        tracing::debug!(
            table = table.name,
            rows = n,
            ms = table_started.elapsed().as_millis() as u64,
            "COPY in"
        );
        rows.push((table.name, n));
    }
    let setval_started = Instant::now();
    for (index, _) in &out.files {
        let name = plan.tables[*index].name;
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence({lit}, 'id'), COALESCE((SELECT max(\"id\") FROM {ident}), 0) + 1, false)",
            lit = crate::tenant_sql::quote_literal(name),
            ident = quote_ident(name),
        );
        tx.execute(AssertSqlSafe(sql))
            .await
            .map_err(BenchError::db(format!("setval on {name}"), database))?;
    }
    tracing::debug!(
        ms = setval_started.elapsed().as_millis() as u64,
        "COPY in: sequences set"
    );
    let commit_started = Instant::now();
    tx.commit()
        .await
        .map_err(BenchError::db("COMMIT (COPY in)", database))?;
    tracing::debug!(
        ms = commit_started.elapsed().as_millis() as u64,
        "COPY in: committed"
    );
    Ok(CopyIn {
        elapsed: started.elapsed(),
        rows,
    })
}

/// Read and gunzip `path` in chunks into `sender`, on a blocking thread.
fn spawn_decompressor(
    path: PathBuf,
    sender: tokio::sync::mpsc::Sender<Vec<u8>>,
) -> tokio::task::JoinHandle<Result<(), BenchError>> {
    tokio::task::spawn_blocking(move || {
        let io = |e| BenchError::Io {
            action: "reading a COPY file",
            path: path.clone(),
            source: e,
        };
        let file = File::open(&path).map_err(io)?;
        let mut gz = GzDecoder::new(std::io::BufReader::new(file));
        loop {
            let mut buf = vec![0u8; CHUNK];
            let mut filled = 0;
            while filled < CHUNK {
                let n = gz.read(&mut buf[filled..]).map_err(io)?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            if filled == 0 {
                return Ok(());
            }
            buf.truncate(filled);
            if sender.blocking_send(buf).is_err() {
                // The database side stopped; its error is reported.
                return Ok(());
            }
        }
    })
}
