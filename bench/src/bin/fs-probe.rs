//! `fs-probe`: how fast a file system creates, syncs and links small files — the work that sets
//! the tail of hoist's import (writing the upload blobs, then placing them; see
//! `runtime/src/import/uploads.rs`).
//!
//! ```sh
//! cargo run --release -p hoist-bench --bin fs-probe -- --dir DIR [--files 300] [--threads 8] [--json]
//! ```
//!
//! Everything happens in a fresh temporary directory inside `--dir` (removed at the end, also on
//! error), in new subdirectories of it, so every measurement starts from directories the file
//! system has never seen — as an import's are. Five measurements of `--files` files of 4 KiB:
//!
//! 1. **create**: one thread creates the files in one new directory (open with `O_CREAT|O_EXCL`,
//!    write 4 KiB, close);
//! 2. **create + fsync**: the same with `fsync` (`File::sync_all`) of every file before closing it,
//!    and one `fsync` of the directory at the end (timed separately);
//! 3. **threads, one dir**: `--threads` threads create the files, together, in one new directory;
//! 4. **threads, own dirs**: `--threads` threads create them, each thread in its own new
//!    directory; the speed-up is the wall time of 3 divided by that of 4;
//! 5. **place**: one thread gives each file of 1 a new directory of its own, hard-links the file
//!    into it and `fsync`s the directory — the placement hoist's upload threads do (`Job::Place`).
//!
//! Per file: the mean, median and 95th percentile of each file's own time (for 3 and 4 measured
//! inside each thread, so under contention), and the wall time of the whole step divided by the
//! number of files (for 3 and 4 what the threads achieve together). Times are microseconds.
//!
//! Prints a table, or with `--json` exactly one JSON object, with the directory, its file system
//! (`statfs(2)`'s magic number and its name where known) and the machine's CPU.

use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use clap::Parser;
use hoist_bench::machine::Machine;
use serde::Serialize;

/// Bytes written to every file.
const FILE_BYTES: usize = 4096;

/// Measures how fast a file system creates, syncs and hard-links small files, in fresh
/// directories inside `--dir` (hoist's upload tail; see BENCHMARKS.md).
#[derive(Debug, Clone, Parser)]
#[command(name = "fs-probe", version, about)]
struct ProbeOptions {
    /// The directory to measure in: a temporary directory is created inside it and removed at the
    /// end.
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Files per measurement.
    #[arg(long, default_value_t = 300, value_name = "N")]
    files: usize,
    /// Threads of the two threaded measurements (3 and 4).
    #[arg(long, default_value_t = 8, value_name = "N")]
    threads: usize,
    /// Print exactly one JSON object on stdout instead of the table.
    #[arg(long)]
    json: bool,
}

