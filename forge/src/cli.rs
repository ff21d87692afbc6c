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
    /// Seed a SQLite database, export a project, import it into a fresh one, export again, and check
    /// that both archives are equivalent.
    Demo(DemoArgs),
    /// Export one project into an archive (one .tar.gz file).
    Export(ExportArgs),
    /// Import an archive as a new project (one transaction: all or nothing).
    Import(ImportArgs),
    /// Describe an archive and verify it (structure, limits, checksums), without a database.
    Inspect(InspectArgs),
    /// The schema snapshot builds compile against.
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// Create or upgrade forge's schema (applies the embedded migrations of the database's dialect).
    Migrate(MigrateArgs),
    /// Fill the database with deterministic, realistic data (users, projects and everything in them).
    Seed(SeedArgs),
    /// Run hoist's guards (attribute, model, sensitive-word, prohibited-reference, snapshot, export
    /// scan) without cargo: prints `FILE:LINE: message` per finding, exits 1 on any.
    Check(cmd::check::CheckArgs),
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

/// `forge demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Where the demo's databases, uploads and archives go (its earlier files there are replaced).
    #[arg(long, default_value = "demo-out", value_name = "DIR")]
    pub dir: PathBuf,
    /// Issues in the demo project (about 20 rows each).
    #[arg(long, default_value_t = 200)]
    pub issues: usize,
    /// RNG seed for the demo data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// `forge export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// The project's id.
    #[arg(long, value_name = "ID")]
    pub project: i64,
    /// The archive to write (it appears only when complete).
    #[arg(long, value_name = "PATH")]
    pub output: PathBuf,
    /// Export as this user: confidential issues and private snippets follow their rights.
    /// Default: as an administrator.
    #[arg(long, value_name = "USERNAME")]
    pub as_user: Option<String>,
    /// Where upload files are read (default as for `seed`).
    #[arg(long, value_name = "DIR")]
    pub uploads_dir: Option<PathBuf>,
    /// Replace an existing archive at the output path.
    #[arg(long)]
    pub force: bool,
    /// Top-level records per page.
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
}

/// `forge import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// The archive to import.
    #[arg(long, value_name = "PATH")]
    pub archive: PathBuf,
    /// The importing user. Administrators keep user references that match a user here (by email,
    /// then username); for anyone else every reference becomes them and access levels are capped at
    /// Maintainer. Default: the first administrator.
    #[arg(long, value_name = "USERNAME")]
    pub user: Option<String>,
    /// A new path for the project (required when its path is taken, e.g. cloning in place).
    #[arg(long)]
    pub path: Option<String>,
    /// A new name for the project.
    #[arg(long)]
    pub name: Option<String>,
    /// Where upload files are written (default as for `seed`).
    #[arg(long, value_name = "DIR")]
    pub uploads_dir: Option<PathBuf>,
    /// Rows buffered per write.
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// `forge inspect`.
#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// The archive to describe.
    pub archive: PathBuf,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// The archive limits a reading command applies.
#[derive(Debug, Clone, Default, Args)]
pub struct LimitArgs {
    /// Raise a limit that protects against hostile archives, for an archive you trust
    /// (repeatable): max_total_bytes (default 32GiB), max_entries (1000000), max_line_bytes
    /// (64MiB), max_manifest_bytes (128MiB). `forge export` prints what its archive needs.
    #[arg(long = "limit", value_name = "NAME=VALUE")]
    pub settings: Vec<hoist::archive::LimitSetting>,
}

impl LimitArgs {
    /// The default limits with these settings applied.
    pub fn limits(&self) -> hoist::archive::Limits {
        let mut limits = hoist::archive::Limits::default();
        for setting in &self.settings {
            limits.set(*setting);
        }
        limits
    }
}

/// `forge schema …`.
#[derive(Debug, Clone, Subcommand)]
pub enum SchemaCommand {
    /// Write the canonical schema snapshot (default: of forge's migrations on a fresh in-memory
    /// SQLite database).
    Dump(SchemaDumpArgs),
}

/// `forge schema dump`.
#[derive(Debug, Clone, Args)]
pub struct SchemaDumpArgs {
    /// Introspect this (migrated) database instead.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Where to write the snapshot.
    #[arg(long, default_value = "schema.snapshot.json", value_name = "PATH")]
    pub output: PathBuf,
}

/// What `forge`'s `main` does, for any argument list (`argv` starts with the program name):
/// parse, set up logging to stderr, run on a multi-threaded Tokio runtime, print the JSON or human
/// result on stdout, `error: …` on stderr with exit code 1 on failure. The bench re-executes itself
/// through this, so it measures exactly what the `forge` binary runs.
pub fn main_from<I, T>(argv: I) -> std::process::ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::Parser;
    use std::process::ExitCode;
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            // Help and version go to stdout; usage errors to stderr.
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if let Err(e) = init_logging() {
        eprintln!("error: {}", e.one_line());
        return ExitCode::from(1);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime failed: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(&cli)) {
        Ok(output) => {
            if cli.json {
                println!("{}", output.json);
            } else {
                println!("{}", output.human);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", e.one_line());
            ExitCode::from(1)
        }
    }
}

/// Run one parsed command line.
pub async fn run(cli: &Cli) -> Result<Output, ForgeError> {
    match &cli.command {
        Command::Demo(args) => cmd::demo::run(args, cli.json).await,
        Command::Export(args) => cmd::export::run(args, cli.json).await,
        Command::Import(args) => cmd::import::run(args, cli.json).await,
        Command::Inspect(args) => cmd::inspect::run(args).await,
        Command::Schema(SchemaCommand::Dump(args)) => cmd::schema::run(args).await,
        Command::Migrate(args) => cmd::migrate::run(args).await,
        Command::Seed(args) => cmd::seed::run(args).await,
        Command::Check(args) => cmd::check::run(args, cli.json).await,
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
