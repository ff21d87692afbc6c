//! hoist runtime: export and import engines, archive, database backends.
//!
//! Generated code (from `hoist-macros` / `hoist_codegen::Builder`) reaches this crate only through
//! [`__private::v1`]; applications use the public modules.

pub mod archive;
pub mod backend;
pub mod compare;
mod events;
pub mod export;
pub mod guards;
pub mod hooks;
mod idset;
pub mod import;
pub mod plan;
pub mod progress;
pub mod typed;
pub mod value;

pub use hoist_codegen::schema;
/// Generate the guard tests (`#[test] fn guard_attributes()`, …) of an app's test suite; see
/// [`guards`].
pub use hoist_macros::guard_tests;
/// Generate a tenant's `PLAN`, typed models and records, and hooks from its config files (see
/// `docs/config.md`).
pub use hoist_macros::tenant;

#[doc(hidden)]
pub mod __private {
    /// Version 1 of the surface generated code relies on. Never change it incompatibly: add `v2`.
    pub mod v1 {
        /// What `guard_tests!` expands to calls.
        pub use crate::guards::harness as guards;
        pub use crate::hooks::{HookError, Hooks};
        pub use crate::plan::*;
        pub use crate::typed::{
            FromValue, IntoValue, RowError, TableRow, column, serde_hex, serde_timestamp,
        };
        pub use crate::value::{LogicalType, Row, Value};
        pub use chrono;
        pub use serde;
        pub use serde_json;
        pub use sqlx;
    }
}
