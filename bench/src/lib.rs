//! hoist's benchmark: hoist's export and import of one forge project against PostgreSQL's `COPY`
//! and against Django's `dumpdata`/`loaddata`, on the same rows.
//!
//! One run ([`run::run`]):
//!
//! 1. creates uniquely named databases on the server of `--database-url` ([`scratch`]) and drops
//!    them at the end, also on error, panic or Ctrl-C;
//! 2. migrates and seeds a source with one project of about `--rows` rows (forge's deterministic
//!    seed, 20.5 rows per issue) plus the users, then `VACUUM (ANALYZE)`;
//! 3. per repetition (`--repeat`), with a `CHECKPOINT` before each step:
//!    - **hoist export**: `forge export --json` as a child process, timed, peak RSS from `wait4`
//!      ([`child`], [`forge_child`]);
//!    - **COPY out**: the same rows and columns, selected by walking the Plan's tree
//!      ([`tenant_sql`]), gzipped at the same level ([`copy`]);
//!    - **hoist import**: `forge import --json` into an empty migrated database holding only the
//!      users, timed, peak RSS;
//!    - **COPY in**: the COPY files into another such database, parents first, one transaction;
//!    - a check that the source, both targets and COPY's selection hold the same rows per table;
//! 4. **Django** ([`django`]): `peer.py dump` of the source and `peer.py load` into an empty
//!    migrated database, unless Python/Django is missing (*unavailable*), the project is larger
//!    than `--django-max-rows` (*skipped*) or `--no-django` is given;
//! 5. reports the numbers, ratios and targets ([`report`]) with the machine they ran on
//!    ([`machine`]).

pub mod child;
pub mod copy;
pub mod django;
mod error;
pub mod forge_child;
pub mod machine;
pub mod options;
pub mod report;
pub mod run;
pub mod scratch;
pub mod tenant_sql;

pub use error::BenchError;
pub use options::BenchOptions;
pub use report::Report;
pub use run::run;
