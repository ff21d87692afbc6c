//! The `forge` binary: `--json` output, logs on stderr, exit codes.

use std::process::{Command, Output};

fn forge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_forge"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "info")
        .output()
        .expect("the forge binary runs")
}

#[test]
fn migrate_then_seed_with_json_output() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("forge.db").display()
    );

    let out = forge(&["migrate", "--database-url", &url, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["dialect"], "sqlite");
    assert_eq!(json["version"], 1);

    let out = forge(&[
        "seed",
        "--json",
        "--database-url",
        &url,
        "--issues",
        "10",
        "--seed",
        "4",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // stdout is exactly one JSON object (one line); logs went to stderr.
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "stdout: {stdout}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["project_ids"], serde_json::json!([1, 2]));
    assert_eq!(json["rows"]["issues"], 20);
    assert_eq!(json["rows"]["projects"], 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("seeded project"));
    // Uploads default to `forge-uploads` beside the SQLite file.
    assert!(dir.path().join("forge-uploads").join("1").is_dir());
}

#[test]
fn human_output_without_json() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("forge.db").display()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_forge"))
        .args(["migrate"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "sqlite database migrated to version 1"
    );
}

#[test]
fn errors_exit_1_with_one_line() {
    let out = forge(&["migrate", "--database-url", "oracle://db.example.com/x"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("oracle"), "{stderr}");
    assert!(out.stdout.is_empty());

    // Seeding an unmigrated database fails cleanly too.
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("empty.db").display()
    );
    let out = forge(&["seed", "--database-url", &url, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: ") && last.contains("forge migrate"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn usage_errors_exit_1() {
    let out = forge(&["seed"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--database-url"));
}
