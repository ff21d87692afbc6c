//! The Django peer (`bench/peers/django/peer.py`): `dumpdata` of the source, `loaddata` into an
//! empty migrated database.
//!
//! The source holds exactly one project, so dumping every forge model except `AuditLog` and
//! `PersonalAccessToken` (which hoist does not export either) is the tenant's data, plus the users
//! (`dumpdata` has no notion of a tenant; they are 50 rows). The peer's `seconds` is the wall time
//! of `call_command` alone (no interpreter start-up, no connecting); that is what is reported.
//!
//! The peer is **unavailable** (never "zero") when the interpreter is missing or `peer.py` exits
//! with 3 (Python too old, Django or psycopg not importable); **skipped** when the tenant is larger
//! than `--django-max-rows` or `--no-django` is given; **failed** when it ran and failed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::child::{ChildRun, ExitStatus, Measurer, Spec, run_measured};

/// Exit code of `peer.py` when Python, Django or psycopg is missing.
pub const UNAVAILABLE_EXIT_CODE: i32 = 3;

/// The models hoist does not export.
pub const EXCLUDED_MODELS: [&str; 2] = ["forge.AuditLog", "forge.PersonalAccessToken"];

/// How to run the peer.
#[derive(Debug, Clone)]
pub struct Peer {
    pub python: String,
    pub script: PathBuf,
    /// Directory for the children's stderr files.
    pub log_dir: PathBuf,
    pub measurer: Measurer,
}

/// A measured Django run.
#[derive(Debug, Clone)]
pub struct DjangoRun {
    /// `dumpdata`'s `call_command` time.
    pub dump: Duration,
    /// `loaddata`'s `call_command` time (sequence reset included).
    pub load: Duration,
    /// Wall time of each `peer.py` process (start-up and connecting included).
    pub dump_wall: Duration,
    pub load_wall: Duration,
    pub dump_max_rss_bytes: u64,
    pub load_max_rss_bytes: u64,
    /// Objects dumped / installed.
    pub dumped_objects: u64,
    pub loaded_objects: u64,
    pub fixture_bytes: u64,
    pub versions: String,
}

/// Why Django has no numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoDjango {
    Unavailable(String),
    Skipped(String),
    Failed(String),
}

#[derive(Deserialize)]
struct StepJson {
    seconds: f64,
    objects: u64,
    #[serde(default)]
    bytes: Option<u64>,
    #[serde(default)]
    django: Option<String>,
    #[serde(default)]
    driver: Option<String>,
    #[serde(default)]
    python: Option<String>,
}

#[derive(Deserialize)]
struct UnavailableJson {
    unavailable: String,
}

enum Step {
    Ran(StepJson, ChildRun),
    No(NoDjango),
}

impl Peer {
    /// `peer.py check`: `Ok(())` when Django can run, else why not.
    pub async fn check(&self) -> Result<(), NoDjango> {
        if !self.script.is_file() {
            return Err(NoDjango::Unavailable(format!(
                "the Django peer `{}` does not exist",
                self.script.display()
            )));
        }
        let mut spec = self.spec();
        spec.arg("check");
        let run = self.run("check", spec).await?;
        match run.status {
            ExitStatus::Code(0) => Ok(()),
            status => Err(self.not_run(&run, status)),
        }
    }

    /// Dump `source_url` into `fixture`, load it into `target_url` (migrated, empty).
    pub async fn dump_and_load(
        &self,
        source_url: &str,
        target_url: &str,
        fixture: &Path,
    ) -> Result<DjangoRun, NoDjango> {
        let mut spec = self.spec();
        spec.arg("dump")
            .arg("--database-url")
            .arg(source_url)
            .arg("--output")
            .arg(fixture);
        for model in EXCLUDED_MODELS {
            spec.arg("--exclude").arg(model);
        }
        let (dump, dump_run) = match self.step("dump", spec).await {
            Step::Ran(json, run) => (json, run),
            Step::No(why) => return Err(why),
        };
        let mut spec = self.spec();
        spec.arg("load")
            .arg("--database-url")
            .arg(target_url)
            .arg("--input")
            .arg(fixture);
        let (load, load_run) = match self.step("load", spec).await {
            Step::Ran(json, run) => (json, run),
            Step::No(why) => return Err(why),
        };
        let versions = format!(
            "Django {}, {}, Python {}",
            dump.django.as_deref().unwrap_or("?"),
            dump.driver.as_deref().unwrap_or("?"),
            dump.python.as_deref().unwrap_or("?")
        );
        let duration = |what: &str, s: f64| {
            Duration::try_from_secs_f64(s)
                .map_err(|e| NoDjango::Failed(format!("peer.py {what}: bad `seconds` {s}: {e}")))
        };
        Ok(DjangoRun {
            dump: duration("dump", dump.seconds)?,
            load: duration("load", load.seconds)?,
            dump_wall: dump_run.wall,
            load_wall: load_run.wall,
            dump_max_rss_bytes: dump_run.max_rss_bytes,
            load_max_rss_bytes: load_run.max_rss_bytes,
            dumped_objects: dump.objects,
            loaded_objects: load.objects,
            fixture_bytes: dump.bytes.unwrap_or_default(),
            versions,
        })
    }

    fn spec(&self) -> Spec {
        let mut spec = Spec::new(&self.python);
        spec.arg(&self.script);
        spec
    }

