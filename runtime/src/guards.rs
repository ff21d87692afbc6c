//! The runtime side of hoist's guards: the checks of [`hoist_codegen::guards`] run against a live
//! database schema and a real exported archive.
//!
//! An app wires them into its test suite with [`guard_tests!`](crate::guard_tests) (one
//! `#[test]` per guard), or runs them from its CLI (`forge check`) with a [`GuardSuite`]:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use hoist::backend::Database;
//! use hoist::guards::{GuardSuite, InputPaths, live_schema, render_all};
//!
//! let suite = GuardSuite::load(
//!     std::path::Path::new("."),
//!     &InputPaths {
//!         config: "import_export.yml".into(),
//!         attributes: Some("safe_model_attributes.yml".into()),
//!         schema: "schema.snapshot.json".into(),
//!     },
//!     "forge schema dump",
//! )?;
//! let db = Database::connect("sqlite::memory:").await?;
//! // … apply the app's migrations …
//! let findings = suite.check(&live_schema(&db).await?);
//! print!("{}", render_all(&findings));
//! # Ok(()) }
//! ```
//!
//! The schema guards compare the config with the **live** schema (a freshly migrated database),
//! not with the snapshot, so a new migration trips them before anyone refreshes the snapshot.
//! The export scan ([`GuardSuite::scan_archive`]) reads an archive the app exported and reports
//! every key, at any depth, that contains a sensitive word.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::archive::{ArchiveError, ArchiveReader, EventSink, Limits, StreamError, names};
use crate::backend::{BackendError, Database};
use crate::schema::Schema;

pub use hoist_codegen::guards::{
    DEFAULT_SENSITIVE_WORDS, ExportScanner, Finding, Guard, GuardOptions, render_all,
};
pub use hoist_codegen::{Compiled, InputPaths, Inputs, SourceFile};

