//! One forge instance under test: a migrated throwaway database and its uploads directory.

use std::path::Path;

use forge::transfer::{ExportRequest, ImportRequest};
use forge::{ForgeError, SeedOptions, SeedReport};
use hoist::backend::testing::TestDb;
use hoist::backend::{Database, Filter, Select};
use hoist::export::ExportSummary;
use hoist::import::ImportSummary;
use hoist::value::{LogicalType, Value};

/// Which backend an [`Instance`] runs on.
pub use hoist::backend::testing::TestDbKind as Kind;

/// Users the seed creates in a source database (the first is the administrator `root`).
pub const USERS: usize = 50;

/// A forge database (migrated, empty) with its own uploads directory; both go away with
/// [`Instance::finish`] (or, as a fallback, when dropped).
#[derive(Debug)]
pub struct Instance {
    /// The connection pool.
    pub db: Database,
    test_db: TestDb,
    uploads: tempfile::TempDir,
}

/// A row of the shared `users` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub username: String,
    pub admin: bool,
}

impl Instance {
    /// A fresh, migrated database of `kind`; `None` when the test must skip (no server, `CI` unset).
    pub async fn new(kind: Kind) -> Option<Instance> {
        let Some(test_db) = TestDb::create(kind).await else {
            skipped(kind);
            return None;
        };
        let db = test_db.connect().await;
        if let Err(e) = forge::migrate(&db).await {
            panic!("migrating the {kind:?} test database failed: {e}");
        }
        let uploads = tempfile::Builder::new()
            .prefix("hoist_uploads_")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create an uploads directory: {e}"));
        Some(Instance {
            db,
            test_db,
            uploads,
        })
    }

    /// The backend.
    pub fn kind(&self) -> Kind {
        self.test_db.kind()
    }

    /// The database URL (for the `forge` binary).
    pub fn url(&self) -> &str {
        self.test_db.url()
    }

    /// The uploads directory.
    pub fn uploads_dir(&self) -> &Path {
        self.uploads.path()
    }

    /// Seed `projects` projects of `issues` issues each (seed 1, [`USERS`] users).
    pub async fn seed(&self, projects: usize, issues: usize) -> SeedReport {
        self.seed_with(SeedOptions {
            projects,
            issues,
            seed: 1,
            users: USERS,
            uploads_dir: self.uploads_dir().to_path_buf(),
        })
        .await
    }

    /// Seed with explicit options (the uploads directory is this instance's).
    pub async fn seed_with(&self, opts: SeedOptions) -> SeedReport {
        let opts = SeedOptions {
            uploads_dir: self.uploads_dir().to_path_buf(),
            ..opts
        };
        forge::seed(&self.db, &opts)
            .await
            .unwrap_or_else(|e| panic!("seeding the {:?} database failed: {e}", self.kind()))
    }

    /// Only the first `users` shared users (an import target: users are not part of a tenant).
    pub async fn seed_users(&self, users: usize) {
        self.seed_with(SeedOptions {
            projects: 0,
            issues: 0,
            seed: 1,
            users,
            uploads_dir: self.uploads_dir().to_path_buf(),
        })
        .await;
    }

    /// An export request for `project_id` into `output`, with this instance's uploads.
    pub fn export_request(&self, project_id: i64, output: &Path) -> ExportRequest {
        ExportRequest::new(project_id, output, self.uploads_dir())
    }

    /// Export `project_id` as an administrator into `output`; panics on failure.
    pub async fn export(&self, project_id: i64, output: &Path) -> ExportSummary {
        self.export_with(&self.export_request(project_id, output))
            .await
    }