/// Everything that stops a probe.
#[derive(Debug, thiserror::Error)]
enum ProbeError {
    /// A command-line option is out of range.
    #[error("invalid option `{option}`: {reason}")]
    InvalidOption {
        option: &'static str,
        reason: &'static str,
    },
    /// A file system operation failed.
    #[error("{op} `{}` failed: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A thread of a threaded measurement panicked.
    #[error("a thread of measurement `{step}` panicked")]
    ThreadPanicked { step: &'static str },
    /// The JSON report could not be written.
    #[error("writing the JSON report failed: {0}")]
    Json(#[from] serde_json::Error),
}

/// A [`ProbeError::Io`] for `op` on `path`.
fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ProbeError {
    let path = path.to_path_buf();
    move |source| ProbeError::Io { op, path, source }
}

/// The probe's result (`--json` prints it as it is).
#[derive(Debug, Clone, Serialize)]
struct ProbeReport {
    /// `--dir` as given.
    dir: PathBuf,
    /// The file system's name, from `statfs(2)`'s magic number (null when unknown).
    fs_type: Option<String>,
    /// `statfs(2)`'s `f_type`, in hex (null when `statfs` failed).
    fs_magic: Option<String>,
    cpu_model: Option<String>,
    cpus: usize,
    kernel: Option<String>,
    files: usize,
    threads: usize,
    file_bytes: usize,
    /// 1: one thread, one new directory.
    create: Step,
    /// 2: as 1, with an `fsync` of every file and of the directory at the end.
    create_fsync: Step,
    /// 3: `threads` threads, one new directory.
    threads_one_dir: Step,
    /// 4: `threads` threads, a new directory each.
    threads_own_dirs: Step,
    /// Wall time of 3 ÷ wall time of 4.
    speedup_own_dirs: f64,
    /// 5: `mkdir` + hard link + directory `fsync` per file, one thread.
    place: Step,
}

/// One measurement.
#[derive(Debug, Clone, Serialize)]
struct Step {
    files: usize,
    threads: usize,
    /// From the first thread's start to the last one's end.
    wall_ms: f64,
    /// `wall_ms` per file, in microseconds.
    wall_us_per_file: f64,
    /// Each file's own time.
    per_file_us: Stats,
    /// The directory's `fsync` after the files' (measurement 2 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    dir_fsync_us: Option<f64>,
}

/// Mean, median and percentiles of per-file times, in microseconds.
#[derive(Debug, Clone, Copy, Serialize)]
struct Stats {
    mean: f64,
    median: f64,
    p95: f64,
    min: f64,
    max: f64,
}

impl Stats {
    fn of(times: &[Duration]) -> Stats {
        let mut us: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        us.sort_by(f64::total_cmp);
        let n = us.len();
        if n == 0 {
            return Stats {
                mean: 0.0,
                median: 0.0,
                p95: 0.0,
                min: 0.0,
                max: 0.0,
            };
        }
        let median = if n % 2 == 1 {
            us[n / 2]
        } else {
            (us[n / 2 - 1] + us[n / 2]) / 2.0
        };
        // Nearest rank: the smallest value at or above 95 % of the files.
        let p95 = us[(n * 95).div_ceil(100).max(1) - 1];
        Stats {
            mean: us.iter().sum::<f64>() / n as f64,
            median,
            p95,
            min: us[0],
            max: us[n - 1],
        }
    }
}

impl Step {
    fn new(threads: usize, wall: Duration, times: &[Duration]) -> Step {
        let files = times.len();
        Step {
            files,
            threads,
            wall_ms: wall.as_secs_f64() * 1e3,
            wall_us_per_file: wall.as_secs_f64() * 1e6 / files.max(1) as f64,
            per_file_us: Stats::of(times),
            dir_fsync_us: None,
        }
    }
}

/// Create `path` (it must not exist), write `data`, `fsync` it if `sync`, close it; how long that
/// took.
fn create_file(path: &Path, data: &[u8], sync: bool) -> Result<Duration, ProbeError> {
    let start = Instant::now();
    let mut file = File::create_new(path).map_err(io("creating", path))?;
    file.write_all(data).map_err(io("writing", path))?;
    if sync {
        file.sync_all().map_err(io("syncing", path))?;
    }
    drop(file);
    Ok(start.elapsed())
}

/// `fsync` a directory.
fn sync_dir(dir: &Path) -> Result<(), ProbeError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("syncing directory", dir))
}

fn mkdir(dir: &Path) -> Result<(), ProbeError> {
    std::fs::create_dir(dir).map_err(io("creating directory", dir))
}

/// The name of file `i`.
fn file_name(i: usize) -> String {
    format!("f{i:06}")
}

/// Measurements 1 and 2: one thread creates `files` files in the new directory `dir`.
fn create_one_thread(dir: &Path, files: usize, sync: bool) -> Result<Step, ProbeError> {
    mkdir(dir)?;
    let data = [0x5a_u8; FILE_BYTES];
    let mut times = Vec::with_capacity(files);
    let start = Instant::now();
    for i in 0..files {
        times.push(create_file(&dir.join(file_name(i)), &data, sync)?);
    }
    let dir_fsync = if sync {
        let synced = Instant::now();
        sync_dir(dir)?;
        Some(synced.elapsed())
    } else {
        None
    };
    let mut step = Step::new(1, start.elapsed(), &times);
    step.dir_fsync_us = dir_fsync.map(|d| d.as_secs_f64() * 1e6);
    Ok(step)
}

