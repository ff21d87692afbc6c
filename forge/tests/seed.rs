//! The seed generator against real databases: determinism, scaling, referential integrity, uploads.
//! SQLite always; PostgreSQL and MariaDB when their servers answer (see `hoist::backend::testing`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use forge::{SeedOptions, SeedReport, migrate, seed};
use hoist::backend::testing::{TestDb, TestDbKind};
use hoist::backend::{Database, Filter, Select};
use hoist::value::{Row, Value};
use sha2::{Digest, Sha256};

type Dump = BTreeMap<&'static str, Vec<Row>>;

/// Compare two dumps table by table, naming the first difference (dumps are too big to print).
fn assert_same(a: &Dump, b: &Dump, what: &str) {
    for (table, rows) in a {
        let other = &b[table];
        assert_eq!(rows.len(), other.len(), "{what}: row count of {table}");
        for (x, y) in rows.iter().zip(other) {
            assert_eq!(x, y, "{what}: first differing row of {table}");
        }
    }
}

fn options(seed: u64, issues: usize, uploads_dir: &Path) -> SeedOptions {
    SeedOptions {
        projects: 2,
        issues,
        seed,
        users: 12,
        uploads_dir: uploads_dir.to_owned(),
    }
}

async fn migrated(test_db: &TestDb) -> Database {
    let db = test_db.connect().await;
    migrate(&db).await.unwrap();
    db
}

/// Every file under `dir`, relative path → bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(path.strip_prefix(root).unwrap().to_owned(), bytes);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn count_where(rows: &[Row], col: usize, pred: impl Fn(&Value) -> bool) -> usize {
    rows.iter().filter(|r| pred(&r[col])).count()
}

fn col(table: &str, name: &str) -> usize {
    let (_, columns) = forge::seed::TABLES
        .iter()
        .find(|(t, _)| *t == table)
        .unwrap();
    columns.iter().position(|(c, _)| *c == name).unwrap()
}

#[tokio::test]
async fn same_seed_gives_the_same_rows_and_files() {
    let (a, b) = (TestDb::sqlite(), TestDb::sqlite());
    let (ua, ub) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (da, db) = (migrated(&a).await, migrated(&b).await);
    let ra = seed(&da, &options(7, 40, ua.path())).await.unwrap();
    let rb = seed(&db, &options(7, 40, ub.path())).await.unwrap();
    assert_eq!(ra, rb);
    assert_same(&dump(&da).await, &dump(&db).await, "same seed");
    let (fa, fb) = (files(ua.path()), files(ub.path()));
    assert!(!fa.is_empty());
    assert_eq!(fa, fb, "upload files");
    da.close().await;
    db.close().await;
}

#[tokio::test]
async fn different_seeds_give_different_data() {
    let (a, b) = (TestDb::sqlite(), TestDb::sqlite());
    let uploads = tempfile::tempdir().unwrap();
    let (da, db) = (migrated(&a).await, migrated(&b).await);
    seed(&da, &options(7, 40, &uploads.path().join("a")))
        .await
        .unwrap();
    seed(&db, &options(8, 40, &uploads.path().join("b")))
        .await
        .unwrap();
    let (xa, xb) = (dump(&da).await, dump(&db).await);
    // Users depend only on their position; everything else on the seed.
    assert_eq!(xa["users"], xb["users"]);
    for table in ["projects", "issues", "notes", "merge_request_diff_files"] {
        assert_ne!(xa[table], xb[table], "{table} should differ between seeds");
    }
    da.close().await;
    db.close().await;
}

