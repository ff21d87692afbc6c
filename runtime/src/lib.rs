//! hoist runtime: export and import engines, archive, database backends.
//!
//! Generated code (from `hoist-macros` / `hoist_codegen::Builder`) reaches this crate only through
//! [`__private::v1`]; applications use the public modules.

pub mod hooks;
pub mod plan;
pub mod typed;
pub mod value;

pub use hoist_codegen::schema;

#[doc(hidden)]
pub mod __private {
    /// Version 1 of the surface generated code relies on. Never change it incompatibly: add `v2`.
    pub mod v1 {
        pub use crate::hooks::{HookError, Hooks};
        pub use crate::plan::*;
        pub use crate::typed::{FromValue, IntoValue, RowError, TableRow, column};
        pub use crate::value::{LogicalType, Row, Value};
        pub use chrono;
        pub use serde;
        pub use serde_json;
        pub use sqlx;
    }
}
