//! Callbacks from the export engine into the app: computed `methods` and the `include_if_exportable`
//! policy. Generated code implements [`Hooks`] by decoding rows into the app's typed structs and calling
//! the app's typed traits; apps normally never implement it by hand.

use crate::value::Row;

/// What the export engine asks the app while it streams rows.
///
/// Rows given to [`method`](Hooks::method) are aligned with the exported columns of
/// `plan.tables[table]`; rows given to [`include`](Hooks::include) with its `policy_columns`.
pub trait Hooks: Send + Sync {
    /// The value of `methods:` entry `method` for one row of table `table`.
    fn method(&self, table: usize, method: &str, row: &Row)
    -> Result<serde_json::Value, HookError>;

    /// Whether one record of relation `relation` (a node listed in `include_if_exportable`) may be
    /// exported for the exporting user. `row` holds the table's
    /// [`policy_columns`](crate::plan::Table::policy_columns), in that order.
    fn include(&self, relation: &str, table: usize, row: &Row) -> Result<bool, HookError>;
}

/// Hooks for a plan without `methods` or `include_if_exportable`: every record is included.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHooks;

impl Hooks for NoHooks {
    fn method(
        &self,
        table: usize,
        method: &str,
        _row: &Row,
    ) -> Result<serde_json::Value, HookError> {
        Err(HookError::new(
            table,
            format!("no implementation for method `{method}`"),
        ))
    }

    fn include(&self, _relation: &str, _table: usize, _row: &Row) -> Result<bool, HookError> {
        Ok(true)
    }
}

/// A failure inside an app callback, or a row that does not fit the app's typed struct.
#[derive(Debug, thiserror::Error)]
#[error("export hook failed for table #{table}: {message}")]
pub struct HookError {
    /// Index of the table in the plan.
    pub table: usize,
    pub message: String,
}

impl HookError {
    pub fn new(table: usize, message: impl Into<String>) -> HookError {
        HookError {
            table,
            message: message.into(),
        }
    }
}
