//! The `forge` command line's contract for moving projects: with `--json`, `export` and `import`
//! print exactly one JSON object on stdout (progress goes to stderr); `inspect` exits 0 for a good
//! archive and 1 for a tampered one; failures print one `error: …` line and change nothing.
//!
//! The binary is forge's own `src/main.rs`, built by cargo as this package's `forge-cli` (see
//! `tests/Cargo.toml`).

use std::path::Path;
use std::process::{Command, Output};

use hoist_tests::archive::{Contents, rewrite_member};
use hoist_tests::state::State;
use hoist_tests::tenant::TenantRows;
use hoist_tests::{Instance, Kind, Transfer};
use serde_json::Value as Json;

fn forge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_forge-cli"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap_or_else(|e| panic!("running forge-cli: {e}"))
}

/// The one JSON object a successful `--json` command printed.
fn json_result(out: &Output, what: &str) -> serde_json::Map<String, Json> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what} failed: {stderr}");
    let stdout = String::from_utf8(out.stdout.clone())
        .unwrap_or_else(|e| panic!("{what}: stdout is not UTF-8: {e}"));
    assert_eq!(
        stdout.lines().count(),
        1,
        "{what}: stdout must be exactly one line: {stdout:?}"
    );
    match serde_json::from_str(&stdout) {
        Ok(Json::Object(map)) => map,
        other => panic!("{what}: stdout is not one JSON object: {other:?}"),
    }
}

