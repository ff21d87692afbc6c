//! Child processes with their wall time and peak resident set size.
//!
//! The peak RSS comes from `wait4(2)`'s `rusage.ru_maxrss`. On Linux that value is **not** the
//! child's own peak alone: `exec` folds the high-water mark of the memory image it replaces into
//! it, and a child started with `fork`/`posix_spawn` replaces an image of its parent. Reaped
//! straight from the bench, `forge`'s "peak" would be at least the bench's own peak (COPY
//! buffers, seed data, …) — measured here: `/bin/true` spawned by a process that once held
//! 300 MB reports 321 MB. So a measured child is started through a **helper**: the bench binary
//! re-executed as `hoist-bench __measure-child REPORT PROGRAM ARGS…` ([`helper_main`]), a fresh
//! process of a few MB that spawns `PROGRAM`, reaps it with `wait4` and writes its wall time, exit
//! status and `ru_maxrss` to `REPORT`. What leaks into the figure is then the helper's own few
//! MB, below any figure forge can produce. The helper forwards SIGINT/SIGTERM to the program.
//!
//! The wall time runs from just before the program's spawn to `wait4`'s return: process
//! start-up and connecting are included.

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The first argument that turns the bench binary into the measuring helper.
pub const HELPER_SUBCOMMAND: &str = "__measure-child";

/// The pid of the measured process (or its helper) running now (0: none), for Ctrl-C.
static RUNNING: AtomicI32 = AtomicI32::new(0);

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub envs: Vec<(OsString, OsString)>,
}

impl Spec {
    /// `program` without arguments.
    pub fn new(program: impl Into<OsString>) -> Spec {
        Spec {
            program: program.into(),
            ..Spec::default()
        }
    }

    /// Append an argument.
    pub fn arg(&mut self, arg: impl Into<OsString>) -> &mut Spec {
        self.args.push(arg.into());
        self
    }

    /// Set an environment variable for the program.
    pub fn env(&mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> &mut Spec {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// The program's name, for messages.
    pub fn describe(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }
}

/// How a child is measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Measurer {
    /// Through `<helper> __measure-child` (the bench binary): the figure is the child's.
    Helper(PathBuf),
    /// `wait4` on the child directly: the caller's own peak RSS leaks into the figure. For tests
    /// of the plumbing only.
    Direct,
}

impl Measurer {
    /// The helper mode with this executable (the bench binary).
    pub fn current_exe() -> std::io::Result<Measurer> {
        std::env::current_exe().map(Measurer::Helper)
    }
}

/// How a measured child ended.
#[derive(Debug, Clone)]
pub struct ChildRun {
    /// From spawn to reaping.
    pub wall: Duration,
    /// Peak resident set size of the child, in bytes.
    pub max_rss_bytes: u64,
    /// CPU time the child spent in user and kernel mode (all its threads).
    pub cpu: Duration,
    /// How it ended.
    pub status: ExitStatus,
    /// Everything it wrote on stdout.
    pub stdout: Vec<u8>,
    /// The file holding what it wrote on stderr.
    pub stderr: PathBuf,
}

/// A child's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitStatus {
    Code(i32),
    Signal(i32),
}

impl ExitStatus {
    /// Exit code 0.
    pub fn success(self) -> bool {
        self == ExitStatus::Code(0)
    }
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitStatus::Code(c) => write!(f, "exit code {c}"),
            ExitStatus::Signal(s) => write!(f, "killed by signal {s}"),
        }
    }
}

impl ChildRun {
    /// The last `lines` lines of the child's stderr (for error messages).
    pub fn stderr_tail(&self, lines: usize) -> String {
        tail(&self.stderr, lines)
    }

