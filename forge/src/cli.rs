//! The `forge` command line: a clap [`Cli`] with one [`Command`] per subcommand, each implemented in
//! its own module under [`crate::cmd`].
//!
//! Conventions every command follows:
//! - the database comes from `--database-url` or the `DATABASE_URL` environment variable;
//! - with the global `--json` flag, stdout carries exactly one JSON object (the command's result) and
//!   nothing else; without it, a short human summary. Logs always go to stderr (`RUST_LOG` filters
//!   them; default `info`);
//! - on error the process prints one line `error: …` on stderr and exits with code 1 (command-line
//!   usage errors print clap's message and usage, also with code 1).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::ForgeError;
use crate::cmd::{self, Output};

/// forge: hoist's reference app (a small forge) — schema, seed data and tenant moves.
#[derive(Debug, Parser)]
#[command(name = "forge", version, about, propagate_version = true)]
pub struct Cli {
    /// Print exactly one JSON object with the result on stdout (logs go to stderr).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or upgrade forge's schema (applies the embedded migrations of the database's dialect).
    Migrate(MigrateArgs),
    /// Fill the database with deterministic, realistic data (users, projects and everything in them).
    Seed(SeedArgs),
}

/// Which database to use.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite://path` (created if missing), `sqlite::memory:`, `postgres://…`, `mysql://…`.
    #[arg(long, env = "DATABASE_URL", value_name = "URL")]
    pub database_url: String,
}

/// `forge migrate`.
#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// `forge seed`.
#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Issues per project; every other table scales with it (about 20 rows per issue).
    #[arg(long, default_value_t = 100)]
    pub issues: usize,
    /// RNG seed: the same seed gives the same data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Projects to create: the first is the tenant, the others are noise.
    #[arg(long, default_value_t = 2)]
    pub projects: usize,
    /// Shared users (created once; the first is the admin).
    #[arg(long, default_value_t = 50)]
    pub users: usize,
    /// Where upload files are written. Default: `forge-uploads` beside the SQLite database file, else
    /// `./forge-uploads` (PostgreSQL, MySQL, in-memory SQLite).
    #[arg(long, value_name = "DIR")]
    pub uploads_dir: Option<PathBuf>,
}

/// Run one parsed command line.
pub async fn run(cli: &Cli) -> Result<Output, ForgeError> {
    match &cli.command {
        Command::Migrate(args) => cmd::migrate::run(args).await,
        Command::Seed(args) => cmd::seed::run(args).await,
    }
}

/// Send logs to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_logging() -> Result<(), ForgeError> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init()
        .map_err(|e| ForgeError::Logging(e.to_string()))
}

/// The default uploads directory for a database URL: `forge-uploads` beside a SQLite file, else
/// `./forge-uploads`.
pub fn default_uploads_dir(database_url: &str) -> PathBuf {
    const DIR: &str = "forge-uploads";
    let Some(rest) = database_url.strip_prefix("sqlite:") else {
        return PathBuf::from(DIR);
    };
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        return PathBuf::from(DIR);
    }
    match std::path::Path::new(path).parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.join(DIR),
        _ => PathBuf::from(DIR),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn seed_flags_parse() {
        let cli = Cli::try_parse_from([
            "forge",
            "seed",
            "--database-url",
            "sqlite://x.db",
            "--issues",
            "7",
            "--seed",
            "9",
            "--projects",
            "3",
            "--json",
        ])
        .unwrap();
        assert!(cli.json);
        let Command::Seed(args) = cli.command else {
            panic!("not seed")
        };
        assert_eq!(
            (args.issues, args.seed, args.projects, args.users),
            (7, 9, 3, 50)
        );
        assert_eq!(args.db.database_url, "sqlite://x.db");
        assert_eq!(args.uploads_dir, None);
    }

    #[test]
    fn uploads_dir_defaults_beside_sqlite_files() {
        assert_eq!(
            default_uploads_dir("sqlite:///var/lib/forge/forge.db"),
            PathBuf::from("/var/lib/forge/forge-uploads")
        );
        assert_eq!(
            default_uploads_dir("sqlite://data/forge.db?mode=rwc"),
            PathBuf::from("data/forge-uploads")
        );
        assert_eq!(
            default_uploads_dir("sqlite:forge.db"),
            PathBuf::from("forge-uploads")
        );
        assert_eq!(
            default_uploads_dir("sqlite::memory:"),
            PathBuf::from("forge-uploads")
        );
        assert_eq!(
            default_uploads_dir("postgres://postgres@127.0.0.1/forge"),
            PathBuf::from("forge-uploads")
        );
    }
}
