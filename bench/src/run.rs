//! One bench run, from an empty server to a [`Report`] (see the crate docs for the procedure).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use forge::SeedOptions;
use forge::tenant::PLAN;
use futures_util::FutureExt;
use hoist::backend::Database;
use sqlx::postgres::PgPool;
use sqlx::{AssertSqlSafe, Executor};

use crate::BenchError;
use crate::child::{self, Measurer};
use crate::copy::{self, CopyIn, CopyOut};
use crate::django::{DjangoRun, NoDjango, Peer};
use crate::forge_child::{self, ChildEnv, ExportRun, ForgeProgram, ImportRun};
use crate::machine::{Machine, load_average};
use crate::options::BenchOptions;
use crate::report::{self, DjangoDetails, Report, RunNumbers};
use crate::scratch::{Scratch, ScratchDb, quote_ident};

/// Run the bench: create the databases, seed, measure, check, drop everything.
///
/// Call it from the `hoist-bench` binary: it re-executes the current executable as the measuring
/// helper (`__measure-child`) and, without `--forge-bin`, as `forge`.
///
/// The databases are dropped and the work directory removed (unless `keep_files`) whatever
/// happens: error, panic of the bench's own code, or Ctrl-C (which is forwarded to a running
/// forge child, so it cancels cleanly).
pub async fn run(opts: &BenchOptions) -> Result<Report, BenchError> {
    validate(opts)?;
    let forge = ForgeProgram::resolve(opts.forge_bin.as_deref())?;
    let measurer = Measurer::current_exe().map_err(|source| BenchError::Spawn {
        what: "locating the bench executable (the measuring helper)",
        program: "current_exe".into(),
        source,
    })?;
    let mut scratch = Scratch::new(&opts.database_url)?;
    let base = opts.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    let work = tempfile::Builder::new()
        .prefix("hoist-bench-")
        .tempdir_in(&base)
        .map_err(BenchError::io("creating the work directory in", &base))?;

    let tools = Tools {
        forge: &forge,
        measurer: &measurer,
    };
    let measured = std::panic::AssertUnwindSafe(measure(opts, tools, &mut scratch, work.path()))
        .catch_unwind();
    let result = tokio::select! {
        r = measured => r.unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            Err(BenchError::Internal(format!("the bench panicked: {what}")))
        }),
        _ = tokio::signal::ctrl_c() => {
            child::interrupt_running();
            Err(BenchError::Interrupted)
        }
    };

    let drop_errors = scratch.drop_all().await;
    if opts.keep_files {
        let kept = work.keep();
        tracing::info!(dir = %kept.display(), "kept the work directory");
    }
    let mut report = result?;
    for e in drop_errors {
        report
            .problems
            .push(format!("cleaning up: {}", e.one_line()));
    }
    Ok(report)
}

fn validate(opts: &BenchOptions) -> Result<(), BenchError> {
    let bad = |option, reason: &str| {
        Err(BenchError::InvalidOption {
            option,
            reason: reason.into(),
        })
    };
    if opts.rows == 0 {
        return bad("rows", "must be at least 1");
    }
    if opts.repeat == 0 {
        return bad("repeat", "must be at least 1");
    }
    if opts.users == 0 {
        return bad("users", "must be at least 1 (the importing administrator)");
    }
    if opts.issues() > forge::seed::MAX_ISSUES {
        return bad("rows", "too many rows for forge's seed generator");
    }
    Ok(())
}

/// The programs that run the measured children.
#[derive(Clone, Copy)]
struct Tools<'a> {
    forge: &'a ForgeProgram,
    measurer: &'a Measurer,
}

/// The measured hoist and COPY numbers of one repetition.
struct Repetition {
    export: ExportRun,
    copy_out: CopyOut,
    import: ImportRun,
    copy_in: CopyIn,
    load_average_1m: Option<f64>,
}

/// One run's state: what it measures with, where, and what it found wrong.
struct Session<'a> {
    opts: &'a BenchOptions,
    tools: Tools<'a>,
    scratch: &'a mut Scratch,
    work: &'a Path,
    /// Tables whose row counts differ between the source and a target (a broken comparison).
    mismatches: Vec<String>,
    /// Other problems that invalidate the run.
    problems: Vec<String>,
}

/// The seeded source database.
struct Source {
    db: ScratchDb,
    handle: Database,
    root_id: i64,
    uploads: PathBuf,
    /// Rows per table of the Plan (the source holds exactly one project: its tenant).
    counts: BTreeMap<&'static str, u64>,
}

