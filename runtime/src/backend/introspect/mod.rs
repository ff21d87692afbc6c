//! Introspection of a live database into the canonical schema snapshot
//! ([`crate::schema::Schema`]), normalized so that the same migrations on SQLite, PostgreSQL and
//! MySQL/MariaDB give the same snapshot:
//!
//! * types → [`LogicalType`] ([`logical_type`]);
//! * serial / identity / `AUTOINCREMENT` / `INTEGER PRIMARY KEY` / `AUTO_INCREMENT` →
//!   `auto_increment` and no default;
//! * defaults ([`normalize_default`]): booleans `true`/`false` (also from `0`/`1`), integers and
//!   floats as plain numbers, strings `'quoted'` without casts, `CURRENT_TIMESTAMP`, `now()`,
//!   `current_timestamp()`, `datetime('now')` → `current_timestamp`; `NULL` → none;
//! * primary key columns are never nullable;
//! * unique indexes and unique constraints, without the primary key, partial, expression and
//!   prefix indexes, columns in index order; single- and multi-column foreign keys.

mod mysql;
mod postgres;
mod sqlite;

pub(crate) use self::mysql::introspect as mysql;
pub(crate) use self::postgres::introspect as postgres;
pub(crate) use self::sqlite::introspect as sqlite;

use super::Dialect;
use super::error::BackendError;
use crate::value::LogicalType;

/// Tables that belong to the database engine or the migration tool, never to the app.
pub(crate) fn is_internal(table: &str) -> bool {
    table.starts_with("sqlite_") || table == "_sqlx_migrations"
}

/// Map a declared SQL type to a logical type. `sql_type` is what the catalog reports (SQLite's
/// declared type, PostgreSQL's `format_type`, MySQL's `COLUMN_TYPE`).
pub(crate) fn logical_type(
    dialect: Dialect,
    table: &str,
    column: &str,
    sql_type: &str,
) -> Result<LogicalType, BackendError> {
    let t = sql_type.trim().to_ascii_lowercase();
    // The base name, without `(…)` parameters and `unsigned`/`zerofill` attributes.
    let base = t.split('(').next().unwrap_or_default().trim();
    let base = base
        .trim_end_matches(" zerofill")
        .trim_end_matches(" unsigned")
        .trim();
    let unsupported = || BackendError::UnsupportedType {
        table: table.to_owned(),
        column: column.to_owned(),
        sql_type: sql_type.to_owned(),
    };
    let ty = match base {
        "bool" | "boolean" => LogicalType::Boolean,
        "tinyint" if t.starts_with("tinyint(1)") => LogicalType::Boolean,
        "smallint" | "integer" | "int" | "bigint" | "tinyint" | "mediumint" | "int2" | "int4"
        | "int8" | "serial" | "bigserial" | "smallserial" | "serial4" | "serial8" | "year" => {
            LogicalType::Integer
        }
        "real" | "double" | "double precision" | "float" | "float4" | "float8" | "numeric"
        | "decimal" | "dec" | "fixed" => LogicalType::Float,
        "text" | "tinytext" | "mediumtext" | "longtext" | "varchar" | "character varying"
        | "char" | "character" | "bpchar" | "nchar" | "nvarchar" | "varying character"
        | "native character" | "clob" | "citext" | "name" | "enum" | "set" | "string" => {
            LogicalType::Text
        }
        "timestamp"
        | "timestamptz"
        | "timestamp with time zone"
        | "timestamp without time zone"
        | "datetime" => LogicalType::Timestamp,
        "json" | "jsonb" => LogicalType::Json,
        "bytea" | "blob" | "tinyblob" | "mediumblob" | "longblob" | "binary" | "varbinary" => {
            LogicalType::Binary
        }
        _ if dialect == Dialect::Sqlite => sqlite_affinity(base).ok_or_else(unsupported)?,
        _ => return Err(unsupported()),
    };
    Ok(ty)
}

