//! forge: hoist's reference app.
//!
//! A small forge (projects, issues, merge requests, notes, labels, users, uploads) whose database is the
//! test bed for hoist: [`migrate()`] creates its schema on SQLite, PostgreSQL or MariaDB/MySQL, [`seed()`]
//! fills it with deterministic, realistically shaped data, and the `forge` binary ([`cli`]) exposes both.

pub mod cli;
pub mod cmd;
mod error;
pub mod guards;
pub mod migrate;
pub mod seed;
pub mod tenant;
pub mod transfer;

pub use error::ForgeError;
pub use migrate::migrate;
pub use seed::{SeedOptions, SeedReport, seed};
