//! Import semantics, checked in the target database against the source database (SQLite and
//! PostgreSQL): user references mapped by email for an administrator (and to the importer when
//! the target lacks the user), to the importer for everyone else, with access levels capped;
//! tokens never travel and are fresh; labels reused, not duplicated; references between issues,
//! polymorphic event targets and merge requests' head pipelines point at the right new rows;
//! uploads copied with identical content under the new project's directory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use forge::tenant::PLAN;
use hoist::import::WarningReason;
use hoist::plan::Role;
use hoist_tests::archive::Contents;
use hoist_tests::fixture::{USERS, User};
use hoist_tests::tenant::{TenantRows, int, text};
use hoist_tests::{Instance, Kind, integrity, scratch_dir, value_key};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

const ISSUES: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_import_semantics() {
    import_semantics(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_import_semantics() {
    import_semantics(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_non_admin_imports_a_project_with_several_members() {
    let Some(source) = Instance::new(Kind::Sqlite).await else {
        return;
    };
    let Some(target) = Instance::new(Kind::Sqlite).await else {
        return;
    };
    let dir = scratch_dir();
    let seeded = source.seed(1, 10).await;
    let archive = dir.path().join("project.tar.gz");
    source.export(seeded.project_ids[0], &archive).await;
    let members = Contents::load(&archive).relation("project_members").len() as u64;
    assert!(members > 1);
    target.seed_users(USERS).await;
    let member = target.non_admin().await;
    let mut req = target.import_request(&archive);
    req.user = Some(member.username);
    let summary = match target.try_import(&req).await {
        Ok(summary) => summary,
        Err(e) => panic!("a non-admin's import failed: {}", e.one_line()),
    };
    // Every member became the importer: one membership is kept, the others are reported.
    let dropped = summary
        .warnings
        .iter()
        .find(|w| {
            w.reason == hoist::import::WarningReason::DuplicateAfterUserMapping
                && w.relation == "project/project_members"
        })
        .map_or(0, |w| w.count);
    assert_eq!(dropped, members - 1, "warnings: {:?}", summary.warnings);
    assert_eq!(summary.relations.get("project/project_members"), Some(&1));
    source.finish().await;
    target.finish().await;
}

async fn import_semantics(kind: Kind) {
    let Some(source) = Instance::new(kind).await else {
        return;
    };
    let Some(target) = Instance::new(kind).await else {
        return;
    };
    let dir = scratch_dir();
    let seeded = source.seed(2, ISSUES).await;
    let project = seeded.project_ids[0];
    let archive = dir.path().join("project.tar.gz");
    source.export(project, &archive).await;
    let contents = Contents::load(&archive);
    // Tokens never travel (the integrity check rejects any token key in any record).
    integrity::assert_consistent(&contents, "the export");
    let src = TenantRows::load(&source.db, project).await;
    let src_users = by_id(source.users().await);

    // The target's users have other ids than the source's (one extra user first), so mapping by
    // email is not mapping by id.
    target
        .insert_user("someone-else@elsewhere.test", "someone-else")
        .await;
    target.seed_users(USERS).await;
    let dst_users = by_id(target.users().await);
    let admin = dst_users
        .values()
        .find(|u| u.admin)
        .cloned()
        .unwrap_or_else(|| panic!("the target has an administrator"));
    let shifted = src_users
        .values()
        .filter(|u| {
            dst_users
                .values()
                .any(|d| d.email == u.email && d.id != u.id)
        })
        .count();
    assert_eq!(
        shifted,
        src_users.len(),
        "every user has another id in the target"
    );

    // --- An administrator's import, of an archive in which one user is unknown to the target
    // (neither email nor username match) and another has changed their email (the username
    // still matches).
    let [ghost, renamed] = non_members(&contents);
    let mut crafted = contents.clone();
    for user in &mut crafted.users {
        let id = user.get("id").and_then(Json::as_i64);
        if id == Some(ghost.id) {
            user.insert("email".into(), "ghost@nowhere.test".into());
            user.insert("username".into(), "ghost".into());
        } else if id == Some(renamed.id) {
            user.insert("email".into(), "new-address@nowhere.test".into());
        }
    }
    let crafted_archive = dir.path().join("ghost.tar.gz");
    crafted.save(&crafted_archive);
    let imported = target
        .import(&target.import_request(&crafted_archive))
        .await;
    let dst = TenantRows::load(&target.db, imported.root_id).await;

    // Users by email, else by username; the unknown one becomes the importer.
    let expected = user_emails(&src, &src_users, |email| {
        if email == ghost.email {
            admin.email.clone()
        } else {
            email.to_string()
        }
    });
    assert_same(
        &expected,
        &user_emails(&dst, &dst_users, str::to_string),
        "user references (by email) after an admin's import",
    );
    // An administrator keeps access levels.
    assert_same(
        &members(&src, &src_users),
        &members(&dst, &dst_users),
        "members and access levels after an admin's import",
    );

    // Tokens: fresh, non-null, unique, none of the source's.
    check_tokens(&src, &dst);

    // Labels reused, not duplicated; label links on the right targets.
    assert_eq!(dst.count("labels"), src.count("labels"));
    let dst_label_ids: BTreeSet<i64> = dst.rows("labels").filter_map(|r| int(r, "id")).collect();
    for link in dst.rows("label_links") {
        let label = int(link, "label_id").unwrap_or_default();
        assert!(
            dst_label_ids.contains(&label),
            "label_links #{:?} uses label #{label}, not one of the project's",
            int(link, "id")
        );
    }
    assert_same(
        &label_links(&src),
        &label_links(&dst),
        "label links (target, label title)",
    );

    // Issue links, event targets, head pipelines.
    assert_same(
        &issue_links(&src),
        &issue_links(&dst),
        "issue links (source iid → target iid)",
    );
    assert!(!issue_links(&src).is_empty(), "the seed links issues");
    assert_same(
        &events(&src, &src_users),
        &events(&dst, &dst_users),
        "events and their targets",
    );
    let head = head_pipelines(&src);
    assert!(
        head.values().any(Option::is_some),
        "the seed sets head pipelines"
    );
    assert_eq!(head, head_pipelines(&dst), "merge requests' head pipelines");

    // Uploads: same files, identical content, under the new project's directory.
    check_uploads(&src, source.uploads_dir(), &dst, target.uploads_dir());

    // --- A non-admin's import: every user reference becomes the importer, access levels are
    // capped at Maintainer (40). Projects with several members cannot be imported by a non-admin
    // (see the ignored test above), so the archive keeps one member, an Owner (50).
    let member = dst_users
        .values()
        .find(|u| !u.admin && u.email != "someone-else@elsewhere.test")
        .cloned()
        .unwrap_or_else(|| panic!("the target has a non-admin user"));
    let mut one_member = contents.clone();
    let members = one_member.relation_mut("project_members");
    members.truncate(1);
    members[0].insert("access_level".into(), 50.into());
    let one_member_archive = dir.path().join("one-member.tar.gz");
    one_member.save(&one_member_archive);
    let mut req = target.import_request(&one_member_archive);
    req.user = Some(member.username.clone());
    req.path = Some("imported-by-a-member".into());
    let by_member = target.import(&req).await;
    assert!(
        by_member
            .warnings
            .iter()
            .any(|w| w.reason == WarningReason::AccessLevelCapped && w.key == "access_level"),
        "capping is reported: {:?}",
        by_member.warnings
    );
    let mine = TenantRows::load(&target.db, by_member.root_id).await;
    let mut references = 0;
    for_each_user_reference(&mine, |table, column, value| {
        if let Some(id) = value {
            references += 1;
            assert_eq!(
                id, member.id,
                "{table}.{column} = user #{id}: a non-admin's import maps every user to them (#{})",
                member.id
            );
        }
    });
    assert!(
        references > 100,
        "only {references} user references checked"
    );
    // Null user references stay null.
    assert_eq!(null_user_references(&src), null_user_references(&mine));
    let levels: Vec<Option<i64>> = mine
        .rows("project_members")
        .map(|r| int(r, "access_level"))
        .collect();
    assert_eq!(
        levels,
        vec![Some(40)],
        "an Owner's level is capped at Maintainer"
    );

    source.finish().await;
    target.finish().await;
}

fn by_id(users: Vec<User>) -> BTreeMap<i64, User> {
    users.into_iter().map(|u| (u.id, u)).collect()
}

/// Two users of the archive who are referenced but are not members and not the administrator (so
/// mapping them to the importing administrator collides with no unique membership).
fn non_members(contents: &Contents) -> [User; 2] {
    let members: BTreeSet<i64> = contents
        .relation("project_members")
        .iter()
        .filter_map(|m| m.get("user_id").and_then(Json::as_i64))
        .collect();
    contents
        .users
        .iter()
        .filter_map(|u| {
            Some(User {
                id: u.get("id")?.as_i64()?,
                email: u.get("email")?.as_str()?.to_string(),
                username: u.get("username")?.as_str()?.to_string(),
                admin: false,
            })
        })
        .filter(|u| !members.contains(&u.id) && u.username != "root")
        .take(2)
        .collect::<Vec<_>>()
        .try_into()
        .unwrap_or_else(|found: Vec<User>| {
            panic!("only {} referenced users are not members", found.len())
        })
}

/// Call `f(table, column, user id)` for every user reference of every row of the tenant.
fn for_each_user_reference(t: &TenantRows, mut f: impl FnMut(&str, &str, Option<i64>)) {
    for table in PLAN.tables {
        for column in table.columns {
            if !matches!(column.role, Role::UserReference) {
                continue;
            }
            for row in t.rows(table.name) {
                f(table.name, column.name, int(row, column.name));
            }
        }
    }
}

/// Per table and user-reference column, the sorted emails of the referenced users (mapped by
/// `map`), `-` for null.
fn user_emails(
    t: &TenantRows,
    users: &BTreeMap<i64, User>,
    map: impl Fn(&str) -> String,
) -> Vec<String> {
    let mut out = Vec::new();
    for_each_user_reference(t, |table, column, id| {
        let email = match id {
            None => "-".to_string(),
            Some(id) => users
                .get(&id)
                .map(|u| map(&u.email))
                .unwrap_or_else(|| format!("unknown user #{id}")),
        };
        out.push(format!("{table}.{column} {email}"));
    });
    out.sort();
    out
}

fn null_user_references(t: &TenantRows) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for_each_user_reference(t, |table, column, id| {
        if id.is_none() {
            *out.entry(format!("{table}.{column}")).or_default() += 1;
        }
    });
    out
}

fn email(users: &BTreeMap<i64, User>, id: Option<i64>) -> String {
    id.map_or("-".into(), |id| {
        users
            .get(&id)
            .map_or(format!("unknown user #{id}"), |u| u.email.clone())
    })
}

fn members(t: &TenantRows, users: &BTreeMap<i64, User>) -> Vec<String> {
    let mut out: Vec<String> = t
        .rows("project_members")
        .map(|m| {
            format!(
                "{} level {:?} added by {}",
                email(users, int(m, "user_id")),
                int(m, "access_level"),
                email(users, int(m, "created_by_id"))
            )
        })
        .collect();
    out.sort();
    out
}

/// A row's identity that survives an import (not its id).
fn natural(t: &TenantRows, table: &str, id: i64) -> String {
    let Some(row) = t.get(table, id) else {
        return format!("{table} #{id} (not in the project)");
    };
    let iid = || int(row, "iid").unwrap_or_default();
    match table {
        "projects" => "the project".to_string(),
        "issues" => format!("issue #{}", iid()),
        "merge_requests" => format!("merge request !{}", iid()),
        "milestones" => format!("milestone %{}", iid()),
        "ci_pipelines" => format!("pipeline {}", iid()),
        "snippets" => format!("snippet {:?}", text(row, "title").unwrap_or_default()),
        "notes" => {
            let noteable = polymorphic_target(row, "noteable_type", "noteable_id")
                .map_or("?".to_string(), |(tt, tid)| natural(t, tt, tid));
            format!(
                "note on {noteable} at {} {:?}",
                row.get("created_at").map(value_key).unwrap_or_default(),
                text(row, "note").unwrap_or_default()
            )
        }
        _ => format!("{table} row"),
    }
}

/// The table and id a polymorphic pair points at.
fn polymorphic_target(
    row: &hoist_tests::tenant::RowMap,
    type_column: &str,
    id_column: &str,
) -> Option<(&'static str, i64)> {
    let table = match text(row, type_column)? {
        "Issue" => "issues",
        "MergeRequest" => "merge_requests",
        "Note" => "notes",
        "Milestone" => "milestones",
        "Snippet" => "snippets",
        "Project" => "projects",
        other => panic!("unknown polymorphic type {other}"),
    };
    Some((table, int(row, id_column)?))
}

fn label_links(t: &TenantRows) -> Vec<String> {
    let mut out: Vec<String> = t
        .rows("label_links")
        .map(|l| {
            let target = polymorphic_target(l, "target_type", "target_id")
                .map_or("-".into(), |(tt, id)| natural(t, tt, id));
            let label = int(l, "label_id")
                .and_then(|id| t.get("labels", id))
                .and_then(|label| text(label, "title"))
                .unwrap_or("(label not in the project)");
            format!("{target} labelled {label:?}")
        })
        .collect();
    out.sort();
    out
}

fn issue_links(t: &TenantRows) -> Vec<String> {
    let mut out: Vec<String> = t
        .rows("issue_links")
        .map(|l| {
            format!(
                "{} → {} type {:?}",
                natural(t, "issues", int(l, "source_id").unwrap_or_default()),
                natural(t, "issues", int(l, "target_id").unwrap_or_default()),
                int(l, "link_type")
            )
        })
        .collect();
    out.sort();
    out
}

fn events(t: &TenantRows, users: &BTreeMap<i64, User>) -> Vec<String> {
    let mut out: Vec<String> = t
        .rows("events")
        .map(|e| {
            let target = polymorphic_target(e, "target_type", "target_id")
                .map_or("no target".into(), |(tt, id)| natural(t, tt, id));
            format!(
                "action {:?} by {} on {target}",
                int(e, "action"),
                email(users, int(e, "author_id"))
            )
        })
        .collect();
    out.sort();
    out
}

fn head_pipelines(t: &TenantRows) -> BTreeMap<String, Option<String>> {
    t.rows("merge_requests")
        .map(|mr| {
            let id = int(mr, "id").unwrap_or_default();
            (
                natural(t, "merge_requests", id),
                int(mr, "head_pipeline_id").map(|p| natural(t, "ci_pipelines", p)),
            )
        })
        .collect()
}

fn check_tokens(src: &TenantRows, dst: &TenantRows) {
    let mut checked = 0;
    for table in PLAN.tables {
        for column in table.tokens {
            let old: BTreeSet<String> = src
                .rows(table.name)
                .filter_map(|r| text(r, column).map(str::to_string))
                .collect();
            let mut fresh = BTreeSet::new();
            for row in dst.rows(table.name) {
                let token = text(row, column)
                    .unwrap_or_else(|| panic!("{}.{column} is null after the import", table.name));
                assert!(
                    !old.contains(token),
                    "{}.{column}: the source's token {token:?} came along",
                    table.name
                );
                assert!(
                    fresh.insert(token.to_string()),
                    "{}.{column}: token {token:?} given twice",
                    table.name
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 10, "only {checked} tokens checked");
}

fn check_uploads(src: &TenantRows, src_dir: &Path, dst: &TenantRows, dst_dir: &Path) {
    let describe = |t: &TenantRows, u: &hoist_tests::tenant::RowMap| {
        let model = polymorphic_target(u, "model_type", "model_id")
            .map_or("-".into(), |(tt, id)| natural(t, tt, id));
        format!(
            "{model}: {:?} sha256 {:?} size {:?}",
            text(u, "filename").unwrap_or_default(),
            text(u, "checksum").unwrap_or_default(),
            int(u, "size")
        )
    };
    let mut a: Vec<String> = src.rows("uploads").map(|u| describe(src, u)).collect();
    let mut b: Vec<String> = dst.rows("uploads").map(|u| describe(dst, u)).collect();
    a.sort();
    b.sort();
    assert_same(&a, &b, "upload rows");
    assert!(!a.is_empty(), "the seed attaches uploads");

    let source_files: BTreeMap<&str, Vec<u8>> = src
        .rows("uploads")
        .map(|u| {
            let path = text(u, "path").unwrap_or_default();
            let bytes = std::fs::read(src_dir.join(path))
                .unwrap_or_else(|e| panic!("reading source upload {path}: {e}"));
            (text(u, "checksum").unwrap_or_default(), bytes)
        })
        .collect();
    let prefix = format!("projects/{}/", dst.root_id);
    for u in dst.rows("uploads") {
        let path = text(u, "path").unwrap_or_default();
        assert!(
            path.starts_with(&prefix),
            "upload {path} is not under the new project's directory {prefix}"
        );
        let bytes = std::fs::read(dst_dir.join(path))
            .unwrap_or_else(|e| panic!("reading imported upload {path}: {e}"));
        let checksum = text(u, "checksum").unwrap_or_default();
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            checksum,
            "imported upload {path} does not match its checksum"
        );
        assert_eq!(
            source_files.get(checksum),
            Some(&bytes),
            "imported upload {path} differs from the source's file"
        );
    }
}

/// Compare two sorted lists, showing what only one side has.
fn assert_same(expected: &[String], actual: &[String], what: &str) {
    if expected == actual {
        return;
    }
    let count = |list: &[String]| {
        let mut m: BTreeMap<String, i64> = BTreeMap::new();
        for s in list {
            *m.entry(s.clone()).or_default() += 1;
        }
        m
    };
    let (e, a) = (count(expected), count(actual));
    let mut lines = Vec::new();
    for key in e.keys().chain(a.keys()).collect::<BTreeSet<_>>() {
        let (x, y) = (
            e.get(key).copied().unwrap_or(0),
            a.get(key).copied().unwrap_or(0),
        );
        if x != y {
            lines.push(format!("{key}: expected {x}×, found {y}×"));
        }
    }
    panic!(
        "{what} differ ({} expected, {} found):\n  {}",
        expected.len(),
        actual.len(),
        lines.into_iter().take(30).collect::<Vec<_>>().join("\n  ")
    );
}

/// Records larger than the archive reader's budget for records in flight (256 KiB) still import,
/// one after another, with their text intact: each takes the whole budget and waits for the one
/// before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_records_larger_than_the_readers_budget() {
    let Some(t) = hoist_tests::Transfer::new(Kind::Sqlite, 6).await else {
        return;
    };
    let big = |i: usize| format!("{i}: {}\n", "ünïcödé and a tab\t, ".repeat(20_000 + i));
    let mut contents = t.contents.clone();
    let issues = contents.relation_mut("issues");
    assert!(issues.len() >= 4, "the seed made issues");
    for (i, issue) in issues.iter_mut().enumerate().take(4) {
        issue.insert("description".into(), Json::String(big(i)));
    }
    let archive = t.dir.path().join("big-records.tar.gz");
    contents.save(&archive);

    let mut req = t.target.import_request(&archive);
    req.path = Some("big-records".into());
    // A reader that waited for more budget than there is would wait forever: fail instead.
    let imported = tokio::time::timeout(std::time::Duration::from_secs(120), t.target.import(&req))
        .await
        .unwrap_or_else(|_| panic!("the import of large records did not finish in 120 s"));
    let dst = TenantRows::load(&t.target.db, imported.root_id).await;
    let mut descriptions: Vec<&str> = dst
        .rows("issues")
        .filter_map(|row| text(row, "description"))
        .filter(|d| d.len() > 256 * 1024)
        .collect();
    descriptions.sort_unstable_by_key(|d| d.len());
    let expected: Vec<String> = (0..4).map(big).collect();
    assert_eq!(descriptions, expected, "the large descriptions, intact");
    t.finish().await;
}