async fn measure(
    opts: &BenchOptions,
    tools: Tools<'_>,
    scratch: &mut Scratch,
    work: &Path,
) -> Result<Report, BenchError> {
    let mut machine = Machine::probe();
    let mut session = Session {
        opts,
        tools,
        scratch,
        work,
        mismatches: Vec::new(),
        problems: Vec::new(),
    };
    let seeding = Instant::now();
    let source = session.source(&mut machine).await?;
    let seed_s = seeding.elapsed().as_secs_f64();
    let upload_bytes = dir_bytes(&source.uploads)?;

    let mut reps = Vec::new();
    for rep in 1..=opts.repeat {
        tracing::info!(
            repetition = rep,
            of = opts.repeat,
            "measuring hoist and COPY"
        );
        reps.push(session.repetition(rep, &source).await?);
    }

    // Django on the same source.
    let django = session.django(&source).await;
    if let Err(NoDjango::Failed(why)) = &django {
        session
            .problems
            .push(format!("the Django peer failed: {why}"));
    }
    source.handle.close().await;
    machine.load_average_end = load_average();

    Ok(build_report(BuildParts {
        opts,
        forge: tools.forge,
        machine,
        issues: opts.issues(),
        seed_s,
        upload_bytes,
        reps,
        django,
        mismatches: session.mismatches,
        problems: session.problems,
    }))
}

