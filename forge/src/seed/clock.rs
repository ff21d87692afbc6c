//! The seed's calendar: fixed instants (never the wall clock), in unix microseconds.

use chrono::{DateTime, Utc};
use hoist::value::Value;

pub const SECOND: i64 = 1_000_000;
pub const MINUTE: i64 = 60 * SECOND;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

/// 2020-06-01T08:00:00Z: the first user signs up.
pub const USERS_EPOCH: i64 = 1_590_998_400 * SECOND;
/// 2021-01-04T09:00:00Z: the first project is created.
pub const PROJECTS_EPOCH: i64 = 1_609_750_800 * SECOND;
/// How long a project's activity lasts: its issues, merge requests, pipelines… spread over it.
pub const PROJECT_SPAN: i64 = 730 * DAY;

/// A timestamp value from unix microseconds.
pub fn ts(micros: i64) -> Value {
    // Every instant the generator makes is within a few decades of 2021, far inside chrono's range;
    // saturate rather than fail if that ever changes.
    Value::Timestamp(
        DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or(DateTime::<Utc>::MAX_UTC),
    )
}

/// An optional timestamp value.
pub fn ts_opt(micros: Option<i64>) -> Value {
    micros.map_or(Value::Null, ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_are_what_they_say() {
        let Value::Timestamp(t) = ts(PROJECTS_EPOCH) else {
            panic!("not a timestamp")
        };
        assert_eq!(t.to_rfc3339(), "2021-01-04T09:00:00+00:00");
        let Value::Timestamp(u) = ts(USERS_EPOCH) else {
            panic!("not a timestamp")
        };
        assert_eq!(u.to_rfc3339(), "2020-06-01T08:00:00+00:00");
    }
}
