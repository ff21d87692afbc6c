//! hoist's side of the bench: `forge export --json` and `forge import --json` as child processes,
//! timed and with their peak RSS (see [`crate::child`]).
//!
//! Which `forge`: with `--forge-bin PATH`, that binary; by default the bench binary itself,
//! re-executed as `hoist-bench forge …`, which runs [`forge::cli::run`] exactly as forge's `main`
//! does (same logging set-up, same multi-threaded Tokio runtime; see [`run_forge_cli`]). The default
//! keeps the measured code in step with the tree (`cargo run -p hoist-bench` rebuilds it) and works
//! in `cargo test`, where no `forge` binary is built.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use serde::Deserialize;

use crate::BenchError;
use crate::child::{ChildRun, Measurer, Spec, run_measured};

/// The first argument that turns the bench binary into `forge`.
pub const FORGE_SUBCOMMAND: &str = "forge";

/// How to start `forge`.
#[derive(Debug, Clone)]
pub enum ForgeProgram {
    /// This executable, with [`FORGE_SUBCOMMAND`] first.
    SelfExec(PathBuf),
    /// A `forge` binary.
    Binary(PathBuf),
}

impl ForgeProgram {
    /// `--forge-bin` if given, else this executable.
    pub fn resolve(forge_bin: Option<&Path>) -> Result<ForgeProgram, BenchError> {
        match forge_bin {
            Some(path) => {
                if !path.is_file() {
                    return Err(BenchError::InvalidOption {
                        option: "forge-bin",
                        reason: format!(
                            "`{}` is not a file (build it with `cargo build --release -p forge`)",
                            path.display()
                        ),
                    });
                }
                Ok(ForgeProgram::Binary(path.to_path_buf()))
            }
            None => std::env::current_exe()
                .map(ForgeProgram::SelfExec)
                .map_err(|source| BenchError::Spawn {
                    what: "locating the bench executable",
                    program: "current_exe".into(),
                    source,
                }),
        }
    }

    /// A child running `forge` (arguments to be added).
    pub fn spec(&self) -> Spec {
        match self {
            ForgeProgram::SelfExec(exe) => {
                let mut spec = Spec::new(exe);
                spec.arg(FORGE_SUBCOMMAND);
                spec
            }
            ForgeProgram::Binary(path) => Spec::new(path),
        }
    }

    /// For the report: `forge` or the bench's self re-execution.
    pub fn describe(&self) -> String {
        match self {
            ForgeProgram::SelfExec(exe) => format!("{} forge", exe.display()),
            ForgeProgram::Binary(path) => path.display().to_string(),
        }
    }
}

/// A measured `forge export`.
#[derive(Debug, Clone)]
pub struct ExportRun {
    pub wall: Duration,
    pub max_rss_bytes: u64,
    /// CPU time of the process (user + system, all threads).
    pub cpu: Duration,
    /// forge's own timing (after connecting, until the archive is renamed into place).
    pub reported: Duration,
    pub archive_bytes: u64,
    /// Archive records (a belongs_to target is counted under every parent that names it).
    pub records: u64,
    pub uploads: u64,
}

/// A measured `forge import`.
#[derive(Debug, Clone)]
pub struct ImportRun {
    pub wall: Duration,
    pub max_rss_bytes: u64,
    pub cpu: Duration,
    pub reported: Duration,
    /// Rows forge says it inserted.
    pub rows: u64,
    pub uploads: u64,
    pub warnings: usize,
}

#[derive(Deserialize)]
struct ExportJson {
    bytes: u64,
    rows: u64,
    uploads: u64,
    seconds: f64,
}

#[derive(Deserialize)]
struct ImportJson {
    rows: u64,
    uploads: u64,
    seconds: f64,
    #[serde(default)]
    warnings: Vec<serde_json::Value>,
}

/// Where a measured child's stderr and what it needs.
#[derive(Debug, Clone)]
pub struct ChildEnv<'a> {
    pub forge: &'a ForgeProgram,
    pub measurer: &'a Measurer,
    /// `RUST_LOG` of the child.
    pub log_filter: &'a str,
    /// Its stderr goes here.
    pub stderr: PathBuf,
}