/// Why the guards could not run (as opposed to: they ran and found problems).
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// An input file cannot be read.
    #[error(transparent)]
    Input(#[from] hoist_codegen::InputError),
    /// The config does not compile; every diagnostic, rendered.
    #[error("the tenant config does not compile, so the guards cannot run:\n{0}")]
    Config(String),
    /// The exported archive cannot be read.
    #[error("reading the exported archive `{}` failed: {source}", path.display())]
    Archive {
        path: PathBuf,
        #[source]
        source: ArchiveError,
    },
    /// The app's function that returns the live schema failed.
    #[error("the live schema could not be read: {0}")]
    LiveSchema(String),
    /// The app's function that exports a sample archive failed.
    #[error("the sample export failed: {0}")]
    ExportSample(String),
    /// A temporary directory or the async runtime could not be created.
    #[error("{what} failed: {source}")]
    Io {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// The schema of a live database, as the guards compare it: every table but the internal ones
/// (`sqlite_*`, `_sqlx_migrations`), canonical.
pub async fn live_schema(db: &Database) -> Result<Schema, BackendError> {
    db.introspect(&[]).await
}

/// An app's compiled config with the options its guards report with.
#[derive(Debug, Clone)]
pub struct GuardSuite {
    compiled: Compiled,
    options: GuardOptions,
}

impl GuardSuite {
    /// Compile `inputs`; `dump_command` is the app's command that rewrites the snapshot
    /// (`forge schema dump`), named by the snapshot guard.
    pub fn new(inputs: &Inputs, dump_command: &str) -> Result<GuardSuite, GuardError> {
        let compiled =
            hoist_codegen::compile(inputs).map_err(|d| GuardError::Config(d.render()))?;
        Ok(GuardSuite {
            compiled,
            options: GuardOptions::new(inputs, dump_command),
        })
    }

    /// Read the inputs at `paths` relative to `base` (messages name them as given) and compile
    /// them.
    pub fn load(
        base: &Path,
        paths: &InputPaths,
        dump_command: &str,
    ) -> Result<GuardSuite, GuardError> {
        GuardSuite::new(&paths.read(base)?, dump_command)
    }

    /// The compiled config.
    pub fn compiled(&self) -> &Compiled {
        &self.compiled
    }

    /// The options findings are reported with.
    pub fn options(&self) -> &GuardOptions {
        &self.options
    }

    /// Every schema guard against `live` (all but the export scan).
    pub fn check(&self, live: &Schema) -> Vec<Finding> {
        hoist_codegen::guards::check(&self.compiled, live, &self.options)
    }

    /// One schema guard against `live`; nothing for [`Guard::ExportScan`].
    pub fn check_guard(&self, guard: Guard, live: &Schema) -> Vec<Finding> {
        hoist_codegen::guards::check_guard(guard, &self.compiled, live, &self.options)
    }

    /// The export scan: verify the archive at `path` (as an importer would) and report every key
    /// of the root record, the users and every relation record, recursively, that contains a
    /// sensitive word and is not safelisted. Blocking (reads the whole archive twice).
    pub fn scan_archive(&self, path: &Path) -> Result<Vec<Finding>, GuardError> {
        let plan = &self.compiled.plan;
        let root = plan.root.name.as_str();
        let archive_err = |source| GuardError::Archive {
            path: path.to_path_buf(),
            source,
        };
        let verified = ArchiveReader::verify(path, &Limits::default(), plan.format_version, root)
            .map_err(archive_err)?;
        let mut sink = ScanSink {
            root,
            scanner: ExportScanner::new(&self.compiled, &self.options),
        };
        match verified.stream(&mut sink) {
            Ok(()) => Ok(sink.scanner.finish()),
            Err(StreamError::Archive(e)) => Err(archive_err(e)),
            Err(StreamError::Sink(never)) => match never {},
        }
    }
}

/// Feeds an archive's records to the scanner.
struct ScanSink<'a> {
    root: &'a str,
    scanner: ExportScanner<'a>,
}

impl EventSink for ScanSink<'_> {
    type Error = std::convert::Infallible;

    fn root_record(&mut self, record: Map<String, Value>) -> Result<(), Self::Error> {
        self.scanner
            .root_record(&names::root_member(self.root), &record);
        Ok(())
    }

    fn user(&mut self, line: u64, user: Map<String, Value>) -> Result<(), Self::Error> {
        self.scanner.user(names::USERS_MEMBER, line, &user);
        Ok(())
    }

    fn relation_start(&mut self, _relation: &str) -> Result<(), Self::Error> {
        Ok(())
    }

    fn record(
        &mut self,
        relation: &str,
        line: u64,
        _size: usize,
        record: Map<String, Value>,
    ) -> Result<(), Self::Error> {
        let member = names::relation_member(self.root, relation);
        self.scanner.record(&member, relation, line, &record);
        Ok(())
    }

    fn relation_end(&mut self, _relation: &str) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// What the generated guard tests run (`hoist::guard_tests!`); not a stable API.
#[doc(hidden)]
pub mod harness {
    pub use super::Guard;
    use super::*;

    /// The macro's arguments: paths relative to the app's `CARGO_MANIFEST_DIR`.
    #[derive(Debug, Clone, Copy)]
    pub struct Spec {
        pub manifest_dir: &'static str,
        pub config: &'static str,
        pub attributes: &'static str,
        pub schema: &'static str,
        pub dump_command: &'static str,
    }

    impl Spec {
        /// Read and compile the app's inputs (read now, so the test sees the current files).
        pub fn suite(&self) -> Result<GuardSuite, GuardError> {
            GuardSuite::load(
                Path::new(self.manifest_dir),
                &InputPaths {
                    config: self.config.into(),
                    attributes: Some(self.attributes.into()),
                    schema: self.schema.into(),
                },
                self.dump_command,
            )
        }
    }

    /// Why a guard test failed.
    #[derive(Debug)]
    pub enum Failure {
        /// The guard could not run.
        Error(GuardError),
        /// The guard ran and found problems.
        Findings(Guard, Vec<Finding>),
    }

    impl fmt::Display for Failure {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Failure::Error(e) => write!(f, "{e}"),
                Failure::Findings(guard, findings) => {
                    write!(f, "the {guard} guard failed:\n{}", render_all(findings))
                }
            }
        }
    }

    impl From<GuardError> for Failure {
        fn from(e: GuardError) -> Failure {
            Failure::Error(e)
        }
    }

    fn block_on<T>(fut: impl std::future::Future<Output = T>) -> Result<T, GuardError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| GuardError::Io {
                what: "starting the async runtime for the guard test",
                source,
            })?;
        Ok(rt.block_on(fut))
    }

    fn outcome(guard: Guard, findings: Vec<Finding>) -> Result<(), Failure> {
        if findings.is_empty() {
            Ok(())
        } else {
            Err(Failure::Findings(guard, findings))
        }
    }

    /// Run one schema guard against the schema `live` returns.
    pub fn schema_guard<F, E>(spec: &Spec, guard: Guard, live: F) -> Result<(), Failure>
    where
        F: AsyncFnOnce() -> Result<Schema, E>,
        E: fmt::Display,
    {
        let suite = spec.suite()?;
        let schema = block_on(live())?.map_err(|e| GuardError::LiveSchema(e.to_string()))?;
        outcome(guard, suite.check_guard(guard, &schema))
    }

    /// Export a sample with `sample` into a temporary directory and scan the archive.
    pub fn export_scan<F, E>(spec: &Spec, sample: F) -> Result<(), Failure>
    where
        F: AsyncFnOnce(&Path) -> Result<PathBuf, E>,
        E: fmt::Display,
    {
        let suite = spec.suite()?;
        let dir = tempfile::tempdir().map_err(|source| GuardError::Io {
            what: "creating a temporary directory for the sample export",
            source,
        })?;
        let archive =
            block_on(sample(dir.path()))?.map_err(|e| GuardError::ExportSample(e.to_string()))?;
        outcome(Guard::ExportScan, suite.scan_archive(&archive)?)
    }

    /// Turn a failure into the test's panic, with every finding rendered.
    #[track_caller]
    pub fn assert_passes(result: Result<(), Failure>) {
        if let Err(failure) = result {
            panic!("{failure}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::harness::{Failure, Spec};
    use super::*;
    use crate::archive::{AppInfo, ArchiveWriter, ManifestParts, RootInfo, WriterOptions};
    use serde_json::json;

    const SCHEMA: &str = r#"{"format": 1, "tables": [
      {"name": "projects", "primary_key": ["id"], "unique_indexes": [],
       "columns": [{"name": "id", "type": "integer", "nullable": false},
                   {"name": "name", "type": "text", "nullable": false},
                   {"name": "owner_id", "type": "integer", "nullable": true}],
       "foreign_keys": [{"columns": ["owner_id"], "references_table": "users", "references_columns": ["id"]}]},
      {"name": "issues", "primary_key": ["id"], "unique_indexes": [],
       "columns": [{"name": "id", "type": "integer", "nullable": false},
                   {"name": "project_id", "type": "integer", "nullable": false},
                   {"name": "title", "type": "text", "nullable": false}],
       "foreign_keys": [{"columns": ["project_id"], "references_table": "projects", "references_columns": ["id"]}]},
      {"name": "users", "primary_key": ["id"], "foreign_keys": [], "unique_indexes": [],
       "columns": [{"name": "id", "type": "integer", "nullable": false},
                   {"name": "email", "type": "text", "nullable": false}]}
    ]}"#;
    const CONFIG: &str = "format_version: 1\nroot: project\nreferences:\n  users: { natural_keys: [email] }\ntree:\n  project:\n    - :issues\n";
    const ATTRIBUTES: &str =
        "projects: [id, name, owner_id]\nissues: [id, project_id, title]\nusers: [email]\n";

    fn inputs() -> Inputs {
        Inputs {
            config: SourceFile::new("import_export.yml", CONFIG),
            attributes: Some(SourceFile::new("safe_model_attributes.yml", ATTRIBUTES)),
            schema: SourceFile::new("schema.snapshot.json", SCHEMA),
        }
    }

    fn suite() -> GuardSuite {
        match GuardSuite::new(&inputs(), "app schema dump") {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    /// An archive of the test tenant whose issue records carry `extra`.
    fn archive(dir: &Path, extra: serde_json::Value) -> PathBuf {
        let path = dir.join("t.tar.gz");
        let mut w = ArchiveWriter::create(&path, WriterOptions::new("project")).expect("writer");
        let mut m = w.member(&w.root_member_name()).expect("root");
        m.write_record(&json!({"id": 1, "name": "p", "owner_id": 3}))
            .expect("root record");
        m.finish().expect("root member");
        let mut m = w.member(names::USERS_MEMBER).expect("users");
        m.write_record(&json!({"email": "a@example.com"}))
            .expect("user");
        m.finish().expect("users member");
        let mut m = w.member(&w.relation_member_name("issues")).expect("issues");
        for id in 1..=3 {
            let mut record = json!({"id": id, "project_id": 1, "title": "t"});
            if let (Some(r), Some(e)) = (record.as_object_mut(), extra.as_object()) {
                r.extend(e.clone());
            }
            m.write_record(&record).expect("issue");
        }
        m.finish().expect("issues member");
        w.finish(ManifestParts {
            format_version: 1,
            app: AppInfo {
                name: "test".into(),
                schema_digest: "x".into(),
            },
            root: RootInfo {
                relation: "project".into(),
                table: "projects".into(),
                source_id: 1,
            },
            relations: Default::default(),
            created_at: None,
        })
        .expect("archive");
        path
    }

    #[test]
    fn scan_archive_reports_sensitive_keys_at_any_depth() {
        let dir = tempfile::tempdir().expect("temp dir");
        let clean = archive(dir.path(), json!({}));
        assert_eq!(suite().scan_archive(&clean).expect("scan"), vec![]);
        std::fs::remove_file(&clean).expect("remove");

        let dirty = archive(
            dir.path(),
            json!({"api_token": "t", "meta": {"deep": [{"password_hash": "x"}]}}),
        );
        let findings = suite().scan_archive(&dirty).expect("scan");
        let rendered = render_all(&findings);
        let keys: Vec<_> = findings
            .iter()
            .map(|f| (f.file.as_str(), f.line, f.column.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            keys,
            [
                ("tree/project/issues.ndjson", 1, "api_token"),
                ("tree/project/issues.ndjson", 1, "meta.deep[].password_hash"),
            ],
            "{rendered}"
        );
        assert!(
            rendered.contains("(seen 3 times in the export)"),
            "{rendered}"
        );
    }

    #[test]
    fn scan_archive_names_an_unreadable_archive() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("nope.tar.gz");
        let err = suite().scan_archive(&path).expect_err("missing archive");
        assert!(matches!(err, GuardError::Archive { .. }));
        assert!(err.to_string().contains("nope.tar.gz"), "{err}");
    }

    #[test]
    fn a_config_that_does_not_compile_is_an_error_with_every_diagnostic() {
        let mut bad = inputs();
        bad.config.text = bad.config.text.replace(":issues", ":isues");
        let err = GuardSuite::new(&bad, "x").expect_err("bad config");
        let text = err.to_string();
        assert!(text.contains("import_export.yml:7:7"), "{text}");
        assert!(text.contains("did you mean `issues`?"), "{text}");
    }

    /// A spec over files written into `dir`.
    fn spec(dir: &Path) -> Spec {
        for (name, text) in [
            ("import_export.yml", CONFIG),
            ("safe_model_attributes.yml", ATTRIBUTES),
            ("schema.snapshot.json", SCHEMA),
        ] {
            std::fs::write(dir.join(name), text).expect("write input");
        }
        let dir: &'static str = Box::leak(dir.display().to_string().into_boxed_str());
        Spec {
            manifest_dir: dir,
            config: "import_export.yml",
            attributes: "safe_model_attributes.yml",
            schema: "schema.snapshot.json",
            dump_command: "app schema dump",
        }
    }

    #[test]
    fn harness_runs_one_guard_against_the_apps_live_schema() {
        let dir = tempfile::tempdir().expect("temp dir");
        let spec = spec(dir.path());
        let snapshot = match Schema::from_json(SCHEMA) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let same = snapshot.clone();
        assert!(
            harness::schema_guard(&spec, Guard::Snapshot, async move || {
                Ok::<_, String>(same)
            })
            .is_ok()
        );
        let mut grown = snapshot.clone();
        let mut column = grown.tables[0].columns[1].clone();
        column.name = "private_key".into();
        if let Some(issues) = grown.tables.iter_mut().find(|t| t.name == "issues") {
            issues.columns.push(column);
        }
        let result = harness::schema_guard(&spec, Guard::Attributes, async move || {
            Ok::<_, String>(grown)
        });
        let Err(failure @ Failure::Findings(Guard::Attributes, _)) = result else {
            panic!("expected attribute findings, got {result:?}")
        };
        let text = failure.to_string();
        assert!(text.starts_with("the attribute guard failed:\n"), "{text}");
        assert!(
            text.contains("`issues.private_key` is not classified"),
            "{text}"
        );

        // The app's function failing is an error, not a pass.
        let result = harness::schema_guard(&spec, Guard::Models, async || {
            Err::<Schema, _>("no database")
        });
        let Err(Failure::Error(e)) = result else {
            panic!("expected an error, got {result:?}")
        };
        assert_eq!(
            e.to_string(),
            "the live schema could not be read: no database"
        );
    }

    #[test]
    fn harness_scans_the_apps_sample_export() {
        let dir = tempfile::tempdir().expect("temp dir");
        let spec = spec(dir.path());
        let clean = harness::export_scan(&spec, async |out: &Path| {
            Ok::<_, String>(archive(out, json!({})))
        });
        assert!(clean.is_ok(), "{clean:?}");
        let dirty = harness::export_scan(&spec, async |out: &Path| {
            Ok::<_, String>(archive(out, json!({"secret": 1})))
        });
        let Err(Failure::Findings(Guard::ExportScan, findings)) = dirty else {
            panic!("expected export-scan findings, got {dirty:?}")
        };
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].column.as_deref(), Some("secret"));
        let failed = harness::export_scan(&spec, async |_: &Path| Err::<PathBuf, _>("disk full"));
        assert!(
            matches!(&failed, Err(Failure::Error(GuardError::ExportSample(m))) if m == "disk full"),
            "{failed:?}"
        );
    }

    #[test]
    #[should_panic(expected = "the snapshot guard failed")]
    fn assert_passes_panics_with_the_findings() {
        let finding = Finding {
            guard: Guard::Snapshot,
            table: "t".into(),
            column: None,
            message: "m".into(),
            file: "f".into(),
            line: 1,
            col: 1,
            fix: "x".into(),
        };
        harness::assert_passes(Err(Failure::Findings(Guard::Snapshot, vec![finding])));
    }
}
