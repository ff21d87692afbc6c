//! `hoist::tenant!` on the reference inputs: the generated code compiles against the runtime, and
//! its plan, models, records and hooks behave.

mod forge {
    hoist::tenant! {
        config = "../import_export.yml",
        attributes = "../safe_model_attributes.yml",
        schema = "../schema.snapshot.json",
    }
}

use forge::{models, records};
use hoist::__private::v1::{Hooks, TableRow, Value};
use hoist::plan::{Cardinality, Link};

struct App;

impl forge::Methods for App {
    fn labels_text_color(&self, row: &models::Label) -> serde_json::Value {
        serde_json::json!(if row.color == "#000000" {
            "#FFFFFF"
        } else {
            "#333333"
        })
    }
    fn issues_reference(&self, row: &models::Issue) -> serde_json::Value {
        serde_json::json!(format!("#{}", row.iid))
    }
    fn merge_requests_reference(&self, row: &models::MergeRequest) -> serde_json::Value {
        serde_json::json!(format!("!{}", row.iid))
    }
}

impl forge::ExportPolicy for App {
    fn issues(&self, row: &forge::policy::Issue) -> bool {
        !row.confidential
    }
    fn snippets(&self, _row: &forge::policy::Snippet) -> bool {
        true
    }
}

fn ts() -> hoist::__private::v1::chrono::DateTime<hoist::__private::v1::chrono::Utc> {
    hoist::__private::v1::chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
}

fn label(color: &str) -> models::Label {
    models::Label {
        id: 7,
        project_id: 1,
        title: "bug".into(),
        color: color.into(),
        description: None,
        created_at: ts(),
        updated_at: ts(),
    }
}

#[test]
fn plan_describes_the_reference_tenant() {
    let plan = &forge::PLAN;
    assert_eq!(forge::FORMAT_VERSION, 1);
    assert_eq!(plan.format_version, 1);
    let snapshot = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../schema.snapshot.json"
    ))
    .expect("snapshot");
    let schema = hoist_codegen::schema::Schema::from_json(&snapshot).expect("snapshot parses");
    assert_eq!(
        forge::SCHEMA_DIGEST,
        hoist_codegen::resolve::schema_digest(&schema)
    );
    assert_eq!(plan.schema_digest, forge::SCHEMA_DIGEST);
    assert_eq!(plan.table_of(&plan.root).name, "projects");
    assert_eq!(plan.tables.len(), 23);
    let label = plan
        .nodes()
        .into_iter()
        .find(|n| n.name == "label")
        .expect("label node");
    assert_eq!(label.cardinality, Cardinality::BelongsTo);
    assert!(matches!(label.link, Link::ParentFk { column: "label_id" }));
    assert_eq!(models::Label::TABLE, "labels");
    assert_eq!(plan.tables[models::Label::TABLE_INDEX].name, "labels");
    assert_eq!(
        plan.users.as_ref().map(|u| u.natural_keys),
        Some(&["email", "username"][..])
    );
}

#[test]
fn rows_round_trip_through_the_dynamic_form() {
    let row = label("#000000").into_row();
    assert_eq!(
        row.len(),
        forge::PLAN.tables[models::Label::TABLE_INDEX].columns.len()
    );
    assert_eq!(row[0], Value::Int(7));
    assert_eq!(
        models::Label::from_row(&row).expect("decodes"),
        label("#000000")
    );
    let mut bad = row.clone();
    bad[2] = Value::Int(3);
    let err = models::Label::from_row(&bad).expect_err("title is text");
    assert_eq!(
        err.to_string(),
        "column labels.title: expected text, found integer"
    );
}

