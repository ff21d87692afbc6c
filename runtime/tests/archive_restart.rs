//! The uploads' restart point: recorded by the writer, proven by verify, used by
//! `stream_concurrently` to read the uploads on a second thread while the tree streams.

/// Named `archive` so that `cargo test -p hoist archive` selects these tests.
mod archive {
    use std::collections::BTreeMap;
    use std::io::{Read, Seek, SeekFrom, Write};
    use std::path::{Path, PathBuf};
    use std::sync::mpsc;
    use std::time::Duration;

    use hoist::archive::{
        AppInfo, ArchiveError, ArchiveReader, ArchiveWriter, EventSink, Limits, ManifestParts,
        RestartPoint, RootInfo, StreamError, UploadSink, VerifiedArchive, WriterOptions, inspect,
    };
    use serde_json::{Map, Value, json};

    const UPLOADS: usize = 12;

    fn parts() -> ManifestParts {
        ManifestParts {
            format_version: 1,
            app: AppInfo {
                name: "forge".into(),
                schema_digest: "sha256:abc".into(),
            },
            root: RootInfo {
                relation: "project".into(),
                table: "projects".into(),
                source_id: 7,
            },
            relations: BTreeMap::new(),
            created_at: Some("2024-05-06T07:08:09Z".parse().unwrap()),
        }
    }

    /// Upload `i`'s content: sizes from a few bytes to over 200 KiB (across read buffers),
    /// compressible and not.
    fn content(i: usize) -> Vec<u8> {
        let len = (i * i * 1_777) % 230_000 + i;
        let mut state = i as u64 * 0x9E37_79B9 + 1;
        (0..len)
            .map(|j| {
                if i.is_multiple_of(2) {
                    (j % 251) as u8
                } else {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                }
            })
            .collect()
    }

    /// An archive with `issues` records and `uploads` uploads.
    fn write(dir: &Path, issues: usize, uploads: usize) -> PathBuf {
        let path = dir.join("export.tar.gz");
        let mut w = ArchiveWriter::create(&path, WriterOptions::new("project")).unwrap();
        let mut root = w.member("tree/project.json").unwrap();
        serde_json::to_writer(&mut root, &json!({"id": 7, "name": "demo"})).unwrap();
        root.finish().unwrap();
        let mut member = w.member("tree/project/issues.ndjson").unwrap();
        for id in 0..issues {
            member
                .write_record(&json!({"id": id, "title": format!("issue {id}")}))
                .unwrap();
        }
        member.finish().unwrap();
        for i in 0..uploads {
            w.add_upload_bytes(&content(i)).unwrap();
        }
        w.finish(parts()).unwrap();
        path
    }

    fn verify(path: &Path) -> Result<VerifiedArchive, ArchiveError> {
        ArchiveReader::verify(path, &Limits::default(), 1, "project")
    }

    #[derive(Debug, Clone, PartialEq)]
    enum Event {
        Root(Value),
        Start(String),
        Record(String, u64, Value),
        End(String),
        TreeEnd,
        Upload(String, Vec<u8>),
    }

    /// Tree events; with `wait`, the first record waits until every upload arrived.
    #[derive(Default)]
    struct Tree {
        events: Vec<Event>,
        wait: Option<mpsc::Receiver<()>>,
        fail_at_record: Option<u64>,
    }

    impl EventSink for Tree {
        type Error = String;
        fn root_record(&mut self, record: Map<String, Value>) -> Result<(), String> {
            self.events.push(Event::Root(Value::Object(record)));
            Ok(())
        }
        fn user(&mut self, _: u64, _: Map<String, Value>) -> Result<(), String> {
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
            _: usize,
            record: Map<String, Value>,
        ) -> Result<(), String> {
            if self.fail_at_record == Some(line) {
                return Err(format!("the tree sink refused line {line}"));
            }
            if let Some(wait) = self.wait.take() {
                for n in 0..UPLOADS {
                    wait.recv_timeout(Duration::from_secs(20)).map_err(|_| {
                        format!("{n} of {UPLOADS} uploads arrived while the tree waited")
                    })?;
                }
            }
            self.events
                .push(Event::Record(relation.into(), line, Value::Object(record)));
            Ok(())
        }
        fn relation_end(&mut self, relation: &str) -> Result<(), String> {
            self.events.push(Event::End(relation.into()));
            Ok(())
        }
        fn tree_end(&mut self) -> Result<(), String> {
            self.events.push(Event::TreeEnd);
            Ok(())
        }
        fn upload(&mut self, sha256: &str, _: u64, data: &mut dyn Read) -> Result<(), String> {
            let mut bytes = Vec::new();
            data.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
            self.events.push(Event::Upload(sha256.into(), bytes));
            Ok(())
        }
    }

    #[derive(Default)]
    struct Uploads {
        got: Vec<Event>,
        arrived: Option<mpsc::Sender<()>>,
        fail_at: Option<usize>,
    }

