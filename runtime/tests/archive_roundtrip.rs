//! Writer → verify → stream round trips, and inspect.

mod archive_support;

/// Named `archive` so that `cargo test -p hoist archive` selects these tests.
mod archive {
    use crate::archive_support;
    use std::collections::BTreeMap;
    use std::io::Read;
    use std::path::{Path, PathBuf};

    use hoist::archive::{
        AppInfo, ArchiveError, ArchiveReader, ArchiveWriter, EventSink, LimitKind, Limits,
        Location, ManifestParts, RecordWatch, RelationStats, RootInfo, StreamError, WriterOptions,
        inspect,
    };
    use serde_json::{Map, Value, json};

    #[derive(Debug, Clone, PartialEq)]
    enum Event {
        Root(Value),
        User(u64, Value),
        UsersEnd,
        Start(String),
        Record(String, u64, Value),
        End(String),
        Upload(String, u64, Vec<u8>),
    }

    #[derive(Default)]
    struct Recorder {
        events: Vec<Event>,
        /// Read at most this many bytes of each upload (None: all).
        upload_prefix: Option<usize>,
        /// Fail at the n-th record.
        fail_at_record: Option<u64>,
    }

    impl EventSink for Recorder {
        type Error = String;
        fn root_record(&mut self, record: Map<String, Value>) -> Result<(), String> {
            self.events.push(Event::Root(Value::Object(record)));
            Ok(())
        }
        fn user(&mut self, line: u64, user: Map<String, Value>) -> Result<(), String> {
            self.events.push(Event::User(line, Value::Object(user)));
            Ok(())
        }
        fn users_end(&mut self) -> Result<(), String> {
            self.events.push(Event::UsersEnd);
            Ok(())
        }
        fn relation_start(&mut self, relation: &str) -> Result<(), String> {
            self.events.push(Event::Start(relation.into()));
            Ok(())
        }
        fn record(
            &mut self,
            relation: &str,
            line: u64,
            _size: usize,
            record: Map<String, Value>,
        ) -> Result<(), String> {
            if self.fail_at_record == Some(line) {
                return Err(format!("sink refused {relation} line {line}"));
            }
            self.events
                .push(Event::Record(relation.into(), line, Value::Object(record)));
            Ok(())
        }
        fn relation_end(&mut self, relation: &str) -> Result<(), String> {
            self.events.push(Event::End(relation.into()));
            Ok(())
        }
        fn upload(&mut self, sha256: &str, bytes: u64, data: &mut dyn Read) -> Result<(), String> {
            let mut content = Vec::new();
            let result = match self.upload_prefix {
                Some(n) => data.take(n as u64).read_to_end(&mut content),
                None => data.read_to_end(&mut content),
            };
            result.map_err(|e| e.to_string())?;
            self.events
                .push(Event::Upload(sha256.into(), bytes, content));
            Ok(())
        }
    }

    fn parts(relations: BTreeMap<String, RelationStats>) -> ManifestParts {
        ManifestParts {
            format_version: 1,
            app: AppInfo {
                name: "forge".into(),
                schema_digest: "sha256:abc".into(),
            },
            root: RootInfo {
                relation: "project".into(),
                table: "projects".into(),
                source_id: 42,
            },
            relations,
            created_at: Some("2024-05-06T07:08:09Z".parse().unwrap()),
        }
    }

    struct Built {
        _dir: tempfile::TempDir,
        path: PathBuf,
        upload_sha: String,
        other_sha: String,
    }

