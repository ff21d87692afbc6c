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

/// Archive encoding of values: how each logical type travels in NDJSON.
///
/// | logical type | JSON |
/// |---|---|
/// | integer | number |
/// | float | number; `"NaN"`, `"Infinity"`, `"-Infinity"` as strings |
/// | boolean | `true` / `false` |
/// | text | string |
/// | timestamp | string, RFC 3339 UTC with microseconds: `2024-05-01T12:00:00.000000Z` |
/// | json | the JSON value itself |
/// | binary | string of lowercase hex |
///
/// ```
/// use hoist::value::{Value, LogicalType, to_json, from_json};
/// let v = Value::Int(42);
/// assert_eq!(from_json(&to_json(&v), LogicalType::Integer).unwrap(), v);
/// ```
pub fn to_json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Null => J::Null,
        Value::Int(i) => J::from(*i),
        Value::Float(f) => {
            if f.is_finite() {
                serde_json::Number::from_f64(*f).map_or(J::Null, J::Number)
            } else if f.is_nan() {
                J::String("NaN".into())
            } else if *f > 0.0 {
                J::String("Infinity".into())
            } else {
                J::String("-Infinity".into())
            }
        }
        Value::Bool(b) => J::Bool(*b),
        Value::Text(s) => J::String(s.clone()),
        Value::Timestamp(t) => J::String(format_timestamp(t)),
        Value::Json(j) => j.clone(),
        Value::Bytes(b) => J::String(hex::encode(b)),
    }
}

/// The canonical archive form of a timestamp.
pub fn format_timestamp(t: &chrono::DateTime<chrono::Utc>) -> String {
    let mut buf = Vec::with_capacity(27);
    if crate::backend::timestamp::write_fixed(&mut buf, t, b'T', b"Z") {
        // Only ASCII digits and separators were written.
        if let Ok(text) = String::from_utf8(buf) {
            return text;
        }
    }
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Why an archive value does not fit its column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("expected {expected}, found {found}")]
pub struct DecodeError {
    pub expected: &'static str,
    pub found: String,
}

/// Decode an archive value for a column of logical type `ty` (`null` decodes to [`Value::Null`];
/// whether the column may be null is the caller's check).
pub fn from_json(json: &serde_json::Value, ty: LogicalType) -> Result<Value, DecodeError> {
    use serde_json::Value as J;
    let bad = || DecodeError {
        expected: ty.as_str(),
        found: describe_json(json),
    };
    Ok(match (ty, json) {
        (_, J::Null) => Value::Null,
        (LogicalType::Integer, J::Number(n)) => Value::Int(n.as_i64().ok_or_else(bad)?),
        (LogicalType::Float, J::Number(n)) => Value::Float(n.as_f64().ok_or_else(bad)?),
        (LogicalType::Float, J::String(s)) => Value::Float(match s.as_str() {
            "NaN" => f64::NAN,
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            _ => return Err(bad()),
        }),
        (LogicalType::Boolean, J::Bool(b)) => Value::Bool(*b),
        (LogicalType::Text, J::String(s)) => Value::Text(s.clone()),
        (LogicalType::Timestamp, J::String(s)) => {
            let t = chrono::DateTime::parse_from_rfc3339(s).map_err(|_| bad())?;
            Value::Timestamp(truncate_micros(t.with_timezone(&chrono::Utc)))
        }
        (LogicalType::Json, j) => Value::Json(j.clone()),
        (LogicalType::Binary, J::String(s)) => Value::Bytes(hex::decode(s).map_err(|_| bad())?),
        _ => return Err(bad()),
    })
}

/// Drop sub-microsecond precision (what every backend keeps).
pub fn truncate_micros(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::Timelike;
    let nanos = t.nanosecond();
    t.with_nanosecond(nanos - nanos % 1_000).unwrap_or(t)
}

fn describe_json(json: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match json {
        J::Null => "null".into(),
        J::Bool(_) => "a boolean".into(),
        J::Number(n) => format!("the number {n}"),
        J::String(s) if s.len() > 40 => "a long string".into(),
        J::String(s) => format!("the string {s:?}"),
        J::Array(_) => "an array".into(),
        J::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value_of(ty: LogicalType) -> BoxedStrategy<Value> {
        match ty {
            LogicalType::Integer => any::<i64>().prop_map(Value::Int).boxed(),
            LogicalType::Float => any::<f64>()
                .prop_filter("nan compares unequal", |f| !f.is_nan())
                .prop_map(Value::Float)
                .boxed(),
            LogicalType::Boolean => any::<bool>().prop_map(Value::Bool).boxed(),
            LogicalType::Text => any::<String>().prop_map(Value::Text).boxed(),
            LogicalType::Timestamp => (0i64..4_102_444_800_000_000)
                .prop_map(|us| {
                    Value::Timestamp(
                        chrono::DateTime::from_timestamp_micros(us).unwrap_or_default(),
                    )
                })
                .boxed(),
            LogicalType::Json => any::<Option<i32>>()
                .prop_map(|v| Value::Json(serde_json::json!({ "k": v, "list": [1, "a"] })))
                .boxed(),
            LogicalType::Binary => any::<Vec<u8>>().prop_map(Value::Bytes).boxed(),
        }
    }

    proptest! {
        #[test]
        fn every_value_round_trips(
            (ty, v) in prop_oneof![
                Just(LogicalType::Integer), Just(LogicalType::Float), Just(LogicalType::Boolean),
                Just(LogicalType::Text), Just(LogicalType::Timestamp), Just(LogicalType::Json),
                Just(LogicalType::Binary),
            ].prop_flat_map(|ty| (Just(ty), value_of(ty)))
        ) {
            let json = to_json(&v);
            // through text, as in the archive
            let text = serde_json::to_string(&json).unwrap();
            let back: serde_json::Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(from_json(&back, ty).unwrap(), v);
        }
    }

    #[test]
    fn wrong_types_are_named() {
        let err = from_json(&serde_json::json!("x"), LogicalType::Integer).unwrap_err();
        assert_eq!(err.to_string(), "expected integer, found the string \"x\"");
        assert!(from_json(&serde_json::json!(1.5), LogicalType::Integer).is_err());
        assert!(from_json(&serde_json::json!("2024-13-01"), LogicalType::Timestamp).is_err());
        assert_eq!(
            from_json(&serde_json::json!("NaN"), LogicalType::Float)
                .map(|v| matches!(v, Value::Float(f) if f.is_nan())),
            Ok(true)
        );
    }

    #[test]
    fn timestamps_are_canonical() {
        let t = chrono::DateTime::parse_from_rfc3339("2024-05-01T12:00:00.123456789+02:00")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let v = Value::Timestamp(truncate_micros(t));
        assert_eq!(
            to_json(&v),
            serde_json::json!("2024-05-01T10:00:00.123456Z")
        );
    }

    proptest::proptest! {
        /// The digit-by-digit archive form is chrono's `%Y-%m-%dT%H:%M:%S%.6fZ`, over chrono's
        /// whole range (years before 1 and after 9999 take chrono's path).
        #[test]
        fn archive_timestamps_are_written_as_chrono_formats_them(
            secs in -8_334_601_228_800i64..8_210_266_876_799,
            nanos in 0u32..1_000_000_000,
        ) {
            let t = chrono::DateTime::from_timestamp(secs, nanos).expect("in range");
            proptest::prop_assert_eq!(
                format_timestamp(&t),
                t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
            );
        }
    }
}
