//! Consistency under load (PostgreSQL): while a project is exported in many small pages, another
//! connection keeps inserting, updating and deleting issues and their notes in that project, one
//! transaction per step, and commits at least one step between any two pages of the export. The
//! archive must still be one consistent snapshot:
//!
//! - every reference inside it resolves, ids are unique, the manifest's counts equal its records;
//! - the writer's issues in it (with their notes, titles and positions) are exactly the writer's
//!   state after one of its steps — one that was committed while the export ran. The writer
//!   inserts an issue with its notes, rewrites an issue's title, position and all its notes, and
//!   deletes an issue with its notes, each in one transaction, stamping everything with the step
//!   number: an issue with notes of another step, a note without its issue, an issue seen twice
//!   or missed because it moved between pages — anything a page-by-page read without a snapshot
//!   can produce — matches no state.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hoist::progress::{Phase, ProgressSink};
use hoist_tests::archive::Contents;
use hoist_tests::{Instance, Kind, integrity, scratch_dir};
use serde_json::Value as Json;
use sqlx::PgPool;

/// Seeded issues: enough pages at [`PAGE`] records per page to interleave many writes.
const ISSUES: usize = 2000;
/// Export page size.
const PAGE: usize = 25;
/// The writer stops after this many steps even if the export has not finished (a bound, not a
/// target: it is far more than an export takes).
const MAX_STEPS: u64 = 20_000;
/// How long a page waits for the writer's next commit before the test fails.
const STALL: Duration = Duration::from_secs(20);
/// Title and note prefix of everything the writer writes.
const MARK: &str = "writer";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_under_concurrent_writes_is_one_snapshot() {
    let Some(source) = Instance::new(Kind::Postgres).await else {
        return;
    };
    let seeded = source.seed(2, ISSUES).await;
    let project = seeded.project_ids[0];
    let pool = source
        .db
        .as_postgres()
        .unwrap_or_else(|| panic!("a PostgreSQL instance has a PostgreSQL pool"))
        .clone();
    let author: i64 = sqlx::query_scalar("SELECT min(id) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("reading a user: {e}"));
    let (low, high): (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT min(relative_position), max(relative_position) FROM issues WHERE project_id = $1",
    )
    .bind(project)
    .fetch_one(&pool)
    .await
    .unwrap_or_else(|e| panic!("reading positions: {e}"));
    let positions = (
        low.unwrap_or(0),
        high.unwrap_or(1_000_000).max(low.unwrap_or(0) + 1),
    );

    // The writer: its own thread, runtime and connection, so pages can wait for it.
    let committed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let running = Arc::new(AtomicBool::new(true));
    let writer = {
        let (committed, stop, url) = (committed.clone(), stop.clone(), source.url().to_string());
        let running = Running(running.clone());
        std::thread::spawn(move || {
            // Cleared when the thread ends, panics included, so no page waits for a dead writer.
            let _running = running;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("writer runtime: {e}"));
            runtime.block_on(async move {
                let pool = PgPool::connect(&url)
                    .await
                    .unwrap_or_else(|e| panic!("writer connection: {e}"));
                let mut w = Writer::new(pool.clone(), project, author, positions);
                while !stop.load(Ordering::SeqCst) && w.step < MAX_STEPS {
                    w.step().await;
                    committed.store(w.step, Ordering::SeqCst);
                }
                pool.close().await;
                w.states
            })
        })
    };

    // Let the writer get going, then export with a page-by-page lockstep: every progress event
    // (one per page) waits until the writer has committed another step.
    wait_for(&committed, 20, &running);
    let stalled = Arc::new(AtomicBool::new(false));
    let pages = Arc::new(AtomicU64::new(0));
    let dir = scratch_dir();
    let archive = dir.path().join("under-load.tar.gz");
    let mut req = source.export_request(project, &archive);
    req.batch_size = Some(PAGE);
    req.progress = {
        let (committed, stalled, pages, running) = (
            committed.clone(),
            stalled.clone(),
            pages.clone(),
            running.clone(),
        );
        ProgressSink::new(move |p| {
            if p.phase != Phase::Export || stalled.load(Ordering::SeqCst) {
                return;
            }
            pages.fetch_add(1, Ordering::SeqCst);
            let seen = committed.load(Ordering::SeqCst);
            if !wait_for(&committed, seen + 1, &running) {
                stalled.store(true, Ordering::SeqCst);
            }
        })
    };
    let started_at = committed.load(Ordering::SeqCst);
    let summary = source.export_with(&req).await;
    let finished_at = committed.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    let states = writer
        .join()
        .unwrap_or_else(|_| panic!("the writer thread panicked (see its message above)"));
    assert!(
        !stalled.load(Ordering::SeqCst),
        "the writer stalled or stopped before the export finished"
    );
    let pages = pages.load(Ordering::SeqCst);
    assert!(
        pages > (ISSUES / PAGE) as u64,
        "the export read {pages} pages"
    );
    assert!(
        finished_at - started_at >= pages,
        "the writer committed {} steps during {pages} pages",
        finished_at - started_at
    );

    // The writer's model is right: its last state is what the database holds now.
    let now = db_state(&pool, project).await;
    assert_eq!(
        Some(&now),
        states.last(),
        "the writer's model disagrees with the database"
    );

    // The archive.
    let contents = Contents::load(&archive);
    integrity::assert_consistent(&contents, "the archive written under concurrent writes");
    assert_eq!(
        summary.rows,
        contents.relation_counts().values().sum::<u64>()
    );
    let seen = archive_state(&contents);
    let seeded_issues = contents.relation("issues").len() - seen.len();
    assert_eq!(
        seeded_issues, ISSUES,
        "the seeded issues (untouched by the writer) are all in the archive, once"
    );
    let matching: Vec<usize> = states
        .iter()
        .enumerate()
        .filter(|(_, s)| **s == seen)
        .map(|(i, _)| i)
        .collect();
    assert!(
        !matching.is_empty(),
        "the writer's issues in the archive are no state the database ever had \
         ({} issues in the archive; the writer went through states {started_at}..={finished_at}):\n{seen:#?}",
        seen.len()
    );
    assert!(
        matching
            .iter()
            .any(|&i| (started_at as usize..=finished_at as usize).contains(&i)),
        "the archive shows the writer's state after step(s) {matching:?}, not one committed while \
         the export ran ({started_at}..={finished_at})"
    );
    source.finish().await;
}