    impl UploadSink for Uploads {
        type Error = String;
        fn upload(&mut self, sha256: &str, _: u64, data: &mut dyn Read) -> Result<(), String> {
            if self.fail_at == Some(self.got.len()) {
                return Err(format!("the upload sink refused upload {}", self.got.len()));
            }
            let mut bytes = Vec::new();
            data.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
            self.got.push(Event::Upload(sha256.into(), bytes));
            if let Some(arrived) = &self.arrived {
                let _ = arrived.send(());
            }
            Ok(())
        }
    }

    /// The events of `stream` with the uploads taken out.
    fn split(events: Vec<Event>) -> (Vec<Event>, Vec<Event>) {
        events
            .into_iter()
            .partition(|e| !matches!(e, Event::Upload(..)))
    }

    fn patch(path: &Path, at: u64, bytes: &[u8]) {
        let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        file.seek(SeekFrom::Start(at)).unwrap();
        file.write_all(bytes).unwrap();
    }

    fn field(point: RestartPoint) -> Vec<u8> {
        let mut data = point.compressed.to_le_bytes().to_vec();
        data.extend_from_slice(&point.offset.to_le_bytes());
        data
    }

    /// The same tar, gzipped by flate2 (no extra field).
    fn regzip(path: &Path) {
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
            .read_to_end(&mut tar)
            .unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        gz.write_all(&tar).unwrap();
        std::fs::write(path, gz.finish().unwrap()).unwrap();
    }