    fn build(dir: tempfile::TempDir) -> Built {
        let path = dir.path().join("export.tar.gz");
        let upload_file = dir.path().join("avatar.png");
        std::fs::write(&upload_file, b"\x89PNG fake image").unwrap();
        let mut w = ArchiveWriter::create(&path, WriterOptions::new("project")).unwrap();

        // Written out of archive order: relations first, users last.
        let mut issues = w.member("tree/project/issues.ndjson").unwrap();
        issues
            .write_record(&json!({"id": 1, "title": "first", "notes": [{"id": 10, "note": "é ✓"}]}))
            .unwrap();
        issues
            .write_record(&json!({"id": 2, "title": "second", "notes": []}))
            .unwrap();
        let info = issues.finish().unwrap();
        assert_eq!(info.lines, Some(2));

        let mut empty = w.member("tree/project/milestones.ndjson").unwrap();
        empty.flush_all();
        empty.finish().unwrap();

        let mut labels = w.member("tree/project/labels.ndjson").unwrap();
        labels
            .write_record(&json!({"id": 5, "title": "bug"}))
            .unwrap();
        labels.finish().unwrap();

        let mut root = w.member("tree/project.json").unwrap();
        serde_json::to_writer_pretty(&mut root, &json!({"id": 42, "name": "demo"})).unwrap();
        let root_info = root.finish().unwrap();
        assert_eq!(root_info.lines, None);

        let mut users = w.member("tree/users.ndjson").unwrap();
        users
            .write_record(&json!({"email": "a@example.com"}))
            .unwrap();
        users
            .write_record(&json!({"email": "b@example.com"}))
            .unwrap();
        users.finish().unwrap();

        let upload_sha = w.add_upload(&upload_file).unwrap();
        // Same content again, from memory and from the same file: kept once.
        assert_eq!(
            w.add_upload_bytes(b"\x89PNG fake image").unwrap(),
            upload_sha
        );
        assert_eq!(w.add_upload(&upload_file).unwrap(), upload_sha);
        let other_sha = w.add_upload_bytes(b"").unwrap();

        let mut relations = BTreeMap::new();
        relations.insert(
            "project/issues/notes".to_owned(),
            RelationStats { records: 1 },
        );
        let summary = w.finish(parts(relations)).unwrap();
        assert_eq!(summary.path, path);
        assert_eq!(summary.bytes, std::fs::metadata(&path).unwrap().len());
        Built {
            _dir: dir,
            path,
            upload_sha,
            other_sha,
        }
    }

    trait FlushAll {
        fn flush_all(&mut self);
    }
    impl<W: std::io::Write> FlushAll for W {
        fn flush_all(&mut self) {
            self.flush().unwrap();
        }
    }

    fn tar_names(path: &Path) -> Vec<String> {
        let file = std::fs::File::open(path).unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn round_trip() {
        let built = build(tempfile::tempdir().unwrap());
        let verified =
            ArchiveReader::verify(&built.path, &Limits::default(), 1, "project").unwrap();
        let manifest = verified.manifest();
        assert_eq!(manifest.format_version, 1);
        assert_eq!(manifest.hoist_version, env!("CARGO_PKG_VERSION"));
        assert_eq!(manifest.created_at, "2024-05-06T07:08:09Z");
        assert_eq!(manifest.root.source_id, 42);
        assert_eq!(manifest.uploads.files, 2);
        assert_eq!(manifest.uploads.bytes, 15);
        let counts: Vec<(&str, u64)> = manifest
            .relations
            .iter()
            .map(|(k, v)| (k.as_str(), v.records))
            .collect();
        assert_eq!(
            counts,
            [
                ("project/issues", 2),
                ("project/issues/notes", 1),
                ("project/labels", 1),
                ("project/milestones", 0)
            ]
        );

        let mut sink = Recorder::default();
        verified.stream(&mut sink).unwrap();
        let expected = vec![
            Event::Root(json!({"id": 42, "name": "demo"})),
            Event::User(1, json!({"email": "a@example.com"})),
            Event::User(2, json!({"email": "b@example.com"})),
            Event::UsersEnd,
            Event::Start("issues".into()),
            Event::Record(
                "issues".into(),
                1,
                json!({"id": 1, "title": "first", "notes": [{"id": 10, "note": "é ✓"}]}),
            ),
            Event::Record(
                "issues".into(),
                2,
                json!({"id": 2, "title": "second", "notes": []}),
            ),
            Event::End("issues".into()),
            Event::Start("milestones".into()),
            Event::End("milestones".into()),
            Event::Start("labels".into()),
            Event::Record("labels".into(), 1, json!({"id": 5, "title": "bug"})),
            Event::End("labels".into()),
            Event::Upload(built.upload_sha.clone(), 15, b"\x89PNG fake image".to_vec()),
            Event::Upload(built.other_sha.clone(), 0, Vec::new()),
        ];
        assert_eq!(sink.events, expected);

        // Key order inside records is preserved.
        let Event::Record(_, _, Value::Object(first)) = &sink.events[5] else {
            panic!("not a record")
        };
        assert_eq!(first.keys().collect::<Vec<_>>(), ["id", "title", "notes"]);

        // Streaming twice gives the same events.
        let mut again = Recorder::default();
        verified.stream(&mut again).unwrap();
        assert_eq!(again.events, expected);

        assert_eq!(
            tar_names(&built.path),
            [
                "VERSION".to_owned(),
                "manifest.json".into(),
                "tree/project.json".into(),
                "tree/users.ndjson".into(),
                "tree/project/issues.ndjson".into(),
                "tree/project/milestones.ndjson".into(),
                "tree/project/labels.ndjson".into(),
                format!("uploads/{}", built.upload_sha),
                format!("uploads/{}", built.other_sha),
            ]
        );
    }

    #[test]
    fn manifest_snapshot() {
        let built = build(tempfile::tempdir().unwrap());
        let inspection = inspect(&built.path, &Limits::default()).unwrap();
        let mut manifest = inspection.manifest.clone();
        manifest.hoist_version = "[version]".into();
        insta::assert_snapshot!("manifest", serde_json::to_string_pretty(&manifest).unwrap());
    }

    #[test]
    fn inspect_lists_members_and_verdict() {
        let built = build(tempfile::tempdir().unwrap());
        let inspection = inspect(&built.path, &Limits::default()).unwrap();
        assert!(inspection.is_verified(), "{:?}", inspection.problem);
        assert_eq!(inspection.format_version, 1);
        let names: Vec<&str> = inspection.members.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names.len(), 9);
        assert_eq!(
            names[..3],
            ["VERSION", "manifest.json", "tree/project.json"]
        );
        let issues = &inspection.members[4];
        assert_eq!(issues.lines, Some(2));
        assert_eq!(issues, &{
            let listed = &inspection
                .manifest
                .members
                .get("tree/project/issues.ndjson")
                .unwrap();
            hoist::archive::InspectedMember {
                name: "tree/project/issues.ndjson".into(),
                bytes: listed.bytes,
                sha256: listed.sha256.clone(),
                lines: listed.lines,
            }
        });

        // A damaged archive still inspects, with the problem reported.
        let dir = tempfile::tempdir().unwrap();
        let mut entries = archive_support::complete(archive_support::tree_members());
        entries[4].data = archive_support::ISSUES
            .replace("first", "FIRST")
            .into_bytes();
        let path = archive_support::write_archive(dir.path(), &entries);
        let inspection = inspect(&path, &Limits::default()).unwrap();
        assert!(!inspection.is_verified());
        assert!(
            matches!(
                inspection.problem,
                Some(ArchiveError::ChecksumMismatch { .. })
            ),
            "{:?}",
            inspection.problem
        );
        assert_eq!(inspection.members.len(), 4);

        // Inspect reads any version and root; verify does not.
        let mut entries = archive_support::complete(archive_support::tree_members());
        entries[0] = archive_support::file("VERSION", "3\n");
        let mut manifest = archive_support::manifest_for(&archive_support::tree_members());
        manifest.format_version = 3;
        entries[1] = archive_support::manifest_entry(&manifest);
        let path = archive_support::write_archive(dir.path(), &entries);
        let inspection = inspect(&path, &Limits::default()).unwrap();
        assert!(inspection.is_verified(), "{:?}", inspection.problem);
        assert_eq!(inspection.format_version, 3);
        let e = ArchiveReader::verify(&path, &Limits::default(), 1, "project").unwrap_err();
        assert!(
            matches!(
                e,
                ArchiveError::VersionMismatch {
                    found: 3,
                    expected: 1
                }
            ),
            "{e:?}"
        );

        // Not even a manifest: an error.
        let path = archive_support::write_file(dir.path(), "junk", b"junk");
        assert!(inspect(&path, &Limits::default()).is_err());
    }