    /// Run an export request; panics on failure.
    pub async fn export_with(&self, req: &ExportRequest) -> ExportSummary {
        forge::transfer::export_project(&self.db, req)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "exporting project {} from {:?} failed: {}",
                    req.project_id,
                    self.kind(),
                    e.one_line()
                )
            })
    }

    /// An import request for `archive` into this instance's uploads (as the first administrator).
    pub fn import_request(&self, archive: &Path) -> ImportRequest {
        ImportRequest::new(archive, self.uploads_dir())
    }

    /// Run an import request.
    pub async fn try_import(&self, req: &ImportRequest) -> Result<ImportSummary, ForgeError> {
        forge::transfer::import_archive(&self.db, req).await
    }

    /// Run an import request; panics on failure.
    pub async fn import(&self, req: &ImportRequest) -> ImportSummary {
        self.try_import(req).await.unwrap_or_else(|e| {
            panic!(
                "importing {} into {:?} failed: {}",
                req.archive.display(),
                self.kind(),
                e.one_line()
            )
        })
    }

    /// Every user, by id.
    pub async fn users(&self) -> Vec<User> {
        let columns = [
            ("id", LogicalType::Integer),
            ("email", LogicalType::Text),
            ("username", LogicalType::Text),
            ("admin", LogicalType::Boolean),
        ];
        let rows = select(&self.db, "users", &columns, Filter::All).await;
        rows.into_iter()
            .map(|row| match row.as_slice() {
                [
                    Value::Int(id),
                    Value::Text(email),
                    Value::Text(username),
                    Value::Bool(admin),
                ] => User {
                    id: *id,
                    email: email.clone(),
                    username: username.clone(),
                    admin: *admin,
                },
                other => panic!("unexpected users row {other:?}"),
            })
            .collect()
    }

    /// The first user that is not an administrator.
    pub async fn non_admin(&self) -> User {
        self.users()
            .await
            .into_iter()
            .find(|u| !u.admin)
            .unwrap_or_else(|| panic!("the {:?} database has no non-admin user", self.kind()))
    }

    /// Insert a (non-admin) user with only the required columns, through the backend (any
    /// dialect); returns its id.
    pub async fn insert_user(&self, email: &str, username: &str) -> i64 {
        let at = hoist::value::from_json(
            &serde_json::Value::from("2020-01-01T00:00:00.000000Z"),
            LogicalType::Timestamp,
        )
        .unwrap_or_else(|e| panic!("timestamp: {e}"));
        let columns = [
            ("id", LogicalType::Integer),
            ("email", LogicalType::Text),
            ("username", LogicalType::Text),
            ("name", LogicalType::Text),
            ("encrypted_password", LogicalType::Text),
            ("admin", LogicalType::Boolean),
            ("created_at", LogicalType::Timestamp),
            ("updated_at", LogicalType::Timestamp),
        ];
        let mut tx = self
            .db
            .begin_import()
            .await
            .unwrap_or_else(|e| panic!("begin: {e}"));
        let id = tx
            .allocate_ids("users", 1)
            .await
            .unwrap_or_else(|e| panic!("allocating a user id: {e}"))
            .first()
            .unwrap_or_else(|| panic!("no user id allocated"));
        let row = vec![
            Value::Int(id),
            Value::Text(email.into()),
            Value::Text(username.into()),
            Value::Text(username.into()),
            Value::Text("x".into()),
            Value::Bool(false),
            at.clone(),
            at,
        ];
        tx.insert("users", &columns, &[row])
            .await
            .unwrap_or_else(|e| panic!("inserting user {username}: {e}"));
        tx.commit().await.unwrap_or_else(|e| panic!("commit: {e}"));
        id
    }

    /// Close the pool and drop the database (the uploads directory is removed too).
    pub async fn finish(self) {
        self.db.close().await;
        self.test_db.drop_db().await;
    }
}

/// Say loudly that a test is skipped, on the real stderr (the test harness captures `eprintln!`).
fn skipped(kind: Kind) {
    use std::io::Write;
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    let env = match kind {
        Kind::Postgres => hoist::backend::testing::POSTGRES_URL_ENV,
        _ => hoist::backend::testing::MYSQL_URL_ENV,
    };
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!! SKIPPED {test}: no {kind:?} server answers; set {env} (with CI set, this fails) !!!!!!!!"
    );
}

/// `SELECT columns FROM table WHERE filter ORDER BY id` in one read-only snapshot; panics on failure.
pub async fn select(
    db: &Database,
    table: &str,
    columns: &[(&str, LogicalType)],
    filter: Filter<'_>,
) -> Vec<hoist::value::Row> {
    select_where(db, table, columns, filter, None).await
}

/// [`select`] with an additional `type_column = value` condition.
pub async fn select_where(
    db: &Database,
    table: &str,
    columns: &[(&str, LogicalType)],
    filter: Filter<'_>,
    type_eq: Option<(&str, &str)>,
) -> Vec<hoist::value::Row> {
    let mut snap = db
        .snapshot()
        .await
        .unwrap_or_else(|e| panic!("opening a snapshot: {e}"));
    let rows = snap
        .select(&Select {
            table,
            columns,
            filter,
            type_eq,
            order: &[],
            after: None,
            limit: None,
        })
        .await
        .unwrap_or_else(|e| panic!("reading {table}: {e}"));
    snap.finish()
        .await
        .unwrap_or_else(|e| panic!("closing a snapshot: {e}"));
    rows
}
