//! A tiny bench run (`--rows 2000 --json`) against PostgreSQL: the report has every key with sane
//! values, and the bench leaves no database and no file behind. No timing is asserted.
//!
//! PostgreSQL comes from `HOIST_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). Without a server the test is skipped with a
//! loud message, except when `CI` is set, where it fails.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use sqlx::{Connection, PgConnection};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The keys the bench promises (the list and the extras BENCHMARKS.md relies on).
const KEYS: &[&str] = &[
    "rows",
    "hoist_export_s",
    "hoist_import_s",
    "copy_out_s",
    "copy_in_s",
    "export_ratio",
    "import_ratio",
    "peak_rss_export_bytes",
    "peak_rss_import_bytes",
    "django_dump_s",
    "django_load_s",
    "django_status",
    "django_reason",
    "django_speedup",
    "archive_bytes",
    "copy_bytes",
    "tables",
    "row_check",
    "targets",
    "machine",
    "problems",
];

async fn server() -> Option<String> {
    let url = std::env::var("HOIST_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.into());
    let connected =
        tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(&url)).await;
    match connected {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Some(url)
        }
        Ok(Err(e)) => skip(&url, &e.to_string()),
        Err(_) => skip(&url, "timed out"),
    }
}

fn skip(url: &str, why: &str) -> Option<String> {
    if std::env::var_os("CI").is_some() {
        panic!("PostgreSQL at {url} is required in CI: {why}");
    }
    eprintln!("\n*** SKIPPED hoist-bench smoke test: no PostgreSQL at {url} ({why}) ***\n");
    None
}

fn positive_number(report: &Value, key: &str) -> f64 {
    let v = report[key]
        .as_f64()
        .unwrap_or_else(|| panic!("`{key}` is not a number: {}", report[key]));
    assert!(v.is_finite() && v > 0.0, "`{key}` = {v}");
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tiny_run_reports_every_number() {
    let Some(url) = server().await else { return };
    let work = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_hoist-bench"))
        .args([
            "--database-url",
            &url,
            "--rows",
            "2000",
            "--json",
            "--work-dir",
        ])
        .arg(work.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hoist-bench");
    let pid = child.id();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "hoist-bench failed: {stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "one JSON object: {stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();

    for key in KEYS {
        assert!(report.get(key).is_some(), "missing `{key}` in {report:#}");
    }
    let rows = report["rows"].as_u64().unwrap();
    assert!((1_000..4_000).contains(&rows), "rows = {rows}");
    let per_table: u64 = report["tables"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(per_table, rows);
    for key in [
        "hoist_export_s",
        "hoist_import_s",
        "copy_out_s",
        "copy_in_s",
        "export_ratio",
        "import_ratio",
        "archive_bytes",
        "copy_bytes",
    ] {
        positive_number(&report, key);
    }
    for key in ["peak_rss_export_bytes", "peak_rss_import_bytes"] {
        let rss = report[key].as_u64().unwrap();
        assert!(
            (1 << 20..16 << 30).contains(&rss),
            "`{key}` = {rss} bytes is not a plausible peak RSS"
        );
    }
    let ratio = report["export_ratio"].as_f64().unwrap();
    let expected =
        report["hoist_export_s"].as_f64().unwrap() / report["copy_out_s"].as_f64().unwrap();
    assert!((ratio - expected).abs() < 1e-9);
    assert_eq!(report["row_check"], "ok", "{report:#}");
    assert_eq!(report["problems"], Value::Array(Vec::new()), "{report:#}");
    assert_eq!(
        report["machine"]["cpus"].as_u64().map(|n| n > 0),
        Some(true)
    );

    // Django: measured, or unavailable with a reason — never zero.
    match report["django_status"].as_str().unwrap() {
        "measured" => {
            positive_number(&report, "django_dump_s");
            positive_number(&report, "django_load_s");
            positive_number(&report, "django_speedup");
            assert!(report["django_reason"].is_null());
        }
        "unavailable" => {
            eprintln!("note: Django unavailable: {}", report["django_reason"]);
            assert!(report["django_dump_s"].is_null());
            assert!(report["django_load_s"].is_null());
            assert!(report["django_speedup"].is_null());
            assert!(!report["django_reason"].as_str().unwrap().is_empty());
        }
        other => panic!("Django {other} at 2,000 rows: {}", report["django_reason"]),
    }

    // Nothing left behind: no database named after the bench's pid, an empty work directory.
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let left: Vec<String> =
        sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE datname LIKE $1")
            .bind(format!("hoist_bench_{pid}_%"))
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let _ = conn.close().await;
    assert!(left.is_empty(), "databases left behind: {left:?}");
    let files: Vec<_> = std::fs::read_dir(work.path()).unwrap().collect();
    assert!(files.is_empty(), "files left behind: {files:?}");
}

#[test]
fn bad_options_fail_before_touching_a_database() {
    let out = Command::new(env!("CARGO_BIN_EXE_hoist-bench"))
        .args([
            "--rows",
            "0",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid option `rows`"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn the_bench_binary_runs_forge() {
    let out = Command::new(env!("CARGO_BIN_EXE_hoist-bench"))
        .args(["forge", "--version"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("forge "));
}