impl Session<'_> {
    /// Create, migrate and seed the source (one project, the users), then `VACUUM (ANALYZE)`.
    async fn source(&mut self, machine: &mut Machine) -> Result<Source, BenchError> {
        let db = self.scratch.create("src").await?;
        let handle = connect(&db).await?;
        machine.probe_postgres(pg(&handle, &db)?).await;
        forge::migrate(&handle)
            .await
            .map_err(forge_error("migrating the source database"))?;
        let uploads = self.work.join("uploads-src");
        let issues = self.opts.issues();
        tracing::info!(issues, rows = self.opts.rows, "seeding the source database");
        let seeded = forge::seed(
            &handle,
            &SeedOptions {
                projects: 1,
                issues,
                seed: self.opts.seed,
                users: self.opts.users,
                uploads_dir: uploads.clone(),
            },
        )
        .await
        .map_err(forge_error("seeding the source database"))?;
        let root_id = *seeded
            .project_ids
            .first()
            .ok_or_else(|| BenchError::Internal("the seed created no project".into()))?;
        let pool = pg(&handle, &db)?;
        // Hint bits, visibility map and statistics, as on a database in service: neither hoist
        // nor COPY pays for the bulk load's aftermath.
        exec(pool, &db, "VACUUM (ANALYZE)").await?;
        let counts = count_rows(pool, &db).await?;
        Ok(Source {
            db,
            handle,
            root_id,
            uploads,
            counts,
        })
    }

    /// hoist export, COPY out, hoist import, COPY in (fresh targets), then the row check.
    async fn repetition(&mut self, rep: u32, src: &Source) -> Result<Repetition, BenchError> {
        let load_average_1m = load_average().map(|l| l[0]);
        let hoist_dst = self.target(&format!("hoist{rep}"), true).await?;
        let copy_dst = self.target(&format!("copy{rep}"), true).await?;
        let work = self.work;
        let archive = work.join("hoist.tar.gz");
        let dst_uploads = work.join(format!("uploads-hoist{rep}"));
        let env = |name: &str| ChildEnv {
            forge: self.tools.forge,
            measurer: self.tools.measurer,
            log_filter: &self.opts.child_log,
            stderr: work.join(format!("{name}{rep}.stderr")),
        };
        let src_pool = pg(&src.handle, &src.db)?;

        checkpoint(src_pool, &src.db).await;
        tracing::info!("hoist export");
        let export = forge_child::export(
            env("export"),
            &src.db.url,
            src.root_id,
            &archive,
            &src.uploads,
        )
        .await?;

        checkpoint(src_pool, &src.db).await;
        tracing::info!("COPY out");
        let copy_out = copy::copy_out(
            src_pool,
            &src.db.name,
            &PLAN,
            src.root_id,
            &work.join("copy"),
        )
        .await?;

        let hoist_pool = pg(&hoist_dst.1, &hoist_dst.0)?;
        checkpoint(hoist_pool, &hoist_dst.0).await;
        tracing::info!("hoist import");
        let import =
            forge_child::import(env("import"), &hoist_dst.0.url, &archive, &dst_uploads).await?;

        let copy_pool = pg(&copy_dst.1, &copy_dst.0)?;
        checkpoint(copy_pool, &copy_dst.0).await;
        tracing::info!("COPY in");
        let copy_in = copy::copy_in(copy_pool, &copy_dst.0.name, &PLAN, &copy_out).await?;

        let checking = Instant::now();
        // Same rows everywhere: the source, COPY's selection, COPY's target, hoist's target.
        let copied: BTreeMap<&'static str, u64> = copy_in.rows.iter().copied().collect();
        let hoisted = count_rows(hoist_pool, &hoist_dst.0).await?;
        let in_copy_target = count_rows(copy_pool, &copy_dst.0).await?;
        for (table, &expected) in &src.counts {
            let got = [
                ("COPY's selection", copied.get(table)),
                ("COPY's target", in_copy_target.get(table)),
                ("hoist's target", hoisted.get(table)),
            ];
            for (who, n) in got {
                let n = n.copied().unwrap_or(0);
                if n != expected {
                    self.mismatches.push(format!(
                        "repetition {rep}: {table}: the source has {expected} rows, {who} {n}"
                    ));
                }
            }
        }

        tracing::debug!(ms = checking.elapsed().as_millis() as u64, "rows checked");
        let cleanup = Instant::now();
        for (scratch_db, handle) in [hoist_dst, copy_dst] {
            handle.close().await;
            self.scratch.drop_db(&scratch_db).await?;
        }
        tracing::debug!(ms = cleanup.elapsed().as_millis() as u64, "targets dropped");
        // The imported upload files stay until the work directory goes, after the last
        // repetition: on ext4 without a journal, files deleted within the last minute make
        // creating new ones slow (the kernel skips their inodes one by one), so deleting one
        // repetition's files would slow the next repetition's import — the bench's doing, not
        // the import's (see BENCHMARKS.md, twelfth session).
        Ok(Repetition {
            export,
            copy_out,
            import,
            copy_in,
            load_average_1m,
        })
    }

    /// A migrated target database, with the users (`with_users`) or without (Django's
    /// `loaddata` brings its own).
    async fn target(
        &mut self,
        role: &str,
        with_users: bool,
    ) -> Result<(ScratchDb, Database), BenchError> {
        let db = self.scratch.create(role).await?;
        let handle = connect(&db).await?;
        forge::migrate(&handle)
            .await
            .map_err(forge_error("migrating a target database"))?;
        if with_users {
            forge::seed(
                &handle,
                &SeedOptions {
                    projects: 0,
                    issues: 0,
                    seed: self.opts.seed,
                    users: self.opts.users,
                    uploads_dir: self.work.join(format!("uploads-{role}")),
                },
            )
            .await
            .map_err(forge_error("creating the users of a target database"))?;
        }
        exec(pg(&handle, &db)?, &db, "ANALYZE").await?;
        Ok((db, handle))
    }

    /// Django's dumpdata of the source and loaddata into an empty migrated database, unless
    /// skipped or unavailable.
    async fn django(&mut self, src: &Source) -> Result<DjangoRun, NoDjango> {
        let opts = self.opts;
        let rows: u64 = src.counts.values().sum();
        if opts.no_django {
            return Err(NoDjango::Skipped("disabled with --no-django".into()));
        }
        if rows > opts.django_max_rows {
            return Err(NoDjango::Skipped(format!(
                "{} rows > --django-max-rows {}: loaddata saves one object at a time (about \
                 1,200 objects/s on the 2-core reference machine); not run, and not extrapolated",
                report::group(rows),
                report::group(opts.django_max_rows)
            )));
        }
        let peer = Peer {
            python: opts.python.clone(),
            script: opts.django_peer_path(),
            log_dir: self.work.to_path_buf(),
            measurer: self.tools.measurer.clone(),
        };
        peer.check().await?;
        let (dst, handle) = self
            .target("django", false)
            .await
            .map_err(|e| NoDjango::Failed(e.one_line()))?;
        tracing::info!("Django dumpdata + loaddata");
        let fixture = self.work.join("django.json");
        let result = peer.dump_and_load(&src.db.url, &dst.url, &fixture).await;
        if result.is_ok() {
            let loaded = match pg(&handle, &dst) {
                Ok(pool) => count_rows(pool, &dst).await,
                Err(e) => Err(e),
            };
            match loaded {
                Ok(loaded) => {
                    for (table, &expected) in &src.counts {
                        let n = loaded.get(table).copied().unwrap_or(0);
                        if n != expected {
                            self.mismatches.push(format!(
                                "Django: {table}: the source has {expected} rows, Django's target {n}"
                            ));
                        }
                    }
                }
                Err(e) => self
                    .problems
                    .push(format!("Django: counting rows: {}", e.one_line())),
            }
        }
        handle.close().await;
        if let Err(e) = self.scratch.drop_db(&dst).await {
            self.problems.push(format!("cleaning up: {}", e.one_line()));
        }
        let _ = std::fs::remove_file(&fixture);
        result
    }
}

