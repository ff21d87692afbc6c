//! Shared helpers of hoist's integration tests against the reference app, forge.
//!
//! The tests live in `tests/tests/*.rs`, one file per concern:
//!
//! | file | what it proves |
//! |---|---|
//! | `equivalence.rs` | export → import → export gives an equivalent archive (SQLite, PostgreSQL, MariaDB), also cloned in place; the comparer bites |
//! | `consistency.rs` | an export under concurrent writes is one consistent snapshot (PostgreSQL) |
//! | `rollback.rs` | a failure or a cancellation mid-import leaves no row and no file (SQLite, PostgreSQL, MariaDB) |
//! | `killed.rs` | a `forge import` killed with SIGKILL leaves no row and no file |
//! | `semantics.rs` | user mapping, access-level caps, tokens, label reuse, references, uploads |
//! | `hostile.rs` | tampered and crafted archives: typed errors before any write, or warnings |
//! | `policy.rs` | an export as a user leaves out what the user may not see |
//! | `cli.rs` | the `forge` command line's `--json` and exit-code contract |
//!
//! Every test makes its own databases: SQLite in temporary files, PostgreSQL and MariaDB through
//! [`hoist::backend::testing::TestDb`] (a uniquely named database, dropped at the end; when no server
//! answers the test prints a loud message and skips, unless `CI` is set, where it fails). Sizes are
//! fixed (not scaled by the build profile); the whole crate runs in about two minutes on two cores.
//!
//! The tests that run the `forge` binary use `env!("CARGO_BIN_EXE_forge-cli")`: this package builds
//! forge's own `src/main.rs` as its binary `forge-cli` (see `Cargo.toml`), so cargo compiles it before
//! the tests run, in the same profile, and no test depends on a binary built by hand.

pub mod archive;
pub mod fixture;
pub mod integrity;
pub mod state;
pub mod tenant;
pub mod transfer;

pub use fixture::{Instance, Kind};
pub use transfer::Transfer;

/// A value as a string that identifies it (for sets and multisets of values).
pub fn value_key(v: &hoist::value::Value) -> String {
    hoist::value::to_json(v).to_string()
}

/// [`hoist::compare::compare`] of two archives of forge's plan (at most 20 differences), on a
/// blocking thread; panics if an archive cannot be read.
pub async fn differences(
    a: &std::path::Path,
    b: &std::path::Path,
    ignore_root: &'static [&'static str],
) -> Vec<hoist::compare::Difference> {
    let (a, b) = (a.to_path_buf(), b.to_path_buf());
    tokio::task::spawn_blocking(move || {
        hoist::compare::compare(&forge::tenant::PLAN, &a, &b, ignore_root, 20)
            .unwrap_or_else(|e| panic!("comparing {} and {}: {e}", a.display(), b.display()))
    })
    .await
    .unwrap_or_else(|e| panic!("the comparison panicked: {e}"))
}

/// A temporary directory for archives.
pub fn scratch_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("hoist_archives_")
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"))
}
