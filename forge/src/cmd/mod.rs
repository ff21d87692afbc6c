//! One module per `forge` subcommand; each returns an [`Output`].

pub mod check;
pub mod demo;
pub mod export;
pub mod import;
pub mod inspect;
pub mod migrate;
pub mod progress;
pub mod schema;
pub mod seed;

use hoist::backend::Database;

use crate::ForgeError;

/// A command's result: the JSON object printed with `--json`, and the human summary printed without.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub json: serde_json::Value,
    pub human: String,
}

/// Connect to the database named on the command line.
pub async fn connect(url: &str) -> Result<Database, ForgeError> {
    Ok(Database::connect(url).await?)
}