struct BuildParts<'a> {
    opts: &'a BenchOptions,
    forge: &'a ForgeProgram,
    machine: Machine,
    issues: usize,
    seed_s: f64,
    upload_bytes: u64,
    reps: Vec<Repetition>,
    django: Result<DjangoRun, NoDjango>,
    mismatches: Vec<String>,
    problems: Vec<String>,
}

fn build_report(p: BuildParts<'_>) -> Report {
    let secs = Duration::as_secs_f64;
    let min = |f: &dyn Fn(&Repetition) -> Duration| {
        p.reps
            .iter()
            .map(|r| secs(&f(r)))
            .fold(f64::INFINITY, f64::min)
    };
    let max = |f: &dyn Fn(&Repetition) -> u64| p.reps.iter().map(f).max().unwrap_or(0);
    let hoist_export_s = min(&|r| r.export.wall);
    let hoist_import_s = min(&|r| r.import.wall);
    let copy_out_s = min(&|r| r.copy_out.elapsed);
    let copy_in_s = min(&|r| r.copy_in.elapsed);
    let last = p.reps.last();
    let tables: BTreeMap<String, u64> = last
        .map(|r| {
            r.copy_in
                .rows
                .iter()
                .map(|(t, n)| ((*t).to_owned(), *n))
                .collect()
        })
        .unwrap_or_default();
    let rows = tables.values().sum();
    let hoist_total = hoist_export_s + hoist_import_s;
    let (django_dump_s, django_load_s, django_status, django_reason, django) = match &p.django {
        Ok(d) => (
            Some(secs(&d.dump)),
            Some(secs(&d.load)),
            "measured",
            None,
            Some(DjangoDetails {
                dump_wall_s: secs(&d.dump_wall),
                load_wall_s: secs(&d.load_wall),
                peak_rss_dump_bytes: d.dump_max_rss_bytes,
                peak_rss_load_bytes: d.load_max_rss_bytes,
                dumped_objects: d.dumped_objects,
                loaded_objects: d.loaded_objects,
                fixture_bytes: d.fixture_bytes,
                versions: d.versions.clone(),
            }),
        ),
        Err(why) => (
            None,
            None,
            why.status(),
            Some(why.reason().to_owned()),
            None,
        ),
    };
    let speedup = |django: Option<f64>, hoist: f64| django.map(|d| report::ratio(d, hoist));
    let mut report = Report {
        rows,
        rows_requested: p.opts.rows,
        issues: p.issues,
        hoist_export_s,
        hoist_import_s,
        copy_out_s,
        copy_in_s,
        export_ratio: report::ratio(hoist_export_s, copy_out_s),
        import_ratio: report::ratio(hoist_import_s, copy_in_s),
        peak_rss_export_bytes: max(&|r| r.export.max_rss_bytes),
        peak_rss_import_bytes: max(&|r| r.import.max_rss_bytes),
        django_dump_s,
        django_load_s,
        django_status,
        django_reason,
        django_speedup: django_dump_s
            .zip(django_load_s)
            .map(|(d, l)| report::ratio(d + l, hoist_total)),
        django_dump_speedup: speedup(django_dump_s, hoist_export_s),
        django_load_speedup: speedup(django_load_s, hoist_import_s),
        django,
        hoist_export_reported_s: min(&|r| r.export.reported),
        hoist_import_reported_s: min(&|r| r.import.reported),
        hoist_export_cpu_s: min(&|r| r.export.cpu),
        hoist_import_cpu_s: min(&|r| r.import.cpu),
        archive_bytes: last.map_or(0, |r| r.export.archive_bytes),
        archive_records: last.map_or(0, |r| r.export.records),
        upload_files: last.map_or(0, |r| r.export.uploads),
        upload_bytes: p.upload_bytes,
        copy_bytes: last.map_or(0, |r| r.copy_out.compressed_bytes),
        copy_raw_bytes: last.map_or(0, |r| r.copy_out.raw_bytes),
        tables,
        row_check: if p.mismatches.is_empty() {
            "ok".into()
        } else {
            format!("{} mismatch(es), listed under problems", p.mismatches.len())
        },
        seed_s: p.seed_s,
        repeat: p.opts.repeat,
        runs: p
            .reps
            .iter()
            .map(|r| RunNumbers {
                hoist_export_s: secs(&r.export.wall),
                copy_out_s: secs(&r.copy_out.elapsed),
                hoist_import_s: secs(&r.import.wall),
                copy_in_s: secs(&r.copy_in.elapsed),
                peak_rss_export_bytes: r.export.max_rss_bytes,
                peak_rss_import_bytes: r.import.max_rss_bytes,
                hoist_export_cpu_s: secs(&r.export.cpu),
                hoist_import_cpu_s: secs(&r.import.cpu),
                load_average_1m: r.load_average_1m,
            })
            .collect(),
        targets: BTreeMap::new(),
        forge: p.forge.describe(),
        profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        machine: p.machine,
        problems: p.mismatches.into_iter().chain(p.problems).collect(),
    };
    report.targets = report::targets(&report);
    report
}

