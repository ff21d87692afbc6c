//! Typed errors of the database backends.

use crate::value::LogicalType;

/// What went wrong talking to a database. Every variant names what and where: the URL scheme, the
/// host or file (never a password), the operation and table, or `table.column` and the types.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The URL's scheme is not one hoist knows.
    #[error(
        "unsupported database URL scheme `{scheme}`: use `sqlite:`, `postgres://`, `postgresql://`, \
         `mysql://` or `mariadb://`"
    )]
    UnsupportedScheme { scheme: String },

    /// The URL has a known scheme but sqlx cannot parse it.
    #[error("invalid database URL `{url}`: {source}")]
    InvalidUrl {
        /// The URL with any password removed.
        url: String,
        #[source]
        source: sqlx::Error,
    },

    /// The database did not answer or refused the connection.
    #[error("cannot connect to {target}: {source}")]
    Connect {
        /// `host:port/database` (user included, password never) or the SQLite file path.
        target: String,
        #[source]
        source: sqlx::Error,
    },

    /// A statement failed.
    #[error("{operation} on `{table}` failed: {source}")]
    Query {
        /// What hoist was doing (`select`, `insert`, `COPY`, `allocate ids`, …).
        operation: &'static str,
        /// The table involved (or the object, for transaction control: `transaction`).
        table: String,
        #[source]
        source: sqlx::Error,
    },

    /// A value read from the database does not fit the column's logical type.
    #[error(
        "cannot read {table}.{column}: expected {expected}, found SQL type {found}{}",
        detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
    )]
    Decode {
        table: String,
        column: String,
        expected: &'static str,
        /// The SQL type the database reported for the value.
        found: String,
        /// Why the value could not be converted (bad timestamp text, invalid JSON, …).
        detail: Option<String>,
    },

    /// A value to write does not fit the column's logical type.
    #[error("cannot write {table}.{column}: the column is {expected}, the value is {found}")]
    Encode {
        table: String,
        column: String,
        expected: &'static str,
        /// The kind of [`crate::value::Value`] given.
        found: &'static str,
    },

    /// The request itself is inconsistent (cursor length, unknown order column, row width, …).
    #[error("invalid request on `{table}`: {reason}")]
    InvalidRequest { table: String, reason: String },

    /// PostgreSQL: the table's `id` column has no sequence (neither serial nor identity).
    #[error(
        "cannot allocate ids for `{table}`: its `id` column has no sequence (make it serial, \
         bigserial or an identity column)"
    )]
    NoSequence { table: String },

    /// Introspection found something it cannot describe in the schema snapshot.
    #[error("cannot introspect {table}.{column}: SQL type `{sql_type}` has no hoist logical type")]
    UnsupportedType {
        table: String,
        column: String,
        sql_type: String,
    },
}

impl BackendError {
    /// Shorthand for [`BackendError::Query`].
    pub(crate) fn query(operation: &'static str, table: &str, source: sqlx::Error) -> Self {
        BackendError::Query {
            operation,
            table: table.to_owned(),
            source,
        }
    }

    /// Shorthand for [`BackendError::InvalidRequest`].
    pub(crate) fn invalid(table: &str, reason: impl Into<String>) -> Self {
        BackendError::InvalidRequest {
            table: table.to_owned(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`BackendError::Encode`].
    pub(crate) fn encode(
        table: &str,
        column: &str,
        expected: LogicalType,
        found: &'static str,
    ) -> Self {
        BackendError::Encode {
            table: table.to_owned(),
            column: column.to_owned(),
            expected: expected.as_str(),
            found,
        }
    }
}

/// A decode failure before the table and column are known (filled in by the caller).
#[derive(Debug)]
pub(crate) struct DecodeFailure {
    pub found: String,
    pub detail: Option<String>,
}

impl DecodeFailure {
    pub(crate) fn new(found: impl Into<String>) -> Self {
        DecodeFailure {
            found: found.into(),
            detail: None,
        }
    }

    pub(crate) fn with_detail(found: impl Into<String>, detail: impl ToString) -> Self {
        DecodeFailure {
            found: found.into(),
            detail: Some(detail.to_string()),
        }
    }

    pub(crate) fn into_error(
        self,
        table: &str,
        column: &str,
        expected: LogicalType,
    ) -> BackendError {
        BackendError::Decode {
            table: table.to_owned(),
            column: column.to_owned(),
            expected: expected.as_str(),
            found: self.found,
            detail: self.detail,
        }
    }
}

/// Remove the password from a URL for messages: `postgres://u:secret@h/db` → `postgres://u@h/db`.
pub(crate) fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}@{}", &url[..scheme_end + 3], user, &rest[at + 1..])
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://alice:s3cret@db.example:5432/app?sslmode=require"),
            "postgres://alice@db.example:5432/app?sslmode=require"
        );
        assert_eq!(
            redact_url("mysql://root@127.0.0.1:3306/test"),
            "mysql://root@127.0.0.1:3306/test"
        );
        assert_eq!(redact_url("sqlite://data/app.db"), "sqlite://data/app.db");
        assert_eq!(redact_url("sqlite::memory:"), "sqlite::memory:");
        assert_eq!(
            redact_url("postgres://u:p@ss@h/db"),
            "postgres://u@h/db",
            "the last @ ends the user info"
        );
    }

    #[test]
    fn decode_error_names_table_column_and_types() {
        let err = DecodeFailure::with_detail("TEXT", "premature end of input").into_error(
            "issues",
            "created_at",
            LogicalType::Timestamp,
        );
        assert_eq!(
            err.to_string(),
            "cannot read issues.created_at: expected timestamp, found SQL type TEXT \
             (premature end of input)"
        );
    }
}