#[tokio::test]
async fn row_counts_scale_with_issues_and_match_the_report() {
    let mut per_issue = Vec::new();
    for issues in [50, 200] {
        let t = TestDb::sqlite();
        let uploads = tempfile::tempdir().unwrap();
        let db = migrated(&t).await;
        let opts = SeedOptions {
            projects: 1,
            ..options(3, issues, uploads.path())
        };
        let report: SeedReport = seed(&db, &opts).await.unwrap();
        let rows = dump(&db).await;
        for (table, n) in &report.rows {
            assert_eq!(rows[table.as_str()].len() as u64, *n, "report of {table}");
        }
        assert_eq!(report.rows["issues"], issues as u64);
        assert_eq!(report.rows["milestones"], (issues / 20 + 1) as u64);
        assert_eq!(report.rows["ci_pipelines"], (issues / 2) as u64);
        assert_eq!(report.rows["merge_requests"], (issues / 2) as u64);
        assert_eq!(report.rows["issue_links"], (issues / 10) as u64);
        assert_eq!(report.rows["webhooks"], 2);
        assert_eq!(report.rows["project_features"], 1);
        let project_rows =
            report.total_rows() - report.rows["users"] - report.rows["personal_access_tokens"];
        per_issue.push(project_rows as f64 / issues as f64);
        db.close().await;
    }
    eprintln!("rows per issue: {per_issue:?}");
    // The module docs promise about 20.5 rows per issue (plus ~40 fixed rows per project).
    for ratio in &per_issue {
        assert!((18.0..24.0).contains(ratio), "rows per issue {ratio}");
    }
}