async fn connect(db: &ScratchDb) -> Result<Database, BenchError> {
    Ok(Database::connect(&db.url).await?)
}

fn pg<'a>(db: &'a Database, scratch: &ScratchDb) -> Result<&'a PgPool, BenchError> {
    db.as_postgres().ok_or_else(|| BenchError::InvalidUrl {
        url: crate::scratch::redact(&scratch.url),
        reason: "not a PostgreSQL database".into(),
    })
}

fn forge_error(action: &'static str) -> impl FnOnce(forge::ForgeError) -> BenchError {
    move |source| BenchError::Forge {
        action,
        source: Box::new(source),
    }
}

async fn exec(pool: &PgPool, db: &ScratchDb, sql: &'static str) -> Result<(), BenchError> {
    pool.execute(sql)
        .await
        .map(|_| ())
        .map_err(BenchError::db(sql, &db.name))
}

/// `CHECKPOINT` before a measurement, so dirty pages of earlier steps are not flushed during it.
/// Needs superuser (or `pg_checkpoint`); without it the run goes on with a warning.
async fn checkpoint(pool: &PgPool, db: &ScratchDb) {
    if let Err(e) = pool.execute("CHECKPOINT").await {
        tracing::warn!(database = %db.name, error = %e, "CHECKPOINT failed; measuring without it");
    }
}

/// Rows per table of the Plan.
async fn count_rows(
    pool: &PgPool,
    db: &ScratchDb,
) -> Result<BTreeMap<&'static str, u64>, BenchError> {
    let mut counts = BTreeMap::new();
    for table in PLAN.tables {
        let sql = format!("SELECT count(*) FROM {}", quote_ident(table.name));
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(pool)
            .await
            .map_err(BenchError::db(format!("counting {}", table.name), &db.name))?;
        counts.insert(table.name, u64::try_from(n).unwrap_or(0));
    }
    Ok(counts)
}

/// Total size of the regular files under `dir` (0 if it does not exist).
fn dir_bytes(dir: &Path) -> Result<u64, BenchError> {
    let mut total = 0;
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(BenchError::io("listing", &d)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(BenchError::io("listing", &d))?;
            let meta = entry
                .metadata()
                .map_err(BenchError::io("reading", &entry.path()))?;
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.is_file() {
                total += meta.len();
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_validated() {
        let mut o = BenchOptions::new("postgres://postgres@127.0.0.1/postgres", 0);
        assert!(validate(&o).unwrap_err().to_string().contains("rows"));
        o.rows = 10;
        o.repeat = 0;
        assert!(validate(&o).unwrap_err().to_string().contains("repeat"));
        o.repeat = 1;
        o.users = 0;
        assert!(validate(&o).unwrap_err().to_string().contains("users"));
        o.users = 1;
        assert!(validate(&o).is_ok());
    }

    #[test]
    fn directory_sizes_add_up() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/x"), [0u8; 10]).unwrap();
        std::fs::write(dir.path().join("a/b/y"), [0u8; 5]).unwrap();
        assert_eq!(dir_bytes(dir.path()).unwrap(), 15);
        assert_eq!(dir_bytes(&dir.path().join("missing")).unwrap(), 0);
    }
}
