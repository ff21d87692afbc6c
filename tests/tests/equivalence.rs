//! Equivalence: export a project, import it elsewhere (or into the same database under a new path),
//! export it again — the two archives hold the same records and files up to fresh ids. And the
//! comparer bites: an archive that really differs is reported.

use std::collections::BTreeMap;

use hoist_tests::archive::Contents;
use hoist_tests::fixture::USERS;
use hoist_tests::{Instance, Kind, differences, integrity, scratch_dir};

/// Issues per seeded project (about 20 rows each).
const ISSUES: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_round_trip_is_equivalent() {
    round_trip(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_round_trip_is_equivalent() {
    round_trip(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_round_trip_is_equivalent() {
    round_trip(Kind::MySql).await;
}

async fn round_trip(kind: Kind) {
    let Some(a) = Instance::new(kind).await else {
        return;
    };
    let Some(b) = Instance::new(kind).await else {
        return;
    };
    let dir = scratch_dir();
    let seeded = a.seed(2, ISSUES).await;
    let project = seeded.project_ids[0];

    // Export project 1 in small pages: consistent, in `export_reorders` order, and only project 1
    // (the seed's second project is noise).
    let exported = dir.path().join("a.tar.gz");
    let mut req = a.export_request(project, &exported);
    req.batch_size = Some(7);
    let summary = a.export_with(&req).await;
    let contents = Contents::load(&exported);
    integrity::assert_consistent(&contents, "the export of project 1");
    assert_eq!(
        contents.relation("issues").len(),
        ISSUES,
        "the archive must hold exactly project 1's issues"
    );
    assert_eq!(contents.root.get("id"), Some(&serde_json::json!(project)));
    assert_export_order(&contents);
    assert!(
        summary.uploads > 0,
        "the seed attaches uploads: {summary:?}"
    );

    // Into B (same users, no project) as an administrator.
    b.seed_users(USERS).await;
    let imported = b.import(&b.import_request(&exported)).await;
    assert!(
        imported.warnings.is_empty(),
        "a clean archive imports without warnings: {:?}",
        imported.warnings
    );
    assert_eq!(
        nonzero(&imported.relations),
        nonzero(&summary.relations),
        "the import saw every exported record"
    );
    // Upload rows with the same content and file name share one placed file.
    let upload_rows = count_upload_records(&contents);
    assert!(
        imported.uploads > 0 && imported.uploads <= upload_rows,
        "{} files placed for {upload_rows} upload rows",
        imported.uploads
    );
    // Exported again in one page per relation: paging changes nothing.
    let again = dir.path().join("b.tar.gz");
    let mut req = b.export_request(imported.root_id, &again);
    req.batch_size = Some(10_000);
    b.export_with(&req).await;
    let diffs = differences(&exported, &again, &[]).await;
    assert!(
        diffs.is_empty(),
        "{kind:?}: export → import → export is not equivalent:\n  {}",
        list(&diffs)
    );

    // Into the source database itself, as a clone under a new path.
    let mut req = a.import_request(&exported);
    req.path = Some("clone-of-project-1".into());
    let cloned = a.import(&req).await;
    assert_ne!(cloned.root_id, project);
    let clone = dir.path().join("clone.tar.gz");
    a.export(cloned.root_id, &clone).await;
    let diffs = differences(&exported, &clone, &["path"]).await;
    assert!(
        diffs.is_empty(),
        "{kind:?}: the clone is not equivalent:\n  {}",
        list(&diffs)
    );
    // … and the new path is the one difference when it is not ignored.
    let diffs = differences(&exported, &clone, &[]).await;
    assert_eq!(diffs.len(), 1, "{}", list(&diffs));
    assert_eq!(diffs[0].relation, "project");
    assert!(diffs[0].detail.starts_with(".path"), "{}", diffs[0]);

    // The comparer bites: an import of a deliberately different archive (one issue's author
    // changed to another user) gives differences that name the change.
    let mut changed = contents.clone();
    let other_user = changed
        .users
        .iter()
        .filter_map(|u| u.get("id").and_then(serde_json::Value::as_i64))
        .find(|id| Some(&serde_json::json!(id)) != changed.relation("issues")[0].get("author_id"))
        .unwrap_or_else(|| panic!("the archive references a single user"));
    changed.relation_mut("issues")[0].insert("author_id".into(), other_user.into());
    let changed_archive = dir.path().join("changed.tar.gz");
    changed.save(&changed_archive);
    let mut req = b.import_request(&changed_archive);
    req.path = Some("changed-author".into());
    let changed_import = b.import(&req).await;
    let changed_again = dir.path().join("changed-again.tar.gz");
    b.export(changed_import.root_id, &changed_again).await;
    let diffs = differences(&exported, &changed_again, &["path"]).await;
    assert_eq!(diffs.len(), 1, "{kind:?}: {}", list(&diffs));
    assert_eq!(diffs[0].relation, "project/issues");
    assert!(diffs[0].detail.starts_with(".author_id"), "{}", diffs[0]);

    // … and so does another project altogether.
    let other = dir.path().join("project2.tar.gz");
    a.export(seeded.project_ids[1], &other).await;
    assert!(
        !differences(&exported, &other, &["path", "name"])
            .await
            .is_empty()
    );

    a.finish().await;
    b.finish().await;
}

/// Issues by `relative_position` ascending, nulls last, then id; merge requests by id descending.
fn assert_export_order(contents: &Contents) {
    let key = |r: &serde_json::Map<String, serde_json::Value>, c: &str| {
        r.get(c).and_then(serde_json::Value::as_i64)
    };
    let issues: Vec<(bool, Option<i64>, Option<i64>)> = contents
        .relation("issues")
        .iter()
        .map(|i| {
            let position = key(i, "relative_position");
            (position.is_none(), position, key(i, "id"))
        })
        .collect();
    assert!(
        issues.iter().any(|(null, _, _)| *null),
        "the seed leaves some issues unpositioned"
    );
    assert!(
        issues.is_sorted(),
        "issues are not in relative_position order (nulls last, then id): {issues:?}"
    );
    let merge_requests: Vec<Option<i64>> = contents
        .relation("merge_requests")
        .iter()
        .map(|m| key(m, "id"))
        .collect();
    assert!(
        merge_requests.is_sorted_by(|a, b| a > b),
        "merge requests are not in descending id order: {merge_requests:?}"
    );
}

fn count_upload_records(contents: &Contents) -> u64 {
    let mut n = 0;
    contents.walk(|v| {
        if v.node.name == "uploads" {
            n += 1;
        }
    });
    n
}

/// Relation counts without the empty ones (the export also lists relations it found empty).
fn nonzero(counts: &BTreeMap<String, u64>) -> BTreeMap<&str, u64> {
    counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| (k.as_str(), *n))
        .collect()
}

fn list(diffs: &[hoist::compare::Difference]) -> String {
    diffs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// Each kind of change a broken import could make — a data value, a reference, a polymorphic
/// reference, a reference between sibling records, a nested record — is reported by the comparer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comparer_reports_every_kind_of_change() {
    let Some(a) = Instance::new(Kind::Sqlite).await else {
        return;
    };
    let dir = scratch_dir();
    let seeded = a.seed(1, 30).await;
    let original = dir.path().join("original.tar.gz");
    a.export(seeded.project_ids[0], &original).await;
    let contents = Contents::load(&original);

    // Rewritten unchanged (and with the users in another order): equivalent (the rewrite itself changes nothing that matters).
    let same = dir.path().join("same.tar.gz");
    let mut reordered = contents.clone();
    reordered.users.reverse();
    reordered.save(&same);
    let diffs = differences(&original, &same, &[]).await;
    assert!(diffs.is_empty(), "{}", list(&diffs));

    let id_of = |r: &serde_json::Map<String, serde_json::Value>| {
        r.get("id").and_then(serde_json::Value::as_i64)
    };
    let issue_ids: Vec<i64> = contents
        .relation("issues")
        .iter()
        .filter_map(id_of)
        .collect();
    let milestone_ids: Vec<i64> = contents
        .relation("milestones")
        .iter()
        .filter_map(id_of)
        .collect();
    assert!(issue_ids.len() >= 2 && milestone_ids.len() >= 2);
    let another = |ids: &[i64], current: Option<i64>| -> i64 {
        ids.iter()
            .copied()
            .find(|id| Some(*id) != current)
            .unwrap_or_else(|| panic!("no other id than {current:?}"))
    };

    type Change = Box<dyn Fn(&mut Contents)>;
    let changes: Vec<(&str, &str, Change)> = vec![
        (
            "a data value",
            ".title",
            Box::new(|c: &mut Contents| {
                c.relation_mut("issues")[3].insert("title".into(), "changed".into());
            }),
        ),
        (
            "a reference",
            ".milestone_id",
            Box::new({
                let milestone_ids = milestone_ids.clone();
                move |c: &mut Contents| {
                    let issue = &mut c.relation_mut("issues")[0];
                    let current = issue
                        .get("milestone_id")
                        .and_then(serde_json::Value::as_i64);
                    issue.insert(
                        "milestone_id".into(),
                        another(&milestone_ids, current).into(),
                    );
                }
            }),
        ),
        (
            "a polymorphic reference",
            ".target_id",
            Box::new({
                let issue_ids = issue_ids.clone();
                move |c: &mut Contents| {
                    let event = c
                        .relation_mut("events")
                        .iter_mut()
                        .find(|e| e.get("target_type") == Some(&"Issue".into()))
                        .unwrap_or_else(|| panic!("no event on an issue"));
                    let current = event.get("target_id").and_then(serde_json::Value::as_i64);
                    event.insert("target_id".into(), another(&issue_ids, current).into());
                }
            }),
        ),
        (
            "a reference between sibling records",
            ".issue_links[0].target_id",
            Box::new({
                let issue_ids = issue_ids.clone();
                move |c: &mut Contents| {
                    let issue = c
                        .relation_mut("issues")
                        .iter_mut()
                        .find(|i| {
                            i.get("issue_links")
                                .and_then(serde_json::Value::as_array)
                                .is_some_and(|l| !l.is_empty())
                        })
                        .unwrap_or_else(|| panic!("no issue with links"));
                    if let Some(serde_json::Value::Array(links)) = issue.get_mut("issue_links")
                        && let Some(serde_json::Value::Object(link)) = links.first_mut()
                    {
                        let current = link.get("target_id").and_then(serde_json::Value::as_i64);
                        link.insert("target_id".into(), another(&issue_ids, current).into());
                    }
                }
            }),
        ),
        (
            "a nested record",
            ".notes[0].note",
            Box::new(|c: &mut Contents| {
                let issue = c
                    .relation_mut("issues")
                    .iter_mut()
                    .find(|i| {
                        i.get("notes")
                            .and_then(serde_json::Value::as_array)
                            .is_some_and(|n| !n.is_empty())
                    })
                    .unwrap_or_else(|| panic!("no issue with notes"));
                if let Some(serde_json::Value::Array(notes)) = issue.get_mut("notes")
                    && let Some(serde_json::Value::Object(note)) = notes.first_mut()
                {
                    note.insert("note".into(), "changed".into());
                }
            }),
        ),
        (
            "a user's natural key",
            "users",
            Box::new(|c: &mut Contents| {
                if let Some(user) = c.users.last_mut() {
                    user.insert("email".into(), "someone.else@forge.test".into());
                }
            }),
        ),
    ];
    for (what, detail, change) in changes {
        let mut changed = contents.clone();
        change(&mut changed);
        let path = dir.path().join("changed.tar.gz");
        let _ = std::fs::remove_file(&path);
        changed.save(&path);
        let diffs = differences(&original, &path, &[]).await;
        assert!(
            diffs
                .iter()
                .any(|d| d.detail.contains(detail) || d.relation == detail),
            "changing {what} must be reported at {detail}; got:\n  {}",
            list(&diffs)
        );
    }
    a.finish().await;
}

/// Users are shared, not part of the tenant: a target that created the same users in another order
/// (so their ids sort differently) still gives an equivalent round trip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_into_users_of_another_order_is_equivalent() {
    let Some(a) = Instance::new(Kind::Sqlite).await else {
        return;
    };
    let Some(b) = Instance::new(Kind::Sqlite).await else {
        return;
    };
    let dir = scratch_dir();
    let seeded = a.seed(1, 20).await;
    let exported = dir.path().join("a.tar.gz");
    a.export(seeded.project_ids[0], &exported).await;
    // The target creates the source's ordinary users in reverse order, then the rest (root).
    for user in a.users().await.iter().rev().filter(|u| !u.admin) {
        b.insert_user(&user.email, &user.username).await;
    }
    b.seed_users(USERS).await;
    let imported = b.import(&b.import_request(&exported)).await;
    let again = dir.path().join("b.tar.gz");
    b.export(imported.root_id, &again).await;
    let diffs = differences(&exported, &again, &[]).await;
    assert!(
        diffs.is_empty(),
        "users in another id order make the round trip differ:\n  {}",
        list(&diffs)
    );
    a.finish().await;
    b.finish().await;
}
