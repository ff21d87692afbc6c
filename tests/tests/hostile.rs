//! Hostile archives through the whole engine (SQLite and PostgreSQL). Damaged archives fail with a
//! typed error before the database is touched; crafted records fail with an error naming the
//! member and line, inside the transaction, which rolls back; keys an archive should not carry are
//! dropped and reported as warnings. Whatever fails leaves no row and no file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use forge::ForgeError;
use hoist::archive::ArchiveError;
use hoist::import::{DropReason, ImportError, ImportSummary, UploadError, WarningReason};
use hoist::progress::{Phase, ProgressSink};
use hoist_tests::archive::{Contents, rewrite_member};
use hoist_tests::state::State;
use hoist_tests::tenant::{TenantRows, text};
use hoist_tests::{Kind, Transfer};
use serde_json::{Value as Json, json};

const ISSUES: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_hostile_archives() {
    hostile_archives(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_hostile_archives() {
    hostile_archives(Kind::Postgres).await;
}

async fn hostile_archives(kind: Kind) {
    let Some(t) = Transfer::new(kind, ISSUES).await else {
        return;
    };
    let dir = t.dir.path().to_path_buf();
    let original = std::fs::read(&t.archive).unwrap_or_else(|e| panic!("reading the archive: {e}"));

    // --- Damaged archives: typed errors before any database access.

    // A byte flipped in the middle of the compressed stream.
    let flipped = dir.join("flipped.tar.gz");
    let mut bytes = original.clone();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    std::fs::write(&flipped, &bytes).unwrap_or_else(|e| panic!("writing: {e}"));
    rejected(&t, &flipped, "a flipped byte", |e| {
        matches!(e, ImportError::Archive(_))
    })
    .await;

    // One byte of the issues member changed (valid gzip and tar): its checksum no longer matches.
    let tampered = dir.join("tampered.tar.gz");
    let issues_member = "tree/project/issues.ndjson";
    rewrite_member(&t.archive, &tampered, |name, content| {
        if name == issues_member
            && let Some(at) = content.iter().position(|b| b.is_ascii_lowercase())
        {
            content[at] = content[at].to_ascii_uppercase();
        }
    });
    rejected(&t, &tampered, "a changed member", |e| {
        matches!(e, ImportError::Archive(ArchiveError::ChecksumMismatch { member, .. }) if member == issues_member)
    })
    .await;

    // Another format version.
    let version = dir.join("version.tar.gz");
    rewrite_member(&t.archive, &version, |name, content| {
        if name == "VERSION" {
            *content = b"999\n".to_vec();
        }
    });
    rejected(&t, &version, "another format version", |e| {
        matches!(
            e,
            ImportError::Archive(ArchiveError::VersionMismatch { found: 999, .. })
        )
    })
    .await;

    // A manifest that claims fewer issues than the member holds.
    let counts = dir.join("counts.tar.gz");
    rewrite_member(&t.archive, &counts, |name, content| {
        if name == "manifest.json" {
            let mut manifest: Json = serde_json::from_slice(content)
                .unwrap_or_else(|e| panic!("the manifest is JSON: {e}"));
            manifest["relations"]["project/issues"]["records"] = json!(ISSUES - 1);
            *content =
                serde_json::to_vec_pretty(&manifest).unwrap_or_else(|e| panic!("serializing: {e}"));
        }
    });
    rejected(&t, &counts, "a manifest whose counts lie", |e| {
        matches!(
            e,
            ImportError::Archive(ArchiveError::ManifestInvalid { .. })
        )
    })
    .await;

    // --- Crafted records (valid archives): an error naming the record, nothing written.

    let events_member = "tree/project/events.ndjson";
    let event_line = {
        let events = t.contents.relation("events");
        assert!(!events.is_empty(), "the seed writes events");
        events.len() as u64
    };
    failed_in_transaction(
        &t,
        &crafted(&t, &dir, "bad-type", |c| {
            if let Some(e) = c.relation_mut("events").last_mut() {
                e.insert("target_type".into(), "User".into());
                e.insert("target_id".into(), 1.into());
            }
        }),
        "a polymorphic type that is not declared",
        events_member,
        event_line,
    )
    .await;

    let (issue_line, _) = issue_with(&t.contents, "issue_links");
    failed_in_transaction(
        &t,
        &crafted(&t, &dir, "dangling", |c| {
            let (line, _) = issue_with(c, "issue_links");
            let issue = &mut c.relation_mut("issues")[line as usize - 1];
            if let Some(Json::Array(links)) = issue.get_mut("issue_links")
                && let Some(Json::Object(link)) = links.first_mut()
            {
                link.insert("target_id".into(), 999_999_999.into());
            }
        }),
        "a NOT NULL reference to a record not in the archive",
        issues_member,
        issue_line,
    )
    .await;

    failed_in_transaction(
        &t,
        &crafted(&t, &dir, "wrong-type", |c| {
            c.relation_mut("issues")[1].insert("title".into(), 5.into());
        }),
        "a number where text belongs",
        issues_member,
        2,
    )
    .await;

    failed_in_transaction(
        &t,
        &crafted(&t, &dir, "duplicate", |c| {
            let issues = c.relation_mut("issues");
            let id = issues[0].get("id").cloned().unwrap_or(Json::Null);
            issues[3].insert("id".into(), id);
        }),
        "two issues with the same id",
        issues_member,
        4,
    )
    .await;

    // An upload record whose file is not in the archive.
    let missing_upload = crafted(&t, &dir, "missing-upload", |c| {
        let upload = c
            .relation_mut("uploads")
            .first_mut()
            .unwrap_or_else(|| panic!("the project has uploads"));
        upload.insert("upload_sha256".into(), "0".repeat(64).into());
    });
    rejected_in_transaction(&t, &missing_upload, "an upload without its file", |e| {
        matches!(e, ImportError::Upload(UploadError::Missing { .. }))
    })
    .await;

    // A row the database refuses (two issues with one `iid`, against unique(project_id, iid)):
    // the error comes from the database at the last write, after the upload files were staged.
    // (A member listed twice no longer does: memberships that collide are dropped with a warning.)
    let twice_a_member = crafted(&t, &dir, "twice-an-iid", |c| {
        let issues = c.relation_mut("issues");
        let mut copy = issues[0].clone();
        copy.retain(|_, v| !v.is_array() && !v.is_object());
        copy.insert("id".into(), 999_999_999.into());
        issues.push(copy);
    });
    rejected_in_transaction(&t, &twice_a_member, "a row the database refuses", |e| {
        matches!(e, ImportError::Backend(_))
    })
    .await;

    // --- Keys an archive should not carry: dropped, reported, never stored.

    let extra_keys = crafted(&t, &dir, "extra-keys", |c| {
        c.root
            .insert("description_html".into(), "<script>root</script>".into());
        c.root.insert("runners_token".into(), "stolen-token".into());
        let issue = &mut c.relation_mut("issues")[0];
        issue.insert(
            "description_html".into(),
            "<script>alert(1)</script>".into(),
        );
        issue.insert("evil_attributes".into(), json!({"admin": true}));
        issue.insert("owner_id".into(), 1.into());
        if let Some(Json::Array(notes)) = issue.get_mut("notes")
            && let Some(Json::Object(note)) = notes.first_mut()
        {
            note.insert("note_html".into(), "<b>x</b>".into());
        }
    });
    let with_extra_notes = t.contents.relation("issues")[0]
        .get("notes")
        .and_then(Json::as_array)
        .is_some_and(|n| !n.is_empty());
    let summary = imported(&t, &extra_keys, "extra-keys").await;
    let mut expected = vec![
        ("project", "description_html", DropReason::Rendered),
        ("project", "runners_token", DropReason::UnknownKey),
        ("project/issues", "description_html", DropReason::Rendered),
        ("project/issues", "evil_attributes", DropReason::Prohibited),
        (
            "project/issues",
            "owner_id",
            DropReason::UndeclaredReference,
        ),
    ];
    if with_extra_notes {
        expected.push(("project/issues/notes", "note_html", DropReason::Rendered));
    }
    for (relation, key, reason) in expected {
        assert!(
            summary.warnings.iter().any(|w| w.relation == relation
                && w.key == key
                && w.reason == WarningReason::Dropped(reason)),
            "{kind:?}: no warning that {relation} `{key}` was dropped ({reason:?}): {:?}",
            summary.warnings
        );
    }
    assert_eq!(summary.rows, t.rows_to_write());
    let rows = TenantRows::load(&t.target.db, summary.root_id).await;
    for table in ["projects", "issues"] {
        for row in rows.rows(table) {
            assert_eq!(
                text(row, "description_html"),
                None,
                "{table}.description_html was imported"
            );
        }
    }
    let token = text(rows.root(), "runners_token");
    assert!(
        token.is_some_and(|t| t != "stolen-token"),
        "the project's runners_token is {token:?}, not a fresh one"
    );

    // A relation the plan does not know: skipped with a warning, nothing of it written.
    let unknown = crafted(&t, &dir, "unknown-relation", |c| {
        let issue = c.relation("issues")[0].clone();
        c.relations.push(("evil_things".into(), vec![issue]));
    });
    let summary = imported(&t, &unknown, "unknown-relation").await;
    assert!(
        summary
            .warnings
            .iter()
            .any(|w| w.relation == "project/evil_things"
                && w.reason == WarningReason::UnknownRelation),
        "{kind:?}: no warning about the unknown relation: {:?}",
        summary.warnings
    );
    assert_eq!(summary.rows, t.rows_to_write());

    // An upload path that climbs out of the uploads directory: only a sanitized file name stays.
    let climbing = crafted(&t, &dir, "climbing-upload", |c| {
        if let Some(upload) = c.relation_mut("uploads").first_mut() {
            upload.insert("path".into(), "../../../../etc/passwd".into());
        }
    });
    let summary = imported(&t, &climbing, "climbing-upload").await;
    let rows = TenantRows::load(&t.target.db, summary.root_id).await;
    let prefix = format!("projects/{}/", summary.root_id);
    for upload in rows.rows("uploads") {
        let path = text(upload, "path").unwrap_or_default();
        assert!(
            path.starts_with(&prefix) && !path.contains(".."),
            "{kind:?}: upload stored at {path:?}"
        );
        assert!(
            t.target.uploads_dir().join(path).is_file(),
            "{path} missing"
        );
    }
    let outside = t.target.uploads_dir().parent().map(|p| p.join("etc"));
    assert!(
        outside.is_none_or(|p| !p.exists()),
        "a file escaped the uploads directory"
    );

    t.finish().await;
}

/// Write `contents` changed by `change` as a new archive named `name`.
fn crafted(t: &Transfer, dir: &Path, name: &str, change: impl FnOnce(&mut Contents)) -> PathBuf {
    let mut contents = t.contents.clone();
    change(&mut contents);
    let path = dir.join(format!("{name}.tar.gz"));
    contents.save(&path);
    path
}

/// The 1-based line of the first issue with a non-empty `relation`, and the issue.
fn issue_with<'c>(
    contents: &'c Contents,
    relation: &str,
) -> (u64, &'c serde_json::Map<String, Json>) {
    contents
        .relation("issues")
        .iter()
        .enumerate()
        .find(|(_, i)| {
            i.get(relation)
                .and_then(Json::as_array)
                .is_some_and(|a| !a.is_empty())
        })
        .map(|(n, i)| (n as u64 + 1, i))
        .unwrap_or_else(|| panic!("no issue has {relation}"))
}

/// Import `archive`, recording the phases of the progress events.
async fn attempt(
    t: &Transfer,
    archive: &Path,
    path: &str,
) -> (Result<ImportSummary, ForgeError>, Vec<Phase>) {
    let phases = Arc::new(Mutex::new(Vec::new()));
    let mut req = t.target.import_request(archive);
    req.path = Some(path.to_string());
    req.progress = {
        let phases = phases.clone();
        ProgressSink::new(move |p| {
            if let Ok(mut phases) = phases.lock() {
                phases.push(p.phase);
            }
        })
    };
    let result = t.target.try_import(&req).await;
    let phases = phases.lock().map(|p| p.clone()).unwrap_or_default();
    (result, phases)
}

/// `archive` fails verification: the expected error, no import phase reached, nothing written.
async fn rejected(
    t: &Transfer,
    archive: &Path,
    what: &str,
    expected: impl Fn(&ImportError) -> bool,
) {
    let before = State::capture(&t.target).await;
    let (result, phases) = attempt(t, archive, "rejected").await;
    match result {
        Err(ForgeError::Import(e)) if expected(&e) => {}
        Err(e) => panic!("{what}: unexpected error {}", e.one_line()),
        Ok(_) => panic!("{what}: the archive was imported"),
    }
    assert!(
        !phases.contains(&Phase::Import),
        "{what}: rejected only after the import began ({phases:?})"
    );
    before.assert_unchanged(&State::capture(&t.target).await, |_| false, what);
}

/// `archive` fails inside the transaction with `expected`: nothing written.
async fn rejected_in_transaction(
    t: &Transfer,
    archive: &Path,
    what: &str,
    expected: impl Fn(&ImportError) -> bool,
) {
    let before = State::capture(&t.target).await;
    let (result, _) = attempt(t, archive, "rejected").await;
    match result {
        Err(ForgeError::Import(e)) if expected(&e) => {}
        Err(e) => panic!("{what}: unexpected error {}", e.one_line()),
        Ok(_) => panic!("{what}: the archive was imported"),
    }
    before.assert_unchanged(&State::capture(&t.target).await, |_| false, what);
}

/// `archive` fails with a record error at `member` line `line`: nothing written.
async fn failed_in_transaction(t: &Transfer, archive: &Path, what: &str, member: &str, line: u64) {
    rejected_in_transaction(t, archive, what, |e| {
        matches!(e, ImportError::Record { member: m, line: l, .. } if m == member && *l == line)
    })
    .await;
}

/// `archive` imports (under `path`).
async fn imported(t: &Transfer, archive: &Path, path: &str) -> ImportSummary {
    match attempt(t, archive, path).await.0 {
        Ok(summary) => summary,
        Err(e) => panic!("{path}: the import failed: {}", e.one_line()),
    }
}