/// Measurements 3 and 4: `threads` threads create `files` files together (thread `t` files `t`,
/// `t + threads`, …), in `dirs[t % dirs.len()]`, all of them new directories created here, before
/// the clock starts.
fn create_threads(
    step: &'static str,
    dirs: &[PathBuf],
    files: usize,
    threads: usize,
) -> Result<Step, ProbeError> {
    for dir in dirs {
        mkdir(dir)?;
    }
    let barrier = Barrier::new(threads);
    let data = [0x5a_u8; FILE_BYTES];
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let dir = &dirs[t % dirs.len()];
                let (barrier, data) = (&barrier, &data);
                scope.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    let mut times = Vec::new();
                    for i in (t..files).step_by(threads) {
                        times.push(create_file(&dir.join(file_name(i)), data, false)?);
                    }
                    Ok::<_, ProbeError>((start, Instant::now(), times))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| ProbeError::ThreadPanicked { step }))
            .collect::<Vec<_>>()
    });
    let mut first_start: Option<Instant> = None;
    let mut last_end: Option<Instant> = None;
    let mut times = Vec::with_capacity(files);
    for result in results {
        let (start, end, mut own) = result??;
        first_start = Some(first_start.map_or(start, |s| s.min(start)));
        last_end = Some(last_end.map_or(end, |e| e.max(end)));
        times.append(&mut own);
    }
    let wall = match (first_start, last_end) {
        (Some(start), Some(end)) => end.duration_since(start),
        _ => Duration::ZERO,
    };
    Ok(Step::new(threads, wall, &times))
}

/// Measurement 5: for each of the `files` files in `sources`, a new directory `placed/<i>`, a hard
/// link `placed/<i>/upload` to the file, and an `fsync` of that directory.
fn place(sources: &Path, placed: &Path, files: usize) -> Result<Step, ProbeError> {
    mkdir(placed)?;
    let mut times = Vec::with_capacity(files);
    let start = Instant::now();
    for i in 0..files {
        let source = sources.join(file_name(i));
        let dir = placed.join(file_name(i));
        let dest = dir.join("upload");
        let one = Instant::now();
        mkdir(&dir)?;
        std::fs::hard_link(&source, &dest).map_err(io("hard-linking to", &dest))?;
        sync_dir(&dir)?;
        times.push(one.elapsed());
    }
    Ok(Step::new(1, start.elapsed(), &times))
}

/// `statfs(2)` of `dir`: its file system's magic number and, where known, its name.
fn file_system(dir: &Path) -> (Option<u64>, Option<&'static str>) {
    use std::os::unix::ffi::OsStrExt as _;
    let Ok(c_path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return (None, None);
    };
    // SAFETY: `statfs` is plain old data, for which all zeroes is a valid value.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a pointer to a `statfs` that lives across the call.
    if unsafe { libc::statfs(c_path.as_ptr(), &mut st) } != 0 {
        return (None, None);
    }
    // `f_type`'s type differs between platforms (`__fsword_t`, `u32`); the magic is 32 bits.
    #[allow(clippy::unnecessary_cast)]
    let magic = (st.f_type as i64 as u64) & 0xffff_ffff;
    let name = match magic {
        0xef53 => Some("ext2/3/4"),
        0x0102_1994 => Some("tmpfs"),
        0x5846_5342 => Some("xfs"),
        0x9123_683e => Some("btrfs"),
        0x794c_7630 => Some("overlayfs"),
        0x2fc1_2fc1 => Some("zfs"),
        0xf2f5_2010 => Some("f2fs"),
        0x6969 => Some("nfs"),
        0x6573_5546 => Some("fuse"),
        0x0102_1997 => Some("9p"),
        0x8584_58f6 => Some("ramfs"),
        0x7366_7173 => Some("sysfs"),
        0x4d44 => Some("vfat"),
        0x5346_544e => Some("ntfs"),
        _ => None,
    };
    (Some(magic), name)
}

