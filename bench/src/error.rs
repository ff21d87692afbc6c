//! The bench's error type.

use std::path::PathBuf;

/// Everything that stops a benchmark run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A command-line option is out of range or inconsistent.
    #[error("invalid option `{option}`: {reason}")]
    InvalidOption {
        option: &'static str,
        reason: String,
    },
    /// The `--database-url` cannot be used to derive scratch database URLs.
    #[error("invalid database URL `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// A statement the bench itself runs failed (creating databases, COPY, counting rows, …).
    #[error("{action} on database `{database}` failed: {source}")]
    Database {
        action: String,
        database: String,
        #[source]
        source: sqlx::Error,
    },
    /// hoist's backend failed while the bench connected to a database.
    #[error(transparent)]
    Backend(Box<hoist::backend::BackendError>),
    /// Migrating or seeding through forge failed.
    #[error("{action}: {source}")]
    Forge {
        action: &'static str,
        #[source]
        source: Box<forge::ForgeError>,
    },
    /// A file operation failed.
    #[error("{action} `{}` failed: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A child process (forge, python3) could not be started or waited for.
    #[error("{what}: running `{program}` failed: {source}")]
    Spawn {
        what: &'static str,
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// A child process ended unsuccessfully.
    #[error("{what} failed ({status}); last lines of its stderr ({}):\n{stderr_tail}", stderr.display())]
    ChildFailed {
        what: &'static str,
        status: String,
        stderr: PathBuf,
        stderr_tail: String,
    },
    /// A child process printed something that is not the JSON object it promises.
    #[error("{what}: unexpected output on stdout ({reason}): {stdout:?}")]
    ChildOutput {
        what: &'static str,
        reason: String,
        stdout: String,
    },
    /// A background task of the bench panicked or was cancelled.
    #[error("internal error: {0}")]
    Internal(String),
    /// Ctrl-C.
    #[error("interrupted")]
    Interrupted,
}

impl From<hoist::backend::BackendError> for BenchError {
    fn from(e: hoist::backend::BackendError) -> BenchError {
        BenchError::Backend(Box::new(e))
    }
}

impl BenchError {
    /// The error and its chain of causes on one line (`a: b: c`).
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
        line
    }

    /// A [`BenchError::Database`] for `action` on `database`.
    pub(crate) fn db(
        action: impl Into<String>,
        database: &str,
    ) -> impl FnOnce(sqlx::Error) -> BenchError {
        let action = action.into();
        let database = database.to_owned();
        move |source| BenchError::Database {
            action,
            database,
            source,
        }
    }

    /// A [`BenchError::Io`] for `action` on `path`.
    pub(crate) fn io(
        action: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> BenchError {
        let path = path.to_path_buf();
        move |source| BenchError::Io {
            action,
            path,
            source,
        }
    }
}