/// Wait until `counter` reaches `target`; `false` after [`STALL`] or when the writer is gone.
fn wait_for(counter: &AtomicU64, target: u64, running: &AtomicBool) -> bool {
    let deadline = Instant::now() + STALL;
    while counter.load(Ordering::SeqCst) < target {
        if Instant::now() > deadline || !running.load(Ordering::SeqCst) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

/// Clears its flag when dropped: "the writer thread is running".
struct Running(Arc<AtomicBool>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// One writer issue as the database (or an archive) shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct IssueState {
    title: String,
    relative_position: i64,
    /// Note texts, sorted.
    notes: Vec<String>,
}

/// The writer's issues by id.
type State = BTreeMap<i64, IssueState>;

/// A deterministic pseudo-random sequence (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Inserts, rewrites and deletes issues with their notes, one transaction per step, and keeps
/// the state after every step.
struct Writer {
    pool: PgPool,
    project: i64,
    author: i64,
    positions: (i64, i64),
    rng: Rng,
    step: u64,
    state: State,
    /// `states[n]`: the state after step `n` (`states[0]`: before the first).
    states: Vec<State>,
}

impl Writer {
    fn new(pool: PgPool, project: i64, author: i64, positions: (i64, i64)) -> Writer {
        Writer {
            pool,
            project,
            author,
            positions,
            rng: Rng(42),
            step: 0,
            state: State::new(),
            states: vec![State::new()],
        }
    }

    fn position(&mut self) -> i64 {
        let (low, high) = self.positions;
        let span = u64::try_from(high - low).unwrap_or(1).max(1);
        low + i64::try_from(self.rng.below(span)).unwrap_or(0)
    }

    async fn step(&mut self) {
        let step = self.step + 1;
        let alive = self.state.len();
        let op = match self.rng.below(10) {
            _ if alive < 10 => 0,
            _ if alive > 60 => 2,
            0..=3 => 0,
            4..=7 => 1,
            _ => 2,
        };
        let mut tx = self
            .pool
            .begin()
            .await
            .unwrap_or_else(|e| panic!("writer: begin: {e}"));
        match op {
            0 => {
                let position = self.position();
                let title = format!("{MARK} issue {step}");
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO issues (project_id, iid, title, state, confidential, author_id, \
                     relative_position, created_at, updated_at) \
                     VALUES ($1, $2, $3, 'opened', FALSE, $4, $5, now(), now()) RETURNING id",
                )
                .bind(self.project)
                .bind(1_000_000 + i64::try_from(step).unwrap_or(0))
                .bind(&title)
                .bind(self.author)
                .bind(position)
                .fetch_one(&mut *tx)
                .await
                .unwrap_or_else(|e| panic!("writer: insert issue: {e}"));
                let mut notes = Vec::new();
                for n in 0..1 + self.rng.below(3) {
                    let note = format!("{MARK} note {step}.{n}");
                    insert_note(&mut tx, self.project, id, self.author, &note).await;
                    notes.push(note);
                }
                notes.sort();
                self.state.insert(
                    id,
                    IssueState {
                        title,
                        relative_position: position,
                        notes,
                    },
                );
            }
            1 => {
                let k = usize::try_from(self.rng.below(alive as u64)).unwrap_or(0);
                let Some(id) = self.state.keys().nth(k).copied() else {
                    return;
                };
                let position = self.position();
                let title = format!("{MARK} issue {step}");
                sqlx::query("UPDATE issues SET title = $1, relative_position = $2 WHERE id = $3")
                    .bind(&title)
                    .bind(position)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .unwrap_or_else(|e| panic!("writer: update issue: {e}"));
                let note = format!("{MARK} note {step}");
                sqlx::query(
                    "UPDATE notes SET note = $1 WHERE noteable_type = 'Issue' AND noteable_id = $2",
                )
                .bind(&note)
                .bind(id)
                .execute(&mut *tx)
                .await
                .unwrap_or_else(|e| panic!("writer: update notes: {e}"));
                let extra = format!("{MARK} note {step}.extra");
                insert_note(&mut tx, self.project, id, self.author, &extra).await;
                if let Some(issue) = self.state.get_mut(&id) {
                    let count = issue.notes.len();
                    issue.title = title;
                    issue.relative_position = position;
                    issue.notes = vec![note; count];
                    issue.notes.push(extra);
                    issue.notes.sort();
                }
            }
            _ => {
                // The oldest of the writer's issues, with its notes.
                let Some(id) = self.state.keys().next().copied() else {
                    return;
                };
                sqlx::query("DELETE FROM notes WHERE noteable_type = 'Issue' AND noteable_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .unwrap_or_else(|e| panic!("writer: delete notes: {e}"));
                sqlx::query("DELETE FROM issues WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .unwrap_or_else(|e| panic!("writer: delete issue: {e}"));
                self.state.remove(&id);
            }
        }
        tx.commit()
            .await
            .unwrap_or_else(|e| panic!("writer: commit: {e}"));
        self.step = step;
        self.states.push(self.state.clone());
    }
}

async fn insert_note(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    project: i64,
    issue: i64,
    author: i64,
    text: &str,
) {
    sqlx::query(
        "INSERT INTO notes (project_id, noteable_type, noteable_id, note, author_id, system, \
         created_at, updated_at) VALUES ($1, 'Issue', $2, $3, $4, FALSE, now(), now())",
    )
    .bind(project)
    .bind(issue)
    .bind(text)
    .bind(author)
    .execute(&mut **tx)
    .await
    .unwrap_or_else(|e| panic!("writer: insert note: {e}"));
}

/// The writer's issues as the database holds them now.
async fn db_state(pool: &PgPool, project: i64) -> State {
    let issues: Vec<(i64, String, Option<i64>)> = sqlx::query_as(
        "SELECT id, title, relative_position FROM issues WHERE project_id = $1 AND title LIKE $2",
    )
    .bind(project)
    .bind(format!("{MARK} issue %"))
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("reading the writer's issues: {e}"));
    let mut state = State::new();
    for (id, title, position) in issues {
        let mut notes: Vec<String> = sqlx::query_scalar(
            "SELECT note FROM notes WHERE noteable_type = 'Issue' AND noteable_id = $1",
        )
        .bind(id)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("reading the writer's notes: {e}"));
        notes.sort();
        state.insert(
            id,
            IssueState {
                title,
                relative_position: position.unwrap_or_default(),
                notes,
            },
        );
    }
    state
}

/// The writer's issues as the archive holds them.
fn archive_state(contents: &Contents) -> State {
    let mut state = State::new();
    for issue in contents.relation("issues") {
        let Some(title) = issue.get("title").and_then(Json::as_str) else {
            continue;
        };
        if !title.starts_with(MARK) {
            continue;
        }
        let id = issue.get("id").and_then(Json::as_i64).unwrap_or_default();
        let mut notes: Vec<String> = issue
            .get("notes")
            .and_then(Json::as_array)
            .map(|notes| {
                notes
                    .iter()
                    .filter_map(|n| n.get("note").and_then(Json::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        notes.sort();
        state.insert(
            id,
            IssueState {
                title: title.to_string(),
                relative_position: issue
                    .get("relative_position")
                    .and_then(Json::as_i64)
                    .unwrap_or_default(),
                notes,
            },
        );
    }
    state
}
