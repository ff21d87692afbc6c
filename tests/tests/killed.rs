//! A `forge import` process killed with SIGKILL in the middle of its transaction leaves no row and
//! no upload file behind. The only thing it may leave is its staging directory
//! (`<uploads>/.hoist-import-*`, which a killed process cannot remove). And the same archive imports
//! afterwards, next to that orphan.
//!
//! The binary is forge's own `src/main.rs`, built by cargo as this package's `forge-cli` (see
//! `tests/Cargo.toml`), so it is always fresh and in the profile of the test run.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hoist_tests::state::{State, is_staging};
use hoist_tests::{Kind, Transfer};
use serde_json::Value as Json;

/// Issues of the exported project: enough that the import is still writing when it is killed.
const ISSUES: usize = 300;
/// Small batches: many writes happen before the kill.
const BATCH: &str = "20";
/// Kill once this many issues are reported imported.
const KILL_AT_ISSUES: u64 = 100;
/// How long the import may take to get there.
const TIMEOUT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_killed_import_leaves_nothing() {
    killed_import(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_import_leaves_nothing() {
    killed_import(Kind::Postgres).await;
}

async fn killed_import(kind: Kind) {
    let Some(t) = Transfer::new(kind, ISSUES).await else {
        return;
    };
    let before = State::capture(&t.target).await;
    let args = vec![
        "import".to_string(),
        "--json".into(),
        "--database-url".into(),
        t.target.url().to_string(),
        "--archive".into(),
        t.archive.display().to_string(),
        "--uploads-dir".into(),
        t.target.uploads_dir().display().to_string(),
        "--path".into(),
        "killed-import".into(),
        "--batch-size".into(),
        BATCH.into(),
    ];
    let outcome = tokio::task::spawn_blocking(move || run_and_kill(&args))
        .await
        .unwrap_or_else(|e| panic!("the process runner panicked: {e}"));
    assert!(
        outcome.killed,
        "{kind:?}: the import was not killed in time (exit {:?}); stderr:\n{}",
        outcome.status, outcome.stderr
    );
    assert_eq!(
        outcome.status.signal(),
        Some(9),
        "{kind:?}: the import was not ended by SIGKILL: {:?}",
        outcome.status
    );

    let after = State::capture(&t.target).await;
    before.assert_unchanged(
        &after,
        is_staging,
        &format!("{kind:?}: an import killed after {KILL_AT_ISSUES} issues"),
    );
    let left: Vec<&String> = after.files.difference(&before.files).collect();
    eprintln!("{kind:?}: a killed import left {left:?} (its staging directory)");

    // The target is usable: the same archive imports, next to the orphan.
    let summary = t.target.import(&t.import_request()).await;
    assert_eq!(summary.rows, t.rows_to_write());
    t.finish().await;
}

struct Outcome {
    killed: bool,
    status: std::process::ExitStatus,
    stderr: String,
}

/// Run `forge-cli args`, read its `--json` progress lines on stderr, and SIGKILL it once it has
/// reported [`KILL_AT_ISSUES`] imported issues (or after [`TIMEOUT`], which fails the test).
fn run_and_kill(args: &[String]) -> Outcome {
    let mut child = Command::new(env!("CARGO_BIN_EXE_forge-cli"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting forge-cli: {e}"));
    let stderr = child
        .stderr
        .take()
        .unwrap_or_else(|| panic!("forge-cli's stderr is piped"));
    // Lines arrive through a channel so that a silent process cannot block the test.
    let (lines, received) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + TIMEOUT;
    let mut seen = String::new();
    let mut killed = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match received.recv_timeout(left) {
            Ok(line) => {
                seen.push_str(&line);
                seen.push('\n');
                let progress: Option<Json> = serde_json::from_str(&line).ok();
                let far_enough = progress.as_ref().is_some_and(|p| {
                    p.get("phase") == Some(&Json::from("import"))
                        && p.get("relation") == Some(&Json::from("issues"))
                        && p.get("done").and_then(Json::as_u64).unwrap_or(0) >= KILL_AT_ISSUES
                });
                if far_enough {
                    // `Child::kill` sends SIGKILL on Unix.
                    killed = child.kill().is_ok();
                    break;
                }
            }
            // The process ended (stderr closed) before it got far enough.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                seen.push_str("(timed out)\n");
                break;
            }
        }
    }
    let status = child
        .wait()
        .unwrap_or_else(|e| panic!("waiting for forge-cli: {e}"));
    let _ = reader.join();
    Outcome {
        killed,
        status,
        stderr: seen,
    }
}
