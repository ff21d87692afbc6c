//! Moving a project: forge's side of hoist's export and import — who is exporting or importing,
//! what they may see, and where uploads live.

use std::path::{Path, PathBuf};

use hoist::archive::Limits;
use hoist::backend::{Database, Dialect};
use hoist::export::{ExportOptions, ExportSummary};
use hoist::import::{Actor, ImportOptions, ImportSummary};
use hoist::progress::{CancellationToken, ProgressSink};
use hoist::value::Value;

use crate::ForgeError;
use crate::tenant::{ExportViewer, ForgeMethods, PLAN, hooks};

/// The highest access level a non-administrator can bring into a project by importing it
/// (Maintainer). Administrators keep the archive's levels.
pub const MAX_IMPORTED_ACCESS_LEVEL: i64 = 40;

/// What to export and as whom.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub project_id: i64,
    pub output: PathBuf,
    /// Export as this user (username): confidential issues and private snippets follow their
    /// rights. `None`: as an administrator (an operator's export).
    pub as_user: Option<String>,
    pub uploads_dir: PathBuf,
    pub overwrite: bool,
    pub batch_size: Option<usize>,
    pub progress: ProgressSink,
    pub cancel: CancellationToken,
}

/// What to import and as whom.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub archive: PathBuf,
    /// The importing user (username). `None`: the first administrator.
    pub user: Option<String>,
    /// A new `path` (and `name`) for the project, e.g. when cloning into the same database.
    pub path: Option<String>,
    pub name: Option<String>,
    pub uploads_dir: PathBuf,
    pub batch_size: Option<usize>,
    /// What the archive may hold (raise them only for an archive you trust).
    pub limits: Limits,
    pub progress: ProgressSink,
    pub cancel: CancellationToken,
    #[doc(hidden)]
    pub fail_after_rows: Option<u64>,
}

impl ImportRequest {
    /// Defaults: first administrator, archive's path and name.
    pub fn new(archive: &Path, uploads_dir: &Path) -> ImportRequest {
        ImportRequest {
            archive: archive.to_path_buf(),
            user: None,
            path: None,
            name: None,
            uploads_dir: uploads_dir.to_path_buf(),
            batch_size: None,
            limits: Limits::default(),
            progress: ProgressSink::none(),
            cancel: CancellationToken::new(),
            fail_after_rows: None,
        }
    }
}

impl ExportRequest {
    /// Defaults: as an administrator, no overwrite.
    pub fn new(project_id: i64, output: &Path, uploads_dir: &Path) -> ExportRequest {
        ExportRequest {
            project_id,
            output: output.to_path_buf(),
            as_user: None,
            uploads_dir: uploads_dir.to_path_buf(),
            overwrite: false,
            batch_size: None,
            progress: ProgressSink::none(),
            cancel: CancellationToken::new(),
        }
    }
}

/// Export one project into an archive.
pub async fn export_project(
    db: &Database,
    req: &ExportRequest,
) -> Result<ExportSummary, ForgeError> {
    let viewer = match &req.as_user {
        None => ExportViewer::admin(),
        Some(name) => {
            let user = find_user(db, name).await?;
            ExportViewer {
                user_id: Some(user.id),
                admin: user.admin,
                access_level: member_level(db, req.project_id, user.id).await?,
            }
        }
    };
    let mut opts = ExportOptions {
        uploads_dir: Some(req.uploads_dir.clone()),
        app_name: "forge".into(),
        overwrite: req.overwrite,
        cancel: req.cancel.clone(),
        progress: req.progress.clone(),
        ..ExportOptions::default()
    };
    if let Some(b) = req.batch_size {
        opts.batch_size = b;
    }
    let hooks = hooks(&ForgeMethods, &viewer);
    Ok(hoist::export::export(db, &PLAN, &hooks, req.project_id, &req.output, &opts).await?)
}