#[tokio::test]
async fn every_reference_is_valid_and_the_shapes_are_realistic() {
    let t = TestDb::sqlite();
    let uploads = tempfile::tempdir().unwrap();
    let db = migrated(&t).await;
    let report = seed(&db, &options(11, 120, uploads.path())).await.unwrap();
    assert_eq!(report.project_ids.len(), 2);

    let pool = db.as_sqlite().unwrap();
    let violations = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(pool)
        .await
        .unwrap();
    assert!(
        violations.is_empty(),
        "{} foreign key violations",
        violations.len()
    );

    // Polymorphic references point at existing rows of the named table, in the same project.
    let polymorphic = [
        ("notes", "noteable", "Issue", "issues"),
        ("notes", "noteable", "MergeRequest", "merge_requests"),
        ("notes", "noteable", "Snippet", "snippets"),
        ("label_links", "target", "Issue", "issues"),
        ("label_links", "target", "MergeRequest", "merge_requests"),
        ("award_emoji", "awardable", "Issue", "issues"),
        ("award_emoji", "awardable", "MergeRequest", "merge_requests"),
        ("award_emoji", "awardable", "Note", "notes"),
        ("events", "target", "Issue", "issues"),
        ("events", "target", "MergeRequest", "merge_requests"),
        ("events", "target", "Note", "notes"),
        ("events", "target", "Milestone", "milestones"),
        ("uploads", "model", "Project", "projects"),
        ("uploads", "model", "Issue", "issues"),
        ("uploads", "model", "Note", "notes"),
    ];
    for (table, name, ty, target) in polymorphic {
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {table} WHERE {name}_type = '{ty}'"
        )))
        .fetch_one(pool)
        .await
        .unwrap();
        let dangling: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {table} t WHERE t.{name}_type = '{ty}' \
             AND NOT EXISTS (SELECT 1 FROM {target} x WHERE x.id = t.{name}_id)"
        )))
        .fetch_one(pool)
        .await
        .unwrap();
        assert!(total > 0, "no {table} on {ty}");
        assert_eq!(
            dangling, 0,
            "{table}.{name} dangling references to {target}"
        );
    }
    let untyped: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM events WHERE target_type IS NULL AND target_id IS NULL",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert!(untyped > 0, "events without a target");
    let cross_project: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM merge_requests m JOIN ci_pipelines p ON p.id = m.head_pipeline_id \
         WHERE p.project_id <> m.project_id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(cross_project, 0, "head pipelines of another project");
    let cross_links: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM issue_links l JOIN issues s ON s.id = l.source_id \
         JOIN issues t ON t.id = l.target_id WHERE s.project_id <> t.project_id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(cross_links, 0, "issue links across projects");

    let rows = dump(&db).await;
    // Issue links go both ways.
    let links = &rows["issue_links"];
    let (s, t) = (
        col("issue_links", "source_id"),
        col("issue_links", "target_id"),
    );
    assert!(links.iter().any(|r| r[s].as_i64() < r[t].as_i64()));
    assert!(links.iter().any(|r| r[s].as_i64() > r[t].as_i64()));
    // About 30% of issues have no position; some are confidential; some have no assignee.
    let issues = &rows["issues"];
    let unpositioned = count_where(issues, col("issues", "relative_position"), Value::is_null);
    let share = unpositioned as f64 / issues.len() as f64;
    assert!((0.2..0.4).contains(&share), "unpositioned share {share}");
    assert!(
        count_where(issues, col("issues", "confidential"), |v| *v
            == Value::Bool(true))
            > 0
    );
    assert!(count_where(issues, col("issues", "assignee_id"), Value::is_null) > 0);
    assert!(count_where(issues, col("issues", "milestone_id"), Value::is_null) > 0);
    let description = col("issues", "description");
    for issue in issues {
        if let Some(d) = issue[description].as_str() {
            assert!(
                (200..=2000).contains(&d.len()),
                "issue description of {} bytes",
                d.len()
            );
        }
    }
    // Access levels span guest..owner, some above 40.
    let levels: Vec<i64> = rows["project_members"]
        .iter()
        .filter_map(|r| r[col("project_members", "access_level")].as_i64())
        .collect();
    assert!(levels.iter().all(|l| [10, 20, 30, 40, 50].contains(l)));
    assert!(levels.iter().any(|&l| l > 40));
    // Label titles are unique per project.
    let labels = &rows["labels"];
    let mut keys: Vec<(i64, String)> = labels
        .iter()
        .map(|r| {
            (
                r[col("labels", "project_id")].as_i64().unwrap(),
                r[col("labels", "title")].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), labels.len());
    assert_eq!(labels.len(), 40);
    // Exactly one admin.
    let admins = count_where(&rows["users"], col("users", "admin"), |v| {
        *v == Value::Bool(true)
    });
    assert_eq!(admins, 1);
    // Timestamps: updated_at never before created_at.
    for table in [
        "issues",
        "merge_requests",
        "notes",
        "milestones",
        "ci_pipelines",
    ] {
        let (c, u) = (col(table, "created_at"), col(table, "updated_at"));
        for r in &rows[table] {
            let (Value::Timestamp(c), Value::Timestamp(u)) = (&r[c], &r[u]) else {
                panic!("{table}: timestamps expected")
            };
            assert!(u >= c, "{table}: updated_at before created_at");
        }
    }
    // Upload rows describe real files (size and sha256), and some files share their content.
    let (path, size, checksum) = (
        col("uploads", "path"),
        col("uploads", "size"),
        col("uploads", "checksum"),
    );
    let mut sums = Vec::new();
    for r in &rows["uploads"] {
        let bytes = std::fs::read(uploads.path().join(r[path].as_str().unwrap())).unwrap();
        assert_eq!(Some(bytes.len() as i64), r[size].as_i64());
        let sum = hex::encode(Sha256::digest(&bytes));
        assert_eq!(Some(sum.as_str()), r[checksum].as_str());
        sums.push(sum);
    }
    let n = sums.len();
    sums.sort();
    sums.dedup();
    assert!(sums.len() < n, "some uploads share their content");
    db.close().await;
}

#[tokio::test]
async fn seeding_again_reuses_users_and_adds_projects() {
    let t = TestDb::sqlite();
    let uploads = tempfile::tempdir().unwrap();
    let db = migrated(&t).await;
    let first = seed(&db, &options(1, 10, uploads.path())).await.unwrap();
    assert_eq!(first.rows["users"], 12);
    let more_users = SeedOptions {
        users: 15,
        ..options(1, 10, uploads.path())
    };
    let second = seed(&db, &more_users).await.unwrap();
    assert_eq!(
        second.rows["users"], 3,
        "only the missing users are created"
    );
    assert_eq!(second.project_ids.len(), 2);
    assert!(
        second
            .project_ids
            .iter()
            .all(|id| !first.project_ids.contains(id))
    );
    migrate(&db).await.expect("migrating again is a no-op");
    db.close().await;
}