    /// Stdout as (lossy) UTF-8.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// The last `lines` lines of the file at `path` (empty if unreadable).
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// What the helper writes to its report file.
#[derive(Debug, Serialize, Deserialize)]
struct HelperReport {
    wall_s: f64,
    max_rss_bytes: u64,
    cpu_s: f64,
    status: ExitStatus,
}

/// The helper could not start the program: `error`, and whether it was missing.
#[derive(Debug, Serialize, Deserialize)]
struct HelperFailure {
    error: String,
    not_found: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum HelperOutcome {
    Ran(HelperReport),
    Failed(HelperFailure),
}

/// Run `spec` to completion (blocking), stdin closed, stdout captured, stderr into `stderr`.
pub fn run_measured(measurer: &Measurer, spec: &Spec, stderr: &Path) -> std::io::Result<ChildRun> {
    match measurer {
        Measurer::Direct => {
            let mut cmd = Command::new(&spec.program);
            cmd.args(&spec.args).envs(spec.envs.iter().cloned());
            let (_, stdout, waited) = spawn_and_wait(cmd, stderr)?;
            Ok(ChildRun {
                wall: waited.wall,
                max_rss_bytes: waited.usage.max_rss_bytes,
                cpu: waited.usage.cpu,
                status: waited.status,
                stdout,
                stderr: stderr.to_path_buf(),
            })
        }
        Measurer::Helper(helper) => {
            let report = report_path(stderr);
            let mut cmd = Command::new(helper);
            cmd.arg(HELPER_SUBCOMMAND)
                .arg(&report)
                .arg(&spec.program)
                .args(&spec.args)
                .envs(spec.envs.iter().cloned());
            let (_, stdout, helper_end) = spawn_and_wait(cmd, stderr)?;
            let text = std::fs::read(&report);
            let _ = std::fs::remove_file(&report);
            let outcome = text.ok().and_then(|t| serde_json::from_slice(&t).ok());
            match outcome {
                Some(HelperOutcome::Ran(r)) => Ok(ChildRun {
                    wall: Duration::try_from_secs_f64(r.wall_s).unwrap_or_default(),
                    max_rss_bytes: r.max_rss_bytes,
                    cpu: Duration::try_from_secs_f64(r.cpu_s).unwrap_or_default(),
                    status: r.status,
                    stdout,
                    stderr: stderr.to_path_buf(),
                }),
                Some(HelperOutcome::Failed(f)) => Err(std::io::Error::new(
                    if f.not_found {
                        std::io::ErrorKind::NotFound
                    } else {
                        std::io::ErrorKind::Other
                    },
                    f.error,
                )),
                None => Err(std::io::Error::other(format!(
                    "the measuring helper `{}` ended with {} without a report: {}",
                    helper.display(),
                    helper_end.status,
                    tail(stderr, 5)
                ))),
            }
        }
    }
}

fn report_path(stderr: &Path) -> PathBuf {
    let mut name = stderr.file_name().unwrap_or_default().to_os_string();
    name.push(".rusage.json");
    stderr.with_file_name(name)
}

struct Waited {
    wall: Duration,
    usage: Usage,
    status: ExitStatus,
}

/// What `wait4` says about a reaped child.
#[derive(Debug, Clone, Copy)]
struct Usage {
    max_rss_bytes: u64,
    cpu: Duration,
}

/// Spawn `cmd` (stdin null, stdout piped, stderr to a new file at `stderr`), collect stdout,
/// reap with `wait4`.
fn spawn_and_wait(mut cmd: Command, stderr: &Path) -> std::io::Result<(i32, Vec<u8>, Waited)> {
    let err_file = File::create(stderr)?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(err_file));
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let pid = i32::try_from(child.id()).map_err(|_| std::io::Error::other("pid out of range"))?;
    RUNNING.store(pid, Ordering::SeqCst);
    let reader = child.stdout.take().map(|mut out| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            out.read_to_end(&mut buf).map(|_| buf)
        })
    });
    let waited = wait4(pid);
    let wall = started.elapsed();
    RUNNING.store(0, Ordering::SeqCst);
    let (status, usage) = waited?;
    let stdout = match reader {
        Some(handle) => handle
            .join()
            .map_err(|_| std::io::Error::other("the stdout reader thread panicked"))??,
        None => Vec::new(),
    };
    // `child` was reaped by `wait4`; dropping the handle neither waits nor kills.
    drop(child);
    Ok((
        pid,
        stdout,
        Waited {
            wall,
            usage,
            status,
        },
    ))
}

