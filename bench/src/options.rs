//! The bench's command line.

use std::path::PathBuf;

use clap::Parser;

/// Issues per requested row: forge's seed writes about 20.5 rows per issue (see `forge::seed`).
pub const ROWS_PER_ISSUE: f64 = 20.5;

/// Rows a seeded project holds whatever its size (project, features, members, labels, …).
pub const FIXED_ROWS: u64 = 60;

/// hoist's benchmark: exports one forge project with hoist and with PostgreSQL `COPY`, imports it
/// with both into empty databases, runs Django's dumpdata/loaddata on the same data, and reports
/// the times, the ratios and hoist's peak memory.
///
/// Every database the bench uses is created with a unique name on the server of
/// `--database-url` and dropped at the end (also on error and on Ctrl-C).
#[derive(Debug, Clone, Parser)]
#[command(name = "hoist-bench", version, about)]
pub struct BenchOptions {
    /// A PostgreSQL database the bench connects to in order to create and drop its own databases
    /// (the user needs CREATEDB; CHECKPOINT before each measurement needs superuser, else it is
    /// skipped with a warning).
    #[arg(
        long,
        env = "HOIST_BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres",
        value_name = "URL"
    )]
    pub database_url: String,
    /// Rows of the exported project (about; the exact count is reported). The seed writes about
    /// 20.5 rows per issue: `issues = (rows - 60) / 20.5`.
    #[arg(long, value_name = "N")]
    pub rows: u64,
    /// Print exactly one JSON object on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Measure hoist and COPY this many times (fresh target databases each time) and report the
    /// fastest time and the highest peak RSS of each; every run is listed under `runs`.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub repeat: u32,
    /// Above this many rows Django is skipped (its loaddata runs at about 1,200 objects/s).
    #[arg(long, default_value_t = 200_000, value_name = "N")]
    pub django_max_rows: u64,
    /// Skip the Django peer.
    #[arg(long)]
    pub no_django: bool,
    /// The Python interpreter that runs the Django peer.
    #[arg(long, default_value = "python3", value_name = "PROGRAM")]
    pub python: String,
    /// The Django peer's CLI (default: `bench/peers/django/peer.py` of this source tree).
    #[arg(long, value_name = "PATH")]
    pub django_peer: Option<PathBuf>,
    /// The `forge` binary to measure. Default: this bench binary re-executes itself as `forge`
    /// (`hoist-bench forge …` runs `forge::cli::run`, the same code as forge's `main`, built with
    /// the same profile), so the measured code is always the tree's.
    #[arg(long, value_name = "PATH")]
    pub forge_bin: Option<PathBuf>,
    /// Shared users seeded in every database (the first is the administrator who imports).
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub users: usize,
    /// The seed's RNG seed.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub seed: u64,
    /// Where the archive, the COPY files, the Django fixture and the upload directories go
    /// (a fresh temporary directory inside it; default: the system's temporary directory).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Keep the temporary directory (archive, COPY files, child logs) instead of removing it.
    #[arg(long)]
    pub keep_files: bool,
    /// `RUST_LOG` of the measured forge processes (forge's default is `info`).
    #[arg(long, default_value = "info", value_name = "FILTER")]
    pub child_log: String,
}

impl BenchOptions {
    /// Options with defaults for `rows` rows against `database_url`.
    pub fn new(database_url: &str, rows: u64) -> BenchOptions {
        BenchOptions {
            database_url: database_url.to_owned(),
            rows,
            json: false,
            repeat: 1,
            django_max_rows: 200_000,
            no_django: false,
            python: "python3".into(),
            django_peer: None,
            forge_bin: None,
            users: 50,
            seed: 1,
            work_dir: None,
            keep_files: false,
            child_log: "info".into(),
        }
    }

    /// Issues to seed for about [`BenchOptions::rows`] rows.
    pub fn issues(&self) -> usize {
        issues_for_rows(self.rows)
    }

    /// The Django peer's `peer.py`.
    pub fn django_peer_path(&self) -> PathBuf {
        self.django_peer.clone().unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("peers")
                .join("django")
                .join("peer.py")
        })
    }
}

/// Issues that make a seeded project of about `rows` rows (at least 1).
pub fn issues_for_rows(rows: u64) -> usize {
    let variable = rows.saturating_sub(FIXED_ROWS) as f64;
    ((variable / ROWS_PER_ISSUE).round() as usize).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        BenchOptions::command().debug_assert();
    }

    #[test]
    fn issues_follow_the_seed_ratio() {
        assert_eq!(issues_for_rows(1_000_060), 48_780);
        assert_eq!(issues_for_rows(100_000), 4_875);
        assert_eq!(issues_for_rows(10), 1);
        assert_eq!(issues_for_rows(0), 1);
    }

    #[test]
    fn defaults_match_the_parser() {
        let parsed = BenchOptions::try_parse_from(["hoist-bench", "--rows", "5"]).unwrap();
        let built = BenchOptions::new("postgres://postgres@127.0.0.1:5432/postgres", 5);
        assert_eq!(format!("{parsed:?}"), format!("{built:?}"));
    }
}