#[tokio::test]
async fn invalid_options_are_refused() {
    let t = TestDb::sqlite();
    let uploads = tempfile::tempdir().unwrap();
    let db = migrated(&t).await;
    let err = seed(
        &db,
        &SeedOptions {
            users: 0,
            ..options(1, 10, uploads.path())
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("users"), "{err}");
    db.close().await;
}

/// The same seed gives the same rows on every backend (ids, text, timestamps to the microsecond).
#[tokio::test]
async fn every_backend_gets_the_same_data() {
    let sqlite = TestDb::sqlite();
    let uploads = tempfile::tempdir().unwrap();
    let reference_db = migrated(&sqlite).await;
    seed(
        &reference_db,
        &options(5, 30, &uploads.path().join("sqlite")),
    )
    .await
    .unwrap();
    let reference = dump(&reference_db).await;
    reference_db.close().await;
    for kind in [TestDbKind::Postgres, TestDbKind::MySql] {
        let Some(server) = TestDb::create(kind).await else {
            continue;
        };
        let db = migrated(&server).await;
        let dir = uploads.path().join(format!("{kind:?}"));
        seed(&db, &options(5, 30, &dir)).await.unwrap();
        assert_same(&reference, &dump(&db).await, &format!("{kind:?} vs SQLite"));
        assert_eq!(
            files(&dir),
            files(&uploads.path().join("sqlite")),
            "{kind:?} uploads"
        );
        db.close().await;
        server.drop_db().await;
    }
}

/// `schema.snapshot.json` is exactly what introspecting the migrated schema gives, on every backend.
#[tokio::test]
async fn schema_snapshot_matches_the_migrations() {
    let expected = include_str!("../../schema.snapshot.json");
    for kind in TestDbKind::ALL {
        let Some(t) = TestDb::create(kind).await else {
            continue;
        };
        let db = migrated(&t).await;
        let schema = db.introspect(&[]).await.unwrap();
        let actual = schema.to_canonical_json();
        db.close().await;
        t.drop_db().await;
        assert!(
            actual == expected,
            "{kind:?}: schema.snapshot.json does not match the migrations; introspected:\n{actual}"
        );
    }
}

/// A project that fails half-way leaves no rows and no upload files, and the error names the cause.
#[tokio::test]
async fn a_failed_project_leaves_nothing_behind() {
    let t = TestDb::sqlite();
    let uploads = tempfile::tempdir().unwrap();
    let db = migrated(&t).await;
    // audit_logs is written last, after every upload file: make its inserts fail.
    db.execute_script(
        "CREATE TRIGGER refuse_audit_logs BEFORE INSERT ON audit_logs \
         BEGIN SELECT RAISE(ABORT, 'audit log is read-only'); END;",
    )
    .await
    .unwrap();
    let err = seed(&db, &options(2, 40, uploads.path()))
        .await
        .unwrap_err();
    let message = err.one_line();
    assert!(
        message.contains("audit_logs") && message.contains("read-only"),
        "{message}"
    );
    let rows = dump(&db).await;
    assert_eq!(
        rows["users"].len(),
        12,
        "users are committed before the projects"
    );
    for (table, rows) in rows {
        if !["users", "personal_access_tokens"].contains(&table) {
            assert!(rows.is_empty(), "{table} keeps {} rows", rows.len());
        }
    }
    assert!(
        files(uploads.path()).is_empty(),
        "upload files of the failed project remain"
    );
    db.close().await;
}

/// Every row of every forge table.
async fn dump(db: &Database) -> Dump {
    let mut snap = db.snapshot().await.unwrap();
    let mut out = BTreeMap::new();
    for &(table, columns) in forge::seed::TABLES {
        let q = Select {
            table,
            columns,
            filter: Filter::All,
            type_eq: None,
            order: &[],
            after: None,
            limit: None,
        };
        out.insert(table, snap.select(&q).await.unwrap());
    }
    snap.finish().await.unwrap();
    out
}