/// Forward an interrupt (SIGINT) to the measured child (or its helper) running now, if any:
/// forge cancels cleanly on it (nothing is left at the archive path, the import rolls back).
pub fn interrupt_running() {
    let pid = RUNNING.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) with a pid we spawned and have not reaped (RUNNING is cleared right
        // after wait4 returns); at worst the signal reaches a process that already exited and
        // waits to be reaped, which ignores it.
        unsafe {
            libc::kill(pid, libc::SIGINT);
        }
    }
}

/// The helper: `__measure-child REPORT PROGRAM ARGS…` (arguments after the subcommand). Runs
/// PROGRAM with the helper's stdin, stdout, stderr and environment, writes a JSON report to
/// REPORT, exits 0 when the report is written (whatever PROGRAM's status), 2 otherwise.
pub fn helper_main(mut args: impl Iterator<Item = OsString>) -> ExitCode {
    let (Some(report), Some(program)) = (args.next(), args.next()) else {
        eprintln!("usage: hoist-bench {HELPER_SUBCOMMAND} REPORT PROGRAM [ARGS…]");
        return ExitCode::from(2);
    };
    install_forwarding();
    let started = Instant::now();
    let outcome = Command::new(&program).args(args).spawn();
    let text = match outcome {
        Err(e) => serde_json::to_string(&HelperFailure {
            error: format!("cannot run `{}`: {e}", program.to_string_lossy()),
            not_found: e.kind() == std::io::ErrorKind::NotFound,
        }),
        Ok(child) => {
            let pid = i32::try_from(child.id()).unwrap_or(0);
            GRANDCHILD.store(pid, Ordering::SeqCst);
            let waited = wait4(pid);
            let wall = started.elapsed();
            GRANDCHILD.store(0, Ordering::SeqCst);
            drop(child);
            match waited {
                Ok((status, usage)) => serde_json::to_string(&HelperReport {
                    wall_s: wall.as_secs_f64(),
                    max_rss_bytes: usage.max_rss_bytes,
                    cpu_s: usage.cpu.as_secs_f64(),
                    status,
                }),
                Err(e) => serde_json::to_string(&HelperFailure {
                    error: format!("waiting for `{}`: {e}", program.to_string_lossy()),
                    not_found: false,
                }),
            }
        }
    };
    let written = text
        .map_err(std::io::Error::other)
        .and_then(|t| std::fs::write(&report, t));
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "error: writing the measurement to `{}`: {e}",
                Path::new(&report).display()
            );
            ExitCode::from(2)
        }
    }
}