/// Run the five measurements in a temporary directory inside `opts.dir`, then remove it.
fn probe(opts: &ProbeOptions) -> Result<ProbeReport, ProbeError> {
    if opts.files == 0 {
        return Err(ProbeError::InvalidOption {
            option: "--files",
            reason: "must be at least 1",
        });
    }
    if opts.threads == 0 {
        return Err(ProbeError::InvalidOption {
            option: "--threads",
            reason: "must be at least 1",
        });
    }
    let (files, threads) = (opts.files, opts.threads);
    let scratch = tempfile::Builder::new()
        .prefix("fs-probe-")
        .tempdir_in(&opts.dir)
        .map_err(io("creating a temporary directory in", &opts.dir))?;
    let root = scratch.path();

    let create = create_one_thread(&root.join("create"), files, false)?;
    let create_fsync = create_one_thread(&root.join("create-fsync"), files, true)?;
    let threads_one_dir =
        create_threads("threads-one-dir", &[root.join("one-dir")], files, threads)?;
    let own_dirs: Vec<PathBuf> = (0..threads)
        .map(|t| root.join(format!("own-dir-{t}")))
        .collect();
    let threads_own_dirs = create_threads("threads-own-dirs", &own_dirs, files, threads)?;
    let place = place(&root.join("create"), &root.join("placed"), files)?;

    let removed = root.to_path_buf();
    scratch
        .close()
        .map_err(io("removing the temporary directory", &removed))?;

    let (magic, fs_name) = file_system(&opts.dir);
    let machine = Machine::probe();
    let speedup_own_dirs = if threads_own_dirs.wall_ms > 0.0 {
        threads_one_dir.wall_ms / threads_own_dirs.wall_ms
    } else {
        0.0
    };
    Ok(ProbeReport {
        dir: opts.dir.clone(),
        fs_type: fs_name.map(str::to_owned),
        fs_magic: magic.map(|m| format!("{m:#x}")),
        cpu_model: machine.cpu_model,
        cpus: machine.cpus,
        kernel: machine.kernel,
        files,
        threads,
        file_bytes: FILE_BYTES,
        create,
        create_fsync,
        threads_one_dir,
        threads_own_dirs,
        speedup_own_dirs,
        place,
    })
}

/// The report as a table.
fn render(r: &ProbeReport) -> String {
    let mut out = String::new();
    let fs = match (&r.fs_type, &r.fs_magic) {
        (Some(name), Some(magic)) => format!("{name}, statfs magic {magic}"),
        (None, Some(magic)) => format!("statfs magic {magic}"),
        _ => "file system unknown".to_owned(),
    };
    let _ = writeln!(
        out,
        "fs-probe in {} ({fs}): {} files of {} B, {} threads",
        r.dir.display(),
        r.files,
        r.file_bytes,
        r.threads
    );
    let _ = writeln!(
        out,
        "CPU: {} ({} CPUs), kernel {}",
        r.cpu_model.as_deref().unwrap_or("unknown"),
        r.cpus,
        r.kernel.as_deref().unwrap_or("unknown")
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<40} {:>6} {:>4} {:>10} {:>9} {:>9} {:>9} {:>9}",
        "per file, µs", "files", "thr", "wall ms", "wall/file", "mean", "median", "p95"
    );
    let rows = [
        ("1 create, one thread, one new dir", &r.create),
        ("2 create + fsync, one thread", &r.create_fsync),
        ("3 create, threads, one new dir", &r.threads_one_dir),
        ("4 create, threads, a new dir each", &r.threads_own_dirs),
        ("5 place: mkdir + link + dir fsync", &r.place),
    ];
    for (label, s) in rows {
        let _ = writeln!(
            out,
            "{label:<40} {:>6} {:>4} {:>10.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            s.files,
            s.threads,
            s.wall_ms,
            s.wall_us_per_file,
            s.per_file_us.mean,
            s.per_file_us.median,
            s.per_file_us.p95
        );
    }
    let _ = writeln!(out);
    if let Some(us) = r.create_fsync.dir_fsync_us {
        let _ = writeln!(out, "2's directory fsync at the end: {us:.1} µs");
    }
    let _ = writeln!(
        out,
        "speed-up of a directory per thread (wall 3 ÷ wall 4): {:.2}×",
        r.speedup_own_dirs
    );
    out
}