/// SQLite's affinity rules (<https://www.sqlite.org/datatype3.html>) for declared types not
/// named above; an empty declared type (BLOB affinity) is binary.
fn sqlite_affinity(base: &str) -> Option<LogicalType> {
    if base.contains("int") {
        Some(LogicalType::Integer)
    } else if base.contains("char") || base.contains("clob") || base.contains("text") {
        Some(LogicalType::Text)
    } else if base.is_empty() || base.contains("blob") {
        Some(LogicalType::Binary)
    } else if base.contains("real") || base.contains("floa") || base.contains("doub") {
        Some(LogicalType::Float)
    } else {
        None
    }
}

/// Normalize a column default as reported by the catalog (see the module docs). `quoted_literals`
/// is false only for MySQL (not MariaDB), whose `COLUMN_DEFAULT` holds literals unquoted.
pub(crate) fn normalize_default(
    raw: &str,
    ty: LogicalType,
    quoted_literals: bool,
) -> Option<String> {
    let mut s = raw.trim();
    loop {
        let before = s;
        s = strip_parens(s);
        s = strip_cast(s);
        if s == before {
            break;
        }
    }
    if s.is_empty() || s.eq_ignore_ascii_case("null") {
        return None;
    }
    if is_current_timestamp(s) {
        return Some("current_timestamp".to_owned());
    }
    let literal: Option<String> = if quoted_literals {
        unquote(s)
    } else {
        Some(unquote(s).unwrap_or_else(|| s.to_owned()))
    };
    let bare = literal.as_deref().unwrap_or(s);
    Some(match ty {
        LogicalType::Boolean => match bare.to_ascii_lowercase().as_str() {
            "0" | "false" | "f" | "b'0'" => "false".to_owned(),
            "1" | "true" | "t" | "b'1'" => "true".to_owned(),
            _ => s.to_owned(),
        },
        LogicalType::Integer => match bare.parse::<i64>() {
            Ok(i) => i.to_string(),
            Err(_) => s.to_owned(),
        },
        LogicalType::Float => match bare.parse::<f64>() {
            Ok(f) => f.to_string(),
            Err(_) => s.to_owned(),
        },
        LogicalType::Text | LogicalType::Json | LogicalType::Timestamp | LogicalType::Binary => {
            match literal {
                Some(text) => quote(&text),
                None => s.to_owned(),
            }
        }
    })
}

/// `(x)` → `x` when the outer parentheses enclose the whole expression.
fn strip_parens(s: &str) -> &str {
    let t = s.trim();
    if !(t.starts_with('(') && t.ends_with(')')) {
        return t;
    }
    let mut depth = 0usize;
    let mut in_quote = false;
    for (i, c) in t.char_indices() {
        match c {
            '\'' => in_quote = !in_quote,
            '(' if !in_quote => depth += 1,
            ')' if !in_quote => {
                depth = depth.saturating_sub(1);
                if depth == 0 && i != t.len() - 1 {
                    return t; // `(a) + (b)`: the first `(` closes early
                }
            }
            _ => {}
        }
    }
    t[1..t.len() - 1].trim()
}

/// `'x'::character varying` → `'x'`; `0::bigint` → `0` (PostgreSQL casts, outside quotes).
fn strip_cast(s: &str) -> &str {
    let mut in_quote = false;
    let bytes = s.as_bytes();
    let mut cut = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => in_quote = !in_quote,
            b':' if !in_quote && bytes.get(i + 1) == Some(&b':') => {
                cut = Some(i);
                break;
            }
            _ => {}
        }
        i += 1;
    }
    match cut {
        Some(at)
            if s[at + 2..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || " _()[],\"".contains(c)) =>
        {
            s[..at].trim()
        }
        _ => s,
    }
}

fn is_current_timestamp(s: &str) -> bool {
    let l = s.to_ascii_lowercase().replace(' ', "");
    let l = l.as_str();
    l == "current_timestamp"
        || l == "now()"
        || l == "localtimestamp"
        || l == "transaction_timestamp()"
        || l == "statement_timestamp()"
        || l == "datetime('now')"
        || l == "strftime('%y-%m-%d%h:%m:%f','now')"
        || (l.starts_with("current_timestamp(") && l.ends_with(')'))
        || (l.starts_with("localtimestamp(") && l.ends_with(')'))
}

