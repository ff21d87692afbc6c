//! A failure or a cancellation in the middle of an import leaves the target as it was: every
//! table's row count, and every file of the uploads directory (the import's staging directory is
//! gone too). Then the same archive still imports.

use forge::ForgeError;
use hoist::import::ImportError;
use hoist::progress::{CancellationToken, Phase, ProgressSink};
use hoist_tests::state::State;
use hoist_tests::{Kind, Transfer};

const ISSUES: usize = 60;

/// When a cancellation fires, by the progress event seen.
type Trigger = Box<dyn Fn(&hoist::progress::Progress) -> bool + Send + Sync>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_injected_failure_leaves_nothing() {
    injected_failure(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_injected_failure_leaves_nothing() {
    injected_failure(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_cancellation_leaves_nothing() {
    cancellation(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_cancellation_leaves_nothing() {
    cancellation(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_injected_failure_leaves_nothing() {
    injected_failure(Kind::MySql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_cancellation_leaves_nothing() {
    cancellation(Kind::MySql).await;
}

/// `fail_after_rows`: after the first batch, half-way, and after the very last row. The last rows
/// go to the database when the reader says the tree is complete, before it finished the archive
/// (its uploads): the database writes them while the blobs are still staged, instead of waiting
/// for every blob.
async fn injected_failure(kind: Kind) {
    let Some(t) = Transfer::new(kind, ISSUES).await else {
        return;
    };
    let total = t.rows_to_write();
    let uploads = t.contents.uploads.len() as u64;
    assert!(
        uploads >= 2,
        "the fixture needs uploads to show when the last rows are written (it has {uploads})"
    );
    let before = State::capture(&t.target).await;
    for after_rows in [1, total / 2, total] {
        let mut req = t.import_request();
        req.batch_size = Some(50);
        req.fail_after_rows = Some(after_rows);
        match t.target.try_import(&req).await {
            Err(ForgeError::Import(ImportError::Injected { rows, archive_read })) => {
                assert!(rows >= after_rows, "{kind:?}: failed after {rows} rows");
                assert!(
                    !archive_read,
                    "{kind:?}: failing after {after_rows} rows: the rows waited for the end of \
                     the archive and its {uploads} uploads"
                );
            }
            Err(e) => panic!(
                "{kind:?}: expected the injected failure, got {}",
                e.one_line()
            ),
            Ok(s) => panic!(
                "{kind:?}: the import succeeded ({} rows) despite fail_after_rows = {after_rows}",
                s.rows
            ),
        }
        let after = State::capture(&t.target).await;
        before.assert_unchanged(
            &after,
            |_| false,
            &format!("{kind:?}: an import failing after {after_rows} of {total} rows"),
        );
    }

    // The archive itself is fine, and `total` was every row.
    let summary = t.target.import(&t.import_request()).await;
    assert_eq!(summary.rows, total);
    let after = State::capture(&t.target).await;
    assert_eq!(after.total_rows(), before.total_rows() + total);
    assert!(after.files.len() > before.files.len());
    t.finish().await;
}

/// A token cancelled before the database is touched, at the first imported relation, and at the
/// end of the last relation.
async fn cancellation(kind: Kind) {
    let Some(t) = Transfer::new(kind, ISSUES).await else {
        return;
    };
    let before = State::capture(&t.target).await;
    let last_relation = t
        .contents
        .relations
        .last()
        .map(|(name, _)| name.clone())
        .unwrap_or_else(|| panic!("the archive has no relation"));
    let total_of = |name: &str| t.contents.relation(name).len() as u64;
    let points: [(&str, Trigger); 3] = [
        ("while verifying", Box::new(|p| p.phase == Phase::Verify)),
        (
            "at the first relation",
            Box::new(|p| p.phase == Phase::Import && p.relation != "project"),
        ),
        ("at the end of the last relation", {
            let (last, total) = (last_relation.clone(), total_of(&last_relation));
            Box::new(move |p| p.phase == Phase::Import && p.relation == last && p.done == total)
        }),
    ];
    for (when, trigger) in points {
        let token = CancellationToken::new();
        let mut req = t.import_request();
        req.batch_size = Some(50);
        req.cancel = token.clone();
        let fired = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        req.progress = {
            let fired = fired.clone();
            ProgressSink::new(move |p| {
                if trigger(p) {
                    fired.store(true, std::sync::atomic::Ordering::SeqCst);
                    token.cancel();
                }
            })
        };
        match t.target.try_import(&req).await {
            Err(ForgeError::Import(ImportError::Cancelled)) => {}
            Err(e) => panic!(
                "{kind:?}: cancelled {when}: expected Cancelled, got {}",
                e.one_line()
            ),
            Ok(_) => panic!(
                "{kind:?}: cancelled {when}, the import still committed (trigger fired: {})",
                fired.load(std::sync::atomic::Ordering::SeqCst)
            ),
        }
        let after = State::capture(&t.target).await;
        before.assert_unchanged(
            &after,
            |_| false,
            &format!("{kind:?}: an import cancelled {when}"),
        );
    }
    t.finish().await;
}
