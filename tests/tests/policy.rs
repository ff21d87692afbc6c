//! Exports as a user (`include_if_exportable`): what the user may not see stays out of the archive —
//! and so must everything that would point at it, or describe it.

use hoist_tests::archive::Contents;
use hoist_tests::fixture::User;
use hoist_tests::{Kind, Transfer, integrity};
use serde_json::Value as Json;

const ISSUES: usize = 100;

/// A user who is neither an administrator nor a member of the exported project.
async fn outsider(t: &Transfer) -> User {
    let members: Vec<i64> = t
        .contents
        .relation("project_members")
        .iter()
        .filter_map(|m| m.get("user_id").and_then(Json::as_i64))
        .collect();
    t.source
        .users()
        .await
        .into_iter()
        .find(|u| !u.admin && !members.contains(&u.id))
        .unwrap_or_else(|| panic!("every user is a member"))
}

/// Export the project as `user` into `name`.
async fn export_as(t: &Transfer, user: &User, name: &str) -> Contents {
    let archive = t.dir.path().join(name);
    let mut req = t.source.export_request(t.project, &archive);
    req.as_user = Some(user.username.clone());
    t.source.export_with(&req).await;
    Contents::load(&archive)
}

fn confidential(issue: &serde_json::Map<String, Json>) -> bool {
    issue.get("confidential") == Some(&Json::Bool(true))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outsider_exports_no_confidential_issue() {
    let Some(t) = Transfer::new(Kind::Sqlite, ISSUES).await else {
        return;
    };
    let user = outsider(&t).await;
    let contents = export_as(&t, &user, "outsider.tar.gz").await;
    let all = t.contents.relation("issues");
    let hidden = all.iter().filter(|i| confidential(i)).count();
    assert!(hidden > 0, "the seed makes some issues confidential");
    let author = Json::from(user.id);
    let visible = all
        .iter()
        .filter(|i| !confidential(i) || i.get("author_id") == Some(&author))
        .count();
    assert_eq!(contents.relation("issues").len(), visible);
    assert!(
        contents
            .relation("issues")
            .iter()
            .all(|i| !confidential(i) || i.get("author_id") == Some(&author)),
        "a confidential issue of someone else was exported"
    );
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outsider_exports_nothing_that_points_at_hidden_issues() {
    let Some(t) = Transfer::new(Kind::Sqlite, ISSUES).await else {
        return;
    };
    let user = outsider(&t).await;
    let contents = export_as(&t, &user, "outsider.tar.gz").await;
    integrity::assert_consistent(&contents, "an outsider's export");
    let archive = t.dir.path().join("outsider.tar.gz");
    let summary = t.target.import(&t.target.import_request(&archive)).await;
    assert!(
        summary.warnings.is_empty(),
        "an outsider's export imports with warnings: {:?}",
        summary.warnings
    );
    t.finish().await;
}