/// `'it''s'` → `it's`; `None` when `s` is not one quoted string literal.
fn unquote(s: &str) -> Option<String> {
    let inner = s.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            // Inside, quotes come doubled; a single one means `s` is not one literal.
            if chars.next() != Some('\'') {
                return None;
            }
        }
        out.push(c);
    }
    Some(out)
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use LogicalType::*;

    #[test]
    fn maps_types_of_every_dialect() {
        let cases = [
            (Dialect::Sqlite, "INTEGER", Integer),
            (Dialect::Sqlite, "BIGINT", Integer),
            (Dialect::Sqlite, "BOOLEAN", Boolean),
            (Dialect::Sqlite, "DATETIME", Timestamp),
            (Dialect::Sqlite, "VARCHAR(255)", Text),
            (Dialect::Sqlite, "", Binary),
            (Dialect::Sqlite, "UNSIGNED BIG INT", Integer),
            (Dialect::Sqlite, "NUMERIC(10,2)", Float),
            (Dialect::Postgres, "bigint", Integer),
            (Dialect::Postgres, "character varying(255)", Text),
            (Dialect::Postgres, "timestamp with time zone", Timestamp),
            (
                Dialect::Postgres,
                "timestamp(6) without time zone",
                Timestamp,
            ),
            (Dialect::Postgres, "double precision", Float),
            (Dialect::Postgres, "jsonb", Json),
            (Dialect::Postgres, "bytea", Binary),
            (Dialect::MySql, "tinyint(1)", Boolean),
            (Dialect::MySql, "tinyint(4)", Integer),
            (Dialect::MySql, "bigint(20) unsigned", Integer),
            (Dialect::MySql, "datetime(6)", Timestamp),
            (Dialect::MySql, "longtext", Text),
            (Dialect::MySql, "varbinary(16)", Binary),
            (Dialect::MySql, "decimal(10,2)", Float),
        ];
        for (dialect, sql, want) in cases {
            assert_eq!(
                logical_type(dialect, "t", "c", sql).expect(sql),
                want,
                "{sql}"
            );
        }
        let err = logical_type(Dialect::Postgres, "t", "c", "uuid").expect_err("uuid");
        assert_eq!(
            err.to_string(),
            "cannot introspect t.c: SQL type `uuid` has no hoist logical type"
        );
    }

    #[test]
    fn normalizes_defaults() {
        let cases = [
            ("'open'::character varying", Text, true, Some("'open'")),
            ("'it''s'::text", Text, true, Some("'it''s'")),
            ("'{}'::jsonb", Json, true, Some("'{}'")),
            ("false", Boolean, true, Some("false")),
            ("0", Boolean, true, Some("false")),
            ("'1'", Boolean, true, Some("true")),
            ("TRUE", Boolean, true, Some("true")),
            ("(0)", Integer, true, Some("0")),
            ("'-5'::integer", Integer, true, Some("-5")),
            ("(-5)", Integer, true, Some("-5")),
            ("1.50", Float, true, Some("1.5")),
            ("now()", Timestamp, true, Some("current_timestamp")),
            (
                "CURRENT_TIMESTAMP",
                Timestamp,
                true,
                Some("current_timestamp"),
            ),
            (
                "current_timestamp()",
                Timestamp,
                true,
                Some("current_timestamp"),
            ),
            (
                "CURRENT_TIMESTAMP(6)",
                Timestamp,
                true,
                Some("current_timestamp"),
            ),
            (
                "(datetime('now'))",
                Timestamp,
                true,
                Some("current_timestamp"),
            ),
            ("NULL", Text, true, None),
            ("NULL::character varying", Text, true, None),
            ("open", Text, false, Some("'open'")),
            ("lower('X')", Text, true, Some("lower('X')")),
        ];
        for (raw, ty, quoted, want) in cases {
            assert_eq!(
                normalize_default(raw, ty, quoted).as_deref(),
                want,
                "{raw} as {ty:?}"
            );
        }
    }
}