#[test]
fn hooks_dispatch_to_the_typed_traits() {
    let hooks = forge::hooks(&App, &App);
    let table = models::Label::TABLE_INDEX;
    let value = hooks
        .method(table, "text_color", &label("#000000").into_row())
        .expect("method");
    assert_eq!(value, serde_json::json!("#FFFFFF"));
    let err = hooks
        .method(table, "nope", &label("#000000").into_row())
        .expect_err("unknown method");
    assert!(err.message.contains("nope"));
    let err = hooks
        .method(table, "text_color", &vec![Value::Null])
        .expect_err("bad row");
    assert!(err.message.contains("labels.id"), "{}", err.message);

    let issue = models::Issue {
        id: 1,
        project_id: 1,
        iid: 42,
        title: "t".into(),
        description: None,
        state: "opened".into(),
        confidential: true,
        author_id: 3,
        assignee_id: None,
        milestone_id: None,
        relative_position: Some(5),
        closed_at: None,
        created_at: ts(),
        updated_at: ts(),
    };
    let issues = models::Issue::TABLE_INDEX;
    // The policy sees `id` and `policy_columns.issues`, in that order.
    assert_eq!(
        forge::PLAN.tables[issues].policy_columns,
        ["id", "confidential", "author_id"]
    );
    let policy_row =
        |confidential: bool| vec![Value::Int(1), Value::Bool(confidential), Value::Int(3)];
    assert!(
        !hooks
            .include("issues", issues, &policy_row(true))
            .expect("policy")
    );
    assert!(
        hooks
            .include("issues", issues, &policy_row(false))
            .expect("policy")
    );
    let err = hooks
        .include(
            "issues",
            issues,
            &vec![Value::Int(1), Value::Text("yes".into())],
        )
        .expect_err("a policy row of the wrong shape");
    assert!(
        err.message.contains("issues.confidential"),
        "{}",
        err.message
    );
    assert_eq!(
        hooks
            .method(issues, "reference", &issue.into_row())
            .expect("method"),
        serde_json::json!("#42")
    );
    assert!(hooks.include("milestones", issues, &vec![]).is_err());
}

#[test]
fn records_match_the_archive_nesting() {
    let json = serde_json::json!({
        "id": 1, "project_id": 1, "iid": 2, "title": "t", "description": null, "state": "opened",
        "confidential": false, "author_id": 3, "assignee_id": null, "milestone_id": null,
        "relative_position": null, "closed_at": null,
        "created_at": "2024-05-01T10:00:00.000000Z", "updated_at": "2024-05-01T10:00:00.000000Z",
        "reference": "#2",
        "notes": [{
            "id": 9, "project_id": 1, "noteable_type": "Issue", "noteable_id": 1, "note": "hi",
            "author_id": 3, "system": false,
            "created_at": "2024-05-01T10:00:00Z", "updated_at": "2024-05-01T10:00:00Z",
            "award_emoji": [], "uploads": []
        }],
        "label_links": [{
            "id": 5, "label_id": 7, "target_type": "Issue", "target_id": 1,
            "created_at": "2024-05-01T10:00:00Z", "updated_at": "2024-05-01T10:00:00Z",
            "label": {
                "id": 7, "project_id": 1, "title": "bug", "color": "#000000", "description": null,
                "created_at": "2024-05-01T10:00:00Z", "updated_at": "2024-05-01T10:00:00Z",
                "text_color": "#FFFFFF"
            }
        }]
    });
    let record: records::IssueRecord = serde_json::from_value(json).expect("record parses");
    assert_eq!(record.row.iid, 2);
    assert_eq!(record.reference, Some(serde_json::json!("#2")));
    assert_eq!(record.notes[0].row.note, "hi");
    let label = record.label_links[0]
        .label
        .as_ref()
        .expect("belongs_to label");
    assert_eq!(label.row.title, "bug");
    assert!(
        record.timelogs.is_empty(),
        "missing relations default to empty"
    );
    let back = serde_json::to_value(&record).expect("serializes");
    assert_eq!(back["notes"][0]["noteable_type"], "Issue");
    assert_eq!(back["label_links"][0]["label"]["text_color"], "#FFFFFF");
    let again: records::IssueRecord = serde_json::from_value(back).expect("round trip");
    assert_eq!(again, record);
}

#[tokio::test]
async fn models_load_with_sqlx() {
    use hoist::__private::v1::sqlx;
    let pool = sqlx::SqlitePool::connect("sqlite::memory:")
        .await
        .expect("sqlite");
    sqlx::query(
        "CREATE TABLE labels (id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, title TEXT NOT NULL, \
         color TEXT NOT NULL, description TEXT, created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL)",
    )
    .execute(&pool)
    .await
    .expect("create");
    sqlx::query("INSERT INTO labels VALUES (7, 1, 'bug', '#000000', NULL, '2023-11-14 22:13:20', '2023-11-14 22:13:20')")
        .execute(&pool)
        .await
        .expect("insert");
    let row: models::Label = sqlx::query_as(
        "SELECT id, project_id, title, color, description, created_at, updated_at FROM labels",
    )
    .fetch_one(&pool)
    .await
    .expect("query_as");
    assert_eq!(row, label("#000000"));
}