    async fn run(&self, what: &'static str, spec: Spec) -> Result<ChildRun, NoDjango> {
        let stderr = self.log_dir.join(format!("django-{what}.stderr"));
        let python = self.python.clone();
        let measurer = self.measurer.clone();
        let waited =
            tokio::task::spawn_blocking(move || run_measured(&measurer, &spec, &stderr)).await;
        match waited {
            Err(e) => Err(NoDjango::Failed(format!(
                "peer.py {what}: the waiting task failed: {e}"
            ))),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => Err(NoDjango::Unavailable(
                format!("`{python}` is not installed (not found on PATH)"),
            )),
            Ok(Err(e)) => Err(NoDjango::Failed(format!(
                "peer.py {what}: cannot run `{python}`: {e}"
            ))),
            Ok(Ok(run)) => Ok(run),
        }
    }

    async fn step(&self, what: &'static str, spec: Spec) -> Step {
        let run = match self.run(what, spec).await {
            Ok(run) => run,
            Err(why) => return Step::No(why),
        };
        if !run.status.success() {
            return Step::No(self.not_run(&run, run.status));
        }
        match serde_json::from_slice::<StepJson>(&run.stdout) {
            Ok(json) => Step::Ran(json, run),
            Err(e) => Step::No(NoDjango::Failed(format!(
                "peer.py {what}: unexpected output ({e}): {:?}",
                run.stdout_text()
            ))),
        }
    }

    fn not_run(&self, run: &ChildRun, status: ExitStatus) -> NoDjango {
        if status == ExitStatus::Code(UNAVAILABLE_EXIT_CODE) {
            let reason = serde_json::from_slice::<UnavailableJson>(&run.stdout)
                .map(|u| u.unavailable)
                .unwrap_or_else(|_| run.stderr_tail(3));
            return NoDjango::Unavailable(reason);
        }
        NoDjango::Failed(format!(
            "peer.py ended with {status}: {}",
            run.stderr_tail(10)
        ))
    }
}

impl NoDjango {
    /// `unavailable`, `skipped` or `failed`.
    pub fn status(&self) -> &'static str {
        match self {
            NoDjango::Unavailable(_) => "unavailable",
            NoDjango::Skipped(_) => "skipped",
            NoDjango::Failed(_) => "failed",
        }
    }

    /// Why.
    pub fn reason(&self) -> &str {
        match self {
            NoDjango::Unavailable(r) | NoDjango::Skipped(r) | NoDjango::Failed(r) => r,
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn peer(dir: &Path, python: &str, script_body: Option<&str>) -> Peer {
        let script = dir.join("peer.py");
        if let Some(body) = script_body {
            std::fs::write(&script, body).unwrap();
        }
        Peer {
            python: python.into(),
            script,
            log_dir: dir.to_path_buf(),
            measurer: Measurer::Direct,
        }
    }

    #[tokio::test]
    async fn a_missing_interpreter_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let p = peer(dir.path(), "/nonexistent/python3", Some(""));
        let why = p.check().await.unwrap_err();
        assert_eq!(why.status(), "unavailable", "{why:?}");
        assert!(why.reason().contains("not installed"), "{why:?}");
    }

    #[tokio::test]
    async fn a_missing_script_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let p = peer(dir.path(), "sh", None);
        let why = p.check().await.unwrap_err();
        assert_eq!(why.status(), "unavailable", "{why:?}");
        assert!(why.reason().contains("does not exist"), "{why:?}");
    }

    /// `sh` stands in for Python: exit 3 with the peer's JSON means unavailable, with its reason.
    #[tokio::test]
    async fn exit_code_3_is_unavailable_with_the_peer_reason() {
        let dir = tempfile::tempdir().unwrap();
        let p = peer(
            dir.path(),
            "sh",
            Some("echo '{\"unavailable\": \"Django is not installed\"}'; exit 3\n"),
        );
        let why = p.check().await.unwrap_err();
        assert_eq!(why, NoDjango::Unavailable("Django is not installed".into()));
        let fixture = dir.path().join("f.json");
        let why = p.dump_and_load("a", "b", &fixture).await.unwrap_err();
        assert_eq!(why.status(), "unavailable");
    }

    #[tokio::test]
    async fn other_failures_are_failures() {
        let dir = tempfile::tempdir().unwrap();
        let p = peer(
            dir.path(),
            "sh",
            Some("echo 'boom: no database' >&2; exit 1\n"),
        );
        let fixture = dir.path().join("f.json");
        let why = p.dump_and_load("a", "b", &fixture).await.unwrap_err();
        assert_eq!(why.status(), "failed");
        assert!(why.reason().contains("boom: no database"), "{why:?}");
    }

    #[tokio::test]
    async fn both_steps_are_measured() {
        let dir = tempfile::tempdir().unwrap();
        let script = r#"case "$1" in
  dump) echo '{"seconds": 1.5, "objects": 10, "bytes": 999, "django": "5.2.19", "driver": "psycopg 3.3.9", "python": "3.11.7"}' ;;
  load) echo '{"seconds": 2.25, "objects": 10, "fixture_objects": 10}' ;;
esac
"#;
        let p = peer(dir.path(), "sh", Some(script));
        let fixture = dir.path().join("f.json");
        let run = p.dump_and_load("a", "b", &fixture).await.unwrap();
        assert_eq!(run.dump, Duration::from_millis(1500));
        assert_eq!(run.load, Duration::from_millis(2250));
        assert_eq!((run.dumped_objects, run.loaded_objects), (10, 10));
        assert_eq!(run.fixture_bytes, 999);
        assert_eq!(run.versions, "Django 5.2.19, psycopg 3.3.9, Python 3.11.7");
        assert!(run.dump_max_rss_bytes > 0);
    }
}