/// A failed command: exit code 1, nothing on stdout, one `error: …` line last on stderr.
fn assert_failed(out: &Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{what}: exit status; stderr: {stderr}"
    );
    assert!(out.stdout.is_empty(), "{what}: stdout must stay empty");
    let last = stderr.lines().last().unwrap_or_default().to_string();
    assert!(last.starts_with("error: "), "{what}: stderr: {stderr}");
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_import_and_inspect_speak_json() {
    let Some(t) = Transfer::new(Kind::Sqlite, 10).await else {
        return;
    };
    let dir = t.dir.path();

    // export
    let archive = dir.join("cli-export.tar.gz");
    let out = forge(&[
        "export",
        "--json",
        "--database-url",
        t.source.url(),
        "--project",
        &t.project.to_string(),
        "--output",
        &archive.display().to_string(),
        "--uploads-dir",
        &t.source.uploads_dir().display().to_string(),
    ]);
    let result = json_result(&out, "forge export");
    assert_eq!(result.get("project_id"), Some(&Json::from(t.project)));
    assert_eq!(
        result.get("archive").and_then(Json::as_str),
        Some(archive.display().to_string().as_str())
    );
    let size = std::fs::metadata(&archive)
        .unwrap_or_else(|e| panic!("the archive exists: {e}"))
        .len();
    assert_eq!(result.get("bytes").and_then(Json::as_u64), Some(size));
    let records: u64 = Contents::load(&archive).relation_counts().values().sum();
    assert_eq!(result.get("rows").and_then(Json::as_u64), Some(records));
    // With --json, progress goes to stderr as JSON lines.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .lines()
            .any(|l| serde_json::from_str::<Json>(l).is_ok_and(|p| p["phase"] == "export")),
        "no JSON progress on stderr: {stderr}"
    );

    assert_eq!(
        result.get("import_limits"),
        Some(&Json::Array(vec![])),
        "a small archive needs no limit raised"
    );

    // import refused by a limit: the error says which `--limit` reads the archive anyway
    let before = State::capture(&t.target).await;
    let import = |archive: &std::path::Path, path: &str, extra: &[&str]| {
        let archive = archive.display().to_string();
        let uploads = t.target.uploads_dir().display().to_string();
        let mut args = vec![
            "import",
            "--json",
            "--database-url",
            t.target.url(),
            "--archive",
            &archive,
            "--uploads-dir",
            &uploads,
            "--path",
            path,
        ];
        args.extend_from_slice(extra);
        forge(&args)
    };
    let limited = |setting: &str| import(&archive, "limited", &["--limit", setting]);
    // One byte short of the archive's tar stream: the manifest shows it, before any member is read.
    let tar_bytes = std::io::copy(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(&archive).unwrap()),
        &mut std::io::sink(),
    )
    .unwrap();
    let line = assert_failed(
        &limited(&format!("max_total_bytes={}", tar_bytes - 1)),
        "forge import over max_total_bytes",
    );
    assert!(line.contains(&format!("({tar_bytes} bytes)")), "{line}");
    let hint = line
        .split("rerun with `--limit ")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("the error names the option that reads it: {line}"));
    assert!(hint.starts_with("max_total_bytes="), "{line}");
    before.assert_unchanged(
        &State::capture(&t.target).await,
        |_| false,
        "an import refused by a limit",
    );
    let usage = limited("max_entry_bytes=1GiB");
    let stderr = String::from_utf8_lossy(&usage.stderr);
    assert_eq!(usage.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("unknown limit `max_entry_bytes`"),
        "{stderr}"
    );
    let result = json_result(
        &limited(hint),
        "forge import with the limit the error named",
    );
    assert_eq!(
        result.get("rows").and_then(Json::as_u64),
        Some(t.rows_to_write())
    );

    // import
    let before = State::capture(&t.target).await;
    let out = import(&archive, "imported-by-the-cli", &[]);
    let result = json_result(&out, "forge import");
    let project_id = result
        .get("project_id")
        .and_then(Json::as_i64)
        .unwrap_or_else(|| panic!("forge import: no integer project_id in {result:?}"));
    assert_eq!(
        result.get("rows").and_then(Json::as_u64),
        Some(t.rows_to_write())
    );
    let rows = TenantRows::load(&t.target.db, project_id).await;
    assert_eq!(
        hoist_tests::tenant::text(rows.root(), "path"),
        Some("imported-by-the-cli")
    );
    let after = State::capture(&t.target).await;
    assert_eq!(after.total_rows(), before.total_rows() + t.rows_to_write());

    // inspect: a good archive
    let good = forge(&["inspect", &archive.display().to_string()]);
    assert_eq!(
        good.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    let good = forge(&["inspect", "--json", &archive.display().to_string()]);
    let result = json_result(&good, "forge inspect --json");
    assert_eq!(result.get("verified"), Some(&Json::Bool(true)));

    // inspect: a tampered one (one byte of a member changed; gzip and tar intact)
    let tampered = dir.join("tampered.tar.gz");
    rewrite_member(&archive, &tampered, |name, content| {
        if name == "tree/project/issues.ndjson"
            && let Some(at) = content.iter().position(|b| b.is_ascii_lowercase())
        {
            content[at] = content[at].to_ascii_uppercase();
        }
    });
    let bad = forge(&["inspect", &tampered.display().to_string()]);
    let line = assert_failed(&bad, "forge inspect of a tampered archive");
    assert!(
        line.contains("tree/project/issues.ndjson"),
        "the error names the member: {line}"
    );

    // import of the tampered archive: exit 1, nothing written
    let before = State::capture(&t.target).await;
    let out = import(&tampered, "tampered", &[]);
    assert_failed(&out, "forge import of a tampered archive");
    before.assert_unchanged(
        &State::capture(&t.target).await,
        |_| false,
        "a rejected CLI import",
    );

    t.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_fails_on_what_is_not_an_archive() {
    let dir = hoist_tests::scratch_dir();
    let missing = dir.path().join("missing.tar.gz");
    assert_failed(
        &forge(&["inspect", &missing.display().to_string()]),
        "forge inspect of a missing file",
    );
    let garbage = dir.path().join("garbage.tar.gz");
    std::fs::write(&garbage, b"this is not a gzip stream")
        .unwrap_or_else(|e| panic!("writing: {e}"));
    assert_failed(
        &forge(&["inspect", &garbage.display().to_string()]),
        "forge inspect of garbage",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_of_a_missing_project_fails_cleanly() {
    let Some(source) = Instance::new(Kind::Sqlite).await else {
        return;
    };
    source.seed_users(3).await;
    let dir = hoist_tests::scratch_dir();
    let archive = dir.path().join("none.tar.gz");
    let out = forge(&[
        "export",
        "--json",
        "--database-url",
        source.url(),
        "--project",
        "4242",
        "--output",
        &archive.display().to_string(),
        "--uploads-dir",
        &source.uploads_dir().display().to_string(),
    ]);
    let line = assert_failed(&out, "forge export of a missing project");
    assert!(line.contains("4242"), "the error names the project: {line}");
    assert!(!Path::new(&archive).exists(), "no archive is left behind");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap_or_else(|e| panic!("listing: {e}"))
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "an aborted export left {left:?}");
    source.finish().await;
}