    #[test]
    fn partial_upload_reads_are_completed_and_checked() {
        let built = build(tempfile::tempdir().unwrap());
        let verified =
            ArchiveReader::verify(&built.path, &Limits::default(), 1, "project").unwrap();
        let mut sink = Recorder {
            upload_prefix: Some(3),
            ..Recorder::default()
        };
        verified.stream(&mut sink).unwrap();
        assert!(sink.events.contains(&Event::Upload(
            built.upload_sha.clone(),
            15,
            b"\x89PN".to_vec()
        )));
    }

    #[test]
    fn sink_errors_stop_the_stream() {
        let built = build(tempfile::tempdir().unwrap());
        let verified =
            ArchiveReader::verify(&built.path, &Limits::default(), 1, "project").unwrap();
        let mut sink = Recorder {
            fail_at_record: Some(2),
            ..Recorder::default()
        };
        match verified.stream(&mut sink) {
            Err(StreamError::Sink(message)) => assert_eq!(message, "sink refused issues line 2"),
            other => panic!("{other:?}"),
        }
        assert!(!sink.events.iter().any(|e| matches!(e, Event::End(_))));
    }

    #[test]
    fn archive_changed_between_passes() {
        let dir = tempfile::tempdir().unwrap();
        let path = archive_support::write_archive(
            dir.path(),
            &archive_support::complete(archive_support::tree_members()),
        );
        let verified = ArchiveReader::verify(&path, &Limits::default(), 1, "project").unwrap();

        // Another manifest: refused at once.
        let mut members = archive_support::tree_members();
        members.pop();
        archive_support::write_archive(dir.path(), &archive_support::complete(members));
        let mut sink = Recorder::default();
        match verified.stream(&mut sink) {
            Err(StreamError::Archive(ArchiveError::ArchiveChanged { .. })) => {}
            other => panic!("{other:?}"),
        }
        assert!(sink.events.is_empty());

        // Same manifest, other content: the member's checksum fails before its relation ends.
        let members = archive_support::tree_members();
        let manifest = archive_support::manifest_for(&members);
        let mut tampered = members.clone();
        tampered[2].data = archive_support::ISSUES
            .replace("second", "SECOND")
            .into_bytes();
        archive_support::write_archive(
            dir.path(),
            &archive_support::with_manifest(&manifest, tampered),
        );
        let mut sink = Recorder::default();
        match verified.stream(&mut sink) {
            Err(StreamError::Archive(ArchiveError::ChecksumMismatch { member, .. })) => {
                assert_eq!(member, "tree/project/issues.ndjson");
            }
            other => panic!("{other:?}"),
        }
        assert!(!sink.events.contains(&Event::End("issues".into())));
    }