/// Import an archive as a new project.
pub async fn import_archive(
    db: &Database,
    req: &ImportRequest,
) -> Result<ImportSummary, ForgeError> {
    let user = match &req.user {
        Some(name) => find_user(db, name).await?,
        None => first_admin(db).await?,
    };
    let actor = Actor {
        user_id: user.id,
        admin: user.admin,
        max_access_level: (!user.admin).then_some(MAX_IMPORTED_ACCESS_LEVEL),
    };
    let mut opts = ImportOptions::new(actor);
    opts.uploads_dir = Some(req.uploads_dir.clone());
    opts.cancel = req.cancel.clone();
    opts.progress = req.progress.clone();
    opts.fail_after_rows = req.fail_after_rows;
    opts.limits = req.limits;
    if let Some(b) = req.batch_size {
        opts.batch_size = b;
    }
    if let Some(path) = &req.path {
        opts.root_overrides
            .push(("path".into(), Value::Text(path.clone())));
    }
    if let Some(name) = &req.name {
        opts.root_overrides
            .push(("name".into(), Value::Text(name.clone())));
    }
    Ok(hoist::import::import(db, &PLAN, &req.archive, &opts).await?)
}

/// A forge user, as far as moving projects cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub admin: bool,
}

macro_rules! per_dialect {
    ($db:expr, |$pool:ident, $ph:ident| $body:expr) => {
        match $db.dialect() {
            Dialect::Sqlite => {
                let $pool = $db.as_sqlite().ok_or_else(|| internal("sqlite pool"))?;
                let $ph = ["?", "?"];
                $body
            }
            Dialect::Postgres => {
                let $pool = $db.as_postgres().ok_or_else(|| internal("postgres pool"))?;
                let $ph = ["$1", "$2"];
                $body
            }
            Dialect::MySql => {
                let $pool = $db.as_mysql().ok_or_else(|| internal("mysql pool"))?;
                let $ph = ["?", "?"];
                $body
            }
        }
    };
}

fn internal(what: &str) -> ForgeError {
    ForgeError::Internal(format!("{what} missing for its dialect"))
}

fn query_failed(what: &'static str) -> impl FnOnce(sqlx::Error) -> ForgeError {
    move |e| ForgeError::Query {
        what,
        message: e.to_string(),
    }
}

/// The user named `username`.
pub async fn find_user(db: &Database, username: &str) -> Result<User, ForgeError> {
    let found: Option<(i64, bool)> = per_dialect!(db, |pool, ph| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, admin FROM users WHERE username = {}",
            ph[0]
        )))
        .bind(username)
        .fetch_optional(pool)
        .await
        .map_err(query_failed("looking up the user"))?
    });
    found
        .map(|(id, admin)| User { id, admin })
        .ok_or_else(|| ForgeError::InvalidOption {
            option: "--user",
            reason: format!("no user named {username:?}"),
        })
}

/// The administrator with the lowest id.
pub async fn first_admin(db: &Database) -> Result<User, ForgeError> {
    let found: Option<(i64, bool)> = per_dialect!(db, |pool, _ph| {
        sqlx::query_as("SELECT id, admin FROM users WHERE admin = TRUE ORDER BY id LIMIT 1")
            .fetch_optional(pool)
            .await
            .map_err(query_failed("looking for an administrator"))?
    });
    found
        .map(|(id, admin)| User { id, admin })
        .ok_or_else(|| ForgeError::InvalidOption {
            option: "--user",
            reason: "the database has no administrator to import as; name a user".into(),
        })
}

async fn member_level(
    db: &Database,
    project_id: i64,
    user_id: i64,
) -> Result<Option<i64>, ForgeError> {
    let found: Option<(i64,)> = per_dialect!(db, |pool, ph| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT access_level FROM project_members WHERE project_id = {} AND user_id = {}",
            ph[0], ph[1]
        )))
        .bind(project_id)
        .bind(user_id)
        .fetch_optional(pool)
        .await
        .map_err(query_failed("reading the membership"))?
    });
    Ok(found.map(|(l,)| l))
}
