//! Dynamic row values moved between databases and archives.

pub use hoist_codegen::schema::LogicalType;

/// One column value. Rows are `Vec<Value>` aligned with a [`crate::plan::Table`]'s columns.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    /// UTC, microsecond precision (the common denominator of the backends).
    Timestamp(chrono::DateTime<chrono::Utc>),
    Json(serde_json::Value),
    Bytes(Vec<u8>),
}

/// A row of values in a known column order.
pub type Row = Vec<Value>;

impl Value {
    /// The integer inside, if any.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The text inside, if any.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}