    /// Collects what the verify pass tells a watch: issues are place 0, their notes place 1.
    #[derive(Default)]
    struct Watched {
        ids: Vec<(usize, i64)>,
        objects: [u64; 2],
    }

    impl RecordWatch for Watched {
        fn relation(&self, relation: &str) -> Option<usize> {
            (relation == "issues").then_some(0)
        }
        fn child(&self, place: usize, key: &str) -> Option<usize> {
            (place == 0 && key == "notes").then_some(1)
        }
        fn object(&mut self, place: usize) {
            self.objects[place] += 1;
        }
        fn id(&mut self, place: usize, id: i64) {
            self.ids.push((place, id));
        }
    }

    /// Lines of many lengths, one of them longer than the reader's 64 KiB buffer, so that many
    /// lines straddle two reads and the checker's blocks: verify tells the watch about every
    /// record (nested ones included) in order, stream hands over every record whole, in order,
    /// with its line number, and the line limit counts a straddling line's full length.
    #[test]
    fn lines_across_read_buffers() {
        let note = |i: i64| format!(",\"notes\":[{{\"id\":{},\"body\":\"n\"}},7]", 1000 + i);
        let mut lines: Vec<String> = (0..300i64)
            .map(|i| {
                format!(
                    "{{\"id\":{i},\"title\":\"{}\"{}}}",
                    "x".repeat(i as usize * 37 % 3001),
                    if i % 3 == 0 { note(i) } else { String::new() }
                )
            })
            .collect();
        lines.insert(
            150,
            format!("{{\"id\":-1,\"title\":\"{}\"}}", "y".repeat(100_000)),
        );
        let longest = lines.iter().map(String::len).max().unwrap() as u64;
        let data: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let mut members = archive_support::tree_members();
        members[2] = archive_support::file("tree/project/issues.ndjson", data);
        let dir = tempfile::tempdir().unwrap();
        let path = archive_support::write_archive(dir.path(), &archive_support::complete(members));

        let limits = Limits {
            max_line_bytes: longest,
            ..Limits::default()
        };
        let mut watched = Watched::default();
        let verified =
            ArchiveReader::verify_watching(&path, &limits, 1, "project", &mut watched).unwrap();
        let mut expected = Vec::new();
        for i in (0..150).chain([-1]).chain(150..300) {
            expected.push((0, i));
            if i >= 0 && i % 3 == 0 {
                expected.push((1, 1000 + i));
            }
        }
        assert_eq!(watched.ids, expected);
        assert_eq!(watched.objects, [301, 100]);

        let mut sink = Recorder::default();
        verified.stream(&mut sink).unwrap();
        let streamed: Vec<(u64, &Value)> = sink
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Record(relation, line, value) if relation == "issues" => {
                    Some((*line, value))
                }
                _ => None,
            })
            .collect();
        assert_eq!(streamed.len(), lines.len());
        for ((line, value), (i, text)) in streamed.into_iter().zip(lines.iter().enumerate()) {
            assert_eq!(line, i as u64 + 1);
            assert_eq!(*value, serde_json::from_str::<Value>(text).unwrap());
        }

        let limits = Limits {
            max_line_bytes: longest - 1,
            ..Limits::default()
        };
        match ArchiveReader::verify(&path, &limits, 1, "project") {
            Err(ArchiveError::LimitExceeded {
                limit: LimitKind::LineBytes,
                location: Location::Line { member, line },
                ..
            }) => assert_eq!((member.as_str(), line), ("tree/project/issues.ndjson", 151)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stream_error_display_and_source() {
        let e: StreamError<std::io::Error> = StreamError::Sink(std::io::Error::other("db down"));
        assert_eq!(e.to_string(), "db down");
        assert!(std::error::Error::source(&e).is_some());
    }
}
