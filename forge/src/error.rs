//! forge's error type.

use std::path::PathBuf;

use hoist::backend::BackendError;

/// Everything that can go wrong in forge's commands.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    /// A database operation failed (the backend error names the operation and table).
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// Applying forge's migrations failed.
    #[error("migrating the {dialect} database failed: {source}")]
    Migrate {
        dialect: &'static str,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A file operation on the uploads directory failed.
    #[error("{action} `{}` failed: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A command-line or API option is out of range.
    #[error("invalid option `{option}`: {reason}")]
    InvalidOption {
        option: &'static str,
        reason: String,
    },
    /// The database lacks forge's tables.
    #[error("the database {lacks}: run `forge migrate` first")]
    NotMigrated { lacks: String },
    /// The seeded database holds rows that contradict what the seed generator expects.
    #[error("cannot seed table `{table}`: {reason}")]
    Seed { table: &'static str, reason: String },
    /// The seed's database writer stopped early; its own error says why (reported instead of this).
    #[error("the seed's database writer stopped")]
    WriterStopped,
    /// The guards could not run (the config does not compile, the sample archive is unreadable, …).
    #[error(transparent)]
    Guards(#[from] hoist::guards::GuardError),
    /// `forge check` found problems; each was printed on stdout as `FILE:LINE: message`.
    #[error("{count} guard finding(s); each is printed above as FILE:LINE: message")]
    GuardsFailed { count: usize },
    /// One of forge's own queries failed.
    #[error("{what} failed: {message}")]
    Query { what: &'static str, message: String },
    /// Exporting failed (nothing was written at the output path).
    #[error(transparent)]
    Export(#[from] hoist::export::ExportError),
    /// Importing failed (nothing was written to the database or the uploads directory).
    #[error(transparent)]
    Import(#[from] hoist::import::ImportError),
    /// The demo's round trip did not give an equivalent archive.
    #[error("the round trip is not equivalent: {}", differences.join("; "))]
    NotEquivalent { differences: Vec<String> },
    /// A bug in forge (a task panicked, …).
    #[error("internal error: {0}")]
    Internal(String),
    /// Writing the command's JSON result failed.
    #[error("writing the JSON result failed: {0}")]
    Json(#[from] serde_json::Error),
    /// Setting up logging failed.
    #[error("setting up logging failed: {0}")]
    Logging(String),
}

impl ForgeError {
    /// The error and its chain of causes on one line (`a: b: c`), for the CLI's stderr.
    pub fn one_line(&self) -> String {
        let mut line = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !line.contains(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
            source = cause.source();
        }
        if let Some(hint) = self.limit_hint() {
            line.push_str("; ");
            line.push_str(&hint);
        }
        line.replace('\n', " ")
    }

    /// For an archive refused by a limit: the `--limit` option that reads it anyway.
    fn limit_hint(&self) -> Option<String> {
        use hoist::archive::{ArchiveError, LimitSetting};
        let ForgeError::Import(hoist::import::ImportError::Archive(error)) = self else {
            return None;
        };
        match *error {
            ArchiveError::ManifestExceedsLimit { limit, needed, .. } => Some(format!(
                "if you trust it, rerun with `--limit {}`",
                LimitSetting::at_least(limit, needed)
            )),
            ArchiveError::LimitExceeded { limit, max, .. } => Some(format!(
                "if you trust it, rerun with `--limit {limit}=<more than {}>` \
                 (`forge export` prints what its archives need)",
                limit.show(max)
            )),
            _ => None,
        }
    }
}