/// `forge export --json` of project `project_id` into `archive`.
pub async fn export(
    env: ChildEnv<'_>,
    database_url: &str,
    project_id: i64,
    archive: &Path,
    uploads_dir: &Path,
) -> Result<ExportRun, BenchError> {
    let mut spec = env.forge.spec();
    spec.arg("export")
        .arg("--json")
        .arg("--database-url")
        .arg(database_url)
        .arg("--project")
        .arg(project_id.to_string())
        .arg("--output")
        .arg(archive)
        .arg("--uploads-dir")
        .arg(uploads_dir)
        .arg("--force")
        .env("RUST_LOG", env.log_filter);
    let run = measured("hoist export", &env, spec).await?;
    let out: ExportJson = parse_json("hoist export", &run)?;
    Ok(ExportRun {
        wall: run.wall,
        max_rss_bytes: run.max_rss_bytes,
        cpu: run.cpu,
        reported: seconds("hoist export", out.seconds)?,
        archive_bytes: out.bytes,
        records: out.rows,
        uploads: out.uploads,
    })
}

/// `forge import --json` of `archive` into `database_url` (as its first administrator).
pub async fn import(
    env: ChildEnv<'_>,
    database_url: &str,
    archive: &Path,
    uploads_dir: &Path,
) -> Result<ImportRun, BenchError> {
    let mut spec = env.forge.spec();
    spec.arg("import")
        .arg("--json")
        .arg("--database-url")
        .arg(database_url)
        .arg("--archive")
        .arg(archive)
        .arg("--uploads-dir")
        .arg(uploads_dir)
        .env("RUST_LOG", env.log_filter);
    let run = measured("hoist import", &env, spec).await?;
    let out: ImportJson = parse_json("hoist import", &run)?;
    Ok(ImportRun {
        wall: run.wall,
        max_rss_bytes: run.max_rss_bytes,
        cpu: run.cpu,
        reported: seconds("hoist import", out.seconds)?,
        rows: out.rows,
        uploads: out.uploads,
        warnings: out.warnings.len(),
    })
}

async fn measured(
    what: &'static str,
    env: &ChildEnv<'_>,
    spec: Spec,
) -> Result<ChildRun, BenchError> {
    let stderr = env.stderr.clone();
    let measurer = env.measurer.clone();
    let run = tokio::task::spawn_blocking(move || run_measured(&measurer, &spec, &stderr))
        .await
        .map_err(|e| BenchError::Internal(format!("{what}: the waiting task failed: {e}")))?
        .map_err(|source| BenchError::Spawn {
            what,
            program: env.forge.describe(),
            source,
        })?;
    if !run.status.success() {
        return Err(BenchError::ChildFailed {
            what,
            status: run.status.to_string(),
            stderr: run.stderr.clone(),
            stderr_tail: run.stderr_tail(20),
        });
    }
    Ok(run)
}

fn parse_json<T: serde::de::DeserializeOwned>(
    what: &'static str,
    run: &ChildRun,
) -> Result<T, BenchError> {
    serde_json::from_slice(&run.stdout).map_err(|e| BenchError::ChildOutput {
        what,
        reason: e.to_string(),
        stdout: run.stdout_text(),
    })
}

fn seconds(what: &'static str, s: f64) -> Result<Duration, BenchError> {
    Duration::try_from_secs_f64(s).map_err(|e| BenchError::ChildOutput {
        what,
        reason: format!("`seconds` is not a duration: {e}"),
        stdout: s.to_string(),
    })
}

/// Run forge's command line with `args` (without the program name), as forge's `main` does:
/// logging to stderr (`RUST_LOG`, default `info`), a multi-threaded Tokio runtime, the JSON or
/// human result on stdout, `error: …` on stderr and exit code 1 on failure.
pub fn run_forge_cli(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    forge::cli::main_from(std::iter::once(OsString::from("forge")).chain(args))
}