fn main() -> ExitCode {
    let opts = match ProbeOptions::try_parse() {
        Ok(o) => o,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = probe(&opts).and_then(|report| {
        Ok(if opts.json {
            serde_json::to_string(&report)? + "\n"
        } else {
            render(&report)
        })
    });
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(dir: &Path, files: usize, threads: usize) -> ProbeOptions {
        ProbeOptions {
            dir: dir.to_path_buf(),
            files,
            threads,
            json: true,
        }
    }

    #[test]
    fn tiny_probe_is_sane_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let report = probe(&options(dir.path(), 5, 2)).unwrap();
        assert_eq!((report.files, report.threads), (5, 2));
        let steps = [
            (&report.create, 1),
            (&report.create_fsync, 1),
            (&report.threads_one_dir, 2),
            (&report.threads_own_dirs, 2),
            (&report.place, 1),
        ];
        for (step, threads) in steps {
            assert_eq!(step.files, 5);
            assert_eq!(step.threads, threads);
            assert!(step.wall_ms > 0.0 && step.wall_us_per_file > 0.0);
            let s = step.per_file_us;
            assert!(s.min > 0.0 && s.min <= s.median && s.median <= s.p95 && s.p95 <= s.max);
            assert!(s.min <= s.mean && s.mean <= s.max);
        }
        assert!(report.create_fsync.dir_fsync_us.is_some_and(|us| us > 0.0));
        assert!(report.create.dir_fsync_us.is_none());
        assert!(report.speedup_own_dirs > 0.0);
        assert!(report.fs_magic.is_some());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        let json: serde_json::Value = serde_json::to_value(&report).unwrap();
        for key in [
            "dir",
            "fs_type",
            "cpu_model",
            "create",
            "create_fsync",
            "threads_one_dir",
            "threads_own_dirs",
            "speedup_own_dirs",
            "place",
        ] {
            assert!(json.get(key).is_some(), "no `{key}` in {json}");
        }
        assert_eq!(json["place"]["per_file_us"].as_object().unwrap().len(), 5);
        let table = render(&report);
        assert!(table.contains("5 place") && table.contains("speed-up"));
    }

    #[test]
    fn more_threads_than_files() {
        let dir = tempfile::tempdir().unwrap();
        let report = probe(&options(dir.path(), 2, 3)).unwrap();
        assert_eq!(report.threads_one_dir.files, 2);
        assert_eq!(report.threads_own_dirs.files, 2);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn errors_name_the_path_and_the_operation() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let err = probe(&options(&missing, 5, 2)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("creating a temporary directory in"), "{text}");
        assert!(text.contains(&*missing.to_string_lossy()), "{text}");
        let zero = probe(&options(&missing, 0, 2)).unwrap_err();
        assert!(zero.to_string().contains("--files"));
    }

    #[test]
    fn percentiles() {
        let times: Vec<Duration> = (1..=20).map(Duration::from_micros).collect();
        let s = Stats::of(&times);
        assert_eq!((s.min, s.max, s.median, s.p95), (1.0, 20.0, 10.5, 19.0));
        assert!((s.mean - 10.5).abs() < 1e-9);
    }
}