    #[test]
    fn concurrent_stream_delivers_what_stream_does() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), 500, UPLOADS);
        let verified = verify(&path).unwrap();
        let point = verified.restart_point().expect("a restart point");
        let header = std::fs::read(&path).unwrap();
        assert_eq!(header[3] & 0x04, 0x04, "FEXTRA is set");
        assert_eq!(&header[12..14], b"Ho");
        assert_eq!(&header[16..32], &field(point)[..]);

        let mut one = Tree::default();
        verified.stream(&mut one).unwrap();
        let (tree, uploads) = split(one.events);
        assert_eq!(tree.last(), Some(&Event::TreeEnd));
        assert_eq!(tree.iter().filter(|e| **e == Event::TreeEnd).count(), 1);
        assert_eq!(uploads.len(), UPLOADS);

        let mut two = Tree::default();
        let mut got = Uploads::default();
        verified.stream_concurrently(&mut two, &mut got).unwrap();
        assert_eq!(two.events, tree);
        assert_eq!(got.got, uploads);
        let mut expected: Vec<Vec<u8>> = (0..UPLOADS).map(content).collect();
        let mut delivered: Vec<Vec<u8>> = uploads
            .into_iter()
            .map(|e| match e {
                Event::Upload(_, bytes) => bytes,
                other => panic!("{other:?}"),
            })
            .collect();
        expected.sort();
        delivered.sort();
        assert_eq!(delivered, expected);
    }

    #[test]
    fn uploads_are_read_while_the_tree_streams() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), 50, UPLOADS);
        let verified = verify(&path).unwrap();
        let (arrived, wait) = mpsc::channel();
        let mut tree = Tree {
            wait: Some(wait),
            ..Tree::default()
        };
        let mut uploads = Uploads {
            arrived: Some(arrived),
            ..Uploads::default()
        };
        // The tree's first record waits for every upload: read one after the other, this fails.
        verified
            .stream_concurrently(&mut tree, &mut uploads)
            .unwrap();
        assert_eq!(uploads.got.len(), UPLOADS);
        assert_eq!(tree.events.last(), Some(&Event::TreeEnd));
    }

    #[test]
    fn no_uploads_no_restart_point() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), 3, 0);
        let verified = verify(&path).unwrap();
        assert_eq!(verified.restart_point(), None);
        assert_eq!(&std::fs::read(&path).unwrap()[16..32], &[0u8; 16]);
        let mut tree = Tree::default();
        let mut uploads = Uploads::default();
        verified
            .stream_concurrently(&mut tree, &mut uploads)
            .unwrap();
        assert_eq!(tree.events.last(), Some(&Event::TreeEnd));
        assert!(uploads.got.is_empty());
    }

    #[test]
    fn a_wrong_restart_point_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), 200, UPLOADS);
        let good = verify(&path).unwrap().restart_point().unwrap();
        let original = std::fs::read(&path).unwrap();
        let wrong = [
            RestartPoint {
                compressed: good.compressed + 1,
                ..good
            },
            RestartPoint {
                compressed: good.compressed - 1,
                ..good
            },
            RestartPoint {
                offset: good.offset + 512,
                ..good
            },
            RestartPoint {
                offset: good.offset - 512,
                ..good
            },
            RestartPoint {
                compressed: 32,
                offset: 0,
            },
            RestartPoint {
                compressed: original.len() as u64 + 100,
                ..good
            },
        ];
        for point in wrong {
            std::fs::write(&path, &original).unwrap();
            patch(&path, 16, &field(point));
            match verify(&path) {
                Err(e @ ArchiveError::BadRestartPoint { .. }) => {
                    let message = e.to_string();
                    assert!(
                        message.contains("restart point") && message.contains("export.tar.gz"),
                        "{message}"
                    );
                }
                other => panic!("{point:?}: {other:?}"),
            }
            let inspection = inspect(&path, &Limits::default()).unwrap();
            assert!(
                matches!(
                    inspection.problem,
                    Some(ArchiveError::BadRestartPoint { .. })
                ),
                "{point:?}: {:?}",
                inspection.problem
            );
        }

        // A `Ho` subfield that is not 16 bytes long.
        std::fs::write(&path, &original).unwrap();
        patch(&path, 14, &8u16.to_le_bytes());
        match verify(&path) {
            Err(ArchiveError::BadRestartPoint { reason, .. }) => {
                assert!(reason.contains("holds 8 bytes, not 16"), "{reason}");
            }
            other => panic!("{other:?}"),
        }

        // A restart point in an archive without uploads.
        let other = dir.path().join("no-uploads");
        std::fs::create_dir(&other).unwrap();
        let path = write(&other, 3, 0);
        patch(&path, 16, &field(good));
        match verify(&path) {
            Err(ArchiveError::BadRestartPoint { reason, .. }) => {
                assert!(
                    reason.contains("no uploads") || reason.contains("inflate"),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_archive_without_the_field_reads_its_uploads_after_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), 20, UPLOADS);
        regzip(&path);
        let verified = verify(&path).unwrap();
        assert_eq!(verified.restart_point(), None);
        let mut one = Tree::default();
        verified.stream(&mut one).unwrap();
        let (tree, uploads) = split(one.events);
        let mut two = Tree::default();
        let mut got = Uploads::default();
        verified.stream_concurrently(&mut two, &mut got).unwrap();
        assert_eq!(two.events, tree);
        assert_eq!(got.got, uploads);
        assert_eq!(got.got.len(), UPLOADS);
    }

    #[test]
    fn damage_after_verify_fails_the_concurrent_stream() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), 200, UPLOADS);
        let original = std::fs::read(&path).unwrap();
        let verified = verify(&path).unwrap();
        let point = verified.restart_point().unwrap();

        // Bytes in the uploads' part.
        for at in [
            point.compressed,
            point.compressed + 200,
            original.len() as u64 - 12,
        ] {
            let mut damaged = original.clone();
            damaged[at as usize] ^= 0x55;
            std::fs::write(&path, &damaged).unwrap();
            let mut tree = Tree::default();
            let mut uploads = Uploads::default();
            match verified.stream_concurrently(&mut tree, &mut uploads) {
                Err(StreamError::Archive(_)) => {}
                other => panic!("byte {at}: {other:?}"),
            }
        }
        // The gzip trailer.
        for at in [original.len() - 8, original.len() - 1] {
            let mut damaged = original.clone();
            damaged[at] ^= 0x01;
            std::fs::write(&path, &damaged).unwrap();
            match verified.stream_concurrently(&mut Tree::default(), &mut Uploads::default()) {
                Err(StreamError::Archive(ArchiveError::Corrupt { source, .. })) => {
                    assert!(source.to_string().contains("gzip trailer"), "{source}");
                }
                other => panic!("trailer byte {at}: {other:?}"),
            }
        }
        // Bytes after the trailer.
        let mut longer = original.clone();
        longer.push(0);
        std::fs::write(&path, &longer).unwrap();
        match verified.stream_concurrently(&mut Tree::default(), &mut Uploads::default()) {
            Err(StreamError::Archive(ArchiveError::TrailingData { .. })) => {}
            other => panic!("{other:?}"),
        }
        // The same tar gzipped by another writer: the point no longer holds.
        std::fs::write(&path, &original).unwrap();
        regzip(&path);
        match verified.stream_concurrently(&mut Tree::default(), &mut Uploads::default()) {
            Err(StreamError::Archive(_)) => {}
            other => panic!("{other:?}"),
        }
        // And the original again: fine.
        std::fs::write(&path, &original).unwrap();
        verified
            .stream_concurrently(&mut Tree::default(), &mut Uploads::default())
            .unwrap();
    }

    #[test]
    fn a_failing_sink_stops_both_parts_with_its_own_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), 5_000, UPLOADS);
        let verified = verify(&path).unwrap();

        let mut tree = Tree {
            fail_at_record: Some(3),
            ..Tree::default()
        };
        match verified.stream_concurrently(&mut tree, &mut Uploads::default()) {
            Err(StreamError::Sink(message)) => {
                assert_eq!(message, "the tree sink refused line 3");
            }
            other => panic!("{other:?}"),
        }
        assert!(!tree.events.contains(&Event::TreeEnd));

        let mut uploads = Uploads {
            fail_at: Some(2),
            ..Uploads::default()
        };
        match verified.stream_concurrently(&mut Tree::default(), &mut uploads) {
            Err(StreamError::Sink(message)) => {
                assert_eq!(message, "the upload sink refused upload 2");
            }
            other => panic!("{other:?}"),
        }
    }
}