/// The helper's program, for the signal handler.
static GRANDCHILD: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward_signal(signal: libc::c_int) {
    let pid = GRANDCHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe; the pid is the helper's unreaped child.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

fn install_forwarding() {
    let handler = forward_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only reads an atomic and calls kill(2), both async-signal-safe.
    // Handlers are reset to the default in the program at exec.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// `wait4(pid)`: how it ended, its peak RSS and CPU time.
fn wait4(pid: i32) -> std::io::Result<(ExitStatus, Usage)> {
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: rusage is plain old data; all-zero is a valid value that wait4 overwrites.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers to locals; `pid` is our own unreaped child.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == -1 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let exit = if libc::WIFEXITED(status) {
            ExitStatus::Code(libc::WEXITSTATUS(status))
        } else if libc::WIFSIGNALED(status) {
            ExitStatus::Signal(libc::WTERMSIG(status))
        } else {
            // Stopped/continued are only reported with WUNTRACED/WCONTINUED, which we do not pass.
            continue;
        };
        let max_rss = u64::try_from(usage.ru_maxrss).unwrap_or(0);
        let time = |t: libc::timeval| {
            Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
                + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
        };
        return Ok((
            exit,
            Usage {
                max_rss_bytes: max_rss * RU_MAXRSS_UNIT,
                cpu: time(usage.ru_utime) + time(usage.ru_stime),
            },
        ));
    }
}

/// `ru_maxrss` is in kilobytes on Linux and the BSDs, in bytes on macOS.
#[cfg(target_os = "macos")]
const RU_MAXRSS_UNIT: u64 = 1;
#[cfg(not(target_os = "macos"))]
const RU_MAXRSS_UNIT: u64 = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Spec {
        let mut s = Spec::new("sh");
        s.arg("-c").arg(script);
        s
    }

    #[test]
    fn captures_stdout_and_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let err = dir.path().join("err.txt");
        let run = run_measured(
            &Measurer::Direct,
            &sh("echo done; echo one >&2; echo two >&2"),
            &err,
        )
        .unwrap();
        assert!(run.status.success(), "{:?}", run.status);
        assert_eq!(run.stdout_text(), "done\n");
        assert_eq!(run.stderr_tail(1), "two");
        assert_eq!(run.stderr_tail(5), "one\ntwo");
        assert!(run.max_rss_bytes > 0);
        assert!(run.wall > Duration::ZERO);
        assert!(run.cpu <= run.wall * 2 + Duration::from_millis(50));
    }

    #[test]
    fn passes_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = sh("echo \"$HOIST_BENCH_TEST_VAR\"");
        spec.env("HOIST_BENCH_TEST_VAR", "forty-two");
        let run = run_measured(&Measurer::Direct, &spec, &dir.path().join("e")).unwrap();
        assert_eq!(run.stdout_text(), "forty-two\n");
    }

    #[test]
    fn peak_rss_covers_the_child_allocation() {
        let dir = tempfile::tempdir().unwrap();
        // `awk` building a 48 MiB string (Python is not guaranteed on every machine).
        let mut spec = Spec::new("awk");
        spec.arg("BEGIN { s = sprintf(\"%50331648s\", \"\"); print length(s) }");
        let run = run_measured(&Measurer::Direct, &spec, &dir.path().join("e")).unwrap();
        assert!(run.status.success(), "{:?}", run.status);
        assert_eq!(run.stdout_text().trim(), "50331648");
        assert!(
            run.max_rss_bytes >= 48 * 1024 * 1024,
            "peak RSS {} < 48 MiB",
            run.max_rss_bytes
        );
    }

    #[test]
    fn reports_exit_codes_and_signals() {
        let dir = tempfile::tempdir().unwrap();
        let err = dir.path().join("err.txt");
        let run = |s| {
            run_measured(&Measurer::Direct, &sh(s), &err)
                .unwrap()
                .status
        };
        assert_eq!(run("exit 3"), ExitStatus::Code(3));
        assert_eq!(run("kill -9 $$"), ExitStatus::Signal(9));
    }

    #[test]
    fn a_missing_program_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let err = dir.path().join("err.txt");
        let e =
            run_measured(&Measurer::Direct, &Spec::new("/nonexistent/program"), &err).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn helper_reports_parse() {
        let ran: HelperOutcome = serde_json::from_str(
            r#"{"wall_s":1.5,"max_rss_bytes":1024,"cpu_s":0.5,"status":{"signal":9}}"#,
        )
        .unwrap();
        assert!(matches!(
            ran,
            HelperOutcome::Ran(HelperReport {
                status: ExitStatus::Signal(9),
                ..
            })
        ));
        let failed: HelperOutcome =
            serde_json::from_str(r#"{"error":"cannot run","not_found":true}"#).unwrap();
        assert!(matches!(
            failed,
            HelperOutcome::Failed(HelperFailure {
                not_found: true,
                ..
            })
        ));
        assert_eq!(
            report_path(Path::new("/w/export1.stderr")),
            Path::new("/w/export1.stderr.rusage.json")
        );
    }
}
